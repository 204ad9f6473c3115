//! The command line as a person and a script meet it: help, version, usage errors, and the
//! confirmation prompt in a real terminal (a pty from `script`).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn help_and_version() {
    let t = TestEnv::new();
    let out = t.run(&["--help"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("scan"));
    assert!(stdout(&out).contains("link"));
    let out = t.run(&["link", "--help"]);
    assert!(stdout(&out).contains("--dry-run"));
    assert!(stdout(&out).contains("Examples"));
    let out = t.run(&["--version"]);
    assert!(stdout(&out).starts_with("linkdup "));
}

#[test]
fn usage_errors_exit_2() {
    let t = TestEnv::new();
    for args in [
        vec!["scan"],
        vec!["link"],
        vec!["frobnicate", "."],
        vec!["scan", "-j", "x", "."],
        // Thread counts are bounded: 0 means nothing, thousands only cost (seconds of thread
        // start-up on a handful of files).
        vec!["scan", "-j", "0", "."],
        vec!["scan", "-j", "257", "."],
        // A report format the command does not have is refused, never replaced by text.
        vec!["undo", "-f", "csv", "journal"],
        vec!["recover", "-f", "fdupes", "."],
        vec!["recover", "-0", "."],
        // Sizes and globs are checked once, on the command line.
        vec!["scan", "--min-size", "10", "--max-size", "9", "."],
        vec!["scan", "--exclude", "a[", "."],
    ] {
        let out = t.run(&args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(!stderr(&out).is_empty());
        assert!(!stderr(&out).contains("panicked"));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn output_options_go_before_or_after_the_command() {
    let t = one_pair();
    let before = t.run(&["--color", "never", "-q", "link", "-n", "."]);
    let after = t.run(&["link", "-n", "--color", "never", "-q", "."]);
    assert_eq!(code(&before), 0, "{}", stderr(&before));
    // The same report, but for the scan's wall time ("scanned in 0.01 s"), which a loaded
    // machine changes from one run to the next.
    let untimed = |o: &std::process::Output| {
        let s = stdout(o);
        match s.find(" s)").and_then(|b| Some((s[..b].rfind(" in ")?, b))) {
            Some((a, b)) => format!("{}{}", &s[..a], &s[b..]),
            None => s,
        }
    };
    assert_eq!(untimed(&before), untimed(&after));
    assert!(
        stdout(&before).contains("scanned in "),
        "{}",
        stdout(&before)
    );
    // -q: the summary line only.
    assert_eq!(stdout(&before).lines().count(), 1, "{}", stdout(&before));
    assert_ne!(t.ino("a/photo.jpg"), t.ino("b/photo.jpg"), "a dry run");
    let (v, out) = t.json(&["--progress", "never", "undo", "-f", "json", "nowhere"]);
    assert_eq!(code(&out), 2);
    assert_eq!(v["refused"]["reason"], "ENOENT", "{v}");
}

/// Run `linkdup link .` in a pty, typing `keys` once the prompt is up.
fn in_terminal(t: &TestEnv, keys: &[u8]) -> Option<(String, i32)> {
    in_terminal_after(t, keys, |_| {})
}

/// Like [`in_terminal`], with `meanwhile` run while the prompt waits.
fn in_terminal_after(
    t: &TestEnv,
    keys: &[u8],
    meanwhile: impl FnOnce(&TestEnv),
) -> Option<(String, i32)> {
    if !have("script") {
        skip("script (util-linux) is not installed");
        return None;
    }
    let bin = bin().display().to_string();
    let mut child = Command::new("script")
        .env("XDG_STATE_HOME", t.state_dir())
        .current_dir(t.root())
        .env("TERM", "xterm")
        // The pager copies what it pages to a file and to the screen.
        .env(
            "PAGER",
            format!("tee '{}'", t.state_dir().join("paged").display()),
        )
        .args(["-qefc", &format!("'{bin}' link ."), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    meanwhile(t);
    child.stdin.as_mut().unwrap().write_all(keys).unwrap();
    child.stdin.as_mut().unwrap().flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(child.stdin.take());
    // A prompt that never returns is a failure, not a hung test run.
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(15) {
            child.kill().unwrap();
            panic!("linkdup still waiting after {keys:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    ))
}

/// Two copies of one photo in two directories.
fn one_pair() -> TestEnv {
    TestEnv::with_files(&[
        ("a/photo.jpg", b"jpeg bytes"),
        ("b/photo.jpg", b"jpeg bytes"),
    ])
}

#[test]
fn terminal_yes_links() {
    let t = one_pair();
    // The menu starts on "quit"; one step down wraps to "link all".
    let Some((screen, rc)) = in_terminal(&t, b"j\r") else {
        return;
    };
    assert!(
        screen.contains("Replace 1 duplicate with hard links, reclaiming 10 B?"),
        "{screen}"
    );
    assert_eq!(rc, 0, "{screen}");
    assert!(screen.contains("by linking 1 duplicate"), "{screen}");
    assert_eq!(t.ino("a/photo.jpg"), t.ino("b/photo.jpg"));
}

#[test]
fn terminal_no_enter_and_ctrl_c_change_nothing() {
    // Enter (the default is quit), q, and Ctrl-C.
    for keys in [&b"\r"[..], b"q", b"\x03"] {
        let t = one_pair();
        let before = t.snapshot();
        let Some((screen, rc)) = in_terminal(&t, keys) else {
            return;
        };
        assert!(
            screen.contains("No, quit (change nothing)"),
            "{keys:?}: {screen}"
        );
        assert_eq!(rc, 2, "{keys:?}: {screen}");
        assert!(screen.contains("nothing was changed"), "{keys:?}: {screen}");
        // The menu hides the cursor; however it ends, the cursor is shown again.
        let (hide, show) = ("\x1b[?25l", "\x1b[?25h");
        assert!(screen.contains(hide), "{keys:?}: {screen:?}");
        assert!(
            screen.rfind(show) > screen.rfind(hide),
            "{keys:?}: cursor left hidden: {screen:?}"
        );
        assert_eq!(before, t.snapshot(), "{keys:?}");
    }
}

#[test]
fn a_plan_confirmed_after_the_tree_changed_is_reverified() {
    let t = one_pair();
    t.set_mtime("a/photo.jpg", 1); // the keeper
    let b = t.ino("b/photo.jpg");
    let Some((screen, rc)) = in_terminal_after(&t, b"j\r", |t| {
        // While the person reads the prompt, the duplicate is rewritten (same size).
        std::fs::write(t.path("b/photo.jpg"), b"JPEG BYTES").unwrap();
    }) else {
        return;
    };
    assert_eq!(rc, 0, "{screen}");
    assert!(screen.contains("changed since the scan"), "{screen}");
    assert_eq!(t.ino("b/photo.jpg"), b);
    assert_eq!(t.read("b/photo.jpg"), b"JPEG BYTES");
}

fn two_groups() -> TestEnv {
    let t = TestEnv::new();
    t.write("a/one", b"first group");
    t.write("b/one", b"first group");
    t.write("a/two", b"second group!");
    t.write("b/two", b"second group!");
    t.write("c/two", b"second group!");
    for p in ["a/one", "a/two"] {
        t.set_mtime(p, 1); // the planned keepers
    }
    t
}

#[test]
fn terminal_review_skips_one_group_and_chooses_another_keeper() {
    let t = two_groups();
    t.hard_link("a/two", "a/two-link");
    let before = t.snapshot();
    // Menu: up twice to "Review". Group 1 (13-byte files come first: larger first):
    // down to "Skip it". Group 2: down twice to "Choose a different keeper", down to the
    // second path, Enter, then "Link it".
    let Some((screen, rc)) = in_terminal(&t, b"kk\rj\rjj\rj\r\r") else {
        return;
    };
    assert_eq!(rc, 0, "{screen}");
    assert!(screen.contains("Group 1 of 2"), "{screen}");
    assert!(screen.contains("Group 2 of 2"), "{screen}");
    // Each copy with what a keeper is chosen by; the keeper's other names too.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(t.path("a/two")).unwrap().permissions(),
    ) & 0o7777;
    assert!(
        screen.contains("  keep ./a/two  1970-01-01 00:00:01 UTC  ")
            && screen.contains(&format!("  {mode:04o}  2 links")),
        "{screen}"
    );
    assert!(screen.contains("uid 0 gid 0") || !is_root(), "{screen}");
    assert!(
        screen.contains("  also ./a/two-link  (another name of the kept file)"),
        "{screen}"
    );
    // Group 1 (second group!, 13 bytes) skipped: nothing shared.
    let two: std::collections::BTreeSet<u64> = ["a/two", "b/two", "c/two"]
        .iter()
        .map(|p| t.ino(p))
        .collect();
    assert_eq!(two.len(), 3, "{screen}");
    // Group 2 (first group, 11 bytes) linked to the chosen keeper b/one.
    assert_eq!(t.ino("a/one"), t.ino("b/one"));
    assert_eq!(t.ino("b/one"), before[std::path::Path::new("b/one")].ino);
    assert_same_bytes(&before, &t.snapshot());
}

#[test]
fn terminal_show_plan_then_quit_changes_nothing() {
    let t = two_groups();
    let before = t.snapshot();
    // Up once to "Show the plan", Enter; the menu comes back on "quit": Enter.
    let Some((screen, rc)) = in_terminal(&t, b"k\r\r") else {
        return;
    };
    assert_eq!(rc, 2, "{screen}");
    assert!(
        screen.contains("link     13 B  ./b/two -> ./a/two"),
        "{screen}"
    );
    // Paged (as git pages), not thrown at the terminal before the menu.
    let paged = std::fs::read_to_string(t.state_dir().join("paged")).unwrap_or_default();
    assert!(
        paged.contains("link     13 B  ./b/two -> ./a/two"),
        "{paged}"
    );
    // The plan inside a run is a plan, not a dry run that "changed nothing".
    assert!(screen.contains("The plan would reclaim"), "{screen}");
    assert!(!screen.contains("Dry run"), "{screen}");
    // A question ends in its question mark, not "?:".
    assert!(!screen.contains("?:"), "{screen}");
    assert_eq!(before, t.snapshot());
}

/// Run `linkdup ARGS .` in a pty under strace (a delay in the walk so that a frame is drawn),
/// stdout to a file; returns (screen, stdout).
fn progress_screen(t: &TestEnv, args: &str) -> Option<(String, String)> {
    if !have("script") || !have("strace") {
        skip("needs script and strace");
        return None;
    }
    let bin = bin().display().to_string();
    let out_file = t.path("report.out");
    let cmd = format!(
        "stty cols 60 rows 24; strace -f -qq -o /dev/null -e trace=getdents64,read \
         -e inject=getdents64:delay_enter=400000:when=2 -e inject=read:delay_enter=1200000:when=30 \
         '{bin}' {args} --exclude report.out . > '{}'",
        out_file.display()
    );
    let out = Command::new("script")
        .env("XDG_STATE_HOME", t.state_dir())
        .current_dir(t.root())
        .env("TERM", "xterm")
        .args(["-qefc", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&out_file).unwrap_or_default();
    let _ = std::fs::remove_file(&out_file);
    Some((String::from_utf8_lossy(&out.stdout).into_owned(), report))
}

/// A screen's text without its escape sequences (`ESC [ ... letter`).
fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn progress_shows_on_the_terminal_and_never_in_the_report() {
    let t = two_groups();
    // Enough same-size files for the hashing stages to show.
    for i in 0..60 {
        t.write(format!("h/{i}"), format!("{:05000}", i % 30));
    }
    let Some((screen, report)) = progress_screen(&t, "scan") else {
        return;
    };
    assert!(screen.contains("1/4 walking"), "{screen:?}");
    assert!(screen.contains("2/4 partial hash ["), "{screen:?}");
    // Every frame fits the 60-column terminal (no wrapping), and no first-instant rate of
    // terabytes a second.
    for frame in screen.split(['\r', '\n']) {
        let plain = strip_escapes(frame);
        assert!(plain.chars().count() <= 60, "{plain:?}");
        assert!(!plain.contains("TiB/s"), "{plain:?}");
    }
    assert!(!report.contains("walking"), "{report}");
    assert!(report.contains("Found 32 duplicate groups"), "{report}");
    let (screen, _) = progress_screen(&t, "scan --progress never").unwrap();
    assert!(!screen.contains("walking"), "{screen:?}");
    let (screen, _) = progress_screen(&t, "scan -q").unwrap();
    assert!(!screen.contains("walking"), "{screen:?}");
}
