//! Saved plans: the exact plan of a dry run, written for review (`link --dry-run --save-plan
//! FILE`) and executed later (`linkdup apply FILE`). A plan carries the identity each file had
//! at scan time (device, inode, size, mtime, ctime, mode, owner), the content hash of its group
//! and the gates it was made with, plus a checksum over all of it: a plan from another version,
//! or one damaged, is refused whole, never half-applied. The checksum detects damage, not
//! forgery (anyone can compute it): what protects a run is that a plan is a state file
//! ([`crate::statefile`]: read only when it is the invoking user's own), and that the executor
//! re-verifies every file and re-applies every gate to the live files, whatever the plan says.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use xxhash_rust::xxh3::xxh3_128;

use crate::codec::{get_bytes, put_bytes, read_ts, ts};
use crate::config::{Gates, RunOptions};
use crate::error::Error;
use crate::error::StateKind;
use crate::model::{
    Attrs, Dir, DirIdx, FileId, FileLen, GroupPlan, Identity, LinkAction, Loc, Member, Merge,
    MergeWhy, NameIdx, Plan, Tree,
};
use crate::statefile;

const FORMAT: &str = "linkdup-plan";
/// 3: a checksum for the header (directories, gates), one per group and one per action, so that
/// whole groups or actions can be deleted from a plan (what a person reviewing it does) while
/// any other edit is refused; each action names its paths in words, for a reader.
const FORMAT_VERSION: u64 = 4;
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Write `plan` (with the directories it needs, and the gates and link limit the executor is
/// to enforce) to `path`, as a new file of mode 0600 renamed into place.
pub fn save(path: &Path, tree: &Tree, plan: &Plan, opts: &RunOptions) -> Result<(), Error> {
    let g = &opts.gates;
    // Paths are recorded absolute, so the plan applies from any directory (each directory is
    // still checked by identity before anything is done in it).
    let cwd = std::env::current_dir().map_err(|e| Error::Step {
        path: path.to_path_buf(),
        step: "finding the current directory to record absolute paths",
        err: e,
    })?;
    let mut body = json!({
        "dirs": tree.dirs.iter().map(|d| dir_json(d, &cwd)).collect::<Vec<_>>(),
        "gates": {
            "ignore_owner": g.ignore_owner,
            "ignore_mode": g.ignore_mode,
            "ignore_xattrs": g.ignore_xattrs,
            "ignore_dir_access": g.ignore_dir_access,
            "same_mtime": g.same_mtime,
        },
        "max_links": opts.max_links,
    });
    let header_sum = checksum(&body);
    let groups: Vec<Value> = plan
        .groups
        .iter()
        .map(|g| group_json(g, tree, &cwd))
        .collect();
    body["groups"] = Value::Array(groups);
    let doc = json!({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "linkdup_version": VERSION,
        "checksum": header_sum,
        "body": body,
    });
    let text = serde_json::to_vec_pretty(&doc).map_err(|e| Error::io(path, e.into()))?;
    statefile::write_whole(path, StateKind::Plan, &text)
}

/// Read a plan back (only one of the invoking user's own); anything inconsistent is an error
/// naming the file and the reason.
pub fn load(path: &Path) -> Result<(Tree, Plan, RunOptions), Error> {
    let bad = |what: &str| Error::Damaged {
        path: path.to_path_buf(),
        what: StateKind::Plan,
        detail: what.to_string(),
    };
    let mut text = Vec::new();
    statefile::open_read(path, StateKind::Plan)?
        .ok_or_else(|| Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)))?
        .read_to_end(&mut text)
        .map_err(|e| Error::io(path, e))?;
    let doc: Value = serde_json::from_slice(&text).map_err(|e| bad(&format!("{e}")))?;
    // Version 1 plans carry no gates: they are applied with the default (strictest) ones.
    let version = doc["format_version"].as_u64();
    if doc["format"] != FORMAT || !matches!(version, Some(1 | 2 | 3 | FORMAT_VERSION)) {
        return Err(bad("not a linkdup plan of a format this version reads"));
    }
    if doc["linkdup_version"] != VERSION {
        return Err(bad(&format!(
            "made by linkdup {}, this is {VERSION}; make it again",
            doc["linkdup_version"]
        )));
    }
    let body = &doc["body"];
    // Formats 3 and 4 sum the header here and each group and action on its own; earlier
    // formats sum the whole body. Format 4 adds each group's method (format 3: hard links).
    let per_group = matches!(version, Some(3 | FORMAT_VERSION));
    let summed = if per_group {
        let mut header = body.clone();
        if let Value::Object(m) = &mut header {
            m.remove("groups");
        }
        checksum(&header)
    } else {
        checksum(body)
    };
    if doc["checksum"].as_str() != Some(summed.as_str()) {
        return Err(bad("its checksum does not match (edited or damaged)"));
    }
    let dirs = body["dirs"]
        .as_array()
        .ok_or_else(|| bad("no directories"))?;
    let mut reader = Reader {
        tree: Tree::default(),
        seen: HashMap::new(),
    };
    for (i, d) in dirs.iter().enumerate() {
        let dir = read_dir(d, i).ok_or_else(|| bad(&format!("directory {i} is malformed")))?;
        reader.tree.dirs.push(dir);
    }
    let groups = body["groups"].as_array().ok_or_else(|| bad("no groups"))?;
    let mut plan = Plan::default();
    for (i, g) in groups.iter().enumerate() {
        if per_group {
            check_sums(g).map_err(|what| bad(&format!("group {}: {what}", i + 1)))?;
        }
        let mut group = read_group(g, &mut reader)
            .ok_or_else(|| bad(&format!("group {} is malformed", i + 1)))?;
        if group.actions.is_empty() {
            continue; // every action of it deleted: nothing to do
        }
        if group.method == Merge::HardLink {
            recount_frees(&mut group);
        }
        plan.groups.push(group);
    }
    let opts = match version {
        Some(1) => RunOptions::default(),
        _ => read_options(body).ok_or_else(|| bad("its gates are malformed"))?,
    };
    let mut tree = reader.tree;
    tree.shrink_names();
    Ok((tree, plan, opts))
}

fn read_options(body: &Value) -> Option<RunOptions> {
    let g = &body["gates"];
    Some(RunOptions {
        gates: Gates {
            ignore_owner: g["ignore_owner"].as_bool()?,
            ignore_mode: g["ignore_mode"].as_bool()?,
            ignore_xattrs: g["ignore_xattrs"].as_bool()?,
            same_mtime: g["same_mtime"].as_bool()?,
            // Absent from plans of earlier versions, which had no such flag.
            ignore_dir_access: g["ignore_dir_access"].as_bool().unwrap_or(false),
        },
        max_links: match &body["max_links"] {
            Value::Null => None,
            v => Some(v.as_u64()?),
        },
    })
}

/// The sum a group or action carries: over its own fields (a group's without its actions).
fn own_sum(v: &Value) -> String {
    let mut own = v.clone();
    if let Value::Object(m) = &mut own {
        m.remove("sum");
        m.remove("actions");
    }
    checksum(&own)
}

/// Is every part of a format-3 group as it was written? Deleting an action or a group is
/// allowed; changing one is not.
fn check_sums(g: &Value) -> Result<(), String> {
    if g["sum"].as_str() != Some(own_sum(g).as_str()) {
        return Err("edited (its checksum does not match)".into());
    }
    for (j, a) in g["actions"].as_array().into_iter().flatten().enumerate() {
        if a["sum"].as_str() != Some(own_sum(a).as_str()) {
            return Err(format!(
                "action {} edited (its checksum does not match)",
                j + 1
            ));
        }
    }
    Ok(())
}

/// Which action frees its duplicate's bytes, for the actions left in a group (some may have
/// been deleted from the plan): the last of an inode's, when every one of its links in the
/// scanned paths is still planned.
fn recount_frees(g: &mut GroupPlan) {
    let mut left: std::collections::HashMap<FileId, u64> = std::collections::HashMap::new();
    for a in &g.actions {
        *left.entry(a.victim.expect.id).or_default() += 1;
    }
    let planned = left.clone();
    for a in &mut g.actions {
        let id = a.victim.expect.id;
        let n = left.get_mut(&id).map(|n| {
            *n -= 1;
            *n
        });
        let all = planned[&id] + a.outside_links == a.victim.nlink;
        a.frees = n == Some(0) && all && a.outside_links == 0;
    }
}

fn checksum(body: &Value) -> String {
    // serde_json's maps are sorted, so the same body always serializes to the same bytes.
    format!(
        "{:032x}",
        xxh3_128(&serde_json::to_vec(body).unwrap_or_default())
    )
}

fn dir_json(d: &Dir, cwd: &Path) -> Value {
    let mut m = Map::new();
    // `cwd/./a` is `cwd/a`: components() drops the `.`.
    let path: PathBuf = cwd.join(&d.path).components().collect();
    put_bytes(&mut m, "path", path.as_os_str().as_bytes());
    put_bytes(&mut m, "name", d.name.as_bytes());
    m.insert("dev".into(), json!(d.id.dev));
    m.insert("ino".into(), json!(d.id.ino));
    m.insert("parent".into(), json!(d.parent.map(|p| p.0)));
    m.insert("mnt".into(), json!(d.mnt));
    Value::Object(m)
}

fn read_dir(v: &Value, index: usize) -> Option<Dir> {
    let parent = match &v["parent"] {
        Value::Null => None,
        p => Some(DirIdx(u32::try_from(p.as_u64()?).ok()?)),
    };
    // Parents always come first: no cycles, no forward references.
    if parent.is_some_and(|p| p.0 as usize >= index) {
        return None;
    }
    Some(Dir {
        path: PathBuf::from(OsStr::from_bytes(&get_bytes(v, "path")?)),
        id: FileId {
            dev: v["dev"].as_u64()?,
            ino: v["ino"].as_u64()?,
        },
        parent,
        name: OsStr::from_bytes(&get_bytes(v, "name")?).to_owned(),
        attrs: Attrs::default(),
        mnt: v["mnt"].as_u64()?,
        // Not trusted from the file: the executor looks at the directories themselves.
        public: false,
    })
}

fn loc_json(l: &Loc, tree: &Tree) -> Value {
    let mut m = Map::new();
    m.insert("dir".into(), json!(l.dir.0));
    put_bytes(&mut m, "name", tree.name(l).as_bytes());
    m.insert("mnt".into(), json!(l.mnt));
    Value::Object(m)
}

/// The tree a plan's paths are read into: each distinct (directory, name) is stored once, so
/// two mentions of one path are one [`Loc`].
struct Reader {
    tree: Tree,
    seen: HashMap<(DirIdx, Vec<u8>), NameIdx>,
}

impl Reader {
    fn loc(&mut self, v: &Value) -> Option<Loc> {
        let dir = u32::try_from(v["dir"].as_u64()?).ok()?;
        let name = get_bytes(v, "name")?;
        // A single name, never a path: nothing in a plan can point outside its directory.
        if dir as usize >= self.tree.dirs.len()
            || name.is_empty()
            || name.contains(&b'/')
            || name.contains(&0)
            || name == b"."
            || name == b".."
        {
            return None;
        }
        let mnt = v["mnt"].as_u64()?;
        let key = (DirIdx(dir), name);
        let name = match self.seen.get(&key) {
            Some(&at) => at,
            None => {
                let at = self.tree.intern(&key.1).ok()?;
                self.seen.insert(key, at);
                at
            }
        };
        Some(Loc {
            dir: DirIdx(dir),
            name,
            mnt,
        })
    }
}

fn member_json(m: &Member, tree: &Tree) -> Value {
    let e = &m.expect;
    json!({
        "loc": loc_json(&m.loc, tree),
        "dev": e.id.dev, "ino": e.id.ino, "size": e.len.0,
        "mtime": ts(e.mtime), "ctime": ts(e.ctime),
        "mode": e.mode, "uid": e.uid, "gid": e.gid, "nlink": m.nlink,
    })
}

fn read_member(v: &Value, r: &mut Reader) -> Option<Member> {
    let u32_of = |k: &str| v[k].as_u64().and_then(|x| u32::try_from(x).ok());
    Some(Member {
        loc: r.loc(&v["loc"])?,
        expect: Identity {
            id: FileId {
                dev: v["dev"].as_u64()?,
                ino: v["ino"].as_u64()?,
            },
            len: FileLen(v["size"].as_u64()?),
            mtime: read_ts(&v["mtime"])?,
            ctime: read_ts(&v["ctime"])?,
            mode: u32_of("mode")?,
            uid: u32_of("uid")?,
            gid: u32_of("gid")?,
        },
        nlink: v["nlink"].as_u64()?,
    })
}

/// A group: its own fields and sum, then each action with its sum and, for a person reading
/// the plan, its two paths in words (`link`: the duplicate, `to`: the keeper).
fn group_json(g: &GroupPlan, tree: &Tree, cwd: &Path) -> Value {
    let words = |l: &Loc| {
        let p: PathBuf = cwd.join(tree.path(l)).components().collect();
        p.to_string_lossy().into_owned()
    };
    let mut group = json!({
        "size": g.len.0,
        "hash": format!("{:032x}", g.hash),
        "dev": g.dev,
        "keeper": member_json(&g.keeper, tree),
        "keeper_links": g.keeper_links.iter().map(|l| loc_json(l, tree)).collect::<Vec<_>>(),
        "method": g.method.code(),
        "method_why": g.method_why.code(),
    });
    group["sum"] = json!(own_sum(&group));
    let actions = g.actions.iter().map(|a| {
        let mut action = json!({
            "link": words(&a.victim.loc),
            "to": words(&g.keeper_of(a).loc),
            "keeper": member_json(g.keeper_of(a), tree),
            "victim": member_json(&a.victim, tree),
            "frees": a.frees,
            "outside_links": a.outside_links,
            "frees_bytes": a.frees_bytes,
        });
        action["sum"] = json!(own_sum(&action));
        action
    });
    group["actions"] = Value::Array(actions.collect());
    group
}

fn read_group(v: &Value, r: &mut Reader) -> Option<GroupPlan> {
    let len = FileLen(v["size"].as_u64()?);
    let keeper = read_member(&v["keeper"], r)?;
    let mut actions = crate::model::Actions::new();
    for a in v["actions"].as_array()? {
        let action = LinkAction {
            other_keeper: LinkAction::other_keeper(&keeper, read_member(&a["keeper"], r)?),
            victim: read_member(&a["victim"], r)?,
            frees: a["frees"].as_bool()?,
            outside_links: a["outside_links"].as_u64()?,
            frees_bytes: match &a["frees_bytes"] {
                Value::Null => None,
                n => Some(n.as_u64()?.min(len.0)),
            },
        };
        // Every pair is of one size, the group's: a plan can't ask to link unequal files.
        let akeeper = action.other_keeper.as_deref().unwrap_or(&keeper);
        if akeeper.expect.len != len || action.victim.expect.len != len {
            return None;
        }
        actions.push(action);
    }
    Some(GroupPlan {
        len,
        hash: u128::from_str_radix(v["hash"].as_str()?, 16).ok()?,
        dev: v["dev"].as_u64()?,
        keeper,
        keeper_links: v["keeper_links"]
            .as_array()?
            .iter()
            .map(|l| r.loc(l))
            .collect::<Option<_>>()?,
        actions,
        method: match v["method"].as_str() {
            // Absent from plans of format 3 and earlier: hard links.
            None | Some("hardlink") => Merge::HardLink,
            Some("reflink") => Merge::Reflink,
            Some(_) => return None,
        },
        method_why: match v["method_why"].as_str() {
            Some("auto_filesystem_shares_extents") => MergeWhy::AutoShares,
            Some("auto_filesystem_cannot_share_extents") => MergeWhy::AutoNoSharing,
            _ => MergeWhy::Asked,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    /// Names a plan must carry byte for byte: not UTF-8, control characters, JSON's own
    /// metacharacters, a cut multi-byte sequence, the shortest and the longest.
    const NAMES: &[&[u8]] = &[
        b"bad\xffname",
        b"new\nline",
        b"\xff",
        b" ",
        b"caf\xc3",
        "caf\u{e9}".as_bytes(),
        b"tab\there\r\x1b[0m",
        b"\"quoted\" \\ back",
        b"-",
        &[0xfe; 255],
    ];

    fn id(dev: u64, ino: u64) -> FileId {
        FileId { dev, ino }
    }

    fn dir(path: &[u8], name: &[u8], parent: Option<u32>, ino: u64) -> Dir {
        Dir {
            path: PathBuf::from(OsStr::from_bytes(path)),
            id: id(8, ino),
            parent: parent.map(DirIdx),
            name: OsStr::from_bytes(name).to_owned(),
            attrs: Attrs::default(),
            mnt: 31,
            public: false,
        }
    }

    /// Three directories: the current one (empty path and name), and two below it whose own
    /// names are not UTF-8 or hold a newline.
    fn tree() -> Tree {
        let mut tree = Tree::default();
        tree.dirs = vec![
            dir(b"", b"", None, 2),
            dir(b"bad\xffdir", b"bad\xffdir", Some(0), 3),
            dir(b"new\nline/\xc3", b"\xc3", Some(0), 4),
        ];
        tree
    }

    fn loc(tree: &mut Tree, dir: u32, name: &[u8]) -> Loc {
        tree.loc(DirIdx(dir), name, 31).expect("room for a name")
    }

    fn member(tree: &mut Tree, dir: u32, name: &[u8], ino: u64, len: u64) -> Member {
        Member {
            loc: loc(tree, dir, name),
            expect: Identity {
                id: id(8, ino),
                len: FileLen(len),
                mtime: Timestamp {
                    sec: -(ino as i64),
                    nsec: 999_999_999,
                },
                ctime: Timestamp {
                    sec: 1_700_000_000 + ino as i64,
                    nsec: ino as u32,
                },
                mode: 0o100_640,
                uid: 1000 + ino as u32,
                gid: u32::MAX,
            },
            nlink: ino % 3 + 1,
        }
    }

    /// One group per name: the keeper has the name in one directory, the duplicate in another,
    /// and a link of the keeper has it in the third.
    fn plan(tree: &mut Tree, names: &[&[u8]]) -> Plan {
        let groups = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let i = i as u64;
                let len = 10 + i;
                let keeper = member(tree, 1, name, 100 + i, len);
                GroupPlan {
                    len: FileLen(len),
                    hash: u128::MAX - u128::from(i),
                    dev: 8,
                    keeper: keeper.clone(),
                    keeper_links: vec![loc(tree, 0, name)],
                    // Every other action is linked to the keeper's other path: its own keeper.
                    actions: smallvec::smallvec![LinkAction {
                        other_keeper: LinkAction::other_keeper(
                            &keeper,
                            if i % 2 == 1 {
                                member(tree, 0, name, 100 + i, len)
                            } else {
                                keeper.clone()
                            },
                        ),
                        victim: member(tree, 2, name, 200 + i, len),
                        frees: i.is_multiple_of(2),
                        outside_links: i,
                        frees_bytes: (i % 3 == 1).then_some(i),
                    }],
                    method: if i % 3 == 1 {
                        Merge::Reflink
                    } else {
                        Merge::HardLink
                    },
                    method_why: if i % 3 == 1 {
                        MergeWhy::AutoShares
                    } else {
                        MergeWhy::Asked
                    },
                }
            })
            .collect();
        Plan {
            groups,
            ..Plan::default()
        }
    }

    /// The same path in two trees: directory, name bytes, mount.
    fn same_loc(got: (&Tree, &Loc), want: (&Tree, &Loc)) -> bool {
        (got.1.dir, got.0.name(got.1), got.1.mnt) == (want.1.dir, want.0.name(want.1), want.1.mnt)
    }

    fn assert_member(got: (&Tree, &Member), want: (&Tree, &Member), what: &str) {
        let ((gt, got), (wt, want)) = (got, want);
        assert!(same_loc((gt, &got.loc), (wt, &want.loc)), "{what}");
        assert_eq!(got.expect, want.expect, "{what}");
        assert_eq!(got.nlink, want.nlink, "{what}");
    }

    #[test]
    fn plans_round_trip_with_exact_name_bytes() {
        let opts_cases = [
            RunOptions::default(),
            RunOptions {
                gates: Gates {
                    ignore_owner: true,
                    ignore_mode: false,
                    ignore_xattrs: true,
                    ignore_dir_access: true,
                    same_mtime: true,
                },
                max_links: Some(7),
            },
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        let mut tree = tree();
        let plan = plan(&mut tree, NAMES);
        for (n, opts) in opts_cases.iter().enumerate() {
            let path = dir.path().join(format!("plan{n}.json"));
            save(&path, &tree, &plan, opts).expect("save");
            let (t, p, o) = load(&path).expect("load what was saved");
            assert_eq!(&o, opts);
            assert_eq!(t.dirs.len(), tree.dirs.len());
            // Recorded absolute, exactly.
            let cwd = std::env::current_dir().unwrap();
            for (got, want) in t.dirs.iter().zip(&tree.dirs) {
                let want_path: PathBuf = cwd.join(&want.path).components().collect();
                assert_eq!(
                    got.path.as_os_str().as_bytes(),
                    want_path.as_os_str().as_bytes()
                );
                assert_eq!(got.name.as_bytes(), want.name.as_bytes());
                assert_eq!(
                    (got.id, got.parent, got.mnt),
                    (want.id, want.parent, want.mnt)
                );
            }
            assert_eq!(p.groups.len(), NAMES.len());
            for (i, ((got, want), name)) in p.groups.iter().zip(&plan.groups).zip(NAMES).enumerate()
            {
                let what = String::from_utf8_lossy(name);
                assert_eq!(t.name(&got.keeper.loc).as_bytes(), *name, "{what}");
                assert_eq!(
                    (got.len, got.hash, got.dev),
                    (want.len, want.hash, want.dev)
                );
                assert_member((&t, &got.keeper), (&tree, &want.keeper), &what);
                assert_eq!(got.keeper_links.len(), want.keeper_links.len(), "{what}");
                for (g, w) in got.keeper_links.iter().zip(&want.keeper_links) {
                    assert!(same_loc((&t, g), (&tree, w)), "{what}");
                }
                assert_eq!(got.actions.len(), 1, "{what}");
                let (ga, wa) = (&got.actions[0], &want.actions[0]);
                assert_eq!(ga.other_keeper.is_some(), i % 2 == 1, "{what}");
                assert_member((&t, got.keeper_of(ga)), (&tree, want.keeper_of(wa)), &what);
                assert_member((&t, &ga.victim), (&tree, &wa.victim), &what);
                assert_eq!(t.name(&ga.victim.loc).as_bytes(), *name, "{what}");
                // One path mentioned twice (as the group's keeper and an action's, or as a
                // keeper link and an action's keeper) is one location of the loaded tree.
                if let Some(k) = &ga.other_keeper {
                    assert_eq!(got.keeper_links[0], k.loc, "{what}");
                }
                assert_eq!((got.method, got.method_why), (want.method, want.method_why));
                assert_eq!(ga.frees_bytes, wa.frees_bytes, "{what}");
                // Whether a hard link frees is counted again from what the plan holds: its only
                // action frees the inode when that is its one link. A reflink frees what it says.
                let frees = match want.method {
                    Merge::HardLink => wa.victim.nlink == 1 && wa.outside_links == 0,
                    Merge::Reflink => wa.frees,
                };
                assert_eq!((ga.frees, ga.outside_links), (frees, wa.outside_links));
            }
        }
    }

    #[test]
    fn names_that_are_not_one_entry_of_a_directory_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plan.json");
        let mut tree = tree();
        for name in [&b""[..], b".", b"..", b"a/b", b"/", b"../etc\xff"] {
            let plan = plan(&mut tree, &[name]);
            save(&path, &tree, &plan, &RunOptions::default()).expect("save");
            let what = String::from_utf8_lossy(name);
            match load(&path) {
                Err(Error::Damaged { detail: why, .. }) => {
                    assert!(why.contains("group 1 is malformed"), "{what}: {why}")
                }
                Err(e) => panic!("{what}: refused for another reason: {e}"),
                Ok(_) => panic!("{what}: accepted"),
            }
        }
        // The same plan with a plain name loads: the refusals are the names'.
        let plan = plan(&mut tree, &[b"ok"]);
        save(&path, &tree, &plan, &RunOptions::default()).expect("save");
        assert!(load(&path).is_ok());
    }

    #[test]
    fn an_edited_body_is_refused_by_its_checksum() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plan.json");
        let mut tree = tree();
        let plan = plan(&mut tree, &[b"bad\xffname"]);
        save(&path, &tree, &plan, &RunOptions::default()).expect("save");
        let text = std::fs::read(&path).expect("read");
        let mut doc: Value = serde_json::from_slice(&text).expect("a plan is JSON");
        doc["body"]["groups"][0]["actions"][0]["victim"]["loc"]["name_bytes"][0] = json!(b'x');
        std::fs::write(&path, serde_json::to_vec(&doc).expect("json")).expect("write");
        match load(&path) {
            Err(Error::Damaged { detail, .. }) => assert!(detail.contains("checksum"), "{detail}"),
            Err(e) => panic!("refused for another reason: {e}"),
            Ok(_) => panic!("an edited plan was accepted"),
        }
    }
}
