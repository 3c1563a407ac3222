//! Amplify operations, signatures and job lifecycle.

use std::time::Duration;

use amplify_emulator::{Config, Credential};

use crate::support::{emulator, emulator_with, site_zip, zip_of, Client, KEY, SECRET};

const UNFINISHED: &str = "The last job(deployment) 1 was not finished, please wait until it finish or use StopJob operation to cancel it.";

#[tokio::test]
async fn signed_request_for_a_slashed_branch_succeeds() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let got = client
        .call("GET", "/apps/d1/branches/feature%2Fx", None)
        .await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["branch"]["branchName"], "feature/x");
    assert_eq!(got.body["branch"]["displayName"], "feature-x");
    assert_eq!(got.body["branch"]["stage"], "PRODUCTION");
    let app = client.call("GET", "/apps/d1", None).await;
    assert_eq!(app.body["app"]["defaultDomain"], "d1.amplifyapp.com");
    assert_eq!(app.body["app"]["platform"], "WEB");
}

#[tokio::test]
async fn wrong_secret_unknown_key_and_missing_auth_are_refused() {
    let emulator = emulator().await;
    let wrong = Client::new(&emulator).with_secret("not-the-secret");
    let got = wrong.call("GET", "/apps/d1", None).await;
    assert_eq!(got.status, 403);
    assert_eq!(got.error_type.as_deref(), Some("InvalidSignatureException"));
    assert_eq!(
        got.message(),
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    );

    let mut unknown = Client::new(&emulator);
    unknown.key = "AKIAUNKNOWN".into();
    let got = unknown.call("GET", "/apps/d1", None).await;
    assert_eq!(got.status, 403);
    assert_eq!(
        got.error_type.as_deref(),
        Some("UnrecognizedClientException")
    );
    assert_eq!(
        got.message(),
        "The security token included in the request is invalid."
    );

    let got = Client::new(&emulator).unsigned("GET", "/apps/d1").await;
    assert_eq!(got.status, 403);
    assert_eq!(
        got.error_type.as_deref(),
        Some("MissingAuthenticationTokenException")
    );
    // None of these reached the operation.
    assert!(emulator.requests().iter().all(|r| r.status == 403));
}

#[tokio::test]
async fn clock_skew_and_wrong_region_are_refused() {
    let emulator = emulator().await;
    let mut late = Client::new(&emulator);
    late.time_offset = Some(Duration::from_secs(20 * 60));
    let got = late.call("GET", "/apps/d1", None).await;
    assert_eq!(got.status, 403);
    assert_eq!(got.error_type.as_deref(), Some("InvalidSignatureException"));
    assert!(got.message().starts_with("Signature expired: "), "{got:?}");

    let mut elsewhere = Client::new(&emulator);
    elsewhere.region = "eu-west-1".into();
    let got = elsewhere.call("GET", "/apps/d1", None).await;
    assert_eq!(got.status, 403);
    assert_eq!(got.error_type.as_deref(), Some("InvalidSignatureException"));
}

#[tokio::test]
async fn session_credentials_need_their_token() {
    let emulator = emulator_with(Config {
        credentials: vec![Credential {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: SECRET.into(),
            session_token: Some("FwoGZXIvYXdzE/token+value==".into()),
        }],
        ..Config::default()
    })
    .await;
    let mut client = Client::new(&emulator);
    client.key = "ASIAEXAMPLE".into();
    let got = client.call("GET", "/apps/d1", None).await;
    assert_eq!(got.status, 403);
    assert_eq!(
        got.error_type.as_deref(),
        Some("UnrecognizedClientException")
    );

    client.token = Some("FwoGZXIvYXdzE/token+value==".into());
    let got = client.call("GET", "/apps/d1", None).await;
    assert_eq!(got.status, 200, "{got:?}");

    client.token = Some("another-token".into());
    let got = client.call("GET", "/apps/d1", None).await;
    assert_eq!(got.status, 403);
    let _ = KEY;
}

#[tokio::test]
async fn zip_deploy_runs_to_succeed_and_stores_the_files() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let job_id = client.deploy("d1", "feature%2Fx", site_zip()).await;
    assert_eq!(job_id, "1");
    assert_eq!(emulator.jobs("d1", "feature/x")[0].status, "RUNNING");

    let got = client.wait_job("d1", "feature%2Fx", &job_id).await;
    let summary = &got.body["job"]["summary"];
    assert_eq!(summary["status"], "SUCCEED");
    assert_eq!(summary["jobType"], "MANUAL");
    assert_eq!(summary["commitId"], "HEAD");
    assert_eq!(
        summary["jobArn"],
        "arn:aws:amplify:us-east-1:123456789012:apps/d1/branches/feature/x/jobs/1"
    );
    assert!(summary["startTime"].as_f64().is_some());
    assert!(summary["endTime"].as_f64() >= summary["startTime"].as_f64());
    let step = &got.body["job"]["steps"][0];
    assert_eq!(step["stepName"], "DEPLOY");
    assert_eq!(step["status"], "SUCCEED");
    assert!(step["logUrl"]
        .as_str()
        .unwrap_or_default()
        .starts_with(&emulator.endpoint()));

    let files = emulator
        .deployed_files("d1", "feature/x")
        .expect("deployed");
    assert_eq!(files.len(), 3);
    assert_eq!(files["docs/index.html"], b"<h1>docs</h1>");

    // The site is served under the branch's display name.
    let site = emulator.site_url("d1", "feature/x");
    assert!(site.ends_with("/__site/d1/feature-x/"), "{site}");
    let home = reqwest::get(&site).await.expect("site");
    assert_eq!(home.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(home.text().await.expect("body"), "<h1>home</h1>");
    let docs = reqwest::get(format!("{site}docs")).await.expect("docs");
    assert_eq!(docs.text().await.expect("body"), "<h1>docs</h1>");
    let missing = reqwest::get(format!("{site}nope.html"))
        .await
        .expect("missing");
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn broken_zips_and_missing_uploads_fail_the_job() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let job = client
        .deploy("d1", "main", zip_of(&[("site\\index.html", b"x")]))
        .await;
    let got = client.wait_job("d1", "main", &job).await;
    assert_eq!(got.body["job"]["summary"]["status"], "FAILED");
    let reason = got.body["job"]["steps"][0]["statusReason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("backslash"), "{reason}");
    assert_eq!(emulator.deployed_files("d1", "main"), None);

    // Created but never uploaded: "zip file not found".
    let created = client
        .call("POST", "/apps/d1/branches/main/deployments", Some("{}"))
        .await;
    let job_id = created.body["jobId"].as_str().expect("jobId").to_owned();
    let started = client
        .call(
            "POST",
            "/apps/d1/branches/main/deployments/start",
            Some(&format!("{{\"jobId\":\"{job_id}\"}}")),
        )
        .await;
    assert_eq!(started.status, 200);
    assert_eq!(started.body["jobSummary"]["status"], "RUNNING");
    client.wait_job("d1", "main", &job_id).await;
    let jobs = emulator.jobs("d1", "main");
    assert_eq!(jobs[1].status, "FAILED");
    assert_eq!(jobs[1].status_reason.as_deref(), Some("zip file not found"));
}

#[tokio::test]
async fn unfinished_job_blocks_new_deployments() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let orphan = emulator.insert_job("d1", "main", "PENDING");
    assert_eq!(orphan, "1");
    let got = client
        .call("POST", "/apps/d1/branches/main/deployments", Some("{}"))
        .await;
    assert_eq!(got.status, 400);
    assert_eq!(got.error_type.as_deref(), Some("BadRequestException"));
    assert_eq!(got.message(), UNFINISHED);
    let by_url = client
        .call(
            "POST",
            "/apps/d1/branches/main/deployments/start",
            Some(r#"{"sourceUrl":"https://example.com/site.zip"}"#),
        )
        .await;
    assert_eq!(by_url.message(), UNFINISHED);

    let stopped = client
        .call("DELETE", "/apps/d1/branches/main/jobs/1/stop", None)
        .await;
    assert_eq!(stopped.status, 200, "{stopped:?}");
    assert_eq!(stopped.body["jobSummary"]["status"], "CANCELLED");
    let got = client
        .call("POST", "/apps/d1/branches/main/deployments", Some("{}"))
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["jobId"], "2");
}

#[tokio::test]
async fn stopping_a_running_job_goes_through_cancelling() {
    let emulator = emulator_with(Config {
        job_duration: Duration::from_secs(30),
        ..Config::default()
    })
    .await;
    let client = Client::new(&emulator);
    let job = client.deploy("d1", "main", site_zip()).await;
    let stopped = client
        .call(
            "DELETE",
            &format!("/apps/d1/branches/main/jobs/{job}/stop"),
            None,
        )
        .await;
    assert_eq!(stopped.body["jobSummary"]["status"], "CANCELLING");
    let got = client.wait_job("d1", "main", &job).await;
    assert_eq!(got.body["job"]["summary"]["status"], "CANCELLED");
    assert_eq!(emulator.deployed_files("d1", "main"), None);
}

#[tokio::test]
async fn start_deployment_checks_its_input() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let path = "/apps/d1/branches/main/deployments/start";
    let got = client.call("POST", path, Some("{}")).await;
    assert_eq!(got.status, 400);
    assert_eq!(
        got.message(),
        "Must specify jobId or sourceUrl for StartDeploymentRequest."
    );
    let got = client.call("POST", path, Some(r#"{"jobId":"7"}"#)).await;
    assert_eq!(got.status, 404);
    let done = emulator.insert_job("d1", "main", "SUCCEED");
    let got = client
        .call("POST", path, Some(&format!("{{\"jobId\":\"{done}\"}}")))
        .await;
    assert_eq!(got.status, 400);
    assert_eq!(got.error_type.as_deref(), Some("BadRequestException"));
    let got = client.call("POST", path, Some("{not json")).await;
    assert_eq!(got.status, 400);
    assert_eq!(got.error_type.as_deref(), Some("SerializationException"));

    let got = client
        .call(
            "POST",
            path,
            Some(r#"{"sourceUrl":"s3://bucket/site.zip"}"#),
        )
        .await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["jobSummary"]["sourceUrl"], "s3://bucket/site.zip");
    assert_eq!(got.body["jobSummary"]["sourceUrlType"], "ZIP");
    let job_id = got.body["jobSummary"]["jobId"]
        .as_str()
        .expect("jobId")
        .to_owned();
    let ended = client.wait_job("d1", "main", &job_id).await;
    assert_eq!(ended.body["job"]["summary"]["status"], "SUCCEED");
}

#[tokio::test]
async fn missing_app_and_branch_are_not_found() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let got = client.call("GET", "/apps/d404", None).await;
    assert_eq!((got.status, got.message()), (404, "App d404 not found."));
    assert_eq!(got.error_type.as_deref(), Some("NotFoundException"));
    let got = client
        .call("POST", "/apps/d1/branches/nope/deployments", Some("{}"))
        .await;
    assert_eq!((got.status, got.message()), (404, "Branch nope not found."));
}

#[tokio::test]
async fn web_compute_apps_refuse_manual_deploys() {
    let emulator = emulator().await;
    emulator.create_app("dssr", "WEB_COMPUTE");
    emulator.create_branch("dssr", "main");
    let client = Client::new(&emulator);
    let got = client
        .call("POST", "/apps/dssr/branches/main/deployments", Some("{}"))
        .await;
    assert_eq!(got.status, 400);
    assert_eq!(got.error_type.as_deref(), Some("BadRequestException"));
    assert!(got.message().contains("WEB_COMPUTE"), "{got:?}");
}

#[tokio::test]
async fn branches_are_limited_to_fifty_per_app() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let got = client
        .call(
            "POST",
            "/apps/d1/branches",
            Some(r#"{"branchName":"main"}"#),
        )
        .await;
    assert_eq!(got.status, 400, "duplicate: {got:?}");
    for n in 3..=50 {
        let got = client
            .call(
                "POST",
                "/apps/d1/branches",
                Some(&format!("{{\"branchName\":\"b{n}\"}}")),
            )
            .await;
        assert_eq!(got.status, 200, "{got:?}");
    }
    assert_eq!(emulator.branches("d1").len(), 50);
    let got = client
        .call(
            "POST",
            "/apps/d1/branches",
            Some(r#"{"branchName":"one-too-many"}"#),
        )
        .await;
    assert_eq!(got.status, 429);
    assert_eq!(got.error_type.as_deref(), Some("LimitExceededException"));
    assert!(got.message().contains("50"), "{got:?}");

    let deleted = client.call("DELETE", "/apps/d1/branches/b50", None).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["branch"]["branchName"], "b50");
    let got = client
        .call(
            "POST",
            "/apps/d1/branches",
            Some(r#"{"branchName":"one-too-many"}"#),
        )
        .await;
    assert_eq!(got.status, 200);
}

#[tokio::test]
async fn list_jobs_pages_newest_first() {
    let emulator = emulator().await;
    for _ in 0..5 {
        emulator.insert_job("d1", "main", "SUCCEED");
    }
    let client = Client::new(&emulator);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &token {
            Some(t) => format!("?maxResults=2&nextToken={t}"),
            None => "?maxResults=2".to_owned(),
        };
        let got = client
            .call("GET", &format!("/apps/d1/branches/main/jobs{query}"), None)
            .await;
        assert_eq!(got.status, 200, "{got:?}");
        pages += 1;
        for summary in got.body["jobSummaries"].as_array().expect("summaries") {
            seen.push(summary["jobId"].as_str().expect("jobId").to_owned());
        }
        match got.body["nextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["5", "4", "3", "2", "1"]);
    let got = client
        .call("GET", "/apps/d1/branches/main/jobs?maxResults=51", None)
        .await;
    assert_eq!(got.status, 400);
    let got = client
        .call("GET", "/apps/d1/branches/main/jobs?nextToken=garbage", None)
        .await;
    assert_eq!(got.status, 400);
}

#[tokio::test]
async fn list_branches_pages_in_creation_order_with_tags_and_basic_auth() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let got = client
        .call(
            "POST",
            "/apps/d1/branches",
            Some(r#"{"branchName":"pr-1","stage":"PULL_REQUEST","tags":{"k":"v"},"enableBasicAuth":true,"basicAuthCredentials":"dTpw"}"#),
        )
        .await;
    assert_eq!(got.status, 200, "{got:?}");
    for n in 2..=4 {
        emulator.create_branch("d1", &format!("b{n}"));
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &token {
            Some(t) => format!("?maxResults=2&nextToken={t}"),
            None => "?maxResults=2".to_owned(),
        };
        let got = client
            .call("GET", &format!("/apps/d1/branches{query}"), None)
            .await;
        assert_eq!(got.status, 200, "{got:?}");
        pages += 1;
        for b in got.body["branches"].as_array().expect("branches") {
            seen.push(b["branchName"].as_str().expect("name").to_owned());
            if b["branchName"] == "pr-1" {
                assert_eq!(b["tags"]["k"], "v");
                assert_eq!(b["stage"], "PULL_REQUEST");
                assert_eq!(b["enableBasicAuth"], true);
            }
        }
        match got.body["nextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["main", "feature/x", "pr-1", "b2", "b3", "b4"]);
    let got = client.call("GET", "/apps/d9/branches", None).await;
    assert_eq!(got.status, 404);
}

#[tokio::test]
async fn requests_are_logged_with_operation_and_status() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    client
        .call(
            "GET",
            "/apps/d1/branches/feature%2Fx/jobs?maxResults=1",
            None,
        )
        .await;
    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    let record = &requests[0];
    assert_eq!(record.operation, "ListJobs");
    assert_eq!(record.method, "GET");
    assert_eq!(record.path, "/apps/d1/branches/feature%2Fx/jobs");
    assert_eq!(record.status, 200);
    assert!(record
        .headers
        .iter()
        .any(|(n, v)| n == "authorization"
            && v.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")));
}
