//! Splits size groups by content: a partial hash (head and tail) and then a full xxh3-128 hash,
//! each computed in parallel on rayon. Files of at most [`SMALL`] are read whole at the first
//! step, which is then final for them. Every file is opened relative to its directory's fd
//! without following symlinks, never opened at all unless it is a regular file (in a directory
//! that someone untrusted can write, it is first opened `O_PATH` and checked; in one only the
//! invoking user and root can write, nobody untrusted can have swapped it, and it is opened
//! directly), and checked against the walk (same inode, still of the same length). The first step also reads each
//! file's extended attributes through the fd it already has open.
//!
//! Work is handed out by directory (one directory fd serves up to `PIECE` files, or a few MiB
//! of reading), and the results land in slots in job order, so which thread hashed what never
//! shows in the result.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use xxhash_rust::xxh3::{Xxh3Default, xxh3_128};

use super::cache::{HashCache, Kind};
use super::group::{Cand, Candidates, Group, XattrSlot};
use super::xattr;
use crate::error::{Error, Moved};
use crate::listener::{Listener, Stage};
use crate::model::packed::Files;
use crate::model::{Tree, XattrSum};
use crate::sys;

const BLOCK: u64 = 4096;
/// Files up to this size are hashed whole in the partial step.
///
/// Reading up to 64 KiB whole at once is cheaper than opening such a file a second time for
/// the full hash: measured on `small` (39k candidates of 8-64 KiB), the scan took 1.38 s
/// instead of 1.54 s with a limit of 8 KiB.
pub const SMALL: u64 = 16 * BLOCK;
const BUF: usize = 256 * 1024;
/// Most files hashed through one directory fd by one task.
const PIECE: usize = 64;
/// Bytes to read after which a piece takes no more files.
const PIECE_BYTES: u64 = 4 << 20;

#[derive(Clone, Copy)]
enum Part {
    /// The first and the last block.
    HeadTail,
    Whole,
}

thread_local! {
    /// Grown to the largest read this thread has needed (at most [`BUF`]): with many I/O
    /// threads, a tree of small files keeps small buffers.
    static BUFFER: RefCell<sys::AlignedBuf> = RefCell::new(sys::AlignedBuf::default());
}

/// What the hashing stages share.
pub struct Ctx<'a> {
    pub tree: &'a Tree,
    pub files: &'a Files,
    pub listener: &'a dyn Listener,
    pub errors: &'a AtomicU64,
    pub cache: Option<&'a HashCache>,
}

/// The outcome of one file: 17 bytes, one per candidate of a hashing step (millions at once).
/// Its extended attributes, when it has any that matter (rare), go to a list beside.
#[derive(Clone, Copy, Default)]
struct Slot {
    hash: [u8; 16],
    flags: u8,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 17);

impl Slot {
    const OK: u8 = 1;
    /// Its extended attributes were read (a digest other than none's is in the list beside).
    const XATTRS_READ: u8 = 2;

    fn ok(&self) -> bool {
        self.flags & Slot::OK != 0
    }

    fn hashed(h: u128, xattrs_read: bool) -> Slot {
        Slot {
            hash: h.to_le_bytes(),
            flags: Slot::OK | if xattrs_read { Slot::XATTRS_READ } else { 0 },
        }
    }

    fn hash(&self) -> u128 {
        u128::from_le_bytes(self.hash)
    }
}

/// One file's outcome and, when they were read and are not none, its extended attributes.
type Hashed = (Slot, Option<XattrSum>);

/// Jobs of one directory (candidate indexes) and the slots their results go to.
type Piece<'a> = (&'a [u32], &'a mut [Slot]);

/// The extended attributes read at a hashing step that are not none: (candidate, digest).
type Found = Vec<(u32, XattrSum)>;

/// Split groups by a cheap hash: whole content for small files, head and tail for larger ones.
/// Reads the extended attributes of every file it opens.
pub fn by_partial(ctx: &Ctx<'_>, c: Candidates) -> Candidates {
    split(ctx, c, Stage::PartialHash, true, |len| {
        Some(if len <= SMALL {
            Part::Whole
        } else {
            Part::HeadTail
        })
    })
}

/// Split groups by a full xxh3-128 hash of the content (files already hashed whole are kept).
pub fn by_full(ctx: &Ctx<'_>, c: Candidates) -> Candidates {
    split(ctx, c, Stage::FullHash, false, |len| {
        (len > SMALL).then_some(Part::Whole)
    })
}

/// Most jobs of one batch, unless a step has more than 32 of these (see [`split`]).
const BATCH: usize = 1 << 17;

/// One hashing step: hash the candidates of every group that `part` selects (on the pool, a
/// directory's worth at a time), record the attributes read on the way, then regroup by hash.
///
/// The jobs are handed out in batches of whole directories, about 32 at most (a batch is closed
/// before the directory that would take it past its size, so two batches in a row hold more
/// than one batch's worth: never more than 65). Each batch's job list (ordered by directory)
/// and results are made, used and dropped in turn, and each result goes to its candidate's
/// slot. So the step holds one slot per candidate and one batch's lists, not a job list as
/// long as the candidates.
fn split(
    ctx: &Ctx<'_>,
    c: Candidates,
    stage: Stage,
    read_xattrs: bool,
    part: impl Fn(u64) -> Option<Part> + Sync,
) -> Candidates {
    let Candidates {
        mut cands,
        groups,
        mut sums,
    } = c;
    let files = ctx.files;
    let dir_of = |c: &Cand| files.recs[c.start as usize].dir.0 as usize;
    let hashed = |g: &&Group| part(g.len).is_some();
    // The candidates hashed at this step (in candidate order, so their records are read in
    // order), and how many of them each directory has.
    let todo = || groups.iter().filter(hashed).flat_map(|g| g.cands.clone());
    let mut per_dir = vec![0u32; ctx.tree.dirs.len()];
    let mut total = 0usize;
    for i in todo() {
        per_dir[dir_of(&cands[i as usize])] += 1;
        total += 1;
    }
    if total == 0 {
        return Candidates {
            cands,
            groups,
            sums,
        };
    }
    if let Some(p) = ctx.listener.progress() {
        let bytes = |g: &Group| g.cands.len() as u64 * to_read(part(g.len), g.len);
        p.start(stage, groups.iter().filter(hashed).map(bytes).sum());
    }
    let batch = BATCH.max(total.div_ceil(32));
    let mut slots = vec![Slot::default(); cands.len()];
    let mut found = Found::new();
    let mut next_dir = 0;
    while next_dir < per_dir.len() {
        // The next run of directories with about `batch` jobs (one directory is never split).
        let first = next_dir;
        let mut n = 0usize;
        while next_dir < per_dir.len() && (n == 0 || n + per_dir[next_dir] as usize <= batch) {
            n += per_dir[next_dir] as usize;
            next_dir += 1;
        }
        if n == 0 {
            continue;
        }
        let dirs = first..next_dir;
        let mut jobs: Vec<u32> = Vec::with_capacity(n);
        jobs.extend(todo().filter(|&i| dirs.contains(&dir_of(&cands[i as usize]))));
        jobs.sort_unstable_by_key(|&i| (dir_of(&cands[i as usize]), i));
        let (results, more) = hash_jobs(ctx, &cands, &jobs, read_xattrs, &part);
        found.extend(more);
        for (&i, slot) in jobs.iter().zip(results) {
            if slot.flags & Slot::XATTRS_READ != 0 {
                cands[i as usize].set_xattr(XattrSlot::NONE);
            }
            slots[i as usize] = slot;
        }
    }
    drop(per_dir);
    // In candidate order, so that the digests' table does not depend on the threads.
    found.sort_unstable_by_key(|&(i, _)| i);
    for (i, sum) in found {
        let c = &mut cands[i as usize];
        c.set_xattr(sums.intern(files.id(&files.recs[c.start as usize]), sum));
    }
    let c = Candidates {
        cands,
        groups,
        sums,
    };
    regroup(c, |len| part(len).is_some(), slots)
}

/// Bytes a step reads of a file of `len`: head and tail, or all of it.
fn to_read(part: Option<Part>, len: u64) -> u64 {
    match part {
        Some(Part::HeadTail) => 2 * BLOCK,
        _ => len,
    }
}

/// A candidate's hash from its slot, if it was hashed.
fn hash_of(s: &Slot) -> Option<u128> {
    s.ok().then(|| s.hash())
}

/// Hash `jobs` (candidate indexes, ordered by directory) on the pool, in pieces of one
/// directory (one directory fd serves a piece); one result slot per job, in job order.
fn hash_jobs(
    ctx: &Ctx<'_>,
    cands: &[Cand],
    jobs: &[u32],
    read_xattrs: bool,
    part: &(impl Fn(u64) -> Option<Part> + Sync),
) -> (Vec<Slot>, Found) {
    let files = ctx.files;
    let dir_of = |i: u32| files.recs[cands[i as usize].start as usize].dir;
    let len_of = |i: u32| files.recs[cands[i as usize].start as usize].len;
    let to_read = |len: u64| to_read(part(len), len);
    let progress = ctx.listener.progress();
    // Pieces: runs of jobs in one directory, at most PIECE long, each with its slots.
    let mut slots = vec![Slot::default(); jobs.len()];
    let mut pieces: Vec<Piece<'_>> = Vec::new();
    let (mut rest_jobs, mut rest_slots) = (jobs, &mut slots[..]);
    while !rest_jobs.is_empty() {
        let dir = dir_of(rest_jobs[0]);
        // A piece ends at PIECE files, at the directory's end, or once it has PIECE_BYTES to
        // read: large files go one or a few to a piece, so no thread is left with a long tail.
        let mut bytes = 0u64;
        let n = rest_jobs
            .iter()
            .take(PIECE)
            .take_while(|&&i| {
                let more = dir_of(i) == dir && bytes < PIECE_BYTES;
                bytes += to_read(len_of(i));
                more
            })
            .count();
        let (j, rj) = rest_jobs.split_at(n);
        let (s, rs) = std::mem::take(&mut rest_slots).split_at_mut(n);
        pieces.push((j, s));
        (rest_jobs, rest_slots) = (rj, rs);
    }
    let found = pieces
        .into_par_iter()
        .map(|(jobs, slots)| {
            let mut found = Found::new();
            let mut dir = DirFd::new(ctx.tree, dir_of(jobs[0]));
            for (&i, slot) in jobs.iter().zip(slots.iter_mut()) {
                let c = cands[i as usize];
                let len = len_of(i);
                let p = part(len).unwrap_or(Part::Whole);
                let want_xattrs = read_xattrs && c.xattr().is_unknown();
                let sum;
                (*slot, sum) = hash_one(ctx, &mut dir, c, p, want_xattrs);
                if let Some(sum) = sum {
                    found.push((i, sum));
                }
                if let Some(pr) = progress {
                    pr.add(to_read(len));
                }
            }
            found
        })
        .reduce(Found::new, |mut a, b| {
            a.extend(b);
            a
        });
    (slots, found)
}

/// The groups again, each split by the hash of its candidates where `hashed(len)` (candidates
/// with no hash, unreadable or changed, drop out), in candidate order inside each hash. `slots`
/// holds each candidate's hash at its index. Done in place, last group first: each group's
/// candidates and their slots are sorted by hash where they are, and the runs of two or more
/// moved up to the top of the table, above what is still to be done (a group's range never
/// starts before the ones before it end); the slots of each run are given back as its group's
/// entry is made, so the two tables are never both whole.
fn regroup(mut c: Candidates, hashed: impl Fn(u64) -> bool, mut slots: Vec<Slot>) -> Candidates {
    let groups = std::mem::take(&mut c.groups);
    // Every group has two candidates or more: this is room enough, and is given back below.
    let mut out = Vec::with_capacity(c.cands.len() / 2);
    let mut top = c.cands.len();
    // Move candidates `from` up to just below `top` as a group, if they are two or more.
    let mut keep = |cands: &mut Vec<Cand>, top: &mut usize, from: Range<usize>, len, hash| {
        let n = from.len();
        if n >= 2 {
            debug_assert!(from.end <= *top, "a group moved over one still to be done");
            cands.copy_within(from, *top - n);
            *top -= n;
            out.push(Group {
                len,
                hash,
                cands: *top as u32..(*top + n) as u32,
            });
        }
    };
    // Give back the slots from `at` on (in steps of a sixteenth, each in place: a large table
    // is a mapping of its own).
    let release = |slots: &mut Vec<Slot>, at: usize| {
        slots.truncate(at);
        if slots.capacity() - slots.len() > slots.capacity() / 16 {
            slots.shrink_to_fit();
        }
    };
    // The sort's table of positions, reused from group to group (most groups are small).
    let mut order = Vec::new();
    for g in groups.iter().rev() {
        let (a, b) = (g.cands.start as usize, g.cands.end as usize);
        if !hashed(g.len) {
            keep(&mut c.cands, &mut top, a..b, g.len, g.hash);
            release(&mut slots, a);
            continue;
        }
        // Hashed ones first, by hash, then by first record (candidate order); failed ones
        // last, and dropped.
        sort_by_hash(&mut c.cands[a..b], &mut slots[a..b], &mut order);
        let mut end = a + slots[a..b].partition_point(|s| s.ok());
        release(&mut slots, end);
        // The runs of one hash, last first.
        while end > a {
            let h = slots[end - 1].hash();
            let start = a + slots[a..end].partition_point(|s| s.hash() < h);
            keep(&mut c.cands, &mut top, start..end, g.len, h);
            release(&mut slots, start);
            end = start;
        }
    }
    drop(slots);
    // The groups were made last first, at the top: bring them down, in order.
    c.cands.copy_within(top.., 0);
    c.cands.truncate(c.cands.len() - top);
    c.cands.shrink_to_fit();
    out.reverse();
    for g in &mut out {
        g.cands = g.cands.start - top as u32..g.cands.end - top as u32;
    }
    out.shrink_to_fit();
    c.groups = out;
    c
}

/// Sort a group's candidates and their slots alike: hashed ones first, by hash, then by first
/// record; failed ones last. A large group is first split in place by the top byte of the hash
/// (failed ones apart), so that the table of positions the sort goes through is as long as
/// one part (about 1/256 of the group), not as the group. `order` is room for that table.
fn sort_by_hash(cands: &mut [Cand], slots: &mut [Slot], order: &mut Vec<u32>) {
    const SPLIT_FROM: usize = 1 << 12;
    if cands.len() < SPLIT_FROM {
        return sort_part(cands, slots, order);
    }
    let bucket = |s: &Slot| if s.ok() { usize::from(s.hash[15]) } else { 256 };
    // start[b]..start[b + 1]: where part b goes.
    let mut start = [0usize; 258];
    for s in slots.iter() {
        start[bucket(s) + 1] += 1;
    }
    for b in 1..start.len() {
        start[b] += start[b - 1];
    }
    // Each item swapped into its part's next free place (American flag sort).
    let mut next = start;
    for b in 0..257 {
        while next[b] < start[b + 1] {
            let i = next[b];
            let to = bucket(&slots[i]);
            if to == b {
                next[b] += 1;
            } else {
                slots.swap(i, next[to]);
                cands.swap(i, next[to]);
                next[to] += 1;
            }
        }
    }
    for b in 0..257 {
        let part = start[b]..start[b + 1];
        sort_part(&mut cands[part.clone()], &mut slots[part], order);
    }
}

/// [`sort_by_hash`] through a table of positions (made in `order`).
fn sort_part(cands: &mut [Cand], slots: &mut [Slot], order: &mut Vec<u32>) {
    order.clear();
    order.extend(0..cands.len() as u32);
    order.sort_unstable_by_key(|&k| {
        let h = hash_of(&slots[k as usize]);
        (h.map_or((1, 0), |h| (0, h)), cands[k as usize].start)
    });
    gather(cands, slots, order);
}

/// Reorder `a` and `b` alike, in place: position `j` takes what was at `order[j]` (a
/// permutation, left as the identity).
fn gather<A, B>(a: &mut [A], b: &mut [B], order: &mut [u32]) {
    for start in 0..order.len() {
        let mut j = start;
        // Follow the cycle through `start`, placing one item per step.
        while order[j] as usize != start {
            let from = order[j] as usize;
            a.swap(j, from);
            b.swap(j, from);
            order[j] = j as u32;
            j = from;
        }
        order[j] = j as u32;
    }
}

/// A directory's fd for opening its files by name, opened when the first of them must be read
/// (a piece whose hashes all come from the cache opens nothing), and whether only trusted
/// parties can change its names (see [`only_trusted_write`]).
pub(super) struct DirFd<'a> {
    tree: &'a Tree,
    idx: crate::model::DirIdx,
    fd: Option<Option<(OwnedFd, bool)>>,
}

impl<'a> DirFd<'a> {
    pub(super) fn new(tree: &'a Tree, idx: crate::model::DirIdx) -> Self {
        DirFd {
            tree,
            idx,
            fd: None,
        }
    }

    /// The fd, if the directory is still the one the walk saw (else files are opened by path,
    /// and their own checks say what changed).
    pub(super) fn get(&mut self) -> Option<&OwnedFd> {
        self.get_with_trust().map(|(fd, _)| fd)
    }

    /// [`DirFd::get`], and whether only the invoking user and root can write the directory.
    fn get_with_trust(&mut self) -> Option<(&OwnedFd, bool)> {
        let (tree, idx) = (self.tree, self.idx);
        self.fd
            .get_or_insert_with(|| {
                let dir = tree.dir(idx);
                let fd = sys::open_root_dir(&dir.path).ok()?;
                let st = sys::stat_fd(fd.as_fd()).ok()?;
                if !st.is_dir() || st.ident.id != dir.id {
                    return None;
                }
                let trusted = only_trusted_write(fd.as_fd(), &st);
                Some((fd, trusted))
            })
            .as_ref()
            .map(|(fd, trusted)| (fd, *trusted))
    }
}

/// Can no one but the invoking user and root add, remove or rename a name in this directory
/// (`st`, open as `fd`)? It is owned by one of them, not writable by its group or others (with
/// POSIX ACLs the group bits are the mask, so no named user or group can write either), and it
/// has no other access-control attribute (`system.*`: NFSv4 ACLs, which the mode may not show;
/// one that can't be read counts as one). In such a directory the file the walk saw can only
/// have been replaced by someone linkdup trusts anyway, so it is opened directly.
fn only_trusted_write(fd: BorrowedFd<'_>, st: &sys::Stat) -> bool {
    let owner = st.ident.uid;
    (owner == 0 || owner == sys::euid())
        && st.ident.mode & 0o022 == 0
        && sys::xattrs_of_path_fd(fd)
            .is_ok_and(|x| x.iter().all(|(name, _)| !name.starts_with(b"system.")))
}

/// Hash one candidate (from the cache when it has it); report a problem and return a slot that
/// is not `ok`.
fn hash_one(ctx: &Ctx<'_>, dir: &mut DirFd<'_>, c: Cand, part: Part, xattrs: bool) -> Hashed {
    let files = ctx.files;
    let rec = &files.recs[c.start as usize];
    let ident = files.ident(rec);
    let kind = match part {
        Part::HeadTail => Kind::Partial,
        Part::Whole => Kind::Full,
    };
    if let Some(h) = ctx.cache.and_then(|cache| cache.get(&ident, kind)) {
        return (Slot::hashed(h, false), None);
    }
    let path = || files.path(ctx.tree, rec);
    let opened = match dir.get_with_trust() {
        // A symlink there now, or a lease being broken, takes the careful way, which says
        // what it is.
        Some((d, true)) => sys::open_regular_direct_at(d.as_fd(), files.c_name(rec)).or_else(|e| {
            match sys::Errno::from_io_error(&e) {
                Some(sys::Errno::LOOP | sys::Errno::AGAIN) => {
                    sys::open_regular_at(d.as_fd(), files.c_name(rec))
                }
                _ => Err(e),
            }
        }),
        Some((d, false)) => sys::open_regular_at(d.as_fd(), files.c_name(rec)),
        None => sys::open_regular(&path()),
    };
    let result = match opened {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::Changed {
            path: path(),
            what: Moved::Deleted,
        }),
        Err(e) => Err(Error::io(path(), e)),
        Ok((Some(file), st)) if st.ident.id == ident.id && st.ident.len == ident.len => {
            hash_file(&file, ident.len.0, part, &path).and_then(|h| {
                let sum = if xattrs {
                    Some(
                        sys::fxattrs(file.as_fd())
                            .map(|l| xattr::summarize(&l))
                            .map_err(|e| Error::io(path(), e))?,
                    )
                } else {
                    None
                };
                Ok((h, sum))
            })
        }
        Ok(_) => Err(Error::Changed {
            path: path(),
            what: Moved::Rewritten,
        }),
    };
    match result {
        Ok((h, sum)) => {
            if let Some(cache) = ctx.cache {
                cache.put(&ident, kind, h);
            }
            let read = sum.is_some();
            (
                Slot::hashed(h, read),
                sum.filter(|s| *s != XattrSum::default()),
            )
        }
        // A file replaced or rewritten while we scan (another program, another linkdup) is
        // simply not a candidate: a warning, not a failure.
        Err(e @ Error::Changed { .. }) => {
            ctx.listener.warn(&e);
            (Slot::default(), None)
        }
        Err(e) => {
            ctx.listener.error(&e);
            ctx.errors.fetch_add(1, Ordering::Relaxed);
            (Slot::default(), None)
        }
    }
}

fn hash_file(
    file: &File,
    len: u64,
    part: Part,
    path: &dyn Fn() -> std::path::PathBuf,
) -> Result<u128, Error> {
    let hashed = BUFFER.with_borrow_mut(|buf| {
        let need = match part {
            Part::HeadTail => 2 * BLOCK as usize,
            Part::Whole if len <= SMALL => len as usize + 1,
            Part::Whole => usize::try_from(len.next_multiple_of(BLOCK))
                .unwrap_or(BUF)
                .min(BUF),
        };
        let buf = buf.get(need);
        match part {
            Part::HeadTail => head_tail(file, len, buf),
            Part::Whole if len <= SMALL => whole(file, len, buf),
            Part::Whole => whole_blocks(file, len, buf),
        }
    });
    match hashed {
        Ok(Some(h)) => Ok(h),
        Ok(None) => Err(Error::Changed {
            path: path(),
            what: Moved::Rewritten,
        }),
        Err(e) => Err(Error::io(path(), e)),
    }
}

/// The hash of the first and last block; `None` when the file is no longer `len` long.
fn head_tail(file: &File, len: u64, buf: &mut [u8]) -> io::Result<Option<u128>> {
    let n = BLOCK as usize;
    let read = file
        .read_exact_at(&mut buf[..n], 0)
        .and_then(|()| file.read_exact_at(&mut buf[n..2 * n], len - BLOCK));
    match read {
        Ok(()) => Ok(Some(xxh3_128(&buf[..2 * n]))),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// The full hash of a file larger than [`SMALL`], in a form that holes cost nothing in: the
/// bytes of its non-zero blocks, in order, hashed apart from where its runs of all-zero blocks
/// are. Equal contents give equal hashes however they are allocated (a hole and a block of
/// zeros read alike), and holes are never read (`SEEK_DATA`), so a file of a terabyte of holes
/// is as quick as its data. `None` when the file is no longer `len` long.
fn whole_blocks(file: &File, len: u64, buf: &mut [u8]) -> io::Result<Option<u128>> {
    let buf_len = (buf.len() as u64 / BLOCK * BLOCK).max(BLOCK) as usize;
    let buf = &mut buf[..buf_len];
    let blocks = len.div_ceil(BLOCK);
    let mut z = Zeros::default();
    let mut data = Xxh3Default::new();
    let mut next = 0u64; // blocks before this one are done
    while let Some((start, end)) = sys::next_data(file, next * BLOCK, len)? {
        let first = (start / BLOCK).max(next);
        z.zero_blocks(next, first);
        let last = end.div_ceil(BLOCK).min(blocks);
        let mut b = first;
        while b < last {
            let n = (buf.len() as u64 / BLOCK).min(last - b);
            let off = b * BLOCK;
            let bytes = ((b + n) * BLOCK).min(len) - off;
            let chunk = &mut buf[..bytes as usize];
            match file.read_exact_at(chunk, off) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
            // Runs of non-zero blocks go to `data` whole; zero blocks only mark their place.
            let mut run: Option<usize> = None;
            for (k, block) in chunk.chunks(BLOCK as usize).enumerate() {
                let at = k * BLOCK as usize;
                if is_zero(block) {
                    if let Some(s) = run.take() {
                        data.update(&chunk[s..at]);
                    }
                    z.zero_blocks(b + k as u64, b + k as u64 + 1);
                } else {
                    z.data_block();
                    run.get_or_insert(at);
                }
            }
            if let Some(s) = run {
                data.update(&chunk[s..]);
            }
            b += n;
        }
        next = last.max(next + 1);
        if next >= blocks {
            break;
        }
    }
    z.zero_blocks(next.min(blocks), blocks);
    z.data_block();
    // Nothing past the end: the file did not grow since it was measured.
    let mut one = [0u8; 1];
    if file.read_at(&mut one, len)? != 0 {
        return Ok(None);
    }
    let mut out = Xxh3Default::new();
    out.update(&data.digest128().to_le_bytes());
    out.update(&z.hash.digest128().to_le_bytes());
    out.update(&len.to_le_bytes());
    Ok(Some(out.digest128()))
}

/// Where the runs of all-zero blocks of a file are: each maximal run, as (first block, count).
#[derive(Default)]
struct Zeros {
    hash: Xxh3Default,
    run: Option<(u64, u64)>,
}

impl Zeros {
    /// Blocks `from..to` are zero.
    fn zero_blocks(&mut self, from: u64, to: u64) {
        if from >= to {
            return;
        }
        match &mut self.run {
            Some((s, n)) if *s + *n == from => *n += to - from,
            _ => {
                self.data_block();
                self.run = Some((from, to - from));
            }
        }
    }

    /// A non-zero block (or the end) closes the current run.
    fn data_block(&mut self) {
        if let Some((s, n)) = self.run.take() {
            self.hash.update(&s.to_le_bytes());
            self.hash.update(&n.to_le_bytes());
        }
    }
}

fn is_zero(block: &[u8]) -> bool {
    block
        .chunks(64)
        .all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0)
}

/// The hash of the whole content; `None` when the file is no longer `len` long. A file that
/// fits the buffer is read with one call when the read comes back short (end of file).
fn whole(mut file: &File, len: u64, buf: &mut [u8]) -> io::Result<Option<u128>> {
    if len < buf.len() as u64 {
        // One read of len + 1 bytes: exactly len back means the whole file, and nothing more.
        let want = len as usize + 1;
        let mut total = 0usize;
        loop {
            let n = match file.read(&mut buf[total..want]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n;
            // A regular file's read comes back short only at its end: `len` bytes of the
            // `len + 1` asked for is the whole file (any change since is caught before a swap).
            if n == 0 || total >= len as usize {
                break;
            }
        }
        return Ok((total as u64 == len).then(|| xxh3_128(&buf[..total])));
    }
    let mut hasher = Xxh3Default::new();
    let mut total = 0u64;
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if total > len {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok((total == len).then(|| hasher.digest128()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `gather` puts at each position what the order names, for both tables alike.
    #[test]
    fn gather_reorders_two_tables_alike() {
        for n in [0usize, 1, 2, 7, 100] {
            // A scrambled order (a step coprime with n), cycles of every length.
            let order: Vec<u32> = (0..n).map(|j| ((j * 37 + 11) % n.max(1)) as u32).collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            if sorted != (0..n as u32).collect::<Vec<_>>() {
                continue;
            }
            let mut a: Vec<u32> = (0..n as u32).map(|x| x * 10).collect();
            let mut b: Vec<String> = (0..n).map(|x| format!("b{x}")).collect();
            gather(&mut a, &mut b, &mut order.clone());
            for (j, &from) in order.iter().enumerate() {
                assert_eq!(a[j], from * 10, "n {n} at {j}");
                assert_eq!(b[j], format!("b{from}"), "n {n} at {j}");
            }
        }
    }

    /// A group large enough to be split by the top byte first sorts as a small one does.
    #[test]
    fn large_groups_sort_as_small_ones() {
        let n = 20_000u32;
        // Hashes spread over the top byte and repeated (pairs), some failed.
        let hash = |r: u32| -> Option<u128> {
            (!r.is_multiple_of(97)).then(|| {
                let x = u128::from((r / 2).wrapping_mul(2_654_435_761));
                x << 96 | x
            })
        };
        let cands: Vec<Cand> = (0..n).rev().map(|r| Cand::new(r, 1).unwrap()).collect();
        let slot = |c: &Cand| hash(c.start).map_or(Slot::default(), |h| Slot::hashed(h, false));
        let slots: Vec<Slot> = cands.iter().map(slot).collect();
        let (mut big_c, mut big_s) = (cands.clone(), slots.clone());
        sort_by_hash(&mut big_c, &mut big_s, &mut Vec::new());
        let (mut small_c, mut small_s) = (cands, slots);
        sort_part(&mut small_c, &mut small_s, &mut Vec::new());
        let key = |c: &[Cand], s: &[Slot]| -> Vec<(u32, Option<u128>)> {
            c.iter()
                .zip(s)
                .map(|(c, s)| (c.start, hash_of(s)))
                .collect()
        };
        let big = key(&big_c, &big_s);
        assert_eq!(big, key(&small_c, &small_s));
        assert!(
            big.iter().all(|(r, h)| *h == hash(*r)),
            "slots moved with their candidates"
        );
        let hashed: Vec<_> = big.iter().filter(|(_, h)| h.is_some()).collect();
        assert!(
            hashed
                .windows(2)
                .all(|w| (w[0].1, w[0].0) < (w[1].1, w[1].0))
        );
        assert!(
            big[hashed.len()..].iter().all(|(_, h)| h.is_none()),
            "failed ones last"
        );
    }

    /// Groups split by hash, in hash order and candidate order inside; singles, failed ones
    /// and groups not hashed at this step handled as the doc says; candidates packed from 0.
    #[test]
    fn regroup_splits_by_hash_in_place() {
        let mut c = Candidates::default();
        // Group of length 10 (hashed): hashes 5, 3, 5, failed, 3, 7 at records 0..6.
        c.push_group(10, 0, (0..6).map(|r| Cand::new(r, 1).unwrap()));
        // Length 20, not hashed at this step: kept whole, with its hash.
        c.push_group(20, 99, (6..8).map(|r| Cand::new(r, 1).unwrap()));
        // Length 30 (hashed): all different, so gone.
        c.push_group(30, 0, (8..10).map(|r| Cand::new(r, 1).unwrap()));
        let h = |x: u128| Slot::hashed(x << 100 | x, false);
        let slots = vec![
            h(5),
            h(3),
            h(5),
            Slot::default(),
            h(3),
            h(7),
            Slot::default(),
            Slot::default(),
            h(1),
            h(2),
        ];
        let out = regroup(c, |len| len != 20, slots);
        let got: Vec<(u64, u128, Vec<u32>)> = out
            .groups
            .iter()
            .map(|g| {
                let members = &out.cands[g.cands.start as usize..g.cands.end as usize];
                (g.len, g.hash, members.iter().map(|c| c.start).collect())
            })
            .collect();
        let hash = |x: u128| x << 100 | x;
        assert_eq!(
            got,
            [
                (10, hash(3), vec![1, 4]),
                (10, hash(5), vec![0, 2]),
                (20, 99, vec![6, 7]),
            ]
        );
        assert_eq!(out.cands.len(), 6, "no candidate left outside a group");
        assert_eq!(out.groups[0].cands.start, 0, "packed from the start");
    }
}
