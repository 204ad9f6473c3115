//! State files (undo journals, saved plans, the hash cache) against another user (issue 10,
//! attacks 3, 4 and 8): linkdup runs as root, the attacker as uid 65534, in directories both
//! can write. A state file is created new (mode 0600, no symlink followed) and read back or
//! written into only when it is root's own, in a directory nobody else can change; a plan read
//! back is re-proved, gate by gate, on the live files.

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::Command;

use common::*;
use serde_json::{Value, json};

/// A pair of root's duplicates under `data`, and a root-only file the attacker would like to
/// see overwritten.
fn root_data_and_a_precious_target() -> TestEnv {
    let t = TestEnv::new();
    t.write("data/a", b"root's bytes");
    t.write("data/b", b"root's bytes");
    t.set_mtime("data/a", 1_000);
    t.write("etc/target", b"precious root data\n");
    t.chmod("etc/target", 0o600);
    t
}

fn untouched(t: &TestEnv) {
    assert_eq!(t.read("etc/target"), b"precious root data\n");
    assert_eq!(t.meta("etc/target"), (0, 0, 0o600));
}

fn not_linked(t: &TestEnv) {
    assert_ne!(t.ino("data/a"), t.ino("data/b"), "linked anyway");
}

#[test]
fn a_journal_named_through_a_symlink_is_refused_and_its_target_untouched() {
    if !attacks_possible() {
        return;
    }
    let t = root_data_and_a_precious_target();
    t.sticky("tmp");
    let target = t.path("etc/target");
    t.attacker(&format!("ln -s {} tmp/j.jsonl", target.display()));
    let out = t.run(&[
        "link",
        "-y",
        "-f",
        "json",
        "--journal",
        "tmp/j.jsonl",
        "data",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        refusal(&out),
        ("untrusted_state_file".into(), "symlink".into())
    );
    untouched(&t);
    not_linked(&t);
}

#[test]
fn a_journal_created_beforehand_by_another_user_is_refused() {
    if !attacks_possible() {
        return;
    }
    let t = root_data_and_a_precious_target();
    t.sticky("tmp");
    t.attacker("touch tmp/j.jsonl && chmod 644 tmp/j.jsonl");
    let out = t.run(&[
        "link",
        "-y",
        "-f",
        "json",
        "--journal",
        "tmp/j.jsonl",
        "data",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        refusal(&out),
        ("untrusted_state_file".into(), "owner".into())
    );
    assert!(t.read("tmp/j.jsonl").is_empty(), "root wrote into it");
    not_linked(&t);
}

#[test]
fn state_files_in_a_directory_others_can_write_are_refused() {
    if !attacks_possible() {
        return;
    }
    let t = root_data_and_a_precious_target();
    t.shared("shared");
    let runs: [&[&str]; 3] = [
        &[
            "link",
            "-y",
            "-f",
            "json",
            "--journal",
            "shared/j.jsonl",
            "data",
        ],
        &[
            "link",
            "-n",
            "-f",
            "json",
            "--save-plan",
            "shared/plan.json",
            "data",
        ],
        &[
            "scan",
            "-f",
            "json",
            "--cache-file",
            "shared/hashes.bin",
            "data",
        ],
    ];
    for args in runs {
        let out = t.run(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert_eq!(
            refusal(&out),
            ("untrusted_state_file".into(), "dir_writable".into()),
            "{args:?}"
        );
        assert!(
            fs::read_dir(t.path("shared")).unwrap().next().is_none(),
            "{args:?} wrote into the shared directory"
        );
    }
    not_linked(&t);
}

#[test]
fn a_plan_saved_through_a_symlink_is_refused_and_its_target_untouched() {
    if !attacks_possible() {
        return;
    }
    let t = root_data_and_a_precious_target();
    t.sticky("tmp");
    t.attacker(&format!(
        "ln -s {} tmp/plan.json",
        t.path("etc/target").display()
    ));
    let out = t.run(&[
        "link",
        "-n",
        "-f",
        "json",
        "--save-plan",
        "tmp/plan.json",
        "data",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        refusal(&out),
        ("untrusted_state_file".into(), "symlink".into())
    );
    untouched(&t);
    assert!(
        fs::symlink_metadata(t.path("tmp/plan.json"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the attacker's symlink was replaced"
    );
}

/// The old cache was saved through `FILE.tmp<PID>`, following a symlink there: anyone who can
/// guess the next process id (they are sequential) could have root overwrite any file.
#[test]
fn the_cache_is_never_saved_through_a_name_someone_else_planted() {
    if !attacks_possible() {
        return;
    }
    let t = root_data_and_a_precious_target();
    t.sticky("tmp");
    // The shell that plants the link execs linkdup: its process id is the one linkdup has.
    let script = format!(
        "setpriv --reuid={ATTACKER} --regid={ATTACKER} --clear-groups \
         ln -s {target} tmp/hashes.tmp$$ && exec '{bin}' scan -q --cache-file tmp/hashes.bin data",
        target = t.path("etc/target").display(),
        bin = bin().display(),
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(t.root())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    untouched(&t);
    let cache = fs::metadata(t.path("tmp/hashes.bin")).unwrap();
    assert_eq!((cache.uid(), cache.mode() & 0o7777), (0, 0o600));
}

#[test]
fn a_cache_written_by_another_user_is_refused_not_trusted() {
    if !attacks_possible() {
        return;
    }
    let t = root_data_and_a_precious_target();
    t.sticky("tmp");
    t.open_to_attacker();
    // The attacker's own cache (whatever it says decides what a scan reports as duplicates).
    let out = t.run_as_attacker(&["scan", "-q", "--cache-file", "tmp/hashes.bin", "data"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let before = fs::read(t.path("tmp/hashes.bin")).unwrap();
    let out = t.run(&[
        "scan",
        "-f",
        "json",
        "--cache-file",
        "tmp/hashes.bin",
        "data",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        refusal(&out),
        ("untrusted_state_file".into(), "owner".into())
    );
    assert_eq!(fs::read(t.path("tmp/hashes.bin")).unwrap(), before);
    assert_eq!(t.meta("tmp/hashes.bin").0, ATTACKER);
}

/// `--cache-file /dev/null` (a natural way to say "no cache") once replaced the machine's
/// /dev/null with a regular file. A device node of the test's own stands in for it.
#[test]
fn a_device_given_as_the_cache_is_refused_and_stays_a_device() {
    if !is_root() || !have("mknod") {
        skip("mknod needs root");
        return;
    }
    let t = root_data_and_a_precious_target();
    let dev = t.state_dir().join("null");
    assert!(run_ok(
        Command::new("mknod").arg(&dev).args(["c", "1", "3"])
    ));
    let out = t.run(&[
        "scan",
        "-f",
        "json",
        "--cache-file",
        dev.to_str().unwrap(),
        "data",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        refusal(&out),
        ("untrusted_state_file".into(), "not_regular".into())
    );
    assert!(
        fs::symlink_metadata(&dev)
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn state_files_are_made_0600_in_a_0700_directory() {
    let t = root_data_and_a_precious_target();
    // The default cache, in a directory linkdup makes ($XDG_CACHE_HOME/linkdup).
    let cache = t.state_dir().join("cache/linkdup/hashes.bin");
    let plan = t.state_dir().join("plan.json");
    let out = t.run(&[
        "link",
        "-n",
        "--cache",
        "--save-plan",
        plan.to_str().unwrap(),
        "data",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = t.run(&["link", "-y", "data"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let journal = t.journals().pop().expect("a journal");
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode(&journal), 0o600, "journal");
    assert_eq!(mode(&plan), 0o600, "plan");
    assert_eq!(mode(&cache), 0o600, "cache");
    assert_eq!(mode(journal.parent().unwrap()), 0o700, "state directory");
    assert_eq!(mode(cache.parent().unwrap()), 0o700, "cache directory");
}

/// Attack 4: a plan made by the attacker with linkdup itself, over a tree where root's file
/// and the attacker's are identical, handed to root's `apply`.
#[test]
fn apply_refuses_a_plan_another_user_made() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("shared");
    t.sticky("tmp");
    t.write("shared/root.conf", b"run this as root\n");
    t.attacker(
        "printf 'run this as root\\n' > shared/mine.conf && touch -d 2001-01-01 shared/mine.conf",
    );
    let root_ino = t.ino("shared/root.conf");
    let out = t.run_as_attacker(&[
        "link",
        "-n",
        "--ignore-owner",
        "--save-plan",
        "tmp/plan.json",
        "shared",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = t.run(&["apply", "-y", "-f", "json", "tmp/plan.json"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        refusal(&out),
        ("untrusted_state_file".into(), "owner".into())
    );
    assert_eq!(t.ino("shared/root.conf"), root_ino);
    assert_eq!(t.meta("shared/root.conf").0, 0);
    assert_ne!(t.ino("shared/root.conf"), t.ino("shared/mine.conf"));
}

/// The member of a plan for `rel` as it is now, in plan directory `dir`.
fn member(t: &TestEnv, dir: u64, rel: &str) -> Value {
    let m = fs::symlink_metadata(t.path(rel)).unwrap();
    json!({
        "loc": {"dir": dir, "name": rel.rsplit('/').next().unwrap(), "mnt": 0},
        "dev": m.dev(), "ino": m.ino(), "size": m.len(),
        "mtime": [m.mtime(), m.mtime_nsec()], "ctime": [m.ctime(), m.ctime_nsec()],
        "mode": m.mode(), "uid": m.uid(), "gid": m.gid(), "nlink": m.nlink(),
    })
}

/// Attack 4, the hand-made plan: its checksum is an unkeyed hash anyone can compute, so even a
/// plan of root's own (say, one it was handed) is only a claim. Apply must re-run every gate on
/// the live files: here, root's file must not become the attacker's inode, and the attacker's
/// file must not become a link of a setuid-root binary.
#[test]
fn apply_re_applies_every_gate_to_the_live_files() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("d/shared");
    t.write("d/r1", b"config\n");
    t.write("d/r2", b"config\n");
    t.attacker("printf 'config\\n' > d/shared/mine && printf 'ELF!' > d/shared/y");
    t.write("d/suid", b"ELF!");
    t.chmod("d/suid", 0o4755);
    let plan = t.path("plan.json");
    let out = t.run(&["link", "-n", "--save-plan", "plan.json", "d"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut doc: Value = serde_json::from_slice(&fs::read(&plan).unwrap()).unwrap();
    let dirs = doc["body"]["dirs"].as_array().unwrap();
    // Plans record absolute paths.
    let idx = |p: &str| {
        let abs = t.path(p);
        dirs.iter()
            .position(|d| d["path"] == abs.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {p} in {dirs:?}")) as u64
    };
    let (d, shared) = (idx("d"), idx("d/shared"));
    let mnt = doc["body"]["groups"][0]["keeper"]["loc"]["mnt"].clone();
    let mut keeper = member(&t, shared, "d/shared/mine");
    keeper["loc"]["mnt"] = mnt.clone();
    let groups = doc["body"]["groups"].as_array_mut().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    groups[0]["keeper"] = keeper.clone();
    groups[0]["actions"][0]["keeper"] = keeper;
    let (mut k, mut v) = (member(&t, d, "d/suid"), member(&t, shared, "d/shared/y"));
    k["loc"]["mnt"] = mnt.clone();
    v["loc"]["mnt"] = mnt;
    let mut second = groups[0].clone();
    second["size"] = json!(4);
    second["keeper"] = k.clone();
    second["actions"] = json!([{"keeper": k, "victim": v, "frees": true, "outside_links": 0}]);
    groups.push(second);
    reseal(&mut doc);
    fs::write(&plan, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();

    let before = t.snapshot();
    let (v, out) = t.json(&["apply", "-y", "-f", "json", "plan.json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 0, "{v}");
    let kinds: Vec<&str> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds[0], "owner", "{v}");
    assert_eq!(kinds[1], "setid", "{v}");
    let after = t.snapshot();
    for (p, s) in &before {
        assert_eq!(
            (s.ino, s.uid, s.mode),
            (after[p].ino, after[p].uid, after[p].mode),
            "{}",
            p.display()
        );
    }
}

#[test]
fn a_state_file_path_you_name_is_never_given_new_directories() {
    let t = root_data_and_a_precious_target();
    let missing = t.state_dir().join("typo/dir");
    let cache = missing.join("hashes.bin");
    let plan = missing.join("plan.json");
    let journal = missing.join("j.jsonl");
    let runs: [&[&str]; 3] = [
        &[
            "scan",
            "-f",
            "json",
            "--cache-file",
            cache.to_str().unwrap(),
            "data",
        ],
        &[
            "link",
            "-n",
            "-f",
            "json",
            "--save-plan",
            plan.to_str().unwrap(),
            "data",
        ],
        &[
            "link",
            "-y",
            "-f",
            "json",
            "--journal",
            journal.to_str().unwrap(),
            "data",
        ],
    ];
    for args in runs {
        let out = t.run(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert_eq!(refusal(&out), ("io".into(), "ENOENT".into()), "{args:?}");
        assert!(stderr(&out).contains("(make it first)"), "{}", stderr(&out));
        assert!(
            !t.state_dir().join("typo").exists(),
            "{args:?} made directories"
        );
    }
    not_linked(&t);
    // linkdup's own default directory is made (0700) when missing.
    assert_eq!(code(&t.run(&["scan", "-q", "--cache", "data"])), 0);
}

/// Recompute every checksum of a (format 3) plan, as an attacker who knows the format would:
/// the header's, each group's and each action's.
fn reseal(doc: &mut Value) {
    let sum = |v: &Value, drop: &[&str]| {
        let mut own = v.clone();
        for k in drop {
            own.as_object_mut().unwrap().remove(*k);
        }
        json!(format!(
            "{:032x}",
            xxhash_rust::xxh3::xxh3_128(&serde_json::to_vec(&own).unwrap())
        ))
    };
    for g in doc["body"]["groups"].as_array_mut().unwrap() {
        for a in g["actions"].as_array_mut().unwrap() {
            a["sum"] = sum(a, &["sum"]);
        }
        g["sum"] = sum(g, &["sum", "actions"]);
    }
    doc["checksum"] = sum(&doc["body"], &["groups"]);
}

#[test]
fn a_directory_given_as_the_cache_is_refused_once_by_name() {
    let t = root_data_and_a_precious_target();
    let dir = t.state_dir().join("cachedir");
    fs::create_dir(&dir).unwrap();
    let out = t.run(&[
        "scan",
        "-f",
        "json",
        "--cache-file",
        dir.to_str().unwrap(),
        "data",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        refusal(&out),
        ("untrusted_state_file".into(), "not_regular".into())
    );
    let err = stderr(&out);
    assert_eq!(err.matches("hash cache").count(), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        fs::read_dir(&dir).unwrap().next().is_none(),
        "wrote into it"
    );
}
