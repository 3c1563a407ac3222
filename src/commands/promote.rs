//! `promote`: deploy the exact package live on one branch to another (of
//! the same app or another, in any region), from the artifact store: no
//! rebuild, no upload. The target's provenance is the source's, its message
//! saying where it was promoted from; the live check compares the target's
//! site with the artifact's page, as `rollback` does. A locked target ends
//! LOCKED unless `--override-lock`. `--timeout` bounds the whole, the
//! reading of the source branch included.

use std::time::Instant;

use crate::branch::Target;
use crate::deadline;
use crate::error::RunError;
use crate::history::{Entry, Stored, Walk};
use crate::report::Reporter;
use crate::s3::Artifact;
use crate::settings::{CommitSettings, DeploySettings, PromoteSettings, Source};

use super::artifacts;

pub async fn promote(s: &PromoteSettings, reporter: &Reporter) -> Result<(), RunError> {
    let timeout = s.deploy.timeout;
    let deadline = Instant::now() + timeout;
    let deploy = deadline::within(timeout, deadline, prepare(s, reporter)).await?;
    super::deploy::deploy_by(&deploy, reporter, deadline).await
}

async fn prepare(s: &PromoteSettings, reporter: &Reporter) -> Result<DeploySettings, RunError> {
    let (t, s3) = artifacts::connect(&s.from, reporter).await?;
    let tags = artifacts::branch_tags(&t).await?;
    let mut walk = Walk::new(&t.client, (&t.app_id, &t.branch), &tags, &s3, None);
    let live = live_job(&mut walk, &t).await?;
    let artifact = live_artifact(&live, &t.branch)?;
    let (from, id) = (&t.branch, &live.job_id);
    let was_presigned = live
        .summary
        .source_url
        .as_deref()
        .is_some_and(|u| !u.starts_with("s3://"));
    let url = artifacts::source_url(&s3, &artifact, s.presigned || was_presigned, reporter).await?;
    reporter.line(format!(
        "promoting {}/{from} job {id} (package sha256 {}) to {}/{}",
        t.app_id, artifact.sha256, s.deploy.app_id, s.deploy.branch,
    ));
    let page = artifacts::expected_page(&s3, &artifact, &s.deploy.verify, reporter).await;
    let p = live.provenance.clone().unwrap_or_default();
    // The target's provenance is the source's, and where it came from;
    // never superseded (the target may serve a newer commit on purpose).
    let commit = CommitSettings {
        sha: p.commit.clone(),
        time: p.commit_epoch(),
        message: Some(match &p.message {
            Some(m) => format!("promoted from {from} (job {id}): {m}"),
            None => format!("promoted from {from} (job {id})"),
        }),
        run_url: s.commit.run_url.clone(),
        force: true,
    };
    Ok(DeploySettings {
        options: s.deploy.clone(),
        source: Some(Source::Stored { url, page }),
        commit,
    })
}

/// The source branch's live job, its artifact checked in the store.
async fn live_job(walk: &mut Walk<'_>, t: &Target) -> Result<Entry, RunError> {
    loop {
        match walk.next().await.map_err(|e| t.explain(&e))? {
            Some(mut e) if e.live => {
                walk.check(&mut e).await;
                return Ok(e);
            }
            Some(_) => {}
            None => {
                return Err(RunError::input(format!(
                    "branch {} has no live job (no job succeeded): nothing to promote",
                    t.branch
                )))
            }
        }
    }
}

/// The live job's stored artifact, or why there is none to promote.
fn live_artifact(live: &Entry, from: &str) -> Result<Artifact, RunError> {
    let id = &live.job_id;
    match (&live.artifact, &live.stored) {
        (Some(a), Stored::Present) => Ok(a.clone()),
        (Some(a), Stored::Expired) => Err(RunError::input(format!(
            "branch {from}'s live job {id} deployed {}, which is gone from the store (expired): nothing to promote",
            a.s3_url()
        ))),
        (Some(a), Stored::Unknown(why)) => Err(RunError::aws(format!(
            "branch {from}'s live job {id} deployed {}, which cannot be checked: {why}",
            a.s3_url()
        ))),
        _ => Err(RunError::input(format!(
            "branch {from}'s live job {id} has no stored artifact (it was not deployed with --artifact-store): nothing to promote"
        ))
        .hint("deploy the source branch with --artifact-store, then promote it")),
    }
}
