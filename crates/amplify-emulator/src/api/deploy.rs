//! The deploy lifecycle behind CreateDeployment, StartDeployment and
//! StopJob: creating a job and its upload URL, starting it, the background
//! task that keeps it RUNNING, checks its zip (fetching its `sourceUrl`
//! through [`source`]) and ends it, and the timer that ends a cancellation. The
//! rules (one unfinished job per branch, …) are the state's; the timing is
//! here.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::input::{json_object, optional_string};
use super::render;
use super::route::ApiCall;
use super::source::{self, Source};
use crate::error::ApiError;
use crate::shared::Shared;
use crate::state::{JobLocation, StartedJob};
use crate::{upload, zipcheck};

/// How a `FailJob`/`FailJobWithLog` fault makes a started job end.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub reason: String,
    /// The failed step's log; the default log when `None`.
    pub log: Option<String>,
}

/// CreateDeployment: a PENDING job and the presigned URL its zip goes to.
pub(super) fn create(shared: &Arc<Shared>, call: &ApiCall, body: &[u8]) -> Result<Value, ApiError> {
    let input = json_object(body)?;
    if input.get("fileMap").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::bad_request(
            "amplify-emulator supports zip deployments only: send CreateDeployment without fileMap.",
        ));
    }
    let mut state = shared.state();
    let job = state.create_deployment(&call.app_id, call.branch())?;
    let url = upload::upload_url(
        shared,
        (&call.app_id, call.branch(), &job.job_id),
        state.upload_url_ttl,
    );
    Ok(json!({ "jobId": job.job_id, "zipUploadUrl": url }))
}

/// StartDeployment: the job runs (for `duration`) in a background task.
pub(super) fn start(
    shared: &Arc<Shared>,
    call: &ApiCall,
    body: &[u8],
    fail_reason: Option<Failure>,
) -> Result<Value, ApiError> {
    let input = json_object(body)?;
    let job_id = optional_string(&input, "jobId")?;
    let source_url = optional_string(&input, "sourceUrl")?;
    let source_url_type = optional_string(&input, "sourceUrlType")?;
    let mut state = shared.state();
    let (job, started) = state.start_deployment(
        &call.app_id,
        call.branch(),
        job_id.as_deref(),
        source_url.as_deref(),
        source_url_type.as_deref(),
    )?;
    let duration = state.job_duration;
    let summary = render::job_summary(&state.region, &call.app_id, call.branch(), &job);
    let fail_reason = fail_reason.map(|f| {
        if let Some(log) = f.log {
            state.set_job_log(started.serial, log);
        }
        f.reason
    });
    drop(state);
    shared
        .runtime
        .spawn(run_job(shared.clone(), started, duration, fail_reason));
    Ok(json!({ "jobSummary": summary }))
}

/// Keeps a started job RUNNING for `duration`, meanwhile checks its zip,
/// then ends it SUCCEED or FAILED (unless it was stopped).
async fn run_job(
    shared: Arc<Shared>,
    job: StartedJob,
    duration: Duration,
    fail_reason: Option<String>,
) {
    let outcome = async {
        if let Some(reason) = fail_reason {
            return Err(reason);
        }
        let zip = if job.from_source_url {
            let url = job.source_url.as_deref().unwrap_or_default();
            let kind = job.source_url_type.as_deref();
            match source::fetch(url, kind, shared.s3_endpoint.as_deref()).await? {
                Source::Zip(zip) => Some(zip),
                Source::Files(files) => return Ok(Some(files)),
                Source::Unfetched => return Ok(None),
            }
        } else {
            job.zip
        };
        tokio::task::spawn_blocking(move || zipcheck::site_files(zip.as_deref()).map(Some))
            .await
            .unwrap_or_else(|e| Err(format!("internal error while checking the zip: {e}")))
    };
    let (outcome, ()) = tokio::join!(outcome, tokio::time::sleep(duration));
    let finished = shared.state().finish_job(job.serial, outcome);
    if let Some((location, succeeded)) = finished {
        if shared.log_requests {
            print_outcome(&shared, &location, succeeded);
        }
    }
}

/// The binary's line for a job that ended: the site URL, or the reason.
fn print_outcome(shared: &Shared, location: &JobLocation, succeeded: bool) {
    if succeeded {
        println!(
            "site: {}",
            shared.site_url(&location.app_id, &location.branch)
        );
        return;
    }
    let state = shared.state();
    let reason = state
        .job(&location.app_id, &location.branch, &location.job_id)
        .ok()
        .and_then(|j| j.status_reason.clone())
        .unwrap_or_default();
    println!(
        "job {} of {}/{} FAILED: {reason}",
        location.job_id, location.app_id, location.branch
    );
}

/// How long a RUNNING job stays CANCELLING after StopJob.
const CANCEL_DURATION: Duration = Duration::from_millis(100);

/// Ends a CANCELLING job after [`CANCEL_DURATION`].
pub(crate) fn finish_cancel_later(shared: &Arc<Shared>, serial: u64) {
    let task_shared = shared.clone();
    shared.runtime.spawn(async move {
        tokio::time::sleep(CANCEL_DURATION).await;
        task_shared.state().finish_cancel(serial);
    });
}
