//! `amplify-deploy completions SHELL`: the shell's completion script on stdout.

use std::io::Write as _;

use clap::CommandFactory;

use crate::cli::{Cli, Shell};
use crate::error::RunError;

/// Print the completion script for `shell`.
pub fn completions(shell: Shell) -> Result<(), RunError> {
    use clap_complete::{generate, shells};
    let (mut cli, name, mut script) = (Cli::command(), "amplify-deploy", Vec::new());
    match shell {
        Shell::Bash => generate(shells::Bash, &mut cli, name, &mut script),
        Shell::Zsh => generate(shells::Zsh, &mut cli, name, &mut script),
        Shell::Fish => generate(shells::Fish, &mut cli, name, &mut script),
        Shell::Powershell => generate(shells::PowerShell, &mut cli, name, &mut script),
    }
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(|e| RunError::input(format!("cannot write the completion script: {e}")))
}
