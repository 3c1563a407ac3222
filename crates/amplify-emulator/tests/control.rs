//! The `/__emulator` control endpoint and `sourceUrl` deployments.

use serde_json::Value;

use crate::support::{emulator, site_zip, zip_of, Client};

async fn post(endpoint: &str, path: &str, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/__emulator/{path}"))
        .body(body.to_owned())
        .send()
        .await
        .expect("control request");
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(Value::Null);
    (status, json)
}

#[tokio::test]
async fn control_endpoint_sets_up_apps_faults_and_config() {
    let emulator = emulator().await;
    let endpoint = emulator.endpoint();
    let (status, _) = post(
        &endpoint,
        "apps",
        r#"{"appId":"d2","platform":"WEB","branches":["main","release/1"]}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(emulator.branches("d2"), ["main", "release/1"]);
    let (status, _) = post(
        &endpoint,
        "branches",
        r#"{"appId":"d2","branchName":"dev"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(emulator.branches("d2").len(), 3);

    let (status, _) = post(
        &endpoint,
        "faults",
        r#"{"operation":"GetApp","times":1,"action":{"type":"status","status":500}}"#,
    )
    .await;
    assert_eq!(status, 200);
    let client = Client::new(&emulator);
    assert_eq!(client.call("GET", "/apps/d2", None).await.status, 500);
    assert_eq!(client.call("GET", "/apps/d2", None).await.status, 200);

    let (status, config) = post(
        &endpoint,
        "config",
        r#"{"jobDurationMs":5,"uploadUrlTtlSecs":60}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(config["jobDurationMs"], 5);
    let created = client
        .call("POST", "/apps/d2/branches/dev/deployments", Some("{}"))
        .await;
    assert!(created.body["zipUploadUrl"]
        .as_str()
        .unwrap_or_default()
        .contains("X-Amz-Expires=60"));

    let (status, _) = post(&endpoint, "faults", "{not json").await;
    assert_eq!(status, 400);

    let state: Value = reqwest::get(format!("{endpoint}/__emulator/state"))
        .await
        .expect("state")
        .json()
        .await
        .expect("state json");
    let apps = state["apps"].as_array().expect("apps");
    assert!(apps.iter().any(|a| a["appId"] == "d2"));
    let requests = state["requests"].as_array().expect("requests");
    assert!(requests
        .iter()
        .any(|r| r["operation"] == "GetApp" && r["fault"] == "status"));
    assert!(requests.iter().any(|r| r["operation"] == "Control"));
}

#[tokio::test]
async fn local_source_url_is_fetched_and_checked() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    // The first deploy publishes a zip; the second deploys it by URL.
    let inner = zip_of(&[("index.html", b"<h1>from url</h1>")]);
    let outer = zip_of(&[("index.html", b"x"), ("bundle.zip", &inner)]);
    let job = client.deploy("d1", "main", outer).await;
    client.wait_job("d1", "main", &job).await;
    let url = format!("{}bundle.zip", emulator.site_url("d1", "main"));

    let started = client
        .call(
            "POST",
            "/apps/d1/branches/feature%2Fx/deployments/start",
            Some(&format!("{{\"sourceUrl\":\"{url}\"}}")),
        )
        .await;
    assert_eq!(started.status, 200, "{started:?}");
    let job = started.body["jobSummary"]["jobId"]
        .as_str()
        .expect("jobId")
        .to_owned();
    let ended = client.wait_job("d1", "feature%2Fx", &job).await;
    assert_eq!(ended.body["job"]["summary"]["status"], "SUCCEED");
    let files = emulator
        .deployed_files("d1", "feature/x")
        .expect("deployed");
    assert_eq!(files["index.html"], b"<h1>from url</h1>");

    let missing = format!("{}missing.zip", emulator.site_url("d1", "main"));
    let started = client
        .call(
            "POST",
            "/apps/d1/branches/feature%2Fx/deployments/start",
            Some(&format!("{{\"sourceUrl\":\"{missing}\"}}")),
        )
        .await;
    let job = started.body["jobSummary"]["jobId"]
        .as_str()
        .expect("jobId")
        .to_owned();
    client.wait_job("d1", "feature%2Fx", &job).await;
    let record = emulator.jobs("d1", "feature/x").pop().expect("job");
    assert_eq!(record.status, "FAILED");
    assert!(
        record
            .status_reason
            .as_deref()
            .unwrap_or_default()
            .contains("HTTP 404"),
        "{record:?}"
    );
    let _ = site_zip;
}
