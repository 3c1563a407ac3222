//! A fake GitHub over real HTTP on 127.0.0.1: the REST API parts the
//! previews and deployments use (issue comments with real `Link`
//! pagination, deployments and their statuses, token checks), the Actions
//! OIDC token endpoint, and a fake AWS STS `AssumeRoleWithWebIdentity`.
//!
//! Every REST request is checked against GitHub's published description
//! (`super::contract`), and so is every answer the fake gives; a test
//! whose fake saw a violation fails when the fake is dropped, whatever
//! the product made of the answer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use amplify_emulator::{Credential, SessionCredentials};

use super::contract;

mod forks;

pub use forks::{BlobRequest, FakeArtifact, FakePull, FakeRun, BLOB_SIGNATURE};

/// A token with write access (`pull-requests: write`, `deployments: write`).
pub const WRITE_TOKEN: &str = "ghs_writeTOKENforTESTS0123456789";
/// A token that may read but answers 403 on writes (a fork's token).
pub const READ_TOKEN: &str = "ghs_readonlyTOKENforTESTS98765";
/// A personal access token of [`PAT_USER`], with write access. Unlike the
/// workflow's tokens above, it may call `GET /user`.
pub const PAT_TOKEN: &str = "ghp_aliceTOKENforTESTS0123456789abcd";
pub const PAT_USER: &str = "alice";
/// Who comments made with [`WRITE_TOKEN`] (a workflow's `GITHUB_TOKEN`) are from.
pub const ACTIONS_BOT: &str = "github-actions[bot]";
/// Who [`FakeGitHub::add_comment`] writes as: a reviewer.
pub const REVIEWER: &str = "someone";
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
pub const OIDC_REQUEST_TOKEN: &str = "oidc-request-bearer-SECRET";
/// The JWT the OIDC endpoint hands out (and STS requires).
pub const OIDC_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJzdHMuYW1hem9uYXdzLmNvbSJ9.c2lnbmF0dXJl";
/// What the fake STS returns.
pub const STS_ACCESS_KEY: &str = "ASIAFAKESTSKEY000001";
pub const STS_SECRET_KEY: &str = "stsSecretKey/FAKE+0123456789abcdefghijklm";
pub const STS_SESSION_TOKEN: &str = "FwoGZXIvYXdzEFAKESESSIONTOKEN//////////wEaDFAKE";
pub const REPO: &str = "octo/site";
/// GitHub's internal id of [`REPO`], used in pagination links.
const REPO_ID: u64 = 424242;

#[derive(Debug, Clone, PartialEq)]
pub struct FakeComment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    /// `user.login`.
    pub author: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeDeployment {
    pub id: u64,
    pub body: Value,
    /// Statuses in the order they were posted.
    pub statuses: Vec<Value>,
}

/// A commit status posted to `POST /repos/{repo}/statuses/{sha}`.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeCommitStatus {
    pub sha: String,
    pub body: Value,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    pub method: String,
    /// Under the API base: what follows [`FakeGitHub::url`].
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub status: u16,
    /// The documented operation it is (`issues/create-comment`); `None`
    /// for the OIDC endpoint, STS, and requests GitHub does not document.
    pub operation: Option<String>,
}

#[derive(Default)]
pub struct State {
    pub comments: Vec<FakeComment>,
    pub deployments: Vec<FakeDeployment>,
    /// In the order they were posted.
    pub commit_statuses: Vec<FakeCommitStatus>,
    pub requests: Vec<FakeRequest>,
    /// Every way a request broke GitHub's published contract, or an answer
    /// of the fake's departed from it. Checked when the fake is dropped.
    pub violations: Vec<String>,
    /// The API's base path (`/api/v3` on GitHub Enterprise Server), or empty.
    base: String,
    /// The form bodies STS received.
    pub sts_calls: Vec<BTreeMap<String, String>>,
    /// Answer every comment listing with this many bytes of JSON (a runaway
    /// answer).
    pub huge_comment_listing: Option<usize>,
    /// `state` of each pull request (`open`, `closed`); others are 404.
    pub pull_states: BTreeMap<u64, String>,
    /// Set by [`FakeGitHub::issue_session_credentials`].
    sts_issue: Option<(SessionCredentials, Duration)>,
    next_id: u64,
    /// Git refs and tag objects by `owner/name`: `refs/tags/NAME` or a tag
    /// object's sha -> (sha, type) of what it names.
    pub git_objects: BTreeMap<(String, String), (String, String)>,
    /// Pull requests with heads, labels and authors (`GET pulls`); those
    /// not here answer from `pull_states`.
    pub pulls: Vec<FakePull>,
    /// Workflow runs and their artifacts, oldest first.
    pub runs: Vec<FakeRun>,
    /// Every request the blob store received.
    pub blob_requests: Vec<BlobRequest>,
    /// The blob store's address (artifact downloads redirect there).
    blob_addr: Option<SocketAddr>,
    /// The blob store answers 503 this many times first.
    pub blob_failures: u32,
    /// The token may not read Actions data (no `actions: read`): 403.
    pub actions_forbidden: bool,
}

pub use super::contract::event_payload;

/// The base commit of the pull requests [`pull_request_payload`] makes.
pub const BASE_SHA: &str = "0000000000000000000000000000000000000000";

/// A `pull_request` (or `pull_request_target`) webhook payload, as GitHub
/// sends it, for pull request `number` of [`REPO`]: head commit `sha` of
/// branch `feature` in `head_repo` (a fork unless it is [`REPO`]), into
/// `main`; open unless `action` is `closed`. Everything else is as
/// GitHub's webhook schema has it.
pub fn pull_request_payload(
    event: &str,
    action: &str,
    number: u64,
    sha: &str,
    head_repo: &str,
) -> Value {
    pull_request_payload_with(event, action, number, sha, head_repo, json!({}))
}

/// [`pull_request_payload`] with `extra` top-level fields (a `labeled`
/// event's `label`, see [`label_json`]).
pub fn pull_request_payload_with(
    event: &str,
    action: &str,
    number: u64,
    sha: &str,
    head_repo: &str,
    extra: Value,
) -> Value {
    let repo = |full_name: &str| {
        let (owner, name) = full_name.split_once('/').expect("owner/name");
        json!({"full_name": full_name, "name": name, "owner": {"login": owner}})
    };
    let head_owner = head_repo.split('/').next().unwrap_or_default();
    let overrides = merged(
        json!({
            "number": number,
            "pull_request": {
                "number": number,
                "state": if action == "closed" { "closed" } else { "open" },
                "head": {"sha": sha, "ref": "feature", "label": format!("{head_owner}:feature"), "repo": repo(head_repo)},
                "base": {"sha": BASE_SHA, "ref": "main", "label": "octo:main", "repo": repo(REPO)},
            },
            "repository": repo(REPO),
        }),
        extra,
    );
    event_payload(event, action, overrides)
}

/// A label as webhooks and the REST API carry it.
pub fn label_json(name: &str) -> Value {
    json!({
        "id": 208045946,
        "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
        "url": format!("https://api.github.com/repos/{REPO}/labels/{name}"),
        "name": name,
        "description": null,
        "color": "0e8a16",
        "default": false,
    })
}

/// What the fake STS issued on its `n`th call (from 1) once
/// [`FakeGitHub::issue_session_credentials`] is on.
pub fn issued_access_key(n: usize) -> String {
    format!("ASIAFAKESTS{n:09}")
}

pub struct FakeGitHub {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeGitHub {
    pub async fn start() -> FakeGitHub {
        FakeGitHub::start_under("").await
    }

    /// The REST API under base path `base`, as GitHub Enterprise Server
    /// serves it (`/api/v3`); the OIDC endpoint and STS stay at the root.
    pub async fn start_under(base: &str) -> FakeGitHub {
        // Read the description before the first request needs it, so that
        // a missing one fails the test with its own message.
        let _ = contract::rest();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            next_id: 1000,
            base: base.trim_end_matches('/').to_owned(),
            ..State::default()
        }));
        let blob = forks::start_blob_store(state.clone()).await;
        state.lock().expect("state").blob_addr = Some(blob);
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let state = shared.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| handle(state.clone(), addr, req));
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                }
            }
        });
        FakeGitHub {
            addr,
            state,
            _stop: stop,
        }
    }

    /// `GITHUB_API_URL` (also the STS endpoint, `AWS_ENDPOINT_URL_STS`,
    /// when the base is the root).
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.state().base)
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` (the runner's has `api-version` in it).
    pub fn oidc_url(&self) -> String {
        format!("http://{}/oidc?api-version=2.0", self.addr)
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on STS issues new credentials on every call, valid for
    /// `ttl` (whatever DurationSeconds asked), and registers each with the
    /// emulator, which refuses them once expired.
    pub fn issue_session_credentials(&self, credentials: SessionCredentials, ttl: Duration) {
        self.state().sts_issue = Some((credentials, ttl));
    }

    /// Add `n` comments from other people to pull request `issue`.
    /// Tag `tag` of `repo` names `commit`; annotated: through a tag object.
    pub fn add_tag(&self, repo: &str, tag: &str, commit: &str, annotated: bool) {
        let mut s = self.state();
        let mut put = |key: &str, sha: &str, kind: &str| {
            s.git_objects.insert(
                (repo.to_owned(), key.to_owned()),
                (sha.to_owned(), kind.to_owned()),
            );
        };
        let tag_ref = format!("refs/tags/{tag}");
        if annotated {
            let object = "7a9000000000000000000000000000000000beef";
            put(&tag_ref, object, "tag");
            put(object, commit, "commit");
        } else {
            put(&tag_ref, commit, "commit");
        }
    }

    pub fn add_comments(&self, issue: u64, n: usize) {
        for i in 0..n {
            self.add_comment(issue, &format!("comment {i} from a reviewer"));
        }
    }

    /// A comment by [`REVIEWER`].
    pub fn add_comment(&self, issue: u64, body: &str) -> u64 {
        self.add_comment_by(issue, REVIEWER, body)
    }

    pub fn add_comment_by(&self, issue: u64, author: &str, body: &str) -> u64 {
        let mut s = self.state();
        s.next_id += 1;
        let id = s.next_id;
        s.comments.push(FakeComment {
            id,
            issue,
            body: body.to_owned(),
            author: author.to_owned(),
        });
        id
    }

    pub fn comments(&self, issue: u64) -> Vec<FakeComment> {
        self.state()
            .comments
            .iter()
            .filter(|c| c.issue == issue)
            .cloned()
            .collect()
    }

    /// A deployment made by someone else (an earlier run), as
    /// `POST /deployments` with this body would; the body must be one
    /// GitHub's description allows.
    pub fn add_deployment(&self, body: Value) -> u64 {
        let headers = [("content-type".to_owned(), "application/json".to_owned())];
        let text = body.to_string();
        let path = format!("/repos/{REPO}/deployments");
        let (_, errors) = contract::rest().check(&contract::Request {
            method: "POST",
            path: &path,
            query: "",
            headers: &headers,
            body: text.as_bytes(),
        });
        assert!(errors.is_empty(), "add_deployment({body}): {errors:?}");
        let mut s = self.state();
        s.next_id += 1;
        let id = s.next_id;
        s.deployments.push(FakeDeployment {
            id,
            body,
            statuses: Vec::new(),
        });
        id
    }

    /// A pull request as `GET pulls` and `GET pulls/{number}` answer it.
    pub fn add_pull(&self, pull: FakePull) {
        let mut s = self.state();
        s.pulls.retain(|p| p.number != pull.number);
        s.pulls.push(pull);
    }

    /// Change pull request `number` (added with [`FakeGitHub::add_pull`]).
    pub fn edit_pull(&self, number: u64, edit: impl FnOnce(&mut FakePull)) {
        let mut s = self.state();
        let pull = s.pulls.iter_mut().find(|p| p.number == number);
        edit(pull.expect("a pull request added with add_pull"));
    }

    /// A workflow run (newer than those before it).
    pub fn add_run(&self, run: FakeRun) {
        self.state().runs.push(run);
    }

    pub fn blob_requests(&self) -> Vec<BlobRequest> {
        self.state().blob_requests.clone()
    }

    /// What `GET /repos/{REPO}/pulls/{number}` answers as its `state`.
    pub fn set_pull_state(&self, number: u64, state: &str) {
        self.state().pull_states.insert(number, state.to_owned());
    }

    pub fn commit_statuses(&self) -> Vec<FakeCommitStatus> {
        self.state().commit_statuses.clone()
    }

    pub fn deployments(&self) -> Vec<FakeDeployment> {
        self.state().deployments.clone()
    }

    pub fn requests(&self) -> Vec<FakeRequest> {
        self.state().requests.clone()
    }

    /// The violations seen so far, which no longer fail the test: for a
    /// test that breaks the contract on purpose and asserts it was caught.
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.state().violations)
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        let (violations, requests) = {
            let mut s = self.state();
            (std::mem::take(&mut s.violations), s.requests.clone())
        };
        let checked: Vec<&str> = requests
            .iter()
            .filter_map(|r| r.operation.as_deref())
            .collect();
        eprintln!(
            "fake GitHub: {} requests checked against GitHub's REST description {}: {}",
            checked.len(),
            contract::rest().version(),
            checked.join(" ")
        );
        if violations.is_empty() {
            return;
        }
        let report = format!(
            "the fake GitHub saw {} violation(s) of GitHub's published REST API description (@octokit/openapi {}):\n  {}",
            violations.len(),
            contract::rest().version(),
            violations.join("\n  ")
        );
        if std::thread::panicking() {
            eprintln!("{report}");
        } else {
            panic!("{report}");
        }
    }
}

type HttpResponse = Response<Full<Bytes>>;

fn respond(status: u16, body: Value, headers: &[(&str, String)]) -> HttpResponse {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json; charset=utf-8");
    for (k, v) in headers {
        r = r.header(*k, v.as_str());
    }
    r.body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

fn message(status: u16, msg: &str) -> HttpResponse {
    respond(
        status,
        json!({"message": msg, "documentation_url": "https://docs.github.com/rest"}),
        &[],
    )
}

fn query_pairs(query: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn handle(
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    req: Request<Incoming>,
) -> Result<HttpResponse, std::convert::Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let base = lock().base.clone();
    let checked = check_request(&base, &method, &path, &query, &headers, &body);
    let response = match &checked.path {
        Some(rest_path) => route(
            &mut lock(),
            addr,
            &method,
            rest_path,
            &query,
            authorization.as_deref(),
            &body,
        ),
        None => message(404, "Not Found"),
    };
    let (parts, answer) = response.into_parts();
    let answer = answer
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let status = parts.status.as_u16();
    let mut violations = checked.violations;
    // A scripted runaway answer is not GitHub's shape, on purpose.
    let scripted_fault = lock().huge_comment_listing.is_some();
    if let (Some(op), false) = (&checked.operation, scripted_fault) {
        for e in contract::rest().check_response(op, status, &answer) {
            violations.push(format!("the fake's answer {status}: {e}"));
        }
    }
    let mut s = lock();
    let what = match &checked.operation {
        Some(op) => format!("{method} {path}?{query} ({})", op.id),
        None => format!("{method} {path}?{query}"),
    };
    s.violations
        .extend(violations.into_iter().map(|v| format!("{what}: {v}")));
    s.requests.push(FakeRequest {
        method: method.to_string(),
        path: checked.path.unwrap_or(path),
        query,
        authorization,
        status,
        operation: checked.operation.map(|o| o.id),
    });
    Ok(Response::from_parts(parts, Full::new(answer)))
}

/// A request as checked against GitHub's description.
struct Checked {
    /// The path under the API base; `None`: it is not under the base.
    path: Option<String>,
    operation: Option<contract::Operation>,
    violations: Vec<String>,
}

fn check_request(
    base: &str,
    method: &Method,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Checked {
    if not_rest(method, path) {
        return Checked {
            path: Some(path.to_owned()),
            operation: None,
            violations: Vec::new(),
        };
    }
    let Some(rest_path) = path.strip_prefix(base).filter(|p| p.starts_with('/')) else {
        return Checked {
            path: None,
            operation: None,
            violations: vec![format!("not under the API base {base}")],
        };
    };
    let (operation, violations) = contract::rest().check(&contract::Request {
        method: method.as_str(),
        path: &documented_path(rest_path),
        query,
        headers,
        body,
    });
    Checked {
        path: Some(rest_path.to_owned()),
        operation,
        violations,
    }
}

/// Requests that are not GitHub's REST API, which its description does
/// not cover: the Actions OIDC token endpoint (the runner's
/// `ACTIONS_ID_TOKEN_REQUEST_URL`) and AWS STS, both played by this fake.
fn not_rest(method: &Method, path: &str) -> bool {
    path == "/oidc" || (path == "/" && method == Method::POST)
}

/// The documented path of a request: GitHub's `Link` URLs name the
/// repository by id (`/repositories/{id}/…`), an alias of
/// `/repos/{owner}/{repo}/…` that the description does not list.
fn documented_path(path: &str) -> String {
    match path.strip_prefix(&format!("/repositories/{REPO_ID}/")) {
        Some(rest) => format!("/repos/{REPO}/{rest}"),
        None => path.to_owned(),
    }
}

fn route(
    s: &mut State,
    addr: SocketAddr,
    method: &Method,
    path: &str,
    query: &str,
    authorization: Option<&str>,
    body: &[u8],
) -> HttpResponse {
    // The OIDC endpoint and STS take their own credentials.
    if path == "/oidc" {
        return oidc(query, authorization);
    }
    if path == "/" && method == Method::POST {
        return sts(s, body);
    }
    // Public reads of a repository's git data need no token.
    if let (&Method::GET, Some(found)) = (method, git_object(s, path)) {
        return found;
    }
    let token = authorization.and_then(|a| {
        a.strip_prefix("Bearer ")
            .or_else(|| a.strip_prefix("token "))
    });
    // Who the token acts as, and whether it is a workflow token (an
    // integration, which GitHub does not let read `GET /user`).
    let (can_write, user, integration) = match token {
        Some(WRITE_TOKEN) => (true, ACTIONS_BOT, true),
        Some(READ_TOKEN) => (false, ACTIONS_BOT, true),
        Some(PAT_TOKEN) => (true, PAT_USER, false),
        _ => return message(401, "Bad credentials"),
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let repo_ok = |owner: &str, name: &str| format!("{owner}/{name}") == REPO;
    let json_body = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let forbidden = || message(403, "Resource not accessible by integration");
    if let (Some(bytes), Method::GET, ["repos", _, _, "issues", _, "comments"]) =
        (s.huge_comment_listing, method.clone(), segments.as_slice())
    {
        let mut body = String::with_capacity(bytes);
        body.push('[');
        while body.len() + 64 < bytes {
            body.push_str(r#"{"id":1,"body":"x","user":{"login":"x"}},"#);
        }
        body.push_str(r#"{"id":1}]"#);
        let mut r = HttpResponse::new(Full::new(Bytes::from(body)));
        r.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        return r;
    }
    if let Some(answer) = forks::route(s, method, &segments, query) {
        return answer;
    }
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["user"]) => {
            if integration {
                forbidden()
            } else {
                let me = documented(
                    "private-user-response-with-public-and-private-profile-information",
                    json!({"login": user, "id": 4001, "type": "User"}),
                );
                respond(200, me, &[])
            }
        }
        // GitHub's own next links use /repositories/{id}/…
        (Method::GET, ["repos", o, n, "issues", num, "comments"]) if repo_ok(o, n) => {
            list_comments(s, addr, num, query)
        }
        (Method::GET, ["repositories", id, "issues", num, "comments"])
            if *id == REPO_ID.to_string() =>
        {
            list_comments(s, addr, num, query)
        }
        (Method::POST, ["repos", o, n, "issues", num, "comments"]) if repo_ok(o, n) => {
            if !can_write {
                return forbidden();
            }
            let Ok(issue) = num.parse::<u64>() else {
                return message(404, "Not Found");
            };
            let Some(text) = json_body()["body"].as_str().map(str::to_owned) else {
                return message(422, "body is missing");
            };
            s.next_id += 1;
            let id = s.next_id;
            let comment = FakeComment {
                id,
                issue,
                body: text,
                author: user.to_owned(),
            };
            let answer = comment_json(&comment);
            s.comments.push(comment);
            respond(201, answer, &[])
        }
        (Method::PATCH, ["repos", o, n, "issues", "comments", id]) if repo_ok(o, n) => {
            if !can_write {
                return forbidden();
            }
            let Some(text) = json_body()["body"].as_str().map(str::to_owned) else {
                return message(422, "body is missing");
            };
            match s.comments.iter_mut().find(|c| c.id.to_string() == *id) {
                Some(c) => {
                    c.body = text;
                    respond(200, comment_json(c), &[])
                }
                None => message(404, "Not Found"),
            }
        }
        (Method::GET, ["repos", o, n, "pulls", num]) if repo_ok(o, n) => {
            let state = num.parse::<u64>().ok().and_then(|n| s.pull_states.get(&n));
            match state {
                Some(state) => {
                    let number = num.parse::<u64>().unwrap_or(0);
                    // GitHub's example lists a requested team without
                    // the `type` its schema requires: none here.
                    let pull = documented(
                        "pull-request",
                        json!({
                            "number": number,
                            "state": state,
                            "requested_teams": [],
                            "url": format!("https://api.github.com/repos/{REPO}/pulls/{number}"),
                            "html_url": format!("https://github.com/{REPO}/pull/{number}"),
                        }),
                    );
                    respond(200, pull, &[])
                }
                None => message(404, "Not Found"),
            }
        }
        (Method::GET, ["repos", o, n, "deployments"]) if repo_ok(o, n) => {
            list_deployments(s, addr, query)
        }
        (Method::GET, ["repositories", id, "deployments"]) if *id == REPO_ID.to_string() => {
            list_deployments(s, addr, query)
        }
        (Method::POST, ["repos", o, n, "statuses", sha]) if repo_ok(o, n) => {
            if !can_write {
                return forbidden();
            }
            let b = json_body();
            let valid = ["error", "failure", "pending", "success"];
            if !b["state"].as_str().is_some_and(|st| valid.contains(&st)) {
                return message(422, "state is invalid");
            }
            if b["description"]
                .as_str()
                .is_some_and(|d| d.chars().count() > 140)
            {
                return message(422, "description is too long (maximum is 140 characters)");
            }
            s.commit_statuses.push(FakeCommitStatus {
                sha: (*sha).to_owned(),
                body: b.clone(),
            });
            let mut status = documented(
                "status",
                json!({"id": s.commit_statuses.len(), "state": b["state"], "context": b["context"]}),
            );
            for field in ["description", "target_url"] {
                status[field] = b.get(field).cloned().unwrap_or(Value::Null);
            }
            respond(201, status, &[])
        }
        (Method::POST, ["repos", o, n, "deployments"]) if repo_ok(o, n) => {
            if !can_write {
                return forbidden();
            }
            let b = json_body();
            if b["ref"].as_str().is_none_or(str::is_empty) || b["environment"].as_str().is_none() {
                return message(422, "ref and environment are required");
            }
            s.next_id += 1;
            let id = s.next_id;
            let deployment = FakeDeployment {
                id,
                body: b,
                statuses: Vec::new(),
            };
            let answer = deployment_json(&deployment);
            s.deployments.push(deployment);
            respond(201, answer, &[])
        }
        (Method::POST, ["repos", o, n, "deployments", id, "statuses"]) if repo_ok(o, n) => {
            if !can_write {
                return forbidden();
            }
            let b = json_body();
            let valid = [
                "error",
                "failure",
                "inactive",
                "in_progress",
                "queued",
                "pending",
                "success",
            ];
            if !b["state"].as_str().is_some_and(|st| valid.contains(&st)) {
                return message(422, "state is invalid");
            }
            match s.deployments.iter_mut().find(|d| d.id.to_string() == *id) {
                Some(d) => {
                    d.statuses.push(b.clone());
                    let status = documented(
                        "deployment-status",
                        json!({
                            "id": d.statuses.len(),
                            "state": b["state"],
                            "environment": d.body["environment"],
                            "deployment_url": format!("https://api.github.com/repos/{REPO}/deployments/{}", d.id),
                        }),
                    );
                    respond(201, status, &[])
                }
                None => message(404, "Not Found"),
            }
        }
        _ => message(404, "Not Found"),
    }
}

/// Pages of at most `per_page` (default 30, as GitHub's), `page` from 1,
/// with `Link` rel next/last pointing at `/repositories/{id}/…`.
/// `GET /repos/O/N/git/ref/tags/T` and `GET /repos/O/N/git/tags/SHA`.
fn git_object(s: &State, path: &str) -> Option<HttpResponse> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (repo, key) = match segments.as_slice() {
        ["repos", o, n, "git", "ref", "tags", tag] => {
            (format!("{o}/{n}"), format!("refs/tags/{tag}"))
        }
        ["repos", o, n, "git", "tags", sha] => (format!("{o}/{n}"), sha.to_string()),
        _ => return None,
    };
    Some(match s.git_objects.get(&(repo, key.clone())) {
        Some((sha, kind)) => {
            let object = json!({"object": {"sha": sha, "type": kind}});
            let answer = match key.strip_prefix("refs/") {
                Some(_) => documented("git-ref", merged(json!({"ref": key}), object)),
                None => documented("git-tag", merged(json!({"sha": key}), object)),
            };
            respond(200, answer, &[])
        }
        None => message(404, "Not Found"),
    })
}

fn list_comments(s: &State, addr: SocketAddr, num: &str, query: &str) -> HttpResponse {
    let Ok(issue) = num.parse::<u64>() else {
        return message(404, "Not Found");
    };
    let q = query_pairs(query);
    let per_page: usize = q
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = q
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let all: Vec<&FakeComment> = s.comments.iter().filter(|c| c.issue == issue).collect();
    let pages = all.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|c| comment_json(c))
        .collect();
    let link = |p: usize, rel: &str| {
        format!(
            "<http://{addr}{}/repositories/{REPO_ID}/issues/{issue}/comments?per_page={per_page}&page={p}>; rel=\"{rel}\"",
            s.base
        )
    };
    let mut links = Vec::new();
    if page < pages {
        links.push(link(page + 1, "next"));
        links.push(link(pages, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
        links.push(link(page - 1, "prev"));
    }
    let headers: Vec<(&str, String)> = if links.is_empty() {
        Vec::new()
    } else {
        vec![("link", links.join(", "))]
    };
    respond(200, Value::Array(items), &headers)
}

/// Newest first, filtered by `environment` when given; pages as
/// [`list_comments`], linking `/repositories/{id}/deployments`.
fn list_deployments(s: &State, addr: SocketAddr, query: &str) -> HttpResponse {
    let q = query_pairs(query);
    let per_page: usize = q
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = q
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let environment = q.get("environment");
    let all: Vec<&FakeDeployment> = s
        .deployments
        .iter()
        .rev()
        .filter(|d| environment.is_none_or(|e| d.body["environment"].as_str() == Some(e)))
        .collect();
    let pages = all.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|d| deployment_json(d))
        .collect();
    let mut links = Vec::new();
    if page < pages {
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        if let Some(e) = environment {
            next.append_pair("environment", e);
        }
        next.append_pair("per_page", &per_page.to_string());
        next.append_pair("page", &(page + 1).to_string());
        links.push(format!(
            "<http://{addr}{}/repositories/{REPO_ID}/deployments?{}>; rel=\"next\"",
            s.base,
            next.finish()
        ));
    }
    let headers: Vec<(&str, String)> = if links.is_empty() {
        Vec::new()
    } else {
        vec![("link", links.join(", "))]
    };
    respond(200, Value::Array(items), &headers)
}

/// A comment's `user`: bots (`…[bot]`) have type `Bot`.
fn user_json(login: &str) -> Value {
    let kind = if login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    };
    documented(
        "simple-user",
        json!({
            "login": login,
            "type": kind,
            "url": format!("https://api.github.com/users/{login}"),
            "html_url": format!("https://github.com/{login}"),
        }),
    )
}

/// A comment as GitHub answers it (`issue-comment`).
fn comment_json(c: &FakeComment) -> Value {
    documented(
        "issue-comment",
        json!({
            "id": c.id,
            "body": c.body,
            "user": user_json(&c.author),
            "url": format!("https://api.github.com/repos/{REPO}/issues/comments/{}", c.id),
            "html_url": format!("https://github.com/{REPO}/pull/{}#issuecomment-{}", c.issue, c.id),
            "issue_url": format!("https://api.github.com/repos/{REPO}/issues/{}", c.issue),
        }),
    )
}

/// A deployment as GitHub answers it: what was posted, GitHub's defaults
/// for what was not (`task` `deploy`, `payload` `{}`).
fn deployment_json(d: &FakeDeployment) -> Value {
    let b = &d.body;
    let text = |k: &str, default: &str| Value::from(b[k].as_str().unwrap_or(default));
    documented(
        "deployment",
        json!({
            "id": d.id,
            "url": format!("https://api.github.com/repos/{REPO}/deployments/{}", d.id),
            "statuses_url": format!("https://api.github.com/repos/{REPO}/deployments/{}/statuses", d.id),
            "repository_url": format!("https://api.github.com/repos/{REPO}"),
            "ref": b["ref"],
            "sha": b["ref"],
            "task": text("task", "deploy"),
            "environment": text("environment", "production"),
            "original_environment": text("environment", "production"),
            "description": b.get("description").cloned().unwrap_or(Value::Null),
            "transient_environment": b["transient_environment"].as_bool().unwrap_or(false),
            "production_environment": b["production_environment"].as_bool().unwrap_or(false),
            "payload": b.get("payload").cloned().unwrap_or(json!({})),
        }),
    )
}

/// GitHub's documented example answer `name` (its REST description's
/// `components/examples`) with what the fake's state decides merged in:
/// the fake answers in GitHub's shape, and invents no field.
fn documented(name: &str, overrides: Value) -> Value {
    merged(contract::rest().example(name), overrides)
}

/// `base` with `overrides` merged in, object by object.
fn merged(mut base: Value, overrides: Value) -> Value {
    match (&mut base, overrides) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                let old = into.remove(&k).unwrap_or(Value::Null);
                into.insert(k, merged(old, v));
            }
            base
        }
        (_, v) => v,
    }
}

/// `GET /oidc?api-version=2.0&audience=…` with `Authorization: bearer …`.
fn oidc(query: &str, authorization: Option<&str>) -> HttpResponse {
    let bearer = authorization.and_then(|a| {
        a.strip_prefix("bearer ")
            .or_else(|| a.strip_prefix("Bearer "))
    });
    if bearer != Some(OIDC_REQUEST_TOKEN) {
        return message(401, "Unauthorized");
    }
    let q = query_pairs(query);
    if q.get("audience").map(String::as_str) != Some("sts.amazonaws.com")
        || !q.contains_key("api-version")
    {
        return message(400, "audience must be sts.amazonaws.com");
    }
    respond(200, json!({"value": OIDC_JWT, "count": 1}), &[])
}

/// `POST /` `Action=AssumeRoleWithWebIdentity&RoleArn=…&WebIdentityToken=…`.
fn sts(s: &mut State, body: &[u8]) -> HttpResponse {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    s.sts_calls.push(form.clone());
    let xml = |status: u16, text: String| {
        Response::builder()
            .status(status)
            .header("content-type", "text/xml")
            .header("x-amzn-requestid", "c6104cbe-af31-11e0-8154-cbc7ccf896c7")
            .body(Full::new(Bytes::from(text)))
            .expect("response")
    };
    let error = |code: &str, msg: &str| {
        xml(
            400,
            format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{msg}</Message></Error><RequestId>c6104cbe</RequestId></ErrorResponse>"
            ),
        )
    };
    if form.get("Action").map(String::as_str) != Some("AssumeRoleWithWebIdentity") {
        return error("InvalidAction", "unsupported action");
    }
    if form.get("WebIdentityToken").map(String::as_str) != Some(OIDC_JWT) {
        return error(
            "InvalidIdentityToken",
            "Couldn't verify the web identity token",
        );
    }
    let Some(role) = form.get("RoleArn").filter(|r| r.contains(":role/")) else {
        return error("ValidationError", "RoleArn is invalid");
    };
    let session = form.get("RoleSessionName").cloned().unwrap_or_default();
    let (access_key, secret_key, session_token, expiration) = match &s.sts_issue {
        None => (
            STS_ACCESS_KEY.to_owned(),
            STS_SECRET_KEY.to_owned(),
            STS_SESSION_TOKEN.to_owned(),
            humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(3600))
                .to_string(),
        ),
        Some((registry, ttl)) => {
            let n = s.sts_calls.len();
            // Announced and enforced alike: to the second, rounded down.
            let shown = humantime::format_rfc3339_seconds(SystemTime::now() + *ttl).to_string();
            let expires = humantime::parse_rfc3339(&shown).expect("own timestamp");
            let credential = Credential {
                access_key_id: issued_access_key(n),
                secret_access_key: format!("{STS_SECRET_KEY}{n}"),
                session_token: Some(format!("{STS_SESSION_TOKEN}{n}")),
            };
            registry.add(credential.clone(), expires);
            (
                credential.access_key_id,
                credential.secret_access_key,
                credential.session_token.unwrap_or_default(),
                shown,
            )
        }
    };
    let role_name = role.rsplit('/').next().unwrap_or("role");
    xml(
        200,
        format!(
            r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>repo:{REPO}:pull_request</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/{role_name}/{session}</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:{session}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>{session_token}</SessionToken>
      <SecretAccessKey>{secret_key}</SecretAccessKey>
      <Expiration>{expiration}</Expiration>
      <AccessKeyId>{access_key}</AccessKeyId>
    </Credentials>
    <Provider>token.actions.githubusercontent.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#
        ),
    )
}
