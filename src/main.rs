//! The `linkdup` binary: parse the command line, run, map the result to an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use linkdup::app::{self, Io, exit};
use linkdup::cli::{Action, Cli};
use linkdup::escape::sanitize;
use linkdup::ui::{StderrListener, TermConfirm};

fn main() -> ExitCode {
    let (cfg, progress) = match Cli::parse().into_action() {
        Ok(Action::Run { config, progress }) => (*config, progress),
        Ok(Action::Print(text)) => {
            let _ = std::io::stdout().write_all(&text);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("linkdup: {}", sanitize(&e));
            return ExitCode::from(exit::REFUSED);
        }
    };
    let listener = StderrListener::new(progress);
    let io = Io {
        out: &mut std::io::stdout().lock(),
        listener: &listener,
        confirm: &mut TermConfirm,
    };
    match app::run(&cfg, io) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            drop(listener);
            eprintln!("linkdup: {}", sanitize(&format!("{e:#}")));
            app::write_refusal(&mut std::io::stdout().lock(), &cfg.output, &e);
            ExitCode::from(exit::REFUSED)
        }
    }
}
