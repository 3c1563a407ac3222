//! The facts a deploy run reports, in one place, so every output format
//! (stderr summary, `$GITHUB_OUTPUT`, job summary, JSON, dotenv) says the
//! same thing.

use std::time::Duration;

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
    /// `STARTED` when the run did not wait, `DRY_RUN` for a dry run.
    pub status: Option<String>,
    /// `https://{branch displayName}.{app defaultDomain}`.
    pub url: Option<String>,
    /// The branch's deployments page in the Amplify console.
    pub console_url: String,
    pub package: Option<PackageFacts>,
    pub source_url: Option<String>,
    /// How long each phase took, in order ("package", "upload", "deploy", …).
    #[serde(serialize_with = "phases_as_seconds")]
    pub phases: Vec<(String, Duration)>,
    /// Why the job failed, when it did: one entry per failed step.
    pub failures: Vec<StepFailure>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageFacts {
    pub file_count: u64,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepFailure {
    pub step: String,
    pub reason: Option<String>,
    pub log_url: Option<String>,
}

impl Outcome {
    /// The flat key/value view shared by `$GITHUB_OUTPUT` (these keys) and
    /// dotenv (`AMPLIFY_` + upper-cased key with `_`).
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("job-id", self.job_id.clone().unwrap_or_default()),
            ("job-arn", self.job_arn.clone().unwrap_or_default()),
            ("status", self.status.clone().unwrap_or_default()),
            ("url", self.url.clone().unwrap_or_default()),
        ];
        if let Some(p) = &self.package {
            out.push(("package-sha256", p.sha256.clone()));
            out.push(("package-bytes", p.bytes.to_string()));
            out.push(("file-count", p.file_count.to_string()));
        }
        out
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

/// `https://{region}.console.aws.amazon.com/amplify/apps/{appId}/branches/{branch}/deployments`
pub fn console_url(region: &str, app_id: &str, branch: &str) -> String {
    let branch = percent_encoding::utf8_percent_encode(branch, percent_encoding::NON_ALPHANUMERIC);
    format!("https://{region}.console.aws.amazon.com/amplify/apps/{app_id}/branches/{branch}/deployments")
}
