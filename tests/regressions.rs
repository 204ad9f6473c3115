//! Regressions found in review, each named for what went wrong.

mod common;

use std::fs;
use std::process::{Command, Stdio};

use common::*;
use linkdup::model::{Change, RunSkip};

/// `a` is newer than `b`; `a` also has a leftover temp link (an interrupted run's).
fn temp_link_tree() -> TestEnv {
    let t = TestEnv::new();
    t.write("a", b"same bytes");
    t.write("b", b"same bytes");
    t.set_mtime("b", 1_000);
    t.hard_link("a", ".linkdup-tmp.zzzzz.abcabc");
    t
}

fn pairs(v: &serde_json::Value) -> Vec<(String, String)> {
    v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["duplicate"].as_str().unwrap().to_string(),
                a["keeper"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn dry_run_plans_as_if_leftover_temp_links_were_already_gone() {
    // The temp link gives `a` two links; once it is removed `b` (older) is the keeper. The dry
    // run must show the plan the real run executes.
    let t = temp_link_tree();
    let (dry, _) = t.json(&["link", "-n", "-f", "json", "."]);
    let (real, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(pairs(&dry), pairs(&real));
    assert_eq!(pairs(&real), vec![("./a".to_string(), "./b".to_string())]);
    assert!(t.temp_names().is_empty());
}

#[test]
fn declining_at_the_prompt_leaves_temp_names_alone_too() {
    if !have("script") {
        skip("script is not installed");
        return;
    }
    let t = temp_link_tree();
    let before = t.snapshot();
    let bin = bin().display().to_string();
    let mut child = Command::new("script")
        .env("XDG_STATE_HOME", t.state_dir())
        .current_dir(t.root())
        .args(["-qefc", &format!("'{bin}' link ."), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"\r").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    assert_eq!(before, t.snapshot());
}

#[test]
fn reports_name_the_keeper_actually_used_after_emlink() {
    if !have("strace") {
        skip("strace is not installed");
        return;
    }
    let t = TestEnv::new();
    for (i, n) in ["k", "v1", "v2", "v3"].iter().enumerate() {
        t.write(n, b"copies");
        t.set_mtime(n, 1_000 + i as i64);
    }
    let Some(out) = t.under_strace(
        "inject=linkat:error=EMLINK:when=1",
        &["link", "-y", "-j", "1", "-f", "json", "."],
    ) else {
        return;
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = pairs(&v);
    assert_eq!(p[1], ("./v2".to_string(), "./v1".to_string()), "{v}");
    assert_eq!(p[2], ("./v3".to_string(), "./v1".to_string()), "{v}");
    assert_eq!(t.ino("v2"), t.ino("v1"));
    assert_eq!(t.ino("v3"), t.ino("v1"));
}

#[test]
fn a_report_that_cannot_be_written_after_linking_exits_1() {
    let t = TestEnv::new();
    t.write("a", b"x");
    t.write("b", b"x");
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        skip("no /dev/full");
        return;
    };
    let out = t
        .cmd()
        .args(["link", "-y", "."])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    // The report can't be written (stdout is full) and can't carry its own error: stderr
    // tells it.
    assert!(
        stderr(&out).contains("writing the report"),
        "{}",
        stderr(&out)
    );
    assert_eq!(t.ino("a"), t.ino("b"));
}

#[test]
fn a_directory_moved_since_the_scan_is_a_skip_not_a_failure() {
    let t = TestEnv::new();
    t.write("k", b"bytes");
    t.write("sub/v", b"bytes");
    t.set_mtime("k", 1);
    let (_, o) = t.stale_plan(|t| {
        fs::rename(t.path("sub"), t.path("moved")).unwrap();
        t.write("sub/v", b"bytes");
    });
    assert!(
        matches!(
            &o[0],
            linkdup::Outcome::Skipped(RunSkip::Changed(Change::DirMoved))
        ),
        "{o:?}"
    );
    assert_ne!(t.ino("k"), t.ino("sub/v"));
    assert_ne!(t.ino("k"), t.ino("moved/v"));
}

#[test]
fn max_depth_with_overlapping_roots_does_not_depend_on_their_order() {
    let t = TestEnv::new();
    t.write("a/b/x", b"twin");
    t.write("a/b/y", b"twin");
    for roots in [["a", "a/b"], ["a/b", "a"]] {
        let (v, _) = t.json(&["scan", "-f", "json", "--max-depth", "0", roots[0], roots[1]]);
        assert_eq!(v["summary"]["groups"], 1, "{roots:?}");
    }
}

#[test]
fn a_temp_name_given_as_a_path_is_never_a_candidate() {
    let t = TestEnv::new();
    t.write("a", b"twin");
    t.write(".linkdup-tmp.zzzzz.xyzxyz", b"twin");
    t.write("c", b"twin");
    let (v, _) = t.json(&[
        "link",
        "-n",
        "-f",
        "json",
        "a",
        ".linkdup-tmp.zzzzz.xyzxyz",
        "c",
    ]);
    let p = pairs(&v);
    assert_eq!(p, vec![("c".to_string(), "a".to_string())], "{v}");
}

/// Run `linkdup scan -j 1 -f json .` under strace, failing with ENOENT the one `syscall` whose
/// trace line contains every string of `needle` (as if the file had been deleted just then). The call is found
/// by a traced dry run first: with one worker thread the order of calls is fixed, and strace
/// counts calls per thread.
fn scan_with_vanishing(
    t: &TestEnv,
    syscall: &str,
    needle: &[&str],
) -> Option<std::process::Output> {
    if !have("strace") {
        skip("strace is not installed");
        return None;
    }
    let log = t.state_dir().join("trace.log");
    let args = ["scan", "-j", "1", "-f", "json", "."];
    let run = |strace: &[&str]| {
        Command::new("strace")
            .args(["-f", "-qq"])
            .args(strace)
            .arg(bin())
            .args(args)
            .current_dir(t.root())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let trace = format!("trace={syscall}");
    run(&["-o", log.to_str().unwrap(), "-e", &trace]);
    let text = fs::read_to_string(&log).unwrap();
    let calls: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(tid, rest)| (tid, rest.trim_start()))
        .filter(|(_, rest)| rest.starts_with(&format!("{syscall}(")))
        .collect();
    let (i, &(tid, _)) = calls
        .iter()
        .enumerate()
        .find(|(_, (_, rest))| needle.iter().all(|n| rest.contains(n)))
        .unwrap_or_else(|| panic!("no {syscall} call with {needle:?} in:\n{text}"));
    let nth = calls[..=i].iter().filter(|(t, _)| *t == tid).count();
    let inject = format!("inject={syscall}:error=ENOENT:when={nth}");
    Some(run(&["-o", "/dev/null", "-e", &inject]))
}

fn grouped_paths(v: &serde_json::Value) -> Vec<String> {
    let mut paths: Vec<String> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["files"].as_array().unwrap().iter())
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_file_deleted_between_listing_and_stat_is_no_error() {
    let t = TestEnv::new();
    for n in ["a", "b", "c"] {
        t.write(n, b"same bytes");
    }
    let Some(out) = scan_with_vanishing(&t, "statx", &["\"b\"", "AT_SYMLINK_NOFOLLOW"]) else {
        return;
    };
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(grouped_paths(&v), ["./a", "./c"]);
}

/// Both ways a file is opened for hashing: directly in a directory only root can write, `O_PATH`
/// first in one that others can write.
#[test]
fn a_file_deleted_before_it_is_hashed_is_a_warning_not_a_failure() {
    use std::os::unix::fs::PermissionsExt;
    for (mode, open) in [(0o700, "O_NONBLOCK"), (0o775, "O_PATH")] {
        let t = TestEnv::new();
        fs::set_permissions(t.root(), fs::Permissions::from_mode(mode)).unwrap();
        for n in ["a", "b", "c"] {
            t.write(n, b"same bytes");
        }
        let Some(out) = scan_with_vanishing(&t, "openat", &["\"b\"", open]) else {
            return;
        };
        assert_eq!(code(&out), 0, "{open}: {}", stderr(&out));
        let v = parse(&out);
        let warnings = problems(&v, "warnings");
        assert_eq!(warnings.len(), 1, "{open}: {v}");
        assert_eq!(
            warnings[0],
            ("./b".into(), "changed".into(), "deleted".into())
        );
        assert_eq!(grouped_paths(&v), ["./a", "./c"], "{open}");
    }
}

#[test]
fn a_directory_deleted_before_it_is_listed_is_a_warning_not_a_failure() {
    let t = TestEnv::new();
    for n in ["a", "b", "sub/c"] {
        t.write(n, b"same bytes");
    }
    let Some(out) = scan_with_vanishing(&t, "openat", &["sub\"", "O_DIRECTORY"]) else {
        return;
    };
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v = parse(&out);
    let warnings = problems(&v, "warnings");
    assert_eq!(warnings.len(), 1, "{v}");
    assert_eq!(
        warnings[0],
        ("./sub".into(), "changed".into(), "dir_removed".into())
    );
    assert_eq!(grouped_paths(&v), ["./a", "./b"]);
}
