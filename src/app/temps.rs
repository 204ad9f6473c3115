//! Leftover temp names around a run: which of them the invoking user's journals prove ours,
//! how many are still unresolved, and what the person is told about each.

use std::path::PathBuf;

use crate::journal::Entry;
use crate::listener::Listener;
use crate::model::{FileId, ScanOutput};
use crate::recover::{Doubt, Recovered};

/// The swaps recorded in the invoking user's journals, which recovery takes as proof that a
/// temp name is linkdup's (read only when the scan found temp names).
pub fn recorded(scanned: &ScanOutput, extra: &[PathBuf], listener: &dyn Listener) -> Vec<Entry> {
    if scanned.temps.is_empty() {
        return Vec::new();
    }
    let (entries, problems) = crate::journal::recorded(extra);
    for e in &problems {
        listener.warn(e);
    }
    entries
}

/// A temp name about to be removed is one link less of `id`.
pub fn discount_link(scanned: &mut ScanOutput, id: FileId) {
    scanned.groups.discount_link(id);
}

/// Temp names of linkdup's that could not be resolved: not those of a running linkdup, nor
/// those nothing proves linkdup's (someone's own file that matches the pattern must not make
/// every nightly run fail).
pub fn unresolved(results: &[Recovered]) -> u64 {
    results
        .iter()
        .filter(|r| match r {
            Recovered::Left { why } => *why != Doubt::NotOurs,
            Recovered::Failed(_) => true,
            Recovered::Removed { .. } | Recovered::Busy | Recovered::Gone => false,
        })
        .count() as u64
}

/// Tell the person what happened to each leftover temp name before a link run.
pub fn note(l: &dyn Listener, scanned: &ScanOutput, results: &[Recovered], dry_run: bool) {
    for (t, r) in scanned.temps.iter().zip(results) {
        let path = scanned.tree.path(&t.file.loc);
        match r {
            Recovered::Removed { why, .. } if dry_run => l.note(
                &path,
                &format!("leftover temporary name; would be removed: {why}"),
            ),
            Recovered::Removed { why, .. } => {
                l.note(&path, &format!("leftover temporary name removed: {why}"))
            }
            Recovered::Busy => l.note(&path, "in use by a linkdup that is running; left alone"),
            Recovered::Gone => {}
            Recovered::Left { why } => l.note(
                &path,
                &format!("leftover temporary name left in place: {why}"),
            ),
            Recovered::Failed(e) => l.error(e),
        }
    }
}
