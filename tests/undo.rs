//! The undo journal and `linkdup undo`: every real run records each swap before it happens;
//! undo gives each path its own file back with its bytes, owner, mode, times and extended
//! attributes, and leaves alone what changed since.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::*;

/// Two sets of copies: `lib/k` with `bak/a` and `bak/b` (different mtimes, some 0640), and
/// `lib/k2` with `bak/c`. The `lib/` files are the oldest, so the keepers.
fn two_photo_sets() -> TestEnv {
    let t = TestEnv::new();
    t.write("lib/k", b"photo bytes");
    t.write("bak/a", b"photo bytes");
    t.write("bak/b", b"photo bytes");
    t.write("lib/k2", b"other photo");
    t.write("bak/c", b"other photo");
    t.set_mtime("lib/k", 1_000);
    t.set_mtime("lib/k2", 1_000);
    t.set_mtime("bak/a", 2_000);
    t.set_mtime("bak/b", 3_000);
    t.set_mtime("bak/c", 4_000);
    t.chmod("bak/b", 0o640);
    t.chmod("lib/k", 0o640);
    t.chmod("bak/a", 0o640);
    t
}

fn journal(t: &TestEnv) -> String {
    let j = t.journals();
    assert_eq!(j.len(), 1, "one run, one journal: {j:?}");
    j[0].to_str().unwrap().to_string()
}

#[test]
fn undo_restores_bytes_mode_owner_times_xattrs_and_a_distinct_inode() {
    let t = two_photo_sets();
    let xattrs_ok = rustix::fs::lsetxattr(
        t.path("bak/c"),
        "user.note",
        b"from the backup",
        rustix::fs::XattrFlags::empty(),
    )
    .is_ok();
    let before = t.snapshot();
    let out = t.run(&["link", "-y", "--ignore-xattrs", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("undo journal"), "{}", stderr(&out));
    assert_eq!(t.ino("bak/a"), t.ino("lib/k"));
    assert_eq!(t.ino("bak/c"), t.ino("lib/k2"));
    let j = journal(&t);
    // A dry run changes nothing.
    let linked = t.snapshot();
    let (v, out) = t.json(&["undo", "-n", "-f", "json", &j]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["restored"], 3, "{v}");
    assert_eq!(v["dry_run"], true, "{v}");
    assert_eq!(linked, t.snapshot());

    let (v, out) = t.json(&["undo", "-f", "json", &j]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["restored"], 3, "{v}");
    let after = t.snapshot();
    for p in ["bak/a", "bak/b", "bak/c", "lib/k", "lib/k2"] {
        let (b, a) = (
            &before[std::path::Path::new(p)],
            &after[std::path::Path::new(p)],
        );
        assert_eq!(a.content, b.content, "{p}");
        assert_eq!(
            (a.mode, a.uid, a.gid, a.mtime),
            (b.mode, b.uid, b.gid, b.mtime),
            "{p}"
        );
        assert_eq!(a.nlink, 1, "{p} has its own inode again");
    }
    assert_ne!(t.ino("bak/a"), t.ino("lib/k"));
    if xattrs_ok {
        let mut v = [0u8; 64];
        let n = rustix::fs::lgetxattr(t.path("bak/c"), "user.note", &mut v[..]).unwrap();
        assert_eq!(&v[..n], b"from the backup");
    }
    assert!(t.temp_names().is_empty());
    // Undoing twice does nothing more.
    let (v, _) = t.json(&["undo", "-f", "json", &j]);
    assert_eq!(v["summary"]["restored"], 0, "{v}");
    assert_eq!(undo_kinds(&v), ["already_split"; 3], "{v}");
}

#[test]
fn undo_leaves_edited_shared_files_and_respects_only() {
    let t = two_photo_sets();
    assert_eq!(code(&t.run(&["link", "-y", "."])), 0);
    let j = journal(&t);
    // Editing the shared inode of k2/c changes both paths: undo must leave it.
    fs::OpenOptions::new()
        .append(true)
        .open(t.path("lib/k2"))
        .map(|mut f| std::io::Write::write_all(&mut f, b"!"))
        .unwrap()
        .unwrap();
    let only = t.path("bak/a");
    let out = t.run(&["undo", &j, "--only", only.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_ne!(t.ino("bak/a"), t.ino("lib/k"), "selected: restored");
    assert_eq!(t.ino("bak/b"), t.ino("lib/k"), "not selected: still linked");
    let (v, _) = t.json(&["undo", "-f", "json", &j]);
    assert!(
        undo_kinds(&v).contains(&"shared_file_edited".to_string()),
        "{v}"
    );
    assert_eq!(t.ino("bak/c"), t.ino("lib/k2"));
    assert_ne!(t.ino("bak/b"), t.ino("lib/k"));
}

#[test]
fn undo_of_a_run_killed_midway() {
    if !have("strace") {
        skip("strace is not installed");
        return;
    }
    let t = two_photo_sets();
    let before = t.snapshot();
    // Killed before its second exchange: the journal has an entry for a swap that never
    // happened; undo must tell them apart.
    let _killed = t.under_strace(
        "inject=renameat2:signal=SIGKILL:when=2",
        &["link", "-y", "-j", "1", "."],
    );
    let j = journal(&t);
    let (v, out) = t.json(&["undo", "-f", "json", &j]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["restored"], 1, "{v}");
    assert_eq!(v["summary"]["skipped"], 1, "{v}");
    // Back to separate files with their bytes; the leftover temp of the killed run is for
    // recovery (which the next link run does).
    for p in ["bak/a", "bak/b", "bak/c"] {
        assert_eq!(fs::metadata(t.path(p)).unwrap().nlink(), 1, "{p}");
        assert_eq!(t.read(p), before[std::path::Path::new(p)].content);
    }
}

#[test]
fn a_journal_is_never_written_inside_the_tree() {
    let t = two_photo_sets();
    let out = t.run(&[
        "link",
        "-y",
        "-f",
        "json",
        "--journal",
        "bak/journal.jsonl",
        ".",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(refusal(&out), ("inside_tree".into(), "journal".into()));
    assert_ne!(t.ino("bak/a"), t.ino("lib/k"));
}

#[test]
fn a_journal_write_that_fails_for_space_is_retried_and_the_journal_stays_whole() {
    let t = two_photo_sets();
    // The first write of the run is the first journal line: it fails with ENOSPC once.
    let Some(out) = t.under_strace(
        "inject=write:error=ENOSPC:when=1",
        &["link", "-y", "-q", "."],
    ) else {
        return;
    };
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let j = journal(&t);
    let lines = fs::read_to_string(&j).unwrap();
    assert!(!lines.is_empty());
    for line in lines.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every journal line is whole");
    }
    let out = t.run(&["undo", "-n", &j]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_journal_another_run_is_writing_is_refused() {
    if !have("flock") {
        skip("flock is not installed");
        return;
    }
    let t = two_photo_sets();
    let journal = t.state_dir().join("shared.jsonl");
    // Another writer holds the journal (as a second linkdup with the same --journal would).
    // -o: the lock stays with flock itself (not `sleep`), so killing flock frees it.
    let mut holder = std::process::Command::new("flock")
        .args(["-x", "-o"])
        .arg(&journal)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    let mut waited = 0;
    while !journal.exists() && waited < 100 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        waited += 1;
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let out = t.run(&[
        "link",
        "-y",
        "-f",
        "json",
        "--journal",
        journal.to_str().unwrap(),
        ".",
    ]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(refusal(&out).0, "journal_busy");
    assert_ne!(t.ino("bak/a"), t.ino("lib/k"), "nothing was linked");
    // Once it is free, the same journal is used.
    let out = t.run(&["link", "-y", "--journal", journal.to_str().unwrap(), "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("bak/a"), t.ino("lib/k"));
}

/// The `kind` of each path an undo report skipped.
fn undo_kinds(v: &serde_json::Value) -> Vec<String> {
    v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["kind"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_torn_last_line_is_said_and_ignored_and_a_complete_bad_line_is_refused() {
    let t = two_photo_sets();
    assert_eq!(code(&t.run(&["link", "-y", "."])), 0);
    let j = journal(&t);
    let whole = fs::read(&j).unwrap();
    assert_eq!(
        whole.iter().filter(|&&b| b == b'\n').count(),
        3,
        "three entries"
    );
    // Killed while writing a fourth entry: the three before it are undone, and the torn line
    // is named.
    let mut torn = whole.clone();
    torn.extend_from_slice(br#"{"path": "/some/wh"#);
    fs::write(&j, &torn).unwrap();
    let (v, out) = t.json(&["undo", "-n", "-f", "json", &j]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["restored"], 3, "{v}");
    assert_eq!(kinds(&v, "warnings"), ["journal_torn"], "{v}");
    // A complete line that is no entry (even valid JSON) is not a tear: the journal is
    // refused whole, and nothing is undone.
    let linked = t.snapshot();
    for bad in [&b"{}\n"[..], b"not json\n"] {
        let mut edited = whole.clone();
        edited.extend_from_slice(bad);
        fs::write(&j, &edited).unwrap();
        let out = t.run(&["undo", "-f", "json", &j]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert_eq!(refusal(&out).0, "damaged_journal");
        assert_eq!(linked, t.snapshot());
    }
    // `{}` alone is no journal either.
    fs::write(&j, b"{}\n").unwrap();
    let out = t.run(&["undo", "-f", "json", &j]);
    assert_eq!(refusal(&out).0, "damaged_journal");
}

#[test]
fn journals_are_listed_and_pruned_only_as_asked() {
    let t = two_photo_sets();
    assert_eq!(code(&t.run(&["link", "-y", "lib/k", "bak/a", "bak/b"])), 0);
    // A second run, a second later (journal names carry the time).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(code(&t.run(&["link", "-y", "lib/k2", "bak/c"])), 0);
    let journals = t.journals();
    assert_eq!(journals.len(), 2, "{journals:?}");
    let first = journals[0].to_str().unwrap().to_string();
    assert_eq!(code(&t.run(&["undo", &first])), 0);
    let (v, out) = t.json(&["journals", "-f", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = v["journals"].as_array().unwrap();
    let row = |j: &serde_json::Value| (j["paths"].clone(), j["undoable"].clone());
    assert_eq!(list.len(), 2, "{v}");
    assert_eq!(row(&list[0]), (2.into(), 0.into()), "undone: {v}");
    assert_eq!(row(&list[1]), (1.into(), 1.into()), "still linked: {v}");
    assert_eq!(list[1]["tree"], t.root().to_str().unwrap(), "{v}");
    // --prune needs a condition; a dry run removes nothing.
    assert_eq!(code(&t.run(&["journals", "--prune"])), 2);
    let (v, _) = t.json(&["journals", "--prune", "--undone", "-n", "-f", "json"]);
    assert_eq!(v["journals"][0]["status"], "removable", "{v}");
    assert_eq!(v["journals"][1]["status"], "kept", "{v}");
    assert_eq!(t.journals().len(), 2);
    // Only the undone one goes; the other can still be undone.
    let (v, out) = t.json(&["journals", "--prune", "--undone", "-f", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["removed"], 1, "{v}");
    assert_eq!(t.journals(), journals[1..]);
    // Older than 30 days: none of these.
    let (v, _) = t.json(&["journals", "--prune", "--older-than", "30", "-f", "json"]);
    assert_eq!(v["summary"]["removed"], 0, "{v}");
    assert_eq!(t.journals().len(), 1);
    let left = t.journals()[0].to_str().unwrap().to_string();
    assert_eq!(code(&t.run(&["undo", &left])), 0);
    assert_ne!(t.ino("lib/k2"), t.ino("bak/c"));
}

#[test]
fn another_users_journal_is_reported_never_removed() {
    if !is_root() {
        skip("chown needs root");
        return;
    }
    let t = two_photo_sets();
    assert_eq!(code(&t.run(&["link", "-y", "."])), 0);
    let j = journal(&t);
    assert_eq!(code(&t.run(&["undo", &j])), 0);
    std::os::unix::fs::chown(&j, Some(65534), Some(65534)).unwrap();
    let (v, out) = t.json(&["journals", "--prune", "--undone", "-f", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(kinds(&v, "errors"), ["untrusted_state_file"], "{v}");
    assert!(
        std::path::Path::new(&j).exists(),
        "removed another user's journal"
    );
}

/// A file open for writing is skipped by the undo's dry run as by the real run: the dry run
/// reports the plan the real run executes.
#[test]
fn a_file_open_for_writing_is_skipped_by_the_dry_run_too() {
    let t = two_photo_sets();
    assert_eq!(code(&t.run(&["link", "-y", "."])), 0);
    assert_eq!(t.ino("bak/c"), t.ino("lib/k2"));
    let j = journal(&t);
    let writer = fs::OpenOptions::new()
        .write(true)
        .open(t.path("lib/k2"))
        .unwrap();
    let (dry, _) = t.json(&["undo", "-n", "-f", "json", &j]);
    let (real, _) = t.json(&["undo", "-f", "json", &j]);
    drop(writer);
    assert_eq!(undo_kinds(&dry), ["open_for_writing"], "{dry}");
    assert_eq!(undo_kinds(&real), ["open_for_writing"], "{real}");
    assert_eq!(
        dry["summary"]["restored"], real["summary"]["restored"],
        "{dry}\n{real}"
    );
    assert_eq!(real["summary"]["restored"], 2, "{real}");
    // The skipped path still shares the file being written; the others have their own.
    assert_eq!(t.ino("bak/c"), t.ino("lib/k2"));
    assert_ne!(t.ino("bak/a"), t.ino("lib/k"));
    assert_eq!(t.read("bak/c"), b"other photo");
}
