//! The HTTP side: the accept loop and routing each request to its handler
//! (the Amplify API, the upload, the step log, the site, the control
//! endpoint). hyper is used directly so a fault can close a connection
//! without an answer (a handler returns `Err(Dropped)`) or stop reading an
//! upload half-way.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::api::{self, ApiCall};
use crate::error::{self, ApiError};
use crate::fault::FaultAction;
use crate::operation::Operation;
use crate::request::{early_fault, read_body, Answer, BodyError, Dropped, Recorder};
use crate::sigv4::{SignedRequest, Verifier};
use crate::{control, site, upload, Shared};

/// Largest API or control request body read.
const MAX_API_BODY: u64 = 10 * 1024 * 1024;

/// Accepts connections until `stop` fires (or its sender is dropped).
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(shared.clone(), stream));
                }
                // Out of file descriptors and the like: back off, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}

async fn connection(shared: Arc<Shared>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| handle(shared.clone(), request));
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Where a request goes.
enum Route {
    Api(ApiCall),
    Upload {
        app_id: String,
        branch: String,
        job_id: String,
    },
    Site {
        segments: Vec<String>,
    },
    Logs {
        segments: Vec<String>,
    },
    Control {
        segments: Vec<String>,
    },
    Unknown,
}

impl Route {
    fn operation(&self) -> Operation {
        match self {
            Route::Api(call) => call.operation,
            Route::Upload { .. } => Operation::Upload,
            Route::Site { .. } => Operation::Site,
            Route::Logs { .. } => Operation::StepLog,
            Route::Control { .. } => Operation::Control,
            Route::Unknown => Operation::Unknown,
        }
    }
}

fn route(method: &str, path: &str) -> Route {
    let Some(segments) = path
        .strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8().map(|s| s.into_owned()))
        .collect::<Result<Vec<_>, _>>()
        .ok()
    else {
        return Route::Unknown;
    };
    let rest = segments
        .get(1..)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    match segments.first().map(String::as_str) {
        Some("apps") if !rest.is_empty() => {
            api::route(method, &rest).map_or(Route::Unknown, Route::Api)
        }
        Some("__upload") => match rest.as_slice() {
            [app_id, branch, job_id] => Route::Upload {
                app_id: app_id.clone(),
                branch: branch.clone(),
                job_id: job_id.clone(),
            },
            _ => Route::Unknown,
        },
        Some("__site") => Route::Site { segments: rest },
        Some("__logs") => Route::Logs { segments: rest },
        Some("__emulator") => Route::Control { segments: rest },
        _ => Route::Unknown,
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Answer {
    let (parts, body) = request.into_parts();
    let route = route(parts.method.as_str(), parts.uri.path());
    let mut recorder = Recorder::new(shared.clone(), route.operation(), &parts);
    let result = dispatch(&shared, route, &parts, body, &mut recorder).await;
    recorder.finish(match &result {
        Ok(response) => response.status().as_u16(),
        Err(Dropped) => 0,
    });
    result
}

async fn dispatch(
    shared: &Arc<Shared>,
    route: Route,
    parts: &hyper::http::request::Parts,
    body: Incoming,
    recorder: &mut Recorder,
) -> Answer {
    let method = parts.method.as_str();
    let path = parts.uri.path();
    match route {
        Route::Api(call) => handle_api(shared, call, parts, body, recorder).await,
        Route::Upload {
            app_id,
            branch,
            job_id,
        } => upload::handle(shared, (&app_id, &branch, &job_id), parts, body, recorder).await,
        Route::Site { segments } => Ok(site::serve_site(shared, method, path, &segments)),
        Route::Logs { segments } => upload::handle_log(shared, parts, &segments, recorder).await,
        Route::Control { segments } => match read_body(body, MAX_API_BODY, None, recorder).await {
            Ok(bytes) => Ok(control::handle(shared, method, &segments, &bytes)),
            Err(_) => Err(Dropped),
        },
        Route::Unknown => Ok(ApiError::new(
            404,
            "UnknownOperationException",
            format!("No Amplify operation for {method} {path}"),
        )
        .into_response()),
    }
}

async fn handle_api(
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
    let body = match read_body(body, MAX_API_BODY, None, recorder).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return Ok(ApiError::serialization("Request body is too large.").into_response())
        }
        Err(_) => return Err(Dropped),
    };
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
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path_and_query,
        headers: &parts.headers,
        body: &body,
    };
    if let Err(err) = verifier.verify(&signed) {
        return Ok(err.into_response());
    }
    let fail_reason = match &fault {
        Some(FaultAction::FailJob { reason }) => Some(api::Failure {
            reason: reason.clone(),
            log: None,
        }),
        Some(FaultAction::FailJobWithLog { reason, log }) => Some(api::Failure {
            reason: reason.clone(),
            log: Some(log.clone()),
        }),
        _ => None,
    };
    let response = match api::perform(shared, &call, parts.uri.query(), &body, fail_reason) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_decode_labels() {
        match route("GET", "/apps/d1/branches/feature%2Fx/jobs/2") {
            Route::Api(call) => {
                assert_eq!(call.operation, Operation::GetJob);
                assert_eq!(call.branch.as_deref(), Some("feature/x"));
                assert_eq!(call.job_id.as_deref(), Some("2"));
            }
            _ => panic!("not routed to the API"),
        }
        assert!(matches!(
            route("PUT", "/__upload/d1/feature%2Fx/1"),
            Route::Upload { .. }
        ));
        assert!(matches!(route("GET", "/apps/d1/%FF"), Route::Unknown));
        assert!(matches!(route("GET", "/"), Route::Unknown));
        assert!(matches!(route("GET", "/apps"), Route::Unknown));
    }
}
