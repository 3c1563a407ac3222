//! One Amplify branch of one app, connected: what the branch commands and
//! the preview module share. Branch removal (stop the unfinished jobs,
//! delete, tolerate "already gone") lives here, below both, so a closed
//! pull request's preview and `delete-branch` remove a branch the same way.

use crate::amplify::{ApiError, Client, JobStatus, JobSummary};
use crate::connection::{self, Connection};
use crate::error::RunError;
use crate::explain::{explain, no_branch, Scope};
use crate::report::Reporter;
use crate::settings::{AppId, AwsSettings, BranchName};

/// A signed Amplify client for one app and branch.
pub struct Target {
    pub client: Client,
    pub app_id: AppId,
    pub branch: BranchName,
    pub region: String,
}

impl Target {
    /// Connect to `branch` of `app_id`.
    pub async fn connect(
        app_id: &AppId,
        branch: &BranchName,
        aws: &AwsSettings,
        reporter: &Reporter,
    ) -> Result<Target, RunError> {
        let Connection { client, region, .. } = connection::connect(aws, reporter).await?;
        Ok(Target {
            client,
            app_id: app_id.clone(),
            branch: branch.clone(),
            region,
        })
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            app_id: &self.app_id,
            branch: &self.branch,
            region: &self.region,
        }
    }

    pub fn explain(&self, e: &ApiError) -> RunError {
        explain(e, &self.scope())
    }

    fn missing_branch(&self) -> RunError {
        no_branch(&self.scope())
    }

    /// The branch's newest jobs (ListJobs answers newest first).
    pub async fn recent_jobs(&self) -> Result<Vec<JobSummary>, ApiError> {
        self.client
            .list_jobs(&self.app_id, &self.branch, Some(50), None)
            .await
            .map(|out| out.job_summaries)
    }
}

/// What [`remove_branch`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    Deleted,
    AlreadyGone,
}

/// Stop the branch's unfinished jobs, then delete it. A missing branch is
/// [`Removal::AlreadyGone`] with `if_exists`, else an error (exit 3).
pub async fn remove_branch(
    t: &Target,
    if_exists: bool,
    reporter: &Reporter,
) -> Result<Removal, RunError> {
    let gone = |t: &Target| {
        if if_exists {
            reporter.line(format!(
                "branch {} of app {} does not exist: nothing to delete",
                t.branch, t.app_id
            ));
            Ok(Removal::AlreadyGone)
        } else {
            Err(t
                .missing_branch()
                .hint("pass --if-exists to treat a missing branch as already deleted"))
        }
    };
    let jobs = match t.recent_jobs().await {
        Ok(jobs) => jobs,
        Err(e) if is_branch_missing(&e) => return gone(t),
        Err(e) => return Err(t.explain(&e)),
    };
    let unfinished = |j: &&JobSummary| !j.status.as_ref().is_some_and(JobStatus::is_terminal);
    for job in jobs.iter().filter(unfinished) {
        let Some(id) = job.job_id.as_deref() else {
            continue;
        };
        reporter.line(format!(
            "stopping job {id} ({}) on {}/{}",
            job.status.as_ref().map_or("?", JobStatus::as_str),
            t.app_id,
            t.branch
        ));
        match t.client.stop_job(&t.app_id, &t.branch, id).await {
            Ok(_) => {}
            // It finished meanwhile: nothing to stop.
            Err(ApiError::Service { status: 400, .. }) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(t.explain(&e)),
        }
    }
    match t.client.delete_branch(&t.app_id, &t.branch).await {
        Ok(_) => {
            reporter.result(format!("deleted branch {} of app {}", t.branch, t.app_id));
            Ok(Removal::Deleted)
        }
        Err(e) if is_branch_missing(&e) => gone(t),
        Err(e) => Err(t.explain(&e)),
    }
}

/// NotFound naming the branch (a missing app is a different mistake).
pub fn is_branch_missing(e: &ApiError) -> bool {
    match e {
        ApiError::Service { message, .. } => {
            e.is_not_found() && message.to_ascii_lowercase().contains("branch")
        }
        _ => false,
    }
}
