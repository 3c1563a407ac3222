//! A busy branch: Amplify runs one job per branch at a time, so before
//! creating ours the branch must be free. `--on-busy` says how: fail, wait
//! for the other run's job, or stop it. A job created and never started
//! (an orphan of a run that died) is stopped after `--pending-grace`.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::amplify::{JobStatus, JobSummary};
use crate::choices::OnBusy;
use crate::error::{ErrorClass, RunError};

use super::{job_status, Ctx};

/// Make the branch free for a new job, as `--on-busy` says. Returns the
/// highest job number seen, so that a job appearing later can be told
/// apart, and whether the branch was busy (waited for, or cleared).
pub(super) async fn clear_branch(ctx: &Ctx) -> Result<(u64, bool), RunError> {
    let plan = &ctx.settings;
    let mut first_seen: HashMap<String, Instant> = HashMap::new();
    let mut announced: HashMap<String, JobStatus> = HashMap::new();
    let mut waited = false;
    loop {
        let page = ctx
            .client
            .list_jobs(&plan.app_id, &plan.branch, Some(20), None)
            .await
            .map_err(|e| ctx.explain(&e))?;
        let max_seen = page
            .job_summaries
            .iter()
            .filter_map(|j| j.job_id.as_deref())
            .map(job_number)
            .max()
            .unwrap_or(0);
        let busy: Vec<&JobSummary> = page
            .job_summaries
            .iter()
            .filter(|j| j.status.as_ref().is_some_and(|s| !s.is_terminal()))
            .collect();
        if busy.is_empty() {
            return Ok((max_seen, waited));
        }
        waited = true;
        for job in busy {
            let seen = *first_seen
                .entry(job.job_id.clone().unwrap_or_default())
                .or_insert_with(Instant::now);
            handle_busy(ctx, job, seen, &mut announced).await?;
        }
        tokio::time::sleep(plan.poll_interval).await;
    }
}

/// One unfinished job on the branch, first seen at `seen`: fail, stop it,
/// or say (once a status) that we wait for it.
async fn handle_busy(
    ctx: &Ctx,
    job: &JobSummary,
    seen: Instant,
    announced: &mut HashMap<String, JobStatus>,
) -> Result<(), RunError> {
    let plan = &ctx.settings;
    let id = job.job_id.clone().unwrap_or_default();
    let status = job
        .status
        .clone()
        .unwrap_or(JobStatus::Other(String::new()));
    match plan.on_busy {
        OnBusy::Fail => {
            return Err(RunError::new(
                ErrorClass::DeployFailed,
                format!("branch {} is busy: job {id} is {status}", plan.branch),
            )
            .hint("use --on-busy wait (wait for it) or --on-busy stop (stop it)"));
        }
        OnBusy::Stop if status != JobStatus::Cancelling => {
            ctx.reporter.line(format!(
                "stopping job {id} ({status}) on branch {} (--on-busy stop)",
                plan.branch
            ));
            stop_quietly(ctx, &id).await?;
        }
        OnBusy::Wait if is_orphan(job, seen, plan.pending_grace) => {
            ctx.reporter.line(format!(
                "job {id} was created but never started (PENDING for over {}): stopping it",
                humantime::format_duration(plan.pending_grace)
            ));
            stop_quietly(ctx, &id).await?;
        }
        _ => {
            if announced.get(&id) != Some(&status) {
                ctx.reporter.line(format!(
                    "branch {} is busy: waiting for job {id} ({status})",
                    plan.branch
                ));
                announced.insert(id, status);
            }
        }
    }
    Ok(())
}

/// A PENDING job nobody started: older than the grace period, or watched
/// by us for that long.
fn is_orphan(job: &JobSummary, first_seen: Instant, grace: Duration) -> bool {
    if !job
        .status
        .as_ref()
        .is_some_and(JobStatus::is_waiting_for_upload)
    {
        return false;
    }
    let age = job.start_time.map(|t| now_epoch() - t).unwrap_or(0.0);
    age > grace.as_secs_f64() || first_seen.elapsed() >= grace
}

/// StopJob, treating "already finished" as done.
pub(super) async fn stop_quietly(ctx: &Ctx, job_id: &str) -> Result<(), RunError> {
    let (app, branch) = (&ctx.settings.app_id, &ctx.settings.branch);
    match ctx.client.stop_job(app, branch, job_id).await {
        Ok(_) => Ok(()),
        Err(e) => match ctx.client.get_job(app, branch, job_id).await {
            Ok(job)
                if job_status(&job)
                    .is_some_and(|s| s.is_terminal() || *s == JobStatus::Cancelling) =>
            {
                Ok(())
            }
            _ => Err(ctx.explain(&e)),
        },
    }
}

/// A job id as the number Amplify counts jobs by (0 when it is not one).
pub(super) fn job_number(id: &str) -> u64 {
    id.parse().unwrap_or(0)
}

/// This machine's clock, in epoch seconds like the service's timestamps.
pub(super) fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
