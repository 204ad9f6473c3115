//! The text report: one line per file, sizes in human units, names escaped so that no file name
//! can forge a line.

use std::io::{self, Write};

use humansize::{BINARY, format_size};

use super::escape::Escaped;
use super::{LinkReport, redundancy};
use crate::model::{Outcome, ScanOutput};
use crate::recover::Recovered;

fn size(n: u64) -> String {
    format_size(n, BINARY)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Duplicate groups, each file on its own line; extra hard links of one inode are marked.
pub fn scan(w: &mut dyn Write, scan: &ScanOutput, quiet: bool) -> io::Result<()> {
    let tree = &scan.tree;
    if !quiet {
        for g in &scan.groups {
            writeln!(
                w,
                "{} × {}",
                size(g.len.0),
                plural(g.inodes.len() as u64, "copy", "copies")
            )?;
            for inode in &g.inodes {
                let first = tree.path(&inode.paths[0]);
                writeln!(w, "  {}", Escaped(&first))?;
                for p in &inode.paths[1..] {
                    writeln!(
                        w,
                        "  {}  (hard link of {})",
                        Escaped(&tree.path(p)),
                        Escaped(&first)
                    )?;
                }
            }
            writeln!(w)?;
        }
    }
    let (redundant, bytes) = redundancy(scan);
    writeln!(
        w,
        "Found {} with {}, {} reclaimable ({} scanned).",
        plural(
            scan.groups.len() as u64,
            "duplicate group",
            "duplicate groups"
        ),
        plural(redundant, "redundant copy", "redundant copies"),
        size(bytes),
        plural(scan.files_scanned, "file", "files"),
    )
}

/// Every action with its status, every skipped file with its reason, then the totals.
pub fn link(w: &mut dyn Write, r: &LinkReport<'_>, quiet: bool) -> io::Result<()> {
    let tree = &r.scan.tree;
    if !quiet {
        let mut outcomes = r.outcomes.iter();
        for g in &r.plan.groups {
            let kpath = tree.path(&g.keeper.loc);
            let retimed = g
                .actions
                .iter()
                .filter(|a| a.victim.expect.mtime != a.keeper.expect.mtime)
                .count() as u64;
            let note = if retimed > 0 {
                format!(
                    "  ({} take its modification time)",
                    plural(retimed, "path", "paths")
                )
            } else {
                String::new()
            };
            writeln!(w, "keep     {}  {}{note}", size(g.len.0), Escaped(&kpath))?;
            for action in &g.actions {
                let outcome = outcomes.next().unwrap_or(&Outcome::Planned);
                let (word, why) = match outcome {
                    Outcome::Planned => ("link", String::new()),
                    Outcome::Linked { .. } => ("linked", String::new()),
                    Outcome::Skipped(why) => ("skipped", format!(": {why}")),
                    Outcome::Failed(e) => ("FAILED", format!(": {e}")),
                };
                let mut notes = Vec::new();
                if action.outside_links > 0 && !action.frees {
                    notes.push(format!(
                        "frees nothing: {} outside the scanned paths",
                        plural(action.outside_links, "link", "links")
                    ));
                }
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", notes.join("; "))
                };
                writeln!(
                    w,
                    "{word:<8} {}  {} -> {}{notes}{why}",
                    size(g.len.0),
                    Escaped(&tree.path(&action.victim.loc)),
                    Escaped(&tree.path(&action.keeper.loc)),
                )?;
            }
            writeln!(w)?;
        }
        if !r.plan.skipped.is_empty() {
            writeln!(w, "Skipped:")?;
            for s in &r.plan.skipped {
                writeln!(w, "  {}: {}", Escaped(&tree.path(&s.loc)), s.reason)?;
            }
            writeln!(w)?;
        }
    }
    let s = r.summary;
    let skipped = s.skipped + r.plan.skipped.len() as u64;
    if r.dry_run {
        writeln!(
            w,
            "Dry run: would replace {} in {} with hard links, reclaiming {} ({} scanned, {} skipped). Nothing was changed.",
            plural(s.planned, "duplicate", "duplicates"),
            plural(s.groups, "group", "groups"),
            size(s.reclaimable_bytes),
            plural(s.files_scanned, "file", "files"),
            skipped,
        )
    } else {
        writeln!(
            w,
            "Replaced {} in {} with hard links, reclaiming {} ({} scanned); {} skipped, {} failed{}.",
            plural(s.linked, "duplicate", "duplicates"),
            plural(s.groups, "group", "groups"),
            size(s.reclaimed_bytes),
            plural(s.files_scanned, "file", "files"),
            skipped,
            s.failed,
            if s.interrupted { "; interrupted" } else { "" },
        )
    }
}

/// What recovery did with each leftover temp name.
pub fn recover(
    w: &mut dyn Write,
    scan: &ScanOutput,
    results: &[Recovered],
    dry_run: bool,
    quiet: bool,
) -> io::Result<()> {
    let (mut removed, mut left) = (0u64, 0u64);
    for (t, r) in scan.temps.iter().zip(results) {
        let path = scan.tree.path(&t.file.loc);
        let (word, why) = match r {
            Recovered::Removed { why } => {
                removed += 1;
                (if dry_run { "remove" } else { "removed" }, why.clone())
            }
            Recovered::Left { why } => {
                left += 1;
                ("left", why.clone())
            }
            Recovered::Failed(e) => {
                left += 1;
                ("FAILED", e.to_string())
            }
        };
        if !quiet {
            writeln!(w, "{word:<8} {}: {why}", Escaped(&path))?;
        }
    }
    writeln!(
        w,
        "{} {} of {}; {} left in place{}.",
        if dry_run { "Would remove" } else { "Removed" },
        removed,
        plural(
            removed + left,
            "leftover temporary name",
            "leftover temporary names"
        ),
        left,
        if dry_run { ". Nothing was changed" } else { "" },
    )
}
