//! Transport as networks make it: redirects, runaway answers, a
//! corporate CA (`AWS_CA_BUNDLE`, a profile's `ca_bundle`) and a
//! forwarding proxy (`HTTP(S)_PROXY`, `NO_PROXY`).

use std::process::Command;
use std::time::Duration;

use crate::support::github::*;
use crate::support::net::*;
use crate::support::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/amplify-deploy";

fn api_requests(emu: &Emulator) -> Vec<amplify_emulator::RequestRecord> {
    emu.requests()
        .into_iter()
        .filter(|q| q.operation != "Upload" && q.operation != "Site")
        .collect()
}

/// A 3xx on the presigned upload URL is not followed (a 302/303 would turn
/// the PUT into a GET that "succeeds" without uploading anything): the
/// run fails naming the status, the job is never started and is stopped.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_on_the_upload_url_is_an_error_naming_the_status() {
    for status in [302, 307] {
        let emu = emulator().await;
        emu.push_fault(fault(
            "Upload",
            1,
            FaultAction::Redirect {
                status,
                location: "http://127.0.0.1:9/elsewhere?X-Amz-Signature=secretsig".into(),
            },
        ));
        let site = tiny_site();
        let r = run(&mut deploy_cmd(&emu, site.path())).await;
        assert_eq!(r.code, 3, "{status}: {r:?}");
        assert!(
            r.stderr.contains(&format!("HTTP {status}")) && r.stderr.contains("redirect"),
            "{status}: {r:?}"
        );
        assert!(!r.all().contains("secretsig"), "{r:?}");
        // One upload attempt, not retried and not followed; nothing started.
        assert_eq!(count(&emu, "Upload"), 1, "{status}");
        assert_eq!(count(&emu, "StartDeployment"), 0, "{status}");
        assert_eq!(count(&emu, "StopJob"), 1, "{status}: {r:?}");
        let statuses = job_statuses(&emu, "main");
        assert_eq!(statuses.len(), 1);
        assert_ne!(statuses[0], "SUCCEED");
    }
}

/// A runaway API answer is read only up to the cap: the run fails with an
/// error naming it, and the process stays small. Peak memory is measured
/// with GNU time.
#[tokio::test(flavor = "multi_thread")]
async fn a_huge_api_answer_is_refused_at_the_cap() {
    const HUGE: u64 = 256 * 1024 * 1024;
    let emu = emulator().await;
    emu.push_fault(fault("GetBranch", 1, FaultAction::HugeBody { bytes: HUGE }));
    emu.push_fault(Fault::new(None, FaultAction::HugeBody { bytes: HUGE }));
    let site = tiny_site();
    let direct = deploy_cmd(&emu, site.path());
    let timed = std::path::Path::new("/usr/bin/time").exists();
    let mut c = if timed {
        // The same command under GNU time, which prints the peak RSS.
        let mut c = Command::new("/usr/bin/time");
        c.env_clear()
            .args(["-f", "maxrss_kib=%M"])
            .arg(direct.get_program())
            .args(direct.get_args());
        for (k, v) in direct.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        c
    } else {
        direct
    };
    let r = run(&mut c).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("larger than 4 MiB"), "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 0, "{r:?}");
    if timed {
        let kib: u64 = r
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("maxrss_kib="))
            .and_then(|v| v.trim().parse().ok())
            .expect("GNU time's report");
        eprintln!("peak RSS of the binary: {kib} KiB");
        assert!(kib < 64 * 1024, "peak RSS {kib} KiB for a 256 MiB answer");
    }
}

/// The proxy sees every request (Amplify API, upload, OIDC token, STS)
/// with HTTP_PROXY set, and none with NO_PROXY matching the host.
/// reqwest has no built-in exception for 127.0.0.1 or localhost: only
/// NO_PROXY keeps local traffic off the proxy.
#[tokio::test(flavor = "multi_thread")]
async fn proxy_variables_route_every_client_and_no_proxy_exempts() {
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
    let proxy = RecordingProxy::start().await;
    let site = tiny_site();
    let role_cmd = || {
        let mut c = deploy_cmd(&emu, site.path());
        c.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("GITHUB_ACTIONS", "true")
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", gh.oidc_url())
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", OIDC_REQUEST_TOKEN)
            .env("AWS_ENDPOINT_URL_STS", gh.url())
            .env("AMPLIFY_ROLE_TO_ASSUME", ROLE)
            .env("HTTP_PROXY", proxy.url())
            .env("HTTPS_PROXY", proxy.url());
        c
    };
    let r = run(&mut role_cmd()).await;
    assert_eq!(r.code, 0, "{r:?}");
    let seen = proxy.seen();
    let through = |what: &str| seen.iter().any(|p| p.target.contains(what));
    assert!(through(&format!("{}/oidc", gh.url())), "OIDC: {seen:?}");
    assert!(
        seen.iter()
            .any(|p| p.method == "POST" && p.target == format!("{}/", gh.url())),
        "STS: {seen:?}"
    );
    assert!(
        through(&format!("{}/apps/{APP}/branches/main", emu.endpoint())),
        "API: {seen:?}"
    );
    assert!(through("/__upload/"), "upload: {seen:?}");
    // Everything the emulator got came through the proxy.
    assert_eq!(
        seen.iter()
            .filter(|p| p.target.starts_with(&emu.endpoint()))
            .count(),
        emu.requests().len()
    );

    // NO_PROXY matching the host: nothing goes through the proxy.
    let before = proxy.seen().len();
    let mut c = role_cmd();
    c.env("NO_PROXY", "127.0.0.1");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(proxy.seen().len(), before, "{:?}", proxy.seen());
}

/// HTTPS through the proxy is tunnelled with CONNECT.
#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_tunnels_tls_endpoints() {
    let emu = emulator().await;
    let ca = TestCa::create();
    let front = TlsFront::start(&ca, &emu.endpoint()).await;
    let proxy = RecordingProxy::start().await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.env("AWS_ENDPOINT_URL", front.url())
        .env("AWS_CA_BUNDLE", ca.ca_pem())
        .env("HTTPS_PROXY", proxy.url());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let host = front.url().trim_start_matches("https://").to_owned();
    assert!(
        proxy
            .seen()
            .iter()
            .any(|p| p.method == "CONNECT" && p.target == host),
        "{:?}",
        proxy.seen()
    );
}

/// A corporate CA: without AWS_CA_BUNDLE the Amplify API over TLS fails
/// with UnknownIssuer; with it (or a profile's ca_bundle) the deploy
/// succeeds, and STS is reached through the same trust roots.
#[tokio::test(flavor = "multi_thread")]
async fn aws_ca_bundle_and_profile_ca_bundle_are_trusted() {
    let emu = emulator_with(Config {
        credentials: vec![
            Credential {
                access_key_id: ACCESS_KEY.into(),
                secret_access_key: SECRET_KEY.into(),
                session_token: None,
            },
            Credential {
                access_key_id: STS_ACCESS_KEY.into(),
                secret_access_key: STS_SECRET_KEY.into(),
                session_token: Some(STS_SESSION_TOKEN.into()),
            },
        ],
        ..Config::default()
    })
    .await;
    let gh = FakeGitHub::start().await;
    let ca = TestCa::create();
    let amplify = TlsFront::start(&ca, &emu.endpoint()).await;
    let sts = TlsFront::start(&ca, &gh.url()).await;
    let site = tiny_site();
    let tls_cmd = || {
        let mut c = deploy_cmd(&emu, site.path());
        c.env("AWS_ENDPOINT_URL", amplify.url());
        c
    };

    let r = run(&mut tls_cmd()).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("UnknownIssuer"), "{r:?}");

    let mut c = tls_cmd();
    c.env("AWS_CA_BUNDLE", ca.ca_pem());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(amplify.handshakes() > 0);

    // The profile's ca_bundle, as the AWS CLI reads it.
    let dir = tempfile::tempdir().unwrap();
    let config = aws_config_file(
        dir.path(),
        &format!("ca_bundle = {}", ca.ca_pem().display()),
    );
    let mut c = tls_cmd();
    c.env("AWS_CONFIG_FILE", &config);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");

    // STS over TLS: refused without the bundle, trusted with it.
    let role = |bundle: bool| {
        let mut c = tls_cmd();
        c.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env(
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                write(dir.path(), "token", OIDC_JWT.as_bytes()),
            )
            .env("AWS_ENDPOINT_URL_STS", sts.url())
            .env("AMPLIFY_ROLE_TO_ASSUME", ROLE);
        if bundle {
            c.env("AWS_CA_BUNDLE", ca.ca_pem());
        }
        c
    };
    let r = run(&mut role(false)).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("UnknownIssuer"), "{r:?}");
    assert!(gh.state().sts_calls.is_empty());
    let r = run(&mut role(true)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(gh.state().sts_calls.len(), 1);
    assert!(sts.handshakes() > 0);
    let signed_by_sts = api_requests(&emu)
        .iter()
        .filter(|q| {
            q.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v.contains(STS_ACCESS_KEY))
        })
        .count();
    assert!(signed_by_sts > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_or_empty_ca_bundle_is_an_input_error() {
    let emu = emulator().await;
    let site = tiny_site();
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.pem", b"not a certificate\n");
    for (bundle, expect) in [
        (dir.path().join("missing.pem"), "cannot read AWS_CA_BUNDLE"),
        (empty, "holds no PEM certificate"),
    ] {
        let mut c = deploy_cmd(&emu, site.path());
        c.env("AWS_CA_BUNDLE", &bundle);
        let r = run(&mut c).await;
        assert_eq!(r.code, 2, "{r:?}");
        assert!(r.stderr.contains(expect), "{r:?}");
    }
    assert!(emu.requests().is_empty());
}

/// Every command that calls a service holds `--timeout` against a service
/// that accepts and never answers, and names the call it waited for:
/// exit 4, never "bad input", never the retry loop's 120 s.
#[tokio::test(flavor = "multi_thread")]
async fn every_command_gives_up_at_its_timeout_naming_the_silent_call() {
    let emu = emulator().await;
    let silent = SilentServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let redirects = write(dir.path(), "_redirects", b"/a /b 301\n");
    let target = ["--app-id", APP, "--branch", "main"];
    let commands: Vec<Vec<&str>> = vec![
        [&["status"][..], &target].concat(),
        [&["stop"][..], &target].concat(),
        [&["delete-branch"][..], &target].concat(),
        [&["delete-job", "--job-id", "1"][..], &target].concat(),
        [&["history"][..], &target].concat(),
        [&["lock"][..], &target].concat(),
        [&["unlock"][..], &target].concat(),
        vec!["previews", "list", "--app-id", APP],
        vec!["previews", "prune", "--app-id", APP, "--expired"],
        vec![
            "rules",
            "sync",
            "--app-id",
            APP,
            "--from",
            redirects.to_str().unwrap(),
        ],
        vec![
            "init",
            "--app-id",
            APP,
            "--print",
            "--repository",
            "o/r",
            "--action-sha",
            "0123456789abcdef0123456789abcdef01234567",
        ],
    ];
    for args in commands {
        let mut c = cmd(&emu);
        c.args(&args)
            .args(["--timeout", "2s"])
            .env("AWS_ENDPOINT_URL", silent.url());
        let (r, took) = run_within(&mut c, Duration::from_secs(20)).await;
        assert_eq!(r.code, 4, "{args:?}: {r:?}");
        assert!(took < Duration::from_secs(6), "{args:?} took {took:?}");
        let first = r.stderr.lines().find(|l| l.starts_with("error:"));
        assert_eq!(first, Some("error: timed out after 2s"), "{args:?}: {r:?}");
        assert!(
            r.stderr.contains("caused by: no answer from Amplify ")
                && r.stderr.contains(
                    &silent.url()["http://".len()..]
                        .split(':')
                        .next()
                        .unwrap()
                        .to_owned()
                ),
            "{args:?}: {r:?}"
        );
    }
}

/// `ALL_PROXY=socks5://…` carries the whole deploy (API calls and the
/// upload; the client resolves names), and `HTTPS_PROXY=socks5h://user:…@…`
/// an HTTPS endpoint by name (the proxy resolves it), with the
/// username/password sub-negotiation; the password is never printed.
#[tokio::test(flavor = "multi_thread")]
async fn socks5_proxies_carry_the_deploy() {
    let emu = emulator().await;
    let proxy = Socks5Proxy::start().await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.env("ALL_PROXY", proxy.url("socks5", ""));
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let host = emu.endpoint().trim_start_matches("http://").to_owned();
    let host = host.trim_end_matches('/');
    let relayed = proxy.relayed();
    assert!(
        relayed.iter().all(|t| t.target == host && t.user.is_none()),
        "{relayed:?}"
    );
    let sent = |start: &str| relayed.iter().any(|t| t.first_line.starts_with(start));
    assert!(sent(&format!("GET /apps/{APP} ")), "API: {relayed:?}");
    assert!(sent("PUT /__upload/"), "upload: {relayed:?}");
    assert_eq!(emu.jobs(APP, "main").len(), 1);

    // socks5h: the name goes to the proxy; with a user and password.
    let ca = TestCa::create();
    let front = TlsFront::start(&ca, &emu.endpoint()).await;
    let password = "pr0xy-s3cret";
    let mut c = deploy_cmd(&emu, site.path());
    c.env("AWS_ENDPOINT_URL", front.url())
        .env("AWS_CA_BUNDLE", ca.ca_pem())
        .env(
            "HTTPS_PROXY",
            proxy.url("socks5h", &format!("deployer:{password}@")),
        )
        .arg("-vv");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let name = front.url().trim_start_matches("https://").to_owned();
    assert!(
        proxy
            .relayed()
            .iter()
            .any(|t| t.target == name && t.user.as_deref() == Some("deployer")),
        "{:?}",
        proxy.relayed()
    );
    assert!(front.handshakes() > 0);
    assert!(!r.all().contains(password), "{r:?}");
}

/// A proxy that refuses connections: the run fails within seconds (the
/// retries of a refused connection take a few seconds, not the 120 s
/// budget), exit 3, the error names the variable and the proxy's address
/// (never its user or password), and nothing reached the service.
#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_refuses_connections_is_named() {
    let emu = emulator().await;
    let ca = TestCa::create();
    let front = TlsFront::start(&ca, &emu.endpoint()).await;
    let site = tiny_site();
    let password = "pr0xy-s3cret";
    let port = closed_port();
    for (variable, scheme, endpoint) in [
        ("HTTPS_PROXY", "http", front.url()),
        ("HTTP_PROXY", "http", emu.endpoint()),
        ("ALL_PROXY", "socks5h", emu.endpoint()),
        ("https_proxy", "socks5", front.url()),
    ] {
        let mut c = deploy_cmd(&emu, site.path());
        c.env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_CA_BUNDLE", ca.ca_pem())
            .env(
                variable,
                format!("{scheme}://deployer:{password}@127.0.0.1:{port}"),
            );
        let (r, took) = run_within(&mut c, Duration::from_secs(60)).await;
        assert_eq!(r.code, 3, "{variable}: {r:?}");
        assert!(took < Duration::from_secs(20), "{variable}: {took:?}");
        let named = format!(
            "error: GetApp failed: could not reach the Amplify API: the proxy {scheme}://127.0.0.1:{port} ({variable}) refused the connection"
        );
        assert!(r.stderr.contains(&named), "{variable}: {r:?}");
        assert!(
            r.stderr.contains(&format!(
                "attempt 2 of 7): connection failed: the proxy {scheme}://127.0.0.1:{port} ({variable}) refused"
            )),
            "the retries name it too: {r:?}"
        );
        assert!(!r.all().contains(password), "{r:?}");
        assert!(!r.all().contains("deployer"), "{r:?}");
    }
    assert!(emu.requests().is_empty(), "{:?}", operations(&emu));
    assert_eq!(front.handshakes(), 0);
}
