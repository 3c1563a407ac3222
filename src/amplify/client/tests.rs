//! The client against a scripted server on 127.0.0.1: what goes on the
//! wire, and how many attempts each kind of failure gets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;

use super::*;
use crate::amplify::JobStatus;
use crate::http::test_server::{fast_retry, Action, TestServer};
use crate::http::{build_client, RetryDecision, RetryEvent};

struct Harness {
    server: TestServer,
    client: Client,
    events: Arc<Mutex<Vec<RetryEvent>>>,
}

async fn harness(script: Vec<Action>) -> Harness {
    harness_with(script, fast_retry()).await
}

async fn harness_with(script: Vec<Action>, retry: RetryConfig) -> Harness {
    let server = TestServer::start(script).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let client = Client::new(ClientConfig {
        endpoint: url::Url::parse(&server.url("/")).expect("endpoint"),
        region: "eu-west-1".into(),
        credentials: SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST",
            "SECRETTEST",
            Some("TOKENTEST".into()),
            None,
            "test",
        )),
        retry,
        observer: Arc::new(move |e: &RetryEvent| sink.lock().expect("lock").push(e.clone())),
        http: build_client(),
    });
    Harness {
        server,
        client,
        events,
    }
}

fn amz_error(status: u16, error_type: &str, message: &str) -> Action {
    Action::json(status, &format!(r#"{{"message":"{message}"}}"#))
        .with_header(
            "x-amzn-ErrorType",
            &format!("{error_type}:http://internal.amazon.com/"),
        )
        .with_header("x-amzn-RequestId", "req-42")
}

#[tokio::test]
async fn get_app_is_a_signed_get_without_body() {
    let h = harness(vec![Action::json(
        200,
        r#"{"app":{"appId":"d1","defaultDomain":"d1.amplifyapp.com","platform":"WEB"}}"#,
    )])
    .await;
    let app = h.client.get_app("d1").await.expect("app");
    assert_eq!(app.default_domain.as_deref(), Some("d1.amplifyapp.com"));
    let requests = h.server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.target, "/apps/d1");
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type"), None);
    let auth = r.header("authorization").expect("signed");
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/"),
        "{auth}"
    );
    assert!(auth.contains("/eu-west-1/amplify/aws4_request"), "{auth}");
    assert!(
        auth.contains("SignedHeaders=host;x-amz-date;x-amz-security-token"),
        "{auth}"
    );
    assert_eq!(r.header("x-amz-security-token"), Some("TOKENTEST"));
    assert!(r.header("x-amz-date").is_some());
    assert!(r
        .header("user-agent")
        .is_some_and(|ua| ua.starts_with("amplify-deploy/")));
}

#[tokio::test]
async fn create_deployment_posts_empty_json_to_the_encoded_branch() {
    let h = harness(vec![Action::json(
        200,
        r#"{"jobId":"5","zipUploadUrl":"https://s3/x.zip?sig=1"}"#,
    )])
    .await;
    let out = h
        .client
        .create_deployment("d1", "feature/x")
        .await
        .expect("created");
    assert_eq!(out.job_id.as_deref(), Some("5"));
    assert_eq!(
        out.zip_upload_url.as_deref(),
        Some("https://s3/x.zip?sig=1")
    );
    let r = &h.server.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/apps/d1/branches/feature%2Fx/deployments");
    assert_eq!(r.body, b"{}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-length"), Some("2"));
    assert!(r.header("authorization").is_some_and(
        |a| a.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token")
    ));
}

#[tokio::test]
async fn every_operation_hits_its_route() {
    let summary = r#"{"jobSummary":{"jobId":"5","status":"PENDING"}}"#;
    let branch = r#"{"branch":{"branchName":"b","displayName":"b"}}"#;
    let h = harness(vec![
        Action::json(200, branch),
        Action::json(200, branch),
        Action::json(200, branch),
        Action::json(200, summary),
        Action::json(
            200,
            r#"{"job":{"summary":{"jobId":"5","status":"SUCCEED"},"steps":[]}}"#,
        ),
        Action::json(200, summary),
        Action::json(200, r#"{"jobSummaries":[],"nextToken":null}"#),
    ])
    .await;
    let c = &h.client;
    c.get_branch("d1", "b").await.expect("get_branch");
    let created = c
        .create_branch("d1", "b", Some("PRODUCTION"))
        .await
        .expect("create_branch");
    assert_eq!(created.display_name.as_deref(), Some("b"));
    c.delete_branch("d1", "b").await.expect("delete_branch");
    let input = StartDeploymentInput {
        job_id: Some("5".into()),
        ..Default::default()
    };
    let started = c.start_deployment("d1", "b", &input).await.expect("start");
    assert_eq!(started.status, Some(JobStatus::Pending));
    let job = c.get_job("d1", "b", "5").await.expect("get_job");
    assert_eq!(job.summary.and_then(|s| s.status), Some(JobStatus::Succeed));
    c.stop_job("d1", "b", "5").await.expect("stop_job");
    let jobs = c
        .list_jobs("d1", "b", Some(5), Some("a+b/c="))
        .await
        .expect("list_jobs");
    assert!(jobs.job_summaries.is_empty());

    let seen: Vec<(String, String, String)> = h
        .server
        .requests()
        .into_iter()
        .map(|r| {
            (
                r.method,
                r.target,
                String::from_utf8_lossy(&r.body).into_owned(),
            )
        })
        .collect();
    let expected = [
        ("GET", "/apps/d1/branches/b", ""),
        (
            "POST",
            "/apps/d1/branches",
            r#"{"branchName":"b","stage":"PRODUCTION"}"#,
        ),
        ("DELETE", "/apps/d1/branches/b", ""),
        (
            "POST",
            "/apps/d1/branches/b/deployments/start",
            r#"{"jobId":"5"}"#,
        ),
        ("GET", "/apps/d1/branches/b/jobs/5", ""),
        ("DELETE", "/apps/d1/branches/b/jobs/5/stop", ""),
        (
            "GET",
            "/apps/d1/branches/b/jobs?maxResults=5&nextToken=a%2Bb%2Fc%3D",
            "",
        ),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(m, t, b)| (m.to_string(), t.to_string(), b.to_string()))
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn branch_settings_and_delete_job_on_the_wire() {
    let branch = r#"{"branch":{"branchName":"feature/x","enableSkewProtection":true}}"#;
    let h = harness(vec![
        Action::json(200, branch),
        Action::json(200, branch),
        Action::json(200, branch),
        Action::json(200, branch),
        Action::json(200, r#"{"jobSummary":{"jobId":"7","status":"SUCCEED"}}"#),
        amz_error(400, "BadRequestException", "Job 9 is not finished."),
    ])
    .await;
    let c = &h.client;
    let tags = std::collections::BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    let new = NewBranch {
        stage: Some("BETA"),
        basic_auth: Some("dTpw"),
        tags: Some(&tags),
        skew_protection: Some(true),
    };
    let created = c
        .create_branch_from("d1", "feature/x", &new)
        .await
        .expect("create");
    assert_eq!(created.enable_skew_protection, Some(true));
    c.set_branch_skew_protection("d1", "feature/x", false)
        .await
        .expect("skew off");
    c.set_branch_basic_auth("d1", "feature/x", "dTpw")
        .await
        .expect("basic auth");
    c.update_branch("d1", "feature/x", &BranchUpdate::default())
        .await
        .expect("nothing to change");
    let deleted = c.delete_job("d1", "feature/x", "7").await.expect("delete");
    assert_eq!(deleted.job_id.as_deref(), Some("7"));
    assert_eq!(deleted.status, Some(JobStatus::Succeed));
    let refused = c
        .delete_job("d1", "feature/x", "9")
        .await
        .expect_err("unfinished");
    assert_eq!(refused.error_type(), Some("BadRequestException"));

    let seen: Vec<(String, String, String)> = h
        .server
        .requests()
        .into_iter()
        .map(|r| {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            (r.method, r.target, body)
        })
        .collect();
    let expected = [
        (
            "POST",
            "/apps/d1/branches",
            r#"{"branchName":"feature/x","stage":"BETA","enableBasicAuth":true,"basicAuthCredentials":"dTpw","enableSkewProtection":true,"tags":{"k":"v"}}"#,
        ),
        (
            "POST",
            "/apps/d1/branches/feature%2Fx",
            r#"{"enableSkewProtection":false}"#,
        ),
        (
            "POST",
            "/apps/d1/branches/feature%2Fx",
            r#"{"enableBasicAuth":true,"basicAuthCredentials":"dTpw"}"#,
        ),
        ("POST", "/apps/d1/branches/feature%2Fx", "{}"),
        ("DELETE", "/apps/d1/branches/feature%2Fx/jobs/7", ""),
        // A refusal is answered at once, not retried.
        ("DELETE", "/apps/d1/branches/feature%2Fx/jobs/9", ""),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(m, t, b)| (m.to_string(), t.to_string(), b.to_string()))
        .collect();
    assert_eq!(seen, expected);
}

/// DeleteJob and skew protection against `amplify-emulator`, which checks
/// the signatures of the DELETE and of the branch writes independently.
#[tokio::test]
async fn delete_job_and_skew_protection_against_the_emulator() {
    use amplify_emulator::{Config, Emulator};

    let emulator = Emulator::start(Config::default()).await.expect("emulator");
    emulator.create_app("d1", "WEB");
    let old = emulator.insert_job("d1", "feature/x", "SUCCEED");
    emulator.insert_job("d1", "feature/x", "SUCCEED");
    let client = Client::new(ClientConfig {
        endpoint: url::Url::parse(&emulator.endpoint()).expect("endpoint"),
        region: "us-east-1".into(),
        credentials: SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )),
        retry: fast_retry(),
        observer: crate::http::silent_observer(),
        http: build_client(),
    });
    let deleted = client
        .delete_job("d1", "feature/x", &old)
        .await
        .expect("DeleteJob");
    assert_eq!(deleted.job_id.as_deref(), Some(old.as_str()));
    let listed = client
        .list_jobs("d1", "feature/x", None, None)
        .await
        .expect("ListJobs");
    let ids: Vec<_> = listed
        .job_summaries
        .iter()
        .filter_map(|j| j.job_id.clone())
        .collect();
    assert_eq!(ids, ["2"]);
    let gone = client
        .delete_job("d1", "feature/x", &old)
        .await
        .expect_err("deleted already");
    assert!(gone.is_not_found(), "{gone:?}");

    let new = NewBranch {
        skew_protection: Some(true),
        ..NewBranch::default()
    };
    let created = client
        .create_branch_from("d1", "pinned", &new)
        .await
        .expect("CreateBranch");
    assert_eq!(created.enable_skew_protection, Some(true));
    let updated = client
        .set_branch_skew_protection("d1", "feature/x", true)
        .await
        .expect("UpdateBranch");
    assert_eq!(updated.enable_skew_protection, Some(true));
    assert!(emulator.skew_protection("d1", "feature/x"));
    let read = client.get_branch("d1", "pinned").await.expect("GetBranch");
    assert_eq!(read.enable_skew_protection, Some(true));
}

#[tokio::test]
async fn endpoint_path_prefix_is_kept() {
    let server = TestServer::start(vec![Action::json(200, r#"{"app":{}}"#)]).await;
    let client = Client::new(ClientConfig {
        endpoint: url::Url::parse(&server.url("/proxy/amplify/")).expect("url"),
        region: "us-east-1".into(),
        credentials: SharedCredentialsProvider::new(Credentials::for_tests()),
        retry: fast_retry(),
        observer: crate::http::silent_observer(),
        http: build_client(),
    });
    client.get_app("d1").await.expect("app");
    assert_eq!(server.requests()[0].target, "/proxy/amplify/apps/d1");
}

#[tokio::test]
async fn service_unavailable_twice_then_success_is_resigned_each_time() {
    let h = harness(vec![
        amz_error(503, "DependentServiceFailureException", "try again"),
        Action::body(
            502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
        Action::json(200, r#"{"app":{"appId":"d1"}}"#),
    ])
    .await;
    h.client
        .get_app("d1")
        .await
        .expect("third attempt succeeds");
    let requests = h.server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.header("authorization").is_some()));
    let events = h.events.lock().expect("lock");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].what, "GetApp");
    assert_eq!(events[0].attempt, 2);
    assert_eq!(
        events[0].reason,
        "HTTP 503 DependentServiceFailureException: try again"
    );
    assert_eq!(events[1].reason, "HTTP 502 Unknown: 502 Bad Gateway");
}

#[tokio::test]
async fn dropped_connection_is_retried() {
    let h = harness(vec![Action::Drop, Action::json(200, r#"{"jobId":"1"}"#)]).await;
    let out = h
        .client
        .create_deployment("d1", "main")
        .await
        .expect("retried");
    assert_eq!(out.job_id.as_deref(), Some("1"));
    assert_eq!(h.server.requests().len(), 2);
}

#[tokio::test]
async fn not_found_is_returned_at_once() {
    let h = harness(vec![amz_error(
        404,
        "NotFoundException",
        "App d9 not found.",
    )])
    .await;
    let err = h.client.get_app("d9").await.expect_err("not found");
    assert!(err.is_not_found());
    assert_eq!(err.error_type(), Some("NotFoundException"));
    assert_eq!(err.request_id(), Some("req-42"));
    assert_eq!(h.server.requests().len(), 1);
    assert!(h.events.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn unfinished_job_is_reported_not_retried() {
    let h = harness(vec![amz_error(
        400,
        "BadRequestException",
        "The last job(deployment) 12 was not finished, please wait until it finish or use StopJob operation to cancel it.",
    )])
    .await;
    let err = h
        .client
        .create_deployment("d1", "main")
        .await
        .expect_err("blocked");
    assert_eq!(err.unfinished_job_id().as_deref(), Some("12"));
    assert_eq!(h.server.requests().len(), 1);
}

#[tokio::test]
async fn throttling_retried_but_branch_limit_not() {
    let h = harness(vec![
        amz_error(400, "ThrottlingException", "Rate exceeded").with_header("Retry-After", "0"),
        amz_error(
            429,
            "LimitExceededException",
            "Maximum number of branches reached",
        ),
    ])
    .await;
    let err = h
        .client
        .create_branch("d1", "pr-9", None)
        .await
        .expect_err("limit");
    assert_eq!(err.error_type(), Some("LimitExceededException"));
    assert_eq!(h.server.requests().len(), 2);
    let events = h.events.lock().expect("lock");
    assert_eq!(events[0].wait, Duration::ZERO);
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_max_retries() {
    let h = harness(vec![amz_error(500, "InternalFailureException", "boom"); 10]).await;
    let err = h
        .client
        .get_job("d1", "main", "3")
        .await
        .expect_err("gives up");
    assert_eq!(err.error_type(), Some("InternalFailureException"));
    assert_eq!(h.server.requests().len(), 4);
    assert_eq!(h.events.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn timeout_is_retried_then_transport_error() {
    let slow = Action::Delay(Duration::from_secs(3), Box::new(Action::json(200, "{}")));
    let retry = RetryConfig {
        max_retries: 1,
        request_timeout: Duration::from_millis(200),
        ..fast_retry()
    };
    let h = harness_with(vec![slow.clone(), slow], retry).await;
    let err = h.client.get_app("d1").await.expect_err("times out");
    match &err {
        ApiError::Transport {
            operation, source, ..
        } => {
            assert_eq!(*operation, "GetApp");
            assert!(source.is_timeout());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.server.requests().len(), 2);
    assert!(h.events.lock().expect("lock")[0]
        .reason
        .contains("timed out"));
}

#[tokio::test]
async fn unexpected_success_bodies_are_decode_errors() {
    let h = harness(vec![
        Action::body(200, "text/html", "<html>captive portal</html>"),
        Action::json(200, r#"{"notApp":{}}"#),
        Action::status(200),
    ])
    .await;
    let err = h.client.get_app("d1").await.expect_err("html");
    assert!(
        matches!(err, ApiError::Decode { status: 200, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("captive portal"), "{err}");
    let err = h.client.get_app("d1").await.expect_err("no member");
    assert!(err.to_string().contains("no `app`"), "{err}");
    let err = h
        .client
        .get_job("d1", "main", "1")
        .await
        .expect_err("empty");
    assert!(err.to_string().contains("empty body"), "{err}");
    // Not retried.
    assert_eq!(h.server.requests().len(), 3);
}

#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded("no credentials")))
    }
}

#[tokio::test]
async fn credentials_failure_sends_nothing() {
    let server = TestServer::start(vec![]).await;
    let client = Client::new(ClientConfig {
        endpoint: url::Url::parse(&server.url("/")).expect("url"),
        region: "us-east-1".into(),
        credentials: SharedCredentialsProvider::new(NoCredentials),
        retry: fast_retry(),
        observer: crate::http::silent_observer(),
        http: build_client(),
    });
    let err = client.get_app("d1").await.expect_err("no creds");
    assert!(matches!(err, ApiError::Credentials { .. }), "{err:?}");
    assert_eq!(err.retry_decision(), RetryDecision::Fail);
    assert!(server.requests().is_empty());
}

#[test]
fn debug_hides_credentials() {
    let cfg = ClientConfig {
        endpoint: url::Url::parse("https://amplify.us-east-1.amazonaws.com").expect("url"),
        region: "us-east-1".into(),
        credentials: SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST",
            "VERYSECRET",
            Some("SESSIONSECRET".into()),
            None,
            "test",
        )),
        retry: RetryConfig::default(),
        observer: crate::http::silent_observer(),
        http: reqwest::Client::new(),
    };
    let debug = format!("{:?}", Client::new(cfg));
    assert!(
        !debug.contains("VERYSECRET") && !debug.contains("SESSIONSECRET"),
        "{debug}"
    );
    assert!(debug.contains("******"));
}

/// The whole manual-deploy sequence against `amplify-emulator`, which
/// verifies our SigV4 signatures independently, with a branch name that
/// needs encoding and a scripted 503.
#[tokio::test]
async fn full_deploy_against_the_emulator() {
    use amplify_emulator::{Config, Emulator, Fault, FaultAction};

    let emulator = Emulator::start(Config::default()).await.expect("emulator");
    emulator.create_app("d1", "WEB");
    emulator.create_branch("d1", "feature/x");
    emulator.push_fault(Fault {
        operation: Some("GetApp".into()),
        times: 1,
        action: FaultAction::Status {
            status: 503,
            error_type: None,
            message: None,
        },
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let client = Client::new(ClientConfig {
        endpoint: url::Url::parse(&emulator.endpoint()).expect("endpoint"),
        region: "us-east-1".into(),
        credentials: SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )),
        retry: fast_retry(),
        observer: Arc::new(move |e: &RetryEvent| sink.lock().expect("lock").push(e.clone())),
        http: build_client(),
    });

    let app = client.get_app("d1").await.expect("GetApp after one 503");
    assert_eq!(app.platform.as_deref(), Some("WEB"));
    assert_eq!(events.lock().expect("lock").len(), 1);
    let branch = client
        .get_branch("d1", "feature/x")
        .await
        .expect("GetBranch");
    assert_eq!(branch.branch_name.as_deref(), Some("feature/x"));

    let created = client
        .create_deployment("d1", "feature/x")
        .await
        .expect("CreateDeployment");
    let job_id = created.job_id.clone().expect("job id");
    let upload_url = created.zip_upload_url.clone().expect("zip url");

    let mut zip = tempfile::NamedTempFile::new().expect("temp");
    {
        let mut writer = zip::ZipWriter::new(zip.as_file_mut());
        writer
            .start_file("index.html", zip::write::SimpleFileOptions::default())
            .expect("entry");
        std::io::Write::write_all(&mut writer, b"<h1>hi</h1>").expect("write");
        writer.finish().expect("finish");
    }
    crate::amplify::upload_zip(
        &build_client(),
        &upload_url,
        zip.path(),
        &fast_retry(),
        &crate::http::silent_observer(),
    )
    .await
    .expect("upload");

    let input = StartDeploymentInput {
        job_id: Some(job_id.clone()),
        ..Default::default()
    };
    client
        .start_deployment("d1", "feature/x", &input)
        .await
        .expect("StartDeployment");
    let mut status = None;
    for _ in 0..100 {
        let job = client
            .get_job("d1", "feature/x", &job_id)
            .await
            .expect("GetJob");
        status = job.summary.and_then(|s| s.status);
        if status.as_ref().is_some_and(JobStatus::is_terminal) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, Some(JobStatus::Succeed));
    let jobs = client
        .list_jobs("d1", "feature/x", Some(10), None)
        .await
        .expect("ListJobs");
    assert_eq!(
        jobs.job_summaries[0].job_id.as_deref(),
        Some(job_id.as_str())
    );

    let err = client.get_app("d404").await.expect_err("no such app");
    assert!(err.is_not_found(), "{err:?}");
}
