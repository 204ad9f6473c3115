//! Verified directory fds and byte comparison through open fds: the two things every mutation
//! (a swap, a recovery, an undo) needs before it touches a name. Comparison follows each file's
//! map of holes (`SEEK_DATA`/`SEEK_HOLE`): holes are never read, so two sparse files of a
//! terabyte each cost what their data costs.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::rc::Rc;

use crate::error::{Error, Moved};
use crate::model::{DirIdx, Tree};
use crate::sys;

/// Most directory fds kept open; fewer when the fd limit is low.
const DIR_CACHE: u64 = 1 << 16;
const CMP_BUF: usize = 128 * 1024;

/// Opens scanned directories: roots by path, every other directory relative to its parent
/// without following symlinks; each must still be the directory the scan saw. Each directory is
/// opened and verified once and kept open (as long as the fd limit allows: groups are executed
/// largest first, so consecutive swaps land in directories all over the tree).
pub struct DirFds<'a> {
    tree: &'a Tree,
    cache: HashMap<DirIdx, Rc<OwnedFd>>,
    capacity: usize,
    /// Whether others may reach each directory opened so far (see [`public`]), as it was then.
    public: HashMap<DirIdx, bool>,
}

/// May everyone reach the entries of a directory (`st`)? Every directory from `/` down to it
/// must let others search it. A file others can't reach is never linked with one they can:
/// its later edits would be theirs to read through the other path.
pub fn public(parent_public: bool, st: &sys::Stat) -> bool {
    parent_public && st.ident.mode & 0o001 != 0
}

/// [`public`] for the directories above `dir` (from `/` to its parent), found by opening
/// `..` from the directory itself (so an empty path, or one deeper than `PATH_MAX`, is no
/// problem); a directory that can't be looked at counts as closed.
pub fn public_above(dir: &std::path::Path) -> bool {
    let Ok(mut cur) = sys::open_root_dir(dir) else {
        return false;
    };
    let Ok(mut cur_st) = sys::stat_fd(cur.as_fd()) else {
        return false;
    };
    loop {
        let Ok(up) = sys::open_parent(cur.as_fd()) else {
            return false;
        };
        let Ok(st) = sys::stat_fd(up.as_fd()) else {
            return false;
        };
        if st.ident.id == cur_st.ident.id {
            return true; // `/`: its own parent
        }
        if !public(true, &st) {
            return false;
        }
        (cur, cur_st) = (up, st);
    }
}

impl<'a> DirFds<'a> {
    /// Raises the process's soft fd limit to its hard limit to keep every directory open, as
    /// far as half of the limit (at most 65,536): the other half is for the files of a swap,
    /// the fds waiting to be closed and everything else.
    pub fn new(tree: &'a Tree) -> Self {
        let limit = sys::raise_fd_limit(2 * DIR_CACHE);
        DirFds {
            tree,
            cache: HashMap::new(),
            capacity: (limit / 2).clamp(1, DIR_CACHE) as usize,
            public: HashMap::new(),
        }
    }

    /// How many directory fds are kept open: half of the fd limit.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether others could reach a directory when it was last opened (false before).
    pub fn is_public(&self, idx: DirIdx) -> bool {
        self.public.get(&idx).copied().unwrap_or(false)
    }

    /// A verified fd (`O_PATH`) of a scanned directory.
    pub fn open(&mut self, idx: DirIdx) -> Result<Rc<OwnedFd>, Error> {
        if let Some(fd) = self.cache.get(&idx) {
            return Ok(fd.clone());
        }
        let d = self.tree.dir(idx);
        let (fd, above) = match d.parent {
            None => (sys::open_root_dir(&d.path), public_above(&d.path)),
            Some(p) => {
                let parent = self.open(p)?;
                let above = self.public.get(&p).copied().unwrap_or(false);
                (sys::open_dir_at(parent.as_fd(), &d.name), above)
            }
        };
        let fd = fd.map_err(|err| Error::Step {
            path: d.path.clone(),
            step: "opening directory",
            err,
        })?;
        let st = sys::stat_fd(fd.as_fd()).map_err(|e| Error::io(&d.path, e))?;
        if st.ident.id != d.id {
            return Err(Error::Changed {
                path: d.path.clone(),
                what: Moved::DirReplaced,
            });
        }
        self.public.insert(idx, public(above, &st));
        if self.cache.len() >= self.capacity {
            self.cache.clear();
        }
        let fd = Rc::new(fd);
        self.cache.insert(idx, fd.clone());
        Ok(fd)
    }
}

/// Two reusable buffers for [`same_bytes`].
pub struct CompareBufs(sys::AlignedBuf, sys::AlignedBuf);

impl Default for CompareBufs {
    fn default() -> Self {
        CompareBufs(
            sys::AlignedBuf::with_len(CMP_BUF),
            sys::AlignedBuf::with_len(CMP_BUF),
        )
    }
}

/// Compare two open files byte for byte over `len` bytes; neither may be longer. Ranges that
/// are holes in both are equal without being read; a range that is a hole in one is compared
/// with zeros.
pub fn same_bytes(a: &File, b: &File, len: u64, bufs: &mut CompareBufs) -> io::Result<bool> {
    let mut off = 0u64;
    while off < len {
        let (a_data, a_end) = extent(a, off, len)?;
        let (b_data, b_end) = extent(b, off, len)?;
        let end = a_end.min(b_end);
        let equal = match (a_data, b_data) {
            (false, false) => true,
            (true, true) => same_range(a, b, off, end, bufs)?,
            (true, false) => zero_range(a, off, end, bufs.0.get(CMP_BUF))?,
            (false, true) => zero_range(b, off, end, bufs.1.get(CMP_BUF))?,
        };
        if !equal {
            return Ok(false);
        }
        off = end;
    }
    let mut one = [0u8; 1];
    Ok(a.read_at(&mut one, len)? == 0 && b.read_at(&mut one, len)? == 0)
}

/// Is `off` in data (or a hole), and where does that run end?
fn extent(f: &File, off: u64, len: u64) -> io::Result<(bool, u64)> {
    Ok(match sys::next_data(f, off, len)? {
        Some((start, end)) if start <= off => (true, end.max(off + 1).min(len)),
        Some((start, _)) => (false, start),
        None => (false, len),
    })
}

fn same_range(
    a: &File,
    b: &File,
    mut off: u64,
    end: u64,
    bufs: &mut CompareBufs,
) -> io::Result<bool> {
    let (ba, bb) = (bufs.0.get(CMP_BUF), bufs.1.get(CMP_BUF));
    while off < end {
        let n = (end - off).min(ba.len() as u64) as usize;
        a.read_exact_at(&mut ba[..n], off)?;
        b.read_exact_at(&mut bb[..n], off)?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
        off += n as u64;
    }
    Ok(true)
}

fn zero_range(f: &File, mut off: u64, end: u64, buf: &mut [u8]) -> io::Result<bool> {
    while off < end {
        let n = (end - off).min(buf.len() as u64) as usize;
        f.read_exact_at(&mut buf[..n], off)?;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        off += n as u64;
    }
    Ok(true)
}
