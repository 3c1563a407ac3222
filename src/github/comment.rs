//! The preview comment: one per pull request and app, found again by a
//! hidden marker and updated in place on every push.

use std::time::SystemTime;

use super::client::{Api, Comment, GitHubError};
use crate::ci::escape::{markdown, markdown_link};
use crate::outcome::{Outcome, RunStatus};

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

/// The comment's Markdown. Values from outside (the service's status and
/// step reasons, the error, the commit, names) go through
/// [`markdown`]; links only through [`markdown_link`]. No presigned URL:
/// the job links to its console page.
pub fn render(
    app_id: &str,
    sha: Option<&str>,
    state: &CommentState<'_>,
    now: SystemTime,
) -> String {
    let time = humantime::format_rfc3339_seconds(now);
    let code = |s: &str| format!("<code>{}</code>", markdown(s));
    let sha = code(sha.unwrap_or("(unknown)"));
    let mut body = format!("{}\n### Amplify preview\n\n", marker(app_id));
    match state {
        CommentState::Deployed { outcome, error } => {
            body.push_str(&deployed(outcome, *error, &sha, &time.to_string()));
        }
        CommentState::Removed { branch } => {
            body.push_str(&format!(
                "🗑️ The preview was removed: the pull request was closed and branch {} of app {} was deleted.\n\n",
                code(branch),
                code(app_id)
            ));
            body.push_str(&format!("Last commit: {sha}, removed {time}.\n"));
        }
    }
    body
}

/// The table of a deployed (or failed) preview.
fn deployed(outcome: &Outcome, error: Option<&str>, sha: &str, time: &str) -> String {
    let code = |s: &str| format!("<code>{}</code>", markdown(s));
    let mut body = String::new();
    let status = outcome
        .status
        .as_ref()
        .map_or("NOT STARTED", RunStatus::as_str);
    let (icon, word) = match (&outcome.status, error) {
        (Some(RunStatus::Skipped), None) => ("✅", "Unchanged: already live"),
        (Some(s), None) if s.succeeded() => ("✅", "Deployed"),
        (Some(RunStatus::Started), None) => ("⏳", "Deploying"),
        (Some(RunStatus::Superseded), None) => ("⏭️", "Superseded by a newer commit"),
        _ => ("❌", "Failed"),
    };
    let url = outcome
        .url
        .as_deref()
        .map_or_else(|| "(unknown)".to_owned(), |u| markdown_link(u, u));
    body.push_str("| | |\n|---|---|\n");
    body.push_str(&format!(
        "| **Status** | {icon} {word} ({}) |\n",
        code(status)
    ));
    body.push_str(&format!("| **URL** | {url} |\n"));
    body.push_str(&format!("| **Commit** | {sha} |\n"));
    body.push_str(&format!(
        "| **Branch** | {} of app {} |\n",
        code(&outcome.branch),
        code(&outcome.app_id)
    ));
    if let Some(job) = &outcome.job_id {
        let page = outcome
            .job_console_url()
            .unwrap_or_else(|| outcome.console_url.clone());
        body.push_str(&format!("| **Job** | {} |\n", markdown_link(job, &page)));
    }
    for f in &outcome.failures {
        body.push_str(&format!(
            "| **Step {}** | {} |\n",
            markdown(&f.step),
            markdown(f.reason.as_deref().unwrap_or("failed"))
        ));
    }
    body.push_str(&format!("| **Updated** | {time} |\n"));
    if let Some(e) = error {
        body.push_str(&format!("\n**Error:** {}\n", markdown(e)));
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

/// Update our comment on pull request `number`, or create it unless
/// `only_update`.
///
/// "Ours" means: it carries the marker (on any page) AND the token's own
/// identity wrote it ([`identity`]). Anyone can paste the marker into a
/// comment of their own; editing that comment would put our text under
/// their name (or let them make us overwrite what they wrote), so such a
/// comment is left alone and ours is created next to it.
pub async fn upsert(
    api: &Api,
    number: u64,
    app_id: &str,
    body: &str,
    only_update: bool,
) -> Result<Upserted, GitHubError> {
    let marker = marker(app_id);
    let marked: Vec<Comment> = api
        .issue_comments(number)
        .await?
        .into_iter()
        .filter(|c| c.body.contains(&marker))
        .collect();
    let existing = if marked.is_empty() {
        None
    } else {
        let me = identity(api).await?;
        marked.into_iter().find(|c| {
            c.author
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&me))
        })
    };
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

/// The login comments made with this token appear under: the authenticated
/// user for a personal or OAuth token (`GET /user`), and
/// [`ACTIONS_BOT`] for the workflow's `GITHUB_TOKEN`, which may not call
/// `GET /user` (GitHub answers 403 "Resource not accessible by
/// integration").
pub async fn identity(api: &Api) -> Result<String, GitHubError> {
    match api.authenticated_login().await {
        Ok(login) => Ok(login),
        Err(GitHubError::Status { status: 403, .. }) => Ok(ACTIONS_BOT.to_owned()),
        Err(e) => Err(e),
    }
}

/// The author of comments made with a workflow's `GITHUB_TOKEN`.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

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
            "✅ Deployed (<code>SUCCEED</code>)",
            "[https://pr-7.d1.amplifyapp.com](https://pr-7.d1.amplifyapp.com)",
            "<code>abc123</code>",
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

    #[test]
    fn service_strings_render_as_text() {
        let hostile = "![x](https://evil/x.png) <img src=x> | a\n::error::y";
        let o = Outcome {
            app_id: "d1".into(),
            branch: "pr-7".into(),
            region: "us-east-1".into(),
            status: Some(format!("FAILED {hostile}").as_str().into()),
            url: Some("https://x) ![i](https://evil".into()),
            job_id: Some("3".into()),
            failures: vec![crate::outcome::StepFailure {
                step: "DEPLOY|".into(),
                reason: Some(hostile.into()),
            }],
            ..Outcome::default()
        };
        let state = CommentState::Deployed {
            outcome: &o,
            error: Some(hostile),
        };
        let body = render("d1", Some("`abc`<b>"), &state, SystemTime::UNIX_EPOCH);
        // A renderer sees the <code> tags we wrote, one link, and text.
        let (markup, _) = crate::ci::escape::tests::parse(&body);
        for event in &markup {
            assert!(
                event.contains("<code>")
                    || event.contains("</code>")
                    || event.contains("Heading")
                    || event.contains("Link")
                    || event.contains("\"<!-- amplify-deploy:preview:d1 -->\\n\"")
                    || event.starts_with("Start(HtmlBlock")
                    || event.starts_with("End(HtmlBlock"),
                "{event} in {body}"
            );
        }
        assert_eq!(
            markup
                .iter()
                .filter(|e| e.starts_with("Start(Link"))
                .count(),
            1,
            "{markup:?}"
        );
        assert!(!body.contains("!["), "{body}");
        assert!(!body.contains("<img") && !body.contains("<b>"), "{body}");
        assert!(!body.contains("\n::"), "{body}");
        assert!(body.contains("[3](https://us-east-1.console.aws.amazon.com/amplify/apps/d1/branches/pr%2D7/deployments/3)"), "{body}");
        for row in body.lines().filter(|l| l.starts_with("| ")) {
            let unescaped = row.replace("\\|", "").matches('|').count();
            assert_eq!(unescaped, 3, "{row}");
        }
    }
}
