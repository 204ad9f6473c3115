//! Verified directory fds and byte comparison through open fds: the two things every mutation
//! (a swap, a recovery) needs before it touches a name.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::rc::Rc;

use crate::error::Error;
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
        }
    }

    /// How many directory fds are kept open: half of the fd limit.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A verified fd (`O_PATH`) of a scanned directory.
    pub fn open(&mut self, idx: DirIdx) -> Result<Rc<OwnedFd>, Error> {
        if let Some(fd) = self.cache.get(&idx) {
            return Ok(fd.clone());
        }
        let d = self.tree.dir(idx);
        let fd = match d.parent {
            None => sys::open_root_dir(&d.path),
            Some(p) => {
                let parent = self.open(p)?;
                sys::open_dir_at(parent.as_fd(), &d.name)
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
                what: "directory was replaced or moved since the scan".into(),
            });
        }
        if self.cache.len() >= self.capacity {
            self.cache.clear();
        }
        let fd = Rc::new(fd);
        self.cache.insert(idx, fd.clone());
        Ok(fd)
    }
}

/// Two reusable buffers for [`same_bytes`].
pub struct CompareBufs(Vec<u8>, Vec<u8>);

impl Default for CompareBufs {
    fn default() -> Self {
        CompareBufs(vec![0; CMP_BUF], vec![0; CMP_BUF])
    }
}

/// Compare two open files byte for byte over `len` bytes; neither may be longer.
pub fn same_bytes(a: &File, b: &File, len: u64, bufs: &mut CompareBufs) -> io::Result<bool> {
    let CompareBufs(ba, bb) = bufs;
    let mut off = 0u64;
    while off < len {
        let n = (len - off).min(ba.len() as u64) as usize;
        a.read_exact_at(&mut ba[..n], off)?;
        b.read_exact_at(&mut bb[..n], off)?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
        off += n as u64;
    }
    let mut one = [0u8; 1];
    Ok(a.read_at(&mut one, len)? == 0 && b.read_at(&mut one, len)? == 0)
}
