//! The HTTP side: the accept loop and routing each request to its handler
//! (the Amplify API, the upload, the step log, the site, the control
//! endpoint). hyper is used directly so a fault can close a connection
//! without an answer (a handler returns `Err(Dropped)`) or stop reading an
//! upload half-way.

use std::sync::Arc;
use std::time::Duration;

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
use crate::error::ApiError;
use crate::operation::Operation;
use crate::request::{read_body, Answer, Dropped, Recorder, MAX_BODY};
use crate::shared::Shared;
use crate::{control, site, upload};

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
        Some("tags") => api::route_tags(method, &rest).map_or(Route::Unknown, Route::Api),
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
        Route::Api(call) => api::handle(shared, call, parts, body, recorder).await,
        Route::Upload {
            app_id,
            branch,
            job_id,
        } => upload::handle(shared, (&app_id, &branch, &job_id), parts, body, recorder).await,
        Route::Site { segments } => Ok(site::serve_site(shared, method, path, &segments)),
        Route::Logs { segments } => upload::handle_log(shared, parts, &segments, recorder).await,
        Route::Control { segments } => match read_body(body, MAX_BODY, None, recorder).await {
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
