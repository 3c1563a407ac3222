//! Generic HTTP transport: the shared client, one retry loop with backoff,
//! the upload of a file to a presigned URL, an XML element reader, and the limits every client
//! keeps (timeouts, no redirects, capped answers).
//!
//! Nothing here knows about Amplify: the API client in `crate::amplify`
//! brings its own signing and error classification, and this module
//! brings the retry policy and the wire details (object_store keeps the
//! same split between `src/client/` and `src/aws/`).

mod backoff;
mod file_put;
pub mod proxy;
mod retry;
pub mod sdk;
#[cfg(test)]
pub(crate) mod test_server;
pub mod trace;
pub mod wire;

use std::time::Duration;

pub use backoff::{Backoff, BackoffConfig};
pub use file_put::{upload_file, upload_file_counting, upload_to, Store, Target, UploadError};
pub use retry::{
    parse_retry_after, retry, retry_with_backoff, silent_observer, RetryConfig, RetryDecision,
    RetryEvent, RetryObserver,
};
pub use trace::{CallTrace, CallTracer};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("amplify-deploy/", env!("CARGO_PKG_VERSION"));

/// Longest wait for a TCP (and TLS) connection to be set up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for an answer's headers, and then for each part of its
/// body, on the API clients (Amplify, STS, the OIDC token, GitHub).
/// reqwest starts this clock when the request starts, so it also bounds
/// the time to send the body: the upload has its own per-attempt time
/// limit, sized from the file, instead.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest JSON (or XML) answer read from an API; past it the call fails
/// instead of buffering whatever the server sends. Amplify's largest
/// answers (ListJobs pages) are a few KiB.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// How much of an error answer is kept: enough for any JSON or XML error
/// document, and the excerpt shown to the user.
pub const MAX_ERROR_BYTES: usize = 64 * 1024;

/// What a client is for: the API clients wait at most [`READ_TIMEOUT`]
/// for an answer; the upload's time limit is set per attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Api,
    Upload,
}

/// An API client with the platform's and the bundled roots: see
/// [`build_client_with`].
pub fn build_client() -> reqwest::Client {
    build_client_with(Purpose::Api, &[])
}

/// A client for `purpose`: rustls with the platform's roots plus the
/// bundled Mozilla roots plus `extra_roots` (`AWS_CA_BUNDLE`), HTTP/1.1,
/// `HTTP(S)_PROXY`/`ALL_PROXY`/`NO_PROXY` honoured (reqwest reads them
/// whatever its features; `system-proxy` only adds macOS and Windows
/// settings; its `socks` feature adds `socks5://` and `socks5h://`
/// proxies), our user agent, connect and read timeouts, and no
/// redirects: a 3xx is returned as it is, and callers treat it as an
/// error (a followed 307 would resend an upload's body elsewhere, and a
/// 302/303 would turn the PUT into a GET that "succeeds").
pub fn build_client_with(
    purpose: Purpose,
    extra_roots: &[reqwest::Certificate],
) -> reqwest::Client {
    let builder = || {
        let mut b = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_keepalive(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none());
        if purpose == Purpose::Api {
            b = b.read_timeout(READ_TIMEOUT);
        }
        for root in extra_roots {
            b = b.add_root_certificate(root.clone());
        }
        b
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

/// An answer's body, read up to a limit.
#[derive(Debug)]
pub struct CappedBody {
    pub bytes: Vec<u8>,
    /// The answer was longer than the limit (the rest was not read).
    pub truncated: bool,
}

/// Read at most `limit` bytes of `response`'s body; a longer body is cut
/// (and the connection closed) rather than buffered whole.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<CappedBody, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(CappedBody {
                bytes,
                truncated: true,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(CappedBody {
        bytes,
        truncated: false,
    })
}

/// "4 MiB" for a limit in bytes.
pub fn format_limit(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
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

/// A reqwest error and its causes on one line, without the URL; a failed
/// connection through a proxy names the proxy ([`proxy::proxy_failure`]).
pub fn describe_reqwest_error(error: &reqwest::Error) -> String {
    if let Some(failure) = proxy::proxy_failure(error) {
        return format!("connection failed: {failure}");
    }
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

/// The text of the first `<name>` element, unescaped, whitespace folded.
pub fn xml_element(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    let raw = text[start..end].trim();
    let unescaped = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    Some(unescaped.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A request's headers as (name, value) pairs, as SigV4 signing takes
/// them; a value that is not visible ASCII is left out (none is signed).
pub fn header_pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_string(), v.to_string()))
        })
        .collect()
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
    async fn bodies_are_read_up_to_the_cap() {
        let big = "x".repeat(10_000);
        let server = test_server::TestServer::start(vec![
            test_server::Action::body(200, "text/plain", &big),
            test_server::Action::body(200, "text/plain", "short"),
        ])
        .await;
        let get = || build_client().get(server.url("/b")).send();
        let cut = read_capped(get().await.unwrap(), 4096).await.unwrap();
        assert!(cut.truncated);
        assert_eq!(cut.bytes.len(), 4096);
        let whole = read_capped(get().await.unwrap(), 4096).await.unwrap();
        assert!(!whole.truncated);
        assert_eq!(whole.bytes, b"short");
        assert_eq!(format_limit(MAX_ANSWER_BYTES), "4 MiB");
        assert_eq!(format_limit(MAX_ERROR_BYTES), "64 KiB");
        assert_eq!(format_limit(1000), "1000 bytes");
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
