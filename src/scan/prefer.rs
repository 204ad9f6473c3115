//! Which scanned directories lie below the `--keep-under` directories, by identity (so that
//! `./photos`, `/home/me/photos` and a symlink to it all mean the same place).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::model::{FileId, Tree};
use crate::sys;

/// One flag per [`Tree::dirs`] entry: is it one of `dirs` or below one? Empty when `dirs` is.
pub fn dirs_under(tree: &Tree, dirs: &[PathBuf]) -> Result<Vec<bool>, Error> {
    if dirs.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: HashSet<FileId> = HashSet::new();
    let mut canon: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let st = sys::stat_path(d, true).map_err(|e| Error::io(d, e))?;
        if !st.is_dir() {
            return Err(Error::Refused(crate::error::Refusal::KeepUnderNotADir(
                d.clone(),
            )));
        }
        ids.insert(st.ident.id);
        canon.push(std::fs::canonicalize(d).map_err(|e| Error::io(d, e))?);
    }
    let below = |p: &Path| {
        std::fs::canonicalize(sys::or_dot(p)).is_ok_and(|c| canon.iter().any(|k| c.starts_with(k)))
    };
    let mut under = Vec::with_capacity(tree.dirs.len());
    for d in &tree.dirs {
        let flag = ids.contains(&d.id)
            || match d.parent {
                // Parents are always registered before their children.
                Some(p) => under[p.0 as usize],
                None => below(&d.path),
            };
        under.push(flag);
    }
    Ok(under)
}
