//! The incremental hash cache (`--cache`): partial and full hashes keyed by (device, inode,
//! size, mtime, ctime), so a run over an unchanged tree reads no file bytes to group it (the
//! executor still compares every pair byte for byte before a swap). Any change to a file moves
//! its ctime, so a stale entry is never used. The store is one compact file of fixed-size
//! records under a checksum, loaded whole and written back whole (to a new name, then renamed):
//! a damaged file or one of another version is detected, reported and rebuilt, never trusted.
//! It is a state file ([`crate::statefile`]): a cache that is not the invoking user's own is
//! refused, since whoever writes it decides what the scan reports as duplicates.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use xxhash_rust::xxh3::xxh3_128;

use crate::error::Error;
use crate::error::StateKind;
use crate::model::Identity;
use crate::statefile;

const MAGIC: &[u8; 8] = b"LNKDUPHC";
/// 2: full hashes skip holes and zero blocks (see `scan::hash`).
const VERSION: u32 = 2;
const RECORD: usize = 8 * 3 + 12 + 12 + 4 + 16 + 16;
const HEADER: usize = 8 + 4 + 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, u32),
    ctime: (i64, u32),
}

impl Key {
    fn of(i: &Identity) -> Key {
        Key {
            dev: i.id.dev,
            ino: i.id.ino,
            len: i.len.0,
            mtime: (i.mtime.sec, i.mtime.nsec),
            ctime: (i.ctime.sec, i.ctime.nsec),
        }
    }
}

/// Which hash of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// First and last block.
    Partial,
    /// Whole content.
    Full,
}

#[derive(Clone, Copy, Debug, Default)]
struct Hashes {
    partial: Option<u128>,
    full: Option<u128>,
}

/// The cache of one run: what was on disk, plus what this run computed.
pub struct HashCache {
    path: PathBuf,
    old: HashMap<Key, Hashes>,
    new: Mutex<HashMap<Key, Hashes>>,
}

impl HashCache {
    /// Load the cache at `path`; a missing one is empty, a damaged one or one of another
    /// version is reported (through the returned warning) and replaced by an empty one. One
    /// that is not the invoking user's own is an error: it is never read, nor replaced.
    pub fn open(path: &Path) -> Result<(HashCache, Option<Error>), Error> {
        let read = statefile::open_read(path, StateKind::Cache).and_then(|f| match f {
            None => Err(Error::io(path, std::io::ErrorKind::NotFound.into())),
            Some(mut f) => {
                let mut bytes = Vec::new();
                f.read_to_end(&mut bytes)
                    .map(|_| bytes)
                    .map_err(|e| Error::io(path, e))
            }
        });
        let (old, problem) = match read {
            Ok(bytes) => match decode(&bytes) {
                Some(map) => (map, None),
                None => (
                    HashMap::new(),
                    Some(Error::Changed {
                        path: path.to_path_buf(),
                        what: "hash cache is damaged or from another version; rebuilding it".into(),
                    }),
                ),
            },
            Err(Error::Io { err, .. }) if err.kind() == std::io::ErrorKind::NotFound => {
                (HashMap::new(), None)
            }
            Err(e @ Error::Untrusted { .. }) => return Err(e),
            Err(e) => (HashMap::new(), Some(e)),
        };
        let cache = HashCache {
            path: path.to_path_buf(),
            old,
            new: Mutex::new(HashMap::new()),
        };
        Ok((cache, problem))
    }

    pub fn get(&self, ident: &Identity, kind: Kind) -> Option<u128> {
        let h = self.old.get(&Key::of(ident))?;
        match kind {
            Kind::Partial => h.partial,
            Kind::Full => h.full,
        }
    }

    pub fn put(&self, ident: &Identity, kind: Kind, hash: u128) {
        if let Ok(mut new) = self.new.lock() {
            let key = Key::of(ident);
            let e = new
                .entry(key)
                .or_insert_with(|| self.old.get(&key).copied().unwrap_or_default());
            match kind {
                Kind::Partial => e.partial = Some(hash),
                Kind::Full => e.full = Some(hash),
            }
        }
    }

    /// Write the merged cache back (to a new name first, then renamed over the old one).
    pub fn save(self) -> Result<(), Error> {
        let new = self.new.into_inner().unwrap_or_default();
        if new.is_empty() {
            return Ok(());
        }
        let mut all = self.old;
        all.extend(new);
        statefile::write_whole(&self.path, StateKind::Cache, &encode(&all))
    }
}

fn encode(map: &HashMap<Key, Hashes>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + map.len() * RECORD + 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(map.len() as u64).to_le_bytes());
    for (k, h) in map {
        out.extend_from_slice(&k.dev.to_le_bytes());
        out.extend_from_slice(&k.ino.to_le_bytes());
        out.extend_from_slice(&k.len.to_le_bytes());
        out.extend_from_slice(&k.mtime.0.to_le_bytes());
        out.extend_from_slice(&k.mtime.1.to_le_bytes());
        out.extend_from_slice(&k.ctime.0.to_le_bytes());
        out.extend_from_slice(&k.ctime.1.to_le_bytes());
        let flags = u32::from(h.partial.is_some()) | (u32::from(h.full.is_some()) << 1);
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&h.partial.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&h.full.unwrap_or(0).to_le_bytes());
    }
    let sum = xxh3_128(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<HashMap<Key, Hashes>> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(16)?)?;
    if xxh3_128(body).to_le_bytes() != sum || body.len() < HEADER || &body[..8] != MAGIC {
        return None;
    }
    let u32_at =
        |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
    let u64_at =
        |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    let u128_at =
        |b: &[u8], i: usize| u128::from_le_bytes(b[i..i + 16].try_into().unwrap_or_default());
    if u32_at(body, 8) != VERSION {
        return None;
    }
    let count = usize::try_from(u64_at(body, 12)).ok()?;
    let records = &body[HEADER..];
    if records.len() != count.checked_mul(RECORD)? {
        return None;
    }
    let mut map = HashMap::with_capacity(count);
    for r in records.chunks_exact(RECORD) {
        let key = Key {
            dev: u64_at(r, 0),
            ino: u64_at(r, 8),
            len: u64_at(r, 16),
            mtime: (u64_at(r, 24) as i64, u32_at(r, 32)),
            ctime: (u64_at(r, 36) as i64, u32_at(r, 44)),
        };
        let flags = u32_at(r, 48);
        let h = Hashes {
            partial: (flags & 1 != 0).then(|| u128_at(r, 52)),
            full: (flags & 2 != 0).then(|| u128_at(r, 68)),
        };
        map.insert(key, h);
    }
    Some(map)
}
