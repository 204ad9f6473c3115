//! Extended attributes (ACLs, SELinux labels, file capabilities, user attributes) of the files in
//! duplicate groups, for the planner's gates. The hashing step reads them through the fd it has
//! open anyway; this module reads the rest by path (files whose hashes came from the cache), so
//! only candidates are ever read and a tree without duplicates costs nothing here.

use std::sync::atomic::Ordering;

use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3Default;

use super::group::{Cand, Candidates};
use super::hash::Ctx;
use crate::error::Error;
use crate::model::XattrSum;
use crate::sys;

const CAPABILITY: &[u8] = b"security.capability";

/// Read the attributes of every grouped candidate that has none yet; a candidate whose attributes
/// can't be read is reported and dropped, and groups left with one candidate are dropped.
pub fn read(ctx: &Ctx<'_>, c: Candidates) -> Candidates {
    let Candidates {
        mut cands,
        groups,
        mut sums,
    } = c;
    let todo: Vec<u32> = groups
        .iter()
        .flat_map(|g| g.cands.clone())
        .filter(|&i| cands[i as usize].xattr == Cand::XATTR_UNKNOWN)
        .collect();
    if todo.is_empty() {
        return Candidates {
            cands,
            groups,
            sums,
        };
    }
    let files = ctx.files;
    let read: Vec<Option<XattrSum>> = todo
        .par_iter()
        .map(|&i| {
            let rec = &files.recs[cands[i as usize].start as usize];
            let path = ctx.tree.path(&files.loc(rec));
            match sys::xattrs(&path) {
                Ok(list) => Some(summarize(&list)),
                Err(e) => {
                    ctx.listener.error(&Error::io(path, e));
                    ctx.errors.fetch_add(1, Ordering::Relaxed);
                    None
                }
            }
        })
        .collect();
    let mut failed = vec![false; cands.len()];
    for (&i, sum) in todo.iter().zip(read) {
        match sum {
            Some(s) => cands[i as usize].xattr = sums.intern(s),
            None => failed[i as usize] = true,
        }
    }
    let mut out = Candidates {
        cands: Vec::with_capacity(cands.len()),
        groups: Vec::with_capacity(groups.len()),
        sums,
    };
    for g in groups {
        let kept = g.cands.filter(|&i| !failed[i as usize]);
        out.push_group(g.len, g.hash, kept.map(|i| cands[i as usize]));
    }
    out
}

/// What the gates need of a file's (name, value) attribute list.
pub fn summarize(list: &[(Vec<u8>, Vec<u8>)]) -> XattrSum {
    if list.is_empty() {
        return XattrSum::default();
    }
    let mut h = Xxh3Default::new();
    for (name, value) in list {
        for part in [name, value] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    XattrSum {
        digest: h.digest(),
        capability: list.iter().any(|(n, _)| n == CAPABILITY),
    }
}
