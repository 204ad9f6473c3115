//! TestEnv: a fresh temp tree, the real binary with a scrubbed environment, and helpers that read
//! inodes, link counts and bytes so that tests assert on what happened on disk.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    /// The state directory (undo journals), outside the tree.
    pub state: tempfile::TempDir,
}

/// What a path looked like: used to prove that nothing changed, or exactly what did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snap {
    pub ino: u64,
    pub dev: u64,
    pub nlink: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    /// File bytes, or the symlink target.
    pub content: Vec<u8>,
}

impl TestEnv {
    pub fn new() -> Self {
        let state = tempfile::Builder::new()
            .prefix("linkdup-state")
            .tempdir()
            .expect("temp dir");
        // Writable by the unprivileged user of the permission tests, and sticky (as /tmp is):
        // state files are refused in a directory others can write that is not sticky.
        fs::set_permissions(state.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        TestEnv {
            dir: tempfile::Builder::new()
                .prefix("linkdup-test")
                .tempdir()
                .expect("temp dir"),
            state,
        }
    }

    /// A new tree holding `files` (path, bytes), directories made as needed.
    pub fn with_files(files: &[(&str, &[u8])]) -> Self {
        let t = TestEnv::new();
        for (rel, bytes) in files {
            t.write(rel, bytes);
        }
        t
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `XDG_STATE_HOME` for every linkdup the test runs.
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// Undo journals written so far.
    pub fn journals(&self) -> Vec<PathBuf> {
        let dir = self.state.path().join("linkdup");
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root().join(rel)
    }

    /// Write a file (creating parent directories).
    pub fn write(&self, rel: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        p
    }

    pub fn hard_link(&self, existing: &str, new: &str) {
        let n = self.path(new);
        fs::create_dir_all(n.parent().unwrap()).unwrap();
        fs::hard_link(self.path(existing), n).unwrap();
    }

    pub fn symlink(&self, target: impl AsRef<Path>, rel: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    pub fn chmod(&self, rel: &str, mode: u32) {
        fs::set_permissions(self.path(rel), fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Set a file's mtime (seconds since the epoch).
    pub fn set_mtime(&self, rel: &str, secs: i64) {
        let f = fs::File::options()
            .write(true)
            .open(self.path(rel))
            .unwrap();
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
        f.set_modified(t).unwrap();
    }

    /// The real binary, stdin not a terminal, colour off, run in the tree's root.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("XDG_STATE_HOME", self.state_dir())
            .env("XDG_CACHE_HOME", self.state_dir().join("cache"))
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run linkdup")
    }

    /// Run and parse stdout as JSON (the command must have printed JSON).
    pub fn json(&self, args: &[&str]) -> (Value, Output) {
        let out = self.run(args);
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (v, out)
    }

    /// Run linkdup ARGS in the tree under strace with one expression (`-e inject=...`), or
    /// `None` (with a printed reason) where strace is not installed.
    pub fn under_strace(&self, expr: &str, args: &[&str]) -> Option<Output> {
        if !have("strace") {
            skip("strace is not installed");
            return None;
        }
        Some(
            Command::new("strace")
                .env("XDG_STATE_HOME", self.state_dir())
                .args(["-f", "-qq", "-o", "/dev/null", "-e", expr])
                .arg(bin())
                .args(args)
                .current_dir(self.root())
                .stdin(Stdio::null())
                .output()
                .expect("run strace"),
        )
    }

    /// Scan and plan the tree through the library, apply `change`, then execute the now stale
    /// plan: what the executor does when the tree moved under it.
    pub fn stale_plan(
        &self,
        change: impl FnOnce(&TestEnv),
    ) -> (linkdup::Plan, Vec<linkdup::Outcome>) {
        let cfg = linkdup::config::ScanConfig {
            roots: vec![self.root().to_path_buf()],
            ..Default::default()
        };
        let scanned = linkdup::scan::scan(&cfg, &linkdup::listener::Silent).expect("scan");
        let plan = linkdup::plan::plan(&scanned.tree, scanned.groups, &Default::default());
        change(self);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let outcomes =
            linkdup::execute::execute(&scanned.tree, &plan, &Default::default(), &stop, None, None);
        (plan, outcomes)
    }

    pub fn ino(&self, rel: &str) -> u64 {
        fs::symlink_metadata(self.path(rel)).unwrap().ino()
    }

    pub fn nlink(&self, rel: &str) -> u64 {
        fs::symlink_metadata(self.path(rel)).unwrap().nlink()
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.path(rel)).unwrap()
    }

    /// Every entry below the root (files, symlinks, FIFOs; not directories), by relative path.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Snap> {
        snapshot(self.root())
    }

    /// Relative paths of linkdup temp names left anywhere in the tree.
    pub fn temp_names(&self) -> Vec<PathBuf> {
        self.snapshot()
            .into_keys()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.as_bytes().starts_with(b".linkdup-"))
            })
            .collect()
    }
}

pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Snap> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        for e in rd {
            let e = e.unwrap();
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
                continue;
            }
            let content = if m.file_type().is_symlink() {
                fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec()
            } else if m.is_file() {
                fs::read(&p).unwrap_or_default()
            } else {
                Vec::new()
            };
            out.insert(
                p.strip_prefix(root).unwrap().to_path_buf(),
                Snap {
                    ino: m.ino(),
                    dev: m.dev(),
                    nlink: m.nlink(),
                    mode: m.mode(),
                    uid: m.uid(),
                    gid: m.gid(),
                    mtime: (m.mtime(), m.mtime_nsec()),
                    ctime: (m.ctime(), m.ctime_nsec()),
                    content,
                },
            );
        }
    }
    out
}

/// Paths in the tree (relative) that differ between two snapshots, besides the listed ones.
pub fn assert_same_bytes(before: &BTreeMap<PathBuf, Snap>, after: &BTreeMap<PathBuf, Snap>) {
    let b: Vec<_> = before.keys().collect();
    let a: Vec<_> = after.keys().collect();
    assert_eq!(b, a, "the set of paths changed");
    for (p, s) in before {
        assert_eq!(
            s.content,
            after[p].content,
            "{} changed content",
            p.display()
        );
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout parsed as JSON (the command must have printed JSON).
pub fn parse(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// The codes of a run refused with `-f json`: its `kind` and finer `reason` ("" if none).
pub fn refusal(o: &Output) -> (String, String) {
    let v = parse(o);
    let r = &v["refused"];
    assert!(r.is_object(), "not a refusal: {v}");
    (
        r["kind"].as_str().unwrap_or_default().to_string(),
        r["reason"].as_str().unwrap_or_default().to_string(),
    )
}

/// The `(path, kind, reason)` of each entry of a JSON report's `list` ("errors", "warnings").
pub fn problems(v: &Value, list: &str) -> Vec<(String, String, String)> {
    let s = |x: &Value| x.as_str().unwrap_or_default().to_string();
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {v}"))
        .iter()
        .map(|p| (s(&p["path"]), s(&p["kind"]), s(&p["reason"])))
        .collect()
}

/// The `kind` of each entry of a JSON report's `list`.
pub fn kinds(v: &Value, list: &str) -> Vec<String> {
    problems(v, list).into_iter().map(|p| p.1).collect()
}

/// The finer `reason` code of each entry of a JSON report's `list` (an errno name for a failed
/// system call).
pub fn reasons(v: &Value, list: &str) -> Vec<String> {
    problems(v, list).into_iter().map(|p| p.2).collect()
}

/// A test that can't run here (a tool, a filesystem feature or root is missing) says why and
/// returns. Where every test must run (`LINKDUP_TESTS_MUST_RUN=1`, which `.ci/run` sets after
/// installing what they need), a skip is a failure, never a silent `ok`.
pub fn skip(why: impl std::fmt::Display) {
    if std::env::var_os("LINKDUP_TESTS_MUST_RUN").is_some_and(|v| v == "1") {
        panic!("skipped where every test must run: {why}");
    }
    eprintln!("SKIP: {why}");
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// A JSON path field, decoded losslessly (`<key>_bytes` wins when present).
pub fn json_path(v: &Value, key: &str) -> PathBuf {
    if let Some(bytes) = v.get(format!("{key}_bytes")) {
        let b: Vec<u8> = bytes
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u8)
            .collect();
        return PathBuf::from(OsStr::from_bytes(&b));
    }
    PathBuf::from(v[key].as_str().unwrap())
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A tmpfs mounted at `at` for the life of the guard (needs root); `None` (with a printed
/// reason) where mounting is not possible.
pub struct Mount {
    pub at: PathBuf,
}

impl Mount {
    pub fn tmpfs(at: &Path, opts: &str) -> Option<Mount> {
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                opts,
                "linkdup-test",
                at.to_str().unwrap(),
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            Some(Mount {
                at: at.to_path_buf(),
            })
        } else {
            skip(format!(
                "cannot mount tmpfs at {} (needs root)",
                at.display()
            ));
            None
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

/// Run a helper command quietly; did it succeed?
pub fn run_ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Is a tool on PATH?
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A tree with every shape the scanner must get right.
pub fn edge_tree() -> TestEnv {
    let t = TestEnv::new();
    let pair = b"pair content\n".repeat(10);
    let triple = b"triple!".repeat(50);
    t.write("p1/a.txt", &pair);
    t.write("p2/a.txt", &pair);
    t.write("n/1/2/3/4/5/deep.txt", &pair);
    for d in ["t1", "t2", "t3"] {
        t.write(format!("{d}/t.bin"), &triple);
    }
    for i in 0..50 {
        t.write(format!("fifty/f{i:02}.dat"), b"fifty copies of this");
    }
    // Same size, differing only in the first, a middle or the last byte: read whole at the
    // first step (up to 64 KiB), then head and tail and a full hash (one buffer and several).
    for len in [100usize, 20_000, 65_536, 65_537, 300_000] {
        let base: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        t.write(format!("near{len}/base"), &base);
        t.write(format!("near{len}/copy"), &base);
        for (name, at) in [("first", 0), ("middle", len / 2), ("last", len - 1)] {
            let mut v = base.clone();
            v[at] ^= 0xff;
            t.write(format!("near{len}/{name}"), &v);
        }
    }
    // Empty files are never duplicates (min size 1).
    for i in 0..3 {
        t.write(format!("empty/e{i}"), b"");
    }
    // Existing hard links: one inode with two names, plus a real copy.
    t.write("h/x", b"hard linked content");
    t.hard_link("h/x", "h/y");
    t.write("h/z", b"hard linked content");
    // A set that is already fully linked is not a group.
    t.write("done/a", b"already linked set");
    t.hard_link("done/a", "done/b");
    // Symlinks of every kind: never followed, never reported.
    t.symlink("../p1/a.txt", "s/link");
    t.symlink("nowhere", "s/dangling");
    t.symlink("loop", "s/loop");
    t.symlink("../p1", "s/dirlink");
    t.write("with space/file name.txt", &pair);
    t.write(
        Path::new(OsStr::from_bytes(b"odd/bad\xffname.txt")),
        &triple,
    );
    t.write("odd/new\nline.txt", &triple);
    t.write("unique/u1", b"nothing like me");
    t
}

/// Groups as sets of relative paths, computed without linkdup.
pub fn expected_groups(root: &Path) -> BTreeSet<BTreeSet<PathBuf>> {
    // sha256 → (dev, ino) → paths
    type Inodes = BTreeMap<(u64, u64), Vec<PathBuf>>;
    let mut by_hash: BTreeMap<Vec<u8>, Inodes> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else if m.is_file() && m.len() > 0 {
                let h = Sha256::digest(fs::read(&p).unwrap()).to_vec();
                by_hash
                    .entry(h)
                    .or_default()
                    .entry((m.dev(), m.ino()))
                    .or_default()
                    .push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    by_hash
        .into_values()
        .filter(|inodes| inodes.len() >= 2)
        .map(|inodes| inodes.into_values().flatten().collect())
        .collect()
}

/// The attacker of the attack tests: uid and gid 65534 (nobody), no supplementary groups.
pub const ATTACKER: u32 = 65534;

/// An ACL entry list granting uid `user` read and write (`system.posix_acl_access` format).
pub fn acl_granting(user: u32) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 6, user),
        (0x04, 6, u32::MAX),
        (0x10, 6, u32::MAX),
        (0x20, 4, u32::MAX),
    ] {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

/// Can attack tests run here (as root, with setpriv to become the attacker)? Says why not.
pub fn attacks_possible() -> bool {
    let ok = is_root() && have("setpriv");
    if !ok {
        skip("attack tests run linkdup as root and the attacker through setpriv");
    }
    ok
}

impl TestEnv {
    /// Let the attacker reach the tree (mode 0755 on its root).
    pub fn open_to_attacker(&self) {
        fs::set_permissions(self.root(), fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A directory both root and the attacker can write: group 65534, mode 0775, *not* sticky,
    /// so that the kernel's protected_* sysctls hide nothing.
    pub fn shared(&self, rel: &str) -> PathBuf {
        self.open_to_attacker();
        let p = self.path(rel);
        fs::create_dir_all(&p).unwrap();
        rustix::fs::chown(&p, None, Some(rustix::fs::Gid::from_raw(ATTACKER))).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o775)).unwrap();
        p
    }

    /// A directory everyone can write, sticky, like /tmp.
    pub fn sticky(&self, rel: &str) -> PathBuf {
        self.open_to_attacker();
        let p = self.path(rel);
        fs::create_dir_all(&p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o1777)).unwrap();
        p
    }

    /// Run `script` with `sh -c` as the attacker, in the tree's root; it must succeed.
    pub fn attacker(&self, script: &str) {
        let out = Command::new("setpriv")
            .args([
                &format!("--reuid={ATTACKER}"),
                &format!("--regid={ATTACKER}"),
                "--clear-groups",
                "sh",
                "-c",
                script,
            ])
            .current_dir(self.root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .output()
            .expect("setpriv");
        assert!(
            out.status.success(),
            "the attacker's `{script}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Run linkdup as the attacker (with its own state directory), in the tree's root.
    pub fn run_as_attacker(&self, args: &[&str]) -> Output {
        let state = self.state_dir().join("attacker");
        fs::create_dir_all(&state).unwrap();
        rustix::fs::chown(
            &state,
            Some(rustix::fs::Uid::from_raw(ATTACKER)),
            Some(rustix::fs::Gid::from_raw(ATTACKER)),
        )
        .unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
        Command::new("setpriv")
            .args([
                &format!("--reuid={ATTACKER}"),
                &format!("--regid={ATTACKER}"),
                "--clear-groups",
            ])
            .arg(bin())
            .args(args)
            .current_dir(self.root())
            .env_clear()
            .env("XDG_STATE_HOME", &state)
            .env("XDG_CACHE_HOME", &state)
            .stdin(Stdio::null())
            .output()
            .expect("setpriv")
    }

    /// Give a path to `uid:gid`.
    pub fn chown(&self, rel: &str, uid: u32, gid: u32) {
        rustix::fs::chownat(
            rustix::fs::CWD,
            self.path(rel),
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
    }

    /// (uid, gid, mode) of a path, not following a symlink.
    pub fn meta(&self, rel: &str) -> (u32, u32, u32) {
        let m = fs::symlink_metadata(self.path(rel)).unwrap();
        (m.uid(), m.gid(), m.mode() & 0o7777)
    }

    /// One extended attribute of a path, if it has it.
    pub fn xattr(&self, rel: &str, name: &str) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 4096];
        let n = rustix::fs::lgetxattr(self.path(rel), name, &mut buf[..]).ok()?;
        buf.truncate(n);
        Some(buf)
    }

    /// Start linkdup ARGS in the tree under strace with these expressions (`-e ...` each), or
    /// `None` (with a printed reason) where strace is not installed.
    pub fn spawn_under_strace(&self, exprs: &[&str], args: &[&str]) -> Option<std::process::Child> {
        if !have("strace") {
            skip("strace is not installed");
            return None;
        }
        let mut c = Command::new("strace");
        c.env("XDG_STATE_HOME", self.state_dir())
            .args(["-f", "-qq", "-o", "/dev/null"]);
        for e in exprs {
            c.args(["-e", e]);
        }
        Some(
            c.arg(bin())
                .args(args)
                .current_dir(self.root())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run strace"),
        )
    }
}

/// Append `what` to the file at `p` from another thread (a second writer racing linkdup).
pub fn append_in_thread(p: PathBuf, what: &'static [u8]) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut f = fs::OpenOptions::new().append(true).open(p).unwrap();
        std::io::Write::write_all(&mut f, what).unwrap();
    })
}

/// Does any of `contents` (see [`TestEnv::contents`]) hold `needle`?
pub fn holds(contents: &[Vec<u8>], needle: &[u8]) -> bool {
    contents
        .iter()
        .any(|c| c.windows(needle.len()).any(|w| w == needle))
}

impl TestEnv {
    /// The distinct contents of every entry below the root, sorted: where an edit may have
    /// ended up, whatever its name.
    pub fn contents(&self) -> Vec<Vec<u8>> {
        let mut all: Vec<Vec<u8>> = self.snapshot().into_values().map(|s| s.content).collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Poll `cond` every 5 ms for up to `secs` seconds; was it met?
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    cond()
}

/// The linkdup binary under test: this build, or `LINKDUP_TEST_BIN` (to show that a regression
/// test fails on an older build).
pub fn bin() -> PathBuf {
    std::env::var_os("LINKDUP_TEST_BIN")
        .filter(|b| !b.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_linkdup")))
}

impl TestEnv {
    /// Run linkdup ARGS in the tree under `strace -f -e trace=TRACE`, returning the trace and
    /// the run's output, or `None` (with a printed reason) where strace is not installed.
    pub fn traced(&self, trace: &str, args: &[&str]) -> Option<(String, Output)> {
        if !have("strace") {
            skip("strace is not installed");
            return None;
        }
        let log = self.state_dir().join("strace.log");
        let out = Command::new("strace")
            .env("XDG_STATE_HOME", self.state_dir())
            .args(["-f", "-qq", "-e", &format!("trace={trace}"), "-o"])
            .arg(&log)
            .arg(bin())
            .args(args)
            .current_dir(self.root())
            .stdin(Stdio::null())
            .output()
            .expect("run strace");
        Some((fs::read_to_string(&log).unwrap_or_default(), out))
    }

    /// A directory `levels` deep below the root, each level a 250-byte name (20 levels: about
    /// 5,000 bytes, beyond PATH_MAX), with the files `files` holding `bytes`; made through
    /// directory fds, since no full path to the bottom can be used. Returns the bottom's fd.
    pub fn deep_dir(&self, levels: usize, files: &[&str], bytes: &[u8]) -> std::os::fd::OwnedFd {
        use rustix::fs::{Mode, OFlags};
        let name = "d".repeat(250);
        let mut fd = rustix::fs::open(
            self.root(),
            OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        for _ in 0..levels {
            rustix::fs::mkdirat(&fd, name.as_str(), Mode::from_raw_mode(0o755)).unwrap();
            fd = rustix::fs::openat(
                &fd,
                name.as_str(),
                OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .unwrap();
        }
        for f in files {
            let file = rustix::fs::openat(
                &fd,
                *f,
                OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            )
            .unwrap();
            rustix::io::write(&file, bytes).unwrap();
        }
        fd
    }
}
