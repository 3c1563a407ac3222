//! What can go wrong calling Amplify, how an error answer is parsed, and
//! which failures are worth another attempt.

use std::time::Duration;

use reqwest::header::{HeaderMap, DATE, RETRY_AFTER};

use crate::http::{body_excerpt, describe_reqwest_error, parse_retry_after, RetryDecision};

/// A failed Amplify call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The service (or something in front of it) answered with an error.
    #[error("{operation} failed with HTTP {status} {error_type}: {}{}", or_no_message(.message), request_id_suffix(.request_id))]
    Service {
        operation: &'static str,
        status: u16,
        /// From `x-amzn-ErrorType` (before any `:`), else the body's
        /// `code`/`__type` without a `namespace#` prefix; "Unknown" if none.
        error_type: String,
        /// The body's `message`/`Message`; for a non-JSON body (an HTML
        /// 502 from a proxy) a short single-line excerpt.
        message: String,
        /// `x-amzn-RequestId`.
        request_id: Option<String>,
        /// The `Date` header, for clock-skew hints.
        server_date: Option<String>,
    },
    /// No usable answer (connection, timeout), after retries.
    #[error("{operation} request failed")]
    Transport {
        operation: &'static str,
        #[source]
        source: reqwest::Error,
        /// A failed connection through a proxy, said with the proxy's
        /// variable and address ([`crate::http::proxy::proxy_failure`]).
        proxy: Option<String>,
    },
    /// A 2xx answer whose body is not the JSON we expect.
    #[error("{operation} returned HTTP {status} with an unexpected body: {message}{}", request_id_suffix(.request_id))]
    Decode {
        operation: &'static str,
        status: u16,
        message: String,
        request_id: Option<String>,
    },
    /// The credentials provider failed.
    #[error("cannot load AWS credentials")]
    Credentials {
        #[source]
        source: aws_credential_types::provider::error::CredentialsError,
    },
    /// The request could not be signed.
    #[error("cannot sign the request: {message}")]
    Signing { message: String },
}

fn or_no_message(message: &str) -> &str {
    if message.is_empty() {
        "(no message)"
    } else {
        message
    }
}

fn request_id_suffix(request_id: &Option<String>) -> String {
    request_id
        .as_deref()
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default()
}

impl ApiError {
    /// The service's error type, e.g. `NotFoundException`.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            ApiError::Service { error_type, .. } => Some(error_type),
            _ => None,
        }
    }

    /// The request id AWS support asks for.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Service { request_id, .. } | ApiError::Decode { request_id, .. } => {
                request_id.as_deref()
            }
            _ => None,
        }
    }

    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Service { status, .. } | ApiError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// "The last job(deployment) N was not finished..." → `Some("N")`,
    /// whatever the error type.
    pub fn unfinished_job_id(&self) -> Option<String> {
        let ApiError::Service { message, .. } = self else {
            return None;
        };
        let lower = message.to_ascii_lowercase();
        let marker = "last job(deployment)";
        let start = lower.find(marker)? + marker.len();
        let rest = message.get(start..)?.trim_start();
        let id: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if id.is_empty() || !lower[start..].contains("not finished") {
            return None;
        }
        Some(id)
    }

    /// The app, branch or job does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            ApiError::Service {
                status, error_type, ..
            } => *status == 404 || error_type == "NotFoundException",
            _ => false,
        }
    }

    /// The request went out and no answer came back (it timed out, or the
    /// connection dropped after it was sent): the service may have acted
    /// on it. A connection that never opened, or any answer at all, says it
    /// did not (an error answer means the operation was not performed).
    pub fn may_have_been_received(&self) -> bool {
        match self {
            ApiError::Transport { source, .. } => !source.is_connect() && !source.is_builder(),
            _ => false,
        }
    }

    /// Whether a call failing with this error would be attempted again.
    pub fn retry_decision(&self) -> RetryDecision {
        classify(self, None)
    }

    /// Whether the same call may well succeed later: what the retry rule
    /// ([`classify`]) retries or waits for, and a 2xx answer with a garbled
    /// body (a proxy's). A poll that fails so, after its own retries, is
    /// worth polling again.
    pub fn is_transient(&self) -> bool {
        matches!(self, ApiError::Decode { .. })
            || !matches!(self.retry_decision(), RetryDecision::Fail)
    }
}

/// One attempt's failure, with what the classifier needs beyond the error.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: ApiError,
    pub retry_after: Option<Duration>,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

pub(crate) fn classify_failure(failure: &Failure) -> RetryDecision {
    classify(&failure.error, failure.retry_after)
}

/// Error types AWS front doors use for throttling and transient faults.
const RETRYABLE_TYPES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "InternalFailureException",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "DependentServiceFailureException",
];

fn is_about_request_rate(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "rate exceeded",
        "request rate",
        "rate limit",
        "throttl",
        "too many requests",
        "slow down",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// What a `LimitExceededException` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Too many requests: retried like any throttling error.
    RequestRate,
    /// A fixed count that no wait changes: branches per app (on
    /// CreateBranch) or tags per resource. Fails at once, with a hint.
    FixedCount,
    /// A quota on work in progress (e.g. concurrent jobs per account and
    /// region) that clears when that work ends: waited for, up to
    /// `--quota-wait`.
    Quota,
}

/// Sorts a `LimitExceededException`. The AWS SDKs' standard retry mode
/// retries every `LimitExceededException` as a throttling error; Amplify
/// also uses it for quotas, of which only the fixed counts (branches per
/// app, tags per resource) can never clear by waiting.
pub fn limit_kind(operation: &str, message: &str) -> Limit {
    if is_about_request_rate(message) {
        return Limit::RequestRate;
    }
    let words: Vec<String> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_lowercase)
        .collect();
    let mentions = |w: &str| words.iter().any(|x| x == w);
    if matches!(operation, "CreateBranch" | "TagResource")
        || mentions("branches")
        || mentions("tags")
        || mentions("tag")
    {
        Limit::FixedCount
    } else {
        Limit::Quota
    }
}

/// The retry rule for every Amplify call (defaults in
/// [`crate::http::RetryConfig`]):
/// - connection errors, timeouts, HTTP 5xx, 429, 408 and the throttling and
///   transient error types below are retried with backoff, at most 6 more
///   times within 120 s;
/// - `LimitExceededException` is retried as the AWS SDKs do (see
///   [`limit_kind`]): about request rate, like throttling; about a quota
///   such as concurrent jobs, waited for up to `--quota-wait` (10 minutes
///   by default, never past `--timeout`); about a fixed count (branches
///   per app, tags per resource), not at all;
/// - every other error answer fails at once.
fn classify(error: &ApiError, retry_after: Option<Duration>) -> RetryDecision {
    let retry = |reason: String| RetryDecision::Retry {
        reason,
        after: retry_after,
    };
    match error {
        ApiError::Transport { source, .. } if source.is_builder() => RetryDecision::Fail,
        ApiError::Transport {
            proxy: Some(proxy), ..
        } => retry(format!("connection failed: {proxy}")),
        ApiError::Transport { source, .. } => retry(describe_reqwest_error(source)),
        ApiError::Service {
            operation,
            status,
            error_type,
            message,
            ..
        } => {
            let reason = format!("HTTP {status} {error_type}: {}", or_no_message(message));
            if error_type == "LimitExceededException" {
                return match limit_kind(operation, message) {
                    Limit::RequestRate => retry(reason),
                    Limit::FixedCount => RetryDecision::Fail,
                    Limit::Quota => RetryDecision::Wait {
                        reason: format!(
                            "Amplify quota reached ({error_type}: {})",
                            or_no_message(message)
                        ),
                        after: retry_after,
                    },
                };
            }
            if *status >= 500
                || *status == 429
                || *status == 408
                || RETRYABLE_TYPES.contains(&error_type.as_str())
            {
                retry(reason)
            } else {
                RetryDecision::Fail
            }
        }
        ApiError::Decode { .. } | ApiError::Credentials { .. } | ApiError::Signing { .. } => {
            RetryDecision::Fail
        }
    }
}

/// Build the error for a non-2xx answer. Never panics, whatever the body.
pub(crate) fn service_error(
    operation: &'static str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Failure {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .filter(|v| v.is_object());
    let body_str = |keys: &[&str]| {
        let obj = json.as_ref()?.as_object()?;
        keys.iter()
            .find_map(|k| obj.get(*k).and_then(|v| v.as_str()))
            .map(str::to_string)
    };
    let error_type = header("x-amzn-ErrorType")
        .map(str::to_string)
        .or_else(|| body_str(&["code", "__type", "Code"]))
        .map(|t| clean_error_type(&t))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "Unknown".to_string());
    let message = match &json {
        Some(_) => body_str(&["message", "Message", "errorMessage"])
            .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
        None => body_excerpt(body),
    };
    let request_id = header("x-amzn-RequestId")
        .or_else(|| header("x-amz-request-id"))
        .map(str::to_string);
    let server_date = headers
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    Failure {
        error: ApiError::Service {
            operation,
            status,
            error_type,
            message,
            request_id,
            server_date,
        },
        retry_after,
    }
}

/// `ns#Name:http://uri` → `Name`.
fn clean_error_type(raw: &str) -> String {
    let before_colon = raw.split(':').next().unwrap_or(raw);
    let after_hash = before_colon.rsplit('#').next().unwrap_or(before_colon);
    after_hash.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (n, v) in pairs {
            map.insert(*n, HeaderValue::from_str(v).expect("header"));
        }
        map
    }

    fn parse(status: u16, hs: &[(&'static str, &str)], body: &str) -> ApiError {
        service_error("GetApp", status, &headers(hs), body.as_bytes()).error
    }

    fn fields(e: &ApiError) -> (u16, &str, &str) {
        match e {
            ApiError::Service {
                status,
                error_type,
                message,
                ..
            } => (*status, error_type, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_type_wins_and_loses_its_suffix() {
        let e = parse(
            404,
            &[
                (
                    "x-amzn-ErrorType",
                    "NotFoundException:http://internal.amazon.com/coral/com.amazonaws.amplify/",
                ),
                ("x-amzn-RequestId", "req-1"),
                ("date", "Tue, 26 Nov 2024 12:00:00 GMT"),
            ],
            r#"{"message":"App d1 not found."}"#,
        );
        assert_eq!(fields(&e), (404, "NotFoundException", "App d1 not found."));
        assert_eq!(e.request_id(), Some("req-1"));
        assert!(e.is_not_found());
        match &e {
            ApiError::Service { server_date, .. } => {
                assert_eq!(
                    server_date.as_deref(),
                    Some("Tue, 26 Nov 2024 12:00:00 GMT")
                )
            }
            _ => unreachable!(),
        }
        assert_eq!(
            e.to_string(),
            "GetApp failed with HTTP 404 NotFoundException: App d1 not found. (request id req-1)"
        );
    }

    #[test]
    fn body_type_with_namespace() {
        let e = parse(
            400,
            &[],
            r#"{"__type":"com.amazonaws.amplify#BadRequestException","Message":"bad"}"#,
        );
        assert_eq!(fields(&e), (400, "BadRequestException", "bad"));
        let e = parse(403, &[], r#"{"code":"InvalidSignatureException"}"#);
        assert_eq!(fields(&e), (403, "InvalidSignatureException", ""));
        assert!(e.to_string().contains("(no message)"));
    }

    #[test]
    fn odd_bodies_never_panic() {
        assert_eq!(fields(&parse(500, &[], "")), (500, "Unknown", ""));
        let html = "<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>";
        assert_eq!(
            fields(&parse(502, &[], html)),
            (502, "Unknown", "502 Bad Gateway nginx")
        );
        assert_eq!(fields(&parse(400, &[], "[1,2]")), (400, "Unknown", "[1,2]"));
        assert_eq!(
            fields(&parse(400, &[], r#"{"message":42}"#)),
            (400, "Unknown", "")
        );
        assert_eq!(fields(&parse(400, &[], "\u{0}\u{1}")), (400, "Unknown", ""));
        assert_eq!(
            fields(&parse(400, &[("x-amzn-ErrorType", ":")], "{}")),
            (400, "Unknown", "")
        );
        let e = service_error("GetApp", 400, &HeaderMap::new(), &[0xff, 0xfe, 0x00]).error;
        assert_eq!(fields(&e).1, "Unknown");
        assert_eq!(e.request_id(), None);
    }

    #[test]
    fn unfinished_job_id_from_message() {
        let e = parse(
            400,
            &[("x-amzn-ErrorType", "BadRequestException")],
            r#"{"message":"The last job(deployment) 12 was not finished, please wait until it finish or use StopJob operation to cancel it."}"#,
        );
        assert_eq!(e.unfinished_job_id().as_deref(), Some("12"));
        // Any error type.
        let e = parse(
            409,
            &[],
            r#"{"message":"the last job(deployment) 3 was not finished"}"#,
        );
        assert_eq!(e.unfinished_job_id().as_deref(), Some("3"));
        assert_eq!(
            parse(400, &[], r#"{"message":"bad"}"#).unfinished_job_id(),
            None
        );
        assert_eq!(
            parse(
                400,
                &[],
                r#"{"message":"The last job(deployment) was not finished"}"#
            )
            .unfinished_job_id(),
            None
        );
    }

    fn decision(status: u16, error_type: &str, message: &str) -> bool {
        decision_on("CreateDeployment", status, error_type, message)
    }

    fn decision_on(operation: &'static str, status: u16, error_type: &str, message: &str) -> bool {
        let e = ApiError::Service {
            operation,
            status,
            error_type: error_type.into(),
            message: message.into(),
            request_id: None,
            server_date: None,
        };
        matches!(e.retry_decision(), RetryDecision::Retry { .. })
    }

    #[test]
    fn a_poll_is_tried_again_on_what_the_retry_rule_retries_and_a_garbled_answer() {
        let service = |status: u16, error_type: &str| ApiError::Service {
            operation: "GetJob",
            status,
            error_type: error_type.into(),
            message: String::new(),
            request_id: None,
            server_date: None,
        };
        assert!(service(503, "Unknown").is_transient());
        assert!(service(429, "TooManyRequestsException").is_transient());
        assert!(service(400, "ThrottlingException").is_transient());
        assert!(!service(404, "NotFoundException").is_transient());
        assert!(!service(403, "AccessDeniedException").is_transient());
        let garbled = ApiError::Decode {
            operation: "GetJob",
            status: 200,
            message: "expected value".into(),
            request_id: None,
        };
        assert!(garbled.is_transient());
    }

    #[test]
    fn classifier() {
        assert!(decision(
            503,
            "DependentServiceFailureException",
            "try later"
        ));
        assert!(decision(500, "InternalFailureException", ""));
        assert!(decision(502, "Unknown", "502 Bad Gateway"));
        assert!(decision(
            429,
            "TooManyRequestsException",
            "Too Many Requests"
        ));
        assert!(decision(400, "ThrottlingException", "Rate exceeded"));
        assert!(decision(400, "RequestTimeout", ""));
        assert!(decision(429, "LimitExceededException", "Rate exceeded"));
        assert!(decision(408, "Unknown", ""));
        assert!(!decision(
            429,
            "LimitExceededException",
            "Maximum number of branches (50) reached for app d1"
        ));
        assert!(!decision(400, "BadRequestException", "bad"));
        assert!(!decision(404, "NotFoundException", "no app"));
        assert!(!decision(401, "UnauthorizedException", ""));
        assert!(!decision(403, "AccessDeniedException", ""));
        assert!(!decision(
            403,
            "InvalidSignatureException",
            "Signature expired"
        ));
        assert!(!decision(403, "ExpiredTokenException", ""));
        assert!(!decision(400, "UnrecognizedClientException", ""));
        assert!(!decision(403, "Unknown", "Forbidden"));

        let decode = ApiError::Decode {
            operation: "GetApp",
            status: 200,
            message: "x".into(),
            request_id: None,
        };
        assert_eq!(decode.retry_decision(), RetryDecision::Fail);
        let signing = ApiError::Signing {
            message: "x".into(),
        };
        assert_eq!(signing.retry_decision(), RetryDecision::Fail);
    }

    fn waits(operation: &'static str, message: &str) -> bool {
        let e = ApiError::Service {
            operation,
            status: 429,
            error_type: "LimitExceededException".into(),
            message: message.into(),
            request_id: None,
            server_date: None,
        };
        matches!(e.retry_decision(), RetryDecision::Wait { .. })
    }

    #[test]
    fn limit_exceeded_is_retried_unless_it_is_a_fixed_count() {
        // Any message that is not about a fixed count: a quota to wait for.
        for message in [
            "Concurrent jobs limit reached for region",
            "You have reached the maximum number of concurrent jobs",
            "",
        ] {
            assert!(waits("CreateDeployment", message), "{message}");
            assert!(waits("StartDeployment", message), "{message}");
        }
        // Request rate: retried like throttling, whatever the operation.
        assert!(decision_on(
            "CreateBranch",
            429,
            "LimitExceededException",
            "Rate exceeded"
        ));
        // Fixed counts fail at once.
        for (operation, message) in [
            (
                "CreateBranch",
                "Limit of 50 branches per app exceeded for app d1.",
            ),
            ("CreateBranch", "Limit exceeded"),
            (
                "CreateDeployment",
                "Maximum number of branches (50) reached",
            ),
            ("TagResource", "Too many tags"),
            ("UpdateBranch", "A resource can have at most 50 tags"),
        ] {
            assert!(!waits(operation, message), "{operation}: {message}");
            assert!(
                !decision_on(operation, 429, "LimitExceededException", message),
                "{operation}: {message}"
            );
        }
        // "stage" contains "tag" but is no tag.
        assert_eq!(
            limit_kind("CreateDeployment", "jobs limit per stage reached"),
            Limit::Quota
        );
    }

    async fn transport_error(url: String, timeout: Duration) -> ApiError {
        let source = reqwest::Client::new()
            .post(url)
            .timeout(timeout)
            .body("{}")
            .send()
            .await
            .expect_err("no answer");
        ApiError::Transport {
            operation: "CreateDeployment",
            source,
            proxy: None,
        }
    }

    #[tokio::test]
    async fn a_request_that_got_no_answer_may_have_been_received() {
        use crate::http::test_server::{Action, TestServer};
        let second = Duration::from_secs(1);
        // Read, then closed without an answer.
        let server = TestServer::start(vec![Action::Drop]).await;
        let dropped = transport_error(server.url("/x"), second).await;
        assert!(dropped.may_have_been_received(), "{dropped:?}");
        // Read, and not answered in time.
        let slow = Action::Delay(Duration::from_secs(3), Box::new(Action::status(200)));
        let server = TestServer::start(vec![slow]).await;
        let timed_out = transport_error(server.url("/x"), Duration::from_millis(200)).await;
        assert!(timed_out.may_have_been_received(), "{timed_out:?}");
        // Never connected: never received.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let refused = transport_error(format!("http://127.0.0.1:{port}/x"), second).await;
        assert!(!refused.may_have_been_received(), "{refused:?}");
    }

    #[test]
    fn only_an_unanswered_request_may_have_been_received() {
        let answered = ApiError::Service {
            operation: "CreateDeployment",
            status: 503,
            error_type: "ServiceUnavailableException".into(),
            message: String::new(),
            request_id: None,
            server_date: None,
        };
        assert!(!answered.may_have_been_received());
        let signing = ApiError::Signing {
            message: "x".into(),
        };
        assert!(!signing.may_have_been_received());
    }

    #[test]
    fn retry_after_is_passed_to_the_retry_loop() {
        let failure = service_error(
            "GetJob",
            429,
            &headers(&[("retry-after", "7")]),
            br#"{"message":"Too Many Requests"}"#,
        );
        assert_eq!(
            classify_failure(&failure),
            RetryDecision::Retry {
                reason: "HTTP 429 Unknown: Too Many Requests".into(),
                after: Some(Duration::from_secs(7)),
            }
        );
    }
}
