//! The scan's compact table of regular files. Every path the walk keeps is one fixed-size
//! [`Rec`] (64 bytes) plus its name, NUL-terminated, in one shared byte arena: no allocation per
//! file, and no path is built until a file turns out to be a duplicate. Devices and mount ids,
//! shared by thousands of files, are interned in a small table of places.

use std::collections::HashMap;
use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;

use crate::model::{Attrs, DirIdx, FileId, FileLen, Identity, Loc, NamesFull, Timestamp, Tree};
use crate::sys::Stat;

/// One path of a regular file: its directory, its name (an offset in the names arena of [`Files`]) and what
/// `statx` said of its inode. Fields are split and packed (not [`Identity`]) so that the record
/// takes 64 bytes.
#[derive(Clone, Copy, Debug)]
pub struct Rec {
    pub len: u64,
    pub ino: u64,
    mtime_sec: i64,
    ctime_sec: i64,
    mtime_nsec: u32,
    ctime_nsec: u32,
    /// Offset of the name in the arena.
    name: u32,
    pub dir: DirIdx,
    uid: u32,
    gid: u32,
    /// Link count (low 30 bits, saturated) and the immutable / append-only flags (top bits).
    nlink_attrs: u32,
    /// `st_mode` (file type and permission bits: 16 bits, as `statx` reports it).
    mode: u16,
    /// Index of (device, mount id) in [`Files::places`].
    place: u16,
}

const NLINK_MAX: u32 = (1 << 30) - 1;
const IMMUTABLE: u32 = 1 << 30;
const APPEND_ONLY: u32 = 1 << 31;

/// Regular files as packed records, their names, and the (device, mount id) pairs they live on.
#[derive(Debug, Default)]
pub struct Files {
    pub recs: Vec<Rec>,
    names: Vec<u8>,
    places: Vec<(u64, u64)>,
    place_of: HashMap<(u64, u64), u16>,
}

/// The table can't take more: the reason, for the message.
#[derive(Debug)]
pub struct Full(pub &'static str);

pub const TOO_MANY_NAMES: Full = Full("more than 4 GiB of file names in one scan");
const TOO_MANY_PLACES: Full = Full("more than 65,536 filesystems and mounts in one scan");

impl Files {
    fn place(&mut self, dev: u64, mnt: u64) -> Result<u16, Full> {
        if let Some(&(d, m)) = self.places.last()
            && (d, m) == (dev, mnt)
        {
            return Ok((self.places.len() - 1) as u16);
        }
        if let Some(&p) = self.place_of.get(&(dev, mnt)) {
            return Ok(p);
        }
        let p = u16::try_from(self.places.len()).map_err(|_| TOO_MANY_PLACES)?;
        self.places.push((dev, mnt));
        self.place_of.insert((dev, mnt), p);
        Ok(p)
    }

    /// Add a file named `name` in `dir`.
    pub fn push(&mut self, dir: DirIdx, name: &[u8], st: &Stat) -> Result<(), Full> {
        let offset = u32::try_from(self.names.len()).map_err(|_| TOO_MANY_NAMES)?;
        if u32::try_from(self.names.len() + name.len() + 1).is_err() {
            return Err(TOO_MANY_NAMES);
        }
        let id = &st.ident;
        let place = self.place(id.id.dev, st.mnt)?;
        self.names.extend_from_slice(name);
        self.names.push(0);
        self.recs.push(Rec {
            len: id.len.0,
            ino: id.id.ino,
            mtime_sec: id.mtime.sec,
            ctime_sec: id.ctime.sec,
            mtime_nsec: id.mtime.nsec,
            ctime_nsec: id.ctime.nsec,
            name: offset,
            dir,
            mode: id.mode as u16,
            uid: id.uid,
            gid: id.gid,
            nlink_attrs: u32::try_from(st.nlink).map_or(NLINK_MAX, |n| n.min(NLINK_MAX))
                | (if st.attrs.immutable { IMMUTABLE } else { 0 })
                | (if st.attrs.append_only { APPEND_ONLY } else { 0 }),
            place,
        });
        Ok(())
    }

    /// Move every file of `other` (one directory's listing) here, under directory `dir`.
    pub fn append(&mut self, other: Files, dir: DirIdx) -> Result<(), Full> {
        let base = self.names.len();
        if u32::try_from(base + other.names.len()).is_err() {
            return Err(TOO_MANY_NAMES);
        }
        let remap: Vec<u16> = other
            .places
            .iter()
            .map(|&(d, m)| self.place(d, m))
            .collect::<Result<_, _>>()?;
        self.names.extend_from_slice(&other.names);
        self.recs.extend(other.recs.into_iter().map(|mut r| {
            r.name += base as u32;
            r.dir = dir;
            r.place = remap[r.place as usize];
            r
        }));
        Ok(())
    }

    /// The name as a C string (for `*at` calls, no copy).
    pub fn c_name(&self, r: &Rec) -> &CStr {
        let start = r.name as usize;
        let end = start
            + self.names[start..]
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(self.names.len() - start);
        // The arena always holds the NUL we wrote after every name.
        CStr::from_bytes_with_nul(&self.names[start..=end]).unwrap_or_default()
    }

    pub fn name(&self, r: &Rec) -> &OsStr {
        OsStr::from_bytes(self.c_name(r).to_bytes())
    }

    pub fn dev(&self, r: &Rec) -> u64 {
        self.places[r.place as usize].0
    }

    pub fn mnt(&self, r: &Rec) -> u64 {
        self.places[r.place as usize].1
    }

    pub fn id(&self, r: &Rec) -> FileId {
        FileId {
            dev: self.dev(r),
            ino: r.ino,
        }
    }

    pub fn ident(&self, r: &Rec) -> Identity {
        Identity {
            id: self.id(r),
            len: FileLen(r.len),
            mtime: Timestamp {
                sec: r.mtime_sec,
                nsec: r.mtime_nsec,
            },
            ctime: Timestamp {
                sec: r.ctime_sec,
                nsec: r.ctime_nsec,
            },
            mode: u32::from(r.mode),
            uid: r.uid,
            gid: r.gid,
        }
    }

    pub fn nlink(r: &Rec) -> u64 {
        u64::from(r.nlink_attrs & NLINK_MAX)
    }

    pub fn attrs(r: &Rec) -> Attrs {
        Attrs {
            immutable: r.nlink_attrs & IMMUTABLE != 0,
            append_only: r.nlink_attrs & APPEND_ONLY != 0,
        }
    }

    /// The full path of a record, as the user will see it (for messages).
    pub fn path(&self, tree: &Tree, r: &Rec) -> std::path::PathBuf {
        tree.dir(r.dir).path.join(self.name(r))
    }

    /// The location of a record, its name copied into `tree`'s arena.
    pub fn loc(&self, tree: &mut Tree, r: &Rec) -> Result<Loc, NamesFull> {
        tree.loc(r.dir, self.name(r).as_bytes(), self.mnt(r))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// Keep only the records `keep` says yes to, and give the memory of the others back.
    pub fn retain(&mut self, keep: impl FnMut(&Rec) -> bool) {
        self.recs.retain(keep);
        self.recs.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_64_bytes() {
        assert_eq!(std::mem::size_of::<Rec>(), 64);
    }
}
