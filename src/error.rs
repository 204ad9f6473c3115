//! Typed errors. Every per-file variant carries the path, so a message always says which file and why.

use std::io;
use std::path::PathBuf;

use crate::escape::Escaped;

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

/// The OS message without Rust's "(os error N)" suffix.
fn describe(err: &io::Error) -> String {
    let s = err.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The files linkdup keeps between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateKind {
    Journal,
    Plan,
    Cache,
}

impl std::fmt::Display for StateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StateKind::Journal => "the undo journal",
            StateKind::Plan => "the plan",
            StateKind::Cache => "the hash cache",
        })
    }
}

/// Why a state file (or where it lives) is not provably the invoking user's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Distrust {
    /// It is a device, FIFO, directory...
    NotRegular(&'static str),
    /// It is a symlink (never followed, never replaced).
    Symlink,
    Owner(u32),
    /// Writable by group or others (its mode).
    Writable(u32),
    /// It has other names (hard links), which may be anyone's file.
    Links(u64),
    DirOwner {
        dir: PathBuf,
        uid: u32,
    },
    /// Writable by group or others without the sticky bit (its mode).
    DirWritable {
        dir: PathBuf,
        mode: u32,
    },
    /// A symlink on its way owned by someone else.
    Symlinked {
        link: PathBuf,
        owner: u32,
    },
}

impl std::fmt::Display for Distrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Distrust::NotRegular(kind) => write!(f, "it is a {kind}, not a regular file"),
            Distrust::Symlink => f.write_str("it is a symlink (never followed, never replaced)"),
            Distrust::Owner(uid) => write!(f, "it is owned by uid {uid}, not by you or root"),
            Distrust::Writable(mode) => write!(
                f,
                "it is writable by group or others (mode {:04o})",
                mode & 0o7777
            ),
            Distrust::Links(n) => write!(f, "it has {n} names (hard links); a state file has one"),
            Distrust::DirOwner { dir, uid } => write!(
                f,
                "its directory {} is owned by uid {uid}, not by you or root",
                Escaped(dir)
            ),
            Distrust::DirWritable { dir, mode } => write!(
                f,
                "its directory {} is writable by group or others and not sticky (mode {:04o})",
                Escaped(dir),
                mode & 0o7777
            ),
            Distrust::Symlinked { link, owner } => write!(
                f,
                "{} on its way is a symlink owned by uid {owner}, not by you or root",
                Escaped(link)
            ),
        }
    }
}
