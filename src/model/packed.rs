//! The scan's compact data: every path the walk keeps is one fixed-size [`Rec`] (48 bytes) plus
//! its name, NUL-terminated, in one shared byte arena (no allocation per file, and no path is
//! built until it is needed); a candidate inode is a run of records ([`Cand`]), a group a run of
//! candidates ([`Group`]). The scan's result, [`Groups`], is that same table cut down to the
//! duplicates: the later stages read each group through it, so the memory of a duplicate path
//! is its record, its name, its candidate entry and a share of its group's, never a copy.
//! What thousands of files share (device, mount id, owner, group and mode) is interned in a small
//! table of places, and a time stamp is one count of nanoseconds, so that a record takes 48 bytes.

use std::collections::HashMap;
use std::ffi::{CStr, OsStr};
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;

use super::{
    Attrs, DirIdx, DupGroup, FileId, FileLen, Identity, Inode, Loc, NameIdx, NamesFull, Timestamp,
    Tree, XattrSum,
};

/// One path of a regular file: its directory, its name (an offset in the names arena of
/// [`Files`]) and what `statx` said of its inode. Fields are split and packed (not
/// [`Identity`]) so that the record takes 48 bytes.
#[derive(Clone, Copy, Debug)]
pub struct Rec {
    pub len: u64,
    pub ino: u64,
    /// Modification and status change times, as [`pack_time`] packs them.
    mtime: i64,
    ctime: i64,
    /// Offset of the name in the arena.
    name: u32,
    pub dir: DirIdx,
    /// Link count (low 30 bits, saturated) and the immutable / append-only flags (top bits).
    nlink_attrs: u32,
    /// Index of its device, mount, owner, group and mode in [`Files::places`].
    place: u32,
}

const NLINK_MAX: u32 = (1 << 30) - 1;
const IMMUTABLE: u32 = 1 << 30;
const APPEND_ONLY: u32 = 1 << 31;

/// Regular files as packed records, their names, and the places ([`Place`]) they share.
#[derive(Debug, Default)]
pub struct Files {
    pub recs: Vec<Rec>,
    names: Vec<u8>,
    places: Vec<Place>,
    place_of: HashMap<Place, u32>,
    /// The time stamps that don't fit [`pack_time`]'s count of nanoseconds.
    odd: Vec<Timestamp>,
}

/// The first `2^32` values of a packed time name entries of the list of odd times; any larger
/// is nanoseconds since the epoch.
const ODD: i64 = i64::MIN;
const ODD_END: i64 = i64::MIN + (1 << 32);
const NANOS: i64 = 1_000_000_000;

/// A time stamp in one `i64`: nanoseconds since the epoch when it is one of 1677-09-21 to
/// 2262-04-11 (every real file's time, in practice), else the entry of `odd` that holds it.
fn pack_time(t: Timestamp, odd: &mut Vec<Timestamp>) -> Result<i64, Full> {
    let (sec, nsec) = (t.sec, t.nsec);
    let ns = sec
        .checked_mul(NANOS)
        .and_then(|s| s.checked_add(i64::from(nsec)))
        .filter(|&ns| ns >= ODD_END && i64::from(nsec) < NANOS);
    if let Some(ns) = ns {
        return Ok(ns);
    }
    let at = i64::try_from(odd.len())
        .ok()
        .filter(|&i| i < ODD_END - ODD)
        .ok_or(TOO_MANY_ODD_TIMES)?;
    odd.push(t);
    Ok(ODD + at)
}

/// The time stamp [`pack_time`] packed.
fn unpack_time(v: i64, odd: &[Timestamp]) -> Timestamp {
    if v < ODD_END {
        debug_assert!(((v - ODD) as usize) < odd.len(), "a time names no odd one");
        return odd.get((v - ODD) as usize).copied().unwrap_or_default();
    }
    Timestamp {
        sec: v.div_euclid(NANOS),
        nsec: v.rem_euclid(NANOS) as u32,
    }
}

/// The table can't take more: the reason, for the message.
#[derive(Debug)]
pub struct Full(pub &'static str);

pub const TOO_MANY_NAMES: Full = Full("more than 4 GiB of file names in one scan");
const TOO_MANY_PLACES: Full = Full("more than 4 billion kinds of file in one scan");
const TOO_MANY_ODD_TIMES: Full =
    Full("more than 4 billion files with times before 1678 or after 2262 in one scan");

/// What many files share: device, mount id (`statx`), owner, group, and `st_mode` (file type
/// and permission bits: 16 bits, as `statx` reports it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Place {
    dev: u64,
    mnt: u64,
    uid: u32,
    gid: u32,
    mode: u16,
}

impl Files {
    fn place(&mut self, p: Place) -> Result<u32, Full> {
        if self.places.last() == Some(&p) {
            return Ok((self.places.len() - 1) as u32);
        }
        if let Some(&i) = self.place_of.get(&p) {
            return Ok(i);
        }
        let i = u32::try_from(self.places.len()).map_err(|_| TOO_MANY_PLACES)?;
        self.places.push(p);
        self.place_of.insert(p, i);
        Ok(i)
    }

    /// Add a file named `name` in `dir`: `id` is what `statx` said of it, `nlink` its link
    /// count, `mnt` the mount it was seen through.
    pub fn push(
        &mut self,
        dir: DirIdx,
        name: &[u8],
        id: &Identity,
        nlink: u64,
        attrs: Attrs,
        mnt: u64,
    ) -> Result<(), Full> {
        let offset = u32::try_from(self.names.len()).map_err(|_| TOO_MANY_NAMES)?;
        if u32::try_from(self.names.len() + name.len() + 1).is_err() {
            return Err(TOO_MANY_NAMES);
        }
        let mtime = pack_time(id.mtime, &mut self.odd)?;
        let ctime = pack_time(id.ctime, &mut self.odd)?;
        let place = self.place(Place {
            dev: id.id.dev,
            mnt,
            uid: id.uid,
            gid: id.gid,
            mode: id.mode as u16,
        })?;
        self.names.extend_from_slice(name);
        self.names.push(0);
        self.recs.push(Rec {
            len: id.len.0,
            ino: id.id.ino,
            mtime,
            ctime,
            name: offset,
            dir,
            nlink_attrs: u32::try_from(nlink).map_or(NLINK_MAX, |n| n.min(NLINK_MAX))
                | (if attrs.immutable { IMMUTABLE } else { 0 })
                | (if attrs.append_only { APPEND_ONLY } else { 0 }),
            place,
        });
        Ok(())
    }

    /// Move every file of `other` (one directory's listing) here, under directory `dir`.
    pub fn append(&mut self, other: Files, dir: DirIdx) -> Result<(), Full> {
        let base = self.names.len();
        if u32::try_from(base + other.names.len()).is_err() {
            return Err(TOO_MANY_NAMES);
        }
        let remap: Vec<u32> = other
            .places
            .iter()
            .map(|&p| self.place(p))
            .collect::<Result<_, _>>()?;
        let odd_base = self.odd.len() as i64;
        if odd_base + other.odd.len() as i64 > ODD_END - ODD {
            return Err(TOO_MANY_ODD_TIMES);
        }
        self.odd.extend_from_slice(&other.odd);
        let odd = |t: i64| if t < ODD_END { t + odd_base } else { t };
        self.names.extend_from_slice(&other.names);
        self.recs.extend(other.recs.into_iter().map(|mut r| {
            r.name += base as u32;
            r.dir = dir;
            r.place = remap[r.place as usize];
            r.mtime = odd(r.mtime);
            r.ctime = odd(r.ctime);
            r
        }));
        Ok(())
    }

    /// The name as a C string (for `*at` calls, no copy).
    pub fn c_name(&self, r: &Rec) -> &CStr {
        let start = r.name as usize;
        let end = start
            + self.names[start..]
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(self.names.len() - start);
        // The arena always holds the NUL we wrote after every name.
        CStr::from_bytes_with_nul(&self.names[start..=end]).unwrap_or_default()
    }

    pub fn name(&self, r: &Rec) -> &OsStr {
        OsStr::from_bytes(self.c_name(r).to_bytes())
    }

    pub fn dev(&self, r: &Rec) -> u64 {
        self.places[r.place as usize].dev
    }

    pub fn mnt(&self, r: &Rec) -> u64 {
        self.places[r.place as usize].mnt
    }

    pub fn id(&self, r: &Rec) -> FileId {
        FileId {
            dev: self.dev(r),
            ino: r.ino,
        }
    }

    pub fn ident(&self, r: &Rec) -> Identity {
        ident(r, &self.places[r.place as usize], &self.odd)
    }

    pub fn nlink(r: &Rec) -> u64 {
        u64::from(r.nlink_attrs & NLINK_MAX)
    }

    pub fn attrs(r: &Rec) -> Attrs {
        Attrs {
            immutable: r.nlink_attrs & IMMUTABLE != 0,
            append_only: r.nlink_attrs & APPEND_ONLY != 0,
        }
    }

    /// The full path of a record, as the user will see it (for messages).
    pub fn path(&self, tree: &Tree, r: &Rec) -> std::path::PathBuf {
        tree.dir(r.dir).path.join(self.name(r))
    }

    /// The location of a record, its name copied into `tree`'s arena.
    pub fn loc(&self, tree: &mut Tree, r: &Rec) -> Result<Loc, NamesFull> {
        tree.loc(r.dir, self.name(r).as_bytes(), self.mnt(r))
    }

    /// Give back the spare capacity of the records and the names once the walk is done.
    pub fn shrink_to_fit(&mut self) {
        self.recs.shrink_to_fit();
        self.names.shrink_to_fit();
    }

    /// Keep only the records `keep` says yes to, and give the memory of the others back.
    pub fn retain(&mut self, keep: impl FnMut(&Rec) -> bool) {
        self.recs.retain(keep);
        self.recs.shrink_to_fit();
    }
}

/// What a record, its place and the odd times say of its inode.
fn ident(r: &Rec, p: &Place, odd: &[Timestamp]) -> Identity {
    Identity {
        id: FileId {
            dev: p.dev,
            ino: r.ino,
        },
        len: FileLen(r.len),
        mtime: unpack_time(r.mtime, odd),
        ctime: unpack_time(r.ctime, odd),
        mode: u32::from(p.mode),
        uid: p.uid,
        gid: p.gid,
    }
}

/// The location of a record whose name is in the tree's arena.
fn loc(r: &Rec, places: &[Place]) -> Loc {
    Loc {
        dir: r.dir,
        name: NameIdx(r.name),
        mnt: places[r.place as usize].mnt,
    }
}

/// A candidate inode: the run `start..start + count` of records (its paths) in [`Files::recs`],
/// and what is known of its extended attributes ([`XattrSlot`], in the count's top two bits).
#[derive(Clone, Copy, Debug)]
pub struct Cand {
    pub start: u32,
    count_xattr: u32,
}

// One per candidate inode of the whole walk: kept at two `u32`s.
const _: () = assert!(std::mem::size_of::<Cand>() == 8);

/// Most records one candidate can have (its count's bits below the [`XattrSlot`]).
pub const MAX_PATHS: u32 = (1 << 30) - 1;
const XATTR_SHIFT: u32 = 30;

/// What is known of a candidate's extended attributes: not read yet, none that the gates look
/// at (most files), or a digest, kept in [`Sums`] under its inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XattrSlot(u32);

impl XattrSlot {
    /// Not read yet.
    pub const UNKNOWN: XattrSlot = XattrSlot(0);
    /// Read: the file has none that the gates look at.
    pub const NONE: XattrSlot = XattrSlot(1);
    /// Read: its digest is in [`Sums`].
    const LISTED: XattrSlot = XattrSlot(2);

    pub fn is_unknown(self) -> bool {
        self == XattrSlot::UNKNOWN
    }
}

impl Cand {
    /// The candidate of records `start..start + count`, its attributes not read yet; none if
    /// it has more than [`MAX_PATHS`] (no inode has that many names).
    pub fn new(start: u32, count: u32) -> Option<Cand> {
        (count <= MAX_PATHS).then_some(Cand {
            start,
            count_xattr: count,
        })
    }

    pub fn count(self) -> u32 {
        self.count_xattr & MAX_PATHS
    }

    pub fn xattr(self) -> XattrSlot {
        XattrSlot(self.count_xattr >> XATTR_SHIFT)
    }

    pub fn set_xattr(&mut self, x: XattrSlot) {
        self.count_xattr = self.count() | (x.0 << XATTR_SHIFT);
    }

    pub fn recs(self) -> Range<usize> {
        self.start as usize..(self.start + self.count()) as usize
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

    /// Keep only the candidates `keep` says yes to, in place (no second table), dropping the
    /// groups left with fewer than two.
    pub fn retain(&mut self, keep: impl Fn(&Cand) -> bool) {
        let (mut to_cand, mut to_group) = (0usize, 0usize);
        for gi in 0..self.groups.len() {
            let g = self.groups[gi].clone();
            let start = to_cand;
            for i in g.cands.clone() {
                let c = self.cands[i as usize];
                if keep(&c) {
                    self.cands[to_cand] = c;
                    to_cand += 1;
                }
            }
            if to_cand - start >= 2 {
                self.groups[to_group] = Group {
                    cands: start as u32..to_cand as u32,
                    ..g
                };
                to_group += 1;
            } else {
                to_cand = start;
            }
        }
        self.cands.truncate(to_cand);
        self.groups.truncate(to_group);
    }
}

/// The extended-attribute digests of the candidates that have any, by inode (which stays while
/// candidates and records move). Few files have any on most systems; on one with SELinux labels
/// every file does, but a few labels serve thousands of files: each distinct digest is kept
/// once, and a candidate costs its inode and the digest's number (24 bytes), in a list sorted
/// once the digests are all read ([`Sums::seal`]).
#[derive(Debug, Default)]
pub struct Sums {
    of: Vec<(FileId, u32)>,
    distinct: Vec<XattrSum>,
    number: HashMap<XattrSum, u32>,
    sealed: bool,
}

impl Sums {
    /// Record the digest of inode `id`, and give the [`Cand::xattr`] value that says so.
    pub fn intern(&mut self, id: FileId, sum: XattrSum) -> XattrSlot {
        if sum == XattrSum::default() {
            return XattrSlot::NONE;
        }
        let next = self.distinct.len() as u32;
        let n = *self.number.entry(sum).or_insert(next);
        if n == next {
            self.distinct.push(sum);
        }
        self.of.push((id, n));
        self.sealed = false;
        XattrSlot::LISTED
    }

    /// Sort the list by inode, for [`Sums::get`] (and drop the index of digests: nothing is
    /// added after).
    pub fn seal(&mut self) {
        self.of.sort_unstable();
        self.of.dedup_by_key(|e| e.0);
        self.of.shrink_to_fit();
        self.number = HashMap::new();
        self.sealed = true;
    }

    /// The digest of candidate `c`, whose inode is `id`, if known (the list sealed).
    pub fn get(&self, c: &Cand, id: FileId) -> Option<XattrSum> {
        debug_assert!(self.sealed, "digests looked up before they were sorted");
        match c.xattr() {
            XattrSlot::NONE => Some(XattrSum::default()),
            XattrSlot::LISTED => {
                let at = self.of.binary_search_by_key(&id, |e| e.0).ok()?;
                self.distinct.get(self.of[at].1 as usize).copied()
            }
            _ => None,
        }
    }
}

/// The scan's duplicate groups, kept in the packed form the scan found them in: the records of
/// the grouped files only (their names moved into the [`Tree`]'s arena), each inode a run of
/// them, each group a run of inodes. Sorted: largest size first, then by first path; an inode's
/// paths by full path, a group's inodes by first path. [`Groups::get`] gives one group as a
/// [`DupGroup`] (built then, and dropped by the caller), so that a report or the planner holds
/// one group's worth of `Inode`s at a time, not the whole tree's.
#[derive(Debug, Default)]
pub struct Groups {
    recs: Vec<Rec>,
    places: Vec<Place>,
    odd: Vec<Timestamp>,
    found: Candidates,
}

impl Groups {
    /// The groups of `found` over `files`, sorted, every name moved into `tree`. `found` must
    /// have every candidate's attributes read ([`XattrSlot::UNKNOWN`] ones are left out) and
    /// `files` no records but those of its candidates.
    pub fn new(
        tree: &mut Tree,
        mut files: Files,
        mut found: Candidates,
    ) -> Result<Groups, NamesFull> {
        found.retain(|c| !c.xattr().is_unknown());
        found.sums.seal();
        // Names into the tree's arena. When most of the walk's arena is names of duplicates
        // (trees of copies), the arena itself is taken over, no copy made; otherwise only the
        // duplicates' names are copied, into room made once to the exact size.
        let name_len = |r: &Rec| files.c_name(r).to_bytes_with_nul().len();
        let need: usize = files.recs.iter().map(name_len).sum();
        if need * 2 >= files.names.len() {
            let base = tree.adopt_names(std::mem::take(&mut files.names))?;
            for r in &mut files.recs {
                r.name += base.0;
            }
        } else {
            tree.reserve_names(need);
            for i in 0..files.recs.len() {
                let at = tree.intern(files.c_name(&files.recs[i]).to_bytes())?;
                files.recs[i].name = at.0;
            }
        }
        let Files {
            recs, places, odd, ..
        } = files;
        let mut out = Groups {
            recs,
            places,
            odd,
            found,
        };
        out.sort(tree);
        out.store_last_first();
        Ok(out)
    }

    /// Sort paths, inodes and groups by path bytes (see [`Groups`]), comparing in place. No
    /// two items compare equal (a path is one record of one inode of one group), so an
    /// unstable sort, which needs no room, gives the one order whatever the input order.
    fn sort(&mut self, tree: &Tree) {
        let order = tree.path_order();
        let places = &self.places;
        let cmp = |a: &Rec, b: &Rec| tree.cmp_ordered(&order, &loc(a, places), &loc(b, places));
        let Candidates { cands, groups, .. } = &mut self.found;
        let recs = &mut self.recs;
        for c in cands.iter() {
            if c.count() > 1 {
                recs[c.recs()].sort_unstable_by(cmp);
            }
        }
        let first = |c: &Cand| &recs[c.start as usize];
        for g in groups.iter() {
            cands[g.cands.start as usize..g.cands.end as usize]
                .sort_unstable_by(|a, b| cmp(first(a), first(b)));
        }
        let head = |g: &Group| first(&cands[g.cands.start as usize]);
        groups.sort_unstable_by(|a, b| b.len.cmp(&a.len).then_with(|| cmp(head(a), head(b))));
    }

    /// How many groups.
    pub fn len(&self) -> usize {
        self.found.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.found.groups.is_empty()
    }

    /// Lay the groups out last first: the records of no group first, then those of the last
    /// group, ... the first group's at the end; the candidates and the groups' entries likewise.
    /// So `into_iter` takes the first group off the end of every table, and can give
    /// the memory of what it has handed out back while the planner fills the plan. Permuted in
    /// place (4 bytes a record, then 4 a candidate, meanwhile), not copied.
    fn store_last_first(&mut self) {
        let Candidates { cands, groups, .. } = &mut self.found;
        // (Every candidate is in a group: `Groups::new` keeps no other.)
        let grouped: usize = groups
            .iter()
            .flat_map(|g| g.cands.clone())
            .map(|i| cands[i as usize].count() as usize)
            .sum();
        debug_assert_eq!(
            groups.iter().map(|g| g.cands.len()).sum::<usize>(),
            cands.len(),
            "a candidate in no group"
        );
        // Where each record goes (one table of moves at a time: the records', then the
        // candidates').
        let mut rec_to = vec![u32::MAX; self.recs.len()];
        let mut next_rec = self.recs.len() - grouped;
        for g in groups.iter().rev() {
            for i in g.cands.clone() {
                let c = &mut cands[i as usize];
                for r in c.recs() {
                    rec_to[r] = next_rec as u32;
                    next_rec += 1;
                }
                c.start = rec_to[c.start as usize];
            }
        }
        // Records of no candidate (dropped ones) go first, in their order.
        for (orphan, to) in rec_to.iter_mut().filter(|t| **t == u32::MAX).enumerate() {
            *to = orphan as u32;
        }
        permute(&mut self.recs, rec_to);
        // Where each candidate goes.
        let mut cand_to = vec![u32::MAX; cands.len()];
        let mut next_cand = 0u32;
        for g in groups.iter_mut().rev() {
            let start = next_cand;
            for i in g.cands.clone() {
                cand_to[i as usize] = next_cand;
                next_cand += 1;
            }
            g.cands = start..next_cand;
        }
        permute(cands, cand_to);
        groups.reverse();
    }

    /// The entry of group `i` (in order: the table holds them last first).
    fn head(&self, i: usize) -> &Group {
        let groups = &self.found.groups;
        &groups[groups.len() - 1 - i]
    }

    /// The group an entry stands for, with its inodes and their paths.
    fn build(&self, g: &Group) -> DupGroup {
        let cands = &self.found.cands[g.cands.start as usize..g.cands.end as usize];
        let inodes = cands
            .iter()
            .map(|c| {
                let recs = &self.recs[c.recs()];
                let first = &recs[0];
                let ident = ident(first, &self.places[first.place as usize], &self.odd);
                Inode {
                    ident,
                    nlink: Files::nlink(first),
                    attrs: Files::attrs(first),
                    xattrs: self.found.sums.get(c, ident.id).unwrap_or_default(),
                    paths: recs.iter().map(|r| loc(r, &self.places)).collect(),
                }
            })
            .collect();
        DupGroup {
            len: FileLen(g.len),
            hash: g.hash,
            inodes,
        }
    }

    /// Group `i`, with its inodes and their paths.
    pub fn get(&self, i: usize) -> DupGroup {
        self.build(self.head(i))
    }

    /// The length and the number of inodes of every group, in order (nothing is built).
    pub fn sizes(&self) -> impl Iterator<Item = (FileLen, usize)> + '_ {
        self.found
            .groups
            .iter()
            .rev()
            .map(|g| (FileLen(g.len), g.cands.len()))
    }

    /// Every group in order (each built when it is reached).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = DupGroup> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// One link less for inode `id` (a temp name of it about to be removed).
    pub fn discount_link(&mut self, id: FileId) {
        let places = &self.places;
        for r in &mut self.recs {
            if r.ino == id.ino && places[r.place as usize].dev == id.dev {
                let n = r.nlink_attrs & NLINK_MAX;
                r.nlink_attrs = (r.nlink_attrs & !NLINK_MAX) | n.saturating_sub(1);
            }
        }
    }
}

/// Every group in order, each built when it is reached and its records, candidates and entry
/// then dropped: the memory of the groups handed out goes back (a table is shrunk once it is
/// less than half full) while the caller builds from them.
impl IntoIterator for Groups {
    type Item = DupGroup;
    type IntoIter = HandOut;

    fn into_iter(self) -> HandOut {
        HandOut(self)
    }
}

/// The groups handed out one at a time by [`Groups`]'s `into_iter`.
#[derive(Debug)]
pub struct HandOut(Groups);

impl Iterator for HandOut {
    type Item = DupGroup;

    fn next(&mut self) -> Option<DupGroup> {
        let rest = &mut self.0;
        let g = rest.found.groups.pop()?;
        let group = rest.build(&g);
        let first_rec = rest.found.cands[g.cands.start as usize].start as usize;
        rest.found.cands.truncate(g.cands.start as usize);
        rest.recs.truncate(first_rec);
        shrink_when_half_empty(&mut rest.found.cands);
        shrink_when_half_empty(&mut rest.recs);
        shrink_when_half_empty(&mut rest.found.groups);
        Some(group)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.len(), Some(self.0.len()))
    }
}

impl ExactSizeIterator for HandOut {}

/// Move `items[i]` to `to[i]` for every `i`, in place (`to` is a permutation).
fn permute<T>(items: &mut [T], mut to: Vec<u32>) {
    for i in 0..items.len() {
        while to[i] as usize != i {
            let j = to[i] as usize;
            items.swap(i, j);
            to.swap(i, j);
        }
    }
}

/// Give back a table's spare room once it is more than half of it.
fn shrink_when_half_empty<T>(v: &mut Vec<T>) {
    if v.len() < v.capacity() / 2 {
        v.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_48_bytes() {
        assert_eq!(std::mem::size_of::<Rec>(), 48);
    }

    /// Every time stamp comes back as it went in: nanoseconds for the common ones, the list
    /// for the rest (before 1678, after 2262, at the edges, nanoseconds out of range).
    #[test]
    fn times_pack_and_unpack_exactly() {
        let t = |sec, nsec| Timestamp { sec, nsec };
        let mut odd = Vec::new();
        let cases = [
            t(0, 0),
            t(1_700_000_000, 123_456_789),
            t(-1, 999_999_999),
            t(-9_000_000_000, 5),
            t(9_223_372_036, 854_775_807),
            t(9_223_372_036, 854_775_808),
            t(-9_223_372_036, 854_775_808),
            t(-9_223_372_033, 0),
            t(i64::MAX, 0),
            t(i64::MIN, 999_999_999),
            t(5, 1_000_000_000),
            t(5, u32::MAX),
        ];
        let packed: Vec<i64> = cases
            .iter()
            .map(|&c| pack_time(c, &mut odd).unwrap())
            .collect();
        for (c, p) in cases.iter().zip(&packed) {
            assert_eq!(unpack_time(*p, &odd), *c, "{p}");
        }
        assert_eq!(packed[1], 1_700_000_000_123_456_789);
        assert_eq!(
            odd.len(),
            7,
            "only the ones out of range go to the list: {odd:?}"
        );
    }

    #[test]
    fn sums_intern_and_give_back_digests() {
        let mut s = Sums::default();
        let none = XattrSum::default();
        let a = XattrSum {
            digest: 1,
            user: 0,
            capability: false,
        };
        let b = XattrSum {
            digest: 0,
            user: 7,
            capability: true,
        };
        let id = |ino| FileId { dev: 1, ino };
        let with = |xattr| {
            let mut c = Cand::new(0, 3).unwrap();
            c.set_xattr(xattr);
            assert_eq!(c.count(), 3, "the count stays");
            c
        };
        assert_eq!(s.intern(id(1), none), XattrSlot::NONE);
        let ib = s.intern(id(3), b);
        let ia = s.intern(id(2), a);
        assert_eq!(s.intern(id(5), b), ib);
        s.seal();
        assert_eq!(s.distinct.len(), 2, "a digest is kept once");
        let special = [XattrSlot::UNKNOWN, XattrSlot::NONE];
        assert!(!special.contains(&ia) && !special.contains(&ib));
        for (xattr, ino, want) in [
            (XattrSlot::UNKNOWN, 2, None),
            (XattrSlot::NONE, 1, Some(none)),
            (ia, 2, Some(a)),
            (ib, 3, Some(b)),
            (ib, 5, Some(b)),
            (ia, 4, None),
        ] {
            assert_eq!(s.get(&with(xattr), id(ino)), want, "xattr {xattr:?} {ino}");
        }
        assert!(Cand::new(0, MAX_PATHS).is_some() && Cand::new(0, MAX_PATHS + 1).is_none());
        let mut c = Cand::new(5, MAX_PATHS).unwrap();
        c.set_xattr(XattrSlot::LISTED);
        assert_eq!(
            (c.start, c.count(), c.xattr()),
            (5, MAX_PATHS, XattrSlot::LISTED)
        );
    }

    /// `retain` keeps the order of what stays, moves later groups down onto the freed slots,
    /// and drops a group left with one candidate.
    #[test]
    fn retain_compacts_in_place_and_drops_groups_of_one() {
        let cand = |start: u32| {
            let mut c = Cand::new(start, 1).unwrap();
            c.set_xattr(XattrSlot::NONE);
            c
        };
        let mut c = Candidates::default();
        c.push_group(10, 1, [cand(0), cand(1), cand(2)]);
        c.push_group(20, 2, [cand(3), cand(4)]);
        c.push_group(30, 3, [cand(5), cand(6), cand(7)]);
        c.retain(|c| ![1, 4, 6].contains(&c.start));
        let got: Vec<(u64, u128, Vec<u32>)> = c
            .groups
            .iter()
            .map(|g| {
                let cands = &c.cands[g.cands.start as usize..g.cands.end as usize];
                (g.len, g.hash, cands.iter().map(|c| c.start).collect())
            })
            .collect();
        assert_eq!(got, [(10, 1, vec![0, 2]), (30, 3, vec![5, 7])]);
        assert_eq!(c.cands.len(), 4, "no candidate left behind the last group");
        c.retain(|_| false);
        assert!(c.groups.is_empty() && c.cands.is_empty());
    }
}
