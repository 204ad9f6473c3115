//! The decision before a real run, on a terminal: link all, review group by group (link, skip,
//! choose another keeper, link all remaining), show the plan, or quit. Behind a trait so that the
//! app can be driven without a terminal. Anything but an explicit choice to link (Esc, q, Ctrl-C,
//! end of input) changes nothing.

use std::io::IsTerminal;

use dialoguer::Select;

/// One group as the review shows it.
pub struct GroupView {
    /// "12.5 KiB, 3 files".
    pub header: String,
    /// The keeper's path first, then each duplicate's (as in the plan), each with its mtime,
    /// owner, mode and link count.
    pub members: Vec<String>,
    /// The keeper's other names in the scanned paths (not choices: they are the keeper).
    pub also: Vec<String>,
}

/// What to do with one group after review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupChoice {
    Skip,
    /// Link, keeping member `keeper` (0 = the planned keeper).
    Link {
        keeper: usize,
    },
}

/// The person's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    All,
    /// One choice per group, in plan order.
    Reviewed(Vec<GroupChoice>),
    Quit,
}

pub trait Confirm {
    /// Is there a person to ask? Checked before the scan, so a script without `--yes` fails fast.
    fn available(&self) -> bool;
    /// Show `summary`, then let the person decide. `plan` is the full text of the plan.
    fn decide(&mut self, summary: &str, question: &str, plan: &str, groups: &[GroupView])
    -> Choice;
}

/// Asks on the terminal (prompts on stderr); unavailable when stdin is not a terminal.
pub struct TermConfirm;

const LINK_ALL: usize = 0;
const REVIEW: usize = 1;
const SHOW: usize = 2;
const QUIT: usize = 3;

impl Confirm for TermConfirm {
    fn available(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    fn decide(
        &mut self,
        summary: &str,
        question: &str,
        plan: &str,
        groups: &[GroupView],
    ) -> Choice {
        let mut terminal = Restore::watch();
        eprintln!("{summary}");
        loop {
            let picked = Select::with_theme(&Plain)
                .with_prompt(question)
                .items([
                    "Yes, link all",
                    "Review group by group",
                    "Show the plan",
                    "No, quit (change nothing)",
                ])
                .default(QUIT)
                .interact_opt();
            match picked {
                Ok(Some(LINK_ALL)) => return Choice::All,
                Ok(Some(REVIEW)) => return review(groups),
                Ok(Some(SHOW)) => terminal.paused(|| page(plan)),
                _ => return Choice::Quit,
            }
        }
    }
}

/// Show a long text as git does: through `$PAGER` (else `less -FRX`: quits at once if it fits
/// the screen, keeps colours, leaves the text on screen) when stdout is a terminal; printed
/// when it is not, or when the pager can't be started.
fn page(text: &str) {
    use std::io::Write;
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -FRX".to_string());
    if std::io::stdout().is_terminal() {
        let child = std::process::Command::new("sh")
            .args(["-c", &pager])
            .stdin(std::process::Stdio::piped())
            .spawn();
        if let Ok(mut child) = child {
            if let Some(mut input) = child.stdin.take() {
                // A pager quit early (q) closes its input: not an error.
                let _ = input.write_all(text.as_bytes());
            }
            let _ = child.wait();
            return;
        }
    }
    eprintln!("{text}");
}

/// dialoguer's look, without a colon after a prompt that is a question already ("...?:").
struct Plain;

impl dialoguer::theme::Theme for Plain {
    fn format_prompt(&self, f: &mut dyn std::fmt::Write, prompt: &str) -> std::fmt::Result {
        if prompt.ends_with('?') {
            f.write_str(prompt)
        } else {
            write!(f, "{prompt}:")
        }
    }

    fn format_input_prompt_selection(
        &self,
        f: &mut dyn std::fmt::Write,
        prompt: &str,
        sel: &str,
    ) -> std::fmt::Result {
        self.format_prompt(f, prompt)?;
        write!(f, " {sel}")
    }
}

/// While a question is on screen: Ctrl-C leaves the terminal as it was, says nothing was
/// changed and exits 2 (see [`crate::sys::term`]); on return, error or panic, the cursor the
/// menus hide is shown again.
struct Restore(Option<signal_hook::SigId>);

impl Restore {
    fn watch() -> Restore {
        Restore(
            crate::sys::term::on_interrupt_restore_and_exit(
                2,
                "linkdup: interrupted at the question; nothing was changed\n",
            )
            .ok(),
        )
    }

    /// Run `f` (a pager) with Ctrl-C left to it: the pager takes it (to stop a search), and
    /// linkdup, in the same process group, neither exits under it nor dies.
    fn paused(&mut self, f: impl FnOnce()) {
        if let Some(id) = self.0.take() {
            crate::sys::term::unwatch(id);
        }
        let ignored = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let hold = signal_hook::flag::register(signal_hook::consts::SIGINT, ignored).ok();
        f();
        if let Some(id) = hold {
            signal_hook::low_level::unregister(id);
        }
        *self = Restore::watch();
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(id) = self.0.take() {
            crate::sys::term::unwatch(id);
        }
        let _ = console::Term::stderr().show_cursor();
    }
}

fn review(groups: &[GroupView]) -> Choice {
    let mut choices = Vec::with_capacity(groups.len());
    for (i, g) in groups.iter().enumerate() {
        let mut keeper = 0;
        loop {
            eprintln!("\nGroup {} of {}: {}", i + 1, groups.len(), g.header);
            for (m, path) in g.members.iter().enumerate() {
                eprintln!("  {} {path}", if m == keeper { "keep" } else { "link" });
            }
            for path in &g.also {
                let what = if keeper == 0 {
                    "(another name of the kept file)"
                } else {
                    "(another name of the first file, linked too)"
                };
                eprintln!("  also {path}  {what}");
            }
            let picked = Select::with_theme(&Plain)
                .with_prompt("This group")
                .items([
                    "Link it",
                    "Skip it",
                    "Choose a different keeper",
                    "Link it and all remaining groups",
                    "Quit (change nothing)",
                ])
                .default(0)
                .interact_opt();
            match picked {
                Ok(Some(0)) => {
                    choices.push(GroupChoice::Link { keeper });
                    break;
                }
                Ok(Some(1)) => {
                    choices.push(GroupChoice::Skip);
                    break;
                }
                Ok(Some(2)) => {
                    if let Ok(Some(k)) = Select::with_theme(&Plain)
                        .with_prompt("Keep which copy")
                        .items(&g.members)
                        .default(keeper)
                        .interact_opt()
                    {
                        keeper = k;
                    }
                }
                Ok(Some(3)) => {
                    choices.push(GroupChoice::Link { keeper });
                    choices.resize(groups.len(), GroupChoice::Link { keeper: 0 });
                    return Choice::Reviewed(choices);
                }
                _ => return Choice::Quit,
            }
        }
    }
    Choice::Reviewed(choices)
}
