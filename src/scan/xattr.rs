//! Extended attributes (ACLs, SELinux labels, file capabilities, user attributes) of the files in
//! duplicate groups, for the planner's gates. The hashing step reads them through the fd it has
//! open anyway; this module reads the rest (files whose hashes came from the cache) through an
//! `O_PATH` fd opened relative to the verified directory, never by path, so only candidates are
//! ever read, nothing is followed, and a tree without duplicates costs nothing here.

use std::sync::atomic::Ordering;

use std::os::fd::AsFd;

use rayon::prelude::*;

use super::group::Candidates;
use super::hash::{Ctx, DirFd};
use crate::error::{Error, Moved};
use crate::model::{XattrSum, Xattrs};
use crate::sys;

pub use crate::gates::summarize;

/// Read the attributes of every grouped candidate that has none yet; a candidate whose attributes
/// can't be read is reported and dropped, and groups left with one candidate are dropped.
pub fn read(ctx: &Ctx<'_>, c: Candidates) -> Candidates {
    let Candidates {
        mut cands,
        groups,
        mut sums,
    } = c;
    let todo: Vec<u32> = groups
        .iter()
        .flat_map(|g| g.cands.clone())
        .filter(|&i| cands[i as usize].xattr().is_unknown())
        .collect();
    if todo.is_empty() {
        return Candidates {
            cands,
            groups,
            sums,
        };
    }
    let files = ctx.files;
    let read: Vec<Option<XattrSum>> = todo
        .par_iter()
        .map(|&i| {
            let rec = &files.recs[cands[i as usize].start as usize];
            match read_one(ctx, rec) {
                Ok(list) => Some(summarize(&list)),
                // Changed or gone since the walk: not a candidate any more.
                Err(e @ Error::Changed { .. }) => {
                    ctx.listener.warn(&e);
                    None
                }
                Err(e) => {
                    ctx.listener.error(&e);
                    ctx.errors.fetch_add(1, Ordering::Relaxed);
                    None
                }
            }
        })
        .collect();
    // One whose attributes could not be read stays unknown, and drops out here.
    for (&i, sum) in todo.iter().zip(read) {
        if let Some(s) = sum {
            let c = &mut cands[i as usize];
            c.set_xattr(sums.intern(files.id(&files.recs[c.start as usize]), s));
        }
    }
    let mut out = Candidates {
        cands,
        groups,
        sums,
    };
    out.retain(|c| !c.xattr().is_unknown());
    out
}

/// One file's attributes, through an `O_PATH` fd of the inode the walk saw.
fn read_one(ctx: &Ctx<'_>, rec: &crate::model::packed::Rec) -> Result<Xattrs, Error> {
    let files = ctx.files;
    let path = || files.path(ctx.tree, rec);
    let changed = |what: Moved| Error::Changed { path: path(), what };
    let mut dir = DirFd::new(ctx.tree, rec.dir);
    let Some(d) = dir.get() else {
        return Err(changed(Moved::DirMoved));
    };
    let fd = match sys::open_path_at(d.as_fd(), files.c_name(rec)) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(changed(Moved::Deleted));
        }
        Err(e) => return Err(Error::io(path(), e)),
    };
    match sys::stat_fd(fd.as_fd()) {
        Ok(st) if st.is_file() && st.ident.id == files.ident(rec).id => {}
        Ok(_) => return Err(changed(Moved::Rewritten)),
        Err(e) => return Err(Error::io(path(), e)),
    }
    sys::xattrs_of_path_fd(fd.as_fd()).map_err(|e| Error::io(path(), e))
}
