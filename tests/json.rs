//! The JSON reports scripts read: one line unless `--pretty` (the same value either way), JSON
//! Lines whose lines each stand alone and agree with `-f json`, and names that are not UTF-8
//! given exactly through `_bytes` in both.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// A group of three (one with a bidi override in its name, one not UTF-8) and a pair that
/// differs in mode (two skips). The runs also name a path that does not exist (an error).
fn mixed_tree() -> TestEnv {
    let t = TestEnv::new();
    t.write("a/photo.jpg", b"the same photo");
    t.write("b/in\u{202e}voice.jpg", b"the same photo");
    t.write(
        Path::new(OsStr::from_bytes(b"b/odd\xffname.jpg")),
        b"the same photo",
    );
    t.write("c/one", b"other bytes");
    t.write("c/two", b"other bytes");
    t.chmod("c/two", 0o600);
    t
}

/// Parse each line of stdout as its own JSON object.
fn lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `v` without the keys JSON Lines adds.
fn untagged(v: &Value, extra: &[&str]) -> Value {
    let mut v = v.clone();
    let m = v.as_object_mut().expect("an object");
    for k in ["type"].iter().chain(extra) {
        m.remove(*k);
    }
    v
}

#[test]
fn compact_and_pretty_reports_are_the_same_value() {
    let t = mixed_tree();
    let undo_tree = TestEnv::with_files(&[("x", b"twins"), ("y", b"twins")]);
    assert_eq!(code(&undo_tree.run(&["link", "-y", "-q", "."])), 0);
    let journal = undo_tree.journals()[0].to_str().unwrap().to_string();
    let runs: [(&TestEnv, Vec<&str>); 5] = [
        (&t, vec!["scan", "-f", "json", ".", "missing"]),
        (&t, vec!["link", "-n", "-f", "json", ".", "missing"]),
        (&t, vec!["recover", "-n", "-f", "json", "."]),
        (&t, vec!["link", "-f", "json", "."]), // refused: no terminal, no --yes
        (&undo_tree, vec!["undo", "-n", "-f", "json", &journal]),
    ];
    for (env, args) in runs {
        let compact = env.run(&args);
        let text = stdout(&compact);
        assert_eq!(text.lines().count(), 1, "{args:?}: not one line: {text}");
        assert!(text.ends_with("}\n"), "{args:?}: {text}");
        let pretty = env.run(&[args.as_slice(), &["--pretty"]].concat());
        assert!(
            stdout(&pretty).lines().count() > 3,
            "{args:?}: not indented"
        );
        assert_eq!(parse(&compact), parse(&pretty), "{args:?}");
        assert_eq!(parse(&compact)["version"], 1, "{args:?}");
        for s in [stdout(&compact), stdout(&pretty)] {
            assert!(
                !s.contains('\u{202e}'),
                "{args:?}: printed a bidi override raw"
            );
        }
    }
}

#[test]
fn jsonl_lines_stand_alone_and_agree_with_the_json_report() {
    let t = mixed_tree();
    for command in ["scan", "link"] {
        let mut args = vec![command, "-f", "json", ".", "missing"];
        if command == "link" {
            args.insert(1, "-n");
        }
        let (json, _) = t.json(&args);
        let jl_args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "json" { "jsonl" } else { a })
            .collect();
        let jl = t.run(&jl_args);
        assert_eq!(code(&jl), 1, "{command}: the error decides the exit code");
        let lines = lines(&jl);
        let of = |ty: &str| -> Vec<Value> {
            lines
                .iter()
                .filter(|l| l["type"] == ty)
                .map(|l| untagged(l, &[]))
                .collect()
        };
        let lists: &[(&str, &str)] = match command {
            "scan" => &[("group", "groups")],
            _ => &[
                ("action", "actions"),
                ("skipped", "skipped"),
                ("temp", "temps"),
            ],
        };
        for (ty, list) in lists
            .iter()
            .chain(&[("error", "errors"), ("warning", "warnings")])
        {
            assert_eq!(&Value::from(of(ty)), &json[list], "{command}: {ty} lines");
        }
        let last = lines.last().expect("a summary line");
        assert_eq!(last["type"], "summary", "{command}: the summary comes last");
        assert_eq!(last["version"], 1);
        assert_eq!(untagged(last, &["version", "dry_run"]), json["summary"]);
        if command == "link" {
            assert_eq!(last["dry_run"], true);
            assert_eq!(of("skipped").len(), 2, "the pair that differs in mode");
        }
        assert_eq!(lines.iter().filter(|l| l["type"] == "summary").count(), 1);
        assert!(
            !stdout(&jl).contains('\u{202e}'),
            "printed a bidi override raw"
        );
    }
}

/// A real run's JSON Lines: one `linked` action per swap, and totals that say so.
#[test]
fn jsonl_of_a_real_run_counts_what_it_linked() {
    let t = mixed_tree();
    let out = t.run(&["link", "-y", "-f", "jsonl", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines = lines(&out);
    let linked = lines
        .iter()
        .filter(|l| l["type"] == "action" && l["status"] == "linked")
        .count();
    let last = lines.last().unwrap();
    assert_eq!((linked, &last["linked"]), (2, &Value::from(2)));
    assert_eq!(last["dry_run"], false);
    assert_eq!(t.ino("a/photo.jpg"), t.ino("b/in\u{202e}voice.jpg"));
}

#[test]
fn names_that_are_not_utf8_round_trip_through_bytes() {
    let t = mixed_tree();
    let odd = PathBuf::from(OsStr::from_bytes(b"./b/odd\xffname.jpg"));
    let (scan, _) = t.json(&["scan", "-f", "json", "."]);
    let group_paths = |g: &Value| -> Vec<PathBuf> {
        let files = g["files"].as_array().unwrap();
        files.iter().map(|f| json_path(f, "path")).collect()
    };
    assert!(group_paths(&scan["groups"][0]).contains(&odd), "{scan}");
    let jl = lines(&t.run(&["scan", "-f", "jsonl", "."]));
    assert!(group_paths(&jl[0]).contains(&odd), "{jl:?}");
    assert_eq!(jl[0]["files"], scan["groups"][0]["files"]);

    // In a link report: the duplicate of one action (the keeper is the first path).
    let (link, _) = t.json(&["link", "-n", "-f", "json", "."]);
    let jl = lines(&t.run(&["link", "-n", "-f", "jsonl", "."]));
    let actions: Vec<&Value> = jl.iter().filter(|l| l["type"] == "action").collect();
    let odd_one = |a: &Value| json_path(a, "duplicate") == odd;
    let a = actions
        .iter()
        .find(|a| odd_one(a))
        .expect("the odd name is linked");
    assert!(a.get("duplicate_bytes").is_some(), "{a}");
    let untagged: Vec<Value> = actions.iter().map(|a| untagged(a, &[])).collect();
    assert_eq!(Value::from(untagged), link["actions"]);
}

/// The report's `errors` list is the same whatever the number of threads: the workers meet
/// unreadable files in an order of their own, and the list is sorted by path.
#[test]
fn problems_are_listed_in_one_order_whatever_the_threads() {
    if !attacks_possible() {
        return;
    }
    let t = TestEnv::new();
    t.open_to_attacker();
    for d in 0..12 {
        for f in 0..3 {
            t.write(format!("data/d{d:02}/f{f}"), b"same size!");
        }
        t.chmod(&format!("data/d{d:02}/f1"), 0o000);
    }
    let errors = |j: &str| {
        let out = t.run_as_attacker(&["scan", "-f", "json", "-j", j, "data"]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        problems(&parse(&out), "errors")
    };
    let one = errors("1");
    assert_eq!(one.len(), 12, "{one:?}");
    let mut sorted = one.clone();
    sorted.sort();
    assert_eq!(one, sorted, "sorted by path");
    for j in ["4", "16"] {
        assert_eq!(errors(j), one, "-j {j}");
    }
}
