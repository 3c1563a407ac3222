//! PUT a file to a presigned URL. What the store behind the URL expects
//! (its `Content-Type`) and how it words a refusal come from the caller, as
//! a [`Store`]: `crate::amplify::zip_upload` describes S3.
//!
//! Presigned URLs are fragile: the signature covers the query string as
//! issued, so the URL goes on the wire exactly as given; and a store such
//! as S3 wants a `Content-Length` (it refuses chunked transfer encoding).
//! The whole file is re-sent from the start on each retry.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::io::ReaderStream;

use super::retry::{parse_retry_after, retry, RetryConfig, RetryDecision, RetryObserver};
use super::trace::{self, CallTracer};
use super::{describe_reqwest_error, read_capped, redact_url, MAX_ERROR_BYTES};

/// The slowest link we plan for when sizing the per-attempt timeout.
const MIN_THROUGHPUT_BYTES_PER_SEC: u64 = 1024 * 1024;

/// How much of the file is read per chunk.
const READ_CHUNK: usize = 256 * 1024;

/// Why an upload failed. Display never includes the URL's query.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The URL cannot be used as given.
    #[error("invalid upload URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The file to upload cannot be opened or read.
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No answer from the server (connection, timeout), retries exhausted.
    #[error("upload to {url} failed{}", proxy.as_deref().map(|p| format!(": {p}")).unwrap_or_default())]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
        /// The proxy it could not get through, if that is why
        /// ([`super::proxy::proxy_failure`]).
        proxy: Option<String>,
    },
    /// The server answered with an error status: a 4xx at once, a 5xx or
    /// 429 once retries are exhausted. `code` and `message` come from the
    /// error body, as the [`Store`] reads it.
    #[error("upload rejected with HTTP {status} {code}: {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
}

/// The store behind a presigned URL: what it expects and how it words a
/// refusal.
#[derive(Debug, Clone, Copy)]
pub struct Store {
    /// The `Content-Type` of the PUT.
    pub content_type: &'static str,
    /// `(code, message)` of an error answer's body.
    pub parse_error: fn(&[u8]) -> (String, String),
    /// Error codes worth another attempt, whatever the status.
    pub retryable_codes: &'static [&'static str],
}

/// One attempt's failure, before we know whether it is the last.
#[derive(Debug)]
enum AttemptError {
    Read(std::io::Error),
    Http(reqwest::Error),
    Status {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
    },
}

/// Upload a file with PUT to a presigned URL, byte for byte: the URL is
/// used exactly as given, no Authorization header, the store's
/// `Content-Type`, `Content-Length` set, never chunked. Retried per `cfg`
/// on connection errors, timeouts, 5xx, 429, 408 and the store's
/// retryable error codes; not on 403 or other 4xx, nor on a redirect
/// (never followed: it is an error naming the status).
///
/// Each attempt may take `cfg.request_timeout` plus the time to send the
/// file at 1 MiB/s, and the total budget grows by the same transfer time.
pub async fn upload_file(
    client: &reqwest::Client,
    store: &Store,
    url: &str,
    path: &Path,
    cfg: &RetryConfig,
    observer: &RetryObserver,
) -> Result<(), UploadError> {
    let sent = Arc::new(AtomicU64::new(0));
    upload_file_counting(client, store, url, path, cfg, observer, &sent).await
}

/// [`upload_file`], counting the bytes handed to the connection in `sent`
/// (back to 0 when an attempt starts over), for progress.
pub async fn upload_file_counting(
    client: &reqwest::Client,
    store: &Store,
    url: &str,
    path: &Path,
    cfg: &RetryConfig,
    observer: &RetryObserver,
    sent: &Arc<AtomicU64>,
) -> Result<(), UploadError> {
    let target = Target {
        url,
        headers: &[],
        path,
        tracer: None,
    };
    upload_to(client, store, &target, cfg, observer, sent).await
}

/// Where [`upload_to`] puts a file: a presigned URL, the headers its
/// signature covers (sent exactly as given), and the file; and who is told
/// of each attempt (`-v`), as which operation.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub path: &'a Path,
    pub tracer: Option<(&'static str, &'a CallTracer)>,
}

impl std::fmt::Debug for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &redact_url(self.url))
            .field("headers", &self.headers)
            .field("path", &self.path)
            .field("traced", &self.tracer.map(|(operation, _)| operation))
            .finish()
    }
}

/// [`upload_file_counting`] to a URL presigned with signed headers.
pub async fn upload_to(
    client: &reqwest::Client,
    store: &Store,
    to: &Target<'_>,
    cfg: &RetryConfig,
    observer: &RetryObserver,
    sent: &Arc<AtomicU64>,
) -> Result<(), UploadError> {
    let (url, path) = (to.url, to.path);
    let target = parse_exact(url)?;
    let redacted = redact_url(url);
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|source| UploadError::Read {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let transfer = Duration::from_secs(size / MIN_THROUGHPUT_BYTES_PER_SEC);
    let attempt_timeout = cfg.request_timeout.saturating_add(transfer);
    let budget = RetryConfig {
        retry_timeout: cfg.retry_timeout.saturating_add(transfer),
        ..*cfg
    };

    let classify = |e: &AttemptError| classify(store, e);
    let result = retry(&budget, "upload", observer, classify, || {
        put_once(client, store, (target.clone(), to), attempt_timeout, sent)
    })
    .await;
    result.map_err(|e| match e {
        AttemptError::Read(source) => UploadError::Read {
            path: path.to_path_buf(),
            source,
        },
        AttemptError::Http(source) => UploadError::Transport {
            url: redacted,
            proxy: super::proxy::proxy_failure(&source),
            source: source.without_url(),
        },
        AttemptError::Status {
            status,
            code,
            message,
            ..
        } => UploadError::Rejected {
            status,
            code,
            message,
        },
    })
}

/// One PUT of the file: built, sent (traced with `-v`), its answer read.
async fn put_once(
    client: &reqwest::Client,
    store: &Store,
    (target, to): (reqwest::Url, &Target<'_>),
    timeout: Duration,
    sent: &Arc<AtomicU64>,
) -> Result<(), AttemptError> {
    let request = put_request(client, store, (target, to), timeout, sent).await?;
    let shown = to.tracer.map(|_| trace::sent(&request));
    let started = Instant::now();
    let answer = client.execute(request).await;
    if let (Some((operation, tracer)), Some(shown)) = (to.tracer, shown) {
        trace::answered(tracer, operation, shown, started, &answer);
    }
    let response = answer.map_err(AttemptError::Http)?;
    put_answer(store, response).await
}

/// The PUT request: the file opened again (its bytes counted into `sent`
/// as they are read), the signed headers, an explicit length.
async fn put_request(
    client: &reqwest::Client,
    store: &Store,
    (target, to): (reqwest::Url, &Target<'_>),
    timeout: Duration,
    sent: &Arc<AtomicU64>,
) -> Result<reqwest::Request, AttemptError> {
    let file = tokio::fs::File::open(to.path)
        .await
        .map_err(AttemptError::Read)?;
    // Measure the handle we stream, in case the file changed since.
    let len = file.metadata().await.map_err(AttemptError::Read)?.len();
    // `Body::from(File)` and `wrap_stream` have no known size, so reqwest
    // would send them chunked; hyper uses an explicit Content-Length
    // header instead (hyper `proto/h1/role.rs`, `Client::set_length`).
    // Counting what is read keeps the body a plain stream of known length.
    sent.store(0, Ordering::Relaxed);
    let counted = Counting {
        inner: file,
        sent: Arc::clone(sent),
    };
    let body = reqwest::Body::wrap_stream(ReaderStream::with_capacity(counted, READ_CHUNK));
    let mut request = client.put(target).header(CONTENT_TYPE, store.content_type);
    for (name, value) in to.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request
        .header(CONTENT_LENGTH, len)
        .timeout(timeout)
        .body(body)
        .build()
        .map_err(AttemptError::Http)
}

/// What the store's answer to a PUT means: stored, or the store's error
/// (code and message from its error document; a redirect, never followed).
async fn put_answer(store: &Store, response: reqwest::Response) -> Result<(), AttemptError> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(redact_url);
    // A store answers a PUT with an empty body; an error body is read only
    // as far as an error document can reasonably go.
    let body = read_capped(response, MAX_ERROR_BYTES).await;
    if status.is_success() {
        return Ok(());
    }
    let body = body.map(|b| b.bytes).unwrap_or_default();
    let (code, message) = if status.is_redirection() {
        // Never followed: the file was not stored, whatever comes next.
        let to = location.map(|l| format!(" to {l}")).unwrap_or_default();
        (
            "Redirect".to_owned(),
            format!("the upload URL redirects{to}; redirects are not followed"),
        )
    } else {
        (store.parse_error)(&body)
    };
    Err(AttemptError::Status {
        status: status.as_u16(),
        code,
        message,
        retry_after,
    })
}

fn classify(store: &Store, error: &AttemptError) -> RetryDecision {
    match error {
        AttemptError::Read(_) => RetryDecision::Fail,
        AttemptError::Http(e) if e.is_builder() => RetryDecision::Fail,
        AttemptError::Http(e) => RetryDecision::Retry {
            reason: describe_reqwest_error(e),
            after: None,
        },
        AttemptError::Status {
            status,
            code,
            message,
            retry_after,
        } => {
            let retryable_code = store.retryable_codes.contains(&code.as_str());
            if *status >= 500 || *status == 429 || *status == 408 || retryable_code {
                RetryDecision::Retry {
                    reason: format!("HTTP {status} {code}: {message}"),
                    after: *retry_after,
                }
            } else {
                RetryDecision::Fail
            }
        }
    }
}

/// Parse the URL and prove the parser kept path and query byte for byte;
/// a presigned URL whose query is re-encoded no longer matches its
/// signature.
fn parse_exact(url: &str) -> Result<reqwest::Url, UploadError> {
    let invalid = |reason: String| UploadError::InvalidUrl {
        url: redact_url(url),
        reason,
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {} is not http or https",
            parsed.scheme()
        )));
    }
    let without_fragment = url.split('#').next().unwrap_or(url);
    let (before_query, query) = match without_fragment.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (without_fragment, None),
    };
    if parsed.query() != query {
        return Err(invalid(
            "its query string would have to be re-encoded, which breaks its signature".into(),
        ));
    }
    let after_scheme = before_query
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(before_query);
    let path = after_scheme
        .find('/')
        .map(|i| &after_scheme[i..])
        .unwrap_or("/");
    if parsed.path() != path {
        return Err(invalid(
            "its path would have to be re-encoded, which breaks its signature".into(),
        ));
    }
    Ok(parsed)
}

/// A reader that adds what it reads to a counter.
struct Counting<R> {
    inner: R,
    sent: Arc<AtomicU64>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counting<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.sent.fetch_add(read as u64, Ordering::Relaxed);
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=10800&X-Amz-Security-Token=IQo%2Bab%3D%3D&X-Amz-SignedHeaders=host&x=a+b&y=c=d&X-Amz-Signature=0f%3D";

    #[test]
    fn url_parser_keeps_presigned_query_byte_for_byte() {
        let url = format!("https://b.s3.us-east-1.amazonaws.com/apps/d1/a%2Bb.zip?{SIGNED_QUERY}");
        let parsed = parse_exact(&url).expect("parses");
        assert_eq!(parsed.query(), Some(SIGNED_QUERY));
        assert_eq!(parsed.as_str(), url);
    }

    #[test]
    fn url_that_would_be_reencoded_is_refused() {
        for bad in [
            "https://h/k?a=b c&X-Amz-Signature=s",
            "https://h/k?a=\"x\"",
            "https://h/a b?x=1",
            "https://h/a/../b?x=1",
            "ftp://h/k?x=1",
            "not a url",
        ] {
            match parse_exact(bad) {
                Err(UploadError::InvalidUrl { url, .. }) => {
                    assert!(!url.contains("Signature"), "{url}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(parse_exact("https://h?x=1").is_ok());
    }
}
