//! amplify-deploy: ship a static site to an AWS Amplify Hosting manual-deploy
//! app from CI.

pub mod amplify;
mod branches;
pub mod ci;
pub mod cli;
mod credentials;
pub mod deploy;
pub mod error;
mod explain;
pub mod github;
pub mod http;
pub mod outcome;
pub mod package;
mod report;
pub mod settings;
mod signal;

use std::process::ExitCode;

use crate::cli::{Cli, Command, DeployArgs, PackageArgs};
use crate::error::{ErrorClass, RunError};
use crate::outcome::{Outcome, RunStatus};
use crate::report::Reporter;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // Map GitHub's INPUT_* variables before anything reads the environment
    // and before any thread exists.
    for (name, value) in cli::github_input_overrides(|k| std::env::var_os(k)) {
        std::env::set_var(name, value);
    }
    let cli = cli::parse();
    let reporter = Reporter::from_env();
    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => {
            let result = rt.block_on(dispatch(cli, reporter.clone()));
            // Don't wait for a packaging thread a signal cut short.
            rt.shutdown_background();
            result
        }
        Err(e) => Err(RunError::new(
            ErrorClass::Aws,
            format!("cannot start the async runtime: {e}"),
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            reporter.error(&e);
            e.class.exit_code()
        }
    }
}

async fn dispatch(cli: Cli, reporter: Reporter) -> Result<(), RunError> {
    match cli.command {
        Some(Command::Deploy(args)) => deploy(*args, reporter).await,
        Some(Command::Package(args)) => package(args, reporter).await,
        Some(Command::DeleteBranch(args)) => branches::delete_branch(args, reporter).await,
        Some(Command::Status(args)) => branches::status(args, reporter).await,
        Some(Command::Stop(args)) => branches::stop(args, reporter).await,
        None => deploy(cli.deploy, reporter).await,
    }
}

async fn deploy(mut args: DeployArgs, reporter: Reporter) -> Result<(), RunError> {
    // Pull request previews and GitHub deployments (src/github).
    let mut gh = github::Integration::prepare(&mut args, &reporter)?;
    if gh.closes_preview() {
        return gh.remove_preview(&args).await;
    }
    gh.before_deploy().await;
    let result = match deploy::deploy(&args, reporter.clone()).await {
        Ok(result) => result,
        Err(e) => {
            gh.after_deploy(None, Some(&e)).await;
            return Err(e);
        }
    };
    gh.after_deploy(Some(&result.outcome), result.error.as_ref())
        .await;
    let outcome = result.outcome;
    let report_error = write_reports(&args, &outcome, &reporter);
    if let Some(err) = result.error {
        return Err(err);
    }
    print_summary(&outcome, &reporter);
    report_error
}

/// `$GITHUB_OUTPUT`, the job summary, `--json` and `--dotenv`.
fn write_reports(args: &DeployArgs, o: &Outcome, reporter: &Reporter) -> Result<(), RunError> {
    let gh = reporter.github();
    let mut first_err = None;
    let mut note = |r: Result<(), ci::CiError>| {
        if let Err(e) = r {
            reporter.warning(&e.to_string());
            first_err.get_or_insert(RunError::input(e.to_string()).caused_by(&e));
        }
    };
    note(gh.set_outputs(&o.outputs()));
    if o.job_id.is_some() || o.status.is_some() {
        note(gh.append_summary(&ci::github::summary_markdown(o)));
    }
    if let Some(target) = &args.json {
        note(ci::json::write(o, target));
    }
    if let Some(path) = &args.dotenv {
        note(ci::dotenv::write_file(o, path));
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn print_summary(o: &Outcome, reporter: &Reporter) {
    match &o.status {
        Some(status) if status.succeeded() => {
            let url = o.url.as_deref().unwrap_or("(unknown URL)");
            reporter.line(format!(
                "deployed {}/{} job {}: {url}",
                o.app_id,
                o.branch,
                o.job_id.as_deref().unwrap_or("?")
            ));
            reporter.github().notice("Deployed", url);
        }
        Some(RunStatus::Started) => reporter.line(format!(
            "started {}/{} job {} (not waiting): {}",
            o.app_id,
            o.branch,
            o.job_id.as_deref().unwrap_or("?"),
            o.console_url
        )),
        _ => {}
    }
}

async fn package(args: PackageArgs, reporter: Reporter) -> Result<(), RunError> {
    let f = &args.filter;
    let opts = package::package_options(&args.path, &f.exclude, f.threads, f.max_archive_bytes)?;
    let output = args.output.clone();
    let report = tokio::task::spawn_blocking(move || package::package_to_file(&opts, &output))
        .await
        .map_err(|e| RunError::input(format!("packaging stopped: {e}")))?
        .map_err(package::package_error)?;
    for w in &report.warnings {
        reporter.warning(w);
    }
    reporter.line(format!(
        "{}: {} files, {} in, {} out, sha256 {}, {:.2}s",
        args.output.display(),
        report.file_count,
        report.bytes_in,
        report.bytes_out,
        report.sha256,
        report.elapsed.as_secs_f64()
    ));
    Ok(())
}
