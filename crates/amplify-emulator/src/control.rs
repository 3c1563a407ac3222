//! The HTTP control endpoint (`/__emulator/…`), the same set-up the Rust API
//! offers, for the binary and shell-driven tests. No signature needed.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

use crate::api::render;
use crate::error::{json_response, ApiError};
use crate::fault::Fault;
use crate::shared::Shared;

type HttpResponse = Response<Full<Bytes>>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppInput {
    app_id: String,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    branches: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BranchInput {
    app_id: String,
    branch_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigInput {
    #[serde(default)]
    job_duration_ms: Option<u64>,
    #[serde(default)]
    upload_url_ttl_secs: Option<u64>,
}

pub(crate) fn handle(
    shared: &Shared,
    method: &str,
    segments: &[String],
    body: &[u8],
) -> HttpResponse {
    let path: Vec<&str> = segments.iter().map(String::as_str).collect();
    let result = match (method, path.as_slice()) {
        ("POST", ["apps"]) => parse::<AppInput>(body).map(|input| {
            let platform = input.platform.as_deref().unwrap_or("WEB");
            shared.state().create_app(&input.app_id, platform);
            for branch in &input.branches {
                shared.ensure_branch(&input.app_id, branch);
            }
            json!({ "appId": input.app_id, "platform": platform })
        }),
        ("POST", ["branches"]) => parse::<BranchInput>(body).and_then(|input| {
            let mut state = shared.state();
            if state.app(&input.app_id).is_err() {
                state.create_app(&input.app_id, "WEB");
            }
            let region = state.region.clone();
            let branch = state.create_branch(&input.app_id, &input.branch_name, None)?;
            Ok(render::branch(&region, &input.app_id, branch))
        }),
        ("POST", ["faults"]) => parse::<Fault>(body).map(|fault| {
            let echo = serde_json::to_value(&fault).unwrap_or(Value::Null);
            shared.state().faults.push(fault);
            echo
        }),
        ("POST", ["config"]) => parse::<ConfigInput>(body).map(|input| {
            let mut state = shared.state();
            if let Some(ms) = input.job_duration_ms {
                state.job_duration = Duration::from_millis(ms);
            }
            if let Some(secs) = input.upload_url_ttl_secs {
                state.upload_url_ttl = Duration::from_secs(secs);
            }
            json!({
                "jobDurationMs": state.job_duration.as_millis() as u64,
                "uploadUrlTtlSecs": state.upload_url_ttl.as_secs(),
            })
        }),
        ("GET", ["state"]) => Ok(state_json(shared)),
        _ => Err(ApiError::not_found(format!(
            "No control operation {method} /__emulator/{}",
            segments.join("/")
        ))),
    };
    match result {
        Ok(output) => json_response(200, &output),
        Err(err) => err.into_response(),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::serialization(format!("invalid control request: {e}")))
}

/// Apps, branches, jobs, pending faults and the request log.
fn state_json(shared: &Shared) -> Value {
    let state = shared.state();
    let apps: Vec<Value> = state
        .apps
        .iter()
        .map(|app| {
            let branches: Vec<Value> = app
                .branches
                .iter()
                .map(|branch| {
                    let jobs: Vec<Value> = branch
                        .jobs
                        .iter()
                        .map(|job| {
                            let mut summary = render::job_summary(&state.region, &app.app_id, &branch.name, job);
                            if let Some(reason) = &job.status_reason {
                                summary["statusReason"] = json!(reason);
                            }
                            summary
                        })
                        .collect();
                    json!({
                        "branchName": branch.name,
                        "displayName": branch.display_name,
                        "siteUrl": shared.site_url(&app.app_id, &branch.name),
                        "deployedFiles": branch.deployed().as_ref().map(|f| f.keys().cloned().collect::<Vec<_>>()),
                        "jobs": jobs,
                    })
                })
                .collect();
            json!({ "appId": app.app_id, "platform": app.platform, "customRules": app.custom_rules, "branches": branches })
        })
        .collect();
    json!({
        "endpoint": shared.endpoint,
        "region": shared.region,
        "jobDurationMs": state.job_duration.as_millis() as u64,
        "uploadUrlTtlSecs": state.upload_url_ttl.as_secs(),
        "apps": apps,
        "faults": state.faults.pending(),
        "requests": state.requests,
    })
}
