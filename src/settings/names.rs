//! Names the service defines (app ids, branch names) and the source URL,
//! parsed once, when settings are resolved: an [`AppId`] or a
//! [`BranchName`] can only hold a valid value, so nothing after resolution
//! checks one again.

use std::fmt;
use std::ops::Deref;

use crate::error::RunError;

/// An Amplify app id: `d` then lower-case letters or digits, at most 20.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct AppId(String);

impl AppId {
    /// `app_id` (`--app-id`, `AMPLIFY_APP_ID`), checked.
    pub fn parse(app_id: Option<&str>) -> Result<AppId, RunError> {
        validate_app_id(app_id).map(AppId)
    }
}

/// An Amplify branch name: 1–255 characters, none a control character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct BranchName(String);

impl BranchName {
    /// `branch` (`--branch`, `AMPLIFY_BRANCH`, a preview's name), checked.
    pub fn parse(branch: Option<&str>) -> Result<BranchName, RunError> {
        validate_branch(branch).map(BranchName)
    }
}

macro_rules! name_type {
    ($name:ident) => {
        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }
    };
}

name_type!(AppId);
name_type!(BranchName);

/// `appId` matches `d[a-z0-9]+`, 1–20 characters.
pub(super) fn validate_app_id(app_id: Option<&str>) -> Result<String, RunError> {
    let Some(app_id) = app_id.filter(|s| !s.is_empty()) else {
        return Err(RunError::input(
            "app-id is required: pass --app-id or set AMPLIFY_APP_ID (input app-id in GitHub Actions)",
        ));
    };
    let ok = app_id.len() <= 20
        && app_id.starts_with('d')
        && app_id.len() > 1
        && app_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok {
        return Err(RunError::input(format!(
            "app-id {app_id:?} is not an Amplify app id: expected 'd' then lower-case letters or digits, at most 20 characters (e.g. d1a2b3c4d5e6f7)"
        )));
    }
    Ok(app_id.to_owned())
}

/// Branch names are 1–255 characters.
pub(super) fn validate_branch(branch: Option<&str>) -> Result<String, RunError> {
    let Some(branch) = branch.filter(|s| !s.is_empty()) else {
        return Err(RunError::input(
            "branch is required: pass --branch or set AMPLIFY_BRANCH (input branch in GitHub Actions)",
        ));
    };
    let chars = branch.chars().count();
    if chars > 255 {
        return Err(RunError::input(format!(
            "branch is {chars} characters long: Amplify allows at most 255"
        )));
    }
    if branch.chars().any(char::is_control) {
        return Err(RunError::input(format!(
            "branch {branch:?} contains a control character"
        )));
    }
    Ok(branch.to_owned())
}

/// `http(s)://…` or `s3://bucket/…`.
pub fn validate_source_url(url: &str) -> Result<(), RunError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| RunError::input(format!("source-url {url:?} is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" | "http" | "s3" if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        scheme => Err(RunError::input(format!(
            "source-url scheme {scheme:?} is not supported: use https://… (a public .zip) or s3://bucket/prefix"
        ))),
    }
}
