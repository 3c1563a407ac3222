//! `amplify-deploy init`: read the app (GetApp: its ARN names the account),
//! then write, or print, the CI workflow and the role's policies for it.

use std::path::Path;
use std::process::Command;

use crate::connection;
use crate::error::RunError;
use crate::explain::{explain, Scope};
use crate::github::client::{self as github, is_full_sha};
use crate::init::{self, ActionRef, File, Host, Params};
use crate::policy::AppRef;
use crate::report::Reporter;
use crate::settings::InitSettings;

/// `amplify-deploy init`.
pub async fn init(s: &InitSettings, reporter: &Reporter) -> Result<(), RunError> {
    let (app_id, branch) = (&s.app_id, &s.branch);
    if s.path.chars().any(char::is_control) {
        return Err(RunError::input(format!(
            "path {:?} has control characters",
            s.path
        )));
    }
    let preview_prefix = preview_prefix(s)?;
    let repository = repository(s)?;
    let mut action = action_ref(s)?;
    let app = read_app(app_id, branch, s, reporter).await?;
    if action.commit.is_none() && action.is_known() && !s.gitlab {
        pin_to_tag_commit(&mut action, s, reporter).await;
    }
    let params = Params {
        app,
        branch: branch.to_string(),
        path: s.path.clone(),
        repository,
        gitlab: s.gitlab,
        environments: !s.no_environments,
        preview_prefix,
        action,
    };
    let (files, notes) = init::files(&params);
    if s.print {
        print(&files);
    } else {
        write(&files, s.force)?;
        for f in &files {
            reporter.line(format!("wrote {}: {}", f.path, f.about));
        }
    }
    for note in notes {
        reporter.line(format!("note: {note}"));
    }
    Ok(())
}

/// This build's release (or `--action-repository`'s), pinned to
/// `--action-sha` when given.
fn action_ref(s: &InitSettings) -> Result<ActionRef, RunError> {
    let mut action = ActionRef::of_this_build();
    if let Some(repo) = &s.action_repository {
        match init::parse_remote(&format!("https://github.com/{repo}")) {
            Some(r) => action.repository = r.path,
            None => {
                return Err(RunError::input(format!(
                    "action-repository {repo:?} is not a GitHub repository path (e.g. octo/amplify-deploy)"
                )))
            }
        }
    }
    if let Some(sha) = s.action_sha.as_deref() {
        if !is_full_sha(sha) {
            return Err(RunError::input(format!(
                "action-sha {sha:?} is not a full commit SHA (40 hex digits)"
            )));
        }
        action.commit = Some(sha.to_ascii_lowercase());
    }
    Ok(action)
}

/// Pin the action to the commit its release tag names, looked up on the
/// GitHub API; offline (or on any failure) the tag stays, and the note
/// says why. Zizmor's `unpinned-uses` audit, like GitHub's own hardening
/// guide, wants the full SHA: a tag can be moved.
async fn pin_to_tag_commit(action: &mut ActionRef, s: &InitSettings, reporter: &Reporter) {
    let token = s.github_token.as_deref().unwrap_or_default();
    let api = match github::Api::new(&s.github_api_url, &action.repository, token, reporter) {
        Ok(api) => api.quick(),
        Err(e) => {
            action.unresolved = Some(e.to_string());
            return;
        }
    };
    match api.tag_commit(&action.version).await {
        Ok(sha) => action.commit = Some(sha),
        Err(e) => action.unresolved = Some(e.to_string()),
    }
}

/// GetApp, and the partition, region and account its ARN names.
async fn read_app(
    app_id: &str,
    branch: &str,
    s: &InitSettings,
    reporter: &Reporter,
) -> Result<AppRef, RunError> {
    let conn = connection::connect(&s.aws, reporter).await?;
    let scope = Scope {
        app_id,
        branch,
        region: &conn.region,
    };
    let app = conn
        .client
        .get_app(app_id)
        .await
        .map_err(|e| explain(&e, &scope))?;
    let arn = app.app_arn.unwrap_or_default();
    AppRef::from_arn(&arn).ok_or_else(|| {
        RunError::aws(format!(
            "GetApp answered no usable appArn for app {app_id}: {arn:?}"
        ))
    })
}

/// `--preview-prefix`, else `pr-` (GitLab: `mr-`). It becomes part of an
/// IAM resource ARN and of a shell word in the pipeline, so it is kept to
/// letters, digits, `-`, `_` and `.`.
fn preview_prefix(s: &InitSettings) -> Result<String, RunError> {
    let default = if s.gitlab { "mr-" } else { "pr-" };
    let prefix = s.preview_prefix.as_deref().unwrap_or(default);
    let valid = (1..=100).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid {
        return Err(RunError::input(format!(
            "preview-prefix {prefix:?} must be 1 to 100 letters, digits, '-', '_' or '.' (it names the preview role's branches)"
        )));
    }
    Ok(prefix.to_owned())
}

/// `--repository`, else the `origin` remote's, when it is on the chosen
/// CI's host; `None`: a placeholder (and a note).
fn repository(s: &InitSettings) -> Result<Option<String>, RunError> {
    let host = if s.gitlab { Host::GitLab } else { Host::GitHub };
    let domain = if s.gitlab { "gitlab.com" } else { "github.com" };
    if let Some(given) = &s.repository {
        return match init::parse_remote(&format!("https://{domain}/{given}")) {
            Some(r) => Ok(Some(r.path)),
            None => Err(RunError::input(format!(
                "repository {given:?} is not a {domain} repository path (e.g. octo/site)"
            ))),
        };
    }
    let out = Command::new("git")
        .args(["remote", "get-url", "origin"])
        .stderr(std::process::Stdio::null())
        .output();
    let url = match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => return Ok(None),
    };
    Ok(init::parse_remote(&url)
        .filter(|r| r.host == host)
        .map(|r| r.path))
}

/// Each file under its name, as `head` shows several files.
fn print(files: &[File]) {
    for (i, f) in files.iter().enumerate() {
        let gap = if i == 0 { "" } else { "\n" };
        print!("{gap}==> {} <==\n{}", f.path, f.text);
    }
}

/// Write the files; without `force`, first check that none exists (exit
/// 2 naming it), so nothing is half written.
fn write(files: &[File], force: bool) -> Result<(), RunError> {
    if !force {
        if let Some(f) = files
            .iter()
            .find(|f| Path::new(f.path).symlink_metadata().is_ok())
        {
            return Err(RunError::input(format!(
                "{} exists: pass --force to overwrite it",
                f.path
            )));
        }
    }
    for f in files {
        let path = Path::new(f.path);
        let cannot = |e: std::io::Error| RunError::input(format!("cannot write {}: {e}", f.path));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(cannot)?;
        }
        std::fs::write(path, &f.text).map_err(cannot)?;
    }
    Ok(())
}
