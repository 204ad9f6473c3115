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
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Error;
use crate::model::{DirIdx, FileId, Identity, Member, Outcome, Plan, Timestamp, Tree};
use crate::sys::{self, Errno, Stat};

/// Prefix of every temporary name linkdup creates; recognisable for recovery.
pub const TEMP_PREFIX: &str = ".linkdup-";
const TEMP_TRIES: usize = 16;
const DIR_CACHE: usize = 256;
const CMP_BUF: usize = 128 * 1024;

/// Run every action of `plan` in order; returns one outcome per action, in plan order.
///
/// `stop` is checked between actions (never during a swap): once set, the remaining actions are
/// skipped.
pub fn execute(tree: &Tree, plan: &Plan, stop: &AtomicBool) -> Vec<Outcome> {
    let mut ex = Executor {
        tree,
        dirs: HashMap::new(),
        ctimes: HashMap::new(),
        incomplete: HashSet::new(),
        bufs: (vec![0; CMP_BUF], vec![0; CMP_BUF]),
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
                    Outcome::Linked { freed }
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
    dirs: HashMap<DirIdx, Rc<OwnedFd>>,
    /// ctimes that our own links and renames changed, so they don't read as "changed since scan".
    ctimes: HashMap<FileId, Timestamp>,
    /// Victim inodes of which some path was not replaced (their bytes are not freed).
    incomplete: HashSet<FileId>,
    bufs: (Vec<u8>, Vec<u8>),
}

fn step(path: &Path, step: &'static str, err: io::Error) -> Error {
    Error::Step {
        path: path.to_path_buf(),
        step,
        err,
    }
}

impl Executor<'_> {
    /// A verified fd of a scanned directory: roots are opened by path, every other directory
    /// relative to its parent without following symlinks; each must still be the scanned one.
    fn dir(&mut self, idx: DirIdx) -> Result<Rc<OwnedFd>, Error> {
        if let Some(fd) = self.dirs.get(&idx) {
            return Ok(fd.clone());
        }
        let d = self.tree.dir(idx);
        let fd = match d.parent {
            None => sys::open_root_dir(&d.path),
            Some(p) => {
                let parent = self.dir(p)?;
                sys::open_dir_at(parent.as_fd(), &d.name)
            }
        };
        let fd = fd.map_err(|e| step(&d.path, "opening directory", e))?;
        let st = sys::stat_fd(fd.as_fd()).map_err(|e| Error::io(&d.path, e))?;
        if st.ident.id != d.id {
            return Err(Error::Changed {
                path: d.path.clone(),
                what: "directory was replaced or moved since the scan".into(),
            });
        }
        if self.dirs.len() >= DIR_CACHE {
            self.dirs.clear();
        }
        let fd = Rc::new(fd);
        self.dirs.insert(idx, fd.clone());
        Ok(fd)
    }

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
        path: &PathBuf,
    ) -> Result<(Rc<OwnedFd>, File, Stat), Problem> {
        let dir = self.dir(m.loc.dir)?;
        let file = match sys::open_file_at(dir.as_fd(), &m.loc.name) {
            Ok(f) => f,
            Err(e) => {
                return Err(match Errno::from_io_error(&e) {
                    Some(Errno::NOENT) => Problem::Skip("deleted since the scan".into()),
                    Some(Errno::LOOP) => {
                        Problem::Skip("replaced by a symlink since the scan".into())
                    }
                    _ => Problem::Fail(step(path, "opening", e)),
                });
            }
        };
        let st = sys::stat_fd(file.as_fd()).map_err(|e| Error::io(path, e))?;
        Ok((dir, file, st))
    }

    fn swap(&mut self, keeper: &Member, victim: &Member) -> Result<(), Problem> {
        let kpath = self.tree.path(&keeper.loc);
        let vpath = self.tree.path(&victim.loc);
        let (_kdir, kfile, kst) = self.open_member(keeper, &kpath)?;
        if !self.unchanged(&kst, &keeper.expect) {
            return Err(Problem::Skip(format!(
                "keeper {} changed since the scan",
                crate::report::escape::Escaped(&kpath)
            )));
        }
        let (vdir, vfile, vst) = self.open_member(victim, &vpath)?;
        if vst.ident.id == kst.ident.id {
            return Err(Problem::Skip("already a link of the keeper".into()));
        }
        if !self.unchanged(&vst, &victim.expect) {
            return Err(Problem::Skip("changed since the scan".into()));
        }
        let len = victim.expect.len.0;
        match self.same_bytes(&kfile, &vfile, len) {
            Ok(true) => {}
            Ok(false) => return Err(Problem::Skip("content differs from the keeper".into())),
            Err(e) => return Err(Problem::Fail(step(&vpath, "comparing with the keeper", e))),
        }

        // From here to the end nothing is printed and every exit leaves no temp name behind.
        let dir = vdir.as_fd();
        let name: &OsStr = &victim.loc.name;
        let tmp = match create_temp_link(kfile.as_fd(), dir) {
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
        let exchanged = match sys::exchange_at(dir, &tmp, name) {
            Ok(()) => true,
            // No RENAME_EXCHANGE on this filesystem: an atomic replace is the fallback.
            Err(e) if Errno::from_io_error(&e) == Some(Errno::INVAL) => {
                if let Err(e) = sys::rename_at(dir, &tmp, name) {
                    let _ = remove_temp(dir, &tmp, kst.ident.id, &vpath);
                    return Err(Problem::Fail(step(&vpath, "renaming over it", e)));
                }
                false
            }
            Err(e) => {
                remove_temp(dir, &tmp, kst.ident.id, &vpath)?;
                return Err(match Errno::from_io_error(&e) {
                    Some(Errno::NOENT) => Problem::Skip("deleted since the scan".into()),
                    _ => Problem::Fail(step(&vpath, "exchanging with the link", e)),
                });
            }
        };
        if exchanged {
            // The temp name now holds what was at the duplicate's path: it must be the file we
            // verified, unchanged, and the path must now be the keeper.
            let displaced = sys::stat_at(dir, &tmp);
            let now = sys::stat_at(dir, name);
            let ok = matches!((&displaced, &now), (Ok(d), Ok(n))
                if d.is_file() && d.ident.id == vst.ident.id && d.ident.len == vst.ident.len
                    && d.ident.mtime == vst.ident.mtime && n.ident.id == kst.ident.id);
            if !ok {
                return Err(match sys::exchange_at(dir, &tmp, name) {
                    Ok(()) => {
                        remove_temp(dir, &tmp, kst.ident.id, &vpath)?;
                        Problem::Skip("changed during the swap; put back as it was".into())
                    }
                    Err(e) => Problem::Fail(Error::Changed {
                        path: vpath,
                        what: format!(
                            "changed during the swap and could not be put back ({e}); its previous file is at {}",
                            crate::report::escape::Escaped(&tmp)
                        ),
                    }),
                });
            }
        }
        if let Err(e) = sys::unlink_at(dir, &tmp) {
            // The old copy is still there under the temp name (identical to the keeper).
            return Err(Problem::Fail(Error::Changed {
                path: vpath,
                what: format!(
                    "linked, but removing the temporary name {} failed: {e}",
                    crate::report::escape::Escaped(&tmp)
                ),
            }));
        }
        // Our own link and unlink changed both ctimes; remember them for later paths.
        if let Ok(st) = sys::stat_fd(kfile.as_fd()) {
            self.ctimes.insert(st.ident.id, st.ident.ctime);
        }
        if let Ok(st) = sys::stat_fd(vfile.as_fd()) {
            self.ctimes.insert(st.ident.id, st.ident.ctime);
        }
        Ok(())
    }

    /// Compare two open files byte for byte.
    fn same_bytes(&mut self, a: &File, b: &File, len: u64) -> io::Result<bool> {
        let (ba, bb) = (&mut self.bufs.0, &mut self.bufs.1);
        let mut off = 0u64;
        while off < len {
            let n = (len - off).min(ba.len() as u64) as usize;
            a.read_exact_at(&mut ba[..n], off)?;
            b.read_exact_at(&mut bb[..n], off)?;
            if ba[..n] != bb[..n] {
                return Ok(false);
            }
            off += n as u64;
        }
        // Neither may have grown past the length we compared.
        let mut one = [0u8; 1];
        Ok(a.read_at(&mut one, len)? == 0 && b.read_at(&mut one, len)? == 0)
    }
}

/// A fresh temporary name: fixed length, recognisable, never derived from the duplicate's name.
fn temp_name() -> OsString {
    let mut s = String::from(TEMP_PREFIX);
    for _ in 0..8 {
        s.push(fastrand::alphanumeric());
    }
    OsString::from(s)
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

/// The one cleanup path for a temp name: remove it only if it still is a link of the keeper.
fn remove_temp(
    dir: BorrowedFd<'_>,
    tmp: &OsStr,
    keeper: FileId,
    vpath: &Path,
) -> Result<(), Error> {
    let what = match sys::stat_at(dir, tmp) {
        Ok(st) if st.ident.id == keeper => match sys::unlink_at(dir, tmp) {
            Ok(()) => return Ok(()),
            Err(e) => format!("could not remove the temporary name {}: {e}", tmp.display()),
        },
        Ok(_) => format!(
            "the temporary name {} no longer holds the keeper; left in place",
            tmp.display()
        ),
        Err(e) => format!("could not check the temporary name {}: {e}", tmp.display()),
    };
    Err(Error::Changed {
        path: vpath.to_path_buf(),
        what,
    })
}
