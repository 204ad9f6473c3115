//! How the stages tell the outside world about problems as they happen, without printing: the
//! binary passes a listener that writes to stderr; tests can collect.

use std::path::Path;

use crate::error::Error;

/// Receives per-file problems while a stage runs. Called from worker threads.
pub trait Listener: Sync {
    /// A file or directory could not be processed; the stage goes on without it.
    fn error(&self, err: &Error);
    /// Something a careful user should know that is not a failure.
    fn warn(&self, err: &Error);
    /// Something done on the user's behalf outside the plan (e.g. a recovered temp name).
    fn note(&self, path: &Path, msg: &str);
}

/// A listener that drops everything (for tests and library users that only want results).
pub struct Silent;

impl Listener for Silent {
    fn error(&self, _: &Error) {}
    fn warn(&self, _: &Error) {}
    fn note(&self, _: &Path, _: &str) {}
}
