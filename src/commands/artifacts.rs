//! What `history`, `rollback` and `promote` share: the branch connected
//! with its S3 client, its jobs as `crate::history` entries with the store
//! asked, and a stored artifact as a job's source and as the page the live
//! check expects.

use std::collections::HashMap;
use std::time::Duration;

use crate::branch::Target;
use crate::connection;
use crate::error::RunError;
use crate::history::{Entry, Walk};
use crate::report::Reporter;
use crate::s3::{self, Artifact, ArtifactStore};
use crate::settings::{BranchSettings, VerifySettings};

/// The Amplify target and an S3 client on the same credentials.
pub(super) async fn connect(
    b: &BranchSettings,
    reporter: &Reporter,
) -> Result<(Target, s3::Client), RunError> {
    let conn = connection::connect(&b.aws, reporter).await?;
    let s3 = connection::store_client(b.aws.s3_endpoint.as_ref(), &conn)?;
    let t = Target {
        client: conn.client,
        app_id: b.app_id.clone(),
        branch: b.branch.clone(),
        region: conn.region,
    };
    Ok((t, s3))
}

/// The branch's jobs, newest first (at most `limit`), with the package of
/// each and whether the store still has it; and the branch's tags.
pub(super) async fn entries(
    t: &Target,
    s3: &s3::Client,
    store: Option<&ArtifactStore>,
    limit: usize,
) -> Result<(Vec<Entry>, HashMap<String, String>), RunError> {
    let tags = branch_tags(t).await?;
    let mut walk = Walk::new(&t.client, (&t.app_id, &t.branch), &tags, s3, store);
    let mut entries = Vec::new();
    while entries.len() < limit {
        let Some(mut e) = walk.next().await.map_err(|e| t.explain(&e))? else {
            break;
        };
        walk.check(&mut e).await;
        entries.push(e);
    }
    Ok((entries, tags))
}

/// The branch's tags (GetBranch).
pub(super) async fn branch_tags(t: &Target) -> Result<HashMap<String, String>, RunError> {
    let branch = t
        .client
        .get_branch(&t.app_id, &t.branch)
        .await
        .map_err(|e| t.explain(&e))?;
    Ok(branch.tags.unwrap_or_default())
}

/// An S3 failure of the artifact store, with its causes.
pub(super) fn store_error(e: s3::S3Error) -> RunError {
    RunError::aws(e.to_string()).source(e)
}

/// How long a re-signed GET of an artifact stays valid: the job fetches it
/// once, soon after it starts.
const PRESIGNED_GET_TTL: Duration = Duration::from_secs(3 * 3600);

/// The URL a job deploys `artifact` from: `s3://…`, or (`presign`) a
/// presigned GET, masked.
pub(super) async fn source_url(
    s3: &s3::Client,
    artifact: &Artifact,
    presign: bool,
    reporter: &Reporter,
) -> Result<String, RunError> {
    if !presign {
        return Ok(artifact.s3_url());
    }
    let bucket = s3.bucket(&artifact.bucket).await.map_err(store_error)?;
    let url = s3
        .presigned_get(&bucket, &artifact.key, PRESIGNED_GET_TTL)
        .await
        .map_err(store_error)?;
    reporter.mask_url(&url);
    Ok(url)
}

/// The page the live check compares (`--verify-path`) as `artifact` holds
/// it, read from the store with ranged GETs. `None` (the check is then
/// skipped, and says so) when the check is off or the page cannot be read.
pub(super) async fn expected_page(
    s3: &s3::Client,
    artifact: &Artifact,
    verify: &VerifySettings,
    reporter: &Reporter,
) -> Option<Vec<u8>> {
    if verify.mode == crate::choices::Verify::Off {
        return None;
    }
    let name = crate::settings::root_document(&verify.path);
    // An S3 error or an entry error; only its text is shown.
    let read = async {
        let bucket = s3.bucket(&artifact.bucket).await?;
        let url = s3
            .presigned_get(&bucket, &artifact.key, Duration::from_secs(900))
            .await?;
        let found = crate::package::entry::read_entry(s3.http(), &url, &name).await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(found)
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
