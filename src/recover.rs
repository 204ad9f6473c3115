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

use std::os::fd::AsFd;

use crate::error::Error;
use crate::escape::Escaped;
use crate::fsverify::{CompareBufs, DirFds, same_bytes};
use crate::journal::Entry;
use crate::model::{FileId, TempFile, Timestamp, Tree};
use crate::sys;

/// What recovery did (or, in a dry run, would do) with one temp name.
#[derive(Debug)]
pub enum Recovered {
    /// Removed (or removable): linkdup made it and its content lives on, as `why` says.
    Removed {
        why: String,
        /// When the temp was an extra link of another name's inode: that inode, and its ctime
        /// after the removal (`None` in a dry run), so a plan can be kept in step.
        linked: Option<(FileId, Option<Timestamp>)>,
    },
    /// Made by a linkdup that is running right now (in the middle of a swap): not touched.
    Busy,
    /// Left in place: nothing proves linkdup made it, or that its content exists elsewhere.
    Left {
        why: String,
    },
    Failed(Error),
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
            x.tmp.as_os_str() == &*t.file.loc.name
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
    let dir = dirs.open(t.file.loc.dir)?;
    let name = &t.file.loc.name;
    let (file, st) = sys::open_regular_at(dir.as_fd(), &**name).map_err(|e| Error::io(&path, e))?;
    let Some(file) = file.filter(|_| st.ident.id == t.file.ident.id) else {
        return Ok(Recovered::Left {
            why: "changed since the scan".into(),
        });
    };
    if crate::tempname::owner_running(name, sys::process_running) {
        return Ok(Recovered::Busy);
    }
    let journal = recorded(tree, t, st.ident.id, journals);
    // The files beside it that have its size: another name of its inode, or a copy.
    let mut same_inode = None;
    let mut copy: Option<(std::path::PathBuf, bool)> = None; // (path, same owner, group, mode)
    for twin in &t.twins {
        let (Some(other), ost) =
            sys::open_regular_at(dir.as_fd(), &*twin.name).map_err(|e| Error::io(&path, e))?
        else {
            continue;
        };
        if ost.ident.id == st.ident.id {
            same_inode.get_or_insert_with(|| tree.path(twin));
            continue;
        }
        let (a, b) = (&ost.ident, &st.ident);
        let same_meta = a.uid == b.uid && a.gid == b.gid && a.mode == b.mode;
        let better = copy.as_ref().is_none_or(|(_, m)| !*m && same_meta);
        if better && same_bytes(&file, &other, b.len.0, bufs).map_err(|e| Error::io(&path, e))? {
            copy = Some((tree.path(twin), same_meta));
            if same_meta {
                break;
            }
        }
    }
    let why = match (&same_inode, &copy) {
        (Some(p), _) => format!("another name of a file also named {}", Escaped(p)),
        (None, Some((p, true))) => format!(
            "its bytes, owner and mode are those of {} beside it",
            Escaped(p)
        ),
        (None, Some((p, false))) if journal => format!(
            "recorded in your undo journal; its bytes are those of {} beside it",
            Escaped(p)
        ),
        (None, None) if journal && st.nlink >= 2 => format!(
            "recorded in your undo journal; an extra name of a file with {} other link(s)",
            st.nlink - 1
        ),
        _ if journal => {
            return Ok(Recovered::Left {
                why: "recorded in your undo journal, but no other copy of its content was \
                      found; check it by hand"
                    .into(),
            });
        }
        _ => {
            return Ok(Recovered::Left {
                why: "not recorded in any undo journal of yours, and no file beside it has its \
                      bytes, owner and mode: nothing proves linkdup made it; check it by hand \
                      (`linkdup recover --journal FILE` if its journal is elsewhere)"
                    .into(),
            });
        }
    };
    let mut after = None;
    if apply {
        // The one name removal of recovery: only if the name still is the inode we checked.
        match sys::stat_at(dir.as_fd(), &**name) {
            Ok(now) if now.ident.id == st.ident.id => {
                sys::unlink_at(dir.as_fd(), name).map_err(|e| Error::io(&path, e))?
            }
            _ => {
                return Ok(Recovered::Left {
                    why: "changed while recovering".into(),
                });
            }
        }
        after = sys::stat_fd(file.as_fd()).ok().map(|s| s.ident.ctime);
    }
    let linked = (st.nlink >= 2).then_some((st.ident.id, after));
    Ok(Recovered::Removed { why, linked })
}
