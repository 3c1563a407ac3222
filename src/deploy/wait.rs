//! Wait: poll GetJob until our job ends, printing each status change.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::amplify::{Job, JobStatus};
use crate::error::RunError;
use crate::progress::{waiting_frame, Ticker};
use crate::report::Tone;

use super::{job_status, Ctx};

/// Poll GetJob until the job ends, printing each status change. Transient
/// errors (after the client's own retries) do not fail the deploy.
pub(super) async fn wait_for_job(ctx: &Ctx, job_id: &str) -> Result<Job, RunError> {
    let plan = &ctx.settings;
    let mut last: Option<JobStatus> = None;
    let started = Instant::now();
    let shown = Arc::new(Mutex::new(String::from("PENDING")));
    let _ticker = {
        let shown = Arc::clone(&shown);
        let id = job_id.to_owned();
        Ticker::start(&ctx.reporter, move |elapsed| {
            let status = shown.lock().map(|s| s.clone()).unwrap_or_default();
            waiting_frame(&id, &status, elapsed)
        })
    };
    loop {
        match ctx.client.get_job(&plan.app_id, &plan.branch, job_id).await {
            Ok(job) => {
                let status = job_status(&job).cloned().unwrap_or_else(JobStatus::unknown);
                if last.as_ref() != Some(&status) {
                    ctx.reporter.status_line(
                        &format!("job {job_id}: "),
                        status.as_str(),
                        tone(&status),
                        &format!(" ({:.0}s)", started.elapsed().as_secs_f64()),
                    );
                    if let Ok(mut s) = shown.lock() {
                        *s = status.as_str().to_owned();
                    }
                    ctx.record(|o| o.status = Some(status.clone().into()));
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

/// The colour of a status word.
pub(super) fn tone(status: &JobStatus) -> Tone {
    match status {
        JobStatus::Succeed => Tone::Good,
        JobStatus::Failed => Tone::Bad,
        s if s.is_terminal() => Tone::Warn,
        _ => Tone::Busy,
    }
}
