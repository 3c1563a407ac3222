//! Upload: the zip to the job's presigned URL, then StartDeployment of that
//! job, telling a lost answer (the job started) from a job that never will.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::amplify::{self, ApiError, JobStatus, JobSummary, StartDeploymentInput};
use crate::error::{ErrorClass, RunError};
use crate::http;
use crate::package::human_bytes;
use crate::progress::{throughput_line, upload_frame, Ticker};

use super::{job_status, Ctx, OurJob};

/// Upload `zip` for job `job_id` to `url`, then start the job. Returns the
/// started job and how long the upload took.
pub(super) async fn upload_and_start(
    ctx: &Ctx,
    job_id: &str,
    url: &str,
    zip: &Path,
) -> Result<(JobSummary, Duration), RunError> {
    let took = put_zip(ctx, job_id, url, zip).await?;
    let plan = &ctx.settings;
    let req = StartDeploymentInput {
        job_id: Some(job_id.to_owned()),
        ..Default::default()
    };
    match ctx
        .client
        .start_deployment(&plan.app_id, &plan.branch, &req)
        .await
    {
        Ok(summary) => {
            ctx.set_job(Some(OurJob {
                id: job_id.to_owned(),
                started: true,
            }));
            Ok((summary, took))
        }
        Err(e) => recover_start(ctx, job_id, &e).await.map(|s| (s, took)),
    }
}

async fn put_zip(ctx: &Ctx, job_id: &str, url: &str, zip: &Path) -> Result<Duration, RunError> {
    let size = std::fs::metadata(zip).map(|m| m.len()).unwrap_or(0);
    ctx.reporter.line(format!(
        "uploading {} to {}",
        human_bytes(size),
        http::redact_url(url)
    ));
    let t = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&sent);
    let ticker = Ticker::start(&ctx.reporter, move |elapsed| {
        upload_frame(counted.load(Ordering::Relaxed), size, elapsed)
    });
    let uploaded =
        amplify::upload_zip_counting(&ctx.http, url, zip, &ctx.retry, &ctx.observer, &sent).await;
    drop(ticker);
    uploaded.map_err(|e| {
        let msg = e.to_string();
        let mut err = RunError::aws(format!("upload of the zip for job {job_id} failed")).cause(crate::error::one_line(&msg));
        if msg.to_ascii_lowercase().contains("expired") {
            err = err.hint("the upload URL expired (it lasts about 3 hours after CreateDeployment): run the deploy again");
        }
        err
    })?;
    let took = t.elapsed();
    ctx.reporter
        .line(format!("uploaded in {:.1}s", took.as_secs_f64()));
    ctx.reporter.verbose(throughput_line(size, took));
    Ok(took)
}

/// StartDeployment failed with `e`. A lost answer: the retry is refused
/// because the job already started. A job someone stopped, or that failed,
/// did not.
async fn recover_start(ctx: &Ctx, job_id: &str, e: &ApiError) -> Result<JobSummary, RunError> {
    let plan = &ctx.settings;
    match ctx.client.get_job(&plan.app_id, &plan.branch, job_id).await {
        Ok(job) if job_status(&job).is_some_and(JobStatus::has_started) => {
            ctx.set_job(Some(OurJob {
                id: job_id.to_owned(),
                started: true,
            }));
            Ok(job.summary.unwrap_or_default())
        }
        Ok(job) if job_status(&job).is_some_and(JobStatus::is_terminal) => {
            let status = job_status(&job).cloned().unwrap_or_else(JobStatus::unknown);
            ctx.set_job(None);
            ctx.record(|o| o.status = Some(status.clone().into()));
            Err(RunError::new(
                ErrorClass::DeployFailed,
                format!("job {job_id} did not start: it is {status}"),
            )
            .cause(ctx.explain(e).message))
        }
        _ => Err(ctx.explain(e)),
    }
}
