//! An open regular file's data and metadata: where its data is (around holes), its length, and
//! giving back the owner, mode, extended attributes and times of a journal entry.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use rustix::fs::Mode;
use rustix::io::Errno;

use crate::model::Timestamp;

/// Give a file we created the owner, mode, extended attributes and times of a journal entry.
pub fn restore_metadata(
    file: &File,
    (uid, gid, mode): (u32, u32, u32),
    xattrs: &[(Vec<u8>, Vec<u8>)],
    atime: Timestamp,
    mtime: Timestamp,
) -> io::Result<()> {
    let fd = file.as_fd();
    // A file created in a directory with a default ACL (POSIX or NFSv4) got it as its access
    // ACL (the directory's owner chose it): the file gets exactly the recorded attributes, no
    // others. Security labels are the policy's to give (and to refuse to remove).
    for (name, _) in super::fxattrs(fd)? {
        if !name.starts_with(b"security.") && !xattrs.iter().any(|(n, _)| *n == name) {
            rustix::fs::fremovexattr(fd, OsStr::from_bytes(&name))?;
        }
    }
    rustix::fs::fchown(
        fd,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    )?;
    // The attributes (an access ACL among them) before the mode: the file is still 0600 here,
    // and setting the ACL gives it the group and other bits the ACL implies. The other way
    // round, the file would have for a moment the mode without the ACL, whose group bits are
    // the ACL's mask: its owning group, and users the ACL denies, could open it meanwhile.
    for (name, value) in xattrs {
        rustix::fs::fsetxattr(
            fd,
            OsStr::from_bytes(name),
            value,
            rustix::fs::XattrFlags::empty(),
        )?;
    }
    // After chown, which may clear set-id bits.
    rustix::fs::fchmod(fd, Mode::from_raw_mode(mode & 0o7777))?;
    let spec = |t: Timestamp| rustix::fs::Timespec {
        tv_sec: t.sec,
        tv_nsec: i64::from(t.nsec) as _,
    };
    rustix::fs::futimens(
        fd,
        &rustix::fs::Timestamps {
            last_access: spec(atime),
            last_modification: spec(mtime),
        },
    )?;
    Ok(())
}

/// Clear the inode flags (`chattr`: nodump, noatime, sync...) that `file`, which we created, took
/// from its directory and `like` does not have. Flags are only ever cleared here, never set; a
/// filesystem without them has nothing to clear.
pub fn clear_inherited_flags(file: &File, like: &File) -> io::Result<()> {
    use rustix::fs::{ioctl_getflags, ioctl_setflags};
    let unsupported = |e: &Errno| matches!(*e, Errno::NOTTY | Errno::OPNOTSUPP | Errno::INVAL);
    let have = match ioctl_getflags(file) {
        Ok(f) => f,
        Err(e) if unsupported(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let keep = match ioctl_getflags(like) {
        Ok(f) => f,
        Err(e) if unsupported(&e) => rustix::fs::IFlags::empty(),
        Err(e) => return Err(e.into()),
    };
    // Only the flags a directory passes on to new files; others (extents, ...) are the
    // filesystem's own and not ours to touch.
    use rustix::fs::IFlags;
    let inherited = IFlags::NODUMP
        | IFlags::NOATIME
        | IFlags::SYNC
        | IFlags::COMPRESSED
        | IFlags::JOURNALING
        | IFlags::NOTAIL
        | IFlags::SECURE_REMOVAL
        | IFlags::UNRM
        | IFlags::NOCOW
        | IFlags::PROJECT_INHERIT;
    let extra = have & !keep & inherited;
    if extra.is_empty() {
        return Ok(());
    }
    ioctl_setflags(file, have & !extra).map_err(Into::into)
}

/// The next byte range of `file` at or after `from` that holds data (not a hole), as
/// `(start, end)`; `None` when only holes remain before `len`. A filesystem without hole
/// reporting shows the whole file as data.
pub fn next_data(file: &File, from: u64, len: u64) -> io::Result<Option<(u64, u64)>> {
    use rustix::fs::SeekFrom;
    if from >= len {
        return Ok(None);
    }
    let start = match rustix::fs::seek(file, SeekFrom::Data(from)) {
        Ok(s) => s,
        Err(Errno::NXIO) => return Ok(None),
        // No SEEK_DATA here: everything is data.
        Err(Errno::INVAL | Errno::NOTSUP) => return Ok(Some((from, len))),
        Err(e) => return Err(e.into()),
    };
    if start >= len {
        return Ok(None);
    }
    let end = match rustix::fs::seek(file, SeekFrom::Hole(start)) {
        Ok(e) => e.min(len),
        Err(Errno::NXIO) => len,
        Err(e) => return Err(e.into()),
    };
    Ok(Some((start, end.max(start))))
}

/// Set the length of an open file.
pub fn set_len(file: &File, len: u64) -> io::Result<()> {
    Ok(rustix::fs::ftruncate(file, len)?)
}
