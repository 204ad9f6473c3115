//! How the stages tell the outside world what is happening, without printing: per-file problems
//! through [`Listener`], and how far along they are through [`Progress`], a set of atomic
//! counters that a display may poll (the stages never wait on it, and never take a lock).

use std::path::Path;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use crate::error::Error;

/// Receives per-file problems while a stage runs. Called from worker threads.
pub trait Listener: Sync {
    /// A file or directory could not be processed; the stage goes on without it.
    fn error(&self, err: &Error);
    /// Something a careful user should know that is not a failure.
    fn warn(&self, err: &Error);
    /// Something done on the user's behalf outside the plan (e.g. a recovered temp name).
    fn note(&self, path: &Path, msg: &str);
    /// Counters to keep up to date, if anyone shows them.
    fn progress(&self) -> Option<&Progress> {
        None
    }
    /// Called before the run asks a question or writes its report: any display must get out of
    /// the way.
    fn quiet_down(&self) {}
    /// The problems kept for the report so far, by a listener that keeps them.
    fn recorded(&self) -> Option<crate::error::Noted> {
        None
    }
}

/// A listener that drops everything (for tests and library users that only want results).
pub struct Silent;

impl Listener for Silent {
    fn error(&self, _: &Error) {}
    fn warn(&self, _: &Error) {}
    fn note(&self, _: &Path, _: &str) {}
}

/// The stages, in order, as progress displays them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    Idle = 0,
    Walk = 1,
    PartialHash = 2,
    FullHash = 3,
    Link = 4,
}

impl Stage {
    pub const COUNT: u8 = 4;

    pub fn label(self) -> &'static str {
        match self {
            Stage::Idle => "",
            Stage::Walk => "walking",
            Stage::PartialHash => "partial hash",
            Stage::FullHash => "full hash",
            Stage::Link => "linking",
        }
    }

    fn from_u8(v: u8) -> Stage {
        match v {
            1 => Stage::Walk,
            2 => Stage::PartialHash,
            3 => Stage::FullHash,
            4 => Stage::Link,
            _ => Stage::Idle,
        }
    }
}

/// How far the current stage is: files and bytes found while walking; bytes (hashing) or files
/// (linking) done out of a total.
#[derive(Debug, Default)]
pub struct Progress {
    stage: AtomicU8,
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub done: AtomicU64,
    pub total: AtomicU64,
}

impl Progress {
    pub fn start(&self, stage: Stage, total: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.stage.store(stage as u8, Ordering::Release);
    }

    pub fn stage(&self) -> Stage {
        Stage::from_u8(self.stage.load(Ordering::Acquire))
    }

    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    pub fn found(&self, bytes: u64) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}
