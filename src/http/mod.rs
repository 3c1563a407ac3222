//! Generic HTTP transport: the shared client, one retry loop with backoff,
//! and the upload of a file to a presigned URL.
//!
//! Nothing here knows about Amplify: the API client in `crate::amplify`
//! brings its own signing and error classification, and this module
//! brings the retry policy and the wire details (object_store keeps the
//! same split between `src/client/` and `src/aws/`).

mod backoff;
mod retry;
pub mod sdk;
#[cfg(test)]
pub(crate) mod test_server;
mod upload;

use std::time::Duration;

pub use backoff::{Backoff, BackoffConfig};
pub use retry::{
    parse_retry_after, retry, retry_with_backoff, silent_observer, RetryConfig, RetryDecision,
    RetryEvent, RetryObserver,
};
pub use upload::{upload_file, UploadError};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("amplify-deploy/", env!("CARGO_PKG_VERSION"));

/// Connect timeout of the shared client.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The client every call shares: rustls with the platform's roots plus the
/// bundled Mozilla roots, HTTP/1.1, `HTTP(S)_PROXY`/`ALL_PROXY`/`NO_PROXY`
/// honoured (reqwest's default), our user agent, a 10 s connect timeout.
/// Per-request timeouts are set by each call.
pub fn build_client() -> reqwest::Client {
    let builder = || {
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_keepalive(Duration::from_secs(30))
    };
    // The only thing that can fail here is loading the platform's
    // certificate store; the bundled roots still work without it.
    builder().build().unwrap_or_else(|_| {
        builder()
            .tls_built_in_native_certs(false)
            .build()
            .unwrap_or_default()
    })
}

/// A URL safe to print: scheme, host, port and path; never the query (it
/// carries the signature) nor any user info.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("");
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{host}{port}{}", parsed.scheme(), parsed.path())
        }
        Err(_) => {
            let end = url.find(['?', '#']).unwrap_or(url.len());
            let without_query = &url[..end];
            // Drop anything that looks like user info.
            match (without_query.find("://"), without_query.rfind('@')) {
                (Some(scheme_end), Some(at)) if at > scheme_end => {
                    format!(
                        "{}{}",
                        &without_query[..scheme_end + 3],
                        &without_query[at + 1..]
                    )
                }
                _ => without_query.to_string(),
            }
        }
    }
}

/// A short, single-line excerpt of a response body for error messages:
/// markup tags removed, whitespace collapsed, at most 200 characters.
pub fn body_excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let mut plain = String::with_capacity(text.len().min(4 * MAX));
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                plain.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            c if c.is_control() => plain.push(' '),
            c => plain.push(c),
        }
        if plain.len() > 8 * MAX {
            break;
        }
    }
    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > MAX {
        let cut: String = collapsed.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        collapsed
    }
}

/// A reqwest error and its causes on one line, without the URL.
pub fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "response body failed"
    } else {
        "request failed"
    };
    let mut out = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_drops_query_and_userinfo() {
        assert_eq!(
            redact_url("https://bucket.s3.amazonaws.com/apps/d1/x.zip?X-Amz-Signature=abc&a=b"),
            "https://bucket.s3.amazonaws.com/apps/d1/x.zip"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:4566/up/1?sig=1#frag"),
            "http://127.0.0.1:4566/up/1"
        );
        assert_eq!(
            redact_url("https://user:secret@example.com/p?q"),
            "https://example.com/p"
        );
        // Unparseable input still loses its query and user info.
        assert_eq!(redact_url("not a url?secret=1"), "not a url");
        assert_eq!(redact_url("http://u:p@[bad/x?secret=1"), "http://[bad/x");
        assert_eq!(redact_url(""), "");
    }

    #[test]
    fn excerpt_of_html_is_one_short_line() {
        let html = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n</body></html>";
        assert_eq!(body_excerpt(html), "502 Bad Gateway 502 Bad Gateway");
        let long = "x".repeat(1000);
        let got = body_excerpt(long.as_bytes());
        assert_eq!(got.chars().count(), 201);
        assert!(!body_excerpt(&[0xff, 0xfe, b'\n', b'a']).contains('\n'));
        assert_eq!(body_excerpt(b""), "");
    }

    #[test]
    fn user_agent_names_the_version() {
        assert!(USER_AGENT.starts_with("amplify-deploy/"));
        assert!(USER_AGENT.len() > "amplify-deploy/".len());
    }

    #[tokio::test]
    async fn client_sends_user_agent() {
        let server = test_server::TestServer::start(vec![test_server::Action::status(204)]).await;
        let response = build_client()
            .get(server.url("/ua"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 204);
        let requests = server.requests();
        assert_eq!(requests[0].header("user-agent"), Some(USER_AGENT));
    }
}
