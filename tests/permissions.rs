//! As a user without root's permission bypass: unreadable files and directories are named with
//! the reason and the rest of the run goes on; linking works without CAP_DAC_READ_SEARCH.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use common::*;

const NOBODY: u32 = 65534;

/// Run linkdup as uid/gid 65534 with no supplementary groups, or `None` where that's impossible.
fn as_nobody(t: &TestEnv, args: &[&str]) -> Option<Output> {
    if !is_root() || !have("setpriv") {
        skip("dropping privileges needs root and setpriv");
        return None;
    }
    fs::set_permissions(t.root(), fs::Permissions::from_mode(0o755)).unwrap();
    Some(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin())
            .args(args)
            .current_dir(t.root())
            .env_clear()
            .env("XDG_STATE_HOME", t.state_dir())
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

fn chown_all(t: &TestEnv) {
    let st = Command::new("chown")
        .args(["-R", &format!("{NOBODY}:{NOBODY}")])
        .arg(t.root())
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn unreadable_files_and_directories_are_named_and_the_scan_goes_on() {
    let t = TestEnv::new();
    t.write("open/x", b"readable twins");
    t.write("open/y", b"readable twins");
    t.write("closed/z", b"readable twins");
    t.write("locked1", b"locked twins");
    t.write("locked2", b"locked twins");
    t.chmod("closed", 0o700);
    t.chmod("locked1", 0o600);
    t.chmod("locked2", 0o600);
    let Some(out) = as_nobody(&t, &["scan", "-f", "json", "."]) else {
        return;
    };
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v = parse(&out);
    let mut errors = problems(&v, "errors");
    errors.sort();
    let want = ["./closed", "./locked1", "./locked2"]
        .map(|p| (p.to_string(), "io".to_string(), "EACCES".to_string()));
    assert_eq!(errors, want, "{v}");
    // Each told on stderr as it happened, path first.
    let err = stderr(&out);
    assert!(
        err.contains("linkdup: ./closed: Permission denied"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{v}");
    assert_eq!(groups[0]["files"][0]["path"], "./open/x");
    assert_eq!(v["summary"]["errors"], 3);
}

#[test]
fn a_plain_user_can_link_their_own_files() {
    let t = TestEnv::new();
    t.write("a/one", b"user data");
    t.write("b/two", b"user data");
    t.write("b/three", b"user data");
    chown_all(&t);
    let before = t.snapshot();
    let Some(out) = as_nobody(&t, &["link", "-y", "-f", "json", "."]) else {
        return;
    };
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["linked"], 2, "{v}");
    assert_eq!(t.ino("a/one"), t.ino("b/two"));
    assert_eq!(t.ino("a/one"), t.ino("b/three"));
    assert_same_bytes(&before, &t.snapshot());
    assert!(t.temp_names().is_empty());
}

#[test]
fn a_read_only_directory_fails_cleanly_for_a_plain_user() {
    let t = TestEnv::new();
    t.write("rw/a", b"bytes");
    t.write("rw/b", b"bytes");
    t.write("ro/c", b"bytes");
    t.set_mtime("rw/a", 1);
    chown_all(&t);
    t.chmod("ro", 0o555);
    let before = t.snapshot();
    let Some(out) = as_nobody(&t, &["link", "-y", "-f", "json", "."]) else {
        return;
    };
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v = parse(&out);
    let errors = problems(&v, "errors");
    assert_eq!(errors.len(), 1, "{v}");
    assert_eq!(errors[0].0, "./ro/c", "{v}");
    assert_eq!(errors[0].2, "EACCES", "{v}");
    assert_eq!(t.ino("rw/a"), t.ino("rw/b"));
    assert_eq!(t.ino("ro/c"), before[std::path::Path::new("ro/c")].ino);
    assert_same_bytes(&before, &t.snapshot());
    assert!(t.temp_names().is_empty());
}
