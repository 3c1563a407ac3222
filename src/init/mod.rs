//! What `init` writes for an app: a CI workflow that deploys on push and
//! previews pull requests, the role's permissions policy and its OIDC trust
//! policy, all filled in for the app and the repository. Nothing here talks
//! to AWS or touches the disk: the command does.

mod repo;
mod workflow;

pub use repo::{parse_remote, Host, Repository};

use crate::policy::{self, AppRef};

/// The GitHub workflow `init` writes.
pub const GITHUB_WORKFLOW: &str = ".github/workflows/amplify-deploy.yml";
/// The GitLab pipeline `init --gitlab` writes.
pub const GITLAB_PIPELINE: &str = ".gitlab-ci.yml";
/// The role's permissions policy.
pub const IAM_POLICY: &str = "amplify-deploy-iam-policy.json";
/// The role's trust policy.
pub const TRUST_POLICY: &str = "amplify-deploy-trust-policy.json";
/// The role the workflow assumes; the notes say how to create it.
pub const ROLE_NAME: &str = "amplify-deploy";

/// The commit this binary's release tag names, when the build was told
/// (`AMPLIFY_DEPLOY_RELEASE_COMMIT`). The release workflow cannot tell it:
/// its assets are built before the tagged commit exists (docs/releasing.md).
fn release_commit() -> Option<&'static str> {
    option_env!("AMPLIFY_DEPLOY_RELEASE_COMMIT")
        .filter(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The action's repository (`owner/amplify-deploy`), embedded by the
/// release workflow (`AMPLIFY_DEPLOY_RELEASE_REPOSITORY`); `None` in other
/// builds.
fn release_repository() -> Option<&'static str> {
    option_env!("AMPLIFY_DEPLOY_RELEASE_REPOSITORY")
        .filter(|r| r.split('/').count() == 2 && !r.contains(char::is_whitespace))
}

/// Where the workflow takes amplify-deploy from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRef {
    /// `owner/name` of the action's repository.
    pub repository: String,
    /// `v1.2.3`.
    pub version: String,
    /// The release's full commit SHA, when known.
    pub commit: Option<String>,
    /// Why the commit is not known, for the note.
    pub unresolved: Option<String>,
}

/// The action's repository in builds that were not released.
pub const PLACEHOLDER_REPOSITORY: &str = "OWNER/amplify-deploy";

impl ActionRef {
    /// This binary's release.
    pub fn of_this_build() -> ActionRef {
        ActionRef {
            repository: release_repository()
                .unwrap_or(PLACEHOLDER_REPOSITORY)
                .to_owned(),
            version: format!("v{}", env!("CARGO_PKG_VERSION")),
            commit: release_commit().map(str::to_owned),
            unresolved: None,
        }
    }

    /// Whether the repository is a real one (its tag can be looked up).
    pub fn is_known(&self) -> bool {
        self.repository != PLACEHOLDER_REPOSITORY
    }

    /// `owner/name@SHA # v1.2.3`, else `owner/name@v1.2.3`.
    fn uses(&self) -> String {
        match &self.commit {
            Some(sha) => format!("{}@{sha} # {}", self.repository, self.version),
            None => format!("{}@{}", self.repository, self.version),
        }
    }
}

/// Everything the files are filled in with.
#[derive(Debug, Clone)]
pub struct Params {
    pub app: AppRef,
    /// The production branch.
    pub branch: String,
    /// The build folder.
    pub path: String,
    /// The repository the trust policy names; `None`: a placeholder.
    pub repository: Option<String>,
    pub gitlab: bool,
    pub action: ActionRef,
}

/// A file to write, its path relative to the repository's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: &'static str,
    pub text: String,
}

/// The files for `p`, and what the user still has to do.
pub fn files(p: &Params) -> (Vec<File>, Vec<String>) {
    let repo = p.repository.as_deref().unwrap_or(if p.gitlab {
        "GROUP/PROJECT"
    } else {
        "OWNER/REPO"
    });
    let (ci, trust) = if p.gitlab {
        let ci = File {
            path: GITLAB_PIPELINE,
            text: workflow::gitlab(p),
        };
        (ci, policy::gitlab_trust_policy(&p.app, repo))
    } else {
        let ci = File {
            path: GITHUB_WORKFLOW,
            text: workflow::github(p),
        };
        (ci, policy::github_trust_policy(&p.app, repo))
    };
    let iam = policy::iam_policy(&p.app, policy::DEPLOY_AND_PREVIEWS);
    let files = vec![
        ci,
        File {
            path: IAM_POLICY,
            text: iam.to_file_text(),
        },
        File {
            path: TRUST_POLICY,
            text: trust.to_file_text(),
        },
    ];
    (files, notes(p))
}

/// What is left to the user: the placeholders, and creating the role.
fn notes(p: &Params) -> Vec<String> {
    let mut notes = Vec::new();
    if p.repository.is_none() {
        notes.push(format!(
            "no GitHub or GitLab remote named origin: {TRUST_POLICY} names a placeholder repository; \
             replace it, or run again with --repository OWNER/NAME"
        ));
    }
    if p.action.commit.is_none() && !p.gitlab {
        let why = p
            .action
            .unresolved
            .as_deref()
            .map(|why| format!(" ({why})"))
            .unwrap_or_default();
        notes.push(format!(
            "the workflow takes {repo} by tag {version}{why}: pin it to the tag's full commit \
             SHA (git ls-remote https://github.com/{repo} refs/tags/{version}), or run again \
             with --action-sha SHA",
            repo = p.action.repository,
            version = p.action.version,
        ));
    }
    if p.gitlab {
        notes.push(
            "set AMPLIFY_DEPLOY_SHA256 in .gitlab-ci.yml to the release archive's hash \
             (the release's SHA256SUMS)"
                .to_owned(),
        );
    }
    let provider = if p.gitlab {
        "https://gitlab.com"
    } else {
        "https://token.actions.githubusercontent.com"
    };
    notes.push(format!(
        "once per account, create the OIDC provider: aws iam create-open-id-connect-provider \
         --url {provider} --client-id-list sts.amazonaws.com"
    ));
    notes.push(format!(
        "create the role: aws iam create-role --role-name {ROLE_NAME} \
         --assume-role-policy-document file://{TRUST_POLICY} && \
         aws iam put-role-policy --role-name {ROLE_NAME} --policy-name {ROLE_NAME} \
         --policy-document file://{IAM_POLICY}"
    ));
    notes
}
