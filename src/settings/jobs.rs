//! The branch, job, preview, rules and init commands' settings.

use std::path::PathBuf;
use std::time::Duration;

use super::deploy::{FilterSettings, LockRequest};
use super::github::{GitHubSettings, DEFAULT_GITHUB_API_URL};
use super::names::{AppId, BranchName};
use super::{trimmed, AwsSettings, Env};
use crate::cli::{BranchTarget, InitArgs, JobArgs, PreviewsCommand};
use crate::error::RunError;
use crate::rules::site::NotFoundPage;

/// `lock`: the branch, and why and by whom it is locked.
pub struct LockSettings {
    pub target: BranchSettings,
    pub request: LockRequest,
}

/// `amplify-deploy rules sync`.
pub struct RulesSyncSettings {
    pub app_id: AppId,
    pub from: Option<PathBuf>,
    pub spa: bool,
    /// `--not-found-page`: `404.html` of the `--from` folder by default.
    pub not_found_page: NotFoundPage,
    pub dry_run: bool,
    pub aws: AwsSettings,
    pub timeout: Duration,
}

/// `amplify-deploy package`.
pub struct PackageSettings {
    pub path: PathBuf,
    pub output: PathBuf,
    pub filter: FilterSettings,
}

/// The Amplify branch a branch command works on.
pub struct BranchSettings {
    pub app_id: AppId,
    pub branch: BranchName,
    pub aws: AwsSettings,
    /// `--timeout`: the whole command's bound.
    pub timeout: Duration,
}

impl BranchSettings {
    pub(super) fn resolve(t: &BranchTarget, env: &Env) -> Result<BranchSettings, RunError> {
        Ok(BranchSettings {
            app_id: AppId::parse(t.app_id.as_deref())?,
            branch: BranchName::parse(t.branch.as_deref())?,
            aws: AwsSettings::resolve(&t.aws, env),
            timeout: t.timeout.timeout,
        })
    }
}

/// `delete-job`: a branch and the job to delete, which only the command
/// line names (no variable: `AMPLIFY_JOB_ID` may be another run's job).
pub struct DeleteJobSettings {
    pub target: BranchSettings,
    pub job_id: String,
    pub dry_run: bool,
}

/// `status` and `stop`: a branch and a job id (`None`: its newest job).
pub struct JobSettings {
    pub target: BranchSettings,
    pub job_id: Option<String>,
}

/// `init`: the app, and what to write for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSettings {
    pub app_id: AppId,
    /// The production branch (`--branch`, else `main`).
    pub branch: BranchName,
    /// The build folder the workflow deploys (`--path`, else `dist`).
    pub path: String,
    pub gitlab: bool,
    /// `--no-environments`: the roles trust branch and event subjects.
    pub no_environments: bool,
    /// `--preview-prefix`, trimmed, as given.
    pub preview_prefix: Option<String>,
    /// `--repository`; `None`: from `git remote get-url origin`.
    pub repository: Option<String>,
    /// `--action-sha`, as given.
    pub action_sha: Option<String>,
    /// `--action-repository`, as given.
    pub action_repository: Option<String>,
    /// Where the action's release tag is looked up: `GITHUB_API_URL`, and
    /// `GITHUB_TOKEN` when set (public reads need none).
    pub github_api_url: String,
    pub github_token: Option<String>,
    pub print: bool,
    pub force: bool,
    pub aws: AwsSettings,
    pub timeout: Duration,
}

impl InitSettings {
    pub(super) fn resolve(args: &InitArgs, env: &Env) -> Result<InitSettings, RunError> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let path = args
            .path
            .as_deref()
            .map(|p| p.to_string_lossy().into_owned());
        Ok(InitSettings {
            app_id: AppId::parse(args.app_id.as_deref())?,
            branch: BranchName::parse(Some(given(&args.branch).unwrap_or("main")))?,
            path: given(&path).unwrap_or("dist").to_owned(),
            gitlab: args.gitlab,
            no_environments: args.no_environments,
            preview_prefix: given(&args.preview_prefix).map(str::to_owned),
            repository: given(&args.repository).map(str::to_owned),
            action_sha: given(&args.action_sha).map(str::to_owned),
            action_repository: given(&args.action_repository).map(str::to_owned),
            github_api_url: env
                .get("GITHUB_API_URL")
                .unwrap_or_else(|| DEFAULT_GITHUB_API_URL.to_owned()),
            github_token: env.get("GITHUB_TOKEN").filter(|t| !t.trim().is_empty()),
            print: args.print,
            force: args.force,
            aws: AwsSettings::resolve(&args.aws, env),
            timeout: args.timeout.timeout,
        })
    }
}

impl JobSettings {
    pub(super) fn resolve(args: &JobArgs, env: &Env) -> Result<JobSettings, RunError> {
        Ok(JobSettings {
            target: BranchSettings::resolve(&args.target, env)?,
            job_id: args.job_id.clone(),
        })
    }
}

/// `previews list` and `previews prune`.
pub struct PreviewsSettings {
    pub app_id: AppId,
    pub aws: AwsSettings,
    /// `--preview-prefix`, trimmed (the legacy ownership rule).
    pub prefix: String,
    pub github: GitHubSettings,
    pub json: bool,
    /// `None`: list.
    pub prune: Option<PruneSettings>,
    pub timeout: Duration,
}

/// What `previews prune` removes. With no selector given, `closed` and
/// `expired` are both on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneSettings {
    pub older_than: Option<Duration>,
    pub closed: bool,
    pub expired: bool,
    pub dry_run: bool,
}

impl PreviewsSettings {
    pub(super) fn resolve(
        command: &PreviewsCommand,
        env: &Env,
    ) -> Result<PreviewsSettings, RunError> {
        let (target, prune, environment) = match command {
            PreviewsCommand::List(a) => (&a.target, None, None),
            PreviewsCommand::Prune(a) => {
                let none = a.older_than.is_none() && !a.closed && !a.expired;
                let prune = PruneSettings {
                    older_than: a.older_than,
                    closed: a.closed || none,
                    expired: a.expired || none,
                    dry_run: a.dry_run,
                };
                (&a.target, Some(prune), trimmed(&a.deployment_environment))
            }
        };
        Ok(PreviewsSettings {
            app_id: AppId::parse(target.app_id.as_deref())?,
            aws: AwsSettings::resolve(&target.aws, env),
            prefix: target.preview_prefix.trim().to_owned(),
            github: GitHubSettings::from_parts(&target.github_token, environment, env),
            json: target.json,
            prune,
            timeout: target.timeout.timeout,
        })
    }
}
