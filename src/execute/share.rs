//! The reflink action: make a duplicate share its keeper's extents (`FIDEDUPERANGE`) instead of
//! becoming a name of the keeper's inode. Both files are opened and verified exactly as for a
//! swap (directories by identity, files against the plan), the gates of [`gates::share`] are
//! run on them as they are now, and both are leased (a file open for writing is skipped). Then
//! the kernel compares the bytes under lock and shares the extents only where they are equal,
//! in chunks it accepts. No name is created, renamed or removed, so there is no temp name, no
//! journal line and no crash state: each path keeps its inode, owner, mode and times, and its
//! content, whatever happens.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use super::{Executor, Opened, Problem, facts, step};
use crate::error::Error;
use crate::execute::leases::{Busy, Leases};
use crate::gates;
use crate::model::{Change, LinkAction, Member, Outcome, RunSkip, SkipReason};
use crate::sys::{self, Deduped};

/// Bytes submitted per `FIDEDUPERANGE` call: what every kernel accepts in one (btrfs caps a
/// call at 16 MiB; XFS and the VFS allow more).
const CHUNK: u64 = 16 << 20;

impl Executor<'_> {
    /// One reflink action.
    pub(super) fn run_share(&mut self, action: &LinkAction) -> Outcome {
        match self.share(&action.keeper, &action.victim) {
            Ok(()) if self.dry => Outcome::Planned,
            Ok(()) => Outcome::Linked {
                freed: action.frees,
                keeper: None,
            },
            Err(Problem::Skip(why)) => Outcome::Skipped(why),
            Err(Problem::Fail(err)) => Outcome::Failed(err),
            // No link is made: there is no link limit to meet.
            Err(Problem::LinkLimit(_)) => Outcome::Skipped(RunSkip::LinkLimit),
        }
    }

    fn share(&mut self, keeper: &Member, victim: &Member) -> Result<(), Problem> {
        let kpath = self.tree.path(&keeper.loc);
        let vpath = self.tree.path(&victim.loc);
        let (k, v) = self.open_verified(keeper, victim, &kpath, &vpath)?;
        self.check_share(&k, &v, &kpath, &vpath)?;
        let leases = Leases::take(self.leases, &[&*k.file, &*v.file])
            .map_err(|Busy(i)| Problem::Skip(RunSkip::OpenForWriting { keeper: i == 0 }))?;
        if !leases.all_untouched() {
            return Err(Problem::Skip(RunSkip::Changed(Change::OpenedForWriting)));
        }
        if self.dry {
            return Ok(());
        }
        let result = dedupe_all(&k.file, &v.file, victim.expect.len.0, &vpath, &kpath);
        drop(leases);
        self.after_swap(&Ok(()), k, v);
        result
    }

    /// The gates of a reflink on the two files as they are now: same filesystem and mount, one
    /// that can share extents and is writable, and [`gates::share`].
    fn check_share(
        &mut self,
        k: &Opened,
        v: &Opened,
        kpath: &Path,
        vpath: &Path,
    ) -> Result<(), Problem> {
        let gate = |r: SkipReason| Err(Problem::Skip(RunSkip::Gate(r)));
        if k.st.mnt != v.st.mnt || k.st.ident.id.dev != v.st.ident.id.dev {
            return gate(SkipReason::OtherMount {
                keeper: kpath.to_path_buf(),
            });
        }
        let mount = self.mount(v.file.as_fd(), v.st.mnt, vpath)?;
        if mount.readonly {
            return gate(SkipReason::ReadOnly);
        }
        if !mount.reflink {
            return gate(SkipReason::NoReflink);
        }
        let kx =
            sys::fxattrs(k.file.as_fd()).map_err(|e| step(kpath, "reading its attributes", e))?;
        let vx =
            sys::fxattrs(v.file.as_fd()).map_err(|e| step(vpath, "reading its attributes", e))?;
        match gates::share(&facts(v, &vx), &facts(k, &kx), kpath) {
            Some(r) => gate(r),
            None => Ok(()),
        }
    }
}

/// Share every byte of `v` with `k`, chunk by chunk: the kernel compares each chunk under lock.
/// Bytes found different at the start are a skip (nothing was shared); anything short of the
/// whole file after that is a failure that says how much is shared (both files are unchanged).
fn dedupe_all(k: &File, v: &File, len: u64, vpath: &Path, kpath: &Path) -> Result<(), Problem> {
    let partly = |shared: u64, differs: bool| {
        Problem::Fail(Error::PartlyShared {
            path: vpath.to_path_buf(),
            keeper: kpath.to_path_buf(),
            shared,
            len,
            differs,
        })
    };
    let mut off = 0;
    while off < len {
        let n = (len - off).min(CHUNK);
        match sys::dedupe_range(k, v, off, n) {
            Ok(Deduped::Shared(done)) if done == n => off += n,
            Ok(Deduped::Shared(done)) => return Err(partly(off + done, false)),
            Ok(Deduped::Differs) if off == 0 => return Err(Problem::Skip(RunSkip::ContentDiffers)),
            Ok(Deduped::Differs) => return Err(partly(off, true)),
            Err(e) if off == 0 => {
                return Err(Problem::Fail(step(
                    vpath,
                    "sharing extents with the keeper",
                    e,
                )));
            }
            Err(_) => return Err(partly(off, false)),
        }
    }
    Ok(())
}
