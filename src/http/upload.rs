//! PUT a file to a presigned URL (S3's `zipUploadUrl`).
//!
//! Presigned URLs are fragile: the signature covers the query string as
//! issued, so the URL goes on the wire exactly as given, and S3 wants a
//! `Content-Length` (it refuses chunked transfer encoding). The whole file
//! is re-sent from the start on each retry.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use tokio_util::io::ReaderStream;

use super::retry::{parse_retry_after, retry, RetryConfig, RetryDecision, RetryObserver};
use super::{body_excerpt, describe_reqwest_error, read_capped, redact_url, MAX_ERROR_BYTES};

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
    #[error("upload to {url} failed")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status: a 4xx at once, a 5xx or
    /// 429 once retries are exhausted. `code` and `message` come from S3's
    /// XML error body ("Unknown" and an excerpt if there is none).
    #[error("upload rejected with HTTP {status} {code}: {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
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
/// used exactly as given, no Authorization header, `Content-Type:
/// application/zip`, `Content-Length` set, never chunked. Retried per
/// `cfg` on connection errors, timeouts, 5xx, 429 and S3's `SlowDown`,
/// `RequestTimeout` and `InternalError`; not on 403 or other 4xx, nor on
/// a redirect (never followed: it is an error naming the status).
///
/// Each attempt may take `cfg.request_timeout` plus the time to send the
/// file at 1 MiB/s, and the total budget grows by the same transfer time.
pub async fn upload_file(
    client: &reqwest::Client,
    url: &str,
    path: &Path,
    cfg: &RetryConfig,
    observer: &RetryObserver,
) -> Result<(), UploadError> {
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

    let result = retry(&budget, "upload", observer, classify, || {
        put_once(client, target.clone(), path, attempt_timeout)
    })
    .await;
    result.map_err(|e| match e {
        AttemptError::Read(source) => UploadError::Read {
            path: path.to_path_buf(),
            source,
        },
        AttemptError::Http(source) => UploadError::Transport {
            url: redacted,
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

async fn put_once(
    client: &reqwest::Client,
    target: reqwest::Url,
    path: &Path,
    timeout: Duration,
) -> Result<(), AttemptError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(AttemptError::Read)?;
    // Measure the handle we stream, in case the file changed since.
    let len = file.metadata().await.map_err(AttemptError::Read)?.len();
    // `Body::from(File)` and `wrap_stream` have no known size, so reqwest
    // would send them chunked; hyper uses an explicit Content-Length
    // header instead (hyper `proto/h1/role.rs`, `Client::set_length`).
    let body = reqwest::Body::wrap_stream(ReaderStream::with_capacity(file, READ_CHUNK));
    let response = client
        .put(target)
        .header(CONTENT_TYPE, "application/zip")
        .header(CONTENT_LENGTH, len)
        .timeout(timeout)
        .body(body)
        .send()
        .await
        .map_err(AttemptError::Http)?;
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
    // S3 answers a PUT with an empty body; an error body is read only as
    // far as its XML document can reasonably go.
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
        parse_s3_error(&body)
    };
    Err(AttemptError::Status {
        status: status.as_u16(),
        code,
        message,
        retry_after,
    })
}

fn classify(error: &AttemptError) -> RetryDecision {
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
            let retryable_code = matches!(
                code.as_str(),
                "SlowDown" | "RequestTimeout" | "InternalError" | "ServiceUnavailable"
            );
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

/// `(Code, Message)` of S3's `<Error>` XML body; "Unknown" and a body
/// excerpt when the body is not that.
fn parse_s3_error(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(body);
    let code = xml_element(&text, "Code").filter(|c| !c.is_empty());
    let message = xml_element(&text, "Message").filter(|m| !m.is_empty());
    match (code, message) {
        (Some(code), Some(message)) => (code, message),
        (Some(code), None) => (code, String::new()),
        (None, Some(message)) => ("Unknown".into(), message),
        (None, None) => {
            let excerpt = body_excerpt(body);
            let message = if excerpt.is_empty() {
                "empty response body".to_string()
            } else {
                excerpt
            };
            ("Unknown".into(), message)
        }
    }
}

/// The text of the first `<name>` element, unescaped, whitespace folded.
pub(crate) fn xml_element(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    let raw = text[start..end].trim();
    let unescaped = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    Some(unescaped.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_server::{Action, TestServer};
    use crate::http::{build_client, silent_observer, RetryEvent};
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    const SIGNED_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=10800&X-Amz-Security-Token=IQo%2Bab%3D%3D&X-Amz-SignedHeaders=host&x=a+b&y=c=d&X-Amz-Signature=0f%3D";

    use crate::http::test_server::fast_retry as fast;

    fn zip_file(len: usize) -> (tempfile::NamedTempFile, Vec<u8>) {
        let content: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(&content).expect("write");
        file.flush().expect("flush");
        (file, content)
    }

    const S3_403: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key &amp; signing method.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"#;

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

    #[test]
    fn s3_error_bodies() {
        assert_eq!(
            parse_s3_error(S3_403.as_bytes()),
            (
                "SignatureDoesNotMatch".into(),
                "The request signature we calculated does not match the signature you provided. Check your key & signing method.".into()
            )
        );
        assert_eq!(
            parse_s3_error(b""),
            ("Unknown".into(), "empty response body".into())
        );
        assert_eq!(
            parse_s3_error(b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
            ("Unknown".into(), "502 Bad Gateway".into())
        );
        assert_eq!(
            parse_s3_error(b"<Error><Code>SlowDown</Code></Error>"),
            ("SlowDown".into(), String::new())
        );
        assert_eq!(
            parse_s3_error(b"<Error><Code>Unclosed"),
            ("Unknown".into(), "Unclosed".into())
        );
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_names_the_status() {
        for status in [301, 302, 303, 307, 308] {
            let server = TestServer::start(vec![
                Action::status(status).with_header("location", "/elsewhere?X-Amz-Signature=s3cret"),
                Action::status(200),
            ])
            .await;
            let (file, _) = zip_file(1000);
            let err = upload_file(
                &build_client(),
                &server.url("/up?sig=1"),
                file.path(),
                &fast(),
                &silent_observer(),
            )
            .await
            .expect_err("a redirect is an error");
            let shown = err.to_string();
            assert!(
                shown.contains(&format!("HTTP {status} Redirect")),
                "{shown}"
            );
            assert!(shown.contains("/elsewhere"), "{shown}");
            assert!(!shown.contains("s3cret"), "{shown}");
            let requests = server.requests();
            assert_eq!(requests.len(), 1, "{status}: followed or retried");
            assert_eq!(requests[0].method, "PUT");
        }
    }

    #[tokio::test]
    async fn upload_sends_content_length_and_exact_query() {
        let server = TestServer::start(vec![Action::status(200)]).await;
        let (file, content) = zip_file(300_000);
        let path_and_query = format!("/bucket/apps/d1/job%2F1.zip?{SIGNED_QUERY}");
        let url = server.url(&path_and_query);
        upload_file(
            &build_client(),
            &url,
            file.path(),
            &fast(),
            &silent_observer(),
        )
        .await
        .expect("upload");
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let r = &requests[0];
        assert_eq!(r.method, "PUT");
        assert_eq!(r.target, path_and_query);
        assert_eq!(r.header("content-length"), Some("300000"));
        assert_eq!(r.header("transfer-encoding"), None);
        assert_eq!(r.header("content-type"), Some("application/zip"));
        assert_eq!(r.header("authorization"), None);
        assert!(r.body == content, "body differs");
    }

    #[tokio::test]
    async fn empty_file_is_sent_with_zero_length() {
        let server = TestServer::start(vec![Action::status(200)]).await;
        let (file, _) = zip_file(0);
        upload_file(
            &build_client(),
            &server.url("/k?s=1"),
            file.path(),
            &fast(),
            &silent_observer(),
        )
        .await
        .expect("upload");
        let requests = server.requests();
        assert_eq!(requests[0].header("content-length"), Some("0"));
        assert_eq!(requests[0].header("transfer-encoding"), None);
    }

    #[tokio::test]
    async fn retries_5xx_dropped_connection_and_slowdown_resending_whole_file() {
        let server = TestServer::start(vec![
            Action::body(503, "application/xml", "<Error><Code>ServiceUnavailable</Code><Message>Reduce your request rate.</Message></Error>"),
            Action::Drop,
            Action::body(400, "application/xml", "<Error><Code>RequestTimeout</Code><Message>Your socket connection to the server was not read from or written to within the timeout period.</Message></Error>"),
            Action::status(200),
        ])
        .await;
        let (file, content) = zip_file(70_000);
        let events = Arc::new(Mutex::new(Vec::<RetryEvent>::new()));
        let sink = events.clone();
        let observer: RetryObserver =
            Arc::new(move |e: &RetryEvent| sink.lock().expect("lock").push(e.clone()));
        let url = server.url("/k.zip?X-Amz-Signature=secret");
        upload_file(&build_client(), &url, file.path(), &fast(), &observer)
            .await
            .expect("upload succeeds on the 4th attempt");
        let requests = server.requests();
        assert_eq!(requests.len(), 4);
        for r in &requests {
            assert!(r.body == content, "every attempt sends the whole file");
        }
        let events = events.lock().expect("lock");
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].what, "upload");
        assert_eq!(events[0].attempt, 2);
        assert!(
            events[0].reason.contains("503 ServiceUnavailable"),
            "{}",
            events[0].reason
        );
        assert!(
            events[2].reason.contains("RequestTimeout"),
            "{}",
            events[2].reason
        );
        for e in events.iter() {
            assert!(!e.reason.contains("secret"), "{}", e.reason);
        }
    }

    #[tokio::test]
    async fn forbidden_is_not_retried_and_parsed() {
        let server = TestServer::start(vec![
            Action::body(403, "application/xml", S3_403),
            Action::status(200),
        ])
        .await;
        let (file, _) = zip_file(10);
        let url = server.url("/k.zip?X-Amz-Signature=secret");
        let err = upload_file(
            &build_client(),
            &url,
            file.path(),
            &fast(),
            &silent_observer(),
        )
        .await
        .expect_err("403 fails");
        assert_eq!(server.requests().len(), 1);
        match &err {
            UploadError::Rejected { status, code, .. } => {
                assert_eq!(*status, 403);
                assert_eq!(code, "SignatureDoesNotMatch");
            }
            other => panic!("{other:?}"),
        }
        assert!(!err.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn exhausted_retries_return_last_status() {
        let server = TestServer::start(vec![Action::status(500); 4]).await;
        let (file, _) = zip_file(10);
        let err = upload_file(
            &build_client(),
            &server.url("/k?s=1"),
            file.path(),
            &fast(),
            &silent_observer(),
        )
        .await
        .expect_err("fails");
        assert_eq!(server.requests().len(), 4);
        assert!(
            matches!(err, UploadError::Rejected { status: 500, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn timeout_is_retried_then_reported_without_query() {
        let slow = Action::Delay(Duration::from_secs(3), Box::new(Action::status(200)));
        let server = TestServer::start(vec![slow.clone(), slow]).await;
        let (file, _) = zip_file(10);
        let cfg = RetryConfig {
            max_retries: 1,
            request_timeout: Duration::from_millis(300),
            ..fast()
        };
        let url = server.url("/k.zip?X-Amz-Signature=secret");
        let err = upload_file(&build_client(), &url, file.path(), &cfg, &silent_observer())
            .await
            .expect_err("times out");
        assert_eq!(server.requests().len(), 2);
        match &err {
            UploadError::Transport { source, url } => {
                assert!(source.is_timeout());
                assert!(!url.contains("secret"));
            }
            other => panic!("{other:?}"),
        }
        let mut chain = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            chain.push_str(&s.to_string());
            source = s.source();
        }
        assert!(!chain.contains("secret"), "{chain}");
    }

    #[tokio::test]
    async fn missing_file_is_a_read_error() {
        let err = upload_file(
            &build_client(),
            "http://127.0.0.1:9/k?s=1",
            Path::new("/nonexistent/site.zip"),
            &fast(),
            &silent_observer(),
        )
        .await
        .expect_err("no file");
        assert!(matches!(err, UploadError::Read { .. }), "{err:?}");
    }
}
