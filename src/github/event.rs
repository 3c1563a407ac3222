//! The pull request a workflow runs for, or the build run a trusted
//! workflow follows: `GITHUB_EVENT_NAME` and the webhook payload at
//! `GITHUB_EVENT_PATH`.
//!
//! Payloads: <https://docs.github.com/webhooks/webhook-events-and-payloads#pull_request>,
//! <https://docs.github.com/webhooks/webhook-events-and-payloads#workflow_run>.

use serde_json::Value;

/// The events whose payload is a pull request.
pub const PULL_REQUEST_EVENTS: [&str; 2] = ["pull_request", "pull_request_target"];

/// The event of a workflow that runs when another workflow's run ends.
pub const WORKFLOW_RUN_EVENT: &str = "workflow_run";

/// What a preview needs to know about the pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// `pull_request` or `pull_request_target`.
    pub event: String,
    /// `opened`, `synchronize`, `reopened`, `closed`, …
    pub action: String,
    pub number: u64,
    /// `pull_request.head.sha`: the commit being previewed.
    pub head_sha: Option<String>,
    /// `pull_request.head.repo.full_name` (`None` when the fork was deleted).
    pub head_repo: Option<String>,
    /// `pull_request.base.repo.full_name`.
    pub base_repo: Option<String>,
    /// `pull_request.base.ref`: the branch the pull request merges into.
    pub base_ref: Option<String>,
    /// `label.name`: the label a `labeled` (or `unlabeled`) event is about.
    pub label: Option<String>,
}

/// Why an event payload cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event payload is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("the event payload has no {0}")]
    Missing(&'static str),
}

impl PullRequest {
    /// Parse the payload of a `pull_request` or `pull_request_target` event.
    pub fn parse(event: &str, payload: &str) -> Result<PullRequest, EventError> {
        let v: Value = serde_json::from_str(payload).map_err(EventError::NotJson)?;
        let pr = v
            .get("pull_request")
            .filter(|p| p.is_object())
            .ok_or(EventError::Missing("a pull_request object"))?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let number = v
            .get("number")
            .and_then(Value::as_u64)
            .or_else(|| pr.get("number").and_then(Value::as_u64))
            .filter(|n| *n > 0)
            .ok_or(EventError::Missing("a pull request number"))?;
        Ok(PullRequest {
            event: event.to_owned(),
            action: text(v.get("action")).unwrap_or_default(),
            number,
            head_sha: text(pr.pointer("/head/sha")).filter(|s| !s.is_empty()),
            head_repo: text(pr.pointer("/head/repo/full_name")),
            base_repo: text(pr.pointer("/base/repo/full_name")),
            base_ref: text(pr.pointer("/base/ref")).filter(|s| !s.is_empty()),
            label: text(v.pointer("/label/name")),
        })
    }

    pub fn is_closed(&self) -> bool {
        self.action == "closed"
    }

    /// The head branch lives in another repository (or a deleted one).
    pub fn is_fork(&self) -> bool {
        match (&self.head_repo, &self.base_repo) {
            (Some(head), Some(base)) => !head.eq_ignore_ascii_case(base),
            (None, Some(_)) => true,
            _ => false,
        }
    }

    /// A fork's `pull_request` run gets a read-only token; a
    /// `pull_request_target` run (base repository's context) does not.
    pub fn token_is_read_only(&self) -> bool {
        self.event == "pull_request" && self.is_fork()
    }
}

/// The run a `workflow_run` event reports: a build that ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    /// `workflow_run.id`: the run whose artifacts to read.
    pub id: u64,
    /// `workflow_run.name`, for the log.
    pub name: Option<String>,
    /// `workflow_run.event`: what started it (`pull_request`, `push`, …).
    pub event: String,
    /// `workflow_run.conclusion` (`success`, `failure`, …); `None` before
    /// it ended.
    pub conclusion: Option<String>,
    /// `workflow_run.head_sha`: the commit it built.
    pub head_sha: String,
    /// `workflow_run.head_branch`: the branch it built, in the head
    /// repository (a fork's branch for a fork's pull request).
    pub head_branch: Option<String>,
    /// `workflow_run.head_repository.full_name` (`None` when deleted).
    pub head_repo: Option<String>,
    /// `workflow_run.repository.full_name`: the repository it ran in.
    pub repo: Option<String>,
}

impl WorkflowRun {
    /// Parse the payload of a `workflow_run` event.
    pub fn parse(payload: &str) -> Result<WorkflowRun, EventError> {
        let v: Value = serde_json::from_str(payload).map_err(EventError::NotJson)?;
        let run = v
            .get("workflow_run")
            .filter(|r| r.is_object())
            .ok_or(EventError::Missing("a workflow_run object"))?;
        let text = |p: &str| {
            run.pointer(p)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(WorkflowRun {
            id: run
                .get("id")
                .and_then(Value::as_u64)
                .filter(|n| *n > 0)
                .ok_or(EventError::Missing("a workflow run id"))?,
            name: text("/name"),
            event: text("/event").unwrap_or_default(),
            conclusion: text("/conclusion"),
            head_sha: text("/head_sha")
                .filter(|s| crate::github::client::is_full_sha(s))
                .ok_or(EventError::Missing("a head_sha of 40 hex digits"))?,
            head_branch: text("/head_branch"),
            head_repo: text("/head_repository/full_name"),
            repo: text("/repository/full_name"),
        })
    }

    /// It built a pull request's code (`event: pull_request`) and succeeded.
    pub fn built_a_pull_request(&self) -> bool {
        self.event == "pull_request" && self.conclusion.as_deref() == Some("success")
    }

    /// Its head repository is not the repository it ran in (or was deleted).
    pub fn is_fork(&self) -> bool {
        match (&self.head_repo, &self.repo) {
            (Some(head), Some(repo)) => !head.eq_ignore_ascii_case(repo),
            (None, _) => true,
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(action: &str, head: &str, base: &str) -> String {
        serde_json::json!({
            "action": action,
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": {"sha": "abc123", "repo": {"full_name": head}},
                "base": {"repo": {"full_name": base}}
            }
        })
        .to_string()
    }

    #[test]
    fn parses_a_pull_request() {
        let pr = PullRequest::parse("pull_request", &payload("opened", "o/r", "o/r")).unwrap();
        assert_eq!(pr.number, 7);
        assert_eq!(pr.head_sha.as_deref(), Some("abc123"));
        assert!(!pr.is_fork() && !pr.is_closed() && !pr.token_is_read_only());
    }

    #[test]
    fn forks_and_closed() {
        let pr =
            PullRequest::parse("pull_request", &payload("closed", "someone/r", "o/r")).unwrap();
        assert!(pr.is_fork() && pr.is_closed() && pr.token_is_read_only());
        let target = PullRequest::parse(
            "pull_request_target",
            &payload("opened", "someone/r", "o/r"),
        )
        .unwrap();
        assert!(target.is_fork() && !target.token_is_read_only());
    }

    #[test]
    fn reads_the_label_of_a_labeled_event() {
        let mut v: Value = serde_json::from_str(&payload("labeled", "x/r", "o/r")).unwrap();
        v["label"] = serde_json::json!({"name": "preview"});
        let pr = PullRequest::parse("pull_request_target", &v.to_string()).unwrap();
        assert_eq!(pr.label.as_deref(), Some("preview"));
        let pr = PullRequest::parse("pull_request", &payload("opened", "o/r", "o/r")).unwrap();
        assert_eq!(pr.label, None);
    }

    #[test]
    fn parses_a_workflow_run() {
        let run = |conclusion: &str, event: &str, head: &str| {
            serde_json::json!({"workflow_run": {
                "id": 42, "event": event, "conclusion": conclusion,
                "head_sha": "a".repeat(40), "head_branch": "feature",
                "head_repository": {"full_name": head},
                "repository": {"full_name": "o/r"},
            }})
            .to_string()
        };
        let r = WorkflowRun::parse(&run("success", "pull_request", "x/r")).unwrap();
        assert_eq!((r.id, r.head_branch.as_deref()), (42, Some("feature")));
        assert!(r.built_a_pull_request() && r.is_fork());
        let r = WorkflowRun::parse(&run("failure", "pull_request", "O/R")).unwrap();
        assert!(!r.built_a_pull_request() && !r.is_fork());
        let r = WorkflowRun::parse(&run("success", "push", "o/r")).unwrap();
        assert!(!r.built_a_pull_request());
        assert!(WorkflowRun::parse("{}").is_err());
        assert!(WorkflowRun::parse(r#"{"workflow_run": {"id": 1, "head_sha": "abc"}}"#).is_err());
    }

    #[test]
    fn bad_payloads_are_errors() {
        assert!(PullRequest::parse("pull_request", "not json").is_err());
        assert!(PullRequest::parse("pull_request", "{}").is_err());
        assert!(PullRequest::parse("pull_request", r#"{"pull_request": {}}"#).is_err());
        assert!(
            PullRequest::parse("pull_request", r#"{"number": -1, "pull_request": {}}"#).is_err()
        );
    }
}
