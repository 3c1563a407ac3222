//! amplify-emulator: a local stand-in for the AWS Amplify Hosting
//! manual-deploy API, for tests and for trying `amplify-deploy` by hand.
//!
//! It speaks the real wire protocol (REST-JSON, SigV4, presigned S3-style
//! upload URLs, Amplify's error shapes), keeps apps, branches and jobs in
//! memory, runs jobs on a timer, and can be scripted to misbehave
//! ([`Fault`]). Each [`Emulator`] runs on its own thread and runtime, so a
//! test may block on a child process while the emulator keeps answering.
//!
//! Layout, from the wire inwards: `server` accepts and routes; `request`
//! is one request's life (log entry, body, faults that answer first); the
//! handlers are `api/` (the Amplify operations, their JSON in
//! `api/render`), `upload/` (presigned URLs and the S3-style upload),
//! `site` (deployed files and step logs) and `control`. They share
//! `shared::Shared`; `state` is the account and its rules; `fault` and
//! `operation` are the scripted faults and the names they match.

mod api;
mod config;
mod control;
mod error;
mod fault;
mod headers;
mod operation;
mod presign;
mod record;
mod request;
mod rules;
mod server;
mod shared;
mod sigv4;
mod site;
mod state;
mod upload;
mod zipcheck;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use config::{Config, Credential};
pub use fault::{Fault, FaultAction};
pub use operation::{Operation, UnknownOperation, API_OPERATIONS};
pub use record::{JobRecord, RequestRecord};
pub use rules::CustomRule;

// `site` names it from the crate root.
pub(crate) use shared::Shared;

/// Adds temporary credentials to a running emulator (cheap to clone, can
/// be moved into a fake STS). Requests signed with them are accepted until
/// they expire, then answered 403 `ExpiredTokenException`, as AWS does.
#[derive(Clone)]
pub struct SessionCredentials(Arc<Shared>);

impl SessionCredentials {
    pub fn add(&self, credential: Credential, expires: SystemTime) {
        self.0.add_session_credential(credential, expires);
    }
}

/// A running emulator. Dropping it stops the server; [`Emulator::shutdown`]
/// also waits for it.
pub struct Emulator {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Emulator {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start(config: Config) -> anyhow::Result<Emulator> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on `addr`.
    pub async fn start_on(config: Config, addr: SocketAddr) -> anyhow::Result<Emulator> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("amplify-emulator")
            .enable_all()
            .build()?;
        let host = local.to_string();
        let shared = Arc::new(Shared::new(config, host, runtime.handle().clone()));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let server_shared = shared.clone();
        std::thread::Builder::new()
            .name(format!("amplify-emulator-{}", local.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(()));
                            server::serve(server_shared, listener, stop_rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                // Background job timers die with the runtime.
                runtime.shutdown_background();
                let _ = stopped_tx.send(());
            })?;
        ready_rx
            .await
            .map_err(|_| anyhow::anyhow!("emulator thread ended before it was ready"))??;
        Ok(Emulator {
            shared,
            stop: Some(stop_tx),
            stopped: Some(stopped_rx),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn endpoint(&self) -> String {
        self.shared.endpoint.clone()
    }

    /// Creates an app (or changes an existing app's platform): "WEB" or
    /// "WEB_COMPUTE". Its default domain is `{app_id}.amplifyapp.com`.
    pub fn create_app(&self, app_id: &str, platform: &str) {
        self.shared.state().create_app(app_id, platform);
    }

    /// Creates a PRODUCTION branch, and its app (WEB) if missing. An existing
    /// branch is left alone; beyond Amplify's 50 branches nothing is created.
    pub fn create_branch(&self, app_id: &str, branch: &str) {
        self.shared.ensure_branch(app_id, branch);
    }

    /// A handle to add temporary credentials, as a fake STS issues them.
    pub fn session_credentials(&self) -> SessionCredentials {
        SessionCredentials(self.shared.clone())
    }

    /// Queues a fault; the first queued fault that applies to a request is used.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.state().faults.push(fault);
    }

    /// How long jobs started from now on stay RUNNING.
    pub fn set_job_duration(&self, duration: Duration) {
        self.shared.state().job_duration = duration;
    }

    /// Sets the branch's custom domains (creating the app and branch if
    /// needed): GetBranch returns them and the site answers to them.
    pub fn set_custom_domains(&self, app_id: &str, branch: &str, domains: &[&str]) {
        self.shared.ensure_branch(app_id, branch);
        if let Ok(b) = self.shared.state().branch_mut(app_id, branch) {
            b.custom_domains = domains.iter().map(|d| (*d).to_owned()).collect();
        }
    }

    /// Sets the branch's basic auth credentials (base64 of `user:password`),
    /// as the console would; `None` turns basic auth off.
    pub fn set_basic_auth(&self, app_id: &str, branch: &str, credentials: Option<&str>) {
        self.shared.ensure_branch(app_id, branch);
        if let Ok(b) = self.shared.state().branch_mut(app_id, branch) {
            b.basic_auth = credentials.map(str::to_owned);
        }
    }

    /// The branch's basic auth credentials (base64), if it has basic auth.
    pub fn basic_auth(&self, app_id: &str, branch: &str) -> Option<String> {
        let state = self.shared.state();
        state.branch(app_id, branch).ok()?.basic_auth.clone()
    }

    /// Turns the branch's skew protection on or off (creating the app and
    /// branch if needed), as the console would: deployments that end
    /// while it is on are served to the clients pinned to them.
    pub fn set_skew_protection(&self, app_id: &str, branch: &str, on: bool) {
        self.shared.ensure_branch(app_id, branch);
        if let Ok(b) = self.shared.state().branch_mut(app_id, branch) {
            b.set_skew_protection(on);
        }
    }

    /// Whether the branch has skew protection on (false for an unknown branch).
    pub fn skew_protection(&self, app_id: &str, branch: &str) -> bool {
        let state = self.shared.state();
        state
            .branch(app_id, branch)
            .is_ok_and(|b| b.skew_protection.is_some())
    }

    /// How long sites keep serving their previous content after a deploy
    /// from now on (`Duration::MAX`: they never update).
    pub fn set_site_lag(&self, lag: Duration) {
        self.shared.state().site_lag = lag;
    }

    /// `X-Amz-Expires` of upload URLs returned from now on.
    pub fn set_upload_url_ttl(&self, ttl: Duration) {
        self.shared.state().upload_url_ttl = ttl;
    }

    /// Adds a job in any status (e.g. an orphaned PENDING one) and returns
    /// its id. Creates the app and branch if needed.
    pub fn insert_job(&self, app_id: &str, branch: &str, status: &str) -> String {
        self.shared.ensure_branch(app_id, branch);
        self.shared
            .state()
            .insert_job(app_id, branch, status)
            .unwrap_or_default()
    }

    /// Stops a job as StopJob does (someone else stopping it, in a test):
    /// PENDING ends CANCELLED at once, RUNNING goes through CANCELLING.
    pub fn stop_job(&self, app_id: &str, branch: &str, job_id: &str) -> anyhow::Result<()> {
        let (job, needs_task) = self
            .shared
            .state()
            .stop_job(app_id, branch, job_id)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        if needs_task {
            api::finish_cancel_later(&self.shared, job.serial);
        }
        Ok(())
    }

    /// The branch's jobs, oldest first (empty for an unknown branch).
    pub fn jobs(&self, app_id: &str, branch: &str) -> Vec<JobRecord> {
        let state = self.shared.state();
        let Ok(branch) = state.branch(app_id, branch) else {
            return Vec::new();
        };
        branch
            .jobs
            .iter()
            .map(|job| JobRecord {
                job_id: job.job_id.clone(),
                status: job.status.clone(),
                source_url: job.source_url.clone(),
                status_reason: job.status_reason.clone(),
            })
            .collect()
    }

    /// Tags the branch as TagResource does (another run, in a test).
    pub fn tag_branch(&self, app_id: &str, branch: &str, tags: BTreeMap<String, String>) {
        if let Ok(b) = self.shared.state().branch_mut(app_id, branch) {
            b.tags.extend(tags);
        }
    }

    /// Sets the branch's stage (creating the app and branch if needed), as
    /// the console would: e.g. a preview made by an older version.
    pub fn set_stage(&self, app_id: &str, branch: &str, stage: &str) {
        self.shared.ensure_branch(app_id, branch);
        if let Ok(b) = self.shared.state().branch_mut(app_id, branch) {
            b.stage = stage.to_owned();
        }
    }

    /// Moves the branch's creation and its jobs' times `by` into the past
    /// (a branch made, and last deployed, that long ago).
    pub fn age_branch(&self, app_id: &str, branch: &str, by: Duration) {
        let back = |t: &mut std::time::SystemTime| {
            *t = t.checked_sub(by).unwrap_or(std::time::UNIX_EPOCH);
        };
        if let Ok(b) = self.shared.state().branch_mut(app_id, branch) {
            back(&mut b.create_time);
            for job in &mut b.jobs {
                back(&mut job.commit_time);
                back(&mut job.start_time);
                if let Some(end) = &mut job.end_time {
                    back(end);
                }
            }
        }
    }

    /// Ends a job inserted with [`Emulator::insert_job`] in `status` (e.g.
    /// SUCCEED: another tool's deploy going live).
    pub fn end_job(&self, app_id: &str, branch: &str, job_id: &str, status: &str) {
        let mut state = self.shared.state();
        if let Ok(b) = state.branch_mut(app_id, branch) {
            if let Some(job) = b.jobs.iter_mut().find(|j| j.job_id == job_id) {
                job.status = status.to_owned();
                job.end_time = Some(std::time::SystemTime::now());
            }
        }
    }

    /// The branch's tags (empty for an unknown branch).
    pub fn tags(&self, app_id: &str, branch: &str) -> BTreeMap<String, String> {
        let state = self.shared.state();
        state
            .branch(app_id, branch)
            .map(|b| b.tags.clone())
            .unwrap_or_default()
    }

    /// The app's branch names, in creation order.
    pub fn branches(&self, app_id: &str) -> Vec<String> {
        let state = self.shared.state();
        state
            .app(app_id)
            .map(|app| app.branches.iter().map(|b| b.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Sets the app's `customRules` as the console would (no checks),
    /// creating the app (WEB) if needed.
    pub fn set_custom_rules(&self, app_id: &str, rules: Vec<CustomRule>) {
        let mut state = self.shared.state();
        if state.app(app_id).is_err() {
            state.create_app(app_id, "WEB");
        }
        if let Ok(app) = state.app_mut(app_id) {
            app.custom_rules = rules;
        }
    }

    /// The app's `customRules`, in order (empty for an unknown app).
    pub fn custom_rules(&self, app_id: &str) -> Vec<CustomRule> {
        let state = self.shared.state();
        state
            .app(app_id)
            .map(|app| app.custom_rules.clone())
            .unwrap_or_default()
    }

    /// The app's `customHeaders` YAML, if set.
    pub fn custom_headers(&self, app_id: &str) -> Option<String> {
        let state = self.shared.state();
        state.app(app_id).ok()?.custom_headers.clone()
    }

    /// Files of the branch's live job (its newest SUCCEED one).
    pub fn deployed_files(&self, app_id: &str, branch: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        let state = self.shared.state();
        let files = state.branch(app_id, branch).ok()?.deployed()?;
        Some((*files).clone())
    }

    /// Every request so far, in the order they completed.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.state().requests.clone()
    }

    /// `{endpoint}/__site/{app}/{branch display name}/`.
    pub fn site_url(&self, app_id: &str, branch: &str) -> String {
        self.shared.site_url(app_id, branch)
    }

    /// Stops the server and waits until it has stopped.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_can_be_shared_across_tasks() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<Emulator>();
        shareable::<Fault>();
        shareable::<RequestRecord>();
    }

    #[tokio::test]
    async fn shutdown_stops_answering() {
        let emulator = Emulator::start(Config::default()).await.expect("starts");
        let addr = emulator.endpoint().trim_start_matches("http://").to_owned();
        assert!(tokio::net::TcpStream::connect(&addr).await.is_ok());
        emulator.shutdown().await;
        assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
    }
}
