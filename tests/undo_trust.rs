//! `linkdup undo` against another user (issue 10, attacks 1, 2, 7 and 10): a journal is a claim
//! that undo re-proves on the live files, reached without following any symlink, and undo never
//! gives back what the keeper does not carry itself of set-id bits and security attributes. Its
//! exchange is the executor's: a file saved meanwhile stays.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use common::*;
use serde_json::{Value, json};

/// A version 1 journal line (what every linkdup so far writes or reads) saying that `path` was
/// replaced by a link of `keeper` (given by their identities now) and had `uid`, `gid`, `mode`
/// and `xattrs`.
fn line(t: &TestEnv, path: &str, keeper: &str, uid: u32, mode: u32, xattrs: Value) -> String {
    let k = fs::metadata(t.path(keeper)).unwrap();
    let v = json!({
        "v": 1,
        "path": t.path(path).to_str().unwrap().as_bytes(),
        "keeper": t.path(keeper).to_str().unwrap().as_bytes(),
        "keeper_dev": k.dev(), "keeper_ino": k.ino(), "size": k.len(),
        "keeper_mtime": [k.mtime(), k.mtime_nsec()],
        "uid": uid, "gid": uid, "mode": mode,
        "mtime": [1, 0], "atime": [1, 0],
        "xattrs": xattrs,
    });
    format!("{v}\n")
}

/// Attack 1: undo acted on every entry of any journal. The attacker's journal asks root to give
/// the attacker its secret (0600 → 0666, owned by 65534) and to make the attacker's program a
/// setuid-root binary.
#[test]
fn undo_refuses_a_journal_another_user_wrote() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("shared");
    t.write("root/secret", b"root's secret");
    t.chmod("root/secret", 0o600);
    t.attacker("printf '#!/bin/sh\\nid\\n' > shared/tool && chmod 755 shared/tool");
    let forged = line(
        &t,
        "root/secret",
        "root/secret",
        ATTACKER,
        0o100666,
        json!([]),
    ) + &line(&t, "shared/tool", "shared/tool", 0, 0o104755, json!([]));
    fs::write(t.path("forged"), forged).unwrap();
    t.attacker("cp forged shared/journal.jsonl");
    let out = t.run(&["undo", "-f", "json", "shared/journal.jsonl"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(refusal(&out).0, "untrusted_state_file");
    assert_eq!(t.meta("root/secret"), (0, 0, 0o600));
    assert_eq!(t.meta("shared/tool"), (ATTACKER, ATTACKER, 0o755));
}

/// Attack 1, with a journal root can read back (its own): every entry is still re-proved.
/// Undo acts only where the path shares the recorded keeper's inode (and is not the keeper),
/// and never sets a set-id bit or a `security.*` attribute the keeper does not carry.
#[test]
fn undo_re_proves_each_entry_and_never_grants_set_id_bits_or_capabilities() {
    if !is_root() {
        skip("needs root to set owners and capabilities");
        return;
    }
    let t = TestEnv::new();
    t.write("d/keeper", b"program bytes");
    t.write("d/copy", b"program bytes");
    t.set_mtime("d/keeper", 1_000);
    t.chmod("d/keeper", 0o755);
    t.chmod("d/copy", 0o755);
    t.write("d/alone", b"not linked to anything");
    t.chmod("d/alone", 0o600);
    let out = t.run(&["link", "-y", "d"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("d/keeper"), t.ino("d/copy"));
    // Root's own journal, edited: the copy "was" setuid with a capability; the unlinked file
    // "was" the attacker's and world-writable, a link of itself.
    let j = t.journals().pop().unwrap();
    let cap = "security.capability".as_bytes().to_vec();
    let cap_value: Vec<u8> = vec![1, 0, 0, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut entry: Value = serde_json::from_str(fs::read_to_string(&j).unwrap().trim()).unwrap();
    entry["mode"] = json!(0o104755);
    entry["xattrs"] = json!([[cap, cap_value]]);
    let text =
        format!("{entry}\n") + &line(&t, "d/alone", "d/alone", ATTACKER, 0o100666, json!([]));
    fs::write(&j, text).unwrap();

    let (v, out) = t.json(&["undo", "-f", "json", j.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let paths = v["paths"].as_array().unwrap();
    assert_eq!(paths[0]["status"], "restored", "{v}");
    assert!(
        paths[0]["withheld"]
            .to_string()
            .contains("security.capability"),
        "{v}"
    );
    assert_eq!(paths[1]["kind"], "already_split", "{v}");
    assert_ne!(t.ino("d/keeper"), t.ino("d/copy"), "the copy was split");
    assert_eq!(t.meta("d/copy"), (0, 0, 0o755), "no set-id bit");
    assert_eq!(t.xattr("d/copy", "security.capability"), None);
    assert_eq!(t.read("d/copy"), b"program bytes");
    assert_eq!(t.meta("d/alone"), (0, 0, 0o600));
}

/// Attack 2: undo opened each path's directory by path, following a symlink put in its place.
#[test]
fn undo_never_follows_a_symlink_on_the_way() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("shared");
    t.write("shared/dir/k", b"bytes");
    t.write("shared/dir/d", b"bytes");
    t.set_mtime("shared/dir/k", 1_000);
    let out = t.run(&["link", "-y", "shared"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let j = t.journals().pop().unwrap();
    // The attacker moves the directory away and leaves a symlink to it.
    t.attacker("mv shared/dir shared/moved && ln -s moved shared/dir");
    let (v, out) = t.json(&["undo", "-f", "json", j.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["paths"][0]["kind"], "symlink", "{v}");
    assert_eq!(t.ino("shared/moved/k"), t.ino("shared/moved/d"));
    assert!(t.temp_names().is_empty());
}

/// Attack 7: undo checked the path and then exchanged, so a file saved in between (an editor
/// writes a new file and renames it over the path) was moved out to a temp name and the path
/// got the old content back. The exchange is delayed to open that window.
#[test]
fn a_file_saved_while_undo_prepares_its_copy_stays_at_its_path() {
    let t = TestEnv::new();
    t.write("d/k", b"linked bytes");
    t.write("d/v", b"linked bytes");
    t.set_mtime("d/k", 1_000);
    assert_eq!(code(&t.run(&["link", "-y", "d"])), 0);
    let j = t.journals().pop().unwrap();
    let Some(child) = t.spawn_under_strace(
        &[
            "trace=renameat2",
            "inject=renameat2:delay_enter=1500000:when=1",
        ],
        &["undo", j.to_str().unwrap()],
    ) else {
        return;
    };
    assert!(wait_for(10, || !t.temp_names().is_empty()), "no copy made");
    std::thread::sleep(std::time::Duration::from_millis(200));
    t.write("d/v.new", b"the user's new version");
    fs::rename(t.path("d/v.new"), t.path("d/v")).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(t.read("d/v"), b"the user's new version", "{}", stdout(&out));
    assert_eq!(t.read("d/k"), b"linked bytes");
    assert!(t.temp_names().is_empty(), "{:?}", t.temp_names());
}

/// Found by an attack helper: undo's copy was not watched, so when a writer of the shared file
/// made undo put everything back, a second writer's edit to the copy (through the path, just
/// after the exchange) was removed with it.
#[test]
fn two_writers_across_undos_exchange_lose_no_edit() {
    let t = TestEnv::new();
    t.write("d/k", b"linked bytes");
    t.write("d/v", b"linked bytes");
    t.set_mtime("d/k", 1_000);
    assert_eq!(code(&t.run(&["link", "-y", "d"])), 0);
    let k = t.ino("d/k");
    let j = t.journals().pop().unwrap();
    let Some(child) = t.spawn_under_strace(
        &[
            "trace=renameat2",
            "inject=renameat2:delay_enter=1500000:delay_exit=2000000:when=1",
        ],
        &["undo", j.to_str().unwrap()],
    ) else {
        return;
    };
    // The copy is written (and synced) before the exchange waits.
    let full = |t: &TestEnv| {
        t.temp_names()
            .iter()
            .any(|p| fs::read(t.path(p)).is_ok_and(|c| c == b"linked bytes"))
    };
    assert!(wait_for(10, || full(&t)), "no copy made");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let first = append_in_thread(t.path("d/v"), b" +first");
    assert!(wait_for(10, || t.ino("d/v") != k), "never saw the exchange");
    let second = append_in_thread(t.path("d/v"), b" +second");
    let out = child.wait_with_output().unwrap();
    first.join().unwrap();
    second.join().unwrap();
    let all = t.contents();
    assert!(
        holds(&all, b"+first") && holds(&all, b"+second"),
        "an edit was lost: {all:?}; {}",
        stdout(&out)
    );
    // The later writer's edit is at the path it was written to.
    let v = t.read("d/v");
    assert!(v.ends_with(b" +second"), "{}", String::from_utf8_lossy(&v));
}

/// Attack 10: a journal recorded from a working directory deeper than PATH_MAX could not be
/// undone (nor, before, even written). Paths are found through the directory fds and reached
/// again one component at a time.
#[test]
fn a_run_from_deeper_than_path_max_is_undone() {
    let t = TestEnv::new();
    use rustix::fs::{Mode, OFlags};
    let name = "d".repeat(250);
    let fd = t.deep_dir(20, &["k", "v"], b"deep bytes");
    let ino = |f: &str| {
        rustix::fs::statat(&fd, f, rustix::fs::AtFlags::empty())
            .unwrap()
            .st_ino
    };
    let cd = format!("cd {name}; ").repeat(20);
    let out = Command::new("sh")
        .env("XDG_STATE_HOME", t.state_dir())
        .current_dir(t.root())
        .args(["-c", &format!("{cd} exec '{}' link -y .", bin().display())])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        ino("k"),
        ino("v"),
        "linked? {}{}",
        stdout(&out),
        stderr(&out)
    );
    let j = t.journals().pop().unwrap();
    let (v, out) = t.json(&["undo", "-f", "json", j.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["restored"], 1, "{v}");
    assert_ne!(ino("k"), ino("v"), "split again");
    let mut buf = [0u8; 32];
    let f = rustix::fs::openat(&fd, "v", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap();
    let n = rustix::io::read(&f, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"deep bytes");
}

/// Found by an attack helper: undo makes its copy in the path's own directory, and that
/// directory's default ACL (its owner's choice: here the attacker's) became the copy's access
/// ACL, so root's restored 0660 file was writable by the attacker. The directory's `chattr`
/// flags (nodump, noatime) were inherited too. The copy gets the recorded attributes only.
#[test]
fn undo_copy_takes_no_acl_or_flags_from_its_directory() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.shared("s");
    t.write("s/k", b"root config v1");
    t.write("s/d", b"root config v1");
    t.chmod("s/k", 0o660);
    t.chmod("s/d", 0o660);
    t.set_mtime("s/k", 1_000);
    t.attacker("mkdir s/u && chmod 777 s/u");
    let acl = rustix::fs::lsetxattr(
        t.path("s/u"),
        "system.posix_acl_default",
        &acl_granting(ATTACKER),
        rustix::fs::XattrFlags::empty(),
    );
    if acl.is_err() {
        skip("no POSIX ACLs here");
        return;
    }
    let flags = have("chattr")
        && Command::new("chattr")
            .args(["+dA", t.path("s/u").to_str().unwrap()])
            .status()
            .is_ok_and(|s| s.success());
    t.attacker("mv s/d s/u/d");
    assert_eq!(code(&t.run(&["link", "-y", "s"])), 0);
    assert_eq!(t.ino("s/k"), t.ino("s/u/d"));
    let j = t.journals().pop().unwrap();
    let out = t.run(&["undo", j.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_ne!(t.ino("s/k"), t.ino("s/u/d"), "not undone");
    assert_eq!(t.read("s/u/d"), b"root config v1");
    assert_eq!(t.meta("s/u/d"), (0, 0, 0o660));
    assert_eq!(t.xattr("s/u/d", "system.posix_acl_access"), None);
    t.attacker("! (echo attacker >> s/u/d) 2>/dev/null");
    assert_eq!(t.read("s/u/d"), b"root config v1");
    if flags {
        let f = fs::File::open(t.path("s/u/d")).unwrap();
        let got = rustix::fs::ioctl_getflags(&f).unwrap();
        let inherited = rustix::fs::IFlags::NODUMP | rustix::fs::IFlags::NOATIME;
        assert!((got & inherited).is_empty(), "{got:?}");
    }
}
