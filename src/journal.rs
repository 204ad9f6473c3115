//! The undo journal: every real run appends one JSON line per swap, written (to the kernel)
//! before the swap begins, so that a crash can't lose an entry. Each line records the replaced
//! path, its keeper, and what the replaced file was (mode, owner, times, extended attributes),
//! which `linkdup undo` uses to give the path back a file of its own. Journals live under the
//! user's state directory (`$XDG_STATE_HOME/linkdup/`), never inside a scanned tree.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::Error;
use crate::model::{FileId, Timestamp};
use crate::planfile::{read_ts, ts};
use crate::sys::Stat;

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
}

/// An open journal, appended to.
pub struct Journal {
    file: File,
    pub path: PathBuf,
    cwd: PathBuf,
    /// Bytes in the file: where a failed write is cut back to.
    len: u64,
    /// A failed line could not be cut back: nothing more may be recorded (or linked).
    broken: bool,
}

/// `$XDG_STATE_HOME/linkdup`, or `~/.local/state/linkdup`.
pub fn default_dir() -> Option<PathBuf> {
    crate::config::xdg_dir("XDG_STATE_HOME", ".local/state")
}

impl Journal {
    /// Open `explicit`, or a new file in [`default_dir`], for appending.
    pub fn create(explicit: Option<&Path>) -> Result<Journal, Error> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let dir = default_dir().ok_or_else(|| {
                    Error::Usage("no state directory (HOME is not set); pass --journal FILE".into())
                })?;
                fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                dir.join(format!("journal-{secs}-{}.jsonl", std::process::id()))
            }
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        // One writer per journal: a failed line is cut back to `len`, which must then be ours.
        if !crate::sys::lock_exclusive(&file).map_err(|e| Error::io(&path, e))? {
            return Err(Error::Usage(format!(
                "{}: undo journal in use by another linkdup run; give this one its own \
                 --journal. Nothing was changed.",
                crate::report::escape::Escaped(&path)
            )));
        }
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        Ok(Journal {
            file,
            path,
            cwd,
            len,
            broken: false,
        })
    }

    /// Record a swap about to happen. One `write` of one line: it reaches the kernel before the
    /// swap does.
    pub fn record(
        &mut self,
        victim_path: &Path,
        keeper_path: &Path,
        keeper: &Stat,
        victim: &Stat,
        xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> io::Result<()> {
        let e = Entry {
            path: self.cwd.join(victim_path),
            keeper: self.cwd.join(keeper_path),
            keeper_id: keeper.ident.id,
            len: victim.ident.len.0,
            keeper_mtime: keeper.ident.mtime,
            uid: victim.ident.uid,
            gid: victim.ident.gid,
            mode: victim.ident.mode,
            mtime: victim.ident.mtime,
            atime: victim.atime,
            xattrs,
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

fn to_json(e: &Entry) -> Value {
    json!({
        "v": 1,
        "path": e.path.as_os_str().as_bytes(),
        "keeper": e.keeper.as_os_str().as_bytes(),
        "keeper_dev": e.keeper_id.dev,
        "keeper_ino": e.keeper_id.ino,
        "size": e.len,
        "keeper_mtime": ts(e.keeper_mtime),
        "uid": e.uid, "gid": e.gid, "mode": e.mode,
        "mtime": ts(e.mtime), "atime": ts(e.atime),
        "xattrs": e.xattrs.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
    })
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    v.as_array()?
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect()
}

fn from_json(v: &Value) -> Option<Entry> {
    let u32_of = |k: &str| v[k].as_u64().and_then(|x| u32::try_from(x).ok());
    if v["v"] != 1 {
        return None;
    }
    Some(Entry {
        path: PathBuf::from(std::ffi::OsStr::from_bytes(&bytes(&v["path"])?)),
        keeper: PathBuf::from(std::ffi::OsStr::from_bytes(&bytes(&v["keeper"])?)),
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
    })
}

/// Read a journal. A last line cut short by a crash is ignored; any other bad line is an error.
pub fn read(path: &Path) -> Result<Vec<Entry>, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let lines: Vec<String> = io::BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let entry = serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|v| from_json(&v));
        match entry {
            Some(e) => out.push(e),
            None if i + 1 == lines.len() => {} // torn by a crash mid-write
            None => {
                return Err(Error::Changed {
                    path: path.to_path_buf(),
                    what: format!("line {} is not a journal entry; nothing was changed", i + 1),
                });
            }
        }
    }
    Ok(out)
}
