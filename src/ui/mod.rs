//! The only code that talks to a person: messages on stderr and the confirmation prompt
//! (dialoguer). Stages reach it through [`Listener`](crate::listener::Listener) and [`Confirm`].

mod confirm;
mod progress;

pub use confirm::{Choice, Confirm, GroupChoice, GroupView, TermConfirm};
pub use progress::StderrListener;
