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
    pub(super) fn run_share(&mut self, keeper: &Member, action: &LinkAction) -> Outcome {
        match self.share(keeper, &action.victim) {
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
fn dedupe_all(k: &File, v: &File, len: u64, vpath: &Path, kpath: &Path) -> Result<(), Problem> {
    chunks(len, |off, n| sys::dedupe_range(k, v, off, n)).map_err(|end| match end {
        End::Differs => Problem::Skip(RunSkip::ContentDiffers),
        End::Failed(e) => Problem::Fail(step(vpath, "sharing extents with the keeper", e)),
        End::Partly { shared, differs } => Problem::Fail(Error::PartlyShared {
            path: vpath.to_path_buf(),
            keeper: kpath.to_path_buf(),
            shared,
            len,
            differs,
        }),
    })
}

/// How sharing stopped short of the whole file.
#[derive(Debug)]
enum End {
    /// The first chunk differs: nothing was shared.
    Differs,
    /// The first call failed: nothing was shared.
    Failed(std::io::Error),
    /// The first `shared` bytes share extents; then a chunk differed, came back short or failed.
    Partly { shared: u64, differs: bool },
}

/// Submit `len` bytes in chunks of at most [`CHUNK`] to `dedupe(offset, length)`, in order,
/// until one is not shared whole. Bytes found different at the start are [`End::Differs`];
/// anything short of the whole file after that is [`End::Partly`], never success.
fn chunks(
    len: u64,
    mut dedupe: impl FnMut(u64, u64) -> std::io::Result<Deduped>,
) -> Result<(), End> {
    let mut off = 0;
    while off < len {
        let n = (len - off).min(CHUNK);
        match dedupe(off, n) {
            Ok(Deduped::Shared(done)) if done == n => off += n,
            Ok(Deduped::Shared(done)) => {
                return Err(End::Partly {
                    shared: off + done.min(n),
                    differs: false,
                });
            }
            Ok(Deduped::Differs) if off == 0 => return Err(End::Differs),
            Ok(Deduped::Differs) => {
                return Err(End::Partly {
                    shared: off,
                    differs: true,
                });
            }
            Err(e) if off == 0 => return Err(End::Failed(e)),
            Err(_) => {
                return Err(End::Partly {
                    shared: off,
                    differs: false,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way a dedupe can stop short is reported as such, with how much is shared; only
    /// every chunk shared whole is success. Chunks are at most 16 MiB, in order.
    #[test]
    fn a_short_or_differing_dedupe_is_never_success() {
        const M: u64 = 1 << 20;
        // (file length, what the kernel answers for the i-th call, expected end)
        type Answer = fn(usize, u64) -> std::io::Result<Deduped>;
        let whole: Answer = |_, n| Ok(Deduped::Shared(n));
        let short_second: Answer = |i, n| Ok(Deduped::Shared(if i == 1 { n - 1 } else { n }));
        let differs_first: Answer = |_, _| Ok(Deduped::Differs);
        let differs_third: Answer = |i, n| {
            Ok(if i == 2 {
                Deduped::Differs
            } else {
                Deduped::Shared(n)
            })
        };
        let eio_first: Answer = |_, _| Err(std::io::Error::from_raw_os_error(libc::EIO));
        let eio_second: Answer = |i, n| {
            if i == 1 {
                Err(std::io::Error::from_raw_os_error(libc::EIO))
            } else {
                Ok(Deduped::Shared(n))
            }
        };
        let zero: Answer = |_, _| Ok(Deduped::Shared(0));
        let cases: [(u64, Answer, &str); 8] = [
            (40 * M + 5, whole, "ok"),
            (1, whole, "ok"),
            (40 * M, short_second, "partly 33554431 false"),
            (3 * M, differs_first, "differs"),
            (40 * M, differs_third, "partly 33554432 true"),
            (M, eio_first, "failed"),
            (40 * M, eio_second, "partly 16777216 false"),
            (M, zero, "partly 0 false"),
        ];
        for (len, answer, want) in cases {
            let mut calls = Vec::new();
            let got = chunks(len, |off, n| {
                calls.push((off, n));
                answer(calls.len() - 1, n)
            });
            let got = match got {
                Ok(()) => "ok".to_string(),
                Err(End::Differs) => "differs".into(),
                Err(End::Failed(_)) => "failed".into(),
                Err(End::Partly { shared, differs }) => format!("partly {shared} {differs}"),
            };
            assert_eq!(got, want, "len {len}");
            // In order, contiguous, each at most CHUNK.
            let mut at = 0;
            for &(off, n) in &calls {
                assert_eq!(off, at);
                assert!(n > 0 && n <= CHUNK);
                at += n;
            }
            if want == "ok" {
                assert_eq!(at, len);
            }
        }
    }
}
