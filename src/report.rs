//! Progress for people: one line per event on stderr (stdout is kept for
//! `--json`), with GitHub Actions groups, masks and annotations when
//! running there.

use std::io::Write;
use std::sync::Arc;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use crate::ci::escape::log_line;
use crate::ci::github::GitHub;
use crate::error::RunError;
use crate::http::{RetryEvent, RetryObserver};

/// Cheap to clone; all clones write to the same places.
#[derive(Clone)]
pub struct Reporter {
    github: Arc<GitHub>,
    quiet: bool,
}

impl Reporter {
    pub fn new(github: GitHub) -> Self {
        Reporter {
            github: Arc::new(github),
            quiet: false,
        }
    }

    /// The runner's variables through `get`. Workflow commands go to
    /// stderr: the runner reads them there too, and stdout stays clean for
    /// `--json`.
    pub fn from_env(get: impl Fn(&str) -> Option<std::ffi::OsString>) -> Self {
        Self::new(GitHub::from_lookup(get, Box::new(std::io::stderr())))
    }

    pub fn github(&self) -> &GitHub {
        &self.github
    }

    /// Print one line. `msg` may hold outside text (file names, service
    /// messages): it goes through [`log_line`], so it stays one line and
    /// cannot start a GitHub workflow command. Workflow commands themselves
    /// are written by [`GitHub`] only.
    pub fn line(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            print_line(msg.as_ref());
        }
    }

    /// Print a failed run's error, each line safe ([`RunError::lines`]), and
    /// its `::error` annotation.
    pub fn error(&self, e: &RunError) {
        for line in e.lines() {
            print_line(&line);
        }
        self.github.error("amplify-deploy", &annotation(e));
    }

    pub fn warning(&self, msg: &str) {
        self.line(format!("warning: {msg}"));
        self.github.warning("amplify-deploy", msg);
    }

    pub fn group(&self, title: &str) {
        self.github.group(title);
    }

    pub fn end_group(&self) {
        self.github.end_group();
    }

    /// Mask the secret key and session token before anything could print
    /// them (GitHub replaces masked values in all later log output).
    pub async fn mask_credentials(&self, provider: &SharedCredentialsProvider) {
        if !self.github.is_active() {
            return;
        }
        if let Ok(creds) = provider.provide_credentials().await {
            self.github.mask(creds.secret_access_key());
            if let Some(token) = creds.session_token() {
                self.github.mask(token);
            }
        }
    }

    /// Mask a presigned URL's query (its signature) and the URL as a whole.
    pub fn mask_url(&self, url: &str) {
        if let Some((_, query)) = url.split_once('?') {
            self.github.mask(query);
            self.github.mask(url);
        }
    }

    /// Log every retry with its reason: "retrying CreateDeployment in 0.4s
    /// (attempt 2 of 7): HTTP 503 …".
    pub fn retry_observer(&self, max_attempts: usize) -> RetryObserver {
        let me = self.clone();
        Arc::new(move |e: &RetryEvent| {
            me.line(crate::error::one_line(&e.describe(max_attempts)));
        })
    }
}

fn print_line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", log_line(text));
}

/// The annotation of an error: message, causes, hint, one per line (each
/// line is made safe by [`GitHub::error`]).
fn annotation(e: &RunError) -> String {
    let mut s = e.message.clone();
    for c in &e.causes {
        s.push('\n');
        s.push_str(c);
    }
    if let Some(h) = &e.hint {
        s.push_str("\nhint: ");
        s.push_str(h);
    }
    s
}
