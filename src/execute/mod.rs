//! The executor: runs a [`Plan`] with the swap protocol of the safety model. For each action:
//! open both parent directories through verified directory fds, open keeper and duplicate without
//! following symlinks, check both against the plan and every gate against the files as they are
//! now, compare their bytes, record the swap in the undo journal, link the keeper through its fd
//! under a fresh temporary name beside the duplicate, exchange the two names atomically
//! ([`swap`]), check what was displaced, and remove the temporary name. At every instant the
//! duplicate's path names a file with its original content. Nothing is printed while a swap is
//! under way.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

mod closer;
pub(crate) mod leases;
mod share;
pub(crate) mod swap;

use crate::config::RunOptions;
use crate::error::Error;
use crate::fsverify::{CompareBufs, DirFds, same_bytes};
use crate::gates::{self, Facts};
use crate::journal::{Journal, Record};
use crate::listener::{Progress, Stage};
use crate::model::{
    Change, Diff, DirIdx, FileId, GroupPlan, Identity, LinkAction, Loc, Member, Merge, MountInfo,
    Outcome, Plan, RunSkip, SkipReason, Timestamp, Tree, Xattrs,
};
use crate::sys::{self, Errno, Stat};
use closer::Closer;
use leases::{Busy, Leases};
use swap::{Exchange, Failure};

const TEMP_TRIES: usize = 16;

/// Run every action of `plan` in order; returns one outcome per action, in plan order.
///
/// `opts` are enforced on every pair as it is when its turn comes, whatever the plan says.
/// `stop` is checked between actions (never during a swap): once set, the remaining actions are
/// skipped.
pub fn execute(
    tree: &Tree,
    plan: &Plan,
    opts: &RunOptions,
    stop: &AtomicBool,
    progress: Option<&Progress>,
    journal: Option<&mut Journal>,
) -> Vec<Outcome> {
    Executor::new(tree, opts, journal).run(plan, stop, progress)
}

/// Every check of [`execute`] on every action of `plan` (the files as they are now, every
/// gate, leases, the byte compare), and nothing after: a dry run of a plan that may have gone
/// stale (`apply --dry-run`). An action that would be linked is [`Outcome::Planned`]; one that
/// would not, skipped with the reason. Nothing is changed.
pub fn check(
    tree: &Tree,
    plan: &Plan,
    opts: &RunOptions,
    progress: Option<&Progress>,
) -> Vec<Outcome> {
    let mut ex = Executor::new(tree, opts, None);
    ex.dry = true;
    ex.run(plan, &AtomicBool::new(false), progress)
}

enum Problem {
    /// Left alone on purpose (changed since the scan...). Nothing was modified.
    Skip(RunSkip),
    /// The keeper has too many links; carries the duplicate's current identity.
    LinkLimit(Identity),
    Fail(Error),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem::Fail(e)
    }
}

impl From<Failure> for Problem {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Skip(why) => Problem::Skip(why),
            Failure::Fail(e) => Problem::Fail(e),
        }
    }
}

/// One side of a swap, opened and checked.
struct Opened {
    dir: Rc<OwnedFd>,
    file: Rc<File>,
    st: Stat,
    /// Others may reach it (its directories, as verified now).
    public: bool,
}

struct Executor<'a> {
    opts: RunOptions,
    tree: &'a Tree,
    dirs: DirFds<'a>,
    /// ctimes that our own links and renames changed, so they don't read as "changed since scan".
    ctimes: HashMap<FileId, Timestamp>,
    /// Victim inodes of which some path was not replaced (their bytes are not freed).
    incomplete: HashSet<FileId>,
    bufs: CompareBufs,
    /// Leases can be used: the lease-break signal is handled (its default action kills).
    leases: bool,
    /// The current group's keeper, open.
    keeper: Option<(Loc, Rc<OwnedFd>, Rc<File>)>,
    /// Where each swap is recorded before it happens, for `linkdup undo` and recovery.
    journal: Option<&'a mut Journal>,
    closer: Closer,
    /// Absolute paths of directories, for the journal.
    abs: HashMap<DirIdx, PathBuf>,
    /// What each mount is, learnt from the live directory (by mount id).
    mounts: HashMap<u64, MountInfo>,
    /// Mounts whose filesystem has no `RENAME_EXCHANGE`.
    no_exchange: HashSet<u64>,
    /// Check each action and stop before the temp link ([`check`]).
    dry: bool,
}

/// What the gates look at of an opened file, as it is now.
fn facts<'a>(o: &'a Opened, xattrs: &[(Vec<u8>, Vec<u8>)]) -> Facts<'a> {
    Facts {
        ident: &o.st.ident,
        attrs: o.st.attrs,
        xattrs: gates::summarize(xattrs),
        public: o.public,
    }
}

/// Moved, replaced, deleted or swapped for a symlink since the scan: a skip, not a failure.
fn directory_gone(e: &Error) -> bool {
    match e {
        Error::Changed { .. } => true,
        Error::Step { err, .. } => matches!(
            Errno::from_io_error(err),
            Some(Errno::NOENT | Errno::NOTDIR | Errno::LOOP)
        ),
        _ => false,
    }
}

fn step(path: &Path, step: &'static str, err: io::Error) -> Error {
    Error::Step {
        path: path.to_path_buf(),
        step,
        err,
    }
}

fn full_disk(e: &io::Error) -> bool {
    matches!(Errno::from_io_error(e), Some(Errno::NOSPC | Errno::DQUOT))
}

impl<'a> Executor<'a> {
    fn new(tree: &'a Tree, opts: &RunOptions, journal: Option<&'a mut Journal>) -> Self {
        let leases = leases::enable();
        let dirs = DirFds::new(tree);
        let closer = Closer::new(dirs.capacity());
        Executor {
            opts: *opts,
            leases,
            tree,
            dirs,
            ctimes: HashMap::new(),
            incomplete: HashSet::new(),
            keeper: None,
            journal,
            bufs: CompareBufs::default(),
            closer,
            abs: HashMap::new(),
            mounts: HashMap::new(),
            no_exchange: HashSet::new(),
            dry: false,
        }
    }

    /// Every action of `plan` in order: one outcome per action.
    fn run(&mut self, plan: &Plan, stop: &AtomicBool, progress: Option<&Progress>) -> Vec<Outcome> {
        if let Some(p) = progress {
            p.start(Stage::Link, plan.action_count() as u64);
        }
        let mut out = Vec::with_capacity(plan.action_count());
        for group in &plan.groups {
            self.run_group(group, stop, progress, &mut out);
        }
        out
    }

    /// Run the actions of one group in order, appending one outcome per action to `out`.
    fn run_group(
        &mut self,
        group: &GroupPlan,
        stop: &AtomicBool,
        progress: Option<&Progress>,
        out: &mut Vec<Outcome>,
    ) {
        // The keeper of this group; replaced by a verified copy when the link limit is reached.
        let mut keeper_override: Option<Member> = None;
        for action in &group.actions {
            if stop.load(Ordering::Relaxed) {
                self.incomplete.insert(action.victim.expect.id);
                out.push(Outcome::Skipped(RunSkip::Interrupted));
                continue;
            }
            let keeper = group.keeper_of(action);
            let outcome = match group.method {
                Merge::HardLink => self.run_action(keeper, action, &mut keeper_override),
                Merge::Reflink => self.run_share(keeper, action),
            };
            if let Some(p) = progress {
                p.add(1);
            }
            if !matches!(outcome, Outcome::Linked { .. }) {
                self.incomplete.insert(action.victim.expect.id);
            }
            out.push(outcome);
        }
    }

    /// One action, with the group's keeper or the copy that took over from it.
    fn run_action(
        &mut self,
        keeper: &Member,
        action: &LinkAction,
        keeper_override: &mut Option<Member>,
    ) -> Outcome {
        let keeper = keeper_override.as_ref().unwrap_or(keeper);
        match self.swap(keeper, &action.victim) {
            Ok(()) if self.dry => Outcome::Planned,
            Ok(()) => {
                let freed = action.frees && !self.incomplete.contains(&action.victim.expect.id);
                Outcome::Linked {
                    freed,
                    keeper: keeper_override.as_ref().map(|m| m.loc),
                }
            }
            Err(Problem::LinkLimit(now)) => {
                // This copy is identical to the keeper (just compared): it keeps the rest.
                *keeper_override = Some(Member {
                    loc: action.victim.loc,
                    expect: now,
                    nlink: 1,
                });
                Outcome::Skipped(RunSkip::LinkLimit)
            }
            Err(Problem::Skip(why)) => Outcome::Skipped(why),
            Err(Problem::Fail(err)) => Outcome::Failed(err),
        }
    }

    fn expected_ctime(&self, expect: &Identity) -> Timestamp {
        self.ctimes.get(&expect.id).copied().unwrap_or(expect.ctime)
    }

    /// Does `st` still show the file the plan names?
    fn unchanged(&self, st: &Stat, expect: &Identity) -> bool {
        let now = &st.ident;
        st.is_file()
            && now.id == expect.id
            && now.len == expect.len
            && now.mtime == expect.mtime
            && now.ctime == self.expected_ctime(expect)
            && now.mode == expect.mode
            && now.uid == expect.uid
            && now.gid == expect.gid
    }

    fn open_member(&mut self, m: &Member, path: &Path) -> Result<Opened, Result<Change, Error>> {
        let dir = match self.dirs.open(m.loc.dir) {
            Ok(d) => d,
            Err(e) if directory_gone(&e) => return Err(Ok(Change::DirMoved)),
            Err(e) => return Err(Err(e)),
        };
        match sys::open_regular_at(dir.as_fd(), self.tree.name(&m.loc)) {
            Ok((Some(file), st)) => Ok(Opened {
                dir,
                file: Rc::new(file),
                st,
                public: self.dirs.is_public(m.loc.dir),
            }),
            Ok((None, st)) => Err(Ok(Change::NowA(sys::kind_name(st.kind)))),
            Err(e) if Errno::from_io_error(&e) == Some(Errno::NOENT) => Err(Ok(Change::Deleted)),
            Err(e) => Err(Err(step(path, "opening", e))),
        }
    }

    /// The keeper, opened once per group (and checked by `fstat` before every swap).
    fn open_keeper(&mut self, keeper: &Member, path: &Path) -> Result<Opened, Problem> {
        if let Some((loc, dir, file)) = &self.keeper
            && *loc == keeper.loc
        {
            let st = sys::stat_fd(file.as_fd()).map_err(|e| Error::io(path, e))?;
            return Ok(Opened {
                dir: dir.clone(),
                file: file.clone(),
                st,
                public: self.dirs.is_public(loc.dir),
            });
        }
        self.keeper = None;
        let k = self.open_member(keeper, path).map_err(|r| match r {
            Ok(change) => Problem::Skip(RunSkip::Keeper {
                keeper: path.to_path_buf(),
                change,
            }),
            Err(e) => Problem::Fail(e),
        })?;
        self.keeper = Some((keeper.loc, k.dir.clone(), k.file.clone()));
        Ok(k)
    }

    /// What the mount of a directory is, from the directory itself (a plan read back from a
    /// file says nothing trustworthy about it).
    fn mount(&mut self, dir: BorrowedFd<'_>, mnt: u64, path: &Path) -> Result<MountInfo, Error> {
        if let Some(m) = self.mounts.get(&mnt) {
            return Ok(*m);
        }
        let facts = sys::fs_facts_fd(dir).map_err(|e| step(path, "checking its filesystem", e))?;
        let m = MountInfo {
            readonly: facts.readonly,
            no_hard_links: sys::no_hard_links_fs_name(facts.magic),
            link_max: sys::link_max(facts.magic),
            reflink: sys::shares_extents(dir, facts.magic),
        };
        self.mounts.insert(mnt, m);
        Ok(m)
    }

    /// Every gate, on the two files as they are now. Returns the duplicate's extended
    /// attributes (for the journal).
    fn check_gates(
        &mut self,
        k: &Opened,
        v: &Opened,
        kpath: &Path,
        vpath: &Path,
    ) -> Result<Xattrs, Problem> {
        let gate = |r: SkipReason| Err(Problem::Skip(RunSkip::Gate(r)));
        if k.st.mnt != v.st.mnt || k.st.ident.id.dev != v.st.ident.id.dev {
            return gate(SkipReason::OtherMount {
                keeper: kpath.to_path_buf(),
            });
        }
        let mount = self.mount(v.file.as_fd(), v.st.mnt, vpath)?;
        if let Some(fs) = mount.no_hard_links {
            return gate(SkipReason::NoHardLinks { fs });
        }
        if mount.readonly {
            return gate(SkipReason::ReadOnly);
        }
        let kx =
            sys::fxattrs(k.file.as_fd()).map_err(|e| step(kpath, "reading its attributes", e))?;
        let vx =
            sys::fxattrs(v.file.as_fd()).map_err(|e| step(vpath, "reading its attributes", e))?;
        let vf = facts(v, &vx);
        let kf = facts(k, &kx);
        let gates = &self.opts.gates;
        // Digests decide at the scan; here the attributes themselves must be equal.
        let reason = gates::pair(&vf, &kf, gates, kpath).or_else(|| {
            let only = |x: &Xattrs, perm: bool| -> Xattrs {
                x.iter()
                    .filter(|(n, _)| gates::is_permission(n) == perm)
                    .cloned()
                    .collect()
            };
            let diff = Diff {
                acl: only(&kx, true) != only(&vx, true),
                user_xattrs: !gates.ignore_xattrs && only(&kx, false) != only(&vx, false),
                ..Diff::default()
            };
            (!diff.is_empty()).then(|| SkipReason::Metadata {
                keeper: kpath.to_path_buf(),
                diff,
            })
        });
        if let Some(r) = reason {
            return gate(r);
        }
        let limit = match (self.opts.max_links, mount.link_max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if limit.is_some_and(|l| k.st.nlink >= l) {
            return Err(Problem::LinkLimit(v.st.ident));
        }
        Ok(vx)
    }

    /// The absolute path of a directory (for the journal), found once through its fd.
    fn abs_dir(&mut self, idx: DirIdx, fd: BorrowedFd<'_>) -> Result<PathBuf, Error> {
        if let Some(p) = self.abs.get(&idx) {
            return Ok(p.clone());
        }
        let path = sys::dir_path(fd).map_err(|e| Error::Step {
            path: self.tree.dir(idx).path.clone(),
            step: "finding its absolute path for the undo journal (not linked)",
            err: e,
        })?;
        self.abs.insert(idx, path.clone());
        Ok(path)
    }

    /// The swap protocol of SAFETY.md for one duplicate: open and verify both files against
    /// the plan (1, 2), every gate on them as they are now, leases and the byte compare, then
    /// the temp link through the keeper's fd (3), the exchange and its check (4, 5) and the
    /// unlink of the temp name (6).
    fn swap(&mut self, keeper: &Member, victim: &Member) -> Result<(), Problem> {
        let kpath = self.tree.path(&keeper.loc);
        let vpath = self.tree.path(&victim.loc);
        let (k, v) = self.open_verified(keeper, victim, &kpath, &vpath)?;
        let xattrs = self.check_gates(&k, &v, &kpath, &vpath)?;
        if self.no_exchange.contains(&v.st.mnt) {
            return Err(Problem::Skip(RunSkip::NoExchange));
        }
        // A file open for writing is skipped; the leases, held across the swap, tell us if
        // anyone opens either file for writing meanwhile. They end with the guard.
        let leases = Leases::take(self.leases, &[&*k.file, &*v.file])
            .map_err(|Busy(i)| Problem::Skip(RunSkip::OpenForWriting { keeper: i == 0 }))?;
        self.ready(&k, &v, victim.expect.len.0, &vpath, &leases)?;
        if self.dry {
            return Ok(());
        }
        // From here to the end nothing is printed and every exit leaves no temp name behind.
        let record = SwapRecord {
            keeper: (keeper.loc.dir, self.tree.name(&keeper.loc), &k),
            victim: (victim.loc.dir, self.tree.name(&victim.loc), &v),
            xattrs: &xattrs,
        };
        let tmp = self.temp_link(&record, &vpath)?;
        let result = Exchange {
            dir: v.dir.as_fd(),
            name: self.tree.name(&victim.loc),
            tmp: &tmp,
            path: &vpath,
            incoming: k.st.ident.id,
            outgoing: &v.st,
            outgoing_untouched: &|| leases.untouched(&v.file),
            incoming_untouched: &|| leases.untouched(&k.file),
        }
        .run();
        drop(leases);
        self.after_swap(&result, k, v);
        result.map_err(Problem::from)
    }

    /// Both files opened through verified directory fds, each still what the plan says, and
    /// not already one inode.
    fn open_verified(
        &mut self,
        keeper: &Member,
        victim: &Member,
        kpath: &Path,
        vpath: &Path,
    ) -> Result<(Opened, Opened), Problem> {
        let k = self.open_keeper(keeper, kpath)?;
        let keeper_as_planned = self.unchanged(&k.st, &keeper.expect);
        let v = self.open_member(victim, vpath).map_err(|r| match r {
            Ok(change) if keeper_as_planned => Problem::Skip(RunSkip::Changed(change)),
            Ok(_) => Problem::Skip(RunSkip::Keeper {
                keeper: kpath.to_path_buf(),
                change: Change::Modified,
            }),
            Err(e) => Problem::Fail(e),
        })?;
        // One inode already (a plan applied twice: the keeper's link count, so its ctime,
        // changed with the first): nothing to do, whatever else changed.
        if v.st.ident.id == k.st.ident.id {
            return Err(Problem::Skip(RunSkip::AlreadyLinked));
        }
        if !keeper_as_planned {
            self.keeper = None;
            return Err(Problem::Skip(RunSkip::Keeper {
                keeper: kpath.to_path_buf(),
                change: Change::Modified,
            }));
        }
        if !self.unchanged(&v.st, &victim.expect) {
            return Err(Problem::Skip(RunSkip::Changed(Change::Modified)));
        }
        Ok((k, v))
    }

    /// Under the leases: the bytes are equal, the directory can take a link and give it back,
    /// and no one opened either file for writing meanwhile.
    fn ready(
        &mut self,
        k: &Opened,
        v: &Opened,
        len: u64,
        vpath: &Path,
        leases: &Leases,
    ) -> Result<(), Problem> {
        match same_bytes(&k.file, &v.file, len, &mut self.bufs) {
            Ok(true) => {}
            Ok(false) => return Err(Problem::Skip(RunSkip::ContentDiffers)),
            Err(e) => return Err(Problem::Fail(step(vpath, "comparing with the keeper", e))),
        }
        match sys::stat_fd(v.dir.as_fd()) {
            // A link made here could not be exchanged or removed again.
            Ok(d) if d.attrs.immutable || d.attrs.append_only => {
                return Err(Problem::Skip(RunSkip::DirLocked));
            }
            Ok(_) => {}
            Err(e) => return Err(Problem::Fail(step(vpath, "checking its directory", e))),
        }
        if !leases.all_untouched() {
            return Err(Problem::Skip(RunSkip::Changed(Change::OpenedForWriting)));
        }
        Ok(())
    }

    /// What a swap leaves to remember, whatever its result: a mount without exchange, the
    /// ctimes our own link, rename and unlink gave both inodes (so later paths of them don't
    /// read as changed), and the replaced file to close on the closing threads.
    fn after_swap(&mut self, result: &Result<(), Failure>, k: Opened, v: Opened) {
        if matches!(result, Err(Failure::Skip(RunSkip::NoExchange))) {
            self.no_exchange.insert(v.st.mnt);
        }
        for f in [&*k.file, &*v.file] {
            if let Ok(st) = sys::stat_fd(f.as_fd()) {
                self.ctimes.insert(st.ident.id, st.ident.ctime);
            }
        }
        drop(k);
        if let Ok(file) = Rc::try_unwrap(v.file) {
            self.closer.close(file);
        }
    }

    /// Record the swap in the journal under a fresh temp name, then link the keeper (through
    /// its fd) under that name beside the duplicate. `linkat` never overwrites: a name that
    /// exists means another try. A full disk may be space still held by duplicates waiting to
    /// be closed: give it back and retry once.
    fn temp_link(&mut self, r: &SwapRecord<'_>, vpath: &Path) -> Result<OsString, Problem> {
        let kfd = r.keeper.2.file.as_fd();
        let dir = r.victim.2.dir.as_fd();
        let mut last = None;
        for _ in 0..TEMP_TRIES {
            let tmp = crate::tempname::new();
            self.record(r, &tmp, vpath)?;
            let linked = match sys::link_fd_at(kfd, dir, &tmp) {
                Err(e) if full_disk(&e) => {
                    self.closer.flush();
                    sys::link_fd_at(kfd, dir, &tmp)
                }
                l => l,
            };
            match linked {
                Ok(()) => return Ok(tmp),
                Err(e) if Errno::from_io_error(&e) == Some(Errno::EXIST) => last = Some(e),
                Err(e) if Errno::from_io_error(&e) == Some(Errno::MLINK) => {
                    return Err(Problem::LinkLimit(r.victim.2.st.ident));
                }
                Err(e) => {
                    return Err(Problem::Fail(step(
                        vpath,
                        "linking the keeper beside it",
                        e,
                    )));
                }
            }
        }
        let e = last.unwrap_or_else(|| io::Error::other("no free temporary name"));
        Err(Problem::Fail(step(
            vpath,
            "linking the keeper beside it",
            e,
        )))
    }

    /// Write the journal line of a swap about to happen (and not link when it can't be
    /// written).
    fn record(&mut self, r: &SwapRecord<'_>, tmp: &OsString, vpath: &Path) -> Result<(), Problem> {
        if self.journal.is_none() {
            return Ok(());
        }
        let (kdir, kname, k) = r.keeper;
        let (vdir, vname, v) = r.victim;
        let kabs = self.abs_dir(kdir, k.dir.as_fd())?.join(kname);
        let vabs = self.abs_dir(vdir, v.dir.as_fd())?.join(vname);
        let line = Record {
            path: &vabs,
            keeper: &kabs,
            dir: self.tree.dir(vdir).id,
            keeper_dir: self.tree.dir(kdir).id,
            tmp,
            keeper_st: &k.st,
            victim_st: &v.st,
            xattrs: r.xattrs,
        };
        let Some(journal) = self.journal.as_deref_mut() else {
            return Ok(());
        };
        let written = match journal.record(&line) {
            Err(e) if full_disk(&e) => {
                self.closer.flush();
                journal.record(&line)
            }
            w => w,
        };
        written.map_err(|e| Problem::Fail(step(vpath, "writing the undo journal (not linked)", e)))
    }
}

/// What the journal line of one swap is made of.
struct SwapRecord<'a> {
    keeper: (DirIdx, &'a std::ffi::OsStr, &'a Opened),
    victim: (DirIdx, &'a std::ffi::OsStr, &'a Opened),
    xattrs: &'a [(Vec<u8>, Vec<u8>)],
}
