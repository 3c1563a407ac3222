//! GitHub's side of a deploy: the event (a pull request's preview, the
//! pushed commit), the REST API's settings, and the CI run's facts that
//! provenance records.

use std::time::Duration;

use std::path::PathBuf;

use super::names::BranchName;
use super::{trimmed, DeployOptions, DeploySettings, Env, FilterSettings};
use crate::choices::{ForkPreviews, Stage};
use crate::cli::DeployArgs;
use crate::error::RunError;
use crate::github::event::{PullRequest, WorkflowRun, PULL_REQUEST_EVENTS, WORKFLOW_RUN_EVENT};
use crate::package::unpack::Caps;

/// The public GitHub API; `GITHUB_API_URL` overrides it (GitHub Enterprise Server).
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

/// Who places a lock: the CI run (`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/
/// actions/runs/$GITHUB_RUN_ID`, GitLab's `CI_JOB_URL`), else
/// `user@host` from `USER`/`USERNAME` and `HOSTNAME`/`COMPUTERNAME`.
pub(super) fn lock_by(env: &Env) -> String {
    if let Some(url) = run_url(env) {
        return url;
    }
    let user = env.get("USER").or_else(|| env.get("USERNAME"));
    let host = env.get("HOSTNAME").or_else(|| env.get("COMPUTERNAME"));
    match (user, host) {
        (Some(u), Some(h)) => format!("{u}@{h}"),
        (Some(u), None) => u,
        (None, Some(h)) => format!("someone@{h}"),
        (None, None) => "an unknown user".to_owned(),
    }
}

/// The CI run's page: GitHub's run URL, else GitLab's `CI_JOB_URL`.
pub(super) fn run_url(env: &Env) -> Option<String> {
    match (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repo), Some(run)) => Some(format!(
            "{}/{repo}/actions/runs/{run}",
            server.trim_end_matches('/')
        )),
        _ => env.get("CI_JOB_URL"),
    }
}

/// What `--max-previews`, `--evict-open` and `--preview-ttl` ask of a
/// preview deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// `--preview-prefix`, trimmed (which branches are previews).
    pub prefix: String,
    pub max_previews: usize,
    pub evict_open: bool,
    pub ttl: Option<Duration>,
}

/// What `--preview` decided from the GitHub event.
#[derive(Debug, Clone)]
pub enum Preview {
    /// `--preview` is off.
    Off,
    /// A pull request event: deploy to (or, closed, remove) its own branch,
    /// [`DeploySettings::branch`].
    PullRequest {
        pr: PullRequest,
        /// `--branch`, which the preview branch replaces.
        given_branch: Option<String>,
    },
    /// Another event: deploy to `--branch` as usual. Why, for the log.
    NotPullRequest { why: String },
}

/// GitHub's side of a deploy: the REST API and the deployment to report.
/// No `Debug`: it holds the token.
#[derive(Clone)]
pub struct GitHubSettings {
    /// `--github-token`, else `GITHUB_TOKEN`.
    pub token: Option<String>,
    pub repository: Option<String>,
    pub api_url: String,
    /// `GITHUB_SHA`: the commit of a non-preview deployment.
    pub sha: Option<String>,
    /// `--deployment-environment`, trimmed.
    pub deployment_environment: Option<String>,
    /// `--commit-status`: post a commit status for the deploy.
    pub commit_status: bool,
}

impl GitHubSettings {
    pub(super) fn resolve(args: &DeployArgs, env: &Env) -> GitHubSettings {
        let environment = trimmed(&args.deployment_environment);
        GitHubSettings {
            commit_status: args.commit_status.unwrap_or(false),
            ..GitHubSettings::from_parts(&args.github_token, environment, env)
        }
    }

    /// The token (`--github-token`, else `GITHUB_TOKEN`), the repository
    /// and API from the environment.
    pub(super) fn from_parts(
        token: &Option<String>,
        deployment_environment: Option<String>,
        env: &Env,
    ) -> GitHubSettings {
        GitHubSettings {
            token: token
                .clone()
                .filter(|t| !t.trim().is_empty())
                .or_else(|| env.get("GITHUB_TOKEN")),
            repository: env.get("GITHUB_REPOSITORY"),
            api_url: env
                .get("GITHUB_API_URL")
                .unwrap_or_else(|| DEFAULT_GITHUB_API_URL.to_owned()),
            sha: env.get("GITHUB_SHA"),
            deployment_environment,
            commit_status: false,
        }
    }
}

/// The commit a deploy is of, and what is recorded on the branch about it.
/// Each part is absent when the CI does not say (git is never asked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSettings {
    /// `--message`, else the pushed commit's subject (`head_commit.message`),
    /// the pull request's title, or `CI_COMMIT_TITLE`.
    pub message: Option<String>,
    /// `GITHUB_SHA` (a pull request's head sha), else `CI_COMMIT_SHA`.
    pub sha: Option<String>,
    /// Epoch seconds: `head_commit.timestamp`, else `CI_COMMIT_TIMESTAMP`.
    pub time: Option<i64>,
    /// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`, else `CI_JOB_URL`.
    pub run_url: Option<String>,
    /// `--force`: deploy even when the live deploy is of a newer commit.
    pub force: bool,
}

impl CommitSettings {
    pub(super) fn resolve(args: &DeployArgs, env: &Env) -> CommitSettings {
        let event = read_event(env).unwrap_or(serde_json::Value::Null);
        let text = |pointer: &str| {
            event
                .pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let subject = text("/head_commit/message")
            .and_then(|m| m.lines().next().map(str::to_owned))
            .or_else(|| text("/pull_request/title"))
            .or_else(|| env.get("CI_COMMIT_TITLE"));
        let run_url = run_url(env);
        CommitSettings {
            message: trimmed(&args.message).or(subject),
            sha: text("/pull_request/head/sha")
                .or_else(|| env.get("GITHUB_SHA"))
                .or_else(|| env.get("CI_COMMIT_SHA")),
            time: text("/head_commit/timestamp")
                .or_else(|| env.get("CI_COMMIT_TIMESTAMP"))
                .and_then(|t| crate::provenance::parse_time(&t)),
            run_url,
            force: args.force.unwrap_or(false),
        }
    }
}

/// The GitHub event payload, when there is one and it is JSON.
pub(super) fn read_event(env: &Env) -> Option<serde_json::Value> {
    env.get("GITHUB_EVENT_NAME")?;
    let text = std::fs::read_to_string(env.get("GITHUB_EVENT_PATH")?).ok()?;
    serde_json::from_str(&text).ok()
}

/// `--preview`: on a pull request event, read the pull request; on
/// `workflow_run` with no folder or URL to deploy, the trusted run of a
/// fork's preview ([`ForkSettings::trusted`]) finds its pull request later;
/// on any other, deploy to `--branch`, which must then be given.
pub(super) fn resolve_preview(args: &DeployArgs, env: &Env) -> Result<Preview, RunError> {
    let event = env.get("GITHUB_EVENT_NAME");
    let what = match event.as_deref() {
        Some(name) if PULL_REQUEST_EVENTS.contains(&name) => {
            return Ok(Preview::PullRequest {
                pr: read_pull_request(name, env)?,
                given_branch: args.branch.clone(),
            });
        }
        Some(WORKFLOW_RUN_EVENT) if deploys_an_artifact(args) => {
            return Ok(Preview::NotPullRequest {
                why: "the workflow_run event deploys the build run's artifact".to_owned(),
            });
        }
        Some(name) => format!("the {name} event is not a pull request event"),
        None => "not running for a GitHub event (GITHUB_EVENT_NAME is unset)".to_owned(),
    };
    if args.branch.as_deref().is_none_or(str::is_empty) {
        return Err(RunError::input(format!(
            "preview is on, but {what}, and no branch is given to deploy to instead"
        ))
        .hint("pass --branch (input branch) for pushes, or run on pull_request events only"));
    }
    Ok(Preview::NotPullRequest { why: what })
}

pub(super) fn read_pull_request(event: &str, env: &Env) -> Result<PullRequest, RunError> {
    let Some(path) = env.get("GITHUB_EVENT_PATH") else {
        return Err(RunError::input(format!(
            "preview: GITHUB_EVENT_NAME is {event}, but GITHUB_EVENT_PATH (the event payload) is not set"
        )));
    };
    let payload = std::fs::read_to_string(&path).map_err(|e| {
        RunError::input(format!(
            "preview: cannot read the event payload {path}: {e}"
        ))
    })?;
    PullRequest::parse(event, &payload)
        .map_err(|e| RunError::input(format!("preview: {path}: {e}")))
}

/// A fork's preview: which forks get one, the label that approves one,
/// the artifact its build uploads, and, in the trusted run that deploys
/// it, the event that run is for.
#[derive(Debug, Clone)]
pub struct ForkSettings {
    /// `--fork-previews`.
    pub mode: ForkPreviews,
    /// `--preview-label`, trimmed.
    pub label: String,
    /// `--preview-artifact`, trimmed.
    pub artifact: String,
    /// What the artifact may hold (hidden options, for tests).
    pub caps: Caps,
    /// This run deploys a pull request's build artifact: `--preview` with
    /// neither `--path` nor `--source-url`, on `workflow_run` or
    /// `pull_request_target`.
    pub trusted: Option<TrustedEvent>,
    /// `--stage` as given: a fork's preview branch is created with it,
    /// else `PULL_REQUEST`.
    pub stage: Option<Stage>,
    /// How the artifact, once unpacked, is packaged (`--exclude`, …).
    pub filter: FilterSettings,
}

/// The event of a trusted run that deploys a pull request's artifact.
#[derive(Debug, Clone)]
pub enum TrustedEvent {
    /// A build run ended.
    WorkflowRun(WorkflowRun),
    /// A pull request event in the base repository's context (`labeled`:
    /// perhaps the approval label).
    PullRequestTarget(PullRequest),
}

/// `--preview` with nothing given to deploy: the build run's artifact is.
fn deploys_an_artifact(args: &DeployArgs) -> bool {
    args.preview == Some(true) && args.path.is_none() && args.source_url.is_none()
}

impl ForkSettings {
    /// `redeploy`: rollback and promote, which never take a fork's path.
    pub(super) fn resolve(
        args: &DeployArgs,
        env: &Env,
        preview: &Preview,
        redeploy: bool,
    ) -> Result<ForkSettings, RunError> {
        let named = |value: &str, input: &str| match value.trim() {
            "" => Err(RunError::input(format!("{input} must not be empty"))),
            v => Ok(v.to_owned()),
        };
        let trusted = match (env.get("GITHUB_EVENT_NAME").as_deref(), preview) {
            _ if redeploy || !deploys_an_artifact(args) => None,
            (Some(WORKFLOW_RUN_EVENT), _) => {
                Some(TrustedEvent::WorkflowRun(read_workflow_run(env)?))
            }
            (Some("pull_request_target"), Preview::PullRequest { pr, .. }) => {
                Some(TrustedEvent::PullRequestTarget(pr.clone()))
            }
            _ => None,
        };
        Ok(ForkSettings {
            mode: args.fork_previews,
            label: named(&args.preview_label, "preview-label")?,
            artifact: named(&args.preview_artifact, "preview-artifact")?,
            caps: artifact_caps(env)?,
            trusted,
            stage: args.stage,
            filter: FilterSettings::resolve(&args.filter, env),
        })
    }
}

/// What a fork's artifact may hold: [`Caps::default`], or lower for tests
/// through `AMPLIFY_PREVIEW_ARTIFACT_MAX_ENTRIES` and
/// `AMPLIFY_PREVIEW_ARTIFACT_MAX_BYTES` (not options: read here only).
fn artifact_caps(env: &Env) -> Result<Caps, RunError> {
    let number = |name: &str, default: u64| match env.get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| RunError::input(format!("{name} {v:?} is not a whole number"))),
    };
    let default = Caps::default();
    Ok(Caps {
        max_entries: number("AMPLIFY_PREVIEW_ARTIFACT_MAX_ENTRIES", default.max_entries)?,
        max_bytes: number("AMPLIFY_PREVIEW_ARTIFACT_MAX_BYTES", default.max_bytes)?,
    })
}

fn read_workflow_run(env: &Env) -> Result<WorkflowRun, RunError> {
    let Some(path) = env.get("GITHUB_EVENT_PATH") else {
        return Err(RunError::input(
            "preview: GITHUB_EVENT_NAME is workflow_run, but GITHUB_EVENT_PATH (the event payload) is not set",
        ));
    };
    let payload = std::fs::read_to_string(&path).map_err(|e| {
        RunError::input(format!(
            "preview: cannot read the event payload {path}: {e}"
        ))
    })?;
    WorkflowRun::parse(&payload).map_err(|e| RunError::input(format!("preview: {path}: {e}")))
}

impl DeploySettings {
    /// What the trusted run of a fork's preview deploys once it has found
    /// the pull request and its artifact: `folder` (the artifact,
    /// unpacked) to `{preview-prefix}{number}` as `pr`'s preview, as a
    /// pull request of the repository deploys its own (comment, GitHub
    /// deployment and commit status on `pr`'s head commit). `title` is
    /// the deploy message unless `--message` gave one.
    pub fn for_fork_preview(
        &self,
        pr: PullRequest,
        title: Option<String>,
        folder: PathBuf,
    ) -> Result<DeploySettings, RunError> {
        let branch = format!("{}{}", self.lifecycle.prefix, pr.number);
        let branch = BranchName::parse(Some(&branch))
            .map_err(|e| RunError::input(format!("preview-prefix: {}", e.message)))?;
        let given_branch = match &self.preview {
            Preview::PullRequest { given_branch, .. } => given_branch.clone(),
            _ => Some(self.branch.to_string()).filter(|b| b != super::deploy::FORK_PENDING),
        };
        let options = DeployOptions {
            branch,
            create_branch: true,
            stage: self.fork.stage.unwrap_or(Stage::PullRequest),
            preview: Preview::PullRequest {
                pr: pr.clone(),
                given_branch,
            },
            fork: ForkSettings {
                trusted: None,
                ..self.fork.clone()
            },
            ..self.options.clone()
        };
        let source = super::deploy::folder_source(&self.fork.filter, &options, &folder)?;
        Ok(DeploySettings {
            options,
            source: Some(source),
            commit: CommitSettings {
                sha: pr.head_sha.clone(),
                message: self.commit.message.clone().or(title),
                ..self.commit.clone()
            },
        })
    }
}
