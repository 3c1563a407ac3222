//! One retry loop for every remote call: the Amplify API and the upload.
//!
//! The caller says what may be retried (a classifier); this module decides
//! when to stop (attempt count and total time budget) and how long to wait
//! (backoff, or the server's `Retry-After`). Modelled on object_store's
//! `src/client/retry.rs`.

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
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 6,
            retry_timeout: Duration::from_secs(120),
            backoff: BackoffConfig::default(),
            request_timeout: Duration::from_secs(60),
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
    let start = Instant::now();
    let mut retries = 0;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let (reason, after) = match classify(&error) {
            RetryDecision::Fail => return Err(error),
            RetryDecision::Retry { reason, after } => (reason, after),
        };
        if retries >= cfg.max_retries {
            return Err(error);
        }
        let drawn = backoff.next_wait();
        let wait = after.unwrap_or(drawn);
        if start.elapsed().saturating_add(wait) > cfg.retry_timeout {
            return Err(error);
        }
        retries += 1;
        observer(&RetryEvent {
            what: what.to_string(),
            attempt: retries + 1,
            reason,
            wait,
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
        }
    }

    #[derive(Debug, PartialEq)]
    enum E {
        Transient(u32),
        Fatal,
    }

    fn classify(e: &E) -> RetryDecision {
        match e {
            E::Transient(n) => RetryDecision::Retry {
                reason: format!("transient {n}"),
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

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 10 "), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
