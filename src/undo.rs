//! Undo: gives each path recorded in a journal a file of its own again. For each entry, the
//! path must still be a link of the recorded keeper with the keeper's content unchanged;
//! then a copy of the bytes is written to a new temp name beside it, given the replaced file's
//! owner, mode, extended attributes and times, and exchanged atomically with the path. The path
//! never stops naming a file with its content.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;

use crate::error::Error;
use crate::journal::Entry;
use crate::sys::{self, Errno};

/// What undo did (or would do) with one journal entry.
#[derive(Debug)]
pub enum Undone {
    Restored,
    /// Left alone, with the reason (already split, changed since...).
    Skipped(String),
    Failed(Error),
}

/// Undo `entries` (all, or only those whose path is in `only`); nothing changes when `dry_run`.
pub fn undo(entries: &[Entry], only: &[std::path::PathBuf], dry_run: bool) -> Vec<Undone> {
    entries
        .iter()
        .map(|e| {
            if !only.is_empty() && !only.iter().any(|o| o == &e.path) {
                return Undone::Skipped("not selected (--only)".into());
            }
            match one(e, dry_run) {
                Ok(u) => u,
                Err(err) => Undone::Failed(err),
            }
        })
        .collect()
}

fn one(e: &Entry, dry_run: bool) -> Result<Undone, Error> {
    let path = &e.path;
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(Undone::Skipped("not a file path".into()));
    };
    let dir = sys::open_root_dir(parent).map_err(|err| Error::io(parent, err))?;
    let (file, st) = match sys::open_regular_at(dir.as_fd(), name) {
        Ok(r) => r,
        Err(err) if Errno::from_io_error(&err) == Some(Errno::NOENT) => {
            return Ok(Undone::Skipped("no longer exists".into()));
        }
        Err(err) => return Err(Error::io(path, err)),
    };
    let Some(file) = file else {
        return Ok(Undone::Skipped("no longer a regular file".into()));
    };
    if st.ident.id != e.keeper_id {
        return Ok(Undone::Skipped(
            "already has a file of its own (split or replaced since)".into(),
        ));
    }
    if st.ident.len.0 != e.len || st.ident.mtime != e.keeper_mtime {
        return Ok(Undone::Skipped(
            "the shared file was changed since the link (so did every path sharing it); left as it is"
                .into(),
        ));
    }
    if dry_run {
        return Ok(Undone::Restored);
    }
    restore(e, &dir, name, &file, &st).map(|()| Undone::Restored)
}

fn restore(
    e: &Entry,
    dir: &std::os::fd::OwnedFd,
    name: &OsStr,
    linked: &File,
    st: &sys::Stat,
) -> Result<(), Error> {
    let path = &e.path;
    let (tmp, mut copy) = new_temp(dir, path)?;
    let cleanup = |why: Error| -> Error {
        // The temp is ours (created exclusively); nothing else can be lost by removing it.
        let _removed = sys::unlink_at(dir.as_fd(), &tmp);
        why
    };
    let mut src = linked;
    let copied = io::copy(&mut src, &mut copy).map_err(|err| cleanup(Error::io(path, err)))?;
    if copied != e.len {
        return Err(cleanup(Error::Changed {
            path: path.clone(),
            what: "changed while it was copied; left as it is".into(),
        }));
    }
    sys::restore_metadata(&copy, (e.uid, e.gid, e.mode), &e.xattrs, e.atime, e.mtime)
        .and_then(|()| copy.sync_all())
        .map_err(|err| {
            cleanup(Error::Step {
                path: path.clone(),
                step: "restoring its metadata",
                err,
            })
        })?;
    let copy_id = sys::stat_fd(copy.as_fd())
        .map_err(|err| cleanup(Error::io(path, err)))?
        .ident
        .id;
    // The path must still be the link we checked; then swap in the copy atomically.
    match sys::stat_at(dir.as_fd(), name) {
        Ok(now) if now.ident.id == st.ident.id && now.ident.mtime == st.ident.mtime => {}
        _ => {
            return Err(cleanup(Error::Changed {
                path: path.clone(),
                what: "changed during undo; left as it is".into(),
            }));
        }
    }
    sys::exchange_at(dir.as_fd(), &tmp, name).map_err(|err| {
        cleanup(Error::Step {
            path: path.clone(),
            step: "exchanging with its copy",
            err,
        })
    })?;
    // The temp name now holds the keeper's link: remove it only if that is what it holds.
    match (
        sys::stat_at(dir.as_fd(), &tmp),
        sys::stat_at(dir.as_fd(), name),
    ) {
        (Ok(t), Ok(n)) if t.ident.id == st.ident.id && n.ident.id == copy_id => {
            sys::unlink_at(dir.as_fd(), &tmp).map_err(|err| Error::Step {
                path: path.clone(),
                step: "removing the temporary name (the path is restored)",
                err,
            })
        }
        _ => Err(Error::Changed {
            path: path.clone(),
            what: format!(
                "changed during undo; the temporary name {} is left for you to check",
                Path::new(&tmp).display()
            ),
        }),
    }
}

fn new_temp(dir: &std::os::fd::OwnedFd, path: &Path) -> Result<(std::ffi::OsString, File), Error> {
    for _ in 0..16 {
        let tmp = crate::execute::temp_name();
        match sys::create_new_at(dir.as_fd(), &tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(err) if Errno::from_io_error(&err) == Some(Errno::EXIST) => continue,
            Err(err) => {
                return Err(Error::Step {
                    path: path.to_path_buf(),
                    step: "creating its copy",
                    err,
                });
            }
        }
    }
    Err(Error::Changed {
        path: path.to_path_buf(),
        what: "no free temporary name".into(),
    })
}
