//! Recovery: resolves the temporary names an interrupted run can leave (`.linkdup-XXXXXXXX`),
//! by the rules of the safety model. A temp name is removed only when its content provably
//! lives on under another name; anything else is left in place and reported.
//!
//! - The inode has another link (`nlink` ≥ 2): the temp is an extra name (a crash after the
//!   link, before the exchange) or the old duplicate still has other names. Removing it loses
//!   nothing.
//! - Otherwise it is the old duplicate displaced by the exchange (a crash before the unlink):
//!   its bytes must equal a file of the same directory (the keeper's link that took its place).

use std::os::fd::AsFd;

use crate::error::Error;
use crate::execute::dirs::{CompareBufs, DirFds, same_bytes};
use crate::model::{FileId, TempFile, Timestamp, Tree};
use crate::report::escape::Escaped;
use crate::sys;

/// What recovery did (or, in a dry run, would do) with one temp name.
#[derive(Debug)]
pub enum Recovered {
    /// Removed (or removable): its content lives on, as `why` says.
    Removed {
        why: String,
        /// When the temp was an extra link of another name's inode: that inode, and its ctime
        /// after the removal (`None` in a dry run), so a plan can be kept in step.
        linked: Option<(FileId, Option<Timestamp>)>,
    },
    /// Made by a linkdup that is running right now (in the middle of a swap): not touched.
    Busy,
    /// Left in place: nothing proves its content exists elsewhere.
    Left {
        why: String,
    },
    Failed(Error),
}

/// Resolve every temp name; with `apply` false nothing is changed.
pub fn recover(tree: &Tree, temps: &[TempFile], apply: bool) -> Vec<Recovered> {
    let mut dirs = DirFds::new(tree);
    let mut bufs = CompareBufs::default();
    temps
        .iter()
        .map(|t| resolve(tree, &mut dirs, &mut bufs, t, apply).unwrap_or_else(Recovered::Failed))
        .collect()
}

fn resolve(
    tree: &Tree,
    dirs: &mut DirFds<'_>,
    bufs: &mut CompareBufs,
    t: &TempFile,
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
    if crate::execute::owner_running(name) {
        return Ok(Recovered::Busy);
    }
    let why = if st.nlink >= 2 {
        format!(
            "an extra name of a file with {} other link(s)",
            st.nlink - 1
        )
    } else {
        let mut found = None;
        for twin in &t.twins {
            let (Some(other), ost) =
                sys::open_regular_at(dir.as_fd(), &*twin.name).map_err(|e| Error::io(&path, e))?
            else {
                continue;
            };
            if ost.ident.id != st.ident.id
                && same_bytes(&file, &other, st.ident.len.0, bufs)
                    .map_err(|e| Error::io(&path, e))?
            {
                found = Some(tree.path(twin));
                break;
            }
        }
        match found {
            Some(p) => format!("its bytes are identical to {}", Escaped(&p)),
            None => {
                return Ok(Recovered::Left {
                    why: "no other copy of its content was found; check it by hand".into(),
                });
            }
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
