//! The only place for raw platform calls: `statx`, directory fds, `linkat`, `renameat2`,
//! `unlinkat`. One small function per platform fact; everything is relative to a directory fd
//! except opening a root, which is then checked by identity.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RenameFlags, StatxAttributes, StatxFlags};

use crate::model::{Attrs, FileId, FileLen, Identity, Timestamp};

/// What `statx` tells about one file.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub ident: Identity,
    pub nlink: u64,
    pub mnt: u64,
    pub attrs: Attrs,
    pub kind: FileType,
}

impl Stat {
    pub fn is_file(&self) -> bool {
        self.kind == FileType::RegularFile
    }
    pub fn is_dir(&self) -> bool {
        self.kind == FileType::Directory
    }
}

const MASK: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::MNT_ID);

fn convert(st: rustix::fs::Statx) -> Stat {
    let ts = |t: rustix::fs::StatxTimestamp| Timestamp {
        sec: t.tv_sec,
        nsec: t.tv_nsec,
    };
    let attrs = st.stx_attributes & st.stx_attributes_mask;
    Stat {
        ident: Identity {
            id: FileId {
                dev: rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor),
                ino: st.stx_ino,
            },
            len: FileLen(st.stx_size),
            mtime: ts(st.stx_mtime),
            ctime: ts(st.stx_ctime),
            mode: u32::from(st.stx_mode),
            uid: st.stx_uid,
            gid: st.stx_gid,
        },
        nlink: u64::from(st.stx_nlink),
        mnt: if st.stx_mask & StatxFlags::MNT_ID.bits() != 0 {
            st.stx_mnt_id
        } else {
            0
        },
        attrs: Attrs {
            immutable: attrs.contains(StatxAttributes::IMMUTABLE),
            append_only: attrs.contains(StatxAttributes::APPEND),
        },
        kind: FileType::from_raw_mode(u32::from(st.stx_mode)),
    }
}

/// `statx` of a path; `follow` decides whether a final symlink is followed.
pub fn stat_path(path: &Path, follow: bool) -> io::Result<Stat> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let flags = if follow {
        AtFlags::empty()
    } else {
        AtFlags::SYMLINK_NOFOLLOW
    };
    Ok(convert(rustix::fs::statx(CWD, path, flags, MASK)?))
}

/// `statx` of a name in a directory, never following a symlink.
pub fn stat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Stat> {
    Ok(convert(rustix::fs::statx(
        dir,
        name,
        AtFlags::SYMLINK_NOFOLLOW,
        MASK,
    )?))
}

/// `statx` of an open fd.
pub fn stat_fd(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    Ok(convert(rustix::fs::statx(
        fd,
        "",
        AtFlags::EMPTY_PATH,
        MASK,
    )?))
}

const DIR_FLAGS: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);

/// Open a root directory by path (symlinks in the path the user typed are followed).
pub fn open_root_dir(path: &Path) -> io::Result<OwnedFd> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
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

/// Open a file for reading without following a symlink, without blocking on a FIFO that was
/// swapped in, and without touching atime where we may.
pub fn open_file_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<File> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = match rustix::fs::openat(dir, name, flags | OFlags::NOATIME, Mode::empty()) {
        // O_NOATIME is only allowed to the owner (or with CAP_FOWNER).
        Err(rustix::io::Errno::PERM) => rustix::fs::openat(dir, name, flags, Mode::empty())?,
        r => r?,
    };
    Ok(File::from(fd))
}

/// Open a file by path for reading, with the same flags as [`open_file_at`].
pub fn open_file(path: &Path) -> io::Result<File> {
    open_file_at(CWD, path.as_os_str())
}

/// Create `name` in `dir` as a new hard link to the open file `fd`. Never overwrites: fails with
/// `EEXIST` if the name exists.
pub fn link_fd_at(fd: BorrowedFd<'_>, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match rustix::fs::linkat(fd, "", dir, name, AtFlags::EMPTY_PATH) {
        Ok(()) => Ok(()),
        // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc form works for everyone.
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::PERM) => {
            let proc = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
            Ok(rustix::fs::linkat(
                CWD,
                proc.as_str(),
                dir,
                name,
                AtFlags::SYMLINK_FOLLOW,
            )?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Atomically swap two names in one directory (`renameat2` with `RENAME_EXCHANGE`).
pub fn exchange_at(dir: BorrowedFd<'_>, a: &OsStr, b: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::renameat_with(
        dir,
        a,
        dir,
        b,
        RenameFlags::EXCHANGE,
    )?)
}

/// Plain `renameat` within one directory (atomic replace of `to`).
pub fn rename_at(dir: BorrowedFd<'_>, from: &OsStr, to: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::renameat(dir, from, dir, to)?)
}

/// Remove a (non-directory) name.
pub fn unlink_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?)
}

/// Borrow the fd of an open file.
pub fn fd_of(file: &File) -> BorrowedFd<'_> {
    file.as_fd()
}

/// Errno of an I/O error, for deciding on a retry or fallback.
pub fn errno(err: &io::Error) -> Option<i32> {
    err.raw_os_error()
}

pub use rustix::io::Errno;
