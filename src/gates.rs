//! The gates: which file may become a hard link of which, as pure functions of what is known of
//! the two files. The planner applies them to what the scan saw; the executor applies them
//! again right before every swap, to what the files are at that moment, so that neither a tree
//! changed since the scan nor a plan read back from a file can get a pair past them.

use std::path::Path;

use xxhash_rust::xxh3::Xxh3Default;

use crate::config::Gates;
use crate::model::{Attrs, Diff, Identity, SkipReason, XattrSum};

/// The extended attribute that holds file capabilities.
pub const CAPABILITY: &[u8] = b"security.capability";

/// What the gates look at of one file.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub ident: &'a Identity,
    pub attrs: Attrs,
    pub xattrs: XattrSum,
    /// Others may reach it ([`crate::fsverify::public`]).
    pub public: bool,
}

/// Why a file is never merged, whatever the flags: set-id bits, file capabilities, immutable
/// or append-only.
pub fn never(f: &Facts<'_>) -> Option<SkipReason> {
    if f.ident.mode & 0o6000 != 0 {
        Some(SkipReason::SetId)
    } else if f.attrs.immutable {
        Some(SkipReason::Immutable)
    } else if f.attrs.append_only {
        Some(SkipReason::AppendOnly)
    } else if f.xattrs.capability {
        Some(SkipReason::Capability)
    } else {
        None
    }
}

/// May a path of `victim`'s owner take `keeper`'s inode? Without `--ignore-owner`, owner and
/// group must be equal. With it, a path still only takes an inode of its own owner or of root:
/// no one's file ever becomes an inode that another (unprivileged) user controls. And root's
/// inode only when the path's owner may read it anyway: otherwise their file turning root's
/// would tell them what a file they cannot read holds (a user could test guesses of a secret).
pub fn owner_may_take(victim: &Identity, keeper: &Identity, gates: &Gates) -> bool {
    if gates.ignore_owner {
        // Only the others bit proves it: the file's group says nothing of its owner's groups.
        let readable = keeper.mode & 0o004 != 0;
        keeper.uid == victim.uid || (keeper.uid == 0 && readable)
    } else {
        keeper.uid == victim.uid && keeper.gid == victim.gid
    }
}

/// Would taking the keeper's inode give anyone access to the path that they don't have now?
/// Owner, group and mode may differ only when flags allow it, and then only this way: for every
/// user but root (the path's owner, members of either group, everyone else), the keeper's bits
/// that apply to them are a subset of the path's. (So a user whose group is denied the path's
/// bits, while others are allowed, never becomes "others" with more.)
pub fn grants_nothing(path: &Identity, keeper: &Identity) -> bool {
    let bits = |m: u32, shift: u32| (m >> shift) & 7;
    let within = |a: u32, b: u32| a & !b == 0;
    let (po, pg, pt) = (bits(path.mode, 6), bits(path.mode, 3), bits(path.mode, 0));
    let (ko, kg, kt) = (
        bits(keeper.mode, 6),
        bits(keeper.mode, 3),
        bits(keeper.mode, 0),
    );
    let owner = if keeper.uid == path.uid {
        within(ko, po)
    } else if keeper.uid == 0 {
        // The path's owner is one of the keeper's group or an other.
        within(kg, po) && within(kt, po)
    } else {
        false
    };
    let groups = if keeper.gid == path.gid {
        within(kg, pg) && within(kt, pt)
    } else {
        // Members of either group, of both, of neither.
        within(kg, pg) && within(kt, pg) && within(kg, pt) && within(kt, pt)
    };
    owner && groups
}

/// A path takes another owner's (root's) inode only where everyone can reach that inode
/// already: otherwise its owner would read, through their own path, the later edits of a file
/// kept from them by its directories.
pub fn reachable_keeper(victim: &Facts<'_>, keeper: &Facts<'_>) -> bool {
    victim.ident.uid == keeper.ident.uid || keeper.public
}

/// The gated differences between `a` and the keeper `k`, or
/// `None` when the gates let them be merged (ownership aside, see [`owner_may_take`]). ACLs and
/// security labels must always match: they are permissions, and no flag relaxes them.
pub fn differences(a: &Facts<'_>, k: &Facts<'_>, gates: &Gates) -> Option<Diff> {
    let (ai, ki) = (a.ident, k.ident);
    let differ = |on: bool, x: u32, y: u32| (on && x != y).then_some((x, y));
    let diff = Diff {
        owner: differ(!gates.ignore_owner, ai.uid, ki.uid),
        group: differ(!gates.ignore_owner, ai.gid, ki.gid),
        mode: differ(!gates.ignore_mode, ai.mode & 0o7777, ki.mode & 0o7777),
        mtime: gates.same_mtime && ai.mtime != ki.mtime,
        dir_access: !gates.ignore_dir_access && a.public != k.public,
        acl: a.xattrs.digest != k.xattrs.digest,
        user_xattrs: !gates.ignore_xattrs && a.xattrs.user != k.xattrs.user,
    };
    (!diff.is_empty()).then_some(diff)
}

/// [`never()`] of the victim, or of its keeper (as [`SkipReason::KeeperUnfit`]).
fn never_either(victim: &Facts<'_>, keeper: &Facts<'_>, keeper_path: &Path) -> Option<SkipReason> {
    never(victim).or_else(|| {
        never(keeper).map(|r| SkipReason::KeeperUnfit {
            keeper: keeper_path.to_path_buf(),
            why: Box::new(r),
        })
    })
}

/// Why `victim` may not become a link of `keeper` (at `keeper_path`), if it may not.
pub fn pair(
    victim: &Facts<'_>,
    keeper: &Facts<'_>,
    gates: &Gates,
    keeper_path: &Path,
) -> Option<SkipReason> {
    if let Some(r) = never_either(victim, keeper, keeper_path) {
        return Some(r);
    }
    // Without --ignore-owner, another owner is a difference (below), reported as such.
    if gates.ignore_owner
        && (!owner_may_take(victim.ident, keeper.ident, gates) || !reachable_keeper(victim, keeper))
    {
        return Some(SkipReason::ForeignKeeper {
            keeper: keeper_path.to_path_buf(),
            uid: victim.ident.uid,
            keeper_uid: keeper.ident.uid,
        });
    }
    if let Some(diff) = differences(victim, keeper, gates) {
        return Some(SkipReason::Metadata {
            keeper: keeper_path.to_path_buf(),
            diff,
        });
    }
    (!grants_nothing(victim.ident, keeper.ident)).then(|| SkipReason::WouldGrant {
        keeper: keeper_path.to_path_buf(),
        mode: victim.ident.mode & 0o7777,
        keeper_mode: keeper.ident.mode & 0o7777,
    })
}

/// Why `victim` may not share `keeper`'s extents (a reflink), if it may not: set-id files,
/// files with capabilities, immutable and append-only files are never touched, as either side.
/// And since anyone who can open a file can see that its extents are shared (`FIEMAP`), and
/// with write access to it can plant a guess of the other's content and watch, two files share
/// extents only when they are open to the same people ([`same_audience`]). Times and `user.*`
/// attributes may differ: each file keeps its own.
pub fn share(victim: &Facts<'_>, keeper: &Facts<'_>, keeper_path: &Path) -> Option<SkipReason> {
    if let Some(r) = never_either(victim, keeper, keeper_path) {
        return Some(r);
    }
    (!same_audience(victim, keeper)).then(|| SkipReason::WouldReveal {
        keeper: keeper_path.to_path_buf(),
        uid: victim.ident.uid,
        mode: victim.ident.mode & 0o7777,
        keeper_uid: keeper.ident.uid,
        keeper_mode: keeper.ident.mode & 0o7777,
    })
}

/// May the same people (root aside) open both files? Both readable by everyone and reachable
/// by everyone; or both of one owner and open to nobody else (no group or other bits, no
/// ACL); or of one owner, group and mode, with the same ACLs and security labels and the same
/// reach (both reachable by everyone or both not).
fn same_audience(a: &Facts<'_>, b: &Facts<'_>) -> bool {
    let open = |f: &Facts<'_>| f.ident.mode & 0o004 != 0 && f.public;
    let owner_only = |f: &Facts<'_>| f.ident.mode & 0o077 == 0 && f.xattrs.digest == 0;
    let (x, y) = (a.ident, b.ident);
    (open(a) && open(b))
        || (x.uid == y.uid && owner_only(a) && owner_only(b))
        || (x.uid == y.uid
            && x.gid == y.gid
            && x.mode & 0o7777 == y.mode & 0o7777
            && a.xattrs.digest == b.xattrs.digest
            && a.public == b.public)
}

/// Is an attribute a permission (anything but a `user.*` one)?
pub fn is_permission(name: &[u8]) -> bool {
    !name.starts_with(b"user.")
}

/// What the gates need of a file's (name, value) attribute list, sorted by name.
pub fn summarize(list: &[(Vec<u8>, Vec<u8>)]) -> XattrSum {
    if list.is_empty() {
        return XattrSum::default();
    }
    let digest = |perm: bool| {
        let mut h = Xxh3Default::new();
        let mut any = false;
        for (name, value) in list.iter().filter(|(n, _)| is_permission(n) == perm) {
            any = true;
            for part in [name, value] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part);
            }
        }
        if any { h.digest() } else { 0 }
    };
    XattrSum {
        digest: digest(true),
        user: digest(false) as u32,
        capability: list.iter().any(|(n, _)| n == CAPABILITY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FileId, FileLen, Timestamp};

    fn ident(uid: u32, gid: u32, mode: u32) -> Identity {
        Identity {
            id: FileId { dev: 1, ino: 1 },
            len: FileLen(1),
            mtime: Timestamp::default(),
            ctime: Timestamp::default(),
            mode: 0o100000 | mode,
            uid,
            gid,
        }
    }

    #[test]
    fn owners_only_take_their_own_or_roots_inodes() {
        let ignore = Gates {
            ignore_owner: true,
            ..Gates::default()
        };
        let strict = Gates::default();
        // (victim uid, gid), (keeper uid, gid), gates, may take
        let cases = [
            ((1000, 1000), (1000, 1000), strict, true),
            ((1000, 1000), (1000, 50), strict, false),
            ((1000, 1000), (0, 0), strict, false),
            ((1000, 1000), (0, 0), ignore, true),
            ((0, 0), (1000, 1000), ignore, false),
            ((1000, 1000), (2000, 2000), ignore, false),
            ((1000, 1000), (1000, 50), ignore, true),
        ];
        for (v, k, gates, want) in cases {
            let (vi, ki) = (ident(v.0, v.1, 0o644), ident(k.0, k.1, 0o644));
            assert_eq!(owner_may_take(&vi, &ki, &gates), want, "{v:?} {k:?}");
            let facts = |i| Facts {
                ident: i,
                attrs: Attrs::default(),
                xattrs: XattrSum::default(),
                public: true,
            };
            let why = pair(&facts(&vi), &facts(&ki), &gates, Path::new("k"));
            assert_eq!(why.is_none(), want, "{v:?} {k:?}: {why:?}");
        }
    }

    #[test]
    fn a_setuid_keeper_is_never_linked_to() {
        let (v, k) = (ident(0, 0, 0o755), ident(0, 0, 0o4755));
        let f = |i| Facts {
            ident: i,
            attrs: Attrs::default(),
            xattrs: XattrSum::default(),
            public: true,
        };
        let gates = Gates {
            ignore_mode: true,
            ..Gates::default()
        };
        assert!(matches!(
            pair(&f(&v), &f(&k), &gates, Path::new("k")),
            Some(SkipReason::KeeperUnfit { .. })
        ));
    }
}
