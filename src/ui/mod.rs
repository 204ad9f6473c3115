//! The only code that talks to a person: messages on stderr and the confirmation prompt
//! (dialoguer). Stages reach it through [`Listener`](crate::listener::Listener) and [`Confirm`].

pub mod confirm;

use std::io::Write;
use std::path::Path;

use crate::error::Error;
use crate::listener::Listener;
use crate::report::escape::Escaped;

pub use confirm::{Confirm, TermConfirm};

/// Writes each problem as one line on stderr: `linkdup: <path>: <reason>`.
pub struct StderrListener;

impl Listener for StderrListener {
    fn error(&self, err: &Error) {
        let _ = writeln!(std::io::stderr().lock(), "linkdup: {err}");
    }
    fn warn(&self, err: &Error) {
        let _ = writeln!(std::io::stderr().lock(), "linkdup: warning: {err}");
    }
    fn note(&self, path: &Path, msg: &str) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "linkdup: {}: {msg}",
            Escaped(path)
        );
    }
}
