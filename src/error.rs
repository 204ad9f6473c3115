//! Typed errors. Every per-file variant carries the path, so a message always says which file and why.

use std::io;
use std::path::PathBuf;

use crate::report::escape::Escaped;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call on `path` failed.
    #[error("{}: {}", Escaped(.path), describe(.err))]
    Io { path: PathBuf, err: io::Error },

    /// A system call failed and the text says at which step.
    #[error("{}: {step}: {}", Escaped(.path), describe(.err))]
    Step {
        path: PathBuf,
        step: &'static str,
        err: io::Error,
    },

    /// The file or a directory above it is not what the scan saw.
    #[error("{}: {what}", Escaped(.path))]
    Changed { path: PathBuf, what: String },

    /// Something the user asked for can't be done.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, err: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            err,
        }
    }
}

/// The OS message without Rust's "(os error N)" suffix.
fn describe(err: &io::Error) -> String {
    let s = err.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
