//! Where the data of each duplicate lies (`FIEMAP`), for `--method reflink|auto`: on a
//! filesystem whose files can share extents, the planner needs to know which copies already
//! share all their data with another (nothing to do) and how many bytes of each no other file
//! shares (what merging it frees), so that the reclaimable figure counts shared space once.
//! Files are opened through verified directory fds, never by path; nothing is written.

use std::collections::HashMap;
use std::os::fd::AsFd;

use xxhash_rust::xxh3::Xxh3Default;

use crate::fsverify::DirFds;
use crate::model::{ExtentSum, FileId, Groups, Tree};
use crate::sys::{self, Extent};

/// More extents than this in one file: its map is not read further (an attacker's file of a
/// million fragments costs no more than this), and it is taken as sharing nothing.
const MAX_EXTENTS: usize = 65_536;

/// The extent summary of every inode of `groups` on a filesystem that can share extents. An
/// inode that can't be opened or mapped is left out: the planner then counts its bytes as a
/// hard link would, and the executor finds out what changed.
pub fn read(tree: &Tree, groups: &Groups) -> HashMap<FileId, ExtentSum> {
    let mut dirs = DirFds::new(tree);
    let mut out = HashMap::new();
    for inode in groups.iter().flat_map(|g| g.inodes) {
        let loc = &inode.paths[0];
        if !tree.mounts.get(&loc.mnt).is_some_and(|m| m.reflink) {
            continue;
        }
        let Ok(dir) = dirs.open(loc.dir) else {
            continue;
        };
        let Ok((Some(file), st)) = sys::open_regular_at(dir.as_fd(), tree.name(loc)) else {
            continue;
        };
        if st.ident.id != inode.ident.id {
            continue;
        }
        if let Ok(map) = sys::extents(&file, MAX_EXTENTS) {
            out.insert(inode.ident.id, summarize(map.as_deref()));
        }
    }
    out
}

/// What the planner needs of a map: its digest and its unshared bytes.
fn summarize(map: Option<&[Extent]>) -> ExtentSum {
    let Some(map) = map else {
        return ExtentSum::default();
    };
    let mut h = Xxh3Default::new();
    let mut known = true;
    // Runs of extents contiguous in the file and on the device are one: a filesystem may
    // split one run differently in two files that share it.
    let mut run: Option<(u64, u64, u64)> = None;
    for e in map {
        known &= !e.unknown;
        run = match run {
            Some((l, p, n)) if l + n == e.logical && p + n == e.physical => {
                Some((l, p, n + e.length))
            }
            Some(prev) => {
                hash_run(&mut h, prev);
                Some((e.logical, e.physical, e.length))
            }
            None => Some((e.logical, e.physical, e.length)),
        };
    }
    if let Some(last) = run {
        hash_run(&mut h, last);
    }
    ExtentSum {
        digest: (known && !map.is_empty()).then(|| h.digest()),
        unshared: map.iter().filter(|e| !e.shared).map(|e| e.length).sum(),
    }
}

fn hash_run(h: &mut Xxh3Default, (logical, physical, length): (u64, u64, u64)) {
    for x in [logical, physical, length] {
        h.update(&x.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_unshared_bytes() {
        let e = |logical, physical, shared, unknown| Extent {
            logical,
            physical,
            length: 4096,
            shared,
            unknown,
        };
        let a = summarize(Some(&[e(0, 8192, false, false), e(4096, 0, true, false)]));
        assert_eq!(a.unshared, 4096);
        let b = summarize(Some(&[e(0, 8192, true, false), e(4096, 0, true, false)]));
        assert_eq!((a.digest.is_some(), a.digest), (true, b.digest));
        assert_eq!(b.unshared, 0);
        // One run split in two is the same run.
        let split = [e(0, 8192, true, false), e(4096, 12288, true, false)];
        let whole = [Extent {
            length: 8192,
            ..e(0, 8192, true, false)
        }];
        assert_eq!(
            summarize(Some(&split)).digest,
            summarize(Some(&whole)).digest
        );
        // An address not known yet, an empty map, too many extents: no digest.
        assert_eq!(summarize(Some(&[e(0, 0, false, true)])).digest, None);
        assert_eq!(summarize(Some(&[])).digest, None);
        assert_eq!(summarize(None), ExtentSum::default());
    }
}
