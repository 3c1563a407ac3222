//! role-to-assume end to end: the binary asks the fake Actions OIDC
//! endpoint for a token, trades it at the fake STS (reached through
//! `AWS_ENDPOINT_URL_STS`) for session credentials, and the emulator
//! accepts requests signed with them.

use std::time::Duration;

use crate::support::github::*;
use crate::support::net::SilentServer;
use crate::support::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/amplify-deploy";

/// An emulator that accepts only the fake STS's session credentials.
async fn sts_emulator() -> Emulator {
    emulator_with(Config {
        credentials: vec![Credential {
            access_key_id: STS_ACCESS_KEY.into(),
            secret_access_key: STS_SECRET_KEY.into(),
            session_token: Some(STS_SESSION_TOKEN.into()),
        }],
        ..Config::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn role_to_assume_with_the_workflow_oidc_token() {
    let emu = sts_emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let runner_temp = tempfile::tempdir().unwrap();
    let mut c = deploy_cmd(&emu, site.path());
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_RUN_ID", "4242")
        .env("RUNNER_TEMP", runner_temp.path())
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", gh.oidc_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", OIDC_REQUEST_TOKEN)
        .env("AWS_ENDPOINT_URL_STS", gh.url())
        .env("AMPLIFY_ROLE_TO_ASSUME", ROLE);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);

    // The OIDC request: the runner's bearer, audience sts.amazonaws.com.
    let oidc: Vec<_> = gh
        .requests()
        .into_iter()
        .filter(|q| q.path == "/oidc")
        .collect();
    assert_eq!(oidc.len(), 1, "{oidc:?}");
    assert!(oidc[0].query.contains("audience=sts.amazonaws.com"));
    assert!(oidc[0].query.contains("api-version=2.0"));
    // STS got the token and the role, with a session name from the run.
    let calls = gh.state().sts_calls.clone();
    assert!(!calls.is_empty());
    assert_eq!(calls[0]["RoleArn"], ROLE);
    assert_eq!(calls[0]["WebIdentityToken"], OIDC_JWT);
    assert_eq!(calls[0]["RoleSessionName"], "amplify-deploy-4242");
    // Every Amplify call was signed with the session credentials.
    let api: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|q| q.operation != "Upload" && q.operation != "Site")
        .collect();
    assert!(!api.is_empty());
    for q in &api {
        assert_eq!(q.status / 100, 2, "{q:?}");
        let header = |n: &str| {
            q.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("x-amz-security-token"), Some(STS_SESSION_TOKEN));
        assert!(header("authorization").unwrap().contains(STS_ACCESS_KEY));
    }
    // Secrets are masked first and never printed otherwise.
    for secret in [STS_SECRET_KEY, STS_SESSION_TOKEN, OIDC_JWT] {
        assert!(
            r.stderr.contains(&format!("::add-mask::{secret}")),
            "{secret}: {r:?}"
        );
    }
    let shown: String = r
        .all()
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    for secret in [
        STS_SECRET_KEY,
        STS_SESSION_TOKEN,
        OIDC_JWT,
        OIDC_REQUEST_TOKEN,
    ] {
        assert!(!shown.contains(secret), "secret printed: {r:?}");
    }
    // The token file written under RUNNER_TEMP is gone.
    assert_eq!(std::fs::read_dir(runner_temp.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_role_is_a_clear_error() {
    let emu = sts_emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.env("GITHUB_ACTIONS", "true")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", gh.oidc_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong-bearer")
        .env("AWS_ENDPOINT_URL_STS", gh.url())
        .env("AMPLIFY_ROLE_TO_ASSUME", ROLE);
    let r = run(&mut c).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("OIDC token"), "{r:?}");
    assert!(emu.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn role_to_assume_without_id_token_permission_names_it() {
    let emu = sts_emulator().await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.env("GITHUB_ACTIONS", "true")
        .env("AMPLIFY_ROLE_TO_ASSUME", ROLE);
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("id-token: write"), "{r:?}");
    assert!(r.stderr.contains("ACTIONS_ID_TOKEN_REQUEST_URL"), "{r:?}");
    assert!(emu.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn role_to_assume_with_a_token_file_as_gitlab_provides() {
    let emu = sts_emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let dir = tempfile::tempdir().unwrap();
    let token_file = write(dir.path(), "id_token", OIDC_JWT.as_bytes());
    let mut c = deploy_cmd(&emu, site.path());
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_ENDPOINT_URL_STS", gh.url())
        .args(["--role-to-assume", ROLE]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
    assert_eq!(gh.state().sts_calls[0]["WebIdentityToken"], OIDC_JWT);
    // The CI system's file is left alone.
    assert!(token_file.exists());
}

/// An emulator that accepts only what the fake STS issues, each for its
/// lifetime; jobs take `job` to finish.
async fn expiring_sts(job: Duration, ttl: Duration) -> (Emulator, FakeGitHub) {
    let emu = emulator_with(Config {
        credentials: Vec::new(),
        job_duration: job,
        ..Config::default()
    })
    .await;
    let gh = FakeGitHub::start().await;
    gh.issue_session_credentials(emu.session_credentials(), ttl);
    (emu, gh)
}

/// `deploy_cmd` assuming ROLE with the workflow's OIDC token from `gh`.
fn role_cmd(emu: &Emulator, gh: &FakeGitHub, site: &std::path::Path) -> std::process::Command {
    let mut c = deploy_cmd(emu, site);
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_RUN_ID", "4242")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", gh.oidc_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", OIDC_REQUEST_TOKEN)
        .env("AWS_ENDPOINT_URL_STS", gh.url())
        .env("AMPLIFY_ROLE_TO_ASSUME", ROLE);
    c
}

fn header<'a>(q: &'a amplify_emulator::RequestRecord, name: &str) -> Option<&'a str> {
    q.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Credentials that live 10 s, a job that runs 30 s, a cancel at the end
/// (--timeout 25s): every call is signed with valid credentials, StopJob
/// with fresh ones, and STS is called about once per lifetime, each time
/// with a fresh OIDC token, not once per request.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_that_expire_mid_run_are_renewed_before_they_expire() {
    let (emu, gh) = expiring_sts(Duration::from_secs(30), Duration::from_secs(10)).await;
    let site = tiny_site();
    let mut c = role_cmd(&emu, &gh, site.path());
    c.args(["--timeout", "25s", "--poll-interval", "100ms"]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 4, "{r:?}");
    let statuses = job_statuses(&emu, "main");
    assert!(
        statuses == ["CANCELLED"] || statuses == ["CANCELLING"],
        "{statuses:?} {r:?}"
    );
    assert!(r.stderr.contains("stopped job"), "{r:?}");

    let api: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|q| q.operation != "Upload" && q.operation != "Site")
        .collect();
    // No call was refused: none went out with expired credentials.
    for q in &api {
        assert_eq!(q.status / 100, 2, "{q:?}\n{r:?}");
    }
    let sts_calls = gh.state().sts_calls.len();
    let oidc_calls = gh.requests().iter().filter(|q| q.path == "/oidc").count();
    // 25 s of 10 s credentials renewed 2.5 s before they end: 4 calls.
    assert!((3..=5).contains(&sts_calls), "{sts_calls} STS calls");
    assert_eq!(oidc_calls, sts_calls, "one fresh OIDC token per STS call");
    assert!(api.len() > 50, "{} API calls", api.len());
    // StopJob carries the newest credentials, not the first ones.
    let stop = api
        .iter()
        .find(|q| q.operation == "StopJob")
        .expect("StopJob");
    let newest = issued_access_key(sts_calls);
    assert!(
        header(stop, "authorization").unwrap().contains(&newest),
        "{stop:?}"
    );
    assert_ne!(newest, issued_access_key(1));
    // Each STS call asked for the default lifetime.
    for call in &gh.state().sts_calls {
        assert_eq!(call["DurationSeconds"], "3600");
    }
    // Every issued secret was masked before use.
    for n in 1..=sts_calls {
        let secret = format!("{STS_SECRET_KEY}{n}");
        assert!(r.stderr.contains(&format!("::add-mask::{secret}")), "{n}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn role_options_reach_oidc_and_sts() {
    let emu = sts_emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let mut c = role_cmd(&emu, &gh, site.path());
    c.env("INPUT_ROLE-SESSION-NAME", "site@octo.deploy")
        .env("INPUT_ROLE-DURATION-SECONDS", "900")
        .args(["--audience", "sts.amazonaws.com"]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let calls = gh.state().sts_calls.clone();
    assert_eq!(calls[0]["RoleSessionName"], "site@octo.deploy");
    assert_eq!(calls[0]["DurationSeconds"], "900");
    assert_eq!(calls[0]["Version"], "2011-06-15");

    // Another audience is passed to GitHub (which the fake refuses).
    let mut c = role_cmd(&emu, &gh, site.path());
    c.env("AMPLIFY_AUDIENCE", "my-audience");
    let r = run(&mut c).await;
    assert_eq!(r.code, 3, "{r:?}");
    let last = gh
        .requests()
        .into_iter()
        .rfind(|q| q.path == "/oidc")
        .unwrap();
    assert!(last.query.contains("audience=my-audience"), "{last:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_role_options_are_input_errors() {
    let emu = sts_emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    for (flag, value, named) in [
        ("--role-duration-seconds", "899", "--role-duration-seconds"),
        (
            "--role-duration-seconds",
            "43201",
            "--role-duration-seconds",
        ),
        ("--role-duration-seconds", "1h", "--role-duration-seconds"),
        ("--role-session-name", "a b", "role-session-name"),
        ("--role-session-name", "x", "role-session-name"),
    ] {
        let mut c = role_cmd(&emu, &gh, site.path());
        c.args([flag, value]);
        let r = run(&mut c).await;
        assert_eq!(r.code, 2, "{flag} {value}: {r:?}");
        assert!(r.stderr.contains(named), "{flag} {value}: {r:?}");
    }
    assert!(gh.state().sts_calls.is_empty());
    assert!(emu.requests().is_empty());
}

/// `--timeout` bounds getting credentials: an OIDC endpoint or an STS
/// that accepts the connection and never answers ends the run with exit 4
/// in about `--timeout`.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_oidc_endpoint_or_sts_is_bounded_by_the_timeout() {
    let emu = sts_emulator().await;
    let gh = FakeGitHub::start().await;
    let silent = SilentServer::start().await;
    let site = tiny_site();
    for hang in ["oidc", "sts"] {
        let mut c = role_cmd(&emu, &gh, site.path());
        match hang {
            "oidc" => c.env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                format!("{}/oidc?api-version=2.0", silent.url()),
            ),
            _ => c.env("AWS_ENDPOINT_URL_STS", silent.url()),
        };
        c.args(["--timeout", "3s"]);
        let (r, took) = run_within(&mut c, Duration::from_secs(30)).await;
        assert_eq!(r.code, 4, "{hang}: {r:?}");
        assert!(took < Duration::from_secs(8), "{hang}: took {took:?}");
        assert!(r.stderr.contains("timed out after 3s"), "{hang}: {r:?}");
    }
    assert_eq!(silent.accepted(), 2);
    assert!(emu.requests().is_empty());
}

/// A job that outlives three credential lifetimes succeeds: every poll, and
/// the last GetJob, go out with credentials that are still valid.
#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_longer_than_its_credentials_succeeds() {
    let (emu, gh) = expiring_sts(Duration::from_secs(14), Duration::from_secs(4)).await;
    let site = tiny_site();
    let mut c = role_cmd(&emu, &gh, site.path());
    c.args(["--poll-interval", "200ms"]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
    for q in emu.requests() {
        assert!(q.status / 100 == 2, "{q:?}\n{r:?}");
    }
    let sts_calls = gh.state().sts_calls.len();
    assert!(
        sts_calls >= 4,
        "{sts_calls} STS calls for 14 s of 4 s credentials"
    );
    let oidc_calls = gh.requests().iter().filter(|q| q.path == "/oidc").count();
    assert_eq!(oidc_calls, sts_calls, "one fresh OIDC token per STS call");
}

/// The standard chain's instance metadata (IMDS) that accepts and never
/// answers does not hold the run: it ends within the timeout, before any
/// Amplify call, with a credentials error or the timeout.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_instance_metadata_service_is_bounded() {
    let emu = emulator().await;
    let silent = SilentServer::start().await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", silent.url())
        .args(["--timeout", "5s"]);
    let (r, took) = run_within(&mut c, Duration::from_secs(60)).await;
    assert!(r.code == 3 || r.code == 4, "{r:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {r:?}");
    assert!(silent.accepted() >= 1, "IMDS was not asked: {r:?}");
    assert!(emu.requests().is_empty());
}
