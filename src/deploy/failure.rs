//! The verdict on an ended job: success, or a failure rendered so that a
//! user can fix the build: each failed step with its reason, the end of its
//! log, and a link to the job in the console.

use std::time::{Duration, Instant};

use crate::amplify::{Job, JobStatus};
use crate::error::{one_line, ErrorClass, RunError};
use crate::outcome::{console_job_url, StepFailure};

use super::{job_status, steplog, Ctx};

/// How our job ended: its status, its failed steps, and the error unless
/// it succeeded.
pub(super) struct Judged {
    pub(super) status: JobStatus,
    pub(super) failures: Vec<StepFailure>,
    pub(super) error: Option<RunError>,
}

/// The verdict on job `job_id` (the run began at `started`).
pub(super) async fn judge(ctx: &Ctx, job: &Job, job_id: &str, started: Instant) -> Judged {
    let status = job_status(job).cloned().unwrap_or_else(JobStatus::unknown);
    ctx.set_job(None);
    if status == JobStatus::Succeed {
        return Judged {
            status,
            failures: Vec::new(),
            error: None,
        };
    }
    let failures: Vec<StepFailure> = job
        .steps
        .iter()
        .filter(|s| s.status != Some(JobStatus::Succeed))
        .map(|s| StepFailure {
            step: s.step_name.clone().unwrap_or_else(|| "?".into()),
            reason: s.status_reason.clone(),
        })
        .collect();
    if status == JobStatus::Failed {
        show_failed_logs(ctx, job, started).await;
    }
    let error = Some(failure_error(ctx, job_id, &status, &failures));
    Judged {
        status,
        failures,
        error,
    }
}

/// What a user needs to fix the build: the end of each failed step's log
/// (fetched through its presigned URL, which is never printed).
async fn show_failed_logs(ctx: &Ctx, job: &Job, started: Instant) {
    for s in job
        .steps
        .iter()
        .filter(|s| s.status == Some(JobStatus::Failed))
    {
        if let Some(url) = &s.log_url {
            let step = s.step_name.as_deref().unwrap_or("?");
            // Inside --timeout, with a second to spare: a slow log
            // server must not turn a failed job into a timeout.
            let left = ctx.settings.timeout.saturating_sub(started.elapsed());
            let within = left.saturating_sub(Duration::from_secs(1));
            steplog::show_tail(&ctx.reporter, &ctx.http, step, url, within).await;
        }
    }
}

fn failure_error(
    ctx: &Ctx,
    job_id: &str,
    status: &JobStatus,
    failures: &[StepFailure],
) -> RunError {
    let plan = &ctx.settings;
    let mut err = RunError::new(
        ErrorClass::DeployFailed,
        format!(
            "job {job_id} on {}/{} ended {status}",
            plan.app_id, plan.branch
        ),
    );
    for f in failures {
        let mut line = format!("step {}", f.step);
        if let Some(r) = &f.reason {
            line.push_str(&format!(": {}", one_line(r)));
        }
        err = err.cause(line);
    }
    err.hint(format!(
        "see the job and its logs at {}",
        console_job_url(&ctx.region, &plan.app_id, &plan.branch, job_id)
    ))
}
