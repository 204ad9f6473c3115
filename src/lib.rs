//! linkdup finds duplicate files and replaces the redundant copies with hard links, safely.
//!
//! ```text
//! cli ─▶ Config { output, command }                                  (one config per command)
//! ScanConfig ─walk─▶ Walked { Tree, Files } ─size─▶ Candidates ─partial─▶ Candidates
//!            ─full─▶ Candidates ─xattrs─▶ Groups                    (scan::scan, in that order)
//! Groups ─one DupGroup at a time─▶ + PlanPolicy ─plan─▶ Plan        (pure: touches nothing)
//! Plan ─▶ report::render | ui confirm ─▶ execute (RunOptions) ─▶ Outcome* ─▶ Summary ─▶ report
//! Groups ─plan::replan, group by group─▶ report::render             (a dry run: no plan held)
//! ```
//!
//! [`scan`] finds groups, [`plan`] decides (pure), [`execute`] swaps with the protocol of the
//! safety model, [`report`] renders; [`app`] runs one command of [`config::Command`]. Only
//! [`ui`] and the binary talk to a person. Modules are layered (`scripts/check-layers.py`
//! checks it): leaves (`escape`, `tempname`, `config`, `error`, `model`, `codec`, `dirs`,
//! `sys`, `resolve`, `gates`, `fsverify`, `statefile`) below the stages (`scan`, `plan`,
//! `journal`, `planfile`), below `execute`, below what reads state back (`recover`, `undo`,
//! then `journals` and `split`), below `report` and `ui`, below `app` and `cli`; no module uses
//! one above it.

// The documentation is for whoever changes linkdup (`cargo doc --document-private-items`):
// public docs may point at internals.
#![allow(rustdoc::private_intra_doc_links)]

#[cfg(not(target_os = "linux"))]
compile_error!(
    "linkdup runs on Linux only: every swap needs renameat2(RENAME_EXCHANGE), and the checks \
     need statx and file leases (F_SETLEASE)"
);

pub mod app;
pub mod cli;
mod codec;
pub mod config;
mod dirs;
pub mod error;
pub mod escape;
pub mod execute;
mod fsverify;
mod gates;
mod journal;
mod journals;
pub mod listener;
pub mod model;
pub mod plan;
mod planfile;
mod recover;
mod report;
mod resolve;
pub mod scan;
mod split;
mod statefile;
mod sys;
mod tempname;
pub mod ui;
mod undo;

pub use config::Config;
pub use error::Error;
pub use model::{DupGroup, FileId, FileLen, Inode, LinkAction, Outcome, Plan, ScanOutput, Summary};
