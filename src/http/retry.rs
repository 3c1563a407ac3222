//! One retry loop for every remote call: the Amplify API and the upload.
//!
//! The caller says what may be retried (a classifier); this module decides
//! when to stop (attempt count and total time budget) and how long to wait
//! (backoff, or the server's `Retry-After`). Modelled on object_store's
//! `src/client/retry.rs`.
//!
//! Two kinds of failure are retried, each with its own budget:
//! - transient ones ([`RetryDecision::Retry`]: connection errors, timeouts,
//!   throttling, 5xx): at most `max_retries` more attempts within
//!   `retry_timeout`;
//! - a quota that clears on its own when other work ends
//!   ([`RetryDecision::Wait`], e.g. a service's "too many concurrent jobs"):
//!   retried with the same backoff for up to `quota_wait`, counted from the
//!   first such answer, however many attempts that takes. Time spent
//!   waiting for a quota does not use up the transient budget.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backoff::{Backoff, BackoffConfig};

/// How often and for how long a call is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// Retries after the first attempt, so at most `max_retries + 1`
    /// attempts. Default 6.
    pub max_retries: usize,
    /// Total time budget for one call, waits included: no retry starts if
    /// its wait would end past it. Default 120 s.
    pub retry_timeout: Duration,
    /// The waits between attempts.
    pub backoff: BackoffConfig,
    /// Time limit of one attempt. Default 60 s. The upload derives its own
    /// from the file size.
    pub request_timeout: Duration,
    /// How long a call may wait for a quota to clear (the classifier says
    /// [`RetryDecision::Wait`]), from the first such answer. Default 10
    /// minutes: longer than `retry_timeout`, since a quota on concurrent
    /// work clears only when that work ends.
    pub quota_wait: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 6,
            retry_timeout: Duration::from_secs(120),
            backoff: BackoffConfig::default(),
            request_timeout: Duration::from_secs(60),
            quota_wait: Duration::from_secs(600),
        }
    }
}

/// What a classifier says about a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again; `reason` is shown to the user, `after` is the server's
    /// `Retry-After` (used instead of the backoff when present).
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Wait for a quota to clear, then try again, within `quota_wait`;
    /// `reason` says which quota, `after` as for `Retry`.
    Wait {
        reason: String,
        after: Option<Duration>,
    },
    /// Give up and return this error.
    Fail,
}

/// Reported before each wait, so the caller can log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryEvent {
    /// The call being retried, e.g. "CreateDeployment" or "upload".
    pub what: String,
    /// The attempt about to be made, counting from 1 (the first retry is
    /// attempt 2; at most `max_retries + 1`).
    pub attempt: usize,
    /// Why the previous attempt failed.
    pub reason: String,
    /// How long we wait before the attempt.
    pub wait: Duration,
    /// For a quota wait ([`RetryDecision::Wait`]): how much of `quota_wait`
    /// is left after this wait. `None` for a transient failure.
    pub quota_left: Option<Duration>,
}

impl RetryEvent {
    /// The line a log shows for this event; `max_attempts` is the most
    /// attempts a transient failure gets.
    pub fn describe(&self, max_attempts: usize) -> String {
        let wait = humantime::format_duration(round_to_secs(self.wait));
        match self.quota_left {
            Some(left) => format!(
                "{}: waiting {wait}, up to {} more for it to clear",
                self.reason,
                humantime::format_duration(round_to_secs(left))
            ),
            None => format!(
                "retrying {} in {:.1}s (attempt {} of {max_attempts}): {}",
                self.what,
                self.wait.as_secs_f64(),
                self.attempt,
                self.reason
            ),
        }
    }
}

/// Whole seconds (at least 1 s for a non-zero wait), for reading.
fn round_to_secs(d: Duration) -> Duration {
    let secs = d.as_secs_f64().round() as u64;
    Duration::from_secs(if secs == 0 && !d.is_zero() { 1 } else { secs })
}

/// Receives every [`RetryEvent`].
pub type RetryObserver = Arc<dyn Fn(&RetryEvent) + Send + Sync>;

/// An observer that ignores events.
pub fn silent_observer() -> RetryObserver {
    Arc::new(|_| {})
}

/// Run `attempt` until it succeeds, `classify` says Fail, max_retries is
/// reached or retry_timeout would be exceeded. Returns the last error.
pub async fn retry<T, E, F, Fut>(
    cfg: &RetryConfig,
    what: &str,
    observer: &RetryObserver,
    classify: impl Fn(&E) -> RetryDecision,
    attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_with_backoff(
        cfg,
        Backoff::new(&cfg.backoff),
        what,
        observer,
        classify,
        attempt,
    )
    .await
}

/// [`retry`] with a caller-supplied [`Backoff`] (a seeded one in tests).
pub async fn retry_with_backoff<T, E, F, Fut>(
    cfg: &RetryConfig,
    mut backoff: Backoff,
    what: &str,
    observer: &RetryObserver,
    classify: impl Fn(&E) -> RetryDecision,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    // When the transient budget started; moved forward by every quota
    // wait, so that waiting for a quota does not use it up.
    let mut transient_start = Instant::now();
    let mut retries = 0;
    let mut quota_start: Option<Instant> = None;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let (reason, after, quota) = match classify(&error) {
            RetryDecision::Fail => return Err(error),
            RetryDecision::Retry { reason, after } => (reason, after, false),
            RetryDecision::Wait { reason, after } => (reason, after, true),
        };
        let drawn = backoff.next_wait();
        let wait = after.unwrap_or(drawn);
        let (wait, quota_left) = if quota {
            // The last attempt is made when the budget ends, not before.
            let waited = quota_start.get_or_insert_with(Instant::now).elapsed();
            let Some(left) = cfg.quota_wait.checked_sub(waited).filter(|l| !l.is_zero()) else {
                return Err(error);
            };
            let wait = wait.min(left);
            transient_start += wait;
            (wait, Some(left - wait))
        } else {
            if retries >= cfg.max_retries
                || transient_start.elapsed().saturating_add(wait) > cfg.retry_timeout
            {
                return Err(error);
            }
            retries += 1;
            (wait, None)
        };
        observer(&RetryEvent {
            what: what.to_string(),
            attempt: retries + 1,
            reason,
            wait,
            quota_left,
        });
        tokio::time::sleep(wait).await;
    }
}

/// Parse a `Retry-After` header given in seconds (the form AWS and S3 use;
/// an HTTP date is ignored and the backoff applies).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    fn fast() -> RetryConfig {
        RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(10),
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
                base: 2.0,
            },
            request_timeout: Duration::from_secs(1),
            quota_wait: Duration::from_millis(300),
        }
    }

    #[derive(Debug, PartialEq)]
    enum E {
        Transient(u32),
        Quota(u32),
        Fatal,
    }

    fn classify(e: &E) -> RetryDecision {
        match e {
            E::Transient(n) => RetryDecision::Retry {
                reason: format!("transient {n}"),
                after: None,
            },
            E::Quota(n) => RetryDecision::Wait {
                reason: format!("quota {n}"),
                after: None,
            },
            E::Fatal => RetryDecision::Fail,
        }
    }

    fn recording() -> (RetryObserver, Arc<Mutex<Vec<RetryEvent>>>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let observer: RetryObserver = Arc::new(move |e: &RetryEvent| {
            sink.lock().expect("observer lock").push(e.clone());
        });
        (observer, events)
    }

    #[tokio::test]
    async fn succeeds_after_transient_failures() {
        let calls = AtomicUsize::new(0);
        let (observer, events) = recording();
        let result: Result<&str, E> = retry(&fast(), "op", &observer, classify, || {
            let n = calls.fetch_add(1, Ordering::SeqCst) as u32;
            async move {
                if n < 2 {
                    Err(E::Transient(n))
                } else {
                    Ok("done")
                }
            }
        })
        .await;
        assert_eq!(result, Ok("done"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let events = events.lock().expect("lock");
        let attempts: Vec<usize> = events.iter().map(|e| e.attempt).collect();
        assert_eq!(attempts, vec![2, 3]);
        assert_eq!(events[0].reason, "transient 0");
        assert_eq!(events[1].what, "op");
    }

    #[tokio::test]
    async fn fail_is_not_retried() {
        let calls = AtomicUsize::new(0);
        let (observer, events) = recording();
        let result: Result<(), E> = retry(&fast(), "op", &observer, classify, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(E::Fatal) }
        })
        .await;
        assert_eq!(result, Err(E::Fatal));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(events.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn stops_after_max_retries_with_last_error() {
        let calls = AtomicUsize::new(0);
        let (observer, _) = recording();
        let result: Result<(), E> = retry(&fast(), "op", &observer, classify, || {
            let n = calls.fetch_add(1, Ordering::SeqCst) as u32;
            async move { Err(E::Transient(n)) }
        })
        .await;
        assert_eq!(result, Err(E::Transient(3)));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn retry_after_is_honoured_and_bounded_by_timeout() {
        let cfg = RetryConfig {
            retry_timeout: Duration::from_millis(500),
            ..fast()
        };
        let calls = AtomicUsize::new(0);
        let (observer, events) = recording();
        let classify_after = |_: &E| RetryDecision::Retry {
            reason: "slow down".into(),
            after: Some(Duration::from_millis(300)),
        };
        let started = Instant::now();
        let result: Result<(), E> = retry(&cfg, "op", &observer, classify_after, || {
            let n = calls.fetch_add(1, Ordering::SeqCst) as u32;
            async move { Err(E::Transient(n)) }
        })
        .await;
        // 300 ms fits in the 500 ms budget once, not twice.
        assert_eq!(result, Err(E::Transient(1)));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let events = events.lock().expect("lock");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].wait, Duration::from_millis(300));
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn zero_retries_means_one_attempt() {
        let cfg = RetryConfig {
            max_retries: 0,
            ..fast()
        };
        let calls = AtomicUsize::new(0);
        let result: Result<(), E> = retry(&cfg, "op", &silent_observer(), classify, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(E::Transient(0)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_quota_is_waited_for_beyond_max_retries() {
        // max_retries is 3; ten quota answers are still waited through.
        let calls = AtomicUsize::new(0);
        let (observer, events) = recording();
        let cfg = RetryConfig {
            quota_wait: Duration::from_secs(5),
            ..fast()
        };
        let result: Result<&str, E> = retry(&cfg, "op", &observer, classify, || {
            let n = calls.fetch_add(1, Ordering::SeqCst) as u32;
            async move {
                match n {
                    0..=9 => Err(E::Quota(n)),
                    10 | 11 => Err(E::Transient(n)),
                    _ => Ok("done"),
                }
            }
        })
        .await;
        assert_eq!(result, Ok("done"));
        assert_eq!(calls.load(Ordering::SeqCst), 13);
        let events = events.lock().expect("lock");
        assert!(events[..10].iter().all(|e| e.quota_left.is_some()));
        assert!(events[10..].iter().all(|e| e.quota_left.is_none()));
        // The quota waits left the transient count alone.
        assert_eq!(events[11].attempt, 3);
    }

    #[tokio::test]
    async fn a_quota_wait_gives_up_after_its_budget() {
        let calls = AtomicUsize::new(0);
        let (observer, events) = recording();
        let started = Instant::now();
        let result: Result<(), E> = retry(&fast(), "op", &observer, classify, || {
            let n = calls.fetch_add(1, Ordering::SeqCst) as u32;
            async move { Err(E::Quota(n)) }
        })
        .await;
        assert!(matches!(result, Err(E::Quota(_))));
        let elapsed = started.elapsed();
        // fast() has quota_wait 300 ms and waits of 1–5 ms.
        assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        let events = events.lock().expect("lock");
        assert!(events.len() > 10, "{}", events.len());
        let lefts: Vec<Duration> = events.iter().filter_map(|e| e.quota_left).collect();
        assert!(lefts.windows(2).all(|w| w[0] >= w[1]), "{lefts:?}");
    }

    #[test]
    fn events_describe_themselves() {
        let transient = RetryEvent {
            what: "GetJob".into(),
            attempt: 2,
            reason: "HTTP 503".into(),
            wait: Duration::from_millis(1500),
            quota_left: None,
        };
        assert_eq!(
            transient.describe(7),
            "retrying GetJob in 1.5s (attempt 2 of 7): HTTP 503"
        );
        let quota = RetryEvent {
            reason: "Amplify quota reached (LimitExceededException: too many jobs)".into(),
            wait: Duration::from_millis(7800),
            quota_left: Some(Duration::from_secs(592)),
            ..transient
        };
        assert_eq!(
            quota.describe(7),
            "Amplify quota reached (LimitExceededException: too many jobs): waiting 8s, up to 9m 52s more for it to clear"
        );
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 10 "), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
