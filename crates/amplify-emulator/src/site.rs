//! Serves what was deployed, so a person can open the site in a browser
//! (`/__site/{app}/{displayName}/…`), and a plain-text job log for the
//! presigned `logUrl` of GetJob (`/__logs/{app}/{branch}/{job}/{step}?X-Amz-…`).

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;

use crate::error::{self, plain};
use crate::shared::Shared;
use crate::state::epoch;

type HttpResponse = Response<Full<Bytes>>;

pub(crate) fn serve_site(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    segments: &[String],
) -> HttpResponse {
    let method = parts.method.as_str();
    let path = parts.uri.path();
    if method != "GET" && method != "HEAD" {
        return plain(405, "method not allowed\n");
    }
    let [app_id, display_name, rest @ ..] = segments else {
        return plain(404, "usage: /__site/{appId}/{branch display name}/\n");
    };
    if rest.is_empty() {
        // Relative links need the trailing slash.
        return Response::builder()
            .status(301)
            .header("location", format!("{path}/"))
            .body(Full::new(Bytes::new()))
            .unwrap_or_else(|_| plain(500, "internal error"));
    }
    let files = {
        let state = shared.state();
        let Ok(app) = state.app(app_id) else {
            return plain(404, &format!("no app {app_id}\n"));
        };
        let Some(branch) = app
            .branches
            .iter()
            .find(|b| &b.display_name == display_name)
        else {
            return plain(
                404,
                &format!("no branch shown as {display_name} in app {app_id}\n"),
            );
        };
        if let Some(expected) = &branch.basic_auth {
            if !authorized(parts, expected) {
                return Response::builder()
                    .status(401)
                    .header("www-authenticate", "Basic realm=\"Amplify\"")
                    .body(Full::new(Bytes::from_static(b"unauthorized\n")))
                    .unwrap_or_else(|_| plain(500, "internal error"));
            }
        }
        let Some(files) = branch.served(state.site_lag) else {
            return plain(404, &nothing_served(branch));
        };
        files
    };
    let file = rest.join("/");
    let candidates = if file.is_empty() || file.ends_with('/') {
        vec![format!("{file}index.html")]
    } else {
        vec![file.clone(), format!("{file}/index.html")]
    };
    for name in candidates {
        if let Some(content) = files.get(&name) {
            let body = if method == "HEAD" {
                Bytes::new()
            } else {
                Bytes::from(content.clone())
            };
            return error::raw(200, content_type(&name), body);
        }
    }
    plain(404, &format!("{file} is not part of the deployed site\n"))
}

/// Why a branch serves nothing: no live job yet, or a live job whose
/// source the emulator did not fetch (a URL off this machine, or `s3://`
/// without an S3 endpoint).
fn nothing_served(branch: &crate::state::Branch) -> String {
    match branch.live_job() {
        None => format!("nothing deployed to {} yet\n", branch.display_name),
        Some(job) => format!(
            "live job {} deployed from {}, which the emulator did not fetch\n",
            job.job_id,
            job.source_url
                .as_deref()
                .map_or("an unknown source", |u| u.split('?').next().unwrap_or(u))
        ),
    }
}

/// Whether the request carries the branch's basic auth credentials.
fn authorized(parts: &hyper::http::request::Parts, expected: &str) -> bool {
    parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|given| given.trim() == expected)
}

/// The site a `Host` header names: `{displayName}.{appId}.amplifyapp.com`
/// or one of the branch's custom domains, as `[appId, displayName]`.
pub(crate) fn site_for_host(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
) -> Option<[String; 2]> {
    let host = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())?;
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let state = shared.state();
    state.apps.iter().find_map(|app| {
        app.branches
            .iter()
            .find(|b| b.serves_host(host, &app.app_id))
            .map(|b| [app.app_id.clone(), b.display_name.clone()])
    })
}

/// `GET /__logs/{app}/{branch}/{job}[/{step}]` through the presigned URL of
/// GetJob's `logUrl`, checked as S3 checks a presigned GET. Honours a
/// `Range: bytes=-N` (the last N bytes) or `bytes=A-[B]` with 206, as S3.
pub(crate) fn serve_log(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    segments: &[String],
) -> HttpResponse {
    let (app_id, branch, job_id) = match segments {
        [app_id, branch, job_id] | [app_id, branch, job_id, _] => (app_id, branch, job_id),
        _ => return plain(404, "usage: /__logs/{appId}/{branch}/{jobId}/{step}\n"),
    };
    let method = parts.method.as_str();
    if method != "GET" && method != "HEAD" {
        return plain(405, "method not allowed\n");
    }
    let text = {
        let state = shared.state();
        match state.job(app_id, branch, job_id) {
            Ok(job) => job
                .log
                .clone()
                .unwrap_or_else(|| default_log(app_id, branch, job)),
            Err(err) => return plain(404, &format!("{}\n", err.message)),
        }
    };
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if let Err(err) = shared.signer.verify(
        "GET",
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        host,
        std::time::SystemTime::now(),
    ) {
        return err.into_response();
    }
    ranged(Bytes::from(text.into_bytes()), &parts.headers)
}

/// `body` as a single `Range` asks for it: 206 with that slice, 416 for a
/// range outside it, else 200 with the whole.
fn ranged(body: Bytes, headers: &hyper::http::HeaderMap) -> HttpResponse {
    let range = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| byte_range(v, body.len()));
    match range {
        Some(Ok((start, end))) => Response::builder()
            .status(206)
            .header("content-type", "text/plain; charset=utf-8")
            .header(
                "content-range",
                format!("bytes {start}-{}/{}", end - 1, body.len()),
            )
            .body(Full::new(body.slice(start..end)))
            .unwrap_or_else(|_| plain(500, "internal error")),
        Some(Err(())) => Response::builder()
            .status(416)
            .header("content-range", format!("bytes */{}", body.len()))
            .body(Full::new(Bytes::new()))
            .unwrap_or_else(|_| plain(500, "internal error")),
        None => error::raw(200, "text/plain; charset=utf-8", body),
    }
}

fn default_log(app_id: &str, branch: &str, job: &crate::state::Job) -> String {
    let mut text = format!(
        "job {} of {app_id}/{branch}\nstatus: {}\nstarted: {}\n",
        job.job_id,
        job.status,
        epoch(job.start_time)
    );
    if let Some(end) = job.end_time {
        text.push_str(&format!("ended: {}\n", epoch(end)));
    }
    if let Some(reason) = &job.status_reason {
        text.push_str(&format!("reason: {reason}\n"));
    }
    text
}

/// One `bytes=` range of a `len`-byte body as `start..end`: `Err` when it
/// cannot be satisfied (416), `None` when the header is not one range.
fn byte_range(header: &str, len: usize) -> Option<Result<(usize, usize), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let n: usize = last.parse().ok()?;
        if n == 0 || len == 0 {
            return Some(Err(()));
        }
        return Some(Ok((len - n.min(len), len)));
    }
    let start: usize = first.parse().ok()?;
    if start >= len {
        return Some(Err(()));
    }
    let end = match last {
        "" => len,
        l => l.parse::<usize>().ok()?.saturating_add(1).min(len),
    };
    if end <= start {
        return None;
    }
    Some(Ok((start, end)))
}

fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("wasm") => "application/wasm",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_as_s3_reads_them() {
        assert_eq!(byte_range("bytes=-4", 10), Some(Ok((6, 10))));
        assert_eq!(byte_range("bytes=-40", 10), Some(Ok((0, 10))));
        assert_eq!(byte_range("bytes=2-4", 10), Some(Ok((2, 5))));
        assert_eq!(byte_range("bytes=2-", 10), Some(Ok((2, 10))));
        assert_eq!(byte_range("bytes=10-", 10), Some(Err(())));
        assert_eq!(byte_range("bytes=-5", 0), Some(Err(())));
        assert_eq!(byte_range("bytes=1-2,4-5", 10), None);
        assert_eq!(byte_range("items=1-2", 10), None);
    }
}
