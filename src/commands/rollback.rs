//! `amplify-deploy rollback`: find the earlier release to return to (by
//! `crate::history`'s rule: the newest earlier release whose package is
//! stored, neither live nor rolled back from; or the job or package
//! named), then deploy its artifact through the `deploy` command itself
//! (StartDeployment with its `sourceUrl`, the wait, the busy-branch
//! handling, the reports and exit codes are deploy's). The pipeline
//! records the package it moves away from (and `--lock`) before its job.
//!
//! The jobs are read newest first and only as far back as needed, and
//! `--timeout` bounds the whole, the reading included. A target that
//! cannot be deployed (its artifact gone, or never stored) is bad input,
//! found before anything is started; a store that does not answer is not.

use std::time::Instant;

use crate::branch::Target;
use crate::deadline;
use crate::error::RunError;
use crate::history::{Entry, Stored, Walk};
use crate::incident::RolledBack;
use crate::report::Reporter;
use crate::s3::{self, Artifact, ObjectState};
use crate::settings::{
    BranchSettings, CommitSettings, DeploySettings, RollbackSettings, RollbackTarget, Source,
};

use super::artifacts::{self, store_error};

/// `amplify-deploy rollback`.
pub async fn rollback(s: &RollbackSettings, reporter: &Reporter) -> Result<(), RunError> {
    let timeout = s.deploy.timeout;
    let deadline = Instant::now() + timeout;
    let deploy = deadline::within(timeout, deadline, prepare(s, reporter)).await?;
    super::deploy::deploy_by(&deploy, reporter, deadline).await
}

/// The target, and the deploy of its artifact.
struct Chosen {
    artifact: Artifact,
    job: Option<Entry>,
    why: String,
}

async fn prepare(s: &RollbackSettings, reporter: &Reporter) -> Result<DeploySettings, RunError> {
    let b = BranchSettings {
        app_id: s.deploy.app_id.clone(),
        branch: s.deploy.branch.clone(),
        aws: s.deploy.aws.clone(),
        timeout: s.deploy.timeout,
    };
    let (t, s3) = artifacts::connect(&b, reporter).await?;
    let tags = artifacts::branch_tags(&t).await?;
    let rolled = RolledBack::from_tags(&tags);
    let mut walk = Walk::new(
        &t.client,
        (&t.app_id, &t.branch),
        &tags,
        &s3,
        s.artifact_store.as_ref(),
    );
    let live = live_job(&mut walk, &t).await?;
    let target = match &s.target {
        RollbackTarget::Previous => previous(&mut walk, &t, &live, &rolled).await?,
        RollbackTarget::Job(id) => named_job(&mut walk, &t, &live, id).await?,
        RollbackTarget::Sha256(sha) => by_sha(&mut walk, &t, &live, sha, &s3, s).await?,
    };
    let presign = target.job.as_ref().is_some_and(|e| {
        e.summary
            .source_url
            .as_deref()
            .is_some_and(|u| !u.starts_with("s3://"))
    }) || s.presigned;
    let url = artifacts::source_url(&s3, &target.artifact, presign, reporter).await?;
    let what = match &target.job {
        Some(e) => format!("job {}", e.job_id),
        None => format!("artifact {}", target.artifact.s3_url()),
    };
    reporter.line(format!(
        "rolling back {}/{} to {what} (package sha256 {}): {}",
        t.app_id, t.branch, target.artifact.sha256, target.why
    ));
    let page = artifacts::expected_page(&s3, &target.artifact, &s.deploy.verify, reporter).await;
    // The target's commit when its provenance says, else the CI run's;
    // never superseded (returning to an older commit is the point).
    let mut commit = CommitSettings {
        force: true,
        ..s.commit.clone()
    };
    if let Some(p) = target.job.as_ref().and_then(|e| e.provenance.as_ref()) {
        commit.sha = p.commit.clone();
        commit.message = p.message.clone();
        commit.time = p.commit_epoch();
    }
    Ok(DeploySettings {
        options: s.deploy.clone(),
        source: Some(Source::Stored { url, page }),
        commit,
    })
}

/// The live job (the newest SUCCEED one), its artifact checked.
async fn live_job(walk: &mut Walk<'_>, t: &Target) -> Result<Entry, RunError> {
    while let Some(e) = walk.next().await.map_err(|e| t.explain(&e))? {
        if e.live {
            return Ok(e);
        }
    }
    Err(RunError::input(format!(
        "branch {} has no live job (no job succeeded): nothing to roll back from",
        t.branch
    )))
}

/// The newest earlier release that the rule allows (see
/// `crate::history`), reading on until one is found; why it was chosen,
/// naming the newer jobs passed over.
async fn previous(
    walk: &mut Walk<'_>,
    t: &Target,
    live: &Entry,
    rolled: &RolledBack,
) -> Result<Chosen, RunError> {
    let mut passed = Vec::new();
    let mut unusable: Option<Entry> = None;
    while let Some(mut e) = walk.next().await.map_err(|e| t.explain(&e))? {
        if let Some(why) = e.why_not_release(live.sha256.as_deref(), rolled) {
            if e.succeeded() {
                passed.push(format!("job {} ({why})", e.job_id));
            }
            continue;
        }
        walk.check(&mut e).await;
        if let Stored::Unknown(why) = &e.stored {
            return Err(store_unknown(&e, why));
        }
        if let Some(why) = e.why_not_stored() {
            passed.push(format!("job {} ({why})", e.job_id));
            unusable.get_or_insert(e);
            continue;
        }
        let artifact = e.artifact.clone().ok_or_else(|| unusable_job(&e))?;
        return Ok(Chosen {
            artifact,
            why: format!(
                "the newest earlier release whose package is stored, neither live (job {}) nor rolled back from{}",
                live.job_id,
                passed_over(&passed)
            ),
            job: Some(e),
        });
    }
    Err(match unusable {
        Some(e) => unusable_job(&e),
        None => RunError::input(format!(
            "branch {} has no earlier release to roll back to from the live job {}{}",
            t.branch,
            live.job_id,
            passed_over(&passed)
        )),
    })
}

fn passed_over(passed: &[String]) -> String {
    match passed {
        [] => String::new(),
        _ => format!("; passed over {}", passed.join(", ")),
    }
}

/// `--job-id`: that job, which must have succeeded with a stored artifact
/// and not serve the live package.
async fn named_job(
    walk: &mut Walk<'_>,
    t: &Target,
    live: &Entry,
    id: &str,
) -> Result<Chosen, RunError> {
    let mut found = (live.job_id == id).then(|| live.clone());
    while found.is_none() {
        match walk.next().await.map_err(|e| t.explain(&e))? {
            Some(e) if e.job_id == id => found = Some(e),
            Some(_) => {}
            None => break,
        }
    }
    let mut e =
        found.ok_or_else(|| RunError::input(format!("branch {} has no job {id}", t.branch)))?;
    if !e.succeeded() {
        let status = e.summary.status.as_ref().map_or("?", |s| s.as_str());
        return Err(RunError::input(format!(
            "job {id} ended {status}: only a job that succeeded can be rolled back to"
        )));
    }
    if e.artifact.is_none() {
        return Err(unusable_job(&e));
    }
    refuse_live(&e, live)?;
    walk.check(&mut e).await;
    match (&e.artifact, &e.stored) {
        (Some(a), Stored::Present) => Ok(Chosen {
            artifact: a.clone(),
            why: "named by --job-id".into(),
            job: Some(e),
        }),
        (_, Stored::Unknown(why)) => Err(store_unknown(&e, why)),
        _ => Err(unusable_job(&e)),
    }
}

/// A rollback to what is live already would change nothing.
fn refuse_live(e: &Entry, live: &Entry) -> Result<(), RunError> {
    let same = e.sha256.is_some() && e.sha256 == live.sha256;
    if e.live || same {
        return Err(RunError::input(format!(
            "job {} serves the live package (live job {}): there is nothing to roll back to there",
            e.job_id, live.job_id
        ))
        .hint("see `amplify-deploy history` for the earlier releases"));
    }
    Ok(())
}

/// `--sha256`: the newest job of that package with its artifact present,
/// else the artifact of that SHA-256 in `--artifact-store`.
async fn by_sha(
    walk: &mut Walk<'_>,
    t: &Target,
    live: &Entry,
    sha: &str,
    s3: &s3::Client,
    s: &RollbackSettings,
) -> Result<Chosen, RunError> {
    if live.sha256.as_deref() == Some(sha) {
        refuse_live(live, live)?;
    }
    let mut first: Option<Entry> = None;
    while let Some(mut e) = walk.next().await.map_err(|e| t.explain(&e))? {
        if e.sha256.as_deref() != Some(sha) || e.artifact.is_none() {
            continue;
        }
        walk.check(&mut e).await;
        if e.stored == Stored::Present {
            return Ok(Chosen {
                artifact: e.artifact.clone().ok_or_else(|| unusable_job(&e))?,
                why: "named by --sha256".into(),
                job: Some(e),
            });
        }
        first.get_or_insert(e);
    }
    if let Some(store) = &s.artifact_store {
        let artifact = store.artifact(sha);
        let bucket = s3.bucket(&artifact.bucket).await.map_err(store_error)?;
        match s3.head_object(&bucket, &artifact.key).await {
            Ok(ObjectState::Present { .. }) => {
                return Ok(Chosen {
                    artifact,
                    job: None,
                    why: "named by --sha256, found in --artifact-store".into(),
                })
            }
            Ok(_) => {}
            Err(e) => return Err(store_error(e)),
        }
    }
    Err(match first {
        Some(e) => unusable_job(&e),
        None => RunError::input(format!(
            "no job deployed package sha256 {sha} and no artifact of it is in {}",
            s.artifact_store
                .as_ref()
                .map_or("the store (no --artifact-store given)".to_owned(), |a| a
                    .to_string())
        )),
    })
}

/// The store could not say whether a job's artifact is there: a service
/// failure (exit 3), not bad input.
fn store_unknown(e: &Entry, why: &str) -> RunError {
    let url = e.artifact.as_ref().map_or(String::new(), Artifact::s3_url);
    RunError::aws(format!(
        "job {}'s artifact {url} cannot be checked: the store did not answer",
        e.job_id
    ))
    .cause(why.to_owned())
    .hint("check that the deploy role may s3:GetObject and s3:ListBucket the store, and that S3 answers")
}

/// Why a job's artifact cannot be deployed, naming the job.
fn unusable_job(e: &Entry) -> RunError {
    let id = &e.job_id;
    match (&e.artifact, &e.stored) {
        (Some(a), Stored::Expired) => RunError::input(format!(
            "job {id}'s artifact {} is gone from the store (expired): it cannot be rolled back to",
            a.s3_url()
        ))
        .hint("the store's lifecycle rule removes old artifacts; see `amplify-deploy history`"),
        (_, Stored::Unknown(why)) => store_unknown(e, why),
        _ => RunError::input(format!(
            "job {id} was not deployed from the artifact store: it has no artifact to roll back to"
        ))
        .hint("deploy with --artifact-store so that later rollbacks can return to a deploy"),
    }
}
