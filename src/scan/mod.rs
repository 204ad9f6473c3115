//! The scanner: roots → duplicate groups, cheap to expensive.

pub(crate) mod cache;
pub(crate) mod extents;
pub(crate) mod group;
pub(crate) mod hash;
pub(crate) mod prefer;
pub(crate) mod walk;
pub(crate) mod xattr;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::ScanConfig;
use crate::error::Error;
use crate::listener::Listener;
use crate::model::packed::Files;
use crate::model::{Groups, NamesFull, ScanOutput, TempFile, Tree};

/// Find every group of two or more distinct inodes with identical content under `cfg.roots`.
///
/// # Algorithm
/// walk (regular files only, symlinks never followed) into a packed table → fold hard links into
/// inodes and group by size, dropping unique sizes → split by partial hash (reading extended
/// attributes on the way) → split by full xxh3-128 → read the extended attributes the hashing
/// did not (cache hits) → keep the records and names of the duplicates only, as the result's
/// packed [`Groups`] (no per-path copy) → with
/// `cfg.extents`, map the extents of those on filesystems that can share them.
///
/// # Threading
/// The walk and the hashing run on the current rayon pool. The result is sorted (largest size
/// first, then by path) and does not depend on the number of threads.
///
/// # Errors
/// A hash cache that is not the invoking user's own is an error. Per-file problems go to
/// `listener` and are counted in [`ScanOutput::errors`]; the scan goes on.
pub fn scan(cfg: &ScanConfig, listener: &dyn Listener) -> Result<ScanOutput, Error> {
    let mut walked = walk::walk(cfg, listener);
    for (flag, glob) in cfg.filters.globs.unused() {
        listener.warn(&Error::UnusedGlob { flag, glob });
    }
    let temps = temp_twins(
        &mut walked.tree,
        &walked.files,
        std::mem::take(&mut walked.temps),
    );
    let mut files = walked.files;
    files.shrink_to_fit();
    // The listings the walk's threads built and merged are freed: give their pages back before
    // the hashing, the longest stage, runs on top of them.
    crate::sys::release_freed_memory();
    let errors = AtomicU64::new(walked.errors);
    let by_size = group::size_groups(&mut files);
    crate::sys::release_freed_memory();
    let cache = open_cache(cfg, listener)?;
    let ctx = hash::Ctx {
        tree: &walked.tree,
        files: &files,
        listener,
        errors: &errors,
        cache: cache.as_ref(),
    };
    let by_partial = hash::by_partial(&ctx, by_size);
    let by_full = hash::by_full(&ctx, by_partial);
    let mut done = xattr::read(&ctx, by_full);
    group::drop_ungrouped(&mut files, &mut done);
    // What the walk's and the hashing's threads freed is given back before the groups are built.
    crate::sys::release_freed_memory();
    let mut tree = walked.tree;
    let groups = match Groups::new(&mut tree, files, done) {
        Ok(g) => g,
        Err(NamesFull) => {
            listener.error(&Error::io(
                cfg.roots.first().cloned().unwrap_or_default(),
                std::io::Error::other(crate::model::packed::TOO_MANY_NAMES.0),
            ));
            errors.fetch_add(1, Ordering::Relaxed);
            Groups::default()
        }
    };
    crate::sys::release_freed_memory();
    let extents = if cfg.extents {
        extents::read(&tree, &groups)
    } else {
        Default::default()
    };
    if let Some(cache) = cache
        && let Err(e) = cache.save()
    {
        listener.warn(&e);
    }
    Ok(ScanOutput {
        groups,
        tree,
        files_scanned: walked.files_seen,
        errors: errors.load(Ordering::Relaxed),
        temps,
        extents,
    })
}

/// Walk `cfg.roots` for what recovery needs: the temp names left by an interrupted run, each
/// with the files beside it that may hold its content. Nothing is hashed.
pub fn temp_names(cfg: &ScanConfig, listener: &dyn Listener) -> ScanOutput {
    let mut walked = walk::walk(cfg, listener);
    ScanOutput {
        temps: temp_twins(&mut walked.tree, &walked.files, walked.temps),
        tree: walked.tree,
        files_scanned: walked.files_seen,
        errors: walked.errors,
        ..ScanOutput::default()
    }
}

/// Walk `cfg.roots` for the sets of paths that are names of one inode (hard links), for
/// `linkdup split`: each inode with two or more scanned paths, its paths in byte order, the
/// sets in the order of their first paths. Nothing is hashed.
pub fn linked_sets(
    cfg: &ScanConfig,
    listener: &dyn Listener,
) -> (
    ScanOutput,
    Vec<(crate::model::Identity, Vec<crate::model::Loc>)>,
) {
    let mut walked = walk::walk(cfg, listener);
    let files = &walked.files;
    let mut by_id: std::collections::HashMap<crate::model::FileId, Vec<usize>> = Default::default();
    for (i, r) in files.recs.iter().enumerate() {
        if Files::nlink(r) >= 2 {
            by_id.entry(files.id(r)).or_default().push(i);
        }
    }
    let tree = &mut walked.tree;
    let mut sets: Vec<_> = by_id
        .into_values()
        .filter(|v| v.len() >= 2)
        .filter_map(|v| {
            let ident = files.ident(&files.recs[v[0]]);
            let locs: Result<Vec<_>, _> =
                v.iter().map(|&i| files.loc(tree, &files.recs[i])).collect();
            Some((ident, locs.ok()?))
        })
        .collect();
    for (_, locs) in &mut sets {
        locs.sort_by(|a, b| tree.cmp_loc(a, b));
    }
    sets.sort_by(|a, b| tree.cmp_loc(&a.1[0], &b.1[0]));
    let temps = temp_twins(
        &mut walked.tree,
        &walked.files,
        std::mem::take(&mut walked.temps),
    );
    let out = ScanOutput {
        temps,
        tree: walked.tree,
        files_scanned: walked.files_seen,
        errors: walked.errors,
        ..ScanOutput::default()
    };
    (out, sets)
}

/// Each temp name with the files of its directory that have its size.
/// (A twin whose name the tree's arena can't take is left out: recovery then has less proof and
/// leaves more alone.)
fn temp_twins(
    tree: &mut Tree,
    files: &Files,
    temps: Vec<crate::model::FileEntry>,
) -> Vec<TempFile> {
    temps
        .into_iter()
        .map(|t| {
            let twins = files
                .recs
                .iter()
                .filter(|r| r.dir == t.loc.dir && r.len == t.ident.len.0)
                .filter_map(|r| files.loc(tree, r).ok())
                .collect();
            TempFile { file: t, twins }
        })
        .collect()
}

/// The hash cache, when one is asked for (a damaged one is reported and rebuilt).
fn open_cache(
    cfg: &ScanConfig,
    listener: &dyn Listener,
) -> Result<Option<cache::HashCache>, Error> {
    let Some(path) = cfg.cache.as_deref() else {
        return Ok(None);
    };
    let (cache, problem) = cache::HashCache::open(path)?;
    if let Some(e) = problem {
        listener.warn(&e);
    }
    Ok(Some(cache))
}
