//! Reads the extended attributes (ACLs, SELinux labels, file capabilities, user attributes) of
//! the files that made it into a duplicate group, for the planner's gates. Only candidates are
//! read, so a tree without duplicates costs nothing here.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3Default;

use crate::error::Error;
use crate::listener::Listener;
use crate::model::{DupGroup, Tree, XattrSum};
use crate::sys;

const CAPABILITY: &[u8] = b"security.capability";

/// Fill in [`XattrSum`] for every inode of every group; an inode whose attributes can't be read
/// is reported and dropped, and groups left with one inode are dropped.
pub fn read(
    tree: &Tree,
    mut groups: Vec<DupGroup>,
    listener: &dyn Listener,
    errors: &AtomicU64,
) -> Vec<DupGroup> {
    groups.par_iter_mut().for_each(|g| {
        g.inodes.retain_mut(|inode| {
            let path = tree.path(&inode.paths[0]);
            match sys::xattrs(&path) {
                Ok(list) => {
                    inode.xattrs = summarize(&list);
                    true
                }
                Err(e) => {
                    listener.error(&Error::io(path, e));
                    errors.fetch_add(1, Ordering::Relaxed);
                    false
                }
            }
        });
    });
    groups.retain(|g| g.inodes.len() >= 2);
    groups
}

fn summarize(list: &[(Vec<u8>, Vec<u8>)]) -> XattrSum {
    if list.is_empty() {
        return XattrSum::default();
    }
    let mut h = Xxh3Default::new();
    for (name, value) in list {
        for part in [name, value] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    XattrSum {
        digest: h.digest(),
        capability: list.iter().any(|(n, _)| n == CAPABILITY),
    }
}
