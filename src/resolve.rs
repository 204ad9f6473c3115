//! Resolving a path without being led astray by names that other users control: one component
//! at a time from `/` or the current directory, each opened (`O_PATH|O_NOFOLLOW`) relative to
//! the directory before it. A symlink is followed only when it is owned by the invoking user or
//! root ([`Symlinks::Trusted`]), or never ([`Symlinks::Never`]); its owner is read from the very
//! link that is then followed. No path is ever handed to the kernel whole, so there is no
//! `PATH_MAX`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Moved};
use crate::sys::{self, Stat};

/// Which symlinks on the way may be followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Symlinks {
    /// Those owned by the invoking user or root (paths a person typed).
    Trusted,
    /// None (paths read back from a file, which must name real directories).
    Never,
}

/// Why a path could not be resolved.
#[derive(Debug)]
pub enum Unresolved {
    /// A system call failed at `at` (the path up to the component that failed).
    Io { at: PathBuf, err: io::Error },
    /// A symlink owned by someone else.
    Untrusted { link: PathBuf, owner: u32 },
    /// A symlink where none may be.
    Symlink { link: PathBuf },
}

/// Symlinks followed before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

fn components(p: &Path) -> VecDeque<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// An `O_PATH` fd of what `path` names (a final symlink is followed like the others), with its
/// `statx`.
pub fn resolve(path: &Path, symlinks: Symlinks) -> Result<(OwnedFd, Stat), Unresolved> {
    let io_at = |at: &Path| {
        let at = at.to_path_buf();
        move |err| Unresolved::Io { at, err }
    };
    let absolute = path.is_absolute();
    let mut cur = sys::open_start(absolute).map_err(io_at(Path::new(".")))?;
    let mut todo = components(path);
    let mut shown = PathBuf::from(if absolute { "/" } else { "" });
    let mut links = 0;
    let me = sys::euid();
    while let Some(name) = todo.pop_front() {
        let here = shown.join(&name);
        if name == ".." {
            cur = sys::open_parent(cur.as_fd()).map_err(io_at(&here))?;
            shown = here;
            continue;
        }
        let fd = sys::open_path_at(cur.as_fd(), name.as_os_str()).map_err(io_at(&here))?;
        let st = sys::stat_fd(fd.as_fd()).map_err(io_at(&here))?;
        if st.is_symlink() {
            if symlinks == Symlinks::Never {
                return Err(Unresolved::Symlink { link: here });
            }
            let owner = st.ident.uid;
            if owner != me && owner != 0 {
                return Err(Unresolved::Untrusted { link: here, owner });
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(Unresolved::Io {
                    at: here,
                    err: io::Error::from(sys::Errno::LOOP),
                });
            }
            let target = PathBuf::from(sys::read_link_fd(fd.as_fd()).map_err(io_at(&here))?);
            if target.is_absolute() {
                cur = sys::open_start(true).map_err(io_at(&here))?;
            }
            let mut next = components(&target);
            next.extend(todo);
            todo = next;
            shown = here;
            continue;
        }
        if !todo.is_empty() && !st.is_dir() {
            return Err(Unresolved::Io {
                at: here,
                err: io::Error::from(sys::Errno::NOTDIR),
            });
        }
        cur = fd;
        shown = here;
    }
    let st = sys::stat_fd(cur.as_fd()).map_err(io_at(path))?;
    Ok((cur, st))
}

impl From<Unresolved> for Error {
    /// A path that could not be resolved, as the error it is.
    fn from(u: Unresolved) -> Self {
        match u {
            Unresolved::Io { at, err } => Error::Io { path: at, err },
            Unresolved::Untrusted { link, owner } => Error::UntrustedSymlink { path: link, owner },
            Unresolved::Symlink { link } => Error::Changed {
                path: link,
                what: Moved::Symlink,
            },
        }
    }
}
