//! An artifact's zip, downloaded. `GET
//! /repos/{repo}/actions/artifacts/{id}/zip` answers `302` with a
//! short-lived URL on GitHub's blob store, which carries its own signature
//! and refuses a request that also has an `Authorization` header. The API
//! clients follow no redirects and cap what they read, so this is its own
//! path: the token goes to the API only, the redirect is followed by hand
//! with no credential at all, and the body streams to a file under a size
//! cap. The blob URL's query is its signature: it is never printed.
//! <https://docs.github.com/rest/actions/artifacts#download-an-artifact>

use std::io::Write as _;
use std::path::{Path, PathBuf};

use reqwest::header::LOCATION;

use super::{error_message, Api, GitHubError};
use crate::http::{self, RetryDecision};

/// Most redirects followed after the API's own.
const MAX_HOPS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The API refused the download (403/404: a token without
    /// `actions: read`; 410: expired).
    #[error(transparent)]
    Api(#[from] GitHubError),
    #[error("download the artifact: {why}")]
    Redirect { why: String },
    #[error("download the artifact from {host}: HTTP {status}: {message}")]
    Blob {
        host: String,
        status: u16,
        message: String,
    },
    #[error("download the artifact from {host}")]
    Transport {
        host: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the artifact is larger than the {max} bytes allowed")]
    TooLarge { max: u64 },
    #[error("cannot write the artifact to {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DownloadError {
    fn retry_decision(&self) -> RetryDecision {
        let retry = |reason: String| RetryDecision::Retry {
            reason,
            after: None,
        };
        match self {
            DownloadError::Api(e) => e.retry_decision(),
            DownloadError::Transport { source, .. } => retry(http::describe_reqwest_error(source)),
            DownloadError::Blob { status, .. } if *status == 429 || *status >= 500 => {
                retry(format!("HTTP {status}"))
            }
            _ => RetryDecision::Fail,
        }
    }
}

impl Api {
    /// Download artifact `id` into a new file in `dir`, at most
    /// `max_bytes` of it; retried (from the API's redirect on, since the
    /// blob URL is short-lived) on transport errors, 429 and 5xx.
    pub async fn download_artifact(
        &self,
        id: u64,
        dir: &Path,
        max_bytes: u64,
    ) -> Result<tempfile::NamedTempFile, DownloadError> {
        http::retry(
            &self.retry,
            "download the artifact",
            &self.observer,
            DownloadError::retry_decision,
            || self.download_attempt(id, dir, max_bytes),
        )
        .await
    }

    async fn download_attempt(
        &self,
        id: u64,
        dir: &Path,
        max_bytes: u64,
    ) -> Result<tempfile::NamedTempFile, DownloadError> {
        const OP: &str = "download the artifact";
        let url = self.url(&format!("repos/{}/actions/artifacts/{id}/zip", self.repo))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        crate::http::wire::calling(|| format!("GitHub {OP} at {host}"));
        let transport = |source| GitHubError::Transport {
            operation: OP,
            source,
        };
        let req = self.request(reqwest::Method::GET, url.clone());
        let answer = req.send().await.map_err(transport)?;
        let status = answer.status();
        let answer = if status.is_redirection() {
            self.follow(&url, &answer).await?
        } else if status.is_success() {
            // Served by the API itself (its own origin): read it as it is.
            answer
        } else {
            let body = http::read_capped(answer, http::MAX_ERROR_BYTES)
                .await
                .map_err(transport)?;
            return Err(GitHubError::Status {
                operation: OP,
                status: status.as_u16(),
                message: error_message(&body.bytes),
            }
            .into());
        };
        save(answer, dir, max_bytes).await
    }

    /// Follow the redirect of `answer` (to `from`), and any after it, with
    /// no `Authorization` header and none of GitHub's: a plain GET.
    async fn follow(
        &self,
        from: &url::Url,
        answer: &reqwest::Response,
    ) -> Result<reqwest::Response, DownloadError> {
        let mut url = location(from, answer)?;
        for _ in 0..MAX_HOPS {
            self.check_target(&url)?;
            let host = url.host_str().unwrap_or_default().to_owned();
            crate::http::wire::calling(|| format!("artifact download at {host}"));
            let next = self.http.get(url.clone()).send().await.map_err(|source| {
                DownloadError::Transport {
                    host: host.clone(),
                    source,
                }
            })?;
            if !next.status().is_redirection() {
                return blob_answer(next, host).await;
            }
            url = location(&url, &next)?;
        }
        Err(DownloadError::Redirect {
            why: format!("more than {MAX_HOPS} redirects"),
        })
    }

    /// Blob URLs are `https`; `http` only when the API itself is (a test
    /// server, or GitHub Enterprise Server without TLS).
    fn check_target(&self, url: &url::Url) -> Result<(), DownloadError> {
        let allowed = url.scheme() == "https" || url.scheme() == self.base.scheme();
        if allowed && url.host_str().is_some() {
            return Ok(());
        }
        Err(DownloadError::Redirect {
            why: format!(
                "GitHub redirected to {}, not an https URL",
                http::redact_url(url.as_str())
            ),
        })
    }
}

/// The `Location` of a redirect, resolved against the URL it answered.
fn location(from: &url::Url, answer: &reqwest::Response) -> Result<url::Url, DownloadError> {
    let status = answer.status().as_u16();
    answer
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| from.join(l).ok())
        .ok_or_else(|| DownloadError::Redirect {
            why: format!("HTTP {status} with no usable Location"),
        })
}

/// A blob store's answer: the body to stream, or its error.
async fn blob_answer(
    answer: reqwest::Response,
    host: String,
) -> Result<reqwest::Response, DownloadError> {
    let status = answer.status();
    if status.is_success() {
        return Ok(answer);
    }
    let body = http::read_capped(answer, http::MAX_ERROR_BYTES)
        .await
        .map_err(|source| DownloadError::Transport {
            host: host.clone(),
            source,
        })?;
    Err(DownloadError::Blob {
        host,
        status: status.as_u16(),
        message: http::body_excerpt(&body.bytes),
    })
}

/// Stream `answer`'s body into a new file in `dir`, refusing past
/// `max_bytes` (by its length when it declares one, else as it comes).
async fn save(
    mut answer: reqwest::Response,
    dir: &Path,
    max_bytes: u64,
) -> Result<tempfile::NamedTempFile, DownloadError> {
    if answer.content_length().is_some_and(|n| n > max_bytes) {
        return Err(DownloadError::TooLarge { max: max_bytes });
    }
    let host = answer.url().host_str().unwrap_or_default().to_owned();
    let write = |source| DownloadError::Write {
        path: dir.to_path_buf(),
        source,
    };
    let file = tempfile::Builder::new()
        .prefix("amplify-artifact-")
        .suffix(".zip")
        .tempfile_in(dir)
        .map_err(write)?;
    let mut out = std::io::BufWriter::new(file);
    let mut written = 0u64;
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|source| DownloadError::Transport {
            host: host.clone(),
            source,
        })?
    {
        written += chunk.len() as u64;
        if written > max_bytes {
            return Err(DownloadError::TooLarge { max: max_bytes });
        }
        out.write_all(&chunk).map_err(write)?;
    }
    out.into_inner().map_err(|e| write(e.into_error()))
}
