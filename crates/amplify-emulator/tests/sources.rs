//! Jobs started from a `sourceUrl`: `s3://` zips and bucket prefixes read
//! from the configured S3 endpoint, their failures, and which job is live
//! (the newest SUCCEED one) and served.
//!
//! The S3 endpoint here is a few lines of canned answers (objects, a 403
//! key, S3's XML errors): the emulator's side only. The end-to-end tests of
//! `amplify-deploy` run the same path against a moto server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use amplify_emulator::{Config, Fault, FaultAction};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{emulator, emulator_with, site_zip, zip_of, Client};

/// Serves `objects` (by `/bucket/key` path) on 127.0.0.1 as unsigned
/// path-style S3 GETs; a path ending `denied` answers 403 AccessDenied,
/// anything else 404 NoSuchKey. `?list-type=2` lists every key. Returns
/// the endpoint.
async fn fake_s3(objects: BTreeMap<String, Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let objects = Arc::new(objects);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let objects = objects.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request).into_owned();
                let target = line.split(' ').nth(1).unwrap_or("/").to_owned();
                let (status, body) = answer(&objects, &target);
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    endpoint
}

fn answer(objects: &BTreeMap<String, Vec<u8>>, target: &str) -> (u16, Vec<u8>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.replace("%20", " ");
    if query.contains("list-type=2") {
        let bucket = path.trim_start_matches('/');
        let keys: String = objects
            .keys()
            .filter_map(|k| k.strip_prefix(&format!("/{bucket}/")))
            .map(|k| format!("<Contents><Key>{k}</Key></Contents>"))
            .collect();
        let xml =
            format!("<ListBucketResult><IsTruncated>false</IsTruncated>{keys}</ListBucketResult>");
        return (200, xml.into_bytes());
    }
    if path.ends_with("denied") {
        return (
            403,
            b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>".to_vec(),
        );
    }
    match objects.get(&path) {
        Some(body) => (200, body.clone()),
        None => (
            404,
            b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
                .to_vec(),
        ),
    }
}

async fn emulator_reading(s3: &str) -> amplify_emulator::Emulator {
    emulator_with(Config {
        job_duration: Duration::from_millis(50),
        s3_endpoint: Some(s3.to_owned()),
        ..Config::default()
    })
    .await
}

/// StartDeployment from `url`; the job's final GetJob `job`.
async fn deploy_url(client: &Client, url: &str, kind: &str) -> Value {
    let body = serde_json::json!({ "sourceUrl": url, "sourceUrlType": kind }).to_string();
    let started = client
        .call(
            "POST",
            "/apps/d1/branches/main/deployments/start",
            Some(&body),
        )
        .await;
    assert_eq!(started.status, 200, "{started:?}");
    let job_id = started.body["jobSummary"]["jobId"]
        .as_str()
        .expect("jobId")
        .to_owned();
    client.wait_job("d1", "main", &job_id).await.body["job"].clone()
}

async fn served(emulator: &amplify_emulator::Emulator, file: &str) -> (u16, String) {
    let url = format!("{}{file}", emulator.site_url("d1", "main"));
    let got = reqwest::get(url).await.expect("site answers");
    (got.status().as_u16(), got.text().await.expect("body"))
}

#[tokio::test]
async fn an_s3_zip_is_read_from_the_endpoint_and_served() {
    let zip = zip_of(&[("index.html", b"<h1>from s3</h1>")]);
    let s3 = fake_s3(BTreeMap::from([(
        "/artifacts/site/ab 12.zip".to_owned(),
        zip,
    )]))
    .await;
    let emulator = emulator_reading(&s3).await;
    let client = Client::new(&emulator);
    let job = deploy_url(&client, "s3://artifacts/site/ab 12.zip", "ZIP").await;
    assert_eq!(job["summary"]["status"], "SUCCEED", "{job}");
    assert_eq!(
        served(&emulator, "").await,
        (200, "<h1>from s3</h1>".into())
    );

    // ListJobs remembers where each job came from.
    let list = client
        .call("GET", "/apps/d1/branches/main/jobs", None)
        .await;
    let summary = &list.body["jobSummaries"][0];
    assert_eq!(summary["sourceUrl"], "s3://artifacts/site/ab 12.zip");
    assert_eq!(summary["sourceUrlType"], "ZIP");
}

#[tokio::test]
async fn a_bucket_prefix_deploys_the_files_under_it() {
    let s3 = fake_s3(BTreeMap::from([
        ("/b/site/index.html".to_owned(), b"<h1>prefix</h1>".to_vec()),
        ("/b/site/css/a.css".to_owned(), b"p{}".to_vec()),
        ("/b/other/index.html".to_owned(), b"not this".to_vec()),
    ]))
    .await;
    let emulator = emulator_reading(&s3).await;
    let client = Client::new(&emulator);
    let job = deploy_url(&client, "s3://b/site", "BUCKET_PREFIX").await;
    assert_eq!(job["summary"]["status"], "SUCCEED", "{job}");
    let files = emulator.deployed_files("d1", "main").expect("deployed");
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["css/a.css", "index.html"]
    );
    assert_eq!(served(&emulator, "").await, (200, "<h1>prefix</h1>".into()));
}

#[tokio::test]
async fn a_missing_or_denied_artifact_fails_the_job_and_names_it() {
    let s3 = fake_s3(BTreeMap::new()).await;
    let emulator = emulator_reading(&s3).await;
    let client = Client::new(&emulator);

    let job = deploy_url(&client, "s3://b/gone.zip", "ZIP").await;
    assert_eq!(job["summary"]["status"], "FAILED");
    assert_eq!(
        job["steps"][0]["statusReason"],
        "Unable to download the artifact s3://b/gone.zip: it does not exist (NoSuchKey: The specified key does not exist.)."
    );

    let job = deploy_url(&client, "s3://b/denied", "ZIP").await;
    assert_eq!(job["summary"]["status"], "FAILED");
    let reason = job["steps"][0]["statusReason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("Access denied to the artifact s3://b/denied (AccessDenied: Access Denied): the bucket policy must let amplify.amazonaws.com"),
        "{reason}"
    );

    // A presigned HTTP URL on this machine is fetched too.
    let job = deploy_url(
        &client,
        &format!("{s3}/b/gone.zip?X-Amz-Signature=x"),
        "ZIP",
    )
    .await;
    assert_eq!(job["summary"]["status"], "FAILED");
    let reason = job["steps"][0]["statusReason"].as_str().unwrap_or_default();
    assert!(reason.ends_with("HTTP 404 NoSuchKey"), "{reason}");
    assert_eq!(emulator.deployed_files("d1", "main"), None);
}

#[tokio::test]
async fn the_site_serves_the_newest_succeed_job() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let first = client.deploy("d1", "main", site_zip()).await;
    client.wait_job("d1", "main", &first).await;
    assert_eq!(served(&emulator, "").await, (200, "<h1>home</h1>".into()));

    // A newer FAILED job leaves the older SUCCEED one live and served.
    emulator.push_fault(Fault::new(
        None,
        FaultAction::FailJob {
            reason: "injected".into(),
        },
    ));
    let failed = client
        .deploy("d1", "main", zip_of(&[("index.html", b"broken")]))
        .await;
    client.wait_job("d1", "main", &failed).await;
    let branch = client.call("GET", "/apps/d1/branches/main", None).await;
    assert_eq!(branch.body["branch"]["activeJobId"], first.as_str());
    assert_eq!(served(&emulator, "").await, (200, "<h1>home</h1>".into()));

    // A SUCCEED job the emulator could not read is live: the older
    // content is no longer what the branch serves.
    let job = deploy_url(
        &client,
        "https://example.com/site.zip?X-Amz-Signature=s",
        "ZIP",
    )
    .await;
    assert_eq!(job["summary"]["status"], "SUCCEED");
    let (status, body) = served(&emulator, "").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body,
        "live job 3 deployed from https://example.com/site.zip, which the emulator did not fetch\n"
    );
    assert_eq!(emulator.deployed_files("d1", "main"), None);
}
