//! The upload of a deployment's zip to the presigned S3 URL that
//! CreateDeployment returns (`zipUploadUrl`): S3's side of the PUT that
//! `crate::http::upload_file` makes, its `Content-Type`, its XML error
//! bodies and the error codes it asks to retry.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::http::{
    body_excerpt, upload_file, upload_file_counting, xml_element, RetryConfig, RetryObserver,
    Store, UploadError,
};

/// S3, as the zip's store.
pub(crate) const S3_ZIP: Store = Store {
    content_type: "application/zip",
    parse_error: parse_s3_error,
    retryable_codes: &[
        "SlowDown",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
    ],
};

/// PUT the zip at `path` to the presigned `url` (see
/// [`crate::http::upload_file`]: byte for byte, retried per `cfg` on
/// connection errors, 5xx, 429, 408 and S3's `SlowDown`, `RequestTimeout`,
/// `InternalError` and `ServiceUnavailable`).
pub async fn upload_zip(
    client: &reqwest::Client,
    url: &str,
    path: &Path,
    cfg: &RetryConfig,
    observer: &RetryObserver,
) -> Result<(), UploadError> {
    upload_file(client, &S3_ZIP, url, path, cfg, observer).await
}

/// [`upload_zip`], counting the bytes sent in `sent` (for progress).
pub async fn upload_zip_counting(
    client: &reqwest::Client,
    url: &str,
    path: &Path,
    cfg: &RetryConfig,
    observer: &RetryObserver,
    sent: &Arc<AtomicU64>,
) -> Result<(), UploadError> {
    crate::http::wire::calling(|| format!("the zip upload to {}", crate::http::redact_url(url)));
    upload_file_counting(client, &S3_ZIP, url, path, cfg, observer, sent).await
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_server::{Action, TestServer};
    use crate::http::{build_client, silent_observer, RetryEvent, RetryObserver, UploadError};
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

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
            let err = upload_zip(
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
        upload_zip(
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
        upload_zip(
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
        upload_zip(&build_client(), &url, file.path(), &fast(), &observer)
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
        let err = upload_zip(
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
        let err = upload_zip(
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
        let err = upload_zip(&build_client(), &url, file.path(), &cfg, &silent_observer())
            .await
            .expect_err("times out");
        assert_eq!(server.requests().len(), 2);
        match &err {
            UploadError::Transport { source, url, .. } => {
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
        let err = upload_zip(
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
