//! The `journals` report: one line (or object) per journal, then the totals.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::text::plural;
use crate::error::Noted;
use crate::escape::Escaped;
use crate::journals::{Fate, Info};

/// `2026-12-07 17:50:02 UTC  12 paths, 3 to undo  /srv/photos  ~/.local/state/.../journal-...`
pub fn text(w: &mut dyn Write, list: &[Info], dry_run: bool, quiet: bool) -> io::Result<()> {
    if !quiet {
        for j in list {
            let fate = match (j.fate, dry_run) {
                (Fate::Kept, _) => "",
                (Fate::Removed, true) => "remove   ",
                (Fate::Removed, false) => "removed  ",
            };
            writeln!(
                w,
                "{fate}{}  {}, {} to undo  {}  {}",
                when(j.modified),
                plural(j.entries, "path", "paths"),
                j.undoable,
                Escaped(&j.tree),
                Escaped(&j.path)
            )?;
        }
    }
    let removed = list.iter().filter(|j| j.fate == Fate::Removed).count() as u64;
    let done = list.iter().filter(|j| j.undoable == 0).count() as u64;
    let mut line = format!(
        "{}, {} with nothing left to undo",
        plural(list.len() as u64, "journal", "journals"),
        done
    );
    if removed > 0 {
        line += &format!(
            "; {} {}",
            if dry_run { "would remove" } else { "removed" },
            removed
        );
        if dry_run {
            line += ". Nothing was changed";
        }
    }
    writeln!(w, "{line}.")
}

/// A time as `2026-12-07 17:50:02 UTC`.
fn when(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

pub fn json(w: &mut dyn Write, list: &[Info], dry_run: bool, noted: &Noted) -> io::Result<()> {
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let items: Vec<_> = list
        .iter()
        .map(|j| {
            let mut m = serde_json::Map::new();
            crate::codec::put_bytes(&mut m, "path", j.path.as_os_str().as_bytes());
            crate::codec::put_bytes(&mut m, "tree", j.tree.as_os_str().as_bytes());
            m.insert("modified".into(), json!(secs(j.modified)));
            m.insert("paths".into(), json!(j.entries));
            m.insert("undoable".into(), json!(j.undoable));
            let fate = match (j.fate, dry_run) {
                (Fate::Kept, _) => "kept",
                (Fate::Removed, true) => "removable",
                (Fate::Removed, false) => "removed",
            };
            m.insert("status".into(), json!(fate));
            serde_json::Value::Object(m)
        })
        .collect();
    let problem = |p: &crate::error::Problem| {
        json!({"path": p.path.as_ref().map(|p| p.to_string_lossy()), "kind": p.kind,
               "reason": p.reason, "message": p.message})
    };
    let v = json!({
        "version": super::json::VERSION,
        "dry_run": dry_run,
        "journals": items,
        "summary": {
            "journals": list.len(),
            "nothing_to_undo": list.iter().filter(|j| j.undoable == 0).count(),
            "removed": list.iter().filter(|j| j.fate == Fate::Removed).count(),
        },
        "errors": noted.errors.iter().map(problem).collect::<Vec<_>>(),
        "warnings": noted.warnings.iter().map(problem).collect::<Vec<_>>(),
    });
    serde_json::to_writer(&mut *w, &v)?;
    writeln!(w)
}
