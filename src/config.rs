//! What each command is asked to do, as plain values: one [`Config`] per run, holding the
//! output options and one [`Command`] with that command's own config. Built by `cli.rs` from
//! the command line (where sizes and globs are validated, once); tests build them directly.
//! A stage receives only the part it reads: the scan a [`ScanConfig`], the planner a
//! [`PlanPolicy`], the executor [`RunOptions`].

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

/// One run of linkdup.
#[derive(Clone, Debug)]
pub struct Config {
    pub output: Output,
    pub command: Command,
}

/// What to do, with the options that command has.
#[derive(Clone, Debug)]
pub enum Command {
    /// Report duplicate groups; never modify anything.
    Scan(ScanConfig),
    /// Plan and (unless a dry run) replace duplicates by hard links.
    Link(LinkConfig),
    /// Execute a saved plan, after re-verifying every file.
    Apply(ApplyConfig),
    /// Give the paths recorded in an undo journal files of their own again.
    Undo(UndoConfig),
    /// Resolve temporary names left by an interrupted run.
    Recover(RecoverConfig),
    /// Give every path of each hard-linked set its own inode again, sharing extents.
    Split(SplitConfig),
    /// List the undo journals in the state directory; remove the ones asked for.
    Journals(JournalsConfig),
}

/// How the report on stdout looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    /// Only the summary line.
    pub quiet: bool,
    /// Colour in the text report.
    pub color: bool,
    /// Paths separated by NUL instead of newlines (text and fdupes).
    pub null: bool,
    /// Paths as their raw bytes where the format is byte-exact (`-0`, CSV); false when stdout
    /// is a terminal, where they are escaped like the text report's.
    pub raw: bool,
    /// Indent the JSON report (`--pretty`, or stdout is a terminal); else it is one line.
    pub pretty: bool,
    /// Where the space goes: the N directories holding the most reclaimable bytes.
    pub by_dir: Option<usize>,
}

/// Output format of the report on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
    /// JSON Lines: one object per group or action, as written, then a summary line.
    Jsonl,
    /// One row per file: group, size, path, dev, ino, role.
    Csv,
    /// fdupes-style: the paths of each group one per line, groups separated by a blank line.
    Fdupes,
}

impl Format {
    /// Is this a JSON format (whose report carries the run's errors and warnings)?
    pub fn is_json(self) -> bool {
        matches!(self, Format::Json | Format::Jsonl)
    }
}

/// What the scan reads: where to look, what to take in, how many threads, which cache.
#[derive(Clone, Debug, Default)]
pub struct ScanConfig {
    pub roots: Vec<PathBuf>,
    pub filters: Filters,
    /// Worker threads for walking and hashing; 0 = 8 per core (8 to 64).
    pub threads: usize,
    /// The hash cache file (`None`: no cache).
    pub cache: Option<PathBuf>,
    /// Read where the data of each duplicate lies (`FIEMAP`) on filesystems whose files can
    /// share extents: for `--method reflink|auto`.
    pub extents: bool,
}

/// `link`: a scan, the planner's policy, and what to do with the plan.
#[derive(Clone, Debug, Default)]
pub struct LinkConfig {
    pub scan: ScanConfig,
    pub policy: PlanPolicy,
    /// Show the plan; change nothing.
    pub dry_run: bool,
    /// Do not ask.
    pub yes: bool,
    /// With a dry run: write the plan to this file (outside the scanned tree).
    pub save_plan: Option<PathBuf>,
    /// The undo journal of a real run (default: a new file under the state directory).
    pub journal: Option<PathBuf>,
}

/// `apply`: a saved plan, run like `link`.
#[derive(Clone, Debug, Default)]
pub struct ApplyConfig {
    pub plan: PathBuf,
    pub dry_run: bool,
    pub yes: bool,
    pub journal: Option<PathBuf>,
}

/// `undo`: a journal, and optionally the only paths to give back.
#[derive(Clone, Debug, Default)]
pub struct UndoConfig {
    pub journal: PathBuf,
    /// Absolute paths, as journals record them; empty: every path.
    pub only: Vec<PathBuf>,
    pub dry_run: bool,
}

/// `journals`: list them; with `prune`, remove those that meet every condition it gives.
#[derive(Clone, Debug, Default)]
pub struct JournalsConfig {
    pub prune: Option<Prune>,
    pub dry_run: bool,
}

/// Which journals `journals --prune` removes: those meeting every condition given (at least
/// one is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prune {
    /// Nothing is left to undo: every path already has its own file, or is gone.
    pub undone: bool,
    /// Last written more than this long ago.
    pub older_than: Option<std::time::Duration>,
}

/// `split`: where to look for hard-linked sets.
#[derive(Clone, Debug, Default)]
pub struct SplitConfig {
    pub scan: ScanConfig,
    pub dry_run: bool,
}

/// `recover`: where to look for temp names, and which extra journals prove them ours.
#[derive(Clone, Debug, Default)]
pub struct RecoverConfig {
    pub scan: ScanConfig,
    pub dry_run: bool,
    /// Undo journals outside the state directory to take as proof.
    pub journals: Vec<PathBuf>,
}

/// What the walk takes in. Built once, valid by construction: the globs are compiled and the
/// size range is checked when it is made.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub globs: Globs,
    pub size: SizeRange,
    /// Do not descend more than this many directories below a root.
    pub max_depth: Option<usize>,
    /// Do not cross into other filesystems below a root.
    pub one_file_system: bool,
}

impl Filters {
    /// May the walk list the subdirectories of a directory at `depth` below its root?
    pub fn descends_from(&self, depth: usize) -> bool {
        self.max_depth.is_none_or(|m| depth < m)
    }
}

/// The sizes of the files considered. Empty files are never candidates (linking them frees
/// nothing), whatever the minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeRange {
    min: u64,
    max: Option<u64>,
}

impl Default for SizeRange {
    fn default() -> Self {
        SizeRange { min: 1, max: None }
    }
}

impl SizeRange {
    /// Files of `min` to `max` bytes (both included); an error when the range is empty.
    pub fn new(min: u64, max: Option<u64>) -> Result<SizeRange, String> {
        match max {
            Some(m) if m < min.max(1) => Err(format!(
                "--max-size {m} is below --min-size {}: no file could be considered",
                min.max(1)
            )),
            _ => Ok(SizeRange {
                min: min.max(1),
                max,
            }),
        }
    }

    pub fn contains(&self, len: u64) -> bool {
        len >= self.min && self.max.is_none_or(|m| len <= m)
    }
}

/// `--exclude` / `--include`, compiled; matched against the path below the root, the path as
/// given (from the current directory), and the name. Spelled as in `.gitignore`, fd and rg: a
/// trailing `/` (`crates/`) and a leading `./` are accepted.
#[derive(Clone, Debug, Default)]
pub struct Globs {
    exclude: Patterns,
    include: Option<Patterns>,
}

/// One option's globs, and which of them matched anything (for the warning about those that
/// matched nothing: a misspelled exclude silently excludes nothing).
#[derive(Clone, Debug, Default)]
struct Patterns {
    set: GlobSet,
    given: Vec<String>,
    hit: std::sync::Arc<Vec<std::sync::atomic::AtomicBool>>,
}

impl Patterns {
    fn new(globs: &[String]) -> Result<Patterns, String> {
        let mut b = GlobSetBuilder::new();
        for g in globs {
            let spelled = g.strip_prefix("./").unwrap_or(g);
            let spelled = match spelled.trim_end_matches('/') {
                "" => spelled,
                s => s,
            };
            b.add(Glob::new(spelled).map_err(|e| format!("invalid glob {g:?}: {e}"))?);
        }
        Ok(Patterns {
            set: b.build().map_err(|e| format!("invalid globs: {e}"))?,
            given: globs.to_vec(),
            hit: std::sync::Arc::new(globs.iter().map(|_| Default::default()).collect()),
        })
    }

    fn matches(&self, root: &Path, path: &Path) -> bool {
        let rel = path.strip_prefix(root).unwrap_or(path);
        let given = path.strip_prefix(".").unwrap_or(path);
        let mut found = false;
        for candidate in [rel, given]
            .into_iter()
            .chain(path.file_name().map(Path::new))
        {
            for i in self.set.matches(candidate) {
                found = true;
                self.hit[i].store(true, std::sync::atomic::Ordering::Relaxed);
            }
            if found {
                break;
            }
        }
        found
    }

    fn unused(&self) -> impl Iterator<Item = &str> {
        self.given
            .iter()
            .zip(self.hit.iter())
            .filter(|(_, h)| !h.load(std::sync::atomic::Ordering::Relaxed))
            .map(|(g, _)| g.as_str())
    }
}

impl Globs {
    /// Compile the globs; an invalid one is an error naming it.
    pub fn new(exclude: &[String], include: &[String]) -> Result<Globs, String> {
        Ok(Globs {
            exclude: Patterns::new(exclude)?,
            include: if include.is_empty() {
                None
            } else {
                Some(Patterns::new(include)?)
            },
        })
    }

    pub fn is_empty(&self) -> bool {
        self.exclude.set.is_empty() && self.include.is_none()
    }

    /// Is this entry taken in? Directories are only ever excluded (includes select files).
    pub fn wanted(&self, root: &Path, path: &Path, is_dir: bool) -> bool {
        if !self.exclude.set.is_empty() && self.exclude.matches(root, path) {
            return false;
        }
        is_dir
            || self
                .include
                .as_ref()
                .is_none_or(|inc| inc.matches(root, path))
    }

    /// The globs that matched nothing so far, with their option (`--exclude`, `--include`).
    pub fn unused(&self) -> Vec<(&'static str, String)> {
        let exclude = self.exclude.unused().map(|g| ("--exclude", g.to_string()));
        let include = self
            .include
            .iter()
            .flat_map(|p| p.unused())
            .map(|g| ("--include", g.to_string()));
        exclude.chain(include).collect()
    }
}

/// Which metadata must agree before two files are merged (the planner's gates).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gates {
    /// Merge files with different uid/gid.
    pub ignore_owner: bool,
    /// Merge files with different permission bits.
    pub ignore_mode: bool,
    /// Require equal modification times.
    pub same_mtime: bool,
    /// Merge files whose `user.*` extended attributes differ (ACLs and labels never).
    pub ignore_xattrs: bool,
    /// Merge a file others can't reach (a directory above it closed to them) with one they can.
    pub ignore_dir_access: bool,
}

/// Which inode of a group is kept (before `keep_under`, which always comes first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeepPolicy {
    /// The most links, then the oldest, then the first path.
    #[default]
    MostLinks,
    /// The oldest modification time, then the first path.
    Oldest,
    /// The newest modification time, then the first path.
    Newest,
    /// The first path in byte order.
    First,
}

/// How the planner decides: the gates, the link budget and the keeper.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanPolicy {
    pub gates: Gates,
    /// Largest link count to plan for on any filesystem (`None`: rely on `EMLINK` at run time).
    pub max_links: Option<u64>,
    pub keep: KeepPolicy,
    /// Prefer keepers below these directories (e.g. the original library over its backup).
    pub keep_under: Vec<PathBuf>,
    pub method: Method,
}

/// How duplicates are merged (`--method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// Hard links: one inode for every path.
    #[default]
    Hardlink,
    /// Shared extents (reflink); a filesystem that can't share them is skipped, with the reason.
    Reflink,
    /// Shared extents where the filesystem can, hard links elsewhere.
    Auto,
}

impl PlanPolicy {
    /// What the executor enforces of this policy on every pair.
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            gates: self.gates,
            max_links: self.max_links,
        }
    }
}

/// What the executor enforces on every pair right before its swap, whatever the plan says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    pub gates: Gates,
    /// Most links an inode may reach (besides the filesystem's own limit).
    pub max_links: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_ranges() {
        let r = SizeRange::default();
        assert!(!r.contains(0) && r.contains(1) && r.contains(u64::MAX));
        let r = SizeRange::new(0, None).unwrap();
        assert!(!r.contains(0), "empty files are never candidates");
        let r = SizeRange::new(10, Some(20)).unwrap();
        for (len, want) in [(9, false), (10, true), (20, true), (21, false)] {
            assert_eq!(r.contains(len), want, "{len}");
        }
        assert!(SizeRange::new(10, Some(9)).is_err());
        assert!(SizeRange::new(0, Some(0)).is_err());
        assert!(SizeRange::new(5, Some(5)).unwrap().contains(5));
    }

    #[test]
    fn globs() {
        let g = Globs::new(&["*.tmp".into()], &[]).unwrap();
        let root = Path::new("/r");
        assert!(!g.wanted(root, Path::new("/r/a/x.tmp"), false));
        assert!(g.wanted(root, Path::new("/r/a/x.txt"), false));
        let g = Globs::new(&[], &["*.jpg".into()]).unwrap();
        assert!(
            g.wanted(root, Path::new("/r/dir"), true),
            "dirs are only excluded"
        );
        assert!(!g.wanted(root, Path::new("/r/a.png"), false));
        assert!(g.wanted(root, Path::new("/r/a.jpg"), false));
        assert!(Globs::new(&["a[".into()], &[]).unwrap_err().contains("a["));
        assert!(Globs::default().is_empty());
    }
}
