//! The text report: one line per file, sizes in human units, names escaped so that no file name
//! can forge a line, colour when asked, and a summary line a person reads first.

use std::io::{self, Write};
use std::time::Duration;

use console::Style;
use humansize::{BINARY, format_size};

use super::{LinkReport, redundancy};
use crate::config::Output;
use crate::escape::Escaped;
use crate::model::{GroupPlan, Outcome, ScanOutput, Summary};
use crate::recover::Recovered;

fn size(n: u64) -> String {
    format_size(n, BINARY)
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A time as `2026-12-07 17:50:02 UTC`.
pub fn utc(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

/// "1 file", "2,000 files".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

struct Paint {
    on: bool,
}

impl Paint {
    fn style(&self, s: Style) -> Style {
        s.force_styling(self.on)
    }
    fn bold(&self, t: impl std::fmt::Display) -> String {
        self.style(Style::new().bold()).apply_to(t).to_string()
    }
    fn green(&self, t: impl std::fmt::Display) -> String {
        self.style(Style::new().green()).apply_to(t).to_string()
    }
    fn yellow(&self, t: impl std::fmt::Display) -> String {
        self.style(Style::new().yellow()).apply_to(t).to_string()
    }
    fn red(&self, t: impl std::fmt::Display) -> String {
        self.style(Style::new().red().bold())
            .apply_to(t)
            .to_string()
    }
    fn dim(&self, t: impl std::fmt::Display) -> String {
        let t = t.to_string();
        if t.is_empty() {
            return t;
        }
        self.style(Style::new().dim()).apply_to(t).to_string()
    }
}

/// Duplicate groups, each file on its own line; extra hard links of one inode are marked.
pub fn scan(
    w: &mut dyn Write,
    scan: &ScanOutput,
    look: &Output,
    elapsed: Duration,
) -> io::Result<()> {
    if look.null {
        return super::fdupes::scan(w, scan, true, look.raw);
    }
    let p = Paint { on: look.color };
    let tree = &scan.tree;
    if !look.quiet {
        for g in scan.groups.iter() {
            let head = format!(
                "{} × {}",
                size(g.len.0),
                plural(g.inodes.len() as u64, "copy", "copies")
            );
            writeln!(w, "{}", p.bold(head))?;
            for inode in &g.inodes {
                let first = tree.path(&inode.paths[0]);
                writeln!(w, "  {}", Escaped(&first))?;
                for path in &inode.paths[1..] {
                    let note = format!("(hard link of {})", Escaped(&first));
                    writeln!(w, "  {}  {}", Escaped(&tree.path(path)), p.dim(note))?;
                }
            }
            writeln!(w)?;
        }
    }
    if let Some(top) = look.by_dir {
        by_dir_lines(w, tree, &super::bydir::of_scan(scan, top), &p)?;
    }
    let (redundant, bytes) = redundancy(scan);
    writeln!(
        w,
        "Found {} with {}, {} reclaimable ({} scanned in {}){}.",
        plural(
            scan.groups.len() as u64,
            "duplicate group",
            "duplicate groups"
        ),
        plural(redundant, "redundant copy", "redundant copies"),
        size(bytes),
        plural(scan.files_scanned, "file", "files"),
        secs(elapsed),
        if scan.errors > 0 {
            format!(
                "; {} (named on stderr)",
                plural(scan.errors, "error", "errors")
            )
        } else {
            String::new()
        },
    )
}

/// Every action with its status, every skipped file with its reason, then the totals.
pub fn link(w: &mut dyn Write, r: &LinkReport<'_>, look: &Output) -> io::Result<()> {
    if look.null {
        return super::fdupes::link(w, r, true, look.raw);
    }
    let p = Paint { on: look.color };
    if !look.quiet {
        let mut outcomes = r.outcomes.iter();
        for g in r.groups() {
            group_lines(w, r, &g, &mut outcomes, &p)?;
        }
        apart_lines(w, r, &p)?;
        skipped_lines(w, r, &p)?;
    }
    let when = match (r.dry_run, r.proposed) {
        (_, true) => When::Proposed,
        (true, false) => When::DryRun,
        (false, false) => When::Done,
    };
    if let Some(top) = look.by_dir {
        let rows = super::bydir::of_plan(r, top);
        by_dir_lines(w, &r.scan.tree, &rows, &p)?;
    }
    writeln!(w, "{}", summary_line(r.summary, when))
}

/// One group: its keeper, then each duplicate with what happened to it.
fn group_lines<'a>(
    w: &mut dyn Write,
    r: &LinkReport<'_>,
    g: &GroupPlan,
    outcomes: &mut impl Iterator<Item = &'a Outcome>,
    p: &Paint,
) -> io::Result<()> {
    let tree = &r.scan.tree;
    let reflink = g.method == crate::model::Merge::Reflink;
    let retimed = g
        .actions
        .iter()
        .filter(|a| !reflink && a.victim.expect.mtime != g.keeper_of(a).expect.mtime)
        .count() as u64;
    let note = if reflink {
        format!(
            "  (reflink, {}: each path keeps its own inode, owner, mode and times)",
            g.method_why
        )
    } else if g.method_why != crate::model::MergeWhy::Asked {
        format!("  (hard links, {})", g.method_why)
    } else if retimed > 0 {
        format!(
            "  ({} its modification time)",
            plural(retimed, "path takes", "paths take")
        )
    } else {
        String::new()
    };
    writeln!(
        w,
        "{} {}  {}{}",
        p.bold("keep    "),
        size(g.len.0),
        Escaped(&tree.path(&g.keeper.loc)),
        p.dim(note)
    )?;
    for action in &g.actions {
        let outcome = outcomes.next().unwrap_or(&Outcome::Planned);
        let (word, why) = match outcome {
            Outcome::Planned if reflink => (p.green("share   "), String::new()),
            Outcome::Linked { .. } if reflink => (p.green("shared  "), String::new()),
            Outcome::Planned => (p.green("link    "), String::new()),
            Outcome::Linked { .. } => (p.green("linked  "), String::new()),
            Outcome::Skipped(why) => (p.yellow("skipped "), format!(": {why}")),
            Outcome::Failed(e) => (p.red("FAILED  "), format!(": {e}")),
        };
        let note = if action.outside_links > 0 && !action.frees {
            p.dim(format!(
                "  (frees nothing: {} outside the scanned paths)",
                plural(action.outside_links, "link", "links")
            ))
        } else {
            String::new()
        };
        writeln!(
            w,
            "{word} {}  {} -> {}{note}{why}",
            size(g.len.0),
            Escaped(&tree.path(&action.victim.loc)),
            Escaped(&tree.path(super::keeper_used(g.keeper_of(action), outcome))),
        )?;
    }
    writeln!(w)
}

/// The sets linked apart from the rest of their group, and why.
fn apart_lines(w: &mut dyn Write, r: &LinkReport<'_>, p: &Paint) -> io::Result<()> {
    if r.plan.apart.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "{}",
        p.bold("Kept apart (linked among themselves only):")
    )?;
    for a in &r.plan.apart {
        writeln!(
            w,
            "  {} and its copies ({}): {}",
            Escaped(&r.scan.tree.path(&a.loc)),
            plural(a.paths, "path", "paths"),
            p.yellow(&a.reason)
        )?;
    }
    writeln!(w)
}

/// Every file the plan leaves out, with its reason.
fn skipped_lines(w: &mut dyn Write, r: &LinkReport<'_>, p: &Paint) -> io::Result<()> {
    if r.plan.skipped.is_empty() {
        return Ok(());
    }
    writeln!(w, "{}", p.bold("Skipped:"))?;
    for s in &r.plan.skipped {
        writeln!(
            w,
            "  {}: {}",
            Escaped(&r.scan.tree.path(&s.loc)),
            p.yellow(&s.reason)
        )?;
    }
    writeln!(w)
}

/// Where the space goes: `  29.30 KiB    3 files  ##########            photos/backup`.
fn by_dir_lines(
    w: &mut dyn Write,
    tree: &crate::model::Tree,
    rows: &[super::bydir::Row],
    p: &Paint,
) -> io::Result<()> {
    writeln!(
        w,
        "{}",
        p.bold(format!(
            "Where the space goes ({}, most reclaimable bytes):",
            plural(rows.len() as u64, "directory", "directories")
        ))
    )?;
    let most = rows.iter().map(|r| r.bytes).max().unwrap_or(1).max(1);
    for r in rows {
        let filled = ((r.bytes as f64 / most as f64) * 20.0).round() as usize;
        let bar = if p.on { "\u{2588}" } else { "#" }.repeat(filled);
        writeln!(
            w,
            "  {:>10}  {:>11}  {bar:<20}  {}{}",
            size(r.bytes),
            plural(r.files, "file", "files"),
            "  ".repeat(r.depth),
            Escaped(&tree.dir(r.dir).path)
        )?;
    }
    writeln!(w)
}

/// What a link summary tells: a dry run's plan, a plan put to the person inside a run, or
/// what a real run did.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum When {
    DryRun,
    Proposed,
    Done,
}

/// `Reclaimed 3.2 GiB by linking 1,204 duplicates in 310 groups (2,000,000 files scanned in
/// 4.1 s); 12 skipped (different owner: 9, changed since scan: 3).`
pub fn summary_line(s: &Summary, when: When) -> String {
    let mut line = if when != When::Done {
        format!(
            "{}would reclaim {} by linking {} in {}",
            if when == When::DryRun {
                "Dry run: "
            } else {
                "The plan "
            },
            size(s.reclaimable_bytes),
            plural(s.planned, "duplicate", "duplicates"),
            plural(s.groups, "group", "groups"),
        )
    } else {
        format!(
            "Reclaimed {} by linking {} in {}",
            size(s.reclaimed_bytes),
            plural(s.linked, "duplicate", "duplicates"),
            plural(s.groups_linked, "group", "groups"),
        )
    };
    line += &format!(
        " ({} scanned in {})",
        plural(s.files_scanned, "file", "files"),
        secs(s.elapsed)
    );
    for note in notes(s, when) {
        line += "; ";
        line += &note;
    }
    line += if when == When::DryRun {
        ". Nothing was changed."
    } else {
        "."
    };
    line
}

/// What follows the totals of a link summary, each only when there is something to say.
fn notes(s: &Summary, when: When) -> Vec<String> {
    let mut out = Vec::new();
    let skipped: u64 = s.skip_kinds.values().sum();
    if skipped > 0 {
        let mut kinds: Vec<(&str, u64)> =
            s.skip_kinds.iter().map(|(k, n)| (k.label(), *n)).collect();
        kinds.sort();
        let kinds: Vec<String> = kinds
            .iter()
            .map(|(k, n)| format!("{k}: {}", thousands(*n)))
            .collect();
        out.push(format!(
            "{} skipped ({})",
            thousands(skipped),
            kinds.join(", ")
        ));
    }
    if s.retimed > 0 {
        out.push(format!(
            "{} {} modification time",
            plural(s.retimed, "path", "paths"),
            match (when, s.retimed) {
                (When::Done, 1) => "took its keeper's",
                (When::Done, _) => "took their keeper's",
                (_, 1) => "takes its keeper's",
                (_, _) => "take their keeper's",
            }
        ));
    }
    if s.reflinked > 0 {
        out.push(format!(
            "{} by sharing extents (reflink: {})",
            thousands(s.reflinked),
            if when == When::Done {
                "each kept its own inode, owner, mode and times"
            } else {
                "each keeps its own inode, owner, mode and times"
            }
        ));
    }
    if s.apart > 0 {
        out.push(format!("{} kept apart", plural(s.apart, "set", "sets")));
    }
    if s.settled > 0 {
        out.push(format!(
            "{} already linked as far as the gates allow",
            plural(s.settled, "path", "paths")
        ));
    }
    if s.failed > 0 {
        out.push(format!("{} failed", thousands(s.failed)));
    }
    if s.scan_errors > 0 {
        out.push(format!(
            "{} (named on stderr)",
            plural(s.scan_errors, "error", "errors")
        ));
    }
    if s.temps_left > 0 {
        out.push(format!(
            "{} left in place",
            plural(
                s.temps_left,
                "leftover temporary name",
                "leftover temporary names"
            )
        ));
    }
    if s.interrupted {
        out.push("interrupted".to_string());
    }
    out
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
        let word = match r {
            Recovered::Removed { .. } => {
                removed += 1;
                if dry_run { "remove" } else { "removed" }
            }
            Recovered::Busy => "busy",
            Recovered::Gone => "gone",
            Recovered::Left { .. } => {
                left += 1;
                "left"
            }
            Recovered::Failed(_) => {
                left += 1;
                "FAILED"
            }
        };
        if !quiet {
            writeln!(w, "{word:<8} {}: {}", Escaped(&path), r.reason())?;
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

/// What undo (or `split`) did with each journal entry (or each path of a hard-linked set).
pub fn undo(
    w: &mut dyn Write,
    (entries, results): (&[crate::journal::Entry], &[crate::undo::Undone]),
    dry_run: bool,
    split: bool,
    quiet: bool,
) -> io::Result<()> {
    use crate::undo::Undone;
    let (mut restored, mut skipped, mut failed) = (0u64, 0u64, 0u64);
    for (e, r) in entries.iter().zip(results) {
        let (word, why) = match r {
            Undone::Restored { withheld } => {
                restored += 1;
                let note = if withheld.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (not given back: {}; undo never sets what its keeper does not carry)",
                        withheld.join(", ")
                    )
                };
                let word = match (split, dry_run) {
                    (true, _) => "split",
                    (false, true) => "restore",
                    (false, false) => "restored",
                };
                (word, note)
            }
            Undone::Skipped(why) => {
                skipped += 1;
                ("skipped", format!(": {why}"))
            }
            Undone::Failed(err) => {
                failed += 1;
                ("FAILED", format!(": {err}"))
            }
        };
        if !quiet {
            writeln!(w, "{word:<9}{}{why}", Escaped(&e.path))?;
        }
    }
    writeln!(
        w,
        "{} {} of {}; {} skipped, {} failed{}.",
        match (split, dry_run) {
            (true, true) => "Would split",
            (true, false) => "Split",
            (false, true) => "Would restore",
            (false, false) => "Restored",
        },
        thousands(restored),
        plural(entries.len() as u64, "path", "paths"),
        thousands(skipped),
        thousands(failed),
        if dry_run { ". Nothing was changed" } else { "" },
    )
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_separators() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), s);
        }
    }
}
