//! The JSON reports scripts read: one line unless `--pretty` (the same value either way).

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::*;

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
