//! The contract checks themselves: each way a request can break an
//! operation's description is caught (against a small description written
//! here, so each case is plain), and GitHub's real descriptions are read as
//! the fake reads them.

use serde_json::{json, Value};

use super::rest::{Request, Rest};
use super::schema::Validator;

/// A small description in GitHub's style: shared parameters and schemas
/// behind `$ref`s, a multi-segment ref, a closed body.
fn description() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"version": "test"},
        "paths": {
            "/repos/{owner}/{repo}/issues/{issue_number}/comments": {
                "get": {
                    "operationId": "issues/list-comments",
                    "parameters": [
                        {"$ref": "#/components/parameters/owner"},
                        {"$ref": "#/components/parameters/repo"},
                        {"$ref": "#/components/parameters/issue-number"},
                        {"$ref": "#/components/parameters/per-page"}
                    ],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/comment"}}
                    }}}}
                },
                "post": {
                    "operationId": "issues/create-comment",
                    "parameters": [
                        {"$ref": "#/components/parameters/owner"},
                        {"$ref": "#/components/parameters/repo"},
                        {"$ref": "#/components/parameters/issue-number"}
                    ],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"body": {"type": "string"}},
                        "required": ["body"]
                    }}}},
                    "responses": {"201": {"description": "created"}}
                }
            },
            "/repos/{owner}/{repo}/issues/comments": {
                "get": {"operationId": "issues/list-comments-for-repo", "responses": {"200": {"description": "ok"}}}
            },
            "/repos/{owner}/{repo}/issues/{issue_number}": {
                "get": {"operationId": "issues/get", "responses": {"200": {"description": "ok"}}}
            },
            "/repos/{owner}/{repo}/git/ref/{ref}": {
                "get": {
                    "operationId": "git/get-ref",
                    "parameters": [
                        {"$ref": "#/components/parameters/owner"},
                        {"$ref": "#/components/parameters/repo"},
                        {"name": "ref", "in": "path", "required": true, "schema": {"type": "string"}, "x-multi-segment": true}
                    ],
                    "responses": {"200": {"description": "ok"}}
                }
            },
            "/repos/{owner}/{repo}/statuses/{sha}": {
                "post": {
                    "operationId": "repos/create-commit-status",
                    "parameters": [{"name": "X-Hook", "in": "header", "required": true, "schema": {"type": "string"}}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/status-request"
                    }}}},
                    "responses": {"201": {"description": "created"}}
                }
            }
        },
        "components": {
            "parameters": {
                "owner": {"name": "owner", "in": "path", "required": true, "schema": {"type": "string"}},
                "repo": {"name": "repo", "in": "path", "required": true, "schema": {"type": "string"}},
                "issue-number": {"name": "issue_number", "in": "path", "required": true, "schema": {"type": "integer"}},
                "per-page": {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}
            },
            "schemas": {
                "comment": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "user": {"$ref": "#/components/schemas/nullable-user"}},
                    "required": ["id", "user"]
                },
                "nullable-user": {
                    "type": "object",
                    "nullable": true,
                    "properties": {"login": {"type": "string", "example": "octocat"}},
                    "required": ["login"]
                },
                "status-request": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "state": {"type": "string", "enum": ["error", "failure", "pending", "success"]},
                        "description": {"type": "string", "nullable": true, "maxLength": 140},
                        "context": {"type": ["string", "null"], "minLength": 1},
                        "payload": {"oneOf": [{"type": "object", "additionalProperties": true}, {"type": "string"}]},
                        "count": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": ["all"]}]},
                        "meta": {"allOf": [
                            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                            {"type": "object", "properties": {"b": {"type": "boolean"}}}
                        ]},
                        "labels": {"type": "array", "items": {"type": "string"}, "maxItems": 2}
                    },
                    "required": ["state"]
                }
            }
        }
    })
}

fn check(
    rest: &Rest,
    method: &str,
    path: &str,
    query: &str,
    body: &str,
) -> (Option<String>, Vec<String>) {
    let headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("x-hook".to_owned(), "1".to_owned()),
    ];
    let request = Request {
        method,
        path,
        query,
        headers: &headers,
        body: body.as_bytes(),
    };
    let (op, errors) = rest.check(&request);
    (op.map(|o| o.id), errors)
}

/// The errors of one request, which must name `expected`.
fn caught(method: &str, path: &str, query: &str, body: &str, expected: &str) {
    let rest = Rest::new(description());
    let (_, errors) = check(&rest, method, path, query, body);
    assert!(
        errors.iter().any(|e| e.contains(expected)),
        "{method} {path}?{query} {body}: expected an error naming {expected:?}, got {errors:?}"
    );
}

const COMMENTS: &str = "/repos/o/r/issues/7/comments";
const STATUS: &str = "/repos/o/r/statuses/abc";

#[test]
fn a_documented_request_passes() {
    let rest = Rest::new(description());
    for (method, path, query, body, id) in [
        ("GET", COMMENTS, "per_page=100", "", "issues/list-comments"),
        (
            "POST",
            COMMENTS,
            "",
            r#"{"body":"hi"}"#,
            "issues/create-comment",
        ),
        (
            "GET",
            "/repos/o/r/git/ref/tags/v1.2.3",
            "",
            "",
            "git/get-ref",
        ),
        (
            "GET",
            "/repos/o/r/git/ref/tags/a%2Fb",
            "",
            "",
            "git/get-ref",
        ),
        (
            "POST",
            STATUS,
            "",
            r#"{"state":"success","description":null,"context":null,"payload":{"pr":7},"count":"all","meta":{"a":1,"b":true},"labels":["x"]}"#,
            "repos/create-commit-status",
        ),
        (
            "POST",
            STATUS,
            "",
            r#"{"state":"pending","payload":"text","count":3}"#,
            "repos/create-commit-status",
        ),
    ] {
        let (op, errors) = check(&rest, method, path, query, body);
        assert_eq!(op.as_deref(), Some(id), "{method} {path}");
        assert!(errors.is_empty(), "{method} {path} {body}: {errors:?}");
    }
}

#[test]
fn the_most_literal_template_wins() {
    let rest = Rest::new(description());
    let (op, errors) = check(&rest, "GET", "/repos/o/r/issues/comments", "", "");
    assert_eq!(
        op.as_deref(),
        Some("issues/list-comments-for-repo"),
        "{errors:?}"
    );
}

#[test]
fn an_unknown_path_is_caught() {
    caught(
        "GET",
        "/repos/o/r/issues/7/commentz",
        "",
        "",
        "no such path",
    );
    caught("GET", "/repos/o/r", "", "", "no such path");
}

#[test]
fn a_wrong_method_is_caught() {
    caught(
        "DELETE",
        COMMENTS,
        "",
        "",
        "has no DELETE operation (it has GET, POST)",
    );
    caught("GET", STATUS, "", "", "has no GET operation");
}

#[test]
fn an_undocumented_or_bad_query_parameter_is_caught() {
    caught(
        "GET",
        COMMENTS,
        "per_page=100&sort=created",
        "",
        "query parameter \"sort\" is not documented",
    );
    caught(
        "GET",
        COMMENTS,
        "per_page=many",
        "",
        "expected integer, found string",
    );
    caught(
        "GET",
        COMMENTS,
        "per_page=1000",
        "",
        "above the maximum 100",
    );
}

#[test]
fn a_bad_path_parameter_is_caught() {
    caught(
        "GET",
        "/repos/o/r/issues/seven/comments",
        "",
        "",
        "path parameter issue_number: expected integer",
    );
}

#[test]
fn a_missing_required_header_is_caught() {
    let rest = Rest::new(description());
    let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    let request = Request {
        method: "POST",
        path: STATUS,
        query: "",
        headers: &headers,
        body: br#"{"state":"success"}"#,
    };
    let (_, errors) = rest.check(&request);
    assert_eq!(errors, ["the required header X-Hook is missing"]);
}

#[test]
fn a_bad_body_is_caught() {
    // The wrong type, at the top and inside.
    caught(
        "POST",
        COMMENTS,
        "",
        "5",
        "body: expected object, found integer 5",
    );
    caught(
        "POST",
        COMMENTS,
        "",
        r#"{"body":7}"#,
        "body/body: expected string, found integer 7",
    );
    // A required field missing, and the body itself.
    caught(
        "POST",
        COMMENTS,
        "",
        r#"{"text":"hi"}"#,
        "the required property \"body\" is missing",
    );
    caught(
        "POST",
        COMMENTS,
        "",
        "",
        "the required request body is missing",
    );
    caught("POST", COMMENTS, "", "{", "the body is not JSON");
    // A property a closed schema does not have.
    caught(
        "POST",
        STATUS,
        "",
        r#"{"state":"success","extra":1}"#,
        "\"extra\" is not allowed (additionalProperties is false)",
    );
    // A property the operation does not document, where the schema says nothing.
    caught(
        "POST",
        COMMENTS,
        "",
        r#"{"body":"hi","draft":true}"#,
        "property \"draft\" is not documented",
    );
    // A body where the operation takes none.
    caught(
        "GET",
        COMMENTS,
        "",
        r#"{"body":"hi"}"#,
        "the operation takes none",
    );
}

#[test]
fn each_keyword_is_checked() {
    for (body, expected) in [
        (r#"{"state":"done"}"#, "\"done\" is not one of"),
        (r#"{"state":null}"#, "expected string, found null"),
        (
            &format!(r#"{{"state":"error","description":"{}"}}"#, "é".repeat(141)),
            "more than maxLength 140",
        ),
        (
            r#"{"state":"error","context":""}"#,
            "fewer than minLength 1",
        ),
        (
            r#"{"state":"error","context":5}"#,
            "expected string or null",
        ),
        (
            r#"{"state":"error","payload":[1]}"#,
            "matches none of the oneOf choices",
        ),
        (
            r#"{"state":"error","count":-1}"#,
            "matches none of the anyOf choices",
        ),
        (
            r#"{"state":"error","count":"some"}"#,
            "matches none of the anyOf choices",
        ),
        (
            r#"{"state":"error","meta":{"b":true}}"#,
            "the required property \"a\" is missing",
        ),
        (
            r#"{"state":"error","meta":{"a":1,"c":1}}"#,
            "property \"c\" is not documented",
        ),
        (
            r#"{"state":"error","labels":["a","b","c"]}"#,
            "more than maxItems 2",
        ),
        (
            r#"{"state":"error","labels":[1]}"#,
            "body/labels/0: expected string",
        ),
    ] {
        caught("POST", STATUS, "", body, expected);
    }
}

#[test]
fn answers_are_checked_against_the_documented_response() {
    let rest = Rest::new(description());
    let (_, _) = check(&rest, "GET", COMMENTS, "", "");
    let op = super::Operation {
        id: "issues/list-comments".into(),
        path: "/repos/{owner}/{repo}/issues/{issue_number}/comments".into(),
        method: "get".into(),
    };
    assert!(rest
        .check_response(&op, 200, br#"[{"id":1,"user":null}]"#)
        .is_empty());
    let wrong = rest.check_response(&op, 200, br#"[{"id":"1","user":{"login":"a"}}]"#);
    assert_eq!(wrong, ["/0/id: expected integer, found string \"1\""]);
    assert_eq!(
        rest.check_response(&op, 201, b"[]"),
        ["status 201 is not a documented answer"]
    );
    // GitHub answers 403 and 404 anywhere.
    assert!(rest.check_response(&op, 404, b"{}").is_empty());
}

#[test]
fn instances_are_built_and_overridden_field_by_field() {
    let doc = description();
    let v = Validator::new(&doc);
    let schema = json!({"$ref": "#/components/schemas/comment"});
    let mut comment = v.instance(&schema);
    assert_eq!(comment, json!({"id": 1, "user": {"login": "octocat"}}));
    v.merge(
        &schema,
        &mut comment,
        &json!({"user": {"login": "hubot"}}),
        "",
    )
    .unwrap();
    assert_eq!(comment, json!({"id": 1, "user": {"login": "hubot"}}));
    let unknown = v.merge(&schema, &mut comment, &json!({"user": {"name": "x"}}), "");
    assert_eq!(
        unknown.unwrap_err(),
        "/user/name is not a property GitHub documents"
    );
}

/// GitHub's own descriptions, as the fake and the event payloads use them.
#[test]
fn githubs_descriptions_are_read() {
    let rest = super::rest();
    let (op, errors) = check(rest, "GET", "/repos/octo/site/git/ref/tags/v1.2.3", "", "");
    assert_eq!(op.as_deref(), Some("git/get-ref"), "{errors:?}");
    let (op, errors) = check(
        rest,
        "PATCH",
        "/repos/octo/site/issues/comments/5",
        "",
        r#"{"body":"x"}"#,
    );
    assert_eq!(
        (op.as_deref(), errors.len()),
        (Some("issues/update-comment"), 0),
        "{errors:?}"
    );
    let (op, errors) = check(
        rest,
        "GET",
        "/repos/octo/site/deployments",
        "per_page=100&environment=pr-7&page=2",
        "",
    );
    assert_eq!(
        (op.as_deref(), errors.len()),
        (Some("repos/list-deployments"), 0),
        "{errors:?}"
    );
    let (_, errors) = check(
        rest,
        "GET",
        "/repos/octo/site/deployments",
        "per_page=100&state=active",
        "",
    );
    assert_eq!(
        errors,
        ["query parameter \"state\" is not documented for this operation"]
    );
    let (op, errors) = check(rest, "POST", "/repos/octo/site/pulls/7", "", "");
    assert_eq!(op, None);
    assert!(errors[0].contains("has no POST operation"), "{errors:?}");
}

/// Each event the tests use has a payload the product reads as GitHub
/// sends it.
#[test]
fn event_payloads_follow_githubs_schemas() {
    use amplify_deploy::github::event::{PullRequest, WorkflowRun};
    for (event, action) in [
        ("pull_request", "opened"),
        ("pull_request", "synchronize"),
        ("pull_request", "closed"),
        ("pull_request_target", "labeled"),
        ("pull_request_target", "synchronize"),
        ("pull_request_target", "closed"),
        ("push", ""),
        ("workflow_run", "completed"),
    ] {
        let payload = super::event_payload(event, action, json!({}));
        if event.starts_with("pull_request") {
            let pr = PullRequest::parse(event, &payload.to_string()).unwrap();
            assert_eq!(pr.action, action);
            assert_eq!(Some(pr.number), payload["number"].as_u64());
            assert!(pr.head_sha.is_some() && pr.base_repo.is_some(), "{pr:?}");
            assert_eq!(pr.label.as_deref(), payload["label"]["name"].as_str());
        }
    }
    let labeled = super::event_payload(
        "pull_request_target",
        "labeled",
        json!({"label": crate::support::github::label_json("preview")}),
    );
    let pr = PullRequest::parse("pull_request_target", &labeled.to_string()).unwrap();
    assert_eq!(pr.label.as_deref(), Some("preview"));
    // A fork's build, as the trusted run reads it.
    let fork = super::event_payload(
        "workflow_run",
        "completed",
        json!({"workflow_run": {
            "event": "pull_request",
            "conclusion": "success",
            "head_sha": "1".repeat(40),
            "head_repository": {"full_name": "stranger/site"},
            "repository": {"full_name": "octo/site"},
        }}),
    );
    let run = WorkflowRun::parse(&fork.to_string()).unwrap();
    assert!(run.built_a_pull_request() && run.is_fork(), "{run:?}");
    let w = &fork["workflow_run"];
    assert_eq!(Some(run.id), w["id"].as_u64());
    assert_eq!(run.head_branch.as_deref(), w["head_branch"].as_str());
    // A head that is not a full commit SHA is refused, not guessed at.
    let short = super::event_payload(
        "workflow_run",
        "completed",
        json!({"workflow_run": {"head_sha": "abc"}}),
    );
    assert!(WorkflowRun::parse(&short.to_string()).is_err());
    let wrong = std::panic::catch_unwind(|| {
        super::event_payload(
            "pull_request",
            "opened",
            json!({"pull_request": {"sha": "x"}}),
        )
    });
    assert!(
        wrong.is_err(),
        "an override of a field GitHub does not send is refused"
    );
    let wrong = std::panic::catch_unwind(|| {
        super::event_payload("pull_request", "opened", json!({"number": "7"}))
    });
    assert!(
        wrong.is_err(),
        "an override that breaks the schema is refused"
    );
}

/// Without the fetched description the tests stop at once, saying how to
/// fetch it.
#[test]
fn a_missing_description_names_the_command_that_fetches_it() {
    let empty = tempfile::tempdir().unwrap();
    let missing =
        std::panic::catch_unwind(|| super::load(empty.path(), "openapi.json", "@octokit/openapi"));
    let message = *missing.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("run scripts/github-openapi.sh"),
        "{message}"
    );
    assert!(message.contains("@octokit/openapi from npm"), "{message}");
}

/// The fake GitHub checks what reaches it over HTTP, records each
/// violation, and fails the test that caused one when it is dropped, even
/// when the request got an answer the product would only warn about.
#[tokio::test(flavor = "multi_thread")]
async fn the_fake_github_fails_the_test_that_broke_the_contract() {
    use crate::support::github::{FakeGitHub, REPO, WRITE_TOKEN};
    let gh = FakeGitHub::start().await;
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{}{path}", gh.url()))
            .bearer_auth(WRITE_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let comments = format!("/repos/{REPO}/issues/7/comments");
    let ok = send(
        reqwest::Method::POST,
        &comments,
        Some(json!({"body": "hi"})),
    )
    .await;
    assert_eq!(ok, 201);
    assert_eq!(gh.take_violations(), Vec::<String>::new());

    send(
        reqwest::Method::GET,
        &format!("{comments}?per_page=100&sort=created"),
        None,
    )
    .await;
    send(reqwest::Method::PUT, &comments, Some(json!({"body": "hi"}))).await;
    let status = send(
        reqwest::Method::POST,
        &comments,
        Some(json!({"body": "hi", "draft": true})),
    )
    .await;
    assert_eq!(
        status, 201,
        "the fake answers as GitHub would: it ignores what it does not know"
    );
    let violations = gh.take_violations();
    assert_eq!(violations.len(), 3, "{violations:#?}");
    assert!(
        violations[0].contains("query parameter \"sort\" is not documented"),
        "{violations:?}"
    );
    assert!(
        violations[1].contains("has no PUT operation"),
        "{violations:?}"
    );
    assert!(
        violations[2].contains("property \"draft\" is not documented"),
        "{violations:?}"
    );
    assert_eq!(
        gh.requests()[1].operation.as_deref(),
        Some("issues/list-comments")
    );

    // One left behind fails the test when the fake goes.
    send(
        reqwest::Method::GET,
        &format!("/repos/{REPO}/pulls/seven"),
        None,
    )
    .await;
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(gh)));
    let message = *dropped.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("pulls/get): path parameter pull_number: expected integer"),
        "{message}"
    );
}

/// Under a base path (GitHub Enterprise Server's `/api/v3`), a call that
/// leaves the base is a violation, though its path is documented.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_outside_the_api_base_is_caught() {
    use crate::support::github::{FakeGitHub, REPO, WRITE_TOKEN};
    let gh = FakeGitHub::start_under("/api/v3").await;
    let root = gh.url().trim_end_matches("/api/v3").to_owned();
    let status = reqwest::Client::new()
        .get(format!("{root}/repos/{REPO}/pulls/7"))
        .bearer_auth(WRITE_TOKEN)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    let violations = gh.take_violations();
    assert_eq!(
        violations,
        [format!(
            "GET /repos/{REPO}/pulls/7?: not under the API base /api/v3"
        )]
    );
}
