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
    /// The keeper's path first, then each duplicate's (as in the plan).
    pub members: Vec<String>,
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
        let _terminal = Restore::watch();
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
                Ok(Some(SHOW)) => eprintln!("{plan}"),
                _ => return Choice::Quit,
            }
        }
    }
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
