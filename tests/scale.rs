//! Scale: memory and time of `scan` and `link --dry-run` on trees of tiny files, and how they
//! grow with the number of files. Not run by default (it writes millions of files and takes
//! minutes): set `LINKDUP_SCALE`, and have GNU time at /usr/bin/time.
//!
//! `LINKDUP_SCALE=1 cargo test --release --test scale -- --nocapture` runs 200,000 and
//! 2,000,000 files; `LINKDUP_SCALE=200000,2000000,10000000` runs those counts (10M files take
//! ~8 minutes to write and ~10M free inodes). `LINKDUP_SCALE_DIR=/path` keeps the trees there
//! (as `files-N`, with `files-N.complete` once whole) and reuses them on the next run instead of writing them again.
//!
//! The figures are printed, one line per tree and command; the assertions are on memory only
//! (a time limit would fail on a slow machine for no fault of the code): growth from the
//! smallest to the largest tree must be linear (per added file no more than 1.25 times the
//! smallest run's cost per file) and no more than 110 bytes per file at the largest (the goal
//! is 100 at 2M files; this bound leaves room for a machine's own overhead). Every file of
//! this tree is a duplicate, the worst case for memory.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const FILES_PER_DIR: usize = 1000;

/// `n` files of 1-7 bytes, 1000 per directory; file `i` holds the decimal text of `i % (n / 2)`,
/// so every content exists twice (n / 2 duplicate groups, in different directories).
fn make_tree(root: &Path, n: usize) {
    let half = (n / 2).max(1);
    for d in 0..n.div_ceil(FILES_PER_DIR) {
        let dir = root.join(format!("d{d:05}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..FILES_PER_DIR.min(n - d * FILES_PER_DIR) {
            let i = d * FILES_PER_DIR + f;
            fs::write(dir.join(format!("file-{i:08}.txt")), (i % half).to_string()).unwrap();
        }
    }
}

/// The commands measured, as a user runs them (the report goes to a pipe that drops it).
const COMMANDS: &[&[&str]] = &[
    &["scan", "-q"],
    &["scan", "-f", "json"],
    &["link", "--dry-run", "-q"],
];

/// Peak RSS in bytes and wall seconds of `linkdup ARGS root`.
fn run(args: &[&str], root: &Path) -> (u64, f64) {
    let state = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_linkdup"))
        .args(args)
        .args(["--progress", "never"])
        .arg(root)
        .env("XDG_STATE_HOME", state.path())
        .env("XDG_CACHE_HOME", state.path())
        .output()
        .expect("GNU time at /usr/bin/time (apt-get install time)");
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    assert!(!out.stdout.is_empty(), "{args:?}: no report");
    let kib: u64 = stderr.trim().lines().last().unwrap().parse().unwrap();
    (kib * 1024, secs)
}

/// The file counts asked for: `1` (or anything unparsable) is 200k and 2M.
fn counts(v: &str) -> Vec<usize> {
    let mut n: Vec<usize> = v.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    if n.is_empty() || n == [1] {
        n = vec![200_000, 2_000_000];
    }
    if n.len() == 1 {
        n.insert(0, n[0] / 10);
    }
    n.sort_unstable();
    n
}

#[test]
fn millions_of_files_in_linear_bounded_memory() {
    let Ok(v) = std::env::var("LINKDUP_SCALE") else {
        eprintln!("scale test skipped: set LINKDUP_SCALE=1 to run it (minutes, 2M files)");
        return;
    };
    let keep = std::env::var_os("LINKDUP_SCALE_DIR").map(std::path::PathBuf::from);
    // (files, command, peak RSS, seconds)
    let mut runs: Vec<(usize, usize, u64, f64)> = Vec::new();
    for count in counts(&v) {
        let tmp = tempfile::tempdir().unwrap();
        let (root, done) = match &keep {
            Some(dir) => (
                dir.join(format!("files-{count}")),
                dir.join(format!("files-{count}.complete")),
            ),
            None => (tmp.path().join("t"), tmp.path().join("t.complete")),
        };
        if !done.exists() {
            let _ = fs::remove_dir_all(&root);
            let t = Instant::now();
            make_tree(&root, count);
            fs::write(&done, b"").unwrap();
            eprintln!(
                "{count} files written in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
        run(COMMANDS[0], &root); // warm the page and dentry caches
        for (c, args) in COMMANDS.iter().enumerate() {
            let (rss, secs) = run(args, &root);
            eprintln!(
                "{count:>10} files  {:<22} {secs:>7.2} s  {:>8.1} MiB  {:>4} B/file",
                args.join(" "),
                rss as f64 / 1048576.0,
                rss / count as u64
            );
            runs.push((count, c, rss, secs));
        }
    }
    for (c, args) in COMMANDS.iter().enumerate() {
        let of: Vec<_> = runs.iter().filter(|r| r.1 == c).collect();
        let (first, last) = (of[0], of[of.len() - 1]);
        let per_file = (last.2 - first.2.min(last.2)) / (last.0 - first.0) as u64;
        let first_per_file = first.2 / first.0 as u64;
        eprintln!(
            "{}: {} -> {} files: {per_file} B per added file; time x{:.1} for x{:.1} files",
            args.join(" "),
            first.0,
            last.0,
            last.3 / first.3,
            last.0 as f64 / first.0 as f64
        );
        assert!(
            per_file * 4 <= first_per_file * 5,
            "{:?}: memory grows faster than linearly: {per_file} B per added file, {first_per_file} B/file at {}",
            args,
            first.0
        );
        assert!(
            last.2 / last.0 as u64 <= 110,
            "{:?}: peak RSS {} B/file for {} files (regression bound 110)",
            args,
            last.2 / last.0 as u64,
            last.0
        );
    }
}
