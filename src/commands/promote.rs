//! `promote`: deploy the exact package live on one branch to another (of
//! the same app or another, in any region), from the artifact store: no
//! rebuild, no upload. The target's provenance is the source's, its message
//! saying where it was promoted from.

use std::time::Duration;

use crate::choices::SourceUrlType;
use crate::error::RunError;
use crate::history::Stored;
use crate::report::Reporter;
use crate::settings::PromoteSettings;

use super::store;

/// How long a re-signed presigned GET lasts (the job fetches it at once).
const PRESIGNED_GET_TTL: Duration = Duration::from_secs(3 * 3600);

pub async fn promote(s: &PromoteSettings, reporter: &Reporter) -> Result<(), RunError> {
    let (t, s3) = store::connect(&s.from, reporter).await?;
    let entries = store::entries(&t, &s3, None, None).await?;
    let from = &t.branch;
    let live = entries.iter().find(|e| e.live).ok_or_else(|| {
        RunError::input(format!(
            "branch {from} has no live job (no job succeeded): nothing to promote"
        ))
    })?;
    let id = &live.job_id;
    let artifact = match (&live.artifact, &live.stored) {
        (Some(a), Stored::Present) => a.clone(),
        (Some(a), Stored::Expired) => {
            return Err(RunError::input(format!(
                "branch {from}'s live job {id} deployed {}, which is gone from the store (expired): nothing to promote",
                a.s3_url()
            )))
        }
        (Some(a), Stored::Unknown(why)) => {
            return Err(RunError::aws(format!(
                "branch {from}'s live job {id} deployed {}, which cannot be checked: {why}",
                a.s3_url()
            )))
        }
        _ => {
            return Err(RunError::input(format!(
                "branch {from}'s live job {id} has no stored artifact (it was not deployed with --artifact-store): nothing to promote"
            ))
            .hint("deploy the source branch with --artifact-store, then promote it"))
        }
    };
    let was_presigned = live
        .summary
        .source_url
        .as_deref()
        .is_some_and(|u| !u.starts_with("s3://"));
    let url = if s.presigned || was_presigned {
        let bucket = s3.bucket(&artifact.bucket).await.map_err(store_error)?;
        let url = s3
            .presigned_get(&bucket, &artifact.key, PRESIGNED_GET_TTL)
            .await
            .map_err(store_error)?;
        reporter.mask_url(&url);
        url
    } else {
        artifact.s3_url()
    };
    let mut deploy = s.deploy.clone();
    reporter.line(format!(
        "promoting {}/{from} job {id} (package sha256 {}) to {}/{}",
        t.app_id,
        artifact.sha256,
        deploy.app_id.as_deref().unwrap_or("?"),
        deploy.branch.as_deref().unwrap_or("?"),
    ));
    deploy.source_url = Some(url);
    deploy.source_url_type = Some(SourceUrlType::Zip);
    let p = live.provenance.clone().unwrap_or_default();
    deploy.commit.sha = p.commit.clone();
    deploy.commit.time = p.commit_epoch();
    deploy.commit.message = Some(match &p.message {
        Some(m) => format!("promoted from {from} (job {id}): {m}"),
        None => format!("promoted from {from} (job {id})"),
    });
    super::deploy::deploy(&deploy, reporter).await
}

fn store_error(e: crate::s3::S3Error) -> RunError {
    RunError::aws(e.to_string())
}
