//! The command line (clap derive). The only file that knows clap: it turns arguments into a plain
//! [`Config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, Format, Gates, Mode};

#[derive(Parser, Debug)]
#[command(
    name = "linkdup",
    version,
    about = "Find duplicate files and replace them with hard links, safely",
    long_about = "Find duplicate files and replace the redundant copies with hard links to one kept \
copy. Every swap is atomic: at every instant each path names a file with its original content.",
    after_help = "Examples:\n  linkdup scan ~/Photos /backup/Photos\n  linkdup link --dry-run ~/Photos /backup/Photos\n  linkdup link ~/Photos /backup/Photos\n  linkdup link --yes --format json /srv/mirror > report.json"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Find groups of identical files and report them. Never modifies anything.
    #[command(
        after_help = "Examples:\n  linkdup scan ~/Photos /backup/Photos\n  linkdup scan -f json --min-size 1M /srv/data"
    )]
    Scan(Common),
    /// Replace duplicates with hard links to one kept copy (asks first unless --yes).
    #[command(
        after_help = "Examples:\n  linkdup link --dry-run ~/Photos /backup/Photos   # show the plan, change nothing\n  linkdup link ~/Photos /backup/Photos             # show a summary, ask, then link\n  linkdup link --yes -f json /srv/mirror           # from a script or cron"
    )]
    Link(LinkArgs),
    /// Resolve temporary names (.linkdup-XXXXXXXX) left by an interrupted run: each is removed
    /// only when its content provably lives on under another name, else left and reported.
    #[command(
        after_help = "Examples:\n  linkdup recover --dry-run /srv/backup\n  linkdup recover /srv/backup"
    )]
    Recover(RecoverArgs),
}

#[derive(Args, Debug)]
struct RecoverArgs {
    /// Directories to search (symlinks below them are never followed).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Say what would be done; change nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,

    /// Report format on stdout.
    #[arg(short, long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,

    /// Print only the summary line.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct Common {
    /// Files and directories to scan (symlinks below them are never followed).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Ignore files smaller than SIZE (bytes, or with K, M, G, T = KiB...; KB, MB = 1000...).
    #[arg(long, value_name = "SIZE", default_value = "1", value_parser = parse_size)]
    min_size: u64,

    /// Ignore files larger than SIZE.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,

    /// Report format on stdout (messages and errors go to stderr).
    #[arg(short, long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,

    /// Print only the summary line (errors still go to stderr).
    #[arg(short, long)]
    quiet: bool,

    /// Worker threads for hashing [default: one per core].
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,
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

    /// Also merge files whose owner or group differ (the keeper's owner wins).
    #[arg(long)]
    ignore_owner: bool,

    /// Also merge files whose permission bits differ (the keeper's mode wins).
    #[arg(long)]
    ignore_mode: bool,

    /// Only merge files with equal modification times.
    #[arg(long)]
    same_mtime: bool,

    /// Also merge files whose extended attributes (ACLs, SELinux labels, user attributes)
    /// differ (the keeper's win). Files with capabilities are never merged.
    #[arg(long)]
    ignore_xattrs: bool,

    /// Never let an inode reach more than N links (for filesystems that misreport the limit);
    /// a new keeper takes over beyond it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(2..))]
    max_links: Option<u64>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    Text,
    Json,
}

impl Cli {
    pub fn into_config(self) -> Config {
        let (common, mode, link) = match self.command {
            Command::Scan(c) => (c, Mode::Scan, None),
            Command::Recover(r) => {
                let common = Common {
                    paths: r.paths,
                    min_size: 1,
                    max_size: None,
                    format: r.format,
                    quiet: r.quiet,
                    threads: None,
                };
                (common, Mode::Recover { dry_run: r.dry_run }, None)
            }
            Command::Link(l) => {
                let mode = Mode::Link {
                    dry_run: l.dry_run,
                    yes: l.yes,
                };
                let gates = Gates {
                    ignore_owner: l.ignore_owner,
                    ignore_mode: l.ignore_mode,
                    same_mtime: l.same_mtime,
                    ignore_xattrs: l.ignore_xattrs,
                };
                (l.common, mode, Some((gates, l.max_links)))
            }
        };
        let (gates, max_links) = link.unwrap_or_default();
        Config {
            paths: common.paths,
            mode,
            min_size: common.min_size.max(1),
            max_size: common.max_size,
            format: match common.format {
                FormatArg::Text => Format::Text,
                FormatArg::Json => Format::Json,
            },
            quiet: common.quiet,
            threads: common.threads.unwrap_or(0),
            gates,
            max_links,
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
