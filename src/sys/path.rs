//! Paths and the system: `.` for the empty path (a system call refuses `""`), and from an fd
//! back to a path: the target of a symlink opened `O_PATH|O_NOFOLLOW`, and the absolute path of
//! an open directory.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{FileType, Mode};

use super::names::read_dir;
use super::open::{DIR_FLAGS, open_dir_list_at, open_parent};
use super::stat::{stat_at, stat_fd};

/// `path`, or `.` for the empty path: the parent of a one-component relative path is empty, and a
/// system call refuses it (`ENOENT`) where the user means the current directory.
pub fn or_dot(path: &Path) -> &Path {
    if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    }
}

/// The directory a file path names its file in: its parent, or `.` when that is empty or there
/// is none.
pub fn parent_or_dot(path: &Path) -> &Path {
    path.parent().map_or(Path::new("."), or_dot)
}

/// The target of the symlink `fd` was opened on (`O_PATH|O_NOFOLLOW`): read from that very
/// inode, so the link can't be swapped between its owner check and this read.
pub fn read_link_fd(fd: BorrowedFd<'_>) -> io::Result<std::ffi::OsString> {
    let target = rustix::fs::readlinkat(fd, "", Vec::new())?;
    Ok(OsStr::from_bytes(target.as_bytes()).to_owned())
}

/// The absolute path of an open directory: what `/proc/self/fd` says, or, where that fails
/// (deeper than `PATH_MAX`), the names found by walking up through `..` one level at a time.
pub fn dir_path(dir: BorrowedFd<'_>) -> io::Result<std::path::PathBuf> {
    let link = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&dir));
    if let Ok(target) = rustix::fs::readlink(link.as_str(), Vec::new()) {
        let bytes = target.as_bytes();
        if bytes.starts_with(b"/") && !bytes.ends_with(b" (deleted)") {
            return Ok(std::path::PathBuf::from(OsStr::from_bytes(bytes)));
        }
    }
    dir_path_by_walking_up(dir)
}

fn dir_path_by_walking_up(dir: BorrowedFd<'_>) -> io::Result<std::path::PathBuf> {
    let mut names: Vec<std::ffi::OsString> = Vec::new();
    let mut cur = rustix::fs::openat(dir, ".", DIR_FLAGS, Mode::empty())?;
    let mut buf = Vec::new();
    loop {
        let here = stat_fd(cur.as_fd())?.ident.id;
        let parent = open_parent(cur.as_fd())?;
        if stat_fd(parent.as_fd())?.ident.id == here {
            break; // `/`
        }
        let listing = open_dir_list_at(parent.as_fd())?;
        let mut found = None;
        read_dir(listing.as_fd(), &mut buf, |name, kind| {
            if found.is_none()
                && matches!(kind, FileType::Directory | FileType::Unknown)
                && stat_at(parent.as_fd(), name).is_ok_and(|s| s.ident.id == here)
            {
                found = Some(OsStr::from_bytes(name.to_bytes()).to_owned());
            }
        })?;
        names.push(found.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?);
        cur = parent;
    }
    let mut path = std::path::PathBuf::from("/");
    path.extend(names.iter().rev());
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_paths_are_the_current_directory() {
        // (path, or_dot, parent_or_dot)
        let cases = [
            ("", ".", "."),
            ("a", "a", "."),
            ("a/b", "a/b", "a"),
            ("/a", "/a", "/"),
            ("/", "/", "."),
            ("./a", "./a", "."),
        ];
        for (path, dot, parent) in cases {
            let p = Path::new(path);
            assert_eq!(or_dot(p), Path::new(dot), "{path:?}");
            assert_eq!(parent_or_dot(p), Path::new(parent), "{path:?}");
        }
    }
}
