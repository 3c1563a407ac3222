//! What `-v` and `-vv` show of a call: its operation, status, duration and
//! request id, and its headers with every secret taken out. The record is
//! made here, next to the wire, so that no printer sees a raw header.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;

use super::redact_url;

/// One attempt of one call, safe to print.
#[derive(Debug, Clone)]
pub struct CallTrace {
    pub operation: &'static str,
    /// `None`: no answer (a connection error or timeout).
    pub status: Option<u16>,
    pub took: Duration,
    pub request_id: Option<String>,
    /// Method and URL without its query.
    pub target: String,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
}

/// Receives every [`CallTrace`].
pub type CallTracer = Arc<dyn Fn(&CallTrace) + Send + Sync>;

/// Headers whose values are secrets, or carry one.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-amz-security-token",
    "cookie",
    "set-cookie",
    "x-amz-content-sha256-signature",
];

impl CallTrace {
    /// "GetJob → 200 in 12ms (request id 5f…)".
    pub fn describe(&self) -> String {
        let status = self
            .status
            .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        let id = self
            .request_id
            .as_deref()
            .map(|id| format!(" (request id {id})"))
            .unwrap_or_default();
        format!(
            "{} {} → {status} in {}ms{id}",
            self.operation,
            self.target,
            self.took.as_millis()
        )
    }
}

/// `method` and `url` as printed: the URL without its query.
pub fn target(method: &str, url: &str) -> String {
    format!("{method} {}", redact_url(url))
}

/// Method, URL and headers of a request about to be sent, safe to print.
pub fn sent(request: &reqwest::Request) -> (String, Vec<(String, String)>) {
    (
        target(request.method().as_str(), request.url().as_str()),
        redacted_headers(request.headers()),
    )
}

/// Tell `tracer` of one attempt of `operation`, sent as [`sent`] says at
/// `started`, and its answer.
pub fn answered(
    tracer: &CallTracer,
    operation: &'static str,
    (target, request_headers): (String, Vec<(String, String)>),
    started: std::time::Instant,
    answer: &Result<reqwest::Response, reqwest::Error>,
) {
    let headers = answer.as_ref().ok().map(|r| r.headers());
    tracer(&CallTrace {
        operation,
        status: answer.as_ref().ok().map(|r| r.status().as_u16()),
        took: started.elapsed(),
        request_id: headers.and_then(request_id),
        target,
        request_headers,
        response_headers: headers.map(redacted_headers).unwrap_or_default(),
    });
}

/// `headers` safe to print: secrets as `******`, sorted by name.
pub fn redacted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                "******".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect();
    out.sort();
    out
}

/// The request id AWS answers with, if any.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-amzn-requestid", "x-amz-request-id"]
        .iter()
        .find_map(|h| headers.get(*h))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let mut h = HeaderMap::new();
        h.insert(
            "Authorization",
            "AWS4-HMAC-SHA256 Signature=abc".parse().unwrap(),
        );
        h.insert("X-Amz-Security-Token", "IQoTOKEN".parse().unwrap());
        h.insert("Cookie", "session=s3cret".parse().unwrap());
        h.insert("x-amz-date", "20240101T000000Z".parse().unwrap());
        let shown = format!("{:?}", redacted_headers(&h));
        for secret in ["abc", "IQoTOKEN", "s3cret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("20240101T000000Z"), "{shown}");
        assert_eq!(
            target(
                "PUT",
                "https://b.s3.amazonaws.com/k.zip?X-Amz-Signature=abc"
            ),
            "PUT https://b.s3.amazonaws.com/k.zip"
        );
    }
}
