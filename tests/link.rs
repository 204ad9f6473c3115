//! `linkdup link`: what a real run changes on disk (inodes, link counts, bytes), what the gates
//! keep apart, and that dry-run and refusal change nothing.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn ino_of(t: &TestEnv, p: &Path) -> u64 {
    fs::symlink_metadata(t.path(p)).unwrap().ino()
}

fn pairs(v: &serde_json::Value) -> Vec<(PathBuf, PathBuf, String)> {
    v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                json_path(a, "duplicate"),
                json_path(a, "keeper"),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn link_yes_makes_every_duplicate_share_the_keepers_inode_and_keeps_all_bytes() {
    let t = edge_tree();
    let groups = expected_groups(t.root());
    let before = t.snapshot();
    let (v, out) = t.json(&["link", "--yes", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = t.snapshot();
    assert_same_bytes(&before, &after);
    for g in &groups {
        let inodes: BTreeSet<u64> = g.iter().map(|p| ino_of(&t, p)).collect();
        assert_eq!(inodes.len(), 1, "group not merged: {g:?}");
    }
    // Files that were not duplicates kept their own inode.
    for (p, s) in &before {
        if !groups.iter().any(|g| g.contains(p)) {
            assert_eq!(after[p].ino, s.ino, "{} was touched", p.display());
        }
    }
    // The inode with the most links is the keeper: h/x (2 links) wins over h/z.
    assert_eq!(t.ino("h/z"), before[Path::new("h/x")].ino);
    // Symlinks are still the same symlinks.
    assert_eq!(
        fs::read_link(t.path("s/link")).unwrap(),
        Path::new("../p1/a.txt")
    );
    assert!(t.temp_names().is_empty());
    // Every action reported as linked; reclaimed bytes add up.
    let actions = pairs(&v);
    assert!(!actions.is_empty());
    assert!(actions.iter().all(|(_, _, s)| s == "linked"), "{actions:?}");
    let s = &v["summary"];
    assert_eq!(s["linked"], s["planned"]);
    assert_eq!(s["failed"], 0);
    assert_eq!(s["reclaimed_bytes"], s["reclaimable_bytes"]);

    // A second run plans nothing and changes nothing, not even a ctime.
    let (v2, out2) = t.json(&["link", "--yes", "-f", "json", "."]);
    assert_eq!(code(&out2), 0);
    assert_eq!(v2["summary"]["planned"], 0);
    assert!(v2["actions"].as_array().unwrap().is_empty());
    assert_eq!(after, t.snapshot());
}

#[test]
fn dry_run_changes_nothing_and_shows_the_plan_a_real_run_executes() {
    let t = edge_tree();
    let before = t.snapshot();
    let (dry, out) = t.json(&["link", "--dry-run", "-f", "json", "."]);
    assert_eq!(code(&out), 0);
    // Every inode, mtime and ctime unchanged.
    assert_eq!(before, t.snapshot());
    let planned = pairs(&dry);
    assert!(planned.iter().all(|(_, _, s)| s == "planned"));
    assert_eq!(dry["dry_run"], true);
    let text = t.run(&["link", "-n", "."]);
    assert!(stdout(&text).contains("Nothing was changed"));
    assert_eq!(before, t.snapshot());

    let (real, _) = t.json(&["link", "--yes", "-f", "json", "."]);
    let done = pairs(&real);
    let strip = |v: &[(PathBuf, PathBuf, String)]| -> Vec<(PathBuf, PathBuf)> {
        v.iter().map(|(d, k, _)| (d.clone(), k.clone())).collect()
    };
    assert_eq!(strip(&planned), strip(&done));
    assert_eq!(
        dry["summary"]["reclaimable_bytes"],
        real["summary"]["reclaimed_bytes"]
    );
}

#[test]
fn without_yes_and_without_a_terminal_it_refuses_with_exit_2() {
    let t = edge_tree();
    let before = t.snapshot();
    let out = t.run(&["link", "."]);
    assert_eq!(code(&out), 2);
    // The message tells what to do instead.
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let out = t.run(&["link", "-f", "json", "."]);
    assert_eq!(code(&out), 2);
    assert_eq!(refusal(&out).0, "no_terminal");
    assert_eq!(before, t.snapshot());
}

#[test]
fn keeper_is_most_links_then_oldest_then_first_path() {
    let t = TestEnv::new();
    for name in ["a", "b", "c"] {
        t.write(format!("old/{name}"), b"content");
        t.write(format!("links/{name}"), b"content 2");
        t.write(format!("tie/{name}"), b"content 3");
    }
    t.set_mtime("old/a", 2_000_000);
    t.set_mtime("old/b", 1_000_000); // oldest
    t.set_mtime("old/c", 3_000_000);
    t.hard_link("links/c", "links/z"); // most links
    for n in ["a", "b", "c"] {
        t.set_mtime(&format!("tie/{n}"), 1_500_000);
    }
    let b = t.ino("old/b");
    let c = t.ino("links/c");
    let a = t.ino("tie/a");
    let out = t.run(&["link", "-y", "-q", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!([t.ino("old/a"), t.ino("old/b"), t.ino("old/c")], [b, b, b]);
    assert_eq!(
        [t.ino("links/a"), t.ino("links/b"), t.ino("links/z")],
        [c, c, c]
    );
    assert_eq!([t.ino("tie/b"), t.ino("tie/c")], [a, a]);
    // The oldest mtime survives.
    assert_eq!(fs::metadata(t.path("old/c")).unwrap().mtime(), 1_000_000);
}

#[test]
fn different_modes_are_not_merged_unless_asked() {
    let t = TestEnv::new();
    t.write("a", b"secret");
    t.write("b", b"secret");
    t.write("c", b"secret");
    t.chmod("a", 0o600);
    t.chmod("b", 0o644);
    t.chmod("c", 0o644);
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0);
    assert_eq!(t.ino("b"), t.ino("c"));
    assert_ne!(t.ino("a"), t.ino("b"));
    assert_eq!(fs::metadata(t.path("a")).unwrap().mode() & 0o777, 0o600);
    let skipped = &v["skipped"][0];
    assert_eq!(skipped["path"], "./a");
    assert_eq!(skipped["kind"], "mode", "{skipped}");
    assert_eq!(skipped["differs"], serde_json::json!(["mode"]), "{skipped}");
    let out = t.run(&["link", "-y", "--ignore-mode", "."]);
    assert_eq!(code(&out), 0);
    assert_eq!(t.ino("a"), t.ino("b"));
    // The strictest copy is kept: the secret file never becomes readable by others.
    assert_eq!(fs::metadata(t.path("b")).unwrap().mode() & 0o777, 0o600);
}

#[test]
fn setuid_files_are_never_linked() {
    let t = TestEnv::new();
    t.write("a", b"program");
    t.write("b", b"program");
    t.chmod("a", 0o4755);
    t.chmod("b", 0o4755);
    let (v, _) = t.json(&[
        "link",
        "-y",
        "--ignore-mode",
        "--ignore-owner",
        "-f",
        "json",
        ".",
    ]);
    assert_ne!(t.ino("a"), t.ino("b"));
    assert_eq!(v["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(v["skipped"][0]["kind"], "setid", "{v}");
}

#[test]
fn different_owners_are_not_merged_unless_asked() {
    if !is_root() {
        skip("chown needs root");
        return;
    }
    let t = TestEnv::new();
    t.write("mine", b"shared bytes");
    t.write("theirs", b"shared bytes");
    std::os::unix::fs::chown(t.path("theirs"), Some(65534), Some(65534)).unwrap();
    let (v, _) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_ne!(t.ino("mine"), t.ino("theirs"));
    assert_eq!(v["skipped"][0]["kind"], "owner", "{v}");
    assert_eq!(fs::metadata(t.path("theirs")).unwrap().uid(), 65534);
    let out = t.run(&["link", "-y", "--ignore-owner", "."]);
    assert_eq!(code(&out), 0);
    assert_eq!(t.ino("mine"), t.ino("theirs"));
}

#[test]
fn same_mtime_gate_keeps_different_mtimes_apart() {
    let t = TestEnv::new();
    t.write("a", b"x");
    t.write("b", b"x");
    t.set_mtime("a", 1_000_000);
    t.set_mtime("b", 2_000_000);
    let (v, out) = t.json(&["link", "-y", "-f", "json", "--same-mtime", "."]);
    assert_eq!(code(&out), 0);
    assert_ne!(t.ino("a"), t.ino("b"));
    assert_eq!(v["skipped"][0]["kind"], "mtime", "{v}");
}

#[test]
fn inode_with_links_outside_the_scan_frees_nothing() {
    let t = TestEnv::new();
    t.write("scan/a", b"payload");
    t.hard_link("scan/a", "scan/a2");
    t.set_mtime("scan/a", 1); // the keeper: as many links as b, and older
    t.write("scan/b", b"payload");
    t.hard_link("scan/b", "elsewhere/b");
    let (v, out) = t.json(&["link", "-y", "-f", "json", "scan"]);
    assert_eq!(code(&out), 0);
    assert_eq!(v["summary"]["linked"], 1);
    assert_eq!(v["summary"]["reclaimable_bytes"], 0);
    assert_eq!(v["summary"]["reclaimed_bytes"], 0);
    assert_eq!(v["actions"][0]["outside_links"], 1);
    assert_eq!(v["actions"][0]["frees_bytes"], false);
    assert_eq!(t.ino("scan/a"), t.ino("scan/b"));
    assert_eq!(t.read("elsewhere/b"), b"payload");
    assert_eq!(t.nlink("elsewhere/b"), 1);
}

#[test]
fn link_limit_rotates_to_a_new_keeper() {
    let t = TestEnv::new();
    for i in 0..7 {
        t.write(format!("c{i}"), b"many copies");
    }
    let (v, out) = t.json(&["link", "-y", "--max-links", "3", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let inodes: BTreeSet<u64> = (0..7).map(|i| t.ino(&format!("c{i}"))).collect();
    assert_eq!(
        inodes.len(),
        3,
        "7 names with at most 3 links each need 3 inodes"
    );
    for i in 0..7 {
        assert!(t.nlink(&format!("c{i}")) <= 3);
        assert_eq!(t.read(&format!("c{i}")), b"many copies");
    }
    assert_eq!(v["summary"]["linked"], 4);
}

#[test]
fn odd_names_are_linked_like_any_other() {
    let t = TestEnv::new();
    let odd = Path::new(OsStr::from_bytes(b"bad\xffname"));
    t.write(odd, b"odd");
    t.write("new\nline", b"odd");
    t.write("with space", b"odd");
    let long = "n".repeat(255);
    t.write(&long, b"odd");
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 3);
    let i = fs::symlink_metadata(t.path(odd)).unwrap().ino();
    assert_eq!(t.ino("new\nline"), i);
    assert_eq!(t.ino("with space"), i);
    assert_eq!(t.ino(&long), i);
    assert!(t.temp_names().is_empty());
}

#[test]
fn a_tmpfs_inside_the_tree_is_never_linked_across() {
    let t = TestEnv::new();
    t.write("disk/a", b"same bytes");
    t.write("disk/b", b"same bytes");
    let Some(_m) = Mount::tmpfs(&t.path("mnt"), "size=1m") else {
        return;
    };
    t.write("mnt/c", b"same bytes");
    t.write("mnt/d", b"same bytes");
    t.write("mnt/lonely", b"only one here, one on disk");
    t.write("disk/lonely", b"only one here, one on disk");
    let before = t.snapshot();
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_same_bytes(&before, &t.snapshot());
    assert_eq!(t.ino("disk/a"), t.ino("disk/b"));
    assert_eq!(t.ino("mnt/c"), t.ino("mnt/d"));
    let dev = |p: &str| fs::metadata(t.path(p)).unwrap().dev();
    assert_ne!(dev("disk/a"), dev("mnt/c"));
    assert_ne!(dev("disk/lonely"), dev("mnt/lonely"));
    let reasons: Vec<&str> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["other_filesystem"; 2]);
    // No symlink was made anywhere.
    assert!(t.snapshot().values().all(|s| s.mode & 0o170000 == 0o100000));
}

#[test]
fn an_immutable_directory_is_skipped_and_the_run_goes_on() {
    if !is_root() || !have("chattr") {
        skip("chattr +i needs root and e2fsprogs");
        return;
    }
    let t = TestEnv::new();
    t.write("ok/a", b"abc");
    t.write("ok/b", b"abc");
    t.write("locked/c", b"abc");
    t.set_mtime("ok/a", 1); // keeper outside the locked directory
    // An immutable directory: no new name can be created in it.
    let st = Command::new("chattr")
        .arg("+i")
        .arg(t.path("locked"))
        .status()
        .unwrap();
    if !st.success() {
        skip("this filesystem has no immutable flag");
        return;
    }
    let before = t.snapshot();
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    let _ = Command::new("chattr")
        .arg("-i")
        .arg(t.path("locked"))
        .status();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["skipped"][0]["kind"], "locked_directory", "{v}");
    assert_eq!(v["skipped"][0]["path"], "./locked/c");
    assert_eq!(v["summary"]["linked"], 1);
    assert_eq!(t.ino("ok/a"), t.ino("ok/b"));
    assert_eq!(t.ino("locked/c"), before[Path::new("locked/c")].ino);
    assert_same_bytes(&before, &t.snapshot());
    assert!(t.temp_names().is_empty());
}

#[test]
fn immutable_files_are_skipped_before_anything_is_created() {
    if !is_root() || !have("chattr") {
        skip("chattr +i needs root and e2fsprogs");
        return;
    }
    let t = TestEnv::new();
    t.write("a", b"abc");
    t.write("b", b"abc");
    t.write("c", b"abc");
    if !Command::new("chattr")
        .arg("+i")
        .arg(t.path("c"))
        .status()
        .unwrap()
        .success()
    {
        skip("this filesystem has no immutable flag");
        return;
    }
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    let _ = Command::new("chattr").arg("-i").arg(t.path("c")).status();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("a"), t.ino("b"));
    assert_ne!(t.ino("a"), t.ino("c"));
    assert_eq!(v["skipped"][0]["kind"], "immutable", "{v}");
}

#[test]
fn broken_stdout_never_interrupts_the_run() {
    let t = edge_tree();
    let groups = expected_groups(t.root());
    let bin = bin().display().to_string();
    let out = Command::new("sh")
        .env("XDG_STATE_HOME", t.state_dir())
        .current_dir(t.root())
        .arg("-c")
        .arg(format!("'{bin}' link -y . | head -c 1 >/dev/null"))
        .output()
        .unwrap();
    assert!(out.status.success());
    for g in &groups {
        let inodes: BTreeSet<u64> = g.iter().map(|p| ino_of(&t, p)).collect();
        assert_eq!(inodes.len(), 1, "{g:?}");
    }
    assert!(t.temp_names().is_empty());
}

/// A group split by a gate is linked within each half and says why on the first run; the
/// next runs, with nothing left to do, stay quiet about it (a count in the summary).
#[test]
fn halves_kept_apart_are_news_once_then_a_count() {
    let t = TestEnv::new();
    for n in ["pub/a", "pub/b", "priv/c", "priv/d"] {
        t.write(n, b"same bytes");
    }
    t.chmod("priv/c", 0o600);
    t.chmod("priv/d", 0o600);
    let out = t.run(&["link", "-y", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("pub/a"), t.ino("pub/b"));
    assert_eq!(t.ino("priv/c"), t.ino("priv/d"));
    assert_ne!(t.ino("pub/a"), t.ino("priv/c"));
    // First run: the 0600 set is named with the reason and the flag that would merge it.
    let text = stdout(&out);
    // (Equal halves: the first in path order is the main one.)
    assert!(
        text.contains(
            "  ./pub/a and its copies (2 paths): differs from ./priv/c in mode (0644, the \
             keeper's 0600); merged only with --ignore-mode"
        ),
        "{text}"
    );
    assert!(text.contains("; 1 set kept apart"), "{text}");
    // The same in JSON, for scripts.
    let t2 = TestEnv::new();
    for n in ["pub/a", "pub/b", "priv/c", "priv/d"] {
        t2.write(n, b"same bytes");
    }
    t2.chmod("priv/c", 0o600);
    t2.chmod("priv/d", 0o600);
    let (v, _) = t2.json(&["link", "-n", "-f", "json", "."]);
    assert_eq!(v["summary"]["kept_apart"], 1, "{v}");
    assert_eq!(v["kept_apart"][0]["kind"], "mode", "{v}");
    assert_eq!(v["kept_apart"][0]["paths"], 2, "{v}");
    // Again: nothing to do, nothing listed, one count in the summary.
    let out = t.run(&["link", "-n", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "only the summary: {text}");
    assert!(
        text.contains("; 4 paths already linked as far as the gates allow"),
        "{text}"
    );
    let (v, _) = t.json(&["link", "-n", "-f", "json", "."]);
    assert_eq!(v["summary"]["settled"], 4, "{v}");
    assert_eq!(v["skipped"], serde_json::json!([]), "{v}");
    // A pair that was never linked stays news on every run: it can still be merged.
    let t = TestEnv::with_files(&[("x", b"pair"), ("y", b"pair")]);
    t.chmod("y", 0o600);
    for _ in 0..2 {
        let (v, _) = t.json(&["link", "-y", "-f", "json", "."]);
        assert_eq!(v["skipped"].as_array().unwrap().len(), 2, "{v}");
    }
}
