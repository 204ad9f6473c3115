//! The fdupes format that other tools and scripts read: the paths of each group, one per line,
//! groups separated by a blank line. With NUL separators (`-0`) paths are written raw (no
//! escaping) and each group ends with an extra NUL, for `xargs -0`.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::LinkReport;
use super::escape::Escaped;
use crate::model::ScanOutput;

fn path(w: &mut dyn Write, p: &Path, null: bool) -> io::Result<()> {
    if null {
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
pub fn scan(w: &mut dyn Write, scan: &ScanOutput, null: bool) -> io::Result<()> {
    for g in &scan.groups {
        for inode in &g.inodes {
            for p in &inode.paths {
                path(w, &scan.tree.path(p), null)?;
            }
        }
        end_group(w, null)?;
    }
    Ok(())
}

/// Every planned group: the keeper first, then its duplicates.
pub fn link(w: &mut dyn Write, r: &LinkReport<'_>, null: bool) -> io::Result<()> {
    let tree = &r.scan.tree;
    for g in &r.plan.groups {
        path(w, &tree.path(&g.keeper.loc), null)?;
        for a in &g.actions {
            path(w, &tree.path(&a.victim.loc), null)?;
        }
        end_group(w, null)?;
    }
    Ok(())
}
