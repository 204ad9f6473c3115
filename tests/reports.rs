//! The report formats scripts read (CSV, fdupes, NUL-separated), colour, the filters, the keeper
//! policies, and the generated completions and man page.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use common::*;

/// Three copies of a photo (one in a deep directory, one with a quoted name), a pair of
/// temporary files; `lib/a.jpg` is the oldest.
fn photos_and_temps() -> TestEnv {
    let t = TestEnv::new();
    t.write("lib/a.jpg", b"photo one");
    t.write("backup/a.jpg", b"photo one");
    t.write("backup/b, \"quoted\".jpg", b"photo one");
    t.write("lib/x.tmp", b"temp bytes");
    t.write("backup/x.tmp", b"temp bytes");
    t.write("deep/1/2/3/d.jpg", b"photo one");
    t.set_mtime("lib/a.jpg", 1);
    t
}

#[test]
fn csv_has_one_row_per_file_with_exact_quoting() {
    let t = photos_and_temps();
    let out = t.run(&["scan", "-f", "csv", "."]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("group,size,path,dev,ino,role"));
    assert!(
        text.contains("\"./backup/b, \"\"quoted\"\".jpg\""),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1 + 6, "{text}");
    let out = t.run(&["link", "-n", "-f", "csv", "."]);
    let text = stdout(&out);
    assert!(
        text.starts_with("group,size,path,dev,ino,role,status,reason,kind,method\n"),
        "{text}"
    );
    assert!(text.contains(",keeper,,,,hardlink\n"), "{text}");
    assert_eq!(
        text.matches(",duplicate,planned,,,hardlink\n").count(),
        4,
        "{text}"
    );
}

/// Scripts match the stable `kind` of a skip (as in the JSON report), never the sentence.
#[test]
fn csv_gives_the_kind_of_every_skip() {
    let t = photos_and_temps();
    t.chmod("backup/x.tmp", 0o600);
    let out = t.run(&["link", "-n", "-f", "csv", "."]);
    let mut rows = csv_rows(&out.stdout);
    let header = rows.remove(0);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let skipped: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[col("role")] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 2, "{rows:?}");
    for r in skipped {
        assert_eq!(r[col("kind")], "mode", "{r:?}");
        assert!(r[col("reason")].contains("mode"), "{r:?}");
    }
}

/// CSV rows as strings (the test names are UTF-8), header first.
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn fdupes_format_and_nul_separators() {
    let t = photos_and_temps();
    let out = t.run(&["scan", "-f", "fdupes", "."]);
    let text = stdout(&out);
    let groups: Vec<&str> = text.split("\n\n").filter(|g| !g.is_empty()).collect();
    assert_eq!(groups.len(), 2, "{text:?}");
    assert_eq!(groups[0].lines().count(), 2, "the larger files first");
    assert_eq!(groups[1].lines().count(), 4);
    // -0: raw paths, NUL after each, an extra NUL after each group; nothing else on stdout.
    t.write(
        Path::new(OsStr::from_bytes(b"lib/odd\nname\xff.tmp")),
        b"temp bytes",
    );
    let out = t.run(&["scan", "-0", "."]);
    let raw = out.stdout;
    assert!(raw.ends_with(b"\0\0"));
    let paths: Vec<&[u8]> = raw.split(|&b| b == 0).filter(|p| !p.is_empty()).collect();
    assert_eq!(paths.len(), 7);
    assert!(paths.contains(&&b"./lib/odd\nname\xff.tmp"[..]));
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let t = photos_and_temps();
    let plain = stdout(&t.run(&["link", "-n", "."]));
    assert!(!plain.contains('\x1b'), "no colour into a pipe");
    let coloured = stdout(&t.run(&["link", "-n", "--color", "always", "."]));
    assert!(coloured.contains("\x1b["), "{coloured}");
    let never = stdout(&t.run(&["link", "-n", "--color", "never", "."]));
    assert!(!never.contains('\x1b'));
}

#[test]
fn summary_line_counts_skips_by_kind() {
    let t = photos_and_temps();
    t.chmod("backup/x.tmp", 0o600);
    let out = t.run(&["link", "-n", "."]);
    let last = stdout(&out).lines().last().unwrap().to_string();
    assert!(
        last.starts_with(
            "Dry run: would reclaim 27 B by linking 3 duplicates in 1 group (6 files scanned in "
        ),
        "{last}"
    );
    assert!(last.contains("; 2 skipped (different mode: 2)"), "{last}");
}

#[test]
fn exclude_include_and_depth_filters() {
    let t = photos_and_temps();
    let count = |args: &[&str]| -> (u64, u64) {
        let mut full = vec!["scan", "-f", "json"];
        full.extend(args);
        full.push(".");
        let (v, out) = t.json(&full);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        (
            v["summary"]["files_scanned"].as_u64().unwrap(),
            v["summary"]["groups"].as_u64().unwrap(),
        )
    };
    assert_eq!(count(&[]), (6, 2));
    assert_eq!(count(&["--exclude", "*.tmp"]), (4, 1));
    assert_eq!(count(&["--exclude", "backup"]), (3, 1));
    assert_eq!(count(&["--exclude", "deep/1"]), (5, 2));
    assert_eq!(count(&["--include", "*.tmp"]), (2, 1));
    assert_eq!(count(&["--max-depth", "1"]), (5, 2));
    assert_eq!(count(&["--max-depth", "0"]), (0, 0));
    let out = t.run(&["scan", "--exclude", "a[", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("invalid glob"), "{}", stderr(&out));
}

#[test]
fn one_file_system_stays_on_the_roots_filesystem() {
    let t = TestEnv::new();
    t.write("a", b"twins");
    t.write("b", b"twins");
    let Some(_m) = Mount::tmpfs(&t.path("mnt"), "size=1m") else {
        return;
    };
    t.write("mnt/c", b"twins");
    t.write("mnt/d", b"twins");
    let (v, _) = t.json(&["scan", "-x", "-f", "json", "."]);
    assert_eq!(v["summary"]["files_scanned"], 2);
    let (v, _) = t.json(&["scan", "-f", "json", "."]);
    assert_eq!(v["summary"]["files_scanned"], 4);
}

#[test]
fn keeper_policies_and_keep_under() {
    for (args, keeper) in [
        (vec![], "lib/a.jpg"), // oldest (all one link)
        (vec!["--keep", "newest"], "deep/1/2/3/d.jpg"),
        (vec!["--keep", "first"], "backup/a.jpg"),
        (vec!["--keep-under", "deep"], "deep/1/2/3/d.jpg"),
        (
            vec!["--keep-under", "./backup/", "--keep", "oldest"],
            "backup/a.jpg",
        ),
    ] {
        let t = photos_and_temps();
        t.set_mtime("backup/a.jpg", 5);
        t.set_mtime("backup/b, \"quoted\".jpg", 6);
        t.set_mtime("deep/1/2/3/d.jpg", 9);
        let want = t.ino(keeper);
        let mut full = vec!["link", "-y", "-q"];
        full.extend(&args);
        full.push(".");
        let out = t.run(&full);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        for p in [
            "lib/a.jpg",
            "backup/a.jpg",
            "backup/b, \"quoted\".jpg",
            "deep/1/2/3/d.jpg",
        ] {
            assert_eq!(t.ino(p), want, "{args:?}: {p} should be linked to {keeper}");
        }
    }
    let t = photos_and_temps();
    let out = t.run(&["link", "-n", "--keep-under", "nowhere", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("nowhere"), "{}", stderr(&out));
}

#[test]
fn completions_and_man_page() {
    let t = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = t.run(&["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}");
        let s = stdout(&out);
        assert!(s.contains("linkdup") && s.contains("dry-run"), "{shell}");
    }
    let out = t.run(&["man"]);
    assert_eq!(code(&out), 0);
    let page = stdout(&out);
    assert!(page.contains(".TH linkdup"), "{page}");
    // One page with everything: every command with its options, exit status, files,
    // environment; no pointer to a page that does not exist.
    for want in [
        ".SH COMMANDS",
        ".SH \"LINKDUP SCAN\"",
        ".SH \"LINKDUP LINK\"",
        ".SH \"LINKDUP APPLY\"",
        ".SH \"LINKDUP UNDO\"",
        ".SH \"LINKDUP RECOVER\"",
        ".SH \"LINKDUP JOURNALS\"",
        "keep\\-under",
        "ignore\\-owner",
        "prune",
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
        ".SH ENVIRONMENT",
        "NO_COLOR",
        ".SH SAFETY",
    ] {
        assert!(page.contains(want), "{want}: {page}");
    }
    assert!(!page.contains("linkdup-scan(1)"), "{page}");
    if have("groff") {
        let rendered = Command::new("sh")
            .args(["-c", "groff -man -Tutf8 -ww -z 2>&1"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(page.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(
            rendered.stdout.is_empty(),
            "groff warns: {}",
            stdout(&rendered)
        );
    }
}

#[test]
fn the_summary_counts_the_paths_whose_modification_time_changes() {
    let t = TestEnv::with_files(&[("a", b"same"), ("b", b"same"), ("c", b"same")]);
    t.set_mtime("a", 1_000);
    t.set_mtime("b", 2_000);
    t.set_mtime("c", 1_000);
    let out = t.run(&["link", "-n", "."]);
    let last = stdout(&out).lines().last().unwrap_or_default().to_string();
    // a (the oldest) is kept: b takes its time, c has it already.
    assert!(
        last.contains("; 1 path takes its keeper's modification time"),
        "{last}"
    );
    let out = t.run(&["link", "-y", "."]);
    let last = stdout(&out).lines().last().unwrap_or_default().to_string();
    assert!(
        last.contains("; 1 path took its keeper's modification time"),
        "{last}"
    );
    assert_eq!(t.ino("a"), t.ino("b"));
}

#[test]
fn by_dir_shows_where_the_space_goes_from_the_plan() {
    let t = TestEnv::new();
    let big = vec![7u8; 3000];
    let small = vec![9u8; 100];
    t.write("lib/a", &big);
    t.write("lib/b", &small);
    for d in ["bak/1", "bak/2", "old"] {
        t.write(format!("{d}/a"), &big);
    }
    t.write("old/b", &small);
    t.set_mtime("lib/a", 1);
    t.set_mtime("lib/b", 1);
    let (v, out) = t.json(&["link", "-n", "-f", "json", "--by-dir=3", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows: Vec<(String, u64, u64, u64)> = v["by_dir"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["bytes"].as_u64().unwrap(),
                r["files"].as_u64().unwrap(),
                r["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    // The three directories with the most to reclaim, in tree order, indented under the
    // chosen ones above them: the root (everything), bak (two copies), old (one and a small).
    assert_eq!(
        rows,
        [
            (".".to_string(), 9100, 4, 0),
            ("./bak".to_string(), 6000, 2, 1),
            ("./old".to_string(), 3100, 2, 1),
        ]
    );
    let text = stdout(&t.run(&["link", "-n", "--by-dir=3", "."]));
    assert!(
        text.contains("Where the space goes (3 directories"),
        "{text}"
    );
    assert!(text.contains("  ./bak"), "{text}");
    // Without a number, ten; a path right after the flag is a path, not N.
    let (v, out) = t.json(&["link", "-n", "-f", "json", "--by-dir", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["by_dir"].as_array().unwrap().len(), 5, "{v}");
    // A dry run: nothing changed.
    assert_ne!(t.ino("lib/a"), t.ino("old/a"));
}
