//! The planner: duplicate groups → [`Plan`]. Pure: it never touches the disk.
//!
//! Each group is split by device and mount (hard links can't cross either), then by the metadata
//! gates (owner, group, mode, optionally mtime; setuid/setgid, immutable and append-only files are
//! never merged). In each class of two or more inodes it picks the keeper (most links, then the
//! oldest, then the first path) and plans one [`LinkAction`] per path of every other inode.

use std::borrow::Cow;
use std::collections::VecDeque;

mod reflink;

use crate::config::{Gates, KeepPolicy, Method};
use crate::gates::{self, Facts};
use crate::model::{
    Apart, DupGroup, ExtentSum, FileId, GroupPlan, Identity, Inode, LinkAction, Loc, Member, Merge,
    MergeWhy, MountInfo, Plan, Skip, SkipReason, Tree,
};

/// What the planner needs besides the groups.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    pub gates: Gates,
    /// Highest link count an inode may reach (rotate to a new keeper beyond it).
    pub max_links: Option<u64>,
    pub keep: KeepPolicy,
    /// Per [`Tree::dirs`] entry: prefer keepers there (`--keep-under`). Empty: no preference.
    pub preferred: Vec<bool>,
    /// Hard links, shared extents, or each where it fits.
    pub method: Method,
    /// Where the data of grouped inodes lies ([`crate::scan::extents`]).
    pub extents: std::collections::HashMap<FileId, ExtentSum>,
}

/// Turn duplicate groups into a plan, one at a time: the scan's packed [`crate::model::Groups`]
/// builds each group's `Inode`s when it is reached, and it is dropped once planned.
pub fn plan(tree: &Tree, groups: impl IntoIterator<Item = DupGroup>, opts: &PlanOptions) -> Plan {
    let groups = groups.into_iter();
    // Most groups make one group of the plan: room for them all at once, not grown by doubling.
    let mut held = Vec::with_capacity(groups.size_hint().0);
    let mut plan = plan_each(tree, groups, opts, |g| held.push(g));
    held.shrink_to_fit();
    plan.groups = held;
    plan
}

/// [`plan`], handing each group of the plan to `each` as it is made instead of holding it: the
/// plan returned has the skips and the sets kept apart, and no groups.
pub fn plan_each(
    tree: &Tree,
    groups: impl IntoIterator<Item = DupGroup>,
    opts: &PlanOptions,
    mut each: impl FnMut(GroupPlan),
) -> Plan {
    let mut plan = Plan::default();
    for g in groups {
        plan_group(tree, &g, opts, &mut plan);
        plan.groups.drain(..).for_each(&mut each);
    }
    plan.skipped.shrink_to_fit();
    plan.settled.shrink_to_fit();
    plan
}

/// The groups of the plan of `groups`, made again one scan group at a time as they are read,
/// each dropped by the reader: how a dry run reports the plan of millions of files without
/// holding it. Made by the same steps as [`plan`], in the same order: the same groups.
pub fn replan<'a>(
    tree: &'a Tree,
    groups: &'a crate::model::Groups,
    opts: &'a PlanOptions,
) -> impl Iterator<Item = GroupPlan> + 'a {
    groups.iter().flat_map(move |g| {
        let mut plan = Plan::default();
        plan_group(tree, &g, opts, &mut plan);
        plan.groups
    })
}

fn plan_group(tree: &Tree, g: &DupGroup, opts: &PlanOptions, plan: &mut Plan) {
    let (groups, skips) = (plan.groups.len(), plan.skipped.len());
    split_and_plan(tree, g, opts, plan);
    if plan.groups.len() == groups {
        settle(g, plan, skips);
    }
}

/// A group that got no action: the skips of its inodes that are linked sets already (two or
/// more paths), kept apart from the rest by a gate or a filesystem, are settled, not news.
fn settle(g: &DupGroup, plan: &mut Plan, from: usize) {
    let linked: std::collections::HashSet<&Loc> = g
        .inodes
        .iter()
        .filter(|i| i.paths.len() >= 2)
        .flat_map(|i| i.paths.iter())
        .collect();
    let kept_apart = |r: &SkipReason| {
        matches!(
            r,
            SkipReason::Metadata { .. }
                | SkipReason::OtherFilesystem { .. }
                | SkipReason::OtherMount { .. }
        )
    };
    let (settled, news): (Vec<Skip>, Vec<Skip>) = plan
        .skipped
        .drain(from..)
        .partition(|s| kept_apart(&s.reason) && linked.contains(&s.loc));
    plan.skipped.extend(news);
    plan.settled.extend(settled);
}

/// The inodes of a group on one (device, mount id).
type Part<'a> = ((u64, u64), Vec<&'a Inode>);

/// Split a group by device and mount, then plan each part.
fn split_and_plan(tree: &Tree, g: &DupGroup, opts: &PlanOptions, plan: &mut Plan) {
    // 1. Split by (device, mount) of each inode's first path, in path order.
    let mut parts: Vec<Part> = Vec::new();
    for inode in &g.inodes {
        let key = (inode.ident.id.dev, inode.paths[0].mnt);
        match parts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(inode),
            None => parts.push((key, vec![inode])),
        }
    }
    for (i, (key, inodes)) in parts.iter().enumerate() {
        if inodes.len() == 1 {
            // Reported, never planned: its twins are elsewhere.
            let other = parts
                .iter()
                .enumerate()
                .find(|(j, _)| *j != i)
                .map(|(_, p)| p);
            if let Some((okey, others)) = other {
                let twin = tree.path(&others[0].paths[0]);
                let reason = if okey.0 == key.0 {
                    SkipReason::OtherMount { keeper: twin }
                } else {
                    SkipReason::OtherFilesystem { twin }
                };
                skip_inode(plan, inodes[0], &reason);
            }
            continue;
        }
        let mount = tree.mounts.get(&key.1).copied().unwrap_or_default();
        let merge = match (opts.method, mount.reflink) {
            (Method::Hardlink, _) => Some(MergeWhy::Asked),
            (Method::Auto, false) => Some(MergeWhy::AutoNoSharing),
            (Method::Reflink, false) => None,
            (Method::Reflink, true) => Some(MergeWhy::Asked),
            (Method::Auto, true) => Some(MergeWhy::AutoShares),
        };
        let Some(why) = merge else {
            inodes
                .iter()
                .for_each(|i| skip_inode(plan, i, &SkipReason::NoReflink));
            continue;
        };
        if opts.method != Method::Hardlink && mount.reflink && !mount.readonly {
            reflink::plan_part(tree, g, inodes, opts, why, plan);
            continue;
        }
        let first = plan.groups.len();
        plan_hard_links(tree, g, opts, plan, (i, key), (&parts, mount));
        for group in &mut plan.groups[first..] {
            group.method_why = why;
        }
    }
}

/// The part `i` of a group (`parts`), on a mount that `mount` describes, by hard links.
fn plan_hard_links(
    tree: &Tree,
    g: &DupGroup,
    opts: &PlanOptions,
    plan: &mut Plan,
    (i, key): (usize, &(u64, u64)),
    (parts, mount): (&[Part], MountInfo),
) {
    let inodes = &parts[i].1;
    if let Some(fs) = mount.no_hard_links {
        inodes
            .iter()
            .for_each(|i| skip_inode(plan, i, &SkipReason::NoHardLinks { fs }));
    } else if mount.readonly {
        inodes
            .iter()
            .for_each(|i| skip_inode(plan, i, &SkipReason::ReadOnly));
    } else {
        // Plan within the filesystem's own link limit, or the user's if lower.
        let max_links = match (opts.max_links, mount.link_max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if i > 0 && !inodes.is_empty() {
            let (okey, others) = &parts[0];
            let twin = tree.path(&others[0].paths[0]);
            let reason = if okey.0 == key.0 {
                SkipReason::OtherMount { keeper: twin }
            } else {
                SkipReason::OtherFilesystem { twin }
            };
            keep_apart(plan, inodes[0], inodes, reason);
        }
        plan_part(tree, g, inodes, opts, max_links, plan);
    }
}

/// Record that `set` (keeper `k`) is linked apart from the rest of its group, for `reason`.
fn keep_apart(plan: &mut Plan, k: &Inode, set: &[&Inode], reason: SkipReason) {
    plan.apart.push(Apart {
        loc: k.paths[0],
        paths: set.iter().map(|i| i.paths.len() as u64).sum(),
        reason,
    });
}

fn skip_inode(plan: &mut Plan, inode: &Inode, reason: &SkipReason) {
    for loc in &inode.paths {
        plan.skipped.push(Skip {
            loc: *loc,
            reason: reason.clone(),
        });
    }
}

/// The part of the identity that the gates compare: owner and group, mode bits, mtime,
/// extended attributes.
type GateKey = (
    Option<(u32, u32)>,
    Option<u32>,
    Option<(i64, u32)>,
    (u64, Option<u32>),
    Option<bool>,
);

fn gate_key(tree: &Tree, inode: &Inode, gates: &Gates) -> GateKey {
    let i = &inode.ident;
    (
        (!gates.ignore_owner).then_some((i.uid, i.gid)),
        (!gates.ignore_mode).then_some(i.mode & 0o7777),
        gates.same_mtime.then_some((i.mtime.sec, i.mtime.nsec)),
        // Attributes that are permissions must always be equal; user.* ones unless ignored.
        (
            inode.xattrs.digest,
            (!gates.ignore_xattrs).then_some(inode.xattrs.user),
        ),
        (!gates.ignore_dir_access).then_some(tree.public(inode)),
    )
}

fn plan_part(
    tree: &Tree,
    g: &DupGroup,
    inodes: &[&Inode],
    opts: &PlanOptions,
    max_links: Option<u64>,
    plan: &mut Plan,
) {
    let classes = classes(tree, mergeable(tree, inodes, plan), &opts.gates);
    let Some(main_keeper) = classes.first().map(|c| pick_keeper(tree, c, opts)) else {
        return;
    };
    for (ci, class) in classes.iter().enumerate() {
        if class.len() >= 2 {
            if ci > 0 {
                let k = pick_keeper(tree, class, opts);
                let diff =
                    gates::differences(&facts(tree, k), &facts(tree, main_keeper), &opts.gates);
                let reason = SkipReason::Metadata {
                    keeper: tree.path(&main_keeper.paths[0]),
                    diff: diff.unwrap_or_default(),
                };
                keep_apart(plan, k, class, reason);
            }
            plan_sets(tree, g, class, opts, max_links, plan);
        } else {
            // Compare with the main class's keeper, or (if that is this file) with the next class.
            let other = if ci == 0 {
                classes.get(1).map(|c| pick_keeper(tree, c, opts))
            } else {
                Some(main_keeper)
            };
            if let Some(k) = other {
                let diff = gates::differences(&facts(tree, class[0]), &facts(tree, k), &opts.gates);
                let reason = SkipReason::Metadata {
                    keeper: tree.path(&k.paths[0]),
                    diff: diff.unwrap_or_default(),
                };
                skip_inode(plan, class[0], &reason);
            }
        }
    }
}

/// The inodes that may be merged at all; the others (set-id, immutable...) are skipped.
fn mergeable<'a>(tree: &Tree, inodes: &[&'a Inode], plan: &mut Plan) -> Vec<&'a Inode> {
    let mut eligible = Vec::new();
    for &inode in inodes {
        match gates::never(&facts(tree, inode)) {
            Some(r) => skip_inode(plan, inode, &r),
            None => eligible.push(inode),
        }
    }
    eligible
}

/// Classes of equal gated metadata, the largest first (ties: first path).
fn classes<'a>(tree: &Tree, inodes: Vec<&'a Inode>, gates: &Gates) -> Vec<Vec<&'a Inode>> {
    let mut classes: Vec<(GateKey, Vec<&Inode>)> = Vec::new();
    for inode in inodes {
        let key = gate_key(tree, inode, gates);
        match classes.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(inode),
            None => classes.push((key, vec![inode])),
        }
    }
    classes.sort_by_key(|c| std::cmp::Reverse(c.1.len())); // stable: path order breaks ties
    classes.into_iter().map(|(_, c)| c).collect()
}

/// Plan a class of two or more inodes: each set that may share a keeper (where flags let owners
/// or modes differ: who may be whose keeper), and a skip for each inode that no keeper fits.
fn plan_sets(
    tree: &Tree,
    g: &DupGroup,
    class: &[&Inode],
    opts: &PlanOptions,
    max_links: Option<u64>,
    plan: &mut Plan,
) {
    let (sets, left) = keeper_sets(tree, class, &opts.gates);
    for (members, pool) in &sets {
        plan_class(tree, g, members, pool, opts, max_links, plan);
    }
    for inode in left {
        let others: Vec<&Inode> = class
            .iter()
            .copied()
            .filter(|i| !std::ptr::eq(*i, inode))
            .collect();
        let k = sets
            .first()
            .map(|(_, pool)| pick_keeper(tree, pool, opts))
            .unwrap_or_else(|| pick_keeper(tree, &others, opts));
        let kpath = tree.path(&k.paths[0]);
        let reason = gates::pair(&facts(tree, inode), &facts(tree, k), &opts.gates, &kpath)
            .unwrap_or(SkipReason::WouldGrant {
                keeper: kpath,
                mode: inode.ident.mode & 0o7777,
                keeper_mode: k.ident.mode & 0o7777,
            });
        skip_inode(plan, inode, &reason);
    }
}

fn facts<'a>(tree: &Tree, i: &'a Inode) -> Facts<'a> {
    Facts {
        ident: &i.ident,
        attrs: i.attrs,
        xattrs: i.xattrs,
        public: tree.public(i),
    }
}

/// A set of inodes that may share one keeper, and the inodes that may be that keeper.
type KeeperSet<'a> = (Vec<&'a Inode>, Vec<&'a Inode>);

/// A class of equal gated metadata as the sets that may share one keeper, and the inodes left
/// out. Where no flag relaxes the owner or the mode, every inode has the same owner, group and
/// mode, and the class is one set. Otherwise a path only takes the inode of a keeper of its own
/// owner or root's, whose owner, group and mode give no one access the path does not
/// ([`gates::grants_nothing`]): the keepers are chosen among the inodes of the one (owner, group,
/// mode) that the most paths may take; the rest are planned again the same way. So a copy that
/// another user made more permissive (or gave more links, to be picked) never becomes the keeper
/// of a stricter one.
fn keeper_sets<'a>(
    tree: &Tree,
    class: &[&'a Inode],
    g: &Gates,
) -> (Vec<KeeperSet<'a>>, Vec<&'a Inode>) {
    let profile = |i: &Inode| (i.ident.uid, i.ident.gid, i.ident.mode & 0o7777);
    let may_take = |path: &Inode, keeper: &Inode| {
        gates::owner_may_take(&path.ident, &keeper.ident, g)
            && gates::reachable_keeper(&facts(tree, path), &facts(tree, keeper))
            && gates::grants_nothing(&path.ident, &keeper.ident)
    };
    let mut sets = Vec::new();
    let mut left: Vec<&Inode> = class.to_vec();
    while left.len() >= 2 {
        // One inode of each profile, in path order.
        let mut profiles: Vec<&Inode> = Vec::new();
        for &i in &left {
            if !profiles.iter().any(|p| profile(p) == profile(i)) {
                profiles.push(i);
            }
        }
        let mut best: Option<(&Inode, usize)> = None;
        for &k in &profiles {
            let n = left.iter().filter(|m| may_take(m, k)).count();
            if best.is_none_or(|(_, b)| n > b) {
                best = Some((k, n));
            }
        }
        let Some((k, n)) = best.filter(|(_, n)| *n >= 2) else {
            break;
        };
        let (members, rest): (Vec<&Inode>, Vec<&Inode>) =
            left.into_iter().partition(|m| may_take(m, k));
        debug_assert_eq!(members.len(), n);
        let pool = members
            .iter()
            .copied()
            .filter(|m| profile(m) == profile(k))
            .collect();
        sets.push((members, pool));
        left = rest;
    }
    (sets, left)
}

/// The keeper: one below a `--keep-under` directory if any, then by the policy (default: most
/// links, then the oldest modification time, then the first path).
fn pick_keeper<'a>(tree: &Tree, class: &[&'a Inode], opts: &PlanOptions) -> &'a Inode {
    let preferred = |i: &Inode| {
        i.paths.iter().any(|p| {
            opts.preferred
                .get(p.dir.0 as usize)
                .copied()
                .unwrap_or(false)
        })
    };
    let mut best = class[0];
    for &c in &class[1..] {
        let by_policy = match opts.keep {
            KeepPolicy::MostLinks => c
                .nlink
                .cmp(&best.nlink)
                .then_with(|| best.ident.mtime.cmp(&c.ident.mtime)),
            KeepPolicy::Oldest => best.ident.mtime.cmp(&c.ident.mtime),
            KeepPolicy::Newest => c.ident.mtime.cmp(&best.ident.mtime),
            KeepPolicy::First => std::cmp::Ordering::Equal,
        };
        let better = preferred(c)
            .cmp(&preferred(best))
            .then(by_policy)
            .then_with(|| tree.cmp_loc(&best.paths[0], &c.paths[0]));
        if better.is_gt() {
            best = c;
        }
    }
    best
}

/// An inode as a plan names it: what it must still be at the swap, its link count, and its
/// paths (the first one first). The planner's [`Inode`]s are named so, and so are the inodes of
/// a [`GroupPlan`] when the review chooses another keeper ([`with_keeper`]).
struct Named<'a> {
    expect: Identity,
    nlink: u64,
    paths: Cow<'a, [Loc]>,
}

impl<'a> Named<'a> {
    fn of(inode: &'a Inode) -> Self {
        Named {
            expect: inode.ident,
            nlink: inode.nlink,
            paths: Cow::Borrowed(&inode.paths),
        }
    }

    /// The inode of `m`, with these paths.
    fn listed(m: &Member, paths: Vec<Loc>) -> Self {
        Named {
            expect: m.expect,
            nlink: m.nlink,
            paths: Cow::Owned(paths),
        }
    }

    fn member(&self, loc: &Loc) -> Member {
        Member {
            loc: *loc,
            expect: self.expect,
            nlink: self.nlink,
        }
    }
}

/// An inode whose paths are to become links of the keeper's.
struct Victim<'a> {
    named: Named<'a>,
    /// Its links that are not among `named.paths`.
    outside_links: u64,
    /// Its bytes are freed once every one of `named.paths` is linked.
    may_free: bool,
}

impl<'a> Victim<'a> {
    /// An inode all of whose paths in the scanned trees are `named.paths`.
    fn whole(named: Named<'a>) -> Self {
        let outside_links = named.nlink.saturating_sub(named.paths.len() as u64);
        Victim {
            named,
            outside_links,
            may_free: outside_links == 0,
        }
    }
}

/// Plan one set of inodes that may share a keeper; the keeper (and any keeper after it, when
/// the link limit is reached) is one of `pool`.
fn plan_class(
    tree: &Tree,
    g: &DupGroup,
    class: &[&Inode],
    pool: &[&Inode],
    opts: &PlanOptions,
    max_links: Option<u64>,
    plan: &mut Plan,
) {
    let budget = |k: &Inode| max_links.map(|m| m.saturating_sub(k.nlink));
    let mut keeper = pick_keeper(tree, pool, opts);
    let mut room = budget(keeper);
    let mut current = new_group(g, keeper);
    let mut queue: VecDeque<&Inode> = class
        .iter()
        .copied()
        .filter(|i| !std::ptr::eq(*i, keeper))
        .collect();
    while let Some(victim) = queue.pop_front() {
        if room.is_some_and(|r| r < victim.paths.len() as u64) {
            // The keeper would exceed the link limit: another copy becomes the next keeper.
            let Some(next) = next_keeper(victim, &mut queue, pool) else {
                let reason = SkipReason::LinkLimit {
                    keeper: tree.path(&keeper.paths[0]),
                };
                skip_inode(plan, victim, &reason);
                continue;
            };
            push_nonempty(plan, std::mem::replace(&mut current, new_group(g, next)));
            keeper = next;
            room = budget(keeper);
            continue;
        }
        let planned = link_paths(
            tree,
            &Named::of(keeper),
            &Victim::whole(Named::of(victim)),
            &mut current,
            &mut plan.skipped,
        );
        if let Some(r) = room.as_mut() {
            *r -= planned;
        }
    }
    push_nonempty(plan, current);
}

/// The keeper after a full one: the victim itself if it is of the pool, else the first inode
/// of the pool still queued, and the victim goes back to the front of the queue. So a full
/// keeper is never a victim either. None: no inode may take over.
fn next_keeper<'a>(
    victim: &'a Inode,
    queue: &mut VecDeque<&'a Inode>,
    pool: &[&Inode],
) -> Option<&'a Inode> {
    let in_pool = |i: &Inode| pool.iter().any(|p| std::ptr::eq(*p, i));
    if in_pool(victim) {
        return Some(victim);
    }
    let next = queue
        .iter()
        .position(|i| in_pool(i))
        .and_then(|at| queue.remove(at))?;
    queue.push_front(victim);
    Some(next)
}

/// Plan the links that give each path of `victim` the keeper's inode; a path that can't take it
/// is skipped, with the reason [`keeper_path`] gives. The last link frees the victim's bytes when
/// every path was planned and it may. Returns how many links were planned.
fn link_paths(
    tree: &Tree,
    keeper: &Named<'_>,
    victim: &Victim<'_>,
    group: &mut GroupPlan,
    skipped: &mut Vec<Skip>,
) -> u64 {
    let paths = &victim.named.paths;
    let mut planned = 0;
    for (pi, loc) in paths.iter().enumerate() {
        let kloc = match keeper_path(tree, &keeper.paths, loc) {
            Ok(kloc) => kloc,
            Err(reason) => {
                skipped.push(Skip { loc: *loc, reason });
                continue;
            }
        };
        planned += 1;
        let last = pi + 1 == paths.len();
        group.actions.push(LinkAction {
            other_keeper: LinkAction::other_keeper(&group.keeper, keeper.member(kloc)),
            victim: victim.named.member(loc),
            frees: last && planned == paths.len() && victim.may_free,
            outside_links: victim.outside_links,
            frees_bytes: None,
        });
    }
    planned as u64
}

/// The path of the keeper (`keeper`: its paths, the first one first) that `loc` would become a
/// link of: the one on the same mount, since no link crosses a mount. Refused where the
/// directory of `loc` is immutable or append-only: a name there can't be swapped (or cleaned up).
fn keeper_path<'k>(tree: &Tree, keeper: &'k [Loc], loc: &Loc) -> Result<&'k Loc, SkipReason> {
    let dir = tree.dir(loc.dir);
    if dir.attrs.immutable || dir.attrs.append_only {
        let what = if dir.attrs.immutable {
            "immutable"
        } else {
            "append-only"
        };
        return Err(SkipReason::DirFlags {
            dir: dir.path.clone(),
            what,
        });
    }
    keeper
        .iter()
        .find(|k| k.mnt == loc.mnt)
        .ok_or_else(|| SkipReason::OtherMount {
            keeper: tree.path(&keeper[0]),
        })
}

fn push_nonempty(plan: &mut Plan, mut g: GroupPlan) {
    if !g.actions.is_empty() {
        // Most groups have one or two actions: no spare slots kept for millions of them.
        g.actions.shrink_to_fit();
        plan.groups.push(g);
    }
}

fn new_group(g: &DupGroup, keeper: &Inode) -> GroupPlan {
    GroupPlan {
        len: g.len,
        hash: g.hash,
        dev: keeper.ident.id.dev,
        keeper: Named::of(keeper).member(&keeper.paths[0]),
        keeper_links: keeper.paths[1..].to_vec(),
        actions: Default::default(),
        method: Merge::HardLink,
        method_why: MergeWhy::Asked,
    }
}

/// The same group with another keeper: `member` indexes the group's paths as listed for
/// review, the keeper first and then each action's duplicate. Built as the plan builds a group:
/// every path, the old keeper's too, goes through the same checks against the new keeper
/// (`keeper_path`), and those that can't take it are added to `skipped`. None when no path is
/// left to link. Pure, like the rest of the plan; the executor re-verifies everything anyway.
pub fn with_keeper(
    tree: &Tree,
    g: &GroupPlan,
    member: usize,
    skipped: &mut Vec<Skip>,
) -> Option<GroupPlan> {
    if g.method == Merge::Reflink {
        return reflink::with_keeper(g, member);
    }
    let Some(chosen) = member.checked_sub(1).and_then(|i| g.actions.get(i)) else {
        return Some(g.clone());
    };
    let new = &chosen.victim;
    let of_new = |a: &&LinkAction| a.victim.expect.id == new.expect.id;
    // The new keeper's paths: the chosen one first, then its other links in the group.
    let others = g.actions.iter().filter(of_new).map(|a| &a.victim.loc);
    let paths = std::iter::once(&new.loc).chain(others.filter(|&l| l != &new.loc));
    let keeper = Named::listed(new, paths.cloned().collect());
    let mut out = GroupPlan {
        len: g.len,
        hash: g.hash,
        dev: g.dev,
        keeper: keeper.member(&keeper.paths[0]),
        keeper_links: keeper.paths[1..].to_vec(),
        actions: Default::default(),
        method: g.method,
        method_why: g.method_why,
    };
    // The old keeper's paths first, then each other inode's, in the order of the group.
    let old_paths = std::iter::once(&g.keeper.loc).chain(&g.keeper_links);
    let old = Victim::whole(Named::listed(&g.keeper, old_paths.cloned().collect()));
    link_paths(tree, &keeper, &old, &mut out, skipped);
    let runs = g
        .actions
        .chunk_by(|a, b| a.victim.expect.id == b.victim.expect.id);
    for run in runs.filter(|run| !of_new(&&run[0])) {
        let victim = Victim {
            named: Named::listed(&run[0].victim, run.iter().map(|a| a.victim.loc).collect()),
            outside_links: run[0].outside_links,
            // The plan freed it only where every one of its paths was linked.
            may_free: run.iter().any(|a| a.frees),
        };
        link_paths(tree, &keeper, &victim, &mut out, skipped);
    }
    (!out.actions.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attrs, Dir, DirIdx, FileId, FileLen, Identity, Timestamp, XattrSum};

    /// One directory, and inodes described by (name, nlink, mtime, uid, mode, dev).
    fn group(files: &[(&str, u64, i64, u32, u32, u64)]) -> (Tree, DupGroup) {
        let mut tree = Tree::default();
        tree.dirs.push(Dir {
            path: "d".into(),
            id: FileId { dev: 1, ino: 1 },
            parent: None,
            name: Default::default(),
            attrs: Attrs::default(),
            mnt: 7,
            public: false,
        });
        let inodes = files
            .iter()
            .enumerate()
            .map(|(i, &(name, nlink, mtime, uid, mode, dev))| Inode {
                ident: Identity {
                    id: FileId {
                        dev,
                        ino: 100 + i as u64,
                    },
                    len: FileLen(10),
                    mtime: Timestamp {
                        sec: mtime,
                        nsec: 0,
                    },
                    ctime: Timestamp::default(),
                    mode: 0o100000 | mode,
                    uid,
                    gid: 0,
                },
                nlink,
                attrs: Attrs::default(),
                xattrs: XattrSum::default(),
                paths: smallvec::smallvec![tree.loc(DirIdx(0), name.as_bytes(), dev * 10).unwrap()],
            })
            .collect();
        (
            tree,
            DupGroup {
                len: FileLen(10),
                hash: 1,
                inodes,
            },
        )
    }

    fn keeper_and_victims(tree: &Tree, plan: &Plan) -> Vec<(String, Vec<String>)> {
        let name = |l: &Loc| tree.name(l).to_string_lossy().into_owned();
        plan.groups
            .iter()
            .map(|g| {
                (
                    name(&g.keeper.loc),
                    g.actions.iter().map(|a| name(&a.victim.loc)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn keeper_choice_and_gates() {
        let p = 0o644;
        // (files, options, expected groups (keeper, victims), expected number of skips)
        type Case<'a> = (
            Vec<(&'a str, u64, i64, u32, u32, u64)>,
            KeepPolicy,
            Vec<(&'a str, Vec<&'a str>)>,
            usize,
        );
        let cases: Vec<Case> = vec![
            // Most links wins over age.
            (
                vec![("a", 1, 1, 0, p, 1), ("b", 3, 9, 0, p, 1)],
                KeepPolicy::MostLinks,
                vec![("b", vec!["a"])],
                0,
            ),
            // Then the oldest.
            (
                vec![("a", 1, 5, 0, p, 1), ("b", 1, 2, 0, p, 1)],
                KeepPolicy::MostLinks,
                vec![("b", vec!["a"])],
                0,
            ),
            // Then the first path.
            (
                vec![("a", 1, 5, 0, p, 1), ("b", 1, 5, 0, p, 1)],
                KeepPolicy::MostLinks,
                vec![("a", vec!["b"])],
                0,
            ),
            (
                vec![("a", 1, 1, 0, p, 1), ("b", 1, 9, 0, p, 1)],
                KeepPolicy::Newest,
                vec![("b", vec!["a"])],
                0,
            ),
            (
                vec![("a", 5, 9, 0, p, 1), ("b", 1, 1, 0, p, 1)],
                KeepPolicy::First,
                vec![("a", vec!["b"])],
                0,
            ),
            // Owner gate: the odd one out is skipped, the rest linked.
            (
                vec![
                    ("a", 1, 1, 0, p, 1),
                    ("b", 1, 2, 0, p, 1),
                    ("c", 1, 3, 9, p, 1),
                ],
                KeepPolicy::MostLinks,
                vec![("a", vec!["b"])],
                1,
            ),
            // Mode gate and setuid.
            (
                vec![
                    ("a", 1, 1, 0, p, 1),
                    ("b", 1, 2, 0, 0o600, 1),
                    ("c", 1, 3, 0, 0o4755, 1),
                ],
                KeepPolicy::MostLinks,
                vec![],
                3,
            ),
            // Devices: nothing links across.
            (
                vec![("a", 1, 1, 0, p, 1), ("b", 1, 2, 0, p, 2)],
                KeepPolicy::MostLinks,
                vec![],
                2,
            ),
        ];
        for (files, keep, want, skips) in cases {
            let (tree, g) = group(&files);
            let opts = PlanOptions {
                keep,
                ..PlanOptions::default()
            };
            let plan = plan(&tree, vec![g], &opts);
            let want: Vec<(String, Vec<String>)> = want
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
                .collect();
            assert_eq!(keeper_and_victims(&tree, &plan), want, "{files:?} {keep:?}");
            assert_eq!(plan.skipped.len(), skips, "{files:?}: {:?}", plan.skipped);
        }
    }

    #[test]
    fn link_budget_rotates_keepers_and_never_victimizes_a_full_keeper() {
        let p = 0o644;
        let (tree, g) = group(&[
            ("full", 5, 1, 0, p, 1),
            ("a", 1, 2, 0, p, 1),
            ("b", 1, 3, 0, p, 1),
            ("c", 1, 4, 0, p, 1),
        ]);
        let opts = PlanOptions {
            max_links: Some(5),
            ..PlanOptions::default()
        };
        let plan = plan(&tree, vec![g], &opts);
        assert_eq!(
            keeper_and_victims(&tree, &plan),
            vec![("a".to_string(), vec!["b".to_string(), "c".to_string()])]
        );
    }

    #[test]
    fn another_keeper_after_review() {
        let p = 0o644;
        let (tree, g) = group(&[
            ("a", 1, 1, 0, p, 1),
            ("b", 1, 2, 0, p, 1),
            ("c", 1, 3, 0, p, 1),
        ]);
        let plan = plan(&tree, vec![g], &PlanOptions::default());
        let mut skipped = Vec::new();
        let g = with_keeper(&tree, &plan.groups[0], 2, &mut skipped).unwrap();
        let name = |l: &Loc| tree.name(l).to_string_lossy().into_owned();
        assert_eq!(name(&g.keeper.loc), "c");
        let victims: Vec<String> = g.actions.iter().map(|a| name(&a.victim.loc)).collect();
        assert_eq!(victims, ["a", "b"]);
        assert!(
            g.actions
                .iter()
                .all(|a| name(&g.keeper_of(a).loc) == "c" && a.frees)
        );
        assert!(skipped.is_empty(), "{skipped:?}");
    }

    /// The review's change of keeper goes through the plan's per-path checks: the old keeper
    /// was never checked as a duplicate, and a path of it in an immutable directory, or on a
    /// mount the new keeper is not on, must not become one (the swap would fail there).
    #[test]
    fn another_keeper_after_review_keeps_the_per_path_checks() {
        let p = 0o644;
        // (where the old keeper `a` has its paths, victims after choosing `c`, skips, which
        // actions free their victim's bytes)
        type Case = (&'static str, Vec<&'static str>, Vec<SkipReason>, Vec<bool>);
        let cases: Vec<Case> = vec![
            ("here", vec!["a", "b"], vec![], vec![true, true]),
            (
                "immutable dir",
                vec!["b"],
                vec![SkipReason::DirFlags {
                    dir: "locked".into(),
                    what: "immutable",
                }],
                vec![true],
            ),
            (
                "two mounts",
                vec!["a", "b"],
                vec![SkipReason::OtherMount {
                    keeper: "d/c".into(),
                }],
                // `a` keeps its link on the other mount: its bytes are not freed.
                vec![false, true],
            ),
        ];
        for (what, victims, skips, frees) in cases {
            // `a` is the oldest: the planned keeper.
            let (mut tree, mut g) = group(&[
                ("a", 1, 1, 0, p, 1),
                ("b", 1, 2, 0, p, 1),
                ("c", 1, 3, 0, p, 1),
            ]);
            let mut locked = tree.dirs[0].clone();
            locked.path = "locked".into();
            locked.attrs.immutable = true;
            tree.dirs.push(locked);
            let a = &mut g.inodes[0];
            match what {
                "immutable dir" => a.paths[0].dir = DirIdx(1),
                "two mounts" => {
                    let mut other = a.paths[0];
                    other.name = tree.intern(b"a2").unwrap();
                    other.mnt = 20;
                    a.paths.push(other);
                    a.nlink = 2;
                }
                _ => {}
            }
            let name = |l: &Loc| tree.name(l).to_string_lossy().into_owned();
            let plan = plan(&tree, vec![g], &PlanOptions::default());
            assert_eq!(name(&plan.groups[0].keeper.loc), "a", "{what}");
            assert!(plan.skipped.is_empty(), "{what}: {:?}", plan.skipped);
            let mut skipped = Vec::new();
            let g = with_keeper(&tree, &plan.groups[0], 2, &mut skipped).unwrap();
            let got: Vec<String> = g.actions.iter().map(|a| name(&a.victim.loc)).collect();
            assert_eq!(got, victims, "{what}");
            let reasons: Vec<SkipReason> = skipped.into_iter().map(|s| s.reason).collect();
            assert_eq!(reasons, skips, "{what}");
            let got: Vec<bool> = g.actions.iter().map(|a| a.frees).collect();
            assert_eq!(got, frees, "{what}");
            assert!(
                g.actions.iter().all(|a| name(&g.keeper_of(a).loc) == "c"),
                "{what}"
            );
        }
    }

    #[test]
    fn another_keeper_with_nothing_left_to_link_is_no_group() {
        let p = 0o644;
        let (mut tree, mut g) = group(&[("a", 1, 1, 0, p, 1), ("b", 1, 2, 0, p, 1)]);
        let mut locked = tree.dirs[0].clone();
        locked.path = "locked".into();
        locked.attrs.append_only = true;
        tree.dirs.push(locked);
        g.inodes[0].paths[0].dir = DirIdx(1);
        let plan = plan(&tree, vec![g], &PlanOptions::default());
        let mut skipped = Vec::new();
        assert!(with_keeper(&tree, &plan.groups[0], 1, &mut skipped).is_none());
        assert_eq!(skipped.len(), 1);
        // Member 0 is the planned keeper: the group as planned.
        let same = with_keeper(&tree, &plan.groups[0], 0, &mut skipped).unwrap();
        assert_eq!(same.actions.len(), plan.groups[0].actions.len());
    }
}
