//! The link run (and `apply`, which is one with a saved plan): plan → confirm → recover the
//! leftover temp names → execute → report. The dry run stops after the plan and reports it;
//! unless it saves the plan, it does not hold the plan's groups but makes them again from the
//! scan's, by the same steps, each time the report reads them ([`crate::plan::replan`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use humansize::{BINARY, format_size};

use super::signals::Signals;
use super::{Io, checks, exit_code, on_pool, temps, write_report};
use crate::config::{ApplyConfig, LinkConfig, Output, PlanPolicy, RunOptions};
use crate::error::{Error, Refusal, StateKind};
use crate::execute::{self, execute};
use crate::journal::{Entry, Journal};
use crate::model::{Outcome, Plan, ScanOutput, Summary};
use crate::plan::PlanOptions;
use crate::recover::{Recovered, recover};
use crate::report::{self, LinkReport, PlanRef, Report};
use crate::ui::{Choice, GroupChoice, GroupView};

/// What a link run (or an apply) is to do once it has a plan.
struct Run<'a> {
    dry_run: bool,
    yes: bool,
    /// What the executor enforces on every pair.
    opts: RunOptions,
    scan_time: Duration,
    /// `--journal FILE`, else a new journal in the state directory.
    journal: Option<&'a Path>,
    /// Every root the plan covers (the journal is never written inside one).
    roots: &'a [std::path::PathBuf],
    /// A saved plan: the tree may have changed since, so a dry run re-checks every action as
    /// the executor would, and a run that can link nothing of it says the plan is stale.
    saved: bool,
}

/// Leftover temp names found by the scan: what recovery would do with each, and the journal
/// entries that proved them ours.
#[derive(Default)]
struct Pending {
    results: Vec<Recovered>,
    recorded: Vec<Entry>,
}

/// `link`: scan, plan (as if leftover temp names were gone), then the run.
pub fn link(cfg: &LinkConfig, out: &Output, io: Io<'_>) -> Result<u8, Error> {
    let started = Instant::now();
    let mut scanned = on_pool(&cfg.scan, || crate::scan::scan(&cfg.scan, io.listener))??;
    let scan_time = started.elapsed();
    // Leftover temp names are resolved before the swaps, but only once the run is confirmed;
    // the plan is made (for the dry run too) as if they were already gone.
    let recorded = temps::recorded(&scanned, cfg.journal.as_slice(), io.listener);
    let results = recover(&scanned.tree, &scanned.temps, &recorded, false);
    for r in &results {
        if let Recovered::Removed {
            linked: Some((id, _)),
            ..
        } = r
        {
            temps::discount_link(&mut scanned, *id);
        }
    }
    if cfg.dry_run {
        temps::note(io.listener, &scanned, &results, true);
    }
    let opts = plan_options(cfg, &mut scanned)?;
    // A dry run that saves no plan reads its groups from the scan's, made again as they are
    // reported: the plan of millions of files is never held whole. Otherwise the scan's groups
    // are consumed, and what they held is the plan's room for the run.
    let replan = cfg.dry_run && cfg.save_plan.is_none();
    let plan = if replan {
        crate::plan::plan_each(&scanned.tree, scanned.groups.iter(), &opts, drop)
    } else {
        let plan = make_plan(cfg, &io, &mut scanned, &opts)?;
        crate::sys::release_freed_memory();
        plan
    };
    let run = Run {
        dry_run: cfg.dry_run,
        yes: cfg.yes,
        opts: cfg.policy.run_options(),
        scan_time,
        journal: cfg.journal.as_deref(),
        roots: &cfg.scan.roots,
        saved: false,
    };
    let pending = Pending { results, recorded };
    let replan = replan.then_some(&opts);
    run_plan(out, io, (&scanned, replan), plan, &run, &pending)
}

/// `apply`: a saved plan, re-verified file by file as the executor comes to it.
pub fn apply(cfg: &ApplyConfig, out: &Output, io: Io<'_>) -> Result<u8, Error> {
    let (tree, plan, opts) = crate::planfile::load(&cfg.plan)?;
    let scanned = ScanOutput {
        tree,
        ..ScanOutput::default()
    };
    let run = Run {
        dry_run: cfg.dry_run,
        yes: cfg.yes,
        opts,
        scan_time: Duration::ZERO,
        journal: cfg.journal.as_deref(),
        roots: &[],
        saved: true,
    };
    run_plan(out, io, (&scanned, None), plan, &run, &Pending::default())
}

/// What the planner is to do with a scanned tree (its extents move into it).
fn plan_options(cfg: &LinkConfig, scanned: &mut ScanOutput) -> Result<PlanOptions, Error> {
    let PlanPolicy {
        gates,
        max_links,
        keep,
        keep_under,
        method,
    } = &cfg.policy;
    Ok(PlanOptions {
        gates: *gates,
        max_links: *max_links,
        keep: *keep,
        preferred: crate::scan::prefer::dirs_under(&scanned.tree, keep_under)?,
        method: *method,
        extents: std::mem::take(&mut scanned.extents),
    })
}

/// Plan a scanned tree (and save the plan when asked).
/// The scan's groups are consumed: from here on the plan is what the run and its reports use.
fn make_plan(
    cfg: &LinkConfig,
    io: &Io<'_>,
    scanned: &mut ScanOutput,
    opts: &PlanOptions,
) -> Result<Plan, Error> {
    let plan = crate::plan::plan(&scanned.tree, std::mem::take(&mut scanned.groups), opts);
    if let Some(path) = &cfg.save_plan {
        crate::planfile::save(path, &scanned.tree, &plan, &cfg.policy.run_options())?;
        io.listener.note(
            path,
            &format!(
                "plan saved; run it with: linkdup apply {}",
                crate::escape::Escaped(path)
            ),
        );
    }
    Ok(plan)
}

/// What a run did (or, for a dry run, would do).
struct Done {
    outcomes: Vec<Outcome>,
    signals: Option<Signals>,
    /// What recovery did with the leftover temp names, once the run was confirmed.
    recovered: Option<Vec<Recovered>>,
    temps_left: u64,
    /// The undo journal, if anything was recorded in it.
    journal: Option<PathBuf>,
}

/// Confirm, recover, execute and report a plan (only report it, for a dry run).
fn run_plan(
    out: &Output,
    mut io: Io<'_>,
    (scanned, replan): (&ScanOutput, Option<&PlanOptions>),
    mut plan: Plan,
    run: &Run<'_>,
    pending: &Pending,
) -> Result<u8, Error> {
    io.listener.quiet_down();
    let removable = pending
        .results
        .iter()
        .filter(|r| matches!(r, Recovered::Removed { .. }))
        .count() as u64;
    let done = if run.dry_run && run.saved {
        let checked = execute::check(&scanned.tree, &plan, &run.opts, io.listener.progress());
        Done::nothing(checked, pending)
    } else if run.dry_run || (plan.action_count() == 0 && removable == 0) {
        Done::nothing(Vec::new(), pending)
    } else {
        if !run.yes {
            confirm(&mut io, scanned, &mut plan, removable)?;
        }
        real_run(&io, scanned, &mut plan, run, pending)?
    };
    let signal = done.signals.as_ref().and_then(Signals::exit_code);
    let plan_ref = PlanRef {
        plan: &plan,
        replan,
    };
    let mut summary = report::summarize(scanned, Some((plan_ref, &done.outcomes)));
    if run.dry_run && run.saved {
        report::only_what_passed(&mut summary, &plan, &done.outcomes);
    }
    summary.interrupted = signal.is_some();
    summary.elapsed = run.scan_time;
    summary.temps_left = done.temps_left;
    io.listener.quiet_down();
    let r = Report::Link(LinkReport {
        scan: scanned,
        plan: &plan,
        replan,
        outcomes: &done.outcomes,
        summary: &summary,
        dry_run: run.dry_run,
        temps: done.recovered.as_deref().unwrap_or(&pending.results),
        proposed: false,
    });
    let mut code = exit_code(&summary, signal);
    if run.saved && stale(&summary, &done.outcomes) {
        io.listener.note(
            Path::new("plan"),
            "stale: nothing in it can be linked any more (the files changed since it was \
             made); make a new one with linkdup link --dry-run --save-plan",
        );
        code = code.max(super::exit::PARTIAL);
    }
    let code = write_report(io.out, io.listener, code, out, &r);
    // Named last, after the report, where it does not scroll away.
    if let Some(path) = &done.journal {
        io.listener.note(
            path,
            &format!(
                "undo journal of this run (linkdup undo {} gives every path its own file back)",
                crate::escape::Escaped(path)
            ),
        );
    }
    Ok(code)
}

impl Done {
    /// Nothing run: a dry run's outcomes (none when every action is planned: see
    /// [`LinkReport`]), the temp names as recovery would leave them.
    fn nothing(outcomes: Vec<Outcome>, pending: &Pending) -> Done {
        Done {
            outcomes,
            signals: None,
            recovered: None,
            temps_left: temps::unresolved(&pending.results),
            journal: None,
        }
    }
}

/// The confirmed run: recovery of leftover temp names, then the swaps, journaled, with Ctrl-C
/// and SIGTERM checked between them.
fn real_run(
    io: &Io<'_>,
    scanned: &ScanOutput,
    plan: &mut Plan,
    run: &Run<'_>,
    pending: &Pending,
) -> Result<Done, Error> {
    let mut temps_left = temps::unresolved(&pending.results);
    let mut recovered = None;
    if !scanned.temps.is_empty() {
        let done = recover_now(io, scanned, plan, &pending.recorded);
        temps_left = temps::unresolved(&done);
        recovered = Some(done);
    }
    let signals = Signals::catch()?;
    let mut journal = open_journal(run, scanned)?;
    let outcomes = execute(
        &scanned.tree,
        plan,
        &run.opts,
        &signals.stop,
        io.listener.progress(),
        Some(&mut journal),
    );
    let path = journal.path.clone();
    let journal = journal.finish().then_some(path);
    for o in &outcomes {
        if let Outcome::Failed(e) = o {
            io.listener.error(e);
        }
    }
    Ok(Done {
        outcomes,
        signals: Some(signals),
        recovered,
        temps_left,
        journal,
    })
}

/// A saved plan of which nothing can be linked because the files changed (not because it was
/// applied already).
fn stale(s: &Summary, outcomes: &[Outcome]) -> bool {
    use crate::model::SkipKind::{Changed, Deleted, KeeperChanged};
    let would = outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Planned | Outcome::Linked { .. }));
    !outcomes.is_empty()
        && !would
        && [Changed, Deleted, KeeperChanged]
            .iter()
            .any(|k| s.skip_kinds.contains_key(k))
}

/// Ask the person: link all, review group by group, or quit (an error: nothing was changed).
/// A review leaves out the groups skipped and uses the keepers chosen.
fn confirm(
    io: &mut Io<'_>,
    scanned: &ScanOutput,
    plan: &mut Plan,
    removable: u64,
) -> Result<(), Error> {
    let plan_ref = PlanRef { plan, replan: None };
    let planned = report::summarize(scanned, Some((plan_ref, &[])));
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
    let (plan_text, views) = review_material(scanned, plan, &planned);
    let choices = match io.confirm.decide(&summary, &question, &plan_text, &views) {
        Choice::All => return Ok(()),
        Choice::Quit => return Err(Error::Refused(Refusal::NotConfirmed)),
        Choice::Reviewed(choices) => choices,
    };
    let mut left_out = 0;
    for (g, c) in std::mem::take(&mut plan.groups).iter().zip(choices) {
        match c {
            GroupChoice::Skip => left_out += 1,
            GroupChoice::Link { keeper } => plan.groups.extend(crate::plan::with_keeper(
                &scanned.tree,
                g,
                keeper,
                &mut plan.skipped,
            )),
        }
    }
    if left_out > 0 {
        io.listener.note(
            Path::new("review"),
            &format!("{} left out as chosen", count(left_out, "group")),
        );
    }
    Ok(())
}

/// Resolve the leftover temp names now that the run is confirmed.
fn recover_now(
    io: &Io<'_>,
    scanned: &ScanOutput,
    plan: &mut Plan,
    recorded: &[Entry],
) -> Vec<Recovered> {
    let done = recover(&scanned.tree, &scanned.temps, recorded, true);
    temps::note(io.listener, scanned, &done, false);
    for r in &done {
        if let Recovered::Removed {
            linked: Some((id, Some(ctime))),
            ..
        } = r
        {
            plan.update_ctime(*id, *ctime);
        }
    }
    done
}

/// The undo journal of a real run: `--journal FILE` or a new file in the state directory,
/// never inside a scanned tree.
fn open_journal(run: &Run<'_>, scanned: &ScanOutput) -> Result<Journal, Error> {
    let roots: Vec<std::path::PathBuf> = scanned
        .tree
        .dirs
        .iter()
        .filter(|d| d.parent.is_none())
        .map(|d| d.path.clone())
        .chain(run.roots.iter().cloned())
        .collect();
    let target = match run.journal {
        Some(p) => p.to_path_buf(),
        None => crate::dirs::journals()
            .map(|d| d.join("journal"))
            .unwrap_or_default(),
    };
    if !target.as_os_str().is_empty() {
        crate::statefile::dir_of(&target, StateKind::Journal, true)?;
        checks::outside_trees(&target, &roots, StateKind::Journal)?;
    }
    Journal::create(run.journal)
}

/// The full plan as text, and each group as the review shows it.
fn review_material(
    scanned: &ScanOutput,
    plan: &Plan,
    totals: &Summary,
) -> (String, Vec<GroupView>) {
    let r = Report::Link(LinkReport {
        scan: scanned,
        plan,
        replan: None,
        outcomes: &[],
        summary: totals,
        dry_run: true,
        temps: &[],
        proposed: true,
    });
    let mut text = Vec::new();
    let look = Output {
        raw: true,
        ..Output::default()
    };
    // Writing into a Vec can't fail.
    let _written = report::render(&mut text, &look, &r, &Default::default());
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
            members: std::iter::once(&g.keeper)
                .chain(g.actions.iter().map(|a| &a.victim))
                .map(|m| member_line(tree, m))
                .collect(),
            also: g
                .keeper_links
                .iter()
                .map(|l| crate::escape::Escaped(&tree.path(l)).to_string())
                .collect(),
        })
        .collect();
    (String::from_utf8_lossy(&text).into_owned(), views)
}

/// A path as the review lists it, with what a keeper is chosen by: `./a.jpg  2024-05-01
/// 12:00:00 UTC  uid 1000 gid 1000  0644  2 links`.
fn member_line(tree: &crate::model::Tree, m: &crate::model::Member) -> String {
    let e = &m.expect;
    let when = std::time::UNIX_EPOCH
        .checked_add(Duration::from_secs(u64::try_from(e.mtime.sec).unwrap_or(0)))
        .map(report::text::utc)
        .unwrap_or_default();
    format!(
        "{}  {when}  uid {} gid {}  {:04o}  {}",
        crate::escape::Escaped(&tree.path(&m.loc)),
        e.uid,
        e.gid,
        e.mode & 0o7777,
        count(m.nlink, "link")
    )
}

fn count(n: u64, what: &str) -> String {
    report::text::plural(n, what, &format!("{what}s"))
}
