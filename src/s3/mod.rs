//! A small S3 client for the artifact store, on the stack the Amplify
//! client uses (reqwest, `aws-sigv4`, the run's credentials, the retry
//! loop): HeadBucket (the bucket's region), HeadObject, PutObject (one
//! streamed PUT through `crate::http::upload_to`) and presigned GETs. With
//! `-v` each call is logged as the Amplify client's are (`crate::http::trace`).
//!
//! A custom endpoint (`AWS_ENDPOINT_URL_S3`, e.g. a test server) is
//! addressed path-style (`{endpoint}/{bucket}/{key}`); AWS itself
//! virtual-hosted (`https://{bucket}.s3.{region}.amazonaws.com/{key}`),
//! path-style for a bucket with dots (its name does not fit the wildcard
//! certificate).

pub mod artifact;
pub mod sign;

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use reqwest::Method;

use crate::amplify::S3_ZIP;
use crate::http::{
    describe_reqwest_error, read_capped, retry, trace, CallTracer, RetryConfig, RetryDecision,
    RetryObserver, UploadError, MAX_ERROR_BYTES,
};

pub use artifact::{Artifact, ArtifactStore, StoreUrlError};

/// How to reach S3.
#[derive(Clone)]
pub struct S3Config {
    /// A custom endpoint (path-style); `None`: AWS.
    pub endpoint: Option<url::Url>,
    /// The run's region: where a bucket is looked for first.
    pub region: String,
    pub credentials: SharedCredentialsProvider,
    pub retry: RetryConfig,
    pub observer: RetryObserver,
    /// For HEAD requests (read timeout).
    pub http: reqwest::Client,
    /// For the upload (its time limit is sized from the file).
    pub upload_http: reqwest::Client,
    /// Told of every attempt (`-v`), as the Amplify client's is.
    pub tracer: Option<CallTracer>,
}

/// A failed S3 call.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("{operation} on {target} failed with HTTP {status}{}", code_suffix(.code))]
    Service {
        operation: &'static str,
        /// `s3://bucket[/key]`.
        target: String,
        status: u16,
        code: Option<String>,
    },
    #[error("{operation} on {target} failed: {message}")]
    Transport {
        operation: &'static str,
        target: String,
        message: String,
    },
    #[error("cannot load AWS credentials")]
    Credentials {
        #[source]
        source: aws_credential_types::provider::error::CredentialsError,
    },
    #[error("cannot sign the S3 request: {0}")]
    Signing(#[from] sign::SignError),
    /// The HEAD request could not be built.
    #[error("cannot sign the S3 request: {source}")]
    Request { source: reqwest::Error },
    #[error("PutObject of {target} failed: {source}")]
    Upload {
        target: String,
        #[source]
        source: UploadError,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
}

impl S3Error {
    /// Access denied (403), whatever the operation.
    pub fn is_denied(&self) -> bool {
        match self {
            S3Error::Service { status, .. } => *status == 403,
            S3Error::Upload {
                source: UploadError::Rejected { status, .. },
                ..
            } => *status == 403,
            _ => false,
        }
    }
}

/// Whether an object is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectState {
    Present {
        size: u64,
    },
    Absent,
    /// 403: the caller may not read it (nor, without `s3:ListBucket`, learn
    /// whether it exists).
    Denied,
}

/// A bucket and the region its requests are signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    pub region: String,
}

/// The S3 client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    cfg: S3Config,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("s3::Client")
            .field(
                "endpoint",
                &self.cfg.endpoint.as_ref().map(url::Url::as_str),
            )
            .field("region", &self.cfg.region)
            .finish_non_exhaustive()
    }
}

/// One HEAD's answer.
struct Head {
    status: u16,
    headers: reqwest::header::HeaderMap,
}

impl Client {
    pub fn new(cfg: S3Config) -> Client {
        Client { cfg }
    }

    /// The HTTP client its requests go through (the run's proxies and trust
    /// roots), for a presigned GET made elsewhere.
    pub fn http(&self) -> &reqwest::Client {
        &self.cfg.http
    }

    /// HeadBucket: the bucket's region, from `x-amz-bucket-region`, which S3
    /// sends with a 200, and with the 301 or 400 it answers when asked in
    /// the wrong region (redirects are not followed).
    pub async fn bucket(&self, name: &str) -> Result<Bucket, S3Error> {
        let url = self.url(name, &self.cfg.region, None);
        let target = format!("s3://{name}");
        let head = self
            .head("HeadBucket", &target, url, &self.cfg.region)
            .await?;
        let region = head
            .headers
            .get("x-amz-bucket-region")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|r| !r.is_empty());
        match (head.status, region) {
            (200 | 301 | 307 | 400 | 403, Some(region)) => Ok(Bucket {
                name: name.to_owned(),
                region: region.to_owned(),
            }),
            (200, None) => Ok(Bucket {
                name: name.to_owned(),
                region: self.cfg.region.clone(),
            }),
            (status, _) => Err(S3Error::Service {
                operation: "HeadBucket",
                target,
                status,
                code: status_code(status, "bucket"),
            }),
        }
    }

    /// HeadObject.
    pub async fn head_object(&self, bucket: &Bucket, key: &str) -> Result<ObjectState, S3Error> {
        let url = self.url(&bucket.name, &bucket.region, Some(key));
        let target = format!("s3://{}/{key}", bucket.name);
        let head = self
            .head("HeadObject", &target, url, &bucket.region)
            .await?;
        match head.status {
            200..=299 => Ok(ObjectState::Present {
                size: head
                    .headers
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            }),
            404 => Ok(ObjectState::Absent),
            403 => Ok(ObjectState::Denied),
            status => Err(S3Error::Service {
                operation: "HeadObject",
                target,
                status,
                code: status_code(status, "key"),
            }),
        }
    }

    /// PutObject: the file at `path` in one PUT with its Content-Length,
    /// with `metadata` (`x-amz-meta-*` headers), retried from the start on
    /// transient failures; `sent` counts the bytes sent.
    pub async fn put_object(
        &self,
        bucket: &Bucket,
        key: &str,
        path: &Path,
        metadata: &[(String, String)],
        sent: &Arc<AtomicU64>,
    ) -> Result<(), S3Error> {
        let target = format!("s3://{}/{key}", bucket.name);
        let size = tokio::fs::metadata(path)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        // Long enough for every attempt at 1 MiB/s, and the waits between.
        let valid = self.cfg.retry.retry_timeout
            + self.cfg.retry.request_timeout
            + Duration::from_secs(size / (1024 * 1024)) * 2;
        let mut signed = metadata.to_vec();
        signed.push(("content-type".into(), S3_ZIP.content_type.into()));
        let url = self
            .presigned(bucket, key, Method::PUT, &signed, valid)
            .await?;
        let to = crate::http::Target {
            url: url.as_str(),
            headers: metadata,
            path,
            tracer: self.cfg.tracer.as_ref().map(|t| ("PutObject", t)),
        };
        let cfg = &self.cfg;
        crate::http::wire::calling(|| format!("S3 PutObject of {target}"));
        crate::http::upload_to(
            &cfg.upload_http,
            &S3_ZIP,
            &to,
            &cfg.retry,
            &cfg.observer,
            sent,
        )
        .await
        .map_err(|source| S3Error::Upload { target, source })
    }

    /// A presigned GET of the object, valid for `valid` (at most 7 days).
    /// A secret: never print it whole (`crate::http::redact_url`).
    pub async fn presigned_get(
        &self,
        bucket: &Bucket,
        key: &str,
        valid: Duration,
    ) -> Result<String, S3Error> {
        self.presigned(bucket, key, Method::GET, &[], valid)
            .await
            .map(String::from)
    }

    async fn presigned(
        &self,
        bucket: &Bucket,
        key: &str,
        method: Method,
        headers: &[(String, String)],
        valid: Duration,
    ) -> Result<url::Url, S3Error> {
        let url = self.url(&bucket.name, &bucket.region, Some(key));
        let credentials = self.credentials().await?;
        sign::presign(
            method.as_str(),
            &url,
            headers,
            &credentials,
            &bucket.region,
            SystemTime::now(),
            valid,
        )
        .map_err(S3Error::Signing)
    }

    async fn credentials(&self) -> Result<Credentials, S3Error> {
        self.cfg
            .credentials
            .provide_credentials()
            .await
            .map_err(|source| S3Error::Credentials { source })
    }

    /// A signed HEAD, retried on connection errors, 5xx and 429.
    async fn head(
        &self,
        operation: &'static str,
        target: &str,
        url: url::Url,
        region: &str,
    ) -> Result<Head, S3Error> {
        retry(
            &self.cfg.retry,
            operation,
            &self.cfg.observer,
            retry_decision,
            || self.head_once(operation, target, &url, region),
        )
        .await
    }

    /// One attempt of [`Client::head`]: signed now, traced with `-v`; a
    /// 5xx or 429 is an error (to retry), any other status an answer.
    async fn head_once(
        &self,
        operation: &'static str,
        target: &str,
        url: &url::Url,
        region: &str,
    ) -> Result<Head, S3Error> {
        crate::http::wire::calling(|| format!("S3 {operation} of {target}"));
        let mut request = self
            .cfg
            .http
            .request(Method::HEAD, url.clone())
            .timeout(self.cfg.retry.request_timeout)
            .build()
            .map_err(|source| S3Error::Request { source })?;
        let credentials = self.credentials().await?;
        sign::sign_headers(&mut request, &credentials, region, SystemTime::now())?;
        let shown = self.cfg.tracer.as_ref().map(|_| trace::sent(&request));
        let started = std::time::Instant::now();
        let answer = self.cfg.http.execute(request).await;
        if let (Some(tracer), Some(shown)) = (&self.cfg.tracer, shown) {
            trace::answered(tracer, operation, shown, started, &answer);
        }
        let response = answer.map_err(|e| S3Error::Transport {
            operation,
            target: target.to_owned(),
            message: describe_reqwest_error(&e),
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let _ = read_capped(response, MAX_ERROR_BYTES).await;
        if status >= 500 || status == 429 {
            return Err(S3Error::Service {
                operation,
                target: target.to_owned(),
                status,
                code: None,
            });
        }
        Ok(Head { status, headers })
    }

    /// The URL of a bucket (`key` `None`) or an object.
    fn url(&self, bucket: &str, region: &str, key: Option<&str>) -> url::Url {
        let key = key.map(sign::encode_key).unwrap_or_default();
        let text = match &self.cfg.endpoint {
            Some(endpoint) => {
                let base = endpoint.as_str().trim_end_matches('/');
                format!("{base}/{bucket}/{key}")
            }
            None if bucket.contains('.') => {
                format!("https://s3.{region}.amazonaws.com/{bucket}/{key}")
            }
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/{key}"),
        };
        url::Url::parse(&text).unwrap_or_else(|_| {
            url::Url::parse("https://s3.amazonaws.com/").expect("a constant URL parses")
        })
    }
}

/// Which failed HEADs are tried again: connection errors, 5xx and 429.
fn retry_decision(e: &S3Error) -> RetryDecision {
    match e {
        S3Error::Transport { message, .. } => RetryDecision::Retry {
            reason: message.clone(),
            after: None,
        },
        S3Error::Service { status, .. } if *status >= 500 || *status == 429 => {
            RetryDecision::Retry {
                reason: format!("HTTP {status}"),
                after: None,
            }
        }
        _ => RetryDecision::Fail,
    }
}

/// What an error status of a HEAD means (HEAD answers have no body).
fn status_code(status: u16, what: &str) -> Option<String> {
    match (status, what) {
        (404, "bucket") => Some("NoSuchBucket".into()),
        (404, _) => Some("NoSuchKey".into()),
        (403, _) => Some("AccessDenied".into()),
        (301 | 307, _) => Some("PermanentRedirect".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{build_client, silent_observer};

    fn client(endpoint: Option<&str>) -> Client {
        let creds = Credentials::new("AKID", "SECRET", None, None, "test");
        Client::new(S3Config {
            endpoint: endpoint.map(|e| url::Url::parse(e).unwrap()),
            region: "us-east-1".into(),
            credentials: SharedCredentialsProvider::new(creds),
            retry: RetryConfig::default(),
            observer: silent_observer(),
            http: build_client(),
            upload_http: build_client(),
            tracer: None,
        })
    }

    #[tokio::test]
    async fn a_bucket_elsewhere_is_signed_for_its_region() {
        use crate::http::test_server::{Action, TestServer};
        let server = TestServer::start(vec![
            Action::status(301).with_header("x-amz-bucket-region", "eu-west-2"),
            Action::status(404),
        ])
        .await;
        let s3 = client(Some(&server.url("")));
        let bucket = s3.bucket("b-1").await.expect("the 301 names the region");
        assert_eq!(bucket.region, "eu-west-2");
        assert_eq!(
            s3.head_object(&bucket, "k.zip").await.expect("HeadObject"),
            ObjectState::Absent
        );
        let sent = server.requests();
        let scope = |i: usize| sent[i].header("authorization").unwrap_or("").to_owned();
        assert!(
            scope(0).contains("/us-east-1/s3/aws4_request"),
            "{}",
            scope(0)
        );
        assert!(
            scope(1).contains("/eu-west-2/s3/aws4_request"),
            "{}",
            scope(1)
        );
        assert_eq!(sent.len(), 2, "the redirect is not followed");
    }

    /// `-v`: each attempt, a retried one too, with S3's request id header
    /// (`x-amz-request-id`), the URL without a query, the signature out.
    #[tokio::test]
    async fn every_attempt_is_traced_with_s3_s_request_id() {
        use crate::http::test_server::{fast_retry, Action, TestServer};
        use crate::http::CallTrace;
        let server = TestServer::start(vec![
            Action::status(503),
            Action::status(200)
                .with_header("x-amz-request-id", "4442587FB7D0A2F9")
                .with_header("x-amz-bucket-region", "us-east-1"),
        ])
        .await;
        let seen = Arc::new(std::sync::Mutex::new(Vec::<CallTrace>::new()));
        let heard = Arc::clone(&seen);
        let mut s3 = client(Some(&server.url("")));
        s3.cfg.retry = fast_retry();
        s3.cfg.tracer = Some(Arc::new(move |t: &CallTrace| {
            heard.lock().unwrap().push(t.clone())
        }));
        s3.bucket("b-1").await.expect("HeadBucket");
        let seen = seen.lock().unwrap();
        let statuses: Vec<Option<u16>> = seen.iter().map(|t| t.status).collect();
        assert_eq!(statuses, [Some(503), Some(200)]);
        let ok = &seen[1];
        assert_eq!(ok.operation, "HeadBucket");
        assert_eq!(ok.request_id.as_deref(), Some("4442587FB7D0A2F9"));
        assert_eq!(ok.target, format!("HEAD {}", server.url("/b-1/")));
        assert!(ok
            .request_headers
            .contains(&("authorization".into(), "******".into())));
        assert!(!format!("{:?}", ok.request_headers).contains("Signature="));
    }

    #[tokio::test]
    async fn a_denied_bucket_without_its_region_is_an_error() {
        use crate::http::test_server::{Action, TestServer};
        let server = TestServer::start(vec![Action::status(403)]).await;
        let err = client(Some(&server.url("")))
            .bucket("b-1")
            .await
            .unwrap_err();
        assert!(err.is_denied());
        assert_eq!(
            err.to_string(),
            "HeadBucket on s3://b-1 failed with HTTP 403 AccessDenied"
        );
    }

    #[test]
    fn addressing() {
        let aws = client(None);
        assert_eq!(
            aws.url("b-1", "eu-west-1", Some("p/a b.zip")).as_str(),
            "https://b-1.s3.eu-west-1.amazonaws.com/p/a%20b.zip"
        );
        assert_eq!(
            aws.url("b.dotted", "eu-west-1", None).as_str(),
            "https://s3.eu-west-1.amazonaws.com/b.dotted/"
        );
        let custom = client(Some("http://127.0.0.1:5000/"));
        assert_eq!(
            custom.url("b-1", "eu-west-1", Some("p/x.zip")).as_str(),
            "http://127.0.0.1:5000/b-1/p/x.zip"
        );
    }
}
