//! The command line (clap derive). The only file that knows clap: it turns arguments into a plain
//! [`Config`].

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::{
    ApplyConfig, Command as Run, Config, Filters, Format, Gates, Globs, JournalsConfig, KeepPolicy,
    LinkConfig, Method, Output as OutputConfig, PlanPolicy, Prune, RecoverConfig, ScanConfig,
    SizeRange, SplitConfig, UndoConfig,
};

#[derive(Parser, Debug)]
#[command(
    name = "linkdup",
    version,
    about = "Find duplicate files and replace them with hard links, safely",
    long_about = "Find duplicate files and replace the redundant copies with hard links to one kept \
copy. Every swap is atomic: at every instant each path names a file with its original content.",
    after_help = "Examples:\n  linkdup scan ~/Photos /backup/Photos\n  linkdup link --dry-run ~/Photos /backup/Photos\n  linkdup link --keep-under ~/Photos ~/Photos /backup/Photos\n  linkdup link --yes --format json /srv/mirror > report.json"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    #[command(flatten)]
    global: Global,
}

/// Options every command takes, before or after its name (`linkdup -q link ...`).
#[derive(Args, Debug)]
struct Global {
    /// Print only the summary line (errors still go to stderr); no progress.
    #[arg(short, long, global = true)]
    quiet: bool,

    /// Show progress on stderr (auto: when stderr is a terminal; it never is drawn elsewhere).
    #[arg(long, value_enum, default_value_t = ProgressWhen::Auto, value_name = "WHEN", global = true)]
    progress: ProgressWhen,

    /// Colour the text report (NO_COLOR is respected with auto).
    #[arg(long, value_enum, default_value_t = When::Auto, value_name = "WHEN", global = true)]
    color: When,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Find groups of identical files and report them. Never modifies anything.
    #[command(
        after_help = "Examples:\n  linkdup scan ~/Photos /backup/Photos\n  linkdup scan -f json --min-size 1M /srv/data\n  linkdup scan -f fdupes --exclude '*.tmp' ."
    )]
    Scan(Common),
    /// Replace duplicates with hard links to one kept copy, or with --method reflink|auto make
    /// them share its extents, each keeping its own inode (asks first unless --yes).
    #[command(
        after_help = "Examples:\n  linkdup link --dry-run ~/Photos /backup/Photos   # show the plan, change nothing\n  linkdup link ~/Photos /backup/Photos             # show a summary, ask, then link\n  linkdup link --keep-under ~/Photos ~/Photos /backup\n  linkdup link --yes -f json /srv/mirror           # from a script or cron\n  linkdup link --method auto /srv                  # reflink on btrfs/XFS, hard links elsewhere"
    )]
    Link(LinkArgs),
    /// Resolve temporary names (.linkdup-tmp.*) left by an interrupted run: each is removed
    /// only when its content provably lives on under another name, else left and reported.
    #[command(
        after_help = "Examples:\n  linkdup recover --dry-run /srv/backup\n  linkdup recover /srv/backup"
    )]
    Recover(RecoverArgs),
    /// Give every path of each hard-linked set under PATH its own inode again, sharing the
    /// extents of the one it had (a reflink clone: no space is used), with exactly that inode's
    /// owner, mode, times and extended attributes, put in place by the executor's atomic
    /// exchange. Only on filesystems that can share extents (btrfs, bcachefs, XFS with
    /// reflink=1); elsewhere each path is skipped with the reason. The first path of each set
    /// (in byte order) keeps the original inode. Set-id files, files with capabilities,
    /// immutable and append-only files are never touched.
    #[command(
        after_help = "Examples:\n  linkdup split --dry-run /srv/backup\n  linkdup split /srv/backup\n\nTo undo one link run instead, use linkdup undo JOURNAL: on a filesystem that can share\nextents it clones too, so it costs no space either."
    )]
    Split(SplitArgs),
    /// Execute a plan saved by `link --dry-run --save-plan FILE`, after re-verifying every
    /// file: anything that changed since the plan is skipped and reported, never linked.
    #[command(
        after_help = "Examples:\n  linkdup link --dry-run --save-plan ~/plan.json /srv/backup\n  less ~/plan.json\n  linkdup apply ~/plan.json"
    )]
    Apply(ApplyArgs),
    /// Give every path recorded in an undo journal a file of its own again: its own copy of
    /// the bytes, with the owner, mode, times and extended attributes it had. Paths whose
    /// content changed since, or that were already split, are left alone and reported.
    #[command(
        after_help = "Examples:\n  linkdup undo --dry-run ~/.local/state/linkdup/journal-1764140000-4242.jsonl\n  linkdup undo JOURNAL --only /srv/photos/2024/beach.jpg"
    )]
    Undo(UndoArgs),
    /// List the undo journals in $XDG_STATE_HOME/linkdup (date, tree, paths, how many are left
    /// to undo); with --prune, remove the ones no longer needed.
    #[command(
        after_help = "Examples:\n  linkdup journals\n  linkdup journals --prune --undone --dry-run\n  linkdup journals --prune --older-than 90"
    )]
    Journals(JournalsArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  linkdup completions bash > ~/.local/share/bash-completion/completions/linkdup\n  linkdup completions zsh > ~/.zfunc/_linkdup"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(after_help = "Example:\n  linkdup man | man -l -")]
    Man,
}

#[derive(Args, Debug)]
struct Output {
    /// Report format on stdout (messages and errors go to stderr).
    #[arg(short, long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,

    /// Separate paths with NUL instead of newline (text and fdupes formats).
    #[arg(short = '0', long)]
    null: bool,

    /// Indent the JSON report (the default when stdout is a terminal; else it is one line).
    #[arg(long)]
    pretty: bool,

    /// Also show where the space goes: the N directories (default 10) holding the most
    /// reclaimable bytes, as a tree (text and JSON).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10", require_equals = true,
          value_parser = clap::value_parser!(u16).range(1..))]
    by_dir: Option<u16>,
}

/// The output options of `undo` and `recover`, which report as text or JSON only.
#[derive(Args, Debug)]
struct BriefOutput {
    /// Report format on stdout (messages and errors go to stderr).
    #[arg(short, long, value_enum, default_value_t = BriefFormat::Text)]
    format: BriefFormat,

    /// Indent the JSON report (the default when stdout is a terminal; else it is one line).
    #[arg(long)]
    pretty: bool,
}

#[derive(Args, Debug)]
struct Common {
    /// Files and directories to scan (symlinks below them are never followed).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Ignore files smaller than SIZE (bytes, or with K, M, G, T = KiB...; KB, MB = 1000...).
    /// Empty files are never candidates: linking them frees nothing.
    #[arg(long, value_name = "SIZE", default_value = "1", value_parser = parse_size)]
    min_size: u64,

    /// Ignore files larger than SIZE.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,

    /// Leave out paths matching GLOB (against the path below its root, and the name); repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,

    /// Only consider files matching GLOB (against the path below its root, and the name); repeatable.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,

    /// Stay on the filesystem of each root.
    #[arg(short = 'x', long)]
    one_file_system: bool,

    /// Descend at most N directories below each root.
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,

    /// Worker threads for walking and hashing, 1 to 256 [default: 8 per core, 8 to 64: they
    /// mostly wait for the disk].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,

    /// Remember hashes by (device, inode, size, mtime, ctime) so that unchanged files are not
    /// read again [file: $XDG_CACHE_HOME/linkdup/hashes.bin]. Pairs are still compared byte
    /// for byte before every swap.
    #[arg(long)]
    cache: bool,

    /// Use this hash cache file (implies --cache).
    #[arg(long, value_name = "FILE")]
    cache_file: Option<PathBuf>,

    #[command(flatten)]
    output: Output,
}

#[derive(Args, Debug)]
struct LinkArgs {
    #[command(flatten)]
    common: Common,

    /// Show every planned action and skipped file with its reason; change nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,

    /// Do not ask for confirmation (for scripts). Without it, linkdup refuses to run when stdin
    /// is not a terminal.
    #[arg(short, long)]
    yes: bool,

    /// Which copy of a group is kept.
    #[arg(long, value_enum, default_value_t = KeepArg::MostLinks, value_name = "POLICY")]
    keep: KeepArg,

    /// How duplicates are merged: hardlink (one inode for every path), reflink (each path keeps
    /// its own inode, owner, mode and times; the data shares extents: btrfs, bcachefs, XFS
    /// with reflink=1), or auto (reflink where the filesystem can, hard links elsewhere). With
    /// reflink, owner, mode, times and user.* attributes need not match.
    #[arg(long, value_enum, default_value_t = MethodArg::Hardlink, value_name = "METHOD")]
    method: MethodArg,

    /// Prefer keepers below DIR (e.g. the original library over its backup); repeatable.
    #[arg(long, value_name = "DIR")]
    keep_under: Vec<PathBuf>,

    /// Also merge files whose owner or group differ (the keeper's owner wins).
    #[arg(long)]
    ignore_owner: bool,

    /// Also merge files whose permission bits differ (the keeper's mode wins).
    #[arg(long)]
    ignore_mode: bool,

    /// Also merge files whose `user.*` extended attributes differ (the keeper's win). ACLs,
    /// security labels and capabilities are permissions: never merged.
    #[arg(long)]
    ignore_xattrs: bool,

    /// Also merge a file that others can't reach (some directory above it is closed to them)
    /// with a copy they can: its later edits become readable through the other path.
    #[arg(long)]
    ignore_dir_access: bool,

    /// Only merge files with equal modification times.
    #[arg(long)]
    same_mtime: bool,

    /// Record each swap in this undo journal [default: a new file in $XDG_STATE_HOME/linkdup].
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,

    /// With --dry-run: also write the exact plan to FILE (outside the scanned tree), to be
    /// reviewed and run later with `linkdup apply FILE`.
    #[arg(long, value_name = "FILE", requires = "dry_run")]
    save_plan: Option<PathBuf>,

    /// Never let an inode reach more than N links (for filesystems that misreport the limit);
    /// a new keeper takes over beyond it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(2..))]
    max_links: Option<u64>,
}

#[derive(Args, Debug)]
struct UndoArgs {
    /// The journal of the run to undo.
    #[arg(value_name = "JOURNAL")]
    journal: PathBuf,

    /// Only these paths (absolute, as the journal records them); repeatable.
    #[arg(long, value_name = "PATH")]
    only: Vec<PathBuf>,

    /// Say what would be done; change nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,

    #[command(flatten)]
    output: BriefOutput,
}

#[derive(Args, Debug)]
struct JournalsArgs {
    /// Remove the journals that meet every condition given (--undone, --older-than; at least
    /// one). A removed journal can't be undone any more.
    #[arg(long)]
    prune: bool,

    /// With --prune: journals with nothing left to undo (every path already has a file of its
    /// own, or is gone).
    #[arg(long, requires = "prune")]
    undone: bool,

    /// With --prune: journals last written more than DAYS days ago.
    #[arg(long, value_name = "DAYS", requires = "prune")]
    older_than: Option<u64>,

    /// Say what would be removed; remove nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,

    #[command(flatten)]
    output: BriefOutput,
}

impl JournalsArgs {
    fn into_config(self) -> Result<JournalsConfig, String> {
        let prune = if self.prune {
            if !self.undone && self.older_than.is_none() {
                return Err("--prune needs --undone, --older-than DAYS, or both".into());
            }
            Some(Prune {
                undone: self.undone,
                older_than: self
                    .older_than
                    .map(|d| std::time::Duration::from_secs(d.saturating_mul(86_400))),
            })
        } else {
            None
        };
        Ok(JournalsConfig {
            prune,
            dry_run: self.dry_run,
        })
    }
}

#[derive(Args, Debug)]
struct ApplyArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    plan: PathBuf,

    /// Show what the plan would do; change nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,

    /// Do not ask for confirmation.
    #[arg(short, long)]
    yes: bool,

    /// Record each swap in this undo journal [default: a new file in $XDG_STATE_HOME/linkdup].
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,

    #[command(flatten)]
    output: Output,
}

#[derive(Args, Debug)]
struct RecoverArgs {
    /// Directories to search (symlinks below them are never followed).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Say what would be done; change nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,

    /// Also take the swaps recorded in this undo journal (of yours) as proof of which temp
    /// names linkdup made [the journals in $XDG_STATE_HOME/linkdup are always read]; repeatable.
    #[arg(long, value_name = "FILE")]
    journal: Vec<PathBuf>,

    #[command(flatten)]
    output: BriefOutput,
}

#[derive(Args, Debug)]
struct SplitArgs {
    /// Directories to search (symlinks below them are never followed).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Say what would be done; change nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,

    #[command(flatten)]
    output: BriefOutput,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum BriefFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    Text,
    Json,
    Jsonl,
    Csv,
    Fdupes,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ProgressWhen {
    Auto,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum MethodArg {
    Hardlink,
    Reflink,
    Auto,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum KeepArg {
    MostLinks,
    Oldest,
    Newest,
    First,
}

/// What the binary does besides running a [`Config`].
pub enum Action {
    Run {
        config: Box<Config>,
        /// Draw progress bars on stderr.
        progress: bool,
    },
    /// Print this text to stdout and exit 0 (completions, man page).
    Print(Vec<u8>),
}

impl Cli {
    /// Turn the arguments into what to do; errors are usage errors (exit 2).
    pub fn into_action(self) -> Result<Action, String> {
        let g = &self.global;
        let (command, output, progress) = match self.command {
            Command::Completions { shell } => {
                let mut out = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "linkdup", &mut out);
                return Ok(Action::Print(out));
            }
            Command::Man => return man().map(Action::Print).map_err(|e| e.to_string()),
            Command::Scan(c) => {
                let (out, progress) = c.output.to_config(g);
                (Run::Scan(c.into_config()?), out, progress)
            }
            Command::Link(l) => {
                let (out, progress) = l.common.output.to_config(g);
                (Run::Link(l.into_config()?), out, progress)
            }
            Command::Apply(a) => {
                let (out, progress) = a.output.to_config(g);
                (Run::Apply(a.into_config()), out, progress)
            }
            Command::Undo(u) => {
                let (out, progress) = u.output.to_config(g);
                (Run::Undo(u.into_config()), out, progress)
            }
            Command::Journals(j) => {
                let (out, progress) = j.output.to_config(g);
                (Run::Journals(j.into_config()?), out, progress)
            }
            Command::Recover(r) => {
                let (out, progress) = r.output.to_config(g);
                (Run::Recover(r.into_config()), out, progress)
            }
            Command::Split(r) => {
                let (out, progress) = r.output.to_config(g);
                let config = SplitConfig {
                    scan: ScanConfig {
                        roots: r.paths,
                        ..ScanConfig::default()
                    },
                    dry_run: r.dry_run,
                };
                (Run::Split(config), out, progress)
            }
        };
        Ok(Action::Run {
            config: Box::new(Config { output, command }),
            progress,
        })
    }
}

/// Draw progress bars? Only on a terminal, and never with `--quiet`.
fn progress_on(quiet: bool, when: ProgressWhen) -> bool {
    !quiet && when == ProgressWhen::Auto && std::io::stderr().is_terminal()
}

/// Indent JSON for a person (asked, or stdout is a terminal); one line for a program.
fn pretty(asked: bool) -> bool {
    asked || std::io::stdout().is_terminal()
}

impl Output {
    /// The report's look, and whether to draw progress.
    fn to_config(&self, g: &Global) -> (OutputConfig, bool) {
        let color = match g.color {
            When::Never => false,
            When::Always => true,
            When::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let out = OutputConfig {
            format: match self.format {
                FormatArg::Text => Format::Text,
                FormatArg::Json => Format::Json,
                FormatArg::Jsonl => Format::Jsonl,
                FormatArg::Csv => Format::Csv,
                FormatArg::Fdupes => Format::Fdupes,
            },
            quiet: g.quiet,
            color,
            null: self.null,
            // Raw names reach a terminal only escaped, as `ls` shows them.
            raw: !std::io::stdout().is_terminal(),
            pretty: pretty(self.pretty),
            by_dir: self.by_dir.map(usize::from),
        };
        (out, progress_on(g.quiet, g.progress))
    }
}

impl BriefOutput {
    fn to_config(&self, g: &Global) -> (OutputConfig, bool) {
        let out = OutputConfig {
            format: match self.format {
                BriefFormat::Text => Format::Text,
                BriefFormat::Json => Format::Json,
            },
            quiet: g.quiet,
            pretty: pretty(self.pretty),
            ..OutputConfig::default()
        };
        (out, progress_on(g.quiet, g.progress))
    }
}

impl Common {
    /// The scan's config: globs compiled and sizes checked here, once.
    fn into_config(self) -> Result<ScanConfig, String> {
        let cache = match (self.cache_file, self.cache) {
            (Some(f), _) => Some(f),
            (None, true) => Some(crate::dirs::cache_file().ok_or(
                "no cache directory (neither XDG_CACHE_HOME nor HOME is set); use --cache-file FILE",
            )?),
            (None, false) => None,
        };
        Ok(ScanConfig {
            roots: self.paths,
            filters: Filters {
                globs: Globs::new(&self.exclude, &self.include)?,
                size: SizeRange::new(self.min_size, self.max_size)?,
                max_depth: self.max_depth,
                one_file_system: self.one_file_system,
            },
            threads: self.threads.map_or(0, usize::from),
            cache,
            extents: false,
        })
    }
}

impl LinkArgs {
    fn into_config(self) -> Result<LinkConfig, String> {
        Ok(LinkConfig {
            policy: PlanPolicy {
                gates: Gates {
                    ignore_owner: self.ignore_owner,
                    ignore_mode: self.ignore_mode,
                    same_mtime: self.same_mtime,
                    ignore_xattrs: self.ignore_xattrs,
                    ignore_dir_access: self.ignore_dir_access,
                },
                max_links: self.max_links,
                keep: match self.keep {
                    KeepArg::MostLinks => KeepPolicy::MostLinks,
                    KeepArg::Oldest => KeepPolicy::Oldest,
                    KeepArg::Newest => KeepPolicy::Newest,
                    KeepArg::First => KeepPolicy::First,
                },
                keep_under: self.keep_under,
                method: match self.method {
                    MethodArg::Hardlink => Method::Hardlink,
                    MethodArg::Reflink => Method::Reflink,
                    MethodArg::Auto => Method::Auto,
                },
            },
            scan: ScanConfig {
                extents: self.method != MethodArg::Hardlink,
                ..self.common.into_config()?
            },
            dry_run: self.dry_run,
            yes: self.yes,
            save_plan: self.save_plan,
            journal: self.journal,
        })
    }
}

impl ApplyArgs {
    fn into_config(self) -> ApplyConfig {
        ApplyConfig {
            plan: self.plan,
            dry_run: self.dry_run,
            yes: self.yes,
            journal: self.journal,
        }
    }
}

impl UndoArgs {
    fn into_config(self) -> UndoConfig {
        UndoConfig {
            only: self
                .only
                .iter()
                .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
                .collect(),
            journal: self.journal,
            dry_run: self.dry_run,
        }
    }
}

impl RecoverArgs {
    fn into_config(self) -> RecoverConfig {
        RecoverConfig {
            scan: ScanConfig {
                roots: self.paths,
                ..ScanConfig::default()
            },
            dry_run: self.dry_run,
            journals: self.journal,
        }
    }
}

/// Parse `123`, `10K`, `1.5M`, `2GiB`, `3MB`: K/M/G/T and KiB/MiB... are powers of 1024,
/// KB/MB/GB/TB powers of 1000.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let not_a_size = || format!("{s:?} is not a size (examples: 4096, 10K, 1.5M, 2GiB)");
    if num.is_empty() {
        return Err(not_a_size());
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "unknown size unit {unit:?} (use K, M, G, T, KiB, MB...)"
            ));
        }
    };
    let value: f64 = num.parse().map_err(|_| not_a_size())?;
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(bytes.round() as u64)
}

/// The whole manual as one page: every command with every option (from the same definitions
/// as `--help`), then exit status, files, environment and the safety notes.
fn man() -> std::io::Result<Vec<u8>> {
    let mut cmd = Cli::command();
    cmd.build();
    let top = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    top.render_title(&mut out)?;
    top.render_name_section(&mut out)?;
    top.render_synopsis_section(&mut out)?;
    top.render_description_section(&mut out)?;
    top.render_options_section(&mut out)?;
    // The commands, each described in its own section below (not in pages of their own).
    out.extend_from_slice(b".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        let line = format!(".TP\nlinkdup {}\n{}\n", sub.get_name(), roff_text(&about));
        out.extend_from_slice(line.as_bytes());
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = sub.get_name();
        out.extend_from_slice(format!(".SH \"LINKDUP {}\"\n", name.to_uppercase()).as_bytes());
        let page = clap_mangen::Man::new(sub.clone().bin_name(format!("linkdup {name}")));
        let mut part = Vec::new();
        page.render_synopsis_section(&mut part)?;
        page.render_description_section(&mut part)?;
        page.render_options_section(&mut part)?;
        // One section per command: its parts become subsections.
        let part = String::from_utf8_lossy(&part)
            .replace(".SH SYNOPSIS", ".SS Synopsis")
            .replace(".SH DESCRIPTION", ".SS Description")
            .replace(".SH OPTIONS", ".SS Options");
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(MAN_TAIL.as_bytes());
    Ok(out)
}

/// Text as a roff line: no line starts a request, `-` is a hyphen-minus.
fn roff_text(s: &str) -> String {
    let s = s.replace('\\', "\\\\").replace('-', "\\-");
    match s.strip_prefix(['.', '\'']) {
        Some(_) => format!("\\&{s}"),
        None => s,
    }
}

/// The sections of the manual that no option describes (roff).
const MAN_TAIL: &str = r#".SH "EXIT STATUS"
.TP
0
Success, also when there was nothing to do.
.TP
1
Some files could not be processed (each is named on stderr as linkdup: PATH: REASON), a
leftover temporary name of linkdup's could not be resolved, a saved plan was stale, or the
report could not be written. Everything else was done.
.TP
2
Usage error or refusal: no terminal to confirm on without \-\-yes, the answer was not yes, or a
state file is not provably yours. Nothing was changed.
.TP
130, 143
Interrupted by SIGINT or SIGTERM during the run: the current swap was finished, the rest
skipped, the report printed.
.SH FILES
.TP
$XDG_STATE_HOME/linkdup/journal\-TIME\-PID.jsonl
The undo journal of each real run (default ~/.local/state/linkdup). Mode 0600, in a 0700
directory; read back only when it is yours. See linkdup undo and linkdup journals.
.TP
$XDG_CACHE_HOME/linkdup/hashes.bin
The hash cache of \-\-cache (default ~/.cache/linkdup). Damaged or foreign caches are refused
or rebuilt, never trusted.
.TP
PLAN
A plan saved by link \-\-dry\-run \-\-save\-plan, run by linkdup apply after every file is
checked again.
.SH ENVIRONMENT
.TP
NO_COLOR
When set and not empty, \-\-color auto draws no colour.
.TP
XDG_STATE_HOME, XDG_CACHE_HOME, HOME
Where journals and the cache live (see FILES).
.TP
PAGER
The pager for Show the plan at the confirmation menu (default: less \-FRX).
.SH SAFETY
Every duplicate is replaced atomically: a temporary hard link to the kept copy is made beside
it and exchanged with it (renameat2 RENAME_EXCHANGE), then checked, then the old file's name is
removed. At every instant each path names a file with its original content. Both files are
compared byte for byte right before each swap, with read leases held, and every gate (owner,
group, mode, ACLs, extended attributes, set\-id bits, capabilities, immutable files, directory
access) is checked again on the live files. Files opened for writing are skipped. Linux only.
.SH "SEE ALSO"
The README of linkdup, which has the full safety design and the test matrix.
"#;

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        let ok = [
            ("0", 0),
            ("1", 1),
            ("4096", 4096),
            ("10K", 10240),
            ("10k", 10240),
            ("1.5M", 1_572_864),
            ("2GiB", 2 << 30),
            ("3MB", 3_000_000),
            ("1 KiB", 1024),
            ("7b", 7),
        ];
        for (s, want) in ok {
            assert_eq!(parse_size(s), Ok(want), "{s}");
        }
        for bad in ["", "K", "ten", "5X", "-1", "1..2M"] {
            assert!(parse_size(bad).is_err(), "{bad} should be rejected");
        }
    }
}
