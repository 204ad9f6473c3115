//! `linkdup split`: turn hard-linked sets back into independent files without using space.
//! For every inode with two or more paths under the roots, each path but the first (in byte
//! order) gets an inode of its own that shares the original's extents (a `FICLONE` into a new
//! file created exclusively beside it, through the verified directory fd), with exactly the
//! original's owner, group, mode, times and extended attributes, put in place by the
//! executor's atomic exchange. That is undo's restore ([`crate::undo::split`]) with an entry
//! made from the live files instead of a journal line, and the same re-proving: each path is
//! reached from `/` without following a symlink, must still name the inode, and is left alone
//! if the inode changed. Nothing is granted: the new inode carries what the path already had.
//! Set-id files, files with capabilities, immutable and append-only files are never touched;
//! on a filesystem that can't share extents nothing is done (a copy would use the space).

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::path::PathBuf;

use crate::error::Error;
use crate::fsverify::DirFds;
use crate::gates::{self, Facts};
use crate::journal::{Entry, EntryV2};
use crate::model::{Identity, Loc, SkipReason, Tree};
use crate::sys;
use crate::undo::{self, UndoSkip, Undone};

/// Split every set; one entry (what was, or would be, done to a path) and one result per path
/// that is not the first of its set.
pub fn split(
    tree: &Tree,
    sets: &[(Identity, Vec<Loc>)],
    dry_run: bool,
) -> (Vec<Entry>, Vec<Undone>) {
    let leases = crate::execute::leases::enable();
    let mut dirs = DirFds::new(tree);
    let (mut entries, mut results) = (Vec::new(), Vec::new());
    for (ident, locs) in sets {
        let live = live(tree, &mut dirs, ident, &locs[0]);
        for loc in &locs[1..] {
            let (entry, refused) = match &live {
                Ok(l) => entry(tree, &mut dirs, l, loc),
                Err(r) => (bare(tree, loc, ident), Some(r.clone())),
            };
            results.push(match refused {
                Some(Refused::Skip(r)) => Undone::Skipped(UndoSkip::Gate(r)),
                Some(Refused::Fail(e)) => Undone::Failed(Error::Step {
                    path: entry.path.clone(),
                    step: "reading the file it shares",
                    err: std::io::Error::other(e),
                }),
                None => undo::split(&entry, dry_run, leases),
            });
            entries.push(entry);
        }
    }
    (entries, results)
}

#[derive(Clone)]
enum Refused {
    Skip(SkipReason),
    Fail(String),
}

/// The shared inode as it is now, through its first path.
struct Live {
    keeper: PathBuf,
    keeper_dir: crate::model::FileId,
    st: sys::Stat,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn live(
    tree: &Tree,
    dirs: &mut DirFds<'_>,
    ident: &Identity,
    first: &Loc,
) -> Result<Live, Refused> {
    let mnt = tree.mounts.get(&first.mnt).copied().unwrap_or_default();
    if !mnt.reflink {
        return Err(Refused::Skip(SkipReason::NoReflink));
    }
    if mnt.readonly {
        return Err(Refused::Skip(SkipReason::ReadOnly));
    }
    let fail = |e: &dyn std::fmt::Display| Refused::Fail(e.to_string());
    let dir = dirs.open(first.dir).map_err(|e| fail(&e))?;
    let (file, st) = sys::open_regular_at(dir.as_fd(), tree.name(first)).map_err(|e| fail(&e))?;
    let file = file.ok_or_else(|| fail(&"no longer a regular file"))?;
    if st.ident.id != ident.id {
        return Err(fail(&"replaced since the scan"));
    }
    let xattrs = sys::fxattrs(file.as_fd()).map_err(|e| fail(&e))?;
    let facts = Facts {
        ident: &st.ident,
        attrs: st.attrs,
        xattrs: gates::summarize(&xattrs),
        public: false,
    };
    if let Some(r) = gates::never(&facts) {
        return Err(Refused::Skip(r));
    }
    let keeper = sys::dir_path(dir.as_fd()).map_err(|e| fail(&e))?;
    Ok(Live {
        keeper: keeper.join(tree.name(first)),
        keeper_dir: tree.dir(first.dir).id,
        st,
        xattrs,
    })
}

/// The entry for `loc`: the inode's own metadata to carry over, the first path as its keeper.
fn entry(tree: &Tree, dirs: &mut DirFds<'_>, l: &Live, loc: &Loc) -> (Entry, Option<Refused>) {
    let abs = dirs
        .open(loc.dir)
        .map_err(|e| e.to_string())
        .and_then(|d| sys::dir_path(d.as_fd()).map_err(|e| e.to_string()));
    let i = &l.st.ident;
    let mut e = bare(tree, loc, i);
    match abs {
        Ok(dir) => e.path = dir.join(tree.name(loc)),
        Err(err) => return (e, Some(Refused::Fail(err))),
    }
    e.keeper = l.keeper.clone();
    e.keeper_mtime = i.mtime;
    e.atime = l.st.atime;
    e.xattrs = l.xattrs.clone();
    if let Some(v2) = e.v2.as_mut() {
        v2.keeper_dir_id = l.keeper_dir;
    }
    (e, None)
}

/// An entry naming `loc` as the scan saw it (the path as given; filled in by [`entry`]).
fn bare(tree: &Tree, loc: &Loc, i: &Identity) -> Entry {
    Entry {
        path: tree.path(loc),
        keeper: PathBuf::new(),
        keeper_id: i.id,
        len: i.len.0,
        keeper_mtime: i.mtime,
        uid: i.uid,
        gid: i.gid,
        mode: i.mode,
        mtime: i.mtime,
        atime: i.mtime,
        xattrs: Vec::new(),
        v2: Some(EntryV2 {
            run_uid: sys::euid(),
            victim_id: i.id,
            dir_id: tree.dir(loc.dir).id,
            keeper_dir_id: tree.dir(loc.dir).id,
            tmp: OsString::new(),
        }),
    }
}
