//! Planning a group whose copies share extents instead of an inode (`--method reflink|auto`
//! on a filesystem that can). Every inode stays itself, with its own owner, mode, times and
//! attributes, so the gates that keep hard links apart (owner, group, mode, times, `user.*`
//! and ACLs, directory access) don't apply; what still does: set-id files, file
//! capabilities, immutable and append-only files are never touched, and two owners' files
//! share extents only where neither could learn anything from it (both readable by everyone,
//! in directories everyone can reach): either owner can see that a file's extents are shared
//! (`FIEMAP`), which would otherwise confirm a guess of the other's content.
//!
//! One action per inode (its first path): sharing acts on the inode, so its other names share
//! too. An inode that already shares every extent with the keeper is settled (nothing to do),
//! and an action frees only the bytes of the inode that no other file shares.

use std::path::Path;

use super::{PlanOptions, facts, pick_keeper};
use crate::gates;
use crate::model::{
    DupGroup, ExtentSum, GroupPlan, Inode, LinkAction, Member, Merge, MergeWhy, Plan, Skip,
    SkipReason, Tree,
};

/// Plan the inodes of one filesystem and mount that can share extents.
pub(super) fn plan_part(
    tree: &Tree,
    g: &DupGroup,
    inodes: &[&Inode],
    opts: &PlanOptions,
    why: MergeWhy,
    plan: &mut Plan,
) {
    // Set-id, capability, immutable and append-only files are never touched.
    let mut eligible = Vec::new();
    for &inode in inodes {
        match gates::never(&facts(tree, inode)) {
            Some(r) => super::skip_inode(plan, inode, &r),
            None => eligible.push(inode),
        }
    }
    if eligible.len() < 2 {
        return;
    }
    let keeper = pick_keeper(tree, &eligible, opts);
    let kpath = tree.path(&keeper.paths[0]);
    let kext = opts.extents.get(&keeper.ident.id);
    let mut group = GroupPlan {
        len: g.len,
        hash: g.hash,
        dev: keeper.ident.id.dev,
        keeper: member(keeper),
        keeper_links: keeper.paths[1..].to_vec(),
        actions: Default::default(),
        method: Merge::Reflink,
        method_why: why,
    };
    for &v in eligible.iter().filter(|v| !std::ptr::eq(**v, keeper)) {
        let vext = opts.extents.get(&v.ident.id);
        if let Some(reason) = refusal(tree, v, keeper, &kpath, vext, kext) {
            let settled = matches!(reason, SkipReason::SharesExtents { .. });
            let list = if settled {
                &mut plan.settled
            } else {
                &mut plan.skipped
            };
            list.extend(v.paths.iter().map(|loc| Skip {
                loc: *loc,
                reason: reason.clone(),
            }));
            continue;
        }
        group.actions.push(action(v, g.len.0, vext));
    }
    if !group.actions.is_empty() {
        plan.groups.push(group);
    }
}

/// Why `v` may not share the keeper's extents, if it may not: it already does, or a gate
/// ([`gates::share`]) refuses.
fn refusal(
    tree: &Tree,
    v: &Inode,
    k: &Inode,
    kpath: &Path,
    vext: Option<&ExtentSum>,
    kext: Option<&ExtentSum>,
) -> Option<SkipReason> {
    let digest = |e: Option<&ExtentSum>| e.and_then(|e| e.digest);
    if digest(vext).is_some() && digest(vext) == digest(kext) {
        return Some(SkipReason::SharesExtents {
            keeper: kpath.to_path_buf(),
        });
    }
    gates::share(&facts(tree, v), &facts(tree, k), kpath)
}

fn member(i: &Inode) -> Member {
    Member {
        loc: i.paths[0],
        expect: i.ident,
        nlink: i.nlink,
    }
}

/// Share `v`'s extents with the group keeper's: it frees what of `v` nothing else shares (all
/// of it when its map is unknown, as a hard link would).
fn action(v: &Inode, len: u64, vext: Option<&ExtentSum>) -> LinkAction {
    let frees_bytes = vext.map(|e| e.unshared.min(len));
    LinkAction {
        // The keeper's first path, as the group's.
        other_keeper: None,
        victim: member(v),
        frees: frees_bytes != Some(0),
        outside_links: 0,
        frees_bytes,
    }
}

/// The same reflink group with another keeper: `member` indexes the group's paths as listed
/// for review, the keeper first and then each action's duplicate. The old keeper becomes a
/// duplicate (its freed bytes unknown here: counted as its length).
pub(super) fn with_keeper(g: &GroupPlan, member: usize) -> Option<GroupPlan> {
    let Some(chosen) = member.checked_sub(1).and_then(|i| g.actions.get(i)) else {
        return Some(g.clone());
    };
    let new = chosen.victim.clone();
    let old = LinkAction {
        other_keeper: None,
        victim: g.keeper.clone(),
        frees: true,
        outside_links: 0,
        frees_bytes: None,
    };
    let rest = g
        .actions
        .iter()
        .filter(|a| a.victim.expect.id != new.expect.id)
        .map(|a| LinkAction {
            other_keeper: None,
            ..a.clone()
        });
    let actions: crate::model::Actions = std::iter::once(old).chain(rest).collect();
    Some(GroupPlan {
        keeper: new,
        keeper_links: Vec::new(),
        actions,
        ..g.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::super::plan;
    use super::*;
    use crate::config::Method;
    use crate::model::{Attrs, Dir, DirIdx, FileId, FileLen, Identity, MountInfo, Timestamp};

    /// Inodes described by (name, uid, mode, extent digest) in one public directory of a
    /// mount that can share extents (`reflink`) or not.
    fn group(
        files: &[(&str, u32, u32, Option<u64>)],
        reflink: bool,
    ) -> (Tree, DupGroup, PlanOptions) {
        let mut tree = Tree::default();
        tree.dirs.push(Dir {
            path: "d".into(),
            id: FileId { dev: 1, ino: 1 },
            parent: None,
            name: Default::default(),
            attrs: Attrs::default(),
            mnt: 7,
            public: true,
        });
        tree.mounts.insert(
            7,
            MountInfo {
                reflink,
                ..MountInfo::default()
            },
        );
        let mut opts = PlanOptions {
            method: Method::Auto,
            ..PlanOptions::default()
        };
        let inodes = files
            .iter()
            .enumerate()
            .map(|(i, &(name, uid, mode, digest))| {
                let id = FileId {
                    dev: 1,
                    ino: 100 + i as u64,
                };
                opts.extents.insert(
                    id,
                    ExtentSum {
                        digest,
                        unshared: if digest == Some(1) { 0 } else { 10 },
                    },
                );
                Inode {
                    ident: Identity {
                        id,
                        len: FileLen(10),
                        mtime: Timestamp {
                            sec: i as i64,
                            nsec: 0,
                        },
                        ctime: Timestamp::default(),
                        mode: 0o100000 | mode,
                        uid,
                        gid: uid,
                    },
                    nlink: 1,
                    attrs: Attrs::default(),
                    xattrs: Default::default(),
                    paths: smallvec::smallvec![tree.loc(DirIdx(0), name.as_bytes(), 7).unwrap()],
                }
            })
            .collect();
        let g = DupGroup {
            len: FileLen(10),
            hash: 1,
            inodes,
        };
        (tree, g, opts)
    }

    /// Owner, mode and times need not match; another owner's private copy, a set-id file and
    /// a copy already sharing the keeper's extents are left alone, each for its reason; auto
    /// hard-links where the filesystem can't share.
    #[test]
    fn gates_of_shared_extents() {
        let (tree, g, opts) = group(
            &[
                ("keeper", 0, 0o644, Some(1)),
                ("mode", 0, 0o600, Some(2)),
                ("readable", 1000, 0o644, Some(3)),
                ("private", 1000, 0o600, Some(4)),
                ("setuid", 0, 0o4755, Some(5)),
                ("shared", 0, 0o644, Some(1)),
            ],
            true,
        );
        let p = plan(&tree, vec![g], &opts);
        assert_eq!(p.groups.len(), 1);
        let planned = &p.groups[0];
        assert_eq!(
            (planned.method, planned.method_why),
            (Merge::Reflink, MergeWhy::AutoShares)
        );
        let name = |l: &crate::model::Loc| tree.name(l).to_string_lossy().into_owned();
        let victims: Vec<String> = planned
            .actions
            .iter()
            .map(|a| name(&a.victim.loc))
            .collect();
        // `mode` (0600) is open to fewer people than its keeper (0644), though of one owner.
        assert_eq!(victims, ["readable"]);
        assert!(planned.actions.iter().all(|a| a.frees_bytes == Some(10)));
        let skipped: Vec<(String, &str)> = p
            .skipped
            .iter()
            .map(|s| (name(&s.loc), s.reason.kind().code()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("setuid".into(), "setid"),
                ("mode".into(), "would_reveal"),
                ("private".into(), "would_reveal")
            ]
        );
        assert_eq!(p.settled.len(), 1);
        assert_eq!(p.settled[0].reason.kind().code(), "already_shared");
        assert_eq!(p.reclaimable(), 10);

        // One owner's files: both owner-only, or the same owner, group and mode, share; an
        // owner-only file and a group-readable one don't.
        for (modes, shares) in [
            ([0o600, 0o400], true),
            ([0o640, 0o640], true),
            ([0o640, 0o600], false),
        ] {
            let (tree, g, opts) = group(
                &[
                    ("a", 1000, modes[0], Some(1)),
                    ("b", 1000, modes[1], Some(2)),
                ],
                true,
            );
            let p = plan(&tree, vec![g], &opts);
            assert_eq!(p.groups.len(), usize::from(shares), "{modes:?}");
            let reasons: Vec<&str> = p.skipped.iter().map(|s| s.reason.kind().code()).collect();
            let want: &[&str] = if shares { &[] } else { &["would_reveal"] };
            assert_eq!(reasons, want, "{modes:?}");
        }

        let (tree, g, opts) = group(&[("a", 0, 0o644, None), ("b", 0, 0o644, None)], false);
        let p = plan(&tree, vec![g], &opts);
        assert_eq!(
            (p.groups[0].method, p.groups[0].method_why),
            (Merge::HardLink, MergeWhy::AutoNoSharing)
        );
        let strict = PlanOptions {
            method: Method::Reflink,
            ..opts
        };
        let (tree, g, _) = group(&[("a", 0, 0o644, None), ("b", 0, 0o644, None)], false);
        let p = plan(&tree, vec![g], &strict);
        assert!(p.groups.is_empty());
        assert!(p.skipped.iter().all(|s| s.reason == SkipReason::NoReflink));
    }
}
