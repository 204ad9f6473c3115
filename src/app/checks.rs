//! Pre-flight: what is refused before anything is read or written. A real run needs someone to
//! confirm it (or `--yes`); state files must be provably the invoking user's own and outside the
//! scanned trees; a real link run over read-only roots can do nothing.

use std::path::{Path, PathBuf};

use crate::config::Command;
use crate::error::{Error, Refusal, StateKind};
use crate::statefile;

/// Refuse what can be refused before the scan; `can_ask`: a terminal is there to confirm on.
pub fn before_anything(command: &Command, can_ask: bool) -> Result<(), Error> {
    match command {
        Command::Scan(c)
        | Command::Recover(crate::config::RecoverConfig { scan: c, .. })
        | Command::Split(crate::config::SplitConfig { scan: c, .. })
            if c.roots.is_empty() =>
        {
            Err(Error::Refused(Refusal::NoPaths))
        }
        Command::Scan(c) => cache(c.cache.as_deref(), &c.roots),
        Command::Recover(_) | Command::Undo(_) | Command::Journals(_) | Command::Split(_) => Ok(()),
        Command::Link(c) => {
            if c.scan.roots.is_empty() {
                return Err(Error::Refused(Refusal::NoPaths));
            }
            real_run(c.dry_run, c.yes, can_ask, c.journal.as_deref())?;
            if let Some(path) = &c.save_plan {
                statefile::check_target(path, StateKind::Plan)?;
                outside_trees(path, &c.scan.roots, StateKind::Plan)?;
            }
            cache(c.scan.cache.as_deref(), &c.scan.roots)?;
            match all_read_only(&c.scan.roots) {
                Some(ro) if !c.dry_run => Err(Error::Refused(Refusal::ReadOnly(ro.into()))),
                _ => Ok(()),
            }
        }
        Command::Apply(c) => real_run(c.dry_run, c.yes, can_ask, c.journal.as_deref()),
    }
}

/// A real run needs a confirmation, and its journal must be a place of yours.
fn real_run(dry_run: bool, yes: bool, can_ask: bool, journal: Option<&Path>) -> Result<(), Error> {
    if dry_run {
        return Ok(());
    }
    if !yes && !can_ask {
        return Err(Error::Refused(Refusal::NoTerminal));
    }
    match journal {
        Some(path) => statefile::check_target(path, StateKind::Journal).map(drop),
        None => Ok(()),
    }
}

fn cache(path: Option<&Path>, roots: &[PathBuf]) -> Result<(), Error> {
    match path {
        Some(path) => {
            statefile::check_target(path, StateKind::Cache)?;
            outside_trees(path, roots, StateKind::Cache)
        }
        None => Ok(()),
    }
}

/// Refuse to write a state file inside a tree being scanned: it would be scanned next time,
/// and it belongs with the admin, not with the data.
pub fn outside_trees(path: &Path, roots: &[PathBuf], what: StateKind) -> Result<(), Error> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let at = std::fs::canonicalize(&parent).map_err(|e| Error::io(&parent, e))?;
    for root in roots {
        if let Ok(r) = std::fs::canonicalize(root)
            && at.starts_with(&r)
        {
            return Err(Error::Refused(Refusal::InsideTree {
                path: path.to_path_buf(),
                what,
                root: root.clone(),
            }));
        }
    }
    Ok(())
}

/// The first root, when every root is on a read-only mount (a real link run can do nothing).
fn all_read_only(paths: &[PathBuf]) -> Option<&Path> {
    let ro = |p: &PathBuf| crate::sys::fs_facts(p).is_ok_and(|f| f.readonly);
    paths
        .first()
        .filter(|_| paths.iter().all(ro))
        .map(|p| p.as_path())
}
