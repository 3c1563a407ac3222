//! Serves what was deployed, so a person can open the site in a browser
//! (`/__site/{app}/{displayName}/…`, or by its host name), with the app's
//! redirects and rewrites (`rules`) and the custom headers (`headers`)
//! applied as Amplify applies them, and under skew protection the
//! deployment a client is pinned to; and a plain-text job log for the
//! presigned `logUrl` of GetJob (`/__logs/{app}/{branch}/{job}/{step}?X-Amz-…`).

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::Response;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::error::{self, plain};
use crate::headers::{self, HeaderRule};
use crate::rules::{self, CustomRule, Outcome, SiteRequest};
use crate::shared::Shared;
use crate::state::{epoch, SiteFiles};

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
    let site = match deployed_site(shared, parts, app_id, display_name) {
        Ok(site) => site,
        Err(response) => return *response,
    };
    let path = format!("/{}", rest.join("/"));
    // Under `/__site/…` a redirect to a site path keeps the prefix.
    let base = if parts.uri.path().starts_with("/__site/") {
        format!("/__site/{app_id}/{display_name}")
    } else {
        String::new()
    };
    let raw = raw_site_path(parts.uri.path(), !base.is_empty());
    let paths = SitePaths {
        decoded: &path,
        raw: &raw,
        base: &base,
    };
    let mut response = answer(&site.files, &site.rules, parts, &paths);
    if let Some(id) = &site.deployment {
        // Pins the browser to this deployment, as skew protection does.
        if let Ok(cookie) = HeaderValue::from_str(&format!("_dpl={id}; Path=/")) {
            response.headers_mut().insert("set-cookie", cookie);
        }
    }
    let header_rules = header_rules(&site.files, site.app_headers.as_deref());
    for (key, value) in headers::for_path(&header_rules, &path) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// What a branch serves and the app's rules for it, copied out of the state.
struct DeployedSite {
    files: Arc<SiteFiles>,
    rules: Vec<CustomRule>,
    app_headers: Option<String>,
    /// The skew-protected deployment (job id) served, if it is one.
    deployment: Option<String>,
}

/// The branch's site, or the answer when there is none to show (no app,
/// no such branch, basic auth missing, nothing deployed).
fn deployed_site(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    app_id: &str,
    display_name: &str,
) -> Result<DeployedSite, Box<HttpResponse>> {
    let state = shared.state();
    let Ok(app) = state.app(app_id) else {
        return Err(Box::new(plain(404, &format!("no app {app_id}\n"))));
    };
    let Some(branch) = app.branches.iter().find(|b| b.display_name == display_name) else {
        return Err(Box::new(plain(
            404,
            &format!("no branch shown as {display_name} in app {app_id}\n"),
        )));
    };
    if let Some(expected) = &branch.basic_auth {
        if !authorized(parts, expected) {
            return Err(Box::new(
                Response::builder()
                    .status(401)
                    .header("www-authenticate", "Basic realm=\"Amplify\"")
                    .body(Full::new(Bytes::from_static(b"unauthorized\n")))
                    .unwrap_or_else(|_| plain(500, "internal error")),
            ));
        }
    }
    let pinned = requested_deployment(parts)
        .and_then(|id| branch.pinned(&id).map(|files| (files, Some(id))));
    let (files, deployment) = match pinned {
        Some(pinned) => pinned,
        None => {
            let Some(files) = branch.served(state.site_lag) else {
                return Err(Box::new(plain(404, &nothing_served(branch))));
            };
            let live = branch.live_job().filter(|j| j.protected);
            let current = live.filter(|j| j.files.as_ref().is_some_and(|f| Arc::ptr_eq(f, &files)));
            let deployment = branch
                .skew_protection
                .and(current)
                .map(|j| j.job_id.clone());
            (files, deployment)
        }
    };
    Ok(DeployedSite {
        files,
        rules: app.custom_rules.clone(),
        app_headers: app.custom_headers.clone(),
        deployment,
    })
}

/// The deployment a client pinned by skew protection asks for, in the
/// order Amplify reads them: the `X-Amplify-Dpl` header, the `dpl` query
/// parameter, the `_dpl` cookie. The emulator's deployment ids are job ids.
fn requested_deployment(parts: &hyper::http::request::Parts) -> Option<String> {
    let header = |name: &str| {
        parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let from_header = header("x-amplify-dpl").into_iter().next();
    let from_query = || {
        crate::presign::query_pairs(parts.uri.query().unwrap_or_default())
            .into_iter()
            .find(|(name, _)| name == "dpl")
            .map(|(_, value)| value)
    };
    let from_cookie = || {
        header("cookie").iter().find_map(|cookies| {
            cookies
                .split(';')
                .find_map(|c| c.trim().strip_prefix("_dpl=").map(str::to_owned))
        })
    };
    from_header
        .or_else(from_query)
        .or_else(from_cookie)
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

/// What the site answers for `path` once the app's rules have had their say.
fn answer(
    files: &SiteFiles,
    rules: &[CustomRule],
    parts: &hyper::http::request::Parts,
    paths: &SitePaths<'_>,
) -> HttpResponse {
    let (path, base) = (paths.decoded, paths.base);
    let head = parts.method == hyper::Method::HEAD;
    let found = resolve(files, path);
    let request = SiteRequest {
        path: paths.raw,
        query: parts.uri.query(),
        country: parts
            .headers
            .get("cloudfront-viewer-country")
            .and_then(|v| v.to_str().ok()),
        host: parts
            .headers
            .get(hyper::header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(|h| h.rsplit_once(':').map_or(h, |(h, _)| h)),
        exists: found.is_some(),
    };
    match rules::apply(rules, &request) {
        Some(Outcome::Redirect { location, status }) => redirect(base, &location, status),
        Some(Outcome::Serve {
            path: target,
            status,
        }) => {
            let target_path = target.split_once('?').map_or(target.as_str(), |(p, _)| p);
            let target_path = percent_decode_str(target_path).decode_utf8_lossy();
            match resolve(files, &target_path) {
                Some(name) => file(files, &name, status, head),
                None => plain(
                    404,
                    &format!(
                        "{target} (where a rule sends {path}) is not part of the deployed site\n"
                    ),
                ),
            }
        }
        Some(Outcome::Proxy { url }) => plain(
            502,
            &format!("amplify-emulator does not proxy: a rule rewrites {path} to {url}\n"),
        ),
        None => match found {
            Some(name) => file(files, &name, 200, head),
            None => plain(404, &format!("{path} is not part of the deployed site\n")),
        },
    }
}

/// A redirect; a site path keeps the prefix the request came under.
fn redirect(base: &str, location: &str, status: u16) -> HttpResponse {
    let location = if location.starts_with('/') && !location.starts_with("//") {
        format!("{base}{location}")
    } else {
        location.to_owned()
    };
    let location = utf8_percent_encode(&location, LOCATION_ESCAPES).to_string();
    Response::builder()
        .status(status)
        .header("location", location)
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| plain(500, "internal error"))
}

/// What a `Location` cannot carry raw: controls, spaces, non-ASCII.
const LOCATION_ESCAPES: &AsciiSet = &CONTROLS.add(b' ');

/// A request's path from the site root, decoded (for files and header
/// patterns) and as sent (for rules, so a redirect keeps its encoding),
/// and the prefix a redirect to a site path keeps.
struct SitePaths<'a> {
    decoded: &'a str,
    raw: &'a str,
    base: &'a str,
}

/// The request path from the site root as sent: without the
/// `/__site/{app}/{displayName}` prefix when it came that way.
fn raw_site_path(path: &str, prefixed: bool) -> String {
    if !prefixed {
        return path.to_owned();
    }
    let rest: Vec<&str> = path.split('/').skip(4).collect();
    format!("/{}", rest.join("/"))
}

/// The deployed file a site path names: itself, or its `index.html`.
fn resolve(files: &SiteFiles, path: &str) -> Option<String> {
    let file = path.strip_prefix('/').unwrap_or(path);
    let candidates = if file.is_empty() || file.ends_with('/') {
        vec![format!("{file}index.html")]
    } else {
        vec![file.to_owned(), format!("{file}/index.html")]
    };
    candidates.into_iter().find(|name| files.contains_key(name))
}

fn file(files: &SiteFiles, name: &str, status: u16, head: bool) -> HttpResponse {
    let body = match files.get(name) {
        Some(content) if !head => Bytes::from(content.clone()),
        _ => Bytes::new(),
    };
    error::raw(status, content_type(name), body)
}

/// The deploy's `customHttp.yml` when it has one, else the app's
/// `customHeaders`. Both were checked when they were set.
fn header_rules(files: &SiteFiles, app_headers: Option<&str>) -> Vec<HeaderRule> {
    let text = match files.get(headers::FILE_NAME) {
        Some(content) => String::from_utf8_lossy(content).into_owned(),
        None => app_headers.unwrap_or_default().to_owned(),
    };
    headers::parse(&text).unwrap_or_default()
}

/// Why a branch serves nothing: no live job yet, or a live job whose
/// source the emulator did not fetch (a URL off this machine, or `s3://`
/// without an S3 endpoint).
fn nothing_served(branch: &crate::state::Branch) -> String {
    match branch.live_job() {
        None if branch.live_deleted.is_some() => format!(
            "nothing deployed to {}: its live job was deleted\n",
            branch.display_name
        ),
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
