//! Read leases on the files of one swap, held from before the byte compare to the end of the
//! swap and given up when the guard is dropped (on every path out of a swap, including errors).

use std::fs::File;

use crate::sys::lease::{self, Lease};

/// Make leases usable: a broken lease is signalled with SIGIO, whose default action would end
/// the process in the middle of a swap, so it is handled (the flag is not needed: `F_GETLEASE`
/// tells). False when the signal can't be handled; then no lease is taken.
pub fn enable() -> bool {
    let sigio = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGIO, sigio).is_ok()
}

/// The leases of one swap.
pub struct Leases<'a> {
    held: Vec<&'a File>,
}

/// Which file someone has open for writing.
pub struct Busy(pub usize);

impl<'a> Leases<'a> {
    /// Take a read lease on each of `files`; `Busy(i)` when file `i` is open for writing (the
    /// leases already taken are given back). Where leases can't be had (`enabled` false, or a
    /// filesystem without them) there is nothing to hold, and nothing to break.
    pub fn take(enabled: bool, files: &[&'a File]) -> Result<Leases<'a>, Busy> {
        let mut leases = Leases { held: Vec::new() };
        if !enabled {
            return Ok(leases);
        }
        for (i, f) in files.iter().enumerate() {
            match lease::take_read(f) {
                Lease::Held => leases.held.push(f),
                Lease::Busy => return Err(Busy(i)),
                Lease::Unsupported => {}
            }
        }
        Ok(leases)
    }

    /// Nobody has opened `file` for writing since its lease was taken (true when it has none).
    pub fn untouched(&self, file: &File) -> bool {
        !self.held.iter().any(|f| std::ptr::eq(*f, file)) || lease::intact(file)
    }

    /// Every lease is intact.
    pub fn all_untouched(&self) -> bool {
        self.held.iter().all(|f| lease::intact(f))
    }
}

impl Drop for Leases<'_> {
    fn drop(&mut self) {
        for f in &self.held {
            lease::release(f);
        }
    }
}
