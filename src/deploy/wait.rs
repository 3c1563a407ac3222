//! Wait: poll GetJob until our job ends, printing each status change.

use std::time::Instant;

use crate::amplify::{is_terminal, ApiError, Job};
use crate::error::RunError;

use super::{job_status, Ctx};

/// Poll GetJob until the job ends, printing each status change. Transient
/// errors (after the client's own retries) do not fail the deploy.
pub(super) async fn wait_for_job(ctx: &Ctx, job_id: &str) -> Result<Job, RunError> {
    let plan = &ctx.plan;
    let mut last: Option<String> = None;
    let started = Instant::now();
    loop {
        match ctx.client.get_job(&plan.app_id, &plan.branch, job_id).await {
            Ok(job) => {
                let status = job_status(&job).unwrap_or("UNKNOWN").to_owned();
                if last.as_deref() != Some(status.as_str()) {
                    ctx.reporter.line(format!(
                        "job {job_id}: {status} ({:.0}s)",
                        started.elapsed().as_secs_f64()
                    ));
                    ctx.with_outcome(|o| o.status = Some(status.clone()));
                    last = Some(status.clone());
                }
                if is_terminal(&status) {
                    return Ok(job);
                }
            }
            Err(e) if is_transient(&e) => {
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

/// Errors that must not fail a deploy whose job is running: the client has
/// already retried them, and the next poll may well succeed (a proxy's
/// garbled answer included). `--timeout` bounds the wait.
fn is_transient(e: &ApiError) -> bool {
    match e {
        ApiError::Transport { .. } | ApiError::Decode { .. } => true,
        ApiError::Service { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}
