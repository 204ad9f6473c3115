//! Folds hard links into inodes and groups inodes by size, dropping every size that only one
//! inode has, all over the walk's packed table: the records are sorted in place, an inode is a
//! run of records and a size group a run of inodes, so no per-file allocation is made. Also the
//! last step of the scan: turning the final groups into [`DupGroup`]s, ordered by path bytes so
//! that the result never depends on walk or thread order.

use std::ops::Range;
use std::os::unix::ffi::OsStringExt;

use super::table::Files;
use crate::model::{DupGroup, FileLen, Inode, Loc, Tree, XattrSum};

/// A candidate inode: the run `start..start + count` of records (its paths) in [`Files::recs`].
#[derive(Clone, Copy, Debug)]
pub struct Cand {
    pub start: u32,
    pub count: u32,
    /// Its extended attributes: [`Cand::XATTR_UNKNOWN`], [`Cand::XATTR_NONE`] or an index into
    /// [`Sums`] (plus 2).
    pub xattr: u32,
}

impl Cand {
    pub const XATTR_UNKNOWN: u32 = 0;
    pub const XATTR_NONE: u32 = 1;

    fn recs(self) -> Range<usize> {
        self.start as usize..(self.start + self.count) as usize
    }
}

/// Candidates that may be identical: one length (and, after hashing, one hash).
#[derive(Clone, Debug)]
pub struct Group {
    pub len: u64,
    pub hash: u128,
    /// Indexes into the candidate list.
    pub cands: Range<u32>,
}

/// Every candidate and the groups over them.
#[derive(Debug, Default)]
pub struct Candidates {
    pub cands: Vec<Cand>,
    pub groups: Vec<Group>,
    pub sums: Sums,
}

impl Candidates {
    /// Append a group of `members` (kept only if it has two or more).
    pub fn push_group(&mut self, len: u64, hash: u128, members: impl IntoIterator<Item = Cand>) {
        let start = self.cands.len();
        self.cands.extend(members);
        if self.cands.len() - start >= 2 {
            self.groups.push(Group {
                len,
                hash,
                cands: start as u32..self.cands.len() as u32,
            });
        } else {
            self.cands.truncate(start);
        }
    }
}

/// The extended-attribute digests of the few candidates that have any.
#[derive(Debug, Default)]
pub struct Sums(Vec<XattrSum>);

impl Sums {
    /// The [`Cand::xattr`] value for a digest.
    pub fn intern(&mut self, sum: XattrSum) -> u32 {
        if sum == XattrSum::default() {
            return Cand::XATTR_NONE;
        }
        self.0.push(sum);
        (self.0.len() + 1) as u32
    }

    /// The digest of a candidate, if known.
    pub fn get(&self, c: &Cand) -> Option<XattrSum> {
        match c.xattr {
            Cand::XATTR_UNKNOWN => None,
            Cand::XATTR_NONE => Some(XattrSum::default()),
            i => self.0.get(i as usize - 2).copied(),
        }
    }
}

/// Sort the records by (size, inode), drop every record whose size only one inode has, and
/// return the inodes (runs of records) grouped by size.
pub fn size_groups(files: &mut Files) -> Candidates {
    let mut recs = std::mem::take(&mut files.recs);
    let key = |r: &super::table::Rec| (r.len, files.dev(r), r.ino, r.dir);
    // Ties (two names of one inode in one directory) are ordered by name.
    recs.sort_unstable_by(|a, b| {
        key(a)
            .cmp(&key(b))
            .then_with(|| files.name(a).cmp(files.name(b)))
    });
    // Keep the records of sizes with two or more inodes.
    let mut keep = vec![false; recs.len()];
    let mut i = 0;
    while i < recs.len() {
        let len = recs[i].len;
        let j = i + recs[i..].iter().take_while(|r| r.len == len).count();
        let first = (files.dev(&recs[i]), recs[i].ino);
        if recs[i..j].iter().any(|r| (files.dev(r), r.ino) != first) {
            keep[i..j].iter_mut().for_each(|k| *k = true);
        }
        i = j;
    }
    let mut keep = keep.into_iter();
    recs.retain(|_| keep.next().unwrap_or(false));
    recs.shrink_to_fit();
    files.recs = recs;

    let recs = &files.recs;
    let mut out = Candidates::default();
    let mut i = 0;
    while i < recs.len() {
        let len = recs[i].len;
        let first = out.cands.len() as u32;
        while i < recs.len() && recs[i].len == len {
            let id = (files.dev(&recs[i]), recs[i].ino);
            let n = recs[i..]
                .iter()
                .take_while(|r| r.len == len && (files.dev(r), r.ino) == id)
                .count();
            out.cands.push(Cand {
                start: i as u32,
                count: n as u32,
                xattr: Cand::XATTR_UNKNOWN,
            });
            i += n;
        }
        out.groups.push(Group {
            len,
            hash: 0,
            cands: first..out.cands.len() as u32,
        });
    }
    out
}

/// Drop the records of every inode that is no longer a candidate (and give their memory back)
/// before the duplicate groups are built.
pub fn drop_ungrouped(files: &mut Files, c: &mut Candidates) {
    let mut keep = vec![false; files.recs.len()];
    for cand in &c.cands {
        keep[cand.recs()].iter_mut().for_each(|k| *k = true);
    }
    let mut new_index = Vec::with_capacity(keep.len());
    let mut n = 0u32;
    for &k in &keep {
        new_index.push(n);
        n += u32::from(k);
    }
    let mut keep = keep.into_iter();
    files.retain(|_| keep.next().unwrap_or(false));
    for cand in &mut c.cands {
        cand.start = new_index[cand.start as usize];
    }
}

/// The inode of a candidate, with all its paths sorted.
pub fn inode(tree: &Tree, files: &Files, c: Cand, xattrs: XattrSum) -> Inode {
    let recs = &files.recs[c.recs()];
    let first = &recs[0];
    let mut paths: crate::model::Paths = recs.iter().map(|r| files.loc(r)).collect();
    if paths.len() > 1 {
        paths.sort_by_cached_key(|l| path_key(tree, l));
    }
    Inode {
        ident: files.ident(first),
        nlink: Files::nlink(first),
        attrs: Files::attrs(first),
        xattrs,
        paths,
    }
}

/// Build the final duplicate groups, sorted: largest size first, then by first path.
pub fn dup_groups(tree: &Tree, mut groups: Vec<DupGroup>) -> Vec<DupGroup> {
    for g in &mut groups {
        sort_inodes(tree, &mut g.inodes);
    }
    groups.sort_by_cached_key(|g| {
        (
            std::cmp::Reverse(g.len),
            path_key(tree, &g.inodes[0].paths[0]),
        )
    });
    groups
}

/// A group of the scan's result.
pub fn dup_group(len: u64, hash: u128, inodes: Vec<Inode>) -> DupGroup {
    DupGroup {
        len: FileLen(len),
        hash,
        inodes,
    }
}

/// The bytes of a location's full path, the sort key everywhere (built once per item).
pub fn path_key(tree: &Tree, loc: &Loc) -> Vec<u8> {
    tree.path(loc).into_os_string().into_vec()
}

/// Sort each inode's paths, then the inodes by their first path.
pub fn sort_inodes(tree: &Tree, inodes: &mut [Inode]) {
    for i in inodes.iter_mut() {
        if i.paths.len() > 1 {
            i.paths.sort_by_cached_key(|l| path_key(tree, l));
        }
    }
    inodes.sort_by_cached_key(|i| path_key(tree, &i.paths[0]));
}
