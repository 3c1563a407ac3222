//! The deploy pipeline end to end.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn deploys_exactly_the_sites_files() {
    let emu = emulator().await;
    let (site, files) = site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(emu.deployed_files(APP, "main").expect("deployed"), files);
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
    assert!(
        r.stderr.contains("https://main.d1test.amplifyapp.com"),
        "{r:?}"
    );
    assert!(r.stderr.contains("job 1: SUCCEED"), "{r:?}");
    assert_eq!(
        operations(&emu)
            .iter()
            .filter(|o| *o != "GetJob" && *o != "ListJobs")
            .collect::<Vec<_>>(),
        [
            "GetApp",
            "GetBranch",
            "CreateDeployment",
            "Upload",
            "StartDeployment",
            "TagResource"
        ]
    );
    // The upload carried a Content-Length, was not chunked and not SigV4-signed.
    let upload = emu
        .requests()
        .into_iter()
        .find(|r| r.operation == "Upload")
        .unwrap();
    let header = |n: &str| {
        upload
            .headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    assert!(header("content-length").is_some());
    assert_eq!(header("transfer-encoding"), None);
    assert_eq!(header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_archive_is_the_same_whatever_the_mtimes() {
    let emu = emulator().await;
    let (site, _) = site();
    let a = run(deploy_cmd(&emu, site.path()).arg("--json")).await;
    assert_eq!(a.code, 0, "{a:?}");
    let file = site.path().join("index.html");
    let f = std::fs::File::options().write(true).open(&file).unwrap();
    f.set_modified(
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000),
    )
    .unwrap();
    drop(f);
    let b = run(deploy_cmd(&emu, site.path()).arg("--json")).await;
    assert_eq!(b.code, 0, "{b:?}");
    let sha = |r: &Run| -> String {
        let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
        v["package"]["sha256"].as_str().unwrap().to_owned()
    };
    assert_eq!(sha(&a), sha(&b));
    assert_eq!(sha(&a).len(), 64);
}

#[tokio::test(flavor = "multi_thread")]
async fn branch_with_a_slash() {
    let emu = emulator().await;
    emu.create_branch(APP, "feature/x");
    let site = tiny_site();
    let mut c = cmd(&emu);
    c.args(["deploy", "--app-id", APP, "--branch", "feature/x", "--path"])
        .arg(site.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "feature/x"), ["SUCCEED"]);
    assert!(
        r.stderr.contains("https://feature-x.d1test.amplifyapp.com"),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn session_token_credentials() {
    let config = Config {
        credentials: vec![Credential {
            access_key_id: "ASIATEMP".into(),
            secret_access_key: "tempsecret".into(),
            session_token: Some("the-session-token".into()),
        }],
        ..Config::default()
    };
    let emu = emulator_with(config).await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.env("AWS_ACCESS_KEY_ID", "ASIATEMP")
        .env("AWS_SECRET_ACCESS_KEY", "tempsecret")
        .env("AWS_SESSION_TOKEN", "the-session-token");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.all().contains("the-session-token"), "{r:?}");

    // Without the token the service refuses, and nothing was created.
    let mut c = deploy_cmd(&emu, site.path());
    c.env("AWS_ACCESS_KEY_ID", "ASIATEMP")
        .env("AWS_SECRET_ACCESS_KEY", "tempsecret");
    let r = run(&mut c).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(emu.jobs(APP, "main").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wait_returns_after_start() {
    let emu = emulator().await;
    emu.set_job_duration(std::time::Duration::from_secs(30));
    let site = tiny_site();
    let r = run(deploy_cmd(&emu, site.path()).arg("--no-wait").arg("--json")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["RUNNING"]);
    assert_eq!(count(&emu, "GetJob"), 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["status"], "STARTED");
    assert_eq!(v["jobId"], "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn source_url_deploys_without_upload() {
    let emu = emulator().await;
    let mut c = cmd(&emu);
    c.args([
        "deploy",
        "--app-id",
        APP,
        "--branch",
        "main",
        "--source-url",
        "s3://my-bucket/site/",
        "--source-url-type",
        "BUCKET_PREFIX",
    ]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 0);
    assert_eq!(count(&emu, "Upload"), 0);
    let jobs = emu.jobs(APP, "main");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].source_url.as_deref(), Some("s3://my-bucket/site/"));
    assert_eq!(jobs[0].status, "SUCCEED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_job_fails_the_step_with_its_reason() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "StartDeployment",
        1,
        FaultAction::FailJob {
            reason: "Unable to deploy: index.html missing".into(),
        },
    ));
    let site = tiny_site();
    let r = run(deploy_cmd(&emu, site.path()).arg("--json")).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("ended FAILED"), "{r:?}");
    assert!(
        r.stderr.contains("Unable to deploy: index.html missing"),
        "{r:?}"
    );
    // The job's console page, not the presigned log URL; the log's end is shown.
    assert!(
        r.stderr.contains("see the job and its logs at https://us-east-1.console.aws.amazon.com/amplify/apps/d1test/branches/main/deployments/1"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("Last lines of the DEPLOY step's log:"),
        "{r:?}"
    );
    assert!(!r.all().contains("X-Amz-"), "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["status"], "FAILED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_is_a_clear_signature_error() {
    let emu = emulator().await;
    let site = tiny_site();
    let r = run(deploy_cmd(&emu, site.path()).env("AWS_SECRET_ACCESS_KEY", "wrong-secret")).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.to_lowercase().contains("signature"), "{r:?}");
    assert!(r.stderr.contains("AWS_SECRET_ACCESS_KEY"), "{r:?}");
    assert!(!r.all().contains("wrong-secret"), "{r:?}");
    assert!(emu.jobs(APP, "main").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_app_names_app_and_region() {
    let emu = emulator().await;
    let site = tiny_site();
    let mut c = cmd(&emu);
    c.args([
        "deploy",
        "--app-id",
        "dnosuchapp",
        "--branch",
        "main",
        "--path",
    ])
    .arg(site.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("no Amplify app dnosuchapp in us-east-1"),
        "{r:?}"
    );
    assert!(r.stderr.contains("AWS request id"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mistyped_app_id_fails_without_waiting_for_the_packaging() {
    let emu = emulator().await;
    // Some megabytes that do not compress: the preflight answers while
    // this is packaged, and stops the packaging.
    let site = tempfile::tempdir().expect("tempdir");
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..40 {
        let data: Vec<u8> = (0..256 * 1024)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        write(site.path(), &format!("assets/blob-{i:02}.bin"), &data);
    }
    let temp = tempfile::tempdir().expect("tempdir");
    let mut c = cmd(&emu);
    c.args(["deploy", "--app-id", "dnosuchapp", "--branch", "main"])
        .arg("--path")
        .arg(site.path())
        .env("RUNNER_TEMP", temp.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("no Amplify app dnosuchapp in us-east-1"),
        "{r:?}"
    );
    // The wrong app id is what the run reports, however far the packaging
    // got: no "packaged" line, nothing but GetApp asked, no zip left.
    assert!(!r.stderr.contains("packaged"), "{r:?}");
    assert_eq!(operations(&emu), ["GetApp"]);
    let left: Vec<_> = std::fs::read_dir(temp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn web_compute_apps_are_refused_before_anything_is_created() {
    let emu = emulator().await;
    emu.create_app("dssr", "WEB_COMPUTE");
    emu.create_branch("dssr", "main");
    let site = tiny_site();
    let mut c = cmd(&emu);
    c.args(["deploy", "--app-id", "dssr", "--branch", "main", "--path"])
        .arg(site.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("WEB_COMPUTE"), "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn github_output_and_summary() {
    let emu = emulator().await;
    let site = tiny_site();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    let summary = tmp.path().join("summary");
    let r = run(deploy_cmd(&emu, site.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &out)
        .env("GITHUB_STEP_SUMMARY", &summary))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut kv = std::collections::HashMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            kv.insert(k.to_owned(), v.to_owned());
        }
    }
    assert_eq!(kv["job-id"], "1");
    assert_eq!(kv["status"], "SUCCEED");
    assert_eq!(kv["url"], "https://main.d1test.amplifyapp.com");
    assert_eq!(kv["file-count"], "1");
    assert_eq!(kv["package-sha256"].len(), 64);
    assert!(kv["job-arn"].starts_with("arn:aws:amplify:us-east-1:"));
    assert!(kv["package-bytes"].parse::<u64>().unwrap() > 0);
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("SUCCEED") && summary.contains("https://main.d1test.amplifyapp.com"),
        "{summary}"
    );
    // Workflow commands: groups and a notice with the URL; the secret is masked first.
    assert!(r.all().contains("::group::"), "{r:?}");
    assert!(
        r.all().contains(&format!("::add-mask::{SECRET_KEY}")),
        "{r:?}"
    );
    assert!(r.all().contains("::notice"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_changes_nothing() {
    let emu = emulator().await;
    let (site, files) = site();
    let r = run(deploy_cmd(&emu, site.path()).arg("--dry-run")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("dry run"), "{r:?}");
    assert!(
        r.stderr.contains(&format!("files     {}", files.len())),
        "{r:?}"
    );
    assert!(emu.jobs(APP, "main").is_empty());
    assert_eq!(
        count(&emu, "CreateDeployment") + count(&emu, "StartDeployment"),
        0
    );
}

/// A wiki-style, multilingual site: `:` in names, every script, emoji, and
/// `é` composed (NFC) and decomposed (NFD) as two different files.
pub const MULTILINGUAL: &[&str] = &[
    "index.html",
    "Cat\u{e9}gorie:Histoire.html",
    "sub/\u{e9}:index.html",
    "sub/index.html",
    "\u{627}\u{644}\u{639}\u{631}\u{628}\u{64a}\u{629}/\u{635}\u{641}\u{62d}\u{629}.html",
    "\u{939}\u{93f}\u{928}\u{94d}\u{926}\u{940}/\u{92a}\u{943}\u{937}\u{94d}\u{920}.html",
    "\u{4e2d}\u{6587}/\u{9996}\u{9875}.html",
    "\u{65e5}\u{672c}\u{8a9e}.html",
    "\u{420}\u{443}\u{441}\u{441}\u{43a}\u{438}\u{439}.html",
    "\u{5e2}\u{5d1}\u{5e8}\u{5d9}\u{5ea}.html",
    "\u{1f600} \u{1f44d}\u{1f3fd}.html",
    "caf\u{e9}.html",
    "cafe\u{301}.html",
    "Wiki:Main Page",
    "~user/#hash %20&?.html",
];

/// Writes [`MULTILINGUAL`], each file holding its own name.
pub fn multilingual_site() -> (
    tempfile::TempDir,
    std::collections::BTreeMap<String, Vec<u8>>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = std::collections::BTreeMap::new();
    for name in MULTILINGUAL {
        let data = format!("<p>{name}</p>\n").into_bytes();
        write(dir.path(), name, &data);
        files.insert((*name).to_owned(), data);
    }
    (dir, files)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multilingual_site_is_stored_and_served_under_its_exact_names() {
    let emu = emulator().await;
    let (site, files) = multilingual_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("packaged {} files", files.len())),
        "{r:?}"
    );
    assert_eq!(emu.deployed_files(APP, "main").expect("deployed"), files);
    let http = reqwest::Client::new();
    for (name, data) in &files {
        let path: Vec<String> = name
            .split('/')
            .map(|s| {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            })
            .collect();
        let url = format!("{}{}", emu.site_url(APP, "main"), path.join("/"));
        let response = http.get(&url).send().await.expect("site answers");
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(&response.bytes().await.unwrap()[..], &data[..], "{name}");
    }
}
