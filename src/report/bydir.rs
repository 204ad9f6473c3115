//! Where the space goes (`--by-dir N`): the reclaimable bytes of a scan or a plan summed up
//! the directory tree, and the N directories holding the most, in tree order, each indented
//! under the chosen directories above it, as `dust` and `ncdu` draw them.

use std::collections::HashMap;

use super::LinkReport;
use crate::model::{DirIdx, Outcome, ScanOutput, Tree, path_bytes};

/// One directory of the rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub dir: DirIdx,
    /// Reclaimable bytes in it and below it.
    pub bytes: u64,
    /// Redundant files in it and below it.
    pub files: u64,
    /// How many rows above it are its ancestors (its indentation).
    pub depth: usize,
}

/// A scan's rollup: every redundant inode (all but one per group) counted in the directory of
/// its first path.
pub fn of_scan(scan: &ScanOutput, top: usize) -> Vec<Row> {
    let mut direct: HashMap<DirIdx, (u64, u64)> = HashMap::new();
    for g in scan.groups.iter() {
        for inode in g.inodes.iter().skip(1) {
            let e = direct.entry(inode.paths[0].dir).or_default();
            e.0 += g.len.0;
            e.1 += 1;
        }
    }
    rollup(&scan.tree, direct, top)
}

/// A plan's rollup: the bytes each duplicate frees (or, after the run, freed), in its
/// directory.
pub fn of_plan(r: &LinkReport<'_>, top: usize) -> Vec<Row> {
    let mut direct: HashMap<DirIdx, (u64, u64)> = HashMap::new();
    let mut outcome_of = r.outcomes.iter();
    for g in r.groups() {
        for a in &g.actions {
            let frees = match outcome_of.next() {
                Some(Outcome::Linked { freed, .. }) => *freed,
                Some(Outcome::Planned) | None => a.frees,
                Some(_) => false,
            };
            if frees {
                let e = direct.entry(a.victim.loc.dir).or_default();
                e.0 += g.len.0;
                e.1 += 1;
            }
        }
    }
    rollup(&r.scan.tree, direct, top)
}

fn rollup(tree: &Tree, direct: HashMap<DirIdx, (u64, u64)>, top: usize) -> Vec<Row> {
    let mut total: HashMap<DirIdx, (u64, u64)> = HashMap::new();
    for (dir, (bytes, files)) in direct {
        let mut at = Some(dir);
        while let Some(d) = at {
            let e = total.entry(d).or_default();
            e.0 += bytes;
            e.1 += files;
            at = tree.dir(d).parent;
        }
    }
    // The most bytes first; ties in path order, so the choice is the same every run.
    let mut all: Vec<(DirIdx, (u64, u64))> = total.into_iter().collect();
    all.sort_by(|a, b| {
        b.1.0
            .cmp(&a.1.0)
            .then_with(|| path_bytes(&tree.dir(a.0).path).cmp(path_bytes(&tree.dir(b.0).path)))
    });
    all.truncate(top);
    // Tree order: a directory's path sorts right after its parent's.
    all.sort_by(|a, b| path_bytes(&tree.dir(a.0).path).cmp(path_bytes(&tree.dir(b.0).path)));
    let chosen: Vec<DirIdx> = all.iter().map(|(d, _)| *d).collect();
    all.iter()
        .map(|&(dir, (bytes, files))| {
            let mut depth = 0;
            let mut at = tree.dir(dir).parent;
            while let Some(d) = at {
                depth += usize::from(chosen.contains(&d));
                at = tree.dir(d).parent;
            }
            Row {
                dir,
                bytes,
                files,
                depth,
            }
        })
        .collect()
}
