//! `statx` and what it says: [`Stat`] of a path, of a name in a directory or of an open fd, and
//! the file types it reports.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags};

pub use rustix::fs::FileType;

use super::path::or_dot;
use crate::model::{Attrs, FileId, FileLen, Identity, Timestamp};

/// What `statx` tells about one file.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub ident: Identity,
    pub atime: Timestamp,
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
    pub fn is_symlink(&self) -> bool {
        self.kind == FileType::Symlink
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
        atime: ts(st.stx_atime),
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
    let path = or_dot(path);
    let flags = if follow {
        AtFlags::empty()
    } else {
        AtFlags::SYMLINK_NOFOLLOW
    };
    Ok(convert(rustix::fs::statx(CWD, path, flags, MASK)?))
}

/// `statx` of a name in a directory, never following a symlink.
pub fn stat_at<P: rustix::path::Arg>(dir: BorrowedFd<'_>, name: P) -> io::Result<Stat> {
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

/// A word for a file type, for messages.
pub fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice | FileType::BlockDevice => "device",
        FileType::Unknown => "file of unknown type",
    }
}
