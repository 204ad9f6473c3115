//! The JSON report for scripts. Paths are strings; a path that is not valid UTF-8 is given as a
//! lossy string (U+FFFD for bad bytes) plus a sibling `<field>_bytes` array holding its exact
//! bytes, so no path is ever lost or mistaken.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::{LinkReport, redundancy};
use crate::model::{Outcome, ScanOutput};
use crate::recover::Recovered;

/// Insert `key` (and `key_bytes` when needed) for `path`.
fn put_path(map: &mut Map<String, Value>, key: &str, path: &Path) {
    crate::codec::put_bytes(map, key, path.as_os_str().as_bytes());
}

/// The version of the JSON reports' layout: raised when a field changes meaning or goes away
/// (new fields may appear in any version).
pub const VERSION: u32 = 1;

/// Write `v` with the fields every JSON report has: its version, and the run's errors and
/// warnings.
fn finish(w: &mut dyn Write, mut v: Value, noted: &crate::error::Noted) -> io::Result<()> {
    if let Value::Object(m) = &mut v {
        m.insert("version".into(), json!(VERSION));
        m.insert("errors".into(), problems(&noted.errors));
        m.insert("warnings".into(), problems(&noted.warnings));
    }
    write_value(w, &v)
}

fn problems(list: &[crate::error::Problem]) -> Value {
    Value::Array(list.iter().map(problem).collect())
}

fn problem(p: &crate::error::Problem) -> Value {
    let mut m = Map::new();
    if let Some(path) = &p.path {
        put_path(&mut m, "path", path);
    }
    m.insert("kind".into(), json!(p.kind));
    if let Some(r) = &p.reason {
        m.insert("reason".into(), json!(r));
    }
    m.insert("message".into(), json!(p.message));
    Value::Object(m)
}

/// The report of a run refused before it started (exit 2): what and why, for a script that
/// reads stdout.
pub fn refused(w: &mut dyn Write, e: &crate::error::Error) -> io::Result<()> {
    let p = problem(&crate::error::Problem::of(e));
    write_value(w, &json!({"version": VERSION, "refused": p}))
}

fn write_value(w: &mut dyn Write, v: &Value) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *w,
        Safe(serde_json::ser::PrettyFormatter::new()),
    );
    serde::Serialize::serialize(v, &mut ser)?;
    writeln!(w)
}

/// A JSON formatter that also escapes (as `\uXXXX`, losslessly) the characters that are not
/// shown as themselves ([`crate::escape::hidden`]: bidi controls, zero-width characters...), so
/// that the report is safe to read on a terminal and still the same JSON value.
struct Safe<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for Safe<F> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if crate::escape::hidden(c) {
                w.write_all(&s.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{:04x}", u)?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&s.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

pub fn scan(w: &mut dyn Write, scan: &ScanOutput, noted: &crate::error::Noted) -> io::Result<()> {
    let tree = &scan.tree;
    let groups: Vec<Value> = scan
        .groups
        .iter()
        .map(|g| {
            let files: Vec<Value> = g
                .inodes
                .iter()
                .flat_map(|i| i.paths.iter().map(move |p| (i, p)))
                .map(|(i, p)| {
                    let mut m = Map::new();
                    put_path(&mut m, "path", &tree.path(p));
                    m.insert("dev".into(), json!(i.ident.id.dev));
                    m.insert("ino".into(), json!(i.ident.id.ino));
                    m.insert("nlink".into(), json!(i.nlink));
                    Value::Object(m)
                })
                .collect();
            json!({"size": g.len.0, "hash": format!("{:032x}", g.hash), "files": files})
        })
        .collect();
    let (redundant, bytes) = redundancy(scan);
    finish(
        w,
        json!({
            "groups": groups,
            "summary": {
                "files_scanned": scan.files_scanned,
                "groups": scan.groups.len(),
                "redundant_files": redundant,
                "reclaimable_bytes": bytes,
                "errors": scan.errors,
            }
        }),
        noted,
    )
}

pub fn link(w: &mut dyn Write, r: &LinkReport<'_>, noted: &crate::error::Noted) -> io::Result<()> {
    let tree = &r.scan.tree;
    let mut outcomes = r.outcomes.iter();
    let mut actions = Vec::new();
    for (gi, g) in r.plan.groups.iter().enumerate() {
        for a in &g.actions {
            let mut m = Map::new();
            m.insert("group".into(), json!(gi + 1));
            let outcome = outcomes.next().unwrap_or(&Outcome::Planned);
            put_path(&mut m, "duplicate", &tree.path(&a.victim.loc));
            put_path(&mut m, "keeper", &tree.path(super::keeper_used(a, outcome)));
            m.insert("size".into(), json!(g.len.0));
            let frees = match outcome {
                Outcome::Planned => a.frees,
                Outcome::Linked { freed, .. } => *freed,
                _ => false,
            };
            let (status, reason) = match outcome {
                Outcome::Planned => ("planned", None),
                Outcome::Linked { .. } => ("linked", None),
                Outcome::Skipped(why) => ("skipped", Some((why.kind().code(), why.to_string()))),
                Outcome::Failed(e) => ("failed", Some((e.code(), e.to_string()))),
            };
            m.insert("status".into(), json!(status));
            if let Some((kind, reason)) = reason {
                m.insert("kind".into(), json!(kind));
                m.insert("reason".into(), json!(reason));
            }
            m.insert("frees_bytes".into(), json!(frees));
            m.insert("outside_links".into(), json!(a.outside_links));
            m.insert(
                "mtime_differs".into(),
                json!(a.victim.expect.mtime != a.keeper.expect.mtime),
            );
            actions.push(Value::Object(m));
        }
    }
    let skipped: Vec<Value> = r
        .plan
        .skipped
        .iter()
        .map(|s| {
            let mut m = Map::new();
            put_path(&mut m, "path", &tree.path(&s.loc));
            m.insert("kind".into(), json!(s.reason.kind().code()));
            if let crate::model::SkipReason::Metadata { diff, .. } = &s.reason {
                let all: Vec<&str> = diff.kinds().into_iter().map(|k| k.code()).collect();
                m.insert("differs".into(), json!(all));
            }
            m.insert("reason".into(), json!(s.reason.to_string()));
            Value::Object(m)
        })
        .collect();
    let s = r.summary;
    let (temps, _) = temp_list(r.scan, r.temps, r.dry_run);
    finish(
        w,
        json!({
            "dry_run": r.dry_run,
            "actions": actions,
            "skipped": skipped,
            "temps": temps,
            "summary": {
                "files_scanned": s.files_scanned,
                "groups": s.groups,
                "groups_linked": s.groups_linked,
                "planned": s.planned,
                "linked": s.linked,
                "skipped": s.skipped + r.plan.skipped.len() as u64,
                "failed": s.failed,
                "reclaimable_bytes": s.reclaimable_bytes,
                "reclaimed_bytes": s.reclaimed_bytes,
                "errors": s.scan_errors,
                "interrupted": s.interrupted,
                "temps_left": s.temps_left,
            }
        }),
        noted,
    )
}

pub fn recover(
    w: &mut dyn Write,
    scan: &ScanOutput,
    results: &[Recovered],
    dry_run: bool,
    noted: &crate::error::Noted,
) -> io::Result<()> {
    let (temps, removed) = temp_list(scan, results, dry_run);
    let total = temps.len();
    finish(
        w,
        json!({
            "dry_run": dry_run,
            "temps": temps,
            "summary": {"found": total, "removed": removed, "left": total - removed, "errors": scan.errors}
        }),
        noted,
    )
}

/// Each leftover temp name with what recovery did with it, and how many were removed.
fn temp_list(scan: &ScanOutput, results: &[Recovered], dry_run: bool) -> (Vec<Value>, usize) {
    let mut removed = 0;
    let temps = scan
        .temps
        .iter()
        .zip(results)
        .map(|(t, r)| {
            let mut m = Map::new();
            put_path(&mut m, "path", &scan.tree.path(&t.file.loc));
            let (status, reason) = match r {
                Recovered::Removed { why, .. } => {
                    removed += 1;
                    (
                        if dry_run { "removable" } else { "removed" },
                        why.to_string(),
                    )
                }
                Recovered::Busy => ("busy", "in use by a linkdup that is running".to_string()),
                Recovered::Gone => ("gone", "gone since the scan".to_string()),
                Recovered::Left { why } => ("left", why.to_string()),
                Recovered::Failed(e) => ("failed", e.to_string()),
            };
            m.insert("status".into(), json!(status));
            m.insert("kind".into(), json!(r.code()));
            m.insert("reason".into(), json!(reason));
            Value::Object(m)
        })
        .collect();
    (temps, removed)
}

pub fn undo(
    w: &mut dyn Write,
    entries: &[crate::journal::Entry],
    results: &[crate::undo::Undone],
    dry_run: bool,
    noted: &crate::error::Noted,
) -> io::Result<()> {
    use crate::undo::Undone;
    let items: Vec<Value> = entries
        .iter()
        .zip(results)
        .map(|(e, r)| {
            let mut m = Map::new();
            put_path(&mut m, "path", &e.path);
            if let Undone::Restored { withheld } = r
                && !withheld.is_empty()
            {
                m.insert("withheld".into(), json!(withheld));
            }
            let (status, reason) = match r {
                Undone::Restored { .. } => (if dry_run { "restorable" } else { "restored" }, None),
                Undone::Skipped(why) => ("skipped", Some((why.code(), why.to_string()))),
                Undone::Failed(err) => ("failed", Some((err.code(), err.to_string()))),
            };
            m.insert("status".into(), json!(status));
            if let Some((kind, reason)) = reason {
                m.insert("kind".into(), json!(kind));
                m.insert("reason".into(), json!(reason));
            }
            Value::Object(m)
        })
        .collect();
    let count = |f: fn(&Undone) -> bool| results.iter().filter(|r| f(r)).count();
    finish(
        w,
        json!({
            "dry_run": dry_run,
            "paths": items,
            "summary": {
                "restored": count(|r| matches!(r, Undone::Restored { .. })),
                "skipped": count(|r| matches!(r, Undone::Skipped(_))),
                "failed": count(|r| matches!(r, Undone::Failed(_))),
            }
        }),
        noted,
    )
}
