//! `history`, `rollback` and `promote`: a branch and the deploy settings
//! of what is deployed from the artifact store.

use super::deploy::{store_settings, DeployOptions, LockRequest, Purpose, Undo};
use super::github::{lock_by, CommitSettings};
use super::jobs::BranchSettings;
use super::names::{AppId, BranchName};
use super::{trimmed, AwsSettings, Env};
use crate::choices::ArtifactUrl;
use crate::cli::{PromoteArgs, RollbackArgs};
use crate::error::RunError;
use crate::s3::ArtifactStore;

/// `history`: a branch, how many jobs, and how to print them.
pub struct HistorySettings {
    pub target: BranchSettings,
    pub limit: usize,
    pub json: bool,
    /// `--artifact-store`: where a package known only by its SHA-256 (the
    /// provenance tags) is looked for.
    pub artifact_store: Option<ArtifactStore>,
}

/// Which earlier deploy `rollback` returns to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTarget {
    /// The newest earlier release by the undo rule (`crate::history`).
    Previous,
    Job(String),
    /// Lowercase hex.
    Sha256(String),
}

/// `rollback`: how its deploy runs (outputs, waiting, busy branch, live
/// check, the undo record and lock) and what it returns to. The source and
/// the commit are built once the target is found.
pub struct RollbackSettings {
    pub deploy: DeployOptions,
    /// The CI run (`run_url`); the rest comes from the target's provenance.
    pub commit: CommitSettings,
    pub target: RollbackTarget,
    pub artifact_store: Option<ArtifactStore>,
    /// `--artifact-url presigned`: deploy from a presigned GET.
    pub presigned: bool,
}

impl RollbackSettings {
    pub(super) fn resolve(args: &RollbackArgs, env: &Env) -> Result<RollbackSettings, RunError> {
        let undo = Undo {
            lock: args.lock.then(|| LockRequest {
                reason: trimmed(&args.reason),
                by: lock_by(env),
            }),
        };
        // A rollback redeploys what is stored, to an existing branch, and
        // is never "superseded" (returning to an older commit is the point).
        let purpose = Purpose::Redeploy {
            branch: args.deploy.branch.as_deref(),
            app_id: None,
            region: None,
            undo: Some(&undo),
        };
        let deploy = DeployOptions::resolve(&args.deploy, env, purpose)?;
        let target = rollback_target(args)?;
        let artifact_store = store_settings(&args.deploy)?.map(|s| s.store);
        Ok(RollbackSettings {
            presigned: args.deploy.artifact_url == Some(ArtifactUrl::Presigned),
            commit: CommitSettings::resolve(&args.deploy, env),
            deploy,
            target,
            artifact_store,
        })
    }
}

/// `--job-id` (a number) or `--sha256` (64 hex digits), else the previous
/// release.
fn rollback_target(args: &RollbackArgs) -> Result<RollbackTarget, RunError> {
    Ok(match (&args.job_id, &args.sha256) {
        (Some(id), _) => {
            let id = id.trim();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(RunError::input(format!(
                    "job-id {id:?} is not an Amplify job id (a number, e.g. 12)"
                )));
            }
            RollbackTarget::Job(id.to_owned())
        }
        (None, Some(sha)) => {
            let sha = sha.trim();
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(RunError::input(format!(
                    "sha256 {sha:?} is not a SHA-256 (64 hex digits)"
                )));
            }
            RollbackTarget::Sha256(sha.to_ascii_lowercase())
        }
        (None, None) => RollbackTarget::Previous,
    })
}

/// `promote`: the source branch, and how the deploy to the target (its
/// app, branch and region) runs. The source and the commit are built once
/// the artifact is found.
pub struct PromoteSettings {
    /// `--app-id` and `--from-branch`, in `--region`.
    pub from: BranchSettings,
    pub deploy: DeployOptions,
    /// The CI run (`run_url`); the rest comes from the source's provenance.
    pub commit: CommitSettings,
    /// `--artifact-url presigned`: deploy from a presigned GET.
    pub presigned: bool,
}

impl PromoteSettings {
    pub(super) fn resolve(args: &PromoteArgs, env: &Env) -> Result<PromoteSettings, RunError> {
        // A promote deploys what is stored, and is never "superseded" (the
        // target may serve a newer commit on purpose).
        let to_app = trimmed(&args.to_app_id);
        let to_region = trimmed(&args.to_region);
        let purpose = Purpose::Redeploy {
            branch: Some(&args.to_branch),
            app_id: to_app.as_deref(),
            region: to_region.as_deref(),
            undo: None,
        };
        let deploy = DeployOptions::resolve(&args.deploy, env, purpose)?;
        let from = BranchSettings {
            app_id: AppId::parse(args.deploy.app_id.as_deref())?,
            branch: BranchName::parse(Some(&args.from_branch))?,
            aws: AwsSettings::resolve(&args.deploy.aws, env),
            timeout: deploy.timeout,
        };
        Ok(PromoteSettings {
            from,
            presigned: args.deploy.artifact_url == Some(ArtifactUrl::Presigned),
            commit: CommitSettings::resolve(&args.deploy, env),
            deploy,
        })
    }
}
