//! SIGINT and SIGTERM during the swaps: they only set a flag, checked between swaps, so a
//! swap is never cut in half. One guard holds the handlers for as long as the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::SigId;
use signal_hook::consts::{SIGINT, SIGTERM};

use super::exit;
use crate::error::Error;

/// The handlers of one run; dropping it unregisters them.
pub struct Signals {
    /// Set by either signal: stop before the next swap.
    pub stop: Arc<AtomicBool>,
    /// Set by SIGTERM only (the exit code says which one came).
    term: Arc<AtomicBool>,
    ids: Vec<SigId>,
}

impl Signals {
    pub fn catch() -> Result<Signals, Error> {
        let (stop, term) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let mut ids = Vec::new();
        for (sig, flag) in [(SIGINT, &stop), (SIGTERM, &stop), (SIGTERM, &term)] {
            let id =
                signal_hook::flag::register(sig, flag.clone()).map_err(|err| Error::System {
                    what: "handling signals",
                    err,
                })?;
            ids.push(id);
        }
        Ok(Signals { stop, term, ids })
    }

    /// The exit code of the signal that came, if one did.
    pub fn exit_code(&self) -> Option<u8> {
        if !self.stop.load(Ordering::Relaxed) {
            None
        } else if self.term.load(Ordering::Relaxed) {
            Some(exit::SIGTERM)
        } else {
            Some(exit::SIGINT)
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
