//! The scanner: roots → duplicate groups, cheap to expensive.

pub mod cache;
pub mod group;
pub mod hash;
pub mod prefer;
pub mod table;
pub mod walk;
pub mod xattr;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::Config;
use crate::error::Error;
use crate::listener::Listener;
use crate::model::{ScanOutput, TempFile};

/// Find every group of two or more distinct inodes with identical content under `cfg.paths`.
///
/// # Algorithm
/// walk (regular files only, symlinks never followed) into a packed table → fold hard links into
/// inodes and group by size, dropping unique sizes → split by partial hash (reading extended
/// attributes on the way) → split by full xxh3-128 → read the extended attributes the hashing
/// did not (cache hits) → build the groups, with paths, for the duplicates only.
///
/// # Threading
/// The walk and the hashing run on the current rayon pool. The result is sorted (largest size
/// first, then by path) and does not depend on the number of threads.
///
/// # Errors
/// Invalid filters, and a hash cache that is not the invoking user's own, are an error.
/// Per-file problems go to `listener` and are counted in [`ScanOutput::errors`]; the scan goes on.
pub fn scan(cfg: &Config, listener: &dyn Listener) -> Result<ScanOutput, Error> {
    let walked = walk::walk(cfg, listener)?;
    let mut files = walked.files;
    let temps = walked
        .temps
        .into_iter()
        .map(|t| {
            let twins = files
                .recs
                .iter()
                .filter(|r| r.dir == t.loc.dir && r.len == t.ident.len.0)
                .map(|r| files.loc(r))
                .collect();
            TempFile { file: t, twins }
        })
        .collect();
    let tree = walked.tree;
    if let crate::config::Mode::Recover { .. } = cfg.mode {
        // Recovery needs the temp names and their neighbours, not the duplicate groups.
        return Ok(ScanOutput {
            tree,
            files_scanned: walked.files_seen,
            errors: walked.errors,
            temps,
            ..ScanOutput::default()
        });
    }
    let errors = AtomicU64::new(walked.errors);
    let by_size = group::size_groups(&mut files);
    let cache = match cfg.cache.as_deref() {
        Some(path) => {
            let (cache, problem) = cache::HashCache::open(path)?;
            if let Some(e) = problem {
                listener.warn(&e);
            }
            Some(cache)
        }
        None => None,
    };
    let ctx = hash::Ctx {
        tree: &tree,
        files: &files,
        listener,
        errors: &errors,
        cache: cache.as_ref(),
    };
    let by_partial = hash::by_partial(&ctx, by_size);
    let by_full = hash::by_full(&ctx, by_partial);
    let mut done = xattr::read(&ctx, by_full);
    group::drop_ungrouped(&mut files, &mut done);
    let groups = done
        .groups
        .iter()
        .filter_map(|g| {
            // Every candidate's attributes are known by now; one that is not would be left out
            // rather than let through the gates unchecked.
            // (Collected from an iterator of exact length: a group's Vec has no spare slots.)
            let cands = &done.cands[g.cands.start as usize..g.cands.end as usize];
            let known = cands.iter().filter_map(|c| Some((*c, done.sums.get(c)?)));
            let mut inodes = Vec::with_capacity(cands.len());
            inodes.extend(known.map(|(c, sum)| group::inode(&tree, &files, c, sum)));
            if inodes.len() < cands.len() {
                inodes.shrink_to_fit();
            }
            (inodes.len() >= 2).then(|| group::dup_group(g.len, g.hash, inodes))
        })
        .collect();
    drop(done);
    drop(files);
    if let Some(cache) = cache
        && let Err(e) = cache.save()
    {
        listener.warn(&e);
    }
    let groups = group::dup_groups(&tree, groups);
    Ok(ScanOutput {
        tree,
        groups,
        files_scanned: walked.files_seen,
        errors: errors.load(Ordering::Relaxed),
        temps,
    })
}
