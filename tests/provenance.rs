//! Provenance on the branch (tags written after a deploy, shown by
//! `status`, trusted only while their job is live) and newest wins.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::support::*;

const OLD: &str = "2026-11-29T08:00:00Z";
const NEW: &str = "2026-11-29T09:00:00Z";

/// A deploy as GitLab runs it: commit, time, title and job URL from CI_*.
fn gitlab_deploy(
    emu: &Emulator,
    site: &Path,
    sha: &str,
    time: Option<&str>,
) -> std::process::Command {
    let mut c = deploy_cmd(emu, site);
    c.env("CI_COMMIT_SHA", sha)
        .env("CI_COMMIT_TITLE", format!("commit {sha}"))
        .env("CI_JOB_URL", "https://gitlab.example/g/p/-/jobs/9");
    if let Some(time) = time {
        c.env("CI_COMMIT_TIMESTAMP", time);
    }
    c
}

fn tag(key: &str) -> String {
    format!("amplify-deploy:{key}")
}

fn status_json(r: &Run) -> serde_json::Value {
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_record_what_a_push_deployed() {
    let emu = emulator().await;
    let site = tiny_site();
    let dir = tempfile::tempdir().unwrap();
    let event = write(
        dir.path(),
        "event.json",
        crate::support::github::event_payload(
            "push",
            "",
            serde_json::json!({
                "head_commit": {
                    "message": "Fix \"quotes\"; $(rm -rf ~) <b>caf\u{e9}</b>\n\nbody line",
                    "timestamp": "2026-11-29T10:00:00+01:00"
                }
            }),
        )
        .to_string()
        .as_bytes(),
    );
    let json = dir.path().join("out.json");
    let mut c = deploy_cmd(&emu, site.path());
    c.env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_SHA", "0123abc")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_RUN_ID", "42")
        .arg("--json")
        .arg(&json);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let out: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let sha256 = out["package"]["sha256"]
        .as_str()
        .expect("sha256")
        .to_owned();
    let expected: BTreeMap<String, String> = [
        ("job-id", "1"),
        ("sha256", sha256.as_str()),
        ("commit", "0123abc"),
        ("commit-time", "2026-11-29T09:00:00Z"),
        ("message", "Fix quotes rm -rf b caf\u{e9} /b"),
        ("run-url", "https://github.com/o/r/actions/runs/42"),
        ("version", env!("CARGO_PKG_VERSION")),
    ]
    .into_iter()
    .map(|(k, v)| (tag(k), v.to_owned()))
    .collect();
    let mut tags = emu.tags(APP, "main");
    // The tree digest (skip-unchanged's) and the zip's size on their own.
    let tree = tags.remove(&tag("tree")).expect("a tree tag");
    let bytes = tags.remove(&tag("package-bytes")).expect("a size tag");
    assert_eq!(tags, expected, "{r:?}");
    assert!(amplify_deploy::history::is_sha256(&tree), "{tree}");
    assert_eq!(bytes, out["package"]["bytes"].to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_message_is_cut_to_the_tag_limit() {
    let emu = emulator().await;
    let site = tiny_site();
    let message = format!("{} {}", "word".repeat(70), "end");
    let r = run(deploy_cmd(&emu, site.path()).args(["--message", &message])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let tags = emu.tags(APP, "main");
    let value = &tags[&tag("message")];
    assert_eq!(value.chars().count(), 256, "{value}");
    assert_eq!(value, &format!("{}...", &message[..253]));
    // Nothing this run does not know is carried over: empty, not absent.
    assert_eq!(tags[&tag("commit")], "");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_live_job_and_its_provenance() {
    let emu = emulator().await;
    let site = tiny_site();
    let r = run(&mut gitlab_deploy(&emu, site.path(), "abc123", Some(NEW))).await;
    assert_eq!(r.code, 0, "{r:?}");
    let status = || {
        let mut c = cmd(&emu);
        c.args(["status", "--app-id", APP, "--branch", "main"]);
        c
    };
    let text = run(&mut status()).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(text.stdout.contains("live: job 1"), "{text:?}");
    assert!(text.stdout.contains("  commit   abc123\n"), "{text:?}");
    assert!(
        text.stdout.contains("  time     2026-11-29T09:00:00Z\n"),
        "{text:?}"
    );
    assert!(
        text.stdout.contains("  message  commit abc123\n"),
        "{text:?}"
    );
    let json = status_json(&run(status().arg("--json")).await);
    assert_eq!(json["live"]["jobId"], "1");
    assert_eq!(json["live"]["provenanceStatus"], "trusted");
    assert_eq!(json["live"]["provenance"]["commit"], "abc123");
    assert_eq!(
        json["live"]["provenance"]["runUrl"],
        "https://gitlab.example/g/p/-/jobs/9"
    );

    // Another tool deploys: its job is live, our tags are stale.
    let other = emu.insert_job(APP, "main", "SUCCEED");
    let json = status_json(&run(status().arg("--json")).await);
    assert_eq!(json["live"]["jobId"], other.as_str());
    assert_eq!(json["live"]["provenanceStatus"], "none");
    assert!(json["live"]["provenance"].is_null(), "{json}");
    let text = run(&mut status()).await;
    assert!(text.stdout.contains("provenance  none"), "{text:?}");
    assert!(!text.stdout.contains("abc123"), "{text:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_tags_do_not_stop_an_older_commit() {
    let emu = emulator().await;
    let site = tiny_site();
    let r = run(&mut gitlab_deploy(&emu, site.path(), "new1", Some(NEW))).await;
    assert_eq!(r.code, 0, "{r:?}");
    emu.insert_job(APP, "main", "SUCCEED");
    let r = run(&mut gitlab_deploy(&emu, site.path(), "old1", Some(OLD))).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.all().contains("SUPERSEDED"), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"; 3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_tag_is_one_warning_and_the_deploy_succeeds() {
    let emu = emulator().await;
    emu.push_fault(status_fault(
        "TagResource",
        1,
        403,
        Some("AccessDeniedException"),
    ));
    let site = tiny_site();
    let r = run(&mut gitlab_deploy(&emu, site.path(), "abc", Some(NEW))).await;
    assert_eq!(r.code, 0, "{r:?}");
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{r:?}");
    assert!(
        warnings[0].contains(
            "add \"amplify:TagResource\" on arn:aws:amplify:us-east-1:123456789012:apps/d1test/branches/* to the deploy role"
        ),
        "{r:?}"
    );
    assert_eq!(count(&emu, "TagResource"), 1, "{r:?}");
    assert!(emu.tags(APP, "main").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_commit_is_superseded_unless_forced() {
    let emu = emulator().await;
    let site = tiny_site();
    let r = run(&mut gitlab_deploy(&emu, site.path(), "new1", Some(NEW))).await;
    assert_eq!(r.code, 0, "{r:?}");
    let dir = tempfile::tempdir().unwrap();
    let dotenv = dir.path().join("env");
    let mut older = gitlab_deploy(&emu, site.path(), "old1", Some(OLD));
    older.arg("--json").arg("--dotenv").arg(&dotenv);
    let r = run(&mut older).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("serves a newer commit, new1 (2026-11-29T09:00:00Z) (job 1)"),
        "{r:?}"
    );
    assert_eq!(status_json(&r)["status"], "SUPERSEDED", "{r:?}");
    let env = std::fs::read_to_string(&dotenv).unwrap();
    assert!(env.contains("SUPERSEDED"), "{env}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
    assert_eq!(count(&emu, "CreateDeployment"), 1);
    assert_eq!(count(&emu, "Upload"), 1);

    let r = run(gitlab_deploy(&emu, site.path(), "old1", Some(OLD)).arg("--force")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED", "SUCCEED"]);
    assert_eq!(emu.tags(APP, "main")[&tag("commit")], "old1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_commit_or_one_without_a_time_deploys() {
    let emu = emulator().await;
    let site = tiny_site();
    for (sha, time) in [("a", Some(OLD)), ("b", Some(NEW)), ("c", None)] {
        let r = run(&mut gitlab_deploy(&emu, site.path(), sha, time)).await;
        assert_eq!(r.code, 0, "{sha}: {r:?}");
        assert!(!r.all().contains("superseded"), "{sha}: {r:?}");
    }
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"; 3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_waited_is_superseded_by_the_newer_commit_it_waited_for() {
    let emu = emulator().await;
    let site = tiny_site();
    // Another run (B, a newer commit) is deploying: its job is running.
    let job = emu.insert_job(APP, "main", "RUNNING");
    let mut a = gitlab_deploy(&emu, site.path(), "old1", Some(OLD));
    a.args(["--json", "--timeout", "60s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = a.spawn().expect("spawn");
    // A checks (nothing live yet), sees the busy branch and waits.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&emu, "ListJobs") < 3 {
        assert!(Instant::now() < deadline, "run A never polled");
        sleep_ms(20).await;
    }
    // B's job succeeds and B records its provenance.
    let tags = [
        ("job-id", job.as_str()),
        ("commit", "new1"),
        ("commit-time", NEW),
    ]
    .into_iter()
    .map(|(k, v)| (tag(k), v.to_owned()))
    .collect();
    emu.tag_branch(APP, "main", tags);
    emu.end_job(APP, "main", &job, "SUCCEED");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("waiting for job"), "{r:?}");
    assert_eq!(status_json(&r)["status"], "SUPERSEDED", "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
    assert_eq!(count(&emu, "CreateDeployment"), 0);
}
