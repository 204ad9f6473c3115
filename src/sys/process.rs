//! This process and others: its effective user id, its limit on open fds, the lock that keeps
//! two runs apart, and whether a process id belongs to a running process.

use std::fs::File;
use std::io;

/// Take an exclusive `flock` on an open file without waiting; false when another open file
/// description holds a lock on it.
pub fn lock_exclusive(file: &File) -> io::Result<bool> {
    match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Raise the soft limit on open fds towards the hard limit (at most `cap`); returns the soft
/// limit now in force.
pub fn raise_fd_limit(cap: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    let current = lim.current.unwrap_or(u64::MAX);
    let want = lim.maximum.unwrap_or(u64::MAX).min(cap);
    if current >= want {
        return current;
    }
    let raised = Rlimit {
        current: Some(want),
        maximum: lim.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => want,
        Err(_) => current,
    }
}

/// The effective user id: whose state files are trusted, whose symlinks are followed.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Is a process with this id running now, whatever its name (`/proc/{pid}` exists, so a zombie
/// counts)? False where there is no /proc.
pub fn process_running(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
