//! Walks the roots with walkdir and turns every regular file into a [`FileEntry`]. Never follows a
//! symlink below a root; never opens anything (symlinks, FIFOs, sockets and devices are skipped
//! from their directory entry type and a `statx` that does not follow links). A directory reached
//! twice (overlapping roots, `a/.`, bind mounts of one directory) is walked once.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use crate::config::Config;
use crate::error::Error;
use crate::listener::{Listener, Stage};
use crate::model::{Dir, DirIdx, FileEntry, FileId, Loc, MountInfo, Tree};
use crate::sys::{self, Stat};

/// What the walk found.
#[derive(Debug, Default)]
pub struct Walked {
    pub tree: Tree,
    /// Regular files within the size limits.
    pub files: Vec<FileEntry>,
    /// Names of linkdup's temp pattern: never candidates; resolved by [`crate::recover`].
    pub temps: Vec<FileEntry>,
    /// Regular files seen, whatever their size.
    pub files_seen: u64,
    pub errors: u64,
}

struct Walker<'a> {
    cfg: &'a Config,
    listener: &'a dyn Listener,
    out: Walked,
    /// Directories known by identity (walked, or registered as the parent of a file root).
    known: HashMap<FileId, DirIdx>,
    walked: HashSet<FileId>,
    any_file_root: bool,
    globs: Globs,
}

/// `--exclude` / `--include`, matched against the path below the root and against the name.
struct Globs {
    exclude: GlobSet,
    include: Option<GlobSet>,
}

impl Globs {
    fn new(cfg: &Config) -> Result<Globs, Error> {
        let build = |globs: &[String]| {
            let mut b = GlobSetBuilder::new();
            for g in globs {
                b.add(Glob::new(g).map_err(|e| Error::Usage(format!("invalid glob {g:?}: {e}")))?);
            }
            b.build()
                .map_err(|e| Error::Usage(format!("invalid globs: {e}")))
        };
        let f = &cfg.filters;
        Ok(Globs {
            exclude: build(&f.exclude)?,
            include: if f.include.is_empty() {
                None
            } else {
                Some(build(&f.include)?)
            },
        })
    }

    fn matches(set: &GlobSet, root: &Path, path: &Path) -> bool {
        let rel = path.strip_prefix(root).unwrap_or(path);
        set.is_match(rel) || path.file_name().is_some_and(|n| set.is_match(n))
    }

    /// Is this entry taken in? Directories are only ever excluded (includes select files).
    fn wanted(&self, root: &Path, path: &Path, is_dir: bool) -> bool {
        if !self.exclude.is_empty() && Self::matches(&self.exclude, root, path) {
            return false;
        }
        is_dir
            || self
                .include
                .as_ref()
                .is_none_or(|inc| Self::matches(inc, root, path))
    }
}

/// Walk every root of `cfg.paths`.
pub fn walk(cfg: &Config, listener: &dyn Listener) -> Result<Walked, Error> {
    let mut w = Walker {
        globs: Globs::new(cfg)?,
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
    for root in &cfg.paths {
        w.root(root);
    }
    if w.any_file_root {
        // A file given as a root may also be reached through a walked directory: keep one entry.
        w.out
            .files
            .sort_by(|a, b| (a.loc.dir, &a.loc.name).cmp(&(b.loc.dir, &b.loc.name)));
        let before = w.out.files.len();
        w.out
            .files
            .dedup_by(|a, b| a.loc.dir == b.loc.dir && a.loc.name == b.loc.name);
        w.out.files_seen -= (before - w.out.files.len()) as u64;
    }
    Ok(w.out)
}

impl Walker<'_> {
    fn error(&mut self, err: Error) {
        self.listener.error(&err);
        self.out.errors += 1;
    }

    fn root(&mut self, root: &Path) {
        // The root itself may be a symlink the user typed: follow it there, and only there.
        let st = match sys::stat_path(root, true) {
            Ok(st) => st,
            Err(e) => return self.error(Error::io(root, e)),
        };
        if st.is_dir() {
            self.walk_dir(root);
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
            self.error(Error::Changed {
                path: root.to_path_buf(),
                what: "not a regular file or directory".into(),
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
        if crate::execute::is_temp_name(name) {
            self.out.temps.push(entry_of(dir, name, st));
            return;
        }
        self.add_file(dir, name, st);
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
            let err = Error::Changed {
                path: path.to_path_buf(),
                what: format!("{name} is a pseudo filesystem; not scanned"),
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
        self.out.tree.dirs.push(Dir {
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

    fn add_file(&mut self, dir: DirIdx, name: &OsStr, st: Stat) {
        self.out.files_seen += 1;
        if let Some(p) = self.listener.progress() {
            p.found(st.ident.len.0);
        }
        let len = st.ident.len.0;
        if len < self.cfg.min_size || self.cfg.max_size.is_some_and(|m| len > m) {
            return;
        }
        self.out.files.push(entry_of(dir, name, st));
    }

    fn walk_dir(&mut self, root: &Path) {
        let f = &self.cfg.filters;
        let mut walker = WalkDir::new(root)
            .follow_links(false)
            .same_file_system(f.one_file_system)
            .sort_by_file_name();
        if let Some(d) = f.max_depth {
            // Depth counts directories below the root; files sit one deeper.
            walker = walker.max_depth(d + 1);
        }
        let mut it = walker.into_iter();
        // stack[d] = the directory at depth d on the current branch.
        let mut stack: Vec<DirIdx> = Vec::new();
        while let Some(next) = it.next() {
            let entry = match next {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().unwrap_or(root).to_path_buf();
                    let err = e
                        .io_error()
                        .and_then(io::Error::raw_os_error)
                        .map(io::Error::from_raw_os_error)
                        .unwrap_or_else(|| io::Error::other(e.to_string()));
                    self.error(Error::io(path, err));
                    continue;
                }
            };
            let depth = entry.depth();
            let ft = entry.file_type();
            if !(ft.is_dir() || ft.is_file()) {
                continue; // symlinks, FIFOs, sockets, devices: never opened, never linked
            }
            if depth > 0 && !self.globs.wanted(root, entry.path(), ft.is_dir()) {
                if ft.is_dir() {
                    it.skip_current_dir();
                }
                continue;
            }
            let st = match sys::stat_path(entry.path(), depth == 0) {
                Ok(st) => st,
                Err(e) => {
                    self.error(Error::io(entry.path(), e));
                    if ft.is_dir() {
                        it.skip_current_dir();
                    }
                    continue;
                }
            };
            if ft.is_dir() {
                if self.cfg.filters.max_depth.is_some_and(|m| depth > m) {
                    continue; // beyond --max-depth: not entered, so not "walked" either
                }
                if !st.is_dir() || !self.walked.insert(st.ident.id) {
                    // Replaced since readdir, or already walked through another root or mount.
                    it.skip_current_dir();
                    continue;
                }
                let parent = depth.checked_sub(1).map(|d| stack[d]);
                let name = if depth == 0 {
                    OsStr::new("")
                } else {
                    entry.file_name()
                };
                if !self.check_mount(entry.path(), &st, depth == 0) {
                    it.skip_current_dir();
                    continue;
                }
                let idx = self.register_dir(entry.path().to_path_buf(), &st, parent, name);
                stack.truncate(depth);
                stack.push(idx);
            } else if st.is_file() && depth > 0 {
                let dir = stack[depth - 1];
                if crate::execute::is_temp_name(entry.file_name()) {
                    // Left by an interrupted run (or made to look like it): never a candidate.
                    self.out.temps.push(entry_of(dir, entry.file_name(), st));
                    continue;
                }
                self.add_file(dir, entry.file_name(), st);
            }
        }
    }
}

fn entry_of(dir: DirIdx, name: &OsStr, st: Stat) -> FileEntry {
    FileEntry {
        loc: Loc {
            dir,
            name: name.into(),
            mnt: st.mnt,
        },
        ident: st.ident,
        nlink: st.nlink,
        attrs: st.attrs,
    }
}
