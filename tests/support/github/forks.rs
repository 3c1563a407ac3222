//! The parts of the fake GitHub a fork's preview uses: pull requests with
//! heads, labels and author associations (`GET pulls`, `GET pulls/{n}`),
//! workflow runs and their artifacts (`GET actions/runs`,
//! `GET actions/runs/{id}/artifacts`), the artifact download's `302`, and
//! the blob store it redirects to: another origin that, like Azure's,
//! refuses a request carrying an `Authorization` header and one without
//! the URL's signature, and records every request it receives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::{documented, message, query_pairs, respond, HttpResponse, State, REPO};

/// The blob URL's signature, which must never reach a log.
pub const BLOB_SIGNATURE: &str = "sv=2021-08-06&se=2030-01-01&sr=b&sp=r&sig=BLOBsigSECRET%2Bxyz%3D";

/// A pull request of [`REPO`] as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakePull {
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    pub title: String,
    pub head_sha: String,
    /// Its branch, in `head_repo`.
    pub head_ref: String,
    /// `owner/name`: a fork unless it is [`REPO`].
    pub head_repo: String,
    pub labels: Vec<String>,
    pub author_association: String,
}

impl FakePull {
    /// Open pull request `number` from branch `feature` of `head_repo` at
    /// `head_sha`, by a contributor, with no label.
    pub fn new(number: u64, head_sha: &str, head_repo: &str) -> FakePull {
        FakePull {
            number,
            state: "open".into(),
            title: format!("Pull request {number}"),
            head_sha: head_sha.into(),
            head_ref: "feature".into(),
            head_repo: head_repo.into(),
            labels: Vec::new(),
            author_association: "CONTRIBUTOR".into(),
        }
    }
}

/// A workflow run of [`REPO`].
#[derive(Debug, Clone, PartialEq)]
pub struct FakeRun {
    pub id: u64,
    pub event: String,
    /// `success`, `failure`, …
    pub conclusion: String,
    pub head_sha: String,
    pub head_branch: String,
    pub head_repo: String,
    pub artifacts: Vec<FakeArtifact>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeArtifact {
    pub id: u64,
    pub name: String,
    pub zip: Vec<u8>,
    pub expired: bool,
}

/// One request the blob store received.
#[derive(Debug, Clone)]
pub struct BlobRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub status: u16,
}

/// The blob store: its own listener on 127.0.0.1, sharing the fake's state.
pub(super) async fn start_blob_store(state: Arc<Mutex<State>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| blob(state.clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn blob(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<HttpResponse, std::convert::Infallible> {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_owned(), v)
        })
        .collect();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let xml = |status: u16, code: &str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/xml")
            .body(Full::new(Bytes::from(format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>refused</Message></Error>"
            ))))
            .expect("response")
    };
    let id = path
        .strip_prefix("/artifacts/")
        .and_then(|p| p.strip_suffix(".zip"))
        .and_then(|id| id.parse::<u64>().ok());
    let zip = id.and_then(|id| {
        s.runs
            .iter()
            .flat_map(|r| &r.artifacts)
            .find(|a| a.id == id)
            .map(|a| a.zip.clone())
    });
    let response = if headers.iter().any(|(k, _)| k == "authorization") {
        // What Azure says to a SAS URL that also carries a token.
        xml(400, "InvalidAuthenticationInfo")
    } else if query != BLOB_SIGNATURE || req.method() != Method::GET {
        xml(403, "AuthenticationFailed")
    } else if s.blob_failures > 0 {
        s.blob_failures -= 1;
        xml(503, "ServerBusy")
    } else {
        match zip {
            Some(zip) => Response::builder()
                .status(200)
                .header("content-type", "application/zip")
                .body(Full::new(Bytes::from(zip)))
                .expect("response"),
            None => xml(404, "BlobNotFound"),
        }
    };
    s.blob_requests.push(BlobRequest {
        method: req.method().to_string(),
        path,
        query,
        headers,
        status: response.status().as_u16(),
    });
    Ok(response)
}

/// The fork preview's REST routes, or `None` when the request is not one.
pub(super) fn route(
    s: &mut State,
    method: &Method,
    segments: &[&str],
    query: &str,
) -> Option<HttpResponse> {
    let repo_ok = |o: &str, n: &str| format!("{o}/{n}") == REPO;
    let forbidden = || message(403, "Resource not accessible by integration");
    Some(match (method.clone(), segments) {
        (Method::GET, ["repos", o, n, "pulls"]) if repo_ok(o, n) => list_pulls(s, query),
        (Method::GET, ["repos", o, n, "pulls", num]) if repo_ok(o, n) => {
            let pull = num
                .parse::<u64>()
                .ok()
                .and_then(|n| s.pulls.iter().find(|p| p.number == n));
            match pull {
                Some(p) => respond(200, documented("pull-request", pull_json(p)), &[]),
                None => return None,
            }
        }
        (Method::GET, ["repos", o, n, "actions", ..]) if repo_ok(o, n) && s.actions_forbidden => {
            forbidden()
        }
        (Method::GET, ["repos", o, n, "actions", "runs"]) if repo_ok(o, n) => list_runs(s, query),
        (Method::GET, ["repos", o, n, "actions", "runs", id, "artifacts"]) if repo_ok(o, n) => {
            list_artifacts(s, id, query)
        }
        (Method::GET, ["repos", o, n, "actions", "artifacts", id, "zip"]) if repo_ok(o, n) => {
            download(s, id)
        }
        _ => return None,
    })
}

/// `?state=open&head=OWNER:BRANCH`: GitHub matches the head's owner and
/// branch, not the repository's name.
fn list_pulls(s: &State, query: &str) -> HttpResponse {
    let q = query_pairs(query);
    let state = q.get("state").map_or("open", String::as_str);
    let head = q.get("head");
    let items: Vec<Value> = s
        .pulls
        .iter()
        .rev()
        .filter(|p| state == "all" || p.state == state)
        .filter(|p| {
            head.is_none_or(|h| {
                let owner = p.head_repo.split('/').next().unwrap_or_default();
                *h == format!("{owner}:{}", p.head_ref)
            })
        })
        .map(|p| simple_pull(documented("pull-request-simple", pull_json(p))))
        .collect();
    respond(200, Value::Array(items), &[])
}

/// Newest first, filtered by `event`, `status` (a conclusion here) and
/// `head_sha`.
fn list_runs(s: &State, query: &str) -> HttpResponse {
    let q = query_pairs(query);
    let keep = |key: &str, value: &str| q.get(key).is_none_or(|want| want == value);
    let runs: Vec<Value> = s
        .runs
        .iter()
        .rev()
        .filter(|r| {
            keep("event", &r.event)
                && keep("status", &r.conclusion)
                && keep("head_sha", &r.head_sha)
        })
        .map(run_json)
        .collect();
    respond(
        200,
        json!({"total_count": runs.len(), "workflow_runs": runs}),
        &[],
    )
}

fn list_artifacts(s: &State, id: &str, query: &str) -> HttpResponse {
    let Some(run) = s.runs.iter().find(|r| r.id.to_string() == id) else {
        return message(404, "Not Found");
    };
    let q = query_pairs(query);
    let artifacts: Vec<Value> = run
        .artifacts
        .iter()
        .filter(|a| q.get("name").is_none_or(|n| *n == a.name))
        .map(|a| artifact_json(run, a))
        .collect();
    respond(
        200,
        json!({"total_count": artifacts.len(), "artifacts": artifacts}),
        &[],
    )
}

/// `302` to the blob store, as GitHub answers; `410` once expired.
fn download(s: &State, id: &str) -> HttpResponse {
    let artifact = s
        .runs
        .iter()
        .flat_map(|r| &r.artifacts)
        .find(|a| a.id.to_string() == id);
    match (artifact, s.blob_addr) {
        (Some(a), _) if a.expired => message(410, "Artifact has expired"),
        (Some(a), Some(blob)) => Response::builder()
            .status(302)
            .header(
                "location",
                format!("http://{blob}/artifacts/{}.zip?{BLOB_SIGNATURE}", a.id),
            )
            .body(Full::new(Bytes::new()))
            .expect("response"),
        _ => message(404, "Not Found"),
    }
}

fn repo_json(full_name: &str) -> Value {
    let (owner, name) = full_name.split_once('/').expect("owner/name");
    json!({
        "full_name": full_name,
        "name": name,
        "owner": {"login": owner},
        "url": format!("https://api.github.com/repos/{full_name}"),
        "html_url": format!("https://github.com/{full_name}"),
    })
}

/// What the fake decides of a pull request, merged into GitHub's example.
fn pull_json(p: &FakePull) -> Value {
    let label = documented("pull-request-simple", json!({}))["labels"][0].clone();
    let labels: Vec<Value> = p
        .labels
        .iter()
        .map(|name| {
            let mut l = label.clone();
            l["name"] = name.as_str().into();
            l
        })
        .collect();
    let owner = p.head_repo.split('/').next().unwrap_or_default();
    json!({
        "number": p.number,
        "state": p.state,
        "title": p.title,
        "labels": labels,
        "author_association": p.author_association,
        "requested_teams": [],
        "url": format!("https://api.github.com/repos/{REPO}/pulls/{}", p.number),
        "html_url": format!("https://github.com/{REPO}/pull/{}", p.number),
        "head": {
            "sha": p.head_sha,
            "ref": p.head_ref,
            "label": format!("{owner}:{}", p.head_ref),
            "repo": repo_json(&p.head_repo),
        },
        "base": {"ref": "main", "label": "octo:main", "repo": repo_json(REPO)},
    })
}

/// GitHub's example of a listed pull request gives its repositories three
/// fields the `repository` schema it names does not have: left out, so
/// the answer keeps the documented shape.
fn simple_pull(mut pull: Value) -> Value {
    for side in ["head", "base"] {
        if let Some(repo) = pull[side]["repo"].as_object_mut() {
            for field in ["network_count", "subscribers_count", "template_repository"] {
                repo.remove(field);
            }
        }
    }
    pull
}

fn run_json(r: &FakeRun) -> Value {
    documented(
        "workflow-run",
        json!({
            "id": r.id,
            "event": r.event,
            "status": "completed",
            "conclusion": r.conclusion,
            "head_sha": r.head_sha,
            "head_branch": r.head_branch,
            "head_repository": repo_json(&r.head_repo),
            "repository": repo_json(REPO),
            "pull_requests": [],
        }),
    )
}

fn artifact_json(r: &FakeRun, a: &FakeArtifact) -> Value {
    documented(
        "artifact",
        json!({
            "id": a.id,
            "name": a.name,
            "size_in_bytes": a.zip.len(),
            "expired": a.expired,
            "url": format!("https://api.github.com/repos/{REPO}/actions/artifacts/{}", a.id),
            "archive_download_url": format!("https://api.github.com/repos/{REPO}/actions/artifacts/{}/zip", a.id),
            "workflow_run": {"id": r.id, "head_branch": r.head_branch, "head_sha": r.head_sha},
        }),
    )
}
