//! The Amplify operations: request parsing, the state change, the response
//! JSON. Each function mirrors one operation of the service model
//! (`amplify-2017-07-25`); signatures and faults are handled before these run.
//!
//! <https://docs.aws.amazon.com/amplify/latest/APIReference/API_Operations.html>

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::operation::Operation;
use crate::state::{StartedJob, MAX_LIST_RESULTS};
use crate::{upload, zipcheck, Shared};

/// One routed Amplify call: the operation and its URI labels (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiCall {
    pub operation: Operation,
    pub app_id: String,
    pub branch: Option<String>,
    pub job_id: Option<String>,
}

impl ApiCall {
    fn branch(&self) -> &str {
        self.branch.as_deref().unwrap_or_default()
    }

    fn job_id(&self) -> &str {
        self.job_id.as_deref().unwrap_or_default()
    }
}

/// Maps method and decoded path segments after `/apps/` to an operation.
pub(crate) fn route(method: &str, segments: &[String]) -> Option<ApiCall> {
    let call = |operation, branch: Option<&String>, job: Option<&String>| ApiCall {
        operation,
        app_id: segments[0].clone(),
        branch: branch.cloned(),
        job_id: job.cloned(),
    };
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let operation = match (method, parts.as_slice()) {
        ("GET", [_]) => call(Operation::GetApp, None, None),
        ("POST", [_, "branches"]) => call(Operation::CreateBranch, None, None),
        ("GET", [_, "branches", _]) => call(Operation::GetBranch, segments.get(2), None),
        ("DELETE", [_, "branches", _]) => call(Operation::DeleteBranch, segments.get(2), None),
        ("POST", [_, "branches", _, "deployments"]) => {
            call(Operation::CreateDeployment, segments.get(2), None)
        }
        ("POST", [_, "branches", _, "deployments", "start"]) => {
            call(Operation::StartDeployment, segments.get(2), None)
        }
        ("GET", [_, "branches", _, "jobs"]) => call(Operation::ListJobs, segments.get(2), None),
        ("GET", [_, "branches", _, "jobs", _]) => {
            call(Operation::GetJob, segments.get(2), segments.get(4))
        }
        ("DELETE", [_, "branches", _, "jobs", _, "stop"]) => {
            call(Operation::StopJob, segments.get(2), segments.get(4))
        }
        _ => return None,
    };
    Some(operation)
}

/// How a `FailJob`/`FailJobWithLog` fault makes a started job end.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub reason: String,
    /// The failed step's log; the default log when `None`.
    pub log: Option<String>,
}

/// Runs one operation; `fail_reason` comes from a `FailJob` fault.
pub(crate) fn perform(
    shared: &Arc<Shared>,
    call: &ApiCall,
    query: Option<&str>,
    body: &[u8],
    fail_reason: Option<Failure>,
) -> Result<Value, ApiError> {
    check_app_id(&call.app_id)?;
    match call.operation {
        Operation::GetApp => {
            let state = shared.state();
            let app = state.app(&call.app_id)?;
            Ok(json!({ "app": state.app_json(app) }))
        }
        Operation::GetBranch => {
            let state = shared.state();
            let branch = state.branch(&call.app_id, call.branch())?;
            Ok(json!({ "branch": state.branch_json(&call.app_id, branch) }))
        }
        Operation::CreateBranch => {
            let input = json_object(body)?;
            let name = required_string(&input, "branchName")?;
            let stage = optional_string(&input, "stage")?;
            let mut state = shared.state();
            let branch = state.create_branch(&call.app_id, &name, stage.as_deref())?;
            Ok(json!({ "branch": branch }))
        }
        Operation::DeleteBranch => {
            let mut state = shared.state();
            let branch = state.delete_branch(&call.app_id, call.branch())?;
            Ok(json!({ "branch": state.branch_json(&call.app_id, &branch) }))
        }
        Operation::CreateDeployment => create_deployment(shared, call, body),
        Operation::StartDeployment => start_deployment(shared, call, body, fail_reason),
        Operation::GetJob => {
            let state = shared.state();
            let job = state.job(&call.app_id, call.branch(), call.job_id())?;
            let summary = state.job_summary_json(&call.app_id, call.branch(), job);
            let log_url =
                upload::log_url(shared, (&call.app_id, call.branch(), &job.job_id), "DEPLOY");
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
            Ok(json!({ "job": { "summary": summary, "steps": [step] } }))
        }
        Operation::StopJob => {
            let (job, needs_task) =
                shared
                    .state()
                    .stop_job(&call.app_id, call.branch(), call.job_id())?;
            if needs_task {
                finish_cancel_later(shared, job.serial);
            }
            let state = shared.state();
            Ok(json!({ "jobSummary": state.job_summary_json(&call.app_id, call.branch(), &job) }))
        }
        Operation::ListJobs => list_jobs(shared, call, query),
        other => Err(ApiError::new(
            404,
            "UnknownOperationException",
            format!("Unknown operation {other}"),
        )),
    }
}

/// How long a RUNNING job stays CANCELLING after StopJob.
const CANCEL_DURATION: Duration = Duration::from_millis(100);

/// Ends a CANCELLING job after [`CANCEL_DURATION`].
pub(crate) fn finish_cancel_later(shared: &Arc<Shared>, serial: u64) {
    let task_shared = shared.clone();
    shared.runtime.spawn(async move {
        tokio::time::sleep(CANCEL_DURATION).await;
        task_shared.state().finish_cancel(serial);
    });
}

fn create_deployment(shared: &Arc<Shared>, call: &ApiCall, body: &[u8]) -> Result<Value, ApiError> {
    let input = json_object(body)?;
    if input.get("fileMap").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::bad_request(
            "amplify-emulator supports zip deployments only: send CreateDeployment without fileMap.",
        ));
    }
    let mut state = shared.state();
    let job = state.create_deployment(&call.app_id, call.branch())?;
    let url = upload::upload_url(
        shared,
        (&call.app_id, call.branch(), &job.job_id),
        state.upload_url_ttl,
    );
    Ok(json!({ "jobId": job.job_id, "zipUploadUrl": url }))
}

fn start_deployment(
    shared: &Arc<Shared>,
    call: &ApiCall,
    body: &[u8],
    fail_reason: Option<Failure>,
) -> Result<Value, ApiError> {
    let input = json_object(body)?;
    let job_id = optional_string(&input, "jobId")?;
    let source_url = optional_string(&input, "sourceUrl")?;
    let source_url_type = optional_string(&input, "sourceUrlType")?;
    let mut state = shared.state();
    let (job, started) = state.start_deployment(
        &call.app_id,
        call.branch(),
        job_id.as_deref(),
        source_url.as_deref(),
        source_url_type.as_deref(),
    )?;
    let duration = state.job_duration;
    let summary = state.job_summary_json(&call.app_id, call.branch(), &job);
    let fail_reason = fail_reason.map(|f| {
        if let Some(log) = f.log {
            state.set_job_log(started.serial, log);
        }
        f.reason
    });
    drop(state);
    shared
        .runtime
        .spawn(run_job(shared.clone(), started, duration, fail_reason));
    Ok(json!({ "jobSummary": summary }))
}

/// Keeps a started job RUNNING for `duration`, meanwhile checks its zip,
/// then ends it SUCCEED or FAILED (unless it was stopped).
async fn run_job(
    shared: Arc<Shared>,
    job: StartedJob,
    duration: Duration,
    fail_reason: Option<String>,
) {
    let outcome = async {
        if let Some(reason) = fail_reason {
            return Err(reason);
        }
        let zip = if job.from_source_url {
            // Only local URLs are fetched; others (https, s3) are taken on trust.
            match job.source_url.as_deref().filter(|url| is_local(url)) {
                Some(url) => Some(fetch_local(url).await?),
                None => return Ok(None),
            }
        } else {
            job.zip
        };
        tokio::task::spawn_blocking(move || zipcheck::site_files(zip.as_deref()).map(Some))
            .await
            .unwrap_or_else(|e| Err(format!("internal error while checking the zip: {e}")))
    };
    let (outcome, ()) = tokio::join!(outcome, tokio::time::sleep(duration));
    let finished = shared.state().finish_job(job.serial, outcome);
    if let Some((location, succeeded)) = finished {
        if shared.log_requests {
            if succeeded {
                println!(
                    "site: {}",
                    shared.site_url(&location.app_id, &location.branch)
                );
            } else {
                let state = shared.state();
                let reason = state
                    .job(&location.app_id, &location.branch, &location.job_id)
                    .ok()
                    .and_then(|j| j.status_reason.clone())
                    .unwrap_or_default();
                println!(
                    "job {} of {}/{} FAILED: {reason}",
                    location.job_id, location.app_id, location.branch
                );
            }
        }
    }
}

/// Source URLs the emulator may fetch: its own machine only.
fn is_local(url: &str) -> bool {
    ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| url.starts_with(prefix))
}

/// Downloads a zip from a local HTTP server, as Amplify downloads `sourceUrl`.
async fn fetch_local(url: &str) -> Result<bytes::Bytes, String> {
    use http_body_util::{BodyExt, Empty, Limited};

    let failed =
        |e: &dyn std::fmt::Display| format!("unable to download the zip file from {url}: {e}");
    let uri: hyper::Uri = url.parse().map_err(|e| failed(&e))?;
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| failed(&"no host"))?;
    let host = uri.host().unwrap_or("127.0.0.1").trim_matches(['[', ']']);
    let port = uri.port_u16().unwrap_or(80);
    let download = async {
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| failed(&e))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| failed(&e))?;
        tokio::spawn(connection);
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let request = hyper::Request::get(path)
            .header("host", authority)
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| failed(&e))?;
        let response = sender.send_request(request).await.map_err(|e| failed(&e))?;
        if !response.status().is_success() {
            return Err(failed(&format!("HTTP {}", response.status().as_u16())));
        }
        Limited::new(response.into_body(), SOURCE_URL_LIMIT)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|e| failed(&e))
    };
    tokio::time::timeout(Duration::from_secs(60), download)
        .await
        .map_err(|_| failed(&"timed out after 60 s"))?
}

/// Largest zip fetched from a `sourceUrl`: Amplify takes 5 GB, but this
/// emulator keeps zips in memory.
const SOURCE_URL_LIMIT: usize = 1024 * 1024 * 1024;

fn list_jobs(shared: &Arc<Shared>, call: &ApiCall, query: Option<&str>) -> Result<Value, ApiError> {
    let mut max_results = MAX_LIST_RESULTS;
    let mut start = 0usize;
    for (name, value) in upload::presign::query_pairs(query.unwrap_or_default()) {
        match name.as_str() {
            "maxResults" => {
                let parsed: i64 = value.parse().map_err(|_| {
                    ApiError::bad_request(format!("maxResults must be a number, got '{value}'."))
                })?;
                if !(0..=MAX_LIST_RESULTS as i64).contains(&parsed) {
                    return Err(ApiError::bad_request(format!(
                        "1 validation error detected: Value '{parsed}' at 'maxResults' failed to satisfy constraint: Member must have value between 0 and {MAX_LIST_RESULTS}"
                    )));
                }
                if parsed > 0 {
                    max_results = parsed as usize;
                }
            }
            "nextToken" => {
                start = decode_token(&value)
                    .ok_or_else(|| ApiError::bad_request(format!("Invalid nextToken: {value}")))?;
            }
            _ => {}
        }
    }
    let state = shared.state();
    let branch = state.branch(&call.app_id, call.branch())?;
    let newest_first: Vec<_> = branch.jobs.iter().rev().collect();
    let page: Vec<Value> = newest_first
        .iter()
        .skip(start)
        .take(max_results)
        .map(|job| state.job_summary_json(&call.app_id, call.branch(), job))
        .collect();
    let mut output = json!({ "jobSummaries": page });
    let next = start + max_results;
    if next < newest_first.len() {
        output["nextToken"] = json!(encode_token(next));
    }
    Ok(output)
}

/// Pagination tokens are opaque to clients; this one is an offset.
fn encode_token(offset: usize) -> String {
    format!("emulator-offset-{offset}")
}

fn decode_token(token: &str) -> Option<usize> {
    token.strip_prefix("emulator-offset-")?.parse().ok()
}

fn check_app_id(app_id: &str) -> Result<(), ApiError> {
    let valid = (1..=20).contains(&app_id.len())
        && app_id.starts_with('d')
        && app_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "1 validation error detected: Value '{app_id}' at 'appId' failed to satisfy constraint: Member must satisfy regular expression pattern: d[a-z0-9]+"
        )))
    }
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::serialization(
            "Start of structure or map found where not expected.",
        )),
        Err(e) => Err(ApiError::serialization(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

fn optional_string(input: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::serialization(format!(
            "Expected a string for member '{name}'."
        ))),
    }
}

fn required_string(input: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    optional_string(input, name)?.ok_or_else(|| {
        ApiError::bad_request(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn routes_every_operation() {
        let cases = [
            ("GET", "d1", "GetApp"),
            ("POST", "d1/branches", "CreateBranch"),
            ("GET", "d1/branches/main", "GetBranch"),
            ("DELETE", "d1/branches/main", "DeleteBranch"),
            ("POST", "d1/branches/main/deployments", "CreateDeployment"),
            (
                "POST",
                "d1/branches/main/deployments/start",
                "StartDeployment",
            ),
            ("GET", "d1/branches/main/jobs", "ListJobs"),
            ("GET", "d1/branches/main/jobs/3", "GetJob"),
            ("DELETE", "d1/branches/main/jobs/3/stop", "StopJob"),
        ];
        for (method, path, operation) in cases {
            let call = route(method, &segments(path)).expect(path);
            assert_eq!(call.operation.as_str(), operation);
        }
        assert_eq!(route("PUT", &segments("d1")), None);
        assert_eq!(route("GET", &segments("d1/branches/main/jobs/3/x")), None);
    }

    #[test]
    fn malformed_bodies_are_serialization_errors() {
        assert_eq!(json_object(b"").map(|m| m.len()), Ok(0));
        let err = json_object(b"{not json").expect_err("bad json");
        assert_eq!(err.error_type, "SerializationException");
        assert!(json_object(b"[1]").is_err());
        let mut input = Map::new();
        input.insert("jobId".into(), json!(5));
        assert!(optional_string(&input, "jobId").is_err());
    }
}
