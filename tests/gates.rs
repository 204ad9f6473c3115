//! The gates that need the system's help to set up: extended attributes, file capabilities,
//! append-only directories, read-only mounts and pseudo filesystems. Each asserts on the tree.

mod common;

use std::process::Command;

use common::*;

/// Each skipped path with the stable code of its reason: `./c: xattrs`.
fn skip_reasons(v: &serde_json::Value) -> Vec<String> {
    v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}: {}",
                s["path"].as_str().unwrap(),
                s["kind"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn different_extended_attributes_are_not_merged_unless_asked() {
    let t = TestEnv::new();
    t.write("a", b"tagged");
    t.write("b", b"tagged");
    t.write("c", b"tagged");
    for (f, v) in [("a", "red"), ("b", "red"), ("c", "blue")] {
        if rustix::fs::lsetxattr(
            t.path(f),
            "user.colour",
            v.as_bytes(),
            rustix::fs::XattrFlags::empty(),
        )
        .is_err()
        {
            skip("this filesystem has no user xattrs");
            return;
        }
    }
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("a"), t.ino("b"));
    assert_ne!(t.ino("a"), t.ino("c"));
    let reasons = skip_reasons(&v);
    assert!(reasons[0] == "./c: xattrs", "{reasons:?}");
    let out = t.run(&["link", "-y", "--ignore-xattrs", "."]);
    assert_eq!(code(&out), 0);
    assert_eq!(t.ino("a"), t.ino("c"));
}

#[test]
fn files_with_capabilities_are_never_linked() {
    if !is_root() || !have("setcap") {
        skip("setcap needs root and libcap2-bin");
        return;
    }
    let t = TestEnv::new();
    t.write("ping1", b"binary");
    t.write("ping2", b"binary");
    t.write("plain", b"binary");
    for f in ["ping1", "ping2"] {
        assert!(run_ok(
            Command::new("setcap").arg("cap_net_raw+ep").arg(t.path(f))
        ));
    }
    let before = t.snapshot();
    let (v, out) = t.json(&["link", "-y", "--ignore-xattrs", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(before, t.snapshot());
    let reasons = skip_reasons(&v);
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().all(|r| r.ends_with(": capabilities")),
        "{reasons:?}"
    );
}

#[test]
fn append_only_directories_get_no_temp_link() {
    if !is_root() || !have("chattr") {
        skip("chattr needs root and e2fsprogs");
        return;
    }
    let t = TestEnv::new();
    t.write("keep/a", b"abc");
    t.set_mtime("keep/a", 1);
    t.write("log/b", b"abc");
    if !run_ok(Command::new("chattr").arg("+a").arg(t.path("log"))) {
        skip("no append-only flag on this filesystem");
        return;
    }
    let before = t.snapshot();
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    let _ = Command::new("chattr").arg("-a").arg(t.path("log")).status();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(before, t.snapshot());
    assert!(t.temp_names().is_empty());
    let reasons = skip_reasons(&v);
    assert!(reasons[0] == "./log/b: locked_directory", "{reasons:?}");
}

/// A read-only bind mount of `dir` onto itself, undone on drop.
struct RoBind(std::path::PathBuf);

impl RoBind {
    fn new(dir: &std::path::Path) -> Option<RoBind> {
        if !is_root() {
            skip("bind mounts need root");
            return None;
        }
        if !run_ok(Command::new("mount").arg("--bind").arg(dir).arg(dir)) {
            skip("cannot bind mount");
            return None;
        }
        let guard = RoBind(dir.to_path_buf());
        run_ok(
            Command::new("mount")
                .args(["-o", "remount,bind,ro"])
                .arg(dir),
        )
        .then_some(guard)
    }
}

impl Drop for RoBind {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn read_only_mounts_are_skipped_and_refused_up_front() {
    let t = TestEnv::new();
    t.write("rw/a", b"same");
    t.write("rw/b", b"same");
    t.write("ro/c", b"same");
    t.write("ro/d", b"same");
    let Some(_ro) = RoBind::new(&t.path("ro")) else {
        return;
    };
    let before = t.snapshot();
    // A read-only root alone: a real run refuses before scanning; a dry run works.
    let out = t.run(&["link", "-y", "-f", "json", "ro"]);
    assert_eq!(code(&out), 2);
    assert_eq!(refusal(&out).0, "read_only");
    let (v, out) = t.json(&["link", "-n", "-f", "json", "ro"]);
    assert_eq!(code(&out), 0);
    assert!(
        skip_reasons(&v).iter().all(|r| r.ends_with(": read_only")),
        "{v}"
    );
    // Mixed: the writable part is linked, the read-only part skipped with the reason.
    let (v, out) = t.json(&["link", "-y", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.ino("rw/a"), t.ino("rw/b"));
    assert_ne!(t.ino("ro/c"), t.ino("ro/d"));
    assert_eq!(before[std::path::Path::new("ro/c")].ino, t.ino("ro/c"));
    let reasons = skip_reasons(&v);
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().all(|r| r.ends_with(": read_only")),
        "{reasons:?}"
    );
}

#[test]
fn pseudo_filesystems_are_refused() {
    let t = TestEnv::new();
    let (v, out) = t.json(&["scan", "-f", "json", "/sys/kernel"]);
    assert_eq!(code(&out), 1);
    let errors = problems(&v, "errors");
    assert_eq!(errors.len(), 1, "{v}");
    assert_eq!(
        (&*errors[0].0, &*errors[0].1),
        ("/sys/kernel", "pseudo_filesystem")
    );
    // One mounted inside a tree is passed over with a warning; the rest is scanned.
    if !is_root() {
        return;
    }
    t.write("a", b"x");
    t.write("b", b"x");
    std::fs::create_dir(t.path("proc")).unwrap();
    if !run_ok(
        Command::new("mount")
            .args(["-t", "proc", "proc"])
            .arg(t.path("proc")),
    ) {
        skip("cannot mount proc");
        return;
    }
    let (v, out) = t.json(&["scan", "-f", "json", "."]);
    let _ = Command::new("umount")
        .arg("-l")
        .arg(t.path("proc"))
        .status();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(kinds(&v, "warnings"), ["pseudo_filesystem"], "{v}");
    assert_eq!(v["summary"]["files_scanned"], 2);
}

#[test]
fn one_directory_through_two_bind_mounts_is_scanned_once() {
    if !is_root() {
        skip("bind mounts need root");
        return;
    }
    let t = TestEnv::new();
    t.write("data/a", b"bound twins");
    t.write("data/b", b"bound twins");
    std::fs::create_dir(t.path("view")).unwrap();
    if !run_ok(
        Command::new("mount")
            .arg("--bind")
            .arg(t.path("data"))
            .arg(t.path("view")),
    ) {
        skip("cannot bind mount");
        return;
    }
    let (v, out) = t.json(&["link", "-y", "-f", "json", "view", "data"]);
    let _ = Command::new("umount")
        .arg("-l")
        .arg(t.path("view"))
        .status();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["files_scanned"], 2, "{v}");
    assert_eq!(v["summary"]["linked"], 1, "{v}");
    assert_eq!(t.ino("data/a"), t.ino("data/b"));
    assert!(t.temp_names().is_empty());
}

/// A read-only view of a tree and the writable tree itself, given in either order: the
/// writable one is walked, so the plan (and the run) is the same.
#[test]
fn a_read_only_view_never_hides_its_writable_original() {
    if !is_root() {
        skip("bind mounts need root");
        return;
    }
    let t = TestEnv::new();
    t.write("data/a", b"viewed twins");
    t.write("data/b", b"viewed twins");
    std::fs::create_dir(t.path("view")).unwrap();
    if !run_ok(
        Command::new("mount")
            .arg("--bind")
            .arg(t.path("data"))
            .arg(t.path("view")),
    ) {
        skip("cannot bind mount");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _view = Unmount(t.path("view"));
    assert!(run_ok(
        Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(t.path("view"))
    ));
    let plan = |first: &str, second: &str| {
        let (v, out) = t.json(&["link", "-n", "-f", "json", first, second]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        v["actions"].to_string()
    };
    let view_first = plan("view", "data");
    assert_eq!(view_first, plan("data", "view"));
    assert!(view_first.contains("data/b"), "{view_first}");
    let (v, out) = t.json(&["link", "-y", "-f", "json", "view", "data"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 1, "{v}");
    assert_eq!(t.ino("data/a"), t.ino("data/b"));
}
