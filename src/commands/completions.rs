//! `amplify-deploy completions SHELL`: the shell's completion script on stdout.

use std::io::Write as _;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::RunError;

/// Print the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<(), RunError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "amplify-deploy", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(|e| RunError::input(format!("cannot write the completion script: {e}")))
}
