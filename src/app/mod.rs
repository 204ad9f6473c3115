//! Orchestration: the checks made before anything is read, then one function per command
//! (scan, link and apply in `link.rs`, recover, undo), each ending in one report and the exit
//! code. The stages below never print; this is where their results meet stdout and stderr.

mod checks;
mod link;
mod recorder;
mod signals;
mod temps;

use std::io::{self, Write};
use std::time::Instant;

use crate::config::{
    Command, Config, JournalsConfig, Output, RecoverConfig, ScanConfig, UndoConfig,
};
use crate::error::Error;
use crate::listener::Listener;
use crate::model::Summary;
use crate::report::{self, Report};
use crate::ui::Confirm;

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

/// Run one command; returns the exit code.
///
/// # Errors
/// A refusal (no terminal to confirm on, a state file that is not provably yours, a state
/// file inside a scanned tree...) before anything changed; per-file problems are not errors,
/// they go to the listener and decide the exit code.
pub fn run(cfg: &Config, io: Io<'_>) -> Result<u8, Error> {
    // Before any thread pool exists: what the workers free is then the main thread's to reuse.
    crate::sys::one_arena();
    checks::before_anything(&cfg.command, io.confirm.available())?;
    let out = &cfg.output;
    // Keep what is told on stderr for the JSON report too.
    let recorder = recorder::Recorder::new(io.listener, out.format.is_json());
    let io = Io {
        out: &mut *io.out,
        listener: &recorder,
        confirm: &mut *io.confirm,
    };
    match &cfg.command {
        Command::Scan(c) => scan(c, out, io),
        Command::Link(c) => link::link(c, out, io),
        Command::Apply(c) => link::apply(c, out, io),
        Command::Recover(c) => recover(c, out, io),
        Command::Undo(c) => undo(c, out, io),
        Command::Split(c) => split(c, out, io),
        Command::Journals(c) => journals(c, out, io),
    }
}

fn scan(cfg: &ScanConfig, out: &Output, io: Io<'_>) -> Result<u8, Error> {
    let started = Instant::now();
    let scanned = on_pool(cfg, || crate::scan::scan(cfg, io.listener))??;
    let elapsed = started.elapsed();
    let summary = report::summarize(&scanned, None);
    io.listener.quiet_down();
    let code = exit_code(&summary, None);
    let r = Report::Scan {
        scan: &scanned,
        elapsed,
    };
    Ok(write_report(io.out, io.listener, code, out, &r))
}

fn recover(cfg: &RecoverConfig, out: &Output, io: Io<'_>) -> Result<u8, Error> {
    let scanned = on_pool(&cfg.scan, || {
        crate::scan::temp_names(&cfg.scan, io.listener)
    })?;
    let recorded = temps::recorded(&scanned, &cfg.journals, io.listener);
    let results = crate::recover::recover(&scanned.tree, &scanned.temps, &recorded, !cfg.dry_run);
    io.listener.quiet_down();
    let code = if temps::unresolved(&results) > 0 || scanned.errors > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    };
    let r = Report::Recover {
        scan: &scanned,
        results: &results,
        dry_run: cfg.dry_run,
    };
    Ok(write_report(io.out, io.listener, code, out, &r))
}

fn undo(cfg: &UndoConfig, out: &Output, io: Io<'_>) -> Result<u8, Error> {
    let read = crate::journal::read(&cfg.journal)?;
    if read.torn {
        io.listener.warn(&Error::TornJournal {
            path: cfg.journal.clone(),
        });
    }
    let results = crate::undo::undo(&read, &cfg.only, cfg.dry_run);
    let mut code = exit::OK;
    for r in &results {
        if let crate::undo::Undone::Failed(e) = r {
            io.listener.error(e);
            code = exit::PARTIAL;
        }
    }
    let r = Report::Undo {
        entries: &read.entries,
        results: &results,
        dry_run: cfg.dry_run,
        split: false,
    };
    Ok(write_report(io.out, io.listener, code, out, &r))
}

/// `split`: every hard-linked set under the roots, each path but the first given an inode of
/// its own sharing the extents (reported as undo reports its entries).
fn split(cfg: &crate::config::SplitConfig, out: &Output, io: Io<'_>) -> Result<u8, Error> {
    let (scanned, sets) = on_pool(&cfg.scan, || {
        crate::scan::linked_sets(&cfg.scan, io.listener)
    })?;
    let (entries, results) = crate::split::split(&scanned.tree, &sets, cfg.dry_run);
    io.listener.quiet_down();
    let mut code = if scanned.errors > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    };
    for r in &results {
        if let crate::undo::Undone::Failed(e) = r {
            io.listener.error(e);
            code = exit::PARTIAL;
        }
    }
    let r = Report::Undo {
        entries: &entries,
        results: &results,
        dry_run: cfg.dry_run,
        split: true,
    };
    Ok(write_report(io.out, io.listener, code, out, &r))
}

/// Tell a script that reads the JSON report why the run was refused (stderr says it too).
pub fn write_refusal(w: &mut dyn Write, out: &Output, e: &Error) {
    let written = match out.format {
        crate::config::Format::Json => report::json::refused(w, e, out.pretty),
        crate::config::Format::Jsonl => report::jsonl::refused(w, e),
        _ => return,
    };
    let _ = written.and_then(|()| w.flush());
}

fn journals(cfg: &JournalsConfig, out: &Output, io: Io<'_>) -> Result<u8, Error> {
    use crate::journals::{Fate, remove, selected};
    let (mut list, unreadable) = crate::journals::list();
    let mut code = exit::OK;
    for e in &unreadable {
        io.listener.error(e);
        code = exit::PARTIAL;
    }
    if let Some(prune) = &cfg.prune {
        let now = std::time::SystemTime::now();
        for j in list.iter_mut().filter(|j| selected(j, prune, now)) {
            match if cfg.dry_run { Ok(()) } else { remove(j) } {
                Ok(()) => j.fate = Fate::Removed,
                Err(e) => {
                    io.listener.error(&e);
                    code = exit::PARTIAL;
                }
            }
        }
    }
    let r = Report::Journals {
        journals: &list,
        dry_run: cfg.dry_run,
    };
    Ok(write_report(io.out, io.listener, code, out, &r))
}

/// Run `f` (the walk and the hashing) on a pool of `cfg.threads` workers.
fn on_pool<T: Send>(cfg: &ScanConfig, f: impl FnOnce() -> T + Send) -> Result<T, Error> {
    let threads = if cfg.threads == 0 {
        io_threads()
    } else {
        cfg.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::System {
            what: "starting worker threads",
            err: io::Error::other(e),
        })?;
    Ok(pool.install(f))
}

/// Write a report; a reader that went away (`| head`) is not an error. Any other failure is
/// told to the listener and makes the exit code 1 (what was done is done).
fn write_report(
    w: &mut dyn Write,
    listener: &dyn Listener,
    code: u8,
    out: &Output,
    report: &Report<'_>,
) -> u8 {
    let mut w = io::BufWriter::new(w);
    let noted = recorder::taken(listener);
    match report::render(&mut w, out, report, &noted).and_then(|()| w.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            listener.error(&Error::Report(e));
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
