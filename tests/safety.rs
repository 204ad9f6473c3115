//! The tree changes between the scan and the swap: every change is detected, nothing is lost,
//! no temp name is left behind. Driven through the library (scan → change → execute) and, with
//! strace opening a window inside a swap, through the real binary.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use linkdup::model::{Change, Outcome, RunSkip};

/// Execute a plan of one action made before `change`.
fn stale_plan_run(t: &TestEnv, change: impl FnOnce(&TestEnv)) -> Vec<Outcome> {
    let (plan, outcomes) = t.stale_plan(change);
    assert_eq!(plan.action_count(), 1, "the test tree must plan one action");
    outcomes
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

fn skipped(outcomes: &[Outcome]) -> &RunSkip {
    match &outcomes[0] {
        Outcome::Skipped(why) => why,
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
    assert!(
        matches!(skipped(&o), RunSkip::Changed(Change::Modified)),
        "{o:?}"
    );
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
    assert!(matches!(skipped(&o), RunSkip::Keeper { .. }), "{o:?}");
    assert_eq!(t.read("dir/d"), b"original content");
    assert_eq!(t.read("dir/k"), b"keeper rewritten");
    assert_ne!(t.ino("dir/k"), t.ino("dir/d"));
}

#[test]
fn duplicate_grown_or_shrunk_is_not_linked() {
    for new in [&b"original content and more"[..], b"orig"] {
        let t = pair();
        let o = stale_plan_run(&t, |t| fs::write(t.path("dir/d"), new).unwrap());
        assert!(matches!(skipped(&o), RunSkip::Changed(_)), "{o:?}");
        assert_eq!(t.read("dir/d"), new);
        assert!(t.temp_names().is_empty());
    }
}

#[test]
fn deleted_duplicate_is_not_resurrected() {
    let t = pair();
    let o = stale_plan_run(&t, |t| fs::remove_file(t.path("dir/d")).unwrap());
    assert!(
        matches!(skipped(&o), RunSkip::Changed(Change::Deleted)),
        "{o:?}"
    );
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
    let root = t.root().to_str().expect("a UTF-8 temp dir");
    let child = t.spawn_under_strace(
        &[
            "trace=renameat2",
            "inject=renameat2:delay_enter=1500000:when=1",
        ],
        &["link", "-y", "-f", "json", root],
    )?;
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
    // A file that looks like ours but whose content exists nowhere else: left in place and
    // reported, never removed, never linked; the rest of the run is done, and a nightly run
    // does not fail over someone's own file (exit 0).
    let t = pair();
    t.write("dir/.linkdup-tmp.zzzzz.aaaaaa", b"someone else's file");
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["temps"][0]["status"], "left", "{v}");
    assert_eq!(v["temps"][0]["kind"], "not_ours", "{v}");
    assert_eq!(v["summary"]["temps_left"], 0, "{v}");
    assert_eq!(t.ino("dir/k"), t.ino("dir/d"));
    assert_eq!(
        t.read("dir/.linkdup-tmp.zzzzz.aaaaaa"),
        b"someone else's file"
    );
    let names: Vec<PathBuf> = t.temp_names();
    assert_eq!(names, vec![PathBuf::from("dir/.linkdup-tmp.zzzzz.aaaaaa")]);
}

/// Run `linkdup link -y -f json .` under strace with one injection.
fn with_injection(t: &TestEnv, inject: &str) -> Option<(serde_json::Value, std::process::Output)> {
    let out = t.under_strace(inject, &["link", "-y", "-f", "json", "-j", "1", "."])?;
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{inject}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    Some((v, out))
}

fn three_copies() -> TestEnv {
    let t = TestEnv::new();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        t.write(format!("d/{name}"), b"three copies");
        t.set_mtime(&format!("d/{name}"), 1_000 + i as i64);
    }
    t
}

/// Regression (issue 10, attack 7): the old fallback checked the name, then renamed the temp
/// over it, destroying a file saved in between. Without `RENAME_EXCHANGE` nothing is replaced
/// now: every pair is skipped with the reason, and no name is touched.
#[test]
fn without_rename_exchange_nothing_is_replaced_and_the_reason_is_given() {
    let t = three_copies();
    let before = t.snapshot();
    let Some((v, out)) = with_injection(&t, "inject=renameat2:error=EINVAL") else {
        return;
    };
    assert_eq!(common::code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 0, "{v}");
    assert_eq!(v["summary"]["skipped"], 2, "{v}");
    for a in v["actions"].as_array().unwrap() {
        assert_eq!(a["kind"], "no_exchange", "{a}");
    }
    let after = t.snapshot();
    assert_same_bytes(&before, &after);
    for (p, s) in &before {
        assert_eq!(s.ino, after[p].ino, "{} was replaced", p.display());
    }
    assert!(t.temp_names().is_empty());
}

/// Issue 10, attack 7: with no exchange, a file saved (written new, renamed over) while a swap
/// waits must stay. The old fallback's `renameat` is delayed to open that window.
#[test]
fn without_rename_exchange_a_file_saved_meanwhile_is_never_clobbered() {
    if !have("strace") {
        skip("strace is not installed");
        return;
    }
    let t = three_copies();
    let child = Command::new("strace")
        .env("XDG_STATE_HOME", t.state_dir())
        .args(["-f", "-qq", "-o", "/dev/null"])
        .args(["-e", "trace=renameat,renameat2"])
        .args(["-e", "inject=renameat2:error=EINVAL"])
        .args(["-e", "inject=renameat:delay_enter=1500000:when=1"])
        .arg(bin())
        .args(["link", "-y", "-q", "-j", "1"])
        .arg(t.root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if !t.temp_names().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // An editor saves d/b: a new file, renamed over the name.
    t.write("d/b.new", b"the user's new version");
    fs::rename(t.path("d/b.new"), t.path("d/b")).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        t.read("d/b"),
        b"the user's new version",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(t.read("d/a"), b"three copies");
    assert_eq!(t.read("d/c"), b"three copies");
    assert!(t.temp_names().is_empty(), "{:?}", t.temp_names());
}

#[test]
fn a_full_disk_at_the_link_is_retried_once_space_is_given_back() {
    for inject in [
        "inject=linkat:error=ENOSPC:when=1",
        "inject=linkat:error=EDQUOT:when=1",
    ] {
        let t = three_copies();
        let before = t.snapshot();
        let Some((v, out)) = with_injection(&t, inject) else {
            return;
        };
        assert_eq!(common::code(&out), 0, "{inject}: {}", stderr(&out));
        assert_eq!(v["summary"]["linked"], 2, "{inject}: {v}");
        assert_same_bytes(&before, &t.snapshot());
        assert_eq!(t.ino("d/a"), t.ino("d/b"));
        assert_eq!(t.ino("d/a"), t.ino("d/c"));
        assert!(t.temp_names().is_empty());
    }
}

#[test]
fn every_injected_errno_leaves_every_path_with_its_bytes_and_no_temp_name() {
    let cases = [
        // EPERM on AT_EMPTY_PATH falls back to the /proc form: fail both tries.
        "inject=linkat:error=EPERM:when=1..2",
        // A full disk is retried once, after the closing of freed duplicates: fail both tries.
        "inject=linkat:error=ENOSPC:when=1..2",
        "inject=linkat:error=EDQUOT:when=1..2",
        "inject=linkat:error=EIO:when=1",
        "inject=linkat:error=EXDEV:when=1",
        "inject=linkat:error=EACCES:when=1",
        "inject=renameat2:error=EIO:when=1",
        "inject=renameat2:error=EPERM:when=1",
        "inject=renameat2:error=ENOSPC:when=1",
        "inject=renameat2:error=EXDEV:when=1",
    ];
    for inject in cases {
        let t = three_copies();
        let b = t.ino("d/b");
        let before = t.snapshot();
        let Some((v, out)) = with_injection(&t, inject) else {
            return;
        };
        assert_eq!(common::code(&out), 1, "{inject}: {}", stderr(&out));
        assert_eq!(v["summary"]["failed"], 1, "{inject}: {v}");
        assert_eq!(v["summary"]["linked"], 1, "{inject}: the run goes on: {v}");
        let errors = problems(&v, "errors");
        assert_eq!(errors.len(), 1, "{inject}: {v}");
        assert_eq!(errors[0].0, "./d/b", "{inject}: {v}");
        assert_same_bytes(&before, &t.snapshot());
        assert_eq!(
            t.ino("d/b"),
            b,
            "{inject}: the failed duplicate is untouched"
        );
        assert!(t.temp_names().is_empty(), "{inject}: {:?}", t.temp_names());
        // A rerun finishes the job.
        let out = t.run(&["link", "-y", "."]);
        assert_eq!(common::code(&out), 0, "{inject}");
        assert_eq!(t.ino("d/a"), t.ino("d/b"), "{inject}");
        assert_same_bytes(&before, &t.snapshot());
    }
}

#[test]
fn real_emlink_rotates_the_keeper() {
    let t = three_copies();
    let before = t.snapshot();
    let Some((v, out)) = with_injection(&t, "inject=linkat:error=EMLINK:when=1") else {
        return;
    };
    assert_eq!(common::code(&out), 0, "{}", stderr(&out));
    // b could not be linked to a (limit): b becomes the keeper and c is linked to it.
    assert_eq!(v["actions"][0]["status"], "skipped", "{v}");
    assert_eq!(v["actions"][1]["status"], "linked", "{v}");
    assert_eq!(t.ino("d/c"), t.ino("d/b"));
    assert_ne!(t.ino("d/a"), t.ino("d/b"));
    assert_same_bytes(&before, &t.snapshot());
    assert!(t.temp_names().is_empty());
}

#[test]
fn failed_temp_removal_is_reported_and_the_temp_holds_identical_bytes() {
    let t = three_copies();
    let before = t.snapshot();
    let Some((v, out)) = with_injection(&t, "inject=unlinkat:error=EIO:when=1") else {
        return;
    };
    assert_eq!(common::code(&out), 1, "{}", stderr(&out));
    assert_eq!(kinds(&v, "errors"), ["temp_left"], "{v}");
    assert_eq!(v["summary"]["failed"], 1, "{v}");
    // Every original path holds its bytes; the one leftover holds the same bytes too.
    let after = t.snapshot();
    for (p, s) in &before {
        assert_eq!(after[p].content, s.content);
    }
    let temps = t.temp_names();
    assert_eq!(temps.len(), 1);
    assert_eq!(after[&temps[0]].content, b"three copies");
}

#[test]
fn a_symlink_given_as_a_root_is_not_counted_twice_or_replaced() {
    let t = TestEnv::new();
    t.write("real/a", b"payload!");
    t.write("real/b", b"payload!");
    t.symlink("real/a", "alias");
    let (v, out) = t.json(&["link", "-y", "-f", "json", "alias", "real"]);
    assert_eq!(common::code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["files_scanned"], 2, "{v}");
    assert_eq!(v["summary"]["linked"], 1);
    assert_eq!(t.ino("real/a"), t.ino("real/b"));
    assert_eq!(
        fs::read_link(t.path("alias")).unwrap(),
        PathBuf::from("real/a")
    );
}

#[test]
fn leftover_temp_names_are_never_candidates() {
    let t = TestEnv::new();
    t.write("x", b"same");
    t.write("y", b"other");
    t.write(".linkdup-tmp.zzzzz.ab3de6", b"other");
    t.hard_link(".linkdup-tmp.zzzzz.ab3de6", ".linkdup-tmp.zzzzz.zz9yy8");
    let x = t.ino("x");
    let (v, out) = t.json(&["link", "-n", "-f", "json", "."]);
    assert_eq!(code(&out), 0);
    // Not planned as duplicates of y, though their bytes are the same.
    assert_eq!(v["actions"], serde_json::json!([]), "{v}");
    let temps = v["temps"].as_array().unwrap();
    assert_eq!(temps.len(), 2, "{v}");
    assert!(temps.iter().all(|t| t["status"] == "removable"), "{v}");
    // A real run resolves them by the recovery rules: their bytes live on in y.
    let out = t.run(&["link", "-y", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(t.temp_names().is_empty());
    assert_eq!(t.read("y"), b"other");
    assert_eq!(t.ino("x"), x);
}

#[test]
fn files_open_for_writing_are_skipped() {
    for held in ["dir/d", "dir/k"] {
        let t = pair();
        let before = t.snapshot();
        let _writer = fs::OpenOptions::new()
            .append(true)
            .open(t.path(held))
            .unwrap();
        let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
        assert_eq!(common::code(&out), 0, "{}", stderr(&out));
        assert_eq!(v["actions"][0]["status"], "skipped", "{held}: {v}");
        assert_eq!(v["actions"][0]["kind"], "open_for_writing", "{held}: {v}");
        assert_eq!(before, t.snapshot(), "{held}");
    }
}

#[test]
fn a_file_opened_for_writing_during_the_swap_is_put_back() {
    let t = pair();
    let d = t.ino("dir/d");
    let path = t.path("dir/d");
    let writer = std::sync::Mutex::new(None);
    let Some(out) = race_in_swap(&t, |_| {
        // This open blocks until linkdup lets go of its lease (after putting the file back).
        let p = path.clone();
        *writer.lock().unwrap() = Some(std::thread::spawn(move || {
            let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
            std::io::Write::write_all(&mut f, b"+appended").unwrap();
            f.metadata().unwrap().ino()
        }));
        std::thread::sleep(Duration::from_millis(100));
    }) else {
        return;
    };
    let written_ino = writer.into_inner().unwrap().unwrap().join().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["actions"][0]["status"], "skipped", "{v}");
    assert_eq!(written_ino, d, "the writer got the duplicate's own inode");
    assert_eq!(t.ino("dir/d"), d);
    assert_eq!(t.read("dir/d"), b"original content+appended");
    assert_eq!(t.read("dir/k"), b"original content");
    assert!(t.temp_names().is_empty());
}
