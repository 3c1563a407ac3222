//! Serves what was deployed, so a person can open the site in a browser
//! (`/__site/{app}/{displayName}/…`), and a plain-text job log for the
//! `logUrl` of GetJob (`/__logs/{app}/{branch}/{job}`).

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;

use crate::error::{self, plain};
use crate::state::epoch;
use crate::Shared;

type HttpResponse = Response<Full<Bytes>>;

pub(crate) fn serve_site(
    shared: &Shared,
    method: &str,
    path: &str,
    segments: &[String],
) -> HttpResponse {
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
        let Some(files) = branch.deployed.clone() else {
            return plain(404, &format!("nothing deployed to {display_name} yet\n"));
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

pub(crate) fn serve_log(shared: &Shared, segments: &[String]) -> HttpResponse {
    let [app_id, branch, job_id] = segments else {
        return plain(404, "usage: /__logs/{appId}/{branch}/{jobId}\n");
    };
    let state = shared.state();
    match state.job(app_id, branch, job_id) {
        Ok(job) => {
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
            plain(200, &text)
        }
        Err(err) => plain(404, &format!("{}\n", err.message)),
    }
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
