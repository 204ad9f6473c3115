//! The undo journal: every real run appends one JSON line per swap, written (to the kernel)
//! before the swap begins, so that a crash can't lose an entry. Each line records the replaced
//! path and its keeper (absolute, as their directories' fds say), the identities of both files
//! and of both directories, the temporary name the swap uses, who ran it, and what the replaced
//! file was (mode, owner, times, extended attributes). `linkdup undo` re-proves all of it on the
//! live files before acting; recovery takes a recorded temp name as proof that linkdup made it.
//!
//! Journals are state files ([`crate::statefile`]): created exclusively with mode 0600 under
//! the user's state directory (`$XDG_STATE_HOME/linkdup/`) or at `--journal FILE`, never inside
//! a scanned tree, and read back only when they are the invoking user's own.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::codec::{get_bytes, put_bytes, read_ts, ts};
use crate::error::Error;
use crate::error::{Refusal, StateKind};
use crate::model::{FileId, Timestamp};
use crate::statefile;
use crate::sys::{self, Stat};

/// The line format this version writes (it reads 1 too).
const VERSION: u64 = 2;

/// What one swap replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The replaced duplicate (absolute).
    pub path: PathBuf,
    /// The keeper it now shares an inode with (absolute).
    pub keeper: PathBuf,
    pub keeper_id: FileId,
    pub len: u64,
    /// The keeper's mtime at the swap: if it differs at undo time, the shared inode was edited.
    pub keeper_mtime: Timestamp,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub mtime: Timestamp,
    pub atime: Timestamp,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// What only version 2 lines have.
    pub v2: Option<EntryV2>,
}

/// The identities a version 2 line adds, which undo and recovery check on the live files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryV2 {
    /// Who ran the link (effective uid).
    pub run_uid: u32,
    /// The replaced file's inode.
    pub victim_id: FileId,
    /// The directories of the replaced path and of the keeper.
    pub dir_id: FileId,
    pub keeper_dir_id: FileId,
    /// The temporary name the swap used beside the replaced path.
    pub tmp: OsString,
}

/// One swap about to happen, as the executor knows it.
pub struct Record<'a> {
    pub path: &'a Path,
    pub keeper: &'a Path,
    pub dir: FileId,
    pub keeper_dir: FileId,
    pub tmp: &'a OsStr,
    pub keeper_st: &'a Stat,
    pub victim_st: &'a Stat,
    pub xattrs: &'a [(Vec<u8>, Vec<u8>)],
}

/// An open journal, appended to.
pub struct Journal {
    file: File,
    pub path: PathBuf,
    /// Bytes in the file: where a failed write is cut back to.
    len: u64,
    /// A failed line could not be cut back: nothing more may be recorded (or linked).
    broken: bool,
    /// Made by this run in the state directory (its directory and name): removed again if
    /// nothing was recorded in it.
    made: Option<(statefile::StateDir, OsString)>,
}

impl Journal {
    /// Open `explicit` (an existing journal of ours, or a new file), or a new file in
    /// the state directory ([`crate::dirs::journals`]), for appending.
    pub fn create(explicit: Option<&Path>) -> Result<Journal, Error> {
        let (file, path, made) = match explicit {
            Some(p) => (
                statefile::open_append(p, StateKind::Journal)?,
                p.to_path_buf(),
                None,
            ),
            None => {
                let (file, path, dir, name) = new_in_default_dir()?;
                (file, path, Some((dir, name)))
            }
        };
        // One writer per journal: a failed line is cut back to `len`, which must then be ours.
        if !sys::lock_exclusive(&file).map_err(|e| Error::io(&path, e))? {
            return Err(Error::Refused(Refusal::JournalBusy(path)));
        }
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        Ok(Journal {
            file,
            path,
            len,
            broken: false,
            made,
        })
    }

    /// Close the journal; one this run made and recorded nothing in is removed (a run that
    /// linked nothing leaves no empty journal behind). Returns whether it was kept.
    pub fn finish(self) -> bool {
        let Some((dir, name)) = &self.made else {
            return true;
        };
        if self.len > 0 {
            return true;
        }
        // Only the file we made and still hold, through the directory we verified.
        let ours = sys::stat_fd(std::os::fd::AsFd::as_fd(&self.file)).map(|s| s.ident.id);
        match (ours, sys::stat_at(dir.fd(), name.as_os_str())) {
            (Ok(id), Ok(now)) if now.ident.id == id => {
                sys::unlink_at(dir.fd(), name.as_os_str()).is_err()
            }
            _ => true,
        }
    }

    /// Record a swap about to happen. One `write` of one line: it reaches the kernel before the
    /// swap does.
    pub fn record(&mut self, r: &Record<'_>) -> io::Result<()> {
        let (k, v) = (&r.keeper_st.ident, &r.victim_st.ident);
        let e = Entry {
            path: r.path.to_path_buf(),
            keeper: r.keeper.to_path_buf(),
            keeper_id: k.id,
            len: v.len.0,
            keeper_mtime: k.mtime,
            uid: v.uid,
            gid: v.gid,
            mode: v.mode,
            mtime: v.mtime,
            atime: r.victim_st.atime,
            xattrs: r.xattrs.to_vec(),
            v2: Some(EntryV2 {
                run_uid: sys::euid(),
                victim_id: v.id,
                dir_id: r.dir,
                keeper_dir_id: r.keeper_dir,
                tmp: r.tmp.to_owned(),
            }),
        };
        let mut line = serde_json::to_vec(&to_json(&e))?;
        line.push(b'\n');
        if self.broken {
            return Err(io::Error::other(
                "the journal holds a line cut short that could not be removed",
            ));
        }
        match self.file.write_all(&line) {
            Ok(()) => {
                self.len += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                // A line cut short (a full disk) would make every later line unreadable: take
                // it back, so that the journal stays whole and the record can be tried again.
                if self.file.set_len(self.len).is_err() {
                    self.broken = true;
                }
                Err(e)
            }
        }
    }
}

/// A new journal file in the default state directory (made 0700 if missing), with that
/// directory and the file's name.
fn new_in_default_dir() -> Result<(File, PathBuf, statefile::StateDir, OsString), Error> {
    let dir = crate::dirs::journals().ok_or(Error::Refused(Refusal::NoStateDir))?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let first = dir.join(format!("journal-{secs}-{}.jsonl", std::process::id()));
    let (state_dir, _) = statefile::dir_of(&first, StateKind::Journal, true)?;
    for n in 0..100 {
        let name = match n {
            0 => format!("journal-{secs}-{}.jsonl", std::process::id()),
            n => format!("journal-{secs}-{}-{n}.jsonl", std::process::id()),
        };
        let path = dir.join(&name);
        match statefile::create_new(&state_dir, OsStr::new(&name)) {
            Ok(f) => return Ok((f, path, state_dir, name.into())),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Err(Error::io(
        first,
        io::Error::from(io::ErrorKind::AlreadyExists),
    ))
}

fn id_json(id: FileId) -> Value {
    json!([id.dev, id.ino])
}

fn read_id(v: &Value) -> Option<FileId> {
    Some(FileId {
        dev: v[0].as_u64()?,
        ino: v[1].as_u64()?,
    })
}

fn to_json(e: &Entry) -> Value {
    let mut v = json!({
        "v": VERSION,
        "keeper_dev": e.keeper_id.dev,
        "keeper_ino": e.keeper_id.ino,
        "size": e.len,
        "keeper_mtime": ts(e.keeper_mtime),
        "uid": e.uid, "gid": e.gid, "mode": e.mode,
        "mtime": ts(e.mtime), "atime": ts(e.atime),
        "xattrs": e.xattrs.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
    });
    if let Value::Object(m) = &mut v {
        put_bytes(m, "path", e.path.as_os_str().as_bytes());
        put_bytes(m, "keeper", e.keeper.as_os_str().as_bytes());
        if let Some(x) = &e.v2 {
            put_bytes(m, "tmp", x.tmp.as_bytes());
        }
    }
    if let Some(x) = &e.v2 {
        v["run_uid"] = json!(x.run_uid);
        v["victim"] = id_json(x.victim_id);
        v["dir"] = id_json(x.dir_id);
        v["keeper_dir"] = id_json(x.keeper_dir_id);
    }
    v
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    v.as_array()?
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect()
}

fn from_json(v: &Value) -> Option<Entry> {
    let u32_of = |k: &str| v[k].as_u64().and_then(|x| u32::try_from(x).ok());
    let version = v["v"].as_u64()?;
    let v2 = match version {
        1 => None,
        2 => Some(EntryV2 {
            run_uid: u32_of("run_uid")?,
            victim_id: read_id(&v["victim"])?,
            dir_id: read_id(&v["dir"])?,
            keeper_dir_id: read_id(&v["keeper_dir"])?,
            tmp: OsString::from(OsStr::from_bytes(&get_bytes(v, "tmp")?)),
        }),
        _ => return None,
    };
    Some(Entry {
        path: PathBuf::from(OsStr::from_bytes(&get_bytes(v, "path")?)),
        keeper: PathBuf::from(OsStr::from_bytes(&get_bytes(v, "keeper")?)),
        keeper_id: FileId {
            dev: v["keeper_dev"].as_u64()?,
            ino: v["keeper_ino"].as_u64()?,
        },
        len: v["size"].as_u64()?,
        keeper_mtime: read_ts(&v["keeper_mtime"])?,
        uid: u32_of("uid")?,
        gid: u32_of("gid")?,
        mode: u32_of("mode")?,
        mtime: read_ts(&v["mtime"])?,
        atime: read_ts(&v["atime"])?,
        xattrs: v["xattrs"]
            .as_array()?
            .iter()
            .map(|p| Some((bytes(&p[0])?, bytes(&p[1])?)))
            .collect::<Option<_>>()?,
        v2,
    })
}

/// A journal read back: its entries and the owner of the file (who wrote it).
pub struct Read {
    pub entries: Vec<Entry>,
    pub owner: u32,
    /// The journal file itself, as read (for `journals --prune`).
    pub file: FileId,
    /// When it was last written.
    pub modified: Timestamp,
    /// Its last line was cut short (a run killed while writing it) and was ignored.
    pub torn: bool,
}

/// Read a journal, which must be the invoking user's own ([`statefile`]). A last line cut
/// short by a crash (no newline after it) is ignored and said so ([`Read::torn`]); any other
/// line that is not an entry, a complete `{}` included, is an error.
pub fn read(path: &Path) -> Result<Read, Error> {
    let file = statefile::open_read(path, StateKind::Journal)?
        .ok_or_else(|| Error::io(path, io::Error::from_raw_os_error(libc::ENOENT)))?;
    let st = sys::stat_fd(std::os::fd::AsFd::as_fd(&file)).map_err(|e| Error::io(path, e))?;
    let mut data = Vec::new();
    io::Read::read_to_end(&mut &file, &mut data).map_err(|e| Error::io(path, e))?;
    // Every entry is written with its newline in one write: a last line without one is torn.
    let complete = data.is_empty() || data.ends_with(b"\n");
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if complete {
        lines.pop();
    }
    let (mut entries, mut torn) = (Vec::new(), false);
    for (i, line) in lines.iter().enumerate() {
        let entry = serde_json::from_slice::<Value>(line)
            .ok()
            .and_then(|v| from_json(&v));
        match entry {
            Some(e) => entries.push(e),
            None if i + 1 == lines.len() && !complete => torn = true,
            None => {
                return Err(Error::Damaged {
                    path: path.to_path_buf(),
                    what: StateKind::Journal,
                    detail: format!("line {}", i + 1),
                });
            }
        }
    }
    Ok(Read {
        entries,
        owner: st.ident.uid,
        file: st.ident.id,
        modified: st.ident.mtime,
        torn,
    })
}

/// The journal files in the default state directory (`journal-*.jsonl`), in name order (which
/// is time order). Listed only: each is checked when it is read.
pub fn in_state_dir() -> Vec<PathBuf> {
    let Some(dir) = crate::dirs::journals() else {
        return Vec::new();
    };
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.as_bytes().starts_with(b"journal-") && n.as_bytes().ends_with(b".jsonl")
            })
        })
        .collect();
    found.sort();
    found
}

/// Every journal of the invoking user in the default state directory (and `extra`), for
/// recovery: the temp names they record. Journals that can't be read or trusted are left out
/// (named in the returned errors).
pub fn recorded(extra: &[PathBuf]) -> (Vec<Entry>, Vec<Error>) {
    let mut paths: Vec<PathBuf> = extra.to_vec();
    paths.extend(in_state_dir());
    let (mut entries, mut errors) = (Vec::new(), Vec::new());
    for p in paths {
        match read(&p) {
            Ok(r) => entries.extend(
                r.entries
                    .into_iter()
                    .filter(|e| e.v2.as_ref().is_some_and(|x| x.run_uid == sys::euid())),
            ),
            Err(e) => errors.push(e),
        }
    }
    (entries, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attrs, FileLen, Identity};

    /// (path, keeper, temp name, extended attributes) of an entry: names that are not UTF-8,
    /// hold a newline or other control bytes, are empty, or are JSON's own metacharacters.
    type Case = (
        &'static [u8],
        &'static [u8],
        &'static [u8],
        Vec<(Vec<u8>, Vec<u8>)>,
    );

    fn cases() -> Vec<Case> {
        vec![
            (
                b"/t/bad\xffname",
                b"/t/keeper",
                b".linkdup-tmp.00001.abcdef",
                vec![],
            ),
            (
                b"/t/new\nline",
                b"/t/also\nnew\nline",
                b".linkdup-tmp.zzzzz.000000",
                vec![(b"user.note".to_vec(), b"value\n\xff".to_vec())],
            ),
            (
                b"/t/\xff",
                b"/t/\xc3",
                b"\xff",
                vec![
                    (b"user.\xff".to_vec(), Vec::new()),
                    (b"security.x".to_vec(), vec![0, 1, 2, 255]),
                ],
            ),
            (b"", b"", b"", vec![(Vec::new(), Vec::new())]),
            (b"/", b" ", b"\n", vec![]),
            (
                b"/t/\"q\" \\ \x1b[0m\t",
                "/t/caf\u{e9}".as_bytes(),
                b".",
                vec![],
            ),
        ]
    }

    fn path(b: &[u8]) -> PathBuf {
        PathBuf::from(OsStr::from_bytes(b))
    }

    fn ts(sec: i64, nsec: u32) -> Timestamp {
        Timestamp { sec, nsec }
    }

    fn entry(i: usize, (p, k, tmp, xattrs): Case) -> Entry {
        let i = i as u64;
        Entry {
            path: path(p),
            keeper: path(k),
            keeper_id: FileId {
                dev: 8,
                ino: 100 + i,
            },
            len: 1 << (i + 30),
            keeper_mtime: ts(-5 - i as i64, 999_999_999),
            uid: 1000,
            gid: u32::MAX,
            mode: 0o100_640,
            mtime: ts(1_700_000_000, i as u32),
            atime: ts(0, 1),
            xattrs,
            v2: Some(EntryV2 {
                run_uid: sys::euid(),
                victim_id: FileId {
                    dev: 8,
                    ino: 200 + i,
                },
                dir_id: FileId { dev: 8, ino: 2 },
                keeper_dir_id: FileId {
                    dev: u64::MAX,
                    ino: u64::MAX,
                },
                tmp: OsStr::from_bytes(tmp).to_owned(),
            }),
        }
    }

    fn assert_bytes(got: &Entry, want: &Entry) {
        assert_eq!(got, want);
        let b = |p: &Path| p.as_os_str().as_bytes().to_vec();
        assert_eq!(b(&got.path), b(&want.path));
        assert_eq!(b(&got.keeper), b(&want.keeper));
        let tmp = |e: &Entry| e.v2.as_ref().map(|x| x.tmp.as_bytes().to_vec());
        assert_eq!(tmp(got), tmp(want));
        assert_eq!(got.xattrs, want.xattrs);
    }

    #[test]
    fn entries_round_trip_through_one_json_line_with_exact_bytes() {
        for (i, case) in cases().into_iter().enumerate() {
            let e = entry(i, case);
            let line = serde_json::to_vec(&to_json(&e)).expect("json");
            assert!(!line.contains(&b'\n'), "entry {i}: not one line");
            let v: Value = serde_json::from_slice(&line).expect("parse");
            let back = from_json(&v).unwrap_or_else(|| panic!("entry {i}: unreadable: {v}"));
            assert_bytes(&back, &e);
        }
    }

    fn stat(e: &Entry, id: FileId, mtime: Timestamp) -> Stat {
        Stat {
            ident: Identity {
                id,
                len: FileLen(e.len),
                mtime,
                ctime: ts(9, 9),
                mode: e.mode,
                uid: e.uid,
                gid: e.gid,
            },
            atime: e.atime,
            nlink: 1,
            mnt: 1,
            attrs: Attrs::default(),
            kind: rustix::fs::FileType::RegularFile,
        }
    }

    #[test]
    fn a_journal_written_and_read_back_gives_the_exact_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let at = dir.path().join("j.jsonl");
        let want: Vec<Entry> = cases()
            .into_iter()
            .enumerate()
            .map(|(i, c)| entry(i, c))
            .collect();
        let mut j = Journal::create(Some(&at)).expect("create");
        for e in &want {
            let x = e.v2.as_ref().expect("v2");
            let keeper_st = stat(e, e.keeper_id, e.keeper_mtime);
            let victim_st = stat(e, x.victim_id, e.mtime);
            j.record(&Record {
                path: &e.path,
                keeper: &e.keeper,
                dir: x.dir_id,
                keeper_dir: x.keeper_dir_id,
                tmp: &x.tmp,
                keeper_st: &keeper_st,
                victim_st: &victim_st,
                xattrs: &e.xattrs,
            })
            .expect("record");
        }
        drop(j);
        let raw = std::fs::read(&at).expect("read raw");
        assert_eq!(
            raw.iter().filter(|&&b| b == b'\n').count(),
            want.len(),
            "one line per entry, whatever the names hold"
        );
        let got = read(&at).expect("read back");
        assert_eq!(got.owner, sys::euid());
        assert_eq!(got.entries.len(), want.len());
        for (g, w) in got.entries.iter().zip(&want) {
            assert_bytes(g, w);
        }

        // Appending to the same journal keeps what is there.
        let mut j = Journal::create(Some(&at)).expect("reopen");
        let e = &want[0];
        let x = e.v2.as_ref().expect("v2");
        let st = stat(e, x.victim_id, e.mtime);
        j.record(&Record {
            path: &e.path,
            keeper: &e.keeper,
            dir: x.dir_id,
            keeper_dir: x.keeper_dir_id,
            tmp: &x.tmp,
            keeper_st: &stat(e, e.keeper_id, e.keeper_mtime),
            victim_st: &st,
            xattrs: &e.xattrs,
        })
        .expect("record again");
        drop(j);
        let got = read(&at).expect("read back");
        assert_eq!(got.entries.len(), want.len() + 1);
        assert_bytes(&got.entries[want.len()], &want[0]);
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_any_other_bad_line_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let at = dir.path().join("j.jsonl");
        let good = |i: usize| {
            let c = cases().swap_remove(i);
            let mut line = serde_json::to_vec(&to_json(&entry(i, c))).expect("json");
            line.push(b'\n');
            line
        };
        let torn = &good(1)[..40];
        // (file content, entries read back, or None when refused)
        let cases: Vec<(&str, Vec<u8>, Option<usize>)> = vec![
            ("empty", Vec::new(), Some(0)),
            ("two lines", [good(0), good(1)].concat(), Some(2)),
            (
                "a torn last line",
                [good(0), torn.to_vec()].concat(),
                Some(1),
            ),
            (
                "a torn line, then a whole one",
                [good(0), torn.to_vec(), b"\n".to_vec(), good(2)].concat(),
                None,
            ),
            (
                "an entry of an unknown version",
                [with_version(&good(0), 9), good(1)].concat(),
                None,
            ),
            (
                "a line of JSON that is not an entry",
                [b"{}\n".to_vec(), good(0)].concat(),
                None,
            ),
        ];
        for (what, content, want) in cases {
            std::fs::write(&at, &content).expect("write");
            match (read(&at), want) {
                (Ok(r), Some(n)) => assert_eq!(r.entries.len(), n, "{what}"),
                (Err(e), None) => {
                    assert!(e.to_string().contains("not a journal entry"), "{what}: {e}")
                }
                (Ok(r), None) => panic!("{what}: read {} entries", r.entries.len()),
                (Err(e), Some(_)) => panic!("{what}: refused: {e}"),
            }
        }
    }

    /// `line` with its version number changed.
    fn with_version(line: &[u8], v: u64) -> Vec<u8> {
        let mut value: Value = serde_json::from_slice(line).expect("json");
        value["v"] = json!(v);
        let mut line = serde_json::to_vec(&value).expect("json");
        line.push(b'\n');
        line
    }

    #[test]
    fn a_first_format_line_with_byte_array_names_is_read() {
        let v = json!({
            "v": 1,
            "path": [47, 98, 97, 100, 255],
            "keeper": "/k",
            "keeper_dev": 1, "keeper_ino": 2, "size": 3,
            "keeper_mtime": [4, 5],
            "uid": 6, "gid": 7, "mode": 0o100_644,
            "mtime": [8, 9], "atime": [10, 11],
            "xattrs": [[[117, 255], [0]]],
        });
        let e = from_json(&v).expect("a version 1 line");
        assert_eq!(e.path.as_os_str().as_bytes(), b"/bad\xff");
        assert_eq!(e.keeper.as_os_str().as_bytes(), b"/k");
        assert_eq!(e.xattrs, vec![(b"u\xff".to_vec(), vec![0])]);
        assert_eq!(e.v2, None);
        assert_eq!(e.keeper_mtime, ts(4, 5));
    }
}
