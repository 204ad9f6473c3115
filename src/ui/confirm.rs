//! The confirmation before a real run. Behind a trait so that the app can be driven without a
//! terminal; the real one uses dialoguer on the terminal.

use std::io::IsTerminal;

pub trait Confirm {
    /// Is there a person to ask? Checked before the scan, so a script without `--yes` fails fast.
    fn available(&self) -> bool;
    /// Show `summary`, then ask `question` with "no" as the default. Anything but a clear yes
    /// (no, Esc, Ctrl-C, end of input) is no.
    fn ask(&mut self, summary: &str, question: &str) -> bool;
}

/// Asks on the terminal, prompt on stderr; unavailable when stdin is not a terminal.
pub struct TermConfirm;

impl Confirm for TermConfirm {
    fn available(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    fn ask(&mut self, summary: &str, question: &str) -> bool {
        eprintln!("{summary}");
        matches!(
            dialoguer::Confirm::new()
                .with_prompt(question)
                .default(false)
                .interact_opt(),
            Ok(Some(true))
        )
    }
}
