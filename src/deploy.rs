//! The deploy pipeline: validate, package, CreateDeployment, upload,
//! StartDeployment, wait; and the guard rails around it (busy branches,
//! lost responses, timeout, cancellation) so that no run leaves a job
//! behind that blocks the branch.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::amplify::{is_terminal, ApiError, Client, Job, JobSummary, StartDeploymentInput};
use crate::cli::{DeployArgs, OnBusy, PackageFilterArgs};
use crate::error::{ErrorClass, RunError};
use crate::explain::{explain, Scope};
use crate::http::{self, RetryConfig, RetryObserver};
use crate::outcome::{console_url, Outcome, PackageFacts, StepFailure};
use crate::package::{self, PackageOptions};
use crate::report::Reporter;
use crate::settings;

/// Everything `deploy` needs, validated.
struct Plan {
    app_id: String,
    branch: String,
    source: Source,
    wait: bool,
    dry_run: bool,
    timeout: Duration,
    quota_wait: Duration,
    keep_job_on_timeout: bool,
    on_busy: OnBusy,
    create_branch: bool,
    stage: &'static str,
    poll_interval: Duration,
    pending_grace: Duration,
}

enum Source {
    Folder(PackageOptions),
    Url {
        url: String,
        kind: Option<&'static str>,
    },
}

impl Plan {
    /// Check all input before touching the network.
    fn from_args(args: &DeployArgs) -> Result<Plan, RunError> {
        let app_id = settings::validate_app_id(args.app_id.as_deref())?;
        let branch = settings::validate_branch(args.branch.as_deref())?;
        let source = match (&args.path, &args.source_url) {
            (Some(path), None) => {
                check_folder(path)?;
                let opts = package_options(path, &args.filter)?;
                Source::Folder(opts)
            }
            (None, Some(url)) => {
                settings::validate_source_url(url)?;
                Source::Url {
                    url: url.clone(),
                    kind: args.source_url_type.map(|t| t.as_str()),
                }
            }
            (None, None) => {
                return Err(RunError::input(
                    "path is required: pass --path DIR (the build folder) or --source-url URL",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(RunError::input(
                    "path and source-url cannot be used together",
                ))
            }
        };
        if args.timeout.is_zero() {
            return Err(RunError::input("timeout must be longer than 0s"));
        }
        Ok(Plan {
            app_id,
            branch,
            source,
            wait: !args.no_wait && args.wait.unwrap_or(true),
            dry_run: args.dry_run.unwrap_or(false),
            timeout: args.timeout,
            quota_wait: args.quota_wait,
            keep_job_on_timeout: args.keep_job_on_timeout.unwrap_or(false),
            on_busy: args.on_busy,
            create_branch: args.create_branch.unwrap_or(false),
            stage: args.stage.as_str(),
            poll_interval: args.poll_interval.max(Duration::from_millis(10)),
            pending_grace: args.pending_grace,
        })
    }
}

fn check_folder(path: &std::path::Path) -> Result<(), RunError> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(RunError::input(format!("path {shown}: no such directory")))
        }
        Err(e) => Err(RunError::input(format!(
            "path {shown}: cannot be read: {e}"
        ))),
        Ok(m) if !m.is_dir() => Err(RunError::input(format!(
            "path {shown}: is a file, not a directory (pass the build folder, e.g. dist/)"
        ))),
        Ok(_) => Ok(()),
    }
}

/// What `deploy` and `package` package: the folder, filtered, on the
/// threads asked for, stamped with `SOURCE_DATE_EPOCH`.
pub fn package_options(
    path: &std::path::Path,
    filter: &PackageFilterArgs,
) -> Result<PackageOptions, RunError> {
    if filter.threads == Some(0) {
        return Err(RunError::input("threads must be at least 1"));
    }
    let mut opts = PackageOptions::new(path);
    opts.excludes = filter
        .exclude
        .iter()
        .filter(|e| !e.trim().is_empty())
        .cloned()
        .collect();
    opts.threads = filter.threads;
    if let Some(max) = filter.max_archive_bytes {
        opts.max_archive_bytes = max;
    }
    opts.source_date_epoch = source_date_epoch()?;
    Ok(opts)
}

/// `SOURCE_DATE_EPOCH` (reproducible-builds.org), when set.
pub fn source_date_epoch() -> Result<Option<u64>, RunError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map(Some).map_err(|_| {
            RunError::input(format!(
                "SOURCE_DATE_EPOCH {v:?} is not a number of seconds"
            ))
        }),
        _ => Ok(None),
    }
}

/// A packaging error as bad input, with the OS's reason ("Permission
/// denied (os error 13)") as its cause.
pub fn package_error(e: package::PackageError) -> RunError {
    let err = RunError::input(format!("{e}"));
    match std::error::Error::source(&e) {
        Some(source) => err.caused_by(source),
        None => err,
    }
}

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
    /// True while a call that creates a job is on the wire (see [`spawn_creating`]).
    creating: tokio::sync::watch::Sender<bool>,
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

/// The result of `deploy`: the outcome to report, and the error if it failed.
pub struct DeployResult {
    pub outcome: Outcome,
    pub error: Option<RunError>,
}

/// Run `deploy`. Input errors come back before anything touches the
/// network; other failures come back with whatever outcome was reached.
pub async fn deploy(args: &DeployArgs, reporter: Reporter) -> Result<DeployResult, RunError> {
    let plan = Plan::from_args(args)?;
    // --timeout bounds the whole run, getting credentials (OIDC, STS,
    // profiles, IMDS) included.
    let deadline = Instant::now() + plan.timeout;
    let connecting =
        tokio::time::timeout_at(deadline.into(), settings::connect(&args.aws, &reporter));
    let settings::Connection {
        client,
        region,
        http,
        retry,
        observer,
    } = connecting.await.map_err(|_| {
        RunError::new(
            ErrorClass::Timeout,
            format!(
                "timed out after {} while getting AWS credentials",
                humantime::format_duration(plan.timeout)
            ),
        )
        .hint("check that the OIDC token endpoint and STS (or your credential source) answer; raise --timeout")
    })??;
    let state = Arc::new(Mutex::new(RunState {
        job: None,
        zip: None,
        outcome: Outcome {
            app_id: plan.app_id.clone(),
            branch: plan.branch.clone(),
            region: region.clone(),
            console_url: console_url(&region, &plan.app_id, &plan.branch),
            ..Outcome::default()
        },
    }));
    let timeout = plan.timeout;
    // A quota wait is one more way to spend the run's time: never past --timeout.
    let retry = RetryConfig {
        quota_wait: plan.quota_wait.min(timeout),
        ..retry
    };
    let ctx = Arc::new(Ctx {
        client: client.with_retry(retry),
        plan,
        region,
        reporter,
        state,
        http,
        retry,
        observer,
        creating: tokio::sync::watch::Sender::new(false),
    });

    let pipeline = run(ctx.clone());
    let error = tokio::select! {
        r = pipeline => r.err(),
        _ = tokio::time::sleep_until(deadline.into()) => Some(on_timeout(&ctx, timeout).await),
        signal = crate::signal::shutdown() => Some(on_signal(&ctx, signal).await),
    };
    let error = match error {
        Some(e) => Some(cleanup_after_failure(&ctx, e, deadline).await),
        None => None,
    };
    let outcome = lock(&ctx.state).outcome.clone();
    Ok(DeployResult { outcome, error })
}

/// A job that was created but never started would block the branch: stop
/// it, within what is left of `--timeout` (at least [`CLEANUP_BUDGET`]).
async fn cleanup_after_failure(ctx: &Ctx, mut err: RunError, deadline: Instant) -> RunError {
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

/// The longest a clean-up after a timeout or a signal may take. The runner
/// sends SIGTERM 7.5 s after SIGINT, then kills; and `--timeout` bounds the
/// whole run, a StopJob that never answers included.
const CLEANUP_BUDGET: Duration = Duration::from_millis(6500);

/// Of [`CLEANUP_BUDGET`], the most spent waiting for a job-creating call on
/// the wire to answer, so that StopJob keeps time of its own.
const SETTLE_BUDGET: Duration = Duration::from_secs(3);

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
            ctx.with_outcome(|o| o.status = Some("CANCELLED".into()));
            format!("stopped job {job_id}")
        }
        Ok(Err(e)) => format!("could not stop job {job_id}: {}", e.message),
        Err(_) => format!("could not stop job {job_id} in time"),
    }
}

async fn on_timeout(ctx: &Ctx, timeout: Duration) -> RunError {
    let deadline = Instant::now() + CLEANUP_BUDGET;
    settle(ctx, SETTLE_BUDGET).await;
    let job = lock(&ctx.state).job.clone();
    let mut err = RunError::new(
        ErrorClass::Timeout,
        format!("timed out after {}", humantime::format_duration(timeout)),
    );
    match job {
        Some(job) if ctx.plan.keep_job_on_timeout && job.started => {
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

async fn on_signal(ctx: &Ctx, signal: &'static str) -> RunError {
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

/// StopJob, treating "already finished" as done.
async fn stop_quietly(ctx: &Ctx, job_id: &str) -> Result<(), RunError> {
    let (app, branch) = (&ctx.plan.app_id, &ctx.plan.branch);
    match ctx.client.stop_job(app, branch, job_id).await {
        Ok(_) => Ok(()),
        Err(e) => match ctx.client.get_job(app, branch, job_id).await {
            Ok(job) if job_status(&job).is_some_and(|s| is_terminal(s) || s == "CANCELLING") => {
                Ok(())
            }
            _ => Err(ctx.explain(&e)),
        },
    }
}

fn job_status(job: &Job) -> Option<&str> {
    job.summary.as_ref().and_then(|s| s.status.as_deref())
}

async fn run(ctx: Arc<Ctx>) -> Result<(), RunError> {
    let started = Instant::now();
    let plan = &ctx.plan;

    // Package first: a folder that cannot be deployed is bad input, found
    // before anything reaches the service.
    let packaged = match &plan.source {
        Source::Folder(opts) => {
            ctx.reporter.group("Packaging");
            let r = package_folder(&ctx, opts.clone()).await;
            ctx.reporter.end_group();
            let (tmp, report) = r?;
            for w in &report.warnings {
                ctx.reporter.warning(w);
            }
            ctx.reporter.line(format!(
                "packaged {} files, {} in, {} zip, in {:.1}s (sha256 {})",
                report.file_count,
                human_bytes(report.bytes_in),
                human_bytes(report.bytes_out),
                report.elapsed.as_secs_f64(),
                report.sha256
            ));
            ctx.with_outcome(|o| {
                o.package = Some(PackageFacts {
                    file_count: report.file_count,
                    bytes: report.bytes_out,
                    sha256: report.sha256.clone(),
                });
                o.phases.push(("package".into(), report.elapsed));
            });
            Some(tmp)
        }
        Source::Url { .. } => None,
    };
    ctx.reporter.group("Checking app and branch");
    let preflight = preflight(&ctx).await;
    ctx.reporter.end_group();
    let branch_missing = preflight?;

    if plan.dry_run {
        let o = lock(&ctx.state).outcome.clone();
        ctx.reporter.line("dry run: nothing was changed");
        ctx.reporter
            .line(format!("  app       {} ({})", o.app_id, o.region));
        ctx.reporter.line(format!(
            "  branch    {}{}",
            o.branch,
            if branch_missing {
                " (would be created)"
            } else {
                ""
            }
        ));
        ctx.reporter
            .line(format!("  endpoint  {}", ctx.client.endpoint()));
        if let Some(p) = &o.package {
            ctx.reporter.line(format!("  files     {}", p.file_count));
            ctx.reporter.line(format!(
                "  size      {} ({} bytes)",
                human_bytes(p.bytes),
                p.bytes
            ));
            ctx.reporter.line(format!("  sha256    {}", p.sha256));
        }
        if let Source::Url { url, .. } = &plan.source {
            ctx.reporter
                .line(format!("  source    {}", http::redact_url(url)));
        }
        ctx.with_outcome(|o| o.status = Some("DRY_RUN".into()));
        return Ok(());
    }
    if branch_missing {
        ctx.reporter.line(format!(
            "creating branch {} (stage {})",
            plan.branch, plan.stage
        ));
        match ctx
            .client
            .create_branch(&plan.app_id, &plan.branch, Some(plan.stage))
            .await
        {
            Ok(b) => set_url_from_branch(&ctx, b.display_name.as_deref()),
            Err(e) => return Err(ctx.explain(&e)),
        }
    }

    let deploy_started = Instant::now();
    let summary = match (&plan.source, packaged) {
        (Source::Folder(_), Some(zip)) => {
            ctx.reporter.group("Uploading");
            let (job_id, url) = create_deployment(&ctx).await?;
            let r = upload_and_start(&ctx, &job_id, &url, &zip).await;
            ctx.reporter.end_group();
            r?
        }
        (Source::Url { url, kind }, _) => start_from_url(&ctx, url, *kind).await?,
        (Source::Folder(_), None) => unreachable!("a folder source is always packaged"),
    };
    let job_id = summary.job_id.clone().unwrap_or_default();
    ctx.with_outcome(|o| {
        o.job_id = Some(job_id.clone());
        o.job_arn = summary.job_arn.clone();
        o.status = summary.status.clone().or(Some("RUNNING".into()));
        o.phases.push(("start".into(), deploy_started.elapsed()));
    });
    ctx.reporter.line(format!("started job {job_id}"));

    if !plan.wait {
        ctx.with_outcome(|o| o.status = Some("STARTED".into()));
        ctx.reporter.line("not waiting for the job (--no-wait)");
        return Ok(());
    }
    ctx.reporter.group(&format!("Waiting for job {job_id}"));
    let wait_started = Instant::now();
    let job = wait_for_job(&ctx, &job_id).await;
    ctx.reporter.end_group();
    let job = job?;
    let status = job_status(&job).unwrap_or("UNKNOWN").to_owned();
    ctx.set_job(None);
    let failures: Vec<StepFailure> = job
        .steps
        .iter()
        .filter(|s| s.status.as_deref() != Some("SUCCEED"))
        .map(|s| StepFailure {
            step: s.step_name.clone().unwrap_or_else(|| "?".into()),
            reason: s.status_reason.clone(),
        })
        .collect();
    ctx.with_outcome(|o| {
        o.status = Some(status.clone());
        o.phases.push(("wait".into(), wait_started.elapsed()));
        o.phases.push(("total".into(), started.elapsed()));
        if status != "SUCCEED" {
            o.failures = failures.clone();
        }
    });
    if status == "SUCCEED" {
        return Ok(());
    }
    // What a user needs to fix the build: the end of each failed step's log
    // (fetched through its presigned URL, which is never printed).
    if status == "FAILED" {
        for s in job
            .steps
            .iter()
            .filter(|s| s.status.as_deref() == Some("FAILED"))
        {
            if let Some(url) = &s.log_url {
                let step = s.step_name.as_deref().unwrap_or("?");
                // Inside --timeout, with a second to spare: a slow log
                // server must not turn a failed job into a timeout.
                let left = ctx.plan.timeout.saturating_sub(started.elapsed());
                let within = left.saturating_sub(Duration::from_secs(1));
                crate::steplog::show_tail(&ctx.reporter, &ctx.http, step, url, within).await;
            }
        }
    }
    let mut err = RunError::new(
        ErrorClass::DeployFailed,
        format!(
            "job {job_id} on {}/{} ended {status}",
            plan.app_id, plan.branch
        ),
    );
    for f in &failures {
        let mut line = format!("step {}", f.step);
        if let Some(r) = &f.reason {
            line.push_str(&format!(": {}", crate::error::one_line(r)));
        }
        err = err.cause(line);
    }
    Err(err.hint(format!(
        "see the job and its logs at {}",
        crate::outcome::console_job_url(&ctx.region, &plan.app_id, &plan.branch, &job_id)
    )))
}

/// Package into a temporary file (removed when dropped), off the async threads.
async fn package_folder(
    ctx: &Ctx,
    opts: PackageOptions,
) -> Result<(PathBuf, package::PackageReport), RunError> {
    let dir = temp_dir();
    let tmp = tempfile::Builder::new()
        .prefix("amplify-deploy-")
        .suffix(".zip")
        .tempfile_in(&dir)
        .map_err(|e| {
            RunError::input(format!(
                "cannot create a temporary file in {}: {e}",
                dir.display()
            ))
        })?
        .into_temp_path();
    let path = tmp.to_path_buf();
    lock(&ctx.state).zip = Some(tmp);
    let out = path.clone();
    let report = tokio::task::spawn_blocking(move || package::package_to_file(&opts, &out))
        .await
        .map_err(|e| RunError::input(format!("packaging stopped: {e}")))?
        .map_err(package_error)?;
    Ok((path, report))
}

fn temp_dir() -> PathBuf {
    std::env::var_os("RUNNER_TEMP")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// GetApp and GetBranch: the app exists and takes manual deploys, the branch
/// exists (or will be created). Returns whether the branch is missing.
async fn preflight(ctx: &Ctx) -> Result<bool, RunError> {
    let plan = &ctx.plan;
    let app = ctx
        .client
        .get_app(&plan.app_id)
        .await
        .map_err(|e| ctx.explain(&e))?;
    if app.platform.as_deref() == Some("WEB_COMPUTE") {
        return Err(RunError::input(format!(
            "app {} is a WEB_COMPUTE (server-side rendered) app, which cannot take manual deployments",
            plan.app_id
        ))
        .hint("deploy to a WEB (static) app; SSR apps deploy from a connected Git repository"));
    }
    let domain = app.default_domain.clone();
    ctx.with_outcome(|o| {
        o.url = domain
            .as_ref()
            .map(|d| format!("https://{}.{d}", plan.branch.replace('/', "-")))
    });
    match ctx.client.get_branch(&plan.app_id, &plan.branch).await {
        Ok(b) => {
            set_url_from_branch(ctx, b.display_name.as_deref());
            Ok(false)
        }
        Err(e) if e.is_not_found() && plan.create_branch => Ok(true),
        Err(e) => Err(ctx.explain(&e)),
    }
}

fn set_url_from_branch(ctx: &Ctx, display_name: Option<&str>) {
    let display = display_name
        .map(str::to_owned)
        .unwrap_or_else(|| ctx.plan.branch.replace('/', "-"));
    ctx.with_outcome(|o| {
        if let Some(url) = &o.url {
            if let Some(domain) = url
                .strip_prefix("https://")
                .and_then(|r| r.split_once('.'))
                .map(|(_, d)| d.to_owned())
            {
                o.url = Some(format!("https://{display}.{domain}"));
            }
        }
    });
}

fn job_number(id: &str) -> u64 {
    id.parse().unwrap_or(0)
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Make the branch free for a new job, as `--on-busy` says. Returns the
/// highest job number seen, so that a job appearing later can be told apart.
async fn clear_branch(ctx: &Ctx) -> Result<u64, RunError> {
    let plan = &ctx.plan;
    let mut first_seen: HashMap<String, Instant> = HashMap::new();
    let mut announced: HashMap<String, String> = HashMap::new();
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
            .filter(|j| j.status.as_deref().is_some_and(|s| !is_terminal(s)))
            .collect();
        if busy.is_empty() {
            return Ok(max_seen);
        }
        for job in busy {
            let id = job.job_id.clone().unwrap_or_default();
            let status = job.status.clone().unwrap_or_default();
            let seen = *first_seen.entry(id.clone()).or_insert_with(Instant::now);
            match plan.on_busy {
                OnBusy::Fail => {
                    return Err(RunError::new(
                        ErrorClass::DeployFailed,
                        format!("branch {} is busy: job {id} is {status}", plan.branch),
                    )
                    .hint("use --on-busy wait (wait for it) or --on-busy stop (stop it)"));
                }
                OnBusy::Stop if status != "CANCELLING" => {
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
                        announced.insert(id.clone(), status.clone());
                    }
                }
            }
        }
        tokio::time::sleep(plan.poll_interval).await;
    }
}

/// A PENDING job nobody started: older than the grace period, or watched
/// by us for that long.
fn is_orphan(job: &JobSummary, first_seen: Instant, grace: Duration) -> bool {
    if job.status.as_deref() != Some("PENDING") && job.status.as_deref() != Some("CREATED") {
        return false;
    }
    let age = job.start_time.map(|t| now_epoch() - t).unwrap_or(0.0);
    age > grace.as_secs_f64() || first_seen.elapsed() >= grace
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

/// A call that creates a job on the branch.
#[derive(Clone)]
enum Creating {
    /// CreateDeployment: a PENDING job waiting for our zip.
    Zip,
    /// StartDeployment from a URL: a job that starts at once.
    Url(StartDeploymentInput),
}

/// What a job-creating call answered.
enum Created {
    Zip(crate::amplify::CreateDeploymentOutput),
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

impl Creating {
    fn operation(&self) -> &'static str {
        match self {
            Creating::Zip => "CreateDeployment",
            Creating::Url(_) => "StartDeployment",
        }
    }
}

/// Create our job: CreateDeployment or StartDeployment from a URL, after
/// `clear_branch` has made the branch free.
///
/// When the service refuses because "the last job N was not finished", job
/// N is ours only when an earlier attempt of this call was sent and got no
/// answer, and N appeared within that attempt's window
/// ([`Unanswered::may_have_created`]): then a PENDING job is stopped and
/// created again (its upload URL was lost with the answer), and a job
/// started from our URL is adopted. Any other job belongs to another run
/// and is waited for, however often that run wins the race; `--timeout`
/// bounds the whole.
async fn start_job(ctx: &Arc<Ctx>, creating: Creating) -> Result<Created, RunError> {
    let plan = &ctx.plan;
    let unanswered: Arc<Mutex<Vec<Unanswered>>> = Arc::default();
    loop {
        let seen_max = clear_branch(ctx).await?;
        match &creating {
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
        let call = tracked_call(ctx, creating.clone(), seen_max, unanswered.clone());
        let started = matches!(creating, Creating::Url(_));
        let e = match spawn_creating(ctx, started, call, Created::job_id).await? {
            // spawn_creating has recorded the job as ours.
            Ok(created) => return Ok(created),
            Err(e) => e,
        };
        let Some(n) = e.unfinished_job_id() else {
            return Err(ctx.explain(&e));
        };
        let summary = ctx
            .client
            .get_job(&plan.app_id, &plan.branch, &n)
            .await
            .ok()
            .and_then(|job| job.summary);
        let ours = summary.as_ref().filter(|s| {
            lock_unanswered(&unanswered)
                .iter()
                .any(|u| u.may_have_created(s))
        });
        match (&creating, ours) {
            (Creating::Zip, Some(job)) => {
                if job.status.as_deref() == Some("PENDING") {
                    ctx.reporter.line(format!(
                        "CreateDeployment's answer was lost after it created job {n}: stopping that job and creating again"
                    ));
                    stop_quietly(ctx, &n).await?;
                }
            }
            (Creating::Url(req), Some(job)) if job.source_url == req.source_url => {
                let status = job.status.clone().unwrap_or_default();
                if !has_started(&status) {
                    return Err(RunError::new(
                        ErrorClass::DeployFailed,
                        format!("job {n}, which our StartDeployment started before its answer was lost, is {status}"),
                    )
                    .cause(ctx.explain(&e).message));
                }
                ctx.reporter.line(format!(
                    "StartDeployment's answer was lost after it started job {n}: following that job"
                ));
                ctx.set_job(Some(OurJob {
                    id: n.clone(),
                    started: true,
                }));
                return Ok(Created::Url(job.clone()));
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
    }
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
    unanswered: Arc<Mutex<Vec<Unanswered>>>,
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
            let (once, creating, plan) = (once.clone(), creating.clone(), &ctx.plan);
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

/// Whether a job in this status was started and not stopped: a CANCELLED
/// (or CANCELLING) or FAILED job never counts as started.
fn has_started(status: &str) -> bool {
    !matches!(
        status,
        "" | "CREATED" | "PENDING" | "CANCELLING" | "CANCELLED" | "FAILED"
    )
}

/// CreateDeployment (see [`start_job`]): our job id and its upload URL.
async fn create_deployment(ctx: &Arc<Ctx>) -> Result<(String, String), RunError> {
    let Created::Zip(out) = start_job(ctx, Creating::Zip).await? else {
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
    Ok((job_id, url))
}

async fn upload_and_start(
    ctx: &Ctx,
    job_id: &str,
    url: &str,
    zip: &std::path::Path,
) -> Result<JobSummary, RunError> {
    let plan = &ctx.plan;
    let size = std::fs::metadata(zip).map(|m| m.len()).unwrap_or(0);
    ctx.reporter.line(format!(
        "uploading {} to {}",
        human_bytes(size),
        http::redact_url(url)
    ));
    let t = Instant::now();
    http::upload_file(&ctx.http, url, zip, &ctx.retry, &ctx.observer).await.map_err(|e| {
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
    ctx.with_outcome(|o| o.phases.push(("upload".into(), took)));

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
            Ok(summary)
        }
        Err(e) => {
            // A lost answer: the retry is refused because the job already
            // started. A job someone stopped, or that failed, did not.
            match ctx.client.get_job(&plan.app_id, &plan.branch, job_id).await {
                Ok(job) if job_status(&job).is_some_and(has_started) => {
                    ctx.set_job(Some(OurJob {
                        id: job_id.to_owned(),
                        started: true,
                    }));
                    Ok(job.summary.unwrap_or_default())
                }
                Ok(job) if job_status(&job).is_some_and(is_terminal) => {
                    let status = job_status(&job).unwrap_or_default().to_owned();
                    ctx.set_job(None);
                    ctx.with_outcome(|o| o.status = Some(status.clone()));
                    Err(RunError::new(
                        ErrorClass::DeployFailed,
                        format!("job {job_id} did not start: it is {status}"),
                    )
                    .cause(ctx.explain(&e).message))
                }
                _ => Err(ctx.explain(&e)),
            }
        }
    }
}

/// StartDeployment from a URL (see [`start_job`]).
async fn start_from_url(
    ctx: &Arc<Ctx>,
    url: &str,
    kind: Option<&'static str>,
) -> Result<JobSummary, RunError> {
    let req = StartDeploymentInput {
        job_id: None,
        source_url: Some(url.to_owned()),
        source_url_type: kind.map(str::to_owned),
    };
    let Created::Url(summary) = start_job(ctx, Creating::Url(req)).await? else {
        return Err(RunError::aws(
            "StartDeployment answered as CreateDeployment",
        ));
    };
    ctx.with_outcome(|o| o.source_url = Some(http::redact_url(url)));
    Ok(summary)
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

/// Poll GetJob until the job ends, printing each status change. Transient
/// errors (after the client's own retries) do not fail the deploy.
async fn wait_for_job(ctx: &Ctx, job_id: &str) -> Result<Job, RunError> {
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

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
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

    #[test]
    fn cancelled_or_failed_is_never_started() {
        for status in ["RUNNING", "PROVISIONING", "SUCCEED", "DEPLOYING"] {
            assert!(has_started(status), "{status}");
        }
        for status in [
            "",
            "CREATED",
            "PENDING",
            "CANCELLING",
            "CANCELLED",
            "FAILED",
        ] {
            assert!(!has_started(status), "{status}");
        }
    }
}
