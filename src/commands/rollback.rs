//! `amplify-deploy rollback`: find the earlier deploy to return to (the
//! newest SUCCEED job before the live one whose artifact is stored, or the
//! job or package named), then deploy its artifact through the `deploy`
//! command itself (StartDeployment with its `sourceUrl`, the wait, the
//! busy-branch handling, the reports and exit codes are deploy's).
//!
//! A target that cannot be deployed (its artifact gone, or never stored)
//! is bad input, found before anything is started.

use std::time::Duration;

use crate::choices::SourceUrlType;
use crate::error::RunError;
use crate::history::{Entry, Stored};
use crate::report::Reporter;
use crate::s3::{self, Artifact, ObjectState};
use crate::settings::{BranchSettings, RollbackSettings, RollbackTarget};

use super::store;

/// How long a re-signed GET of the artifact stays valid: the job fetches it
/// once, soon after it starts.
const PRESIGNED_GET_TTL: Duration = Duration::from_secs(3 * 3600);

/// `amplify-deploy rollback`.
pub async fn rollback(s: &RollbackSettings, reporter: &Reporter) -> Result<(), RunError> {
    let b = BranchSettings {
        app_id: s.deploy.app_id.clone(),
        branch: s.deploy.branch.clone(),
        aws: s.deploy.aws.clone(),
    };
    let (t, s3) = store::connect(&b, reporter).await?;
    let artifact_store = s.artifact_store.as_ref();
    let entries = store::entries(&t, &s3, artifact_store, None).await?;
    let (artifact, from) = match &s.target {
        RollbackTarget::Previous => previous(&entries, &t.branch)?,
        RollbackTarget::Job(id) => named_job(&entries, id, &t.branch)?,
        RollbackTarget::Sha256(sha) => by_sha(&entries, sha, &s3, s).await?,
    };
    let presign = from.as_ref().is_some_and(|e| {
        e.summary
            .source_url
            .as_deref()
            .is_some_and(|u| !u.starts_with("s3://"))
    }) || s.presigned;
    let url = if presign {
        let bucket = s3.bucket(&artifact.bucket).await.map_err(store_error)?;
        s3.presigned_get(&bucket, &artifact.key, PRESIGNED_GET_TTL)
            .await
            .map_err(store_error)?
    } else {
        artifact.s3_url()
    };
    let what = match &from {
        Some(e) => format!("job {}", e.job_id),
        None => format!("artifact {}", artifact.s3_url()),
    };
    reporter.line(format!(
        "rolling back {}/{} to {what} (package sha256 {})",
        t.app_id, t.branch, artifact.sha256
    ));
    let mut deploy = s.deploy.clone();
    deploy.verify.expected = expected_root(&s3, &artifact, s, reporter).await;
    deploy.source_url = Some(url);
    deploy.source_url_type = Some(SourceUrlType::Zip);
    if let Some(p) = from.as_ref().and_then(|e| e.provenance.as_ref()) {
        deploy.commit.sha = p.commit.clone();
        deploy.commit.message = p.message.clone();
        deploy.commit.time = p.commit_epoch();
    }
    super::deploy::deploy(&deploy, reporter).await
}

/// The root document of the artifact, for the live check: read from the
/// store with ranged GETs. `None` (the check is skipped, and says so) when
/// the check is off or the document cannot be read.
async fn expected_root(
    s3: &s3::Client,
    artifact: &Artifact,
    s: &RollbackSettings,
    reporter: &Reporter,
) -> Option<Vec<u8>> {
    if s.deploy.verify.mode == crate::choices::Verify::Off {
        return None;
    }
    let name = crate::deploy::root_document(&s.deploy.verify.path);
    let read = async {
        let bucket = s3
            .bucket(&artifact.bucket)
            .await
            .map_err(|e| e.to_string())?;
        let url = s3
            .presigned_get(&bucket, &artifact.key, Duration::from_secs(900))
            .await
            .map_err(|e| e.to_string())?;
        let http = crate::http::build_client();
        crate::package::entry::read_entry(&http, &url, &name).await
    };
    match read.await {
        Ok(found) => found,
        Err(why) => {
            reporter.warning(&format!(
                "cannot read {name} from {}: {why}",
                artifact.s3_url()
            ));
            None
        }
    }
}

fn store_error(e: s3::S3Error) -> RunError {
    RunError::aws(e.to_string()).caused_by(&e)
}

/// The newest SUCCEED job before the live one whose artifact is present.
fn previous(entries: &[Entry], branch: &str) -> Result<(Artifact, Option<Entry>), RunError> {
    let live = entries.iter().position(|e| e.live).ok_or_else(|| {
        RunError::input(format!(
            "branch {branch} has no live job (no job succeeded): nothing to roll back from"
        ))
    })?;
    let older = &entries[live + 1..];
    match older.iter().find(|e| e.can_roll_back_to()) {
        Some(e) => Ok((e.artifact.clone().expect("present"), Some(e.clone()))),
        None => {
            let earlier = older.iter().find(|e| e.succeeded());
            Err(match earlier {
                Some(e) => unusable(e),
                None => RunError::input(format!(
                    "branch {branch} has no SUCCEED job before the live job {}: nothing to roll back to",
                    entries[live].job_id
                )),
            })
        }
    }
}

/// `--job-id`: that job, which must have succeeded with a stored artifact.
fn named_job(
    entries: &[Entry],
    id: &str,
    branch: &str,
) -> Result<(Artifact, Option<Entry>), RunError> {
    let e = entries
        .iter()
        .find(|e| e.job_id == id)
        .ok_or_else(|| RunError::input(format!("branch {branch} has no job {id}")))?;
    if !e.succeeded() {
        let status = e.summary.status.as_ref().map_or("?", |s| s.as_str());
        return Err(RunError::input(format!(
            "job {id} ended {status}: only a job that succeeded can be rolled back to"
        )));
    }
    match (&e.artifact, &e.stored) {
        (Some(a), Stored::Present) => Ok((a.clone(), Some(e.clone()))),
        _ => Err(unusable(e)),
    }
}

/// `--sha256`: the newest job of that package with its artifact present,
/// else the artifact of that SHA-256 in `--artifact-store`.
async fn by_sha(
    entries: &[Entry],
    sha: &str,
    s3: &s3::Client,
    s: &RollbackSettings,
) -> Result<(Artifact, Option<Entry>), RunError> {
    let jobs: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.sha256.as_deref() == Some(sha))
        .collect();
    if let Some(e) = jobs
        .iter()
        .find(|e| e.stored == Stored::Present && e.artifact.is_some())
    {
        return Ok((e.artifact.clone().expect("checked"), Some((*e).clone())));
    }
    if let Some(store) = &s.artifact_store {
        let artifact = store.artifact(sha);
        let bucket = s3.bucket(&artifact.bucket).await.map_err(store_error)?;
        if let Ok(ObjectState::Present { .. }) = s3.head_object(&bucket, &artifact.key).await {
            return Ok((artifact, None));
        }
    }
    Err(match jobs.first() {
        Some(e) => unusable(e),
        None => RunError::input(format!(
            "no job deployed package sha256 {sha} and no artifact of it is in {}",
            s.artifact_store
                .as_ref()
                .map_or("the store (no --artifact-store given)".to_owned(), |a| a
                    .to_string())
        )),
    })
}

/// Why a job's artifact cannot be deployed, naming the job.
fn unusable(e: &Entry) -> RunError {
    let id = &e.job_id;
    match (&e.artifact, &e.stored) {
        (Some(a), Stored::Expired) => RunError::input(format!(
            "job {id}'s artifact {} is gone from the store (expired): it cannot be rolled back to",
            a.s3_url()
        ))
        .hint("the store's lifecycle rule removes old artifacts; see `amplify-deploy history`"),
        (Some(a), Stored::Unknown(why)) => RunError::input(format!(
            "job {id}'s artifact {} cannot be checked: {why}",
            a.s3_url()
        )),
        _ => RunError::input(format!(
            "job {id} was not deployed from the artifact store: it has no artifact to roll back to"
        ))
        .hint("deploy with --artifact-store so that later rollbacks can return to a deploy"),
    }
}
