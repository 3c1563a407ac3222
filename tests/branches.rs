//! The branch and job commands: delete-branch, status, stop.

use crate::support::*;

fn branch_cmd(emu: &Emulator, sub: &str, branch: &str) -> std::process::Command {
    let mut c = cmd(emu);
    c.args([sub, "--app-id", APP, "--branch", branch]);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_branch_stops_the_unfinished_job_first() {
    let emu = emulator().await;
    emu.create_branch(APP, "feature/x");
    emu.insert_job(APP, "feature/x", "SUCCEED");
    let pending = emu.insert_job(APP, "feature/x", "PENDING");
    let r = run(&mut branch_cmd(&emu, "delete-branch", "feature/x")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("stopping job {pending} (PENDING)")),
        "{r:?}"
    );
    assert!(r.stderr.contains("deleted branch feature/x"), "{r:?}");
    let ops: Vec<String> = operations(&emu)
        .into_iter()
        .filter(|o| o == "StopJob" || o == "DeleteBranch")
        .collect();
    assert_eq!(ops, ["StopJob", "DeleteBranch"]);
    // Only the unfinished job was stopped, under its encoded branch path.
    let stop = emu
        .requests()
        .into_iter()
        .find(|q| q.operation == "StopJob")
        .unwrap();
    assert!(
        stop.path.contains("feature%2Fx") && stop.path.contains(&format!("/jobs/{pending}/")),
        "{stop:?}"
    );
    assert_eq!(emu.branches(APP), ["main"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_missing_branch() {
    let emu = emulator().await;
    let r = run(&mut branch_cmd(&emu, "delete-branch", "nope")).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("no branch \"nope\" in Amplify app d1test"),
        "{r:?}"
    );
    assert!(r.stderr.contains("--if-exists"), "{r:?}");

    let r = run(branch_cmd(&emu, "delete-branch", "nope").arg("--if-exists")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("does not exist"), "{r:?}");
    assert_eq!(count(&emu, "DeleteBranch"), 0);

    // A missing app is not "already deleted".
    let mut c = cmd(&emu);
    c.args([
        "delete-branch",
        "--app-id",
        "d9none",
        "--branch",
        "main",
        "--if-exists",
    ]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("d9none"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_job_and_its_steps() {
    let emu = emulator().await;
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");

    // Newest job by default.
    let r = run(&mut branch_cmd(&emu, "status", "main")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with("job 1 on d1test/main: SUCCEED\n"),
        "{r:?}"
    );
    assert!(r.stdout.contains("  step "), "{r:?}");

    let r = run(branch_cmd(&emu, "status", "main").args(["--job-id", "1", "--json"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["jobId"], "1");
    assert_eq!(v["status"], "SUCCEED");
    assert_eq!(v["appId"], APP);
    assert!(!v["steps"].as_array().unwrap().is_empty());

    let r = run(branch_cmd(&emu, "status", "main").args(["--job-id", "99"])).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("job not found"), "{r:?}");

    let r = run(branch_cmd(&emu, "status", "main").args(["--job-id", "x;y"])).await;
    assert_eq!(r.code, 2, "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_cancels_a_job_and_refuses_a_finished_one() {
    let emu = emulator().await;
    let id = emu.insert_job(APP, "main", "PENDING");
    let r = run(branch_cmd(&emu, "stop", "main").args(["--job-id", &id])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains(&format!("stopped job {id}")), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["CANCELLED"]);

    let r = run(branch_cmd(&emu, "stop", "main").args(["--job-id", &id])).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("cannot be stopped"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_branch_skew_protection() {
    let emu = emulator().await;
    emu.insert_job(APP, "main", "SUCCEED");
    emu.set_skew_protection(APP, "main", true);
    let r = run(&mut branch_cmd(&emu, "status", "main")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.ends_with("skew protection: on\n"), "{r:?}");
    let r = run(branch_cmd(&emu, "status", "main").arg("--json")).await;
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["skewProtection"], true);
    emu.set_skew_protection(APP, "main", false);
    let r = run(&mut branch_cmd(&emu, "status", "main")).await;
    assert!(r.stdout.ends_with("skew protection: off\n"), "{r:?}");
}
