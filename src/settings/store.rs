//! `history`, `rollback` and `promote`: a branch and the deploy settings
//! of what is deployed from the artifact store.

use super::deploy::{DeploySettings, LockRequest, Undo};
use super::github::{lock_by, Preview};
use super::jobs::BranchSettings;
use super::{trimmed, Env};
use crate::cli::{PromoteArgs, RollbackArgs};
use crate::error::RunError;

/// `history`: a branch, how many jobs, and how to print them.
pub struct HistorySettings {
    pub target: BranchSettings,
    pub limit: usize,
    pub json: bool,
    /// `--artifact-store`: where a package known only by its SHA-256 (the
    /// provenance tags) is looked for.
    pub artifact_store: Option<crate::s3::ArtifactStore>,
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

/// `rollback`: the deploy settings (outputs, waiting, busy branch, live
/// check) and the target. The source is set once the target is found.
pub struct RollbackSettings {
    pub deploy: DeploySettings,
    pub target: RollbackTarget,
    pub artifact_store: Option<crate::s3::ArtifactStore>,
    /// `--artifact-url presigned`: deploy from a presigned GET.
    pub presigned: bool,
}

impl RollbackSettings {
    pub(super) fn resolve(args: &RollbackArgs, env: &Env) -> Result<RollbackSettings, RunError> {
        let mut deploy = DeploySettings::resolve(&args.deploy, env)?;
        // A rollback redeploys what is stored: no folder, no preview, and
        // never "superseded" (returning to an older commit is the point).
        deploy.path = None;
        deploy.source_url = None;
        deploy.source_url_type = None;
        deploy.preview = Preview::Off;
        deploy.branch = args.deploy.branch.clone();
        deploy.create_branch = false;
        deploy.commit.force = true;
        let target = match (&args.job_id, &args.sha256) {
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
        };
        let artifact_store = deploy
            .artifact_store
            .as_deref()
            .map(crate::s3::ArtifactStore::parse)
            .transpose()
            .map_err(|e| RunError::input(format!("artifact-store: {e}")))?;
        let presigned = deploy.artifact_url == crate::choices::ArtifactUrl::Presigned;
        // The artifact is deployed from its URL: nothing to package or store.
        deploy.artifact_store = None;
        deploy.skip_unchanged = false;
        deploy.undo = Some(Undo {
            lock: args.lock.then(|| LockRequest {
                reason: trimmed(&args.reason),
                by: lock_by(env),
            }),
        });
        Ok(RollbackSettings {
            deploy,
            target,
            artifact_store,
            presigned,
        })
    }
}

/// `promote`: the source branch, and the deploy settings of the target
/// (its app, branch and region). The source is set once the artifact is
/// found.
pub struct PromoteSettings {
    /// `--app-id` and `--from-branch`, in `--region`.
    pub from: BranchSettings,
    pub deploy: DeploySettings,
    /// `--artifact-url presigned`: deploy from a presigned GET.
    pub presigned: bool,
}

impl PromoteSettings {
    pub(super) fn resolve(args: &PromoteArgs, env: &Env) -> Result<PromoteSettings, RunError> {
        let mut deploy = DeploySettings::resolve(&args.deploy, env)?;
        let from = BranchSettings {
            app_id: deploy.app_id.clone(),
            branch: Some(args.from_branch.clone()),
            aws: deploy.aws.clone(),
            timeout: deploy.timeout,
        };
        // A promote deploys what is stored: no folder, no preview, and never
        // "superseded" (the target may serve a newer commit on purpose).
        deploy.path = None;
        deploy.source_url = None;
        deploy.source_url_type = None;
        deploy.preview = Preview::Off;
        deploy.artifact_store = None;
        deploy.skip_unchanged = false;
        deploy.branch = Some(args.to_branch.clone());
        deploy.commit.force = true;
        if let Some(app) = trimmed(&args.to_app_id) {
            deploy.app_id = Some(app);
        }
        if let Some(region) = trimmed(&args.to_region) {
            deploy.aws.region = Some(region);
        }
        Ok(PromoteSettings {
            from,
            presigned: deploy.artifact_url == crate::choices::ArtifactUrl::Presigned,
            deploy,
        })
    }
}
