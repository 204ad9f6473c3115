//! The data that flows between the stages: ids, identities, the scanned tree, groups, the plan and
//! the outcomes. No I/O happens here.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

pub mod packed;
pub use packed::Groups;

/// An inode: device and inode number. Two paths with the same `FileId` are one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// A file length in bytes (a newtype so that a size can't be passed where an inode number goes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileLen(pub u64);

/// A time stamp with nanoseconds, as `statx` reports it. Packed to 12 bytes (no padding after
/// `nsec`): an [`Identity`] holds two, and there is one per duplicate path in the scan's groups
/// and two per action in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(C, packed(4))]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: u32,
}

// The sizes the memory figures in the README are made of.
const _: () = assert!(std::mem::size_of::<Timestamp>() == 12);
const _: () = assert!(std::mem::size_of::<Identity>() == 64);

/// What the scan saw of an inode; the executor re-checks all of it right before a swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub id: FileId,
    pub len: FileLen,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    /// Full `st_mode`, file type bits included.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Index of a directory in [`Tree::dirs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirIdx(pub u32);

/// A directory the scan entered. Roots (and the parents of files given as roots) have no parent:
/// the executor opens them by path and checks their identity; every other directory is opened
/// relative to its parent, never following a symlink.
#[derive(Clone, Debug)]
pub struct Dir {
    /// The path as the user will see it (empty for the current directory).
    pub path: PathBuf,
    pub id: FileId,
    pub parent: Option<DirIdx>,
    /// The name inside the parent (empty for roots).
    pub name: OsString,
    /// Immutable / append-only flags of the directory itself (no link can be swapped in).
    pub attrs: Attrs,
    /// The mount it was seen through (`statx` mount id).
    pub mnt: u64,
    /// Every directory from `/` down to it lets others search it ([`crate::fsverify::public`]).
    pub public: bool,
}

/// What the scan learnt about a mount.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountInfo {
    pub readonly: bool,
    /// The filesystem's name when it has no hard links (vfat, exfat).
    pub no_hard_links: Option<&'static str>,
    /// The most links an inode can have there, where known.
    pub link_max: Option<u64>,
    /// Its files can share extents (reflink: btrfs, bcachefs, XFS made with `reflink=1`).
    pub reflink: bool,
}

/// How the copies of a group are merged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Merge {
    /// Every path becomes a name of the keeper's inode (owner, mode and times too).
    #[default]
    HardLink,
    /// Every inode stays itself, with its own owner, mode and times; its data shares the
    /// keeper's extents (`FIDEDUPERANGE`, the kernel comparing the bytes under lock).
    Reflink,
}

impl Merge {
    /// A stable code for reports and plans.
    pub fn code(self) -> &'static str {
        match self {
            Merge::HardLink => "hardlink",
            Merge::Reflink => "reflink",
        }
    }
}

/// Why a group gets its [`Merge`]: asked for (`--method hardlink|reflink`), or chosen by
/// `--method auto` from what its filesystem can do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MergeWhy {
    #[default]
    Asked,
    /// `auto`, on a filesystem whose files can share extents.
    AutoShares,
    /// `auto`, on a filesystem whose files can't share extents.
    AutoNoSharing,
}

impl MergeWhy {
    /// A stable code for reports.
    pub fn code(self) -> &'static str {
        match self {
            MergeWhy::Asked => "asked",
            MergeWhy::AutoShares => "auto_filesystem_shares_extents",
            MergeWhy::AutoNoSharing => "auto_filesystem_cannot_share_extents",
        }
    }
}

impl std::fmt::Display for MergeWhy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MergeWhy::Asked => "as asked (--method)",
            MergeWhy::AutoShares => "auto: this filesystem can share extents",
            MergeWhy::AutoNoSharing => "auto: this filesystem can't share extents",
        })
    }
}

/// What `FIEMAP` says of a file's data: a digest of where its extents lie (two files with the
/// same digest already share all their data) and how many of its bytes no other file shares
/// (what sharing it with another copy frees).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtentSum {
    /// Of (logical, physical, length) of every extent; `None` when some extent has no known
    /// address, or there were too many to read.
    pub digest: Option<u64>,
    /// Bytes in extents that nothing else shares.
    pub unshared: u64,
}

/// Every directory the scan entered; files refer to them by [`DirIdx`].
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub dirs: Vec<Dir>,
    /// Facts about every mount the scan entered, by mount id.
    pub mounts: std::collections::BTreeMap<u64, MountInfo>,
    /// The names of the files that matter (duplicates, temp names, their twins), each ended by a
    /// NUL, that [`Loc::name`] points into: one arena instead of an allocation per path. (When
    /// most files are duplicates it is the walk's whole arena, taken over rather than copied.)
    names: Vec<u8>,
}

/// Each directory's rank among the strings that the paths in it start with (its path and a
/// separator), and whether that string begins another directory's. Two paths in different
/// directories whose strings begin neither the other compare as those strings do, whatever
/// their names: the ranks say it ([`Tree::cmp_ordered`]).
#[derive(Clone, Debug, Default)]
pub struct PathOrder {
    rank: Vec<u32>,
    nested: Vec<bool>,
}

/// Offset of a file's name in the tree's arena ([`Tree::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameIdx(u32);

/// The tree's name arena can't take more (4 GiB of names of duplicates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamesFull;

impl Tree {
    /// May others reach some path of `inode`?
    pub fn public(&self, inode: &Inode) -> bool {
        inode.paths.iter().any(|l| self.dir(l.dir).public)
    }

    pub fn dir(&self, idx: DirIdx) -> &Dir {
        &self.dirs[idx.0 as usize]
    }

    /// Store a file name in the arena (names hold no NUL: they come from `getdents` or from a
    /// plan file's checked paths).
    pub fn intern(&mut self, name: &[u8]) -> Result<NameIdx, NamesFull> {
        debug_assert!(!name.contains(&0), "a file name with a NUL");
        let at = u32::try_from(self.names.len()).map_err(|_| NamesFull)?;
        u32::try_from(self.names.len() + name.len() + 1).map_err(|_| NamesFull)?;
        self.names.extend_from_slice(name);
        self.names.push(0);
        Ok(NameIdx(at))
    }

    /// Take over an arena of NUL-ended names (moved when the tree has none yet, else appended);
    /// a name at offset `o` there is at `NameIdx(o + base)` here, `base` being what is returned.
    pub fn adopt_names(&mut self, names: Vec<u8>) -> Result<NameIdx, NamesFull> {
        let base = u32::try_from(self.names.len()).map_err(|_| NamesFull)?;
        u32::try_from(self.names.len() + names.len()).map_err(|_| NamesFull)?;
        if self.names.is_empty() {
            self.names = names;
        } else {
            self.names.extend_from_slice(&names);
        }
        Ok(NameIdx(base))
    }

    /// Make room for `bytes` more of names (each counted with its NUL).
    pub fn reserve_names(&mut self, bytes: usize) {
        self.names.reserve_exact(bytes);
    }

    /// A location of `name` in directory `dir`, seen through mount `mnt`.
    pub fn loc(&mut self, dir: DirIdx, name: &[u8], mnt: u64) -> Result<Loc, NamesFull> {
        Ok(Loc {
            dir,
            name: self.intern(name)?,
            mnt,
        })
    }

    /// The name of a location inside its directory.
    pub fn name(&self, loc: &Loc) -> &OsStr {
        let rest = &self.names[loc.name.0 as usize..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        OsStr::from_bytes(&rest[..end])
    }

    /// Give back the arena's spare capacity once no more names will be added.
    pub fn shrink_names(&mut self) {
        self.names.shrink_to_fit();
    }

    /// Compare two locations by their full path, byte for byte (the bytes of [`Tree::path`],
    /// compared where they lie: nothing is allocated).
    pub fn cmp_loc(&self, a: &Loc, b: &Loc) -> std::cmp::Ordering {
        if a.dir == b.dir {
            return self.name(a).cmp(self.name(b));
        }
        let parts = |l: &Loc| {
            let (dir, sep) = self.dir_start(l.dir);
            [dir, sep, self.name(l).as_bytes()]
        };
        cmp_concat(parts(a), parts(b))
    }

    /// Where each directory's paths fall in the byte order of full paths (see [`PathOrder`]).
    pub fn path_order(&self) -> PathOrder {
        // The bytes every path in a directory starts with: its path and the separator.
        let starts: Vec<Vec<u8>> = (0..self.dirs.len())
            .map(|i| {
                let (dir, sep) = self.dir_start(DirIdx(i as u32));
                [dir, sep].concat()
            })
            .collect();
        let mut by_start: Vec<usize> = (0..starts.len()).collect();
        by_start.sort_by(|&a, &b| starts[a].cmp(&starts[b]));
        let mut order = PathOrder {
            rank: vec![0; starts.len()],
            nested: vec![false; starts.len()],
        };
        for (i, &d) in by_start.iter().enumerate() {
            order.rank[d] = i as u32;
            // The strings that start with this one follow it at once in sorted order.
            order.nested[d] = by_start
                .get(i + 1)
                .is_some_and(|&next| starts[next].starts_with(&starts[d]));
        }
        order
    }

    /// [`Tree::cmp_loc`], quicker: two paths in different directories, neither of whose
    /// starts begins the other's, compare as their directories' ranks, without their bytes.
    pub fn cmp_ordered(&self, order: &PathOrder, a: &Loc, b: &Loc) -> std::cmp::Ordering {
        let (da, db) = (a.dir.0 as usize, b.dir.0 as usize);
        if da != db && !order.nested[da] && !order.nested[db] {
            return order.rank[da].cmp(&order.rank[db]);
        }
        self.cmp_loc(a, b)
    }

    /// The full path of a location, as the user will see it.
    pub fn path(&self, loc: &Loc) -> PathBuf {
        let mut buf = Vec::new();
        self.write_path(loc, &mut buf);
        PathBuf::from(OsString::from_vec(buf))
    }

    /// Append the bytes of [`Tree::path`] to `buf`: a report that writes many paths reuses one
    /// buffer instead of allocating a `PathBuf` for each.
    pub fn write_path(&self, loc: &Loc, buf: &mut Vec<u8>) {
        let (dir, sep) = self.dir_start(loc.dir);
        buf.extend_from_slice(dir);
        buf.extend_from_slice(sep);
        buf.extend_from_slice(self.name(loc).as_bytes());
    }

    /// What every path in directory `idx` starts with: its path, and the separator `Path::join`
    /// puts after it (none when the path is empty or ends with one).
    fn dir_start(&self, idx: DirIdx) -> (&[u8], &'static [u8]) {
        let dir = path_bytes(&self.dir(idx).path);
        let sep: &[u8] = if dir.last().is_some_and(|&b| b != b'/') {
            b"/"
        } else {
            b""
        };
        (dir, sep)
    }
}

/// One name of a file: its directory and its name there (in the [`Tree`]'s arena: read it with
/// [`Tree::name`]), plus the mount it was seen through. Two locations of one tree are equal when
/// they are the same entry of the arena, not merely the same bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    pub dir: DirIdx,
    pub name: NameIdx,
    /// `statx` mount id: bind mounts share a device but links can't cross them.
    pub mnt: u64,
}

/// Flags of an inode that gate linking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attrs {
    pub immutable: bool,
    pub append_only: bool,
}

/// One regular file as the walk found it.
#[derive(Clone, Debug)]
pub struct FileEntry {
    pub loc: Loc,
    pub ident: Identity,
    pub nlink: u64,
    pub attrs: Attrs,
}

/// An inode with every path the scan found for it (hard links folded into one).
#[derive(Clone, Debug)]
pub struct Inode {
    pub ident: Identity,
    /// Link count at scan time; more than `paths.len()` means links outside the scanned paths.
    pub nlink: u64,
    pub attrs: Attrs,
    /// Extended attributes (read for duplicate candidates only).
    pub xattrs: XattrSum,
    /// Sorted by full path, byte order. Most inodes have one path, kept inline (no allocation).
    pub paths: Paths,
}

/// Extended attributes as sorted (name, value) pairs.
pub type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// The paths of one inode.
pub type Paths = smallvec::SmallVec<[Loc; 1]>;

/// The actions of one group of the plan.
pub type Actions = smallvec::SmallVec<[LinkAction; 1]>;

/// What the gates need of a file's extended attributes: a digest of the names and values of
/// those that are permissions (POSIX ACLs, security labels, capabilities: every namespace but
/// `user.`), one of the `user.*` ones, and whether it has file capabilities. The executor
/// compares the attributes themselves before a swap; the digests only group the candidates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct XattrSum {
    pub digest: u64,
    pub user: u32,
    pub capability: bool,
}

impl Inode {
    /// Links to this inode that the scan did not see.
    pub fn outside_links(&self) -> u64 {
        self.nlink.saturating_sub(self.paths.len() as u64)
    }
}

/// Two or more distinct inodes with identical content.
#[derive(Clone, Debug)]
pub struct DupGroup {
    pub len: FileLen,
    pub hash: u128,
    /// Sorted by first path.
    pub inodes: Vec<Inode>,
}

/// The scanner's result.
#[derive(Debug, Default)]
pub struct ScanOutput {
    pub tree: Tree,
    /// Sorted: largest size first, then by first path.
    pub groups: Groups,
    /// Regular files seen (each path counted once).
    pub files_scanned: u64,
    /// Files and directories that could not be read (already reported to the listener).
    pub errors: u64,
    /// Leftover temporary names of an interrupted run (never candidates).
    pub temps: Vec<TempFile>,
    /// Where the data of grouped inodes lies, on filesystems that can share extents (only
    /// read for `--method reflink|auto`).
    pub extents: std::collections::HashMap<FileId, ExtentSum>,
}

/// A name of linkdup's temp pattern found by the scan, with the files of its directory that have
/// its size (where its content may also live).
#[derive(Clone, Debug)]
pub struct TempFile {
    pub file: FileEntry,
    pub twins: Vec<Loc>,
}

/// A path together with the identity its inode had at scan time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub loc: Loc,
    pub expect: Identity,
    pub nlink: u64,
}

/// Replace `victim` (one path) by a hard link to `keeper`.
#[derive(Clone, Debug)]
pub struct LinkAction {
    /// The keeper's path this duplicate becomes a link of (or shares the extents of) when it is
    /// not its group's [`GroupPlan::keeper`]: another path of the keeper's inode, on the
    /// duplicate's mount. `None` in the common case, so that millions of actions don't each
    /// carry a copy of their group's keeper. Read it with [`GroupPlan::keeper_of`].
    pub other_keeper: Option<Box<Member>>,
    pub victim: Member,
    /// This is the last scanned path of the victim's inode and it has no links outside the scan:
    /// once it is replaced, the inode's bytes are freed.
    pub frees: bool,
    /// Links to the victim's inode outside the scanned paths (they keep it alive).
    pub outside_links: u64,
    /// With a reflink, the bytes sharing frees when it `frees` (only the victim's extents
    /// that nothing else shares); `None`: the group's length (a hard link frees the inode).
    pub frees_bytes: Option<u64>,
}

/// The actions of one group of identical files on one filesystem.
#[derive(Clone, Debug)]
pub struct GroupPlan {
    pub len: FileLen,
    pub hash: u128,
    pub dev: u64,
    pub keeper: Member,
    /// Paths that already are links of the keeper's inode.
    pub keeper_links: Vec<Loc>,
    /// Most groups have one action, kept inline: no allocation for each of millions of groups.
    pub actions: Actions,
    /// How its copies are merged, and why.
    pub method: Merge,
    pub method_why: MergeWhy,
}

impl GroupPlan {
    /// The keeper `a` becomes a link of (or shares the extents of).
    pub fn keeper_of<'a>(&'a self, a: &'a LinkAction) -> &'a Member {
        a.other_keeper.as_deref().unwrap_or(&self.keeper)
    }
}

impl LinkAction {
    /// [`LinkAction::other_keeper`] for an action whose keeper is `keeper` in a group whose
    /// keeper is `group_keeper`.
    pub fn other_keeper(group_keeper: &Member, keeper: Member) -> Option<Box<Member>> {
        (keeper != *group_keeper).then(|| Box::new(keeper))
    }
}

/// Why a file is left alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Identical content exists only on another filesystem or mount.
    OtherFilesystem {
        twin: PathBuf,
    },
    /// Owner, group or mode differ from the keeper's (gates relaxable by flags).
    Metadata {
        keeper: PathBuf,
        diff: Diff,
    },
    SetId,
    Immutable,
    AppendOnly,
    /// Has `security.capability`: linking would hand its privileges to another path.
    Capability,
    /// In an immutable or append-only directory: a link can't be swapped in (or cleaned up).
    DirFlags {
        dir: PathBuf,
        what: &'static str,
    },
    ReadOnly,
    NoHardLinks {
        fs: &'static str,
    },
    /// On a different mount than every keeper candidate (a bind mount of the same filesystem).
    OtherMount {
        keeper: PathBuf,
    },
    /// With `--ignore-owner`: no keeper of its own owner or of root (a file never becomes an
    /// inode another user controls).
    ForeignKeeper {
        keeper: PathBuf,
        uid: u32,
        keeper_uid: u32,
    },
    /// The keeper itself may never be linked to (set-id, capabilities, immutable...).
    KeeperUnfit {
        keeper: PathBuf,
        why: Box<SkipReason>,
    },
    /// Every keeper it could take is at the filesystem's link limit.
    LinkLimit {
        keeper: PathBuf,
    },
    /// Its keeper's owner, group or mode would give someone access the path does not give.
    WouldGrant {
        keeper: PathBuf,
        mode: u32,
        keeper_mode: u32,
    },
    /// With a reflink: it and its keeper are not open to the same people (not both readable
    /// and reachable by everyone, nor both owner-only files of one owner, nor of one owner,
    /// group, mode and ACL with the same reach): a shared extent, which anyone who can open
    /// either file can see (`FIEMAP`), would tell them something of the other file's content.
    WouldReveal {
        keeper: PathBuf,
        uid: u32,
        mode: u32,
        keeper_uid: u32,
        keeper_mode: u32,
    },
    /// Already shares every extent with its keeper: nothing to do, nothing to free.
    SharesExtents {
        keeper: PathBuf,
    },
    /// `--method reflink` on a filesystem whose files can't share extents.
    NoReflink,
}

impl SkipReason {
    /// The kind of reason: a stable code for reports, a label for the summary line.
    pub fn kind(&self) -> SkipKind {
        match self {
            SkipReason::OtherFilesystem { .. } => SkipKind::OtherFilesystem,
            SkipReason::Metadata { diff, .. } => diff.kind(),
            SkipReason::SetId => SkipKind::SetId,
            SkipReason::Immutable | SkipReason::AppendOnly => SkipKind::Immutable,
            SkipReason::Capability => SkipKind::Capabilities,
            SkipReason::DirFlags { .. } => SkipKind::LockedDirectory,
            SkipReason::OtherMount { .. } => SkipKind::OtherMount,
            SkipReason::ReadOnly => SkipKind::ReadOnly,
            SkipReason::NoHardLinks { .. } => SkipKind::NoHardLinks,
            SkipReason::ForeignKeeper { .. } => SkipKind::ForeignKeeper,
            SkipReason::KeeperUnfit { why, .. } => why.kind(),
            SkipReason::LinkLimit { .. } => SkipKind::LinkLimit,
            SkipReason::WouldGrant { .. } => SkipKind::WouldGrant,
            SkipReason::WouldReveal { .. } => SkipKind::WouldReveal,
            SkipReason::SharesExtents { .. } => SkipKind::AlreadyShared,
            SkipReason::NoReflink => SkipKind::NoReflink,
        }
    }
}

/// Which gated metadata of a file differ from its keeper's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// (its uid, the keeper's)
    pub owner: Option<(u32, u32)>,
    /// (its gid, the keeper's)
    pub group: Option<(u32, u32)>,
    /// (its permission bits, the keeper's)
    pub mode: Option<(u32, u32)>,
    pub mtime: bool,
    /// Others can reach one of them and not the other.
    pub dir_access: bool,
    /// ACLs or security labels (never merged).
    pub acl: bool,
    /// `user.*` attributes.
    pub user_xattrs: bool,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        *self == Diff::default()
    }

    /// Every difference, as the codes of [`SkipKind`], in the order they are listed.
    pub fn kinds(&self) -> Vec<SkipKind> {
        [
            (self.owner.is_some(), SkipKind::Owner),
            (self.group.is_some(), SkipKind::Group),
            (self.mode.is_some(), SkipKind::Mode),
            (self.mtime, SkipKind::Mtime),
            (self.dir_access, SkipKind::DirAccess),
            (self.acl, SkipKind::Acl),
            (self.user_xattrs, SkipKind::Xattrs),
        ]
        .into_iter()
        .filter_map(|(differs, kind)| differs.then_some(kind))
        .collect()
    }

    /// The first difference, in the order they are listed.
    pub fn kind(&self) -> SkipKind {
        self.kinds().first().copied().unwrap_or(SkipKind::Xattrs)
    }
}

impl Diff {
    /// What would merge the pair anyway: the flags that relax each difference, and whether
    /// `--same-mtime` is what keeps them apart; `None` when nothing can (ACLs, labels).
    fn remedy(&self) -> Option<(Vec<&'static str>, bool)> {
        if self.acl {
            return None;
        }
        let flags = [
            (
                self.owner.is_some() || self.group.is_some(),
                "--ignore-owner",
            ),
            (self.mode.is_some(), "--ignore-mode"),
            (self.dir_access, "--ignore-dir-access"),
            (self.user_xattrs, "--ignore-xattrs"),
        ];
        let needed = flags.iter().filter(|(d, _)| *d).map(|(_, f)| *f).collect();
        Some((needed, self.mtime))
    }
}

impl std::fmt::Display for Diff {
    /// `owner (uid 1000, the keeper's 0), mode (0600, the keeper's 0644)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some((a, k)) = self.owner {
            parts.push(format!("owner (uid {a}, the keeper's {k})"));
        }
        if let Some((a, k)) = self.group {
            parts.push(format!("group (gid {a}, the keeper's {k})"));
        }
        if let Some((a, k)) = self.mode {
            parts.push(format!("mode ({a:04o}, the keeper's {k:04o})"));
        }
        if self.mtime {
            parts.push("modification time".into());
        }
        if self.dir_access {
            parts.push("directory access (others can reach only one of them)".into());
        }
        if self.acl {
            parts.push("ACLs or security labels".into());
        }
        if self.user_xattrs {
            parts.push("extended attributes (user.*)".into());
        }
        if parts.is_empty() {
            parts.push("metadata".into());
        }
        f.write_str(&parts.join(", "))
    }
}

/// The kinds of reason a file is left alone, planned or at run time: [`SkipKind::code`] is
/// stable (reports and scripts match it), [`SkipKind::label`] is what the summary line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipKind {
    OtherFilesystem,
    Owner,
    Group,
    Mode,
    Mtime,
    DirAccess,
    Acl,
    Xattrs,
    SetId,
    Immutable,
    Capabilities,
    LockedDirectory,
    OtherMount,
    ReadOnly,
    NoHardLinks,
    ForeignKeeper,
    LinkLimit,
    WouldGrant,
    WouldReveal,
    AlreadyShared,
    NoReflink,
    Interrupted,
    KeeperChanged,
    Deleted,
    OpenForWriting,
    Changed,
    AlreadyLinked,
    NoExchange,
}

impl SkipKind {
    pub fn code(self) -> &'static str {
        match self {
            SkipKind::OtherFilesystem => "other_filesystem",
            SkipKind::Owner => "owner",
            SkipKind::Group => "group",
            SkipKind::Mode => "mode",
            SkipKind::Mtime => "mtime",
            SkipKind::DirAccess => "dir_access",
            SkipKind::Acl => "acl",
            SkipKind::Xattrs => "xattrs",
            SkipKind::SetId => "setid",
            SkipKind::Immutable => "immutable",
            SkipKind::Capabilities => "capabilities",
            SkipKind::LockedDirectory => "locked_directory",
            SkipKind::OtherMount => "other_mount",
            SkipKind::ReadOnly => "read_only",
            SkipKind::NoHardLinks => "no_hard_links",
            SkipKind::ForeignKeeper => "foreign_keeper",
            SkipKind::LinkLimit => "link_limit",
            SkipKind::WouldGrant => "would_grant",
            SkipKind::WouldReveal => "would_reveal",
            SkipKind::AlreadyShared => "already_shared",
            SkipKind::NoReflink => "no_reflink",
            SkipKind::Interrupted => "interrupted",
            SkipKind::KeeperChanged => "keeper_changed",
            SkipKind::Deleted => "deleted",
            SkipKind::OpenForWriting => "open_for_writing",
            SkipKind::Changed => "changed",
            SkipKind::AlreadyLinked => "already_linked",
            SkipKind::NoExchange => "no_exchange",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SkipKind::OtherFilesystem => "other filesystem",
            SkipKind::Owner => "different owner",
            SkipKind::Group => "different group",
            SkipKind::Mode => "different mode",
            SkipKind::Mtime => "different mtime",
            SkipKind::DirAccess => "different directory access",
            SkipKind::Acl => "different ACLs or labels",
            SkipKind::Xattrs => "different xattrs",
            SkipKind::SetId => "setuid/setgid",
            SkipKind::Immutable => "immutable or append-only",
            SkipKind::Capabilities => "capabilities",
            SkipKind::LockedDirectory => "locked directory",
            SkipKind::OtherMount => "other mount",
            SkipKind::ReadOnly => "read-only",
            SkipKind::NoHardLinks => "no hard links",
            SkipKind::ForeignKeeper => "no keeper of its owner",
            SkipKind::LinkLimit => "link limit",
            SkipKind::WouldGrant => "would grant access",
            SkipKind::WouldReveal => "would reveal content",
            SkipKind::AlreadyShared => "already shares extents",
            SkipKind::NoReflink => "no shared extents here",
            SkipKind::Interrupted => "interrupted",
            SkipKind::KeeperChanged => "keeper changed",
            SkipKind::Deleted => "deleted since scan",
            SkipKind::OpenForWriting => "open for writing",
            SkipKind::Changed => "changed since scan",
            SkipKind::AlreadyLinked => "already linked",
            SkipKind::NoExchange => "no atomic exchange",
        }
    }
}

/// Why the executor left a planned pair alone when it came to it. Nothing was modified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunSkip {
    Interrupted,
    /// The keeper reached the link limit; this copy becomes the keeper for the rest of its group.
    LinkLimit,
    /// The keeper is not the file the plan names any more.
    Keeper {
        keeper: PathBuf,
        change: Change,
    },
    /// The duplicate is not the file the plan names any more.
    Changed(Change),
    AlreadyLinked,
    /// Someone has the file (or, `keeper`, the keeper) open for writing.
    OpenForWriting {
        keeper: bool,
    },
    ContentDiffers,
    /// Its directory became immutable or append-only.
    DirLocked,
    /// A gate refuses the pair as the files are now (re-checked right before the swap).
    Gate(SkipReason),
    /// Changed or opened for writing during the swap: put back as it was.
    ChangedDuringSwap,
    /// Another file took the path during the swap: left as it is.
    ReplacedDuringSwap,
    /// The filesystem has no atomic exchange (`RENAME_EXCHANGE`).
    NoExchange,
}

/// How a file differs from what the plan expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Modified,
    Deleted,
    /// Now a directory, symlink, FIFO...
    NowA(&'static str),
    DirMoved,
    /// Opened for writing while it was being checked.
    OpenedForWriting,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Modified => f.write_str("changed since the scan"),
            Change::Deleted => f.write_str("deleted since the scan"),
            Change::NowA(kind) => write!(f, "now a {kind} instead of a regular file"),
            Change::DirMoved => f.write_str("its directory was moved or replaced since the scan"),
            Change::OpenedForWriting => {
                f.write_str("opened for writing by another process during the check")
            }
        }
    }
}

impl RunSkip {
    /// The kind of reason (see [`SkipKind`]).
    pub fn kind(&self) -> SkipKind {
        match self {
            RunSkip::Interrupted => SkipKind::Interrupted,
            RunSkip::LinkLimit => SkipKind::LinkLimit,
            RunSkip::Keeper { .. } => SkipKind::KeeperChanged,
            RunSkip::Changed(Change::Deleted) => SkipKind::Deleted,
            RunSkip::Changed(Change::OpenedForWriting) | RunSkip::OpenForWriting { .. } => {
                SkipKind::OpenForWriting
            }
            RunSkip::Changed(_)
            | RunSkip::ContentDiffers
            | RunSkip::ChangedDuringSwap
            | RunSkip::ReplacedDuringSwap => SkipKind::Changed,
            RunSkip::AlreadyLinked => SkipKind::AlreadyLinked,
            RunSkip::DirLocked => SkipKind::LockedDirectory,
            RunSkip::Gate(r) => r.kind(),
            RunSkip::NoExchange => SkipKind::NoExchange,
        }
    }
}

impl std::fmt::Display for RunSkip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::escape::Escaped;
        match self {
            RunSkip::Interrupted => f.write_str("interrupted before this file"),
            RunSkip::LinkLimit => f.write_str(
                "the keeper reached the link limit; this copy becomes the keeper for the rest of its group",
            ),
            RunSkip::Keeper {
                keeper,
                change: Change::Modified,
            } => write!(f, "keeper {} changed since the scan", Escaped(keeper)),
            RunSkip::Keeper { keeper, change } => write!(f, "keeper {}: {change}", Escaped(keeper)),
            RunSkip::Changed(c) => write!(f, "{c}"),
            RunSkip::AlreadyLinked => f.write_str("already a link of the keeper"),
            RunSkip::OpenForWriting { keeper: true } => {
                f.write_str("the keeper is open for writing by another process")
            }
            RunSkip::OpenForWriting { keeper: false } => {
                f.write_str("it is open for writing by another process")
            }
            RunSkip::ContentDiffers => f.write_str("content differs from the keeper"),
            RunSkip::DirLocked => f.write_str("its directory is now immutable or append-only"),
            RunSkip::Gate(r) => write!(f, "{r}"),
            RunSkip::ChangedDuringSwap => {
                f.write_str("changed or opened for writing during the swap; put back as it was")
            }
            RunSkip::ReplacedDuringSwap => {
                f.write_str("replaced by another file during the swap; left as it is")
            }
            RunSkip::NoExchange => f.write_str(
                "this filesystem has no atomic exchange (RENAME_EXCHANGE); not linked, since \
                 replacing the name any other way could destroy a file saved at that instant",
            ),
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::escape::Escaped;
        match self {
            SkipReason::OtherFilesystem { twin } => write!(
                f,
                "identical to {} on another filesystem (hard links can't cross filesystems)",
                Escaped(twin)
            ),
            SkipReason::Metadata { keeper, diff } => {
                write!(f, "differs from {} in {diff}; ", Escaped(keeper))?;
                match diff.remedy() {
                    None => f.write_str("never merged (ACLs and labels are permissions)"),
                    Some((flags, false)) => write!(f, "merged only with {}", flags.join(" ")),
                    Some((flags, true)) if flags.is_empty() => {
                        f.write_str("kept apart by --same-mtime")
                    }
                    Some((flags, true)) => write!(
                        f,
                        "kept apart by --same-mtime (and merged only with {})",
                        flags.join(" ")
                    ),
                }
            }
            SkipReason::SetId => f.write_str("setuid/setgid file (never linked)"),
            SkipReason::Immutable => f.write_str("immutable file"),
            SkipReason::AppendOnly => f.write_str("append-only file"),
            SkipReason::Capability => {
                f.write_str("has file capabilities (security.capability; never linked)")
            }
            SkipReason::DirFlags { dir, what } => {
                write!(f, "its directory {} is {what}", Escaped(dir))
            }
            SkipReason::ReadOnly => f.write_str("on a read-only filesystem"),
            SkipReason::NoHardLinks { fs } => write!(f, "{fs} has no hard links"),
            SkipReason::OtherMount { keeper } => write!(
                f,
                "on another mount than {} (links can't cross bind mounts)",
                Escaped(keeper)
            ),
            SkipReason::ForeignKeeper {
                keeper,
                uid,
                keeper_uid,
            } => write!(
                f,
                "owned by uid {uid}, and with --ignore-owner a file only takes a keeper of its own \
                 owner or of root ({} is uid {keeper_uid}'s)",
                Escaped(keeper)
            ),
            SkipReason::KeeperUnfit { keeper, why } => {
                write!(
                    f,
                    "its keeper {} is never linked to: {why}",
                    Escaped(keeper)
                )
            }
            SkipReason::LinkLimit { keeper } => write!(
                f,
                "its keeper {} is at the filesystem's link limit and no other copy can take over",
                Escaped(keeper)
            ),
            SkipReason::WouldGrant {
                keeper,
                mode,
                keeper_mode,
            } => write!(
                f,
                "linking it to {} (mode {keeper_mode:04o}, its owner and group) would give \
                 someone access that this file (mode {mode:04o}) does not; no flag allows that",
                Escaped(keeper)
            ),
            SkipReason::WouldReveal {
                keeper,
                uid,
                mode,
                keeper_uid,
                keeper_mode,
            } => write!(
                f,
                "uid {uid}, mode {mode:04o}, and its keeper {} (uid {keeper_uid}, mode \
                 {keeper_mode:04o}) are not open to the same people: shared extents would tell \
                 whoever can read one something of the other (never shared)",
                Escaped(keeper)
            ),
            SkipReason::SharesExtents { keeper } => {
                write!(f, "already shares all its extents with {}", Escaped(keeper))
            }
            SkipReason::NoReflink => f.write_str(
                "this filesystem can't share extents (reflink needs btrfs, bcachefs or XFS made \
                 with reflink=1; --method auto hard-links here)",
            ),
        }
    }
}

/// A file the planner leaves alone, with the reason.
#[derive(Clone, Debug)]
pub struct Skip {
    pub loc: Loc,
    pub reason: SkipReason,
}

/// Everything a run would do. Dry-run, JSON, the prompt and the executor all read this one value.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub groups: Vec<GroupPlan>,
    pub skipped: Vec<Skip>,
    /// Paths of sets that are already linked as far as the gates allow: a group with nothing
    /// left to do, split by a gate (or a filesystem) into halves each already one inode. Not
    /// news after the run that linked them, so reports count them instead of listing them.
    pub settled: Vec<Skip>,
    /// Sets of copies linked on their own, apart from the rest of their group, and why: a gate
    /// or a filesystem split the group. Said on the run that links them.
    pub apart: Vec<Apart>,
}

/// Copies linked among themselves but kept apart from the other copies of their group.
#[derive(Clone, Debug)]
pub struct Apart {
    /// The keeper of the set.
    pub loc: Loc,
    /// How many paths the set has.
    pub paths: u64,
    /// Why it is not merged with the rest (its `keeper` is the other set's keeper).
    pub reason: SkipReason,
}

impl Plan {
    pub fn actions(&self) -> impl Iterator<Item = &LinkAction> {
        self.groups.iter().flat_map(|g| g.actions.iter())
    }
    pub fn action_count(&self) -> usize {
        self.groups.iter().map(|g| g.actions.len()).sum()
    }
    /// Our own removal of a temp link changed this inode's ctime: keep the plan in step.
    pub fn update_ctime(&mut self, id: FileId, ctime: Timestamp) {
        for a in self.groups.iter_mut().flat_map(|g| g.actions.iter_mut()) {
            let other = a.other_keeper.as_deref_mut();
            for m in other.into_iter().chain([&mut a.victim]) {
                if m.expect.id == id {
                    m.expect.ctime = ctime;
                }
            }
        }
        for g in &mut self.groups {
            if g.keeper.expect.id == id {
                g.keeper.expect.ctime = ctime;
            }
        }
    }

    /// Bytes freed if every action succeeds.
    pub fn reclaimable(&self) -> u64 {
        self.actions_frees().sum()
    }

    /// What each action frees if it succeeds.
    fn actions_frees(&self) -> impl Iterator<Item = u64> + '_ {
        self.groups.iter().flat_map(|g| {
            g.actions
                .iter()
                .filter(|a| a.frees)
                .map(|a| a.frees_bytes.unwrap_or(g.len.0))
        })
    }
}

/// What happened to one action.
#[derive(Debug)]
pub enum Outcome {
    /// Not run (dry run).
    Planned,
    Linked {
        /// Set when this swap freed the victim inode's bytes.
        freed: bool,
        /// The keeper actually used, when it is not the planned one (after a link limit).
        keeper: Option<Loc>,
    },
    /// Left alone on purpose, e.g. because it changed since the scan. Nothing was modified.
    Skipped(RunSkip),
    /// Could not be done; nothing was modified unless the error says otherwise.
    Failed(crate::error::Error),
}

/// Totals of a run; decides the exit code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub files_scanned: u64,
    pub groups: u64,
    /// Groups in which at least one duplicate was linked (a real run).
    pub groups_linked: u64,
    pub planned: u64,
    pub linked: u64,
    pub skipped: u64,
    pub failed: u64,
    pub reclaimable_bytes: u64,
    pub reclaimed_bytes: u64,
    /// Errors during the scan (unreadable files and directories, missing paths).
    pub scan_errors: u64,
    pub interrupted: bool,
    /// Files skipped by the plan or at run time, counted by kind of reason.
    pub skip_kinds: std::collections::BTreeMap<SkipKind, u64>,
    /// Paths already linked as far as the gates allow ([`Plan::settled`]).
    pub settled: u64,
    /// Sets linked apart from the rest of their group ([`Plan::apart`]).
    pub apart: u64,
    /// Paths that take (or, planned, would take) their keeper's modification time: what rsync
    /// and build caches see change.
    pub retimed: u64,
    /// Wall time of the scan.
    pub elapsed: std::time::Duration,
    /// Leftover temp names that could not be resolved (each was named on stderr).
    pub temps_left: u64,
    /// Of the planned (or, after a real run, linked) duplicates, those that share extents with
    /// their keeper instead of becoming a hard link of it.
    pub reflinked: u64,
}

/// Bytes of a name, for sorting paths in byte order.
pub fn path_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

/// Compare the concatenations of `a`'s parts and `b`'s, byte for byte, without building them.
fn cmp_concat(a: [&[u8]; 3], b: [&[u8]; 3]) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.iter().copied(), b.iter().copied());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        while x.is_empty() {
            match a.next() {
                Some(p) => x = p,
                None => break,
            }
        }
        while y.is_empty() {
            match b.next() {
                Some(p) => y = p,
                None => break,
            }
        }
        if x.is_empty() || y.is_empty() {
            return x.is_empty().cmp(&y.is_empty()).reverse();
        }
        let n = x.len().min(y.len());
        match x[..n].cmp(&y[..n]) {
            std::cmp::Ordering::Equal => (x, y) = (&x[n..], &y[n..]),
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of roots at `dirs`.
    fn tree_of(dirs: &[&str]) -> Tree {
        let mut tree = Tree::default();
        for dir in dirs {
            tree.dirs.push(Dir {
                path: PathBuf::from(dir),
                id: FileId { dev: 0, ino: 0 },
                parent: None,
                name: OsString::new(),
                attrs: Attrs::default(),
                mnt: 0,
                public: false,
            });
        }
        tree
    }

    /// `write_path` gives the bytes `Path::join` would: one separator, none after an empty or
    /// `/`-ended directory.
    #[test]
    fn write_path_joins_like_path_join() {
        let mut tree = tree_of(&["", ".", "/", "a/", "a//b", "/srv/x"]);
        let mut buf = b"stale".to_vec();
        for (i, dir) in ["", ".", "/", "a/", "a//b", "/srv/x"]
            .into_iter()
            .enumerate()
        {
            let loc = tree.loc(DirIdx(i as u32), b"n\xff", 0).unwrap();
            let name = OsStr::from_bytes(b"n\xff");
            let want = if dir.is_empty() {
                PathBuf::from(name)
            } else {
                Path::new(dir).join(name)
            };
            buf.clear();
            tree.write_path(&loc, &mut buf);
            assert_eq!(buf, path_bytes(&want), "{dir:?}");
            assert_eq!(tree.path(&loc), want, "{dir:?}");
        }
    }

    /// `cmp_loc` and `cmp_ordered` order locations exactly as their full paths' bytes, without
    /// building them: across directories whose names are prefixes of each other, a separator
    /// (`/`, 0x2f) against `.` (0x2e) and `0` (0x30), empty and `/`-ended directories, one
    /// directory entered twice, equal paths.
    #[test]
    fn cmp_loc_orders_as_full_path_bytes() {
        let dirs = [
            "", ".", "/", "a", "a/", "a/b", "a/b.", "a/b/c", "ab", "a.b", "x/y", "x/y", "x/z",
            "/srv/a", "/srv/b/c",
        ];
        let names: [&[u8]; 7] = [b"b", b"b.txt", b"b0", b"c", b"", b"\xff", b"b/c"];
        let mut tree = tree_of(&dirs);
        let mut locs = Vec::new();
        for d in 0..dirs.len() {
            for n in names {
                locs.push(tree.loc(DirIdx(d as u32), n, 0).unwrap());
            }
        }
        let order = tree.path_order();
        for a in &locs {
            for b in &locs {
                let want = path_bytes(&tree.path(a)).cmp(path_bytes(&tree.path(b)));
                assert_eq!(tree.cmp_ordered(&order, a, b), want, "{a:?} {b:?}");
                assert_eq!(
                    tree.cmp_loc(a, b),
                    want,
                    "{:?} against {:?}",
                    tree.path(a),
                    tree.path(b)
                );
            }
        }
    }

    /// The kind of a reason comes from its fields, never from its words: a keeper under
    /// `/srv/open/writing/` or `/owner/mode/` is no reason of those kinds.
    #[test]
    fn kinds_come_from_fields_not_words() {
        let keeper = PathBuf::from("/srv/open/writing/owner/mode/modification");
        let meta = |diff: Diff| SkipReason::Metadata {
            keeper: keeper.clone(),
            diff,
        };
        let cases = [
            (
                meta(Diff {
                    acl: true,
                    ..Diff::default()
                }),
                "acl",
            ),
            (
                meta(Diff {
                    user_xattrs: true,
                    ..Diff::default()
                }),
                "xattrs",
            ),
            (
                meta(Diff {
                    dir_access: true,
                    ..Diff::default()
                }),
                "dir_access",
            ),
            (
                meta(Diff {
                    mode: Some((0o600, 0o644)),
                    acl: true,
                    ..Diff::default()
                }),
                "mode",
            ),
            (
                meta(Diff {
                    owner: Some((0, 1)),
                    group: Some((0, 1)),
                    ..Diff::default()
                }),
                "owner",
            ),
            (
                meta(Diff {
                    mtime: true,
                    ..Diff::default()
                }),
                "mtime",
            ),
            (
                SkipReason::LinkLimit {
                    keeper: keeper.clone(),
                },
                "link_limit",
            ),
            (
                SkipReason::KeeperUnfit {
                    keeper: keeper.clone(),
                    why: Box::new(SkipReason::SetId),
                },
                "setid",
            ),
        ];
        for (reason, code) in cases {
            assert_eq!(reason.kind().code(), code, "{reason}");
        }
        let run = [
            (
                RunSkip::Changed(Change::OpenedForWriting),
                "open_for_writing",
            ),
            (RunSkip::Changed(Change::Deleted), "deleted"),
            (RunSkip::ReplacedDuringSwap, "changed"),
            (
                RunSkip::Keeper {
                    keeper: keeper.clone(),
                    change: Change::Modified,
                },
                "keeper_changed",
            ),
            (RunSkip::Gate(SkipReason::ReadOnly), "read_only"),
        ];
        for (skip, code) in run {
            assert_eq!(skip.kind().code(), code, "{skip}");
        }
        assert_eq!(Diff::default().to_string(), "metadata");
        let d = Diff {
            mode: Some((0o600, 0o644)),
            user_xattrs: true,
            ..Diff::default()
        };
        assert_eq!(
            d.to_string(),
            "mode (0600, the keeper's 0644), extended attributes (user.*)"
        );
        // The sentence names the flag that would merge the pair, or the one that keeps it apart.
        let keeper = PathBuf::from("k");
        let said = |diff: Diff| {
            SkipReason::Metadata {
                keeper: keeper.clone(),
                diff,
            }
            .to_string()
        };
        assert_eq!(
            said(d),
            "differs from k in mode (0600, the keeper's 0644), extended attributes (user.*); \
             merged only with --ignore-mode --ignore-xattrs"
        );
        let mtime = Diff {
            mtime: true,
            ..Diff::default()
        };
        assert_eq!(
            said(mtime),
            "differs from k in modification time; kept apart by --same-mtime"
        );
        let acl = Diff {
            acl: true,
            owner: Some((1, 0)),
            ..Diff::default()
        };
        assert!(said(acl).ends_with("never merged (ACLs and labels are permissions)"));
    }
}
