//! Typed errors. Every per-file variant carries the path, so a message always says which file and why.

use std::io;
use std::path::PathBuf;

use crate::model::{Distrust, StateKind};
use crate::report::escape::Escaped;
use crate::resolve::Unresolved;

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

    /// A symlink owned by someone other than the invoking user or root: never followed.
    #[error("{}: a symlink owned by uid {owner}, not by you or root; not followed", Escaped(.path))]
    UntrustedSymlink { path: PathBuf, owner: u32 },

    /// A state file (journal, plan, cache), or where it lives, that is not provably the
    /// invoking user's own: refused, as ssh refuses keys others could have written.
    #[error(
        "{}: refusing {what}: {why}; a state file must be yours, in directories only you (or root) can change",
        Escaped(.path)
    )]
    Untrusted {
        path: PathBuf,
        what: StateKind,
        why: Distrust,
    },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, err: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            err,
        }
    }
}

impl Error {
    /// A path that could not be resolved, as the error it is.
    pub fn unresolved(u: Unresolved) -> Self {
        match u {
            Unresolved::Io { at, err } => Error::Io { path: at, err },
            Unresolved::Untrusted { link, owner } => Error::UntrustedSymlink { path: link, owner },
            Unresolved::Symlink { link } => Error::Changed {
                path: link,
                what: "is a symlink; no symlink is followed here".into(),
            },
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
