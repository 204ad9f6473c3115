//! JSON Lines (`-f jsonl`) for `scan`, `link` and `apply`: one compact object per line, each
//! written as soon as it is made, with a `type` first: `group` (scan), or `action`, `skipped`
//! and `temp` (link); then `error` and `warning` for the run's problems; last a `summary` with
//! the report's `version`. Every other field is the one the `-f json` report has there.

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::SerializeMap;

use super::LinkReport;
use super::items::{
    Fields, Group, KeptApart, LinkSummary, Names, Obj, ScanSummary, Skipped, Trouble, each_action,
    temps,
};
use super::json::{Refused, VERSION};
use super::jsonfmt::serializer;
use crate::error::{Noted, Problem};
use crate::model::ScanOutput;

/// Write `v` on a line of its own.
fn line<T: Serialize>(w: &mut dyn Write, v: &T) -> io::Result<()> {
    v.serialize(&mut serializer(&mut *w, false))?;
    w.write_all(b"\n")
}

pub fn scan(w: &mut dyn Write, scan: &ScanOutput, noted: &Noted) -> io::Result<()> {
    let names = &Names::new(&scan.tree);
    for group in scan.groups.iter() {
        line(w, &Obj::tagged("group", Group { names, group }))?;
    }
    problems(w, noted)?;
    let totals = ScanSummary(scan);
    line(
        w,
        &Obj::tagged(
            "summary",
            Last {
                dry_run: None,
                totals,
            },
        ),
    )
}

pub fn link(w: &mut dyn Write, r: &LinkReport<'_>, noted: &Noted) -> io::Result<()> {
    let names = &Names::new(&r.scan.tree);
    each_action(r, names, |a| line(w, &Obj::tagged("action", a)))?;
    for apart in &r.plan.apart {
        line(w, &Obj::tagged("kept_apart", KeptApart { names, apart }))?;
    }
    for skip in &r.plan.skipped {
        line(w, &Obj::tagged("skipped", Skipped { names, skip }))?;
    }
    for t in temps(names, r.scan, r.temps, r.dry_run) {
        line(w, &Obj::tagged("temp", t))?;
    }
    problems(w, noted)?;
    let last = Last {
        dry_run: Some(r.dry_run),
        totals: LinkSummary(r),
    };
    line(w, &Obj::tagged("summary", last))
}

/// The run's problems, as stderr told them: errors, then warnings.
fn problems(w: &mut dyn Write, noted: &Noted) -> io::Result<()> {
    for p in &noted.errors {
        line(w, &Obj::tagged("error", Trouble(p)))?;
    }
    for p in &noted.warnings {
        line(w, &Obj::tagged("warning", Trouble(p)))?;
    }
    Ok(())
}

/// The last line: the report's version, whether it was a dry run (link), and the totals.
struct Last<T> {
    dry_run: Option<bool>,
    totals: T,
}

impl<T: Fields> Fields for Last<T> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("version", &VERSION)?;
        if let Some(dry_run) = self.dry_run {
            m.serialize_entry("dry_run", &dry_run)?;
        }
        self.totals.fields(m)
    }
}

/// The only line of a run refused before it started (exit 2).
pub fn refused(w: &mut dyn Write, e: &crate::error::Error) -> io::Result<()> {
    line(w, &Obj::tagged("refused", Refused(&Problem::of(e))))
}
