//! The pull request a workflow runs for: `GITHUB_EVENT_NAME` and the
//! webhook payload at `GITHUB_EVENT_PATH`.
//!
//! Payload: <https://docs.github.com/webhooks/webhook-events-and-payloads#pull_request>.

use serde_json::Value;

/// The events whose payload is a pull request.
pub const PULL_REQUEST_EVENTS: [&str; 2] = ["pull_request", "pull_request_target"];

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
}

impl PullRequest {
    /// Parse the payload of a `pull_request` or `pull_request_target` event.
    pub fn parse(event: &str, payload: &str) -> Result<PullRequest, String> {
        let v: Value = serde_json::from_str(payload)
            .map_err(|e| format!("the event payload is not JSON: {e}"))?;
        let pr = v
            .get("pull_request")
            .filter(|p| p.is_object())
            .ok_or("the event payload has no pull_request object")?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let number = v
            .get("number")
            .and_then(Value::as_u64)
            .or_else(|| pr.get("number").and_then(Value::as_u64))
            .filter(|n| *n > 0)
            .ok_or("the event payload has no pull request number")?;
        Ok(PullRequest {
            event: event.to_owned(),
            action: text(v.get("action")).unwrap_or_default(),
            number,
            head_sha: text(pr.pointer("/head/sha")).filter(|s| !s.is_empty()),
            head_repo: text(pr.pointer("/head/repo/full_name")),
            base_repo: text(pr.pointer("/base/repo/full_name")),
            base_ref: text(pr.pointer("/base/ref")).filter(|s| !s.is_empty()),
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
    fn bad_payloads_are_errors() {
        assert!(PullRequest::parse("pull_request", "not json").is_err());
        assert!(PullRequest::parse("pull_request", "{}").is_err());
        assert!(PullRequest::parse("pull_request", r#"{"pull_request": {}}"#).is_err());
        assert!(
            PullRequest::parse("pull_request", r#"{"number": -1, "pull_request": {}}"#).is_err()
        );
    }
}
