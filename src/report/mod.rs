//! Renders scan results, plans and outcomes into a `&mut dyn Write`: text for people, JSON (one
//! document, or JSON Lines) and CSV for scripts. Renderers only format; the numbers come from
//! [`summarize`].

pub mod bydir;
pub mod csv;
pub mod fdupes;
mod items;
pub mod journals;
pub mod json;
mod jsonfmt;
pub mod jsonl;
pub mod text;

use std::borrow::Cow;
use std::io::{self, Write};
use std::time::Duration;

use crate::config::{Format, Output};
use crate::error::Noted;
use crate::journal::Entry;
use crate::model::{GroupPlan, Merge, Outcome, Plan, ScanOutput, Summary};
use crate::plan::PlanOptions;
use crate::recover::Recovered;
use crate::undo::Undone;

/// What a command reports.
pub enum Report<'a> {
    /// Duplicate groups; `elapsed` is the scan's wall time.
    Scan {
        scan: &'a ScanOutput,
        elapsed: Duration,
    },
    Link(LinkReport<'a>),
    /// What recovery did (or would do) with each leftover temp name.
    Recover {
        scan: &'a ScanOutput,
        results: &'a [Recovered],
        dry_run: bool,
    },
    /// The journals in the state directory, and what a prune did (or would do) with each.
    Journals {
        journals: &'a [crate::journals::Info],
        dry_run: bool,
    },
    /// What undo did (or would do) with each journal entry.
    Undo {
        entries: &'a [Entry],
        results: &'a [Undone],
        dry_run: bool,
        /// `linkdup split` (entries made from the live files), worded as such in text.
        split: bool,
    },
}

/// Render `report` in the format `out` asks for. The command line offers only the formats a
/// command has; any other pair is an error, never another format in its place.
pub fn render(
    w: &mut dyn Write,
    out: &Output,
    report: &Report<'_>,
    noted: &Noted,
) -> io::Result<()> {
    use Format::{Csv, Fdupes, Json, Jsonl, Text};
    match (out.format, report) {
        (Text, Report::Scan { scan, elapsed }) => text::scan(w, scan, out, *elapsed),
        (Json, Report::Scan { scan, .. }) => json::scan(w, scan, noted, out),
        (Jsonl, Report::Scan { scan, .. }) => jsonl::scan(w, scan, noted),
        (Csv, Report::Scan { scan, .. }) => csv::scan(w, scan, out.raw),
        (Fdupes, Report::Scan { scan, .. }) => fdupes::scan(w, scan, out.null, out.raw),
        (Text, Report::Link(r)) => text::link(w, r, out),
        (Json, Report::Link(r)) => json::link(w, r, noted, out),
        (Jsonl, Report::Link(r)) => jsonl::link(w, r, noted),
        (Csv, Report::Link(r)) => csv::link(w, r, out.raw),
        (Fdupes, Report::Link(r)) => fdupes::link(w, r, out.null, out.raw),
        (
            Text,
            &Report::Recover {
                scan,
                results,
                dry_run,
            },
        ) => text::recover(w, scan, results, dry_run, out.quiet),
        (
            Json,
            &Report::Recover {
                scan,
                results,
                dry_run,
            },
        ) => json::recover(w, scan, results, dry_run, noted, out.pretty),
        (
            Text,
            &Report::Undo {
                entries,
                results,
                dry_run,
                split,
            },
        ) => text::undo(w, (entries, results), dry_run, split, out.quiet),
        (
            Json,
            &Report::Undo {
                entries,
                results,
                dry_run,
                ..
            },
        ) => json::undo(w, entries, results, dry_run, noted, out.pretty),
        (Text, &Report::Journals { journals, dry_run }) => {
            journals::text(w, journals, dry_run, out.quiet)
        }
        (Json, &Report::Journals { journals, dry_run }) => {
            json::journals(w, journals, dry_run, noted, out.pretty)
        }
        (
            Jsonl | Csv | Fdupes,
            Report::Recover { .. } | Report::Undo { .. } | Report::Journals { .. },
        ) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this command reports as text or JSON only",
        )),
    }
}

/// Everything a link report shows. `outcomes` has one entry per action, in plan order, or none
/// when nothing was run (a dry run): then every action reads as [`Outcome::Planned`], and a
/// plan of millions of actions needs no table of them.
pub struct LinkReport<'a> {
    pub scan: &'a ScanOutput,
    /// The plan: its groups, unless `replan` says they are made again as they are read.
    pub plan: &'a Plan,
    /// See [`PlanRef::replan`].
    pub replan: Option<&'a PlanOptions>,
    pub outcomes: &'a [Outcome],
    pub summary: &'a Summary,
    pub dry_run: bool,
    /// What recovery did (or, in a dry run, would do) with each of `scan.temps`.
    pub temps: &'a [Recovered],
    /// The plan as put to the person before a real run (not a dry run, nothing done yet).
    pub proposed: bool,
}

/// A plan as the reports read it.
#[derive(Clone, Copy)]
pub struct PlanRef<'a> {
    /// The plan: its skips and the sets kept apart, and its groups unless `replan` is set.
    pub plan: &'a Plan,
    /// Set for a dry run: `plan` holds no groups, and they are made again from the scan's groups
    /// with these options each time they are read ([`crate::plan::replan`]: the same groups,
    /// in the same order), so that the plan of millions of files is never held whole.
    pub replan: Option<&'a PlanOptions>,
}

impl<'a> PlanRef<'a> {
    /// The plan's groups, in order.
    pub fn groups(self, scan: &'a ScanOutput) -> Box<dyn Iterator<Item = Cow<'a, GroupPlan>> + 'a> {
        match self.replan {
            Some(opts) => {
                Box::new(crate::plan::replan(&scan.tree, &scan.groups, opts).map(Cow::Owned))
            }
            None => Box::new(self.plan.groups.iter().map(Cow::Borrowed)),
        }
    }
}

impl<'a> LinkReport<'a> {
    /// The plan's groups, in order (see [`PlanRef`]).
    pub fn groups(&self) -> Box<dyn Iterator<Item = Cow<'a, GroupPlan>> + 'a> {
        PlanRef {
            plan: self.plan,
            replan: self.replan,
        }
        .groups(self.scan)
    }
}

/// Totals of a scan (and, when given, of a plan and its outcomes: none when nothing was run).
pub fn summarize(scan: &ScanOutput, plan: Option<(PlanRef<'_>, &[Outcome])>) -> Summary {
    let mut s = Summary {
        files_scanned: scan.files_scanned,
        scan_errors: scan.errors,
        ..Summary::default()
    };
    let Some((plan_ref, outcomes)) = plan else {
        s.groups = scan.groups.len() as u64;
        return s;
    };
    let plan = plan_ref.plan;
    s.settled = plan.settled.len() as u64;
    s.apart = plan.apart.len() as u64;
    for skip in &plan.skipped {
        *s.skip_kinds.entry(skip.reason.kind()).or_default() += 1;
    }
    let mut outcome_of = outcomes.iter();
    for g in plan_ref.groups(scan) {
        s.groups += 1;
        s.planned += g.actions.len() as u64;
        let mut linked_any = false;
        for action in &g.actions {
            if action.frees {
                s.reclaimable_bytes += action.frees_bytes.unwrap_or(g.len.0);
            }
            // A reflinked file keeps its own times.
            let retimes = g.method == Merge::HardLink
                && action.victim.expect.mtime != g.keeper_of(action).expect.mtime;
            let reflinks = g.method == Merge::Reflink;
            let Some(outcome) = outcome_of.next() else {
                // Nothing run: every action counts as planned.
                if outcomes.is_empty() {
                    s.retimed += u64::from(retimes);
                    s.reflinked += u64::from(reflinks);
                }
                continue;
            };
            let done = matches!(outcome, Outcome::Planned | Outcome::Linked { .. });
            s.retimed += u64::from(retimes && done);
            s.reflinked += u64::from(reflinks && done);
            match outcome {
                Outcome::Planned => {}
                Outcome::Linked { freed, .. } => {
                    s.linked += 1;
                    linked_any = true;
                    if *freed {
                        s.reclaimed_bytes += action.frees_bytes.unwrap_or(g.len.0);
                    }
                }
                Outcome::Skipped(why) => {
                    s.skipped += 1;
                    *s.skip_kinds.entry(why.kind()).or_default() += 1;
                }
                Outcome::Failed(_) => s.failed += 1,
            }
        }
        s.groups_linked += u64::from(linked_any);
    }
    s
}

/// Totals of a dry run whose actions were checked against the files as they are now
/// ([`crate::execute::check`]): only what still passes is planned, and only inodes all of whose
/// paths still pass are freed.
pub fn only_what_passed(s: &mut Summary, plan: &Plan, outcomes: &[Outcome]) {
    let passed = |o: &Outcome| matches!(o, Outcome::Planned);
    let incomplete: std::collections::HashSet<_> = plan
        .actions()
        .zip(outcomes)
        .filter(|(_, o)| !passed(o))
        .map(|(a, _)| a.victim.expect.id)
        .collect();
    let (mut planned, mut bytes, mut groups) = (0, 0, 0);
    let mut outcome_of = outcomes.iter();
    for g in &plan.groups {
        let mut any = false;
        for (a, o) in g.actions.iter().zip(outcome_of.by_ref()) {
            if passed(o) {
                any = true;
                planned += 1;
                if a.frees && !incomplete.contains(&a.victim.expect.id) {
                    bytes += a.frees_bytes.unwrap_or(g.len.0);
                }
            }
        }
        groups += u64::from(any);
    }
    s.planned = planned;
    s.reclaimable_bytes = bytes;
    s.groups = groups;
}

/// What became of an action, as the reports word it.
pub struct Status {
    /// `planned`, `linked`, `skipped` or `failed`.
    pub word: &'static str,
    /// For a skip or a failure: its stable code and the sentence a person reads.
    pub why: Option<(&'static str, String)>,
}

impl Status {
    pub fn of(outcome: &Outcome) -> Status {
        let (word, why) = match outcome {
            Outcome::Planned => ("planned", None),
            Outcome::Linked { .. } => ("linked", None),
            Outcome::Skipped(why) => ("skipped", Some((why.kind().code(), why.to_string()))),
            Outcome::Failed(e) => ("failed", Some((e.code(), e.to_string()))),
        };
        Status { word, why }
    }
}

/// The keeper a duplicate was (or will be) linked to: its planned `keeper`, or the copy that
/// took over when that reached the link limit.
pub fn keeper_used<'a>(
    keeper: &'a crate::model::Member,
    outcome: &'a Outcome,
) -> &'a crate::model::Loc {
    match outcome {
        Outcome::Linked {
            keeper: Some(k), ..
        } => k,
        _ => &keeper.loc,
    }
}

/// Scan-level totals: redundant inodes and their bytes, before any gate.
pub fn redundancy(scan: &ScanOutput) -> (u64, u64) {
    scan.groups.sizes().fold((0, 0), |(n, b), (len, inodes)| {
        let extra = inodes as u64 - 1;
        (n + extra, b + extra * len.0)
    })
}
