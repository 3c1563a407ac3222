//! What `init` writes for an app: CI files that build without AWS rights
//! and deploy with one of two roles (production: the production branch
//! only; preview: branches named `{prefix}*` only), the roles' permissions
//! policies and their OIDC trust policies, all filled in for the app and
//! the repository. On GitHub a second workflow deploys the previews of
//! pull requests from forks from a trusted run (docs/previews.md#forks).
//! Nothing here talks to AWS or touches the disk: the command does.

mod repo;
mod workflow;

pub use repo::{parse_remote, Host, Repository};

use crate::policy::{self, AppRef, Role};

/// The GitHub workflow `init` writes: build, then deploy.
pub const GITHUB_WORKFLOW: &str = ".github/workflows/amplify-deploy.yml";
/// The GitHub workflow of trusted triggers: previews of forks, approvals,
/// closing.
pub const GITHUB_PREVIEW_WORKFLOW: &str = ".github/workflows/amplify-preview.yml";
/// The GitLab pipeline `init --gitlab` writes.
pub const GITLAB_PIPELINE: &str = ".gitlab-ci.yml";
/// The label that approves a fork's preview (the action's `preview-label`).
pub const PREVIEW_LABEL: &str = "preview";
/// The artifact a pull request's build uploads (the action's
/// `preview-artifact`): the trusted run looks it up by this name.
pub const PREVIEW_ARTIFACT: &str = "amplify-preview";
/// The artifact a push's build uploads, for the production deploy job.
pub const SITE_ARTIFACT: &str = "amplify-site";

/// The files and name of one role `init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleFiles {
    pub role: Role,
    /// The IAM role's name, in the workflow's ARN and the notes.
    pub name: &'static str,
    /// Its permissions policy.
    pub iam: &'static str,
    /// Its trust policy.
    pub trust: &'static str,
}

/// The two roles.
pub const ROLES: [RoleFiles; 2] = [
    RoleFiles {
        role: Role::Production,
        name: "amplify-deploy-production",
        iam: "amplify-deploy-production-iam-policy.json",
        trust: "amplify-deploy-production-trust-policy.json",
    },
    RoleFiles {
        role: Role::Preview,
        name: "amplify-deploy-preview",
        iam: "amplify-deploy-preview-iam-policy.json",
        trust: "amplify-deploy-preview-trust-policy.json",
    },
];

/// The files of `role`.
pub fn role_files(role: Role) -> RoleFiles {
    match role {
        Role::Production => ROLES[0],
        Role::Preview => ROLES[1],
    }
}

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
    /// GitHub: the roles trust the environments `production` and `preview`
    /// (`false`: `--no-environments`, branch and event subjects instead).
    pub environments: bool,
    /// The previews' branch prefix (`pr-`, GitLab `mr-`).
    pub preview_prefix: String,
    pub action: ActionRef,
}

impl Params {
    /// The repository, or the placeholder the trust policies name.
    fn repo(&self) -> &str {
        let placeholder = if self.gitlab {
            "GROUP/PROJECT"
        } else {
            "OWNER/REPO"
        };
        self.repository.as_deref().unwrap_or(placeholder)
    }

    /// The ARN of `role`, as the workflow assumes it.
    fn role_arn(&self, role: Role) -> String {
        format!(
            "arn:{}:iam::{}:role/{}",
            self.app.partition,
            self.app.account,
            role_files(role).name
        )
    }
}

/// A file to write, its path relative to the repository's root, and what
/// it is (for the output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: &'static str,
    pub about: String,
    pub text: String,
}

/// The files for `p`, and what the user still has to do.
pub fn files(p: &Params) -> (Vec<File>, Vec<String>) {
    let mut files = if p.gitlab {
        vec![File {
            path: GITLAB_PIPELINE,
            about: format!(
                "build, then deploy {} with the production role and each merge request to {}IID with the preview role",
                p.branch, p.preview_prefix
            ),
            text: workflow::gitlab(p),
        }]
    } else {
        vec![
            File {
                path: GITHUB_WORKFLOW,
                about: format!(
                    "build without AWS rights, then deploy a push to {} (environment production) or a pull request of this repository (environment preview); nightly prune",
                    p.branch
                ),
                text: workflow::github(p),
            },
            File {
                path: GITHUB_PREVIEW_WORKFLOW,
                about: "trusted runs, no checkout: previews of forks' pull requests (workflow_run, label preview), approval removed on a new push, previews removed on close".to_owned(),
                text: workflow::github_trusted(p),
            },
        ]
    };
    for r in ROLES {
        files.extend(role(p, r));
    }
    (files, notes(p))
}

/// The permissions and trust policies of role `r`.
fn role(p: &Params, r: RoleFiles) -> [File; 2] {
    let (iam, can) = match r.role {
        Role::Production => (
            policy::production_policy(&p.app, &p.branch),
            format!("deploy branch {} only, no DeleteBranch", p.branch),
        ),
        Role::Preview => (
            policy::preview_policy(&p.app, &p.preview_prefix),
            format!("change branches {}* only", p.preview_prefix),
        ),
    };
    let (trust, whom) = if p.gitlab {
        let trust = policy::gitlab_trust_policy(&p.app, p.repo(), r.role, &p.branch);
        let whom = match r.role {
            Role::Production => format!("jobs on branch {} of {}", p.branch, p.repo()),
            Role::Preview => format!("jobs on any branch of {}", p.repo()),
        };
        (trust, whom)
    } else {
        let trust =
            policy::github_trust_policy(&p.app, p.repo(), r.role, p.environments, &p.branch);
        let whom = match (r.role, p.environments) {
            (Role::Production, true) => "jobs in environment production".to_owned(),
            (Role::Preview, true) => "jobs in environment preview".to_owned(),
            (Role::Production, false) => format!("runs on branch {}", p.branch),
            (Role::Preview, false) => {
                format!("pull request runs and runs on branch {}", p.branch)
            }
        };
        (trust, format!("{whom} of {}", p.repo()))
    };
    [
        File {
            path: r.iam,
            about: format!("role {}: {can}", r.name),
            text: iam.to_file_text(),
        },
        File {
            path: r.trust,
            about: format!("role {}: trusts {whom}", r.name),
            text: trust.to_file_text(),
        },
    ]
}

/// What is left to the user: the placeholders, the environments, and
/// creating the roles.
fn notes(p: &Params) -> Vec<String> {
    let mut notes = Vec::new();
    if p.repository.is_none() {
        notes.push(format!(
            "no GitHub or GitLab remote named origin: the trust policies name a placeholder repository ({}); \
             replace it, or run again with --repository OWNER/NAME",
            p.repo()
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
            "the workflows take {repo} by tag {version}{why}: pin it to the tag's full commit \
             SHA (git ls-remote https://github.com/{repo} refs/tags/{version}), or run again \
             with --action-sha SHA",
            repo = p.action.repository,
            version = p.action.version,
        ));
    }
    notes.extend(platform_notes(p));
    let provider = if p.gitlab {
        "https://gitlab.com"
    } else {
        "https://token.actions.githubusercontent.com"
    };
    notes.push(format!(
        "once per account, create the OIDC provider: aws iam create-open-id-connect-provider \
         --url {provider} --client-id-list sts.amazonaws.com"
    ));
    for r in ROLES {
        notes.push(format!(
            "create the role: aws iam create-role --role-name {name} \
             --assume-role-policy-document file://{trust} && \
             aws iam put-role-policy --role-name {name} --policy-name {name} \
             --policy-document file://{iam}",
            name = r.name,
            trust = r.trust,
            iam = r.iam,
        ));
    }
    notes
}

/// What GitLab, or GitHub with or without environments, asks of the user.
fn platform_notes(p: &Params) -> Vec<String> {
    if p.gitlab {
        return vec![
            "set AMPLIFY_DEPLOY_SHA256 in .gitlab-ci.yml to the release archive's hash \
             (the release's SHA256SUMS)"
                .to_owned(),
            format!(
                "protect branch {} (only maintainers push): the production role trusts every job on it; \
                 the preview role trusts jobs on any branch, and can change only {}* branches (docs/gitlab.md)",
                p.branch, p.preview_prefix
            ),
        ];
    }
    if p.environments {
        return vec![format!(
            "create the environments production and preview (Settings > Environments), and restrict \
             production's deployment branches to {}: the roles trust only jobs in them, and a pull \
             request can add any job to its own workflow (docs/iam.md#environments)",
            p.branch
        )];
    }
    vec![format!(
        "without environments (--no-environments) the production role trusts every run on branch {} \
         and the preview role every pull request run of the repository (and the runs on {}): no \
         required reviewers or deployment branch rules guard them (docs/iam.md#without-environments)",
        p.branch, p.branch
    )]
}
