//! amplify-deploy: ship a static site to an AWS Amplify Hosting manual-deploy
//! app from CI.

pub mod amplify;
pub mod ci;
pub mod cli;
pub mod error;
pub mod http;
pub mod outcome;
pub mod package;
pub mod settings;

use std::process::ExitCode;

use clap::Parser;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // Map GitHub's INPUT_* variables before anything reads the environment
    // and before any thread exists.
    for (name, value) in cli::github_input_overrides(|k| std::env::var_os(k)) {
        std::env::set_var(name, value);
    }
    let cli = cli::Cli::parse();
    let _ = cli;
    ExitCode::SUCCESS
}
