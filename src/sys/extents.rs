//! Shared extents: whether a filesystem can make two files share their data (reflink), the
//! kernel's compare-and-share (`FIDEDUPERANGE`), a whole-file clone (`FICLONE`) and where a
//! file's data lies and whether it is shared (`FIEMAP`). Neither libc nor rustix has the
//! structures of `FIDEDUPERANGE`, `FIEMAP` or XFS's geometry, so this is one of the few places
//! with `unsafe`: plain `ioctl`s on fds we own, each with a `#[repr(C)]` argument of the exact
//! kernel layout (checked by size below).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

/// Filesystem magics (`statfs`) of the filesystems whose files can share extents.
const BTRFS: u64 = 0x9123_683e;
const XFS: u64 = 0x5846_5342;
const BCACHEFS: u64 = 0xca45_1a4e;

/// Can files on this filesystem share extents? btrfs and bcachefs always can; XFS only when it
/// was made with `-m reflink=1` (its geometry says); anything else is taken as unable (the
/// kernel would refuse every call there: `EOPNOTSUPP`).
pub fn shares_extents(fd: BorrowedFd<'_>, magic: u64) -> bool {
    match magic {
        BTRFS | BCACHEFS => true,
        XFS => xfs_reflink(fd).unwrap_or(false),
        _ => false,
    }
}

/// [`shares_extents`] of the filesystem holding the directory `path` (opened without
/// following a final symlink; only asked of XFS).
pub fn shares_extents_path(path: &Path, magic: u64) -> bool {
    if magic != XFS {
        return shares_extents(rustix::fs::CWD, magic);
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::open(super::or_dot(path), flags, Mode::empty()) {
        Ok(fd) => shares_extents(fd.as_fd(), magic),
        Err(_) => false,
    }
}

/// `struct xfs_fsop_geom` (version 5, 256 bytes): only `flags` is read.
#[repr(C)]
struct XfsGeom {
    head: [u32; 8],
    blocks: [u64; 4],
    uuid: [u8; 16],
    sunit: u32,
    swidth: u32,
    version: i32,
    flags: u32,
    rest: [u8; 160],
}
const _: () = assert!(std::mem::size_of::<XfsGeom>() == 256);
/// `XFS_IOC_FSGEOMETRY`: `_IOR('X', 126, struct xfs_fsop_geom)`.
const XFS_IOC_FSGEOMETRY: u64 = 0x8100_587e;
/// `XFS_IOC_FSGEOMETRY_V4`: `_IOR('X', 124, struct xfs_fsop_geom_v4)` (112 bytes; the flags
/// are at the same offset), for kernels before 5.1.
const XFS_IOC_FSGEOMETRY_V4: u64 = 0x8070_587c;
const XFS_FSOP_GEOM_FLAGS_REFLINK: u32 = 1 << 20;

fn xfs_reflink(fd: BorrowedFd<'_>) -> io::Result<bool> {
    for request in [XFS_IOC_FSGEOMETRY, XFS_IOC_FSGEOMETRY_V4] {
        // SAFETY: all-zero bytes are a valid XfsGeom (plain integers).
        let mut g: XfsGeom = unsafe { std::mem::zeroed() };
        // SAFETY: the kernel writes at most 256 bytes (v5) or 112 (v4) into `g`, which is 256
        // bytes long and lives across the call.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, &mut g as *mut XfsGeom) };
        if r == 0 {
            return Ok(g.flags & XFS_FSOP_GEOM_FLAGS_REFLINK != 0);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ENOTTY) {
            return Err(e);
        }
    }
    Ok(false)
}

/// `struct file_dedupe_range` with one `struct file_dedupe_range_info`.
#[repr(C)]
struct DedupeOne {
    src_offset: u64,
    src_length: u64,
    dest_count: u16,
    reserved1: u16,
    reserved2: u32,
    dest_fd: i64,
    dest_offset: u64,
    bytes_deduped: u64,
    status: i32,
    reserved: u32,
}
const _: () = assert!(std::mem::size_of::<DedupeOne>() == 24 + 32);
/// `FIDEDUPERANGE`: `_IOWR(0x94, 54, struct file_dedupe_range)`.
const FIDEDUPERANGE: u64 = 0xc018_9436;
const FILE_DEDUPE_RANGE_DIFFERS: i32 = 1;

/// What the kernel did with one range of [`dedupe_range`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deduped {
    /// This many bytes of the destination now share the source's extents (the kernel compared
    /// them under lock first).
    Shared(u64),
    /// The bytes differ: nothing was shared.
    Differs,
}

/// Share `len` bytes of `src` at `offset` with the same range of `dst` if, and only if, the
/// kernel finds them equal (`FIDEDUPERANGE`). Neither file's content changes either way; the
/// destination keeps its inode, owner, mode and times. It needs no write access to `dst` for
/// its owner or for root (`CAP_SYS_ADMIN`).
pub fn dedupe_range(src: &File, dst: &File, offset: u64, len: u64) -> io::Result<Deduped> {
    let mut arg = DedupeOne {
        src_offset: offset,
        src_length: len,
        dest_count: 1,
        reserved1: 0,
        reserved2: 0,
        dest_fd: i64::from(dst.as_raw_fd()),
        dest_offset: offset,
        bytes_deduped: 0,
        status: 0,
        reserved: 0,
    };
    // SAFETY: `arg` has the kernel's layout for one destination and lives across the call;
    // both fds are open files we own.
    let r = unsafe {
        libc::ioctl(
            src.as_raw_fd(),
            FIDEDUPERANGE as _,
            &mut arg as *mut DedupeOne,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    match arg.status {
        s if s < 0 => Err(io::Error::from_raw_os_error(-s)),
        FILE_DEDUPE_RANGE_DIFFERS => Ok(Deduped::Differs),
        _ => Ok(Deduped::Shared(arg.bytes_deduped)),
    }
}

/// Make `dst` (new, empty, open for writing) share every extent of `src` (`FICLONE`): a copy
/// that takes no space. `EOPNOTSUPP`, `EXDEV` or `EINVAL` where the filesystem can't.
pub fn clone_file(dst: &File, src: &File) -> io::Result<()> {
    Ok(rustix::fs::ioctl_ficlone(dst, src)?)
}

/// Is this error of [`clone_file`] or [`dedupe_range`] the filesystem saying it can't share
/// extents here (rather than a failure of this file)?
pub fn cannot_share(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::EXDEV | libc::EINVAL | libc::ENOTTY)
    )
}

/// `struct fiemap` with room for [`FIEMAP_BATCH`] extents.
#[repr(C)]
struct Fiemap {
    start: u64,
    length: u64,
    flags: u32,
    mapped_extents: u32,
    extent_count: u32,
    reserved: u32,
    extents: [FiemapExtent; FIEMAP_BATCH],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct FiemapExtent {
    logical: u64,
    physical: u64,
    length: u64,
    reserved64: [u64; 2],
    flags: u32,
    reserved: [u32; 3],
}
const _: () = assert!(std::mem::size_of::<FiemapExtent>() == 56);
const FIEMAP_BATCH: usize = 256;
/// `FS_IOC_FIEMAP`: `_IOWR('f', 11, struct fiemap)`.
const FS_IOC_FIEMAP: u64 = 0xc020_660b;
const FIEMAP_FLAG_SYNC: u32 = 1;
const FIEMAP_EXTENT_LAST: u32 = 0x1;
const FIEMAP_EXTENT_UNKNOWN: u32 = 0x2;
const FIEMAP_EXTENT_DELALLOC: u32 = 0x4;
const FIEMAP_EXTENT_SHARED: u32 = 0x2000;

/// One extent of a file: where in the file, where on the device, how long, shared or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub logical: u64,
    pub physical: u64,
    pub length: u64,
    /// Some other file (or snapshot) shares it (`FIEMAP_EXTENT_SHARED`).
    pub shared: bool,
    /// No physical address is known (delayed allocation, inline data...).
    pub unknown: bool,
}

/// The extents of `file` in order, at most `max` of them (`None` past that: an attacker's
/// file of a million fragments costs no more than this). Pending writes are flushed first
/// (`FIEMAP_FLAG_SYNC`), so delayed allocations get their addresses.
pub fn extents(file: &File, max: usize) -> io::Result<Option<Vec<Extent>>> {
    let mut out = Vec::new();
    let mut start = 0u64;
    loop {
        // SAFETY: all-zero bytes are a valid Fiemap (plain integers).
        let mut m: Box<Fiemap> = Box::new(unsafe { std::mem::zeroed() });
        m.start = start;
        m.length = u64::MAX - start;
        m.flags = FIEMAP_FLAG_SYNC;
        m.extent_count = FIEMAP_BATCH as u32;
        // SAFETY: `m` has the kernel's layout with room for `extent_count` extents, and lives
        // across the call.
        let r =
            unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_FIEMAP as _, &mut *m as *mut Fiemap) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        let n = (m.mapped_extents as usize).min(FIEMAP_BATCH);
        let mut last = n == 0;
        for e in &m.extents[..n] {
            out.push(Extent {
                logical: e.logical,
                physical: e.physical,
                length: e.length,
                shared: e.flags & FIEMAP_EXTENT_SHARED != 0,
                unknown: e.flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC) != 0,
            });
            last |= e.flags & FIEMAP_EXTENT_LAST != 0;
            start = e.logical.saturating_add(e.length);
        }
        if out.len() > max {
            return Ok(None);
        }
        if last {
            return Ok(Some(out));
        }
    }
}
