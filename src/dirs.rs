//! Where state lives by default: XDG base directories, or their fallbacks below `$HOME`.

use std::path::{Path, PathBuf};

/// `$VAR/linkdup` (an XDG base directory), or `$HOME/<home_rel>/linkdup` when VAR is unset.
fn xdg_dir(var: &str, home_rel: &str) -> Option<PathBuf> {
    let base = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(home_rel)))?;
    Some(base.join("linkdup"))
}

/// Undo journals: `$XDG_STATE_HOME/linkdup`, or `~/.local/state/linkdup`.
pub fn journals() -> Option<PathBuf> {
    xdg_dir("XDG_STATE_HOME", ".local/state")
}

/// The hash cache: `$XDG_CACHE_HOME/linkdup/hashes.bin`, or `~/.cache/linkdup/hashes.bin`.
pub fn cache_file() -> Option<PathBuf> {
    Some(xdg_dir("XDG_CACHE_HOME", ".cache")?.join("hashes.bin"))
}

/// Is `dir` one of linkdup's own default directories (which it makes when missing, mode
/// 0700)? A directory a person named (`--cache-file`, `--journal`, `--save-plan`) is never
/// made: a typo there must not leave new directories behind.
pub fn is_default(dir: &Path) -> bool {
    let cache = cache_file();
    [
        journals(),
        cache
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf),
    ]
    .iter()
    .flatten()
    .any(|d| d == dir)
}
