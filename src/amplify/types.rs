//! Typed requests and responses of the Amplify operations we call.
//!
//! Every member is optional and unknown members are ignored: the service
//! model marks members as required that are absent in practice (only one
//! of `zipUploadUrl` and `fileUploadUrls` is ever returned), and AWS adds
//! members over time. Timestamps are epoch seconds, possibly fractional;
//! a timestamp in another form is dropped rather than failing the call.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// An Amplify app (`GetApp`'s `app`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct App {
    pub app_id: Option<String>,
    pub app_arn: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub repository: Option<String>,
    /// `WEB`, `WEB_COMPUTE` or `WEB_DYNAMIC`; only `WEB` takes manual deploys.
    pub platform: Option<String>,
    pub default_domain: Option<String>,
    /// Basic auth for every branch of the app.
    pub enable_basic_auth: Option<bool>,
    #[serde(deserialize_with = "lenient_time")]
    pub create_time: Option<f64>,
    #[serde(deserialize_with = "lenient_time")]
    pub update_time: Option<f64>,
    pub tags: Option<HashMap<String, String>>,
    /// The app's redirects and rewrites, in the order Amplify applies them.
    pub custom_rules: Option<Vec<CustomRule>>,
}

/// One redirect or rewrite of an app (`customRules`): `status` is `200`,
/// `301`, `302`, `404` or `404-200`; `condition` e.g. a country (`<US>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomRule {
    pub source: String,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// `UpdateApp`'s body: only the rules; absent members keep their values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAppRulesInput<'a> {
    pub custom_rules: &'a [CustomRule],
}

/// `ListTagsForResource`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TagsEnvelope {
    pub tags: Option<HashMap<String, String>>,
}

/// A branch of an app (`GetBranch`, `CreateBranch`, `DeleteBranch`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Branch {
    pub branch_arn: Option<String>,
    pub branch_name: Option<String>,
    /// The site's subdomain: the branch name with `/` replaced by `-`.
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// `PRODUCTION`, `BETA`, `DEVELOPMENT`, `EXPERIMENTAL`, `PULL_REQUEST`.
    pub stage: Option<String>,
    pub framework: Option<String>,
    pub active_job_id: Option<String>,
    pub total_number_of_jobs: Option<String>,
    pub enable_auto_build: Option<bool>,
    /// The branch's custom domains, in the service's order; an entry may
    /// carry a scheme (`https://www.example.com`) or not.
    pub custom_domains: Option<Vec<String>>,
    pub enable_basic_auth: Option<bool>,
    /// base64 of `user:password`.
    pub basic_auth_credentials: Option<Secret>,
    /// Skew protection: clients stay on the deployment they loaded.
    pub enable_skew_protection: Option<bool>,
    #[serde(deserialize_with = "lenient_time")]
    pub create_time: Option<f64>,
    #[serde(deserialize_with = "lenient_time")]
    pub update_time: Option<f64>,
    pub tags: Option<HashMap<String, String>>,
}

/// A value the service returns that is a secret: `Debug` hides it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******")
    }
}

/// `CreateDeployment`'s answer. `Debug` hides the upload URLs' queries,
/// which carry a signature valid for hours.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateDeploymentOutput {
    pub job_id: Option<String>,
    pub zip_upload_url: Option<String>,
    pub file_upload_urls: Option<HashMap<String, String>>,
}

impl fmt::Debug for CreateDeploymentOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |url: &String| format!("{}?******", crate::http::redact_url(url));
        let file_urls = self.file_upload_urls.as_ref().map(|urls| {
            let mut names: Vec<_> = urls.iter().map(|(k, v)| (k.clone(), redact(v))).collect();
            names.sort();
            names
        });
        f.debug_struct("CreateDeploymentOutput")
            .field("job_id", &self.job_id)
            .field("zip_upload_url", &self.zip_upload_url.as_ref().map(redact))
            .field("file_upload_urls", &file_urls)
            .finish()
    }
}

/// `StartDeployment`'s body: `jobId` of a `CreateDeployment`, or a
/// `sourceUrl` Amplify fetches itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartDeploymentInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// `ZIP` (default) or `BUCKET_PREFIX`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url_type: Option<String>,
}

/// A job's or a step's status: the service model's `JobStatus`, with
/// [`JobStatus::Other`] for a value the service adds later. It reads and
/// writes as the service's strings (`SUCCEED`, `CANCELLING`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Created,
    Pending,
    Provisioning,
    Running,
    Failed,
    Succeed,
    Cancelling,
    Cancelled,
    /// A status this program does not know, as the service wrote it.
    Other(String),
}

impl JobStatus {
    /// The service's string for this status.
    pub fn as_str(&self) -> &str {
        match self {
            JobStatus::Created => "CREATED",
            JobStatus::Pending => "PENDING",
            JobStatus::Provisioning => "PROVISIONING",
            JobStatus::Running => "RUNNING",
            JobStatus::Failed => "FAILED",
            JobStatus::Succeed => "SUCCEED",
            JobStatus::Cancelling => "CANCELLING",
            JobStatus::Cancelled => "CANCELLED",
            JobStatus::Other(s) => s,
        }
    }

    /// Whether the status is final: `SUCCEED`, `FAILED` or `CANCELLED`
    /// (any other status may still change).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobStatus::Succeed | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// Whether a job in this status was started and not stopped: one
    /// created and waiting for its upload (CREATED, PENDING), stopped
    /// (CANCELLING, CANCELLED) or FAILED never counts as started.
    pub fn has_started(&self) -> bool {
        match self {
            JobStatus::Other(s) => !s.is_empty(),
            JobStatus::Provisioning | JobStatus::Running | JobStatus::Succeed => true,
            _ => false,
        }
    }

    /// What a job without a status is shown as: `UNKNOWN`.
    pub fn unknown() -> JobStatus {
        JobStatus::Other("UNKNOWN".into())
    }

    /// Created and never started: waiting for the upload of its zip.
    pub fn is_waiting_for_upload(&self) -> bool {
        matches!(self, JobStatus::Created | JobStatus::Pending)
    }
}

impl From<&str> for JobStatus {
    fn from(s: &str) -> JobStatus {
        match s {
            "CREATED" => JobStatus::Created,
            "PENDING" => JobStatus::Pending,
            "PROVISIONING" => JobStatus::Provisioning,
            "RUNNING" => JobStatus::Running,
            "FAILED" => JobStatus::Failed,
            "SUCCEED" => JobStatus::Succeed,
            "CANCELLING" => JobStatus::Cancelling,
            "CANCELLED" => JobStatus::Cancelled,
            other => JobStatus::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JobStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<JobStatus, D::Error> {
        let s = String::deserialize(d)?;
        Ok(JobStatus::from(s.as_str()))
    }
}

/// A job as listed, started or stopped.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobSummary {
    pub job_arn: Option<String>,
    pub job_id: Option<String>,
    pub commit_id: Option<String>,
    pub commit_message: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    pub commit_time: Option<f64>,
    #[serde(deserialize_with = "lenient_time")]
    pub start_time: Option<f64>,
    pub status: Option<JobStatus>,
    #[serde(deserialize_with = "lenient_time")]
    pub end_time: Option<f64>,
    /// `MANUAL` for manual deploys.
    pub job_type: Option<String>,
    pub source_url: Option<String>,
    pub source_url_type: Option<String>,
}

/// `GetJob`'s `job`, unwrapped.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Job {
    pub summary: Option<JobSummary>,
    #[serde(deserialize_with = "null_as_default")]
    pub steps: Vec<Step>,
}

/// One step of a job (for manual deploys: `DEPLOY`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Step {
    pub step_name: Option<String>,
    pub status: Option<JobStatus>,
    #[serde(deserialize_with = "lenient_time")]
    pub start_time: Option<f64>,
    #[serde(deserialize_with = "lenient_time")]
    pub end_time: Option<f64>,
    pub status_reason: Option<String>,
    pub log_url: Option<String>,
    pub artifacts_url: Option<String>,
    pub context: Option<String>,
}

/// One page of `ListJobs`, newest job first.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListJobsOutput {
    #[serde(deserialize_with = "null_as_default")]
    pub job_summaries: Vec<JobSummary>,
    pub next_token: Option<String>,
}

/// One page of `ListBranches`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListBranchesOutput {
    #[serde(deserialize_with = "null_as_default")]
    pub branches: Vec<Branch>,
    pub next_token: Option<String>,
}

// Envelopes of the operations that wrap their result in one member.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AppEnvelope {
    pub app: Option<App>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BranchEnvelope {
    pub branch: Option<Branch>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct JobEnvelope {
    pub job: Option<Job>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct JobSummaryEnvelope {
    pub job_summary: Option<JobSummary>,
}

/// What a CreateBranch sets besides the name; `None` leaves a member to
/// the service's default.
#[derive(Clone, Copy, Default)]
pub struct NewBranch<'a> {
    /// `PRODUCTION`, `BETA`, … (the service's default: none).
    pub stage: Option<&'a str>,
    /// Basic auth on, with these credentials (base64 of `user:password`).
    pub basic_auth: Option<&'a str>,
    /// Tags the branch carries from its creation (none when empty).
    pub tags: Option<&'a std::collections::BTreeMap<String, String>>,
    /// `enableSkewProtection`.
    pub skew_protection: Option<bool>,
}

impl fmt::Debug for NewBranch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewBranch")
            .field("stage", &self.stage)
            .field("basic_auth", &self.basic_auth.map(|_| "******"))
            .field("tags", &self.tags)
            .field("skew_protection", &self.skew_protection)
            .finish()
    }
}

/// What an UpdateBranch changes; `None` leaves a member as it is.
#[derive(Clone, Copy, Default)]
pub struct BranchUpdate<'a> {
    /// Basic auth on, with these credentials (base64 of `user:password`).
    pub basic_auth: Option<&'a str>,
    /// `enableSkewProtection` on or off.
    pub skew_protection: Option<bool>,
}

impl fmt::Debug for BranchUpdate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BranchUpdate")
            .field("basic_auth", &self.basic_auth.map(|_| "******"))
            .field("skew_protection", &self.skew_protection)
            .finish()
    }
}

/// `CreateBranch`'s body (the members we set).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateBranchInput<'a> {
    pub branch_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<&'a str>,
    #[serde(flatten)]
    pub basic_auth: Option<BasicAuthInput<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_skew_protection: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<&'a std::collections::BTreeMap<String, String>>,
}

/// `UpdateBranch`'s body (the members we change).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateBranchInput<'a> {
    #[serde(flatten)]
    pub basic_auth: Option<BasicAuthInput<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_skew_protection: Option<bool>,
}

/// `enableBasicAuth` and `basicAuthCredentials` (base64 of `user:password`)
/// of CreateBranch and UpdateBranch.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BasicAuthInput<'a> {
    pub enable_basic_auth: bool,
    pub basic_auth_credentials: &'a str,
}

impl fmt::Debug for BasicAuthInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuthInput")
            .field("enable_basic_auth", &self.enable_basic_auth)
            .field("basic_auth_credentials", &"******")
            .finish()
    }
}

/// Epoch seconds as a number, or a string holding one; anything else is
/// treated as absent.
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        _ => None,
    })
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_with_missing_and_unknown_fields() {
        let app: AppEnvelope = serde_json::from_str(
            r#"{"app":{"appId":"d1","defaultDomain":"d1.amplifyapp.com","platform":"WEB",
                "createTime":1.7e9,"newField":{"x":1},"basicAuthCredentials":"c2VjcmV0"}}"#,
        )
        .expect("decodes");
        let app = app.app.expect("app");
        assert_eq!(app.app_id.as_deref(), Some("d1"));
        assert_eq!(app.default_domain.as_deref(), Some("d1.amplifyapp.com"));
        assert_eq!(app.platform.as_deref(), Some("WEB"));
        assert_eq!(app.create_time, Some(1.7e9));
        assert_eq!(app.name, None);
        let empty: AppEnvelope = serde_json::from_str("{}").expect("decodes");
        assert!(empty.app.is_none());
        let empty_app: App = serde_json::from_str("{}").expect("decodes");
        assert_eq!(empty_app, App::default());
    }

    #[test]
    fn branch_decodes() {
        let b: BranchEnvelope = serde_json::from_str(
            r#"{"branch":{"branchName":"feature/x","displayName":"feature-x","stage":"PRODUCTION",
                "totalNumberOfJobs":"3","activeJobId":"2","unknown":[1,2]}}"#,
        )
        .expect("decodes");
        let b = b.branch.expect("branch");
        assert_eq!(b.branch_name.as_deref(), Some("feature/x"));
        assert_eq!(b.display_name.as_deref(), Some("feature-x"));
        assert_eq!(b.total_number_of_jobs.as_deref(), Some("3"));
        assert_eq!(b.branch_arn, None);
    }

    #[test]
    fn create_deployment_output_and_redacted_debug() {
        let out: CreateDeploymentOutput = serde_json::from_str(
            r#"{"jobId":"7","zipUploadUrl":"https://b.s3.amazonaws.com/k.zip?X-Amz-Signature=topsecret","fileUploadUrls":null}"#,
        )
        .expect("decodes");
        assert_eq!(out.job_id.as_deref(), Some("7"));
        assert!(out.file_upload_urls.is_none());
        let debug = format!("{out:?}");
        assert!(!debug.contains("topsecret"), "{debug}");
        assert!(
            debug.contains("https://b.s3.amazonaws.com/k.zip?******"),
            "{debug}"
        );

        let files: CreateDeploymentOutput = serde_json::from_str(
            r#"{"jobId":"8","fileUploadUrls":{"index.html":"https://b/i?sig=topsecret"}}"#,
        )
        .expect("decodes");
        assert!(files.zip_upload_url.is_none());
        assert!(!format!("{files:?}").contains("topsecret"));
        assert_eq!(
            serde_json::from_str::<CreateDeploymentOutput>("{}").expect("decodes"),
            CreateDeploymentOutput::default()
        );
    }

    #[test]
    fn start_deployment_input_skips_none() {
        let input = StartDeploymentInput {
            job_id: Some("7".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&input).expect("json"),
            r#"{"jobId":"7"}"#
        );
        assert_eq!(
            serde_json::to_string(&StartDeploymentInput::default()).expect("json"),
            "{}"
        );
        let url = StartDeploymentInput {
            source_url: Some("s3://b/k.zip".into()),
            source_url_type: Some("ZIP".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&url).expect("json"),
            r#"{"sourceUrl":"s3://b/k.zip","sourceUrlType":"ZIP"}"#
        );
    }

    #[test]
    fn job_with_steps_and_odd_timestamps() {
        let job: JobEnvelope = serde_json::from_str(
            r#"{"job":{"summary":{"jobId":"3","status":"SUCCEED","startTime":1700000000.123,
                "endTime":"1700000100","commitTime":"yesterday","jobType":"MANUAL"},
                "steps":[{"stepName":"DEPLOY","status":"SUCCEED","logUrl":"https://logs","extra":true},{}]}}"#,
        )
        .expect("decodes");
        let job = job.job.expect("job");
        let summary = job.summary.expect("summary");
        assert_eq!(summary.status, Some(JobStatus::Succeed));
        assert_eq!(summary.start_time, Some(1_700_000_000.123));
        assert_eq!(summary.end_time, Some(1_700_000_100.0));
        assert_eq!(summary.commit_time, None);
        assert_eq!(job.steps.len(), 2);
        assert_eq!(job.steps[0].step_name.as_deref(), Some("DEPLOY"));
        assert_eq!(job.steps[1], Step::default());

        let bare: Job = serde_json::from_str(r#"{"steps":null}"#).expect("decodes");
        assert!(bare.summary.is_none() && bare.steps.is_empty());
    }

    #[test]
    fn list_jobs_output() {
        let out: ListJobsOutput = serde_json::from_str(
            r#"{"jobSummaries":[{"jobId":"2","status":"PENDING"},{"jobId":"1"}],"nextToken":"abc"}"#,
        )
        .expect("decodes");
        assert_eq!(out.job_summaries.len(), 2);
        assert_eq!(out.job_summaries[0].status, Some(JobStatus::Pending));
        assert_eq!(out.next_token.as_deref(), Some("abc"));
        let empty: ListJobsOutput = serde_json::from_str(r#"{"jobSummaries":null}"#).expect("ok");
        assert!(empty.job_summaries.is_empty() && empty.next_token.is_none());
    }

    #[test]
    fn job_summary_envelope() {
        let s: JobSummaryEnvelope =
            serde_json::from_str(r#"{"jobSummary":{"jobId":"9","status":"CANCELLING"}}"#)
                .expect("decodes");
        assert_eq!(s.job_summary.expect("summary").job_id.as_deref(), Some("9"));
    }

    #[test]
    fn job_status_reads_and_writes_the_service_strings() {
        for (text, status) in [
            ("CREATED", JobStatus::Created),
            ("PENDING", JobStatus::Pending),
            ("PROVISIONING", JobStatus::Provisioning),
            ("RUNNING", JobStatus::Running),
            ("FAILED", JobStatus::Failed),
            ("SUCCEED", JobStatus::Succeed),
            ("CANCELLING", JobStatus::Cancelling),
            ("CANCELLED", JobStatus::Cancelled),
            ("DEPLOYING", JobStatus::Other("DEPLOYING".into())),
        ] {
            let json = format!("\"{text}\"");
            let read: JobStatus = serde_json::from_str(&json).expect("decodes");
            assert_eq!(read, status);
            assert_eq!(serde_json::to_string(&status).expect("json"), json);
            assert_eq!(status.to_string(), text);
        }
        let terminal: Vec<_> = ["SUCCEED", "FAILED", "CANCELLED", "CANCELLING", "X"]
            .into_iter()
            .filter(|s| JobStatus::from(*s).is_terminal())
            .collect();
        assert_eq!(terminal, ["SUCCEED", "FAILED", "CANCELLED"]);
    }

    #[test]
    fn cancelled_or_failed_is_never_started() {
        for status in ["RUNNING", "PROVISIONING", "SUCCEED", "DEPLOYING"] {
            assert!(JobStatus::from(status).has_started(), "{status}");
        }
        for status in [
            "",
            "CREATED",
            "PENDING",
            "CANCELLING",
            "CANCELLED",
            "FAILED",
        ] {
            assert!(!JobStatus::from(status).has_started(), "{status}");
        }
    }

    #[test]
    fn create_branch_input() {
        let body = CreateBranchInput {
            branch_name: "pr-1",
            stage: None,
            basic_auth: None,
            enable_skew_protection: None,
            tags: None,
        };
        assert_eq!(
            serde_json::to_string(&body).expect("json"),
            r#"{"branchName":"pr-1"}"#
        );
        let body = CreateBranchInput {
            branch_name: "pr-1",
            stage: None,
            basic_auth: Some(BasicAuthInput {
                enable_basic_auth: true,
                basic_auth_credentials: "dTpw",
            }),
            enable_skew_protection: None,
            tags: None,
        };
        assert_eq!(
            serde_json::to_string(&body).expect("json"),
            r#"{"branchName":"pr-1","enableBasicAuth":true,"basicAuthCredentials":"dTpw"}"#
        );
        assert!(!format!("{body:?}").contains("dTpw"));
    }

    #[test]
    fn branch_inputs_hide_credentials_and_skew_protection_reads_back() {
        let new = NewBranch {
            basic_auth: Some("dTpw"),
            skew_protection: Some(true),
            ..NewBranch::default()
        };
        let update = BranchUpdate {
            basic_auth: Some("dTpw"),
            skew_protection: Some(false),
        };
        for shown in [format!("{new:?}"), format!("{update:?}")] {
            assert!(
                !shown.contains("dTpw") && shown.contains("******"),
                "{shown}"
            );
        }
        let b: BranchEnvelope =
            serde_json::from_str(r#"{"branch":{"enableSkewProtection":true}}"#).expect("decodes");
        assert_eq!(b.branch.and_then(|b| b.enable_skew_protection), Some(true));
        let old: BranchEnvelope = serde_json::from_str(r#"{"branch":{}}"#).expect("decodes");
        assert_eq!(old.branch.and_then(|b| b.enable_skew_protection), None);
    }
}
