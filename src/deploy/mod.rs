//! The deploy pipeline, as `run` reads it. Its input is `DeploySettings`,
//! checked when settings were resolved.
//!
//! 1. **Read** what the decision needs, changing nothing: [`read`] (the
//!    app, the branch and its tags, its newest jobs), with [`packaging`]
//!    alongside (the zip; with `--skip-unchanged`, the tree's digest
//!    first).
//! 2. **Decide** ([`decide`]): deploy, superseded, skipped, busy, locked,
//!    or a dry run ([`dry_run`] prints it); a busy branch is waited for
//!    ([`busy`]) and the decision made again.
//! 3. **Act**, and only on a decision to deploy change anything, in order:
//!    [`undo`] (a rollback's record and lock), [`store`] (the package to
//!    S3), [`sync_rules`] (the app's redirects and rewrites), [`branch`]
//!    (created, or its settings applied; a preview's through the hooks),
//!    the hooks' GitHub deployment, [`start`] (our job, with lost-answer
//!    recovery), [`upload`] (the zip, then StartDeployment), [`wait`],
//!    [`failure`] (the verdict, and the failed step's log via
//!    [`steplog`]), [`stamp`] (provenance on the branch), [`verify`] (the
//!    live check). A skip applies only the branch settings the run asks
//!    for ([`skip`]).
//!
//! [`guard`] cuts the run short on timeout or signal, so that no run leaves
//! behind a job that blocks the branch.

mod branch;
mod busy;
mod decide;
mod dry_run;
mod failure;
mod guard;
mod packaging;
mod read;
mod skip;
mod stamp;
mod start;
mod steplog;
mod store;
mod sync_rules;
mod undo;
mod upload;
mod verify;
mod wait;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::amplify::{ApiError, Branch, Client, Job, JobStatus};
use crate::connection::{self, Connection};
use crate::error::{ErrorClass, RunError};
use crate::explain::{explain, Scope};
use crate::http::{RetryConfig, RetryObserver};
use crate::outcome::{console_url, Outcome, RunStatus};
use crate::package::TreeDigest;
use crate::report::Reporter;
use crate::settings::{BasicAuth, DeploySettings, Source};

use branch::ReadyBranch;
use decide::{Changes, Decision, Ours, Verdict};
use packaging::Packaged;
use read::Facts;

/// A future the hooks return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the command around the pipeline does once the run has decided to
/// deploy, and never before: GitHub's side of the deploy (a deployment in
/// progress, a pending commit status) and a preview's branch.
pub trait Hooks: Send {
    /// The branch is missing: make it when the hooks own its making (a
    /// preview: room under `--max-previews`, ownership tags, inherited
    /// basic auth). `None`: the pipeline creates it.
    fn create_branch<'a>(
        &'a mut self,
        client: &'a Client,
    ) -> BoxFuture<'a, Result<Option<MadeBranch>, RunError>>;
    /// The branch exists: renew what the hooks keep on it (a preview's
    /// expiry).
    fn renew_branch<'a>(&'a mut self, client: &'a Client, branch: &'a Branch) -> BoxFuture<'a, ()>;
    /// Our job is about to be created: report that it is deploying.
    fn deploying(&mut self) -> BoxFuture<'_, ()>;
}

/// A branch the hooks made.
pub struct MadeBranch {
    pub branch: Branch,
    /// Basic auth it was given that the run did not ask for (inherited).
    pub basic_auth: Option<BasicAuth>,
}

/// A job this run created or started, and whether it started.
#[derive(Debug, Clone)]
struct OurJob {
    id: String,
    started: bool,
}

/// What the timeout and signal guards must see, and the outcome reported
/// however the run ends.
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
    settings: DeploySettings,
    /// What is deployed (`settings.source`, which a deploy has).
    source: Source,
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
            app_id: &self.settings.app_id,
            branch: &self.settings.branch,
            region: &self.region,
        }
    }

    fn explain(&self, e: &ApiError) -> RunError {
        explain(e, &self.scope())
    }

    fn set_job(&self, job: Option<OurJob>) {
        lock(&self.state).job = job;
    }

    /// Record in the outcome, which is reported however the run ends (a
    /// timeout or a signal included).
    fn record(&self, f: impl FnOnce(&mut Outcome)) {
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

/// Run `deploy`, ending by `deadline` (`--timeout` from the command's
/// start). Input errors come back before anything touches the network;
/// other failures come back with whatever outcome was reached.
pub async fn deploy(
    s: &DeploySettings,
    reporter: Reporter,
    hooks: &mut dyn Hooks,
    deadline: Instant,
) -> Result<DeployResult, RunError> {
    let Some(source) = s.source.clone() else {
        return Err(RunError::input(
            "path is required: pass --path DIR (the build folder) or --source-url URL",
        ));
    };
    if let Some(auth) = &s.verify.basic_auth {
        reporter.github().mask(&auth.password);
        reporter.github().mask(&auth.encoded());
    }
    // --timeout bounds the whole run, getting credentials (OIDC, STS,
    // profiles, IMDS) included.
    let connecting =
        tokio::time::timeout_at(deadline.into(), connection::connect(&s.aws, &reporter));
    let connection = connecting.await.map_err(|_| {
        RunError::new(
            ErrorClass::Timeout,
            format!(
                "timed out after {} while getting AWS credentials",
                humantime::format_duration(s.timeout)
            ),
        )
        .hint("check that the OIDC token endpoint and STS (or your credential source) answer; raise --timeout")
    })??;
    let ctx = Arc::new(Ctx::new(s.clone(), source, connection, reporter, deadline)?);
    let timeout = ctx.settings.timeout;
    // The guards run in the scope that names the calls: a timeout says
    // which call got no answer.
    let error = crate::http::wire::naming_calls(async {
        tokio::select! {
            r = run(ctx.clone(), hooks) => r.err(),
            _ = tokio::time::sleep_until(deadline.into()) => Some(guard::on_timeout(&ctx, timeout).await),
            signal = crate::signal::shutdown() => Some(guard::on_signal(&ctx, signal).await),
        }
    })
    .await;
    let error = match error {
        Some(e) => Some(guard::cleanup_after_failure(&ctx, e, deadline).await),
        None => None,
    };
    let outcome = lock(&ctx.state).outcome.clone();
    Ok(DeployResult { outcome, error })
}

impl Ctx {
    fn new(
        plan: DeploySettings,
        source: Source,
        connection: Connection,
        reporter: Reporter,
        deadline: Instant,
    ) -> Result<Ctx, RunError> {
        let s3 = match &plan.store {
            Some(_) => Some(connection::store_client(
                plan.aws.s3_endpoint.as_ref(),
                &connection,
            )?),
            None => None,
        };
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
            outcome: Outcome {
                app_id: plan.app_id.to_string(),
                branch: plan.branch.to_string(),
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
        Ok(Ctx {
            client: client.with_retry(retry),
            settings: plan,
            source,
            region,
            reporter,
            state,
            http,
            retry,
            observer,
            creating: tokio::sync::watch::Sender::new(false),
            deadline,
            s3,
        })
    }
}

/// The deploy itself: read, decide, act.
async fn run(ctx: Arc<Ctx>, hooks: &mut dyn Hooks) -> Result<(), RunError> {
    let started = Instant::now();
    let (decision, facts, zip) = read_and_decide(&ctx).await?;
    match decision {
        Decision::Deploy { changes, note } => {
            if let Some(why) = note {
                ctx.reporter
                    .line(format!("skip-unchanged: {why}: deploying"));
            }
            let steps = Steps {
                facts: &facts,
                changes: &changes,
                zip,
                started,
            };
            deploy_steps(&ctx, hooks, steps).await
        }
        Decision::Skipped {
            live,
            sha256,
            changes,
        } => {
            skip::skipped(&ctx, &live, &sha256, &changes).await?;
            ctx.record(|o| {
                o.status = Some(RunStatus::Skipped);
                o.job_id = live.job_id.clone();
                o.job_arn = live.job_arn.clone();
            });
            Ok(())
        }
        Decision::DryRun(would) => {
            // A dry run packages, as it always has (a skip may have
            // decided on the tree's digest alone).
            package_if_needed(&ctx, zip).await?;
            if let Some(r) = &ctx.settings.rules {
                sync_rules::sync(&ctx, &r.rules, &r.from, true).await?;
            }
            ctx.record(|o| o.status = Some(RunStatus::DryRun));
            let outcome = lock(&ctx.state).outcome.clone();
            dry_run::show_dry_run(&ctx, &outcome, facts.branch.is_none(), &would);
            Ok(())
        }
        other => conclude(&ctx, &other),
    }
}

/// Read (packaging a folder alongside; with `--skip-unchanged`, only the
/// tree's digest) and decide; wait for a busy branch and decide again, or
/// package first when only the zip can tell.
async fn read_and_decide(ctx: &Ctx) -> Result<(Decision, Facts, Option<Packaged>), RunError> {
    let mut digest = None;
    let (mut facts, mut zip) = match &ctx.source {
        Source::Folder(opts) if ctx.settings.skip_unchanged => {
            let (tree, facts) = packaging::digest_and_read(ctx, opts.clone()).await?;
            digest = Some(tree);
            (facts, None)
        }
        Source::Folder(opts) => {
            let (zip, facts) = packaging::package_and_read(ctx, opts.clone()).await?;
            record_package(ctx, &zip);
            (facts, Some(zip))
        }
        Source::Url { .. } | Source::Stored { .. } => (read::read_grouped(ctx).await?, None),
    };
    record_site(ctx, &facts, None);
    loop {
        let ours = Ours {
            sha256: zip.as_ref().map(|z| z.sha256.as_str()),
            tree: digest.as_ref().map(|d| d.digest.as_str()),
        };
        match decide::decide(&ctx.settings, &facts, ours) {
            Verdict::Decided(d @ Decision::Skipped { .. }) if zip.is_none() => {
                record_skipped_tree(ctx, &facts, digest.as_ref());
                return Ok((d, facts, zip));
            }
            Verdict::Decided(d) => return Ok((d, facts, zip)),
            Verdict::WaitForBusy => {
                busy::clear_branch(ctx).await?;
                facts = read::read(ctx, &ctx.client).await?;
            }
            Verdict::NeedZip => {
                zip = package_if_needed(ctx, zip.take()).await?;
                if zip.is_none() {
                    return Err(RunError::aws("no package to compare"));
                }
            }
        }
    }
}

/// A run skipped by the tree's digest, never packaged: the package the
/// live job serves, as its provenance records it.
fn record_skipped_tree(ctx: &Ctx, facts: &Facts, digest: Option<&TreeDigest>) {
    let recorded = facts.provenance();
    let bytes = recorded
        .as_ref()
        .and_then(|p| p.bytes.as_deref()?.parse().ok());
    let sha256 = recorded.and_then(|p| p.sha256);
    if let (Some(d), Some(bytes), Some(sha256)) = (digest, bytes, sha256) {
        ctx.record(|o| {
            o.package = Some(crate::outcome::PackageFacts {
                file_count: d.file_count,
                bytes,
                sha256,
            });
            o.phases.push(("package".into(), d.elapsed));
        });
    }
}

/// The folder's zip: `zip` when it was packaged already, else packaged
/// now (a decision made on the tree's digest alone); `None` for a URL or
/// stored source.
async fn package_if_needed(ctx: &Ctx, zip: Option<Packaged>) -> Result<Option<Packaged>, RunError> {
    match (zip, &ctx.source) {
        (None, Source::Folder(opts)) => {
            let packaged = packaging::package(ctx, opts.clone()).await?;
            record_package(ctx, &packaged);
            Ok(Some(packaged))
        }
        (zip, _) => Ok(zip),
    }
}

fn record_package(ctx: &Ctx, zip: &Packaged) {
    ctx.record(|o| {
        o.package = Some(zip.facts.clone());
        o.phases.push(("package".into(), zip.took));
    });
}

/// The site's URLs, from what was read (or from the branch just made).
fn record_site(ctx: &Ctx, facts: &Facts, made: Option<&ReadyBranch>) {
    let site = made
        .and_then(|b| b.site.clone())
        .or_else(|| facts.site(&ctx.settings.branch));
    ctx.record(|o| {
        o.default_domain = facts.default_domain.clone();
        if let Some(site) = site {
            o.url = Some(site.url);
            o.urls = site.urls;
        }
    });
}

/// End a run that deploys nothing: superseded, locked, or busy.
fn conclude(ctx: &Ctx, decision: &Decision) -> Result<(), RunError> {
    let plan = &ctx.settings;
    match decision {
        Decision::Superseded(why) => {
            ctx.reporter.line(format!("superseded: {why}"));
            ctx.reporter.github().notice("Superseded", why);
            ctx.record(|o| o.status = Some(RunStatus::Superseded));
        }
        Decision::Locked(lock) => {
            let why = format!(
                "branch {} is locked {}: nothing deployed (--override-lock deploys anyway; `amplify-deploy unlock` releases it)",
                plan.branch,
                lock.describe()
            );
            ctx.reporter.warning(&why);
            ctx.record(|o| o.status = Some(RunStatus::Locked));
        }
        Decision::Busy { job_id, status } => {
            return Err(RunError::new(
                ErrorClass::DeployFailed,
                format!("branch {} is busy: job {job_id} is {status}", plan.branch),
            )
            .hint("use --on-busy wait (wait for it) or --on-busy stop (stop it)"))
        }
        _ => {}
    }
    Ok(())
}

/// What a decision to deploy acts with.
struct Steps<'a> {
    facts: &'a Facts,
    changes: &'a Changes,
    zip: Option<Packaged>,
    /// When the run began.
    started: Instant,
}

/// The decision is to deploy: the changes, in order, then our job, its
/// verdict, the provenance and the live check.
async fn deploy_steps(
    ctx: &Arc<Ctx>,
    hooks: &mut dyn Hooks,
    steps: Steps<'_>,
) -> Result<(), RunError> {
    let Steps {
        facts,
        changes,
        zip,
        started,
    } = steps;
    // Decided on the tree's digest alone: compress now.
    let zip = package_if_needed(ctx, zip).await?;
    let (branch, stored) = make_changes(ctx, hooks, facts, changes, zip.as_ref()).await?;
    let source = stored.as_ref().map(|s| s.source_url.as_str());
    let Some(job_id) = start_step(ctx, zip.as_ref(), source).await? else {
        return Ok(()); // decided again after a wait: not deploying
    };
    if !ctx.settings.wait {
        ctx.reporter.line("not waiting for the job (--no-wait)");
        let verify = verify::skip(ctx, "the run does not wait for the job (--no-wait)");
        ctx.record(|o| {
            o.status = Some(RunStatus::Started);
            o.verify = verify;
        });
        return Ok(());
    }
    wait_and_judge(ctx, &job_id, started).await?;
    after_success(ctx, facts, &branch, &job_id, zip).await
}

/// The changes a decision to deploy makes before our job, in order: the
/// rollback's record, the store, the app's rules, the branch, and (the
/// hooks) the GitHub deployment. Returns the branch and the stored package.
async fn make_changes(
    ctx: &Arc<Ctx>,
    hooks: &mut dyn Hooks,
    facts: &Facts,
    changes: &Changes,
    zip: Option<&Packaged>,
) -> Result<(ReadyBranch, Option<store::Stored>), RunError> {
    let plan = &ctx.settings;
    undo::record(ctx, facts).await?;
    // Stored first: a refused PutObject leaves the service untouched.
    let stored = match (&plan.store, zip) {
        (Some(store), Some(zip)) => Some(store::put(ctx, store, zip).await?),
        _ => None,
    };
    if let Some(stored) = &stored {
        ctx.record(|o| {
            o.artifact_url = Some(stored.artifact_url.clone());
            o.phases.extend(stored.took.map(|t| ("upload".into(), t)));
        });
    }
    if let Some(r) = &plan.rules {
        sync_rules::sync(ctx, &r.rules, &r.from, false).await?;
    }
    let branch = branch::ready(ctx, hooks, facts, changes).await?;
    record_site(ctx, facts, Some(&branch));
    hooks.deploying().await;
    Ok((branch, stored))
}

/// Wait for our job and record its verdict; an error unless it succeeded.
async fn wait_and_judge(ctx: &Arc<Ctx>, job_id: &str, started: Instant) -> Result<(), RunError> {
    let group = ctx
        .reporter
        .open_group(&format!("Waiting for job {job_id}"));
    let wait_started = Instant::now();
    let job = wait::wait_for_job(ctx, job_id).await;
    drop(group);
    let judged = failure::judge(ctx, &job?, job_id, started).await;
    ctx.record(|o| {
        o.status = Some(judged.status.clone().into());
        o.phases.push(("wait".into(), wait_started.elapsed()));
        o.phases.push(("total".into(), started.elapsed()));
        o.failures = judged.failures.clone();
    });
    judged.error.map_or(Ok(()), Err)
}

/// Our job succeeded: skew protection for a new app's branch, provenance,
/// and the live check.
async fn after_success(
    ctx: &Arc<Ctx>,
    facts: &Facts,
    branch: &ReadyBranch,
    job_id: &str,
    zip: Option<Packaged>,
) -> Result<(), RunError> {
    if branch.protect_after_deploy {
        let when = ": this first deployment is not protected (Amplify enables skew protection once the app has one); the next ones are";
        branch::set_skew_protection(ctx, true, when).await;
    }
    stamp::stamp(ctx, job_id, branch.arn.as_deref(), zip.as_ref()).await;
    let expected = match &ctx.source {
        Source::Stored { page, .. } => page.clone(),
        _ => zip.and_then(|z| z.kept),
    };
    let site = branch
        .site
        .clone()
        .or_else(|| facts.site(&ctx.settings.branch));
    let checked = verify::live_check(ctx, ctx.deadline, (branch, site.as_ref()), expected).await;
    ctx.record(|o| o.verify = checked.facts);
    checked.error.map_or(Ok(()), Err)
}

/// Start our job: create it, upload the zip and start it (a folder), or
/// start it from the URL (`stored`: the package in the artifact store).
/// Returns its id; `None` when, after waiting for a busy branch, the run
/// decided not to deploy after all.
async fn start_step(
    ctx: &Arc<Ctx>,
    zip: Option<&Packaged>,
    stored: Option<&str>,
) -> Result<Option<String>, RunError> {
    let deploy_started = Instant::now();
    let (summary, upload) = match (&ctx.source, zip, stored) {
        (Source::Folder(_), Some(_), Some(url)) => {
            let Some(store) = &ctx.settings.store else {
                return Err(RunError::aws("a stored package without a store"));
            };
            match store::start(ctx, store, url).await? {
                Some(summary) => (summary, None),
                None => return Ok(None),
            }
        }
        (Source::Folder(_), Some(zip), None) => {
            // Closed however the step ends, an error included.
            let _group = ctx.reporter.open_group("Uploading");
            let Some((job_id, url)) = start::create_deployment(ctx).await? else {
                return Ok(None);
            };
            let (summary, took) = upload::upload_and_start(ctx, &job_id, &url, &zip.path).await?;
            (summary, Some(took))
        }
        (Source::Url { url, kind }, _, _) => {
            let kind = kind.map(|k| k.as_str());
            let Some(summary) = start::start_from_url(ctx, url, kind).await? else {
                return Ok(None);
            };
            let shown = crate::http::redact_url(url);
            ctx.record(|o| o.source_url = Some(shown));
            (summary, None)
        }
        (Source::Stored { url, .. }, _, _) => {
            let Some(summary) = start::start_from_url(ctx, url, Some("ZIP")).await? else {
                return Ok(None);
            };
            let shown = crate::http::redact_url(url);
            ctx.record(|o| o.source_url = Some(shown));
            (summary, None)
        }
        (Source::Folder(_), None, _) => {
            return Err(RunError::aws("a folder source was not packaged"))
        }
    };
    let job_id = summary.job_id.clone().unwrap_or_default();
    ctx.record(|o| {
        o.job_id = Some(job_id.clone());
        o.job_arn = summary.job_arn.clone();
        o.status = Some(summary.status.clone().unwrap_or(JobStatus::Running).into());
        o.phases.extend(upload.map(|t| ("upload".into(), t)));
        o.phases.push(("start".into(), deploy_started.elapsed()));
    });
    ctx.reporter.line(format!("started job {job_id}"));
    Ok(Some(job_id))
}
