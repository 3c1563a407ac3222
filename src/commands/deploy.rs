//! `amplify-deploy deploy`: a fork's preview decided first
//! (`crate::preview::fork`), the preview and GitHub deployment around the
//! pipeline (`crate::deploy`), then the reports: `$GITHUB_OUTPUT`, the job
//! summary, `--json`, `--dotenv` and the closing line.

use std::time::Instant;

use crate::ci;
use crate::error::RunError;
use crate::outcome::{Outcome, RunStatus};
use crate::preview;
use crate::preview::fork::{self, Route};
use crate::report::Reporter;
use crate::settings::{DeploySettings, Preview};

/// `amplify-deploy deploy` (also the default command), with its preview
/// and GitHub deployment around the pipeline.
pub async fn deploy(s: &DeploySettings, reporter: &Reporter) -> Result<(), RunError> {
    deploy_by(s, reporter, Instant::now() + s.timeout).await
}

/// [`deploy`], ending by `deadline` (a rollback's `--timeout` counts from
/// its start, before it read the branch's history).
pub async fn deploy_by(
    s: &DeploySettings,
    reporter: &Reporter,
    deadline: Instant,
) -> Result<(), RunError> {
    let found = match fork_route(s, reporter, deadline).await? {
        Route::AsUsual => None,
        Route::Ended(ended) => return end_without_deploying(s, &ended, reporter),
        Route::Deploy(found) => Some(found),
    };
    // Held until the run ends: the folder is the artifact, unpacked.
    let fork_preview = found
        .as_ref()
        .map(|f| s.for_fork_preview(f.pr.clone(), f.title.clone(), f.folder.path().into()))
        .transpose()?;
    let s = fork_preview.as_ref().unwrap_or(s);
    let mut gh = preview::Integration::prepare(s, reporter);
    if gh.closes_preview() {
        return gh.remove_preview(s).await;
    }
    // The pipeline calls `gh` once it has decided to deploy: a preview's
    // branch, the GitHub deployment and the pending status come then.
    let result = match crate::deploy::deploy(s, reporter.clone(), &mut gh, deadline).await {
        Ok(result) => result,
        Err(e) => {
            gh.after_deploy(None, Some(&e)).await;
            return Err(e);
        }
    };
    gh.after_deploy(Some(&result.outcome), result.error.as_ref())
        .await;
    let outcome = result.outcome;
    let report_error = write_reports(s, &outcome, reporter);
    if let Some(err) = result.error {
        return Err(err);
    }
    print_summary(&outcome, reporter);
    report_error
}

/// A fork's preview, decided (and its artifact fetched) before AWS, within
/// `--timeout`. Without a preview (no `--preview`; rollback and promote)
/// there is none.
async fn fork_route(
    s: &DeploySettings,
    reporter: &Reporter,
    deadline: Instant,
) -> Result<Route, RunError> {
    if let Preview::Off = s.preview {
        return Ok(Route::AsUsual);
    }
    let cx = fork_context(s);
    let deciding = interruptible(fork::route(&cx, reporter));
    crate::deadline::within(s.timeout, deadline, deciding).await
}

/// What a fork's preview needs of the settings.
fn fork_context(s: &DeploySettings) -> fork::Context<'_> {
    fork::Context {
        repository: s.github.repository.as_deref(),
        api_url: &s.github.api_url,
        token: s.github.token.as_deref(),
        temp_dir: &s.temp_dir,
        prefix: &s.lifecycle.prefix,
        sync_rules: s.rules.is_some(),
        fork: &s.fork,
        pr: match &s.preview {
            Preview::PullRequest { pr, .. } => Some(pr),
            _ => None,
        },
    }
}

/// `fut`, or exit 130 on SIGINT/SIGTERM (no job exists yet to stop).
async fn interruptible<T>(
    fut: impl std::future::Future<Output = Result<T, RunError>>,
) -> Result<T, RunError> {
    tokio::select! {
        r = fut => r,
        signal = crate::signal::shutdown() => Err(RunError::new(
            crate::error::ErrorClass::Interrupted,
            format!("interrupted by {signal}"),
        )),
    }
}

/// A fork's preview that ends before deploying: the notice, and, with a
/// status, the outputs, JSON, dotenv and a one-line job summary.
fn end_without_deploying(
    s: &DeploySettings,
    ended: &fork::Ended,
    reporter: &Reporter,
) -> Result<(), RunError> {
    ended.announce(reporter);
    let Some(status) = &ended.status else {
        return Ok(());
    };
    let outcome = Outcome {
        app_id: s.app_id.to_string(),
        branch: ended.branch.clone().unwrap_or_default(),
        region: s.aws.region.clone().unwrap_or_default(),
        status: Some(status.clone()),
        ..Outcome::default()
    };
    let result = write_reports_with(s, &outcome, reporter, Some(ended.summary()));
    let target = match ended.branch.as_deref() {
        Some(b) => format!("{}/{b}", outcome.app_id),
        None => outcome.app_id.clone(),
    };
    reporter.result(format!(
        "{} {target}: nothing deployed",
        status.as_str().to_ascii_lowercase().replace('_', " ")
    ));
    result
}

/// `$GITHUB_OUTPUT`, the job summary, `--json` and `--dotenv`.
fn write_reports(s: &DeploySettings, o: &Outcome, reporter: &Reporter) -> Result<(), RunError> {
    write_reports_with(s, o, reporter, None)
}

/// [`write_reports`], with `summary` instead of the deploy's table.
fn write_reports_with(
    s: &DeploySettings,
    o: &Outcome,
    reporter: &Reporter,
    summary: Option<String>,
) -> Result<(), RunError> {
    let gh = reporter.github();
    let mut first_err = None;
    let mut note = |r: Result<(), ci::CiError>| {
        if let Err(e) = r {
            reporter.warning(&e.to_string());
            first_err.get_or_insert(RunError::input(e.to_string()).caused_by(&e));
        }
    };
    note(gh.set_outputs(&o.outputs()));
    match summary {
        Some(markdown) => note(gh.append_summary(&markdown)),
        None if o.job_id.is_some() || o.status.is_some() => {
            note(gh.append_summary(&ci::summary::summary_markdown(o)))
        }
        None => {}
    }
    if let Some(target) = &s.json {
        note(ci::json::write(o, target));
    }
    if let Some(path) = &s.dotenv {
        note(ci::dotenv::write_file(o, path));
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn print_summary(o: &Outcome, reporter: &Reporter) {
    match &o.status {
        Some(RunStatus::Skipped) => {
            let url = o.url.as_deref().unwrap_or("(unknown URL)");
            reporter.result(format!(
                "unchanged {}/{}: job {} already serves this package: {url}",
                o.app_id,
                o.branch,
                o.job_id.as_deref().unwrap_or("?")
            ));
            reporter.github().notice("Unchanged", url);
        }
        Some(status) if status.succeeded() => {
            let url = o.url.as_deref().unwrap_or("(unknown URL)");
            reporter.result(format!(
                "deployed {}/{} job {}: {url}",
                o.app_id,
                o.branch,
                o.job_id.as_deref().unwrap_or("?")
            ));
            reporter.github().notice("Deployed", url);
        }
        Some(RunStatus::Locked) => reporter.result(format!(
            "locked {}/{}: nothing deployed",
            o.app_id, o.branch
        )),
        Some(RunStatus::Started) => reporter.result(format!(
            "started {}/{} job {} (not waiting): {}",
            o.app_id,
            o.branch,
            o.job_id.as_deref().unwrap_or("?"),
            o.console_url
        )),
        _ => {}
    }
}
