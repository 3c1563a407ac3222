//! role-to-assume end to end: the binary asks the fake Actions OIDC
//! endpoint for a token, trades it at the fake STS (reached through
//! `AWS_ENDPOINT_URL_STS`) for session credentials, and the emulator
//! accepts requests signed with them.

use crate::support::github::*;
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
