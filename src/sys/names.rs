//! Names in a directory: listing them (`getdents`), and adding, swapping, replacing and removing
//! them (`linkat`, `renameat2`, `renameat`, `unlinkat`, `mkdirat`), each relative to a directory
//! fd.

use std::ffi::OsStr;
use std::io;
use std::os::fd::BorrowedFd;

use rustix::fs::{AtFlags, CWD, FileType, Mode, RenameFlags};

/// Every entry of an open directory but `.` and `..`, with the type `getdents` reports
/// (`Unknown` on filesystems that don't fill it in). `buf` is scratch space for `getdents`.
pub fn read_dir(
    dir: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    mut each: impl FnMut(&std::ffi::CStr, FileType),
) -> io::Result<()> {
    const BUF: usize = 16 * 1024;
    buf.clear();
    buf.reserve(BUF);
    let mut entries = rustix::fs::RawDir::new(dir, buf.spare_capacity_mut());
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        each(name, entry.file_type());
    }
    Ok(())
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

/// Create a directory `name` in `dir` with `mode`.
pub fn mkdir_at(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    Ok(rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(mode))?)
}
