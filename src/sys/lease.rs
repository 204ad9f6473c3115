//! File leases (`F_SETLEASE F_RDLCK`): the kernel refuses a read lease while anyone has the file
//! open for writing, and breaks it (with a signal, which linkdup handles) when someone opens it
//! for writing or truncates it while we hold it. rustix has no lease call, so this is the one
//! place with `unsafe`: plain `fcntl` on an fd we own.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// What a lease attempt found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lease {
    /// We hold a read lease: nobody has the file open for writing.
    Held,
    /// Someone has the file open for writing.
    Busy,
    /// Leases can't be had here (filesystem without leases, or not the file's owner and no
    /// CAP_LEASE): no probe was possible.
    Unsupported,
}

/// Try to take a read lease on `file` (opened read-only).
pub fn take_read(file: &File) -> Lease {
    // SAFETY: fcntl with F_SETLEASE on a valid open fd; no pointers are passed.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) };
    if r == 0 {
        return Lease::Held;
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => Lease::Busy,
        _ => Lease::Unsupported,
    }
}

/// Is our read lease still unbroken (nobody tried to open the file for writing since)?
pub fn intact(file: &File) -> bool {
    // SAFETY: fcntl with F_GETLEASE on a valid open fd; no pointers are passed.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLEASE) };
    r == libc::F_RDLCK
}

/// Give up our lease on `file` (it also ends when the file is closed).
pub fn release(file: &File) {
    // SAFETY: fcntl with F_SETLEASE on a valid open fd; no pointers are passed.
    let _status = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK) };
}
