//! Errors the emulated service answers with, in the two wire dialects the
//! tests meet: Amplify's REST-JSON errors (`x-amzn-ErrorType` header plus a
//! `{"message": …}` body) and S3's XML errors for the presigned upload.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

/// Namespace suffix of modelled Amplify errors in `x-amzn-ErrorType`.
const AMPLIFY_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazonaws.amplify/";
/// Namespace suffix of errors raised by the AWS front door (auth, throttling).
const FRONT_DOOR_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazon.coral.service/";

/// Errors raised before an operation runs (signature, credentials, routing).
const FRONT_DOOR_ERRORS: &[&str] = &[
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
    "IncompleteSignatureException",
    "AccessDeniedException",
    "ThrottlingException",
    "UnknownOperationException",
    "SerializationException",
];

/// An Amplify API error: HTTP status, error type and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub error_type: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, error_type: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error_type: error_type.to_owned(),
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequestException", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "NotFoundException", message)
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(429, "LimitExceededException", message)
    }

    pub fn app_not_found(app_id: &str) -> Self {
        Self::not_found(format!("App {app_id} not found."))
    }

    pub fn branch_not_found(branch: &str) -> Self {
        Self::not_found(format!("Branch {branch} not found."))
    }

    pub fn job_not_found(job_id: &str) -> Self {
        Self::not_found(format!("Job {job_id} not found."))
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(400, "SerializationException", message)
    }

    /// The answer of a `status` fault: the given error type or the one
    /// Amplify uses for `status`, and a message naming it as injected.
    pub fn injected(
        status: u16,
        error_type: Option<String>,
        message: Option<String>,
    ) -> Response<Full<Bytes>> {
        let (error_type, message) = injected(error_type, default_api_error(status), message);
        ApiError::new(status, &error_type, message).into_response()
    }

    /// The error as Amplify sends it.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let namespace = if FRONT_DOOR_ERRORS.contains(&self.error_type.as_str()) {
            FRONT_DOOR_NAMESPACE
        } else {
            AMPLIFY_NAMESPACE
        };
        let body = serde_json::json!({ "message": self.message }).to_string();
        let builder = Response::builder()
            .status(status_code(self.status))
            .header("content-type", "application/json")
            .header(
                "x-amzn-ErrorType",
                format!("{}:{namespace}", self.error_type),
            )
            .header("x-amzn-RequestId", request_id());
        builder
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| plain(500, "internal error"))
    }
}

/// An S3-style error for the presigned upload URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Error {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl S3Error {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        S3Error {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// The answer of a `status` fault on an S3-style URL: the given code or
    /// the one S3 uses for `status`, and a message naming it as injected.
    pub fn injected(
        status: u16,
        code: Option<String>,
        message: Option<String>,
    ) -> Response<Full<Bytes>> {
        let (code, message) = injected(code, default_s3_error(status), message);
        S3Error::new(status, &code, message).into_response()
    }

    pub fn into_response(self) -> Response<Full<Bytes>> {
        let request_id = request_id();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
            xml_escape(&self.code),
            xml_escape(&self.message),
            request_id
        );
        Response::builder()
            .status(status_code(self.status))
            .header("content-type", "application/xml")
            .header("x-amz-request-id", request_id)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| plain(500, "internal error"))
    }
}

/// A response with a JSON body and Amplify's request id header.
pub(crate) fn json_response(status: u16, value: &serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status_code(status))
        .header("content-type", "application/json")
        .header("x-amzn-RequestId", request_id())
        .body(Full::new(Bytes::from(value.to_string())))
        .unwrap_or_else(|_| plain(500, "internal error"))
}

/// A response with a text body; the fallback when nothing else fits.
pub(crate) fn plain(status: u16, text: &str) -> Response<Full<Bytes>> {
    raw(
        status,
        "text/plain; charset=utf-8",
        Bytes::from(text.to_owned()),
    )
}

/// A response with any content type, e.g. a proxy's HTML error page.
pub(crate) fn raw(status: u16, content_type: &str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status_code(status);
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert("content-type", value);
    }
    response
}

/// A `status` fault's error name (or `default`) and message (or one that
/// names the fault as injected).
fn injected(name: Option<String>, default: &str, message: Option<String>) -> (String, String) {
    let name = name.unwrap_or_else(|| default.to_owned());
    let message = message.unwrap_or_else(|| format!("Injected fault: {name}"));
    (name, message)
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

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A fresh request id shaped like AWS's (a v4 UUID).
pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
