//! What `history` and `rollback` share: the branch connected with its S3
//! client, and its jobs as `crate::history` entries with the store asked.

use crate::branch::Target;
use crate::connection;
use crate::error::RunError;
use crate::history::{self, Entry};
use crate::report::Reporter;
use crate::s3::{self, ArtifactStore};
use crate::settings::{self, BranchSettings};

/// The Amplify target and an S3 client on the same credentials.
pub(super) async fn connect(
    b: &BranchSettings,
    reporter: &Reporter,
) -> Result<(Target, s3::Client), RunError> {
    let app_id = settings::validate_app_id(b.app_id.as_deref())?;
    let branch = settings::validate_branch(b.branch.as_deref())?;
    let conn = connection::connect(&b.aws, reporter).await?;
    let s3 = s3_client(&conn, b.aws.s3_endpoint.as_ref())?;
    let t = Target {
        client: conn.client,
        app_id,
        branch,
        region: conn.region,
    };
    Ok((t, s3))
}

/// An S3 client signing with the run's credentials, through the custom
/// endpoint when one is set.
fn s3_client(
    conn: &connection::Connection,
    endpoint: Option<&settings::Endpoint>,
) -> Result<s3::Client, RunError> {
    let endpoint = endpoint
        .map(|e| {
            url::Url::parse(e.url.trim()).map_err(|err| {
                RunError::input(format!("{} {:?} is not a URL: {err}", e.source, e.url))
            })
        })
        .transpose()?;
    Ok(s3::Client::new(s3::S3Config {
        endpoint,
        region: conn.region.clone(),
        credentials: conn.client.credentials().clone(),
        retry: conn.retry,
        observer: conn.observer.clone(),
        http: conn.http.clone(),
        upload_http: conn.http.clone(),
        tracer: conn.tracer.clone(),
    }))
}

/// The branch's jobs, newest first (at most `limit`), with the package of
/// each and whether the store still has it.
pub(super) async fn entries(
    t: &Target,
    s3: &s3::Client,
    store: Option<&ArtifactStore>,
    limit: Option<usize>,
) -> Result<Vec<Entry>, RunError> {
    let branch = t
        .client
        .get_branch(&t.app_id, &t.branch)
        .await
        .map_err(|e| t.explain(&e))?;
    let jobs = history::list_jobs(&t.client, &t.app_id, &t.branch, limit)
        .await
        .map_err(|e| t.explain(&e))?;
    let mut entries = history::entries(jobs, &branch.tags.unwrap_or_default(), store);
    if let Some(limit) = limit {
        entries.truncate(limit);
    }
    history::check_store(s3, &mut entries).await;
    Ok(entries)
}
