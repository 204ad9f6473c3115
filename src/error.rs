//! Typed errors. Every per-file variant carries the path, so a message always says which file and why.

use std::io;
use std::path::{Path, PathBuf};

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

    /// The file or a directory above it is not what the scan saw: not a candidate any more (a
    /// warning while scanning, a skip later).
    #[error("{}: {what}", Escaped(.path))]
    Changed { path: PathBuf, what: Moved },

    /// A root or directory that is never scanned.
    #[error("{}: {why}", Escaped(.path))]
    NotScanned { path: PathBuf, why: NotScanned },

    /// Every temporary name tried beside `path` was taken.
    #[error("{}: no free temporary name", Escaped(.path))]
    NoTempName { path: PathBuf },

    /// A swap stopped half-way: the path holds a whole file (its own or the one it was being
    /// swapped for, as `why` says) and the temporary name `tmp` is left in place for a person
    /// (or `linkdup recover`) to look at.
    #[error("{}: {why}; see the temporary name {}", Escaped(.path), Escaped(.tmp))]
    TempLeft {
        path: PathBuf,
        tmp: PathBuf,
        why: TempLeft,
    },

    /// The kernel shared only part of a file's extents with its keeper (a short
    /// `FIDEDUPERANGE`, or bytes found different past the start). Both files hold exactly
    /// their bytes as before; only the first `shared` bytes share extents.
    #[error(
        "{}: only the first {shared} of {len} bytes now share extents with {}{}; both files are unchanged",
        Escaped(.path), Escaped(.keeper), if *.differs { " (the rest differs)" } else { "" }
    )]
    PartlyShared {
        path: PathBuf,
        keeper: PathBuf,
        shared: u64,
        len: u64,
        differs: bool,
    },

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

    /// An `--exclude` or `--include` glob that matched no path: most likely misspelled.
    #[error("{flag} {glob:?} matched nothing")]
    UnusedGlob { flag: &'static str, glob: String },

    /// A journal's last line was cut short (a run killed while writing it): ignored.
    #[error("{}: last line incomplete (a run was cut short while writing it); ignored", Escaped(.path))]
    TornJournal { path: PathBuf },

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

    /// A stable code for the kind of error, for scripts (the JSON reports' `"kind"`) and tests:
    /// never changes when the wording does. Documented in the README.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } | Error::Step { .. } => "io",
            Error::Changed { .. } => "changed",
            Error::NotScanned {
                why: NotScanned::PseudoFs(_),
                ..
            } => "pseudo_filesystem",
            Error::NotScanned { .. } => "not_a_file",
            Error::NoTempName { .. } => "no_temp_name",
            Error::TornJournal { .. } => "journal_torn",
            Error::UnusedGlob { .. } => "glob_matched_nothing",
            Error::TempLeft { .. } => "temp_left",
            Error::PartlyShared { .. } => "partly_shared",
            Error::Refused(r) => r.code(),
            Error::Damaged { what, .. } => match what {
                StateKind::Plan => "damaged_plan",
                StateKind::Journal => "damaged_journal",
                StateKind::Cache => "damaged_cache",
            },
            Error::System { .. } => "system",
            Error::Report(_) => "report",
            Error::UntrustedSymlink { .. } => "untrusted_symlink",
            Error::Untrusted { .. } => "untrusted_state_file",
        }
    }

    /// A finer code where the kind has one: why a state file is not trusted, what the system
    /// call said (`ENOENT`...), how a file changed.
    pub fn reason(&self) -> Option<String> {
        match self {
            Error::Io { err, .. } | Error::Step { err, .. } | Error::System { err, .. } => {
                errno_name(err).map(str::to_string)
            }
            Error::Changed { what, .. } => Some(what.code().to_string()),
            Error::TempLeft { why, .. } => Some(why.code().to_string()),
            Error::Untrusted { why, .. } => Some(why.code().to_string()),
            Error::Refused(Refusal::InsideTree { what, .. }) => Some(what.code().to_string()),
            _ => None,
        }
    }

    /// The path the error is about, if it is about one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. }
            | Error::Step { path, .. }
            | Error::Changed { path, .. }
            | Error::NotScanned { path, .. }
            | Error::NoTempName { path }
            | Error::TornJournal { path }
            | Error::TempLeft { path, .. }
            | Error::PartlyShared { path, .. }
            | Error::Damaged { path, .. }
            | Error::UntrustedSymlink { path, .. }
            | Error::Untrusted { path, .. } => Some(path),
            Error::Refused(r) => r.path(),
            Error::System { .. } | Error::Report(_) | Error::UnusedGlob { .. } => None,
        }
    }
}

/// The symbolic name of the errno behind `err`, for the errors a user of linkdup meets.
fn errno_name(err: &io::Error) -> Option<&'static str> {
    let Some(errno) = err.raw_os_error() else {
        return match err.kind() {
            io::ErrorKind::NotFound => Some("ENOENT"),
            io::ErrorKind::PermissionDenied => Some("EACCES"),
            _ => None,
        };
    };
    Some(match errno {
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::ENOSPC => "ENOSPC",
        libc::EDQUOT => "EDQUOT",
        libc::EROFS => "EROFS",
        libc::EIO => "EIO",
        libc::EMFILE => "EMFILE",
        libc::ENFILE => "ENFILE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ELOOP => "ELOOP",
        libc::EXDEV => "EXDEV",
        libc::EMLINK => "EMLINK",
        libc::EBUSY => "EBUSY",
        libc::ETXTBSY => "ETXTBSY",
        libc::EINVAL => "EINVAL",
        libc::ENOMEM => "ENOMEM",
        libc::EAGAIN => "EAGAIN",
        libc::EINTR => "EINTR",
        libc::EEXIST => "EEXIST",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENOSYS => "ENOSYS",
        libc::ESTALE => "ESTALE",
        _ => return None,
    })
}

/// How a file or directory changed while the scan looked at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moved {
    /// A file gone between the walk and its read.
    Deleted,
    /// A directory gone (or now a file) between its parent's listing and its own.
    DirRemoved,
    /// A directory replaced by another between its parent's listing and its own.
    DirSwapped,
    /// The directory of a file is not the one the walk saw.
    DirMoved,
    /// A directory (the path itself) is not the one the scan saw.
    DirReplaced,
    /// Its size or identity is not what the walk saw.
    Rewritten,
    /// A name on the way is a symlink now.
    Symlink,
}

impl Moved {
    pub fn code(self) -> &'static str {
        match self {
            Moved::Deleted => "deleted",
            Moved::DirRemoved => "dir_removed",
            Moved::DirSwapped => "dir_swapped",
            Moved::DirMoved => "dir_moved",
            Moved::DirReplaced => "dir_replaced",
            Moved::Rewritten => "rewritten",
            Moved::Symlink => "symlink",
        }
    }
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Moved::Deleted => "deleted during the scan",
            Moved::DirRemoved => "removed during the scan; not walked",
            Moved::DirSwapped => "replaced during the scan; not walked",
            Moved::DirMoved => "its directory was moved or replaced during the scan",
            Moved::DirReplaced => "directory was replaced or moved since the scan",
            Moved::Rewritten => "changed during the scan",
            Moved::Symlink => "is a symlink; no symlink is followed here",
        })
    }
}

/// Why a root or directory is not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotScanned {
    /// `/proc`, `/sys`...: its name.
    PseudoFs(&'static str),
    /// A root that is a FIFO, device, socket.
    NotFileOrDir,
}

impl std::fmt::Display for NotScanned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotScanned::PseudoFs(name) => write!(f, "{name} is a pseudo filesystem; not scanned"),
            NotScanned::NotFileOrDir => f.write_str("not a regular file or directory"),
        }
    }
}

/// Why a swap left its temporary name in place (see [`Error::TempLeft`]).
#[derive(Debug)]
pub enum TempLeft {
    /// The exchange failed, and then so did removing the temp name.
    ExchangeFailed { err: io::Error, then: Box<TempLeft> },
    /// Writers on both sides of the exchange: both files are kept.
    BothWritten,
    /// Swapped, but the temp name (holding the old file) could not be removed.
    NotRemoved(io::Error),
    /// The path and the temp name both changed under us; nothing more was done.
    BothChanged,
    /// The path's file changed during the swap and the exchange back failed.
    NotPutBack(io::Error),
    /// Put back, but the incoming file was opened for writing meanwhile: kept.
    IncomingOpened,
    /// Our own temp name could not be removed.
    OursNotRemoved(io::Error),
    /// The temp name holds something else than our file now.
    NotOurs,
    /// The temp name could not be looked at.
    Unchecked(io::Error),
}

impl TempLeft {
    pub fn code(&self) -> &'static str {
        match self {
            TempLeft::ExchangeFailed { .. } => "exchange_failed",
            TempLeft::BothWritten => "written_on_both_sides",
            TempLeft::NotRemoved(_) | TempLeft::OursNotRemoved(_) => "not_removed",
            TempLeft::BothChanged => "both_changed",
            TempLeft::NotPutBack(_) => "not_put_back",
            TempLeft::IncomingOpened => "incoming_opened",
            TempLeft::NotOurs => "not_ours",
            TempLeft::Unchecked(_) => "unchecked",
        }
    }
}

impl std::fmt::Display for TempLeft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TempLeft::ExchangeFailed { err, then } => write!(
                f,
                "exchanging with the temporary name: {}; then {then}",
                describe(err)
            ),
            TempLeft::BothWritten => f.write_str(
                "opened for writing on both sides of the swap: the path holds the file it was \
                 swapped for, with the later edit; the old file, with the earlier edit, is kept",
            ),
            TempLeft::NotRemoved(e) => write!(
                f,
                "removing the temporary name (which holds the old file) failed: {}",
                describe(e)
            ),
            TempLeft::BothChanged => {
                f.write_str("changed by someone else during the swap; nothing more was done")
            }
            TempLeft::NotPutBack(e) => write!(
                f,
                "changed during the swap and could not be put back ({})",
                describe(e)
            ),
            TempLeft::IncomingOpened => f.write_str(
                "changed during the swap and put back, but the file it was being replaced with \
                 was opened for writing meanwhile and is kept",
            ),
            TempLeft::OursNotRemoved(e) => {
                write!(f, "could not remove the temporary name: {}", describe(e))
            }
            TempLeft::NotOurs => {
                f.write_str("the temporary name no longer holds our file; left in place")
            }
            TempLeft::Unchecked(e) => {
                write!(f, "could not check the temporary name: {}", describe(e))
            }
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

/// The per-file problems of a run, which stderr told as they happened, for the JSON report to
/// list (`"errors"`, `"warnings"`) so that a script gets each path, code and reason.
#[derive(Debug, Default)]
pub struct Noted {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// One per-file problem: its path, its stable code ([`Error::code`]), a finer code where there
/// is one ([`Error::reason`]), and the message stderr showed.
#[derive(Debug)]
pub struct Problem {
    pub path: Option<PathBuf>,
    pub kind: &'static str,
    pub reason: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn of(e: &Error) -> Problem {
        Problem {
            path: e.path().map(Path::to_path_buf),
            kind: e.code(),
            reason: e.reason(),
            message: e.to_string(),
        }
    }
}

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

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NoPaths => "no_paths",
            Refusal::NoTerminal => "no_terminal",
            Refusal::NotConfirmed => "not_confirmed",
            Refusal::ReadOnly(_) => "read_only",
            Refusal::InsideTree { .. } => "inside_tree",
            Refusal::JournalBusy(_) => "journal_busy",
            Refusal::NoStateDir => "no_state_dir",
            Refusal::KeepUnderNotADir(_) => "keep_under_not_a_dir",
            Refusal::NotAFileName(_) => "not_a_file_name",
        }
    }

    fn path(&self) -> Option<&Path> {
        match self {
            Refusal::ReadOnly(p)
            | Refusal::JournalBusy(p)
            | Refusal::KeepUnderNotADir(p)
            | Refusal::NotAFileName(p)
            | Refusal::InsideTree { path: p, .. } => Some(p),
            Refusal::NoPaths
            | Refusal::NoTerminal
            | Refusal::NotConfirmed
            | Refusal::NoStateDir => None,
        }
    }
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

impl StateKind {
    pub fn code(self) -> &'static str {
        match self {
            StateKind::Journal => "journal",
            StateKind::Plan => "plan",
            StateKind::Cache => "cache",
        }
    }
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

impl Distrust {
    pub fn code(&self) -> &'static str {
        match self {
            Distrust::NotRegular(_) => "not_regular",
            Distrust::Symlink => "symlink",
            Distrust::Owner(_) => "owner",
            Distrust::Writable(_) => "writable",
            Distrust::Links(_) => "links",
            Distrust::DirOwner { .. } => "dir_owner",
            Distrust::DirWritable { .. } => "dir_writable",
            Distrust::Symlinked { .. } => "symlinked",
        }
    }
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
