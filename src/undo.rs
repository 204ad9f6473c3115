//! Undo: gives each path recorded in a journal a file of its own again. A journal entry is a
//! claim, re-proved on the live files before anything is done:
//! - the entry was written by a run of the invoking user (and the journal is theirs);
//! - the path's directory, reached from `/` without following any symlink, is the directory
//!   that was linked in; the path names the recorded keeper's inode, and so does the keeper's
//!   own path; the shared file is unchanged since the link;
//! - the owner to give back is the keeper's, or the keeper is root's (no link run makes any
//!   other pair); set-id bits and `security.*` / `trusted.*` attributes are given back only
//!   where the keeper carries them itself (so never, for set-id: such files are never linked).
//!
//! Then a copy of the bytes (on a filesystem that can share extents, a clone that shares
//! them and takes no space; elsewhere holes kept as holes) is made under a new temp name beside
//! the path, given the recorded owner, mode, attributes and times, and put in place with the
//! executor's own atomic exchange ([`crate::execute::swap`]): the path never stops naming a file
//! with its content, and a file saved there meanwhile stays.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::escape::Escaped;
use crate::execute::leases::{self, Leases};
use crate::execute::swap::{Exchange, Failure};
use crate::journal::{Entry, Read};
use crate::model::{FileId, RunSkip};
use crate::resolve::{Symlinks, Unresolved, resolve};
use crate::sys::{self, Errno, Stat};

/// The buffer bytes are copied through when no clone can be made.
const COPY_BUF: usize = 256 * 1024;

/// What undo did (or would do) with one journal entry.
#[derive(Debug)]
pub enum Undone {
    /// Restored; `withheld` names attributes that were not given back (see the module docs).
    Restored {
        withheld: Vec<String>,
    },
    /// Left alone, with the reason.
    Skipped(UndoSkip),
    Failed(Error),
}

/// Why an entry was left alone. Nothing was changed for it.
#[derive(Debug)]
pub enum UndoSkip {
    NotSelected,
    NotAFilePath,
    NotYours {
        uid: u32,
    },
    Gone,
    NotRegular,
    AlreadySplit,
    /// A directory on the way is a symlink now.
    Symlink {
        link: PathBuf,
    },
    DirReplaced,
    KeeperMoved,
    SharedFileEdited,
    /// The journal's owner is neither the keeper's nor is the keeper root's.
    ForeignOwner {
        uid: u32,
        keeper_uid: u32,
    },
    OpenForWriting,
    /// What the exchange found (put back, replaced meanwhile...).
    Swap(RunSkip),
    /// `split`: a gate refuses the file (set-id, capabilities, immutable...), or its
    /// filesystem can't share extents.
    Gate(crate::model::SkipReason),
}

impl UndoSkip {
    /// A stable code for scripts (the JSON report's `"kind"`).
    pub fn code(&self) -> &'static str {
        match self {
            UndoSkip::NotSelected => "not_selected",
            UndoSkip::NotAFilePath => "not_a_file_path",
            UndoSkip::NotYours { .. } => "not_yours",
            UndoSkip::Gone => "deleted",
            UndoSkip::NotRegular => "not_regular",
            UndoSkip::AlreadySplit => "already_split",
            UndoSkip::Symlink { .. } => "symlink",
            UndoSkip::DirReplaced => "dir_replaced",
            UndoSkip::KeeperMoved => "keeper_moved",
            UndoSkip::SharedFileEdited => "shared_file_edited",
            UndoSkip::ForeignOwner { .. } => "foreign_owner",
            UndoSkip::OpenForWriting => "open_for_writing",
            UndoSkip::Swap(r) => r.kind().code(),
            UndoSkip::Gate(r) => r.kind().code(),
        }
    }
}

impl std::fmt::Display for UndoSkip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UndoSkip::NotSelected => f.write_str("not selected (--only)"),
            UndoSkip::NotAFilePath => f.write_str("not a file path"),
            UndoSkip::NotYours { uid } => write!(
                f,
                "recorded by a run of uid {uid}, not yours; only your own runs are undone"
            ),
            UndoSkip::Gone => f.write_str("no longer exists"),
            UndoSkip::NotRegular => f.write_str("no longer a regular file"),
            UndoSkip::AlreadySplit => {
                f.write_str("already has a file of its own (split or replaced since)")
            }
            UndoSkip::Symlink { link } => write!(
                f,
                "{} is a symlink now; undo follows none",
                Escaped(link)
            ),
            UndoSkip::DirReplaced => f.write_str(
                "its directory is not the one that was linked in (moved or replaced since)",
            ),
            UndoSkip::KeeperMoved => {
                f.write_str("its keeper's path no longer names the file it shares")
            }
            UndoSkip::SharedFileEdited => f.write_str(
                "the shared file was changed since the link (so did every path sharing it); left as it is",
            ),
            UndoSkip::ForeignOwner { uid, keeper_uid } => write!(
                f,
                "the journal gives it to uid {uid}, but it shares a file of uid {keeper_uid}, \
                 which no link run does; left as it is"
            ),
            UndoSkip::OpenForWriting => {
                f.write_str("the shared file is open for writing by another process")
            }
            UndoSkip::Swap(r) => write!(f, "{r}"),
            UndoSkip::Gate(r) => write!(f, "{r}"),
        }
    }
}

/// Undo the entries of a journal (all, or only those whose path is in `only`); nothing changes
/// when `dry_run`.
pub fn undo(journal: &Read, only: &[PathBuf], dry_run: bool) -> Vec<Undone> {
    let leases = leases::enable();
    let mut buf = sys::AlignedBuf::with_len(COPY_BUF);
    journal
        .entries
        .iter()
        .map(|e| {
            if !only.is_empty() && !only.iter().any(|o| o == &e.path) {
                return Undone::Skipped(UndoSkip::NotSelected);
            }
            let run_uid = e.v2.as_ref().map_or(journal.owner, |x| x.run_uid);
            if run_uid != sys::euid() {
                return Undone::Skipped(UndoSkip::NotYours { uid: run_uid });
            }
            match one(e, dry_run, leases, Some(buf.get(COPY_BUF))) {
                Ok(u) => u,
                Err(err) => Undone::Failed(err),
            }
        })
        .collect()
}

/// What a path of the journal is now.
enum Found {
    Here(Undone),
    Linked(Linked),
}

/// A path that is still a link of the keeper: its directory, the shared file, what it is.
struct Linked {
    dir: std::os::fd::OwnedFd,
    file: File,
    st: Stat,
}

/// Reach the entry's path from `/` without following a symlink, and check it is still a link
/// of the keeper, in the directory that was linked in.
fn find(e: &Entry) -> Result<Found, Error> {
    let skip = |s| Ok(Found::Here(Undone::Skipped(s)));
    let (Some(parent), Some(name)) = (e.path.parent(), e.path.file_name()) else {
        return skip(UndoSkip::NotAFilePath);
    };
    let (dir, dst) = match resolve(parent, Symlinks::Never) {
        Ok(d) => d,
        Err(Unresolved::Symlink { link }) => return skip(UndoSkip::Symlink { link }),
        Err(Unresolved::Io { err, .. })
            if matches!(
                Errno::from_io_error(&err),
                Some(Errno::NOENT | Errno::NOTDIR)
            ) =>
        {
            return skip(UndoSkip::Gone);
        }
        Err(u) => return Err(Error::from(u)),
    };
    if !dst.is_dir() || e.v2.as_ref().is_some_and(|x| x.dir_id != dst.ident.id) {
        return skip(UndoSkip::DirReplaced);
    }
    let (file, st) = match sys::open_regular_at(dir.as_fd(), name) {
        Ok(r) => r,
        Err(err) if Errno::from_io_error(&err) == Some(Errno::NOENT) => {
            return skip(UndoSkip::Gone);
        }
        Err(err) => return Err(Error::io(&e.path, err)),
    };
    let Some(file) = file else {
        return skip(UndoSkip::NotRegular);
    };
    if st.ident.id != e.keeper_id || e.path == e.keeper {
        return skip(UndoSkip::AlreadySplit);
    }
    match resolve(&e.keeper, Symlinks::Never) {
        Ok((_, k)) if k.ident.id == e.keeper_id => {}
        _ => return skip(UndoSkip::KeeperMoved),
    }
    if st.ident.len.0 != e.len || st.ident.mtime != e.keeper_mtime {
        return skip(UndoSkip::SharedFileEdited);
    }
    Ok(Found::Linked(Linked { dir, file, st }))
}

/// What may be given back: the recorded owner, group, mode and attributes, less what the
/// keeper does not carry itself of set-id bits and `security.*` / `trusted.*` attributes.
struct Grant {
    uid: u32,
    gid: u32,
    mode: u32,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    withheld: Vec<String>,
}

fn grant(
    e: &Entry,
    keeper: &Stat,
    keeper_xattrs: &[(Vec<u8>, Vec<u8>)],
) -> Result<Grant, UndoSkip> {
    let k = &keeper.ident;
    if e.uid != k.uid && k.uid != 0 {
        return Err(UndoSkip::ForeignOwner {
            uid: e.uid,
            keeper_uid: k.uid,
        });
    }
    let guarded = |n: &[u8]| n.starts_with(b"security.") || n.starts_with(b"trusted.");
    let (mut xattrs, mut withheld) = (Vec::new(), Vec::new());
    for (n, v) in &e.xattrs {
        if guarded(n) && !keeper_xattrs.iter().any(|(kn, kv)| kn == n && kv == v) {
            withheld.push(String::from_utf8_lossy(n).into_owned());
        } else {
            xattrs.push((n.clone(), v.clone()));
        }
    }
    let setid = e.mode & 0o6000;
    if setid & !k.mode != 0 {
        withheld.push(format!("set-id bits {:04o}", setid & !k.mode));
    }
    Ok(Grant {
        uid: e.uid,
        gid: e.gid,
        mode: (e.mode & 0o1777) | (setid & k.mode),
        xattrs,
        withheld,
    })
}

/// Give a path that shares its inode with another (a hard link) an inode of its own sharing
/// the extents of the one it had (a clone), with exactly that inode's metadata: for `linkdup
/// split`. `e` is made from the live files; it is re-proved like a journal's entry. Where no
/// clone can be made (the filesystem can't share extents) it fails: nothing is copied.
pub fn split(e: &Entry, dry_run: bool, leases: bool) -> Undone {
    one(e, dry_run, leases, None).unwrap_or_else(Undone::Failed)
}

/// `buf`: where bytes are copied through when no clone can be made (`None`: clones only, and
/// the copy takes the shared inode's metadata as it is now, not as `e` saw it: a `split`).
fn one(e: &Entry, dry_run: bool, leases: bool, buf: Option<&mut [u8]>) -> Result<Undone, Error> {
    let linked = match find(e)? {
        Found::Here(u) => return Ok(u),
        Found::Linked(l) => l,
    };
    let kx = sys::fxattrs(linked.file.as_fd()).map_err(|err| Error::io(&e.path, err))?;
    // A split gives the path exactly what it has now (re-proved on the live inode, not what
    // was read when its set was first opened): a chmod, chown or ACL change made meanwhile
    // must not be undone by the copy.
    let live;
    let e = if buf.is_none() {
        live = Entry {
            uid: linked.st.ident.uid,
            gid: linked.st.ident.gid,
            mode: linked.st.ident.mode,
            mtime: linked.st.ident.mtime,
            atime: linked.st.atime,
            xattrs: kx.clone(),
            ..e.clone()
        };
        &live
    } else {
        e
    };
    let g = match grant(e, &linked.st, &kx) {
        Ok(g) => g,
        Err(s) => return Ok(Undone::Skipped(s)),
    };
    if dry_run {
        // As the real run would (it takes this lease first): a file open for writing is a skip.
        if Leases::take(leases, &[&linked.file]).is_err() {
            return Ok(Undone::Skipped(UndoSkip::OpenForWriting));
        }
        return Ok(Undone::Restored {
            withheld: g.withheld,
        });
    }
    restore(e, &linked, g, leases, buf)
}

/// Give the path a file of its own: a copy beside it, filled, held read-only and leased, then
/// exchanged with the path.
fn restore(
    e: &Entry,
    linked: &Linked,
    g: Grant,
    leases: bool,
    buf: Option<&mut [u8]>,
) -> Result<Undone, Error> {
    // Held from before the copy to the end of the exchange: a writer of the shared file
    // (through this path or another) makes the undo put everything back.
    let Ok(lease) = Leases::take(leases, &[&linked.file]) else {
        return Ok(Undone::Skipped(UndoSkip::OpenForWriting));
    };
    let (tmp, copy) = new_temp(linked.dir.as_fd(), &e.path)?;
    let incoming = sys::stat_fd(copy.as_fd())
        .map_err(|err| Error::io(&e.path, err))?
        .ident
        .id;
    let staged = Staged {
        e,
        linked,
        tmp,
        incoming,
    };
    // Once written, the copy is held read-only and leased too: a writer that opens the path
    // just after the exchange gets the copy, and must not lose its edit if the exchange is
    // then undone.
    let ro = prepare(linked, copy, e, &g, buf, &lease).map_err(|err| staged.discard(err))?;
    let Ok(copy_lease) = Leases::take(leases, &[&ro]) else {
        let err = io::Error::other("its copy was opened for writing by another process");
        return Err(staged.discard(err));
    };
    let outgoing_untouched = || lease.untouched(&linked.file);
    let incoming_untouched = || copy_lease.untouched(&ro);
    match staged
        .exchange(&outgoing_untouched, &incoming_untouched)
        .run()
    {
        Ok(()) => Ok(Undone::Restored {
            withheld: g.withheld,
        }),
        Err(Failure::Skip(r)) => Ok(Undone::Skipped(UndoSkip::Swap(r))),
        Err(Failure::Fail(err)) => Err(err),
    }
}

/// Fill the copy and reopen it read-only; the writable fd is closed either way. An error too if
/// the shared file was opened for writing meanwhile.
fn prepare(
    linked: &Linked,
    copy: File,
    e: &Entry,
    g: &Grant,
    buf: Option<&mut [u8]>,
    lease: &Leases<'_>,
) -> io::Result<File> {
    let ro = fill(linked, &copy, e, g, buf)
        .and_then(|()| sys::reopen(copy.as_fd(), sys::OpenFlags::RDONLY));
    drop(copy);
    let ro = ro?;
    if !lease.all_untouched() {
        return Err(io::Error::other(
            "the shared file was opened for writing meanwhile",
        ));
    }
    Ok(ro)
}

/// The copy under its temporary name beside the path.
struct Staged<'a> {
    e: &'a Entry,
    linked: &'a Linked,
    tmp: OsString,
    /// The copy's inode.
    incoming: FileId,
}

impl Staged<'_> {
    /// The exchange of the path's name with the copy's.
    fn exchange<'b>(
        &'b self,
        outgoing_untouched: &'b dyn Fn() -> bool,
        incoming_untouched: &'b dyn Fn() -> bool,
    ) -> Exchange<'b> {
        Exchange {
            dir: self.linked.dir.as_fd(),
            name: self.e.path.file_name().unwrap_or_default(),
            tmp: &self.tmp,
            path: &self.e.path,
            incoming: self.incoming,
            outgoing: &self.linked.st,
            outgoing_untouched,
            incoming_untouched,
        }
    }

    /// The copy can't be used (`err` says why): remove it. The error to report is `err`, or
    /// what went wrong removing it.
    fn discard(&self, err: io::Error) -> Error {
        let failed = Error::Step {
            path: self.e.path.clone(),
            step: "preparing its copy",
            err,
        };
        let cleanup = self.exchange(&|| true, &|| true);
        cleanup.remove_incoming().err().unwrap_or(failed)
    }
}

/// Write the copy: the shared file's bytes, then the metadata to give back, then sync. On a
/// filesystem whose files can share extents the copy shares the shared file's (`FICLONE`),
/// so it takes no space; elsewhere the bytes are copied, holes left as holes.
fn fill(
    linked: &Linked,
    dst: &File,
    e: &Entry,
    g: &Grant,
    buf: Option<&mut [u8]>,
) -> io::Result<()> {
    let src = &linked.file;
    match (sys::clone_file(dst, src), buf) {
        (Ok(()), _) => {}
        (Err(err), Some(buf)) if sys::cannot_share(&err) => copy_bytes(src, dst, e.len, buf)?,
        (Err(err), _) => return Err(err),
    }
    // A clone is all or nothing, but a copy of another length is never taken for one.
    if sys::stat_fd(dst.as_fd())?.ident.len.0 != e.len {
        return Err(io::Error::other(
            "its copy does not have the recorded length",
        ));
    }
    let now = sys::stat_fd(src.as_fd())?;
    if now.ident.len.0 != e.len || now.ident.mtime != e.keeper_mtime {
        return Err(io::Error::other(
            "the shared file changed while it was copied",
        ));
    }
    sys::clear_inherited_flags(dst, src)?;
    sys::restore_metadata(dst, (g.uid, g.gid, g.mode), &g.xattrs, e.atime, e.mtime)?;
    dst.sync_all()?;
    // Owner, mode and attributes were given from what the shared file was when it was found:
    // if any changed since (its ctime moves with chmod, chown and setxattr), the copy may
    // grant what the path no longer has.
    let now = sys::stat_fd(src.as_fd())?;
    if now.ident.ctime != linked.st.ident.ctime {
        return Err(io::Error::other(
            "the shared file's owner, mode or attributes changed while it was copied",
        ));
    }
    Ok(())
}

/// Copy `len` bytes of `src` into `dst`, leaving holes as holes.
fn copy_bytes(src: &File, dst: &File, len: u64, buf: &mut [u8]) -> io::Result<()> {
    let mut pos = 0;
    while let Some((start, end)) = sys::next_data(src, pos, len)? {
        let mut off = start;
        while off < end {
            let n = (end - off).min(buf.len() as u64) as usize;
            src.read_exact_at(&mut buf[..n], off)?;
            dst.write_all_at(&buf[..n], off)?;
            off += n as u64;
        }
        pos = end;
    }
    sys::set_len(dst, len)
}

fn new_temp(dir: BorrowedFd<'_>, path: &Path) -> Result<(OsString, File), Error> {
    for _ in 0..16 {
        let tmp = crate::tempname::new();
        match sys::create_new_at(dir, &tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(err) if Errno::from_io_error(&err) == Some(Errno::EXIST) => continue,
            Err(err) => {
                return Err(Error::Step {
                    path: path.to_path_buf(),
                    step: "creating its copy",
                    err,
                });
            }
        }
    }
    Err(Error::NoTempName {
        path: path.to_path_buf(),
    })
}
