//! Settings, resolved once before anything runs (uv's `settings.rs`): the
//! command line, the environment and the GitHub event become one immutable,
//! typed value per command. Nothing below the command layer reads the
//! environment or sees a clap type; it gets these structs.
//!
//! The precedence chain, in one place:
//! 1. a flag on the command line;
//! 2. its `AMPLIFY_*` variable (clap's `env`, declared in `cli`);
//! 3. GitHub's `INPUT_*` variable ([`crate::cli::parse`] passes it as a
//!    flag for an option that neither a flag nor `AMPLIFY_*` sets);
//! 4. the GitHub event, for previews: a pull request decides the branch,
//!    `create-branch` and (unless given) the stage;
//! 5. AWS conventions (`AWS_REGION`, `AWS_ENDPOINT_URL_AMPLIFY`, …, here;
//!    the profile when connecting, see `connection`);
//! 6. the default.
//!
//! Only the standard AWS credential chain (`aws-config`: `AWS_ACCESS_KEY_ID`,
//! `AWS_PROFILE`, container and instance metadata, …) and the profile files
//! are read later, by aws-config itself, as every AWS SDK does.

mod auth;
mod aws;
mod deploy;
mod env;
mod github;
mod jobs;
mod names;
mod output;
mod store;
#[cfg(test)]
mod tests;

pub use auth::BasicAuth;
pub use aws::{AwsSettings, Endpoint, TokenEnv, DEFAULT_ROLE_DURATION_SECONDS};
pub use deploy::{
    root_document, DeployOptions, DeploySettings, FilterSettings, LockRequest, Purpose, RulesSync,
    Source, StoreSettings, Undo, VerifySettings,
};
pub use env::Env;
pub use github::{
    CommitSettings, ForkSettings, GitHubSettings, LifecycleSettings, Preview, TrustedEvent,
    DEFAULT_GITHUB_API_URL,
};
pub use jobs::{
    BranchSettings, DeleteJobSettings, InitSettings, JobSettings, LockSettings, PackageSettings,
    PreviewsSettings, PruneSettings, RulesSyncSettings,
};
pub use names::{validate_source_url, AppId, BranchName};
pub use store::{HistorySettings, PromoteSettings, RollbackSettings, RollbackTarget};

pub use crate::report::output::{OutputSettings, ProgressMode, PROGRESS_INTERVAL};

use std::time::Duration;

use crate::cli::{Cli, Command};
use crate::error::RunError;
use crate::rules::site::NotFoundPage;
use github::lock_by;

/// What one run does, fully resolved.
pub enum Settings {
    Deploy(Box<DeploySettings>),
    Package(PackageSettings),
    DeleteBranch {
        target: BranchSettings,
        if_exists: bool,
    },
    DeleteJob(DeleteJobSettings),
    Status {
        job: JobSettings,
        json: bool,
    },
    Stop(JobSettings),
    Completions(crate::cli::Shell),
    Init(InitSettings),
    Previews(PreviewsSettings),
    RulesSync(RulesSyncSettings),
    History(HistorySettings),
    Rollback(Box<RollbackSettings>),
    Promote(Box<PromoteSettings>),
    Lock(LockSettings),
    Unlock(BranchSettings),
}

impl Settings {
    /// Resolve the parsed command line against the environment. Fails only
    /// on what must be known before anything runs (the preview's event).
    pub fn resolve(cli: &Cli, env: &Env) -> Result<Settings, RunError> {
        Ok(match &cli.command {
            None => Settings::Deploy(Box::new(DeploySettings::resolve(&cli.deploy, env)?)),
            Some(Command::Deploy(args)) => {
                Settings::Deploy(Box::new(DeploySettings::resolve(args, env)?))
            }
            Some(Command::Package(args)) => Settings::Package(PackageSettings {
                path: args.path.clone(),
                output: args.output.clone(),
                filter: FilterSettings::resolve(&args.filter, env),
            }),
            Some(Command::DeleteBranch(args)) => Settings::DeleteBranch {
                target: BranchSettings::resolve(&args.target, env)?,
                if_exists: args.if_exists,
            },
            Some(Command::DeleteJob(args)) => Settings::DeleteJob(DeleteJobSettings {
                target: BranchSettings::resolve(&args.target, env)?,
                job_id: args.job_id.clone(),
                dry_run: args.dry_run,
            }),
            Some(Command::Status(args)) => Settings::Status {
                job: JobSettings::resolve(&args.job, env)?,
                json: args.json,
            },
            Some(Command::Stop(args)) => Settings::Stop(JobSettings::resolve(args, env)?),
            Some(Command::Completions(args)) => Settings::Completions(args.shell),
            Some(Command::Init(args)) => Settings::Init(InitSettings::resolve(args, env)?),
            Some(Command::Previews(args)) => {
                Settings::Previews(PreviewsSettings::resolve(&args.command, env)?)
            }
            Some(Command::Rules(args)) => match &args.command {
                crate::cli::RulesCommand::Sync(a) => Settings::RulesSync(RulesSyncSettings {
                    app_id: AppId::parse(a.app_id.as_deref())?,
                    from: a.from.clone(),
                    spa: a.spa,
                    not_found_page: NotFoundPage::parse(a.not_found_page.as_deref()),
                    dry_run: a.dry_run,
                    aws: AwsSettings::resolve(&a.aws, env),
                    timeout: a.timeout.timeout,
                }),
            },
            Some(Command::History(args)) => Settings::History(HistorySettings {
                target: BranchSettings::resolve(&args.target, env)?,
                limit: args.limit as usize,
                json: args.json,
                artifact_store: args
                    .artifact_store
                    .as_deref()
                    .map(crate::s3::ArtifactStore::parse)
                    .transpose()
                    .map_err(|e| RunError::input(format!("artifact-store: {e}")))?,
            }),
            Some(Command::Rollback(args)) => {
                Settings::Rollback(Box::new(RollbackSettings::resolve(args, env)?))
            }
            Some(Command::Promote(args)) => {
                Settings::Promote(Box::new(PromoteSettings::resolve(args, env)?))
            }
            Some(Command::Lock(args)) => Settings::Lock(LockSettings {
                target: BranchSettings::resolve(&args.target, env)?,
                request: LockRequest {
                    reason: trimmed(&args.reason),
                    by: lock_by(env),
                },
            }),
            Some(Command::Unlock(args)) => Settings::Unlock(BranchSettings::resolve(args, env)?),
        })
    }

    /// `--timeout` of a command the command layer bounds as a whole;
    /// `None` for those that bound themselves (deploy, rollback, promote)
    /// or call no service.
    pub fn timeout(&self) -> Option<Duration> {
        match self {
            Settings::DeleteBranch { target, .. } | Settings::Unlock(target) => {
                Some(target.timeout)
            }
            Settings::Status { job, .. } | Settings::Stop(job) => Some(job.target.timeout),
            Settings::DeleteJob(s) => Some(s.target.timeout),
            Settings::Lock(s) => Some(s.target.timeout),
            Settings::History(s) => Some(s.target.timeout),
            Settings::Init(s) => Some(s.timeout),
            Settings::Previews(s) => Some(s.timeout),
            Settings::RulesSync(s) => Some(s.timeout),
            Settings::Deploy(_)
            | Settings::Rollback(_)
            | Settings::Promote(_)
            | Settings::Package(_)
            | Settings::Completions(_) => None,
        }
    }
}

/// A value with its surrounding white space cut, unless that leaves nothing.
fn trimmed(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}
