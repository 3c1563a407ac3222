//! Wait: poll GetJob until our job ends, printing each status change.

use std::time::Instant;

use crate::amplify::{Job, JobStatus};
use crate::error::RunError;

use super::{job_status, Ctx};

/// Poll GetJob until the job ends, printing each status change. Transient
/// errors (after the client's own retries) do not fail the deploy.
pub(super) async fn wait_for_job(ctx: &Ctx, job_id: &str) -> Result<Job, RunError> {
    let plan = &ctx.plan;
    let mut last: Option<JobStatus> = None;
    let started = Instant::now();
    loop {
        match ctx.client.get_job(&plan.app_id, &plan.branch, job_id).await {
            Ok(job) => {
                let status = job_status(&job).cloned().unwrap_or_else(JobStatus::unknown);
                if last.as_ref() != Some(&status) {
                    ctx.reporter.line(format!(
                        "job {job_id}: {status} ({:.0}s)",
                        started.elapsed().as_secs_f64()
                    ));
                    ctx.with_outcome(|o| o.status = Some(status.clone().into()));
                    last = Some(status.clone());
                }
                if status.is_terminal() {
                    return Ok(job);
                }
            }
            // The client has already retried these, and the next poll may
            // well succeed. `--timeout` bounds the wait.
            Err(e) if e.is_transient() => {
                ctx.reporter.line(format!(
                    "polling job {job_id} failed, trying again: {}",
                    crate::error::one_line(&e.to_string())
                ));
            }
            Err(e) => return Err(ctx.explain(&e)),
        }
        tokio::time::sleep(plan.poll_interval).await;
    }
}
