//! The listener the JSON report reads from: passes every problem on (to stderr, as it happens)
//! and, when a JSON report will be written, keeps it for the report's `errors` and `warnings`.

use std::path::Path;
use std::sync::Mutex;

use crate::error::{Error, Noted, Problem};
use crate::listener::{Listener, Progress};

pub struct Recorder<'a> {
    inner: &'a dyn Listener,
    kept: Option<Mutex<Noted>>,
}

impl<'a> Recorder<'a> {
    pub fn new(inner: &'a dyn Listener, keep: bool) -> Self {
        Recorder {
            inner,
            kept: keep.then(|| Mutex::new(Noted::default())),
        }
    }

    fn keep(&self, f: impl FnOnce(&mut Noted)) {
        if let Some(Ok(mut n)) = self.kept.as_ref().map(Mutex::lock) {
            f(&mut n);
        }
    }

    /// What was kept so far (and no longer kept here), each list sorted by path (then code,
    /// reason and message): the workers meet problems in an order that depends on the threads,
    /// and the report must not.
    fn take(&self) -> Noted {
        let mut out = Noted::default();
        self.keep(|n| out = std::mem::take(n));
        let key = |p: &Problem| (p.path.clone(), p.kind, p.reason.clone(), p.message.clone());
        out.errors.sort_by_cached_key(key);
        out.warnings.sort_by_cached_key(key);
        out
    }
}

impl Listener for Recorder<'_> {
    fn error(&self, err: &Error) {
        self.keep(|n| n.errors.push(Problem::of(err)));
        self.inner.error(err);
    }
    fn warn(&self, err: &Error) {
        self.keep(|n| n.warnings.push(Problem::of(err)));
        self.inner.warn(err);
    }
    fn note(&self, path: &Path, msg: &str) {
        self.inner.note(path, msg);
    }
    fn progress(&self) -> Option<&Progress> {
        self.inner.progress()
    }
    fn quiet_down(&self) {
        self.inner.quiet_down();
    }
    fn recorded(&self) -> Option<Noted> {
        Some(self.take())
    }
}

/// The problems `listener` kept, if it is a [`Recorder`].
pub fn taken(listener: &dyn Listener) -> Noted {
    listener.recorded().unwrap_or_default()
}
