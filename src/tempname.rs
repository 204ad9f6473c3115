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

    #[test]
    fn names_of_the_pattern_and_near_misses() {
        use std::os::unix::ffi::OsStrExt;
        let cases: &[(&[u8], bool, &str)] = &[
            (b".linkdup-tmp.00000.000000", true, "all zeros"),
            (b".linkdup-tmp.zzzzz.zzzzzz", true, "all z"),
            (
                b".linkdup-tmp.0a1b2.c3d4e5",
                true,
                "mixed digits and letters",
            ),
            (b"", false, "empty"),
            (b".linkdup-tmp.", false, "the prefix alone"),
            (b".linkdup-tmp.00001.", false, "no random part"),
            (b".linkdup-tmp.0001.abcdef", false, "pid one short"),
            (b".linkdup-tmp.000001.abcdef", false, "pid one long"),
            (b".linkdup-tmp.00001.abcdefg", false, "random one long"),
            (b".linkdup-tmp.00001.abcdef\n", false, "a trailing newline"),
            (b".linkdup-tmp.00001.abcdef.", false, "a trailing dot"),
            (
                b".linkdup-tmp.00001abcdefg",
                false,
                "no separator, right length",
            ),
            (
                b".linkdup-tmp.00001aabcdef",
                false,
                "a letter for the separator",
            ),
            (
                b".linkdup-tmp.00001.abc.ef",
                false,
                "a dot in the random part",
            ),
            (b".linkdup-tmp.0000A.abcdef", false, "upper case pid"),
            (b".linkdup-tmp.00001.abcdeF", false, "upper case random"),
            (b".linkdup-tmp.0000-.abcdef", false, "a dash in the pid"),
            (b".linkdup-tmp.00001.abcde\xff", false, "a non-UTF-8 byte"),
            (
                ".linkdup-tmp.00001.abcd\u{e9}".as_bytes(),
                false,
                "a two-byte letter",
            ),
            (b".linkdup-tmp.00001.abcd\x00f", false, "a NUL"),
            (b".linkdup-tmp.00 01.abcdef", false, "a space"),
            (b"_linkdup-tmp.00001.abcdef", false, "no leading dot"),
            (b".linkdup_tmp.00001.abcdef", false, "underscore for dash"),
            (b".Linkdup-tmp.00001.abcdef", false, "capital prefix"),
            (b".linkdup-tmp-00001.abcdef", false, "dash ends the prefix"),
            (
                b".linkdup-state.00001.abc",
                false,
                "a state file's temp name",
            ),
            (
                b"linkdup-tmp.00001.abcdefg",
                false,
                "no leading dot, right length",
            ),
            (b"/.linkdup-tmp.00001.abcdef", false, "a path, not a name"),
        ];
        for &(name, want, what) in cases {
            let name = OsStr::from_bytes(name);
            assert_eq!(is_temp(name), want, "{what}: {name:?}");
            assert_eq!(pid(name).is_some(), want, "{what}: pid of {name:?}");
        }
    }

    #[test]
    fn pids_decode_from_base_36() {
        let cases: &[(&str, u32)] = &[
            ("00000", 0),
            ("00001", 1),
            ("00009", 9),
            ("0000a", 10),
            ("0000z", 35),
            ("00010", 36),
            ("00100", 1296),
            (
                "12345",
                36u32.pow(4) + 2 * 36u32.pow(3) + 3 * 36 * 36 + 4 * 36 + 5,
            ),
            ("2hwcf", 4_194_303), // the largest pid Linux gives (PID_MAX_LIMIT - 1)
            ("zzzzz", 36u32.pow(5) - 1),
        ];
        for &(digits, want) in cases {
            let name = format!("{PREFIX}{digits}.abc123");
            assert_eq!(pid(OsStr::new(&name)), Some(want), "{name}");
        }
        // Every pid this process could have is encoded and decoded back.
        for n in [1usize, 2, 35, 36, 37, 4_194_304] {
            let mut digits = String::new();
            let mut p = n;
            for _ in 0..PID_CHARS {
                digits.insert(0, BASE36[p % 36] as char);
                p /= 36;
            }
            let name = format!("{PREFIX}{digits}.000000");
            assert_eq!(pid(OsStr::new(&name)), Some(n as u32), "{name}");
        }
    }

    #[test]
    fn fresh_names_differ_and_are_never_another_running_process() {
        let running = |pid: u32| std::path::Path::new(&format!("/proc/{pid}")).exists();
        let names: std::collections::BTreeSet<OsString> = (0..64).map(|_| new()).collect();
        assert_eq!(names.len(), 64, "random parts repeat");
        for n in &names {
            assert_eq!(n.len(), LEN);
            assert!(n.as_encoded_bytes().starts_with(PREFIX.as_bytes()));
            // This process's own names are never taken for another's.
            assert!(!owner_running(n, running), "{n:?}");
        }
        // pid 1 always runs; "zzzzz" is beyond any pid_max; a non-temp name owns nothing.
        for (name, want) in [
            (".linkdup-tmp.00001.abcdef", true),
            (".linkdup-tmp.zzzzz.abcdef", false),
            (".linkdup-tmp.00001.ABCDEF", false),
        ] {
            assert_eq!(owner_running(OsStr::new(name), running), want, "{name}");
        }
    }
}
