//! Start: the one routine that creates our job, for both sources
//! (CreateDeployment for a folder's zip, StartDeployment from a URL), with
//! the recovery of an answer lost on the wire.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::amplify::{
    ApiError, CreateDeploymentOutput, JobStatus, JobSummary, StartDeploymentInput,
};
use crate::error::{ErrorClass, RunError};
use crate::http::{self, RetryConfig};

use super::busy::{clear_branch, job_number, now_epoch, stop_quietly};
use super::{conclude, decide, read, Ctx, OurJob};

/// A call that creates a job on the branch.
#[derive(Clone)]
enum Creating {
    /// CreateDeployment: a PENDING job waiting for our zip.
    Zip,
    /// StartDeployment from a URL: a job that starts at once.
    Url(StartDeploymentInput),
}

impl Creating {
    fn operation(&self) -> &'static str {
        match self {
            Creating::Zip => "CreateDeployment",
            Creating::Url(_) => "StartDeployment",
        }
    }
}

/// What a job-creating call answered.
enum Created {
    Zip(CreateDeploymentOutput),
    Url(JobSummary),
}

impl Created {
    fn job_id(&self) -> Option<String> {
        match self {
            Created::Zip(out) => out.job_id.clone(),
            Created::Url(summary) => summary.job_id.clone(),
        }
    }
}

/// CreateDeployment (see [`start_job`]): our job id and its upload URL;
/// `None` when a newer commit is live.
pub(super) async fn create_deployment(
    ctx: &Arc<Ctx>,
) -> Result<Option<(String, String)>, RunError> {
    let Some(created) = start_job(ctx, Creating::Zip).await? else {
        return Ok(None);
    };
    let Created::Zip(out) = created else {
        return Err(RunError::aws(
            "CreateDeployment answered as StartDeployment",
        ));
    };
    let Some(job_id) = out.job_id.clone().filter(|j| !j.is_empty()) else {
        return Err(RunError::aws("CreateDeployment answered without a jobId"));
    };
    let Some(url) = out.zip_upload_url.clone().filter(|u| !u.is_empty()) else {
        return Err(RunError::aws(
            "CreateDeployment answered without a zipUploadUrl",
        ));
    };
    ctx.reporter.mask_url(&url);
    Ok(Some((job_id, url)))
}

/// StartDeployment from a URL (see [`start_job`]); `None` when a newer
/// commit is live.
pub(super) async fn start_from_url(
    ctx: &Arc<Ctx>,
    url: &str,
    kind: Option<&'static str>,
) -> Result<Option<JobSummary>, RunError> {
    let req = StartDeploymentInput {
        job_id: None,
        source_url: Some(url.to_owned()),
        source_url_type: kind.map(str::to_owned),
    };
    let Some(created) = start_job(ctx, Creating::Url(req)).await? else {
        return Ok(None);
    };
    let Created::Url(summary) = created else {
        return Err(RunError::aws(
            "StartDeployment answered as CreateDeployment",
        ));
    };
    Ok(Some(summary))
}

/// The attempts of one job-creating call that were sent and got no answer.
type Unanswereds = Arc<Mutex<Vec<Unanswered>>>;

/// Create our job: CreateDeployment or StartDeployment from a URL, after
/// `clear_branch` has made the branch free, unless (newest wins) the branch
/// then serves a newer commit: `None`, and nothing is created.
///
/// When the service refuses because "the last job N was not finished", job
/// N is ours only when an earlier attempt of this call was sent and got no
/// answer, and N appeared within that attempt's window
/// ([`Unanswered::may_have_created`]): then a PENDING job is stopped and
/// created again (its upload URL was lost with the answer), and a job
/// started from our URL is adopted. Any other job belongs to another run
/// and is waited for, however often that run wins the race; `--timeout`
/// bounds the whole.
async fn start_job(ctx: &Arc<Ctx>, creating: Creating) -> Result<Option<Created>, RunError> {
    let unanswered: Unanswereds = Arc::default();
    let mut first = true;
    loop {
        let (seen_max, waited) = clear_branch(ctx).await?;
        // Decided again after every wait: the job waited for may be of a
        // newer commit, or the branch locked meanwhile.
        if (waited || !first) && !still_deploying(ctx).await? {
            return Ok(None);
        }
        first = false;
        announce(ctx, &creating);
        let call = tracked_call(ctx, creating.clone(), seen_max, unanswered.clone());
        let started = matches!(creating, Creating::Url(_));
        let e = match spawn_creating(ctx, started, call, Created::job_id).await? {
            // spawn_creating has recorded the job as ours.
            Ok(created) => return Ok(Some(created)),
            Err(e) => e,
        };
        let Some(n) = e.unfinished_job_id() else {
            return Err(ctx.explain(&e));
        };
        if let Some(created) = on_unfinished(ctx, &creating, &e, &n, &unanswered).await? {
            return Ok(Some(created));
        }
    }
}

/// After a wait for a busy branch: read the branch again and decide again
/// whether to deploy (false: it is now locked, or serves a newer commit).
async fn still_deploying(ctx: &Ctx) -> Result<bool, RunError> {
    let facts = read::read_branch(ctx, &ctx.client).await?;
    match decide::recheck(&ctx.settings, &facts) {
        Some(decision) => conclude(ctx, &decision).map(|()| false),
        None => Ok(true),
    }
}

fn announce(ctx: &Ctx, creating: &Creating) {
    let plan = &ctx.settings;
    match creating {
        Creating::Zip => ctx.reporter.line(format!(
            "creating deployment on {}/{} ({})",
            plan.app_id, plan.branch, ctx.region
        )),
        Creating::Url(req) => ctx.reporter.line(format!(
            "starting deployment of {} on {}/{}",
            http::redact_url(req.source_url.as_deref().unwrap_or_default()),
            plan.app_id,
            plan.branch
        )),
    }
}

/// The service refused to create a job because job `n` is not finished
/// (error `e`). Our own lost job is stopped (a zip job, to be created
/// again) or adopted (a URL job: the answer to return); another run's is
/// waited for. `None`: try again.
async fn on_unfinished(
    ctx: &Ctx,
    creating: &Creating,
    e: &ApiError,
    n: &str,
    unanswered: &Unanswereds,
) -> Result<Option<Created>, RunError> {
    let plan = &ctx.settings;
    let summary = ctx
        .client
        .get_job(&plan.app_id, &plan.branch, n)
        .await
        .ok()
        .and_then(|job| job.summary);
    let ours = summary.as_ref().filter(|s| {
        lock_unanswered(unanswered)
            .iter()
            .any(|u| u.may_have_created(s))
    });
    match (creating, ours) {
        (Creating::Zip, Some(job)) => {
            if job.status == Some(JobStatus::Pending) {
                ctx.reporter.line(format!(
                    "CreateDeployment's answer was lost after it created job {n}: stopping that job and creating again"
                ));
                stop_quietly(ctx, n).await?;
            }
        }
        (Creating::Url(req), Some(job)) if job.source_url == req.source_url => {
            let status = job
                .status
                .clone()
                .unwrap_or(JobStatus::Other(String::new()));
            if !status.has_started() {
                return Err(RunError::new(
                    ErrorClass::DeployFailed,
                    format!("job {n}, which our StartDeployment started before its answer was lost, is {status}"),
                )
                .cause(ctx.explain(e).message));
            }
            ctx.reporter.line(format!(
                "StartDeployment's answer was lost after it started job {n}: following that job"
            ));
            ctx.set_job(Some(OurJob {
                id: n.to_owned(),
                started: true,
            }));
            return Ok(Some(Created::Url(job.clone())));
        }
        _ => {
            // Another run's job, created after our ListJobs: wait for it.
            ctx.reporter.line(format!(
                "branch {} is busy: job {n} of another run started first",
                plan.branch
            ));
            tokio::time::sleep(plan.poll_interval).await;
        }
    }
    Ok(None)
}

fn lock_unanswered(m: &Mutex<Vec<Unanswered>>) -> std::sync::MutexGuard<'_, Vec<Unanswered>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One job-creating call, retried like every call, noting each attempt
/// that was sent and got no answer: the client makes single attempts and
/// the retry loop runs here, where each failed attempt can be seen.
fn tracked_call(
    ctx: &Arc<Ctx>,
    creating: Creating,
    seen_max: u64,
    unanswered: Unanswereds,
) -> impl std::future::Future<Output = Result<Created, ApiError>> + Send + 'static {
    let ctx = Arc::clone(ctx);
    async move {
        let once = ctx.client.with_retry(RetryConfig {
            max_retries: 0,
            quota_wait: Duration::ZERO,
            ..ctx.retry
        });
        let sent = Mutex::new(0.0_f64);
        let classify = |e: &ApiError| {
            if e.may_have_been_received() {
                let sent = *sent.lock().unwrap_or_else(|p| p.into_inner());
                lock_unanswered(&unanswered).push(Unanswered {
                    seen_max,
                    sent,
                    failed: now_epoch(),
                });
            }
            e.retry_decision()
        };
        let attempt = || {
            *sent.lock().unwrap_or_else(|p| p.into_inner()) = now_epoch();
            let (once, creating, plan) = (once.clone(), creating.clone(), &ctx.settings);
            async move {
                match creating {
                    Creating::Zip => once
                        .create_deployment(&plan.app_id, &plan.branch)
                        .await
                        .map(Created::Zip),
                    Creating::Url(req) => once
                        .start_deployment(&plan.app_id, &plan.branch, &req)
                        .await
                        .map(Created::Url),
                }
            }
        };
        http::retry(
            &ctx.retry,
            creating.operation(),
            &ctx.observer,
            classify,
            attempt,
        )
        .await
    }
}

/// Run a call that creates a job in a task of its own. A signal or the
/// timeout drops the pipeline, but not this call: its answer still arrives,
/// records the job, and the cleanup stops it instead of leaving it PENDING.
async fn spawn_creating<T, F>(
    ctx: &Arc<Ctx>,
    started: bool,
    call: F,
    job_id: fn(&T) -> Option<String>,
) -> Result<Result<T, ApiError>, RunError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
{
    ctx.creating.send_replace(true);
    let task_ctx = Arc::clone(ctx);
    let task = tokio::spawn(async move {
        let result = call.await;
        if let Some(id) = result
            .as_ref()
            .ok()
            .and_then(job_id)
            .filter(|j| !j.is_empty())
        {
            task_ctx.set_job(Some(OurJob { id, started }));
        }
        task_ctx.creating.send_replace(false);
        result
    });
    task.await
        .map_err(|e| RunError::aws(format!("the call creating the job stopped: {e}")))
}

/// How far a job's start time may fall outside the window of the attempt
/// that may have created it, in seconds: the difference between this
/// machine's clock and the service's, and the service's rounding.
const CLOCK_TOLERANCE_SECS: f64 = 5.0;

/// An attempt of a job-creating call that was sent and got no answer (it
/// timed out, or the connection dropped): the service may have created a
/// job for it, which would then be ours.
#[derive(Debug, Clone, Copy)]
struct Unanswered {
    /// The highest job number on the branch before the call.
    seen_max: u64,
    /// When the attempt was sent and when it failed, in epoch seconds.
    sent: f64,
    failed: f64,
}

impl Unanswered {
    /// Whether `job` may be the one this attempt created: numbered after
    /// every job seen before the call, and started within the attempt's
    /// window (when the service says when it started).
    fn may_have_created(&self, job: &JobSummary) -> bool {
        let number = job.job_id.as_deref().map(job_number).unwrap_or(0);
        let in_window = job.start_time.is_none_or(|t| {
            t >= self.sent - CLOCK_TOLERANCE_SECS && t <= self.failed + CLOCK_TOLERANCE_SECS
        });
        number > self.seen_max && in_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, start_time: Option<f64>) -> JobSummary {
        JobSummary {
            job_id: Some(id.into()),
            start_time,
            ..JobSummary::default()
        }
    }

    #[test]
    fn a_job_is_ours_only_when_it_appeared_within_an_unanswered_attempt() {
        let attempt = Unanswered {
            seen_max: 4,
            sent: 1000.0,
            failed: 1060.0,
        };
        assert!(attempt.may_have_created(&job("5", Some(1000.3))));
        assert!(attempt.may_have_created(&job("7", Some(1059.0))));
        // The clocks may differ a little.
        assert!(attempt.may_have_created(&job("5", Some(998.0))));
        // Seen before the call: another run's.
        assert!(!attempt.may_have_created(&job("4", Some(1001.0))));
        assert!(!attempt.may_have_created(&job("x", Some(1001.0))));
        // Started well before the attempt was sent, or after it failed.
        assert!(!attempt.may_have_created(&job("5", Some(900.0))));
        assert!(!attempt.may_have_created(&job("5", Some(1100.0))));
        // Without a start time, the number decides.
        assert!(attempt.may_have_created(&job("5", None)));
    }
}
