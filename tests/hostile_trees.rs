//! Trees another user controls (issue 10, attacks 5 to 10): linkdup runs as root, the attacker
//! as uid 65534 in directories both can write. No run grants anything, no file of someone else's
//! is removed for looking like a temp name, an edit racing a swap ends up at the path it was
//! written to, attributes are re-checked at the swap, symlinks others own are not followed,
//! reports can't be forged, and holes cost nothing.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// (uid, gid, mode, capability) of every path: what a run must never grant.
type Perms = BTreeMap<PathBuf, (u32, u32, u32, Option<Vec<u8>>)>;

fn perms(t: &TestEnv) -> Perms {
    t.snapshot()
        .into_iter()
        .map(|(p, s)| {
            let cap = t.xattr(p.to_str().unwrap(), "security.capability");
            (p, (s.uid, s.gid, s.mode & 0o7777, cap))
        })
        .collect()
}

/// Every path ends with the owner, group, mode and capabilities it had, or those of the path
/// whose inode it now shares (its keeper): nothing is granted.
fn nothing_granted(t: &TestEnv, before: &Perms) {
    let snap = t.snapshot();
    let now = perms(t);
    for (p, m) in &now {
        let Some(was) = before.get(p) else { continue };
        let keepers: Vec<_> = snap
            .iter()
            .filter(|(q, s)| *q != p && s.ino == snap[p].ino && before.contains_key(*q))
            .map(|(q, _)| &before[q])
            .collect();
        assert!(
            m == was || keepers.contains(&m),
            "{} ended with {m:?}; it had {was:?}, its keeper {keepers:?}",
            p.display()
        );
        // A path owned by uid A only takes an inode owned by A or root.
        assert!(
            m.0 == was.0 || m.0 == 0,
            "{} (uid {}) took uid {}'s inode",
            p.display(),
            was.0,
            m.0
        );
    }
}

/// Attack 5: with `--ignore-owner`, an older copy (or one with more links) of the attacker's was
/// the keeper, so root's identical files became the attacker's inode (a root cron script the
/// attacker could then rewrite).
#[test]
fn with_ignore_owner_a_file_only_takes_an_inode_of_its_owner_or_root() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("shared");
    t.write(
        "shared/cron/backup.sh",
        b"#!/bin/sh\nrsync -a /home /backup\n",
    );
    t.write(
        "shared/etc/backup.sh",
        b"#!/bin/sh\nrsync -a /home /backup\n",
    );
    t.attacker(
        "printf '#!/bin/sh\\nrsync -a /home /backup\\n' > shared/mine.sh && \
         ln shared/mine.sh shared/mine2.sh && touch -d 2001-01-01 shared/mine.sh",
    );
    // Two other users' identical files, with no root copy among them: each keeps its own.
    t.write("shared/u1/a", b"two users");
    t.write("shared/u1/b", b"two users");
    t.write("shared/u2/c", b"two users");
    for p in ["shared/u1/a", "shared/u1/b"] {
        t.chown(p, 4001, 4001);
    }
    t.chown("shared/u2/c", 4002, 4002);
    let before = perms(&t);
    let (v, out) = t.json(&["link", "-y", "--ignore-owner", "-f", "json", "shared"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        t.ino("shared/cron/backup.sh"),
        t.ino("shared/etc/backup.sh")
    );
    assert_eq!(
        t.meta("shared/cron/backup.sh").0,
        0,
        "root's script is still root's"
    );
    assert_eq!(
        t.meta("shared/mine.sh").0,
        0,
        "the attacker's path took root's inode"
    );
    assert_eq!(t.ino("shared/u1/a"), t.ino("shared/u1/b"));
    assert_ne!(t.ino("shared/u1/a"), t.ino("shared/u2/c"));
    assert!(
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "foreign_keeper"),
        "{v}"
    );
    nothing_granted(&t, &before);
}

/// Found by an attack helper: with a merge flag, a more permissive copy that the attacker can
/// write (a group file, a world-writable one, one with an ACL for them) was made the keeper by
/// giving it more links, and root's stricter script took its inode. The keeper must give no one
/// access the path does not give.
#[test]
fn relaxed_gates_never_hand_a_stricter_file_a_more_permissive_inode() {
    if !attacks_possible() {
        return;
    }
    let script = b"#!/bin/sh\necho nightly job\n";
    for (flag, setup) in [
        ("--ignore-owner", "group"),
        ("--ignore-mode", "world"),
        ("--ignore-xattrs", "acl"),
    ] {
        let t = TestEnv::new();
        t.shared("srv/shared");
        t.write("srv/scripts/job.sh", script);
        t.chmod("srv/scripts/job.sh", 0o644);
        t.write("srv/shared/open.txt", script);
        match setup {
            "group" => {
                t.chmod("srv/scripts/job.sh", 0o664);
                t.chown("srv/shared/open.txt", 0, ATTACKER);
                t.chmod("srv/shared/open.txt", 0o664);
            }
            "world" => t.chmod("srv/shared/open.txt", 0o666),
            _ => {
                t.chmod("srv/scripts/job.sh", 0o664);
                t.chmod("srv/shared/open.txt", 0o664);
                if rustix::fs::lsetxattr(
                    t.path("srv/shared/open.txt"),
                    "system.posix_acl_access",
                    &acl_granting(ATTACKER),
                    rustix::fs::XattrFlags::empty(),
                )
                .is_err()
                {
                    skip("no POSIX ACLs here");
                    continue;
                }
            }
        }
        // More links make it the keeper by the default policy.
        t.attacker("ln srv/shared/open.txt srv/shared/l1 && ln srv/shared/open.txt srv/shared/l2");
        let (ino, meta) = (t.ino("srv/scripts/job.sh"), t.meta("srv/scripts/job.sh"));
        let out = t.run(&["link", "-y", flag, "srv"]);
        assert_eq!(code(&out), 0, "{flag}: {}", stderr(&out));
        assert_eq!(
            t.ino("srv/scripts/job.sh"),
            ino,
            "{flag}: root's script took another inode"
        );
        assert_eq!(t.meta("srv/scripts/job.sh"), meta, "{flag}");
        assert_eq!(
            t.xattr("srv/scripts/job.sh", "system.posix_acl_access"),
            None
        );
    }
}

/// The rule of issue 10 over a whole mixed tree: link with every gate relaxed, a saved plan
/// applied, then undo. After each, every path has what it had or what its keeper had.
#[test]
fn no_run_grants_anything() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("s");
    for (p, uid, mode) in [
        ("s/root-a", 0, 0o600),
        ("s/root-b", 0, 0o644),
        ("s/att-a", ATTACKER, 0o666),
        ("s/att-b", ATTACKER, 0o600),
        ("s/u1", 4001, 0o640),
        ("s/u1-b", 4001, 0o644),
    ] {
        t.write(p, b"shared bytes");
        t.chown(p, uid, uid);
        t.chmod(p, mode);
    }
    t.write("s/setuid", b"shared bytes");
    t.chmod("s/setuid", 0o4755);
    t.set_mtime("s/att-a", 1);
    let before = perms(&t);
    let flags = ["--ignore-owner", "--ignore-mode", "--ignore-xattrs"];
    let plan = t.state_dir().join("plan.json");
    let plan = plan.to_str().unwrap();
    let out = t.run(&[&["link", "-n", "--save-plan", plan], &flags[..], &["s"]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = t.run(&["apply", "-y", plan]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    nothing_granted(&t, &before);
    // Root's 0600 file is no keeper for users who can't read it (that would tell them what it
    // holds); its readable 0644 copy is, for every path it grants nothing to.
    for p in ["s/att-a", "s/att-b", "s/u1", "s/u1-b"] {
        assert_ne!(
            t.ino(p),
            t.ino("s/root-a"),
            "{p} took root's unreadable inode"
        );
    }
    assert_eq!(
        t.ino("s/att-a"),
        t.ino("s/root-b"),
        "linked to root's readable inode"
    );
    assert_eq!(t.ino("s/u1-b"), t.ino("s/root-b"));
    assert_ne!(t.ino("s/setuid"), t.ino("s/root-a"));
    let undo_all = || {
        for j in t.journals() {
            let out = t.run(&["undo", j.to_str().unwrap()]);
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            fs::remove_file(j).unwrap();
        }
    };
    undo_all();
    assert_eq!(perms(&t), before, "after undoing the apply");
    let out = t.run(&[&["link", "-y"], &flags[..], &["s"]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    nothing_granted(&t, &before);
    undo_all();
    // Undone, every path has what it had before any run.
    assert_eq!(perms(&t), before);
}

/// Attack 6: any file named like a temp name was removed when an identical file stood beside
/// it. In a directory others can write, the attacker renames root's file to such a name and
/// drops an identical copy of their own in its place.
#[test]
fn recovery_never_removes_a_file_that_merely_matches_the_pattern() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("shared");
    // Both the old pattern (`.linkdup-` and 8 letters or digits) and the new one.
    for name in [".linkdup-00aa11bb", ".linkdup-tmp.zzzzz.aaaaaa"] {
        t.write("shared/report.pdf", b"root's report");
        let ino = t.ino("shared/report.pdf");
        t.attacker(&format!(
            "mv shared/report.pdf shared/{name} && printf \"root's report\" > shared/report.pdf"
        ));
        let out = t.run(&["link", "-y", "shared"]);
        assert!(
            t.path("shared").join(name).exists(),
            "{name} was removed: {}",
            stderr(&out)
        );
        assert_eq!(t.ino(&format!("shared/{name}")), ino);
        assert_eq!(t.meta(&format!("shared/{name}")).0, 0);
        fs::remove_file(t.path("shared").join(name)).unwrap();
        fs::remove_file(t.path("shared/report.pdf")).unwrap();
    }
}

/// Attack 6, with no attacker: a user's own `.linkdup-excludes` with a hard link in a snapshot
/// was taken for a leftover temp name and removed.
#[test]
fn a_users_own_dot_linkdup_file_is_never_removed() {
    let t = TestEnv::new();
    t.write("home/.linkdup-excludes", b"*.iso\n");
    t.hard_link("home/.linkdup-excludes", "snapshot/.linkdup-excludes");
    t.write("home/a", b"dup");
    t.write("home/b", b"dup");
    let out = t.run(&["link", "-y", "home"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.read("home/.linkdup-excludes"), b"*.iso\n");
    assert_eq!(t.nlink("home/.linkdup-excludes"), 2);
    assert_eq!(t.ino("home/a"), t.ino("home/b"));
}

/// Attack 7: a write to the duplicate's path just after the exchange went to the keeper (which
/// the path then held), and the swap was undone, so the path lost the edit it was written to
/// (and the report said "put back as it was"). The edit must end up at the path it was
/// written to. The exchange's return is delayed to open the window.
#[test]
fn a_write_to_the_path_just_after_the_exchange_stays_at_that_path() {
    let t = TestEnv::new();
    t.write("d/k", b"original content");
    t.write("d/v", b"original content");
    t.set_mtime("d/k", 1_000);
    let k = t.ino("d/k");
    let Some(child) = t.spawn_under_strace(
        &[
            "trace=renameat2",
            "inject=renameat2:delay_exit=1500000:when=1",
        ],
        &["link", "-y", "-f", "json", "-j", "1", "d"],
    ) else {
        return;
    };
    assert!(wait_for(10, || t.ino("d/v") == k), "never saw the exchange");
    // An editor opens the path (which now names the keeper's inode) and writes; the open
    // waits for linkdup's lease, so the write lands once the swap is decided.
    let path = t.path("d/v");
    let writer = std::thread::spawn(move || {
        let mut f = fs::OpenOptions::new().write(true).open(path).unwrap();
        f.write_all(b"EDITED").unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        t.read("d/v"),
        b"EDITEDal content",
        "the edit is not at the path it was written to: {v}"
    );
    assert_eq!(v["actions"][0]["status"], "linked", "{v}");
    assert!(t.temp_names().is_empty());
}

/// Found by an attack helper: two writers of the duplicate's path a moment apart, one just
/// before the exchange (it gets the duplicate) and one just after (it gets the keeper). Whatever
/// the names then hold, both edits must still exist, and the run must say where.
#[test]
fn two_writers_across_the_exchange_lose_no_edit() {
    let t = TestEnv::new();
    t.write("d/k", b"original content");
    t.write("d/v", b"original content");
    t.set_mtime("d/k", 1_000);
    let k = t.ino("d/k");
    let Some(child) = t.spawn_under_strace(
        &[
            "trace=renameat2",
            "inject=renameat2:delay_enter=1500000:delay_exit=2000000:when=1",
        ],
        &["link", "-y", "-f", "json", "-j", "1", "d"],
    ) else {
        return;
    };
    assert!(wait_for(10, || !t.temp_names().is_empty()), "no temp link");
    let first = append_in_thread(t.path("d/v"), b" +first");
    assert!(wait_for(10, || t.ino("d/v") == k), "never saw the exchange");
    let second = append_in_thread(t.path("d/v"), b" +second");
    let out = child.wait_with_output().unwrap();
    first.join().unwrap();
    second.join().unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v = parse(&out);
    assert!(
        problems(&v, "errors")
            .iter()
            .any(|p| p.1 == "temp_left" && p.2 == "written_on_both_sides"),
        "{v}"
    );
    let all = t.contents();
    assert!(
        holds(&all, b"+first") && holds(&all, b"+second"),
        "an edit was lost: {all:?}"
    );
    // The later writer's edit is at the path it was written to.
    let v = t.read("d/v");
    assert!(v.ends_with(b" +second"), "{}", String::from_utf8_lossy(&v));
}

/// Attack 8: attributes were read at the scan and never again. An attribute added to the
/// duplicate (or capabilities to the keeper) between the scan and the swap must stop it. The
/// executor's first attribute read is delayed to open the window.
#[test]
fn attributes_are_checked_again_right_before_the_link() {
    if !is_root() || !have("setcap") {
        skip("needs root and setcap");
        return;
    }
    for change in ["xattr", "capability"] {
        let t = TestEnv::new();
        t.write("d/k", b"same bytes");
        t.write("d/v", b"same bytes");
        t.set_mtime("d/k", 1_000);
        if rustix::fs::lsetxattr(
            t.path("d/k"),
            "user.t",
            b"1",
            rustix::fs::XattrFlags::empty(),
        )
        .is_err()
        {
            skip("no user xattrs here");
            return;
        }
        rustix::fs::lremovexattr(t.path("d/k"), "user.t").unwrap();
        // The executor learns what the filesystem is (fstatfs) right before it reads the
        // attributes again; the scan never calls it.
        let Some(child) = t.spawn_under_strace(
            &["trace=fstatfs", "inject=fstatfs:delay_enter=1500000:when=1"],
            &["link", "-y", "-f", "json", "-j", "1", "d"],
        ) else {
            return;
        };
        std::thread::sleep(std::time::Duration::from_millis(700));
        match change {
            "xattr" => rustix::fs::lsetxattr(
                t.path("d/v"),
                "user.origin",
                b"camera",
                rustix::fs::XattrFlags::empty(),
            )
            .unwrap(),
            _ => assert!(run_ok(
                Command::new("setcap")
                    .arg("cap_net_raw+ep")
                    .arg(t.path("d/k"))
            )),
        }
        let out = child.wait_with_output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_ne!(t.ino("d/k"), t.ino("d/v"), "{change}: linked anyway: {v}");
        assert_eq!(v["actions"][0]["status"], "skipped", "{change}: {v}");
    }
}

/// Attack 8: a symlink among the roots (a shell glob over a shared directory) took a root run
/// into a tree it was never given.
#[test]
fn a_root_that_is_someone_elses_symlink_is_not_followed() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("shared");
    t.write("shared/photos/a", b"photo");
    t.write("shared/photos/b", b"photo");
    t.write("private/x", b"root only");
    t.write("private/y", b"root only");
    t.chmod("private", 0o700);
    t.attacker(&format!(
        "ln -s {} shared/inbox",
        t.path("private").display()
    ));
    let out = t.run(&["link", "-y", "-f", "json", "shared/photos", "shared/inbox"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v = parse(&out);
    let errors = problems(&v, "errors");
    assert_eq!(errors.len(), 1, "{v}");
    assert!(errors[0].0.ends_with("shared/inbox"), "{v}");
    assert_eq!(errors[0].1, "untrusted_symlink", "{v}");
    assert_ne!(
        t.ino("private/x"),
        t.ino("private/y"),
        "followed the symlink"
    );
    assert_eq!(t.ino("shared/photos/a"), t.ino("shared/photos/b"));
    // One of root's own is followed, as before.
    t.symlink(t.path("private"), "mine");
    let out = t.run(&["link", "-y", "mine"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("private/x"), t.ino("private/y"));
}

/// Attack 9: a name with a real newline and one with a literal backslash-n printed the same
/// line, so a "delete all but the first" reader of `-f fdupes` could delete an unrelated file;
/// bidi and zero-width characters were printed raw.
#[test]
fn text_and_fdupes_reports_tell_every_name_apart() {
    let t = TestEnv::new();
    let names: [&[u8]; 4] = [
        b"x\ny",
        b"x\\ny",
        "invoice\u{202e}fdp.exe".as_bytes(),
        "zero\u{200b}width".as_bytes(),
    ];
    for n in names {
        t.write(Path::new(std::ffi::OsStr::from_bytes(n)), b"same bytes");
    }
    for format in ["text", "fdupes"] {
        let out = t.run(&["scan", "-f", format, "."]);
        let s = stdout(&out);
        let lines: Vec<&str> = s
            .lines()
            .filter(|l| l.contains("./"))
            .map(str::trim)
            .collect();
        assert_eq!(lines.len(), 4, "{format}: {s}");
        let mut unique = lines.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 4, "{format}: two names print alike: {s}");
        for bad in ['\u{202e}', '\u{200b}'] {
            assert!(!s.contains(bad), "{format}: printed {bad:?} raw: {s}");
        }
        assert!(s.contains("./x\\\\ny"), "{format}: {s}");
        assert!(s.contains("./x\\ny"), "{format}: {s}");
    }
}

/// Attack 10: an error about a crafted plan can't carry terminal control or bidi characters.
#[test]
fn messages_about_a_crafted_plan_reach_the_terminal_escaped() {
    let t = TestEnv::new();
    let plan = t.state_dir().join("plan.json");
    let text = serde_json::json!({
        "format": "linkdup-plan", "format_version": 1,
        "linkdup_version": "0.0\u{1b}[2J\u{202e}", "checksum": "0", "body": {}
    });
    fs::write(&plan, text.to_string()).unwrap();
    fs::set_permissions(&plan, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = t.run(&["apply", "-y", "-f", "json", plan.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert_eq!(refusal(&out).0, "damaged_plan");
    let err = stderr(&out);
    assert!(!err.is_empty());
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
}

/// Bytes read by linkdup under strace (`read` and `pread64` results).
fn bytes_read(t: &TestEnv, args: &[&str]) -> Option<(u64, std::process::Output)> {
    let (log, out) = t.traced("read,pread64", args)?;
    let total = log
        .lines()
        .filter_map(|l| l.rsplit("= ").next()?.trim().parse::<u64>().ok())
        .sum();
    Some((total, out))
}

/// Attack 10: identical sparse files were read in full (2 × 1 GiB of holes took 11 s), so any
/// user could stall a nightly run. Holes are compared by their maps: two files of 16 GiB of
/// holes each cost what their few data blocks cost, to hash and to compare before the swap. A
/// dense copy of the same content is still found equal.
#[test]
fn holes_are_never_read() {
    let t = TestEnv::new();
    let size = 16u64 << 30;
    for name in ["s1", "s2"] {
        let f = fs::File::create(t.path(name)).unwrap();
        f.set_len(size).unwrap();
        f.write_all_at(b"data in the middle", size / 2).unwrap();
        f.write_all_at(b"and at the end", size - 14).unwrap();
        f.sync_all().unwrap();
    }
    let Some((read, out)) = bytes_read(&t, &["link", "-y", "-f", "json", "."]) else {
        return;
    };
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(read < 64 << 20, "read {read} bytes of two sparse files");
    assert_eq!(t.ino("s1"), t.ino("s2"));
    // The same content, without holes (where the filesystem allocates the zeros written).
    let t = TestEnv::new();
    let len = 8u64 << 20;
    let mut dense = vec![0u8; len as usize];
    dense[len as usize / 2..len as usize / 2 + 4].copy_from_slice(b"data");
    t.write("dense", &dense);
    let f = fs::File::create(t.path("sparse")).unwrap();
    f.set_len(len).unwrap();
    f.write_all_at(b"data", len / 2).unwrap();
    drop(f); // (a file open for writing is never linked)
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 1, "{v}");
    assert_eq!(t.read("sparse"), dense);
}

/// Found by an attack helper: with `--ignore-owner`, a user's file could take root's inode even
/// when root's file was unreadable to them, and seeing their file turn root's told them its
/// content: 10,000 guesses of a PIN in root's 0600 file, one run, and the one that changed
/// owner was the PIN. Root's inode is taken only by paths whose owner may read it anyway.
#[test]
fn with_ignore_owner_no_user_learns_what_an_unreadable_root_file_holds() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("s");
    t.write("s/private/pin", b"PIN=7319\n");
    t.chmod("s/private/pin", 0o600);
    t.attacker(
        "mkdir s/guess && cd s/guess && umask 077 && \
         for i in 7317 7318 7319 7320; do echo PIN=$i > g$i; done",
    );
    // Root's readable file is still a keeper for the attacker's copy of it.
    t.write("s/pub/motd", b"welcome\n");
    t.chmod("s/pub/motd", 0o644);
    t.attacker("echo welcome > s/guess/motd && chmod 644 s/guess/motd");
    let pin = t.ino("s/private/pin");
    let guess = t.ino("s/guess/g7319");
    let out = t.run(&["link", "-y", "--ignore-owner", "s"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("s/private/pin"), pin);
    assert_eq!(
        t.ino("s/guess/g7319"),
        guess,
        "the right guess took root's inode"
    );
    assert_eq!(t.meta("s/guess/g7319"), (ATTACKER, ATTACKER, 0o600));
    assert_eq!(t.ino("s/guess/motd"), t.ino("s/pub/motd"));
    assert_eq!(t.meta("s/guess/motd").0, 0);
}

/// Found by an attack helper: a root file that only its directory kept private (0644 in a 0700
/// directory) was linked with a copy in a shared directory, and from then on anyone could read
/// its later edits through the copy (moved into the attacker's own directory first). With
/// `--ignore-owner` the attacker supplied the copy. A file others can't reach is never linked
/// with one they can, unless `--ignore-dir-access` says so; another owner's file never takes
/// an inode others can't reach.
#[test]
fn a_file_private_by_its_directory_is_never_linked_with_a_public_copy() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("s");
    fs::create_dir_all(t.path("s/private")).unwrap();
    t.chmod("s/private", 0o700);
    t.write("s/private/app.conf", b"db_host=localhost\n");
    t.chmod("s/private/app.conf", 0o644);
    t.write("s/pub/app.conf.example", b"db_host=localhost\n");
    t.chmod("s/pub/app.conf.example", 0o644);
    t.attacker("mkdir s/mine && printf 'db_host=localhost\\n' > s/mine/copy");
    let private = t.ino("s/private/app.conf");
    for flags in [&[][..], &["--ignore-owner"][..]] {
        let (v, out) = t.json(&[&["link", "-y", "-f", "json"], flags, &["s"]].concat());
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(t.ino("s/private/app.conf"), private, "{flags:?}");
        assert_ne!(t.ino("s/mine/copy"), private, "{flags:?}");
        assert_ne!(t.ino("s/pub/app.conf.example"), private, "{flags:?}");
        assert!(
            v["skipped"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["differs"].to_string().contains("\"dir_access\"")),
            "{flags:?}: {v}"
        );
    }
    // A file given as a path from its own directory (an empty parent path) is as public as
    // its directory: found by a reviewer, such a root counted as private.
    let out = t
        .cmd()
        .current_dir(t.path("s/pub"))
        .args(["link", "-y", "app.conf.example"])
        .arg(t.path("s/private"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("s/private/app.conf"), private);
    // Asked for, it is done (the attacker's copy, which took the public root copy's inode in
    // the --ignore-owner run, comes along: that is what the flag allows).
    let out = t.run(&["link", "-y", "--ignore-dir-access", "s"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("s/pub/app.conf.example"), t.ino("s/private/app.conf"));
}
