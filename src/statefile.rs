//! State files: undo journals, saved plans and the hash cache. They are created like git's lock
//! files (new and exclusive, no symlink followed, mode 0600; a whole file is written to a temp
//! name and renamed over the old one in the same directory) and read back only when they are
//! provably the invoking user's own, as OpenSSH's StrictModes demands of keys: a regular file
//! owned by the user or root and writable by nobody else, in directories owned by the user or
//! root that nobody else can write (unless sticky), reached without a symlink someone else owns.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crate::error::{Distrust, Error, Refusal, StateKind};
use crate::resolve::{Symlinks, Unresolved, resolve};
use crate::sys::{self, Errno, OpenFlags, Stat};

/// A directory that may hold state files: resolved and checked up to `/`.
pub struct StateDir {
    fd: OwnedFd,
}

impl StateDir {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn trusted_owner(uid: u32) -> bool {
    uid == 0 || uid == sys::euid()
}

fn untrusted(path: &Path, what: StateKind, why: Distrust) -> Error {
    Error::Untrusted {
        path: path.to_path_buf(),
        what,
        why,
    }
}

/// Every directory from `dir` up to `/` must be owned by the user or root and not writable by
/// group or others, unless it is sticky (like `/tmp`, where nobody can replace another's file).
fn check_dirs(dir: BorrowedFd<'_>, path: &Path, what: StateKind) -> Result<(), Error> {
    let mut cur = reopen_dir(dir);
    loop {
        let fd = cur.map_err(|e| Error::io(path, e))?;
        let st = sys::stat_fd(fd.as_fd()).map_err(|e| Error::io(path, e))?;
        let shown = || sys::dir_path(fd.as_fd()).unwrap_or_else(|_| path.to_path_buf());
        let mode = st.ident.mode;
        if !trusted_owner(st.ident.uid) {
            let why = Distrust::DirOwner {
                dir: shown(),
                uid: st.ident.uid,
            };
            return Err(untrusted(path, what, why));
        }
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            let why = Distrust::DirWritable { dir: shown(), mode };
            return Err(untrusted(path, what, why));
        }
        let parent = sys::open_parent(fd.as_fd()).map_err(|e| Error::io(path, e))?;
        let up = sys::stat_fd(parent.as_fd()).map_err(|e| Error::io(path, e))?;
        if up.ident.id == st.ident.id {
            return Ok(()); // `/`
        }
        cur = Ok(parent);
    }
}

fn reopen_dir(dir: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    sys::open_path_at(dir, ".")
}

/// The checked directory of `path` and the file's name in it.
///
/// `create`: make the directory (0700) if it is missing, which is done only for linkdup's own
/// default directories ([`crate::dirs::is_default`]).
pub fn dir_of(path: &Path, what: StateKind, create: bool) -> Result<(StateDir, OsString), Error> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Refused(Refusal::NotAFileName(path.to_path_buf())))?;
    let parent = sys::parent_or_dot(path);
    let resolved = if create && crate::dirs::is_default(parent) {
        ensure_dir(parent)
    } else {
        resolve(parent, Symlinks::Trusted)
    };
    let (fd, st) = resolved.map_err(|u| match u {
        Unresolved::Untrusted { link, owner } => {
            untrusted(path, what, Distrust::Symlinked { link, owner })
        }
        Unresolved::Io { err, .. } if err.kind() == io::ErrorKind::NotFound => Error::Step {
            path: parent.to_path_buf(),
            step: match what {
                StateKind::Cache => "the directory for the hash cache (make it first)",
                StateKind::Plan => "the directory for the plan (make it first)",
                StateKind::Journal => "the directory for the undo journal (make it first)",
            },
            err,
        },
        u => Error::from(u),
    })?;
    if !st.is_dir() {
        return Err(Error::io(parent, io::Error::from(Errno::NOTDIR)));
    }
    check_dirs(fd.as_fd(), path, what)?;
    Ok((StateDir { fd }, name.to_owned()))
}

/// Resolve a directory, making it (mode 0700) and any missing parent first: each one relative to
/// the resolved directory above it, so nothing is made through a symlink someone else owns.
fn ensure_dir(dir: &Path) -> Result<(OwnedFd, Stat), Unresolved> {
    match resolve(dir, Symlinks::Trusted) {
        Err(Unresolved::Io { err, .. }) if err.kind() == io::ErrorKind::NotFound => {
            let (Some(up), Some(name)) = (dir.parent(), dir.file_name()) else {
                return resolve(dir, Symlinks::Trusted);
            };
            let (above, _) = ensure_dir(sys::or_dot(up))?;
            match sys::mkdir_at(above.as_fd(), name, 0o700) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(Unresolved::Io {
                        at: dir.to_path_buf(),
                        err: e,
                    });
                }
                _ => {}
            }
            resolve(dir, Symlinks::Trusted)
        }
        r => r,
    }
}

/// What an existing state file must be before it is read or appended to.
fn check_file(st: &Stat, path: &Path, what: StateKind) -> Result<(), Error> {
    let why = if st.is_symlink() {
        Distrust::Symlink
    } else if !st.is_file() {
        Distrust::NotRegular(sys::kind_name(st.kind))
    } else if !trusted_owner(st.ident.uid) {
        Distrust::Owner(st.ident.uid)
    } else if st.ident.mode & 0o022 != 0 {
        Distrust::Writable(st.ident.mode)
    } else if st.nlink != 1 {
        // Another name of it may be someone's `/etc/shadow` (where hard links to others' files
        // are allowed).
        Distrust::Links(st.nlink)
    } else {
        return Ok(());
    };
    Err(untrusted(path, what, why))
}

/// Open `name` in `dir` with `flags` if it exists and passes [`check_file`]; the inode checked
/// is the one opened.
fn open_checked(
    dir: &StateDir,
    name: &OsStr,
    path: &Path,
    what: StateKind,
    flags: OpenFlags,
) -> Result<Option<File>, Error> {
    let fd = match sys::open_path_at(dir.fd(), name) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let st = sys::stat_fd(fd.as_fd()).map_err(|e| Error::io(path, e))?;
    check_file(&st, path, what)?;
    sys::reopen(fd.as_fd(), flags)
        .map(Some)
        .map_err(|e| Error::io(path, e))
}

/// Open a state file for reading; `None` when it does not exist.
pub fn open_read(path: &Path, what: StateKind) -> Result<Option<File>, Error> {
    let (dir, name) = dir_of(path, what, false)?;
    open_checked(
        &dir,
        &name,
        path,
        what,
        OpenFlags::RDONLY | OpenFlags::NONBLOCK,
    )
}

/// Open a state file to append to: the existing one if it passes the checks, else a new one.
pub fn open_append(path: &Path, what: StateKind) -> Result<File, Error> {
    let (dir, name) = dir_of(path, what, true)?;
    let flags = OpenFlags::WRONLY | OpenFlags::APPEND | OpenFlags::NONBLOCK;
    if let Some(f) = open_checked(&dir, &name, path, what, flags)? {
        return Ok(f);
    }
    create_new(&dir, &name).map_err(|e| Error::io(path, e))
}

/// Create `name` in `dir`: a new file (`EEXIST` if the name is taken), mode 0600.
pub fn create_new(dir: &StateDir, name: &OsStr) -> io::Result<File> {
    sys::create_new_at(dir.fd(), name)
}

/// Before anything is scanned: can a state file be written at `path`? Its directory must pass
/// the checks, and the file must be absent or pass them too.
pub fn check_target(path: &Path, what: StateKind) -> Result<StateDir, Error> {
    let (dir, name) = dir_of(path, what, true)?;
    match sys::stat_at(dir.fd(), &name) {
        Ok(st) => check_file(&st, path, what)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    Ok(dir)
}

/// A fresh name for a whole file being written (never one of the swap's temp names).
fn state_temp_name() -> OsString {
    let mut s = String::from(".linkdup-state.");
    for _ in 0..10 {
        s.push(fastrand::alphanumeric());
    }
    OsString::from(s)
}

/// Replace the state file at `path` with `bytes`: written to a new temp name in the same
/// directory, synced, then renamed over the old name. An existing file there must pass the
/// checks (a symlink or someone else's file is refused, never replaced).
pub fn write_whole(path: &Path, what: StateKind, bytes: &[u8]) -> Result<(), Error> {
    let dir = check_target(path, what)?;
    let name = path.file_name().unwrap_or_default();
    let mut tries = 0;
    let (tmp, mut file) = loop {
        let tmp = state_temp_name();
        match create_new(&dir, &tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if Errno::from_io_error(&e) == Some(Errno::EXIST) && tries < 16 => tries += 1,
            Err(e) => return Err(Error::io(path, e)),
        }
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| sys::rename_at(dir.fd(), &tmp, name));
    if let Err(e) = written {
        let _removed = sys::unlink_at(dir.fd(), &tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}
