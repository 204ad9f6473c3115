//! Recovery: resolves the temporary names an interrupted run can leave
//! (`.linkdup-tmp.PPPPP.RRRRRR`, see [`crate::tempname`]). Matching the pattern proves nothing:
//! anyone who can write a directory can name a file so. A temp name is removed only when
//! linkdup provably made it *and* its content provably lives on under another name:
//!
//! - **made by linkdup**: the name is recorded, in that very directory (by identity), in an undo
//!   journal of the invoking user, and holds the inode the journal recorded for it (the
//!   keeper's or the replaced duplicate's); or, without a journal, a file beside it leaves no
//!   doubt: another name of the same inode, or a different file with the same bytes, owner,
//!   group and mode (what a crash between the link and the unlink leaves with the default
//!   gates). A file of someone else's that merely matches the pattern is left alone and
//!   reported.
//! - **lives on**: its inode has another link, or a file beside it has the same bytes.
//!
//! A name made by a linkdup that is running right now (the process id in the name) is never
//! touched.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use crate::error::Error;
use crate::escape::Escaped;
use crate::fsverify::{CompareBufs, DirFds, same_bytes};
use crate::journal::Entry;
use crate::model::{FileId, TempFile, Timestamp, Tree};
use crate::sys::{self, Stat};

/// What recovery did (or, in a dry run, would do) with one temp name.
#[derive(Debug)]
pub enum Recovered {
    /// Removed (or removable): linkdup made it and its content lives on, as `why` says.
    Removed {
        why: Proof,
        /// When the temp was an extra link of another name's inode: that inode, and its ctime
        /// after the removal (`None` in a dry run), so a plan can be kept in step.
        linked: Option<(FileId, Option<Timestamp>)>,
    },
    /// Made by a linkdup that is running right now (in the middle of a swap): not touched.
    Busy,
    /// Gone since the scan found it: nothing to do.
    Gone,
    /// Left in place: nothing proves linkdup made it, or that its content exists elsewhere.
    Left {
        why: Doubt,
    },
    Failed(Error),
}

impl Recovered {
    /// A stable code for scripts (the JSON report's `"kind"`).
    pub fn code(&self) -> &'static str {
        match self {
            Recovered::Removed { why, .. } => why.code(),
            Recovered::Busy => "busy",
            Recovered::Gone => "gone",
            Recovered::Left { why } => why.code(),
            Recovered::Failed(e) => e.code(),
        }
    }

    /// The sentence a person reads for it.
    pub fn reason(&self) -> String {
        match self {
            Recovered::Removed { why, .. } => why.to_string(),
            Recovered::Busy => "in use by a linkdup that is running".to_string(),
            Recovered::Gone => "gone since the scan".to_string(),
            Recovered::Left { why } => why.to_string(),
            Recovered::Failed(e) => e.to_string(),
        }
    }
}

/// Why a temp name is provably linkdup's, with its content alive elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// Another name of the same inode (a crash between the link and the exchange).
    OtherName(PathBuf),
    /// A file beside it with the same bytes, owner, group and mode.
    SameCopy(PathBuf),
    /// Recorded in a journal; a file beside it has its bytes.
    JournalCopy(PathBuf),
    /// Recorded in a journal; an extra name of an inode with this many other links.
    JournalLinks(u64),
}

impl Proof {
    pub fn code(&self) -> &'static str {
        match self {
            Proof::OtherName(_) => "other_name",
            Proof::SameCopy(_) => "same_copy",
            Proof::JournalCopy(_) => "journal_copy",
            Proof::JournalLinks(_) => "journal_links",
        }
    }
}

impl std::fmt::Display for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proof::OtherName(p) => write!(f, "another name of a file also named {}", Escaped(p)),
            Proof::SameCopy(p) => write!(
                f,
                "its bytes, owner and mode are those of {} beside it",
                Escaped(p)
            ),
            Proof::JournalCopy(p) => write!(
                f,
                "recorded in your undo journal; its bytes are those of {} beside it",
                Escaped(p)
            ),
            Proof::JournalLinks(n) => write!(
                f,
                "recorded in your undo journal; an extra name of a file with {n} other link(s)"
            ),
        }
    }
}

/// Why a temp name is left in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// Not the inode the scan saw.
    ChangedSinceScan,
    /// Recorded in a journal, but its content is nowhere else: the only copy.
    OnlyCopy,
    /// Nothing proves linkdup made it: most likely a user's own file that matches the pattern.
    /// Not a failure (its content is whole where it is, and a run that finds it exits 0).
    NotOurs,
    /// Its name changed between the check and the removal.
    ChangedWhileRecovering,
}

impl Doubt {
    pub fn code(self) -> &'static str {
        match self {
            Doubt::ChangedSinceScan => "changed",
            Doubt::OnlyCopy => "only_copy",
            Doubt::NotOurs => "not_ours",
            Doubt::ChangedWhileRecovering => "changed_while_recovering",
        }
    }
}

impl std::fmt::Display for Doubt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Doubt::ChangedSinceScan => "changed since the scan",
            Doubt::OnlyCopy => {
                "recorded in your undo journal, but no other copy of its content was found; \
                 check it by hand"
            }
            Doubt::NotOurs => {
                "nothing proves linkdup made it (no undo journal of yours records it, and no file \
                 beside it has its bytes, owner and mode): taken for someone's own file and left \
                 alone (`linkdup recover --journal FILE` if its journal is elsewhere)"
            }
            Doubt::ChangedWhileRecovering => "changed while recovering",
        })
    }
}

/// Resolve every temp name, with the journals' records as proof; with `apply` false nothing
/// is changed.
pub fn recover(tree: &Tree, temps: &[TempFile], journals: &[Entry], apply: bool) -> Vec<Recovered> {
    let mut dirs = DirFds::new(tree);
    let mut bufs = CompareBufs::default();
    temps
        .iter()
        .map(|t| {
            resolve(tree, &mut dirs, &mut bufs, t, journals, apply)
                .unwrap_or_else(Recovered::Failed)
        })
        .collect()
}

/// Is this temp name recorded, in its directory, by a journal, holding the inode recorded?
fn recorded(tree: &Tree, t: &TempFile, id: FileId, journals: &[Entry]) -> bool {
    let dir = tree.dir(t.file.loc.dir).id;
    journals.iter().any(|e| {
        e.v2.as_ref().is_some_and(|x| {
            x.tmp.as_os_str() == tree.name(&t.file.loc)
                && x.dir_id == dir
                && (id == e.keeper_id || id == x.victim_id)
        })
    })
}

fn resolve(
    tree: &Tree,
    dirs: &mut DirFds<'_>,
    bufs: &mut CompareBufs,
    t: &TempFile,
    journals: &[Entry],
    apply: bool,
) -> Result<Recovered, Error> {
    let path = tree.path(&t.file.loc);
    let name = tree.name(&t.file.loc);
    // A linkdup running now (another run over the same tree) owns it: its swap is under way.
    if crate::tempname::owner_running(name, sys::process_running) {
        return Ok(Recovered::Busy);
    }
    let dir = dirs.open(t.file.loc.dir)?;
    let (file, st) = match sys::open_regular_at(dir.as_fd(), name) {
        Ok(opened) => opened,
        // Gone since the scan (its run finished its swap): nothing left to resolve.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recovered::Gone),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let Some(file) = file.filter(|_| st.ident.id == t.file.ident.id) else {
        return Ok(Recovered::Left {
            why: Doubt::ChangedSinceScan,
        });
    };
    let beside =
        Beside::find(tree, dir.as_fd(), &file, &st, t, bufs).map_err(|e| Error::io(&path, e))?;
    let journal = recorded(tree, t, st.ident.id, journals);
    let why = match proof(beside, journal, st.nlink) {
        Ok(why) => why,
        Err(why) => return Ok(Recovered::Left { why }),
    };
    let mut after = None;
    if apply {
        // The one name removal of recovery: only if the name still is the inode we checked.
        match sys::stat_at(dir.as_fd(), name) {
            Ok(now) if now.ident.id == st.ident.id => {
                sys::unlink_at(dir.as_fd(), name).map_err(|e| Error::io(&path, e))?
            }
            _ => {
                return Ok(Recovered::Left {
                    why: Doubt::ChangedWhileRecovering,
                });
            }
        }
        after = sys::stat_fd(file.as_fd()).ok().map(|s| s.ident.ctime);
    }
    let linked = (st.nlink >= 2).then_some((st.ident.id, after));
    Ok(Recovered::Removed { why, linked })
}

/// What the files beside a temp name that have its size say about it.
#[derive(Default)]
struct Beside {
    /// Another name of its inode.
    same_inode: Option<PathBuf>,
    /// A different file with its bytes, and whether it also has its owner, group and mode.
    copy: Option<(PathBuf, bool)>,
}

impl Beside {
    fn find(
        tree: &Tree,
        dir: BorrowedFd<'_>,
        file: &File,
        st: &Stat,
        t: &TempFile,
        bufs: &mut CompareBufs,
    ) -> std::io::Result<Beside> {
        let mut found = Beside::default();
        for twin in &t.twins {
            let (Some(other), ost) = sys::open_regular_at(dir, tree.name(twin))? else {
                continue;
            };
            if ost.ident.id == st.ident.id {
                found.same_inode.get_or_insert_with(|| tree.path(twin));
                continue;
            }
            let (a, b) = (&ost.ident, &st.ident);
            let same_meta = a.uid == b.uid && a.gid == b.gid && a.mode == b.mode;
            let better = found.copy.as_ref().is_none_or(|(_, m)| !*m && same_meta);
            if better && same_bytes(file, &other, b.len.0, bufs)? {
                found.copy = Some((tree.path(twin), same_meta));
                if same_meta {
                    break;
                }
            }
        }
        Ok(found)
    }
}

/// Is the temp name provably linkdup's, with its content alive elsewhere?
fn proof(beside: Beside, journal: bool, nlink: u64) -> Result<Proof, Doubt> {
    match (beside.same_inode, beside.copy) {
        (Some(p), _) => Ok(Proof::OtherName(p)),
        (None, Some((p, true))) => Ok(Proof::SameCopy(p)),
        (None, Some((p, false))) if journal => Ok(Proof::JournalCopy(p)),
        (None, None) if journal && nlink >= 2 => Ok(Proof::JournalLinks(nlink - 1)),
        _ if journal => Err(Doubt::OnlyCopy),
        _ => Err(Doubt::NotOurs),
    }
}
