//! Folds hard links into inodes and groups inodes by size, dropping every size that only one
//! inode has. Orders everything by path bytes so that the result never depends on walk or thread
//! order.

use std::cmp::Ordering;

use std::os::unix::ffi::OsStringExt;

use crate::model::{FileEntry, FileLen, Inode, Loc, SizeGroup, Tree, XattrSum, path_bytes};

/// Compare two locations by their full path, byte for byte.
pub fn cmp_loc(tree: &Tree, a: &Loc, b: &Loc) -> Ordering {
    if a.dir == b.dir {
        return a.name.cmp(&b.name);
    }
    path_bytes(&tree.path(a)).cmp(path_bytes(&tree.path(b)))
}

/// Fold entries with the same (dev, ino) into one [`Inode`], then keep only the sizes shared by
/// at least two inodes.
pub fn size_groups(tree: &Tree, mut files: Vec<FileEntry>) -> Vec<SizeGroup> {
    files.sort_unstable_by_key(|f| (f.ident.len, f.ident.id));
    let mut groups: Vec<SizeGroup> = Vec::new();
    let mut current: Vec<Inode> = Vec::new();
    let mut len = FileLen(0);
    let flush = |len: FileLen, current: &mut Vec<Inode>, groups: &mut Vec<SizeGroup>| {
        if current.len() >= 2 {
            groups.push(SizeGroup {
                len,
                inodes: std::mem::take(current),
            });
        } else {
            current.clear();
        }
    };
    for f in files {
        if f.ident.len != len {
            flush(len, &mut current, &mut groups);
            len = f.ident.len;
        }
        match current.last_mut() {
            Some(last) if last.ident.id == f.ident.id => last.paths.push(f.loc),
            _ => current.push(Inode {
                ident: f.ident,
                nlink: f.nlink,
                attrs: f.attrs,
                xattrs: XattrSum::default(),
                paths: vec![f.loc],
            }),
        }
    }
    flush(len, &mut current, &mut groups);
    for g in &mut groups {
        sort_inodes(tree, &mut g.inodes);
    }
    groups
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
