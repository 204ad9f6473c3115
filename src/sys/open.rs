//! Opening fds: roots and directories (as `O_PATH` fds, or for listing), names without following
//! a symlink, regular files for reading (checked through an `O_PATH` fd first, then reopened via
//! `/proc/self/fd`), reopening an `O_PATH` fd with real access, and creating a new file.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{CWD, Mode, OFlags};

use super::path::or_dot;
use super::stat::{Stat, stat_fd};

/// Open a directory to list it: by path (the walk checks the identity of what it opened against
/// what its parent's listing saw); a final symlink is followed only when `follow` (a root).
pub fn open_dir_list(path: &Path, follow: bool) -> io::Result<OwnedFd> {
    let path = or_dot(path);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let flags = if follow {
        flags
    } else {
        flags | OFlags::NOFOLLOW
    };
    Ok(rustix::fs::openat(CWD, path, flags, Mode::empty())?)
}

pub(super) const DIR_FLAGS: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);

/// Open a root directory by path (symlinks in the path the user typed are followed).
pub fn open_root_dir(path: &Path) -> io::Result<OwnedFd> {
    let path = or_dot(path);
    Ok(rustix::fs::open(path, DIR_FLAGS, Mode::empty())?)
}

/// Open a subdirectory by name, refusing a symlink.
pub fn open_dir_at(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        parent,
        name,
        DIR_FLAGS | OFlags::NOFOLLOW,
        Mode::empty(),
    )?)
}

const READ_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOCTTY);

/// Open for reading, without touching atime where we may (O_NOATIME is only allowed to the
/// owner or with CAP_FOWNER).
fn open_read<P: rustix::path::Arg + Copy>(
    dir: BorrowedFd<'_>,
    path: P,
    extra: OFlags,
) -> rustix::io::Result<OwnedFd> {
    match rustix::fs::openat(
        dir,
        path,
        READ_FLAGS | extra | OFlags::NOATIME,
        Mode::empty(),
    ) {
        Err(rustix::io::Errno::PERM) => {
            rustix::fs::openat(dir, path, READ_FLAGS | extra, Mode::empty())
        }
        r => r,
    }
}

/// `/proc/self/fd`, opened once per process: reopening an `O_PATH` fd by its number in there is a
/// one-name lookup instead of a walk of `/proc/self/fd/N` (the threads share the fd table, so
/// one directory serves them all). `None` where there is no /proc.
fn proc_fd_dir() -> Option<BorrowedFd<'static>> {
    static DIR: std::sync::OnceLock<Option<OwnedFd>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        rustix::fs::open(
            "/proc/self/fd",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()
    })
    .as_ref()
    .map(|fd| fd.as_fd())
}

/// The decimal name of an fd, NUL-terminated, without allocating.
struct FdName {
    buf: [u8; 12],
    start: usize,
}

impl FdName {
    fn new(fd: BorrowedFd<'_>) -> FdName {
        let mut buf = [0u8; 12];
        let mut n = std::os::fd::AsRawFd::as_raw_fd(&fd).unsigned_abs();
        let mut start = buf.len() - 1; // buf[11] stays the NUL
        loop {
            start -= 1;
            buf[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        FdName { buf, start }
    }

    fn as_c_str(&self) -> &std::ffi::CStr {
        std::ffi::CStr::from_bytes_with_nul(&self.buf[self.start..]).unwrap_or_default()
    }
}

/// Open `name` in `dir` for reading only if it is a regular file: it is first opened with
/// `O_PATH|O_NOFOLLOW` (which opens nothing: no FIFO, device or symlink target is touched) and
/// checked, then reopened for reading through `/proc/self/fd`. Returns `None` and what the name
/// is when it is not a regular file.
pub fn open_regular_at<P: rustix::path::Arg + Copy>(
    dir: BorrowedFd<'_>,
    name: P,
) -> io::Result<(Option<File>, Stat)> {
    let path_fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let st = stat_fd(path_fd.as_fd())?;
    if !st.is_file() {
        return Ok((None, st));
    }
    let reopened = match proc_fd_dir() {
        Some(proc) => open_read(
            proc,
            FdName::new(path_fd.as_fd()).as_c_str(),
            OFlags::empty(),
        ),
        None => Err(rustix::io::Errno::NOENT),
    };
    let fd = match reopened {
        Ok(fd) => fd,
        // No /proc: open the name itself, then make sure it is still the file we checked.
        Err(rustix::io::Errno::NOENT) => {
            let fd = open_read(dir, name, OFlags::NOFOLLOW)?;
            let now = stat_fd(fd.as_fd())?;
            if !now.is_file() || now.ident.id != st.ident.id {
                return Ok((None, now));
            }
            fd
        }
        Err(e) => return Err(e.into()),
    };
    Ok((Some(File::from(fd)), st))
}

/// [`open_regular_at`] in a directory where no one but the invoking user and root can add,
/// remove or rename a name (see `scan::hash`): the file the walk saw there can't have been
/// swapped for a FIFO or device by anyone untrusted, so the name is opened for reading directly
/// (`O_NOFOLLOW|O_NONBLOCK|O_NOCTTY`: a symlink is refused, a FIFO does not block) and then
/// checked, without the `O_PATH` open and its close. `None` and what the name is when it is not
/// a regular file.
pub fn open_regular_direct_at<P: rustix::path::Arg + Copy>(
    dir: BorrowedFd<'_>,
    name: P,
) -> io::Result<(Option<File>, Stat)> {
    let fd = open_read(dir, name, OFlags::NOFOLLOW)?;
    let st = stat_fd(fd.as_fd())?;
    if !st.is_file() {
        return Ok((None, st));
    }
    Ok((Some(File::from(fd)), st))
}

/// [`open_regular_at`] for a path (relative to the current directory).
pub fn open_regular(path: &Path) -> io::Result<(Option<File>, Stat)> {
    open_regular_at(CWD, path.as_os_str())
}

/// Create a new file `name` in `dir` (never an existing one), readable and writable only by us.
pub fn create_new_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<File> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::CREATE | OFlags::EXCL | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    Ok(File::from(fd))
}

/// Open `name` in `dir` as an `O_PATH` fd without following a symlink (nothing is opened for
/// reading; a FIFO or device is not touched).
pub fn open_path_at<P: rustix::path::Arg>(dir: BorrowedFd<'_>, name: P) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// `/` or the current directory, as an `O_PATH` fd (where a resolution starts).
pub fn open_start(absolute: bool) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        if absolute { "/" } else { "." },
        DIR_FLAGS,
        Mode::empty(),
    )?)
}

/// The parent of an open directory (`..` relative to it).
pub fn open_parent(dir: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(dir, "..", DIR_FLAGS, Mode::empty())?)
}

/// Reopen an `O_PATH` fd with real access `flags` (through `/proc/self/fd`, so the very inode
/// that was checked is opened, never whatever its name points to now).
pub fn reopen(fd: BorrowedFd<'_>, flags: OFlags) -> io::Result<File> {
    let proc = proc_fd_dir().ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))?;
    let name = FdName::new(fd);
    let file = rustix::fs::openat(
        proc,
        name.as_c_str(),
        flags | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    Ok(File::from(file))
}

pub use rustix::fs::OFlags as OpenFlags;

/// Open a directory (given as an `O_PATH` fd) for listing.
pub(super) fn open_dir_list_at(dir: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}
