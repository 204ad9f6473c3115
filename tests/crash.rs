//! Killed at any moment, linkdup loses nothing: SIGKILL before every mutating system call of a
//! 20-pair run and at random moments, each followed by the invariant check, a rerun (which
//! resolves the leftover temp names) and the check again. Plus `linkdup recover` on hand-made
//! crash states.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::*;

const PAIRS: usize = 20;

fn pairs_tree() -> TestEnv {
    let t = TestEnv::new();
    for i in 0..PAIRS {
        let body = format!("pair {i} ").repeat(i + 1);
        t.write(format!("d{}/orig{i}", i % 3), &body);
        t.write(format!("d{}/copy{i}", (i + 1) % 3), &body);
        t.set_mtime(&format!("d{}/orig{i}", i % 3), 1_000);
    }
    t
}

/// Every original path holds its original bytes; any extra name is a linkdup temp name whose
/// bytes equal some original file's.
fn check_invariant(before: &BTreeMap<PathBuf, Snap>, t: &TestEnv, what: &str) {
    let after = t.snapshot();
    for (p, s) in before {
        let now = after
            .get(p)
            .unwrap_or_else(|| panic!("{what}: {} is missing", p.display()));
        assert_eq!(now.content, s.content, "{what}: {} changed", p.display());
    }
    for (p, s) in &after {
        if before.contains_key(p) {
            continue;
        }
        assert!(
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".linkdup-"),
            "{what}: unexpected new name {}",
            p.display()
        );
        assert!(
            before.values().any(|b| b.content == s.content),
            "{what}: temp {} holds bytes that were nowhere",
            p.display()
        );
    }
}

fn check_done(before: &BTreeMap<PathBuf, Snap>, t: &TestEnv, what: &str) {
    check_invariant(before, t, what);
    assert!(t.temp_names().is_empty(), "{what}: {:?}", t.temp_names());
    for i in 0..PAIRS {
        let o = format!("d{}/orig{i}", i % 3);
        let c = format!("d{}/copy{i}", (i + 1) % 3);
        assert_eq!(t.ino(&o), t.ino(&c), "{what}: pair {i} not linked");
    }
}

fn linkdup_under_strace(t: &TestEnv, inject: &str) -> std::process::Output {
    t.under_strace(inject, &["link", "-y", "-q", "-j", "1", "."])
        .expect("strace")
}

#[test]
fn sigkill_before_every_mutating_syscall_loses_nothing() {
    if !have("strace") {
        skip("strace is not installed");
        return;
    }
    let mut kills = 0;
    for syscall in ["linkat", "renameat2", "unlinkat"] {
        for k in 1..=PAIRS {
            let t = pairs_tree();
            let before = t.snapshot();
            let what = format!("SIGKILL before {syscall} #{k}");
            let out =
                linkdup_under_strace(&t, &format!("inject={syscall}:signal=SIGKILL:when={k}"));
            assert!(!out.status.success(), "{what}: was not killed");
            kills += 1;
            check_invariant(&before, &t, &what);
            let out = t.run(&["link", "-y", "-q", "."]);
            assert_eq!(code(&out), 0, "{what}: rerun: {}", stderr(&out));
            check_done(&before, &t, &what);
        }
    }
    eprintln!("survived {kills} kills");
}

#[test]
fn sigkill_at_random_moments_loses_nothing() {
    let rounds: usize = std::env::var("LINKDUP_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let mut rng = fastrand::Rng::with_seed(42);
    let mut t = pairs_tree();
    let mut before = t.snapshot();
    for round in 0..rounds {
        if round % 5 == 0 {
            t = pairs_tree();
            before = t.snapshot();
        }
        let mut child = t
            .cmd()
            .args(["link", "-y", "-q", "-j", "1", "."])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.u64(0..4_000)));
        let _ = child.kill();
        let _ = child.wait();
        check_invariant(&before, &t, &format!("random kill {round}"));
    }
    let out = t.run(&["link", "-y", "-q", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    check_done(&before, &t, "after random kills");
}

/// A hand-made crash state: keeper `k`, duplicate path `d` already swapped, temp names left.
fn crash_state() -> TestEnv {
    let t = TestEnv::new();
    t.write("dir/k", b"the keeper's bytes");
    // Crash after the link, before the exchange: the temp is an extra name of the keeper.
    t.hard_link("dir/k", "dir/.linkdup-tmp.zzzzz.aaaa11");
    // Crash after the exchange, before the unlink: the path holds the keeper, the temp the old
    // duplicate (identical bytes, one link).
    t.hard_link("dir/k", "dir/d");
    t.write("dir/.linkdup-tmp.zzzzz.bbbb22", b"the keeper's bytes");
    // Not provably redundant: unique content under our pattern.
    t.write("dir/.linkdup-tmp.zzzzz.cccc33", b"bytes found nowhere else");
    t
}

#[test]
fn recover_removes_only_what_provably_lives_on() {
    let t = crash_state();
    let before = t.snapshot();
    let (v, out) = t.json(&["recover", "--dry-run", "-f", "json", "."]);
    // The one left is not provably linkdup's (someone's own file, as far as anyone can
    // prove): left alone, and no reason for a nightly run to fail.
    assert_eq!(code(&out), 0);
    assert_eq!(before, t.snapshot(), "a dry run changed something");
    assert_eq!(v["summary"]["removed"], 2, "{v}");
    assert_eq!(
        temp_kinds(&v),
        [
            ("./dir/.linkdup-tmp.zzzzz.aaaa11", "removable", "other_name"),
            ("./dir/.linkdup-tmp.zzzzz.bbbb22", "removable", "same_copy"),
            ("./dir/.linkdup-tmp.zzzzz.cccc33", "left", "not_ours"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );

    let (v, out) = t.json(&["recover", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{v}");
    assert_eq!(
        temp_kinds(&v)
            .into_iter()
            .map(|(_, status, _)| status)
            .collect::<Vec<_>>(),
        ["removed", "removed", "left"]
    );
    assert_eq!(
        t.temp_names(),
        vec![Path::new("dir/.linkdup-tmp.zzzzz.cccc33").to_path_buf()]
    );
    assert_eq!(
        t.read("dir/.linkdup-tmp.zzzzz.cccc33"),
        b"bytes found nowhere else"
    );
    assert_eq!(t.read("dir/k"), b"the keeper's bytes");
    assert_eq!(t.read("dir/d"), b"the keeper's bytes");
    assert_eq!(t.nlink("dir/k"), 2);
}

#[test]
fn a_link_run_recovers_first_and_a_dry_run_only_says_so() {
    let t = crash_state();
    let before = t.snapshot();
    let (v, out) = t.json(&["link", "-n", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let statuses = |v: &serde_json::Value| -> Vec<String> {
        temp_kinds(v).into_iter().map(|(_, s, _)| s).collect()
    };
    assert_eq!(statuses(&v), ["removable", "removable", "left"], "{v}");
    // Told on stderr too, as a note.
    assert!(
        stderr(&out).contains("would be removed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(before, t.snapshot());
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(statuses(&v), ["removed", "removed", "left"], "{v}");
    assert_eq!(t.temp_names().len(), 1);
}

/// Each temp name of a recover or link JSON report: (path, status, kind).
fn temp_kinds(v: &serde_json::Value) -> Vec<(String, String, String)> {
    let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_string();
    v["temps"]
        .as_array()
        .unwrap_or_else(|| panic!("no temps: {v}"))
        .iter()
        .map(|t| (s(&t["path"]), s(&t["status"]), s(&t["kind"])))
        .collect()
}
