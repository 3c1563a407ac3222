//! Each fault action, observed from the client side.

use amplify_emulator::{Fault, FaultAction};

use crate::support::{emulator, site_zip, Client};

#[tokio::test]
async fn status_fault_answers_an_amplify_error_without_acting() {
    let emulator = emulator().await;
    emulator.push_fault(
        Fault::new(
            Some("CreateDeployment"),
            FaultAction::Status {
                status: 503,
                error_type: Some("DependentServiceFailureException".into()),
                message: Some("try later".into()),
            },
        )
        .times(2),
    );
    let client = Client::new(&emulator);
    for _ in 0..2 {
        let got = client
            .call("POST", "/apps/d1/branches/main/deployments", Some("{}"))
            .await;
        assert_eq!(got.status, 503);
        assert_eq!(
            got.error_type.as_deref(),
            Some("DependentServiceFailureException")
        );
        assert_eq!(got.message(), "try later");
    }
    assert!(emulator.jobs("d1", "main").is_empty());
    let got = client
        .call("POST", "/apps/d1/branches/main/deployments", Some("{}"))
        .await;
    assert_eq!(got.status, 200);
    let faults: Vec<_> = emulator
        .requests()
        .iter()
        .map(|r| r.fault.clone())
        .collect();
    assert_eq!(
        faults,
        [Some("status".to_owned()), Some("status".to_owned()), None]
    );
}

#[tokio::test]
async fn raw_fault_answers_the_given_body() {
    let emulator = emulator().await;
    emulator.push_fault(Fault::new(
        None,
        FaultAction::Raw {
            status: 502,
            content_type: "text/html".into(),
            body: "<html>Bad Gateway</html>".into(),
        },
    ));
    let client = Client::new(&emulator);
    let got = client.call("GET", "/apps/d1", None).await;
    assert_eq!(got.status, 502);
    assert_eq!(got.text, "<html>Bad Gateway</html>");
    assert_eq!(got.error_type, None);
}

#[tokio::test]
async fn delay_fault_slows_the_answer() {
    let emulator = emulator().await;
    emulator.push_fault(Fault::new(Some("GetApp"), FaultAction::Delay { ms: 300 }));
    let client = Client::new(&emulator);
    let started = std::time::Instant::now();
    let got = client.call("GET", "/apps/d1", None).await;
    assert_eq!(got.status, 200);
    assert!(started.elapsed().as_millis() >= 300);
}

#[tokio::test]
async fn drop_fault_closes_without_acting_and_drop_after_acts() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    emulator.push_fault(Fault::new(Some("CreateDeployment"), FaultAction::Drop));
    let url = format!("{}/apps/d1/branches/main/deployments", emulator.endpoint());
    // Unsigned is fine: the fault fires before the signature check.
    let sent = client.http.post(&url).body("{}").send().await;
    assert!(sent.is_err(), "{sent:?}");
    assert!(emulator.jobs("d1", "main").is_empty());

    emulator.push_fault(Fault::new(Some("CreateDeployment"), FaultAction::DropAfter));
    let lost = client
        .try_call("POST", "/apps/d1/branches/main/deployments", Some("{}"))
        .await;
    assert!(lost.is_err(), "the client saw no answer: {lost:?}");
    assert_eq!(emulator.jobs("d1", "main").len(), 1, "but the job exists");
    let statuses: Vec<_> = emulator
        .requests()
        .iter()
        .map(|r| (r.status, r.fault.clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (0, Some("drop".to_owned())),
            (0, Some("drop_after".to_owned()))
        ]
    );
}

#[tokio::test]
async fn cut_upload_closes_mid_body() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let created = client
        .call("POST", "/apps/d1/branches/main/deployments", Some("{}"))
        .await;
    let url = created.body["zipUploadUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    emulator.push_fault(Fault::new(
        Some("Upload"),
        FaultAction::CutUpload { after_bytes: 1024 },
    ));
    let body = vec![1u8; 4 * 1024 * 1024];
    let sent = client.http.put(&url).body(body.clone()).send().await;
    assert!(sent.is_err(), "{sent:?}");
    let record = emulator.requests().pop().expect("recorded");
    assert_eq!((record.operation.as_str(), record.status), ("Upload", 0));
    assert!(record.body_len >= 1024 && record.body_len < body.len() as u64);
    // The next attempt goes through.
    let put = client.put(&url, site_zip()).await;
    assert_eq!(put.status().as_u16(), 200);
}

#[tokio::test]
async fn fail_job_fault_fails_the_started_job() {
    let emulator = emulator().await;
    emulator.push_fault(Fault::new(
        None,
        FaultAction::FailJob {
            reason: "injected build failure".into(),
        },
    ));
    let client = Client::new(&emulator);
    let job = client.deploy("d1", "main", site_zip()).await;
    let got = client.wait_job("d1", "main", &job).await;
    assert_eq!(got.body["job"]["summary"]["status"], "FAILED");
    assert_eq!(
        got.body["job"]["steps"][0]["statusReason"],
        "injected build failure"
    );
    assert_eq!(emulator.deployed_files("d1", "main"), None);
}

#[tokio::test]
async fn a_failed_step_log_is_served_only_through_its_presigned_url() {
    let emulator = emulator().await;
    let log: String = (1..=50).map(|i| format!("build line {i}\n")).collect();
    emulator.push_fault(Fault::new(
        None,
        FaultAction::FailJobWithLog {
            reason: "npm run build exited 1".into(),
            log: format!("{log}::error::from the log\n"),
        },
    ));
    let client = Client::new(&emulator);
    let job = client.deploy("d1", "main", site_zip()).await;
    let got = client.wait_job("d1", "main", &job).await;
    let url = got.body["job"]["steps"][0]["logUrl"]
        .as_str()
        .expect("logUrl")
        .to_owned();
    assert!(
        url.starts_with(&format!(
            "{}/__logs/d1/main/{job}/DEPLOY?",
            emulator.endpoint()
        )),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains("X-Amz-Security-Token="), "{url}");

    let http = reqwest::Client::new();
    let full = http.get(&url).send().await.expect("log");
    assert_eq!(full.status().as_u16(), 200);
    let text = full.text().await.expect("body");
    assert!(text.starts_with("build line 1\n") && text.ends_with("::error::from the log\n"));

    let tail = http
        .get(&url)
        .header("range", "bytes=-22")
        .send()
        .await
        .expect("range");
    assert_eq!(tail.status().as_u16(), 206);
    assert_eq!(
        tail.headers()["content-range"],
        format!(
            "bytes {}-{}/{}",
            text.len() - 22,
            text.len() - 1,
            text.len()
        )
        .as_str()
    );
    assert_eq!(tail.text().await.expect("body"), "::error::from the log\n");

    // Without its query, or with another signature, the log is refused.
    let (bare, _) = url.split_once('?').expect("query");
    assert_eq!(
        http.get(bare).send().await.expect("bare").status().as_u16(),
        400
    );
    let forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_eq!(
        http.get(&forged)
            .send()
            .await
            .expect("forged")
            .status()
            .as_u16(),
        403
    );
}

#[tokio::test]
async fn delay_after_fault_acts_at_once_and_answers_late() {
    let emulator = emulator().await;
    emulator.push_fault(Fault::new(
        Some("CreateDeployment"),
        FaultAction::DelayAfter { ms: 800 },
    ));
    let client = Client::new(&emulator);
    let started = std::time::Instant::now();
    let call = client.call("POST", "/apps/d1/branches/main/deployments", Some("{}"));
    let watch = async {
        // The job is there while the answer is still held back.
        while emulator.jobs("d1", "main").is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        started.elapsed()
    };
    let (got, seen_after) = tokio::join!(call, watch);
    assert_eq!(got.status, 200, "{got:?}");
    assert!(seen_after.as_millis() < 700, "{seen_after:?}");
    assert!(started.elapsed().as_millis() >= 800);
}

/// Amplify's rule holds under concurrent requests: of eight simultaneous
/// CreateDeployments on one branch, one creates a job and seven are told
/// that job is not finished.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_create_deployments_make_one_job() {
    let emulator = emulator().await;
    let client = std::sync::Arc::new(Client::new(&emulator));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.spawn(async move {
            client
                .call("POST", "/apps/d1/branches/main/deployments", Some("{}"))
                .await
        });
    }
    let answers = tasks.join_all().await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(ok, 1, "{answers:?}");
    for refused in answers.iter().filter(|a| a.status != 200) {
        assert_eq!(refused.status, 400);
        assert!(
            refused
                .message()
                .starts_with("The last job(deployment) 1 was not finished"),
            "{refused:?}"
        );
    }
    assert_eq!(emulator.jobs("d1", "main").len(), 1);
}
