//! The only place for raw platform calls: `statx`, directory fds, `linkat`, `renameat2`,
//! `unlinkat`, the shared-extent ioctls. One small function per platform fact; everything is relative to a directory fd
//! except opening a root, which is then checked by identity.
//!
//! Split by concern; everything is re-exported here, so callers name `sys::stat_at`, never the
//! file it lives in.

mod buf;
mod extents;
mod file;
mod fs;
pub mod lease;
mod memory;
mod names;
mod open;
mod path;
mod process;
mod stat;
pub mod term;
mod xattr;

pub use buf::AlignedBuf;
pub use extents::{
    Deduped, Extent, cannot_share, clone_file, dedupe_range, extents, shares_extents,
    shares_extents_path,
};
pub use file::{clear_inherited_flags, next_data, restore_metadata, set_len};
pub use fs::{fs_facts, fs_facts_fd, link_max, no_hard_links_fs_name, pseudo_fs_name};
pub use memory::{one_arena, release_freed_memory};
pub use names::{exchange_at, link_fd_at, mkdir_at, read_dir, rename_at, unlink_at};
pub use open::{
    OpenFlags, create_new_at, open_dir_at, open_dir_list, open_parent, open_path_at, open_regular,
    open_regular_at, open_regular_direct_at, open_root_dir, open_start, reopen,
};
pub use path::{dir_path, or_dot, parent_or_dot, read_link_fd};
pub use process::{euid, lock_exclusive, process_running, raise_fd_limit};
pub use rustix::io::Errno;
pub use stat::{FileType, Stat, kind_name, stat_at, stat_fd, stat_path};
pub use xattr::{fxattrs, xattrs_of_path_fd};
