//! Walks the roots and turns every regular file into a packed record of [`Files`]. Never follows
//! a symlink below a root; never opens anything but directories (symlinks, FIFOs, sockets and
//! devices are skipped from their directory entry type and a `statx` that does not follow links).
//! A directory reached twice (overlapping roots, `a/.`, bind mounts of one directory) is walked
//! once.
//!
//! # Parallelism and order
//! The walk goes level by level: every directory of one depth is listed on rayon (open,
//! `getdents`, `statx` of each entry relative to the directory fd), then the listings are merged
//! in order on one thread, which numbers the directories, dedups them by identity and queues the
//! next level. The result does not depend on the number of threads, and nothing recurses, so a
//! deep tree is walked with a small stack and at most one directory fd per thread (directories
//! are opened by path, so one deeper than `PATH_MAX` is reported, not walked).

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, OsStr};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::{Globs, ScanConfig};
use crate::error::{Error, Moved, NotScanned};
use crate::listener::{Listener, Stage};
use crate::model::packed::{Files, Full, TOO_MANY_NAMES};
use crate::model::{Dir, DirIdx, FileEntry, FileId, MountInfo, NamesFull, Tree};
use crate::sys::{self, Errno, FileType, Stat};

/// What the walk found.
#[derive(Debug, Default)]
pub struct Walked {
    pub tree: Tree,
    /// Regular files within the size limits.
    pub files: Files,
    /// Names of linkdup's temp pattern: never candidates; resolved by [`crate::recover`].
    pub temps: Vec<FileEntry>,
    /// Regular files seen, whatever their size.
    pub files_seen: u64,
    pub errors: u64,
}

struct Walker<'a> {
    cfg: &'a ScanConfig,
    listener: &'a dyn Listener,
    out: Walked,
    /// Directories known by identity (walked, or registered as the parent of a file root).
    known: HashMap<FileId, DirIdx>,
    walked: HashSet<FileId>,
    any_file_root: bool,
    globs: &'a Globs,
}

/// Walk every root of `cfg.roots`.
pub fn walk(cfg: &ScanConfig, listener: &dyn Listener) -> Walked {
    let mut w = Walker {
        globs: &cfg.filters.globs,
        cfg,
        listener,
        out: Walked::default(),
        known: HashMap::new(),
        walked: HashSet::new(),
        any_file_root: false,
    };
    if let Some(p) = listener.progress() {
        p.start(Stage::Walk, 0);
    }
    // A directory reached through two roots is walked once, through the first; roots on a
    // writable mount go first, so a read-only view of a tree (a read-only bind mount) never
    // hides its writable original, whatever the order they were given in.
    let mut roots: Vec<&PathBuf> = cfg.roots.iter().collect();
    roots.sort_by_key(|r| sys::fs_facts(r).is_ok_and(|f| f.readonly));
    for root in roots {
        w.root(root);
    }
    if w.any_file_root {
        // A file given as a root may also be reached through a walked directory: keep one entry.
        let files = &mut w.out.files;
        let mut recs = std::mem::take(&mut files.recs);
        recs.sort_by(|a, b| (a.dir, files.name(a)).cmp(&(b.dir, files.name(b))));
        let before = recs.len();
        recs.dedup_by(|a, b| a.dir == b.dir && files.name(a) == files.name(b));
        w.out.files_seen -= (before - recs.len()) as u64;
        files.recs = recs;
    }
    w.out
}

/// Directories listed in parallel before their listings are merged.
const CHUNK: usize = 256;

/// A directory queued for listing.
struct Pending {
    idx: DirIdx,
    path: PathBuf,
    /// The identity its parent's listing saw (the opened directory must still be it).
    id: FileId,
    depth: usize,
}

/// A subdirectory found by a listing.
struct Sub {
    name: Box<OsStr>,
    st: Stat,
}

/// One directory's listing, made on a worker thread.
#[derive(Default)]
struct Listing {
    files: Files,
    temps: Vec<(Box<OsStr>, Stat)>,
    subs: Vec<Sub>,
    seen: u64,
    errors: Vec<Error>,
    warnings: Vec<Error>,
}

/// What a listing needs to know, shared by the worker threads.
struct Lister<'a> {
    cfg: &'a ScanConfig,
    listener: &'a dyn Listener,
    globs: &'a Globs,
    root: &'a Path,
    root_dev: u64,
}

thread_local! {
    static DENTS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Lister<'_> {
    /// List one directory: open it (it must still be the one its parent's listing saw), read
    /// its entries in name order, and take each in.
    fn list(&self, p: &Pending) -> Listing {
        let mut out = Listing::default();
        let Some(fd) = self.open(p, &mut out) else {
            return out;
        };
        let mut entries: Vec<(Box<[u8]>, FileType)> = Vec::new();
        let read = DENTS.with_borrow_mut(|buf| {
            sys::read_dir(fd.as_fd(), buf, |name, kind| {
                entries.push((name.to_bytes_with_nul().into(), kind));
            })
        });
        if let Err(e) = read {
            out.errors.push(Error::io(&p.path, e));
            return out;
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, kind) in entries {
            let cname = CStr::from_bytes_with_nul(&name).unwrap_or_default();
            self.entry(p, fd.as_fd(), cname, kind, &mut out);
        }
        out
    }

    /// Open a queued directory for listing; `None` (with the reason in `out`) when it is gone
    /// or is not the directory its parent's listing saw.
    fn open(&self, p: &Pending, out: &mut Listing) -> Option<std::os::fd::OwnedFd> {
        let fd = match sys::open_dir_list(&p.path, p.depth == 0) {
            Ok(fd) => fd,
            // Removed (or replaced by a file) since its parent was listed.
            Err(e)
                if p.depth > 0
                    && matches!(Errno::from_io_error(&e), Some(Errno::NOENT | Errno::NOTDIR)) =>
            {
                out.warnings.push(Error::Changed {
                    path: p.path.clone(),
                    what: Moved::DirRemoved,
                });
                return None;
            }
            Err(e) => {
                out.errors.push(Error::io(&p.path, e));
                return None;
            }
        };
        match sys::stat_fd(fd.as_fd()) {
            Ok(st) if st.is_dir() && st.ident.id == p.id => Some(fd),
            Ok(_) => {
                // Replaced since its parent was listed: not the directory we meant.
                out.warnings.push(Error::Changed {
                    path: p.path.clone(),
                    what: Moved::DirSwapped,
                });
                None
            }
            Err(e) => {
                out.errors.push(Error::io(&p.path, e));
                None
            }
        }
    }

    /// Take in one entry of a listed directory: a subdirectory to walk, a file (a candidate,
    /// or a leftover temp name), or nothing (symlinks, FIFOs, sockets, devices; filtered out).
    fn entry(
        &self,
        p: &Pending,
        dir: std::os::fd::BorrowedFd<'_>,
        cname: &CStr,
        kind: FileType,
        out: &mut Listing,
    ) {
        let enter_subdirs = self.cfg.filters.descends_from(p.depth);
        let wanted = matches!(
            kind,
            FileType::RegularFile | FileType::Directory | FileType::Unknown
        );
        if !wanted || (kind == FileType::Directory && !enter_subdirs) {
            return; // symlinks, FIFOs, sockets, devices: never opened, never linked
        }
        let os = OsStr::from_bytes(cname.to_bytes());
        let path = || p.path.join(os);
        // Filters apply to what an entry is: before the `statx` when `getdents` says.
        let filtered =
            |is_dir: bool| !self.globs.is_empty() && !self.globs.wanted(self.root, &path(), is_dir);
        if kind != FileType::Unknown && filtered(kind == FileType::Directory) {
            return;
        }
        let st = match sys::stat_at(dir, cname) {
            Ok(st) => st,
            // Removed since the listing (e.g. another linkdup's temp name): nothing to scan.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => return out.errors.push(Error::io(path(), e)),
        };
        // Replaced between getdents and statx by another kind of entry, or not known from
        // the listing: filter it as what it is now.
        let now = if st.is_dir() {
            FileType::Directory
        } else {
            FileType::RegularFile
        };
        if kind != now && filtered(st.is_dir()) {
            return;
        }
        if st.is_dir() {
            if enter_subdirs
                && !(self.cfg.filters.one_file_system && st.ident.id.dev != self.root_dev)
            {
                out.subs.push(Sub {
                    name: os.into(),
                    st,
                });
            }
        } else if st.is_file() {
            self.file(cname, st, path, out);
        }
    }

    /// A regular file: a leftover temp name (never a candidate), or a record if its size is
    /// wanted.
    fn file(&self, cname: &CStr, st: Stat, path: impl Fn() -> PathBuf, out: &mut Listing) {
        let os = OsStr::from_bytes(cname.to_bytes());
        if crate::tempname::is_temp(os) {
            // Left by an interrupted run (or made to look like it): never a candidate.
            out.temps.push((os.into(), st));
            return;
        }
        out.seen += 1;
        let len = st.ident.len.0;
        if let Some(pr) = self.listener.progress() {
            pr.found(len);
        }
        if !self.cfg.filters.size.contains(len) {
            return;
        }
        if let Err(full) = out.files.push(
            DirIdx(0),
            cname.to_bytes(),
            &st.ident,
            st.nlink,
            st.attrs,
            st.mnt,
        ) {
            out.errors.push(too_many(path(), full));
        }
    }
}

fn too_many(path: PathBuf, full: Full) -> Error {
    Error::io(path, io::Error::other(format!("{}; not scanned", full.0)))
}

impl Walker<'_> {
    fn error(&mut self, err: Error) {
        self.listener.error(&err);
        self.out.errors += 1;
    }

    fn root(&mut self, root: &Path) {
        // The root may be (or pass through) a symlink the user typed: followed there, and only
        // there, and only when it is the user's own or root's (a glob over a shared directory
        // must not take a root run into a tree it was never given).
        let st = match crate::resolve::resolve(root, crate::resolve::Symlinks::Trusted) {
            Ok((_, st)) => st,
            Err(crate::resolve::Unresolved::Io { err, .. }) => {
                return self.error(Error::io(root, err));
            }
            Err(u) => return self.error(Error::from(u)),
        };
        if st.is_dir() {
            self.walk_dir(root, st);
        } else if st.is_file() {
            // A symlink to a file: link its target, by the target's real name.
            match sys::stat_path(root, false) {
                Ok(l) if l.is_file() => self.file_root(root, st),
                _ => match std::fs::canonicalize(root) {
                    Ok(real) => self.file_root(&real, st),
                    Err(e) => self.error(Error::io(root, e)),
                },
            }
        } else {
            self.error(Error::NotScanned {
                path: root.to_path_buf(),
                why: NotScanned::NotFileOrDir,
            });
        }
    }

    fn file_root(&mut self, root: &Path, st: Stat) {
        let parent = match root.parent() {
            Some(p) => p.to_path_buf(),
            None => return self.error(Error::io(root, io::Error::other("no parent directory"))),
        };
        let Some(name) = root.file_name() else {
            return self.error(Error::io(root, io::Error::other("not a file name")));
        };
        let pst = match sys::stat_path(&parent, true) {
            Ok(s) => s,
            Err(e) => return self.error(Error::io(parent, e)),
        };
        if !self.check_mount(&parent, &pst, true) {
            return;
        }
        let dir = self.register_dir(parent, &pst, None, OsStr::new(""));
        self.any_file_root = true;
        if crate::tempname::is_temp(name) {
            self.temp(dir, name, st);
            return;
        }
        self.out.files_seen += 1;
        if let Some(p) = self.listener.progress() {
            p.found(st.ident.len.0);
        }
        let len = st.ident.len.0;
        if !self.cfg.filters.size.contains(len) {
            return;
        }
        if let Err(full) =
            self.out
                .files
                .push(dir, name.as_bytes(), &st.ident, st.nlink, st.attrs, st.mnt)
        {
            self.error(too_many(root.to_path_buf(), full));
        }
    }

    /// Learn about the mount of a directory the first time it is seen. Returns false (after
    /// saying why) for a pseudo filesystem, which is never scanned.
    fn check_mount(&mut self, path: &Path, st: &Stat, is_root: bool) -> bool {
        if self.out.tree.mounts.contains_key(&st.mnt) {
            return true;
        }
        let facts = match sys::fs_facts(path) {
            Ok(f) => f,
            Err(e) => {
                self.error(Error::io(path, e));
                return false;
            }
        };
        if let Some(name) = sys::pseudo_fs_name(facts.magic) {
            let err = Error::NotScanned {
                path: path.to_path_buf(),
                why: NotScanned::PseudoFs(name),
            };
            if is_root {
                self.error(err);
            } else {
                self.listener.warn(&err);
            }
            return false;
        }
        self.out.tree.mounts.insert(
            st.mnt,
            MountInfo {
                readonly: facts.readonly,
                no_hard_links: sys::no_hard_links_fs_name(facts.magic),
                link_max: sys::link_max(facts.magic),
                reflink: sys::shares_extents_path(path, facts.magic),
            },
        );
        true
    }

    fn register_dir(
        &mut self,
        path: PathBuf,
        st: &Stat,
        parent: Option<DirIdx>,
        name: &OsStr,
    ) -> DirIdx {
        let id = st.ident.id;
        if let Some(&idx) = self.known.get(&id) {
            return idx;
        }
        let idx = DirIdx(self.out.tree.dirs.len() as u32);
        let above = match parent {
            Some(p) => self.out.tree.dir(p).public,
            None => crate::fsverify::public_above(&path),
        };
        self.out.tree.dirs.push(Dir {
            public: crate::fsverify::public(above, st),
            path,
            id,
            parent,
            name: name.to_owned(),
            attrs: st.attrs,
            mnt: st.mnt,
        });
        self.known.insert(id, idx);
        idx
    }

    /// Walk one directory root, level by level (see the module docs).
    fn walk_dir(&mut self, root: &Path, st: Stat) {
        if !self.walked.insert(st.ident.id) || !self.check_mount(root, &st, true) {
            return; // already walked through an earlier root
        }
        let idx = self.register_dir(root.to_path_buf(), &st, None, OsStr::new(""));
        let mut level = vec![Pending {
            idx,
            path: root.to_path_buf(),
            id: st.ident.id,
            depth: 0,
        }];
        while !level.is_empty() {
            let lister = Lister {
                cfg: self.cfg,
                listener: self.listener,
                globs: self.globs,
                root,
                root_dev: st.ident.id.dev,
            };
            let mut next = Vec::new();
            // A chunk of directories at a time, so that only a chunk's listings wait in memory.
            for chunk in level.chunks(CHUNK) {
                let listings: Vec<Listing> = chunk.par_iter().map(|p| lister.list(p)).collect();
                for (p, l) in chunk.iter().zip(listings) {
                    self.merge(p, l, &mut next);
                }
            }
            level = next;
        }
    }

    /// Take one listing in: its files, problems and subdirectories (deduped, numbered, queued).
    fn merge(&mut self, p: &Pending, l: Listing, next: &mut Vec<Pending>) {
        for e in l.errors {
            self.error(e);
        }
        for e in l.warnings {
            self.listener.warn(&e);
        }
        self.out.files_seen += l.seen;
        if let Err(full) = self.out.files.append(l.files, p.idx) {
            self.error(too_many(p.path.clone(), full));
        }
        for (name, st) in l.temps {
            self.temp(p.idx, &name, st);
        }
        for sub in l.subs {
            if !self.walked.insert(sub.st.ident.id) {
                continue; // already walked through another root or mount
            }
            let path = p.path.join(&*sub.name);
            if !self.check_mount(&path, &sub.st, false) {
                continue;
            }
            let idx = self.register_dir(path.clone(), &sub.st, Some(p.idx), &sub.name);
            next.push(Pending {
                idx,
                path,
                id: sub.st.ident.id,
                depth: p.depth + 1,
            });
        }
    }
}

impl Walker<'_> {
    /// Keep a temp name of linkdup's pattern (for recovery; never a candidate).
    fn temp(&mut self, dir: DirIdx, name: &OsStr, st: Stat) {
        match self.out.tree.loc(dir, name.as_bytes(), st.mnt) {
            Ok(loc) => self.out.temps.push(FileEntry {
                loc,
                ident: st.ident,
                nlink: st.nlink,
                attrs: st.attrs,
            }),
            Err(NamesFull) => {
                let path = self.out.tree.dir(dir).path.join(name);
                self.error(too_many(path, TOO_MANY_NAMES));
            }
        }
    }
}
