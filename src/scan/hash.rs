//! Splits size groups by content: a partial hash (head and tail) and then a full xxh3-128 hash,
//! each computed in parallel on rayon. Files of at most two blocks are read whole at the first
//! step, which is then final for them. Every file is opened without following symlinks and
//! checked against the walk (same inode, still a regular file of the same length).

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use xxhash_rust::xxh3::{Xxh3Default, xxh3_128};

use super::cache::{HashCache, Kind};
use crate::error::Error;
use crate::listener::{Listener, Stage};
use crate::model::{DupGroup, Inode, SizeGroup, Tree};
use crate::sys;

const BLOCK: u64 = 4096;
/// Files up to this size are hashed whole in the partial step.
pub const SMALL: u64 = 2 * BLOCK;
const BUF: usize = 128 * 1024;

#[derive(Clone, Copy)]
enum Part {
    /// The first and the last block.
    HeadTail,
    Whole,
}

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; BUF]);
}

/// Split groups by a cheap hash: whole content for small files, head and tail for larger ones.
pub fn by_partial(
    tree: &Tree,
    groups: Vec<SizeGroup>,
    listener: &dyn Listener,
    errors: &AtomicU64,
    cache: Option<&HashCache>,
) -> Vec<DupGroup> {
    split(
        tree,
        groups,
        listener,
        errors,
        cache,
        Stage::PartialHash,
        |len| {
            if len <= SMALL {
                Part::Whole
            } else {
                Part::HeadTail
            }
        },
    )
}

/// Split groups by a full xxh3-128 hash of the content (files already hashed whole are kept).
pub fn by_full(
    tree: &Tree,
    groups: Vec<DupGroup>,
    listener: &dyn Listener,
    errors: &AtomicU64,
    cache: Option<&HashCache>,
) -> Vec<DupGroup> {
    let (mut out, todo): (Vec<_>, Vec<_>) = groups.into_iter().partition(|g| g.len.0 <= SMALL);
    let todo = todo
        .into_iter()
        .map(|g| SizeGroup {
            len: g.len,
            inodes: g.inodes,
        })
        .collect();
    out.extend(split(
        tree,
        todo,
        listener,
        errors,
        cache,
        Stage::FullHash,
        |_| Part::Whole,
    ));
    out
}

fn split(
    tree: &Tree,
    groups: Vec<SizeGroup>,
    listener: &dyn Listener,
    errors: &AtomicU64,
    cache: Option<&HashCache>,
    stage: Stage,
    part: impl Fn(u64) -> Part + Sync,
) -> Vec<DupGroup> {
    let jobs: Vec<(usize, &Inode)> = groups
        .iter()
        .enumerate()
        .flat_map(|(gi, g)| g.inodes.iter().map(move |i| (gi, i)))
        .collect();
    let progress = listener.progress();
    let to_read = |len: u64| match part(len) {
        Part::HeadTail => 2 * BLOCK,
        Part::Whole => len,
    };
    if let Some(p) = progress {
        p.start(
            stage,
            jobs.iter().map(|(_, i)| to_read(i.ident.len.0)).sum(),
        );
    }
    let hashes: Vec<Option<u128>> = jobs
        .par_iter()
        .map(|(_, inode)| {
            let p = part(inode.ident.len.0);
            let kind = match p {
                Part::HeadTail => Kind::Partial,
                Part::Whole => Kind::Full,
            };
            let cached = cache.and_then(|c| c.get(&inode.ident, kind));
            let result = match cached {
                Some(h) => Ok(h),
                None => hash_inode(tree, inode, p).inspect(|h| {
                    if let Some(c) = cache {
                        c.put(&inode.ident, kind, *h);
                    }
                }),
            };
            if let Some(p) = progress {
                p.add(to_read(inode.ident.len.0));
            }
            match result {
                Ok(h) => Some(h),
                // A file replaced or rewritten while we scan (another program, another
                // linkdup) is simply not a candidate: a warning, not a failure.
                Err(e @ Error::Changed { .. }) => {
                    listener.warn(&e);
                    None
                }
                Err(e) => {
                    listener.error(&e);
                    errors.fetch_add(1, Ordering::Relaxed);
                    None
                }
            }
        })
        .collect();
    drop(jobs);

    let mut hashes = hashes.into_iter();
    let mut out = Vec::new();
    for g in groups {
        let mut hashed: Vec<(u128, Inode)> = g
            .inodes
            .into_iter()
            .filter_map(|i| hashes.next().flatten().map(|h| (h, i)))
            .collect();
        // Stable: inodes keep their path order inside each hash.
        hashed.sort_by_key(|(h, _)| *h);
        let mut start = 0;
        while start < hashed.len() {
            let h = hashed[start].0;
            let end = start + hashed[start..].iter().take_while(|(x, _)| *x == h).count();
            if end - start >= 2 {
                out.push(DupGroup {
                    len: g.len,
                    hash: h,
                    inodes: hashed[start..end].iter().map(|(_, i)| i.clone()).collect(),
                });
            }
            start = end;
        }
    }
    out
}

fn hash_inode(tree: &Tree, inode: &Inode, part: Part) -> Result<u128, Error> {
    let path = tree.path(&inode.paths[0]);
    let (file, st) = sys::open_regular(&path).map_err(|e| Error::io(&path, e))?;
    let file = match file {
        Some(f) if st.ident.id == inode.ident.id && st.ident.len == inode.ident.len => f,
        _ => {
            return Err(Error::Changed {
                path,
                what: "changed during the scan".into(),
            });
        }
    };
    let len = inode.ident.len.0;
    let hashed = BUFFER.with_borrow_mut(|buf| match part {
        Part::HeadTail => head_tail(&file, len, buf),
        Part::Whole => whole(&file, len, buf),
    });
    match hashed {
        Ok(Some(h)) => Ok(h),
        Ok(None) => Err(Error::Changed {
            path,
            what: "changed size during the scan".into(),
        }),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// The hash of the first and last block; `None` when the file is no longer `len` long.
fn head_tail(file: &File, len: u64, buf: &mut [u8]) -> io::Result<Option<u128>> {
    let n = BLOCK as usize;
    let read = file
        .read_exact_at(&mut buf[..n], 0)
        .and_then(|()| file.read_exact_at(&mut buf[n..2 * n], len - BLOCK));
    match read {
        Ok(()) => Ok(Some(xxh3_128(&buf[..2 * n]))),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// The hash of the whole content; `None` when the file is no longer `len` long.
fn whole(mut file: &File, len: u64, buf: &mut [u8]) -> io::Result<Option<u128>> {
    let mut hasher = Xxh3Default::new();
    let mut total = 0u64;
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if total > len {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok((total == len).then(|| hasher.digest128()))
}
