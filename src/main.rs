//! The `linkdup` binary: parse the command line, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use linkdup::app::{self, Io, exit};
use linkdup::cli::Cli;
use linkdup::ui::{StderrListener, TermConfirm};

fn main() -> ExitCode {
    let cfg = Cli::parse().into_config();
    let io = Io {
        out: &mut std::io::stdout().lock(),
        listener: &StderrListener,
        confirm: &mut TermConfirm,
    };
    match app::run(&cfg, io) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("linkdup: {e:#}");
            ExitCode::from(exit::REFUSED)
        }
    }
}
