//! amplify-deploy: ship a static site to an AWS Amplify Hosting manual-deploy
//! app from CI.
//!
//! The binary parses the command line ([`cli`]), resolves it with the
//! environment into typed [`settings`], runs the command ([`commands`]) and
//! maps the error class to an exit code.

pub mod amplify;
mod branch;
pub mod choices;
pub mod ci;
pub mod cli;
mod commands;
mod connection;
mod credentials;
mod deadline;
pub mod deploy;
pub mod error;
mod explain;
pub mod github;
pub mod history;
pub mod http;
pub mod incident;
pub mod init;
pub mod outcome;
pub mod package;
pub mod policy;
mod preview;
mod progress;
pub mod provenance;
mod report;
pub mod rules;
pub mod s3;
pub mod settings;
mod signal;

use std::process::ExitCode;

use crate::error::{ErrorClass, RunError};
use crate::report::Reporter;
use crate::settings::{Env, OutputSettings, Settings};

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let env = Env::real();
    let cli = cli::parse(|name| env.var_os(name));
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let output = OutputSettings::resolve(&cli.output, &env, terminal);
    let reporter = Reporter::from_env(|name| env.var_os(name)).with_output(output);
    match Settings::resolve(&cli, &env).and_then(|settings| run(&settings, &reporter)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            reporter.error(&e);
            e.class.exit_code()
        }
    }
}

/// Run the command on a fresh async runtime.
fn run(settings: &Settings, reporter: &Reporter) -> Result<(), RunError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            RunError::new(
                ErrorClass::Aws,
                format!("cannot start the async runtime: {e}"),
            )
        })?;
    let result = rt.block_on(commands::run(settings, reporter));
    // Don't wait for a packaging thread a signal cut short.
    rt.shutdown_background();
    result
}
