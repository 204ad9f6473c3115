//! Orchestration: scan → plan → report | confirm → execute → report, recovery of leftover temp
//! names, and the exit code.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use humansize::{BINARY, format_size};

use crate::config::{Config, Format, Mode, RunOptions};
use crate::error::Error;
use crate::error::StateKind;
use crate::execute::execute;
use crate::listener::Listener;
use crate::model::{Outcome, Plan, ScanOutput, Summary};
use crate::plan::{PlanOptions, plan, with_keeper};
use crate::planfile;
use crate::recover::{Recovered, recover};
use crate::report::{self, LinkReport};
use crate::scan::scan;
use crate::ui::{Choice, Confirm, GroupChoice, GroupView};

/// Exit codes (documented in the README).
pub mod exit {
    pub const OK: u8 = 0;
    /// Some files could not be processed (each was named on stderr).
    pub const PARTIAL: u8 = 1;
    /// Usage error or refusal (no terminal to confirm on, or the person said no).
    pub const REFUSED: u8 = 2;
    pub const SIGINT: u8 = 130;
    pub const SIGTERM: u8 = 143;
}

/// Where a run writes: the report on `out`, per-file problems to `listener`, questions to `confirm`.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub listener: &'a dyn Listener,
    pub confirm: &'a mut dyn Confirm,
}

/// Run the whole job; returns the exit code.
pub fn run(cfg: &Config, io: Io<'_>) -> Result<u8, Error> {
    let started = Instant::now();
    if cfg.paths.is_empty() && !matches!(cfg.mode, Mode::Apply { .. } | Mode::Undo { .. }) {
        return Err(Error::Usage("no PATH given".into()));
    }
    if let Mode::Link {
        dry_run: false,
        yes: false,
    }
    | Mode::Apply {
        dry_run: false,
        yes: false,
        ..
    } = cfg.mode
        && !io.confirm.available()
    {
        return Err(Error::Usage(
            "refusing to link without confirmation: stdin is not a terminal; pass --yes to link \
             non-interactively, or --dry-run to see the plan. Nothing was changed."
                .into(),
        ));
    }
    // State files: checked before anything is scanned (and again when they are written).
    if let Some(path) = &cfg.save_plan {
        crate::statefile::check_target(path, StateKind::Plan)?;
        outside_trees(path, &cfg.paths, "a plan", "write it elsewhere")?;
    }
    if let Some(path) = &cfg.cache {
        crate::statefile::check_target(path, StateKind::Cache)?;
        outside_trees(
            path,
            &cfg.paths,
            "the hash cache",
            "use --cache-file FILE outside it",
        )?;
    }
    if let (Mode::Link { dry_run: false, .. } | Mode::Apply { dry_run: false, .. }, Some(path)) =
        (&cfg.mode, &cfg.journal)
    {
        crate::statefile::check_target(path, StateKind::Journal)?;
    }
    if let Mode::Link { dry_run: false, .. } = cfg.mode
        && let Some(ro) = all_read_only(&cfg.paths)
    {
        return Err(Error::Usage(format!(
            "{}: read-only filesystem; nothing can be linked there (--dry-run shows the plan). \
             Nothing was changed.",
            crate::escape::Escaped(ro)
        )));
    }
    let threads = if cfg.threads == 0 {
        io_threads()
    } else {
        cfg.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start worker threads: {e}")))?;

    // What the summary reports: the scan's own time (not the time spent at a prompt).
    let scan_timed = || {
        pool.install(|| scan(cfg, io.listener))
            .map(|s| (s, started.elapsed()))
    };
    match &cfg.mode {
        Mode::Undo {
            journal,
            only,
            dry_run,
        } => {
            let read = crate::journal::read(journal)?;
            let entries = &read.entries;
            let results = crate::undo::undo(&read, only, *dry_run);
            for r in &results {
                if let crate::undo::Undone::Failed(e) = r {
                    io.listener.error(e);
                }
            }
            let failed = results
                .iter()
                .any(|r| matches!(r, crate::undo::Undone::Failed(_)));
            let code = if failed { exit::PARTIAL } else { exit::OK };
            Ok(write_report(io.out, io.listener, code, |w| {
                match cfg.format {
                    Format::Json => report::json::undo(w, entries, &results, *dry_run),
                    _ => report::text::undo(w, entries, &results, *dry_run, cfg.quiet),
                }
            }))
        }
        Mode::Apply { plan, dry_run, yes } => {
            let (tree, loaded, opts) = planfile::load(plan)?;
            let scanned = ScanOutput {
                tree,
                ..ScanOutput::default()
            };
            let run = Run {
                dry_run: *dry_run,
                yes: *yes,
                opts,
                scan_time: Duration::ZERO,
            };
            link(cfg, io, &scanned, loaded, &run, &[], &[])
        }
        Mode::Scan => {
            let (scanned, scan_time) = scan_timed()?;
            let summary = report::summarize(&scanned, None);
            io.listener.quiet_down();
            let code = exit_code(&summary, None);
            Ok(write_report(io.out, io.listener, code, |w| {
                match cfg.format {
                    Format::Text => report::text::scan(w, &scanned, look(cfg), scan_time),
                    Format::Json => report::json::scan(w, &scanned),
                    Format::Csv => report::csv::scan(w, &scanned, cfg.raw),
                    Format::Fdupes => report::fdupes::scan(w, &scanned, cfg.null, cfg.raw),
                }
            }))
        }
        Mode::Recover { dry_run, journals } => {
            let dry_run = *dry_run;
            let (scanned, _) = scan_timed()?;
            let recorded = recorded_temps(&scanned, journals, io.listener);
            let results = recover(&scanned.tree, &scanned.temps, &recorded, !dry_run);
            io.listener.quiet_down();
            let code = if unresolved(&results) > 0 || scanned.errors > 0 {
                exit::PARTIAL
            } else {
                exit::OK
            };
            Ok(write_report(io.out, io.listener, code, |w| {
                match cfg.format {
                    Format::Json => report::json::recover(w, &scanned, &results, dry_run),
                    _ => report::text::recover(w, &scanned, &results, dry_run, cfg.quiet),
                }
            }))
        }
        &Mode::Link { dry_run, yes } => {
            let (mut scanned, scan_time) = scan_timed()?;
            // Leftover temp names are resolved before the swaps, but only once the run is
            // confirmed; the plan is made (for the dry run too) as if they were already gone.
            let recorded = recorded_temps(&scanned, cfg.journal.as_slice(), io.listener);
            let pending = recover(&scanned.tree, &scanned.temps, &recorded, false);
            for r in &pending {
                if let Recovered::Removed {
                    linked: Some((id, _)),
                    ..
                } = r
                {
                    discount_link(&mut scanned, *id);
                }
            }
            if dry_run {
                note_recovery(io.listener, &scanned, &pending, true);
            }
            let opts = RunOptions {
                gates: cfg.gates,
                max_links: cfg.max_links,
            };
            let plan = make_plan(cfg, &io, &scanned, &opts)?;
            let run = Run {
                dry_run,
                yes,
                opts,
                scan_time,
            };
            link(cfg, io, &scanned, plan, &run, &pending, &recorded)
        }
    }
}

/// What a link run (or an apply) is to do once it has a plan.
struct Run {
    dry_run: bool,
    yes: bool,
    /// What the executor enforces on every pair.
    opts: RunOptions,
    scan_time: Duration,
}

/// The swaps recorded in the invoking user's journals, which recovery takes as proof that a
/// temp name is linkdup's (read only when the scan found temp names).
fn recorded_temps(
    scanned: &ScanOutput,
    extra: &[std::path::PathBuf],
    listener: &dyn Listener,
) -> Vec<crate::journal::Entry> {
    if scanned.temps.is_empty() {
        return Vec::new();
    }
    let (entries, problems) = crate::journal::recorded(extra);
    for e in &problems {
        listener.warn(e);
    }
    entries
}

/// The undo journal of a real run: `--journal FILE` or a new file in the state directory,
/// never inside a scanned tree.
fn open_journal(cfg: &Config, scanned: &ScanOutput) -> Result<crate::journal::Journal, Error> {
    let roots: Vec<std::path::PathBuf> = scanned
        .tree
        .dirs
        .iter()
        .filter(|d| d.parent.is_none())
        .map(|d| d.path.clone())
        .chain(cfg.paths.iter().cloned())
        .collect();
    let target = match &cfg.journal {
        Some(p) => p.clone(),
        None => crate::dirs::journals()
            .map(|d| d.join("journal"))
            .unwrap_or_default(),
    };
    if !target.as_os_str().is_empty() {
        crate::statefile::dir_of(&target, StateKind::Journal, true)?;
        outside_trees(
            &target,
            &roots,
            "the undo journal",
            "pass --journal FILE outside it",
        )?;
    }
    crate::journal::Journal::create(cfg.journal.as_deref())
}

/// Refuse to write `what` (a plan, the journal, the cache) inside a tree being scanned: it
/// would be scanned next time, and it belongs with the admin, not with the data.
fn outside_trees(
    path: &std::path::Path,
    roots: &[std::path::PathBuf],
    what: &str,
    hint: &str,
) -> Result<(), Error> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let at = std::fs::canonicalize(&parent).map_err(|e| Error::io(&parent, e))?;
    for root in roots {
        if let Ok(r) = std::fs::canonicalize(root)
            && at.starts_with(&r)
        {
            return Err(Error::Usage(format!(
                "{}: {what} is never written inside a scanned tree ({}); {hint}",
                path.display(),
                root.display()
            )));
        }
    }
    Ok(())
}

/// A temp name about to be removed is one link less of `id`.
fn discount_link(scanned: &mut ScanOutput, id: crate::model::FileId) {
    for inode in scanned.groups.iter_mut().flat_map(|g| g.inodes.iter_mut()) {
        if inode.ident.id == id {
            inode.nlink = inode.nlink.saturating_sub(1);
        }
    }
}

/// Temp names that could not be resolved (not counting those of a running linkdup).
fn unresolved(results: &[Recovered]) -> u64 {
    results
        .iter()
        .filter(|r| matches!(r, Recovered::Left { .. } | Recovered::Failed(_)))
        .count() as u64
}

/// Tell the person what happened to each leftover temp name before a link run.
fn note_recovery(l: &dyn Listener, scanned: &ScanOutput, results: &[Recovered], dry_run: bool) {
    for (t, r) in scanned.temps.iter().zip(results) {
        let path = scanned.tree.path(&t.file.loc);
        match r {
            Recovered::Removed { why, .. } if dry_run => l.note(
                &path,
                &format!("leftover temporary name; would be removed: {why}"),
            ),
            Recovered::Removed { why, .. } => {
                l.note(&path, &format!("leftover temporary name removed: {why}"))
            }
            Recovered::Busy => l.note(&path, "in use by a linkdup that is running; left alone"),
            Recovered::Left { why } => l.note(
                &path,
                &format!("leftover temporary name left in place: {why}"),
            ),
            Recovered::Failed(e) => l.error(e),
        }
    }
}

/// Plan a scanned tree (and save the plan when asked).
fn make_plan(
    cfg: &Config,
    io: &Io<'_>,
    scanned: &ScanOutput,
    opts: &RunOptions,
) -> Result<Plan, Error> {
    let plan = plan(
        &scanned.tree,
        &scanned.groups,
        &PlanOptions {
            gates: cfg.gates,
            max_links: cfg.max_links,
            keep: cfg.keep,
            preferred: crate::scan::prefer::dirs_under(&scanned.tree, &cfg.keep_under)?,
        },
    );
    if let Some(path) = &cfg.save_plan {
        planfile::save(path, &scanned.tree, &plan, opts)?;
        io.listener
            .note(path, "plan saved; run it with: linkdup apply PLAN");
    }
    Ok(plan)
}

fn link(
    cfg: &Config,
    io: Io<'_>,
    scanned: &ScanOutput,
    mut plan: Plan,
    run: &Run,
    pending: &[Recovered],
    recorded: &[crate::journal::Entry],
) -> Result<u8, Error> {
    let (dry_run, yes, scan_time) = (run.dry_run, run.yes, run.scan_time);
    io.listener.quiet_down();
    let planned = report::summarize(scanned, Some((&plan, &[])));
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut temps_left = unresolved(pending);
    let mut signal = None;
    let removable = pending
        .iter()
        .filter(|r| matches!(r, Recovered::Removed { .. }))
        .count() as u64;
    if dry_run || (plan.action_count() == 0 && removable == 0) {
        outcomes.resize_with(plan.action_count(), || Outcome::Planned);
    } else {
        if !yes {
            let mut summary = format!(
                "{} in {} can be replaced with hard links, reclaiming {} ({} skipped).",
                count(planned.planned, "duplicate"),
                count(planned.groups, "group"),
                format_size(planned.reclaimable_bytes, BINARY),
                plan.skipped.len(),
            );
            if removable > 0 {
                summary += &format!(
                    "\n{} left by an interrupted run will be removed first (their content lives on).",
                    count(removable, "temporary name")
                );
            }
            let question = format!(
                "Replace {} with hard links, reclaiming {}?",
                count(planned.planned, "duplicate"),
                format_size(planned.reclaimable_bytes, BINARY)
            );
            let (plan_text, views) = review_material(scanned, &plan, &planned);
            match io.confirm.decide(&summary, &question, &plan_text, &views) {
                Choice::All => {}
                Choice::Quit => {
                    return Err(Error::Usage("not confirmed; nothing was changed".into()));
                }
                Choice::Reviewed(choices) => {
                    let before = plan.groups.len();
                    plan.groups = std::mem::take(&mut plan.groups)
                        .iter()
                        .zip(choices)
                        .filter_map(|(g, c)| match c {
                            GroupChoice::Skip => None,
                            GroupChoice::Link { keeper } => Some(with_keeper(g, keeper)),
                        })
                        .collect();
                    let left_out = before - plan.groups.len();
                    if left_out > 0 {
                        io.listener.note(
                            std::path::Path::new("review"),
                            &format!("{} left out as chosen", count(left_out as u64, "group")),
                        );
                    }
                }
            }
        }
        if !scanned.temps.is_empty() {
            let done = recover(&scanned.tree, &scanned.temps, recorded, true);
            note_recovery(io.listener, scanned, &done, false);
            for r in &done {
                if let Recovered::Removed {
                    linked: Some((id, Some(ctime))),
                    ..
                } = r
                {
                    plan.update_ctime(*id, *ctime);
                }
            }
            temps_left = unresolved(&done);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let term = Arc::new(AtomicBool::new(false));
        // Signals only set flags, checked between swaps: a swap is never cut in half.
        let register = |sig, flag: &Arc<AtomicBool>| {
            signal_hook::flag::register(sig, flag.clone())
                .map_err(|e| Error::Usage(format!("cannot handle signals: {e}")))
        };
        let _int = register(signal_hook::consts::SIGINT, &stop)?;
        let _term = register(signal_hook::consts::SIGTERM, &stop)?;
        let _term_kind = register(signal_hook::consts::SIGTERM, &term)?;
        let mut journal = open_journal(cfg, scanned)?;
        outcomes = execute(
            &scanned.tree,
            &plan,
            &run.opts,
            &stop,
            io.listener.progress(),
            Some(&mut journal),
        );
        io.listener.note(
            &journal.path,
            "undo journal of this run (linkdup undo JOURNAL gives every path its own file back)",
        );
        if stop.load(Ordering::Relaxed) {
            signal = Some(if term.load(Ordering::Relaxed) {
                exit::SIGTERM
            } else {
                exit::SIGINT
            });
        }
        for o in &outcomes {
            if let Outcome::Failed(e) = o {
                io.listener.error(e);
            }
        }
    }
    let mut summary = report::summarize(scanned, Some((&plan, &outcomes)));
    summary.interrupted = signal.is_some();
    summary.elapsed = scan_time;
    summary.temps_left = temps_left;
    io.listener.quiet_down();
    let r = LinkReport {
        scan: scanned,
        plan: &plan,
        outcomes: &outcomes,
        summary: &summary,
        dry_run,
    };
    let code = exit_code(&summary, signal);
    Ok(write_report(io.out, io.listener, code, |w| {
        match cfg.format {
            Format::Text => report::text::link(w, &r, look(cfg)),
            Format::Json => report::json::link(w, &r),
            Format::Csv => report::csv::link(w, &r, cfg.raw),
            Format::Fdupes => report::fdupes::link(w, &r, cfg.null, cfg.raw),
        }
    }))
}

/// The first root, when every root is on a read-only mount (a real link run can do nothing).
fn all_read_only(paths: &[std::path::PathBuf]) -> Option<&std::path::Path> {
    let ro = |p: &std::path::PathBuf| crate::sys::fs_facts(p).is_ok_and(|f| f.readonly);
    paths
        .first()
        .filter(|_| paths.iter().all(ro))
        .map(|p| p.as_path())
}

/// The full plan as text, and each group as the review shows it.
fn review_material(
    scanned: &ScanOutput,
    plan: &crate::model::Plan,
    planned: &Summary,
) -> (String, Vec<GroupView>) {
    let outcomes: Vec<Outcome> = plan.actions().map(|_| Outcome::Planned).collect();
    let r = LinkReport {
        scan: scanned,
        plan,
        outcomes: &outcomes,
        summary: planned,
        dry_run: true,
    };
    let mut text = Vec::new();
    let look = report::Look {
        quiet: false,
        color: false,
        null: false,
        raw: true,
    };
    // Writing into a Vec can't fail.
    let _written = report::text::link(&mut text, &r, look);
    let tree = &scanned.tree;
    let views = plan
        .groups
        .iter()
        .map(|g| GroupView {
            header: format!(
                "{} each, {}",
                format_size(g.len.0, BINARY),
                count(g.actions.len() as u64 + 1, "file")
            ),
            members: std::iter::once(&g.keeper.loc)
                .chain(g.actions.iter().map(|a| &a.victim.loc))
                .map(|l| crate::escape::Escaped(&tree.path(l)).to_string())
                .collect(),
        })
        .collect();
    (String::from_utf8_lossy(&text).into_owned(), views)
}

fn look(cfg: &Config) -> report::Look {
    report::Look {
        quiet: cfg.quiet,
        color: cfg.color,
        null: cfg.null,
        raw: cfg.raw,
    }
}

fn count(n: u64, what: &str) -> String {
    report::text::plural(n, what, &format!("{what}s"))
}

/// Write a report; a reader that went away (`| head`) is not an error. Any other failure is
/// told to the listener and makes the exit code 1 (what was done is done).
fn write_report(
    out: &mut dyn Write,
    listener: &dyn Listener,
    code: u8,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> u8 {
    let mut w = io::BufWriter::new(out);
    match f(&mut w).and_then(|()| w.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            listener.error(&Error::Usage(format!("writing the report: {e}")));
            code.max(exit::PARTIAL)
        }
        _ => code,
    }
}

fn exit_code(s: &Summary, signal: Option<u8>) -> u8 {
    if let Some(code) = signal {
        code
    } else if s.failed > 0 || s.scan_errors > 0 || s.temps_left > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    }
}

/// Worker threads for the walk and the hashing when `-j` is not given: 8 per core (8 to 64).
/// They spend most of their time waiting for the disk, and a cold disk answers many requests
/// at once much faster than one at a time (on `small` with an empty page cache, 2 threads take
/// 12.4 s and 16 take 4.4 s); from a warm cache the extra threads cost no time, and about
/// 0.3 MiB of memory each.
fn io_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * 8).clamp(8, 64)
}
