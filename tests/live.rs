//! The real URL (custom domains, `urls`), the live check against the
//! emulator's sites (served by Host name, pointed at with --resolve), and
//! basic auth on the branch.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use amplify_emulator::Emulator;
use serde_json::Value;

use crate::support::*;

/// `deploy_cmd` with the live check on, its requests sent to the emulator.
fn checked(emu: &Emulator, site: &Path, mode: &str) -> Command {
    let mut c = deploy_cmd(emu, site);
    c.args(["--verify", mode])
        .env("AMPLIFY_VERIFY_TIMEOUT", "10s")
        .env("AMPLIFY_RESOLVE", format!("*={}", emu.endpoint()));
    c
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).expect("json report")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_custom_domain_is_the_url_and_urls_lists_them_all() {
    let emu = emulator().await;
    emu.set_custom_domains(
        APP,
        "main",
        &["https://www.example.com/", "shop.example.com"],
    );
    let site = tiny_site();
    let out = tempfile::tempdir().unwrap();
    let mut c = checked(&emu, site.path(), "strict");
    c.arg("--json")
        .arg(out.path().join("r.json"))
        .arg("--dotenv")
        .arg(out.path().join("r.env"))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", out.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", out.path().join("summary"));
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let all = "https://main.d1test.amplifyapp.com https://www.example.com https://shop.example.com";
    let output = read(&out.path().join("output"));
    assert!(output.contains("url=https://www.example.com\n"), "{output}");
    assert!(output.contains(&format!("urls={all}\n")), "{output}");
    let env = read(&out.path().join("r.env"));
    assert!(
        env.contains("AMPLIFY_URL=https://www.example.com\n"),
        "{env}"
    );
    assert!(env.contains(&format!("AMPLIFY_URLS={all}\n")), "{env}");
    let j = json(&out.path().join("r.json"));
    assert_eq!(j["url"], "https://www.example.com");
    let urls: Vec<&str> = all.split(' ').collect();
    assert_eq!(j["urls"], serde_json::json!(urls));
    // The check fetched the custom domain (by Host name) and found the page.
    assert_eq!(j["verify"]["result"], "served", "{j}");
    let summary = read(&out.path().join("summary"));
    assert!(summary.contains("(https://www.example.com)"), "{summary}");
    assert!(
        summary.contains("Live check | new content served after"),
        "{summary}"
    );
    assert!(
        r.stderr
            .contains("deployed d1test/main job 1: https://www.example.com"),
        "{r:?}"
    );
}

/// Deploy `body` as the site's index.html, the check off.
async fn deploy_page(emu: &Emulator, body: &str) {
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "index.html", body.as_bytes());
    let r = run(&mut deploy_cmd(emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_that_serves_the_old_page_for_a_while_is_waited_for() {
    let emu = emulator().await;
    deploy_page(&emu, "<h1>old</h1>").await;
    emu.set_site_lag(Duration::from_secs(2));
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "index.html", b"<h1>new</h1>");
    let out = tempfile::tempdir().unwrap();
    let mut c = checked(&emu, site.path(), "warn");
    c.arg("--json").arg(out.path().join("r.json"));
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let j = json(&out.path().join("r.json"));
    assert_eq!(j["verify"]["result"], "served", "{j}");
    let seconds = j["verify"]["seconds"].as_f64().unwrap();
    assert!((1.9..8.0).contains(&seconds), "{j}");
    assert!(
        r.stderr.contains("live check: new content served after"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("warning"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_that_never_updates_warns_or_exits_5() {
    let emu = emulator().await;
    deploy_page(&emu, "<h1>old</h1>").await;
    emu.set_site_lag(Duration::MAX);
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "index.html", b"<h1>new</h1>");
    let out = tempfile::tempdir().unwrap();
    let mut c = checked(&emu, site.path(), "warn");
    c.args(["--verify-timeout", "2s", "--json"])
        .arg(out.path().join("r.json"));
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(
            "warning: https://main.d1test.amplifyapp.com/ does not serve the new content after"
        ),
        "{r:?}"
    );
    let j = json(&out.path().join("r.json"));
    assert_eq!(j["verify"]["result"], "not_served", "{j}");
    assert_eq!(j["status"], "SUCCEED", "{j}");

    // `true` reads as strict.
    write(site.path(), "index.html", b"<h1>newer</h1>");
    let mut c = checked(&emu, site.path(), "true");
    c.args(["--verify-timeout", "2s", "--json"])
        .arg(out.path().join("r.json"));
    let r = run(&mut c).await;
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("error: deployed, but the site does not serve it yet"),
        "{r:?}"
    );
    let j = json(&out.path().join("r.json"));
    assert_eq!(j["verify"]["result"], "not_served", "{j}");
}

const PASSWORD: &str = "pw-S3cret:with:colons";

/// No trace of the password or its base64 form anywhere the run wrote,
/// `::add-mask::` lines aside.
fn assert_hidden(texts: &[String], encoded: &str) {
    for text in texts {
        let shown: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect();
        let shown = shown.join("\n");
        assert!(!shown.contains(PASSWORD), "password shown: {text}");
        assert!(!shown.contains(encoded), "credentials shown: {text}");
    }
}

fn base64_of(user: &str) -> String {
    // RFC 4648 alphabet, padded: enough for the test's credentials.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data = format!("{user}:{PASSWORD}").into_bytes();
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            s.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_is_set_on_creation_updated_when_it_differs_and_sent_by_the_check() {
    let emu = emulator().await;
    let site = tiny_site();
    let out = tempfile::tempdir().unwrap();
    let deploy = |user: &str| {
        let mut c = cmd(&emu);
        c.args(["deploy", "--app-id", APP, "--branch", "protected", "--path"])
            .arg(site.path())
            .args(["--verify", "strict"])
            .env("AMPLIFY_RESOLVE", format!("*={}", emu.endpoint()));
        c.arg("--create-branch")
            .arg("--json")
            .arg(out.path().join("r.json"))
            .arg("--dotenv")
            .arg(out.path().join("r.env"))
            .env("AMPLIFY_BASIC_AUTH", format!("{user}:{PASSWORD}"))
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", out.path().join("output"))
            .env("GITHUB_STEP_SUMMARY", out.path().join("summary"));
        c
    };
    let files = |r: &Run| {
        let mut texts = vec![r.stdout.clone(), r.stderr.clone()];
        for f in ["r.json", "r.env", "output", "summary"] {
            texts.push(read(&out.path().join(f)));
        }
        texts
    };

    let r = run(&mut deploy("alice")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(emu.basic_auth(APP, "protected"), Some(base64_of("alice")));
    assert!(
        r.stderr.contains("basic auth set on branch protected"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains(&format!("::add-mask::{PASSWORD}")),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains(&format!("::add-mask::{}", base64_of("alice"))),
        "{r:?}"
    );
    // The site answers 401 without the credentials: the check sent them.
    assert_eq!(
        json(&out.path().join("r.json"))["verify"]["result"],
        "served"
    );
    assert_hidden(&files(&r), &base64_of("alice"));

    let r = run(&mut deploy("bob")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(emu.basic_auth(APP, "protected"), Some(base64_of("bob")));
    assert!(
        r.stderr.contains("basic auth updated on branch protected"),
        "{r:?}"
    );
    assert_eq!(count(&emu, "UpdateBranch"), 1);
    assert_hidden(&files(&r), &base64_of("bob"));

    let r = run(&mut deploy("bob")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        count(&emu, "UpdateBranch"),
        1,
        "same credentials: no update"
    );
    assert_eq!(
        json(&out.path().join("r.json"))["verify"]["result"],
        "served"
    );
}

/// The check's skip notice and the `verify` it reports.
async fn skipped(c: &mut Command, out: &Path, why: &str) {
    c.arg("--json").arg(out.join("r.json"));
    let r = run(c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(&format!("live check skipped: {why}")),
        "{r:?}"
    );
    let j = json(&out.join("r.json"));
    assert_eq!(j["verify"]["result"], "skipped", "{j}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_check_is_skipped_when_there_is_nothing_to_compare_or_no_credentials() {
    let emu = emulator().await;
    let site = tiny_site();
    let out = tempfile::tempdir().unwrap();
    let mut c = checked(&emu, site.path(), "strict");
    c.arg("--no-wait");
    skipped(
        &mut c,
        out.path(),
        "the run does not wait for the job (--no-wait)",
    )
    .await;
    // Let that job end before the next deploy.
    for _ in 0..200 {
        if job_statuses(&emu, "main").iter().all(|s| s == "SUCCEED") {
            break;
        }
        sleep_ms(50).await;
    }

    let mut c = checked(&emu, site.path(), "strict");
    c.args(["--verify-path", "/docs/"]);
    skipped(
        &mut c,
        out.path(),
        "nothing to compare: the package has no docs/index.html",
    )
    .await;

    let mut c = cmd(&emu);
    c.args([
        "deploy", "--app-id", APP, "--branch", "main", "--verify", "strict",
    ])
    .args([
        "--source-url",
        "s3://my-bucket/site/",
        "--source-url-type",
        "BUCKET_PREFIX",
    ])
    .env("AMPLIFY_RESOLVE", format!("*={}", emu.endpoint()));
    skipped(
        &mut c,
        out.path(),
        "nothing to compare: the site came from --source-url",
    )
    .await;

    emu.set_basic_auth(APP, "main", Some("c29tZW9uZTplbHNl"));
    let mut c = checked(&emu, site.path(), "strict");
    skipped(
        &mut c,
        out.path(),
        "the branch or app has basic auth and no --basic-auth was given",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_verify_and_basic_auth_values_are_input_errors_naming_the_input() {
    let emu = emulator().await;
    let site = tiny_site();
    let mut c = checked(&emu, site.path(), "maybe");
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--verify"), "{r:?}");

    let mut c = checked(&emu, site.path(), "warn");
    c.env("AMPLIFY_BASIC_AUTH", "no-colon-secret");
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("basic-auth must be USER:PASSWORD"),
        "{r:?}"
    );
    assert!(!r.all().contains("no-colon-secret"), "{r:?}");
    assert!(operations(&emu).is_empty(), "nothing reached the service");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pull_request_comment_links_the_custom_domain() {
    let pr = crate::preview::Pr::start().await;
    pr.emu
        .set_custom_domains(APP, "pr-7", &["pr-7.preview.example.com"]);
    let r = run(&mut pr.cmd(
        "opened",
        crate::preview::SHA1,
        crate::support::github::REPO,
        crate::support::github::WRITE_TOKEN,
    ))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let comments = pr.gh.comments(7);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0]
            .body
            .contains("https://pr-7.preview.example.com"),
        "{}",
        comments[0].body
    );
}
