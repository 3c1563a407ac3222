//! A small client for the GitHub REST API: issue comments (with
//! pagination) and deployments; a fork's preview adds pull requests,
//! workflow runs and artifacts ([`actions`]) and the artifact download
//! ([`download`]). Calls go through `crate::http`'s retry loop; the token
//! is sent only to the API's own origin.
//!
//! Reference: <https://docs.github.com/rest>.

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, LINK};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::http::{self, RetryConfig, RetryDecision, RetryObserver};
use crate::report::Reporter;

mod actions;
mod download;

pub use actions::{ArtifactInfo, PullInfo, RunInfo};
pub use download::DownloadError;

/// The REST API version we speak.
const API_VERSION: &str = "2022-11-28";
/// A ref's name as one path segment: `v1.2.3` stays as it is.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_');

/// Most comment pages read (100 each) before giving up the search.
const MAX_PAGES: usize = 100;

/// A failed GitHub call.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("{operation}: GitHub answered HTTP {status}: {message}")]
    Status {
        operation: &'static str,
        status: u16,
        message: String,
    },
    #[error("{operation}: could not reach the GitHub API")]
    Transport {
        operation: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{operation}: unexpected answer from the GitHub API: {message}")]
    Decode {
        operation: &'static str,
        message: String,
    },
}

/// Why there is no REST client for the workflow's repository.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SetupError {
    #[error("GITHUB_API_URL {given:?} is not a URL: {source}")]
    BaseNotUrl {
        given: String,
        source: url::ParseError,
    },
    #[error("GITHUB_API_URL {0} must be an http(s) URL")]
    BaseNotHttp(String),
    #[error("GITHUB_REPOSITORY {0:?} is not owner/name")]
    Repository(String),
    #[error(
        "no GitHub token: set github-token (the action's default is github.token) or GITHUB_TOKEN"
    )]
    NoToken,
    #[error("GITHUB_REPOSITORY is not set")]
    NoRepository,
}

impl GitHubError {
    /// 401, 403 or 404: the token may not do this (GitHub answers 404 for
    /// resources a token cannot see).
    pub fn is_permission(&self) -> bool {
        matches!(
            self,
            GitHubError::Status {
                status: 401 | 403 | 404,
                ..
            }
        )
    }

    fn retry_decision(&self) -> RetryDecision {
        match self {
            GitHubError::Transport { source, .. } => RetryDecision::Retry {
                reason: http::describe_reqwest_error(source),
                after: None,
            },
            GitHubError::Status { status, .. } if *status == 429 || *status >= 500 => {
                RetryDecision::Retry {
                    reason: format!("HTTP {status}"),
                    after: None,
                }
            }
            _ => RetryDecision::Fail,
        }
    }
}

/// An issue (or pull request) comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    /// The login of who wrote it (`user.login`), when GitHub says.
    pub author: Option<String>,
}

/// A GitHub deployment as listed: what identifies whose it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: u64,
    pub environment: String,
    /// What its creator attached (`payload`); ours carry the pull request.
    pub payload: Value,
}

/// One commit status to post.
#[derive(Debug, Clone, Copy)]
pub struct CommitStatus<'a> {
    /// `pending`, `success`, `failure` or `error`.
    pub state: &'a str,
    pub context: &'a str,
    /// At most 140 characters (GitHub's limit).
    pub description: &'a str,
    pub target_url: Option<&'a str>,
}

/// The API of one repository, with one token.
#[derive(Clone)]
pub struct Api {
    base: url::Url,
    repo: String,
    token: String,
    http: reqwest::Client,
    retry: RetryConfig,
    observer: RetryObserver,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base.as_str())
            .field("repo", &self.repo)
            .field("token", &"******")
            .finish()
    }
}

impl Api {
    /// `base` is `GITHUB_API_URL` (`https://api.github.com`, or
    /// `https://HOST/api/v3` on GitHub Enterprise Server); `repo` is
    /// `owner/name`.
    pub fn new(
        base: &str,
        repo: &str,
        token: &str,
        reporter: &Reporter,
    ) -> Result<Api, SetupError> {
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            ..RetryConfig::default()
        };
        let observer = reporter.retry_observer(retry.max_retries + 1);
        let mut base = url::Url::parse(base.trim()).map_err(|source| SetupError::BaseNotUrl {
            given: base.to_owned(),
            source,
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(SetupError::BaseNotHttp(base.to_string()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let valid_part = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        match repo.split_once('/') {
            Some((owner, name)) if valid_part(owner) && valid_part(name) => {}
            _ => return Err(SetupError::Repository(repo.to_owned())),
        }
        Ok(Api {
            base,
            repo: repo.to_owned(),
            token: token.to_owned(),
            http: http::build_client(),
            retry,
            observer,
        })
    }

    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// One quick try, for lookups a command can do without (`init`
    /// offline): no retry, 10 s.
    pub fn quick(mut self) -> Api {
        self.retry.max_retries = 0;
        self.retry.retry_timeout = Duration::from_secs(10);
        self.retry.request_timeout = Duration::from_secs(10);
        self
    }

    /// The full SHA of the commit release tag `tag` names: `GET
    /// git/ref/tags/{tag}`, then, for an annotated tag, `GET git/tags/{sha}`.
    pub async fn tag_commit(&self, tag: &str) -> Result<String, GitHubError> {
        const OP: &str = "look up the release tag";
        let sha_of = |v: &Value| -> Result<(String, String), GitHubError> {
            let object = &v["object"];
            match (object["sha"].as_str(), object["type"].as_str()) {
                (Some(sha), Some(kind)) if is_full_sha(sha) => {
                    Ok((sha.to_ascii_lowercase(), kind.to_owned()))
                }
                _ => Err(GitHubError::Decode {
                    operation: OP,
                    message: "no object with a full sha in the answer".into(),
                }),
            }
        };
        let tag_path = percent_encoding::utf8_percent_encode(tag, SEGMENT);
        let url = self.url(&format!("repos/{}/git/ref/tags/{tag_path}", self.repo))?;
        let (value, _) = self.call(OP, Method::GET, url, None).await?;
        let (mut sha, mut kind) = sha_of(&value)?;
        // An annotated tag names a tag object, which names the commit.
        for _ in 0..4 {
            if kind != "tag" {
                break;
            }
            let url = self.url(&format!("repos/{}/git/tags/{sha}", self.repo))?;
            let (value, _) = self.call(OP, Method::GET, url, None).await?;
            (sha, kind) = sha_of(&value)?;
        }
        match kind.as_str() {
            "commit" => Ok(sha),
            other => Err(GitHubError::Decode {
                operation: OP,
                message: format!("tag {tag} names a {other}, not a commit"),
            }),
        }
    }

    fn url(&self, path: &str) -> Result<url::Url, GitHubError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| GitHubError::Decode {
                operation: "build URL",
                message: e.to_string(),
            })
    }

    /// Every comment of issue or pull request `number`, following
    /// `Link: rel="next"` through all pages.
    pub async fn issue_comments(&self, number: u64) -> Result<Vec<Comment>, GitHubError> {
        const OP: &str = "list pull request comments";
        let first = self.url(&format!(
            "repos/{}/issues/{number}/comments?per_page=100",
            self.repo
        ))?;
        self.list_all(OP, first, |c| {
            Some(Comment {
                id: c.get("id")?.as_u64()?,
                body: c.get("body")?.as_str().unwrap_or_default().to_owned(),
                author: c
                    .get("user")
                    .and_then(|u| u.get("login"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        })
        .await
    }

    /// Every item of a paginated listing: the JSON array of each page,
    /// following `Link: rel="next"` on the same origin, at most
    /// `MAX_PAGES` pages; items `parse` cannot read are skipped.
    async fn list_all<T>(
        &self,
        operation: &'static str,
        first: url::Url,
        parse: impl Fn(&Value) -> Option<T>,
    ) -> Result<Vec<T>, GitHubError> {
        let mut next = Some(first);
        let mut all = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            let (value, headers) = self.call(operation, Method::GET, url, None).await?;
            let Value::Array(items) = value else {
                return Err(GitHubError::Decode {
                    operation,
                    message: "expected a JSON array".into(),
                });
            };
            all.extend(items.iter().filter_map(&parse));
            next = next_link(&headers).filter(|u| self.same_origin(u));
            if pages >= MAX_PAGES {
                break;
            }
        }
        Ok(all)
    }

    /// `GET /user`: the login of the token's user. The workflow's
    /// `GITHUB_TOKEN` gets 403 here.
    /// <https://docs.github.com/rest/users/users#get-the-authenticated-user>
    pub async fn authenticated_login(&self) -> Result<String, GitHubError> {
        const OP: &str = "get the token's user";
        let url = self.url("user")?;
        let (v, _) = self.call(OP, Method::GET, url, None).await?;
        v.get("login")
            .and_then(Value::as_str)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| GitHubError::Decode {
                operation: OP,
                message: "no \"login\" in the answer".into(),
            })
    }

    pub async fn create_comment(&self, number: u64, body: &str) -> Result<u64, GitHubError> {
        const OP: &str = "create pull request comment";
        let url = self.url(&format!("repos/{}/issues/{number}/comments", self.repo))?;
        let (v, _) = self
            .call(
                OP,
                Method::POST,
                url,
                Some(serde_json::json!({ "body": body })),
            )
            .await?;
        id_of(OP, &v)
    }

    pub async fn update_comment(&self, id: u64, body: &str) -> Result<(), GitHubError> {
        const OP: &str = "update pull request comment";
        let url = self.url(&format!("repos/{}/issues/comments/{id}", self.repo))?;
        self.call(
            OP,
            Method::PATCH,
            url,
            Some(serde_json::json!({ "body": body })),
        )
        .await
        .map(|_| ())
    }

    /// `POST /repos/{repo}/deployments`; returns the deployment id.
    /// `payload` is stored with the deployment and listed back by
    /// [`Api::deployments`].
    pub async fn create_deployment(
        &self,
        sha: &str,
        environment: &str,
        transient: bool,
        payload: Value,
    ) -> Result<u64, GitHubError> {
        const OP: &str = "create GitHub deployment";
        let url = self.url(&format!("repos/{}/deployments", self.repo))?;
        let body = serde_json::json!({
            "ref": sha,
            "environment": environment,
            "auto_merge": false,
            "required_contexts": [],
            "transient_environment": transient,
            "description": "amplify-deploy",
            "payload": payload,
        });
        let (v, _) = self.call(OP, Method::POST, url, Some(body)).await?;
        id_of(OP, &v)
    }

    /// `POST /repos/{repo}/deployments/{id}/statuses`.
    pub async fn create_deployment_status(
        &self,
        id: u64,
        state: &str,
        environment_url: Option<&str>,
        log_url: Option<&str>,
        description: &str,
    ) -> Result<(), GitHubError> {
        const OP: &str = "create GitHub deployment status";
        let url = self.url(&format!("repos/{}/deployments/{id}/statuses", self.repo))?;
        let mut body = serde_json::json!({ "state": state, "description": description });
        if let Some(u) = environment_url {
            body["environment_url"] = u.into();
        }
        if let Some(u) = log_url {
            body["log_url"] = u.into();
        }
        self.call(OP, Method::POST, url, Some(body))
            .await
            .map(|_| ())
    }

    /// `GET /repos/{repo}/deployments?environment=…`, every page (via
    /// `Link: rel="next"`), newest first as GitHub lists them.
    /// <https://docs.github.com/rest/deployments/deployments#list-deployments>
    pub async fn deployments(&self, environment: &str) -> Result<Vec<Deployment>, GitHubError> {
        const OP: &str = "list GitHub deployments";
        let mut first = self.url(&format!("repos/{}/deployments", self.repo))?;
        first
            .query_pairs_mut()
            .append_pair("environment", environment)
            .append_pair("per_page", "100");
        self.list_all(OP, first, |d| {
            Some(Deployment {
                id: d.get("id")?.as_u64()?,
                environment: d.get("environment")?.as_str()?.to_owned(),
                payload: d.get("payload").cloned().unwrap_or(Value::Null),
            })
        })
        .await
    }

    /// `GET /repos/{repo}/pulls/{number}`: whether the pull request is
    /// open (`state` is `open`; `closed` covers merged).
    /// <https://docs.github.com/rest/pulls/pulls#get-a-pull-request>
    pub async fn pull_request_is_open(&self, number: u64) -> Result<bool, GitHubError> {
        const OP: &str = "get pull request";
        let url = self.url(&format!("repos/{}/pulls/{number}", self.repo))?;
        let (v, _) = self.call(OP, Method::GET, url, None).await?;
        match v.get("state").and_then(Value::as_str) {
            Some(state) => Ok(state == "open"),
            None => Err(GitHubError::Decode {
                operation: OP,
                message: "no \"state\" in the answer".into(),
            }),
        }
    }

    /// `POST /repos/{repo}/statuses/{sha}`: a commit status.
    /// <https://docs.github.com/rest/commits/statuses#create-a-commit-status>
    pub async fn create_commit_status(
        &self,
        sha: &str,
        status: &CommitStatus<'_>,
    ) -> Result<(), GitHubError> {
        const OP: &str = "create GitHub commit status";
        if sha.is_empty() || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(GitHubError::Decode {
                operation: OP,
                message: format!("{sha:?} is not a commit SHA"),
            });
        }
        let url = self.url(&format!("repos/{}/statuses/{sha}", self.repo))?;
        let mut body = serde_json::json!({
            "state": status.state,
            "context": status.context,
            "description": status.description,
        });
        if let Some(u) = status.target_url {
            body["target_url"] = u.into();
        }
        self.call(OP, Method::POST, url, Some(body))
            .await
            .map(|_| ())
    }

    fn same_origin(&self, url: &url::Url) -> bool {
        url.origin() == self.base.origin()
    }

    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        url: url::Url,
        body: Option<Value>,
    ) -> Result<(Value, HeaderMap), GitHubError> {
        http::retry(
            &self.retry,
            operation,
            &self.observer,
            GitHubError::retry_decision,
            || self.attempt(operation, method.clone(), url.clone(), body.as_ref()),
        )
        .await
    }

    /// A request to GitHub's API: its media type and version, and the
    /// token when there is one.
    fn request(&self, method: Method, url: url::Url) -> reqwest::RequestBuilder {
        let req = self
            .http
            .request(method, url)
            .header(ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", API_VERSION);
        if self.token.is_empty() {
            return req;
        }
        req.header(AUTHORIZATION, format!("Bearer {}", self.token))
    }

    async fn attempt(
        &self,
        operation: &'static str,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
    ) -> Result<(Value, HeaderMap), GitHubError> {
        let transport = |source| GitHubError::Transport { operation, source };
        crate::http::wire::calling(|| {
            format!(
                "GitHub {operation} at {}",
                url.host_str().unwrap_or_default()
            )
        });
        let mut req = self
            .request(method, url)
            .timeout(self.retry.request_timeout);
        if let Some(body) = body {
            req = req.json(body);
        }
        let response = req.send().await.map_err(transport)?;
        decode_answer(operation, response).await
    }
}

/// The answer's JSON body (null for 204 or an empty body) and headers;
/// a non-2xx status becomes [`GitHubError::Status`] with GitHub's message.
async fn decode_answer(
    operation: &'static str,
    response: reqwest::Response,
) -> Result<(Value, HeaderMap), GitHubError> {
    let status = response.status();
    let headers = response.headers().clone();
    let limit = if status.is_success() {
        http::MAX_ANSWER_BYTES
    } else {
        http::MAX_ERROR_BYTES
    };
    let body = http::read_capped(response, limit)
        .await
        .map_err(|source| GitHubError::Transport { operation, source })?;
    if body.truncated && status.is_success() {
        return Err(GitHubError::Decode {
            operation,
            message: format!(
                "the answer is larger than {}",
                http::format_limit(http::MAX_ANSWER_BYTES)
            ),
        });
    }
    let bytes = body.bytes;
    if !status.is_success() {
        return Err(GitHubError::Status {
            operation,
            status: status.as_u16(),
            message: error_message(&bytes),
        });
    }
    if status == StatusCode::NO_CONTENT || bytes.is_empty() {
        return Ok((Value::Null, headers));
    }
    let value = serde_json::from_slice(&bytes).map_err(|e| GitHubError::Decode {
        operation,
        message: e.to_string(),
    })?;
    Ok((value, headers))
}

/// 40 hex digits.
pub fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn id_of(operation: &'static str, v: &Value) -> Result<u64, GitHubError> {
    v.get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| GitHubError::Decode {
            operation,
            message: "no numeric \"id\" in the answer".into(),
        })
}

/// GitHub's `{"message": …}`, else a short excerpt of the body.
fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| http::body_excerpt(body))
}

/// The `rel="next"` target of a `Link` header:
/// `<https://api.github.com/…&page=2>; rel="next", <…>; rel="last"`.
pub fn next_link(headers: &HeaderMap) -> Option<url::Url> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|entry| {
            let mut parts = entry.split(';');
            let target = parts.next()?.trim();
            let target = target.strip_prefix('<')?.strip_suffix('>')?;
            let is_next = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|r| r.trim_matches('"').split_whitespace().any(|r| r == "next"))
                    .unwrap_or(false)
            });
            if is_next {
                url::Url::parse(target).ok()
            } else {
                None
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(link: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(LINK, HeaderValue::from_str(link).unwrap());
        h
    }

    #[test]
    fn finds_the_next_link() {
        let h = headers(
            r#"<https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=3>; rel="last""#,
        );
        assert_eq!(
            next_link(&h).unwrap().as_str(),
            "https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2"
        );
        let last = headers(
            r#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first""#,
        );
        assert_eq!(next_link(&last), None);
        assert_eq!(next_link(&headers("garbage")), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn checks_the_repository_and_base() {
        let obs = &Reporter::new(crate::ci::github::GitHub::new(
            false,
            None,
            None,
            Box::new(std::io::sink()),
        ));
        assert!(Api::new("https://api.github.com", "o/r", "t", obs).is_ok());
        assert!(Api::new("https://api.github.com", "o", "t", obs).is_err());
        assert!(Api::new("https://api.github.com", "o/../x", "t", obs).is_err());
        assert!(Api::new("ftp://x", "o/r", "t", obs).is_err());
        let ghes = Api::new("https://ghe.example.com/api/v3", "o/r", "t", obs).unwrap();
        assert_eq!(
            ghes.url("repos/o/r/deployments").unwrap().as_str(),
            "https://ghe.example.com/api/v3/repos/o/r/deployments"
        );
        assert!(!format!("{ghes:?}").contains("\"t\""));
    }
}
