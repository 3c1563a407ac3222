//! One request's life, shared by every handler: its entry in the request
//! log ([`Recorder`], written even when the client goes away), reading its
//! body under a limit (or cutting it, for a `cut_upload` fault), and the
//! scripted faults that answer before a handler runs ([`early_fault`]).
//! A handler returns [`Dropped`] to make hyper close the connection
//! without an answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::Response;

use crate::error;
use crate::fault::FaultAction;
use crate::operation::Operation;
use crate::record::RequestRecord;
use crate::shared::Shared;

/// Largest API or control request body read.
pub(crate) const MAX_BODY: u64 = 10 * 1024 * 1024;

pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// What a handler gives back: an answer, or a connection closed unanswered.
pub(crate) type Answer = Result<HttpResponse, Dropped>;

/// Builds the error a `status` fault answers with, in the handler's dialect:
/// `(status, error type or code, message)`, both optional.
pub(crate) type InjectedError = fn(u16, Option<String>, Option<String>) -> HttpResponse;

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the emulator")
    }
}

impl std::error::Error for Dropped {}

/// Logs a request when it ends, even when the client went away mid-way
/// (then with status 0).
pub(crate) struct Recorder {
    shared: Arc<Shared>,
    record: Option<RequestRecord>,
}

impl Recorder {
    /// Starts the log entry of a request that has not been answered yet.
    pub fn new(
        shared: Arc<Shared>,
        operation: Operation,
        parts: &hyper::http::request::Parts,
    ) -> Recorder {
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
        let record = RequestRecord {
            operation: operation.as_str().to_owned(),
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            status: 0,
            fault: None,
            headers,
            body_len: 0,
        };
        Recorder {
            shared,
            record: Some(record),
        }
    }

    pub(crate) fn set_fault(&mut self, fault: &FaultAction) {
        if let Some(record) = &mut self.record {
            record.fault = Some(fault.name().to_owned());
        }
    }

    fn add_body_len(&mut self, len: u64) {
        if let Some(record) = &mut self.record {
            record.body_len += len;
        }
    }

    /// Writes the entry with the status answered (0: dropped).
    pub fn finish(&mut self, status: u16) {
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

/// Applies the faults that answer (or delay) before the handler runs.
/// `Ok` carries the action left for the handler (`fail_job`, `drop_after`,
/// `cut_upload`, …); `Err` is the answer to give instead of running it.
pub(crate) async fn early_fault(
    shared: &Shared,
    operation: Operation,
    recorder: &mut Recorder,
    injected_error: InjectedError,
) -> Result<Option<FaultAction>, Answer> {
    let Some(action) = shared.state().faults.take(operation) else {
        return Ok(None);
    };
    recorder.set_fault(&action);
    match action {
        FaultAction::Status {
            status,
            error_type,
            message,
        } => Err(Ok(injected_error(status, error_type, message))),
        FaultAction::Raw {
            status,
            content_type,
            body,
        } => Err(Ok(error::raw(status, &content_type, Bytes::from(body)))),
        FaultAction::Redirect { status, location } => Err(Ok(redirect(status, &location))),
        FaultAction::HugeBody { bytes } => Err(Ok(huge_body(bytes))),
        FaultAction::Drop => Err(Err(Dropped)),
        FaultAction::Delay { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(None)
        }
        other => Ok(Some(other)),
    }
}

fn redirect(status: u16, location: &str) -> HttpResponse {
    let mut response = error::raw(status, "text/plain", Bytes::new());
    if let Ok(value) = hyper::header::HeaderValue::from_str(location) {
        response
            .headers_mut()
            .insert(hyper::header::LOCATION, value);
    }
    response
}

/// `{"job": ` and then spaces: valid JSON as far as it goes.
fn huge_body(bytes: u64) -> HttpResponse {
    let mut body = b"{\"job\": ".to_vec();
    body.resize(
        usize::try_from(bytes).unwrap_or(usize::MAX).max(body.len()),
        b' ',
    );
    error::raw(200, "application/json", Bytes::from(body))
}

#[derive(Debug)]
pub(crate) enum BodyError {
    TooLarge,
    /// A `CutUpload` fault stopped reading.
    Cut,
    /// The client went away or sent a malformed body.
    Broken,
}

/// Reads the body; with `cut_after`, stops (as a failure) once that many
/// bytes have arrived.
pub(crate) async fn read_body(
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
