//! `amplify-deploy delete-job`: one deployment deleted with DeleteJob, so
//! that it is no longer served (not even to clients skew protection pinned
//! to it), listed by `history` or redeployed from there. The run reads and
//! decides first: the live job (deploy or roll back first) and an
//! unfinished one (stop it first) are refused, exit 2, before anything is
//! deleted. The job id comes from the command line only.

use crate::amplify::{JobStatus, JobSummary};
use crate::branch::Target;
use crate::error::RunError;
use crate::outcome::rfc3339;
use crate::provenance::{self, LiveJob};
use crate::report::Reporter;
use crate::s3::Artifact;
use crate::settings::DeleteJobSettings;

/// `amplify-deploy delete-job`.
pub async fn delete_job(s: &DeleteJobSettings, reporter: &Reporter) -> Result<(), RunError> {
    let id = checked_job_id(&s.job_id)?;
    let t = Target::connect(&s.target.app_id, &s.target.branch, &s.target.aws, reporter).await?;
    let live = live_candidates(&t).await?;
    let job = read_job(&t, &id).await?;
    if let Some(refusal) = refusal((&t.app_id, &t.branch), &id, &job, &live) {
        return Err(refusal);
    }
    let what = describe(&t, &id, &job);
    if s.dry_run {
        reporter.result(format!("dry run: would delete {what}; nothing was deleted"));
        return Ok(());
    }
    t.client
        .delete_job(&t.app_id, &t.branch, &id)
        .await
        .map_err(|e| {
            t.explain(&e)
                .hint("see `amplify-deploy history` for the branch's jobs")
        })?;
    reporter.result(format!("deleted {what}: it is no longer served or listed"));
    if let Some(artifact) = job
        .source_url
        .as_deref()
        .and_then(Artifact::from_source_url)
    {
        reporter.line(format!(
            "its package is still stored as {}: delete it too so that no rollback or promote can deploy it again (docs/rollback.md)",
            artifact.s3_url()
        ));
    }
    Ok(())
}

/// `--job-id`: Amplify's job ids are numbers.
fn checked_job_id(given: &str) -> Result<String, RunError> {
    let id = given.trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RunError::input(format!(
            "job-id {id:?} is not an Amplify job id (a number, e.g. 12)"
        )));
    }
    Ok(id.to_owned())
}

/// The jobs that may be live: the newest SUCCEED job (ListJobs) and the
/// branch's `activeJobId` (GetBranch); one when they agree, as
/// [`provenance::live_job`] judges it.
async fn live_candidates(t: &Target) -> Result<Vec<String>, RunError> {
    let branch = t
        .client
        .get_branch(&t.app_id, &t.branch)
        .await
        .map_err(|e| t.explain(&e))?;
    let jobs = t.recent_jobs().await.map_err(|e| t.explain(&e))?;
    let newest = jobs
        .iter()
        .find(|j| j.status == Some(JobStatus::Succeed))
        .and_then(|j| j.job_id.as_deref());
    Ok(candidates(newest, branch.active_job_id.as_deref()))
}

/// The live job, or both when ListJobs and `activeJobId` disagree.
fn candidates(newest_succeeded: Option<&str>, active_job_id: Option<&str>) -> Vec<String> {
    match provenance::live_job(newest_succeeded, active_job_id) {
        LiveJob::Known(live) => live.into_iter().collect(),
        LiveJob::Disputed => newest_succeeded
            .into_iter()
            .chain(active_job_id)
            .map(str::to_owned)
            .collect(),
    }
}

/// The job's summary (GetJob); a job the branch does not have is exit 3,
/// as other things not found are.
async fn read_job(t: &Target, id: &str) -> Result<JobSummary, RunError> {
    match t.client.get_job(&t.app_id, &t.branch, id).await {
        Ok(job) => Ok(job.summary.unwrap_or_default()),
        Err(e) if e.is_not_found() => Err(RunError::aws(format!(
            "no job {id} on branch {} of app {} ({})",
            t.branch, t.app_id, t.region
        ))
        .caused_by(&e)
        .hint("see `amplify-deploy history` for the branch's jobs")),
        Err(e) => Err(t.explain(&e)),
    }
}

/// Why `job` of `(app, branch)` must not be deleted, if it must not: it
/// may still change (stop it first), or it is live, one of `live` (deploy
/// or roll back first). Bad input, exit 2.
fn refusal(
    (app, branch): (&str, &str),
    id: &str,
    job: &JobSummary,
    live: &[String],
) -> Option<RunError> {
    let status = job.status.clone().unwrap_or_else(JobStatus::unknown);
    if !status.is_terminal() {
        let e = RunError::input(format!(
            "job {id} on {app}/{branch} is {status}: stop it first"
        ))
        .hint(format!(
            "amplify-deploy stop --app-id {app} --branch {branch} --job-id {id}, then delete it"
        ));
        return Some(e);
    }
    if !live.iter().any(|l| l == id) {
        return None;
    }
    let is = if live.len() > 1 {
        "may be (ListJobs and activeJobId disagree)"
    } else {
        "is"
    };
    let e = RunError::input(format!(
        "job {id} {is} the live job of {app}/{branch}: deploy or roll back first"
    ))
    .hint("deploy a clean build (or `amplify-deploy rollback`), then delete this job");
    Some(e)
}

/// `job 3 (SUCCEED, ended …) of d1/main`.
fn describe(t: &Target, id: &str, job: &JobSummary) -> String {
    let status = job.status.as_ref().map_or("UNKNOWN", JobStatus::as_str);
    let ended = rfc3339(job.end_time)
        .map(|e| format!(", ended {e}"))
        .unwrap_or_default();
    format!("job {id} ({status}{ended}) of {}/{}", t.app_id, t.branch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(status: &str) -> JobSummary {
        JobSummary {
            status: Some(JobStatus::from(status)),
            ..JobSummary::default()
        }
    }

    fn refused(id: &str, status: &str, live: &[&str]) -> Option<String> {
        let live: Vec<String> = live.iter().map(|l| l.to_string()).collect();
        refusal(("d1", "main"), id, &summary(status), &live).map(|e| {
            assert_eq!(e.class, crate::error::ErrorClass::BadInput);
            e.message
        })
    }

    #[test]
    fn the_live_job_and_unfinished_ones_are_refused() {
        for status in [
            "CREATED",
            "PENDING",
            "PROVISIONING",
            "RUNNING",
            "CANCELLING",
            "NEW",
        ] {
            assert_eq!(
                refused("4", status, &[]),
                Some(format!("job 4 on d1/main is {status}: stop it first"))
            );
        }
        assert_eq!(
            refused("3", "SUCCEED", &["3"]),
            Some("job 3 is the live job of d1/main: deploy or roll back first".into())
        );
        for status in ["SUCCEED", "FAILED", "CANCELLED"] {
            assert_eq!(refused("2", status, &["3"]), None, "{status}");
        }
        let unknown = JobSummary::default();
        assert!(refusal(("d1", "main"), "2", &unknown, &[]).is_some());
    }

    #[test]
    fn when_list_jobs_and_active_job_id_disagree_both_are_live() {
        assert_eq!(candidates(Some("3"), Some("3")), ["3"]);
        assert_eq!(candidates(Some("3"), None), ["3"]);
        assert_eq!(candidates(None, Some("2")), ["2"]);
        assert_eq!(candidates(Some("3"), Some("")), ["3"]);
        assert!(candidates(None, None).is_empty());
        let both = candidates(Some("3"), Some("2"));
        assert_eq!(both, ["3", "2"]);
        for id in ["3", "2"] {
            let e = refusal(("d1", "main"), id, &summary("SUCCEED"), &both).expect("refused");
            assert_eq!(
                e.message,
                format!("job {id} may be (ListJobs and activeJobId disagree) the live job of d1/main: deploy or roll back first")
            );
        }
        assert!(refusal(("d1", "main"), "1", &summary("SUCCEED"), &both).is_none());
    }

    #[test]
    fn job_ids_are_numbers() {
        assert_eq!(checked_job_id(" 12 ").unwrap(), "12");
        for bad in ["", "  ", "x;y", "-1", "1.0", "١٢"] {
            let e = checked_job_id(bad).unwrap_err();
            assert_eq!(e.class, crate::error::ErrorClass::BadInput, "{bad:?}");
        }
    }
}
