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
/// 2: full hashes skip holes and zero blocks (see `scan::hash`). 3: files of at most 64 KiB
/// have the plain xxh3-128 of their content as their full hash (it was 8 KiB).
const VERSION: u32 = 3;
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
                    Some(Error::Damaged {
                        path: path.to_path_buf(),
                        what: StateKind::Cache,
                        detail: String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FileId, FileLen, Timestamp};

    fn ident(dev: u64, ino: u64, len: u64, mtime: (i64, u32), ctime: (i64, u32)) -> Identity {
        Identity {
            id: FileId { dev, ino },
            len: FileLen(len),
            mtime: Timestamp {
                sec: mtime.0,
                nsec: mtime.1,
            },
            ctime: Timestamp {
                sec: ctime.0,
                nsec: ctime.1,
            },
            mode: 0o100_644,
            uid: 0,
            gid: 0,
        }
    }

    /// Files whose keys use every field, extreme values and signs included.
    fn idents() -> Vec<Identity> {
        vec![
            ident(1, 2, 3, (4, 5), (6, 7)),
            ident(
                u64::MAX,
                u64::MAX,
                u64::MAX,
                (i64::MAX, 999_999_999),
                (i64::MIN, 0),
            ),
            ident(0x0803, 12, 4096, (-1, 999_999_999), (-86_400, 1)),
            ident(0x0803, 13, 1 << 40, (1_700_000_000, 0), (1_700_000_001, 0)),
        ]
    }

    /// One entry of each kind: partial only, full only, both, neither.
    fn sample() -> HashMap<Key, Hashes> {
        let hashes = [
            (Some(0x1111_u128), None),
            (None, Some(u128::MAX)),
            (Some(1), Some(u128::MAX - 1)),
            (None, None),
        ];
        idents()
            .iter()
            .zip(hashes)
            .map(|(i, (partial, full))| (Key::of(i), Hashes { partial, full }))
            .collect()
    }

    /// A map in a comparable, order-free form (`Hashes` has no `PartialEq`).
    type Flat = (
        u64,
        u64,
        u64,
        (i64, u32),
        (i64, u32),
        Option<u128>,
        Option<u128>,
    );

    fn flat(m: &HashMap<Key, Hashes>) -> Vec<Flat> {
        let mut v: Vec<_> = m
            .iter()
            .map(|(k, h)| (k.dev, k.ino, k.len, k.mtime, k.ctime, h.partial, h.full))
            .collect();
        v.sort();
        v
    }

    /// `body` with a correct checksum after it: what a damaged file can't have, but a file of
    /// another version or a malformed writer could.
    fn reseal(body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        out.extend_from_slice(&xxh3_128(body).to_le_bytes());
        out
    }

    #[test]
    fn encode_decode_round_trip() {
        let all = sample();
        let mut cases: Vec<(String, HashMap<Key, Hashes>)> = vec![("empty".into(), HashMap::new())];
        for (k, h) in &all {
            cases.push((format!("one entry {h:?}"), HashMap::from([(*k, *h)])));
        }
        cases.push(("all entries".into(), all));
        for (what, map) in cases {
            let bytes = encode(&map);
            assert_eq!(bytes.len(), HEADER + map.len() * RECORD + 16, "{what}");
            assert_eq!(&bytes[..8], MAGIC, "{what}");
            let back = decode(&bytes).unwrap_or_else(|| panic!("{what}: refused its own encoding"));
            assert_eq!(flat(&back), flat(&map), "{what}");
        }
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = encode(&sample());
        for at in 0..bytes.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= mask;
                assert!(
                    decode(&damaged).is_none(),
                    "byte {at} of {} ^ {mask:#04x} was trusted",
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        let bytes = encode(&sample());
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_none(), "cut to {len} bytes");
        }
        for extra in [&[0u8][..], &[0; 16], &bytes[..RECORD]] {
            let mut longer = bytes.clone();
            longer.extend_from_slice(extra);
            assert!(decode(&longer).is_none(), "{} bytes appended", extra.len());
        }
    }

    #[test]
    fn a_well_sealed_body_of_another_format_is_refused() {
        let bytes = encode(&sample());
        let body = &bytes[..bytes.len() - 16];
        assert!(
            decode(&reseal(body)).is_some(),
            "the reseal itself is wrong"
        );
        let with = |at: usize, new: &[u8]| {
            let mut b = body.to_vec();
            b[at..at + new.len()].copy_from_slice(new);
            b
        };
        let count = |n: u64| with(12, &n.to_le_bytes());
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("another magic", with(0, b"LNKDUPHD")),
            ("version 1", with(8, &1u32.to_le_bytes())),
            ("version 3", with(8, &(VERSION + 1).to_le_bytes())),
            ("one record more than counted", count(3)),
            ("one record fewer than counted", count(5)),
            ("a count that overflows", count(u64::MAX)),
            ("a count of zero", count(0)),
            ("a record cut short", body[..body.len() - 1].to_vec()),
            ("the magic alone", body[..8].to_vec()),
            ("nothing", Vec::new()),
        ];
        for (what, b) in cases {
            assert!(decode(&reseal(&b)).is_none(), "{what}: trusted");
        }
    }

    #[test]
    fn open_trusts_only_an_intact_cache_and_rebuilds_a_damaged_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hashes.bin");
        let files = idents();

        // Missing: empty, no warning.
        let (cache, problem) = HashCache::open(&path).expect("open a missing cache");
        assert!(problem.is_none(), "{problem:?}");
        assert_eq!(cache.get(&files[0], Kind::Partial), None);
        for (i, f) in files.iter().enumerate() {
            cache.put(f, Kind::Partial, i as u128);
            cache.put(f, Kind::Full, 100 + i as u128);
        }
        cache.save().expect("save");

        // Saved: read back whole.
        let (cache, problem) = HashCache::open(&path).expect("reopen");
        assert!(problem.is_none(), "{problem:?}");
        for (i, f) in files.iter().enumerate() {
            assert_eq!(cache.get(f, Kind::Partial), Some(i as u128));
            assert_eq!(cache.get(f, Kind::Full), Some(100 + i as u128));
        }
        // A file whose ctime moved is another key: never served a stale hash.
        let mut moved = files[0];
        moved.ctime.nsec += 1;
        assert_eq!(cache.get(&moved, Kind::Full), None);
        drop(cache);

        // One flipped byte anywhere: reported, and nothing of it served.
        let good = std::fs::read(&path).expect("read the cache");
        assert_eq!(good.len(), HEADER + files.len() * RECORD + 16);
        for at in 0..good.len() {
            let mut damaged = good.clone();
            damaged[at] ^= 0x20;
            std::fs::write(&path, &damaged).expect("write");
            let (cache, problem) = HashCache::open(&path)
                .unwrap_or_else(|e| panic!("byte {at}: a damaged cache is an error: {e}"));
            assert!(
                matches!(
                    &problem,
                    Some(Error::Damaged {
                        what: StateKind::Cache,
                        ..
                    })
                ),
                "byte {at}: not reported: {problem:?}"
            );
            for f in &files {
                for kind in [Kind::Partial, Kind::Full] {
                    assert_eq!(cache.get(f, kind), None, "byte {at}: trusted");
                }
            }
        }

        // Rebuilt: what this run computes replaces the damaged file.
        let (cache, problem) = HashCache::open(&path).expect("open damaged");
        assert!(problem.is_some());
        cache.put(&files[1], Kind::Full, 42);
        cache.save().expect("save over the damaged cache");
        let (cache, problem) = HashCache::open(&path).expect("open rebuilt");
        assert!(problem.is_none(), "{problem:?}");
        assert_eq!(cache.get(&files[1], Kind::Full), Some(42));
        assert_eq!(cache.get(&files[1], Kind::Partial), None);
        assert_eq!(cache.get(&files[0], Kind::Full), None);
    }
}
