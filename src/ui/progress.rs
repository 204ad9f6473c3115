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

fn new_bar(stage: Stage) -> ProgressBar {
    let prefix = format!("{}/{} {}", stage as u8, Stage::COUNT, stage.label());
    let bar = match stage {
        Stage::Walk => ProgressBar::new_spinner().with_style(style("{spinner} {prefix}: {msg}")),
        Stage::PartialHash | Stage::FullHash => ProgressBar::new(0).with_style(style(
            "{prefix:>16} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )),
        _ => ProgressBar::new(0)
            .with_style(style("{prefix:>16} [{bar:30}] {pos}/{len} files ETA {eta}")),
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
                p.files.load(Ordering::Relaxed),
                format_size(p.bytes.load(Ordering::Relaxed), BINARY)
            ));
            bar.tick();
        }
        _ => {
            bar.set_length(p.total.load(Ordering::Relaxed));
            bar.set_position(p.done.load(Ordering::Relaxed));
        }
    }
}
