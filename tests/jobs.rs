//! `delete-job`: one deployment deleted (DeleteJob) after the run has read
//! the branch and decided; the live job, an unfinished one, a missing one
//! and a job id from the environment are refused before anything changes.

use crate::support::*;

fn delete_job(emu: &Emulator, branch: &str, extra: &[&str]) -> std::process::Command {
    let mut c = cmd(emu);
    c.args(["delete-job", "--app-id", APP, "--branch", branch])
        .args(extra);
    c
}

/// Deploys a one-page site saying `text` to `branch` with the binary.
async fn deploy_text(emu: &Emulator, branch: &str, text: &str) {
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "index.html", text.as_bytes());
    let mut c = cmd(emu);
    c.args(["deploy", "--app-id", APP, "--branch", branch, "--path"])
        .arg(site.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
}

/// The branch's home page for a client pinned to `deployment` by skew
/// protection (`X-Amplify-Dpl`), or not pinned.
async fn home(emu: &Emulator, branch: &str, deployment: Option<&str>) -> String {
    let mut request = reqwest::Client::new().get(emu.site_url(APP, branch));
    if let Some(id) = deployment {
        request = request.header("x-amplify-dpl", id);
    }
    let response = request.send().await.expect("site answers");
    response.text().await.expect("body")
}

fn job_ids(emu: &Emulator, branch: &str) -> Vec<String> {
    emu.jobs(APP, branch)
        .into_iter()
        .map(|j| j.job_id)
        .collect()
}

/// The job ids `history` lists, newest first.
async fn history_ids(emu: &Emulator, branch: &str) -> Vec<String> {
    let mut c = cmd(emu);
    c.args(["history", "--app-id", APP, "--branch", branch, "--json"]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    v["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["jobId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_job_is_no_longer_served_or_listed() {
    let emu = emulator().await;
    // Under skew protection a pinned client is still served old jobs:
    // what DeleteJob is for.
    emu.set_skew_protection(APP, "release/1", true);
    for text in ["leaked", "fixed", "current"] {
        deploy_text(&emu, "release/1", text).await;
    }
    assert_eq!(home(&emu, "release/1", Some("1")).await, "leaked");
    assert_eq!(history_ids(&emu, "release/1").await, ["3", "2", "1"]);

    let r = run(&mut delete_job(&emu, "release/1", &["--job-id", "1"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("deleted job 1 (SUCCEED, ended ")
            && r.stderr
                .contains(") of d1test/release/1: it is no longer served or listed"),
        "{r:?}"
    );
    assert_eq!(home(&emu, "release/1", Some("1")).await, "current");
    assert_eq!(home(&emu, "release/1", Some("2")).await, "fixed");
    assert_eq!(history_ids(&emu, "release/1").await, ["3", "2"]);
    // The DELETE went to the encoded branch, after the reads.
    let delete = emu
        .requests()
        .into_iter()
        .find(|q| q.operation == "DeleteJob")
        .expect("DeleteJob sent");
    assert_eq!(delete.path, "/apps/d1test/branches/release%2F1/jobs/1");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_job_and_an_unfinished_one_are_refused_naming_the_job() {
    let emu = emulator().await;
    deploy_text(&emu, "main", "one").await;
    deploy_text(&emu, "main", "two").await;
    let r = run(&mut delete_job(&emu, "main", &["--job-id", "2"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("error: job 2 is the live job of d1test/main: deploy or roll back first"),
        "{r:?}"
    );
    // Another tool's deploy still running: stop it first.
    let running = emu.insert_job(APP, "main", "RUNNING");
    let r = run(&mut delete_job(&emu, "main", &["--job-id", &running])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "error: job {running} on d1test/main is RUNNING: stop it first"
        )),
        "{r:?}"
    );
    assert!(
        r.stderr.contains(&format!(
            "amplify-deploy stop --app-id d1test --branch main --job-id {running}"
        )),
        "{r:?}"
    );
    assert_eq!(count(&emu, "DeleteJob"), 0);
    assert_eq!(job_ids(&emu, "main"), ["1", "2", &running]);
    assert_eq!(home(&emu, "main", None).await, "two");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_job_is_not_found_and_a_dry_run_deletes_nothing() {
    let emu = emulator().await;
    deploy_text(&emu, "main", "old").await;
    deploy_text(&emu, "main", "new").await;
    let r = run(&mut delete_job(&emu, "main", &["--job-id", "99"])).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("error: no job 99 on branch main of app d1test (us-east-1)"),
        "{r:?}"
    );
    let r = run(&mut delete_job(&emu, "gone", &["--job-id", "1"])).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("no branch \"gone\""), "{r:?}");

    let r = run(&mut delete_job(
        &emu,
        "main",
        &["--job-id", "1", "--dry-run"],
    ))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("dry run: would delete job 1 (SUCCEED, ended ")
            && r.stderr.contains("nothing was deleted"),
        "{r:?}"
    );
    assert_eq!(count(&emu, "DeleteJob"), 0);
    assert_eq!(job_ids(&emu, "main"), ["1", "2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_job_id_comes_from_the_command_line_only() {
    let emu = emulator().await;
    deploy_text(&emu, "main", "old").await;
    deploy_text(&emu, "main", "new").await;
    // A dotenv report of the last deploy sets AMPLIFY_JOB_ID (the live
    // job); GitHub would pass an input as INPUT_JOB-ID.
    let before = emu.requests().len();
    let mut c = delete_job(&emu, "main", &[]);
    c.env("AMPLIFY_JOB_ID", "1").env("INPUT_JOB-ID", "1");
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--job-id"), "{r:?}");
    assert_eq!(emu.requests().len(), before, "nothing was sent");
    // Given on the command line, that one is deleted, whatever the variable says.
    let mut c = delete_job(&emu, "main", &["--job-id", "1"]);
    c.env("AMPLIFY_JOB_ID", "2");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_ids(&emu, "main"), ["2"]);

    let r = run(&mut delete_job(&emu, "main", &["--job-id", "1;rm"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("is not an Amplify job id"), "{r:?}");
}
