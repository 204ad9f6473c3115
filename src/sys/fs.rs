//! Facts about a filesystem: its `statfs` magic and read-only flag ([`FsFacts`]), and what a
//! magic means to linkdup (pseudo filesystems, filesystems without hard links, link limits).

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

use super::path::or_dot;

/// What the filesystem holding `path` is: its `statfs` magic and whether it is mounted
/// read-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsFacts {
    pub magic: u64,
    pub readonly: bool,
}

pub fn fs_facts(path: &Path) -> io::Result<FsFacts> {
    let path = or_dot(path);
    let fs = rustix::fs::statfs(path)?;
    let vfs = rustix::fs::statvfs(path)?;
    Ok(FsFacts {
        magic: fs.f_type as u64,
        readonly: vfs.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
    })
}

/// Kernel pseudo filesystems: never scanned (their files are not data and reading some has
/// effects).
pub fn pseudo_fs_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x9fa0 => "proc",
        0x6265_6572 => "sysfs",
        0x6462_6720 => "debugfs",
        0x7472_6163 => "tracefs",
        0x0027_e0eb => "cgroup",
        0x6367_7270 => "cgroup2",
        0x7363_6673 => "securityfs",
        0xcafe_4a11 => "bpf",
        0x6165_676c => "pstore",
        0x6265_6570 => "configfs",
        0x1cd1 => "devpts",
        0xde5e_81e4 => "efivarfs",
        0x6573_5543 => "fusectl",
        0xf97c_ff8c => "selinuxfs",
        0x4249_4e4d => "binfmt_misc",
        0x1980_0202 => "mqueue",
        0x6e73_6673 => "nsfs",
        _ => return None,
    })
}

/// Filesystems without hard links.
pub fn no_hard_links_fs_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x4d44 => "vfat",
        0x2011_bab0 => "exfat",
        _ => return None,
    })
}

/// The most links one inode can have on a filesystem, where known (`pathconf(_PC_LINK_MAX)`
/// gives the same numbers, but per path; the magic is already at hand).
pub fn link_max(magic: u64) -> Option<u64> {
    Some(match magic {
        0xef53 => 65_000,               // ext2/3/4
        0x9123_683e => 65_535,          // btrfs
        0x5846_5342 => (1 << 31) - 1,   // xfs
        0x0102_1994 => u32::MAX as u64, // tmpfs
        0x6969 => return None,          // nfs: the server decides (use --max-links)
        _ => return None,
    })
}

/// [`fs_facts`] of the filesystem an open file or directory is on.
pub fn fs_facts_fd(fd: BorrowedFd<'_>) -> io::Result<FsFacts> {
    let fs = rustix::fs::fstatfs(fd)?;
    let vfs = rustix::fs::fstatvfs(fd)?;
    Ok(FsFacts {
        magic: fs.f_type as u64,
        readonly: vfs.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
    })
}
