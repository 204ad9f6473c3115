//! `linkdup scan`: the groups it reports equal an independent computation (sha256 of every
//! regular file), whatever the thread count, and it never modifies or opens what it must not.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

fn reported_groups(v: &serde_json::Value, root: &Path) -> BTreeSet<BTreeSet<PathBuf>> {
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            g["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let p = json_path(f, "path");
                    p.strip_prefix(root).unwrap_or(&p).to_path_buf()
                })
                .collect()
        })
        .collect()
}

#[test]
fn groups_equal_an_independent_sha256_computation() {
    let t = edge_tree();
    let before = t.snapshot();
    let (v, out) = t.json(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    let want = expected_groups(t.root());
    let got = reported_groups(&v, Path::new("."));
    assert_eq!(got, want);
    // Spot checks of the shapes above.
    assert!(want.iter().any(|g| g.len() == 50));
    assert!(
        want.iter()
            .any(|g| g.contains(Path::new("h/x")) && g.contains(Path::new("h/y")))
    );
    assert!(!want.iter().flatten().any(|p| p.starts_with("done")));
    assert!(!want.iter().flatten().any(|p| p.starts_with("s")));
    // Summary: redundant inodes and their bytes.
    let redundant: u64 = want
        .iter()
        .map(|g| {
            let inodes: BTreeSet<u64> = g
                .iter()
                .map(|p| fs::symlink_metadata(t.path(p)).unwrap().ino())
                .collect();
            inodes.len() as u64 - 1
        })
        .sum();
    assert_eq!(v["summary"]["groups"], want.len() as u64);
    assert_eq!(v["summary"]["redundant_files"], redundant);
    assert_eq!(v["summary"]["errors"], 0);
    // Scanning changes nothing, not even a ctime.
    assert_eq!(before, t.snapshot());
}

#[test]
fn non_utf8_paths_round_trip_losslessly_in_json() {
    let t = edge_tree();
    let (v, _) = t.json(&["scan", "-f", "json", "."]);
    let all: Vec<PathBuf> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            g["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| json_path(f, "path"))
        })
        .collect();
    let odd = Path::new(OsStr::from_bytes(b"./odd/bad\xffname.txt"));
    assert!(all.iter().any(|p| p == odd), "{all:?}");
    assert!(all.iter().any(|p| p == Path::new("./odd/new\nline.txt")));
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let t = edge_tree();
    let one = t.run(&["scan", "-f", "json", "-j", "1", "."]);
    let four = t.run(&["scan", "-f", "json", "-j", "4", "."]);
    assert!(!one.stdout.is_empty());
    assert_eq!(stdout(&one), stdout(&four));
    // The text report ends with the scan's wall time, the one thing that may differ.
    let untimed = |o: &std::process::Output| {
        let s = stdout(o);
        s[..s.rfind(" scanned in ").unwrap()].to_string()
    };
    let text1 = t.run(&["scan", "-j", "1", "."]);
    let text4 = t.run(&["scan", "-j", "4", "."]);
    assert_eq!(untimed(&text1), untimed(&text4));
}

#[test]
fn text_report_escapes_names_that_could_forge_lines() {
    let t = edge_tree();
    let out = t.run(&["scan", "."]);
    let s = stdout(&out);
    assert!(s.contains("./odd/new\\nline.txt"), "{s}");
    assert!(s.contains("./odd/bad\\xffname.txt"), "{s}");
    assert!(!s.lines().any(|l| l == "line.txt"));
}

#[test]
fn overlapping_roots_count_each_file_once() {
    let t = TestEnv::new();
    t.write("a/x", b"same");
    t.write("a/b/y", b"same");
    t.write("a/b/z", b"other");
    for args in [
        vec!["a", "a/b"],
        vec!["a/b", "a"],
        vec!["a", "a/."],
        vec!["a", "a/b/y"],
        vec!["a/b/y", "a", "a"],
    ] {
        let mut full = vec!["scan", "-f", "json"];
        full.extend(&args);
        let (v, out) = t.json(&full);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert_eq!(v["summary"]["files_scanned"], 3, "{args:?}");
        let groups = v["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 1, "{args:?}");
        assert_eq!(groups[0]["files"].as_array().unwrap().len(), 2, "{args:?}");
    }
}

#[test]
fn fifo_socket_and_symlink_loop_cause_no_hang_and_are_not_reported() {
    let t = TestEnv::new();
    t.write("a", b"data");
    t.write("b", b"data");
    let fifo = t.path("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let _sock = std::os::unix::net::UnixListener::bind(t.path("sock")).unwrap();
    t.symlink("loop", "loop");
    let start = Instant::now();
    let mut child = t
        .cmd()
        .args(["scan", "-f", "json", "."])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A scan that opened the FIFO would block forever: give it ten seconds.
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("scan hung on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["files_scanned"], 2);
    assert_eq!(v["groups"].as_array().unwrap().len(), 1);
}

/// A file in a directory that someone untrusted can write (group-writable, world-writable and
/// sticky, or owned by another user) could be swapped for a FIFO or device after the walk: it is
/// opened `O_PATH` and checked before it is opened for reading. In a directory only root (the
/// invoking user) can write, nobody untrusted can swap it, and it is opened directly. Both ways
/// find the same group.
#[test]
fn files_where_others_can_write_are_checked_before_they_are_opened_for_reading() {
    if !is_root() {
        skip("chown to another user needs root");
        return;
    }
    let t = TestEnv::new();
    let content = b"the same bytes in every directory\n".repeat(50);
    let dirs = ["mine", "group_writable", "sticky", "theirs"];
    for d in dirs {
        t.write(format!("{d}/{d}-1"), &content);
        t.write(format!("{d}/{d}-2"), &content);
    }
    t.chmod("mine", 0o755);
    t.chmod("group_writable", 0o775);
    t.chmod("sticky", 0o1777);
    t.chmod("theirs", 0o755);
    rustix::fs::chown(
        t.path("theirs"),
        Some(rustix::fs::Uid::from_raw(ATTACKER)),
        Some(rustix::fs::Gid::from_raw(ATTACKER)),
    )
    .unwrap();
    let Some((trace, out)) = t.traced("openat", &["scan", "-f", "json", "."]) else {
        return;
    };
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["files"].as_array().unwrap().len(), 8);
    let opens = |name: &str| -> Vec<&str> {
        let quoted = format!("\"{name}\"");
        trace.lines().filter(|l| l.contains(&quoted)).collect()
    };
    for d in dirs {
        for f in [format!("{d}-1"), format!("{d}-2")] {
            let lines = opens(&f);
            let by_path = lines.iter().any(|l| l.contains("O_PATH"));
            // O_RDONLY is 0: strace shows it beside O_PATH too.
            let for_reading = lines
                .iter()
                .any(|l| l.contains("O_RDONLY") && !l.contains("O_PATH"));
            if d == "mine" {
                assert!(
                    for_reading && !by_path,
                    "{f} should be opened directly: {lines:?}"
                );
            } else {
                assert!(by_path, "{f} should be opened O_PATH first: {lines:?}");
                assert!(
                    !for_reading,
                    "{f} was opened for reading by name: {lines:?}"
                );
            }
        }
    }
}

#[test]
fn missing_path_is_named_and_the_rest_is_still_scanned() {
    let t = TestEnv::new();
    t.write("a/x", b"same");
    t.write("a/y", b"same");
    let (v, out) = t.json(&["scan", "-f", "json", "nope", "a"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        problems(&v, "errors"),
        [("nope".into(), "io".into(), "ENOENT".into())]
    );
    // Told on stderr too, path first.
    let err = stderr(&out);
    assert!(
        err.contains("linkdup: nope: No such file or directory"),
        "{err}"
    );
    assert_eq!(v["groups"].as_array().unwrap().len(), 1);
    assert_eq!(v["summary"]["errors"], 1);
    // The text summary counts it too: a run that exits 1 says why in its last line.
    let out = t.run(&["scan", "nope", "a"]);
    let last = stdout(&out).lines().last().unwrap_or_default().to_string();
    assert!(last.contains("; 1 error (named on stderr)."), "{last}");
}

#[test]
fn size_limits_select_files() {
    let t = TestEnv::new();
    t.write("s1", b"12345");
    t.write("s2", b"12345");
    t.write("b1", vec![7u8; 3000]);
    t.write("b2", vec![7u8; 3000]);
    let count = |args: &[&str]| -> usize {
        let mut full = vec!["scan", "-f", "json"];
        full.extend(args);
        full.push(".");
        let (v, _) = t.json(&full);
        v["groups"].as_array().unwrap().len()
    };
    assert_eq!(count(&[]), 2);
    assert_eq!(count(&["--min-size", "1K"]), 1);
    assert_eq!(count(&["--max-size", "1K"]), 1);
    assert_eq!(count(&["--min-size", "4K"]), 0);
    let out = t.run(&["scan", "--min-size", "lots", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("is not a size"), "{}", stderr(&out));
}

#[test]
fn shipped_fixture_scan_matches_expected_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(bin())
        .current_dir(root)
        .args(["scan", "fixtures/photos"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let want = fs::read_to_string(root.join("fixtures/photos.scan.txt")).unwrap();
    // The elapsed time is the one thing that varies.
    let got = stdout(&out);
    let at = got
        .rfind(" in ")
        .expect("summary line with the elapsed time");
    let end = got[at..].find(" s).").expect("seconds") + at;
    let got = format!("{} in X s{}", &got[..at], &got[end + 2..]);
    assert_eq!(got, want);
}

#[test]
fn exclude_spellings_all_work_and_a_glob_that_matches_nothing_is_named() {
    let t = TestEnv::new();
    for d in ["src/crates/a", "src/other"] {
        t.write(format!("{d}/f"), b"dup");
        t.write(format!("{d}/g"), b"dup");
    }
    // As .gitignore, fd and rg spell them, and as a path from the current directory.
    for glob in [
        "crates",
        "crates/",
        "crates/**",
        "**/crates",
        "src/crates",
        "./src/crates",
    ] {
        let (v, out) = t.json(&["scan", "-f", "json", "--exclude", glob, "src"]);
        assert_eq!(code(&out), 0, "{glob}: {}", stderr(&out));
        assert_eq!(v["summary"]["files_scanned"], 2, "{glob}: {v}");
        assert!(kinds(&v, "warnings").is_empty(), "{glob}: {v}");
    }
    let (v, out) = t.json(&["scan", "-f", "json", "--exclude", "crate", "src"]);
    assert_eq!(code(&out), 0, "a warning, not a failure");
    assert_eq!(v["summary"]["files_scanned"], 4, "{v}");
    assert_eq!(kinds(&v, "warnings"), ["glob_matched_nothing"], "{v}");
    assert!(stderr(&out).contains("--exclude \"crate\" matched nothing"));
}

/// The README's session: a copy of the fixture, linked with `--keep-under` its library, keeps
/// the library's copies whatever the checkout order made of the files' times.
#[test]
fn the_readme_session_keeps_the_library_copies() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos");
    let t = TestEnv::new();
    assert!(run_ok(
        std::process::Command::new("cp")
            .arg("-r")
            .arg(&src)
            .arg(t.path("photos"))
    ));
    // Whatever order a checkout wrote them in: the backup's copies the oldest.
    for p in [
        "backup/2024-summer/beach.jpg",
        "backup/old phone/IMG_0002.jpg",
        "inbox/notes.txt",
    ] {
        t.set_mtime(&format!("photos/{p}"), 1);
    }
    let (v, out) = t.json(&[
        "link",
        "-y",
        "-f",
        "json",
        "--keep-under",
        "photos/library",
        "photos",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 5, "{v}");
    for a in v["actions"].as_array().unwrap() {
        assert!(
            a["keeper"].as_str().unwrap().starts_with("photos/library/"),
            "{a}"
        );
    }
    assert_eq!(
        t.ino("photos/library/2024/summer/beach.jpg"),
        t.ino("photos/backup/2024-summer/beach.jpg")
    );
}
