//! Resolving how the run prints (the types live below, in
//! `crate::report::output`).

use super::Env;
use crate::choices::{ColorChoice, Verbosity};
use crate::cli::OutputArgs;
use crate::report::output::{OutputSettings, ProgressMode, PROGRESS_INTERVAL};

impl OutputSettings {
    /// Verbosity: `-q`/`-v` beat `AMPLIFY_VERBOSITY`, then normal. Colour:
    /// `--color`/`AMPLIFY_COLOR` beat `NO_COLOR` (any non-empty value),
    /// which beats `CLICOLOR_FORCE`, then a terminal or GitHub Actions
    /// (whose log renders ANSI). `stderr_terminal`: is stderr a terminal.
    pub fn resolve(args: &OutputArgs, env: &Env, stderr_terminal: bool) -> OutputSettings {
        let verbosity = match (args.quiet, args.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => args.verbosity.unwrap_or_default(),
            (false, 1) => Verbosity::Verbose,
            (false, _) => Verbosity::Debug,
        };
        let set = |name: &str| env.var_os(name).is_some_and(|v| !v.is_empty());
        let github = env.var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true");
        let ci = github || env.get("CI").is_some_and(|v| v != "false" && v != "0");
        let terminal = stderr_terminal && env.get("TERM").as_deref() != Some("dumb");
        let color = match args.color.unwrap_or_default() {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set("NO_COLOR") => false,
            ColorChoice::Auto if env.get("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
            ColorChoice::Auto => terminal || github,
        };
        let interval = env
            .get("AMPLIFY_PROGRESS_INTERVAL")
            .and_then(|v| crate::cli::parse_duration(&v).ok())
            .unwrap_or(PROGRESS_INTERVAL);
        let progress = match verbosity {
            Verbosity::Quiet => ProgressMode::Off,
            _ if terminal && !ci => ProgressMode::Live,
            _ => ProgressMode::Lines(interval),
        };
        OutputSettings {
            verbosity,
            color,
            progress,
        }
    }
}
