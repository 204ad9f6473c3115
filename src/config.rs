//! The plain configuration every stage reads. Built by `cli.rs` from the command line; tests build
//! it directly (`Config::default()` plus the fields they need).

use std::path::PathBuf;

/// Which metadata must agree before two files are merged (the planner's gates).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gates {
    /// Merge files with different uid/gid.
    pub ignore_owner: bool,
    /// Merge files with different permission bits.
    pub ignore_mode: bool,
    /// Require equal modification times.
    pub same_mtime: bool,
    /// Merge files whose extended attributes (ACLs, labels, user attributes) differ.
    pub ignore_xattrs: bool,
}

/// Output format of the report on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
    /// One row per file: group, size, path, dev, ino, role.
    Csv,
    /// fdupes-style: the paths of each group one per line, groups separated by a blank line.
    Fdupes,
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

/// What the walk takes in.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Globs for paths to leave out (matched against the path below the root and the name).
    pub exclude: Vec<String>,
    /// When not empty, only files matching one of these globs are considered.
    pub include: Vec<String>,
    /// Do not cross into other filesystems below a root.
    pub one_file_system: bool,
    /// Do not descend more than this many directories below a root.
    pub max_depth: Option<usize>,
}

/// What to do after the scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Report duplicate groups; never modify anything.
    #[default]
    Scan,
    /// Plan and (unless `dry_run`) replace duplicates by hard links.
    Link { dry_run: bool, yes: bool },
    /// Resolve temporary names left by an interrupted run (`dry_run`: only say what would be
    /// done); `journals`: undo journals outside the state directory to take as proof.
    Recover {
        dry_run: bool,
        journals: Vec<PathBuf>,
    },
    /// Give the paths recorded in an undo journal files of their own again.
    Undo {
        journal: PathBuf,
        only: Vec<PathBuf>,
        dry_run: bool,
    },
    /// Execute a saved plan (after re-verifying every file).
    Apply {
        plan: PathBuf,
        dry_run: bool,
        yes: bool,
    },
}

#[derive(Clone, Debug)]
pub struct Config {
    pub paths: Vec<PathBuf>,
    pub mode: Mode,
    /// Files smaller than this are ignored (default 1: empty files are never linked).
    pub min_size: u64,
    pub max_size: Option<u64>,
    pub format: Format,
    pub quiet: bool,
    /// Worker threads for walking and hashing; 0 = 8 per core (8 to 64).
    pub threads: usize,
    pub gates: Gates,
    /// Largest link count to plan for on any filesystem (`None`: rely on `EMLINK` at run time).
    pub max_links: Option<u64>,
    pub filters: Filters,
    pub keep: KeepPolicy,
    /// Prefer keepers below these directories (e.g. the original library over its backup).
    pub keep_under: Vec<PathBuf>,
    /// Colour in the text report.
    pub color: bool,
    /// Separate paths in the text and fdupes reports with NUL instead of newlines.
    pub null: bool,
    /// Write paths as raw bytes in the byte-exact formats (`-0`, CSV); false on a terminal.
    pub raw: bool,
    /// Write the plan of a dry run to this file (outside the scanned tree).
    pub save_plan: Option<PathBuf>,
    /// The undo journal of a real run (default: a new file under the state directory).
    pub journal: Option<PathBuf>,
    /// The hash cache file (`None`: no cache).
    pub cache: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            paths: Vec::new(),
            mode: Mode::Scan,
            min_size: 1,
            max_size: None,
            format: Format::Text,
            quiet: false,
            threads: 0,
            gates: Gates::default(),
            max_links: None,
            filters: Filters::default(),
            keep: KeepPolicy::MostLinks,
            keep_under: Vec::new(),
            color: false,
            null: false,
            raw: true,
            save_plan: None,
            journal: None,
            cache: None,
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
