//! Progress on stderr (indicatif), drawn by a thread that polls the stages' atomic counters ten
//! times a second: the stages never wait on the display. Also the stderr listener, which prints
//! problems above the bar instead of through it.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use humansize::{BINARY, format_size};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::Error;
use crate::escape::Escaped;
use crate::listener::{Listener, Progress, Stage};
use crate::report::text::thousands;

#[derive(Default)]
struct Shown {
    bar: Option<ProgressBar>,
    stage: Option<Stage>,
    /// A stage the run asked us to stop showing (a prompt or the report follows).
    muted: Option<Stage>,
}

struct Shared {
    progress: Progress,
    shown: Mutex<Shown>,
}

/// Writes problems to stderr as `linkdup: <path>: <reason>`, and (when enabled) shows progress.
pub struct StderrListener {
    shared: Option<Arc<Shared>>,
    /// Dropping the sender wakes the display thread at once to end it (no waiting for a tick).
    stop: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl StderrListener {
    /// `show_progress`: draw bars (the caller has checked that stderr is a terminal).
    pub fn new(show_progress: bool) -> Self {
        if !show_progress {
            return StderrListener {
                shared: None,
                stop: Mutex::new(None),
                thread: Mutex::new(None),
            };
        }
        let shared = Arc::new(Shared {
            progress: Progress::default(),
            shown: Mutex::new(Shown::default()),
        });
        let s = shared.clone();
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(100))
            {
                draw(&s);
            }
        });
        StderrListener {
            shared: Some(shared),
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
        }
    }

    fn print(&self, line: String) {
        // Paths in it are escaped already; anything else from a file read back is made safe.
        let line = crate::escape::sanitize(&line);
        let write = || {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        };
        match self.shared.as_ref().map(|s| s.shown.lock()) {
            Some(Ok(shown)) => match &shown.bar {
                Some(bar) => bar.suspend(write),
                None => write(),
            },
            _ => write(),
        }
    }
}

impl Listener for StderrListener {
    fn error(&self, err: &Error) {
        self.print(format!("linkdup: {err}"));
    }
    fn warn(&self, err: &Error) {
        self.print(format!("linkdup: warning: {err}"));
    }
    fn note(&self, path: &Path, msg: &str) {
        self.print(format!("linkdup: {}: {msg}", Escaped(path)));
    }
    fn progress(&self) -> Option<&Progress> {
        self.shared.as_ref().map(|s| &s.progress)
    }
    fn quiet_down(&self) {
        if let Some(s) = &self.shared
            && let Ok(mut shown) = s.shown.lock()
        {
            if let Some(bar) = shown.bar.take() {
                bar.finish_and_clear();
            }
            shown.muted = Some(s.progress.stage());
            shown.stage = None;
        }
    }
}

impl Drop for StderrListener {
    fn drop(&mut self) {
        self.quiet_down();
        if let Ok(mut stop) = self.stop.lock() {
            drop(stop.take());
        }
        if let Ok(mut t) = self.thread.lock()
            && let Some(t) = t.take()
        {
            let _ = t.join();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// The bar takes what the terminal's width leaves (`wide_bar`), so a line never wraps; the
/// rate and the time left are ours (`msg`), shown only after a warm-up.
fn new_bar(stage: Stage) -> ProgressBar {
    let prefix = format!("{}/{} {}", stage as u8, Stage::COUNT, stage.label());
    let bar = match stage {
        Stage::Walk => ProgressBar::new_spinner().with_style(style("{spinner} {prefix}: {msg}")),
        _ => ProgressBar::new(0).with_style(style("{prefix} [{wide_bar}]{msg}")),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    bar.with_prefix(prefix)
}

fn draw(s: &Shared) {
    let Ok(mut shown) = s.shown.lock() else {
        return;
    };
    let stage = s.progress.stage();
    if stage == Stage::Idle || shown.muted == Some(stage) {
        return;
    }
    if shown.stage != Some(stage) {
        if let Some(old) = shown.bar.take() {
            old.finish_and_clear();
        }
        shown.bar = Some(new_bar(stage));
        shown.stage = Some(stage);
        shown.muted = None;
    }
    let p = &s.progress;
    let Some(bar) = &shown.bar else { return };
    match stage {
        Stage::Walk => {
            bar.set_message(format!(
                "{} files, {}",
                thousands(p.files.load(Ordering::Relaxed)),
                format_size(p.bytes.load(Ordering::Relaxed), BINARY)
            ));
            bar.tick();
        }
        _ => {
            let (done, total) = (
                p.done.load(Ordering::Relaxed),
                p.total.load(Ordering::Relaxed),
            );
            let width = console::Term::stderr().size().1 as usize;
            let room = width.saturating_sub(bar.prefix().chars().count() + 4 + MIN_BAR);
            bar.set_message(tail(stage, done, total, bar.elapsed(), room));
            bar.set_length(total);
            bar.set_position(done);
        }
    }
}

/// The narrowest bar worth drawing.
const MIN_BAR: usize = 10;

/// What follows the bar, as much as fits in `room` columns: ` 1.2 GiB/3.4 GiB, 412 MiB/s, 8 s
/// left`, then without the rate, then the counts alone, then the percentage. The rate and the
/// time left come from the whole stage so far and only after its first second, when a few
/// cached files read at once would claim terabytes a second.
fn tail(stage: Stage, done: u64, total: u64, elapsed: Duration, room: usize) -> String {
    let bytes = matches!(stage, Stage::PartialHash | Stage::FullHash);
    let amount = |n: u64| {
        if bytes {
            format_size(n, BINARY)
        } else {
            thousands(n)
        }
    };
    let counts = format!(" {}/{}", amount(done), amount(total));
    let pct = format!(" {}%", (done * 100).checked_div(total).unwrap_or(0));
    let secs = elapsed.as_secs_f64();
    let mut options = Vec::new();
    if secs >= 1.0 && done > 0 {
        let per_sec = done as f64 / secs;
        let left = (total.saturating_sub(done) as f64 / per_sec).round() as u64;
        let unit = if bytes { "" } else { " files" };
        options.push(format!(
            "{counts}, {}{unit}/s, {left} s left",
            amount(per_sec as u64)
        ));
        options.push(format!("{counts}, {left} s left"));
    }
    options.push(counts);
    options.push(pct);
    options
        .into_iter()
        .find(|o| o.chars().count() <= room)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_fits_its_room_and_waits_a_second_for_a_rate() {
        let s = Duration::from_secs;
        let full = tail(Stage::FullHash, 1 << 30, 4 << 30, s(2), 100);
        assert_eq!(full, " 1 GiB/4 GiB, 512 MiB/s, 6 s left");
        // The first instant: no rate, whatever it would claim.
        assert_eq!(
            tail(
                Stage::FullHash,
                1 << 30,
                4 << 30,
                Duration::from_millis(3),
                100
            ),
            " 1 GiB/4 GiB"
        );
        for room in 0..40 {
            let t = tail(Stage::FullHash, 1 << 30, 4 << 30, s(2), room);
            assert!(t.chars().count() <= room, "{room}: {t:?}");
        }
        assert_eq!(tail(Stage::FullHash, 1 << 30, 4 << 30, s(2), 5), " 25%");
        assert_eq!(
            tail(Stage::Link, 1_500, 12_000, s(3), 100),
            " 1,500/12,000, 500 files/s, 21 s left"
        );
    }
}
