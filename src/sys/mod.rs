//! The only place for raw platform calls: `statx`, directory fds, `linkat`, `renameat2`,
//! `unlinkat`. One small function per platform fact; everything is relative to a directory fd
//! except opening a root, which is then checked by identity.

pub mod lease;

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RenameFlags, StatxAttributes, StatxFlags};

use crate::model::{Attrs, FileId, FileLen, Identity, Timestamp};

/// What `statx` tells about one file.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub ident: Identity,
    pub atime: Timestamp,
    pub nlink: u64,
    pub mnt: u64,
    pub attrs: Attrs,
    pub kind: FileType,
}

impl Stat {
    pub fn is_file(&self) -> bool {
        self.kind == FileType::RegularFile
    }
    pub fn is_dir(&self) -> bool {
        self.kind == FileType::Directory
    }
}

const MASK: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::MNT_ID);

fn convert(st: rustix::fs::Statx) -> Stat {
    let ts = |t: rustix::fs::StatxTimestamp| Timestamp {
        sec: t.tv_sec,
        nsec: t.tv_nsec,
    };
    let attrs = st.stx_attributes & st.stx_attributes_mask;
    Stat {
        atime: ts(st.stx_atime),
        ident: Identity {
            id: FileId {
                dev: rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor),
                ino: st.stx_ino,
            },
            len: FileLen(st.stx_size),
            mtime: ts(st.stx_mtime),
            ctime: ts(st.stx_ctime),
            mode: u32::from(st.stx_mode),
            uid: st.stx_uid,
            gid: st.stx_gid,
        },
        nlink: u64::from(st.stx_nlink),
        mnt: if st.stx_mask & StatxFlags::MNT_ID.bits() != 0 {
            st.stx_mnt_id
        } else {
            0
        },
        attrs: Attrs {
            immutable: attrs.contains(StatxAttributes::IMMUTABLE),
            append_only: attrs.contains(StatxAttributes::APPEND),
        },
        kind: FileType::from_raw_mode(u32::from(st.stx_mode)),
    }
}

/// `statx` of a path; `follow` decides whether a final symlink is followed.
pub fn stat_path(path: &Path, follow: bool) -> io::Result<Stat> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let flags = if follow {
        AtFlags::empty()
    } else {
        AtFlags::SYMLINK_NOFOLLOW
    };
    Ok(convert(rustix::fs::statx(CWD, path, flags, MASK)?))
}

/// `statx` of a name in a directory, never following a symlink.
pub fn stat_at<P: rustix::path::Arg>(dir: BorrowedFd<'_>, name: P) -> io::Result<Stat> {
    Ok(convert(rustix::fs::statx(
        dir,
        name,
        AtFlags::SYMLINK_NOFOLLOW,
        MASK,
    )?))
}

/// `statx` of an open fd.
pub fn stat_fd(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    Ok(convert(rustix::fs::statx(
        fd,
        "",
        AtFlags::EMPTY_PATH,
        MASK,
    )?))
}

/// Open a directory to list it: by path (the walk checks the identity of what it opened against
/// what its parent's listing saw); a final symlink is followed only when `follow` (a root).
pub fn open_dir_list(path: &Path, follow: bool) -> io::Result<OwnedFd> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let flags = if follow {
        flags
    } else {
        flags | OFlags::NOFOLLOW
    };
    Ok(rustix::fs::openat(CWD, path, flags, Mode::empty())?)
}

/// Every entry of an open directory but `.` and `..`, with the type `getdents` reports
/// (`Unknown` on filesystems that don't fill it in). `buf` is scratch space for `getdents`.
pub fn read_dir(
    dir: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    mut each: impl FnMut(&std::ffi::CStr, FileType),
) -> io::Result<()> {
    const BUF: usize = 16 * 1024;
    buf.clear();
    buf.reserve(BUF);
    let mut entries = rustix::fs::RawDir::new(dir, buf.spare_capacity_mut());
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        each(name, entry.file_type());
    }
    Ok(())
}

/// Take an exclusive `flock` on an open file without waiting; false when another open file
/// description holds a lock on it.
pub fn lock_exclusive(file: &File) -> io::Result<bool> {
    match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Raise the soft limit on open fds towards the hard limit (at most `cap`); returns the soft
/// limit now in force.
pub fn raise_fd_limit(cap: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    let current = lim.current.unwrap_or(u64::MAX);
    let want = lim.maximum.unwrap_or(u64::MAX).min(cap);
    if current >= want {
        return current;
    }
    let raised = Rlimit {
        current: Some(want),
        maximum: lim.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => want,
        Err(_) => current,
    }
}

const DIR_FLAGS: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);

/// Open a root directory by path (symlinks in the path the user typed are followed).
pub fn open_root_dir(path: &Path) -> io::Result<OwnedFd> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    Ok(rustix::fs::open(path, DIR_FLAGS, Mode::empty())?)
}

/// Open a subdirectory by name, refusing a symlink.
pub fn open_dir_at(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        parent,
        name,
        DIR_FLAGS | OFlags::NOFOLLOW,
        Mode::empty(),
    )?)
}

const READ_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOCTTY);

/// Open for reading, without touching atime where we may (O_NOATIME is only allowed to the
/// owner or with CAP_FOWNER).
fn open_read<P: rustix::path::Arg + Copy>(
    dir: BorrowedFd<'_>,
    path: P,
    extra: OFlags,
) -> rustix::io::Result<OwnedFd> {
    match rustix::fs::openat(
        dir,
        path,
        READ_FLAGS | extra | OFlags::NOATIME,
        Mode::empty(),
    ) {
        Err(rustix::io::Errno::PERM) => {
            rustix::fs::openat(dir, path, READ_FLAGS | extra, Mode::empty())
        }
        r => r,
    }
}

/// `/proc/self/fd`, opened once per process: reopening an `O_PATH` fd by its number in there is a
/// one-name lookup instead of a walk of `/proc/self/fd/N` (the threads share the fd table, so
/// one directory serves them all). `None` where there is no /proc.
fn proc_fd_dir() -> Option<BorrowedFd<'static>> {
    static DIR: std::sync::OnceLock<Option<OwnedFd>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        rustix::fs::open(
            "/proc/self/fd",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()
    })
    .as_ref()
    .map(|fd| fd.as_fd())
}

/// The decimal name of an fd, NUL-terminated, without allocating.
struct FdName {
    buf: [u8; 12],
    start: usize,
}

impl FdName {
    fn new(fd: BorrowedFd<'_>) -> FdName {
        let mut buf = [0u8; 12];
        let mut n = std::os::fd::AsRawFd::as_raw_fd(&fd).unsigned_abs();
        let mut start = buf.len() - 1; // buf[11] stays the NUL
        loop {
            start -= 1;
            buf[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        FdName { buf, start }
    }

    fn as_c_str(&self) -> &std::ffi::CStr {
        std::ffi::CStr::from_bytes_with_nul(&self.buf[self.start..]).unwrap_or_default()
    }
}

/// Open `name` in `dir` for reading only if it is a regular file: it is first opened with
/// `O_PATH|O_NOFOLLOW` (which opens nothing: no FIFO, device or symlink target is touched) and
/// checked, then reopened for reading through `/proc/self/fd`. Returns `None` and what the name
/// is when it is not a regular file.
pub fn open_regular_at<P: rustix::path::Arg + Copy>(
    dir: BorrowedFd<'_>,
    name: P,
) -> io::Result<(Option<File>, Stat)> {
    let path_fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let st = stat_fd(path_fd.as_fd())?;
    if !st.is_file() {
        return Ok((None, st));
    }
    let reopened = match proc_fd_dir() {
        Some(proc) => open_read(
            proc,
            FdName::new(path_fd.as_fd()).as_c_str(),
            OFlags::empty(),
        ),
        None => Err(rustix::io::Errno::NOENT),
    };
    let fd = match reopened {
        Ok(fd) => fd,
        // No /proc: open the name itself, then make sure it is still the file we checked.
        Err(rustix::io::Errno::NOENT) => {
            let fd = open_read(dir, name, OFlags::NOFOLLOW)?;
            let now = stat_fd(fd.as_fd())?;
            if !now.is_file() || now.ident.id != st.ident.id {
                return Ok((None, now));
            }
            fd
        }
        Err(e) => return Err(e.into()),
    };
    Ok((Some(File::from(fd)), st))
}

/// [`open_regular_at`] for a path (relative to the current directory).
pub fn open_regular(path: &Path) -> io::Result<(Option<File>, Stat)> {
    open_regular_at(CWD, path.as_os_str())
}

/// A word for a file type, for messages.
pub fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice | FileType::BlockDevice => "device",
        FileType::Unknown => "file of unknown type",
    }
}

/// Create `name` in `dir` as a new hard link to the open file `fd`. Never overwrites: fails with
/// `EEXIST` if the name exists.
pub fn link_fd_at(fd: BorrowedFd<'_>, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match rustix::fs::linkat(fd, "", dir, name, AtFlags::EMPTY_PATH) {
        Ok(()) => Ok(()),
        // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc form works for everyone.
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::PERM) => {
            let proc = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
            Ok(rustix::fs::linkat(
                CWD,
                proc.as_str(),
                dir,
                name,
                AtFlags::SYMLINK_FOLLOW,
            )?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Atomically swap two names in one directory (`renameat2` with `RENAME_EXCHANGE`).
pub fn exchange_at(dir: BorrowedFd<'_>, a: &OsStr, b: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::renameat_with(
        dir,
        a,
        dir,
        b,
        RenameFlags::EXCHANGE,
    )?)
}

/// Plain `renameat` within one directory (atomic replace of `to`).
pub fn rename_at(dir: BorrowedFd<'_>, from: &OsStr, to: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::renameat(dir, from, dir, to)?)
}

/// Remove a (non-directory) name.
pub fn unlink_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?)
}

pub use rustix::io::Errno;

/// One file's extended attributes as sorted (name, value) pairs, given how to list them and how
/// to read one. A filesystem without xattrs has none. Most files have none or few: the list and
/// each value are read into a small buffer first, and sized exactly only when they don't fit.
fn read_xattrs(
    list: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
    get: impl Fn(&OsStr, &mut [u8]) -> rustix::io::Result<usize>,
) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    /// Call `f` with a small buffer, then (on ERANGE) with one of the size `f(&mut [])` says.
    fn sized(f: impl Fn(&mut [u8]) -> rustix::io::Result<usize>) -> rustix::io::Result<Vec<u8>> {
        let mut small = [0u8; 256];
        match f(&mut small) {
            Ok(n) => return Ok(small[..n].to_vec()),
            Err(rustix::io::Errno::RANGE) => {}
            Err(e) => return Err(e),
        }
        loop {
            let size = f(&mut [])?;
            if size == 0 {
                return Ok(Vec::new()); // shrank to nothing in between
            }
            let mut big = vec![0u8; size];
            match f(&mut big) {
                Ok(n) => {
                    big.truncate(n);
                    return Ok(big);
                }
                Err(rustix::io::Errno::RANGE) => continue, // grew in between
                Err(e) => return Err(e),
            }
        }
    }
    let names = match sized(list) {
        Ok(n) => n,
        Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|s| !s.is_empty()) {
        match sized(|buf| get(OsStr::from_bytes(name), buf)) {
            Ok(value) => out.push((name.to_vec(), value)),
            // Removed between the list and the read.
            Err(rustix::io::Errno::NODATA) => {}
            Err(e) => return Err(e.into()),
        }
    }
    out.sort();
    Ok(out)
}

/// Extended attributes of the file an `O_PATH` fd was opened on (the `f*xattr` calls refuse
/// `O_PATH` fds; `/proc/self/fd/N` reaches that very inode, whatever its name is now).
pub fn xattrs_of_path_fd(fd: BorrowedFd<'_>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let link = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    let link = link.as_str();
    read_xattrs(
        |buf| rustix::fs::listxattr(link, buf),
        |name, buf| rustix::fs::getxattr(link, name, buf),
    )
}

/// Extended attributes of an open file.
pub fn fxattrs(fd: BorrowedFd<'_>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    read_xattrs(
        |buf| rustix::fs::flistxattr(fd, buf),
        |name, buf| rustix::fs::fgetxattr(fd, name, buf),
    )
}

/// What the filesystem holding `path` is: its `statfs` magic and whether it is mounted
/// read-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsFacts {
    pub magic: u64,
    pub readonly: bool,
}

pub fn fs_facts(path: &Path) -> io::Result<FsFacts> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
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

/// Create a new file `name` in `dir` (never an existing one), readable and writable only by us.
pub fn create_new_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<File> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::CREATE | OFlags::EXCL | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    Ok(File::from(fd))
}

/// Give a file we created the owner, mode, extended attributes and times of a journal entry.
pub fn restore_metadata(
    file: &File,
    (uid, gid, mode): (u32, u32, u32),
    xattrs: &[(Vec<u8>, Vec<u8>)],
    atime: Timestamp,
    mtime: Timestamp,
) -> io::Result<()> {
    let fd = file.as_fd();
    rustix::fs::fchown(
        fd,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    )?;
    // After chown, which may clear set-id bits.
    rustix::fs::fchmod(fd, Mode::from_raw_mode(mode & 0o7777))?;
    for (name, value) in xattrs {
        rustix::fs::fsetxattr(
            fd,
            OsStr::from_bytes(name),
            value,
            rustix::fs::XattrFlags::empty(),
        )?;
    }
    let spec = |t: Timestamp| rustix::fs::Timespec {
        tv_sec: t.sec,
        tv_nsec: i64::from(t.nsec) as _,
    };
    rustix::fs::futimens(
        fd,
        &rustix::fs::Timestamps {
            last_access: spec(atime),
            last_modification: spec(mtime),
        },
    )?;
    Ok(())
}

/// The effective user id: whose state files are trusted, whose symlinks are followed.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Open `name` in `dir` as an `O_PATH` fd without following a symlink (nothing is opened for
/// reading; a FIFO or device is not touched).
pub fn open_path_at<P: rustix::path::Arg>(dir: BorrowedFd<'_>, name: P) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// `/` or the current directory, as an `O_PATH` fd (where a resolution starts).
pub fn open_start(absolute: bool) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        if absolute { "/" } else { "." },
        DIR_FLAGS,
        Mode::empty(),
    )?)
}

/// The target of the symlink `fd` was opened on (`O_PATH|O_NOFOLLOW`): read from that very
/// inode, so the link can't be swapped between its owner check and this read.
pub fn read_link_fd(fd: BorrowedFd<'_>) -> io::Result<std::ffi::OsString> {
    let target = rustix::fs::readlinkat(fd, "", Vec::new())?;
    Ok(OsStr::from_bytes(target.as_bytes()).to_owned())
}

/// The parent of an open directory (`..` relative to it).
pub fn open_parent(dir: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(dir, "..", DIR_FLAGS, Mode::empty())?)
}

/// Reopen an `O_PATH` fd with real access `flags` (through `/proc/self/fd`, so the very inode
/// that was checked is opened, never whatever its name points to now).
pub fn reopen(fd: BorrowedFd<'_>, flags: OFlags) -> io::Result<File> {
    let proc = proc_fd_dir().ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))?;
    let name = FdName::new(fd);
    let file = rustix::fs::openat(
        proc,
        name.as_c_str(),
        flags | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    Ok(File::from(file))
}

pub use rustix::fs::OFlags as OpenFlags;

/// The absolute path of an open directory: what `/proc/self/fd` says, or, where that fails
/// (deeper than `PATH_MAX`), the names found by walking up through `..` one level at a time.
pub fn dir_path(dir: BorrowedFd<'_>) -> io::Result<std::path::PathBuf> {
    let link = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&dir));
    if let Ok(target) = rustix::fs::readlink(link.as_str(), Vec::new()) {
        let bytes = target.as_bytes();
        if bytes.starts_with(b"/") && !bytes.ends_with(b" (deleted)") {
            return Ok(std::path::PathBuf::from(OsStr::from_bytes(bytes)));
        }
    }
    dir_path_by_walking_up(dir)
}

fn dir_path_by_walking_up(dir: BorrowedFd<'_>) -> io::Result<std::path::PathBuf> {
    let mut names: Vec<std::ffi::OsString> = Vec::new();
    let mut cur = rustix::fs::openat(dir, ".", DIR_FLAGS, Mode::empty())?;
    let mut buf = Vec::new();
    loop {
        let here = stat_fd(cur.as_fd())?.ident.id;
        let parent = open_parent(cur.as_fd())?;
        if stat_fd(parent.as_fd())?.ident.id == here {
            break; // `/`
        }
        let listing = open_dir_list_at(parent.as_fd())?;
        let mut found = None;
        read_dir(listing.as_fd(), &mut buf, |name, kind| {
            if found.is_none()
                && matches!(kind, FileType::Directory | FileType::Unknown)
                && stat_at(parent.as_fd(), name).is_ok_and(|s| s.ident.id == here)
            {
                found = Some(OsStr::from_bytes(name.to_bytes()).to_owned());
            }
        })?;
        names.push(found.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?);
        cur = parent;
    }
    let mut path = std::path::PathBuf::from("/");
    path.extend(names.iter().rev());
    Ok(path)
}

/// Open a directory (given as an `O_PATH` fd) for listing.
fn open_dir_list_at(dir: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
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

/// Create a directory `name` in `dir` with `mode`.
pub fn mkdir_at(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    Ok(rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(mode))?)
}

/// The next byte range of `file` at or after `from` that holds data (not a hole), as
/// `(start, end)`; `None` when only holes remain before `len`. A filesystem without hole
/// reporting shows the whole file as data.
pub fn next_data(file: &File, from: u64, len: u64) -> io::Result<Option<(u64, u64)>> {
    use rustix::fs::SeekFrom;
    if from >= len {
        return Ok(None);
    }
    let start = match rustix::fs::seek(file, SeekFrom::Data(from)) {
        Ok(s) => s,
        Err(Errno::NXIO) => return Ok(None),
        // No SEEK_DATA here: everything is data.
        Err(Errno::INVAL | Errno::NOTSUP) => return Ok(Some((from, len))),
        Err(e) => return Err(e.into()),
    };
    if start >= len {
        return Ok(None);
    }
    let end = match rustix::fs::seek(file, SeekFrom::Hole(start)) {
        Ok(e) => e.min(len),
        Err(Errno::NXIO) => len,
        Err(e) => return Err(e.into()),
    };
    Ok(Some((start, end.max(start))))
}

/// Set the length of an open file.
pub fn set_len(file: &File, len: u64) -> io::Result<()> {
    Ok(rustix::fs::ftruncate(file, len)?)
}
