//! The HTTP side: accept loop, routing, request log, faults, the upload.
//! hyper is used directly so a fault can close a connection without an
//! answer (the service returns `Err`) or stop reading an upload half-way.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::api::{self, ApiCall};
use crate::error::{self, ApiError, S3Error};
use crate::fault::FaultAction;
use crate::operation::Operation;
use crate::sigv4::{SignedRequest, Verifier};
use crate::{control, site, RequestRecord, Shared};

type HttpResponse = Response<Full<Bytes>>;

/// Largest API or control request body read.
const MAX_API_BODY: u64 = 10 * 1024 * 1024;
/// Largest upload accepted (Amplify's limit for manual deploys).
const MAX_UPLOAD: u64 = 5 * 1024 * 1024 * 1024;

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the emulator")
    }
}

impl std::error::Error for Dropped {}

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

/// Logs a request when it ends, even when the client went away mid-way
/// (then with status 0).
struct Recorder {
    shared: Arc<Shared>,
    record: Option<RequestRecord>,
}

impl Recorder {
    fn set_fault(&mut self, fault: &FaultAction) {
        if let Some(record) = &mut self.record {
            record.fault = Some(fault.name().to_owned());
        }
    }

    fn add_body_len(&mut self, len: u64) {
        if let Some(record) = &mut self.record {
            record.body_len += len;
        }
    }

    fn finish(&mut self, status: u16) {
        let Some(mut record) = self.record.take() else {
            return;
        };
        record.status = status;
        if self.shared.log_requests {
            let shown = if status == 0 {
                "dropped".to_owned()
            } else {
                status.to_string()
            };
            let fault = record
                .fault
                .as_deref()
                .map(|f| format!(" (fault: {f})"))
                .unwrap_or_default();
            println!("{} {} {shown}{fault}", record.method, record.path);
        }
        self.shared.state().requests.push(record);
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish(0);
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<HttpResponse, Dropped> {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let route = route(&method, &path);
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut recorder = Recorder {
        shared: shared.clone(),
        record: Some(RequestRecord {
            operation: route.operation().as_str().to_owned(),
            method: method.clone(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            status: 0,
            fault: None,
            headers,
            body_len: 0,
        }),
    };
    let result = match route {
        Route::Api(call) => handle_api(&shared, call, &parts, body, &mut recorder).await,
        Route::Upload {
            app_id,
            branch,
            job_id,
        } => {
            handle_upload(
                &shared,
                (&app_id, &branch, &job_id),
                &parts,
                body,
                &mut recorder,
            )
            .await
        }
        Route::Site { segments } => Ok(site::serve_site(&shared, &method, &path, &segments)),
        Route::Logs { segments } => {
            // Faults named "StepLog" (status, raw, delay, drop) apply here.
            match early_fault(
                &shared,
                Operation::StepLog,
                &mut recorder,
                |status, code, message| {
                    let code = code.unwrap_or_else(|| default_s3_error(status).to_owned());
                    let message = message.unwrap_or_else(|| format!("Injected fault: {code}"));
                    S3Error::new(status, &code, message).into_response()
                },
            )
            .await
            {
                Ok(_) => Ok(site::serve_log(&shared, &parts, &segments)),
                Err(answer) => answer,
            }
        }
        Route::Control { segments } => {
            match read_body(body, MAX_API_BODY, None, &mut recorder).await {
                Ok(bytes) => Ok(control::handle(&shared, &method, &segments, &bytes)),
                Err(_) => Err(Dropped),
            }
        }
        Route::Unknown => Ok(ApiError::new(
            404,
            "UnknownOperationException",
            format!("No Amplify operation for {method} {path}"),
        )
        .into_response()),
    };
    recorder.finish(match &result {
        Ok(response) => response.status().as_u16(),
        Err(Dropped) => 0,
    });
    result
}

/// Applies the answering faults; returns the action left for the handler.
async fn early_fault(
    shared: &Shared,
    operation: Operation,
    recorder: &mut Recorder,
    error_response: impl Fn(u16, Option<String>, Option<String>) -> HttpResponse,
) -> Result<Option<FaultAction>, Result<HttpResponse, Dropped>> {
    let Some(action) = shared.state().faults.take(operation) else {
        return Ok(None);
    };
    recorder.set_fault(&action);
    match action {
        FaultAction::Status {
            status,
            error_type,
            message,
        } => Err(Ok(error_response(status, error_type, message))),
        FaultAction::Raw {
            status,
            content_type,
            body,
        } => Err(Ok(error::raw(status, &content_type, Bytes::from(body)))),
        FaultAction::Redirect { status, location } => {
            let mut response = error::raw(status, "text/plain", Bytes::new());
            if let Ok(value) = hyper::header::HeaderValue::from_str(&location) {
                response
                    .headers_mut()
                    .insert(hyper::header::LOCATION, value);
            }
            Err(Ok(response))
        }
        FaultAction::HugeBody { bytes } => {
            // `{"job": ` and then spaces: valid JSON as far as it goes.
            let mut body = b"{\"job\": ".to_vec();
            body.resize(
                usize::try_from(bytes).unwrap_or(usize::MAX).max(body.len()),
                b' ',
            );
            Err(Ok(error::raw(200, "application/json", Bytes::from(body))))
        }
        FaultAction::Drop => Err(Err(Dropped)),
        FaultAction::Delay { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(None)
        }
        other => Ok(Some(other)),
    }
}

async fn handle_api(
    shared: &Arc<Shared>,
    call: ApiCall,
    parts: &hyper::http::request::Parts,
    body: Incoming,
    recorder: &mut Recorder,
) -> Result<HttpResponse, Dropped> {
    let fault = match early_fault(shared, call.operation, recorder, |status, kind, message| {
        let kind = kind.unwrap_or_else(|| default_api_error(status).to_owned());
        let message = message.unwrap_or_else(|| format!("Injected fault: {kind}"));
        ApiError::new(status, &kind, message).into_response()
    })
    .await
    {
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

fn default_api_error(status: u16) -> &'static str {
    match status {
        400 => "BadRequestException",
        401 => "UnauthorizedException",
        403 => "AccessDeniedException",
        404 => "NotFoundException",
        429 => "TooManyRequestsException",
        503 => "ServiceUnavailableException",
        _ => "InternalFailureException",
    }
}

fn default_s3_error(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        403 => "AccessDenied",
        404 => "NoSuchKey",
        503 => "SlowDown",
        _ => "InternalError",
    }
}

async fn handle_upload(
    shared: &Arc<Shared>,
    (app_id, branch, job_id): (&str, &str, &str),
    parts: &hyper::http::request::Parts,
    body: Incoming,
    recorder: &mut Recorder,
) -> Result<HttpResponse, Dropped> {
    let fault = match early_fault(shared, Operation::Upload, recorder, |status, code, message| {
        let code = code.unwrap_or_else(|| default_s3_error(status).to_owned());
        let message = message.unwrap_or_else(|| format!("Injected fault: {code}"));
        S3Error::new(status, &code, message).into_response()
    })
    .await
    {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let content_length = match check_upload_request(shared, parts) {
        Ok(length) => length,
        Err(err) => return Ok(err.into_response()),
    };
    let serial = shared.state().serial_of(app_id, branch, job_id);
    let Some(serial) = serial else {
        return Ok(S3Error::new(403, "AccessDenied", "Access Denied").into_response());
    };
    let cut_after = match &fault {
        Some(FaultAction::CutUpload { after_bytes }) => Some(*after_bytes),
        _ => None,
    };
    let zip = match read_body(body, MAX_UPLOAD, cut_after, recorder).await {
        Ok(zip) => zip,
        Err(BodyError::TooLarge) => {
            return Ok(S3Error::new(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            )
            .into_response())
        }
        Err(BodyError::Cut | BodyError::Broken) => return Err(Dropped),
    };
    if zip.len() as u64 != content_length {
        return Ok(S3Error::new(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        )
        .into_response());
    }
    let digest = Sha256::digest(&zip);
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    shared.state().uploads.insert(serial, Bytes::from(zip));
    if matches!(fault, Some(FaultAction::DropAfter)) {
        return Err(Dropped);
    }
    let response = Response::builder()
        .status(200)
        .header("etag", etag)
        .header("x-amz-request-id", error::request_id())
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| error::plain(500, "internal error"));
    Ok(response)
}

/// The checks S3 makes before reading a presigned PUT's body; returns the
/// Content-Length.
fn check_upload_request(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
) -> Result<u64, S3Error> {
    let method = parts.method.as_str();
    if method != "PUT" && method != "POST" {
        return Err(S3Error::new(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        ));
    }
    if parts.headers.contains_key("authorization") {
        return Err(S3Error::new(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        ));
    }
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    shared.signer.verify(
        method,
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        host,
        SystemTime::now(),
    )?;
    let missing_length = || {
        S3Error::new(
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        )
    };
    if parts.headers.contains_key("transfer-encoding") {
        return Err(missing_length());
    }
    let length = parts
        .headers
        .get("content-length")
        .ok_or_else(missing_length)?;
    length
        .to_str()
        .ok()
        .and_then(|l| l.trim().parse::<u64>().ok())
        .ok_or_else(|| S3Error::new(400, "InvalidArgument", "Content-Length is not a number"))
}

#[derive(Debug)]
enum BodyError {
    TooLarge,
    /// A `CutUpload` fault stopped reading.
    Cut,
    /// The client went away or sent a malformed body.
    Broken,
}

/// Reads the body; with `cut_after`, stops (as a failure) once that many
/// bytes have arrived.
async fn read_body(
    mut body: Incoming,
    limit: u64,
    cut_after: Option<u64>,
    recorder: &mut Recorder,
) -> Result<Vec<u8>, BodyError> {
    let hint = hyper::body::Body::size_hint(&body).lower().min(limit);
    let mut data = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        recorder.add_body_len(chunk.len() as u64);
        data.extend_from_slice(&chunk);
        if let Some(cut) = cut_after {
            if data.len() as u64 >= cut {
                return Err(BodyError::Cut);
            }
        }
        if data.len() as u64 > limit {
            return Err(BodyError::TooLarge);
        }
    }
    Ok(data)
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
