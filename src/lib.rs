//! linkdup finds duplicate files and replaces the redundant copies with hard links, safely.
//!
//! ```text
//! Config ─walk─▶ FileEntry* ─size─▶ SizeGroup* ─hash─▶ DupGroup* ─plan─▶ Plan ─▶ report | confirm ─▶ execute ─▶ Outcome* ─▶ Summary
//! ```
//!
//! [`scan`] finds groups, [`plan`] decides (pure), [`execute`] swaps with the protocol of the
//! safety model, [`report`] renders. Only [`ui`] and the binary talk to a person.

pub mod app;
pub mod cli;
pub mod codec;
pub mod config;
pub mod dirs;
pub mod error;
pub mod escape;
pub mod execute;
pub mod fsverify;
pub mod gates;
pub mod journal;
pub mod listener;
pub mod model;
pub mod plan;
pub mod planfile;
pub mod recover;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod statefile;
pub mod sys;
pub mod tempname;
pub mod ui;
pub mod undo;

pub use config::Config;
pub use error::Error;
pub use model::{DupGroup, FileId, FileLen, Inode, LinkAction, Outcome, Plan, ScanOutput, Summary};
