//! Decide, then act: a run that deploys nothing changes nothing. Each test
//! is a way a run ends without deploying (superseded by a newer commit, a
//! busy branch with `--on-busy fail`, a lock, a skip) and asserts what is
//! shared (the app's rules, the artifact store, GitHub deployments and
//! statuses, branch settings) is as it was, or, for a skip, that exactly
//! the settings asked for were applied.

use std::path::Path;
use std::process::Command;

use amplify_emulator::CustomRule;

use crate::rollback::setup;
use crate::support::github::{FakeGitHub, REPO, WRITE_TOKEN};
use crate::support::moto;
use crate::support::*;

const OLDER: &str = "2026-12-01T08:00:00Z";
const NEWER: &str = "2026-12-01T09:00:00Z";

/// A site whose `_redirects` sends `/old` to `target`.
fn site_redirecting(to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", format!("<p>{to}</p>").as_bytes());
    write(
        dir.path(),
        "_redirects",
        format!("/old {to} 301\n").as_bytes(),
    );
    dir
}

/// A GitLab-style deploy of a commit made at `time`.
fn deploy_at(emu: &Emulator, site: &Path, sha: &str, time: &str) -> Command {
    let mut c = deploy_cmd(emu, site);
    c.env("CI_COMMIT_SHA", sha).env("CI_COMMIT_TIMESTAMP", time);
    c
}

fn redirect(to: &str) -> Vec<CustomRule> {
    vec![CustomRule {
        source: "/old".into(),
        target: to.into(),
        status: Some("301".into()),
        condition: None,
    }]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_or_blocked_sync_rules_run_leaves_the_apps_rules() {
    let emu = emulator().await;
    let new = site_redirecting("/new");
    let r = run(deploy_at(&emu, new.path(), "c2", NEWER).arg("--sync-rules")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(emu.custom_rules(APP), redirect("/new"));

    // A re-run of the older commit's workflow: superseded, rules kept.
    let old = site_redirecting("/stale");
    let updates = count(&emu, "UpdateApp");
    let r = run(deploy_at(&emu, old.path(), "c1", OLDER).arg("--sync-rules")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("superseded: branch main serves a newer commit"),
        "{r:?}"
    );
    assert_eq!(emu.custom_rules(APP), redirect("/new"));
    assert_eq!(count(&emu, "UpdateApp"), updates);

    // A newer commit on a busy branch with --on-busy fail: exit 1, rules kept.
    let newest = site_redirecting("/newest");
    emu.insert_job(APP, "main", "RUNNING");
    let r = run(
        deploy_at(&emu, newest.path(), "c3", "2026-12-01T10:00:00Z").args([
            "--sync-rules",
            "--on-busy",
            "fail",
        ]),
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("branch main is busy: job 2 is RUNNING"),
        "{r:?}"
    );
    assert_eq!(emu.custom_rules(APP), redirect("/new"));
    assert_eq!(count(&emu, "UpdateApp"), updates);
    assert_eq!(count(&emu, "CreateDeployment"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_superseded_run_stores_nothing_and_reports_no_deployment() {
    let (emu, bucket) = setup().await;
    let gh = FakeGitHub::start().await;
    let store = format!("s3://{bucket}/site");
    let github = |c: &mut Command, sha: &str| {
        c.args(["--artifact-store", &store])
            .args(["--deployment-environment", "production", "--commit-status"])
            .env("AWS_ENDPOINT_URL_S3", moto::endpoint())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_API_URL", gh.url())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SHA", sha)
            .env("GITHUB_TOKEN", WRITE_TOKEN);
    };
    let new = site_redirecting("/new");
    let mut c = deploy_at(&emu, new.path(), "c2", NEWER);
    github(&mut c, "c2");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(moto::keys(&bucket).len(), 1);
    assert_eq!(gh.deployments().len(), 1);

    let old = site_redirecting("/old-content");
    let mut c = deploy_at(&emu, old.path(), "c1", OLDER);
    github(&mut c, "c1");
    let out = tempfile::tempdir().unwrap();
    let r = run(c.env("GITHUB_OUTPUT", out.path().join("o"))).await;
    assert_eq!(r.code, 0, "{r:?}");
    let output = std::fs::read_to_string(out.path().join("o")).unwrap();
    assert!(output.contains("status=SUPERSEDED\n"), "{output}");
    // Nothing uploaded to the store, no deployment, no pending status.
    assert_eq!(moto::keys(&bucket).len(), 1, "{:?}", moto::keys(&bucket));
    assert_eq!(gh.deployments().len(), 1);
    let states: Vec<String> = gh
        .commit_statuses()
        .into_iter()
        .filter(|s| s.sha == "c1")
        .map(|s| s.body["state"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(states.iter().all(|state| state != "pending"), "{states:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_unchanged_still_applies_a_rotated_password() {
    let emu = emulator().await;
    let site = tiny_site();
    let with_password = |password: &str| {
        let mut c = deploy_cmd(&emu, site.path());
        c.arg("--skip-unchanged")
            .env("AMPLIFY_BASIC_AUTH", format!("ci:{password}"));
        c
    };
    let r = run(&mut with_password("first-secret")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let encoded = |p: &str| {
        amplify_deploy::settings::BasicAuth {
            user: "ci".into(),
            password: p.into(),
        }
        .encoded()
    };
    assert_eq!(emu.basic_auth(APP, "main"), Some(encoded("first-secret")));

    // The same folder, a new password: no job, the password applied.
    let r = run(&mut with_password("second-secret")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("unchanged: live job 1 already serves"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("updated basic auth on branch main without a new job"),
        "{r:?}"
    );
    assert!(!r.all().contains("second-secret"), "{r:?}");
    assert_eq!(emu.basic_auth(APP, "main"), Some(encoded("second-secret")));
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);

    // Nothing differs: nothing is updated.
    let updates = count(&emu, "UpdateBranch");
    let r = run(&mut with_password("second-secret")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("updated basic auth"), "{r:?}");
    assert_eq!(count(&emu, "UpdateBranch"), updates);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_says_what_it_would_decide_and_changes_nothing() {
    let emu = emulator().await;
    let site = site_redirecting("/new");
    let r = run(&mut deploy_at(&emu, site.path(), "c2", NEWER)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let old = site_redirecting("/stale");
    let r = run(deploy_at(&emu, old.path(), "c1", OLDER).args(["--dry-run", "--sync-rules"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("  would     deploy nothing (superseded): branch main serves a newer commit"),
        "{r:?}"
    );
    // The rules diff is shown, not written.
    assert!(r.stderr.contains("+ /old -> /stale 301"), "{r:?}");
    assert_eq!(count(&emu, "UpdateApp"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_tree_skips_before_anything_is_compressed() {
    let emu = emulator().await;
    let site = site_redirecting("/same");
    let out = tempfile::tempdir().unwrap();
    let r = run(deploy_cmd(&emu, site.path())
        .arg("--json")
        .arg(out.path().join("first.json")))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("first.json")).unwrap()).unwrap();

    // The same tree: the digest decides; the packaging step never runs.
    let r = run(deploy_cmd(&emu, site.path())
        .arg("--skip-unchanged")
        .arg("--json")
        .arg(out.path().join("second.json")))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("(tree "), "{r:?}");
    assert!(!r.stderr.contains("packaged "), "{r:?}");
    assert!(
        r.stderr.contains("unchanged: live job 1 already serves"),
        "{r:?}"
    );
    let second: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("second.json")).unwrap()).unwrap();
    assert_eq!(second["status"], "SKIPPED");
    // The package reported is the live one, as packaging would have said.
    assert_eq!(second["package"], first["package"], "{second}");
    assert_eq!(count(&emu, "CreateDeployment"), 1);

    // One byte changed: another tree, packaged and deployed.
    write(site.path(), "index.html", b"<p>/same!</p>");
    let r = run(deploy_cmd(&emu, site.path()).arg("--skip-unchanged")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("skip-unchanged: live job 1 serves another package: deploying"),
        "{r:?}"
    );
    assert!(r.stderr.contains("packaged "), "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 2);
}

/// The branch was free when the run read it, so it decided to deploy and
/// opened its GitHub deployment; then another run's job (a newer commit)
/// took the branch before ours was created. Decided again after the wait,
/// the run is superseded: its deployment ends inactive, not in progress,
/// and its commit status does not stay pending.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_superseded_after_it_opened_its_deployment_leaves_nothing_in_progress() {
    let emu = emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    // The read's ListJobs sees the free branch, and answers late.
    emu.push_fault(fault("ListJobs", 1, FaultAction::DelayAfter { ms: 1500 }));
    let mut c = deploy_at(&emu, site.path(), "c1", OLDER);
    c.args(["--deployment-environment", "production", "--commit-status"])
        .args(["--json", "--timeout", "60s"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_API_URL", gh.url())
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_SHA", "c1")
        .env("GITHUB_TOKEN", WRITE_TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().expect("spawn");
    let until = |n: usize| {
        let emu = &emu;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while count(emu, "ListJobs") < n {
                assert!(std::time::Instant::now() < deadline, "no ListJobs #{n}");
                sleep_ms(20).await;
            }
        }
    };
    until(1).await;
    // Another run's job, of a newer commit, while our read is on the wire.
    let job = emu.insert_job(APP, "main", "RUNNING");
    // Ours waits for it (ListJobs again), then it succeeds with its provenance.
    until(3).await;
    let tags = [
        ("job-id", job.as_str()),
        ("commit", "c2"),
        ("commit-time", NEWER),
    ]
    .into_iter()
    .map(|(k, v)| (format!("amplify-deploy:{k}"), v.to_owned()))
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
    assert!(r.stderr.contains("superseded:"), "{r:?}");
    assert!(r.stdout.contains("\"SUPERSEDED\""), "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 0);
    // The deployment was opened (the run had decided to deploy) and closed.
    let deployments = gh.deployments();
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    let states: Vec<&str> = deployments[0]
        .statuses
        .iter()
        .map(|s| s["state"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(states.last(), Some(&"inactive"), "{states:?}");
    let last_status = gh.commit_statuses().into_iter().last().expect("a status");
    assert_eq!(last_status.body["state"], "success", "{last_status:?}");
}
