//! The artifact store (`--artifact-store`): the package goes to S3 as
//! `{prefix}/{sha256}.zip` (PutObject only when HeadObject says it is
//! absent), before anything is created on the branch; the job then starts
//! from it (StartDeployment with `sourceUrlType: ZIP`).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::amplify::JobSummary;
use crate::choices::ArtifactUrl;
use crate::error::{one_line, RunError};
use crate::package::human_bytes;
use crate::progress::{throughput_line, upload_frame, Ticker};
use crate::provenance::{format_time, Provenance};
use crate::s3::{artifact, Artifact, Bucket, ObjectState, S3Error};

use super::packaging::Packaged;
use super::{start, Ctx};
use crate::settings::StoreSettings;

/// The package in the store.
pub(super) struct Stored {
    /// What the job starts from: `s3://…`, or a presigned GET (masked)
    /// valid for the run.
    pub(super) source_url: String,
    /// `s3://bucket/prefix/{sha256}.zip`.
    pub(super) artifact_url: String,
    /// How long the upload took; `None` when it was stored already.
    pub(super) took: Option<Duration>,
}

/// Store the package, unless it already is.
pub(super) async fn put(
    ctx: &Ctx,
    plan: &StoreSettings,
    zip: &Packaged,
) -> Result<Stored, RunError> {
    let Some(s3) = &ctx.s3 else {
        return Err(RunError::aws("the artifact store has no S3 client"));
    };
    let artifact = plan.store.artifact(&zip.sha256);
    let bucket = s3.bucket(&artifact.bucket).await.map_err(|e| {
        s3_error(&e, &plan.store.to_string()).hint(format!(
            "check that bucket {} exists and that the deploy role may s3:ListBucket it",
            artifact.bucket
        ))
    })?;
    let took = match s3.head_object(&bucket, &artifact.key).await {
        Ok(ObjectState::Present { .. }) => {
            ctx.reporter.line(format!(
                "artifact {} is already stored: not uploading it again",
                artifact.s3_url()
            ));
            None
        }
        Ok(ObjectState::Absent | ObjectState::Denied) => {
            Some(upload(ctx, &bucket, &artifact, &zip.path).await?)
        }
        Err(e) => return Err(s3_error(&e, &artifact.s3_url())),
    };
    let source_url = match plan.url {
        ArtifactUrl::S3 => artifact.s3_url(),
        ArtifactUrl::Presigned => {
            // Amplify fetches it when the job starts: valid for the whole
            // run, and an hour more.
            let valid = ctx.settings.timeout + Duration::from_secs(3600);
            let url = s3
                .presigned_get(&bucket, &artifact.key, valid)
                .await
                .map_err(|e| s3_error(&e, &artifact.s3_url()))?;
            ctx.reporter.mask_url(&url);
            url
        }
    };
    Ok(Stored {
        source_url,
        artifact_url: artifact.s3_url(),
        took,
    })
}

/// StartDeployment from the stored package; a refusal that says Amplify
/// may not read it points at the bucket policy.
pub(super) async fn start(
    ctx: &Arc<Ctx>,
    plan: &StoreSettings,
    url: &str,
) -> Result<Option<JobSummary>, RunError> {
    match start::start_from_url(ctx, url, Some("ZIP")).await {
        Err(e) if plan.url == ArtifactUrl::S3 && about_access(&e) => Err(e.hint(format!(
            "Amplify may not read {}: its bucket policy must let amplify.amazonaws.com s3:GetObject the prefix for this app's branches (docs/artifacts.md), or use --artifact-url presigned",
            plan.store
        ))),
        other => other,
    }
}

fn about_access(e: &RunError) -> bool {
    let text = std::iter::once(e.message.clone())
        .chain(e.causes())
        .map(|s| s.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    [
        "access",
        "denied",
        "permission",
        "forbidden",
        "403",
        "unable to",
    ]
    .iter()
    .any(|w| text.contains(w))
}

/// PutObject of the package, with its provenance as metadata; how long it
/// took.
async fn upload(
    ctx: &Ctx,
    bucket: &Bucket,
    artifact: &Artifact,
    zip: &Path,
) -> Result<Duration, RunError> {
    let Some(s3) = &ctx.s3 else {
        return Err(RunError::aws("the artifact store has no S3 client"));
    };
    let size = std::fs::metadata(zip).map(|m| m.len()).unwrap_or(0);
    ctx.reporter.line(format!(
        "storing {} as {}",
        human_bytes(size),
        artifact.s3_url()
    ));
    let commit = &ctx.settings.commit;
    let metadata = artifact::metadata(&Provenance {
        job_id: String::new(),
        sha256: Some(artifact.sha256.clone()),
        commit: commit.sha.clone(),
        commit_time: commit.time.and_then(format_time),
        message: commit.message.clone(),
        run_url: commit.run_url.clone(),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        tree: None,
        bytes: None,
    });
    let t = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&sent);
    let ticker = Ticker::start(&ctx.reporter, move |elapsed| {
        upload_frame(counted.load(Ordering::Relaxed), size, elapsed)
    });
    let stored = s3
        .put_object(bucket, &artifact.key, zip, &metadata, &sent)
        .await;
    drop(ticker);
    stored.map_err(|e| {
        let err = s3_error(&e, &artifact.s3_url());
        if e.is_denied() {
            let prefix = artifact.key.rsplit_once('/').map_or("", |(p, _)| p);
            err.hint(format!(
                "nothing was deployed; the deploy role needs s3:PutObject on arn:aws:s3:::{}/{}* (docs/artifacts.md)",
                artifact.bucket,
                if prefix.is_empty() { String::new() } else { format!("{prefix}/") }
            ))
        } else {
            err
        }
    })?;
    let took = t.elapsed();
    ctx.reporter
        .line(format!("stored in {:.1}s", took.as_secs_f64()));
    ctx.reporter.verbose(throughput_line(size, took));
    Ok(took)
}

fn s3_error(e: &S3Error, target: &str) -> RunError {
    let err = RunError::aws(format!(
        "artifact store {target}: {}",
        one_line(&e.to_string())
    ));
    match std::error::Error::source(e) {
        Some(source) => err.caused_by(source),
        None => err,
    }
}
