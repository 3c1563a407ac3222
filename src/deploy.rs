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
    let settings::Connection {
        client,
        region,
        http,
        retry,
        observer,
    } = settings::connect(&args.aws, &reporter).await?;
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
    let ctx = Arc::new(Ctx {
        client,
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
        _ = tokio::time::sleep(timeout) => Some(on_timeout(&ctx, timeout).await),
        signal = crate::signal::shutdown() => Some(on_signal(&ctx, signal).await),
    };
    let error = match error {
        Some(e) => Some(cleanup_after_failure(&ctx, e).await),
        None => None,
    };
    let outcome = lock(&ctx.state).outcome.clone();
    Ok(DeployResult { outcome, error })
}

/// A job that was created but never started would block the branch: stop it.
async fn cleanup_after_failure(ctx: &Ctx, err: RunError) -> RunError {
    let job = lock(&ctx.state).job.clone();
    if let Some(OurJob { id, started: false }) = job {
        if err.class != ErrorClass::Timeout && err.class != ErrorClass::Interrupted {
            ctx.reporter.line(format!(
                "stopping job {id}, which was created but not started"
            ));
            let _ = stop_quietly(ctx, &id).await;
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

async fn on_timeout(ctx: &Ctx, timeout: Duration) -> RunError {
    settle(ctx, Duration::from_secs(10)).await;
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
            match stop_quietly(ctx, &job.id).await {
                Ok(()) => err = err.cause(format!("stopped job {}", job.id)),
                Err(e) => err = err.cause(format!("could not stop job {}: {}", job.id, e.message)),
            }
            ctx.with_outcome(|o| o.status = Some("CANCELLED".into()));
        }
        None => {}
    }
    err.hint("raise --timeout, or look at the job in the Amplify console")
}

async fn on_signal(ctx: &Ctx, signal: &'static str) -> RunError {
    // The runner sends SIGTERM 7.5 s after SIGINT, then kills: be done before.
    let deadline = Instant::now() + Duration::from_millis(6500);
    settle(ctx, Duration::from_secs(3)).await;
    let job = lock(&ctx.state).job.clone();
    let mut err = RunError::new(ErrorClass::Interrupted, format!("interrupted by {signal}"));
    if let Some(job) = job {
        ctx.reporter
            .line(format!("{signal}: stopping job {}", job.id));
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stop_quietly(ctx, &job.id)).await {
            Ok(Ok(())) => {
                err = err.cause(format!("stopped job {}", job.id));
                ctx.with_outcome(|o| o.status = Some("CANCELLED".into()));
            }
            Ok(Err(e)) => err = err.cause(format!("could not stop job {}: {}", job.id, e.message)),
            Err(_) => err = err.cause(format!("could not stop job {} in time", job.id)),
        }
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
            log_url: s.log_url.clone(),
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
        if let Some(l) = &f.log_url {
            line.push_str(&format!(" (log: {})", http::redact_url(l)));
        }
        err = err.cause(line);
    }
    Err(err.hint(format!(
        "see {}",
        console_url(&ctx.region, &plan.app_id, &plan.branch)
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

/// CreateDeployment, recovering from a lost response: when the service
/// acted but its answer never arrived, the retry meets "the last job N was
/// not finished" for the job our own first attempt created. That job is
/// PENDING and newer than anything seen before: stop it and create again.
async fn create_deployment(ctx: &Arc<Ctx>) -> Result<(String, String), RunError> {
    let plan = &ctx.plan;
    for _ in 0..5 {
        let seen_max = clear_branch(ctx).await?;
        ctx.reporter.line(format!(
            "creating deployment on {}/{} ({})",
            plan.app_id, plan.branch, ctx.region
        ));
        let call = {
            let ctx = Arc::clone(ctx);
            async move {
                let plan = &ctx.plan;
                ctx.client
                    .create_deployment(&plan.app_id, &plan.branch)
                    .await
            }
        };
        match spawn_creating(ctx, false, call, |o| o.job_id.clone()).await? {
            Ok(out) => {
                // spawn_creating has recorded the job as ours.
                let Some(job_id) = out.job_id.clone().filter(|j| !j.is_empty()) else {
                    return Err(RunError::aws("CreateDeployment answered without a jobId"));
                };
                let Some(url) = out.zip_upload_url.clone().filter(|u| !u.is_empty()) else {
                    return Err(RunError::aws(
                        "CreateDeployment answered without a zipUploadUrl",
                    ));
                };
                ctx.reporter.mask_url(&url);
                return Ok((job_id, url));
            }
            Err(e) => match e.unfinished_job_id() {
                Some(n) if job_number(&n) > seen_max => {
                    let status = ctx
                        .client
                        .get_job(&plan.app_id, &plan.branch, &n)
                        .await
                        .ok();
                    if status.as_ref().and_then(job_status) == Some("PENDING") {
                        ctx.reporter.line(format!(
                            "CreateDeployment's answer was lost after it created job {n}: stopping that job and creating again"
                        ));
                        stop_quietly(ctx, &n).await?;
                    }
                }
                Some(_) => {} // another run's job: clear_branch deals with it
                None => return Err(ctx.explain(&e)),
            },
        }
    }
    Err(RunError::aws(format!(
        "could not create a deployment on {}/{}: the branch stayed busy",
        plan.app_id, plan.branch
    )))
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
            // A lost answer: the retry is refused because the job already started.
            match ctx.client.get_job(&plan.app_id, &plan.branch, job_id).await {
                Ok(job) if job_status(&job).is_some_and(|s| s != "PENDING" && s != "CREATED") => {
                    ctx.set_job(Some(OurJob {
                        id: job_id.to_owned(),
                        started: true,
                    }));
                    Ok(job.summary.unwrap_or_default())
                }
                _ => Err(ctx.explain(&e)),
            }
        }
    }
}

async fn start_from_url(
    ctx: &Arc<Ctx>,
    url: &str,
    kind: Option<&'static str>,
) -> Result<JobSummary, RunError> {
    let plan = &ctx.plan;
    let req = StartDeploymentInput {
        job_id: None,
        source_url: Some(url.to_owned()),
        source_url_type: kind.map(str::to_owned),
    };
    for _ in 0..5 {
        let seen_max = clear_branch(ctx).await?;
        ctx.reporter.line(format!(
            "starting deployment of {} on {}/{}",
            http::redact_url(url),
            plan.app_id,
            plan.branch
        ));
        let call = {
            let (ctx, req) = (Arc::clone(ctx), req.clone());
            async move {
                let plan = &ctx.plan;
                ctx.client
                    .start_deployment(&plan.app_id, &plan.branch, &req)
                    .await
            }
        };
        match spawn_creating(ctx, true, call, |s| s.job_id.clone()).await? {
            Ok(summary) => {
                // spawn_creating has recorded the job as ours.
                ctx.with_outcome(|o| o.source_url = Some(http::redact_url(url)));
                return Ok(summary);
            }
            Err(e) => match e.unfinished_job_id() {
                // Our own start whose answer was lost: adopt the job.
                Some(n) if job_number(&n) > seen_max => {
                    if let Ok(job) = ctx.client.get_job(&plan.app_id, &plan.branch, &n).await {
                        let summary = job.summary.clone().unwrap_or_default();
                        if summary.source_url.as_deref() == Some(url) {
                            ctx.set_job(Some(OurJob {
                                id: n.clone(),
                                started: true,
                            }));
                            ctx.with_outcome(|o| o.source_url = Some(http::redact_url(url)));
                            return Ok(summary);
                        }
                    }
                }
                Some(_) => {}
                None => return Err(ctx.explain(&e)),
            },
        }
    }
    Err(RunError::aws(format!(
        "could not start a deployment on {}/{}: the branch stayed busy",
        plan.app_id, plan.branch
    )))
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
