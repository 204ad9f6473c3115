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

    /// The run is refused before anything was changed.
    #[error("{0}")]
    Refused(Refusal),

    /// A state file that is ours but can't be used: damaged, edited, from another version.
    #[error("{}: {}", Escaped(.path), damage_text(*.what, .detail))]
    Damaged {
        path: PathBuf,
        what: StateKind,
        detail: String,
    },

    /// The system would not give what the run needs (threads, signal handlers).
    #[error("{what}: {}", describe(.err))]
    System { what: &'static str, err: io::Error },

    /// The report could not be written (what was done is done).
    #[error("writing the report: {}", describe(.0))]
    Report(io::Error),

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

fn damage_text(what: StateKind, detail: &str) -> String {
    match what {
        StateKind::Plan => format!("not a usable plan: {detail}; nothing was changed"),
        StateKind::Journal => format!("{detail} is not a journal entry; nothing was changed"),
        StateKind::Cache => {
            "hash cache is damaged or from another version; rebuilding it".to_string()
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

/// Why a run is refused before it starts (exit 2; nothing was changed).
#[derive(Debug)]
pub enum Refusal {
    NoPaths,
    /// A real run, no `--yes`, and no terminal to ask on.
    NoTerminal,
    /// The person said no (or quit) at the prompt.
    NotConfirmed,
    /// Every root of a real link run is on a read-only mount.
    ReadOnly(PathBuf),
    /// A state file would be written inside a scanned tree.
    InsideTree {
        path: PathBuf,
        what: StateKind,
        root: PathBuf,
    },
    /// Another linkdup run holds this journal.
    JournalBusy(PathBuf),
    /// No `HOME` (nor XDG directory) to keep the journal in.
    NoStateDir,
    /// `--keep-under` names something that is not a directory.
    KeepUnderNotADir(PathBuf),
    /// A state file's path has no file name (`/`, `..`).
    NotAFileName(PathBuf),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NoPaths => f.write_str("no PATH given"),
            Refusal::NoTerminal => f.write_str(
                "refusing to link without confirmation: stdin is not a terminal; pass --yes to \
                 link non-interactively, or --dry-run to see the plan. Nothing was changed.",
            ),
            Refusal::NotConfirmed => f.write_str("not confirmed; nothing was changed"),
            Refusal::ReadOnly(p) => write!(
                f,
                "{}: read-only filesystem; nothing can be linked there (--dry-run shows the \
                 plan). Nothing was changed.",
                Escaped(p)
            ),
            Refusal::InsideTree { path, what, root } => write!(
                f,
                "{}: {what} is never written inside a scanned tree ({}); {}",
                Escaped(path),
                Escaped(root),
                match what {
                    StateKind::Plan => "write it elsewhere",
                    StateKind::Cache => "use --cache-file FILE outside it",
                    StateKind::Journal => "pass --journal FILE outside it",
                }
            ),
            Refusal::JournalBusy(p) => write!(
                f,
                "{}: undo journal in use by another linkdup run; give this one its own \
                 --journal. Nothing was changed.",
                Escaped(p)
            ),
            Refusal::NoStateDir => {
                f.write_str("no state directory (HOME is not set); pass --journal FILE")
            }
            Refusal::KeepUnderNotADir(p) => {
                write!(f, "--keep-under {}: not a directory", Escaped(p))
            }
            Refusal::NotAFileName(p) => write!(f, "{}: not a file name", Escaped(p)),
        }
    }
}

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
