//! The one atomic replacement of a name, shared by the executor (a link of the keeper goes in,
//! the duplicate comes out) and by undo (a copy goes in, the shared link comes out): exchange
//! the prepared temp name with the name (`RENAME_EXCHANGE`), check what came out, and either
//! finish (remove the temp name, which now holds what came out) or put everything back.
//!
//! What a writer racing the exchange finds:
//! - it opened the outgoing file (through the name, just before the exchange): its lease broke,
//!   so the exchange is undone and the name holds that file, with the edit, again;
//! - it opened the incoming file (through the name, just after the exchange): the swap stands,
//!   and the edit is in the file the name now holds;
//! - one writer of each (two writers of the one name, a moment apart): the swap stands with the
//!   later edit, and the temp name, holding the outgoing file with the earlier one, is left in
//!   place and reported: no edit is lost;
//! - it put another file at the name (an editor's save, after our check): theirs stays at the
//!   name, before the exchange (it is exchanged back) or after it (it is left alone).
//!
//! A filesystem without `RENAME_EXCHANGE` gets no replacement at all: every other way to
//! replace a name (`rename` over it, or unlink and link) can destroy a file saved at that
//! instant, or leave the name absent.

use std::ffi::OsStr;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

use crate::error::{Error, TempLeft};
use crate::model::{FileId, RunSkip};
use crate::sys::{self, Errno, Stat};

/// Why a replacement did not happen.
#[derive(Debug)]
pub enum Failure {
    /// Nothing changed (or everything was put back), for the reason given.
    Skip(RunSkip),
    /// Something went wrong; the error says what was left where.
    Fail(Error),
}

/// One replacement of `name` in `dir` by the file under `tmp`.
pub struct Exchange<'a> {
    pub dir: BorrowedFd<'a>,
    pub name: &'a OsStr,
    pub tmp: &'a OsStr,
    /// The name's full path, for messages.
    pub path: &'a Path,
    /// What goes in: the inode under `tmp`.
    pub incoming: FileId,
    /// What comes out: the file the name held when it was verified.
    pub outgoing: &'a Stat,
    /// Nobody opened the outgoing file for writing since it was verified.
    pub outgoing_untouched: &'a dyn Fn() -> bool,
    /// Nobody opened the incoming file for writing since it was verified.
    pub incoming_untouched: &'a dyn Fn() -> bool,
}

impl Exchange<'_> {
    /// Replace the name. On success the outgoing file has no name left here (whoever holds it
    /// open still has it); on failure the name holds what it held, or what someone else put
    /// there, and the temp name is gone unless the error names it.
    pub fn run(&self) -> Result<(), Failure> {
        match sys::exchange_at(self.dir, self.tmp, self.name) {
            Ok(()) => self.after(),
            Err(e) => {
                let errno = Errno::from_io_error(&e);
                if let Err(then) = self.check_incoming() {
                    return Err(Failure::Fail(self.left(TempLeft::ExchangeFailed {
                        err: e,
                        then: Box::new(then),
                    })));
                }
                Err(match errno {
                    Some(Errno::INVAL) => Failure::Skip(RunSkip::NoExchange),
                    Some(Errno::NOENT) => {
                        Failure::Skip(RunSkip::Changed(crate::model::Change::Deleted))
                    }
                    _ => Failure::Fail(Error::Step {
                        path: self.path.to_path_buf(),
                        step: "exchanging with the temporary name",
                        err: e,
                    }),
                })
            }
        }
    }

    /// Is `st` the outgoing file as verified? (Its ctime moves with the exchange.)
    fn is_outgoing(&self, st: &io::Result<Stat>) -> bool {
        let v = &self.outgoing.ident;
        // Owner and mode too (an exchange moves neither): a chmod or chown meanwhile would
        // otherwise be undone by the incoming file's.
        matches!(st, Ok(d) if d.is_file() && d.ident.id == v.id && d.ident.len == v.len
            && d.ident.mtime == v.mtime && d.ident.mode == v.mode && d.ident.uid == v.uid
            && d.ident.gid == v.gid)
    }

    fn after(&self) -> Result<(), Failure> {
        let displaced = sys::stat_at(self.dir, self.tmp);
        let now = sys::stat_at(self.dir, self.name);
        let name_is_incoming = matches!(&now, Ok(n) if n.ident.id == self.incoming);
        let displaced_ok = self.is_outgoing(&displaced);
        let outgoing_intact = displaced_ok && (self.outgoing_untouched)();
        if name_is_incoming && displaced_ok && !outgoing_intact && !(self.incoming_untouched)() {
            // Both files opened for writing: whichever way the names go, one writer's edit is
            // not where it was written. Keep both files, say where each is.
            return Err(Failure::Fail(self.left(TempLeft::BothWritten)));
        }
        match (name_is_incoming, outgoing_intact) {
            // Done. A writer that opened the incoming file through the name meanwhile wrote to
            // the file the name now holds: its edit is where it meant it to be.
            (true, true) => sys::unlink_at(self.dir, self.tmp)
                .map_err(|e| Failure::Fail(self.left(TempLeft::NotRemoved(e)))),
            (true, false) => self.put_back(),
            // Someone else replaced the name after our exchange: their file stays. The temp
            // holds the verified outgoing file, whose content lives on in the incoming one.
            (false, true) => {
                sys::unlink_at(self.dir, self.tmp)
                    .map_err(|e| Failure::Fail(self.left(TempLeft::NotRemoved(e))))?;
                Err(Failure::Skip(RunSkip::ReplacedDuringSwap))
            }
            (false, false) => Err(Failure::Fail(self.left(TempLeft::BothChanged))),
        }
    }

    /// The outgoing file changed, or was opened for writing, or is not what came out: exchange
    /// back, so the name holds it (and whatever was written to it) again.
    fn put_back(&self) -> Result<(), Failure> {
        if let Err(e) = sys::exchange_at(self.dir, self.tmp, self.name) {
            return Err(Failure::Fail(self.left(TempLeft::NotPutBack(e))));
        }
        if !(self.incoming_untouched)() {
            // Someone opened the incoming file (through the name) meanwhile: it is not ours to
            // remove any more.
            return Err(Failure::Fail(self.left(TempLeft::IncomingOpened)));
        }
        self.remove_incoming().map_err(Failure::Fail)?;
        Err(Failure::Skip(RunSkip::ChangedDuringSwap))
    }

    /// An error that names the temp name left in place.
    fn left(&self, why: TempLeft) -> Error {
        Error::TempLeft {
            path: self.path.to_path_buf(),
            tmp: Path::new(self.tmp).to_path_buf(),
            why,
        }
    }

    /// The one cleanup path for the temp name: removed only if it still holds the incoming
    /// file (ours: a link of the keeper, or undo's copy).
    pub fn remove_incoming(&self) -> Result<(), Error> {
        self.check_incoming().map_err(|why| self.left(why))
    }

    fn check_incoming(&self) -> Result<(), TempLeft> {
        match sys::stat_at(self.dir, self.tmp) {
            Ok(st) if st.ident.id == self.incoming => {
                sys::unlink_at(self.dir, self.tmp).map_err(TempLeft::OursNotRemoved)
            }
            Ok(_) => Err(TempLeft::NotOurs),
            Err(e) => Err(TempLeft::Unchecked(e)),
        }
    }
}
