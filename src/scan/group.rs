//! Folds hard links into inodes and groups inodes by size, dropping every size that only one
//! inode has, all over the walk's packed table: the records are sorted in place, an inode is a
//! run of records and a size group a run of inodes, so no per-file allocation is made. The
//! table's types live in [`crate::model::packed`], which also keeps the final groups.

pub use crate::model::packed::{Cand, Candidates, Files, Group, XattrSlot};

/// Sort the records by (size, inode), drop every record whose size only one inode has, and
/// return the inodes (runs of records) grouped by size.
pub fn size_groups(files: &mut Files) -> Candidates {
    let mut recs = std::mem::take(&mut files.recs);
    let key = |r: &crate::model::packed::Rec| (r.len, files.dev(r), r.ino, r.dir);
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
            // (An inode with more names than a candidate can count is left out: none has.)
            if let Some(c) = u32::try_from(n).ok().and_then(|n| Cand::new(i as u32, n)) {
                out.cands.push(c);
            }
            i += n;
        }
        out.groups.push(Group {
            len,
            hash: 0,
            cands: first..out.cands.len() as u32,
        });
    }
    out.cands.shrink_to_fit();
    out.groups.shrink_to_fit();
    out
}

/// Drop the records of every inode that is no longer a candidate (and give their memory back)
/// before the duplicate groups are built.
///
/// A record's new index is the number of kept records before it, read off a bit per record and
/// a count per 64 of them (not a table of indexes: 5 bytes a record at the scan's peak).
pub fn drop_ungrouped(files: &mut Files, c: &mut Candidates) {
    let n = files.recs.len();
    let mut keep = vec![0u64; n.div_ceil(64)];
    for cand in &c.cands {
        for r in cand.recs() {
            keep[r / 64] |= 1 << (r % 64);
        }
    }
    let kept: u32 = keep.iter().map(|w| w.count_ones()).sum();
    if kept as usize == n {
        return;
    }
    let mut before = Vec::with_capacity(keep.len());
    let mut count = 0u32;
    for w in &keep {
        before.push(count);
        count += w.count_ones();
    }
    let is_kept = |r: usize| keep[r / 64] & (1 << (r % 64)) != 0;
    for cand in &mut c.cands {
        let r = cand.start as usize;
        cand.start = before[r / 64] + (keep[r / 64] & ((1 << (r % 64)) - 1)).count_ones();
    }
    let mut r = 0;
    files.retain(|_| {
        r += 1;
        is_kept(r - 1)
    });
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};

    use super::*;
    use crate::model::{Attrs, Dir, DirIdx, FileId, FileLen, Groups, Identity, Timestamp, Tree};
    use crate::sys::Stat;

    /// One path of the fixture: (directory index, name, device, inode, size).
    type P = (u32, &'static str, u64, u64, u64);

    fn stat(dev: u64, ino: u64, len: u64) -> Stat {
        Stat {
            ident: Identity {
                id: FileId { dev, ino },
                len: FileLen(len),
                mtime: Timestamp::default(),
                ctime: Timestamp::default(),
                mode: 0o100_644,
                uid: 0,
                gid: 0,
            },
            atime: Timestamp::default(),
            nlink: 1,
            mnt: dev,
            attrs: Attrs::default(),
            kind: rustix::fs::FileType::RegularFile,
        }
    }

    fn files(paths: &[P]) -> Files {
        let mut f = Files::default();
        for &(dir, name, dev, ino, len) in paths {
            let st = stat(dev, ino, len);
            f.push(
                DirIdx(dir),
                name.as_bytes(),
                &st.ident,
                st.nlink,
                st.attrs,
                st.mnt,
            )
            .expect("the table takes a few files");
        }
        f
    }

    /// The names of a candidate's records, in record order, after checking that they are all
    /// one inode of the expected size.
    fn names(f: &Files, c: Cand, len: u64) -> Vec<String> {
        let recs = &f.recs[c.recs()];
        assert!(!recs.is_empty(), "a candidate with no records: {c:?}");
        let id = f.id(&recs[0]);
        for r in recs {
            assert_eq!(f.id(r), id, "one candidate, two inodes: {c:?}");
            assert_eq!(r.len, len, "a record of another size in the group of {len}");
        }
        recs.iter()
            .map(|r| f.name(r).to_string_lossy().into_owned())
            .collect()
    }

    /// Every group as (size, the names of each candidate).
    fn describe(f: &Files, c: &Candidates) -> Vec<(u64, Vec<Vec<String>>)> {
        c.groups
            .iter()
            .map(|g| {
                let cands = &c.cands[g.cands.start as usize..g.cands.end as usize];
                (g.len, cands.iter().map(|&c| names(f, c, g.len)).collect())
            })
            .collect()
    }

    fn owned(want: &[(u64, &[&[&str]])]) -> Vec<(u64, Vec<Vec<String>>)> {
        want.iter()
            .map(|(len, cands)| {
                let cands = cands
                    .iter()
                    .map(|c| c.iter().map(|s| s.to_string()).collect())
                    .collect();
                (*len, cands)
            })
            .collect()
    }

    #[test]
    fn size_groups_drop_unique_sizes_and_fold_hard_links() {
        type Want = &'static [(u64, &'static [&'static [&'static str]])];
        let cases: &[(&str, &[P], Want)] = &[
            ("an empty table", &[], &[]),
            (
                "every size unique",
                &[(0, "a", 1, 1, 10), (0, "b", 1, 2, 20), (0, "c", 1, 3, 30)],
                &[],
            ),
            (
                "two copies of one size",
                &[(0, "a", 1, 1, 10), (0, "b", 1, 2, 10)],
                &[(10, &[&["a"], &["b"]])],
            ),
            (
                "hard links alone are one inode, not a group",
                &[(0, "x", 1, 5, 10), (1, "y", 1, 5, 10)],
                &[],
            ),
            (
                "hard links fold into one candidate beside a copy",
                &[(0, "z", 1, 6, 10), (0, "x", 1, 5, 10), (0, "y", 1, 5, 10)],
                &[(10, &[&["x", "y"], &["z"]])],
            ),
            (
                "one inode number on two devices is two inodes",
                &[(0, "a", 1, 7, 10), (1, "b", 2, 7, 10)],
                &[(10, &[&["a"], &["b"]])],
            ),
            (
                "links on one device stay together when another device has the inode number",
                &[(0, "a", 1, 7, 10), (0, "b", 2, 7, 10), (1, "c", 1, 7, 10)],
                &[(10, &[&["a", "c"], &["b"]])],
            ),
            (
                "sizes ascending, the unique one between them dropped",
                &[
                    (0, "a", 1, 1, 30),
                    (0, "b", 1, 2, 30),
                    (0, "c", 1, 3, 20),
                    (0, "d", 1, 4, 10),
                    (0, "e", 1, 5, 10),
                    (0, "f", 1, 6, 10),
                ],
                &[(10, &[&["d"], &["e"], &["f"]]), (30, &[&["a"], &["b"]])],
            ),
            (
                "names of one inode ordered by directory, then by name",
                &[
                    (1, "a", 1, 9, 10),
                    (0, "z", 1, 9, 10),
                    (0, "m", 1, 9, 10),
                    (0, "q", 1, 10, 10),
                ],
                &[(10, &[&["m", "z", "a"], &["q"]])],
            ),
            (
                "a size with many names but one inode is dropped beside a real group",
                &[
                    (0, "l1", 1, 20, 50),
                    (0, "l2", 1, 20, 50),
                    (0, "l3", 1, 20, 50),
                    (0, "c1", 1, 21, 60),
                    (0, "c2", 1, 22, 60),
                ],
                &[(60, &[&["c1"], &["c2"]])],
            ),
        ];
        for (what, paths, want) in cases {
            let mut f = files(paths);
            let c = size_groups(&mut f);
            assert_eq!(describe(&f, &c), owned(want), "{what}");
            let kept: usize = want
                .iter()
                .flat_map(|(_, cands)| cands.iter())
                .map(|c| c.len())
                .sum();
            assert_eq!(
                f.recs.len(),
                kept,
                "{what}: records of dropped sizes remain"
            );
            assert!(
                c.groups.iter().all(|g| g.hash == 0),
                "{what}: a size group carries a hash"
            );
            assert!(
                c.cands.iter().all(|c| c.xattr().is_unknown()),
                "{what}: attributes known before they were read"
            );
        }
    }

    #[test]
    fn size_groups_do_not_depend_on_walk_order() {
        let paths: Vec<P> = vec![
            (0, "a", 1, 1, 30),
            (1, "b", 1, 2, 30),
            (0, "c", 1, 3, 20),
            (2, "d", 1, 4, 10),
            (0, "e", 1, 5, 10),
            (1, "e", 1, 6, 10),
            (0, "h1", 1, 9, 10),
            (1, "h2", 1, 9, 10),
            (1, "h0", 1, 9, 10),
            (0, "x", 2, 1, 30),
            (3, "u", 1, 11, 99),
        ];
        let mut f = files(&paths);
        let c = size_groups(&mut f);
        let first = describe(&f, &c);
        let order: Vec<(u32, String)> = f
            .recs
            .iter()
            .map(|r| (r.dir.0, f.name(r).to_string_lossy().into_owned()))
            .collect();
        assert_eq!(first.len(), 2, "{first:?}");
        let mut rng = fastrand::Rng::with_seed(11);
        for round in 0..50 {
            let mut shuffled = paths.clone();
            rng.shuffle(&mut shuffled);
            let mut g = files(&shuffled);
            let d = size_groups(&mut g);
            assert_eq!(describe(&g, &d), first, "round {round}: {shuffled:?}");
            let o: Vec<(u32, String)> = g
                .recs
                .iter()
                .map(|r| (r.dir.0, g.name(r).to_string_lossy().into_owned()))
                .collect();
            assert_eq!(o, order, "round {round}: records in another order");
        }
    }

    #[test]
    fn push_group_keeps_only_groups_of_two_or_more() {
        let cand = |start| Cand::new(start, 1).unwrap();
        // (members of each pushed group, groups kept, candidates kept)
        let cases: &[(&[u32], usize, usize)] = &[
            (&[], 0, 0),
            (&[1], 0, 0),
            (&[2], 1, 2),
            (&[3], 1, 3),
            (&[2, 1, 3], 2, 5),
            (&[1, 1, 2, 0], 1, 2),
        ];
        for &(sizes, groups, cands) in cases {
            let mut c = Candidates::default();
            let mut next = 0;
            for (i, &n) in sizes.iter().enumerate() {
                c.push_group(i as u64, i as u128, (next..next + n).map(cand));
                next += n;
            }
            assert_eq!(c.groups.len(), groups, "{sizes:?}");
            assert_eq!(c.cands.len(), cands, "{sizes:?}");
            for g in &c.groups {
                assert!(g.cands.len() >= 2, "{sizes:?}: {g:?}");
                assert!(g.cands.end as usize <= c.cands.len(), "{sizes:?}: {g:?}");
                // Each kept group holds the members pushed with it (starts numbered in order).
                let members = &c.cands[g.cands.start as usize..g.cands.end as usize];
                let len = g.len as usize;
                let first: u32 = sizes[..len].iter().sum();
                let starts: Vec<u32> = members.iter().map(|m| m.start).collect();
                assert_eq!(
                    starts,
                    (first..first + sizes[len]).collect::<Vec<_>>(),
                    "{sizes:?}"
                );
                assert_eq!(g.hash, g.len as u128, "{sizes:?}");
            }
        }
    }

    /// The fixture of the remap tests. After `size_groups`, the candidates are:
    /// size 10: 0 = x+y (two links), 1 = z; size 20: 2 = p, 3 = q, 4 = r;
    /// size 30: 5 = s, 6 = t+u+v (three links). `w` (size 40) is dropped.
    const REMAP: &[P] = &[
        (0, "x", 1, 1, 10),
        (1, "y", 1, 1, 10),
        (0, "z", 1, 2, 10),
        (0, "p", 1, 3, 20),
        (1, "q", 1, 4, 20),
        (0, "r", 1, 5, 20),
        (0, "w", 1, 6, 40),
        (1, "s", 1, 7, 30),
        (0, "t", 1, 8, 30),
        (1, "u", 1, 8, 30),
        (1, "v", 1, 8, 30),
    ];

    fn remap_tree() -> Tree {
        let dir = |i: u32| Dir {
            path: format!("/d{i}").into(),
            id: FileId {
                dev: 1,
                ino: 1000 + u64::from(i),
            },
            parent: None,
            name: Default::default(),
            attrs: Attrs::default(),
            mnt: 1,
            public: false,
        };
        let mut tree = Tree::default();
        tree.dirs = vec![dir(0), dir(1)];
        tree
    }

    #[test]
    fn drop_ungrouped_renumbers_records_and_keeps_candidates_on_their_files() {
        // Which candidates survive hashing, in which groups and order.
        let cases: &[(&str, &[&[usize]])] = &[
            ("all kept", &[&[0, 1], &[2, 3, 4], &[5, 6]]),
            (
                "the first group gone: later starts move down",
                &[&[2, 3], &[5, 6]],
            ),
            ("a candidate in the middle gone", &[&[0, 1], &[2, 4]]),
            ("split and reordered by hash", &[&[6, 5], &[4, 3]]),
            ("groups and members in reverse order", &[&[6, 5], &[1, 0]]),
            ("nothing kept", &[]),
        ];
        let tree = remap_tree();
        for (what, keep) in cases {
            let mut f = files(REMAP);
            let sized = size_groups(&mut f);
            assert_eq!(sized.cands.len(), 7, "the fixture changed");
            let mut c = Candidates::default();
            for (g, members) in keep.iter().enumerate() {
                let len = f.recs[sized.cands[members[0]].start as usize].len;
                c.push_group(len, g as u128, members.iter().map(|&m| sized.cands[m]));
            }
            // What each surviving candidate is before the remap: its inode and its paths.
            let before: Vec<_> = c.cands.iter().map(|&cand| seen(&tree, &f, cand)).collect();
            let names_before: Vec<Vec<String>> = c
                .cands
                .iter()
                .map(|&cand| names(&f, cand, f.recs[cand.start as usize].len))
                .collect();
            drop_ungrouped(&mut f, &mut c);
            let kept: u32 = c.cands.iter().map(|c| c.count()).sum();
            assert_eq!(
                f.recs.len(),
                kept as usize,
                "{what}: records of dropped candidates remain"
            );
            for (i, &cand) in c.cands.iter().enumerate() {
                assert!(
                    cand.recs().end <= f.recs.len(),
                    "{what}: candidate {i} points past the table"
                );
                let len = f.recs[cand.start as usize].len;
                assert_eq!(
                    names(&f, cand, len),
                    names_before[i],
                    "{what}: candidate {i}"
                );
                assert_eq!(seen(&tree, &f, cand), before[i], "{what}: candidate {i}");
            }
            // The groups still span the same candidates, of one size each.
            for g in &c.groups {
                let cands = &c.cands[g.cands.start as usize..g.cands.end as usize];
                for &cand in cands {
                    names(&f, cand, g.len);
                }
            }
            // No record is shared by two candidates, and none is orphaned.
            let mut owner = vec![None; f.recs.len()];
            for (i, cand) in c.cands.iter().enumerate() {
                for r in cand.recs() {
                    assert_eq!(owner[r], None, "{what}: record {r} in two candidates");
                    owner[r] = Some(i);
                }
            }
            assert!(
                owner.iter().all(Option::is_some),
                "{what}: an orphan record"
            );
        }
    }

    #[test]
    fn groups_sort_paths_inodes_and_groups_by_full_path_bytes() {
        let mut f = files(&[
            (1, "b", 1, 1, 10),
            (0, "b", 1, 1, 10),
            (1, "a", 1, 1, 10),
            (0, "c", 1, 2, 10),
            (1, "0", 1, 3, 20),
            (0, "z", 1, 4, 20),
            (1, "c", 1, 5, 30),
            (0, "e", 1, 6, 5),
            (1, "f", 1, 7, 5),
            (1, "g", 1, 8, 5),
        ]);
        let mut c = size_groups(&mut f);
        for cand in &mut c.cands {
            cand.set_xattr(XattrSlot::NONE);
        }
        // One candidate whose attributes could not be read: its record stays, in no group.
        let g = f.recs.iter().position(|r| f.name(r) == "g").unwrap() as u32;
        c.cands
            .iter_mut()
            .find(|c| c.start == g)
            .unwrap()
            .set_xattr(XattrSlot::UNKNOWN);
        let mut tree = remap_tree();
        let groups = Groups::new(&mut tree, f, c).unwrap();
        let describe = |g: crate::model::DupGroup| {
            let inodes = g.inodes.iter().map(|i| {
                i.paths
                    .iter()
                    .map(|l| tree.path(l).to_string_lossy().into_owned())
                    .collect()
            });
            (g.len.0, inodes.collect())
        };
        let described: Vec<(u64, Vec<Vec<String>>)> = groups.iter().map(describe).collect();
        assert_eq!(
            described,
            owned(&[
                (20, &[&["/d0/z"], &["/d1/0"]]),
                (10, &[&["/d0/b", "/d1/a", "/d1/b"], &["/d0/c"]]),
                (5, &[&["/d0/e"], &["/d1/f"]]),
            ])
        );
        let g = groups.get(1);
        assert_eq!(g.inodes[0].ident.id, FileId { dev: 1, ino: 1 });
        assert_eq!(g.inodes[0].nlink, 1);
        assert_eq!(tree.name(&g.inodes[0].paths[0]).as_bytes(), b"b");
        assert_eq!(
            groups.sizes().collect::<Vec<_>>(),
            [(FileLen(20), 2), (FileLen(10), 2), (FileLen(5), 2)]
        );
        // Handed out one at a time, dropping each: the same groups in the same order.
        let drained: Vec<(u64, Vec<Vec<String>>)> = groups.into_iter().map(describe).collect();
        assert_eq!(drained, described);
    }

    /// A candidate's identity and the full paths of its records, sorted.
    fn seen(tree: &Tree, f: &Files, c: Cand) -> (crate::model::Identity, Vec<Vec<u8>>) {
        let recs = &f.recs[c.recs()];
        let mut paths: Vec<Vec<u8>> = recs
            .iter()
            .map(|r| f.path(tree, r).into_os_string().into_vec())
            .collect();
        paths.sort();
        (f.ident(&recs[0]), paths)
    }
}
