//! Closing the fds of replaced duplicates off the swap's path.

use std::fs::File;
use std::sync::Arc;

/// Closes the fds of replaced duplicates on threads of their own. The last close of a freed
/// inode evicts it, and where the filesystem is mounted with `discard` that waits for the device
/// to trim the blocks: the next swap need not wait with it, and several trims can be in flight.
/// (The inode has no name left by then; closing later only keeps its blocks a moment longer.)
/// The queue is bounded, so a slow device slows the run down instead of running out of fds.
pub struct Closer {
    tx: Option<std::sync::mpsc::SyncSender<File>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// What the queue was sized from (kept for [`Closer::flush`]).
    dir_fds: usize,
}

/// Closing threads, and most fds waiting for one.
const CLOSERS: usize = 4;
const CLOSE_QUEUE: usize = 256;

impl Closer {
    /// `dir_fds`: how many fds directories may take (half the limit); the queue takes a
    /// quarter of that at most.
    pub fn new(dir_fds: usize) -> Closer {
        let queue = (dir_fds / 4).clamp(1, CLOSE_QUEUE);
        let (tx, rx) = std::sync::mpsc::sync_channel::<File>(queue);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let threads: Vec<_> = (0..CLOSERS)
            .filter_map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("linkdup-close-{i}"))
                    .spawn(move || {
                        loop {
                            // The lock is held only to take one fd, not to close it.
                            let next = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            match next {
                                Ok(file) => drop(file),
                                Err(_) => return, // the executor is done
                            }
                        }
                    })
                    .ok()
            })
            .collect();
        Closer {
            tx: (!threads.is_empty()).then_some(tx),
            threads,
            dir_fds,
        }
    }

    /// Wait until every queued fd is closed (their inodes' space is free again).
    pub fn flush(&mut self) {
        *self = Closer::new(self.dir_fds);
    }

    /// Close `file` on a closing thread (here, if there is none).
    pub fn close(&self, file: File) {
        if let Some(tx) = &self.tx
            && let Err(std::sync::mpsc::SendError(file)) = tx.send(file)
        {
            drop(file);
        }
    }
}

impl Drop for Closer {
    /// Every fd is closed before the run reports.
    fn drop(&mut self) {
        self.tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
