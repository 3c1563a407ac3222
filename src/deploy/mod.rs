//! The deploy pipeline: validate, package, CreateDeployment, upload,
//! StartDeployment, wait; and the guard rails around it (busy branches,
//! lost responses, timeout, cancellation) so that no run leaves a job
//! behind that blocks the branch.
//!
//! One file per step, in the order a deploy runs them: [`plan`] (the input,
//! checked), [`packaging`], [`preflight`] (app and branch), [`busy`] (a
//! free branch), [`start`] (our job, with lost-answer recovery), [`upload`],
//! [`wait`], [`failure`] (the verdict, and the failed step's log via
//! [`steplog`]), [`stamp`] (provenance on the branch; its newest-wins check
//! runs before our job is created); [`guard`] cuts the run short on
//! timeout or signal.

mod busy;
mod failure;
mod guard;
mod packaging;
mod plan;
mod preflight;
mod rules;
mod skip;
mod stamp;
mod start;
mod steplog;
mod store;
mod upload;
mod verify;
mod wait;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::amplify::{ApiError, Client, Job, JobStatus};
use crate::connection::{self, Connection};
use crate::error::{ErrorClass, RunError};
use crate::explain::{explain, Scope};
use crate::http::{RetryConfig, RetryObserver};
use crate::outcome::{console_url, Outcome, RunStatus};
use crate::report::Reporter;
use crate::settings::DeploySettings;

pub(crate) use plan::root_document;
use plan::{Plan, Source};

/// A job this run created or started, and whether it started.
#[derive(Debug, Clone)]
struct OurJob {
    id: String,
    started: bool,
}

/// Shared between the pipeline and the guards that may cut it short.
#[derive(Default)]
struct RunState {
    job: Option<OurJob>,
    outcome: Outcome,
    /// The zip, deleted when the run ends however it ends (the packaging
    /// thread may still be writing it when a signal arrives).
    zip: Option<tempfile::TempPath>,
    /// The branch's ARN, as GetBranch or CreateBranch gave it (for its tags).
    branch_arn: Option<String>,
    /// The bytes the live check expects, kept from packaging.
    root_document: Option<Vec<u8>>,
    /// Basic auth on the branch or the app, as GetApp/GetBranch said;
    /// the branch's credentials (base64) when the branch has it on.
    basic_auth_on: bool,
    branch_credentials: Option<String>,
}

struct Ctx {
    client: Client,
    plan: Plan,
    region: String,
    reporter: Reporter,
    state: Arc<Mutex<RunState>>,
    http: reqwest::Client,
    retry: RetryConfig,
    observer: RetryObserver,
    /// True while a call that creates a job is on the wire (see
    /// `start::spawn_creating`).
    creating: tokio::sync::watch::Sender<bool>,
    /// When `--timeout` ends the run.
    deadline: Instant,
    /// The artifact store's client, with `--artifact-store`.
    s3: Option<crate::s3::Client>,
}

impl Ctx {
    fn scope(&self) -> Scope<'_> {
        Scope {
            app_id: &self.plan.app_id,
            branch: &self.plan.branch,
            region: &self.region,
        }
    }

    fn explain(&self, e: &ApiError) -> RunError {
        explain(e, &self.scope())
    }

    fn set_job(&self, job: Option<OurJob>) {
        lock(&self.state).job = job;
    }

    fn with_outcome(&self, f: impl FnOnce(&mut Outcome)) {
        f(&mut lock(&self.state).outcome)
    }
}

fn lock(m: &Mutex<RunState>) -> std::sync::MutexGuard<'_, RunState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn job_status(job: &Job) -> Option<&JobStatus> {
    job.summary.as_ref().and_then(|s| s.status.as_ref())
}

/// The result of `deploy`: the outcome to report, and the error if it failed.
pub struct DeployResult {
    pub outcome: Outcome,
    pub error: Option<RunError>,
}

/// Check the deploy's input, as [`deploy`] does first, touching nothing.
pub fn check(s: &DeploySettings) -> Result<(), RunError> {
    Plan::from_settings(s).map(|_| ())
}

/// Run `deploy`. Input errors come back before anything touches the
/// network; other failures come back with whatever outcome was reached.
pub async fn deploy(s: &DeploySettings, reporter: Reporter) -> Result<DeployResult, RunError> {
    let plan = Plan::from_settings(s)?;
    if let Some(auth) = &plan.verify.basic_auth {
        reporter.github().mask(&auth.password);
        reporter.github().mask(&auth.encoded());
    }
    // --timeout bounds the whole run, getting credentials (OIDC, STS,
    // profiles, IMDS) included.
    let deadline = Instant::now() + plan.timeout;
    let connecting =
        tokio::time::timeout_at(deadline.into(), connection::connect(&s.aws, &reporter));
    let connection = connecting.await.map_err(|_| {
        RunError::new(
            ErrorClass::Timeout,
            format!(
                "timed out after {} while getting AWS credentials",
                humantime::format_duration(plan.timeout)
            ),
        )
        .hint("check that the OIDC token endpoint and STS (or your credential source) answer; raise --timeout")
    })??;
    let ctx = Arc::new(Ctx::new(plan, connection, reporter, deadline));
    let timeout = ctx.plan.timeout;
    let error = tokio::select! {
        r = run(ctx.clone()) => r.err(),
        _ = tokio::time::sleep_until(deadline.into()) => Some(guard::on_timeout(&ctx, timeout).await),
        signal = crate::signal::shutdown() => Some(guard::on_signal(&ctx, signal).await),
    };
    let error = match error {
        Some(e) => Some(guard::cleanup_after_failure(&ctx, e, deadline).await),
        None => None,
    };
    let outcome = lock(&ctx.state).outcome.clone();
    Ok(DeployResult { outcome, error })
}

impl Ctx {
    fn new(plan: Plan, connection: Connection, reporter: Reporter, deadline: Instant) -> Ctx {
        let s3 = plan
            .store
            .as_ref()
            .map(|st| connection::s3_client(st.endpoint.clone(), &connection));
        let Connection {
            client,
            region,
            http,
            retry,
            observer,
            ..
        } = connection;
        let state = Arc::new(Mutex::new(RunState {
            job: None,
            zip: None,
            branch_arn: None,
            root_document: None,
            basic_auth_on: false,
            branch_credentials: None,
            outcome: Outcome {
                app_id: plan.app_id.clone(),
                branch: plan.branch.clone(),
                region: region.clone(),
                console_url: console_url(&region, &plan.app_id, &plan.branch),
                ..Outcome::default()
            },
        }));
        // A quota wait is one more way to spend the run's time: never past --timeout.
        let retry = RetryConfig {
            quota_wait: plan.quota_wait.min(plan.timeout),
            ..retry
        };
        Ctx {
            client: client.with_retry(retry),
            plan,
            region,
            reporter,
            state,
            http,
            retry,
            observer,
            creating: tokio::sync::watch::Sender::new(false),
            deadline,
            s3,
        }
    }
}

/// The deploy itself, step by step.
async fn run(ctx: Arc<Ctx>) -> Result<(), RunError> {
    let started = Instant::now();
    let plan = &ctx.plan;
    // A folder that cannot be deployed is bad input, found before anything
    // reaches the service; the preflight runs alongside its compression.
    let (zip, branch_missing) = match &plan.source {
        Source::Folder(opts) => {
            let (zip, missing) = packaging::package_and_check(&ctx, opts.clone()).await?;
            (Some(zip), missing)
        }
        Source::Url { .. } => (None, preflight::preflight(&ctx).await?),
    };
    if let Some((wanted, from)) = &plan.rules {
        rules::sync(&ctx, wanted, from).await?;
    }
    if plan.dry_run {
        plan::show_dry_run(&ctx, branch_missing);
        ctx.with_outcome(|o| o.status = Some(RunStatus::DryRun));
        return Ok(());
    }
    if plan.skip_unchanged && !branch_missing && skip::unchanged(&ctx).await? {
        return Ok(());
    }
    // Stored before anything changes on the branch: a refused PutObject
    // leaves the service untouched.
    let stored = match (&plan.store, zip.as_deref()) {
        (Some(store), Some(zip)) => Some(store::put(&ctx, store, zip).await?),
        _ => None,
    };
    if branch_missing {
        preflight::create_branch(&ctx).await?;
    } else {
        preflight::update_basic_auth(&ctx).await?;
    }
    let Some(job_id) = start_step(&ctx, zip.as_deref(), stored.as_deref()).await? else {
        return Ok(()); // superseded: a newer commit is live
    };
    if !plan.wait {
        ctx.with_outcome(|o| o.status = Some(RunStatus::Started));
        ctx.reporter.line("not waiting for the job (--no-wait)");
        verify::skip(&ctx, "the run does not wait for the job (--no-wait)");
        return Ok(());
    }
    let group = ctx
        .reporter
        .open_group(&format!("Waiting for job {job_id}"));
    let wait_started = Instant::now();
    let job = wait::wait_for_job(&ctx, &job_id).await;
    drop(group);
    failure::judge(&ctx, &job?, &job_id, started, wait_started).await?;
    stamp::stamp(&ctx, &job_id).await;
    verify::live_check(&ctx, ctx.deadline).await
}

/// Start our job: create it, upload the zip and start it (a folder), or
/// start it from the URL. Returns its id; `None` when superseded.
async fn start_step(
    ctx: &Arc<Ctx>,
    zip: Option<&Path>,
    stored: Option<&str>,
) -> Result<Option<String>, RunError> {
    let deploy_started = Instant::now();
    let summary = match (&ctx.plan.source, zip, ctx.plan.store.as_ref().zip(stored)) {
        (Source::Folder(_), Some(_), Some((store, url))) => {
            match store::start(ctx, store, url).await? {
                Some(summary) => summary,
                None => return Ok(None),
            }
        }
        (Source::Folder(_), Some(zip), None) => {
            // Closed however the step ends, an error included.
            let _group = ctx.reporter.open_group("Uploading");
            let Some((job_id, url)) = start::create_deployment(ctx).await? else {
                return Ok(None);
            };
            upload::upload_and_start(ctx, &job_id, &url, zip).await?
        }
        (Source::Url { url, kind }, _, _) => match start::start_from_url(ctx, url, *kind).await? {
            Some(summary) => summary,
            None => return Ok(None),
        },
        (Source::Folder(_), None, _) => unreachable!("a folder source is always packaged"),
    };
    let job_id = summary.job_id.clone().unwrap_or_default();
    ctx.with_outcome(|o| {
        o.job_id = Some(job_id.clone());
        o.job_arn = summary.job_arn.clone();
        o.status = Some(summary.status.clone().unwrap_or(JobStatus::Running).into());
        o.phases.push(("start".into(), deploy_started.elapsed()));
    });
    ctx.reporter.line(format!("started job {job_id}"));
    Ok(Some(job_id))
}
