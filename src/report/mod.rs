//! Progress for people: one line per event on stderr (stdout is kept for
//! `--json`), with GitHub Actions groups, masks and annotations when
//! running there; as much as the verbosity asks for, coloured when the
//! output settings say so (stderr only: files, outputs, the summary, JSON
//! and dotenv are written elsewhere and never coloured).

pub mod output;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use crate::choices::Verbosity;
use crate::ci::escape::log_line;
use crate::ci::github::GitHub;
use crate::error::RunError;
use crate::http::{CallTrace, CallTracer, RetryEvent, RetryObserver};
use output::{OutputSettings, ProgressMode};

/// Cheap to clone; all clones write to the same places.
#[derive(Clone)]
pub struct Reporter {
    github: Arc<GitHub>,
    output: OutputSettings,
    shared: Arc<Shared>,
}

/// What every clone shares: the group waiting for its first line, and
/// whether a live progress line is on the screen.
#[derive(Default)]
struct Shared {
    /// `Some(title)`: opened, not yet written (written with its first line,
    /// so that no group is empty). `None` inside: written.
    group: Mutex<Option<Option<String>>>,
    live: AtomicBool,
}

/// Tones of coloured words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Warn,
    Busy,
}

impl Tone {
    fn code(self) -> &'static str {
        match self {
            Tone::Good => "\x1b[32m",
            Tone::Bad => "\x1b[31m",
            Tone::Warn => "\x1b[33m",
            Tone::Busy => "\x1b[36m",
        }
    }
}

const RESET: &str = "\x1b[0m";
/// Back to the start of the line, and clear it (a live progress line).
pub(crate) const CLEAR_LINE: &str = "\r\x1b[2K";

/// Closes its group when dropped (however the step ends).
#[must_use]
pub struct GroupGuard(Reporter);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.0.end_group();
    }
}

impl Reporter {
    pub fn new(github: GitHub) -> Self {
        Reporter {
            github: Arc::new(github),
            output: OutputSettings {
                verbosity: Verbosity::Normal,
                color: false,
                progress: ProgressMode::Off,
            },
            shared: Arc::default(),
        }
    }

    /// The runner's variables through `get`. Workflow commands go to
    /// stderr: the runner reads them there too, and stdout stays clean for
    /// `--json`.
    pub fn from_env(get: impl Fn(&str) -> Option<std::ffi::OsString>) -> Self {
        Self::new(GitHub::from_lookup(get, Box::new(std::io::stderr())))
    }

    /// The same reporter printing as `output` says.
    pub fn with_output(mut self, output: OutputSettings) -> Self {
        self.output = output;
        self
    }

    pub fn github(&self) -> &GitHub {
        &self.github
    }

    pub fn verbosity(&self) -> Verbosity {
        self.output.verbosity
    }

    pub fn progress_mode(&self) -> ProgressMode {
        self.output.progress
    }

    /// Print one line (not with `--quiet`). `msg` may hold outside text
    /// (file names, service messages): it goes through [`log_line`], so it
    /// stays one line and cannot start a GitHub workflow command. Workflow
    /// commands themselves are written by [`GitHub`] only.
    pub fn line(&self, msg: impl AsRef<str>) {
        if self.output.verbosity > Verbosity::Quiet {
            self.print(&log_line(msg.as_ref()));
        }
    }

    /// A line for `-v` and more.
    pub fn verbose(&self, msg: impl AsRef<str>) {
        if self.output.verbosity >= Verbosity::Verbose {
            self.print(&log_line(msg.as_ref()));
        }
    }

    /// The run's final line: printed even with `--quiet`.
    pub fn result(&self, msg: impl AsRef<str>) {
        self.print(&log_line(msg.as_ref()));
    }

    /// `before`, then `word` in `tone`, then `after` (each made safe as
    /// [`Reporter::line`] does): a status word such as SUCCEED or FAILED.
    pub fn status_line(&self, before: &str, word: &str, tone: Tone, after: &str) {
        if self.output.verbosity == Verbosity::Quiet {
            return;
        }
        let word = self.paint(&log_line(word), tone);
        self.print(&format!("{}{word}{}", log_line(before), log_line(after)));
    }

    /// `text` in `tone` when colouring, else as it is.
    fn paint(&self, text: &str, tone: Tone) -> String {
        if self.output.color {
            format!("{}{text}{RESET}", tone.code())
        } else {
            text.to_owned()
        }
    }

    /// Write a line that is already safe: the pending group first, and over
    /// a live progress line.
    fn print(&self, safe: &str) {
        self.open_pending_group();
        let mut err = std::io::stderr().lock();
        if self.shared.live.swap(false, Ordering::SeqCst) {
            let _ = write!(err, "{CLEAR_LINE}");
        }
        let _ = writeln!(err, "{safe}");
    }

    /// Print a failed run's error, each line safe ([`RunError::lines`]), and
    /// its `::error` annotation (never coloured: a workflow command).
    pub fn error(&self, e: &RunError) {
        for (i, line) in e.lines().iter().enumerate() {
            match line.strip_prefix("error:") {
                Some(rest) if i == 0 => {
                    self.print(&format!("{}{rest}", self.paint("error:", Tone::Bad)))
                }
                _ => self.print(line),
            }
        }
        self.github.error("amplify-deploy", &annotation(e));
    }

    pub fn warning(&self, msg: &str) {
        if self.output.verbosity > Verbosity::Quiet {
            let text = log_line(&format!("warning: {msg}"));
            let rest = text.strip_prefix("warning:").unwrap_or(&text);
            self.print(&format!("{}{rest}", self.paint("warning:", Tone::Warn)));
        }
        self.github.warning("amplify-deploy", msg);
    }

    /// Open a group of the log; it is written with its first line (no
    /// empty groups), and closed by [`Reporter::end_group`].
    pub fn group(&self, title: &str) {
        if !self.github.is_active() {
            return;
        }
        *self.lock_group() = Some(Some(title.to_owned()));
    }

    /// [`Reporter::group`], closed when the guard is dropped.
    pub fn open_group(&self, title: &str) -> GroupGuard {
        self.group(title);
        GroupGuard(self.clone())
    }

    pub fn end_group(&self) {
        // Opened and never written (`Some(Some(_))`): nothing to close.
        if let Some(None) = self.lock_group().take() {
            self.github.end_group();
        }
    }

    fn lock_group(&self) -> std::sync::MutexGuard<'_, Option<Option<String>>> {
        self.shared.group.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open_pending_group(&self) {
        let mut group = self.lock_group();
        if let Some(pending) = group.as_mut() {
            if let Some(title) = pending.take() {
                self.github.group(&title);
            }
        }
    }

    /// Draw a live progress line (a terminal only): redrawn in place until
    /// the next line or [`Reporter::clear_live`].
    pub(crate) fn draw_live(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{CLEAR_LINE}{}", log_line(text));
        let _ = err.flush();
        self.shared.live.store(true, Ordering::SeqCst);
    }

    /// Take a live progress line off the screen.
    pub(crate) fn clear_live(&self) {
        if self.shared.live.swap(false, Ordering::SeqCst) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{CLEAR_LINE}");
            let _ = err.flush();
        }
    }

    /// Print a progress line (plain mode): inside the open group, like any line.
    pub(crate) fn progress_line(&self, text: &str) {
        self.line(text);
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

    /// With `-v`, every API call: "GetJob 200 in 12ms (request id …)";
    /// with `-vv` its headers too, secrets redacted. `None` otherwise.
    pub fn call_tracer(&self) -> Option<CallTracer> {
        if self.output.verbosity < Verbosity::Verbose {
            return None;
        }
        let me = self.clone();
        Some(Arc::new(move |t: &CallTrace| me.trace(t)))
    }

    fn trace(&self, t: &CallTrace) {
        self.verbose(t.describe());
        if self.output.verbosity >= Verbosity::Debug {
            for (name, value) in &t.request_headers {
                self.print(&log_line(&format!("  > {name}: {value}")));
            }
            for (name, value) in &t.response_headers {
                self.print(&log_line(&format!("  < {name}: {value}")));
            }
        }
    }
}

/// The annotation of an error: message, causes, hint, one per line (each
/// line is made safe by [`GitHub::error`]).
fn annotation(e: &RunError) -> String {
    let mut s = e.message.clone();
    for c in e.causes() {
        s.push('\n');
        s.push_str(&c);
    }
    if let Some(h) = &e.hint {
        s.push_str("\nhint: ");
        s.push_str(h);
    }
    s
}
