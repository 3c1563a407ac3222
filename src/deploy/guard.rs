//! Guard: what happens when the run is cut short (`--timeout`, a signal)
//! or fails after creating a job, so that no run leaves behind a job that
//! blocks the branch.

use std::time::{Duration, Instant};

use crate::amplify::JobStatus;
use crate::error::{ErrorClass, RunError};

use super::busy::stop_quietly;
use super::{lock, Ctx, OurJob};

/// The longest a clean-up after a timeout or a signal may take. The runner
/// sends SIGTERM 7.5 s after SIGINT, then kills; and `--timeout` bounds the
/// whole run, a StopJob that never answers included.
const CLEANUP_BUDGET: Duration = Duration::from_millis(6500);

/// Of [`CLEANUP_BUDGET`], the most spent waiting for a job-creating call on
/// the wire to answer, so that StopJob keeps time of its own.
const SETTLE_BUDGET: Duration = Duration::from_secs(3);

/// A job that was created but never started would block the branch: stop
/// it, within what is left of `--timeout` (at least [`CLEANUP_BUDGET`]).
pub(super) async fn cleanup_after_failure(
    ctx: &Ctx,
    mut err: RunError,
    deadline: Instant,
) -> RunError {
    let job = lock(&ctx.state).job.clone();
    if let Some(OurJob { id, started: false }) = job {
        if err.class != ErrorClass::Timeout && err.class != ErrorClass::Interrupted {
            ctx.reporter.line(format!(
                "stopping job {id}, which was created but not started"
            ));
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(CLEANUP_BUDGET);
            if tokio::time::timeout(left, stop_quietly(ctx, &id))
                .await
                .is_err()
            {
                err = err.cause(format!("could not stop job {id} in time"));
            }
        }
    }
    err
}

/// Give a job-creating call that is on the wire time to answer, so that the
/// job it creates is known and can be stopped.
async fn settle(ctx: &Ctx, within: Duration) {
    let mut creating = ctx.creating.subscribe();
    let _ = tokio::time::timeout(within, creating.wait_for(|c| !*c)).await;
}

/// Stop our job by `deadline`; the cause to report either way.
async fn stop_by(ctx: &Ctx, job_id: &str, deadline: Instant) -> String {
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, stop_quietly(ctx, job_id)).await {
        Ok(Ok(())) => {
            ctx.record(|o| o.status = Some(JobStatus::Cancelled.into()));
            format!("stopped job {job_id}")
        }
        Ok(Err(e)) => format!("could not stop job {job_id}: {}", e.message),
        Err(_) => format!("could not stop job {job_id} in time"),
    }
}

/// `--timeout` ran out: stop our job, unless it started and
/// `--keep-job-on-timeout` keeps it.
pub(super) async fn on_timeout(ctx: &Ctx, timeout: Duration) -> RunError {
    let last_call = crate::http::wire::on_the_wire();
    let deadline = Instant::now() + CLEANUP_BUDGET;
    settle(ctx, SETTLE_BUDGET).await;
    let job = lock(&ctx.state).job.clone();
    let mut err = RunError::new(
        ErrorClass::Timeout,
        format!("timed out after {}", humantime::format_duration(timeout)),
    );
    if let (None, Some(call)) = (&job, last_call) {
        err = err.cause(format!("no answer from {call} in time"));
    }
    match job {
        Some(job) if ctx.settings.keep_job_on_timeout && job.started => {
            err = err.cause(format!(
                "job {} is still running (--keep-job-on-timeout)",
                job.id
            ));
        }
        Some(job) => {
            ctx.reporter
                .line(format!("timed out: stopping job {}", job.id));
            err = err.cause(stop_by(ctx, &job.id, deadline).await);
        }
        None => {}
    }
    err.hint("raise --timeout, or look at the job in the Amplify console")
}

/// A signal (SIGINT, SIGTERM) arrived: stop our job.
pub(super) async fn on_signal(ctx: &Ctx, signal: &'static str) -> RunError {
    let deadline = Instant::now() + CLEANUP_BUDGET;
    settle(ctx, SETTLE_BUDGET).await;
    let job = lock(&ctx.state).job.clone();
    let mut err = RunError::new(ErrorClass::Interrupted, format!("interrupted by {signal}"));
    if let Some(job) = job {
        ctx.reporter
            .line(format!("{signal}: stopping job {}", job.id));
        err = err.cause(stop_by(ctx, &job.id, deadline).await);
    }
    err
}
