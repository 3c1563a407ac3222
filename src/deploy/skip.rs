//! `--skip-unchanged`: when the branch's live job (the newest SUCCEED one,
//! agreeing with `activeJobId`) is known to serve this package, the run is
//! SKIPPED and starts nothing. The live job's SHA-256 comes from the
//! artifact key in its `sourceUrl`, else from provenance tags of that very
//! job. Anything uncertain deploys.

use crate::amplify::{JobStatus, JobSummary};
use crate::error::RunError;
use crate::outcome::RunStatus;
use crate::provenance::{self, LiveJob, Trust};
use crate::s3::Artifact;

use super::{lock, Ctx};

/// True when the live job serves our package: the outcome is then SKIPPED
/// with the live job's id.
pub(super) async fn unchanged(ctx: &Ctx) -> Result<bool, RunError> {
    let ours = lock(&ctx.state)
        .outcome
        .package
        .as_ref()
        .map(|p| p.sha256.to_ascii_lowercase());
    let Some(ours) = ours else {
        return Ok(deploying(ctx, "there is no package to compare"));
    };
    let (app, branch) = (&ctx.plan.app_id, &ctx.plan.branch);
    let b = ctx
        .client
        .get_branch(app, branch)
        .await
        .map_err(|e| ctx.explain(&e))?;
    let jobs = ctx
        .client
        .list_jobs(app, branch, Some(50), None)
        .await
        .map_err(|e| ctx.explain(&e))?
        .job_summaries;
    let newest_succeeded = jobs.iter().find(|j| j.status == Some(JobStatus::Succeed));
    let live = provenance::live_job(
        newest_succeeded.and_then(|j| j.job_id.as_deref()),
        b.active_job_id.as_deref(),
    );
    let (LiveJob::Known(Some(live_id)), Some(summary)) = (&live, newest_succeeded) else {
        return Ok(deploying(ctx, "the branch's live job is not known"));
    };
    if jobs
        .iter()
        .take_while(|j| j.job_id.as_deref() != Some(live_id))
        .any(|j| !j.status.as_ref().is_some_and(JobStatus::is_terminal))
    {
        return Ok(deploying(ctx, "a newer job is running on the branch"));
    }
    let from_tags = match provenance::judge(&b.tags.unwrap_or_default(), &live) {
        Trust::Trusted(p) => p.sha256,
        _ => None,
    };
    let theirs = live_sha256(summary).or(from_tags);
    match theirs {
        Some(theirs) if theirs.eq_ignore_ascii_case(&ours) => {}
        Some(_) => {
            return Ok(deploying(
                ctx,
                &format!("live job {live_id} serves another package"),
            ))
        }
        None => {
            return Ok(deploying(
                ctx,
                &format!("live job {live_id} has no known package SHA-256"),
            ))
        }
    }
    ctx.reporter.line(format!(
        "unchanged: live job {live_id} already serves package {ours}; nothing started (--skip-unchanged)"
    ));
    ctx.with_outcome(|o| {
        o.status = Some(RunStatus::Skipped);
        o.job_id = Some(live_id.clone());
        o.job_arn = summary.job_arn.clone();
    });
    Ok(true)
}

/// The package SHA-256 a job's `sourceUrl` names (an artifact-store key).
fn live_sha256(summary: &JobSummary) -> Option<String> {
    let url = summary.source_url.as_deref()?;
    Artifact::from_source_url(url).map(|a| a.sha256)
}

fn deploying(ctx: &Ctx, why: &str) -> bool {
    ctx.reporter
        .line(format!("skip-unchanged: {why}: deploying"));
    false
}
