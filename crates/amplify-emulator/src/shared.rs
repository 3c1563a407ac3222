//! What every connection task, background job and the [`crate::Emulator`]
//! handle share: the service's settings, the accepted credentials (with the
//! session credentials a fake STS adds), the URL signer, the runtime jobs
//! run on, and the account state behind its one mutex.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::config::{Config, Credential};
use crate::presign::{UrlSigner, UNRESERVED};
use crate::state::{display_name, State};

/// What every connection task shares.
pub(crate) struct Shared {
    pub region: String,
    pub credentials: Vec<Credential>,
    /// Temporary credentials added by tests (a fake STS), with their expiry.
    session_credentials: Mutex<Vec<(Credential, SystemTime)>>,
    pub clock_skew_tolerance: Duration,
    pub log_requests: bool,
    /// Where `s3://` sources are read ([`Config::s3_endpoint`]).
    pub s3_endpoint: Option<String>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// `127.0.0.1:PORT`, the Host upload URLs are signed for.
    pub host: String,
    pub signer: UrlSigner,
    pub runtime: tokio::runtime::Handle,
    state: Mutex<State>,
}

impl Shared {
    /// The shared part of an emulator listening on `host` (`127.0.0.1:PORT`).
    pub fn new(config: Config, host: String, runtime: tokio::runtime::Handle) -> Shared {
        Shared {
            region: config.region.clone(),
            credentials: config.credentials,
            session_credentials: Mutex::new(Vec::new()),
            clock_skew_tolerance: config.clock_skew_tolerance,
            log_requests: config.log_requests,
            s3_endpoint: config.s3_endpoint,
            endpoint: format!("http://{host}"),
            host,
            signer: UrlSigner::new(),
            runtime,
            state: Mutex::new(State::new(
                config.region,
                config.job_duration,
                config.upload_url_ttl,
            )),
        }
    }

    /// Accepts `credential` until `expires` (a fake STS's session).
    pub fn add_session_credential(&self, credential: Credential, expires: SystemTime) {
        self.session_credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((credential, expires));
    }

    /// The account state. A panic elsewhere never locks the tests out.
    pub fn state(&self) -> MutexGuard<'_, State> {
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
        let display = display_name(branch);
        format!(
            "{}/__site/{}/{}/",
            self.endpoint,
            percent_encoding::utf8_percent_encode(app_id, UNRESERVED),
            percent_encoding::utf8_percent_encode(&display, UNRESERVED)
        )
    }

    /// Creates the app and branch if needed (set-up helpers are lenient).
    pub fn ensure_branch(&self, app_id: &str, branch: &str) {
        let mut state = self.state();
        if state.app(app_id).is_err() {
            state.create_app(app_id, "WEB");
        }
        if state.branch(app_id, branch).is_err() {
            let _ = state.create_branch(app_id, branch, None);
        }
    }
}
