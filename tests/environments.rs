//! Real environments instead of injected errors: ext4's link limit on a small image, two
//! linkdup processes on one tree, SIGINT in the middle of a run, paths longer than PATH_MAX,
//! sparse files, a keeper deleted before its turn.

mod common;

use std::fs;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// A small ext4 filesystem on a loop device, mounted at `at` for the life of the guard.
struct Ext4(std::path::PathBuf);

impl Ext4 {
    fn mount(image: &Path, at: &Path) -> Option<Ext4> {
        if !is_root() || !have("mkfs.ext4") {
            skip("an ext4 image needs root and e2fsprogs");
            return None;
        }
        let f = fs::File::create(image).unwrap();
        f.set_len(16 << 20).unwrap();
        fs::create_dir_all(at).unwrap();
        if !run_ok(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(image))
            || !run_ok(
                Command::new("mount")
                    .args(["-o", "loop"])
                    .arg(image)
                    .arg(at),
            )
        {
            skip("cannot make or mount an ext4 image");
            return None;
        }
        Some(Ext4(at.to_path_buf()))
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn ext4_link_limit_is_planned_for_and_loses_nothing() {
    let t = TestEnv::new();
    let Some(_fs) = Ext4::mount(&t.path("img"), &t.path("mnt")) else {
        return;
    };
    let m = t.path("mnt");
    fs::create_dir_all(m.join("scan")).unwrap();
    fs::create_dir_all(m.join("links")).unwrap();
    fs::write(m.join("scan/full"), b"popular bytes").unwrap();
    // Fill the keeper up to ext4's limit of 65000 links, outside the scanned directory.
    let mut n = 1;
    while fs::hard_link(m.join("scan/full"), m.join(format!("links/{n}"))).is_ok() {
        n += 1;
    }
    assert_eq!(fs::metadata(m.join("scan/full")).unwrap().nlink(), 65000);
    fs::write(m.join("scan/d1"), b"popular bytes").unwrap();
    fs::write(m.join("scan/d2"), b"popular bytes").unwrap();
    fs::write(m.join("scan/d3"), b"popular bytes").unwrap();
    let out = t
        .cmd()
        .args(["link", "-y", "-f", "json"])
        .arg(m.join("scan"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // full (65000 links) has no room left: the plan already makes d1 the keeper of the others.
    assert_eq!(v["summary"]["linked"], 2, "{v}");
    assert_eq!(v["summary"]["failed"], 0, "{v}");
    assert_eq!(fs::metadata(m.join("scan/full")).unwrap().nlink(), 65000);
    let ino = |p: &str| fs::metadata(m.join(p)).unwrap().ino();
    assert_eq!(ino("scan/d2"), ino("scan/d1"));
    assert_eq!(ino("scan/d3"), ino("scan/d1"));
    for f in ["full", "d1", "d2", "d3"] {
        assert_eq!(fs::read(m.join("scan").join(f)).unwrap(), b"popular bytes");
    }
    let temps: Vec<_> = fs::read_dir(m.join("scan"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".linkdup-")
        })
        .collect();
    assert!(temps.is_empty());
}

#[test]
fn two_processes_on_one_tree_lose_nothing() {
    let t = TestEnv::new();
    for g in 0..40 {
        for c in 0..5 {
            t.write(format!("d{c}/g{g}"), format!("group {g} ").repeat(g + 1));
        }
    }
    let groups = expected_groups(t.root());
    let before = t.snapshot();
    let spawn = || {
        t.cmd()
            .args(["link", "-y", "-q", "."])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    // Each may find the other's work ("changed since the scan"): skipped, never failed.
    assert_eq!(code(&a), 0, "{}", stderr(&a));
    assert_eq!(code(&b), 0, "{}", stderr(&b));
    assert_same_bytes(&before, &t.snapshot());
    assert!(t.temp_names().is_empty());
    // A final run completes whatever the two left.
    assert_eq!(code(&t.run(&["link", "-y", "-q", "."])), 0);
    for g in &groups {
        let inodes: std::collections::BTreeSet<u64> = g
            .iter()
            .map(|p| fs::metadata(t.path(p)).unwrap().ino())
            .collect();
        assert_eq!(inodes.len(), 1, "{g:?}");
    }
}

#[test]
fn sigint_mid_run_finishes_the_current_swap_and_exits_130() {
    if !have("strace") {
        skip("strace is not installed");
        return;
    }
    let t = TestEnv::new();
    for i in 0..5 {
        t.write(format!("k{i}"), format!("content {i}"));
        t.write(format!("v{i}"), format!("content {i}"));
        t.set_mtime(&format!("k{i}"), 1);
    }
    let before = t.snapshot();
    // Slow down the first exchange so that SIGINT arrives in the middle of a swap.
    let child = t
        .spawn_under_strace(
            &[
                "trace=renameat2",
                "inject=renameat2:delay_enter=800000:when=1",
            ],
            &["link", "-y", "-f", "json", "."],
        )
        .expect("strace");
    for _ in 0..400 {
        if !t.temp_names().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!t.temp_names().is_empty(), "never reached the first swap");
    // Signal linkdup itself (strace's child, not strace, nor other tests' linkdup processes).
    let parent = child.id().to_string();
    assert!(run_ok(
        Command::new("pkill").args(["-INT", "-P", &parent, "-x", "linkdup"])
    ));
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["summary"]["linked"], 1,
        "the swap under way was finished: {v}"
    );
    assert_eq!(v["summary"]["interrupted"], true);
    assert_eq!(v["actions"][1]["kind"], "interrupted");
    assert_same_bytes(&before, &t.snapshot());
    assert!(t.temp_names().is_empty());
}

#[test]
fn paths_longer_than_path_max_are_reported_not_fatal() {
    let t = TestEnv::new();
    t.write("a", b"dup");
    t.write("b", b"dup");
    let _bottom = t.deep_dir(20, &["deep1", "deep2"], b"dup");
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        reasons(&v, "errors").contains(&"ENAMETOOLONG".to_string()),
        "{v}"
    );
    assert_eq!(v["summary"]["linked"], 1, "{v}");
    assert_eq!(t.ino("a"), t.ino("b"));
}

#[test]
fn sparse_and_large_files_compare_correctly() {
    let t = TestEnv::new();
    for name in ["s1", "s2", "s3"] {
        let f = fs::File::create(t.path(name)).unwrap();
        f.set_len(50 << 20).unwrap();
        f.write_all_at(b"middle", 25 << 20).unwrap();
    }
    // s3 differs in one byte at the very end only.
    fs::OpenOptions::new()
        .write(true)
        .open(t.path("s3"))
        .unwrap()
        .write_all_at(b"x", (50 << 20) - 1)
        .unwrap();
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 1);
    assert_eq!(t.ino("s1"), t.ino("s2"));
    assert_ne!(t.ino("s1"), t.ino("s3"));
}

#[test]
fn keeper_deleted_before_its_turn_links_nothing_to_a_ghost() {
    let t = TestEnv::new();
    t.write("k", b"bytes");
    t.write("v", b"bytes");
    t.set_mtime("k", 1);
    let (_, o) = t.stale_plan(|t| fs::remove_file(t.path("k")).unwrap());
    assert!(
        matches!(
            &o[0],
            linkdup::Outcome::Skipped(linkdup::model::RunSkip::Keeper { .. })
        ),
        "{o:?}"
    );
    assert_eq!(t.read("v"), b"bytes");
    assert_eq!(t.nlink("v"), 1);
    assert!(t.temp_names().is_empty());
}

#[test]
fn a_full_tmpfs_gives_a_clean_enospc_and_a_later_run_completes() {
    let t = TestEnv::new();
    // Hard links take an inode slot on tmpfs: with every slot used, linkat fails for real.
    let Some(_m) = Mount::tmpfs(&t.path("mnt"), "size=1m,nr_inodes=6") else {
        return;
    };
    for (n, body) in [
        ("a", "x"),
        ("b", "x"),
        ("c", "y"),
        ("d", "y"),
        ("spare", "z"),
    ] {
        t.write(format!("mnt/{n}"), body);
    }
    t.set_mtime("mnt/a", 1);
    t.set_mtime("mnt/c", 1);
    let before = t.snapshot();
    let (v, out) = t.json(&["link", "-y", "-f", "json", "mnt"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(reasons(&v, "errors").contains(&"ENOSPC".to_string()), "{v}");
    assert_eq!(v["summary"]["failed"], 2, "{v}");
    assert_eq!(before, t.snapshot(), "nothing changed, no temp name left");
    // One free slot is enough: each swap borrows it and gives it back.
    fs::remove_file(t.path("mnt/spare")).unwrap();
    let out = t.run(&["link", "-y", "mnt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("mnt/a"), t.ino("mnt/b"));
    assert_eq!(t.ino("mnt/c"), t.ino("mnt/d"));
    assert!(t.temp_names().is_empty());
}

#[test]
fn a_low_fd_limit_slows_the_run_down_but_every_duplicate_is_linked() {
    if !have("prlimit") {
        skip("prlimit is not installed");
        return;
    }
    // 150 directories: more than the 32 directory fds a limit of 64 leaves room for. One
    // group spans them all, and 75 pairs cross them.
    let t = TestEnv::new();
    for d in 0..150 {
        t.write(format!("d{d:03}/all"), b"in every directory");
        t.write(format!("d{d:03}/pair"), format!("pair {}", d / 2));
    }
    let out = Command::new("prlimit")
        .args(["--nofile=64:64", "--"])
        .arg(bin())
        .args(["link", "-y", "-q", "."])
        .env("XDG_STATE_HOME", t.state_dir())
        .current_dir(t.root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("Too many open files"),
        "{}",
        stderr(&out)
    );
    let all = t.ino("d000/all");
    for d in 0..150 {
        assert_eq!(t.ino(&format!("d{d:03}/all")), all, "d{d:03}/all");
        assert_eq!(
            t.ino(&format!("d{d:03}/pair")),
            t.ino(&format!("d{:03}/pair", d / 2 * 2)),
            "d{d:03}/pair"
        );
        assert_eq!(
            fs::read(t.path(format!("d{d:03}/all"))).unwrap(),
            b"in every directory"
        );
    }
}
