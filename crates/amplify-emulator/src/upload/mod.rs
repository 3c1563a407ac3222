//! The S3 side of a manual deploy: the presigned URLs the API hands out
//! (the zip's PUT URL from CreateDeployment, a step log's GET URL from
//! GetJob) and the upload itself, served and checked as S3 does before the
//! zip is kept for StartDeployment. Signing lives in [`presign`]; the step
//! log is served by `site`, which checks its URL with the same signer.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::Response;
use sha2::{Digest, Sha256};

use crate::error::{self, S3Error};
use crate::fault::FaultAction;
use crate::operation::Operation;
use crate::presign;
use crate::request::{early_fault, read_body, Answer, BodyError, Dropped, Recorder};
use crate::shared::Shared;
use crate::site;

/// Largest upload accepted (Amplify's limit for manual deploys).
const MAX_UPLOAD: u64 = 5 * 1024 * 1024 * 1024;
/// How long a step's presigned `logUrl` is valid (S3 presigned GET).
const LOG_URL_TTL: Duration = Duration::from_secs(900);

/// The zip's presigned PUT URL for a job, valid for `ttl`.
pub(crate) fn upload_url(
    shared: &Shared,
    (app_id, branch, job_id): (&str, &str, &str),
    ttl: Duration,
) -> String {
    let path = presign::upload_path(app_id, branch, job_id);
    shared.signer.presign_path(
        "PUT",
        &shared.endpoint,
        &shared.host,
        &shared.region,
        &path,
        SystemTime::now(),
        ttl,
    )
}

/// A step log's presigned GET URL, as Amplify returns it: its query carries
/// a signature and a session token.
pub(crate) fn log_url(
    shared: &Shared,
    (app_id, branch, job_id): (&str, &str, &str),
    step: &str,
) -> String {
    let path = presign::log_path(app_id, branch, job_id, step);
    shared.signer.presign_path(
        "GET",
        &shared.endpoint,
        &shared.host,
        &shared.region,
        &path,
        SystemTime::now(),
        LOG_URL_TTL,
    )
}

/// `PUT /__upload/{app}/{branch}/{job}?X-Amz-…`: checks the request as S3
/// does, reads the zip and keeps it for the job's StartDeployment.
pub(crate) async fn handle(
    shared: &Arc<Shared>,
    (app_id, branch, job_id): (&str, &str, &str),
    parts: &hyper::http::request::Parts,
    body: Incoming,
    recorder: &mut Recorder,
) -> Answer {
    let fault = match early_fault(shared, Operation::Upload, recorder, S3Error::injected).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let content_length = match check_request(shared, parts) {
        Ok(length) => length,
        Err(err) => return Ok(err.into_response()),
    };
    let Some(serial) = shared.state().serial_of(app_id, branch, job_id) else {
        return Ok(S3Error::new(403, "AccessDenied", "Access Denied").into_response());
    };
    let cut_after = match &fault {
        Some(FaultAction::CutUpload { after_bytes }) => Some(*after_bytes),
        _ => None,
    };
    let zip = match receive(body, content_length, cut_after, recorder).await? {
        Ok(zip) => zip,
        Err(err) => return Ok(err.into_response()),
    };
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

/// `GET /__logs/{app}/{branch}/{job}/{step}?X-Amz-…`, a step log's
/// presigned URL; faults named "StepLog" (status, raw, delay, drop) apply.
pub(crate) async fn handle_log(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    segments: &[String],
    recorder: &mut Recorder,
) -> Answer {
    match early_fault(shared, Operation::StepLog, recorder, S3Error::injected).await {
        Ok(_) => Ok(site::serve_log(shared, parts, segments)),
        Err(answer) => answer,
    }
}

/// Reads the zip: `Err(Dropped)` when the client went away or a fault cut
/// it, `Ok(Err)` when S3 would refuse what arrived.
async fn receive(
    body: Incoming,
    content_length: u64,
    cut_after: Option<u64>,
    recorder: &mut Recorder,
) -> Result<Result<Vec<u8>, S3Error>, Dropped> {
    let zip = match read_body(body, MAX_UPLOAD, cut_after, recorder).await {
        Ok(zip) => zip,
        Err(BodyError::TooLarge) => {
            return Ok(Err(S3Error::new(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            )))
        }
        Err(BodyError::Cut | BodyError::Broken) => return Err(Dropped),
    };
    if zip.len() as u64 != content_length {
        return Ok(Err(S3Error::new(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        )));
    }
    Ok(Ok(zip))
}

/// The checks S3 makes before reading a presigned PUT's body; returns the
/// Content-Length.
fn check_request(shared: &Shared, parts: &hyper::http::request::Parts) -> Result<u64, S3Error> {
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
    content_length(&parts.headers)
}

/// S3 wants a Content-Length: chunked or missing is 411.
fn content_length(headers: &hyper::HeaderMap) -> Result<u64, S3Error> {
    let missing_length = || {
        S3Error::new(
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        )
    };
    if headers.contains_key("transfer-encoding") {
        return Err(missing_length());
    }
    let length = headers.get("content-length").ok_or_else(missing_length)?;
    length
        .to_str()
        .ok()
        .and_then(|l| l.trim().parse::<u64>().ok())
        .ok_or_else(|| S3Error::new(400, "InvalidArgument", "Content-Length is not a number"))
}
