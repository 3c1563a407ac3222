//! The JSON shapes of Amplify's answers (`App`, `Branch`, `JobSummary`,
//! `Job` with its steps), rendered from the emulated state. Pure functions:
//! the state they read is passed in, and nothing here changes it.
//!
//! <https://docs.aws.amazon.com/amplify/latest/APIReference/API_Types.html>

use serde_json::{json, Value};

use crate::state::{epoch, App, Branch, Job};

/// Account id in every ARN.
const ACCOUNT_ID: &str = "123456789012";

/// An `App`.
pub(crate) fn app(region: &str, app: &App) -> Value {
    json!({
        "appId": app.app_id,
        "appArn": format!("arn:aws:amplify:{region}:{ACCOUNT_ID}:apps/{}", app.app_id),
        "name": app.app_id,
        "description": "",
        "repository": "",
        "platform": app.platform,
        "createTime": epoch(app.create_time),
        "updateTime": epoch(app.create_time),
        "environmentVariables": {},
        "defaultDomain": format!("{}.amplifyapp.com", app.app_id),
        "enableBranchAutoBuild": false,
        "enableBasicAuth": false,
        "customRules": app.custom_rules,
        "customHeaders": app.custom_headers.clone().unwrap_or_default(),
    })
}

/// A `Branch`.
pub(crate) fn branch(region: &str, app_id: &str, branch: &Branch) -> Value {
    let active_job = branch
        .live_job()
        .map(|j| j.job_id.clone())
        .unwrap_or_default();
    json!({
        "branchArn": format!("arn:aws:amplify:{region}:{ACCOUNT_ID}:apps/{app_id}/branches/{}", branch.name),
        "branchName": branch.name,
        "description": "",
        "stage": branch.stage,
        "displayName": branch.display_name,
        "enableNotification": false,
        "createTime": epoch(branch.create_time),
        "updateTime": epoch(branch.create_time),
        "environmentVariables": {},
        "enableAutoBuild": false,
        "customDomains": branch.custom_domains,
        "framework": "",
        "activeJobId": active_job,
        "totalNumberOfJobs": branch.jobs.len().to_string(),
        "enableBasicAuth": branch.basic_auth.is_some(),
        "enableSkewProtection": branch.skew_protection.is_some(),
        "basicAuthCredentials": branch.basic_auth.clone().unwrap_or_default(),
        "ttl": "5",
        "enablePullRequestPreview": false,
        "tags": branch.tags,
    })
}

/// A `JobSummary`.
pub(crate) fn job_summary(region: &str, app_id: &str, branch: &str, job: &Job) -> Value {
    let mut summary = json!({
        "jobArn": format!(
            "arn:aws:amplify:{region}:{ACCOUNT_ID}:apps/{app_id}/branches/{branch}/jobs/{}",
            job.job_id
        ),
        "jobId": job.job_id,
        "commitId": "HEAD",
        "commitMessage": "Manual deployment",
        "commitTime": epoch(job.commit_time),
        "startTime": epoch(job.start_time),
        "status": job.status,
        "jobType": "MANUAL",
    });
    if let Some(end) = job.end_time {
        summary["endTime"] = json!(epoch(end));
    }
    if let Some(url) = &job.source_url {
        summary["sourceUrl"] = json!(url);
    }
    if let Some(kind) = &job.source_url_type {
        summary["sourceUrlType"] = json!(kind);
    }
    summary
}

/// A `Job`: its summary and its one `DEPLOY` step, whose log is at
/// `log_url`.
pub(crate) fn job(region: &str, app_id: &str, branch: &str, job: &Job, log_url: &str) -> Value {
    let summary = job_summary(region, app_id, branch, job);
    let mut step = json!({
        "stepName": "DEPLOY",
        "status": job.status,
        "startTime": summary["startTime"],
        "logUrl": log_url,
    });
    if let Some(end) = summary.get("endTime") {
        step["endTime"] = end.clone();
    }
    if let Some(reason) = &job.status_reason {
        step["statusReason"] = json!(reason);
    }
    json!({ "summary": summary, "steps": [step] })
}
