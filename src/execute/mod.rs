//! The executor: runs a [`Plan`] with the swap protocol of the safety model. For each action:
//! open both parent directories through verified directory fds, open keeper and duplicate without
//! following symlinks, check both against the scan, compare their bytes, link the keeper through
//! its fd under a fresh temporary name beside the duplicate, exchange the two names atomically,
//! check what was displaced, and remove the temporary name. At every instant the duplicate's path
//! names a file with its original content. Nothing is printed while a swap is under way.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub mod dirs;

use crate::error::Error;
use crate::journal::Journal;
use crate::listener::{Progress, Stage};
use crate::model::{FileId, Identity, Loc, Member, Outcome, Plan, Timestamp, Tree};
use crate::report::escape::Escaped;
use crate::sys::lease::{self, Lease};
use crate::sys::{self, Errno, Stat};
use dirs::{CompareBufs, DirFds, same_bytes};

/// Prefix of every temporary name linkdup creates; recognisable for recovery.
pub const TEMP_PREFIX: &str = ".linkdup-";
const TEMP_TRIES: usize = 16;

/// Run every action of `plan` in order; returns one outcome per action, in plan order.
///
/// `stop` is checked between actions (never during a swap): once set, the remaining actions are
/// skipped.
pub fn execute(
    tree: &Tree,
    plan: &Plan,
    stop: &AtomicBool,
    progress: Option<&Progress>,
    journal: Option<&mut Journal>,
) -> Vec<Outcome> {
    if let Some(p) = progress {
        p.start(Stage::Link, plan.action_count() as u64);
    }
    // A broken lease is signalled with SIGIO, whose default action would end the process in
    // the middle of a swap: handle it (the flag is not needed; F_GETLEASE tells).
    let sigio = Arc::new(AtomicBool::new(false));
    let leases = signal_hook::flag::register(signal_hook::consts::SIGIO, sigio).is_ok();
    let dirs = DirFds::new(tree);
    let closer = Closer::new(dirs.capacity());
    let mut ex = Executor {
        leases,
        tree,
        dirs,
        ctimes: HashMap::new(),
        incomplete: HashSet::new(),
        keeper: None,
        journal,
        bufs: CompareBufs::default(),
        closer,
    };
    let mut out = Vec::with_capacity(plan.action_count());
    for group in &plan.groups {
        // The keeper of this group; replaced by a verified copy when the link limit is reached.
        let mut keeper_override: Option<Member> = None;
        for action in &group.actions {
            if stop.load(Ordering::Relaxed) {
                ex.incomplete.insert(action.victim.expect.id);
                out.push(Outcome::Skipped("interrupted before this file".into()));
                continue;
            }
            let keeper = keeper_override.as_ref().unwrap_or(&action.keeper);
            let outcome = match ex.swap(keeper, &action.victim) {
                Ok(()) => {
                    let freed = action.frees && !ex.incomplete.contains(&action.victim.expect.id);
                    Outcome::Linked {
                        freed,
                        keeper: keeper_override.as_ref().map(|m| m.loc.clone()),
                    }
                }
                Err(Problem::LinkLimit(now)) => {
                    // This copy is identical to the keeper (just compared): it keeps the rest.
                    keeper_override = Some(Member {
                        loc: action.victim.loc.clone(),
                        expect: now,
                        nlink: 1,
                    });
                    Outcome::Skipped(
                        "the keeper reached the link limit; this copy becomes the keeper for the rest of its group"
                            .into(),
                    )
                }
                Err(Problem::Skip(why)) => Outcome::Skipped(why),
                Err(Problem::Fail(err)) => Outcome::Failed(err),
            };
            if let Some(p) = progress {
                p.add(1);
            }
            if !matches!(outcome, Outcome::Linked { .. }) {
                ex.incomplete.insert(action.victim.expect.id);
            }
            out.push(outcome);
        }
    }
    out
}

enum Problem {
    /// Left alone on purpose (changed since the scan...). Nothing was modified.
    Skip(String),
    /// The keeper has too many links; carries the duplicate's current identity.
    LinkLimit(Identity),
    Fail(Error),
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem::Fail(e)
    }
}

struct Executor<'a> {
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
    keeper: Option<(Loc, Rc<File>)>,
    /// Where each swap is recorded before it happens, for `linkdup undo`.
    journal: Option<&'a mut Journal>,
    closer: Closer,
}

/// Closes the fds of replaced duplicates on threads of their own. The last close of a freed
/// inode evicts it, and where the filesystem is mounted with `discard` that waits for the device
/// to trim the blocks: the next swap need not wait with it, and several trims can be in flight.
/// (The inode has no name left by then; closing later only keeps its blocks a moment longer.)
/// The queue is bounded, so a slow device slows the run down instead of running out of fds.
struct Closer {
    tx: Option<std::sync::mpsc::SyncSender<File>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// What the queue was sized from (kept for [`Closer::flush`]).
    dir_fds: usize,
}

/// Closing threads, and most fds waiting for one.
const CLOSERS: usize = 4;
const CLOSE_QUEUE: usize = 256;

impl Closer {
    /// `dir_fds`: how many fds directories may take (half the limit); the queue takes a
    /// quarter of that at most.
    fn new(dir_fds: usize) -> Closer {
        let queue = (dir_fds / 4).clamp(1, CLOSE_QUEUE);
        let (tx, rx) = std::sync::mpsc::sync_channel::<File>(queue);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let threads: Vec<_> = (0..CLOSERS)
            .filter_map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("linkdup-close-{i}"))
                    .spawn(move || {
                        loop {
                            // The lock is held only to take one fd, not to close it.
                            let next = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            match next {
                                Ok(file) => drop(file),
                                Err(_) => return, // the executor is done
                            }
                        }
                    })
                    .ok()
            })
            .collect();
        Closer {
            tx: (!threads.is_empty()).then_some(tx),
            threads,
            dir_fds,
        }
    }

    /// Wait until every queued fd is closed (their inodes' space is free again).
    fn flush(&mut self) {
        *self = Closer::new(self.dir_fds);
    }

    /// Close `file` on a closing thread (here, if there is none).
    fn close(&self, file: File) {
        if let Some(tx) = &self.tx
            && let Err(std::sync::mpsc::SendError(file)) = tx.send(file)
        {
            drop(file);
        }
    }
}

impl Drop for Closer {
    /// Every fd is closed before the run reports.
    fn drop(&mut self) {
        self.tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
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

/// Gives up a read lease when dropped.
struct LeaseGuard<'a>(Option<&'a File>);

impl Drop for LeaseGuard<'_> {
    fn drop(&mut self) {
        if let Some(f) = self.0 {
            lease::release(f);
        }
    }
}

fn step(path: &Path, step: &'static str, err: io::Error) -> Error {
    Error::Step {
        path: path.to_path_buf(),
        step,
        err,
    }
}

impl Executor<'_> {
    fn expected_ctime(&self, expect: &Identity) -> Timestamp {
        self.ctimes.get(&expect.id).copied().unwrap_or(expect.ctime)
    }

    /// Does `st` still show the file the scan saw?
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

    fn open_member(
        &mut self,
        m: &Member,
        path: &Path,
    ) -> Result<(Rc<OwnedFd>, File, Stat), Problem> {
        let dir = match self.dirs.open(m.loc.dir) {
            Ok(d) => d,
            Err(e) if directory_gone(&e) => {
                return Err(Problem::Skip(
                    "its directory was moved or replaced since the scan".into(),
                ));
            }
            Err(e) => return Err(Problem::Fail(e)),
        };
        match sys::open_regular_at(dir.as_fd(), &*m.loc.name) {
            Ok((Some(file), st)) => Ok((dir, file, st)),
            Ok((None, st)) => Err(Problem::Skip(format!(
                "now a {} instead of a regular file",
                sys::kind_name(st.kind)
            ))),
            Err(e) if Errno::from_io_error(&e) == Some(Errno::NOENT) => {
                Err(Problem::Skip("deleted since the scan".into()))
            }
            Err(e) => Err(Problem::Fail(step(path, "opening", e))),
        }
    }

    /// The keeper, opened once per group (and checked by `fstat` before every swap).
    fn keeper_file(&mut self, keeper: &Member, path: &Path) -> Result<Rc<File>, Problem> {
        if let Some((loc, file)) = &self.keeper
            && *loc == keeper.loc
        {
            return Ok(file.clone());
        }
        self.keeper = None;
        let (_dir, file, _st) = self.open_member(keeper, path)?;
        let file = Rc::new(file);
        self.keeper = Some((keeper.loc.clone(), file.clone()));
        Ok(file)
    }

    fn swap(&mut self, keeper: &Member, victim: &Member) -> Result<(), Problem> {
        let kpath = self.tree.path(&keeper.loc);
        let vpath = self.tree.path(&victim.loc);
        let kfile = match self.keeper_file(keeper, &kpath) {
            Err(Problem::Skip(why)) => {
                return Err(Problem::Skip(format!("keeper {}: {why}", Escaped(&kpath))));
            }
            r => r?,
        };
        let kst = sys::stat_fd(kfile.as_fd()).map_err(|e| Error::io(&kpath, e))?;
        if !self.unchanged(&kst, &keeper.expect) {
            self.keeper = None;
            return Err(Problem::Skip(format!(
                "keeper {} changed since the scan",
                Escaped(&kpath)
            )));
        }
        let (vdir, vfile, vst) = self.open_member(victim, &vpath)?;
        if vst.ident.id == kst.ident.id {
            return Err(Problem::Skip("already a link of the keeper".into()));
        }
        if !self.unchanged(&vst, &victim.expect) {
            return Err(Problem::Skip("changed since the scan".into()));
        }
        // A file open for writing is skipped; the leases, held across the swap, tell us if
        // anyone opens either file for writing meanwhile.
        let mut leased = Vec::with_capacity(2);
        if self.leases {
            for (f, who) in [(&*kfile, "the keeper is"), (&vfile, "it is")] {
                match lease::take_read(f) {
                    Lease::Held => leased.push(f),
                    Lease::Busy => {
                        // The keeper stays open for its group: its lease must not outlive this.
                        leased.iter().for_each(|f| lease::release(f));
                        return Err(Problem::Skip(format!(
                            "{who} open for writing by another process"
                        )));
                    }
                    Lease::Unsupported => {}
                }
            }
        }
        let leases_intact = || leased.iter().all(|f| lease::intact(f));
        // The keeper stays open for the rest of its group; its lease must not outlive the swap.
        let keeper_lease = LeaseGuard(
            leased
                .first()
                .filter(|f| std::ptr::eq(**f, &*kfile))
                .copied(),
        );
        match same_bytes(&kfile, &vfile, victim.expect.len.0, &mut self.bufs) {
            Ok(true) => {}
            Ok(false) => return Err(Problem::Skip("content differs from the keeper".into())),
            Err(e) => return Err(Problem::Fail(step(&vpath, "comparing with the keeper", e))),
        }

        // From here to the end nothing is printed and every exit leaves no temp name behind.
        let dir = vdir.as_fd();
        match sys::stat_fd(dir) {
            // A link made here could not be exchanged or removed again.
            Ok(d) if d.attrs.immutable || d.attrs.append_only => {
                return Err(Problem::Skip(
                    "its directory is now immutable or append-only".into(),
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(Problem::Fail(step(&vpath, "checking its directory", e))),
        }
        if !leases_intact() {
            return Err(Problem::Skip(
                "opened for writing by another process during the check".into(),
            ));
        }
        if let Some(journal) = self.journal.as_deref_mut() {
            let mut record = || {
                sys::fxattrs(vfile.as_fd())
                    .and_then(|x| journal.record(&vpath, &kpath, &kst, &vst, x))
            };
            let written = match record() {
                // Freed duplicates may still wait to be closed: give their space back, retry.
                Err(e) if matches!(Errno::from_io_error(&e), Some(Errno::NOSPC | Errno::DQUOT)) => {
                    self.closer.flush();
                    record()
                }
                r => r,
            };
            if let Err(e) = written {
                return Err(Problem::Fail(step(
                    &vpath,
                    "writing the undo journal (not linked)",
                    e,
                )));
            }
        }
        let linked = match create_temp_link(kfile.as_fd(), dir) {
            // Freed duplicates may still wait to be closed: give their space back, then retry.
            Err(e) if matches!(Errno::from_io_error(&e), Some(Errno::NOSPC | Errno::DQUOT)) => {
                self.closer.flush();
                create_temp_link(kfile.as_fd(), dir)
            }
            r => r,
        };
        let tmp = match linked {
            Ok(t) => t,
            Err(e) if Errno::from_io_error(&e) == Some(Errno::MLINK) => {
                return Err(Problem::LinkLimit(vst.ident));
            }
            Err(e) => {
                return Err(Problem::Fail(step(
                    &vpath,
                    "linking the keeper beside it",
                    e,
                )));
            }
        };
        let swap = Swap {
            dir,
            tmp: &tmp,
            name: &victim.loc.name,
            keeper: kst.ident.id,
            victim: &vst,
            vpath: &vpath,
            leases_intact: &leases_intact,
        };
        let result = match sys::exchange_at(dir, &tmp, swap.name) {
            Ok(()) => swap.after_exchange(),
            // No RENAME_EXCHANGE on this filesystem: an atomic replace is the fallback.
            Err(e) if Errno::from_io_error(&e) == Some(Errno::INVAL) => {
                swap.replace(|st| self.unchanged(st, &victim.expect))
            }
            Err(e) => match swap.remove_temp() {
                // Both went wrong: say both (the temp name is named in the cleanup error).
                Err(cleanup) => Err(Problem::Fail(Error::Changed {
                    path: vpath.clone(),
                    what: format!("exchanging with the link: {e}; then {cleanup}"),
                })),
                Ok(()) => Err(match Errno::from_io_error(&e) {
                    Some(Errno::NOENT) => Problem::Skip("deleted since the scan".into()),
                    _ => Problem::Fail(step(&vpath, "exchanging with the link", e)),
                }),
            },
        };
        // Our own link, rename and unlink changed both ctimes, whatever happened after the link:
        // remember them so that later paths of these inodes don't read as "changed".
        for f in [&*kfile, &vfile] {
            if let Ok(st) = sys::stat_fd(f.as_fd()) {
                self.ctimes.insert(st.ident.id, st.ident.ctime);
            }
        }
        drop(keeper_lease);
        // Our lease on the duplicate ends now, not when its fd is closed.
        if leased.iter().any(|f| std::ptr::eq(*f, &vfile)) {
            lease::release(&vfile);
        }
        drop(leased);
        self.closer.close(vfile);
        result
    }
}

/// Characters of the temp name that carry the creating process's id (base 36, lower case).
const PID_CHARS: usize = 5;
const TEMP_RANDOM: usize = 3;
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A fresh temporary name: fixed length, recognisable, never derived from the duplicate's name.
/// It carries our process id, so that a recovery run can tell a temp name of a linkdup that is
/// still running (and must not be touched) from one left by a crash.
pub fn temp_name() -> OsString {
    let mut s = String::from(TEMP_PREFIX);
    let mut pid = std::process::id() as usize;
    let mut digits = [b'0'; PID_CHARS];
    for d in digits.iter_mut().rev() {
        *d = BASE36[pid % 36];
        pid /= 36;
    }
    s.extend(digits.iter().map(|&b| b as char));
    for _ in 0..TEMP_RANDOM {
        s.push(fastrand::alphanumeric());
    }
    OsString::from(s)
}

/// Does this temp name belong to a linkdup process that is running now (not this one)?
pub fn owner_running(name: &OsStr) -> bool {
    let b = name.as_encoded_bytes();
    let Some(digits) = b.get(TEMP_PREFIX.len()..TEMP_PREFIX.len() + PID_CHARS) else {
        return false;
    };
    let mut pid: u64 = 0;
    for &c in digits {
        match BASE36.iter().position(|&x| x == c) {
            Some(v) => pid = pid * 36 + v as u64,
            None => return false,
        }
    }
    pid != u64::from(std::process::id())
        && std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|comm| comm.trim_end() == "linkdup")
}

/// Link the keeper (through its fd) under a fresh temp name in `dir`; `linkat` never overwrites,
/// so an existing name just means another try.
fn create_temp_link(keeper: BorrowedFd<'_>, dir: BorrowedFd<'_>) -> io::Result<OsString> {
    let mut last = None;
    for _ in 0..TEMP_TRIES {
        let tmp = temp_name();
        match sys::link_fd_at(keeper, dir, &tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if Errno::from_io_error(&e) == Some(Errno::EXIST) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// The names of one swap once the temp link exists.
struct Swap<'a> {
    dir: BorrowedFd<'a>,
    tmp: &'a OsStr,
    name: &'a OsStr,
    keeper: FileId,
    /// The duplicate as verified before the link.
    victim: &'a Stat,
    vpath: &'a Path,
    /// Nobody opened keeper or duplicate for writing since the leases were taken.
    leases_intact: &'a dyn Fn() -> bool,
}

impl Swap<'_> {
    /// Is `st` the duplicate we verified? (Its ctime moves with the rename, so it is not compared.)
    fn is_victim(&self, st: &io::Result<Stat>) -> bool {
        let v = &self.victim.ident;
        matches!(st, Ok(d) if d.is_file() && d.ident.id == v.id && d.ident.len == v.len
            && d.ident.mtime == v.mtime)
    }

    /// After the exchange the temp name must hold the verified duplicate, and the path the
    /// keeper. Anything else is put back, or left for the person with a message.
    fn after_exchange(&self) -> Result<(), Problem> {
        let displaced = sys::stat_at(self.dir, self.tmp);
        let now = sys::stat_at(self.dir, self.name);
        let path_is_keeper = matches!(&now, Ok(n) if n.ident.id == self.keeper);
        // A writer that opened either file during the swap gets the old state back.
        let untouched = self.is_victim(&displaced) && (self.leases_intact)();
        match (path_is_keeper, untouched) {
            (true, true) => sys::unlink_at(self.dir, self.tmp).map_err(|e| {
                // The old copy stays under the temp name; it is identical to the keeper.
                Problem::Fail(self.left(format!(
                    "linked, but removing the temporary name failed: {e}"
                )))
            }),
            (true, false) => match sys::exchange_at(self.dir, self.tmp, self.name) {
                Ok(()) => {
                    self.remove_temp()?;
                    Err(Problem::Skip(
                        "changed or opened for writing during the swap; put back as it was".into(),
                    ))
                }
                Err(e) => Err(Problem::Fail(self.left(format!(
                    "changed during the swap and could not be put back ({e})"
                )))),
            },
            // Someone else replaced the path after our exchange: their file stays. The temp
            // holds the verified old copy, identical to the keeper: nothing is lost removing it.
            (false, true) => {
                sys::unlink_at(self.dir, self.tmp).map_err(|e| {
                    Problem::Fail(self.left(format!("removing the temporary name: {e}")))
                })?;
                Err(Problem::Skip(
                    "replaced by another file during the swap; left as it is".into(),
                ))
            }
            (false, false) => Err(Problem::Fail(self.left(
                "changed by someone else during the swap; nothing more was done".into(),
            ))),
        }
    }

    /// Fallback without `RENAME_EXCHANGE`: re-check the name, then rename the temp over it.
    fn replace(&self, unchanged: impl Fn(&Stat) -> bool) -> Result<(), Problem> {
        match sys::stat_at(self.dir, self.name) {
            Ok(st) if unchanged(&st) => {}
            _ => {
                self.remove_temp()?;
                return Err(Problem::Skip("changed since the scan".into()));
            }
        }
        if !(self.leases_intact)() {
            self.remove_temp()?;
            return Err(Problem::Skip(
                "opened for writing by another process during the swap".into(),
            ));
        }
        if let Err(e) = sys::rename_at(self.dir, self.tmp, self.name) {
            self.remove_temp()?;
            return Err(Problem::Fail(step(self.vpath, "renaming over it", e)));
        }
        // A rename between two names of one inode does nothing: then the temp is still there.
        match sys::stat_at(self.dir, self.tmp) {
            Err(e) if Errno::from_io_error(&e) == Some(Errno::NOENT) => Ok(()),
            _ => Ok(self.remove_temp()?),
        }
    }

    /// An error that names the temp name left in place.
    fn left(&self, what: String) -> Error {
        Error::Changed {
            path: self.vpath.to_path_buf(),
            what: format!(
                "{what}; see the temporary name {}",
                Escaped(Path::new(self.tmp))
            ),
        }
    }

    /// The one cleanup path for a temp name: remove it only if it still is a link of the
    /// keeper.
    fn remove_temp(&self) -> Result<(), Error> {
        let what = match sys::stat_at(self.dir, self.tmp) {
            Ok(st) if st.ident.id == self.keeper => match sys::unlink_at(self.dir, self.tmp) {
                Ok(()) => return Ok(()),
                Err(e) => format!("could not remove the temporary name: {e}"),
            },
            Ok(_) => "the temporary name no longer holds the keeper; left in place".to_string(),
            Err(e) => format!("could not check the temporary name: {e}"),
        };
        Err(self.left(what))
    }
}

/// Is `name` one of linkdup's temporary names (`.linkdup-` and 8 letters or digits)?
pub fn is_temp_name(name: &OsStr) -> bool {
    let b = name.as_encoded_bytes();
    b.len() == TEMP_PREFIX.len() + PID_CHARS + TEMP_RANDOM
        && b.starts_with(TEMP_PREFIX.as_bytes())
        && b[TEMP_PREFIX.len()..].iter().all(u8::is_ascii_alphanumeric)
}
