//! The undo journals in the state directory, as a person manages them: what each holds (when,
//! over which tree, how many paths, how many are still shared and could be undone), and the
//! removal of the ones no longer needed. Only the invoking user's own journals are read or
//! removed (the trust rules of [`crate::statefile`]); a removal goes through the verified
//! state directory and removes only the file that was read.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::Prune;
use crate::error::{Error, StateKind};
use crate::journal::{self, Read};
use crate::model::FileId;
use crate::statefile;
use crate::sys;
use crate::undo::{Undone, undo};

/// One journal, as read now.
#[derive(Debug)]
pub struct Info {
    pub path: PathBuf,
    /// When it was last written.
    pub modified: SystemTime,
    /// The paths it records.
    pub entries: u64,
    /// Of those, how many `undo` would restore now (still sharing their keeper's file).
    pub undoable: u64,
    /// The deepest directory above every path it records (replaced paths and keepers).
    pub tree: PathBuf,
    /// What `--prune` does with it.
    pub fate: Fate,
    identity: FileId,
}

/// What `journals --prune` does (or would do) with a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Kept,
    /// Removed (or, in a dry run, to be removed).
    Removed,
}

/// Every journal of the invoking user in the state directory, oldest first, and the ones that
/// could not be read (not yours, damaged).
pub fn list() -> (Vec<Info>, Vec<Error>) {
    let (mut infos, mut errors) = (Vec::new(), Vec::new());
    for path in journal::in_state_dir() {
        match read(&path) {
            Ok(info) => infos.push(info),
            Err(e) => errors.push(e),
        }
    }
    (infos, errors)
}

fn read(path: &Path) -> Result<Info, Error> {
    let read: Read = journal::read(path)?;
    let modified = SystemTime::UNIX_EPOCH
        + Duration::new(
            u64::try_from(read.modified.sec).unwrap_or(0),
            read.modified.nsec,
        );
    let undoable = undo(&read, &[], true)
        .iter()
        .filter(|u| matches!(u, Undone::Restored { .. }))
        .count() as u64;
    Ok(Info {
        path: path.to_path_buf(),
        modified,
        entries: read.entries.len() as u64,
        undoable,
        tree: common_dir(
            read.entries
                .iter()
                .flat_map(|e| [e.path.as_path(), e.keeper.as_path()]),
        ),
        fate: Fate::Kept,
        identity: read.file,
    })
}

/// The deepest directory above every path (`/` at worst; empty for no path).
fn common_dir<'a>(mut paths: impl Iterator<Item = &'a Path>) -> PathBuf {
    let Some(first) = paths.next() else {
        return PathBuf::new();
    };
    let mut common: PathBuf = first.parent().unwrap_or(first).to_path_buf();
    for p in paths {
        while !p.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

/// Does `info` meet every condition of `prune`, at `now`?
pub fn selected(info: &Info, prune: &Prune, now: SystemTime) -> bool {
    let old = prune.older_than.is_none_or(|age| {
        now.duration_since(info.modified)
            .is_ok_and(|since| since > age)
    });
    let undone = !prune.undone || info.undoable == 0;
    old && undone
}

/// Remove the journal `info` was read from: only if its name in the state directory still is
/// that file, and yours.
pub fn remove(info: &Info) -> Result<(), Error> {
    let (dir, name): (statefile::StateDir, OsString) =
        statefile::dir_of(&info.path, StateKind::Journal, false)?;
    let st = sys::stat_at(dir.fd(), &name).map_err(|e| Error::io(&info.path, e))?;
    if st.ident.id != info.identity || !st.is_file() || st.ident.uid != sys::euid() {
        return Err(Error::Changed {
            path: info.path.clone(),
            what: crate::error::Moved::Rewritten,
        });
    }
    sys::unlink_at(dir.fd(), &name).map_err(|e| Error::io(&info.path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_the_deepest_common_directory() {
        let dir = |ps: &[&str]| common_dir(ps.iter().map(Path::new));
        assert_eq!(dir(&[]), PathBuf::new());
        assert_eq!(dir(&["/srv/a/x"]), PathBuf::from("/srv/a"));
        assert_eq!(dir(&["/srv/a/x", "/srv/a/b/y"]), PathBuf::from("/srv/a"));
        assert_eq!(dir(&["/srv/a/x", "/srv/ab/y"]), PathBuf::from("/srv"));
        assert_eq!(dir(&["/srv/a/x", "/home/y"]), PathBuf::from("/"));
    }
}
