//! The branch and job commands: `delete-branch`, `status` and `stop`, and
//! the branch removal a closed pull request's preview needs. They resolve
//! region, endpoint and credentials exactly as `deploy` does.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use crate::amplify::{ApiError, Client, Job, JobStatus, JobSummary};
use crate::cli::{AwsArgs, BranchTarget, DeleteBranchArgs, JobArgs, StatusArgs};
use crate::error::{one_line, RunError};
use crate::explain::{explain, Scope};
use crate::http;
use crate::report::Reporter;
use crate::settings;

/// A signed Amplify client for one app and branch.
struct Target {
    client: Client,
    app_id: String,
    branch: String,
    region: String,
}

impl Target {
    async fn connect(
        app_id: Option<&str>,
        branch: Option<&str>,
        aws: &AwsArgs,
        reporter: &Reporter,
    ) -> Result<Target, RunError> {
        let app_id = settings::validate_app_id(app_id)?;
        let branch = settings::validate_branch(branch)?;
        let settings::Connection { client, region, .. } = settings::connect(aws, reporter).await?;
        Ok(Target {
            client,
            app_id,
            branch,
            region,
        })
    }

    async fn from_args(t: &BranchTarget, reporter: &Reporter) -> Result<Target, RunError> {
        Target::connect(t.app_id.as_deref(), t.branch.as_deref(), &t.aws, reporter).await
    }

    fn explain(&self, e: &ApiError) -> RunError {
        explain(
            e,
            &Scope {
                app_id: &self.app_id,
                branch: &self.branch,
                region: &self.region,
            },
        )
    }

    fn missing_branch(&self) -> RunError {
        RunError::aws(format!(
            "no branch {:?} in Amplify app {} ({})",
            self.branch, self.app_id, self.region
        ))
    }

    /// The branch's newest jobs (ListJobs answers newest first).
    async fn recent_jobs(&self) -> Result<Vec<JobSummary>, ApiError> {
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
    app_id: Option<&str>,
    branch: Option<&str>,
    aws: &AwsArgs,
    if_exists: bool,
    reporter: &Reporter,
) -> Result<Removal, RunError> {
    let t = Target::connect(app_id, branch, aws, reporter).await?;
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
        Err(e) if is_branch_missing(&e) => return gone(&t),
        Err(e) => return Err(t.explain(&e)),
    };
    for job in jobs.iter().filter(|j| !is_terminal(j)) {
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
            reporter.line(format!("deleted branch {} of app {}", t.branch, t.app_id));
            Ok(Removal::Deleted)
        }
        Err(e) if is_branch_missing(&e) => gone(&t),
        Err(e) => Err(t.explain(&e)),
    }
}

/// `amplify-deploy delete-branch`.
pub async fn delete_branch(args: DeleteBranchArgs, reporter: Reporter) -> Result<(), RunError> {
    let t = &args.target;
    remove_branch(
        t.app_id.as_deref(),
        t.branch.as_deref(),
        &t.aws,
        args.if_exists,
        &reporter,
    )
    .await
    .map(|_| ())
}

/// The job `--job-id` names, else the branch's newest.
async fn job_id(t: &Target, given: Option<&str>) -> Result<String, RunError> {
    if let Some(id) = given.map(str::trim).filter(|s| !s.is_empty()) {
        if !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RunError::input(format!(
                "job-id {id:?} is not an Amplify job id (a number, e.g. 12)"
            )));
        }
        return Ok(id.to_owned());
    }
    let jobs = t.recent_jobs().await.map_err(|e| t.explain(&e))?;
    jobs.into_iter().find_map(|j| j.job_id).ok_or_else(|| {
        RunError::aws(format!(
            "branch {} of app {} has no jobs",
            t.branch, t.app_id
        ))
    })
}

/// `amplify-deploy status`: the job's status, steps and reasons.
pub async fn status(args: StatusArgs, reporter: Reporter) -> Result<(), RunError> {
    let t = Target::from_args(&args.job.target, &reporter).await?;
    let id = job_id(&t, args.job.job_id.as_deref()).await?;
    let job = t
        .client
        .get_job(&t.app_id, &t.branch, &id)
        .await
        .map_err(|e| t.explain(&e))?;
    // Service strings on stdout: made safe like every other printed line.
    if args.json {
        println!("{}", crate::ci::json::to_line(&job_json(&t, &id, &job)));
    } else {
        for line in job_text(&t, &id, &job).lines() {
            println!("{}", crate::ci::escape::log_line(line));
        }
    }
    Ok(())
}

/// `amplify-deploy stop`.
pub async fn stop(args: JobArgs, reporter: Reporter) -> Result<(), RunError> {
    let t = Target::from_args(&args.target, &reporter).await?;
    let id = job_id(&t, args.job_id.as_deref()).await?;
    match t.client.stop_job(&t.app_id, &t.branch, &id).await {
        Ok(summary) => {
            reporter.line(format!(
                "stopped job {id} on {}/{}: {}",
                t.app_id,
                t.branch,
                summary.status.as_ref().map_or("?", JobStatus::as_str)
            ));
            Ok(())
        }
        Err(e @ ApiError::Service { status: 400, .. }) => Err(RunError::aws(format!(
            "job {id} on {}/{} cannot be stopped",
            t.app_id, t.branch
        ))
        .caused_by(&e)
        .hint("only PENDING or RUNNING jobs can be stopped; see `amplify-deploy status`")),
        Err(e) => Err(t.explain(&e)),
    }
}

/// NotFound naming the branch (a missing app is a different mistake).
fn is_branch_missing(e: &ApiError) -> bool {
    match e {
        ApiError::Service { message, .. } => {
            e.is_not_found() && message.to_ascii_lowercase().contains("branch")
        }
        _ => false,
    }
}

fn is_terminal(job: &JobSummary) -> bool {
    job.status.as_ref().is_some_and(JobStatus::is_terminal)
}

fn time(epoch: Option<f64>) -> Option<String> {
    let secs = epoch.filter(|s| s.is_finite() && *s >= 0.0)?;
    let t = UNIX_EPOCH.checked_add(Duration::from_secs_f64(secs))?;
    Some(humantime::format_rfc3339_seconds(t).to_string())
}

fn job_text(t: &Target, id: &str, job: &Job) -> String {
    let s = job.summary.clone().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "job {id} on {}/{}: {}",
        t.app_id,
        t.branch,
        s.status.as_ref().map_or("UNKNOWN", JobStatus::as_str)
    );
    if let Some(kind) = &s.job_type {
        let _ = writeln!(out, "  type     {kind}");
    }
    if let Some(start) = time(s.start_time) {
        let _ = writeln!(out, "  started  {start}");
    }
    if let Some(end) = time(s.end_time) {
        let _ = writeln!(out, "  ended    {end}");
    }
    for step in &job.steps {
        let _ = write!(
            out,
            "  step {}: {}",
            step.step_name.as_deref().unwrap_or("?"),
            step.status.as_ref().map_or("?", JobStatus::as_str)
        );
        if let Some(reason) = step.status_reason.as_deref().filter(|r| !r.is_empty()) {
            let _ = write!(out, ": {}", one_line(reason));
        }
        out.push('\n');
        if let Some(log) = &step.log_url {
            let _ = writeln!(out, "    log  {}", http::redact_url(log));
        }
    }
    out
}

fn job_json(t: &Target, id: &str, job: &Job) -> serde_json::Value {
    let s = job.summary.clone().unwrap_or_default();
    let steps: Vec<_> = job
        .steps
        .iter()
        .map(|step| {
            serde_json::json!({
                "stepName": step.step_name,
                "status": step.status,
                "statusReason": step.status_reason,
                "startTime": time(step.start_time),
                "endTime": time(step.end_time),
                "logUrl": step.log_url.as_deref().map(http::redact_url),
            })
        })
        .collect();
    serde_json::json!({
        "appId": t.app_id,
        "branch": t.branch,
        "region": t.region,
        "jobId": s.job_id.as_deref().unwrap_or(id),
        "jobArn": s.job_arn,
        "status": s.status,
        "jobType": s.job_type,
        "startTime": time(s.start_time),
        "endTime": time(s.end_time),
        "steps": steps,
    })
}
