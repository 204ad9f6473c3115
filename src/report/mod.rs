//! Renders scan results, plans and outcomes into a `&mut dyn Write`: text for people, JSON for
//! scripts. Renderers only format; the numbers come from [`summarize`].

pub mod csv;
pub mod fdupes;
pub mod json;
pub mod text;

use crate::model::{Outcome, Plan, ScanOutput, Summary};

/// How the text-like reports look.
#[derive(Clone, Copy, Debug, Default)]
pub struct Look {
    /// Only the summary line.
    pub quiet: bool,
    pub color: bool,
    /// Paths separated by NUL (text and fdupes).
    pub null: bool,
    /// Paths as their raw bytes where the format is byte-exact (`-0`, CSV); false when stdout
    /// is a terminal, where they are escaped like the text report's.
    pub raw: bool,
}

/// Everything a link report shows. `outcomes` has one entry per action, in plan order.
pub struct LinkReport<'a> {
    pub scan: &'a ScanOutput,
    pub plan: &'a Plan,
    pub outcomes: &'a [Outcome],
    pub summary: &'a Summary,
    pub dry_run: bool,
}

/// Totals of a scan (and, when given, of a plan and its outcomes).
pub fn summarize(scan: &ScanOutput, plan: Option<(&Plan, &[Outcome])>) -> Summary {
    let mut s = Summary {
        files_scanned: scan.files_scanned,
        scan_errors: scan.errors,
        ..Summary::default()
    };
    let Some((plan, outcomes)) = plan else {
        s.groups = scan.groups.len() as u64;
        return s;
    };
    s.groups = plan.groups.len() as u64;
    s.planned = plan.action_count() as u64;
    for skip in &plan.skipped {
        *s.skip_kinds.entry(skip.reason.kind()).or_default() += 1;
    }
    s.reclaimable_bytes = plan.reclaimable();
    for (action, outcome) in plan.actions().zip(outcomes) {
        match outcome {
            Outcome::Planned => {}
            Outcome::Linked { freed, .. } => {
                s.linked += 1;
                if *freed {
                    s.reclaimed_bytes += action.victim.expect.len.0;
                }
            }
            Outcome::Skipped(why) => {
                s.skipped += 1;
                *s.skip_kinds.entry(why.kind()).or_default() += 1;
            }
            Outcome::Failed(_) => s.failed += 1,
        }
    }
    s
}

/// The keeper a duplicate was (or will be) linked to.
pub fn keeper_used<'a>(
    action: &'a crate::model::LinkAction,
    outcome: &'a Outcome,
) -> &'a crate::model::Loc {
    match outcome {
        Outcome::Linked {
            keeper: Some(k), ..
        } => k,
        _ => &action.keeper.loc,
    }
}

/// Scan-level totals: redundant inodes and their bytes, before any gate.
pub fn redundancy(scan: &ScanOutput) -> (u64, u64) {
    scan.groups.iter().fold((0, 0), |(n, b), g| {
        let extra = g.inodes.len() as u64 - 1;
        (n + extra, b + extra * g.len.0)
    })
}
