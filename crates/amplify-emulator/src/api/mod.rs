//! The Amplify API: routing a signed REST-JSON request to its operation,
//! the front door every call passes (faults, body, SigV4), and one function
//! per operation of the service model (`amplify-2017-07-25`). Routing is in
//! [`route`]; the rules live in `state`; the JSON shapes in [`render`]; the
//! deploy lifecycle in [`deploy`]; the job queries in [`jobs`].
//!
//! <https://docs.aws.amazon.com/amplify/latest/APIReference/API_Operations.html>

mod app;
mod deploy;
mod input;
mod jobs;
pub(crate) mod render;
mod route;
mod source;
mod tags;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::body::Incoming;
use serde_json::{json, Value};

pub(crate) use deploy::finish_cancel_later;
use deploy::Failure;
use input::{check_app_id, json_object, optional_bool, optional_string, required_string};
pub(crate) use route::{route, route_tags, ApiCall};

use crate::error::{self, ApiError};
use crate::fault::FaultAction;
use crate::operation::Operation;
use crate::request::{early_fault, read_body, Answer, BodyError, Dropped, Recorder, MAX_BODY};
use crate::shared::Shared;
use crate::sigv4::{SignedRequest, Verifier};

/// Answers one API call: faults that answer first, the body, the
/// signature, the operation, then faults that act after it.
pub(crate) async fn handle(
    shared: &Arc<Shared>,
    call: ApiCall,
    parts: &hyper::http::request::Parts,
    body: Incoming,
    recorder: &mut Recorder,
) -> Answer {
    let fault = match early_fault(shared, call.operation, recorder, ApiError::injected).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let body = match read_body(body, MAX_BODY, None, recorder).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return Ok(ApiError::serialization("Request body is too large.").into_response())
        }
        Err(_) => return Err(Dropped),
    };
    if let Err(err) = authenticate(shared, parts, &body) {
        return Ok(err.into_response());
    }
    if let Some(err) = skew_refusal(shared, &call, &body, recorder) {
        return Ok(err.into_response());
    }
    if let Some(FaultAction::BranchCreatedFirst { branch }) = &fault {
        shared.ensure_branch(&call.app_id, branch);
    }
    let response = match perform(shared, &call, parts.uri.query(), &body, failure(&fault)) {
        Ok(output) => error::json_response(200, &output),
        Err(err) => err.into_response(),
    };
    match fault {
        Some(FaultAction::DropAfter) => Err(Dropped),
        Some(FaultAction::DelayAfter { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(response)
        }
        _ => Ok(response),
    }
}

/// Checks the SigV4 signature as the AWS front door does.
fn authenticate(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    body: &[u8],
) -> Result<(), ApiError> {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let now = SystemTime::now();
    let (credentials, expired) = shared.credentials_at(now);
    let verifier = Verifier {
        credentials: &credentials,
        expired: &expired,
        region: &shared.region,
        clock_skew_tolerance: shared.clock_skew_tolerance,
        now,
    };
    verifier.verify(&SignedRequest {
        method: parts.method.as_str(),
        path_and_query,
        headers: &parts.headers,
        body,
    })
}

/// A `refuse_skew_protection` fault, for a CreateBranch or UpdateBranch
/// whose input turns `enableSkewProtection` on.
fn skew_refusal(
    shared: &Shared,
    call: &ApiCall,
    body: &[u8],
    recorder: &mut Recorder,
) -> Option<ApiError> {
    let turns_on = json_object(body)
        .ok()
        .and_then(|input| optional_bool(&input, "enableSkewProtection").ok().flatten());
    if turns_on != Some(true) {
        return None;
    }
    let action = shared.state().faults.take_skew_refusal(call.operation)?;
    recorder.set_fault(&action);
    let FaultAction::RefuseSkewProtection { message } = action else {
        return None;
    };
    Some(ApiError::bad_request(message.unwrap_or_else(|| {
        "Skew protection can be enabled only on an app that has already been deployed.".to_owned()
    })))
}

/// How a `fail_job`/`fail_job_with_log` fault makes the started job end.
fn failure(fault: &Option<FaultAction>) -> Option<Failure> {
    match fault {
        Some(FaultAction::FailJob { reason }) => Some(Failure {
            reason: reason.clone(),
            log: None,
        }),
        Some(FaultAction::FailJobWithLog { reason, log }) => Some(Failure {
            reason: reason.clone(),
            log: Some(log.clone()),
        }),
        _ => None,
    }
}

/// Runs one operation; `failure` comes from a `fail_job` fault.
fn perform(
    shared: &Arc<Shared>,
    call: &ApiCall,
    query: Option<&str>,
    body: &[u8],
    failure: Option<Failure>,
) -> Result<Value, ApiError> {
    check_app_id(&call.app_id)?;
    match call.operation {
        Operation::GetApp => get_app(shared, call),
        Operation::GetBranch => get_branch(shared, call),
        Operation::ListBranches => list_branches(shared, call, query),
        Operation::CreateBranch => create_branch(shared, call, body),
        Operation::DeleteBranch => delete_branch(shared, call),
        Operation::UpdateBranch => update_branch(shared, call, body),
        Operation::CreateDeployment => deploy::create(shared, call, body),
        Operation::StartDeployment => deploy::start(shared, call, body, failure),
        Operation::GetJob => jobs::get(shared, call),
        Operation::StopJob => jobs::stop(shared, call),
        Operation::DeleteJob => jobs::delete(shared, call),
        Operation::ListJobs => jobs::list(shared, call, query),
        Operation::TagResource => tags::tag(shared, call, body),
        Operation::UntagResource => tags::untag(shared, call, query),
        Operation::ListTagsForResource => tags::list(shared, call),
        Operation::UpdateApp => app::update(shared, call, body),
        other => Err(ApiError::new(
            404,
            "UnknownOperationException",
            format!("Unknown operation {other}"),
        )),
    }
}

fn get_app(shared: &Shared, call: &ApiCall) -> Result<Value, ApiError> {
    let state = shared.state();
    let app = state.app(&call.app_id)?;
    Ok(json!({ "app": render::app(&state.region, app) }))
}

fn get_branch(shared: &Shared, call: &ApiCall) -> Result<Value, ApiError> {
    let state = shared.state();
    let branch = state.branch(&call.app_id, call.branch())?;
    Ok(json!({ "branch": render::branch(&state.region, &call.app_id, branch) }))
}

/// ListBranches: in creation order, `maxResults` (≤ 50) per page, `nextToken`.
fn list_branches(shared: &Shared, call: &ApiCall, query: Option<&str>) -> Result<Value, ApiError> {
    let page = jobs::Page::from_query(query)?;
    let state = shared.state();
    let app = state.app(&call.app_id)?;
    let branches: Vec<_> = app.branches.iter().collect();
    Ok(page.answer("branches", &branches, |b| {
        render::branch(&state.region, &call.app_id, b)
    }))
}

fn create_branch(shared: &Shared, call: &ApiCall, body: &[u8]) -> Result<Value, ApiError> {
    let input = json_object(body)?;
    let name = required_string(&input, "branchName")?;
    let stage = optional_string(&input, "stage")?;
    let basic_auth = basic_auth(&input)?;
    let skew_protection = optional_bool(&input, "enableSkewProtection")?;
    let tags = tags::from_input(&input)?;
    let mut state = shared.state();
    let region = state.region.clone();
    state.create_branch(&call.app_id, &name, stage.as_deref())?;
    let branch = state.branch_mut(&call.app_id, &name)?;
    if let Some(credentials) = basic_auth {
        branch.basic_auth = credentials;
    }
    if let Some(tags) = tags {
        branch.tag(tags)?;
    }
    if let Some(on) = skew_protection {
        branch.set_skew_protection(on);
    }
    Ok(json!({ "branch": render::branch(&region, &call.app_id, branch) }))
}

/// UpdateBranch: the members the emulator keeps (basic auth, stage, skew
/// protection).
fn update_branch(shared: &Shared, call: &ApiCall, body: &[u8]) -> Result<Value, ApiError> {
    let input = json_object(body)?;
    let stage = optional_string(&input, "stage")?;
    let basic_auth = basic_auth(&input)?;
    let skew_protection = optional_bool(&input, "enableSkewProtection")?;
    let mut state = shared.state();
    let region = state.region.clone();
    let branch = state.branch_mut(&call.app_id, call.branch())?;
    if let Some(stage) = stage {
        branch.stage = stage;
    }
    if let Some(credentials) = basic_auth {
        branch.basic_auth = credentials;
    }
    if let Some(on) = skew_protection {
        branch.set_skew_protection(on);
    }
    Ok(json!({ "branch": render::branch(&region, &call.app_id, branch) }))
}

/// `enableBasicAuth` and `basicAuthCredentials`: `Some(Some(creds))` to
/// turn it on, `Some(None)` off, `None` when the input leaves it alone.
fn basic_auth(input: &serde_json::Map<String, Value>) -> Result<Option<Option<String>>, ApiError> {
    let enable = optional_bool(input, "enableBasicAuth")?;
    let credentials = optional_string(input, "basicAuthCredentials")?;
    match (enable, credentials) {
        (Some(false), _) => Ok(Some(None)),
        (Some(true), Some(c)) if !c.is_empty() => Ok(Some(Some(c))),
        (Some(true), _) => Err(ApiError::bad_request(
            "basicAuthCredentials is required when enableBasicAuth is true.",
        )),
        (None, Some(c)) => Ok(Some(Some(c))),
        (None, None) => Ok(None),
    }
}

fn delete_branch(shared: &Shared, call: &ApiCall) -> Result<Value, ApiError> {
    let mut state = shared.state();
    let branch = state.delete_branch(&call.app_id, call.branch())?;
    Ok(json!({ "branch": render::branch(&state.region, &call.app_id, &branch) }))
}
