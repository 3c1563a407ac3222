//! Input handling: every bad input is a one-line error naming the input,
//! exit code 2, and nothing reaches the service.

use crate::support::*;

async fn bad(emu: &Emulator, args: &[&str], expect: &str) {
    let mut c = cmd(emu);
    c.args(args);
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{args:?}: {r:?}");
    let first = r
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        first.contains(expect),
        "{args:?}: expected {expect:?} in {r:?}"
    );
    assert!(!r.stderr.contains("panicked"), "{r:?}");
    assert!(
        emu.requests().is_empty(),
        "{args:?} reached the service: {:?}",
        operations(emu)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_refused_before_the_network() {
    let emu = emulator().await;
    let site = tiny_site();
    let p = site.path().to_str().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let e = empty.path().to_str().unwrap();
    let file = site.path().join("index.html");
    let f = file.to_str().unwrap();
    let long = "b".repeat(256);
    // Each case: the arguments after `deploy`, and what the error names.
    // Most add to a valid app and branch.
    fn target<'a>(rest: &[&'a str]) -> Vec<&'a str> {
        [&["--app-id", APP, "--branch", "main"], rest].concat()
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--branch", "main", "--path", p], "app-id"),
        (
            vec!["--app-id", "X1", "--branch", "main", "--path", p],
            "app-id",
        ),
        (
            vec![
                "--app-id",
                "d123456789012345678901",
                "--branch",
                "main",
                "--path",
                p,
            ],
            "app-id",
        ),
        (vec!["--app-id", APP, "--path", p], "branch"),
        (
            vec!["--app-id", APP, "--branch", &long, "--path", p],
            "branch",
        ),
        (target(&[]), "path"),
        (target(&["--path", "/no/such/dir"]), "/no/such/dir"),
        (target(&["--path", f]), "not a directory"),
        (target(&["--path", e]), "no files"),
        (target(&["--source-url", "ftp://x/y"]), "source-url"),
        (target(&["--path", p, "--timeout", "soon"]), "timeout"),
        (target(&["--path", p, "--on-busy", "maybe"]), "on-busy"),
        (target(&["--path", p, "--region", "Not A Region"]), "region"),
        (target(&["--path", p, "--threads", "0"]), "threads"),
        (
            target(&["--path", p, "--role-to-assume", "deployer"]),
            "role-to-assume",
        ),
    ];
    for (args, expect) in cases {
        let mut all = vec!["deploy"];
        all.extend(args);
        bad(&emu, &all, expect).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn github_action_inputs_deploy_without_a_subcommand() {
    let emu = emulator().await;
    let site = tiny_site();
    let mut c = cmd(&emu);
    c.env("INPUT_APP-ID", APP)
        .env("INPUT_BRANCH", "main")
        .env("INPUT_PATH", site.path())
        .env("INPUT_WAIT", "true")
        .env("INPUT_SOURCE-URL", "")
        .env("INPUT_ON_BUSY", "fail");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn amplify_variables_work_for_other_ci_systems() {
    let emu = emulator().await;
    let site = tiny_site();
    let mut c = cmd(&emu);
    c.arg("deploy")
        .env("AMPLIFY_APP_ID", APP)
        .env("AMPLIFY_BRANCH", "main")
        .env("AMPLIFY_PATH", site.path())
        .env("AMPLIFY_WAIT", "false");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&emu, "GetJob"), 0, "AMPLIFY_WAIT=false must not wait");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_amplify_endpoint_variable_wins_over_the_general_one() {
    let emu = emulator().await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    // Nothing listens on port 9 of 127.0.0.1: the general variable must lose.
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL_AMPLIFY", emu.endpoint());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn region_and_credentials_come_from_the_aws_chain() {
    let emu = emulator_with(Config {
        region: "ap-south-1".into(),
        ..Config::default()
    })
    .await;
    let site = tiny_site();
    let aws = tempfile::tempdir().unwrap();
    let config = write(aws.path(), "config", b"[profile ci]\nregion = ap-south-1\n");
    let credentials = write(
        aws.path(),
        "credentials",
        format!("[ci]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
            .as_bytes(),
    );
    // The profile's region and keys, with no AWS_* keys or region in the environment.
    let mut c = deploy_cmd(&emu, site.path());
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_PROFILE", "ci")
        .arg("--json");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["region"], "ap-south-1");

    // AWS_DEFAULT_REGION is read too, and AWS_REGION wins over it.
    let mut c = deploy_cmd(&emu, site.path());
    c.env_remove("AWS_REGION")
        .env("AWS_DEFAULT_REGION", "ap-south-1");
    assert_eq!(run(&mut c).await.code, 0);
    let mut c = deploy_cmd(&emu, site.path());
    c.env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "ap-south-1");
    let r = run(&mut c).await;
    assert_eq!(
        r.code, 3,
        "the emulator only takes ap-south-1 signatures: {r:?}"
    );
}

/// The standard chain's web identity provider (`AWS_ROLE_ARN` with
/// `AWS_WEB_IDENTITY_TOKEN_FILE`, as GitLab and EKS set them) reaches STS
/// through the HTTP client the program gives aws-config (`src/http/sdk.rs`;
/// aws-config has no client of its own in this build): the fake STS gets
/// the call and the session credentials sign the Amplify requests.
#[tokio::test(flavor = "multi_thread")]
async fn web_identity_from_the_standard_chain_assumes_the_role() {
    use crate::support::github::*;
    let emu = emulator_with(Config {
        credentials: vec![Credential {
            access_key_id: STS_ACCESS_KEY.into(),
            secret_access_key: STS_SECRET_KEY.into(),
            session_token: Some(STS_SESSION_TOKEN.into()),
        }],
        ..Config::default()
    })
    .await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let dir = tempfile::tempdir().unwrap();
    let token_file = write(dir.path(), "id_token", OIDC_JWT.as_bytes());
    let mut c = deploy_cmd(&emu, site.path());
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/from-env")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_ENDPOINT_URL_STS", gh.url());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
    let calls = gh.state().sts_calls.clone();
    assert!(!calls.is_empty());
    assert_eq!(
        calls[0]["RoleArn"],
        "arn:aws:iam::123456789012:role/from-env"
    );
    assert_eq!(calls[0]["WebIdentityToken"], OIDC_JWT);
}
