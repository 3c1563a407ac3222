//! The branch and job commands: `delete-branch`, `status` (the job, the
//! branch's live job and its skew protection) and `stop`. They connect
//! exactly as `deploy` does.

use std::fmt::Write as _;

use crate::amplify::{ApiError, Job, JobStatus};
use crate::branch::{remove_branch, Target};
use crate::error::{one_line, RunError};
use crate::http;
use crate::incident::Lock;
use crate::outcome::rfc3339;
use crate::provenance::{self, BranchState, LiveJob, Trust};
use crate::report::Reporter;
use crate::settings::{BranchSettings, JobSettings};

/// `amplify-deploy delete-branch`.
pub async fn delete_branch(
    target: &BranchSettings,
    if_exists: bool,
    reporter: &Reporter,
) -> Result<(), RunError> {
    let t = connect(target, reporter).await?;
    remove_branch(&t, if_exists, reporter).await.map(|_| ())
}

async fn connect(t: &BranchSettings, reporter: &Reporter) -> Result<Target, RunError> {
    Target::connect(&t.app_id, &t.branch, &t.aws, reporter).await
}

/// The job `--job-id` names, else the branch's newest.
async fn job_id(t: &Target, given: Option<&str>) -> Result<String, RunError> {
    if let Some(id) = given.map(str::trim).filter(|s| !s.is_empty()) {
        if !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RunError::input(format!(
                "job-id {id:?} is not an Amplify job id (a number, e.g. 12)"
            )));
        }
        return Ok(id.to_owned());
    }
    let jobs = t.recent_jobs().await.map_err(|e| t.explain(&e))?;
    jobs.into_iter().find_map(|j| j.job_id).ok_or_else(|| {
        RunError::aws(format!(
            "branch {} of app {} has no jobs",
            t.branch, t.app_id
        ))
    })
}

/// `amplify-deploy status`: the job's status, steps and reasons.
pub async fn status(job: &JobSettings, json: bool, reporter: &Reporter) -> Result<(), RunError> {
    let t = connect(&job.target, reporter).await?;
    let id = job_id(&t, job.job_id.as_deref()).await?;
    let job = t
        .client
        .get_job(&t.app_id, &t.branch, &id)
        .await
        .map_err(|e| t.explain(&e))?;
    let live = provenance::read(&t.client, &t.app_id, &t.branch)
        .await
        .map_err(|e| t.explain(&e))?;
    let skew = t
        .client
        .get_branch(&t.app_id, &t.branch)
        .await
        .map_err(|e| t.explain(&e))?
        .enable_skew_protection;
    // Service strings on stdout: made safe like every other printed line.
    if json {
        let mut value = job_json(&t, &id, &job);
        value["live"] = live_json(&live);
        value["skewProtection"] = serde_json::json!(skew);
        println!("{}", crate::ci::json::to_line(&value));
    } else {
        let text = job_text(&t, &id, &job) + &live_text(&live) + &skew_text(skew);
        for line in text.lines() {
            println!("{}", crate::ci::escape::log_line(line));
        }
    }
    Ok(())
}

/// `amplify-deploy stop`.
pub async fn stop(job: &JobSettings, reporter: &Reporter) -> Result<(), RunError> {
    let t = connect(&job.target, reporter).await?;
    let id = job_id(&t, job.job_id.as_deref()).await?;
    match t.client.stop_job(&t.app_id, &t.branch, &id).await {
        Ok(summary) => {
            reporter.result(format!(
                "stopped job {id} on {}/{}: {}",
                t.app_id,
                t.branch,
                summary.status.as_ref().map_or("?", JobStatus::as_str)
            ));
            Ok(())
        }
        Err(e @ ApiError::Service { status: 400, .. }) => Err(RunError::aws(format!(
            "job {id} on {}/{} cannot be stopped",
            t.app_id, t.branch
        ))
        .caused_by(&e)
        .hint("only PENDING or RUNNING jobs can be stopped; see `amplify-deploy status`")),
        Err(e) => Err(t.explain(&e)),
    }
}

fn job_text(t: &Target, id: &str, job: &Job) -> String {
    let s = job.summary.clone().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "job {id} on {}/{}: {}",
        t.app_id,
        t.branch,
        s.status.as_ref().map_or("UNKNOWN", JobStatus::as_str)
    );
    if let Some(kind) = &s.job_type {
        let _ = writeln!(out, "  type     {kind}");
    }
    if let Some(start) = rfc3339(s.start_time) {
        let _ = writeln!(out, "  started  {start}");
    }
    if let Some(end) = rfc3339(s.end_time) {
        let _ = writeln!(out, "  ended    {end}");
    }
    for step in &job.steps {
        let _ = write!(
            out,
            "  step {}: {}",
            step.step_name.as_deref().unwrap_or("?"),
            step.status.as_ref().map_or("?", JobStatus::as_str)
        );
        if let Some(reason) = step.status_reason.as_deref().filter(|r| !r.is_empty()) {
            let _ = write!(out, ": {}", one_line(reason));
        }
        out.push('\n');
        if let Some(log) = &step.log_url {
            let _ = writeln!(out, "    log  {}", http::redact_url(log));
        }
    }
    out
}

/// The branch's live job and what its provenance says.
fn live_text(live: &BranchState) -> String {
    let mut out = String::new();
    let job = match &live.live {
        LiveJob::Known(Some(id)) => format!("job {id}"),
        LiveJob::Known(None) => "no job".to_owned(),
        LiveJob::Disputed => "unknown (ListJobs and activeJobId disagree)".to_owned(),
    };
    let _ = writeln!(out, "live: {job}");
    if let Some(lock) = Lock::from_tags(&live.tags) {
        let _ = writeln!(out, "  locked   {}", lock.describe());
    }
    let p = match &live.trust {
        Trust::Trusted(p) => p,
        Trust::None => {
            let _ = writeln!(
                out,
                "  provenance  none (no tags of amplify-deploy for the live job)"
            );
            return out;
        }
        Trust::Unknown => {
            let _ = writeln!(out, "  provenance  unknown");
            return out;
        }
    };
    let rows = [
        ("commit", &p.commit),
        ("time", &p.commit_time),
        ("message", &p.message),
        ("sha256", &p.sha256),
        ("run", &p.run_url),
        ("version", &p.version),
    ];
    for (name, value) in rows {
        if let Some(v) = value {
            let _ = writeln!(out, "  {name:<8} {v}");
        }
    }
    out
}

/// The branch's skew protection: `unknown` when the service does not say.
fn skew_text(skew: Option<bool>) -> String {
    let state = match skew {
        Some(true) => "on",
        Some(false) => "off",
        None => "unknown",
    };
    format!("skew protection: {state}\n")
}

fn live_json(live: &BranchState) -> serde_json::Value {
    let (job, provenance, trust) = match (&live.live, &live.trust) {
        (LiveJob::Disputed, _) => (None, None, "unknown"),
        (LiveJob::Known(job), Trust::Trusted(p)) => (job.clone(), Some(p), "trusted"),
        (LiveJob::Known(job), _) => (job.clone(), None, "none"),
    };
    serde_json::json!({
        "jobId": job,
        "provenanceStatus": trust,
        "provenance": provenance,
        "lock": Lock::from_tags(&live.tags).as_ref().map(super::history::lock_json),
    })
}

fn job_json(t: &Target, id: &str, job: &Job) -> serde_json::Value {
    let s = job.summary.clone().unwrap_or_default();
    let steps: Vec<_> = job
        .steps
        .iter()
        .map(|step| {
            serde_json::json!({
                "stepName": step.step_name,
                "status": step.status,
                "statusReason": step.status_reason,
                "startTime": rfc3339(step.start_time),
                "endTime": rfc3339(step.end_time),
                "logUrl": step.log_url.as_deref().map(http::redact_url),
            })
        })
        .collect();
    serde_json::json!({
        "appId": t.app_id,
        "branch": t.branch,
        "region": t.region,
        "jobId": s.job_id.as_deref().unwrap_or(id),
        "jobArn": s.job_arn,
        "status": s.status,
        "jobType": s.job_type,
        "startTime": rfc3339(s.start_time),
        "endTime": rfc3339(s.end_time),
        "steps": steps,
    })
}
