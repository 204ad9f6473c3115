//! The hash cache: a second run over an unchanged tree opens no file to group it, gives the
//! same groups, notices changed files, and survives a damaged cache file.

mod common;

use std::fs;

use common::*;

/// Twenty pairs of files above the one-read size in `a/` and `b/`, and one small pair.
fn twenty_pairs_and_a_small_one() -> TestEnv {
    let t = TestEnv::new();
    for i in 0..20 {
        let body = format!("content {i} ").repeat(1000 + i); // above the one-read size
        t.write(format!("a/f{i}"), &body);
        t.write(format!("b/f{i}"), &body);
    }
    t.write("a/small", b"small");
    t.write("b/small", b"small");
    t
}

/// Regular files of the tree that linkdup opened for reading (directories don't count, nor
/// `O_PATH` opens, which read nothing).
fn files_opened(t: &TestEnv, args: &[&str]) -> Option<(usize, serde_json::Value)> {
    let (text, out) = t.traced("openat,llistxattr,lgetxattr", args)?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Attributes are read through fds, never by a path in the tree (a directory swapped for a
    // symlink can't redirect them).
    let by_path: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("llistxattr(") || l.contains("lgetxattr("))
        .collect();
    assert!(by_path.is_empty(), "xattrs read by path: {by_path:?}");
    // Files of the tree are opened by name relative to their directory's fd: for reading
    // directly (the test's directories only root can write), or O_PATH first and then
    // reopened for reading through /proc/self/fd (`openat(N, "M", O_RDONLY...)`, M the O_PATH
    // fd). The cache file itself is read the second way: its reopen does not count.
    let mut cache_fds = Vec::new();
    let mut opened = 0;
    for l in text.lines() {
        let Some((_, rest)) = l.split_once("openat(") else {
            continue;
        };
        let name = rest.split('"').nth(1).unwrap_or("");
        let result = rest.rsplit("= ").next().unwrap_or("").trim().to_string();
        let reading = !rest.contains("O_PATH") && !rest.contains("O_DIRECTORY");
        if name == "hashes.bin" && rest.contains("O_PATH") {
            cache_fds.push(result);
        } else if reading && (name.starts_with('f') || name == "small") {
            opened += 1;
        } else if !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_digit())
            && rest.contains("O_RDONLY")
            && !rest.contains("O_DIRECTORY")
        {
            match cache_fds.iter().position(|f| f == name) {
                Some(i) => {
                    cache_fds.remove(i);
                }
                None => opened += 1,
            }
        }
    }
    Some((opened, serde_json::from_slice(&out.stdout).unwrap()))
}

#[test]
fn a_warm_cache_reads_no_file_and_gives_the_same_groups() {
    let t = twenty_pairs_and_a_small_one();
    let cache = t.state_dir().join("hashes.bin");
    let c = cache.to_str().unwrap();
    // One worker thread: strace's lines come whole and in order.
    let args = ["scan", "-j", "1", "-f", "json", "--cache-file", c, "a", "b"];
    let Some((cold, first)) = files_opened(&t, &args) else {
        return;
    };
    assert!(cold >= 42, "the first run reads every candidate: {cold}");
    let (warm, second) = files_opened(&t, &args).unwrap();
    assert_eq!(warm, 0, "the second run read files");
    assert_eq!(first["groups"], second["groups"]);
    assert_eq!(second["summary"]["groups"], 21);
    // Without the cache, the same answer.
    let (v, _) = t.json(&["scan", "-f", "json", "a", "b"]);
    assert_eq!(v["groups"], second["groups"]);
}

#[test]
fn a_changed_file_is_read_again_even_with_size_and_mtime_restored() {
    let t = twenty_pairs_and_a_small_one();
    let cache = t.state_dir().join("hashes.bin");
    let c = cache.to_str().unwrap();
    let (v, _) = t.json(&["scan", "-f", "json", "--cache-file", c, "a", "b"]);
    assert_eq!(v["summary"]["groups"], 21);
    let m = fs::metadata(t.path("b/f3")).unwrap();
    let mut body = fs::read(t.path("b/f3")).unwrap();
    body[5000] ^= 1;
    fs::write(t.path("b/f3"), &body).unwrap();
    let f = fs::File::options()
        .write(true)
        .open(t.path("b/f3"))
        .unwrap();
    f.set_modified(m.modified().unwrap()).unwrap();
    let (v, _) = t.json(&["scan", "-f", "json", "--cache-file", c, "a", "b"]);
    assert_eq!(v["summary"]["groups"], 20, "{v}");
    // And a link run with the cache still byte-compares: it links the 20 real pairs only.
    let (v, out) = t.json(&["link", "-y", "-f", "json", "--cache-file", c, "a", "b"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 20);
    assert_ne!(t.ino("a/f3"), t.ino("b/f3"));
}

#[test]
fn a_damaged_cache_is_rebuilt_not_trusted() {
    let t = twenty_pairs_and_a_small_one();
    let cache = t.state_dir().join("hashes.bin");
    let c = cache.to_str().unwrap();
    t.json(&["scan", "-f", "json", "--cache-file", c, "a", "b"]);
    let mut bytes = fs::read(&cache).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&cache, &bytes).unwrap();
    let (v, out) = t.json(&["scan", "-f", "json", "--cache-file", c, "a", "b"]);
    assert_eq!(code(&out), 0);
    assert_eq!(kinds(&v, "warnings"), ["damaged_cache"], "{v}");
    assert_eq!(v["summary"]["groups"], 21);
    // Rebuilt: the next run is quiet.
    let (_, out) = t.json(&["scan", "-f", "json", "--cache-file", c, "a", "b"]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    fs::write(&cache, b"not a cache").unwrap();
    let (v, _) = t.json(&["scan", "-f", "json", "--cache-file", c, "a", "b"]);
    assert_eq!(kinds(&v, "warnings"), ["damaged_cache"], "{v}");
    assert_eq!(v["summary"]["groups"], 21);
}

#[test]
fn the_cache_is_never_inside_the_tree() {
    let t = twenty_pairs_and_a_small_one();
    let out = t.run(&["scan", "-f", "json", "--cache-file", "a/hashes.bin", "."]);
    assert_eq!(code(&out), 2);
    assert_eq!(refusal(&out), ("inside_tree".into(), "cache".into()));
    assert!(!t.path("a/hashes.bin").exists());
}
