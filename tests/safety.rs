//! The tree changes between the scan and the swap: every change is detected, nothing is lost,
//! no temp name is left behind. Driven through the library (scan → change → execute) and, with
//! strace opening a window inside a swap, through the real binary.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use common::*;
use linkdup::config::Config;
use linkdup::execute::execute;
use linkdup::listener::Silent;
use linkdup::model::Outcome;
use linkdup::plan::{PlanOptions, plan};
use linkdup::scan::scan;

/// Scan and plan `t`, apply `change` to the tree, then execute the stale plan.
fn stale_plan_run(t: &TestEnv, change: impl FnOnce(&TestEnv)) -> Vec<Outcome> {
    let cfg = Config {
        paths: vec![t.root().to_path_buf()],
        ..Config::default()
    };
    let scanned = scan(&cfg, &Silent);
    let p = plan(&scanned.tree, &scanned.groups, &PlanOptions::default());
    assert_eq!(p.action_count(), 1, "the test tree must plan one action");
    change(t);
    execute(&scanned.tree, &p, &AtomicBool::new(false))
}

/// keeper `k` (older, so it is kept) and duplicate `d`.
fn pair() -> TestEnv {
    let t = TestEnv::new();
    t.write("dir/k", b"original content");
    t.write("dir/d", b"original content");
    t.set_mtime("dir/k", 1_000);
    t.set_mtime("dir/d", 2_000);
    t
}

fn skipped(outcomes: &[Outcome]) -> String {
    match &outcomes[0] {
        Outcome::Skipped(why) => why.clone(),
        other => panic!("expected a skip, got {other:?}"),
    }
}

#[test]
fn duplicate_rewritten_with_same_size_and_mtime_is_not_linked() {
    let t = pair();
    let ino = t.ino("dir/d");
    let o = stale_plan_run(&t, |t| {
        fs::write(t.path("dir/d"), b"CHANGED content!").unwrap();
        t.set_mtime("dir/d", 2_000); // hide the change from size and mtime
    });
    assert!(skipped(&o).contains("changed since the scan"));
    assert_eq!(t.read("dir/d"), b"CHANGED content!");
    assert_eq!(t.ino("dir/d"), ino);
    assert!(t.temp_names().is_empty());
}

#[test]
fn keeper_modified_is_not_used() {
    let t = pair();
    let o = stale_plan_run(&t, |t| {
        fs::write(t.path("dir/k"), b"keeper rewritten").unwrap();
    });
    assert!(skipped(&o).contains("keeper"), "{o:?}");
    assert_eq!(t.read("dir/d"), b"original content");
    assert_eq!(t.read("dir/k"), b"keeper rewritten");
    assert_ne!(t.ino("dir/k"), t.ino("dir/d"));
}

#[test]
fn duplicate_grown_or_shrunk_is_not_linked() {
    for new in [&b"original content and more"[..], b"orig"] {
        let t = pair();
        let o = stale_plan_run(&t, |t| fs::write(t.path("dir/d"), new).unwrap());
        assert!(skipped(&o).contains("changed"));
        assert_eq!(t.read("dir/d"), new);
        assert!(t.temp_names().is_empty());
    }
}

#[test]
fn deleted_duplicate_is_not_resurrected() {
    let t = pair();
    let o = stale_plan_run(&t, |t| fs::remove_file(t.path("dir/d")).unwrap());
    assert!(skipped(&o).contains("deleted"));
    assert!(!t.path("dir/d").exists());
    assert_eq!(t.nlink("dir/k"), 1);
    assert!(t.temp_names().is_empty());
}

#[test]
fn duplicate_replaced_by_a_new_file_symlink_fifo_or_directory_is_left_alone() {
    type Change = Box<dyn Fn(&TestEnv)>;
    let replacements: Vec<(&str, Change)> = vec![
        (
            "new file",
            Box::new(|t: &TestEnv| {
                fs::remove_file(t.path("dir/d")).unwrap();
                fs::write(t.path("dir/d"), b"original content").unwrap();
            }),
        ),
        (
            "symlink",
            Box::new(|t: &TestEnv| {
                fs::remove_file(t.path("dir/d")).unwrap();
                std::os::unix::fs::symlink("k", t.path("dir/d")).unwrap();
            }),
        ),
        (
            "fifo",
            Box::new(|t: &TestEnv| {
                fs::remove_file(t.path("dir/d")).unwrap();
                assert!(
                    Command::new("mkfifo")
                        .arg(t.path("dir/d"))
                        .status()
                        .unwrap()
                        .success()
                );
            }),
        ),
        (
            "directory",
            Box::new(|t: &TestEnv| {
                fs::remove_file(t.path("dir/d")).unwrap();
                fs::create_dir(t.path("dir/d")).unwrap();
            }),
        ),
    ];
    for (what, change) in replacements {
        let t = pair();
        let k = t.ino("dir/k");
        let o = stale_plan_run(&t, |t| change(t));
        assert!(
            matches!(o[0], Outcome::Skipped(_) | Outcome::Failed(_)),
            "{what}: {o:?}"
        );
        let m = fs::symlink_metadata(t.path("dir/d")).unwrap();
        assert_ne!(m.ino(), k, "{what}: was replaced by a link");
        assert_eq!(t.read("dir/k"), b"original content");
        assert!(t.temp_names().is_empty(), "{what}");
    }
}

#[test]
fn parent_directory_swapped_for_a_symlink_to_outside_changes_nothing_outside() {
    let t = pair();
    let outside = TestEnv::new();
    outside.write("dir/d", b"original content");
    outside.write("dir/k", b"original content");
    let before_outside = outside.snapshot();
    let o = stale_plan_run(&t, |t| {
        fs::rename(t.path("dir"), t.path("moved")).unwrap();
        std::os::unix::fs::symlink(outside.path("dir"), t.path("dir")).unwrap();
    });
    assert!(
        matches!(o[0], Outcome::Failed(_) | Outcome::Skipped(_)),
        "{o:?}"
    );
    assert_eq!(before_outside, outside.snapshot());
    assert_ne!(t.ino("moved/k"), t.ino("moved/d"));
}

/// Run `linkdup link -y` on `t` under strace with a delay before the exchange, and apply
/// `change` during that delay.
fn race_in_swap(t: &TestEnv, change: impl FnOnce(&TestEnv)) -> Option<std::process::Output> {
    if !have("strace") {
        eprintln!("SKIP: strace is not installed");
        return None;
    }
    let child = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=renameat2",
            "-e",
            "inject=renameat2:delay_enter=1500000:when=1",
        ])
        .arg(env!("CARGO_BIN_EXE_linkdup"))
        .args(["link", "-y", "-f", "json"])
        .arg(t.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the temp link exists: the swap is under way and paused before the exchange.
    for _ in 0..500 {
        if !t.temp_names().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!t.temp_names().is_empty(), "never saw the temp link");
    change(t);
    Some(child.wait_with_output().unwrap())
}

#[test]
fn duplicate_written_during_the_swap_is_put_back() {
    let t = pair();
    let d = t.ino("dir/d");
    let Some(out) = race_in_swap(&t, |t| {
        fs::OpenOptions::new()
            .write(true)
            .open(t.path("dir/d"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"WRITTEN"))
            .unwrap();
    }) else {
        return;
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["actions"][0]["status"], "skipped", "{v}");
    assert_eq!(t.ino("dir/d"), d);
    assert_eq!(t.read("dir/d"), b"WRITTENl content");
    assert_eq!(t.read("dir/k"), b"original content");
    assert!(t.temp_names().is_empty());
}

#[test]
fn duplicate_deleted_during_the_swap_is_not_resurrected() {
    let t = pair();
    let Some(out) = race_in_swap(&t, |t| fs::remove_file(t.path("dir/d")).unwrap()) else {
        return;
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["actions"][0]["status"], "skipped", "{v}");
    assert!(!t.path("dir/d").exists());
    assert_eq!(t.nlink("dir/k"), 1);
    assert!(t.temp_names().is_empty());
}

#[test]
fn temp_names_of_others_are_never_touched() {
    // A file that looks like ours but is not: linkdup neither reports nor removes it.
    let t = pair();
    t.write("dir/.linkdup-AAAAAAAA", b"someone else's file");
    let out = t.run(&["link", "-y", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.read("dir/.linkdup-AAAAAAAA"), b"someone else's file");
    let names: Vec<PathBuf> = t.temp_names();
    assert_eq!(names, vec![PathBuf::from("dir/.linkdup-AAAAAAAA")]);
}
