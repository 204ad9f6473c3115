//! The `journals` text report: one line per journal, then the totals (the JSON one is in
//! `json.rs`, with the others).

use super::text::plural;
use crate::escape::Escaped;
use crate::journals::{Fate, Info};
use std::io::{self, Write};

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
                super::text::utc(j.modified),
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
