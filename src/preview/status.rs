//! `--commit-status`: a GitHub commit status `amplify-deploy/{branch}` on
//! the deployed commit, `pending` while the deploy runs, then how it ended
//! with the site as its target. Driven by the `deploy` command around the
//! pipeline; the REST call is [`Api::create_commit_status`]. A token that
//! may not post statuses is one warning, never a failed deploy.
//!
//! Decisions, documented in docs/previews.md:
//! - a run that exits 0 is `success` (deployed, not waited for, or
//!   superseded by a newer commit: the description says which);
//! - a job that ended and did not succeed is `failure`, linking the job's
//!   console page; a run that stopped otherwise (bad input, AWS error,
//!   timeout) is `error`, linking the console when there is a job;
//! - `--dry-run` posts nothing: it changes nothing, on GitHub either;
//! - a closed pull request posts nothing (there is no deploy).

use crate::ci::escape::log_line;
use crate::error::RunError;
use crate::github::client::{Api, CommitStatus as Status, GitHubError};
use crate::outcome::{Outcome, RunStatus};
use crate::report::Reporter;

/// GitHub's limit on a commit status description.
const MAX_DESCRIPTION: usize = 140;

/// The commit status of one `deploy` run.
#[derive(Debug)]
pub struct CommitStatus {
    api: Api,
    sha: String,
    /// `amplify-deploy/{branch}`.
    context: String,
    /// Off after the first failure: one warning, not one per call.
    disabled: bool,
}

impl CommitStatus {
    pub fn new(api: Api, sha: String, branch: &str) -> CommitStatus {
        CommitStatus {
            api,
            sha,
            context: format!("amplify-deploy/{branch}"),
            disabled: false,
        }
    }

    /// `pending`, before the pipeline starts.
    pub async fn pending(&mut self, reporter: &Reporter) {
        self.post("pending", "Deploying to Amplify", None, reporter)
            .await;
    }

    /// How the run ended. `outcome` is `None` when it stopped before
    /// reaching AWS.
    pub async fn finish(
        &mut self,
        outcome: Option<&Outcome>,
        error: Option<&RunError>,
        reporter: &Reporter,
    ) {
        let (state, description, target) = ending(outcome, error);
        self.post(state, &description, target.as_deref(), reporter)
            .await;
    }

    async fn post(
        &mut self,
        state: &str,
        description: &str,
        target_url: Option<&str>,
        reporter: &Reporter,
    ) {
        if self.disabled {
            return;
        }
        let status = Status {
            state,
            context: &self.context,
            description: &one_line(description),
            target_url,
        };
        match self.api.create_commit_status(&self.sha, &status).await {
            Ok(()) => reporter.line(format!(
                "commit status {} of {}: {state}",
                self.context, self.sha
            )),
            Err(e) => {
                self.disabled = true;
                reporter.warning(&warning(&e));
            }
        }
    }
}

/// The state, description and target URL of a finished run.
fn ending(
    outcome: Option<&Outcome>,
    error: Option<&RunError>,
) -> (&'static str, String, Option<String>) {
    let status = outcome.and_then(|o| o.status.as_ref());
    // The job's console page (its logs), never a presigned log URL.
    let console = outcome.map(|o| o.job_console_url().unwrap_or_else(|| o.console_url.clone()));
    match (error, status) {
        (Some(e), Some(RunStatus::Job(job))) if job.is_terminal() => {
            let text = format!("Amplify job {}: {}", job.as_str(), e.message);
            ("failure", text, console)
        }
        (Some(e), _) => ("error", e.message.clone(), console),
        (None, Some(s)) if s.succeeded() => {
            let job = outcome.and_then(|o| o.job_id.as_deref()).unwrap_or("?");
            let url = outcome.and_then(|o| o.url.clone()).or(console);
            ("success", format!("Deployed to Amplify (job {job})"), url)
        }
        (None, Some(RunStatus::Started)) => {
            let text = "Amplify job started; the run did not wait for it".to_owned();
            ("success", text, console)
        }
        (None, s) => {
            let shown = s.map_or("done", RunStatus::as_str);
            let url = outcome.and_then(|o| o.url.clone()).or(console);
            ("success", format!("Amplify deploy: {shown}"), url)
        }
    }
}

/// One line of at most [`MAX_DESCRIPTION`] characters.
fn one_line(s: &str) -> String {
    let line = log_line(s);
    if line.chars().count() <= MAX_DESCRIPTION {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_DESCRIPTION - 1).collect();
    cut.push('…');
    cut
}

fn warning(e: &GitHubError) -> String {
    if e.is_permission() {
        format!("could not post the GitHub commit status: {e}; give the job `permissions: statuses: write` (the deploy itself is not affected)")
    } else {
        format!("could not post the GitHub commit status: {e} (the deploy itself is not affected)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amplify::JobStatus;

    #[test]
    fn a_long_message_is_one_short_line() {
        let d = one_line(&format!("first\nsecond {}", "x".repeat(300)));
        assert_eq!(d.chars().count(), MAX_DESCRIPTION);
        assert!(d.starts_with("first second x") && d.ends_with('…'));
        assert_eq!(one_line("short"), "short");
    }

    #[test]
    fn each_ending_has_its_state() {
        let mut o = Outcome {
            url: Some("https://site".into()),
            console_url: "https://console".into(),
            status: Some(RunStatus::Job(JobStatus::Succeed)),
            ..Outcome::default()
        };
        assert_eq!(ending(Some(&o), None).0, "success");
        assert_eq!(ending(Some(&o), None).2.as_deref(), Some("https://site"));
        o.status = Some(RunStatus::Job(JobStatus::Failed));
        let failed = ending(Some(&o), Some(&RunError::aws("job failed")));
        assert_eq!(failed.0, "failure");
        assert_eq!(failed.2.as_deref(), Some("https://console"));
        assert_eq!(ending(None, Some(&RunError::input("bad"))).0, "error");
        // A timeout: the job still runs.
        o.status = Some(RunStatus::Job(JobStatus::Running));
        assert_eq!(
            ending(Some(&o), Some(&RunError::aws("timed out"))).0,
            "error"
        );
        o.status = Some(RunStatus::Started);
        assert_eq!(ending(Some(&o), None).0, "success");
    }
}
