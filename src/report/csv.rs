//! CSV, one row per file: `group,size,path,dev,ino,role` (link reports add
//! `status,reason,kind,method`, `kind` being the stable code of a skip or a failure, as in the
//! JSON report, and `method` how the group is merged: `hardlink` or `reflink`).
//! Paths are written as their raw bytes (quoted where needed), so they are exact; a reader that
//! wants UTF-8 must decide what to do with names that are not.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;

use super::{LinkReport, Status};
use crate::model::{Outcome, ScanOutput};

fn writer(w: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new().from_writer(w)
}

/// A path as CSV writes it: its exact bytes, or escaped when stdout is a terminal.
fn name(p: &std::path::Path, raw: bool) -> Vec<u8> {
    if raw {
        p.as_os_str().as_bytes().to_vec()
    } else {
        crate::escape::Escaped(p).to_string().into_bytes()
    }
}

fn done(mut w: csv::Writer<&mut dyn Write>) -> io::Result<()> {
    w.flush()
}

/// Roles: `copy` for the first path of each inode, `hardlink` for its other paths.
pub fn scan(w: &mut dyn Write, scan: &ScanOutput, raw: bool) -> io::Result<()> {
    let mut c = writer(w);
    c.write_record(["group", "size", "path", "dev", "ino", "role"])?;
    for (gi, g) in scan.groups.iter().enumerate() {
        for inode in &g.inodes {
            for (pi, p) in inode.paths.iter().enumerate() {
                let path = scan.tree.path(p);
                c.write_record([
                    (gi + 1).to_string().as_bytes(),
                    g.len.0.to_string().as_bytes(),
                    &name(&path, raw),
                    inode.ident.id.dev.to_string().as_bytes(),
                    inode.ident.id.ino.to_string().as_bytes(),
                    if pi == 0 { b"copy" } else { b"hardlink" },
                ])?;
            }
        }
    }
    done(c)
}

/// Roles: `keeper`, `duplicate` (with the action's status, reason and kind), `skipped`.
pub fn link(w: &mut dyn Write, r: &LinkReport<'_>, raw: bool) -> io::Result<()> {
    let tree = &r.scan.tree;
    let mut c = writer(w);
    c.write_record([
        "group", "size", "path", "dev", "ino", "role", "status", "reason", "kind", "method",
    ])?;
    let mut outcomes = r.outcomes.iter();
    for (gi, g) in r.groups().enumerate() {
        let group = (gi + 1).to_string();
        let size = g.len.0.to_string();
        let k = &g.keeper;
        c.write_record([
            group.as_bytes(),
            size.as_bytes(),
            &name(&tree.path(&k.loc), raw),
            k.expect.id.dev.to_string().as_bytes(),
            k.expect.id.ino.to_string().as_bytes(),
            b"keeper",
            b"",
            b"",
            b"",
            g.method.code().as_bytes(),
        ])?;
        for a in &g.actions {
            let status = Status::of(outcomes.next().unwrap_or(&Outcome::Planned));
            let (kind, reason) = status.why.unwrap_or_default();
            let v = &a.victim;
            c.write_record([
                group.as_bytes(),
                size.as_bytes(),
                &name(&tree.path(&v.loc), raw),
                v.expect.id.dev.to_string().as_bytes(),
                v.expect.id.ino.to_string().as_bytes(),
                b"duplicate",
                status.word.as_bytes(),
                reason.as_bytes(),
                kind.as_bytes(),
                g.method.code().as_bytes(),
            ])?;
        }
    }
    for s in &r.plan.skipped {
        c.write_record([
            b"".as_slice(),
            b"",
            &name(&tree.path(&s.loc), raw),
            b"",
            b"",
            b"skipped",
            b"skipped",
            s.reason.to_string().as_bytes(),
            s.reason.kind().code().as_bytes(),
            b"",
        ])?;
    }
    done(c)
}
