//! amplify-emulator: a local stand-in for the AWS Amplify Hosting
//! manual-deploy API, for tests and for trying `amplify-deploy` by hand.
//!
//! It speaks the real wire protocol (REST-JSON, SigV4, presigned S3-style
//! upload URLs, Amplify's error shapes), keeps apps, branches and jobs in
//! memory, runs jobs on a timer, and can be scripted to misbehave
//! ([`Fault`]). Each [`Emulator`] runs on its own thread and runtime, so a
//! test may block on a child process while the emulator keeps answering.

mod api;
mod control;
mod error;
mod fault;
mod operation;
mod request;
mod server;
mod sigv4;
mod site;
mod state;
mod upload;
mod zipcheck;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::Serialize;

pub use fault::{Fault, FaultAction};
pub use operation::{Operation, UnknownOperation, API_OPERATIONS};

/// Settings of one emulator.
#[derive(Clone, Debug)]
pub struct Config {
    /// The region requests must be signed for. Default `us-east-1`.
    pub region: String,
    /// Accepted credentials. Default: AWS's documentation example key.
    pub credentials: Vec<Credential>,
    /// Time a started job spends RUNNING before it ends. Default 300 ms.
    pub job_duration: Duration,
    /// `X-Amz-Expires` of upload URLs. Default 3 h, as Amplify's.
    pub upload_url_ttl: Duration,
    /// How far `x-amz-date` may be from the emulator's clock. Default 15 min.
    pub clock_skew_tolerance: Duration,
    /// Print one line per request, and the site URL of each successful
    /// deploy, on stdout (the binary turns this on). Default off.
    pub log_requests: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: "us-east-1".to_owned(),
            credentials: vec![Credential {
                access_key_id: "AKIDEXAMPLE".to_owned(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
                session_token: None,
            }],
            job_duration: Duration::from_millis(300),
            upload_url_ttl: Duration::from_secs(3 * 3600),
            clock_skew_tolerance: Duration::from_secs(15 * 60),
            log_requests: false,
        }
    }
}

/// An accepted credential. With a session token, requests must carry the
/// same `x-amz-security-token`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"******")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "******"),
            )
            .finish()
    }
}

/// Adds temporary credentials to a running emulator (cheap to clone, can
/// be moved into a fake STS). Requests signed with them are accepted until
/// they expire, then answered 403 `ExpiredTokenException`, as AWS does.
#[derive(Clone)]
pub struct SessionCredentials(Arc<Shared>);

impl SessionCredentials {
    pub fn add(&self, credential: Credential, expires: SystemTime) {
        self.0
            .session_credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((credential, expires));
    }
}

/// One job as the tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobRecord {
    pub job_id: String,
    pub status: String,
    pub source_url: Option<String>,
    pub status_reason: Option<String>,
}

/// One request the emulator received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// "CreateDeployment", …, "Upload", "Site", "StepLog", "Control", "Unknown".
    pub operation: String,
    pub method: String,
    /// The path without its query (still percent-encoded).
    pub path: String,
    /// The query string as received, if any (an upload URL's carries its
    /// signature: tests check it never reaches the client's output).
    pub query: Option<String>,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    /// The fault applied, by its `type` name ("drop", "status", …).
    pub fault: Option<String>,
    /// Lower-cased names, values as received (secrets included).
    pub headers: Vec<(String, String)>,
    /// Body bytes read.
    pub body_len: u64,
}

/// What every connection task shares.
pub(crate) struct Shared {
    pub region: String,
    pub credentials: Vec<Credential>,
    /// Temporary credentials added by tests (a fake STS), with their expiry.
    session_credentials: Mutex<Vec<(Credential, SystemTime)>>,
    pub clock_skew_tolerance: Duration,
    pub log_requests: bool,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// `127.0.0.1:PORT`, the Host upload URLs are signed for.
    pub host: String,
    pub signer: upload::presign::UploadSigner,
    pub runtime: tokio::runtime::Handle,
    state: Mutex<state::State>,
}

impl Shared {
    /// The account state. A panic elsewhere never locks the tests out.
    pub fn state(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The credentials accepted at `now`, and the access key ids of the
    /// session credentials that have expired by then.
    pub fn credentials_at(&self, now: SystemTime) -> (Vec<Credential>, Vec<String>) {
        let mut accepted = self.credentials.clone();
        let mut expired = Vec::new();
        let sessions = self
            .session_credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (credential, expires) in sessions.iter() {
            if now < *expires {
                accepted.push(credential.clone());
            } else {
                expired.push(credential.access_key_id.clone());
            }
        }
        (accepted, expired)
    }

    pub fn site_url(&self, app_id: &str, branch: &str) -> String {
        let display = state::display_name(branch);
        format!(
            "{}/__site/{}/{}/",
            self.endpoint,
            percent_encoding::utf8_percent_encode(app_id, upload::presign::UNRESERVED),
            percent_encoding::utf8_percent_encode(&display, upload::presign::UNRESERVED)
        )
    }

    /// Creates the app and branch if needed (set-up helpers are lenient).
    fn ensure_branch(&self, app_id: &str, branch: &str) {
        let mut state = self.state();
        if state.app(app_id).is_err() {
            state.create_app(app_id, "WEB");
        }
        if state.branch(app_id, branch).is_err() {
            let _ = state.create_branch(app_id, branch, None);
        }
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
        let shared = Arc::new(Shared {
            region: config.region.clone(),
            credentials: config.credentials.clone(),
            session_credentials: Mutex::new(Vec::new()),
            clock_skew_tolerance: config.clock_skew_tolerance,
            log_requests: config.log_requests,
            endpoint: format!("http://{host}"),
            host,
            signer: upload::presign::UploadSigner::new(),
            runtime: runtime.handle().clone(),
            state: Mutex::new(state::State::new(
                config.region,
                config.job_duration,
                config.upload_url_ttl,
            )),
        });
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

    /// The app's branch names, in creation order.
    pub fn branches(&self, app_id: &str) -> Vec<String> {
        let state = self.shared.state();
        state
            .app(app_id)
            .map(|app| app.branches.iter().map(|b| b.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Files of the branch's last successful zip deploy.
    pub fn deployed_files(&self, app_id: &str, branch: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        let state = self.shared.state();
        let files = state.branch(app_id, branch).ok()?.deployed.clone()?;
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

    #[test]
    fn credential_debug_hides_secrets() {
        let shown = format!("{:?}", Config::default().credentials[0]);
        assert!(shown.contains("AKIDEXAMPLE"));
        assert!(!shown.contains("EXAMPLEKEY"), "{shown}");
    }
}
