//! The objects the JSON reports are made of (a group, an action, a skipped file, a temp name, a
//! problem, an undone path, the summaries), written field by field straight into a serializer:
//! `-f json` puts them in its arrays, `-f jsonl` writes each on a line of its own with a `type`.
//! Nothing is collected first, so a report costs no memory of its own, whatever its size.
//!
//! Keys come in byte order, the order the reports had when they were built as `serde_json`
//! values (whose maps are sorted). A path is built in one reused buffer, never a `PathBuf` per
//! path; a path that is not valid UTF-8 is written as a lossy string (U+FFFD for bad bytes) plus
//! a sibling `<field>_bytes` array of its exact bytes, so no path is ever lost or mistaken.

use std::cell::{Cell, RefCell};

use serde::ser::{Error as _, Serialize, SerializeMap, Serializer};

use super::{LinkReport, Status};
use crate::error::Problem;
use crate::model::{DupGroup, Inode, LinkAction, Loc, Outcome, ScanOutput, Tree};
use crate::recover::Recovered;
use crate::undo::Undone;

/// Something written as the fields of a JSON object, in byte order of their keys.
pub trait Fields {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error>;
}

/// `T`'s fields as one object; with a tag (JSON Lines), a `"type"` key comes first.
pub struct Obj<T> {
    tag: Option<&'static str>,
    fields: T,
}

impl<T> Obj<T> {
    pub fn new(fields: T) -> Obj<T> {
        Obj { tag: None, fields }
    }
    pub fn tagged(tag: &'static str, fields: T) -> Obj<T> {
        Obj {
            tag: Some(tag),
            fields,
        }
    }
}

impl<T: Fields> Serialize for Obj<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(tag) = self.tag {
            m.serialize_entry("type", tag)?;
        }
        self.fields.fields(&mut m)?;
        m.end()
    }
}

/// An array written as it is iterated, never collected (and so written once).
pub struct Each<I>(Cell<Option<I>>);

impl<I> Each<I> {
    pub fn new(items: I) -> Each<I> {
        Each(Cell::new(Some(items)))
    }
}

impl<I> Serialize for Each<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.take() {
            Some(items) => s.collect_seq(items),
            None => Err(S::Error::custom("an array written twice")),
        }
    }
}

/// The paths of one tree, each built in the same buffer when it is written.
pub struct Names<'a> {
    tree: &'a Tree,
    buf: RefCell<Vec<u8>>,
}

impl<'a> Names<'a> {
    pub fn new(tree: &'a Tree) -> Names<'a> {
        Names {
            tree,
            buf: RefCell::new(Vec::with_capacity(256)),
        }
    }

    /// `key` (and `key_bytes` when needed) for the path of `loc`.
    fn put<M: SerializeMap>(&self, m: &mut M, key: &str, loc: &Loc) -> Result<(), M::Error> {
        let mut buf = self.buf.borrow_mut();
        buf.clear();
        self.tree.write_path(loc, &mut buf);
        put_bytes(m, key, &buf)
    }
}

/// `key` holding `bytes` as a string, plus `key_bytes` holding them exactly when they are not
/// valid UTF-8.
fn put_bytes<M: SerializeMap>(m: &mut M, key: &str, bytes: &[u8]) -> Result<(), M::Error> {
    match std::str::from_utf8(bytes) {
        Ok(s) => m.serialize_entry(key, s),
        Err(_) => {
            m.serialize_entry(key, &String::from_utf8_lossy(bytes))?;
            m.serialize_entry(&format!("{key}_bytes"), bytes)
        }
    }
}

/// A duplicate group of a scan, with every path of every inode.
pub struct Group<'a> {
    pub names: &'a Names<'a>,
    pub group: DupGroup,
}

impl Fields for Group<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let g = &self.group;
        let files = g.inodes.iter().flat_map(|inode| {
            inode.paths.iter().map(move |loc| {
                Obj::new(GroupFile {
                    names: self.names,
                    inode,
                    loc,
                })
            })
        });
        m.serialize_entry("files", &Each::new(files))?;
        m.serialize_entry("hash", &format_args!("{:032x}", g.hash))?;
        m.serialize_entry("size", &g.len.0)
    }
}

struct GroupFile<'a> {
    names: &'a Names<'a>,
    inode: &'a Inode,
    loc: &'a Loc,
}

impl Fields for GroupFile<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("dev", &self.inode.ident.id.dev)?;
        m.serialize_entry("ino", &self.inode.ident.id.ino)?;
        m.serialize_entry("nlink", &self.inode.nlink)?;
        self.names.put(m, "path", self.loc)
    }
}

/// Hand every action of a link report to `each` in plan order, as an [`Action`]: with its
/// group's number (from 1), the group and what became of it ([`Outcome::Planned`] past the
/// end of `outcomes`). A callback, not an iterator: a dry run's groups are made as they are
/// read, and an action lives as long as its group.
pub fn each_action<E>(
    r: &LinkReport<'_>,
    names: &Names<'_>,
    mut each: impl FnMut(Action<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let planned = Outcome::Planned;
    let mut outcomes = r.outcomes.iter().chain(std::iter::repeat(&planned));
    for (gi, g) in r.groups().enumerate() {
        for action in &g.actions {
            let outcome = outcomes.next().unwrap_or(&planned);
            each(Action {
                names,
                group: gi + 1,
                plan: &g,
                action,
                outcome,
            })?;
        }
    }
    Ok(())
}

/// Every action of a link report, as a JSON array written as the groups are read.
pub struct Actions<'a> {
    pub r: &'a LinkReport<'a>,
    pub names: &'a Names<'a>,
}

impl Serialize for Actions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        each_action(self.r, self.names, |a| seq.serialize_element(&Obj::new(a)))?;
        seq.end()
    }
}

/// One `duplicate -> keeper` action of a link report and what became of it.
pub struct Action<'a> {
    pub names: &'a Names<'a>,
    /// The group's number, from 1.
    pub group: usize,
    /// The group itself: size, method, and the keeper an action without its own links to.
    pub plan: &'a crate::model::GroupPlan,
    pub action: &'a LinkAction,
    pub outcome: &'a Outcome,
}

impl Fields for Action<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let (a, outcome, g) = (self.action, self.outcome, self.plan);
        let (len, keeper) = (g.len.0, g.keeper_of(a));
        let frees = match outcome {
            Outcome::Planned => a.frees,
            Outcome::Linked { freed, .. } => *freed,
            _ => false,
        };
        let status = Status::of(outcome);
        self.names.put(m, "duplicate", &a.victim.loc)?;
        m.serialize_entry("frees_bytes", &frees)?;
        if frees {
            m.serialize_entry("freed_bytes", &a.frees_bytes.unwrap_or(len))?;
        }
        m.serialize_entry("group", &self.group)?;
        self.names
            .put(m, "keeper", super::keeper_used(keeper, outcome))?;
        if let Some((kind, _)) = &status.why {
            m.serialize_entry("kind", kind)?;
        }
        m.serialize_entry("method", g.method.code())?;
        m.serialize_entry("method_why", g.method_why.code())?;
        // A reflinked file keeps its own times.
        let mtime_differs = g.method == crate::model::Merge::HardLink
            && a.victim.expect.mtime != keeper.expect.mtime;
        m.serialize_entry("mtime_differs", &mtime_differs)?;
        m.serialize_entry("outside_links", &a.outside_links)?;
        if let Some((_, reason)) = &status.why {
            m.serialize_entry("reason", reason)?;
        }
        m.serialize_entry("size", &len)?;
        m.serialize_entry("status", status.word)
    }
}

/// A file the planner left alone, with why.
pub struct Skipped<'a> {
    pub names: &'a Names<'a>,
    pub skip: &'a crate::model::Skip,
}

impl Fields for Skipped<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        put_reason(m, self.names, &self.skip.loc, &self.skip.reason, None)
    }
}

/// A path and why it was not merged: `differs` (every differing metadata, for a metadata
/// reason), `kind`, `path`, `paths` (when given) and `reason`, in key order.
fn put_reason<M: SerializeMap>(
    m: &mut M,
    names: &Names<'_>,
    loc: &Loc,
    reason: &crate::model::SkipReason,
    paths: Option<u64>,
) -> Result<(), M::Error> {
    if let crate::model::SkipReason::Metadata { diff, .. } = reason {
        let all = diff.kinds().into_iter().map(|k| k.code());
        m.serialize_entry("differs", &Each::new(all))?;
    }
    m.serialize_entry("kind", reason.kind().code())?;
    names.put(m, "path", loc)?;
    if let Some(n) = paths {
        m.serialize_entry("paths", &n)?;
    }
    m.serialize_entry("reason", &format_args!("{reason}"))
}

/// A set of copies linked among themselves, kept apart from the rest of its group.
pub struct KeptApart<'a> {
    pub names: &'a Names<'a>,
    pub apart: &'a crate::model::Apart,
}

impl Fields for KeptApart<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let a = self.apart;
        put_reason(m, self.names, &a.loc, &a.reason, Some(a.paths))
    }
}

/// Each leftover temp name of `scan` with what recovery did (or, in a dry run, would do) with
/// it.
pub fn temps<'a>(
    names: &'a Names<'a>,
    scan: &'a ScanOutput,
    results: &'a [Recovered],
    dry_run: bool,
) -> impl Iterator<Item = Temp<'a>> + 'a {
    scan.temps.iter().zip(results).map(move |(t, result)| Temp {
        names,
        loc: &t.file.loc,
        result,
        dry_run,
    })
}

/// A leftover temp name and what recovery did with it.
pub struct Temp<'a> {
    names: &'a Names<'a>,
    loc: &'a Loc,
    result: &'a Recovered,
    dry_run: bool,
}

impl Fields for Temp<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let r = self.result;
        let status = match r {
            Recovered::Removed { .. } if self.dry_run => "removable",
            Recovered::Removed { .. } => "removed",
            Recovered::Busy => "busy",
            Recovered::Gone => "gone",
            Recovered::Left { .. } => "left",
            Recovered::Failed(_) => "failed",
        };
        m.serialize_entry("kind", r.code())?;
        self.names.put(m, "path", self.loc)?;
        m.serialize_entry("reason", &r.reason())?;
        m.serialize_entry("status", status)
    }
}

/// How many temp names recovery removed (or would remove).
pub fn removed(results: &[Recovered]) -> usize {
    let removed = |r: &&Recovered| matches!(r, Recovered::Removed { .. });
    results.iter().filter(removed).count()
}

/// An error or a warning of the run, as stderr told it.
pub struct Trouble<'a>(pub &'a Problem);

impl Fields for Trouble<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let p = self.0;
        m.serialize_entry("kind", p.kind)?;
        m.serialize_entry("message", &p.message)?;
        if let Some(path) = &p.path {
            put_bytes(m, "path", crate::model::path_bytes(path))?;
        }
        if let Some(r) = &p.reason {
            m.serialize_entry("reason", r)?;
        }
        Ok(())
    }
}

/// `key`: the list of `problems`.
pub fn put_problems<M: SerializeMap>(
    m: &mut M,
    key: &str,
    problems: &[Problem],
) -> Result<(), M::Error> {
    m.serialize_entry(
        key,
        &Each::new(problems.iter().map(|p| Obj::new(Trouble(p)))),
    )
}

/// A path of an undo journal and what undo did (or would do) with it.
pub struct UndoPath<'a> {
    pub entry: &'a crate::journal::Entry,
    pub result: &'a Undone,
    pub dry_run: bool,
}

impl Fields for UndoPath<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let (status, why) = match self.result {
            Undone::Restored { .. } => {
                let word = if self.dry_run {
                    "restorable"
                } else {
                    "restored"
                };
                (word, None)
            }
            Undone::Skipped(why) => ("skipped", Some((why.code(), why.to_string()))),
            Undone::Failed(err) => ("failed", Some((err.code(), err.to_string()))),
        };
        if let Some((kind, _)) = &why {
            m.serialize_entry("kind", kind)?;
        }
        put_bytes(m, "path", crate::model::path_bytes(&self.entry.path))?;
        if let Some((_, reason)) = &why {
            m.serialize_entry("reason", reason)?;
        }
        m.serialize_entry("status", status)?;
        match self.result {
            Undone::Restored { withheld } if !withheld.is_empty() => {
                m.serialize_entry("withheld", withheld)
            }
            _ => Ok(()),
        }
    }
}

/// The totals of a scan.
pub struct ScanSummary<'a>(pub &'a ScanOutput);

impl Fields for ScanSummary<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let scan = self.0;
        let (redundant, bytes) = super::redundancy(scan);
        m.serialize_entry("errors", &scan.errors)?;
        m.serialize_entry("files_scanned", &scan.files_scanned)?;
        m.serialize_entry("groups", &scan.groups.len())?;
        m.serialize_entry("reclaimable_bytes", &bytes)?;
        m.serialize_entry("redundant_files", &redundant)
    }
}

/// The totals of a link run (or its plan).
pub struct LinkSummary<'a>(pub &'a LinkReport<'a>);

impl Fields for LinkSummary<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let s = self.0.summary;
        let skipped = s.skipped + self.0.plan.skipped.len() as u64;
        m.serialize_entry("errors", &s.scan_errors)?;
        m.serialize_entry("failed", &s.failed)?;
        m.serialize_entry("files_scanned", &s.files_scanned)?;
        m.serialize_entry("groups", &s.groups)?;
        m.serialize_entry("groups_linked", &s.groups_linked)?;
        m.serialize_entry("interrupted", &s.interrupted)?;
        m.serialize_entry("kept_apart", &s.apart)?;
        m.serialize_entry("linked", &s.linked)?;
        m.serialize_entry("mtime_changes", &s.retimed)?;
        m.serialize_entry("planned", &s.planned)?;
        m.serialize_entry("reclaimable_bytes", &s.reclaimable_bytes)?;
        m.serialize_entry("reclaimed_bytes", &s.reclaimed_bytes)?;
        m.serialize_entry("reflinked", &s.reflinked)?;
        m.serialize_entry("settled", &s.settled)?;
        m.serialize_entry("skipped", &skipped)?;
        m.serialize_entry("temps_left", &s.temps_left)
    }
}

/// The totals of a recovery.
pub struct RecoverSummary<'a> {
    pub scan: &'a ScanOutput,
    pub results: &'a [Recovered],
}

impl Fields for RecoverSummary<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let found = self.scan.temps.len().min(self.results.len());
        let removed = removed(&self.results[..found]);
        m.serialize_entry("errors", &self.scan.errors)?;
        m.serialize_entry("found", &found)?;
        m.serialize_entry("left", &(found - removed))?;
        m.serialize_entry("removed", &removed)
    }
}

/// The totals of an undo.
pub struct UndoSummary<'a>(pub &'a [Undone]);

impl Fields for UndoSummary<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let count = |f: fn(&Undone) -> bool| self.0.iter().filter(|r| f(r)).count();
        m.serialize_entry("failed", &count(|r| matches!(r, Undone::Failed(_))))?;
        m.serialize_entry("restored", &count(|r| matches!(r, Undone::Restored { .. })))?;
        m.serialize_entry("skipped", &count(|r| matches!(r, Undone::Skipped(_))))
    }
}

/// One journal of `linkdup journals`.
pub struct JournalRow<'a> {
    pub journal: &'a crate::journals::Info,
    pub dry_run: bool,
}

impl Fields for JournalRow<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        use crate::journals::Fate;
        let j = self.journal;
        let secs = j
            .modified
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let status = match (j.fate, self.dry_run) {
            (Fate::Kept, _) => "kept",
            (Fate::Removed, true) => "removable",
            (Fate::Removed, false) => "removed",
        };
        m.serialize_entry("modified", &secs)?;
        put_bytes(m, "path", crate::model::path_bytes(&j.path))?;
        m.serialize_entry("paths", &j.entries)?;
        m.serialize_entry("status", status)?;
        put_bytes(m, "tree", crate::model::path_bytes(&j.tree))?;
        m.serialize_entry("undoable", &j.undoable)
    }
}

/// The totals of `linkdup journals`.
pub struct JournalsSummary<'a>(pub &'a [crate::journals::Info]);

impl Fields for JournalsSummary<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let count = |f: fn(&crate::journals::Info) -> bool| self.0.iter().filter(|j| f(j)).count();
        m.serialize_entry("journals", &self.0.len())?;
        m.serialize_entry("nothing_to_undo", &count(|j| j.undoable == 0))?;
        m.serialize_entry(
            "removed",
            &count(|j| j.fate == crate::journals::Fate::Removed),
        )
    }
}

/// One directory of `--by-dir`.
pub struct DirRow<'a> {
    pub tree: &'a Tree,
    pub row: &'a super::bydir::Row,
}

impl Fields for DirRow<'_> {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let r = self.row;
        m.serialize_entry("bytes", &r.bytes)?;
        m.serialize_entry("depth", &r.depth)?;
        m.serialize_entry("files", &r.files)?;
        put_bytes(
            m,
            "path",
            crate::model::path_bytes(&self.tree.dir(r.dir).path),
        )
    }
}
