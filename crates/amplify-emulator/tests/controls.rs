//! Amplify's own controls over a branch's deployments: DeleteJob, and skew
//! protection (`enableSkewProtection`, the pinned deployments it serves,
//! and the scripted refusal of it).

use amplify_emulator::{Emulator, Fault, FaultAction};
use serde_json::Value;

use crate::support::{emulator, zip_of, Answer, Client};

/// Deploys a one-page site saying `text` to `main` and waits for SUCCEED.
async fn deploy_page(client: &Client, text: &str) -> String {
    let job = client
        .deploy("d1", "main", zip_of(&[("index.html", text.as_bytes())]))
        .await;
    let done = client.wait_job("d1", "main", &job).await;
    assert_eq!(done.body["job"]["summary"]["status"], "SUCCEED", "{done:?}");
    job
}

/// GET `/` of main's site with extra headers: (status, body, `set-cookie`).
async fn home(emulator: &Emulator, headers: &[(&str, &str)]) -> (u16, String, Option<String>) {
    let mut request = reqwest::Client::new().get(emulator.site_url("d1", "main"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("site answers");
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default(), cookie)
}

async fn delete_job(client: &Client, job: &str) -> Answer {
    client
        .call(
            "DELETE",
            &format!("/apps/d1/branches/main/jobs/{job}"),
            None,
        )
        .await
}

async fn job_ids(client: &Client) -> Vec<String> {
    let listed = client
        .call("GET", "/apps/d1/branches/main/jobs", None)
        .await;
    listed.body["jobSummaries"]
        .as_array()
        .expect("jobSummaries")
        .iter()
        .map(|j| j["jobId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn update_branch(client: &Client, body: &str) -> Answer {
    client
        .call("POST", "/apps/d1/branches/main", Some(body))
        .await
}

#[tokio::test]
async fn delete_job_answers_the_summary_and_the_job_is_gone_everywhere() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    for text in ["one", "two", "three"] {
        deploy_page(&client, text).await;
    }
    let deleted = delete_job(&client, "1").await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    let summary = &deleted.body["jobSummary"];
    assert_eq!(summary["jobId"], "1");
    assert_eq!(summary["status"], "SUCCEED");
    assert_eq!(
        summary["jobArn"],
        "arn:aws:amplify:us-east-1:123456789012:apps/d1/branches/main/jobs/1"
    );
    assert_eq!(job_ids(&client).await, ["3", "2"]);
    let got = client
        .call("GET", "/apps/d1/branches/main/jobs/1", None)
        .await;
    assert_eq!(got.status, 404);
    assert_eq!(got.error_type.as_deref(), Some("NotFoundException"));
    // Twice: not found, like any unknown job.
    let again = delete_job(&client, "1").await;
    assert_eq!(again.status, 404, "{again:?}");
    assert_eq!(again.error_type.as_deref(), Some("NotFoundException"));
    // The live job is untouched and numbering goes on.
    assert_eq!(home(&emulator, &[]).await.1, "three");
    assert_eq!(deploy_page(&client, "four").await, "4");
    let branch = client.call("GET", "/apps/d1/branches/main", None).await;
    assert_eq!(branch.body["branch"]["activeJobId"], "4");
    assert_eq!(branch.body["branch"]["totalNumberOfJobs"], "3");
}

#[tokio::test]
async fn an_unfinished_job_cannot_be_deleted_until_it_is_stopped() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let pending = emulator.insert_job("d1", "main", "PENDING");
    let refused = delete_job(&client, &pending).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.error_type.as_deref(), Some("BadRequestException"));
    assert_eq!(
        refused.message(),
        "Job 1 is not finished (status PENDING); stop it with StopJob before deleting it."
    );
    assert_eq!(emulator.jobs("d1", "main").len(), 1);
    let stopped = client
        .call("DELETE", "/apps/d1/branches/main/jobs/1/stop", None)
        .await;
    assert_eq!(stopped.status, 200, "{stopped:?}");
    let deleted = delete_job(&client, "1").await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(deleted.body["jobSummary"]["status"], "CANCELLED");
    assert!(emulator.jobs("d1", "main").is_empty());
}

#[tokio::test]
async fn deleting_the_live_job_leaves_the_branch_serving_nothing() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    deploy_page(&client, "old").await;
    deploy_page(&client, "live").await;
    let deleted = delete_job(&client, "2").await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    // No older job takes its place.
    let (status, body, _) = home(&emulator, &[]).await;
    assert_eq!(
        (status, body.as_str()),
        (404, "nothing deployed to main: its live job was deleted\n")
    );
    assert_eq!(emulator.deployed_files("d1", "main"), None);
    let branch = client.call("GET", "/apps/d1/branches/main", None).await;
    assert_eq!(branch.body["branch"]["activeJobId"], "");
    // The next deployment is live.
    deploy_page(&client, "new").await;
    assert_eq!(home(&emulator, &[]).await.1, "new");
}

#[tokio::test]
async fn skew_protection_is_set_on_create_and_update_and_read_back() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let branch_of = |answer: &Answer| answer.body["branch"]["enableSkewProtection"].clone();
    let created = client
        .call(
            "POST",
            "/apps/d1/branches",
            Some(r#"{"branchName":"pinned","enableSkewProtection":true}"#),
        )
        .await;
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(branch_of(&created), Value::Bool(true));
    assert!(emulator.skew_protection("d1", "pinned"));

    let main = client.call("GET", "/apps/d1/branches/main", None).await;
    assert_eq!(branch_of(&main), Value::Bool(false));
    let on = update_branch(&client, r#"{"enableSkewProtection":true}"#).await;
    assert_eq!(branch_of(&on), Value::Bool(true));
    // A member left out leaves it alone.
    let other = update_branch(&client, r#"{"stage":"BETA"}"#).await;
    assert_eq!(branch_of(&other), Value::Bool(true));
    let listed = client.call("GET", "/apps/d1/branches", None).await;
    let flags: Vec<(&str, bool)> = listed.body["branches"]
        .as_array()
        .expect("branches")
        .iter()
        .map(|b| {
            (
                b["branchName"].as_str().unwrap_or_default(),
                b["enableSkewProtection"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [("main", true), ("feature/x", false), ("pinned", true)]
    );
    let off = update_branch(&client, r#"{"enableSkewProtection":false}"#).await;
    assert_eq!(branch_of(&off), Value::Bool(false));
    let bad = update_branch(&client, r#"{"enableSkewProtection":"yes"}"#).await;
    assert_eq!(bad.error_type.as_deref(), Some("SerializationException"));
}

#[tokio::test]
async fn pinned_clients_get_their_deployment_until_it_is_deleted() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    // Deployed before protection: never pinned.
    deploy_page(&client, "unprotected").await;
    update_branch(&client, r#"{"enableSkewProtection":true}"#).await;
    let first = deploy_page(&client, "first").await;
    let (_, body, cookie) = home(&emulator, &[]).await;
    assert_eq!(body, "first");
    assert_eq!(cookie.as_deref(), Some("_dpl=2; Path=/"));
    deploy_page(&client, "second").await;
    // Header, query parameter and cookie each pin the client.
    let header = [("x-amplify-dpl", first.as_str())];
    assert_eq!(home(&emulator, &header).await.1, "first");
    let cookie = [("cookie", "theme=dark; _dpl=2")];
    assert_eq!(home(&emulator, &cookie).await.1, "first");
    let url = format!("{}?dpl=2", emulator.site_url("d1", "main"));
    let by_query = reqwest::get(url).await.expect("site").text().await;
    assert_eq!(by_query.expect("body"), "first");
    // The header wins over the cookie.
    let both = [("x-amplify-dpl", "3"), ("cookie", "_dpl=2")];
    assert_eq!(home(&emulator, &both).await.1, "second");
    // The unprotected one, or no such deployment: the live site.
    assert_eq!(home(&emulator, &[("x-amplify-dpl", "1")]).await.1, "second");
    assert_eq!(
        home(&emulator, &[("x-amplify-dpl", "99")]).await.1,
        "second"
    );

    let deleted = delete_job(&client, &first).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(home(&emulator, &header).await.1, "second");
    assert_eq!(home(&emulator, &cookie).await.1, "second");
    // Protection off: nobody is pinned any more.
    update_branch(&client, r#"{"enableSkewProtection":false}"#).await;
    let (_, body, cookie) = home(&emulator, &[("x-amplify-dpl", "3")]).await;
    assert_eq!((body.as_str(), cookie), ("second", None));
}

#[tokio::test]
async fn a_scripted_refusal_waits_for_a_request_that_turns_protection_on() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    emulator.push_fault(Fault::new(
        None,
        FaultAction::RefuseSkewProtection { message: None },
    ));
    // A branch write that does not ask for it is not refused.
    let plain = update_branch(&client, r#"{"stage":"BETA"}"#).await;
    assert_eq!(plain.status, 200, "{plain:?}");
    let created = client
        .call(
            "POST",
            "/apps/d1/branches",
            Some(r#"{"branchName":"new","enableSkewProtection":true}"#),
        )
        .await;
    assert_eq!(created.status, 400, "{created:?}");
    assert_eq!(created.error_type.as_deref(), Some("BadRequestException"));
    assert_eq!(
        created.message(),
        "Skew protection can be enabled only on an app that has already been deployed."
    );
    // Refused means nothing was done.
    assert!(!emulator.branches("d1").contains(&"new".to_owned()));
    let log = emulator.requests();
    let last = log.last().expect("logged");
    assert_eq!(
        (last.operation.as_str(), last.fault.as_deref()),
        ("CreateBranch", Some("refuse_skew_protection"))
    );
    // Used up: the next request is performed.
    let on = update_branch(&client, r#"{"enableSkewProtection":true}"#).await;
    assert_eq!(on.status, 200, "{on:?}");

    emulator.push_fault(Fault::new(
        Some("UpdateBranch"),
        FaultAction::RefuseSkewProtection {
            message: Some("Not now.".into()),
        },
    ));
    let refused = client
        .call(
            "POST",
            "/apps/d1/branches/feature%2Fx",
            Some(r#"{"enableSkewProtection":true}"#),
        )
        .await;
    assert_eq!((refused.status, refused.message()), (400, "Not now."));
    assert!(!emulator.skew_protection("d1", "feature/x"));
}
