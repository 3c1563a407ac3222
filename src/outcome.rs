//! The facts a deploy run reports, in one place, so every output format
//! (stderr summary, `$GITHUB_OUTPUT`, job summary, JSON, dotenv) says the
//! same thing.

use std::fmt;
use std::time::Duration;

use crate::amplify::JobStatus;

/// What one `deploy` run did. Every field a run may not reach is optional.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub app_id: String,
    pub branch: String,
    pub region: String,
    pub job_id: Option<String>,
    pub job_arn: Option<String>,
    /// Amplify's job status (`SUCCEED`, `FAILED`, `CANCELLED`, …), or
    /// the run's own state: `STARTED` when it did not wait, `DRY_RUN`,
    /// `SUPERSEDED`, `SKIPPED`, `LOCKED`; for a fork's preview `DEFERRED`,
    /// `AWAITING_APPROVAL`, `DISABLED`.
    pub status: Option<RunStatus>,
    /// The branch's first custom domain (`https://{entry}`), else
    /// `https://{branch displayName}.{app defaultDomain}`.
    pub url: Option<String>,
    /// The Amplify URL, then every custom domain of the branch.
    pub urls: Vec<String>,
    /// The app's `defaultDomain` (GetApp), which the Amplify URL ends with.
    #[serde(skip)]
    pub default_domain: Option<String>,
    /// The branch's deployments page in the Amplify console.
    pub console_url: String,
    pub package: Option<PackageFacts>,
    /// `--source-url`; reported without its query (a presigned URL's
    /// signature), see [`Outcome::source_url_shown`].
    #[serde(serialize_with = "url_without_query")]
    pub source_url: Option<String>,
    /// How long each phase took, in order ("package", "upload", "deploy", …).
    #[serde(serialize_with = "phases_as_seconds")]
    pub phases: Vec<(String, Duration)>,
    /// Why the job failed, when it did: one entry per failed step.
    pub failures: Vec<StepFailure>,
    /// The live check, when it ran or was skipped.
    pub verify: Option<VerifyFacts>,
    /// `--artifact-store`: the stored package, `s3://bucket/prefix/{sha256}.zip`
    /// (absent from JSON without a store).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_url: Option<String>,
}

/// What the live check found (`verify` in JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VerifyFacts {
    pub result: VerifyResult,
    /// How long the new content took to appear (or how long the check
    /// waited, when it did not), in seconds.
    pub seconds: Option<f64>,
    /// Why it was skipped, or what the site served instead.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyResult {
    /// The site serves the package's bytes.
    Served,
    /// It did not within the budget.
    NotServed,
    /// Nothing to compare, or basic auth without credentials.
    Skipped,
}

impl VerifyFacts {
    /// One line for people: the summary's and the log's.
    pub fn shown(&self) -> String {
        let secs = self.seconds.map_or(String::new(), |s| format!("{s:.1}s"));
        let why = self.reason.as_deref().unwrap_or("");
        match self.result {
            VerifyResult::Served => format!("new content served after {secs}"),
            VerifyResult::NotServed => format!("new content not served after {secs}: {why}"),
            VerifyResult::Skipped => format!("skipped: {why}"),
        }
    }
}

/// Where a run ended: its job's status, or a state of the run itself. It
/// reads as the strings every report shows (`SUCCEED`, `DRY_RUN`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// The job's last status seen.
    Job(JobStatus),
    /// `--dry-run`: nothing was changed.
    DryRun,
    /// `--no-wait`: the job started and the run did not wait for it.
    Started,
    /// The branch serves a newer commit: nothing was deployed.
    Superseded,
    /// `--skip-unchanged`: the live job already serves this package;
    /// nothing was started (the job id is the live job's).
    Skipped,
    /// The branch is locked for an incident: nothing was deployed.
    Locked,
    /// A fork's own pull request run: it has no rights to deploy, and the
    /// trusted workflow deploys the preview (docs/previews.md#forks).
    Deferred,
    /// A fork's pull request is not approved for a preview (the label,
    /// or an author who is an owner, member or collaborator): nothing
    /// deployed.
    AwaitingApproval,
    /// `--fork-previews off`: a fork's pull request gets no preview.
    Disabled,
}

impl RunStatus {
    pub fn as_str(&self) -> &str {
        match self {
            RunStatus::Job(status) => status.as_str(),
            RunStatus::DryRun => "DRY_RUN",
            RunStatus::Started => "STARTED",
            RunStatus::Superseded => "SUPERSEDED",
            RunStatus::Skipped => "SKIPPED",
            RunStatus::Locked => "LOCKED",
            RunStatus::Deferred => "DEFERRED",
            RunStatus::AwaitingApproval => "AWAITING_APPROVAL",
            RunStatus::Disabled => "DISABLED",
        }
    }

    /// Whether the run ended with the package live: its job deployed, or
    /// (skipped) the live job already serving it.
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            RunStatus::Job(JobStatus::Succeed) | RunStatus::Skipped
        )
    }
}

impl From<JobStatus> for RunStatus {
    fn from(status: JobStatus) -> RunStatus {
        RunStatus::Job(status)
    }
}

/// The run's states by their names, anything else as a job status.
impl From<&str> for RunStatus {
    fn from(s: &str) -> RunStatus {
        match s {
            "DRY_RUN" => RunStatus::DryRun,
            "STARTED" => RunStatus::Started,
            "SUPERSEDED" => RunStatus::Superseded,
            "SKIPPED" => RunStatus::Skipped,
            "LOCKED" => RunStatus::Locked,
            "DEFERRED" => RunStatus::Deferred,
            "AWAITING_APPROVAL" => RunStatus::AwaitingApproval,
            "DISABLED" => RunStatus::Disabled,
            job => RunStatus::Job(JobStatus::from(job)),
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RunStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageFacts {
    pub file_count: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// A step that did not succeed. Its `logUrl` is presigned (it carries a
/// signature and a session token), so it is not kept here: every report
/// links the job's console page instead.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepFailure {
    pub step: String,
    pub reason: Option<String>,
}

impl Outcome {
    /// The job's page in the Amplify console (its steps and their logs),
    /// once there is a job: [`console_job_url`]. JSON reports it as
    /// `jobConsoleUrl`.
    pub fn job_console_url(&self) -> Option<String> {
        let job = self.job_id.as_deref().filter(|j| !j.is_empty())?;
        (!self.region.is_empty() && !self.app_id.is_empty())
            .then(|| console_job_url(&self.region, &self.app_id, &self.branch, job))
    }

    /// The status as reports show it (empty before there is one).
    pub fn status_shown(&self) -> &str {
        self.status.as_ref().map_or("", RunStatus::as_str)
    }

    /// `--source-url` as reports show it: without query or user info.
    pub fn source_url_shown(&self) -> Option<String> {
        self.source_url.as_deref().map(crate::http::redact_url)
    }

    /// The flat key/value view shared by `$GITHUB_OUTPUT` (these keys) and
    /// dotenv (`AMPLIFY_` + upper-cased key with `_`).
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("job-id", self.job_id.clone().unwrap_or_default()),
            ("job-arn", self.job_arn.clone().unwrap_or_default()),
            ("status", self.status_shown().to_owned()),
            ("url", self.url.clone().unwrap_or_default()),
            ("urls", self.urls.join(" ")),
        ];
        if let Some(p) = &self.package {
            out.push(("package-sha256", p.sha256.clone()));
            out.push(("package-bytes", p.bytes.to_string()));
            out.push(("file-count", p.file_count.to_string()));
        }
        if let Some(url) = &self.artifact_url {
            out.push(("artifact-url", url.clone()));
        }
        out
    }
}

fn url_without_query<S: serde::Serializer>(url: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => s.serialize_some(&crate::http::redact_url(u)),
        None => s.serialize_none(),
    }
}

fn phases_as_seconds<S: serde::Serializer>(
    phases: &[(String, Duration)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(phases.len()))?;
    for (name, d) in phases {
        map.serialize_entry(name, &((d.as_secs_f64() * 1000.0).round() / 1000.0))?;
    }
    map.end()
}

/// The site's URLs: the Amplify domain `https://{display}.{domain}`
/// first, then each custom domain as `https://{entry}` (any scheme the
/// entry carries stripped), in the order given.
pub fn site_urls(amplify_url: &str, custom_domains: &[String]) -> Vec<String> {
    let custom = custom_domains.iter().filter_map(|entry| {
        let host = entry.split_once("://").map_or(entry.as_str(), |(_, h)| h);
        let host = host.trim().trim_end_matches('/');
        (!host.is_empty()).then(|| format!("https://{host}"))
    });
    std::iter::once(amplify_url.to_owned())
        .chain(custom)
        .collect()
}

/// `https://{region}.console.aws.amazon.com/amplify/apps/{appId}/branches/{branch}/deployments`
pub fn console_url(region: &str, app_id: &str, branch: &str) -> String {
    let branch = percent_encoding::utf8_percent_encode(branch, percent_encoding::NON_ALPHANUMERIC);
    format!("https://{region}.console.aws.amazon.com/amplify/apps/{app_id}/branches/{branch}/deployments")
}

/// The job's page in the Amplify console, where its steps and their logs
/// are: the branch's deployments page followed by `/{jobId}`.
pub fn console_job_url(region: &str, app_id: &str, branch: &str, job_id: &str) -> String {
    let job = percent_encoding::utf8_percent_encode(job_id, percent_encoding::NON_ALPHANUMERIC);
    format!("{}/{job}", console_url(region, app_id, branch))
}

/// A service timestamp (epoch seconds, as Amplify answers them) as RFC
/// 3339 in UTC, whole seconds; `None` when absent or not a time.
pub fn rfc3339(epoch: Option<f64>) -> Option<String> {
    let secs = epoch.filter(|s| s.is_finite() && *s >= 0.0)?;
    let t = std::time::UNIX_EPOCH.checked_add(Duration::from_secs_f64(secs))?;
    Some(humantime::format_rfc3339_seconds(t).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_pages_encode_their_labels() {
        assert_eq!(
            console_url("eu-west-1", "d1", "feature/x"),
            "https://eu-west-1.console.aws.amazon.com/amplify/apps/d1/branches/feature%2Fx/deployments"
        );
        assert_eq!(
            console_job_url("eu-west-1", "d1", "feature/x", "12"),
            "https://eu-west-1.console.aws.amazon.com/amplify/apps/d1/branches/feature%2Fx/deployments/12"
        );
        let o = Outcome {
            app_id: "d1".into(),
            branch: "main".into(),
            region: "us-east-1".into(),
            job_id: Some("7".into()),
            ..Outcome::default()
        };
        assert_eq!(
            o.job_console_url().as_deref(),
            Some("https://us-east-1.console.aws.amazon.com/amplify/apps/d1/branches/main/deployments/7")
        );
        assert_eq!(Outcome::default().job_console_url(), None);
    }

    #[test]
    fn custom_domains_follow_the_amplify_url_without_their_scheme() {
        let domains = [
            "www.example.com".to_owned(),
            "https://shop.example.com/".to_owned(),
            "http://old.example.com".to_owned(),
            " ".to_owned(),
        ];
        assert_eq!(
            site_urls("https://main.d1.amplifyapp.com", &domains),
            [
                "https://main.d1.amplifyapp.com",
                "https://www.example.com",
                "https://shop.example.com",
                "https://old.example.com"
            ]
        );
        assert_eq!(site_urls("https://a.b", &[]), ["https://a.b"]);
    }

    #[test]
    fn run_states_and_job_statuses_read_as_the_same_strings() {
        for text in [
            "DRY_RUN",
            "STARTED",
            "SUPERSEDED",
            "SKIPPED",
            "LOCKED",
            "DEFERRED",
            "AWAITING_APPROVAL",
            "DISABLED",
            "SUCCEED",
            "CANCELLED",
            "SOMETHING_NEW",
        ] {
            let status = RunStatus::from(text);
            assert_eq!(status.as_str(), text);
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{text}\"")
            );
        }
        assert_eq!(RunStatus::from("DRY_RUN"), RunStatus::DryRun);
        assert_eq!(RunStatus::from("FAILED"), RunStatus::Job(JobStatus::Failed));
        assert!(RunStatus::from("SUCCEED").succeeded());
        assert!(!RunStatus::Started.succeeded());
        assert!(RunStatus::Skipped.succeeded());
        assert_eq!(
            RunStatus::from("AWAITING_APPROVAL"),
            RunStatus::AwaitingApproval
        );
        assert!(!RunStatus::Deferred.succeeded() && !RunStatus::AwaitingApproval.succeeded());
    }

    #[test]
    fn the_source_url_is_reported_without_its_signature() {
        let o = Outcome {
            source_url: Some(
                "https://b.s3.amazonaws.com/site.zip?X-Amz-Signature=abc&X-Amz-Security-Token=tok"
                    .into(),
            ),
            ..Outcome::default()
        };
        let json = serde_json::to_string(&o).unwrap();
        assert!(
            json.contains("\"sourceUrl\":\"https://b.s3.amazonaws.com/site.zip\""),
            "{json}"
        );
        assert!(!json.contains("X-Amz"), "{json}");
        assert_eq!(
            o.source_url_shown().as_deref(),
            Some("https://b.s3.amazonaws.com/site.zip")
        );
    }
}
