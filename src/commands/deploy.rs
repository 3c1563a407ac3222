//! `amplify-deploy deploy`: the preview and GitHub deployment around the
//! pipeline (`crate::deploy`), then the reports: `$GITHUB_OUTPUT`, the job
//! summary, `--json`, `--dotenv` and the closing line.

use std::time::Instant;

use crate::ci;
use crate::error::RunError;
use crate::outcome::{Outcome, RunStatus};
use crate::preview;
use crate::report::Reporter;
use crate::settings::DeploySettings;

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

/// `$GITHUB_OUTPUT`, the job summary, `--json` and `--dotenv`.
fn write_reports(s: &DeploySettings, o: &Outcome, reporter: &Reporter) -> Result<(), RunError> {
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
        note(gh.append_summary(&ci::summary::summary_markdown(o)));
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
