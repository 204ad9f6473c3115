//! `--method reflink|auto` and `linkdup split` on real filesystems made here: XFS
//! (`mkfs.xfs -m reflink=1`), btrfs and ext4 images on loop devices. Asserted on inodes, on
//! shared extents (`filefrag -v`), on free space (`statvfs`, as `df` shows it) before and
//! after, on bytes and on metadata.
//!
//! These tests need root, loop devices, xfsprogs and btrfs-progs. Where they can't run they
//! skip with the reason; under `LINKDUP_TESTS_MUST_RUN=1` a skip is a failure, except for the
//! lack of loop devices when `.ci/run` found none could be set up (`LINKDUP_NO_LOOP=1`).
mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use common::*;

/// Loop devices are few: the tests of this file make their images one at a time.
static LOOPS: Mutex<()> = Mutex::new(());

#[derive(Clone, Copy, Debug)]
enum Fs {
    Xfs,
    Btrfs,
    Ext4,
}

/// A filesystem image on a loop device, mounted at `at` until dropped (even on a panic).
struct Image {
    at: PathBuf,
}

impl Image {
    /// Make a sparse image beside `at`, format it and mount it there; `None` (after saying
    /// why) where that can't be done.
    fn new(kind: Fs, at: &Path) -> Option<Image> {
        let (mkfs, args, size): (&str, &[&str], u64) = match kind {
            // XFS wants at least 300 MiB; the file is sparse.
            Fs::Xfs => ("mkfs.xfs", &["-q", "-f", "-m", "reflink=1"], 320 << 20),
            Fs::Btrfs => ("mkfs.btrfs", &["-q", "-f"], 160 << 20),
            Fs::Ext4 => ("mkfs.ext4", &["-q", "-F"], 32 << 20),
        };
        if !is_root() {
            skip("loop images need root");
            return None;
        }
        if !have(mkfs) {
            skip(format!("{mkfs} is not installed"));
            return None;
        }
        let image = at.with_extension("img");
        fs::File::create(&image).unwrap().set_len(size).unwrap();
        fs::create_dir_all(at).unwrap();
        if !run_ok(Command::new(mkfs).args(args).arg(&image)) {
            skip(format!("{mkfs} failed"));
            return None;
        }
        if !run_ok(
            Command::new("mount")
                .args(["-o", "loop"])
                .arg(&image)
                .arg(at),
        ) {
            no_loop(&format!("cannot loop-mount a {kind:?} image"));
            return None;
        }
        Some(Image {
            at: at.to_path_buf(),
        })
    }

    /// Free bytes (`statvfs`: what `df` shows), once everything is on disk.
    fn free(&self) -> u64 {
        sync(&self.at);
        let out = Command::new("stat")
            .args(["-f", "-c", "%a %S"])
            .arg(&self.at)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let mut it = text.split_whitespace().map(|n| n.parse::<u64>().unwrap());
        it.next().unwrap() * it.next().unwrap()
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        // `mount -o loop` detaches the device when the last mount goes.
        if !run_ok(Command::new("umount").arg(&self.at)) {
            let _ = Command::new("umount").arg("-l").arg(&self.at).status();
        }
    }
}

/// No loop device: a skip that `.ci/run` allows only where it found none can be set up.
fn no_loop(why: &str) {
    if std::env::var_os("LINKDUP_NO_LOOP").is_some_and(|v| v == "1") {
        eprintln!("SKIP: {why} (no loop devices on this machine)");
    } else {
        skip(why);
    }
}

/// Everything written is on disk and every freed extent counted (btrfs frees at commit).
fn sync(at: &Path) {
    let _ = Command::new("sync").arg("-f").arg(at).status();
    let _ = Command::new("btrfs")
        .args(["filesystem", "sync"])
        .arg(at)
        .output();
}

/// `filefrag -v` says every extent of `p` is shared.
fn shared(p: &Path) -> bool {
    let out = Command::new("filefrag").arg("-v").arg(p).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let extents: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .filter(|l| l.contains(':'))
        .collect();
    !extents.is_empty() && extents.iter().all(|l| l.contains("shared"))
}

/// Deterministic, incompressible-looking bytes.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// What must not change of a path when its data is shared: inode, owner, mode, times.
fn meta(p: &Path) -> (u64, u32, u32, u32, i64, i64, i64) {
    let m = fs::metadata(p).unwrap();
    (
        m.ino(),
        m.uid(),
        m.gid(),
        m.mode(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime_nsec() + m.ctime() * 1_000_000_000,
    )
}

fn chown(p: &Path, uid: u32) {
    std::os::unix::fs::chown(p, Some(uid), Some(uid)).unwrap();
}

const MIB: usize = 1 << 20;

/// Copies of 4 MiB that differ in owner, mode and mtime (all readable by everyone), plus one
/// another user keeps private.
fn copies(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let data = bytes(4 * MIB, 7);
    for (name, mode) in [("a", 0o644), ("b", 0o444), ("c", 0o644), ("private", 0o600)] {
        let p = dir.join(name);
        fs::write(&p, &data).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    }
    chown(&dir.join("c"), 1000);
    chown(&dir.join("private"), 1000);
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(dir.join("a"))
        .unwrap()
        .set_modified(old)
        .unwrap();
}

/// `link --method reflink` on XFS and btrfs: frees what the dry run predicted (statvfs),
/// every path keeps its inode, owner, mode, times and bytes, the extents are shared, an edit of
/// one copy leaves the others alone, another owner's private copy is never shared, and a rerun
/// plans nothing.
#[test]
fn reflink_frees_what_it_predicted_and_keeps_every_inode() {
    let _one = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    for kind in [Fs::Xfs, Fs::Btrfs] {
        let t = TestEnv::new();
        // Reachable by others, as a shared tree is: another owner's readable copy may share.
        fs::set_permissions(t.root(), fs::Permissions::from_mode(0o755)).unwrap();
        let Some(img) = Image::new(kind, &t.path("fs")) else {
            return;
        };
        let d = img.at.join("d");
        copies(&d);
        let names = ["a", "b", "c", "private"];
        let before: Vec<_> = names.iter().map(|n| meta(&d.join(n))).collect();
        let data = fs::read(d.join("a")).unwrap();

        let (plan, _) = t.json(&["link", "-n", "-f", "json", "--method", "reflink", "fs"]);
        let predicted = plan["summary"]["reclaimable_bytes"].as_u64().unwrap();
        assert_eq!(predicted, 8 * MIB as u64, "{kind:?}: {plan}");
        for a in plan["actions"].as_array().unwrap() {
            assert_eq!(a["method"], "reflink", "{kind:?}: {a}");
            assert_eq!(a["mtime_differs"], false, "{kind:?}: {a}");
        }
        assert_eq!(
            kinds(&plan, "skipped"),
            ["would_reveal"],
            "{kind:?}: {plan}"
        );

        let free = img.free();
        let (done, out) = t.json(&["link", "-y", "-f", "json", "--method", "reflink", "fs"]);
        assert_eq!(code(&out), 0, "{kind:?}: {}", stderr(&out));
        assert_eq!(
            done["summary"]["reclaimed_bytes"], predicted,
            "{kind:?}: {done}"
        );
        let freed = img.free() as i64 - free as i64;
        // statvfs counts blocks: what the copies held, give or take the filesystem's own
        // bookkeeping (a refcount record or two).
        assert!(
            (freed - predicted as i64).abs() <= 64 * 1024,
            "{kind:?}: predicted {predicted}, freed {freed}"
        );
        for (n, was) in names.iter().zip(&before) {
            let p = d.join(n);
            assert_eq!(&meta(&p), was, "{kind:?}: {n} kept its inode and metadata");
            assert_eq!(fs::read(&p).unwrap(), data, "{kind:?}: {n}");
        }
        for n in ["a", "b", "c"] {
            assert!(shared(&d.join(n)), "{kind:?}: {n} shares its extents");
        }
        assert!(!shared(&d.join("private")), "{kind:?}: never shared");
        // No names were made, so no journal is left.
        assert!(t.journals().is_empty(), "{kind:?}: {:?}", t.journals());

        // An edit of one copy is its own.
        fs::write(d.join("b"), b"edited").unwrap();
        assert_eq!(fs::read(d.join("a")).unwrap(), data, "{kind:?}");
        assert_eq!(fs::read(d.join("c")).unwrap(), data, "{kind:?}");

        // A rerun has nothing left to do.
        let (again, _) = t.json(&["link", "-n", "-f", "json", "--method", "reflink", "fs"]);
        assert_eq!(again["summary"]["planned"], 0, "{kind:?}: {again}");
        assert_eq!(
            again["summary"]["reclaimable_bytes"], 0,
            "{kind:?}: {again}"
        );
    }
}

/// `--method auto` over a tree spanning ext4 and XFS reflinks on XFS and hard-links on ext4,
/// and says why; `--method reflink` skips the ext4 copies with a reason.
#[test]
fn auto_uses_each_method_where_it_fits() {
    let _one = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    let t = TestEnv::new();
    let Some(xfs) = Image::new(Fs::Xfs, &t.path("xfs")) else {
        return;
    };
    let Some(ext4) = Image::new(Fs::Ext4, &t.path("ext4")) else {
        return;
    };
    let data = bytes(MIB, 3);
    for root in [&xfs.at, &ext4.at] {
        fs::write(root.join("a"), &data).unwrap();
        fs::write(root.join("b"), &data).unwrap();
    }
    let (strict, _) = t.json(&["link", "-n", "-f", "json", "--method", "reflink", "."]);
    assert_eq!(
        kinds(&strict, "skipped"),
        ["no_reflink", "no_reflink"],
        "{strict}"
    );
    let (v, out) = t.json(&["link", "-y", "-f", "json", "--method", "auto", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let methods: Vec<(String, String)> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let p = json_path(a, "duplicate");
            let fs = p
                .components()
                .nth(1)
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .into_owned();
            (fs, format!("{} {}", a["method"], a["method_why"]))
        })
        .collect();
    assert!(
        methods.contains(&(
            "xfs".into(),
            "\"reflink\" \"auto_filesystem_shares_extents\"".into()
        )),
        "{methods:?}"
    );
    assert!(
        methods.contains(&(
            "ext4".into(),
            "\"hardlink\" \"auto_filesystem_cannot_share_extents\"".into()
        )),
        "{methods:?}"
    );
    assert_ne!(t.ino("xfs/a"), t.ino("xfs/b"));
    assert!(shared(&t.path("xfs/b")));
    assert_eq!(t.ino("ext4/a"), t.ino("ext4/b"));
    for p in ["xfs/a", "xfs/b", "ext4/a", "ext4/b"] {
        assert_eq!(t.read(p), data, "{p}");
    }
}

/// A hard-linked set of three paths, owned by another user with a private mode.
fn linked_set(dir: &Path) -> Vec<u8> {
    fs::create_dir_all(dir).unwrap();
    let data = bytes(8 * MIB, 11);
    let a = dir.join("a");
    fs::write(&a, &data).unwrap();
    fs::set_permissions(&a, fs::Permissions::from_mode(0o640)).unwrap();
    chown(&a, 1000);
    fs::hard_link(&a, dir.join("b")).unwrap();
    fs::hard_link(&a, dir.join("c")).unwrap();
    data
}

/// `linkdup split` on XFS and btrfs turns a hard-linked set into inodes of their own that
/// share extents, each with the set's owner, mode and times, and uses no space; its dry run
/// changes nothing.
#[test]
fn split_gives_each_path_its_own_inode_without_using_space() {
    let _one = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    for kind in [Fs::Xfs, Fs::Btrfs] {
        let t = TestEnv::new();
        let Some(img) = Image::new(kind, &t.path("fs")) else {
            return;
        };
        let d = img.at.join("set");
        let data = linked_set(&d);
        let was = meta(&d.join("a"));
        let snap = t.snapshot();
        let out = t.run(&["split", "-n", "fs"]);
        assert_eq!(code(&out), 0, "{kind:?}: {}", stderr(&out));
        assert_eq!(
            t.snapshot(),
            snap,
            "{kind:?}: the dry run changed something"
        );

        let free = img.free();
        let (v, out) = t.json(&["split", "-f", "json", "fs"]);
        assert_eq!(code(&out), 0, "{kind:?}: {}: {v}", stderr(&out));
        assert_eq!(v["summary"]["restored"], 2, "{kind:?}: {v}");
        let used = free as i64 - img.free() as i64;
        assert!(used < 256 * 1024, "{kind:?}: split used {used} bytes");
        let inos: std::collections::BTreeSet<u64> =
            ["a", "b", "c"].iter().map(|n| meta(&d.join(n)).0).collect();
        assert_eq!(inos.len(), 3, "{kind:?}: three inodes");
        assert_eq!(
            meta(&d.join("a")).0,
            was.0,
            "{kind:?}: the first keeps the inode"
        );
        for n in ["a", "b", "c"] {
            let p = d.join(n);
            let m = fs::metadata(&p).unwrap();
            assert_eq!(
                (m.uid(), m.gid(), m.mode()),
                (was.1, was.2, was.3),
                "{kind:?}: {n}"
            );
            assert_eq!((m.mtime(), m.mtime_nsec()), (was.4, was.5), "{kind:?}: {n}");
            assert_eq!(m.nlink(), 1, "{kind:?}: {n}");
            assert_eq!(fs::read(&p).unwrap(), data, "{kind:?}: {n}");
            assert!(shared(&p), "{kind:?}: {n} shares its extents");
        }
        assert!(t.temp_names().is_empty(), "{kind:?}: {:?}", t.temp_names());
        let (again, _) = t.json(&["split", "-f", "json", "fs"]);
        assert_eq!(again["summary"]["restored"], 0, "{kind:?}: {again}");
    }
}

/// Undo of a hard-link run on XFS clones: the paths get their own files back and no space
/// is used.
#[test]
fn undo_on_a_cow_filesystem_costs_no_space() {
    let _one = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    let t = TestEnv::new();
    let Some(img) = Image::new(Fs::Xfs, &t.path("fs")) else {
        return;
    };
    let data = bytes(8 * MIB, 5);
    for n in ["a", "b", "c"] {
        fs::write(img.at.join(n), &data).unwrap();
    }
    let out = t.run(&["link", "-y", "fs"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(t.nlink("fs/a"), 3);
    let journal = t.journals().pop().expect("a journal");
    let free = img.free();
    let (v, out) = t.json(&["undo", "-f", "json", journal.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}: {v}", stderr(&out));
    let used = free as i64 - img.free() as i64;
    assert!(used < 256 * 1024, "undo used {used} bytes");
    for n in ["a", "b", "c"] {
        assert_eq!(t.nlink(&format!("fs/{n}")), 1, "{n}");
        assert_eq!(t.read(&format!("fs/{n}")), data, "{n}");
    }
    assert!(shared(&img.at.join("b")));
}

/// The conversion's exchange under every fault the hard-link executor is tested with: an
/// error of `renameat2` (nothing changes, no temp name is left) and a kill before it (the
/// clone is left under a temp name that recovery removes); then a rerun completes. Every path
/// holds its bytes throughout.
#[test]
fn faults_at_the_split_exchange_lose_nothing() {
    let _one = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    if !have("strace") {
        skip("strace is not installed");
        return;
    }
    let t = TestEnv::new();
    let Some(img) = Image::new(Fs::Xfs, &t.path("fs")) else {
        return;
    };
    let d = img.at.join("set");
    let data = linked_set(&d);
    let check = |what: &str| {
        for n in ["a", "b", "c"] {
            assert_eq!(fs::read(d.join(n)).unwrap(), data, "{what}: {n}");
        }
    };
    for errno in ["EIO", "EPERM", "ENOSPC", "EXDEV", "EINVAL"] {
        let Some(out) = t.under_strace(
            &format!("inject=renameat2:error={errno}:when=1+"),
            &["split", "fs"],
        ) else {
            return;
        };
        // EINVAL reads as a filesystem without RENAME_EXCHANGE: a skip, not a failure.
        if errno != "EINVAL" {
            assert_ne!(code(&out), 0, "{errno}: {}", stderr(&out));
        }
        check(errno);
        assert!(t.temp_names().is_empty(), "{errno}: {:?}", t.temp_names());
        assert_eq!(t.nlink("fs/set/a"), 3, "{errno}: nothing split");
    }
    let _killed = t.under_strace("inject=renameat2:signal=SIGKILL:when=2", &["split", "fs"]);
    check("killed");
    let out = t.run(&["recover", "fs"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(t.temp_names().is_empty(), "{:?}", t.temp_names());
    let (v, out) = t.json(&["split", "-f", "json", "fs"]);
    assert_eq!(code(&out), 0, "{}: {v}", stderr(&out));
    check("after the rerun");
    for n in ["a", "b", "c"] {
        assert_eq!(fs::metadata(d.join(n)).unwrap().nlink(), 1, "{n}");
    }
}

/// A plan saved with `--method auto` carries each group's method: `apply` shares the extents
/// of the XFS copies (it does not hard-link them), after re-checking every file.
#[test]
fn a_saved_plan_keeps_its_method() {
    let _one = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    let t = TestEnv::new();
    let Some(img) = Image::new(Fs::Xfs, &t.path("fs")) else {
        return;
    };
    let data = bytes(MIB, 9);
    for n in ["a", "b"] {
        fs::write(img.at.join(n), &data).unwrap();
    }
    let plan = t.state_dir().join("plan.json");
    let plan = plan.to_str().unwrap();
    let out = t.run(&["link", "-n", "--method", "auto", "--save-plan", plan, "fs"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let saved = fs::read_to_string(plan).unwrap();
    assert!(saved.contains("\"method\": \"reflink\""), "{saved}");
    let (v, out) = t.json(&["apply", "-y", "-f", "json", plan]);
    assert_eq!(code(&out), 0, "{}: {v}", stderr(&out));
    assert_eq!(v["actions"][0]["method"], "reflink", "{v}");
    assert_eq!(v["actions"][0]["status"], "linked", "{v}");
    assert_ne!(t.ino("fs/a"), t.ino("fs/b"));
    assert!(shared(&img.at.join("b")));
}

/// Files open for writing, immutable files and set-id files are never shared, whatever the
/// method: each is skipped with its reason and keeps its own extents.
#[test]
fn reflink_never_touches_busy_immutable_or_setid_files() {
    let _one = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    if !have("chattr") {
        skip("chattr is not installed");
        return;
    }
    let t = TestEnv::new();
    let Some(img) = Image::new(Fs::Xfs, &t.path("fs")) else {
        return;
    };
    let data = bytes(MIB, 13);
    for n in ["a", "busy", "frozen", "setuid"] {
        fs::write(img.at.join(n), &data).unwrap();
    }
    fs::set_permissions(img.at.join("setuid"), fs::Permissions::from_mode(0o4755)).unwrap();
    assert!(run_ok(
        Command::new("chattr").arg("+i").arg(img.at.join("frozen"))
    ));
    let writer = fs::OpenOptions::new()
        .append(true)
        .open(img.at.join("busy"))
        .unwrap();
    let (v, out) = t.json(&["link", "-y", "-f", "json", "--method", "reflink", "fs"]);
    let _ = Command::new("chattr")
        .arg("-i")
        .arg(img.at.join("frozen"))
        .status();
    drop(writer);
    assert_eq!(code(&out), 0, "{}: {v}", stderr(&out));
    let mut got: Vec<String> = kinds(&v, "skipped");
    got.extend(
        v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["kind"].as_str().map(String::from)),
    );
    got.sort();
    assert_eq!(got, ["immutable", "open_for_writing", "setid"], "{v}");
    for n in ["a", "busy", "frozen", "setuid"] {
        assert!(!shared(&img.at.join(n)), "{n} shares extents");
        assert_eq!(fs::read(img.at.join(n)).unwrap(), data, "{n}");
    }
}

/// A chmod of the shared file while `split` works on its set (here while the first copy is
/// being given its owner) is never undone by the copies: no path ends more accessible than
/// the file it named. (Each copy takes the inode's metadata as it is when it is made, and one
/// made before the change is not put in place.)
#[test]
fn split_never_grants_a_mode_the_set_lost_meanwhile() {
    let _one = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    if !have("strace") {
        skip("strace is not installed");
        return;
    }
    let t = TestEnv::new();
    let Some(img) = Image::new(Fs::Xfs, &t.path("fs")) else {
        return;
    };
    let d = img.at.join("set");
    let data = linked_set(&d);
    fs::hard_link(d.join("a"), d.join("d")).unwrap();
    fs::set_permissions(d.join("a"), fs::Permissions::from_mode(0o644)).unwrap();
    let a = d.join("a");
    let chmod = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(800));
        fs::set_permissions(&a, fs::Permissions::from_mode(0o600)).unwrap();
    });
    let _out = t.under_strace("inject=fchown:delay_enter=2000000:when=1", &["split", "fs"]);
    chmod.join().unwrap();
    for n in ["a", "b", "c", "d"] {
        let p = d.join(n);
        assert_eq!(fs::read(&p).unwrap(), data, "{n}");
        let mode = fs::metadata(&p).unwrap().mode() & 0o7777;
        assert_eq!(
            mode, 0o600,
            "{n} ends {mode:o} though its file was made 600"
        );
    }
}

/// A copy whose file has an access ACL is never, even for a moment, more open than the file:
/// while its attributes are being set (held here by a delay), it is open to its owner only,
/// not given the mode first (whose group bits are the ACL's mask) without the ACL that
/// restricts it.
#[test]
fn a_split_copy_is_never_more_open_than_its_file() {
    let _one = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    if !have("strace") || !have("setfacl") {
        skip("strace or setfacl is not installed");
        return;
    }
    let t = TestEnv::new();
    let Some(img) = Image::new(Fs::Xfs, &t.path("fs")) else {
        return;
    };
    let d = img.at.join("set");
    let data = linked_set(&d);
    // Others may read; user 1234 and the owning group may not (mask ---).
    fs::set_permissions(d.join("a"), fs::Permissions::from_mode(0o604)).unwrap();
    assert!(run_ok(
        Command::new("setfacl")
            .args(["-m", "u:1234:---,g::---,m::---"])
            .arg(d.join("a"))
    ));
    let dir = d.clone();
    let watch = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1000));
        let mut seen = Vec::new();
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            if e.file_name().to_string_lossy().starts_with(".linkdup") {
                let mode = e.metadata().unwrap().mode() & 0o7777;
                seen.push(mode);
            }
        }
        seen
    });
    let _out = t.under_strace(
        "inject=fsetxattr:delay_enter=2000000:when=1",
        &["split", "fs"],
    );
    let seen = watch.join().unwrap();
    assert!(
        !seen.is_empty(),
        "no copy was seen while its attributes were set"
    );
    for mode in seen {
        assert_eq!(mode & 0o077, 0, "a copy was {mode:o} without its ACL");
    }
    for n in ["a", "b", "c"] {
        assert_eq!(fs::read(d.join(n)).unwrap(), data, "{n}");
        assert_eq!(
            fs::metadata(d.join(n)).unwrap().mode() & 0o7777,
            0o604,
            "{n}"
        );
    }
}
