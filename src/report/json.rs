//! The JSON report for scripts (`-f json`): one object, written as it is made (see
//! [`super::items`]), on one line, or indented for a person (`--pretty`, or stdout is a
//! terminal). Every report has its `version` and the run's `errors` and `warnings`.

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::SerializeMap;

use super::LinkReport;
use super::items::{
    Actions, DirRow, Each, Fields, Group, JournalRow, JournalsSummary, KeptApart, LinkSummary,
    Names, Obj, RecoverSummary, ScanSummary, Skipped, Trouble, UndoPath, UndoSummary, put_problems,
    temps,
};
use super::jsonfmt::serializer;
use crate::config::Output;
use crate::error::{Noted, Problem};
use crate::model::ScanOutput;
use crate::recover::Recovered;

/// The version of the JSON reports' layout: raised when a field changes meaning or goes away
/// (new fields may appear in any version).
pub const VERSION: u32 = 1;

/// Write `doc` as one object and a newline.
fn write<T: Fields>(w: &mut dyn Write, pretty: bool, doc: T) -> io::Result<()> {
    Obj::new(doc).serialize(&mut serializer(&mut *w, pretty))?;
    w.write_all(b"\n")
}

/// The last keys of every report (all the others sort before them): its version and the run's
/// warnings. Its errors sort among the others, so each report puts them in their place.
fn version_and_warnings<M: SerializeMap>(m: &mut M, noted: &Noted) -> Result<(), M::Error> {
    m.serialize_entry("version", &VERSION)?;
    put_problems(m, "warnings", &noted.warnings)
}

/// The report of a run refused before it started (exit 2): what and why, for a script that
/// reads stdout.
pub fn refused(w: &mut dyn Write, e: &crate::error::Error, pretty: bool) -> io::Result<()> {
    write(w, pretty, Refused(&Problem::of(e)))
}

/// `{"refused": problem, "version": 1}`; the JSON Lines report tags it.
pub struct Refused<'a>(pub &'a Problem);

impl Fields for Refused<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("refused", &Obj::new(Trouble(self.0)))?;
        m.serialize_entry("version", &VERSION)
    }
}

pub fn scan(w: &mut dyn Write, scan: &ScanOutput, noted: &Noted, look: &Output) -> io::Result<()> {
    let by_dir = look.by_dir.map(|top| super::bydir::of_scan(scan, top));
    let doc = ScanDoc {
        scan,
        noted,
        by_dir,
    };
    write(w, look.pretty, doc)
}

struct ScanDoc<'a> {
    scan: &'a ScanOutput,
    noted: &'a Noted,
    by_dir: Option<Vec<super::bydir::Row>>,
}

/// The rows of `--by-dir`, as JSON.
fn by_dir_json<'a>(
    tree: &'a crate::model::Tree,
    rows: &'a [super::bydir::Row],
) -> Each<impl Iterator<Item = Obj<DirRow<'a>>>> {
    Each::new(rows.iter().map(move |row| Obj::new(DirRow { tree, row })))
}

impl Fields for ScanDoc<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let names = Names::new(&self.scan.tree);
        let groups = self.scan.groups.iter().map(|group| {
            Obj::new(Group {
                names: &names,
                group,
            })
        });
        if let Some(rows) = &self.by_dir {
            m.serialize_entry("by_dir", &by_dir_json(&self.scan.tree, rows))?;
        }
        put_problems(m, "errors", &self.noted.errors)?;
        m.serialize_entry("groups", &Each::new(groups))?;
        m.serialize_entry("summary", &Obj::new(ScanSummary(self.scan)))?;
        version_and_warnings(m, self.noted)
    }
}

pub fn link(w: &mut dyn Write, r: &LinkReport<'_>, noted: &Noted, look: &Output) -> io::Result<()> {
    let by_dir = look.by_dir.map(|top| super::bydir::of_plan(r, top));
    write(w, look.pretty, LinkDoc { r, noted, by_dir })
}

struct LinkDoc<'a> {
    r: &'a LinkReport<'a>,
    noted: &'a Noted,
    by_dir: Option<Vec<super::bydir::Row>>,
}

impl Fields for LinkDoc<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let r = self.r;
        let names = &Names::new(&r.scan.tree);
        let skipped = r
            .plan
            .skipped
            .iter()
            .map(|skip| Obj::new(Skipped { names, skip }));
        let apart = r
            .plan
            .apart
            .iter()
            .map(|apart| Obj::new(KeptApart { names, apart }));
        m.serialize_entry("actions", &Actions { r, names })?;
        if let Some(rows) = &self.by_dir {
            m.serialize_entry("by_dir", &by_dir_json(&r.scan.tree, rows))?;
        }
        m.serialize_entry("dry_run", &r.dry_run)?;
        put_problems(m, "errors", &self.noted.errors)?;
        m.serialize_entry("kept_apart", &Each::new(apart))?;
        m.serialize_entry("skipped", &Each::new(skipped))?;
        m.serialize_entry("summary", &Obj::new(LinkSummary(r)))?;
        let temps = temps(names, r.scan, r.temps, r.dry_run).map(Obj::new);
        m.serialize_entry("temps", &Each::new(temps))?;
        version_and_warnings(m, self.noted)
    }
}

pub fn recover(
    w: &mut dyn Write,
    scan: &ScanOutput,
    results: &[Recovered],
    dry_run: bool,
    noted: &Noted,
    pretty: bool,
) -> io::Result<()> {
    let doc = RecoverDoc {
        scan,
        results,
        dry_run,
        noted,
    };
    write(w, pretty, doc)
}

struct RecoverDoc<'a> {
    scan: &'a ScanOutput,
    results: &'a [Recovered],
    dry_run: bool,
    noted: &'a Noted,
}

impl Fields for RecoverDoc<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let names = &Names::new(&self.scan.tree);
        let summary = RecoverSummary {
            scan: self.scan,
            results: self.results,
        };
        let temps = temps(names, self.scan, self.results, self.dry_run).map(Obj::new);
        m.serialize_entry("dry_run", &self.dry_run)?;
        put_problems(m, "errors", &self.noted.errors)?;
        m.serialize_entry("summary", &Obj::new(summary))?;
        m.serialize_entry("temps", &Each::new(temps))?;
        version_and_warnings(m, self.noted)
    }
}

pub fn journals(
    w: &mut dyn Write,
    list: &[crate::journals::Info],
    dry_run: bool,
    noted: &Noted,
    pretty: bool,
) -> io::Result<()> {
    write(
        w,
        pretty,
        JournalsDoc {
            list,
            dry_run,
            noted,
        },
    )
}

struct JournalsDoc<'a> {
    list: &'a [crate::journals::Info],
    dry_run: bool,
    noted: &'a Noted,
}

impl Fields for JournalsDoc<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let rows = self.list.iter().map(|journal| {
            Obj::new(JournalRow {
                journal,
                dry_run: self.dry_run,
            })
        });
        m.serialize_entry("dry_run", &self.dry_run)?;
        put_problems(m, "errors", &self.noted.errors)?;
        m.serialize_entry("journals", &Each::new(rows))?;
        m.serialize_entry("summary", &Obj::new(JournalsSummary(self.list)))?;
        version_and_warnings(m, self.noted)
    }
}

pub fn undo(
    w: &mut dyn Write,
    entries: &[crate::journal::Entry],
    results: &[crate::undo::Undone],
    dry_run: bool,
    noted: &Noted,
    pretty: bool,
) -> io::Result<()> {
    let doc = UndoDoc {
        entries,
        results,
        dry_run,
        noted,
    };
    write(w, pretty, doc)
}

struct UndoDoc<'a> {
    entries: &'a [crate::journal::Entry],
    results: &'a [crate::undo::Undone],
    dry_run: bool,
    noted: &'a Noted,
}

impl Fields for UndoDoc<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let paths = self
            .entries
            .iter()
            .zip(self.results)
            .map(|(entry, result)| {
                Obj::new(UndoPath {
                    entry,
                    result,
                    dry_run: self.dry_run,
                })
            });
        m.serialize_entry("dry_run", &self.dry_run)?;
        put_problems(m, "errors", &self.noted.errors)?;
        m.serialize_entry("paths", &Each::new(paths))?;
        m.serialize_entry("summary", &Obj::new(UndoSummary(self.results)))?;
        version_and_warnings(m, self.noted)
    }
}
