//! The preview comment: one per pull request and app, found again by a
//! hidden marker and updated in place on every push.

use std::time::SystemTime;

use super::client::{Api, GitHubError};
use crate::outcome::Outcome;

/// The hidden line that identifies our comment for `app_id`.
pub fn marker(app_id: &str) -> String {
    format!("<!-- amplify-deploy:preview:{app_id} -->")
}

/// What the comment reports.
pub enum CommentState<'a> {
    /// The deploy ran (successfully or not).
    Deployed {
        outcome: &'a Outcome,
        error: Option<&'a str>,
    },
    /// The pull request closed and its branch was removed.
    Removed { branch: &'a str },
}

/// The comment's Markdown.
pub fn render(
    app_id: &str,
    sha: Option<&str>,
    state: &CommentState<'_>,
    now: SystemTime,
) -> String {
    let time = humantime::format_rfc3339_seconds(now);
    let sha = sha.unwrap_or("(unknown)");
    let mut body = format!("{}\n### Amplify preview\n\n", marker(app_id));
    match state {
        CommentState::Deployed { outcome, error } => {
            let status = outcome.status.as_deref().unwrap_or("NOT STARTED");
            let (icon, word) = match (status, error) {
                ("SUCCEED", None) => ("✅", "Deployed"),
                ("STARTED", None) => ("⏳", "Deploying"),
                _ => ("❌", "Failed"),
            };
            let url = outcome.url.as_deref().unwrap_or("(unknown)");
            body.push_str("| | |\n|---|---|\n");
            body.push_str(&format!("| **Status** | {icon} {word} (`{status}`) |\n"));
            body.push_str(&format!("| **URL** | {url} |\n"));
            body.push_str(&format!("| **Commit** | `{sha}` |\n"));
            body.push_str(&format!(
                "| **Branch** | `{}` of app `{}` |\n",
                outcome.branch, outcome.app_id
            ));
            if let Some(job) = &outcome.job_id {
                body.push_str(&format!("| **Job** | [{job}]({}) |\n", outcome.console_url));
            }
            body.push_str(&format!("| **Updated** | {time} |\n"));
            if let Some(e) = error {
                body.push_str(&format!("\n{}\n", crate::error::one_line(e)));
            }
        }
        CommentState::Removed { branch } => {
            body.push_str(&format!(
                "🗑️ The preview was removed: the pull request was closed and branch `{branch}` of app `{app_id}` was deleted.\n\n"
            ));
            body.push_str(&format!("Last commit: `{sha}`, removed {time}.\n"));
        }
    }
    body
}

/// Whether [`upsert`] created or updated the comment.
#[derive(Debug, PartialEq, Eq)]
pub enum Upserted {
    Created(u64),
    Updated(u64),
    /// `only_update` was set and there was no comment.
    Absent,
}

/// Update our comment on pull request `number` (found by the marker on any
/// page), or create it unless `only_update`.
pub async fn upsert(
    api: &Api,
    number: u64,
    app_id: &str,
    body: &str,
    only_update: bool,
) -> Result<Upserted, GitHubError> {
    let marker = marker(app_id);
    let existing = api
        .issue_comments(number)
        .await?
        .into_iter()
        .find(|c| c.body.contains(&marker));
    match existing {
        Some(c) => {
            api.update_comment(c.id, body).await?;
            Ok(Upserted::Updated(c.id))
        }
        None if only_update => Ok(Upserted::Absent),
        None => api
            .create_comment(number, body)
            .await
            .map(Upserted::Created),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_status_url_and_sha_under_the_marker() {
        let o = Outcome {
            app_id: "d1".into(),
            branch: "pr-7".into(),
            status: Some("SUCCEED".into()),
            url: Some("https://pr-7.d1.amplifyapp.com".into()),
            job_id: Some("3".into()),
            console_url: "https://console/x".into(),
            ..Outcome::default()
        };
        let state = CommentState::Deployed {
            outcome: &o,
            error: None,
        };
        let body = render("d1", Some("abc123"), &state, SystemTime::UNIX_EPOCH);
        assert!(body.starts_with("<!-- amplify-deploy:preview:d1 -->\n"));
        for part in [
            "✅ Deployed (`SUCCEED`)",
            "https://pr-7.d1.amplifyapp.com",
            "`abc123`",
            "[3](https://console/x)",
            "1970-01-01T00:00:00Z",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
        let removed = render(
            "d1",
            Some("abc123"),
            &CommentState::Removed { branch: "pr-7" },
            SystemTime::UNIX_EPOCH,
        );
        assert!(removed.contains("preview was removed"));
        assert!(removed.starts_with(&marker("d1")));
    }
}
