//! Reviewable plans: `link --dry-run --save-plan FILE` writes the exact plan; `apply FILE` runs
//! it after re-verifying every file; a stale, edited or foreign plan is refused or skipped, never
//! half-applied.

mod common;

use std::fs;
use std::process::Command;

use common::*;

/// Two pairs under `data/`; `k1` and `k2` are the older copies, so the keepers.
fn two_pairs() -> TestEnv {
    let t = TestEnv::with_files(&[
        ("data/k1", b"first"),
        ("data/v1", b"first"),
        ("data/k2", b"second!"),
        ("data/v2", b"second!"),
    ]);
    t.set_mtime("data/k1", 1);
    t.set_mtime("data/k2", 1);
    t
}

fn save(t: &TestEnv) -> std::path::PathBuf {
    let plan = t.path("plan.json");
    let out = t.run(&["link", "-n", "--save-plan", "plan.json", "data"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("plan saved"), "{}", stderr(&out));
    plan
}

#[test]
fn a_saved_plan_applies_exactly_what_the_dry_run_showed() {
    let t = two_pairs();
    let before = t.snapshot();
    let plan = save(&t);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        t.snapshot()
            .keys()
            .filter(|p| !p.ends_with("plan.json"))
            .collect::<Vec<_>>(),
        "saving a plan changes nothing in the tree"
    );
    // The dry run over the absolute path names what the plan records (absolute paths, so
    // that it applies from any directory).
    let data = t.path("data");
    let (dry, _) = t.json(&["link", "-n", "-f", "json", data.to_str().unwrap()]);
    let (applied, out) = t.json(&["apply", "-y", "-f", "json", plan.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let pairs = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["duplicate"].to_string(), a["keeper"].to_string()))
            .collect()
    };
    assert_eq!(pairs(&dry), pairs(&applied));
    assert_eq!(applied["summary"]["linked"], 2);
    assert_eq!(t.ino("data/k1"), t.ino("data/v1"));
    assert_eq!(t.ino("data/k2"), t.ino("data/v2"));
}

#[test]
fn what_changed_since_the_plan_is_skipped_and_the_rest_applied() {
    let t = two_pairs();
    let plan = save(&t);
    fs::write(t.path("data/v1"), b"FIRST").unwrap();
    let (v, out) = t.json(&["apply", "-y", "-f", "json", plan.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 1, "{v}");
    assert_eq!(v["summary"]["skipped"], 1, "{v}");
    assert_eq!(t.read("data/v1"), b"FIRST");
    assert_ne!(t.ino("data/k1"), t.ino("data/v1"));
    assert_eq!(t.ino("data/k2"), t.ino("data/v2"));
}

#[test]
fn an_edited_damaged_or_foreign_plan_is_refused_whole() {
    let t = two_pairs();
    let plan = save(&t);
    let good = fs::read_to_string(&plan).unwrap();
    let before = snapshot(&t.path("data"));
    let edits = [
        ("edited", good.replacen("\"v1\"", "\"k2\"", 1)),
        (
            "foreign version",
            good.replacen(env!("CARGO_PKG_VERSION"), "0.0.1", 1),
        ),
        ("damaged", good[..good.len() / 2].to_string()),
        ("not a plan", "{\"groups\": []}".to_string()),
    ];
    for (what, text) in edits {
        assert_ne!(text, good, "{what}: the edit must change the plan");
        fs::write(&plan, text).unwrap();
        let out = t.run(&["apply", "-y", "-f", "json", plan.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{what}: {}", stderr(&out));
        assert_eq!(refusal(&out).0, "damaged_plan", "{what}");
        assert!(
            before == snapshot(&t.path("data")),
            "{what}: the tree changed"
        );
    }
}

#[test]
fn plans_are_never_written_inside_the_tree_and_only_by_a_dry_run() {
    let t = two_pairs();
    let out = t.run(&[
        "link",
        "-n",
        "-f",
        "json",
        "--save-plan",
        "data/plan.json",
        "data",
    ]);
    assert_eq!(code(&out), 2);
    assert_eq!(refusal(&out), ("inside_tree".into(), "plan".into()));
    assert!(!t.path("data/plan.json").exists());
    let out = t.run(&["link", "-y", "--save-plan", "plan.json", "data"]);
    assert_eq!(code(&out), 2, "--save-plan needs --dry-run");
    assert_ne!(t.ino("data/k1"), t.ino("data/v1"));
}

#[test]
fn apply_asks_like_link() {
    let t = two_pairs();
    let plan = save(&t);
    let before = t.snapshot();
    let out = t.run(&["apply", "-f", "json", plan.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert_eq!(refusal(&out).0, "no_terminal");
    let out = t.run(&["apply", "-n", plan.to_str().unwrap()]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("Nothing was changed"));
    assert_eq!(before, t.snapshot());
}

#[test]
fn a_plan_applied_twice_links_nothing_the_second_time_and_counts_no_group() {
    let t = two_pairs();
    let plan = save(&t);
    let p = plan.to_str().unwrap();
    let (v, out) = t.json(&["apply", "-y", "-f", "json", p]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 2, "{v}");
    assert_eq!(v["summary"]["groups_linked"], 2, "{v}");
    assert_eq!(t.ino("data/k1"), t.ino("data/v1"));
    let out = t.run(&["apply", "-y", p]);
    let last = stdout(&out).lines().last().unwrap_or_default().to_string();
    assert!(
        last.starts_with("Reclaimed 0 B by linking 0 duplicates in 0 groups"),
        "{last}"
    );
    assert_eq!(t.ino("data/k1"), t.ino("data/v1"));
}

#[test]
fn a_plan_applies_from_any_directory() {
    let t = two_pairs();
    let plan = save(&t);
    let out = t
        .cmd()
        .current_dir("/")
        .args(["apply", "-y", "-f", "json", plan.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(parse(&out)["summary"]["linked"], 2, "{}", stdout(&out));
    assert_eq!(t.ino("data/k1"), t.ino("data/v1"));
    assert_eq!(t.ino("data/k2"), t.ino("data/v2"));
}

#[test]
fn a_dry_run_of_a_stale_plan_checks_it_and_says_what_would_really_happen() {
    let t = two_pairs();
    let plan = save(&t);
    let p = plan.to_str().unwrap();
    // Everything changed since the plan: both duplicates rewritten (same size).
    fs::write(t.path("data/v1"), b"FIRST").unwrap();
    fs::write(t.path("data/v2"), b"SECOND!").unwrap();
    let before = t.snapshot();
    let (v, out) = t.json(&["apply", "-n", "-f", "json", p]);
    assert_eq!(before, t.snapshot(), "a dry run changed something");
    assert_eq!(code(&out), 1, "a stale plan is a failure: {}", stderr(&out));
    assert_eq!(v["summary"]["planned"], 0, "{v}");
    assert_eq!(v["summary"]["reclaimable_bytes"], 0, "{v}");
    let statuses: Vec<_> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {}", a["status"], a["kind"]))
        .collect();
    assert_eq!(statuses, [r#""skipped" "changed""#; 2], "{v}");
    let out = t.run(&["apply", "-y", p]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        t.journals().is_empty(),
        "a run that linked nothing left a journal"
    );
    assert_eq!(before, t.snapshot());
    // One still good, one changed: the dry run promises exactly the good one.
    let t = two_pairs();
    let plan = save(&t);
    fs::write(t.path("data/v1"), b"FIRST").unwrap();
    let (v, out) = t.json(&["apply", "-n", "-f", "json", plan.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["planned"], 1, "{v}");
    assert_eq!(v["summary"]["reclaimable_bytes"], 7, "{v}");
}

#[test]
fn the_undo_journal_is_named_after_the_report_and_only_when_something_was_linked() {
    let t = two_pairs();
    let plan = save(&t);
    let p = plan.to_str().unwrap();
    // stdout and stderr into one stream, as a terminal shows them.
    let out = Command::new("sh")
        .current_dir(t.root())
        .env("XDG_STATE_HOME", t.state_dir())
        .args(["-c", &format!("'{}' apply -y '{p}' 2>&1", bin().display())])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let summary = lines.iter().position(|l| l.starts_with("Reclaimed"));
    let journal = lines
        .iter()
        .position(|l| l.contains("undo journal of this run"));
    assert!(summary.is_some() && journal > summary, "{text}");
    let j = t.journals();
    assert_eq!(j.len(), 1);
    assert!(
        text.contains(&format!("linkdup undo {}", j[0].display())),
        "{text}"
    );
    // Applied again: already linked, nothing done, no journal made or named.
    let (v, out) = t.json(&["apply", "-y", "-f", "json", p]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let kinds: Vec<_> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].clone())
        .collect();
    assert_eq!(kinds, ["already_linked", "already_linked"], "{v}");
    assert!(!stderr(&out).contains("undo journal"), "{}", stderr(&out));
    assert_eq!(t.journals().len(), 1, "no second, empty journal");
}

#[test]
fn a_plan_reads_as_paths_and_a_reviewer_may_delete_groups_or_actions_but_not_edit_them() {
    let t = two_pairs();
    let plan = save(&t);
    let p = plan.to_str().unwrap();
    let text = fs::read_to_string(&plan).unwrap();
    // Each action names its paths in words, for `less plan.json`.
    let v1 = t.path("data/v1");
    assert!(
        text.contains(&format!("\"link\": \"{}\"", v1.display())),
        "{text}"
    );
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["body"]["groups"].as_array().unwrap().len(), 2);
    // Edited: a group's keeper is another file (or an action's path in words): refused whole.
    for edit in ["keeper", "action"] {
        let mut bad = doc.clone();
        match edit {
            "keeper" => bad["body"]["groups"][0]["keeper"]["ino"] = 1.into(),
            _ => bad["body"]["groups"][0]["actions"][0]["link"] = "/etc/passwd".into(),
        }
        fs::write(&plan, serde_json::to_vec_pretty(&bad).unwrap()).unwrap();
        let out = t.run(&["apply", "-y", "-f", "json", p]);
        assert_eq!(code(&out), 2, "{edit}: {}", stderr(&out));
        assert_eq!(refusal(&out).0, "damaged_plan", "{edit}");
    }
    assert_ne!(t.ino("data/k1"), t.ino("data/v1"));
    // Reviewed: the group of k2/v2 deleted. Only k1/v1 is linked.
    let mut reviewed = doc.clone();
    let keep = reviewed["body"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["actions"][0]["link"] == v1.to_str().unwrap())
        .cloned()
        .unwrap();
    reviewed["body"]["groups"] = serde_json::json!([keep]);
    fs::write(&plan, serde_json::to_vec_pretty(&reviewed).unwrap()).unwrap();
    let (v, out) = t.json(&["apply", "-y", "-f", "json", p]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 1, "{v}");
    assert_eq!(t.ino("data/k1"), t.ino("data/v1"));
    assert_ne!(t.ino("data/k2"), t.ino("data/v2"));
    // An action deleted from a group leaves an empty group: nothing to do, no error.
    let mut emptied = doc.clone();
    for g in emptied["body"]["groups"].as_array_mut().unwrap() {
        g["actions"] = serde_json::json!([]);
    }
    fs::write(&plan, serde_json::to_vec_pretty(&emptied).unwrap()).unwrap();
    let (v, out) = t.json(&["apply", "-y", "-f", "json", p]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(v["summary"]["linked"], 0, "{v}");
    assert_ne!(t.ino("data/k2"), t.ino("data/v2"));
}

/// A dry run that saves no plan never holds its plan: it makes each group again from the scan's
/// groups as the report reads it. What it reports, in every format, is byte for byte what the
/// held plan of `--save-plan` reports (and so what a run would execute), on a tree with skips,
/// sets kept apart, outside links, hard-linked keepers and a keeper preference.
#[test]
fn a_dry_run_reports_the_plan_it_would_hold_in_every_format() {
    let t = edge_tree();
    // A copy whose mode differs (skipped), a pair with a link outside the scanned paths, and
    // a linked set kept apart by its owner's mode.
    t.write("modes/a", b"mode gated content");
    t.write("modes/b", b"mode gated content");
    t.chmod("modes/b", 0o600);
    t.write("outside/a", b"linked from outside");
    t.write("outside/b", b"linked from outside");
    t.hard_link("outside/b", "elsewhere/b");
    t.write("apart/a", b"apart set");
    t.hard_link("apart/a", "apart/a2");
    t.write("apart/b", b"apart set");
    t.chmod("apart/b", 0o640);
    // Keepers picked by age, and duplicates that take their keeper's time.
    for (i, f) in ["p2/a.txt", "t3/t.bin", "fifty/f07.dat", "h/z"]
        .iter()
        .enumerate()
    {
        t.set_mtime(f, 1000 + i as i64);
    }
    let roots = [
        "p1",
        "p2",
        "n",
        "t1",
        "t2",
        "t3",
        "fifty",
        "h",
        "done",
        "with space",
        "odd",
        "modes",
        "outside",
        "apart",
        "near100",
        "near65537",
    ];
    let mut checked = 0;
    for format in ["text", "json", "jsonl", "csv", "fdupes"] {
        for extra in [&[][..], &["--keep-under", "t2", "--by-dir", "3"][..]] {
            if format != "text" && format != "json" && !extra.is_empty() {
                continue;
            }
            let mut args = vec!["link", "-n", "-f", format];
            args.extend_from_slice(extra);
            args.extend_from_slice(&roots);
            let streamed = t.run(&args);
            let _ = fs::remove_file(t.path("held.plan"));
            args.splice(2..2, ["--save-plan", "held.plan"]);
            let held = t.run(&args);
            assert_eq!(code(&streamed), code(&held), "{format} {extra:?}");
            let (a, b) = (stdout(&streamed), stdout(&held));
            // The text report's last line names the scan's time; everything else is equal.
            let untimed = |s: &str| {
                s.split(" scanned in ")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            };
            assert!(!a.is_empty(), "{format} {extra:?}: no report");
            assert_eq!(untimed(&a), untimed(&b), "{format} {extra:?}");
            if format != "text" {
                assert_eq!(a, b, "{format} {extra:?}");
            }
            if format != "fdupes" {
                assert!(a.contains("modes/b"), "the skip is reported: {format}\n{a}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 7);
    // The totals come from the same groups: the mode-gated copies are not planned; the copy
    // with a link outside the scanned paths is the keeper (most links), so its twin is freed.
    let (v, _) = t.json(&["link", "-n", "-f", "json", "modes", "outside", "p1", "p2"]);
    assert_eq!(v["summary"]["planned"], 2, "{v}");
    assert_eq!(v["summary"]["reclaimable_bytes"], 130 + 19, "{v}");
    assert_eq!(v["actions"][1]["keeper"], "outside/b", "{v}");
}
