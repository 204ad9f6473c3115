//! The scanner: roots → duplicate groups, cheap to expensive.

pub mod cache;
pub mod group;
pub mod hash;
pub mod prefer;
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
/// walk (regular files only, symlinks never followed) → fold hard links into inodes and group by
/// size, dropping unique sizes → split by partial hash → split by full xxh3-128 → read the
/// extended attributes of what is left (for the planner's gates).
///
/// # Threading
/// The walk is sequential; hashing runs on the current rayon pool. The result is sorted (largest
/// size first, then by path) and does not depend on the number of threads.
///
/// # Errors
/// Invalid filters are an error. Per-file problems go to `listener` and are counted in [`ScanOutput::errors`]; the scan goes on.
pub fn scan(cfg: &Config, listener: &dyn Listener) -> Result<ScanOutput, Error> {
    let walked = walk::walk(cfg, listener)?;
    let temps = walked
        .temps
        .into_iter()
        .map(|t| {
            let twins = walked
                .files
                .iter()
                .filter(|f| f.loc.dir == t.loc.dir && f.ident.len == t.ident.len)
                .map(|f| f.loc.clone())
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
    let by_size = group::size_groups(&tree, walked.files);
    let cache = cfg.cache.as_deref().map(|path| {
        let (cache, problem) = cache::HashCache::open(path);
        if let Some(e) = problem {
            listener.warn(&e);
        }
        cache
    });
    let by_partial = hash::by_partial(&tree, by_size, listener, &errors, cache.as_ref());
    let by_full = hash::by_full(&tree, by_partial, listener, &errors, cache.as_ref());
    if let Some(cache) = cache
        && let Err(e) = cache.save()
    {
        listener.warn(&e);
    }
    let mut groups = xattr::read(&tree, by_full, listener, &errors);
    groups.sort_by_cached_key(|g| {
        (
            std::cmp::Reverse(g.len),
            group::path_key(&tree, &g.inodes[0].paths[0]),
        )
    });
    Ok(ScanOutput {
        tree,
        groups,
        files_scanned: walked.files_seen,
        errors: errors.load(Ordering::Relaxed),
        temps,
    })
}
