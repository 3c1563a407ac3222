//! The user-facing output, pinned: what a deploy prints on stderr, its
//! `--json`, dotenv file, `$GITHUB_OUTPUT` and job summary, the error
//! renderings, `package`, `status`, and the pull request comment.
//!
//! Each test runs the real binary against the emulator and compares its
//! output with a committed snapshot (`tests/snapshots/`). A change of
//! wording or layout fails here first; when it is meant, review and accept
//! the new snapshot (`cargo insta review`, or rename the `.snap.new` file).
//! Only what differs from run to run or machine to machine is replaced,
//! all in [`assert_output`]; archives are stamped with `SOURCE_DATE_EPOCH`
//! so their size and SHA-256 stay real.

use std::path::Path;
use std::process::Command;

use crate::preview::{Pr, SHA1};
use crate::support::github::*;
use crate::support::*;

/// Archive timestamps, so the archive's bytes (and hash) are pinned too.
const EPOCH: &str = "1700000000";

/// How long a job runs: long enough that the first poll sees it RUNNING
/// even on a slow machine (the default 300 ms is not).
const JOB_DURATION: std::time::Duration = std::time::Duration::from_secs(1);

/// An emulator whose jobs run for [`JOB_DURATION`].
async fn slow_emulator() -> Emulator {
    let emu = emulator().await;
    emu.set_job_duration(JOB_DURATION);
    emu
}

/// Compare `text` with the snapshot `name`, after replacing each of `paths`
/// by its label and every value that differs between runs (ports, times,
/// durations, request ids, the `$GITHUB_OUTPUT` delimiter) by a
/// placeholder.
fn assert_output(name: &str, text: &str, paths: &[(&Path, &str)]) {
    let mut text = text.to_owned();
    for (path, label) in paths {
        text = text.replace(&*path.to_string_lossy(), label);
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    for (pattern, replacement) in [
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z",
            "[TIMESTAMP]",
        ),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[UUID]",
        ),
        // A multi-line `$GITHUB_OUTPUT` value's heredoc delimiter.
        (r"ghadelimiter_[0-9a-f]{32}", "ghadelimiter_[ID]"),
        // The query of a presigned URL (in `::add-mask::` lines).
        (r"X-Amz-Date=\d{8}T\d{6}Z", "X-Amz-Date=[DATE]"),
        (r"%252F\d{8}%252F", "%252F[DATE]%252F"),
        (
            r"X-Amz-Security-Token=[^&\s]+",
            "X-Amz-Security-Token=[TOKEN]",
        ),
        (
            r"X-Amz-Signature=[0-9a-f]{64}",
            "X-Amz-Signature=[SIGNATURE]",
        ),
        // Durations: "in 0.4s", "job 1: RUNNING (0s)", "sha256 …, 0.01s",
        // "| 0.3 s |" in the summary, the phases of `--json`.
        (r"\bin \d+\.\d+s\b", "in [TIME]"),
        (
            r"(job \d+: (?:\x1b\[\d+m)?[A-Z_]+(?:\x1b\[0m)?) \(\d+s\)",
            "${1} ([TIME])",
        ),
        (r"(sha256 [0-9a-f]{64}), \d+\.\d+s", "${1}, [TIME]"),
        (r"\| \d+\.\d+ s \|", "| [TIME] |"),
        // The live check: "served after 0.3s", its JSON seconds.
        (r"after \d+\.\d+s", "after [TIME]"),
        (r#""seconds":\d+(\.\d+)?"#, r#""seconds":[TIME]"#),
        (
            r#""(package|upload|start|wait|total)":\d+(\.\d+)?"#,
            r#""${1}":[TIME]"#,
        ),
        // Colour codes, made visible: `␛[31m`.
        (r"\x1b\[", "␛["),
    ] {
        settings.add_filter(pattern, replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// The binary as a runner starts it: `GITHUB_ACTIONS`, outputs and summary
/// in `dir`.
fn in_actions(c: &mut Command, dir: &Path) {
    c.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `deploy_cmd` with archives stamped with [`EPOCH`].
fn deploy(emu: &Emulator, site: &Path) -> Command {
    let mut c = deploy_cmd(emu, site);
    c.env("SOURCE_DATE_EPOCH", EPOCH);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successful_deploy() {
    let emu = slow_emulator().await;
    let (site, _) = site();
    let out = tempfile::tempdir().unwrap();
    let dotenv = out.path().join("deploy.env");
    let r = run(deploy(&emu, site.path())
        .arg("--json")
        .arg("--dotenv")
        .arg(&dotenv))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("deploy_stderr", &r.stderr, &paths);
    assert_output("deploy_json", &r.stdout, &paths);
    assert_output("deploy_dotenv", &read(&dotenv), &paths);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successful_deploy_in_github_actions() {
    let emu = slow_emulator().await;
    let (site, _) = site();
    let out = tempfile::tempdir().unwrap();
    let mut c = deploy(&emu, site.path());
    in_actions(&mut c, out.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("actions_deploy_stderr", &r.stderr, &paths);
    assert_eq!(r.stdout, "", "{r:?}");
    assert_output(
        "actions_deploy_github_output",
        &read(&out.path().join("output")),
        &paths,
    );
    assert_output(
        "actions_deploy_summary",
        &read(&out.path().join("summary")),
        &paths,
    );
}

/// A failed job in GitHub Actions: the reason, the end of the step's log in
/// a group, the annotation, the summary, the outputs and the JSON.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_job() {
    let emu = slow_emulator().await;
    let mut log: String = (1..=35).map(|i| format!("build line {i}\n")).collect();
    log.push_str("::error::from the log\nnpm ERR! build failed\n");
    emu.push_fault(fault(
        "StartDeployment",
        1,
        FaultAction::FailJobWithLog {
            reason: "build failed".into(),
            log,
        },
    ));
    let site = tiny_site();
    let out = tempfile::tempdir().unwrap();
    let mut c = deploy(&emu, site.path());
    in_actions(&mut c, out.path());
    let r = run(c.arg("--json")).await;
    assert_eq!(r.code, 1, "{r:?}");
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("failed_stderr", &r.stderr, &paths);
    assert_output("failed_json", &r.stdout, &paths);
    assert_output(
        "failed_github_output",
        &read(&out.path().join("output")),
        &paths,
    );
    assert_output("failed_summary", &read(&out.path().join("summary")), &paths);

    // Outside GitHub Actions: the same tail, without the group.
    let emu = slow_emulator().await;
    emu.push_fault(fault(
        "StartDeployment",
        1,
        FaultAction::FailJobWithLog {
            reason: "build failed".into(),
            log: "npm run build\nError: Cannot find module 'x'\n".into(),
        },
    ));
    let dotenv = out.path().join("deploy.env");
    let r = run(deploy(&emu, site.path()).arg("--dotenv").arg(&dotenv)).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert_output("failed_plain_stderr", &r.stderr, &paths);
    assert_output("failed_dotenv", &read(&dotenv), &paths);
}

/// File names that are workflow commands, and symlinks, in GitHub Actions:
/// the warnings name them, escaped so that none starts a command.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn hostile_file_names_in_github_actions() {
    let emu = emulator().await;
    let site = tiny_site();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
    for name in ["::error::pwned", "##[error]x"] {
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), site.path().join(name))
            .unwrap();
    }
    std::os::unix::fs::symlink(outside.path().join("missing"), site.path().join("dangling"))
        .unwrap();
    write(site.path(), "::warning::page.html", b"<p>hi</p>");
    let out = tempfile::tempdir().unwrap();
    let mut c = deploy(&emu, site.path());
    in_actions(&mut c, out.path());
    let r = run(c.arg("--dry-run")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [
        (site.path(), "[SITE]"),
        (outside.path(), "[OUTSIDE]"),
        (out.path(), "[OUT]"),
    ];
    assert_output("hostile_names_stderr", &r.stderr, &paths);
}

/// Bad input: one line naming the input, exit 2, before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input() {
    let emu = emulator().await;
    let site = tiny_site();
    let missing = site.path().join("missing");
    let cases: [(&str, Vec<&std::ffi::OsStr>); 4] = [
        (
            "missing_app_id",
            vec![
                "deploy".as_ref(),
                "--branch".as_ref(),
                "main".as_ref(),
                "--path".as_ref(),
                site.path().as_os_str(),
            ],
        ),
        (
            "bad_app_id",
            vec![
                "deploy".as_ref(),
                "--app-id".as_ref(),
                "d1/../x".as_ref(),
                "--branch".as_ref(),
                "main".as_ref(),
                "--path".as_ref(),
                site.path().as_os_str(),
            ],
        ),
        (
            "missing_folder",
            vec![
                "deploy".as_ref(),
                "--app-id".as_ref(),
                APP.as_ref(),
                "--branch".as_ref(),
                "main".as_ref(),
                "--path".as_ref(),
                missing.as_os_str(),
            ],
        ),
        (
            "path_and_source_url",
            vec![
                "deploy".as_ref(),
                "--app-id".as_ref(),
                APP.as_ref(),
                "--branch".as_ref(),
                "main".as_ref(),
                "--path".as_ref(),
                site.path().as_os_str(),
                "--source-url".as_ref(),
                "https://example.com/site.zip".as_ref(),
            ],
        ),
    ];
    let paths = [(site.path(), "[SITE]")];
    for (name, args) in cases {
        let r = run(cmd(&emu).args(&args)).await;
        assert_eq!(r.code, 2, "{name}: {r:?}");
        assert_eq!(r.stdout, "", "{name}: {r:?}");
        assert_output(&format!("input_{name}"), &r.stderr, &paths);
    }
    // In GitHub Actions the error is an annotation too.
    let out = tempfile::tempdir().unwrap();
    let mut c = cmd(&emu);
    c.args(["deploy", "--branch", "main", "--path"])
        .arg(site.path());
    in_actions(&mut c, out.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_output("actions_input_missing_app_id", &r.stderr, &paths);
    assert!(emu.requests().is_empty(), "{:?}", operations(&emu));
}

/// The other service answers a user meets: no such app, and a branch busy
/// with another deployment under `--on-busy fail`.
#[tokio::test(flavor = "multi_thread")]
async fn service_refusals() {
    let emu = emulator().await;
    let site = tiny_site();
    let paths = [(site.path(), "[SITE]")];
    let mut c = cmd(&emu);
    c.args([
        "deploy",
        "--app-id",
        "d9nosuchapp",
        "--branch",
        "main",
        "--path",
    ])
    .arg(site.path())
    .env("SOURCE_DATE_EPOCH", EPOCH);
    let r = run(&mut c).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert_output("no_such_app_stderr", &r.stderr, &paths);

    emu.insert_job(APP, "main", "RUNNING");
    let r = run(deploy(&emu, site.path()).args(["--on-busy", "fail"])).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert_output("busy_branch_stderr", &r.stderr, &paths);
    assert_eq!(job_statuses(&emu, "main"), ["RUNNING"]);
}

/// `--no-wait`: the run ends once the job has started.
#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_that_does_not_wait() {
    let emu = emulator().await;
    let site = tiny_site();
    let r = run(deploy(&emu, site.path()).args(["--no-wait", "--json"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]")];
    assert_output("no_wait_stderr", &r.stderr, &paths);
    assert_output("no_wait_json", &r.stdout, &paths);
}

/// A service error: what failed, AWS's message, a hint and the request id.
#[tokio::test(flavor = "multi_thread")]
async fn an_aws_error() {
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
    let out = tempfile::tempdir().unwrap();
    let mut c = deploy(&emu, site.path());
    in_actions(&mut c, out.path());
    let r = run(c.arg("--json")).await;
    assert_eq!(r.code, 3, "{r:?}");
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("aws_error_stderr", &r.stderr, &paths);
    assert_output("aws_error_json", &r.stdout, &paths);
}

/// `--timeout` passes: the job is stopped, exit 4.
#[tokio::test(flavor = "multi_thread")]
async fn a_timeout() {
    let emu = emulator().await;
    emu.set_job_duration(std::time::Duration::from_secs(600));
    let site = tiny_site();
    let r = run(deploy(&emu, site.path()).args(["--timeout", "1s", "--json"])).await;
    assert_eq!(r.code, 4, "{r:?}");
    let paths = [(site.path(), "[SITE]")];
    assert_output("timeout_stderr", &r.stderr, &paths);
    assert_output("timeout_json", &r.stdout, &paths);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run() {
    let emu = emulator().await;
    let (site, _) = site();
    let r = run(deploy(&emu, site.path()).args(["--dry-run", "--json"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]")];
    assert_output("dry_run_stderr", &r.stderr, &paths);
    assert_output("dry_run_json", &r.stdout, &paths);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_package_command() {
    let (site, _) = site();
    let out = tempfile::tempdir().unwrap();
    let zip = out.path().join("site.zip");
    let mut c = Command::new(env!("CARGO_BIN_EXE_amplify-deploy"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args(["package", "--path"])
        .arg(site.path())
        .arg("--output")
        .arg(&zip);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("package_stderr", &r.stderr, &paths);
    assert_eq!(r.stdout, "", "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_command() {
    let emu = slow_emulator().await;
    let site = tiny_site();
    let r = run(&mut deploy(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(&mut status_cmd(&emu, false)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("status_stdout", &r.stdout, &[]);
    assert_eq!(r.stderr, "", "{r:?}");
    let r = run(&mut status_cmd(&emu, true)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("status_json", &r.stdout, &[]);
}

/// Newest wins: a run of an older commit than the live one deploys nothing
/// (every report says SUPERSEDED); `status` shows the live provenance.
#[tokio::test(flavor = "multi_thread")]
async fn a_superseded_deploy_and_the_status_with_provenance() {
    let emu = slow_emulator().await;
    let site = tiny_site();
    let gitlab = |sha: &str, time: &str| {
        let mut c = deploy(&emu, site.path());
        c.env("CI_COMMIT_SHA", sha)
            .env("CI_COMMIT_TIMESTAMP", time)
            .env(
                "CI_COMMIT_TITLE",
                format!("Release {sha}: \"fast\" <path> & more"),
            )
            .env("CI_JOB_URL", "https://gitlab.example/g/p/-/jobs/9");
        c
    };
    let r = run(&mut gitlab("b2c3d4e", "2026-11-29T09:00:00+00:00")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let out = tempfile::tempdir().unwrap();
    let dotenv = out.path().join("deploy.env");
    let mut older = gitlab("a1b2c3d", "2026-11-29T08:00:00+00:00");
    in_actions(&mut older, out.path());
    let r = run(older.arg("--json").arg("--dotenv").arg(&dotenv)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("superseded_stderr", &r.stderr, &paths);
    assert_output("superseded_json", &r.stdout, &paths);
    assert_output("superseded_dotenv", &read(&dotenv), &paths);
    assert_output(
        "superseded_output",
        &read(&out.path().join("output")),
        &paths,
    );
    assert_output(
        "superseded_summary",
        &read(&out.path().join("summary")),
        &paths,
    );
    let r = run(&mut status_cmd(&emu, false)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("status_provenance_stdout", &r.stdout, &[]);
    let r = run(&mut status_cmd(&emu, true)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("status_provenance_json", &r.stdout, &[]);
}

/// `--skip-unchanged` when the live job already serves the package: SKIPPED
/// in every report, nothing started.
#[tokio::test(flavor = "multi_thread")]
async fn a_skipped_deploy() {
    let emu = emulator().await;
    let site = tiny_site();
    let r = run(&mut deploy(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    let out = tempfile::tempdir().unwrap();
    let mut again = deploy(&emu, site.path());
    in_actions(&mut again, out.path());
    let r = run(again.args(["--skip-unchanged", "--json"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("skipped_stderr", &r.stderr, &paths);
    assert_output("skipped_json", &r.stdout, &paths);
    assert_output("skipped_output", &read(&out.path().join("output")), &paths);
    assert_output(
        "skipped_summary",
        &read(&out.path().join("summary")),
        &paths,
    );
}

/// A pull request preview: the deploy's output and comment, then the
/// comment once the pull request is closed.
/// The incident lock: `lock`, a push that ends LOCKED (its stderr, JSON,
/// dotenv and job summary), `status` with the lock, `unlock`.
#[tokio::test(flavor = "multi_thread")]
async fn a_locked_branch() {
    let emu = slow_emulator().await;
    let site = tiny_site();
    assert_eq!(run(&mut deploy(&emu, site.path())).await.code, 0);
    let lock = |c: &mut Command| {
        c.args(["--app-id", APP, "--branch", "main"])
            .env("CI_JOB_URL", "https://gitlab.example/g/p/-/jobs/77");
    };
    let mut c = cmd(&emu);
    c.args(["lock", "--reason", "v2 serves a private page; see INC-12"]);
    lock(&mut c);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("lock_stderr", &r.stderr, &[]);
    let out = tempfile::tempdir().unwrap();
    let dotenv = out.path().join("deploy.env");
    let mut pushed = deploy(&emu, site.path());
    in_actions(&mut pushed, out.path());
    let r = run(pushed.arg("--json").arg("--dotenv").arg(&dotenv)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("locked_stderr", &r.stderr, &paths);
    assert_output("locked_json", &r.stdout, &paths);
    assert_output("locked_dotenv", &read(&dotenv), &paths);
    assert_output("locked_summary", &read(&out.path().join("summary")), &paths);
    let r = run(&mut status_cmd(&emu, false)).await;
    assert_output("locked_status_stdout", &r.stdout, &[]);
    let mut c = cmd(&emu);
    c.arg("unlock");
    lock(&mut c);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("unlock_stderr", &r.stderr, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_preview() {
    let pr = Pr::start().await;
    pr.emu.set_job_duration(JOB_DURATION);
    let paths = [(pr.site.path(), "[SITE]")];
    let r = run(pr
        .cmd("opened", SHA1, REPO, WRITE_TOKEN)
        .env("SOURCE_DATE_EPOCH", EPOCH))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("preview_stderr", &r.stderr, &paths);
    let comments = pr.gh.comments(7);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_output("preview_comment", &comments[0].body, &paths);

    let r = run(&mut pr.cmd("closed", SHA1, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("preview_closed_stderr", &r.stderr, &paths);
    let comments = pr.gh.comments(7);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_output("preview_closed_comment", &comments[0].body, &paths);
}

/// A fork's pull request: its own run defers to the trusted workflow; the
/// trusted run finds it unapproved. The log, `$GITHUB_OUTPUT` and the job
/// summary of each.
#[tokio::test(flavor = "multi_thread")]
async fn a_forks_preview_deferred_then_awaiting_approval() {
    let pr = Pr::start().await;
    let out = tempfile::tempdir().unwrap();
    let mut c = pr.cmd("opened", SHA1, crate::forks::FORK, READ_TOKEN);
    in_actions(&mut c, out.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let text = format!(
        "{}--- $GITHUB_OUTPUT\n{}--- $GITHUB_STEP_SUMMARY\n{}",
        r.stderr,
        read(&out.path().join("output")),
        read(&out.path().join("summary"))
    );
    assert_output("fork_deferred", &text, &[]);

    let lab = crate::forks::Lab::start().await;
    let zip = crate::forks::simple_zip("<h1>fork</h1>");
    lab.fork_pr(crate::forks::RUN, crate::forks::SHA1, zip);
    let mut c = lab.workflow_run(
        crate::forks::RUN,
        crate::forks::SHA1,
        crate::forks::FORK,
        "success",
    );
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let text = format!(
        "{}--- $GITHUB_OUTPUT\n{}--- $GITHUB_STEP_SUMMARY\n{}",
        r.stderr,
        lab.read("output"),
        lab.read("summary")
    );
    assert_output("fork_awaiting_approval", &text, &[]);
}

/// `text` with what varies from tick to tick made fixed (sizes, rates,
/// percentages, seconds left, milliseconds), then runs of equal lines as
/// one: how many progress lines or polls a run makes depends on timing;
/// their shape and order do not.
fn shape(text: &str) -> String {
    let rules = [
        (r"\d+(\.\d+)? (B|KiB|MiB|GiB)\b", "[SIZE]"),
        (r"\b\d+% \(", "[N]% ("),
        (r"\(request id [^)]+\)", "(request id [ID])"),
        (r", about \d+s left", ""),
        (r"\bin \d+ms\b", "in [MS]"),
        (r"(waiting: job \d+ is [A-Z_]+), \d+s", "${1}, [N]s"),
    ];
    let mut text = text.to_owned();
    for (pattern, replacement) in rules {
        let re = regex::Regex::new(pattern).unwrap();
        text = re.replace_all(&text, replacement).into_owned();
    }
    let mut lines: Vec<&str> = Vec::new();
    for line in text.lines() {
        if lines.last() != Some(&line) {
            lines.push(line);
        }
    }
    lines.join("\n") + "\n"
}

/// A slow upload and a slow job in CI mode (`AMPLIFY_PROGRESS_INTERVAL`
/// short): plain progress lines inside their groups, nothing rewritten.
#[tokio::test(flavor = "multi_thread")]
async fn progress_lines_in_ci() {
    let emu = slow_emulator().await;
    emu.push_fault(fault("Upload", 1, FaultAction::Delay { ms: 700 }));
    let (site, _) = site();
    let out = tempfile::tempdir().unwrap();
    let mut c = deploy(&emu, site.path());
    in_actions(&mut c, out.path());
    c.env("AMPLIFY_PROGRESS_INTERVAL", "100ms")
        .env("NO_COLOR", "1");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        !r.stderr.contains('\r') && !r.stderr.contains('\x1b'),
        "{r:?}"
    );
    let uploads = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("uploading: "))
        .count();
    let waits = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("waiting: "))
        .count();
    assert!(uploads >= 2 && waits >= 2, "{r:?}");
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("progress_ci_stderr", &shape(&r.stderr), &paths);
}

/// The default interval is 10 s: a short run prints no progress line.
#[tokio::test(flavor = "multi_thread")]
async fn no_progress_line_before_the_interval() {
    let emu = slow_emulator().await;
    let (site, _) = site();
    let r = run(&mut deploy(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        !r.stderr.contains("uploading: ") && !r.stderr.contains("waiting: "),
        "{r:?}"
    );
}

/// `-q`: the final line only; errors still in full.
#[tokio::test(flavor = "multi_thread")]
async fn quiet_output() {
    let emu = slow_emulator().await;
    let (site, _) = site();
    let mut c = deploy(&emu, site.path());
    c.env("AMPLIFY_PROGRESS_INTERVAL", "100ms");
    let r = run(c.arg("-q")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]")];
    assert_output("quiet_stderr", &r.stderr, &paths);
    let r = run(cmd(&emu).args(["deploy", "--branch", "main", "--quiet"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_output("quiet_error_stderr", &r.stderr, &paths);
    let r = run(deploy(&emu, site.path()).env("AMPLIFY_VERBOSITY", "quiet")).await;
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    let mut before = cmd(&emu);
    before.args([
        "-q", "deploy", "--app-id", APP, "--branch", "main", "--path",
    ]);
    let r = run(before.arg(site.path())).await;
    assert_eq!((r.code, r.stderr.lines().count()), (0, 1), "{r:?}");
}

/// `-v`: each API call with its status, duration and request id, each
/// retry with its reason and wait, the upload's throughput.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_output() {
    let emu = slow_emulator().await;
    emu.push_fault(status_fault(
        "StartDeployment",
        1,
        503,
        Some("ServiceUnavailableException"),
    ));
    let (site, _) = site();
    let r = run(deploy(&emu, site.path()).arg("-v")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let ids = r.stderr.matches("(request id ").count();
    assert!(ids >= 5, "{r:?}");
    let paths = [(site.path(), "[SITE]")];
    assert_output("verbose_stderr", &shape(&r.stderr), &paths);
    let same = run(deploy(&emu, site.path()).env("AMPLIFY_VERBOSITY", "verbose")).await;
    assert!(same.stderr.contains("CreateDeployment POST"), "{same:?}");
}

/// `-v` with the artifact store: the S3 calls (HeadBucket, HeadObject,
/// PutObject against moto) are logged as the Amplify calls are, and the
/// store upload's throughput.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_output_with_the_artifact_store() {
    let emu = slow_emulator().await;
    let bucket = crate::support::moto::bucket("us-east-1");
    let (site, _) = site();
    let r = run(deploy(&emu, site.path())
        .env("AWS_ENDPOINT_URL_S3", crate::support::moto::endpoint())
        .env("AMPLIFY_ARTIFACT_STORE", format!("s3://{bucket}/site"))
        .env("AMPLIFY_ARTIFACT_URL", "presigned")
        .arg("-v"))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let paths = [(site.path(), "[SITE]")];
    let text = shape(&r.stderr).replace(&bucket, "[BUCKET]");
    assert_output("verbose_store_stderr", &text, &paths);
}

/// `-vv`: headers too, with every secret out: no secret key, session
/// token or signature anywhere.
#[tokio::test(flavor = "multi_thread")]
async fn debug_output_redacts_secrets() {
    let emu = emulator().await;
    let site = tiny_site();
    let token = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN";
    let r = run(deploy(&emu, site.path())
        .env("AWS_SESSION_TOKEN", token)
        .arg("-vv"))
    .await;
    assert!(r.stderr.contains("> authorization: ******"), "{r:?}");
    assert!(r.stderr.contains("> x-amz-security-token: ******"), "{r:?}");
    assert!(r.stderr.contains("< x-amzn-requestid: "), "{r:?}");
    for secret in [
        SECRET_KEY,
        token,
        "Signature=",
        "X-Amz-Signature",
        "X-Amz-Credential",
    ] {
        assert!(!r.all().contains(secret), "{secret} leaked: {r:?}");
    }
}

/// NO_COLOR, CLICOLOR_FORCE and --color: who wins. Colour never reaches
/// `$GITHUB_OUTPUT`, the summary, `--json`, the dotenv file, or a workflow
/// command, even with `--color always`.
#[tokio::test(flavor = "multi_thread")]
async fn colour_switches() {
    let emu = slow_emulator().await;
    let (site, _) = site();
    let coloured = |r: &Run| r.stderr.contains("\x1b[");
    let r = run(&mut deploy(&emu, site.path())).await;
    assert!(!coloured(&r), "not a terminal, not CI: {r:?}");
    let r = run(deploy(&emu, site.path()).env("CLICOLOR_FORCE", "1")).await;
    assert!(coloured(&r), "{r:?}");
    let r = run(deploy(&emu, site.path())
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1"))
    .await;
    assert!(!coloured(&r), "{r:?}");
    let r = run(deploy(&emu, site.path())
        .env("NO_COLOR", "1")
        .arg("--color=always"))
    .await;
    assert!(coloured(&r), "{r:?}");
    let r = run(deploy(&emu, site.path()).env("AMPLIFY_COLOR", "always")).await;
    assert!(coloured(&r), "{r:?}");

    let out = tempfile::tempdir().unwrap();
    let mut c = deploy(&emu, site.path());
    in_actions(&mut c, out.path());
    let r = run(c.arg("--color").arg("never")).await;
    assert!(!coloured(&r), "{r:?}");
    let r = run(c.env("NO_COLOR", "x").arg("--color=auto")).await;
    assert!(!coloured(&r), "{r:?}");

    let out = tempfile::tempdir().unwrap();
    let dotenv = out.path().join("deploy.env");
    let json = out.path().join("deploy.json");
    let mut c = deploy(&emu, site.path());
    in_actions(&mut c, out.path());
    c.arg("--color=always").arg("--dotenv").arg(&dotenv);
    let r = run(c.arg("--json").arg(&json)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(coloured(&r), "{r:?}");
    for file in [
        &dotenv,
        &json,
        &out.path().join("output"),
        &out.path().join("summary"),
    ] {
        assert!(
            !read(file).contains('\x1b'),
            "{}: {}",
            file.display(),
            read(file)
        );
    }
    for line in r.stderr.lines().filter(|l| l.starts_with("::")) {
        assert!(!line.contains('\x1b'), "{line}");
    }
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    assert_output("colour_always_stderr", &r.stderr, &paths);
}

/// A failed run with colour: `error:` in red, FAILED in red, the
/// `::error::` annotation plain.
#[tokio::test(flavor = "multi_thread")]
async fn colour_of_a_failure() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "StartDeployment",
        1,
        FaultAction::FailJob {
            reason: "build failed".into(),
        },
    ));
    let site = tiny_site();
    let out = tempfile::tempdir().unwrap();
    let mut c = deploy(&emu, site.path());
    in_actions(&mut c, out.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("\x1b[31merror:\x1b[0m job 1"), "{r:?}");
    assert!(r.stderr.contains("\x1b[31mFAILED\x1b[0m"), "{r:?}");
    let annotation = r.stderr.lines().find(|l| l.starts_with("::error")).unwrap();
    assert!(!annotation.contains('\x1b'), "{annotation}");
}

/// A pull request preview reported on GitHub: the commit status and the
/// deployment while it deploys, then its deployments marked inactive once
/// it is closed.
#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_preview_reported_on_github() {
    let pr = Pr::start().await;
    pr.emu.set_job_duration(JOB_DURATION);
    let paths = [(pr.site.path(), "[SITE]")];
    let github = ["--commit-status", "--deployment-environment", "preview"];
    let r = run(pr
        .cmd("opened", SHA1, REPO, WRITE_TOKEN)
        .args(github)
        .env("SOURCE_DATE_EPOCH", EPOCH))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("preview_github_stderr", &r.stderr, &paths);

    let r = run(pr.cmd("closed", SHA1, REPO, WRITE_TOKEN).args(github)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("preview_github_closed_stderr", &r.stderr, &paths);
}

/// The live check in GitHub Actions, on a branch with custom domains: the
/// new content served (stderr, summary, outputs, JSON), then a site that
/// never updates (`warn`: a warning, exit 0), then skipped.
#[tokio::test(flavor = "multi_thread")]
async fn the_live_check() {
    let emu = slow_emulator().await;
    emu.set_custom_domains(
        APP,
        "main",
        &["www.example.com", "https://shop.example.com"],
    );
    let site = tiny_site();
    let out = tempfile::tempdir().unwrap();
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    let checked = |out: &Path| {
        let mut c = deploy(&emu, site.path());
        c.args(["--verify", "warn", "--verify-timeout", "1s", "--json"])
            .arg(out.join("r.json"))
            .env("AMPLIFY_RESOLVE", format!("*={}", emu.endpoint()));
        in_actions(&mut c, out);
        c
    };
    let r = run(&mut checked(out.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("live_served_stderr", &r.stderr, &paths);
    assert_output(
        "live_served_summary",
        &read(&out.path().join("summary")),
        &paths,
    );
    assert_output(
        "live_served_github_output",
        &read(&out.path().join("output")),
        &paths,
    );
    assert_output(
        "live_served_json",
        &read(&out.path().join("r.json")),
        &paths,
    );

    emu.set_site_lag(std::time::Duration::MAX);
    write(site.path(), "index.html", b"<h1>changed</h1>");
    let out = tempfile::tempdir().unwrap();
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    let r = run(&mut checked(out.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("live_not_served_stderr", &r.stderr, &paths);
    assert_output(
        "live_not_served_summary",
        &read(&out.path().join("summary")),
        &paths,
    );

    let out = tempfile::tempdir().unwrap();
    let paths = [(site.path(), "[SITE]"), (out.path(), "[OUT]")];
    let mut c = checked(out.path());
    c.args(["--verify-path", "/missing.html"]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("live_skipped_stderr", &r.stderr, &paths);
}

/// `status` for the main branch, as text or `--json`.
fn status_cmd(emu: &Emulator, json: bool) -> std::process::Command {
    let mut c = cmd(emu);
    c.args(["status", "--app-id", APP, "--branch", "main"]);
    if json {
        c.arg("--json");
    }
    c
}

/// `previews list` and `previews prune` on an app with a preview of each
/// kind and branches that are not previews.
async fn previews_lab() -> crate::previews_lifecycle::Lab {
    let lab = crate::previews_lifecycle::Lab::start().await;
    let day = std::time::Duration::from_secs(86_400);
    lab.emu.create_branch(APP, "feature");
    lab.preview(1, day, "closed");
    lab.preview(2, 10 * day, "open");
    let expired = lab.preview(3, day, "open");
    lab.expire(&expired, -60);
    lab.emu.set_stage(APP, "pr-4", "PULL_REQUEST");
    lab
}

fn stdout_and_stderr(r: &Run) -> String {
    format!("--- stdout\n{}--- stderr\n{}", r.stdout, r.stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn previews_list_text_and_json() {
    let lab = previews_lab().await;
    let r = run(&mut lab.previews("list")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("previews_list", &stdout_and_stderr(&r), &[]);
    let r = run(lab.previews("list").arg("--json")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("previews_list_json", &r.stdout, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn previews_prune_text_and_json() {
    let lab = previews_lab().await;
    let r = run(lab.previews("prune").args(["--dry-run", "--json"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("previews_prune_dry_run_json", &r.stdout, &[]);
    let r = run(lab
        .previews("prune")
        .args(["--closed", "--expired", "--older-than", "7d"]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("previews_prune", &stdout_and_stderr(&r), &[]);
}

/// `rules sync`: the diff against the app's rules, then the dry run's
/// verdict; and a `_redirects` with lines Amplify cannot express.
#[tokio::test(flavor = "multi_thread")]
async fn the_rules_sync_command() {
    let emu = emulator().await;
    emu.set_custom_rules(
        APP,
        vec![
            amplify_emulator::CustomRule {
                source: "/blog/<*>".into(),
                target: "/news/<*>".into(),
                status: Some("301".into()),
                condition: None,
            },
            amplify_emulator::CustomRule {
                source: "/<*>".into(),
                target: "/index.html".into(),
                status: Some("404-200".into()),
                condition: None,
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let redirects = write(
        dir.path(),
        "_redirects",
        b"/blog/*  /news/:splat  301\n/shop  /store  302  Country=us,ca\n",
    );
    let mut c = cmd(&emu);
    c.args([
        "rules",
        "sync",
        "--app-id",
        APP,
        "--spa",
        "--dry-run",
        "--from",
    ])
    .arg(&redirects);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("rules_sync_dry_run", &r.all(), &[(dir.path(), "[DIR]")]);

    write(
        dir.path(),
        "_redirects",
        b"/ok /fine\n/store id=:id /blog/:id 301\n/admin/* /admin/:splat 200! Role=admin\n",
    );
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_output("rules_sync_refused", &r.all(), &[(dir.path(), "[DIR]")]);
}

/// `history` (text and `--json`) with a live job, one to roll back to and
/// an expired artifact; `rollback` to the previous deploy, and to a job
/// whose artifact is gone.
#[tokio::test(flavor = "multi_thread")]
async fn history_and_rollback() {
    use crate::rollback::{deploy_stored, rollback, s3_cmd, setup, store};
    let (emu, bucket) = setup().await;
    let mut versions = Vec::new();
    for label in ["one", "two", "three"] {
        let v = store(&emu, &bucket, label).await;
        assert_eq!(deploy_stored(&emu, &bucket, &v).await.code, 0);
        versions.push(v);
    }
    crate::support::moto::delete(&bucket, &format!("site/{}.zip", versions[0].sha256));
    let shown = |text: &str| text.replace(&bucket, "[BUCKET]");
    let history = |json: bool| {
        let mut c = s3_cmd(&emu);
        c.args(["history", "--app-id", APP, "--branch", "main"]);
        if json {
            c.arg("--json");
        }
        c
    };
    let r = run(&mut history(false)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("history_stdout", &shown(&r.stdout), &[]);
    let r = run(&mut history(true)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("history_json", &shown(&r.stdout), &[]);

    let r = run(&mut rollback(&emu, &[])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("rollback_stderr", &shown(&r.stderr), &[]);
    let r = run(&mut rollback(&emu, &["--job-id", "1"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_output("rollback_expired_stderr", &shown(&r.stderr), &[]);
}

/// `delete-job` of a job deployed from the artifact store (the package is
/// named so that it can be deleted too), and of the live job (refused).
#[tokio::test(flavor = "multi_thread")]
async fn delete_job_outputs() {
    use crate::rollback::{deploy_stored, s3_cmd, setup, store};
    let (emu, bucket) = setup().await;
    for label in ["leaked", "clean"] {
        let v = store(&emu, &bucket, label).await;
        assert_eq!(deploy_stored(&emu, &bucket, &v).await.code, 0);
    }
    let delete = |id: &str| {
        let mut c = s3_cmd(&emu);
        c.args([
            "delete-job",
            "--app-id",
            APP,
            "--branch",
            "main",
            "--job-id",
            id,
        ]);
        c
    };
    let shown = |text: &str| text.replace(&bucket, "[BUCKET]");
    let r = run(&mut delete("1")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_output("delete_job_stderr", &shown(&r.all()), &[]);
    let r = run(&mut delete("2")).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_output("delete_job_live_refused", &shown(&r.all()), &[]);
}
