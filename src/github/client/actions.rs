//! The REST calls a fork's preview needs from its trusted run: the pull
//! request (found by its head, read again by number for its labels and
//! head commit), the successful build runs of a commit, and a run's
//! artifacts. Reading Actions data needs `actions: read`; the pull
//! requests, `pull-requests: read`.

use reqwest::Method;
use serde_json::Value;

use super::{Api, GitHubError};

/// A pull request as the REST API answers it: what a fork's preview is
/// decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullInfo {
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    pub title: Option<String>,
    /// `head.sha`: the commit the pull request is at now.
    pub head_sha: String,
    /// `head.ref`: its branch, in the head repository.
    pub head_ref: String,
    /// `head.repo.full_name` (`None` when the fork was deleted).
    pub head_repo: Option<String>,
    /// `base.repo.full_name`.
    pub base_repo: Option<String>,
    /// `base.ref`.
    pub base_ref: Option<String>,
    /// The names of its labels, as of this answer.
    pub labels: Vec<String>,
    /// `author_association`: `OWNER`, `MEMBER`, `COLLABORATOR`,
    /// `CONTRIBUTOR`, `FIRST_TIME_CONTRIBUTOR`, `NONE`, …
    pub author_association: String,
}

/// A workflow run as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub id: u64,
    pub event: String,
    pub conclusion: Option<String>,
    pub head_sha: String,
    pub head_branch: Option<String>,
    pub head_repo: Option<String>,
}

/// A run's artifact as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactInfo {
    pub id: u64,
    pub name: String,
    /// What GitHub says it weighs (the zip).
    pub size_in_bytes: u64,
    /// Past its retention: it can no longer be downloaded.
    pub expired: bool,
}

/// Most runs or artifacts read (one page).
const PAGE: &str = "100";

impl Api {
    /// The open pull requests whose head is branch `branch` of `owner`'s
    /// repository: `GET /repos/{repo}/pulls?state=open&head=OWNER:BRANCH`.
    /// GitHub matches the head by owner and branch only: callers check
    /// `head_repo` themselves.
    /// <https://docs.github.com/rest/pulls/pulls#list-pull-requests>
    pub async fn open_pulls_from(
        &self,
        owner: &str,
        branch: &str,
    ) -> Result<Vec<PullInfo>, GitHubError> {
        const OP: &str = "find the pull request";
        let mut first = self.url(&format!("repos/{}/pulls", self.repo))?;
        first
            .query_pairs_mut()
            .append_pair("state", "open")
            .append_pair("head", &format!("{owner}:{branch}"))
            .append_pair("per_page", PAGE);
        self.list_all(OP, first, pull_info).await
    }

    /// `GET /repos/{repo}/pulls/{number}`: the pull request as it is now.
    /// <https://docs.github.com/rest/pulls/pulls#get-a-pull-request>
    pub async fn pull(&self, number: u64) -> Result<PullInfo, GitHubError> {
        const OP: &str = "get pull request";
        let url = self.url(&format!("repos/{}/pulls/{number}", self.repo))?;
        let (v, _) = self.call(OP, Method::GET, url, None).await?;
        pull_info(&v).ok_or_else(|| GitHubError::Decode {
            operation: OP,
            message: "no number, state or head sha in the answer".into(),
        })
    }

    /// The successful runs of `pull_request` events for commit `head_sha`,
    /// newest first (one page): `GET /repos/{repo}/actions/runs`.
    /// <https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-repository>
    pub async fn successful_pull_request_runs(
        &self,
        head_sha: &str,
    ) -> Result<Vec<RunInfo>, GitHubError> {
        const OP: &str = "list the build runs";
        let mut url = self.url(&format!("repos/{}/actions/runs", self.repo))?;
        url.query_pairs_mut()
            .append_pair("event", "pull_request")
            .append_pair("status", "success")
            .append_pair("head_sha", head_sha)
            .append_pair("per_page", PAGE);
        self.first_page(OP, url, "workflow_runs", |r| {
            Some(RunInfo {
                id: r.get("id")?.as_u64()?,
                event: r.get("event")?.as_str()?.to_owned(),
                conclusion: text(r, "/conclusion"),
                head_sha: r.get("head_sha")?.as_str()?.to_owned(),
                head_branch: text(r, "/head_branch"),
                head_repo: text(r, "/head_repository/full_name"),
            })
        })
        .await
    }

    /// Run `run_id`'s artifacts named `name` (one page):
    /// `GET /repos/{repo}/actions/runs/{run_id}/artifacts?name=…`.
    /// <https://docs.github.com/rest/actions/artifacts#list-workflow-run-artifacts>
    pub async fn run_artifacts(
        &self,
        run_id: u64,
        name: &str,
    ) -> Result<Vec<ArtifactInfo>, GitHubError> {
        const OP: &str = "list the build run's artifacts";
        let mut url = self.url(&format!(
            "repos/{}/actions/runs/{run_id}/artifacts",
            self.repo
        ))?;
        url.query_pairs_mut()
            .append_pair("name", name)
            .append_pair("per_page", PAGE);
        self.first_page(OP, url, "artifacts", |a| {
            Some(ArtifactInfo {
                id: a.get("id")?.as_u64()?,
                name: a.get("name")?.as_str()?.to_owned(),
                size_in_bytes: a.get("size_in_bytes")?.as_u64()?,
                expired: a.get("expired")?.as_bool()?,
            })
        })
        .await
    }

    /// The items of `key` in an answer such as `{"total_count": …,
    /// "artifacts": […]}`; items `parse` cannot read are skipped.
    async fn first_page<T>(
        &self,
        operation: &'static str,
        url: url::Url,
        key: &str,
        parse: impl Fn(&Value) -> Option<T>,
    ) -> Result<Vec<T>, GitHubError> {
        let (v, _) = self.call(operation, Method::GET, url, None).await?;
        match v.get(key).and_then(Value::as_array) {
            Some(items) => Ok(items.iter().filter_map(parse).collect()),
            None => Err(GitHubError::Decode {
                operation,
                message: format!("no {key:?} array in the answer"),
            }),
        }
    }
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn pull_info(v: &Value) -> Option<PullInfo> {
    Some(PullInfo {
        number: v.get("number")?.as_u64()?,
        state: v.get("state")?.as_str()?.to_owned(),
        title: text(v, "/title"),
        head_sha: v.pointer("/head/sha")?.as_str()?.to_owned(),
        head_ref: text(v, "/head/ref").unwrap_or_default(),
        head_repo: text(v, "/head/repo/full_name"),
        base_repo: text(v, "/base/repo/full_name"),
        base_ref: text(v, "/base/ref"),
        labels: v
            .get("labels")
            .and_then(Value::as_array)
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(|l| l.get("name")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        author_association: text(v, "/author_association").unwrap_or_default(),
    })
}
