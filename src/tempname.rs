//! The temporary names linkdup makes beside a file it swaps: `.linkdup-tmp.PPPPP.RRRRRR`, where
//! `PPPPP` is the creating process's id in base 36 and `RRRRRR` is random. The format is long and
//! strict on purpose, so that a person's own file (`.linkdup-excludes`, say) never matches it;
//! matching is still no proof that linkdup made a name (see [`crate::recover`]).

use std::ffi::{OsStr, OsString};

/// What every temp name starts with.
pub const PREFIX: &str = ".linkdup-tmp.";
/// Characters that carry the creating process's id (base 36: up to 60 million, more than any
/// `pid_max`).
const PID_CHARS: usize = 5;
const RANDOM_CHARS: usize = 6;
const LEN: usize = PREFIX.len() + PID_CHARS + 1 + RANDOM_CHARS;
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A fresh temporary name: fixed length, never derived from the name it stands beside.
pub fn new() -> OsString {
    let mut s = String::with_capacity(LEN);
    s.push_str(PREFIX);
    let mut pid = std::process::id() as usize;
    let mut digits = [b'0'; PID_CHARS];
    for d in digits.iter_mut().rev() {
        *d = BASE36[pid % 36];
        pid /= 36;
    }
    s.extend(digits.iter().map(|&b| b as char));
    s.push('.');
    for _ in 0..RANDOM_CHARS {
        s.push(BASE36[fastrand::usize(..36)] as char);
    }
    OsString::from(s)
}

/// Is `name` of the temp-name format?
pub fn is_temp(name: &OsStr) -> bool {
    let b = name.as_encoded_bytes();
    let base36 = |s: &[u8]| s.iter().all(|c| BASE36.contains(c));
    b.len() == LEN
        && b.starts_with(PREFIX.as_bytes())
        && base36(&b[PREFIX.len()..PREFIX.len() + PID_CHARS])
        && b[PREFIX.len() + PID_CHARS] == b'.'
        && base36(&b[PREFIX.len() + PID_CHARS + 1..])
}

/// The process id a temp name carries.
pub fn pid(name: &OsStr) -> Option<u32> {
    if !is_temp(name) {
        return None;
    }
    let digits = &name.as_encoded_bytes()[PREFIX.len()..PREFIX.len() + PID_CHARS];
    let mut pid: u64 = 0;
    for &c in digits {
        pid = pid * 36 + BASE36.iter().position(|&x| x == c)? as u64;
    }
    u32::try_from(pid).ok()
}

/// May this temp name belong to a process that is running now (not this one)? Any live process
/// with that id counts, whatever its name (a linkdup binary may be renamed): a name that is
/// wrongly taken for busy is only left for later, one wrongly taken for a leftover could be
/// removed in the middle of its swap. `running` says whether a process id is running (this module
/// makes no platform calls: see `crate::sys::process_running`).
pub fn owner_running(name: &OsStr, running: impl Fn(u32) -> bool) -> bool {
    pid(name).is_some_and(|pid| pid != std::process::id() && running(pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_lookalikes_do_not_match() {
        let n = new();
        assert!(is_temp(&n), "{n:?}");
        assert_eq!(pid(&n), Some(std::process::id()));
        for other in [
            ".linkdup-excludes",
            ".linkdup-AAAA1111",
            ".linkdup-tmp.00001.ABCDEF",
            ".linkdup-tmp.00001.abcde",
            ".linkdup-tmp.00001-abcdef",
            ".linkdup-tmp.0000!.abcdef",
            "x.linkdup-tmp.00001.abcdef",
        ] {
            assert!(!is_temp(OsStr::new(other)), "{other}");
        }
        assert!(is_temp(OsStr::new(".linkdup-tmp.00001.abcdef")));
        assert_eq!(pid(OsStr::new(".linkdup-tmp.00010.abcdef")), Some(36));
    }
}
