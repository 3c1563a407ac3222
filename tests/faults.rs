//! Scripted faults: every failure a deploy meets in CI, and what the binary
//! does about it. Each test fails without the behaviour it names.

use std::time::Duration;

use crate::support::*;

fn raw(status: u16, body: &str) -> FaultAction {
    FaultAction::Raw {
        status,
        content_type: "text/html".into(),
        body: body.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_until_they_pass() {
    let emu = emulator().await;
    emu.push_fault(status_fault(
        "CreateDeployment",
        3,
        503,
        Some("DependentServiceFailureException"),
    ));
    emu.push_fault(status_fault(
        "GetApp",
        2,
        500,
        Some("InternalFailureException"),
    ));
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 4);
    assert_eq!(count(&emu, "GetApp"), 3);
    assert!(r.stderr.contains("retrying CreateDeployment"), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried() {
    let emu = emulator().await;
    emu.push_fault(status_fault(
        "GetBranch",
        2,
        429,
        Some("TooManyRequestsException"),
    ));
    emu.push_fault(status_fault(
        "StartDeployment",
        2,
        400,
        Some("ThrottlingException"),
    ));
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&emu, "GetBranch"), 3);
    assert_eq!(count(&emu, "StartDeployment"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn html_502_from_a_proxy_is_retried_and_polling_survives_it() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "GetJob",
        3,
        raw(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    ));
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
    assert!(
        !r.stderr.contains("<html>"),
        "HTML bodies are not dumped: {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_resets_are_retried() {
    let emu = emulator().await;
    emu.push_fault(fault("GetBranch", 2, FaultAction::Drop));
    emu.push_fault(fault("Upload", 1, FaultAction::Drop));
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&emu, "GetBranch"), 3);
    assert_eq!(count(&emu, "Upload"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_cut_half_way_is_sent_again_from_the_start() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "Upload",
        2,
        FaultAction::CutUpload { after_bytes: 500 },
    ));
    let (site, files) = site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&emu, "Upload"), 3);
    assert!(r.stderr.contains("retrying upload"), "{r:?}");
    assert_eq!(emu.deployed_files(APP, "main").unwrap(), files);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_errors_are_not_retried() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "CreateDeployment",
        1,
        FaultAction::Status {
            status: 403,
            error_type: Some("AccessDeniedException".into()),
            message: Some("User: arn:aws:sts::123456789012:assumed-role/ci/gh is not authorized to perform: amplify:CreateDeployment on resource: arn:aws:amplify:us-east-1:123456789012:apps/d1test/branches/main/deployments/*".into()),
        },
    ));
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 1);
    assert!(r.stderr.contains("amplify:CreateDeployment"), "{r:?}");
    assert!(
        r.stderr.contains(
            "arn:aws:amplify:us-east-1:123456789012:apps/d1test/branches/main/deployments/*"
        ),
        "{r:?}"
    );
    assert!(r.stderr.contains("AWS request id"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_create_deployment_answer_leaves_no_orphan() {
    let emu = emulator().await;
    emu.push_fault(fault("CreateDeployment", 1, FaultAction::DropAfter));
    let (site, files) = site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        job_statuses(&emu, "main"),
        ["CANCELLED", "SUCCEED"],
        "{r:?}"
    );
    assert_eq!(emu.deployed_files(APP, "main").unwrap(), files);
    assert!(r.stderr.contains("answer was lost"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_start_deployment_answer_is_recovered() {
    let emu = emulator().await;
    emu.push_fault(fault("StartDeployment", 1, FaultAction::DropAfter));
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_branch_wait_waits_for_the_other_deploy() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_millis(1500));
    let site = tiny_site();
    let first = run(deploy_cmd(&emu, site.path()).arg("--no-wait")).await;
    assert_eq!(first.code, 0, "{first:?}");
    let r = run(deploy_cmd(&emu, site.path()).args(["--on-busy", "wait"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("waiting for job 1"), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED", "SUCCEED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_branch_stop_stops_the_other_deploy() {
    let emu = emulator().await;
    let other = emu.insert_job(APP, "main", "RUNNING");
    let site = tiny_site();
    let r = run(deploy_cmd(&emu, site.path()).args(["--on-busy", "stop"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains(&format!("stopping job {other}")), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["CANCELLED", "SUCCEED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_branch_fail_changes_nothing() {
    let emu = emulator().await;
    emu.insert_job(APP, "main", "RUNNING");
    let site = tiny_site();
    let r = run(deploy_cmd(&emu, site.path()).args(["--on-busy", "fail"])).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("busy"), "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 0);
    assert_eq!(job_statuses(&emu, "main"), ["RUNNING"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orphaned_pending_job_does_not_block_wait() {
    let emu = emulator().await;
    emu.insert_job(APP, "main", "PENDING");
    let site = tiny_site();
    let r = run(deploy_cmd(&emu, site.path())
        .env("AMPLIFY_PENDING_GRACE", "500ms")
        .args(["--timeout", "20s"]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("never started"), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["CANCELLED", "SUCCEED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_stops_our_job_and_has_its_own_exit_code() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_secs(600));
    let site = tiny_site();
    let r = run(deploy_cmd(&emu, site.path()).args(["--timeout", "2s"])).await;
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("timed out after 2s"), "{r:?}");
    let status = &job_statuses(&emu, "main")[0];
    assert!(status == "CANCELLED" || status == "CANCELLING", "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_can_keep_the_job() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_secs(600));
    let site = tiny_site();
    let r =
        run(deploy_cmd(&emu, site.path()).args(["--timeout", "1s", "--keep-job-on-timeout"])).await;
    assert_eq!(r.code, 4, "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["RUNNING"]);
    assert_eq!(count(&emu, "StopJob"), 0);
}

/// Start the binary, wait until `ready` holds, send `signal`, and return
/// its exit code and stderr.
async fn interrupt(
    mut c: std::process::Command,
    signal: &str,
    ready: impl Fn() -> bool,
) -> (Option<i32>, String) {
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().expect("spawn");
    let pid = child.id().to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "never got ready");
        sleep_ms(50).await;
    }
    std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_or_sigterm_while_waiting_stops_the_job() {
    for signal in ["-INT", "-TERM"] {
        let emu = emulator().await;
        emu.set_job_duration(Duration::from_secs(600));
        let site = tiny_site();
        let (code, stderr) = interrupt(deploy_cmd(&emu, site.path()), signal, || {
            job_statuses(&emu, "main").first().map(String::as_str) == Some("RUNNING")
        })
        .await;
        assert_eq!(code, Some(130), "{signal}: {stderr}");
        assert!(stderr.contains("stopped job 1"), "{signal}: {stderr}");
        let status = &job_statuses(&emu, "main")[0];
        assert!(
            status == "CANCELLED" || status == "CANCELLING",
            "{signal}: {status}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_before_our_job_exists_just_cleans_up() {
    let emu = emulator().await;
    let other = emu.insert_job(APP, "main", "RUNNING");
    let site = tiny_site();
    let tmp = tempfile::tempdir().unwrap();
    let mut c = deploy_cmd(&emu, site.path());
    c.env("TMPDIR", tmp.path()).args(["--on-busy", "wait"]);
    // Ready once the zip is in TMPDIR and the run is waiting for the other job.
    let zip_written = || {
        std::fs::read_dir(tmp.path())
            .map(|d| d.count())
            .unwrap_or(0)
            == 1
    };
    let (code, stderr) =
        interrupt(c, "-TERM", || zip_written() && count(&emu, "ListJobs") >= 2).await;
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("waiting for job"), "{stderr}");
    assert_eq!(count(&emu, "CreateDeployment") + count(&emu, "StopJob"), 0);
    assert_eq!(emu.jobs(APP, "main")[0].job_id, other);
    assert_eq!(
        job_statuses(&emu, "main"),
        ["RUNNING"],
        "another run's job is left alone"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "the temporary zip was left behind: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_upload_url_is_explained_and_cleaned_up() {
    let emu = emulator().await;
    emu.set_upload_url_ttl(Duration::ZERO);
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("expired"), "{r:?}");
    assert_eq!(count(&emu, "Upload"), 1, "a 403 is not retried");
    assert_eq!(
        job_statuses(&emu, "main"),
        ["CANCELLED"],
        "the created job must not block the branch"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_the_output() {
    let config = Config {
        credentials: vec![Credential {
            access_key_id: "ASIASOAK".into(),
            secret_access_key: "sekrit/KEY+value".into(),
            session_token: Some("TOKEN-abcdef-0123".into()),
        }],
        ..Config::default()
    };
    let emu = emulator_with(config).await;
    emu.push_fault(fault(
        "Upload",
        1,
        FaultAction::CutUpload { after_bytes: 10 },
    ));
    emu.push_fault(status_fault("GetJob", 1, 503, None));
    let site = tiny_site();
    let tmp = tempfile::tempdir().unwrap();
    let r = run(deploy_cmd(&emu, site.path())
        .env("AWS_ACCESS_KEY_ID", "ASIASOAK")
        .env("AWS_SECRET_ACCESS_KEY", "sekrit/KEY+value")
        .env("AWS_SESSION_TOKEN", "TOKEN-abcdef-0123")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", tmp.path().join("out"))
        .env("GITHUB_STEP_SUMMARY", tmp.path().join("summary"))
        .arg("--json"))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let upload = emu
        .requests()
        .into_iter()
        .find(|r| r.operation == "Upload")
        .unwrap();
    let query = upload.query.clone().expect("the upload URL has a query");
    let signature = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("X-Amz-Signature="))
        .unwrap()
        .to_owned();
    let files = [
        std::fs::read_to_string(tmp.path().join("out")).unwrap(),
        std::fs::read_to_string(tmp.path().join("summary")).unwrap(),
    ];
    for (what, text) in [
        ("output", r.all()),
        ("GITHUB_OUTPUT", files[0].clone()),
        ("summary", files[1].clone()),
    ] {
        for line in text.lines().filter(|l| !l.starts_with("::add-mask::")) {
            for secret in [
                "sekrit/KEY+value",
                "TOKEN-abcdef-0123",
                signature.as_str(),
                query.as_str(),
            ] {
                assert!(!line.contains(secret), "{what} shows {secret:?}: {line}");
            }
        }
    }
    // On GitHub, each is masked before anything could print it.
    let first_mask = r
        .stderr
        .find("::add-mask::sekrit/KEY+value")
        .expect("secret masked");
    assert!(r.stderr.contains("::add-mask::TOKEN-abcdef-0123"), "{r:?}");
    assert!(r.stderr.contains("retrying upload"), "{r:?}");
    assert!(first_mask < r.stderr.find("uploading").unwrap());
}

/// 50 deploys in a row, each with random scripted faults: every one ends
/// SUCCEED and no unfinished job is left on the branch.
#[tokio::test(flavor = "multi_thread")]
async fn soak_fifty_deploys_with_random_faults() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_millis(100));
    let site = tiny_site();
    let mut seed: u64 = 0x0005_eed0_fa11;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let ops = [
        "GetApp",
        "GetBranch",
        "ListJobs",
        "CreateDeployment",
        "Upload",
        "StartDeployment",
        "GetJob",
    ];
    for i in 0..50 {
        for _ in 0..next(3) {
            let op = ops[next(ops.len() as u64) as usize];
            let action = match next(6) {
                0 => FaultAction::Status {
                    status: 503,
                    error_type: None,
                    message: None,
                },
                1 => FaultAction::Status {
                    status: 429,
                    error_type: Some("TooManyRequestsException".into()),
                    message: None,
                },
                2 => raw(502, "<html>bad gateway</html>"),
                3 => FaultAction::Drop,
                4 if op == "Upload" => FaultAction::CutUpload { after_bytes: 5 },
                4 | 5 if op == "CreateDeployment" || op == "StartDeployment" => {
                    FaultAction::DropAfter
                }
                _ => FaultAction::Delay { ms: 200 },
            };
            emu.push_fault(fault(op, 1 + next(2) as u32, action));
        }
        let r = run(deploy_cmd(&emu, site.path()).args(["--timeout", "60s"])).await;
        assert_eq!(r.code, 0, "deploy {i}: {r:?}");
        let jobs = emu.jobs(APP, "main");
        assert_eq!(
            jobs.last().map(|j| j.status.as_str()),
            Some("SUCCEED"),
            "deploy {i}: {r:?}"
        );
        assert!(
            jobs.iter()
                .all(|j| j.status == "SUCCEED" || j.status == "CANCELLED"),
            "deploy {i} left an unfinished job: {:?}",
            jobs.iter()
                .map(|j| (&j.job_id, &j.status))
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn clock_skew_is_named_as_such() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "GetApp",
        1,
        FaultAction::Status {
            status: 403,
            error_type: Some("InvalidSignatureException".into()),
            message: Some("Signature expired: 20261126T090000Z is now earlier than 20261126T120000Z (20261126T120500Z - 5 min.)".into()),
        },
    ));
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("clock is off"), "{r:?}");
    assert!(r.stderr.contains("Signature expired"), "{r:?}");
    assert_eq!(count(&emu, "GetApp"), 1, "a signature error is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_credentials_are_named_as_such() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "GetApp",
        1,
        FaultAction::Status {
            status: 403,
            error_type: Some("ExpiredTokenException".into()),
            message: Some("The security token included in the request is expired".into()),
        },
    ));
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("credentials have expired"), "{r:?}");
    assert!(emu.jobs(APP, "main").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_answers_never_panic() {
    let emu = emulator().await;
    for (op, body) in [
        ("GetApp", "{not json"),
        ("CreateDeployment", "[1, 2, 3]"),
        ("GetJob", "{\"job\": \"surprise\"}"),
    ] {
        emu.push_fault(fault(
            op,
            1,
            FaultAction::Raw {
                status: 200,
                content_type: "application/json".into(),
                body: body.into(),
            },
        ));
        let site = tiny_site();
        let r = run(&mut deploy_cmd(&emu, site.path())).await;
        assert!(!r.stderr.contains("panicked"), "{op}: {r:?}");
        assert!(r.code == 3 || r.code == 0, "{op}: {r:?}");
        if r.code == 3 {
            assert!(r.stderr.contains("unexpected answer"), "{op}: {r:?}");
        }
        // Whatever happened, the branch is not left blocked.
        let jobs = emu.jobs(APP, "main");
        assert!(
            jobs.iter()
                .all(|j| j.status == "SUCCEED" || j.status == "CANCELLED"),
            "{op}: {:?}",
            jobs.iter().map(|j| &j.status).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_while_create_deployment_is_on_the_wire_stops_the_job_it_creates() {
    let emu = emulator().await;
    // The emulator holds CreateDeployment for 1.5 s, then creates the job.
    emu.push_fault(fault(
        "CreateDeployment",
        1,
        FaultAction::Delay { ms: 1500 },
    ));
    let site = tiny_site();
    let listed = std::sync::Mutex::new(None::<std::time::Instant>);
    let (code, stderr) = interrupt(deploy_cmd(&emu, site.path()), "-INT", || {
        // CreateDeployment goes out right after ListJobs answers.
        let mut since = listed.lock().unwrap();
        if since.is_none() && count(&emu, "ListJobs") >= 1 {
            *since = Some(std::time::Instant::now());
        }
        since.is_some_and(|t| t.elapsed() > Duration::from_millis(400))
    })
    .await;
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("stopped job 1"), "{stderr}");
    assert_eq!(job_statuses(&emu, "main"), ["CANCELLED"], "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_while_create_deployment_is_on_the_wire_stops_the_job_it_creates() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "CreateDeployment",
        1,
        FaultAction::Delay { ms: 2500 },
    ));
    let site = tiny_site();
    let r = run(deploy_cmd(&emu, site.path()).args(["--timeout", "1s"])).await;
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("stopped job 1"), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["CANCELLED"], "{r:?}");
}

fn limit_exceeded(message: &str) -> FaultAction {
    FaultAction::Status {
        status: 429,
        error_type: Some("LimitExceededException".into()),
        message: Some(message.into()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quota_on_create_deployment_is_waited_for() {
    let emu = emulator().await;
    let message = "Concurrent jobs limit reached for region";
    emu.push_fault(fault("CreateDeployment", 4, limit_exceeded(message)));
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 5);
    assert!(
        r.stderr.contains(&format!(
            "Amplify quota reached (LimitExceededException: {message}): waiting"
        )),
        "{r:?}"
    );
    assert!(r.stderr.contains("more for it to clear"), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quota_that_does_not_clear_fails_after_quota_wait() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "CreateDeployment",
        10_000,
        limit_exceeded("Concurrent jobs limit reached for region"),
    ));
    let site = tiny_site();
    let started = std::time::Instant::now();
    let r = run(deploy_cmd(&emu, site.path()).args(["--quota-wait", "2s"])).await;
    let took = started.elapsed();
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("did not clear within --quota-wait"),
        "{r:?}"
    );
    assert!(r.stderr.contains("raise --quota-wait"), "{r:?}");
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(count(&emu, "CreateDeployment") >= 3);
    assert!(emu.jobs(APP, "main").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_branch_count_quota_fails_at_once() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "CreateBranch",
        5,
        limit_exceeded("Limit of 50 branches per app exceeded for app d1test."),
    ));
    let site = tiny_site();
    let r = run(cmd(&emu)
        .args(["deploy", "--app-id", APP, "--branch", "feature/new"])
        .args(["--create-branch", "--path"])
        .arg(site.path()))
    .await;
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(count(&emu, "CreateBranch"), 1, "{r:?}");
    assert!(r.stderr.contains("limit of 50 branches"), "{r:?}");
    assert!(r.stderr.contains("delete unused branches"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_start_deployment_answer_for_a_job_someone_stopped_is_no_start() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_secs(600));
    // StartDeployment starts the job and its answer is lost; the retry is
    // held long enough for someone to stop the job meanwhile.
    emu.push_fault(fault("StartDeployment", 1, FaultAction::DropAfter));
    emu.push_fault(fault("StartDeployment", 1, FaultAction::Delay { ms: 1500 }));
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.arg("--no-wait")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while job_statuses(&emu, "main").first().map(String::as_str) != Some("RUNNING") {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never started"
        );
        sleep_ms(20).await;
    }
    emu.stop_job(APP, "main", "1").expect("stop");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("started job"), "{stderr}");
    assert!(
        stderr.contains("job 1 did not start: it is CANCELLED"),
        "{stderr}"
    );
    assert_eq!(job_statuses(&emu, "main"), ["CANCELLED"], "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_job_that_never_answers_does_not_hold_the_timeout() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_secs(600));
    // StopJob is accepted and never answered.
    emu.push_fault(fault("StopJob", 100, FaultAction::Delay { ms: 600_000 }));
    let site = tiny_site();
    let started = std::time::Instant::now();
    let r = run(deploy_cmd(&emu, site.path()).args(["--timeout", "3s"])).await;
    let took = started.elapsed();
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("could not stop job 1 in time"), "{r:?}");
    // The clean-up is capped at 6.5 s, as after a signal.
    assert!(took < Duration::from_secs(11), "{took:?}: {r:?}");
}

fn url_deploy(emu: &Emulator) -> std::process::Command {
    let mut c = cmd(emu);
    c.args(["deploy", "--app-id", APP, "--branch", "main"])
        .args([
            "--source-url",
            "s3://my-bucket/site/",
            "--source-url-type",
            "BUCKET_PREFIX",
        ]);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_start_from_url_answer_adopts_the_job_it_started() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_millis(500));
    emu.push_fault(fault("StartDeployment", 1, FaultAction::DropAfter));
    let r = run(&mut url_deploy(&emu)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("following that job"), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"], "{r:?}");
    assert_eq!(count(&emu, "StartDeployment"), 2);
}

/// Two runs deploying the same URL at once: the second is refused while
/// the first one's job runs, and waits for it rather than taking it as
/// its own (no attempt of its own went unanswered).
#[tokio::test(flavor = "multi_thread")]
async fn two_runs_from_the_same_url_each_follow_their_own_job() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_millis(500));
    emu.push_fault(fault(
        "StartDeployment",
        1000,
        FaultAction::Delay { ms: 400 },
    ));
    let spawn = || {
        let mut c = url_deploy(&emu);
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let mut followed = Vec::new();
    for child in [a, b] {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let job = stderr
            .lines()
            .find_map(|l| l.strip_prefix("started job "))
            .map(str::to_owned);
        followed.push((job, stderr));
    }
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED", "SUCCEED"]);
    assert_ne!(followed[0].0, followed[1].0, "{followed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clean_up_after_a_failure_stays_within_the_timeout() {
    let emu = emulator().await;
    // The upload fails for good (403), and StopJob never answers.
    emu.set_upload_url_ttl(Duration::ZERO);
    emu.push_fault(fault("StopJob", 100, FaultAction::Delay { ms: 600_000 }));
    let site = tiny_site();
    let started = std::time::Instant::now();
    let r = run(deploy_cmd(&emu, site.path()).args(["--timeout", "3s"])).await;
    let took = started.elapsed();
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("could not stop job 1 in time"), "{r:?}");
    assert!(took < Duration::from_secs(11), "{took:?}: {r:?}");
}
