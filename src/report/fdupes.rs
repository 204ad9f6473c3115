//! The fdupes format that other tools and scripts read: the paths of each group, one per line,
//! groups separated by a blank line. With NUL separators (`-0`) paths are written raw (no
//! escaping) and each group ends with an extra NUL, for `xargs -0`.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::LinkReport;
use crate::escape::Escaped;
use crate::model::{Loc, Outcome, ScanOutput};

fn path(w: &mut dyn Write, p: &Path, null: bool, raw: bool) -> io::Result<()> {
    if null && !raw {
        write!(w, "{}", Escaped(p))?;
        w.write_all(b"\0")
    } else if null {
        w.write_all(p.as_os_str().as_bytes())?;
        w.write_all(b"\0")
    } else {
        writeln!(w, "{}", Escaped(p))
    }
}

fn end_group(w: &mut dyn Write, null: bool) -> io::Result<()> {
    w.write_all(if null { b"\0" } else { b"\n" })
}

/// Every duplicate group, every path.
pub fn scan(w: &mut dyn Write, scan: &ScanOutput, null: bool, raw: bool) -> io::Result<()> {
    for g in scan.groups.iter() {
        for inode in &g.inodes {
            for p in &inode.paths {
                path(w, &scan.tree.path(p), null, raw)?;
            }
        }
        end_group(w, null)?;
    }
    Ok(())
}

/// Every group as planned (dry run) or as linked (real run): the keeper first, then the
/// duplicates that share its inode. A real run's skipped and failed pairs are left out.
pub fn link(w: &mut dyn Write, r: &LinkReport<'_>, null: bool, raw: bool) -> io::Result<()> {
    let tree = &r.scan.tree;
    let mut outcomes = r.outcomes.iter();
    for g in r.groups() {
        let g = &*g;
        // keeper location → its duplicates, in order (a link limit can split a group).
        let mut sets: Vec<(&Loc, Vec<&Loc>)> = Vec::new();
        for a in &g.actions {
            let outcome = outcomes.next().unwrap_or(&Outcome::Planned);
            if !matches!(outcome, Outcome::Planned | Outcome::Linked { .. }) {
                continue;
            }
            let k = super::keeper_used(g.keeper_of(a), outcome);
            match sets.iter_mut().find(|(x, _)| *x == k) {
                Some((_, v)) => v.push(&a.victim.loc),
                None => sets.push((k, vec![&a.victim.loc])),
            }
        }
        for (k, victims) in sets {
            path(w, &tree.path(k), null, raw)?;
            for v in victims {
                path(w, &tree.path(v), null, raw)?;
            }
            end_group(w, null)?;
        }
    }
    Ok(())
}
