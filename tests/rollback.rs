//! `history` and `rollback` end to end: the real binary, the emulator
//! reading `s3://` sources from a moto server, artifacts in a moto bucket.
//! Each deploy's package is written by `amplify-deploy package` (the zip
//! a deploy with `--artifact-store` stores) and put at
//! `{prefix}/{sha256}.zip`; the served site is compared byte for byte
//! after each rollback.

use std::process::Command;
use std::time::Duration;

use amplify_emulator::Emulator;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::moto;
use crate::support::net::{TestCa, TlsFront};
use crate::support::*;

/// An emulator whose jobs read `s3://` from moto, and a fresh bucket.
pub(crate) async fn setup() -> (Emulator, String) {
    let endpoint = moto::endpoint();
    let emu = emulator_with(Config {
        s3_endpoint: Some(endpoint),
        ..Config::default()
    })
    .await;
    (emu, moto::bucket("us-east-1"))
}

/// `cmd(emu)` that also reaches moto.
pub(crate) fn s3_cmd(emu: &Emulator) -> Command {
    let mut c = cmd(emu);
    c.env("AWS_ENDPOINT_URL_S3", moto::endpoint());
    c
}

/// A version of the site: its files, and the stored package's SHA-256.
pub(crate) struct Version {
    files: Vec<(&'static str, Vec<u8>)>,
    pub(crate) sha256: String,
}

/// Packages a site whose pages say `label`, stores it in `bucket` under
/// `site/{sha256}.zip`.
pub(crate) async fn store(emu: &Emulator, bucket: &str, label: &str) -> Version {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        ("index.html", format!("<h1>{label}</h1>\n").into_bytes()),
        ("css/app.css", format!("/* {label} */ p {{}}").into_bytes()),
    ];
    let zip = dir.path().join("site.zip");
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    for (name, data) in &files {
        write(&site, name, data);
    }
    let r = run(cmd(emu)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["package", "--path"])
        .arg(&site)
        .arg("--output")
        .arg(&zip))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let bytes = std::fs::read(&zip).unwrap();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    moto::put(bucket, &format!("site/{sha256}.zip"), &bytes);
    Version { files, sha256 }
}

/// `deploy --source-url s3://bucket/site/{sha}.zip`: what a deploy from
/// the store starts.
pub(crate) async fn deploy_stored(emu: &Emulator, bucket: &str, v: &Version) -> Run {
    let url = format!("s3://{bucket}/site/{}.zip", v.sha256);
    let r = run(s3_cmd(emu).args([
        "deploy",
        "--app-id",
        APP,
        "--branch",
        "main",
        "--source-url",
        &url,
        "--source-url-type",
        "ZIP",
    ]))
    .await;
    assert!(r.code <= 1, "{r:?}");
    r
}

pub(crate) fn rollback(emu: &Emulator, args: &[&str]) -> Command {
    let mut c = s3_cmd(emu);
    c.args(["rollback", "--app-id", APP, "--branch", "main"])
        .args(args);
    c
}

/// The served site is exactly `v`.
async fn assert_serves(emu: &Emulator, v: &Version) {
    let site = emu.site_url(APP, "main");
    for (name, data) in &v.files {
        let got = reqwest::get(format!("{site}{name}")).await.expect("site");
        assert_eq!(got.status().as_u16(), 200, "{name}");
        assert_eq!(&got.bytes().await.unwrap()[..], &data[..], "{name}");
    }
}

fn history_json(r: &Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_returns_to_the_previous_deploy_and_reports_like_deploy() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    assert_eq!(deploy_stored(&emu, &bucket, &v1).await.code, 0);
    assert_eq!(deploy_stored(&emu, &bucket, &v2).await.code, 0);
    assert_serves(&emu, &v2).await;

    let out = tempfile::tempdir().unwrap();
    // The live check compares the site with the artifact's index.html,
    // read from the store.
    let r = run(rollback(&emu, &["--verify", "strict"])
        .env("AMPLIFY_VERIFY_TIMEOUT", "10s")
        .env("AMPLIFY_RESOLVE", format!("*={}", emu.endpoint()))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", out.path().join("output")))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "rolling back {APP}/main to job 1 (package sha256 {})",
            v1.sha256
        )),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("live check: new content served after"),
        "{r:?}"
    );
    let output = std::fs::read_to_string(out.path().join("output")).unwrap();
    assert!(output.contains("job-id=3\n"), "{output}");
    assert!(output.contains("status=SUCCEED\n"), "{output}");
    assert_serves(&emu, &v1).await;
    let jobs = emu.jobs(APP, "main");
    assert_eq!(
        jobs[2].source_url.as_deref(),
        Some(&*format!("s3://{bucket}/site/{}.zip", v1.sha256))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_to_a_named_job_or_a_sha() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    let v3 = store(&emu, &bucket, "three").await;
    for v in [&v1, &v2, &v3] {
        let r = deploy_stored(&emu, &bucket, v).await;
        assert_eq!(r.code, 0, "{r:?}");
    }
    let r = run(&mut rollback(&emu, &["--job-id", "1"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_serves(&emu, &v1).await;

    let r = run(&mut rollback(
        &emu,
        &["--sha256", &v2.sha256.to_uppercase()],
    ))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_serves(&emu, &v2).await;
    assert_eq!(job_statuses(&emu, "main").len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_failed_newer_job_the_older_stays_live_and_rollback_skips_it() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    let v3 = store(&emu, &bucket, "three").await;
    assert_eq!(deploy_stored(&emu, &bucket, &v1).await.code, 0);
    assert_eq!(deploy_stored(&emu, &bucket, &v2).await.code, 0);
    emu.push_fault(fault(
        "StartDeployment",
        1,
        FaultAction::FailJob {
            reason: "injected".into(),
        },
    ));
    assert_eq!(deploy_stored(&emu, &bucket, &v3).await.code, 1);
    // Job 3 FAILED: job 2 is still live, and served.
    assert_serves(&emu, &v2).await;
    let r =
        run(s3_cmd(&emu).args(["history", "--app-id", APP, "--branch", "main", "--json"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let h = history_json(&r);
    assert_eq!(h["liveJobId"], "2", "{h}");
    assert_eq!(h["jobs"][0]["status"], "FAILED");

    let r = run(&mut rollback(&emu, &[])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("to job 1 "), "{r:?}");
    assert_serves(&emu, &v1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_artifact_is_a_clear_error_and_nothing_starts() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    assert_eq!(deploy_stored(&emu, &bucket, &v1).await.code, 0);
    assert_eq!(deploy_stored(&emu, &bucket, &v2).await.code, 0);
    moto::delete(&bucket, &format!("site/{}.zip", v1.sha256));
    let starts = count(&emu, "StartDeployment");

    let r = run(&mut rollback(&emu, &[])).await;
    assert_eq!(r.code, 2, "{r:?}");
    let first = r.stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "error: job 1's artifact s3://{bucket}/site/{}.zip is gone from the store (expired): it cannot be rolled back to",
            v1.sha256
        ),
        "{r:?}"
    );
    let r = run(&mut rollback(&emu, &["--job-id", "1"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(count(&emu, "StartDeployment"), starts);
    assert_serves(&emu, &v2).await;

    // A job deployed by upload, not from the store, has no artifact.
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(&mut rollback(&emu, &["--job-id", "3"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.stderr.lines().next().unwrap_or_default(),
        "error: job 3 was not deployed from the artifact store: it has no artifact to roll back to",
        "{r:?}"
    );
    assert_eq!(count(&emu, "StartDeployment"), starts + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn history_marks_the_live_job_the_rollback_targets_and_expired_artifacts() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    let v3 = store(&emu, &bucket, "three").await;
    for v in [&v1, &v2, &v3] {
        let r = deploy_stored(&emu, &bucket, v).await;
        assert_eq!(r.code, 0, "{r:?}");
    }
    moto::delete(&bucket, &format!("site/{}.zip", v1.sha256));
    let history = |json: bool| {
        let mut c = s3_cmd(&emu);
        c.args(["history", "--app-id", APP, "--branch", "main"]);
        if json {
            c.arg("--json");
        }
        c
    };
    let r = run(&mut history(true)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let h = history_json(&r);
    let jobs = h["jobs"].as_array().expect("jobs");
    let view: Vec<_> = jobs
        .iter()
        .map(|j| {
            (
                j["jobId"].as_str().unwrap_or_default().to_owned(),
                j["sha256"].as_str().unwrap_or_default().to_owned(),
                j["artifactStatus"].as_str().unwrap_or_default().to_owned(),
                j["live"].as_bool().unwrap_or_default(),
                j["canRollBack"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    let row = |id: &str, v: &Version, status: &str, live, back| {
        (
            id.to_owned(),
            v.sha256.clone(),
            status.to_owned(),
            live,
            back,
        )
    };
    assert_eq!(
        view,
        [
            row("3", &v3, "present", true, false),
            row("2", &v2, "present", false, true),
            row("1", &v1, "expired", false, false),
        ]
    );
    let r = run(history(false).args(["--limit", "2"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("\n1 "), "{r:?}");
    assert!(r.stdout.contains("rollback target"), "{r:?}");
}

/// Deploys made with `--artifact-store --artifact-url presigned` (the job
/// keeps a presigned URL of the key): rollback finds the package from that
/// URL and signs a new one from the key.
#[tokio::test(flavor = "multi_thread")]
async fn rollback_re_signs_a_presigned_artifact_url() {
    let (emu, bucket) = setup().await;
    let store_url = format!("s3://{bucket}/site");
    let mut versions = Vec::new();
    for label in ["one", "two"] {
        let dir = tempfile::tempdir().unwrap();
        let html = format!("<h1>{label}</h1>\n").into_bytes();
        write(dir.path(), "index.html", &html);
        let r = run(s3_cmd(&emu)
            .args(["deploy", "--app-id", APP, "--branch", "main", "--path"])
            .arg(dir.path())
            .args([
                "--artifact-store",
                &store_url,
                "--artifact-url",
                "presigned",
            ]))
        .await;
        assert_eq!(r.code, 0, "{r:?}");
        versions.push(html);
    }
    let r = run(&mut rollback(&emu, &["--artifact-url", "presigned"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let jobs = emu.jobs(APP, "main");
    let (first, rolled) = (
        jobs[0].source_url.clone().unwrap_or_default(),
        jobs[2].source_url.clone().unwrap_or_default(),
    );
    assert!(rolled.contains("X-Amz-Signature="), "{rolled}");
    assert_eq!(
        rolled.split('?').next(),
        first.split('?').next(),
        "the same key"
    );
    let site = emu.site_url(APP, "main");
    let got = reqwest::get(format!("{site}index.html")).await.unwrap();
    assert_eq!(&got.bytes().await.unwrap()[..], &versions[0][..]);
}

/// The rollback record on the branch: prefixes of the SHA-256es rolled
/// back from.
fn rolled_back(emu: &Emulator) -> String {
    emu.tags(APP, "main")
        .get("amplify-deploy:rolled-back")
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_rollbacks_walk_back_through_distinct_releases() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    let v3 = store(&emu, &bucket, "three").await;
    for v in [&v1, &v2, &v3] {
        assert_eq!(deploy_stored(&emu, &bucket, v).await.code, 0);
    }
    // v3 is bad: back to v2, and v3 is recorded.
    let r = run(&mut rollback(&emu, &[])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("to job 2 "), "{r:?}");
    assert_serves(&emu, &v2).await;
    assert!(
        rolled_back(&emu).starts_with(&v3.sha256[..16]),
        "{:?}",
        emu.tags(APP, "main")
    );

    // v2 is bad too: a dry run says it would go to v1, passing over job 3
    // (rolled back from) and job 2 (the live package), and changes nothing.
    let tags = emu.tags(APP, "main");
    let r = run(&mut rollback(&emu, &["--dry-run"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "rolling back {APP}/main to job 1 (package sha256 {}): the newest earlier release whose package is stored, neither live (job 4) nor rolled back from; passed over job 3 (a rollback moved away from its package), job 2 (it serves the live package)",
            v1.sha256
        )),
        "{r:?}"
    );
    assert_eq!(emu.tags(APP, "main"), tags);

    // ... and a second rollback serves v1, never v3 again.
    let r = run(&mut rollback(&emu, &[])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_serves(&emu, &v1).await;
    let record = rolled_back(&emu);
    assert_eq!(
        record,
        format!("{} {}", &v2.sha256[..16], &v3.sha256[..16]),
        "newest first"
    );
    // Nothing earlier is left: a clear error, nothing started.
    let starts = count(&emu, "StartDeployment");
    let r = run(&mut rollback(&emu, &[])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("has no earlier release to roll back to from the live job 5"),
        "{r:?}"
    );
    assert_eq!(count(&emu, "StartDeployment"), starts);

    // A later deploy keeps the record; history marks by the same rule.
    let v4 = store(&emu, &bucket, "four").await;
    assert_eq!(deploy_stored(&emu, &bucket, &v4).await.code, 0);
    assert_eq!(rolled_back(&emu), record);
    let r =
        run(s3_cmd(&emu).args(["history", "--app-id", APP, "--branch", "main", "--json"])).await;
    let h = history_json(&r);
    let marks: Vec<(String, bool, bool, bool)> = h["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["jobId"].as_str().unwrap().to_owned(),
                j["rollbackTarget"].as_bool().unwrap(),
                j["canRollBack"].as_bool().unwrap(),
                j["rolledBackFrom"].as_bool().unwrap(),
            )
        })
        .collect();
    let m = |id: &str, target, can, from| (id.to_owned(), target, can, from);
    assert_eq!(
        marks,
        [
            m("6", false, false, false), // live: v4
            m("5", true, true, false),   // v1: where rollback goes next
            m("4", false, false, true),  // v2: rolled back from
            m("3", false, false, true),  // v3: rolled back from
            m("2", false, false, true),  // v2
            m("1", false, true, false),  // v1 too, by --job-id
        ],
        "{h}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_never_targets_the_live_package() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    // v2 is deployed twice: job 2 and job 3 serve the same package.
    for v in [&v1, &v2, &v2] {
        assert_eq!(deploy_stored(&emu, &bucket, v).await.code, 0);
    }
    let r = run(&mut rollback(&emu, &["--dry-run"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("to job 1 "), "{r:?}");
    // Named explicitly, the live package is refused, naming the job.
    let starts = count(&emu, "StartDeployment");
    for args in [&["--job-id", "2"][..], &["--sha256", &v2.sha256]] {
        let r = run(&mut rollback(&emu, args)).await;
        assert_eq!(r.code, 2, "{r:?}");
        assert!(
            r.stderr.contains("serves the live package (live job 3)"),
            "{r:?}"
        );
    }
    assert_eq!(count(&emu, "StartDeployment"), starts);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_that_cannot_record_itself_starts_nothing() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    for v in [&v1, &v2] {
        assert_eq!(deploy_stored(&emu, &bucket, v).await.code, 0);
    }
    emu.push_fault(status_fault(
        "TagResource",
        1,
        403,
        Some("AccessDeniedException"),
    ));
    let starts = count(&emu, "StartDeployment");
    let r = run(&mut rollback(&emu, &["--lock"])).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("amplify:TagResource"), "{r:?}");
    assert!(r.stderr.contains("nothing was started"), "{r:?}");
    assert_eq!(count(&emu, "StartDeployment"), starts);
    assert_serves(&emu, &v2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_timeout_holds_against_a_store_that_never_answers() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    for v in [&v1, &v2] {
        assert_eq!(deploy_stored(&emu, &bucket, v).await.code, 0);
    }
    let silent = crate::support::net::SilentServer::start().await;
    let mut c = rollback(&emu, &["--timeout", "8s"]);
    c.env("AWS_ENDPOINT_URL_S3", silent.url());
    let (r, took) = run_within(&mut c, Duration::from_secs(30)).await;
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        took >= Duration::from_secs(8) && took < Duration::from_secs(12),
        "{took:?}"
    );
    assert!(r.stderr.contains("error: timed out after 8s"), "{r:?}");
    assert!(r.stderr.contains("no answer from S3 HeadBucket"), "{r:?}");
    assert_eq!(count(&emu, "StartDeployment"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_checks_the_target_live_and_strict_fails_when_it_never_updates() {
    let (emu, bucket) = setup().await;
    emu.create_branch(APP, "prod");
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    for v in [&v1, &v2] {
        assert_eq!(deploy_stored(&emu, &bucket, v).await.code, 0);
    }
    let promote = |strictness: &str| {
        let mut c = s3_cmd(&emu);
        c.args([
            "promote",
            "--app-id",
            APP,
            "--from-branch",
            "main",
            "--to-branch",
            "prod",
            "--verify",
            strictness,
            "--verify-timeout",
            "2s",
        ])
        .env("AMPLIFY_RESOLVE", format!("*={}", emu.endpoint()));
        c
    };
    let r = run(&mut promote("strict")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("live check: new content served after"),
        "{r:?}"
    );
    // The CDN keeps serving the old content for longer than the check waits.
    emu.set_site_lag(Duration::from_secs(600));
    assert_eq!(deploy_stored(&emu, &bucket, &v1).await.code, 0);
    let r = run(&mut promote("strict")).await;
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("deployed, but the site does not serve it yet"),
        "{r:?}"
    );
}

/// A store behind a corporate CA (`AWS_CA_BUNDLE`): the page the live
/// check compares is read from it with the same trust roots as every other
/// S3 request, not skipped with an UnknownIssuer warning.
#[tokio::test(flavor = "multi_thread")]
async fn the_artifacts_page_is_read_through_the_stores_trust_roots() {
    let (emu, bucket) = setup().await;
    let v1 = store(&emu, &bucket, "one").await;
    let v2 = store(&emu, &bucket, "two").await;
    assert_eq!(deploy_stored(&emu, &bucket, &v1).await.code, 0);
    assert_eq!(deploy_stored(&emu, &bucket, &v2).await.code, 0);
    let ca = TestCa::create();
    let s3 = TlsFront::start(&ca, &moto::endpoint()).await;
    let r = run(rollback(&emu, &["--verify", "strict"])
        .env("AWS_ENDPOINT_URL_S3", s3.url())
        .env("AWS_CA_BUNDLE", ca.ca_pem())
        .env("AMPLIFY_VERIFY_TIMEOUT", "10s")
        .env("AMPLIFY_RESOLVE", format!("*={}", emu.endpoint())))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(s3.handshakes() > 0);
    assert!(!r.stderr.contains("cannot read"), "{r:?}");
    assert!(
        r.stderr.contains("live check: new content served after"),
        "{r:?}"
    );
    assert_serves(&emu, &v1).await;
}
