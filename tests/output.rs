//! Safe output: hostile file names and service strings in GitHub Actions,
//! escaped Markdown in the job summary and the PR comment, no presigned URL
//! anywhere, and the end of a failed step's log in a group.

use std::path::Path;

use crate::preview::{Pr, SHA1};
use crate::support::github::*;
use crate::support::*;

/// The lines of `stderr` the GitHub runner would take as workflow commands
/// (actions/runner ActionCommand.cs: `::` at the trimmed start, else `##[`
/// anywhere) that are not the tool's own. Its own are annotations with a
/// title, groups, and masks of real secrets; what follows the command
/// (its data) is never parsed again.
fn injected_commands(stderr: &str) -> Vec<String> {
    let own = [
        "::add-mask::",
        "::group::",
        "::endgroup::",
        "::warning title=",
        "::error title=",
        "::notice title=",
    ];
    stderr
        .split(['\n', '\r'])
        .filter(|line| {
            let t = line.trim_start();
            if t.starts_with("::") {
                !own.iter().any(|o| t.starts_with(o)) || t.starts_with("::add-mask::x")
            } else {
                line.contains("##[")
            }
        })
        .map(str::to_owned)
        .collect()
}

/// The binary as a runner starts it: `GITHUB_ACTIONS`, outputs and summary.
fn in_actions(c: &mut std::process::Command, dir: &Path) {
    c.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_command_detector_matches_the_runner() {
    assert_eq!(
        injected_commands("ok\n::error::pwned\n  ::stop-commands::tok\nx ##[error]x\n::add-mask::x\n\u{a0}::error::nbsp\n"),
        ["::error::pwned", "  ::stop-commands::tok", "x ##[error]x", "::add-mask::x", "\u{a0}::error::nbsp"]
    );
    assert!(injected_commands("::warning title=amplify-deploy::a ::error::pwned\n").is_empty());
    assert!(
        injected_commands("::group::Packaging\n::endgroup::\nwarning: a \\::error::b\n").is_empty()
    );
}

/// A one-page site with a symlink per name, alternately leaving the folder
/// and dangling: both are skipped with a warning naming them. (Unix: such
/// names cannot exist on Windows.)
#[cfg(unix)]
fn site_with_symlinks(names: &[&str]) -> (tempfile::TempDir, tempfile::TempDir) {
    let site = tiny_site();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
    for (i, name) in names.iter().enumerate() {
        let target = if i % 2 == 0 {
            outside.path().join("secret.txt")
        } else {
            outside.path().join("missing")
        };
        std::os::unix::fs::symlink(target, site.path().join(name)).unwrap();
    }
    (site, outside)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn hostile_file_names_start_no_workflow_command() {
    let emu = emulator().await;
    let (site, _outside) = site_with_symlinks(&[
        "::error::pwned",
        "::add-mask::x",
        "##[error]x",
        "::stop-commands::tok",
        "  ::warning::indented",
    ]);
    let out = tempfile::tempdir().unwrap();
    let mut c = deploy_cmd(&emu, site.path());
    in_actions(&mut c, out.path());
    // Plain words to count (colour is on in Actions logs).
    c.env("NO_COLOR", "1");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stderr.matches("warning: skipped symlink").count(),
        5,
        "{r:?}"
    );
    assert_eq!(injected_commands(&r.stderr), Vec::<String>::new(), "{r:?}");
    assert_eq!(injected_commands(&r.stdout), Vec::<String>::new(), "{r:?}");
    // Each name is still shown, visibly escaped where it must be.
    assert!(
        r.stderr.contains("skipped symlink ::error::pwned -> "),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("skipped symlink ##\\[error]x -> "),
        "{r:?}"
    );
}

/// Names with a line break: whether the walk skips them with a warning or
/// refuses them (exit 2), no line of the output is an injected command.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn file_names_with_line_breaks_stay_on_their_line() {
    let emu = emulator().await;
    let (site, _outside) = site_with_symlinks(&[
        "nl\n::error::pwned-after-newline",
        "nl\n::add-mask::x",
        "nl\n::stop-commands::tok",
        "cr\r::error::pwned-after-cr",
        "nl\n##[set-env name=A]pwned",
    ]);
    let out = tempfile::tempdir().unwrap();
    let mut c = deploy_cmd(&emu, site.path());
    in_actions(&mut c, out.path());
    let r = run(&mut c).await;
    assert!(r.code == 0 || r.code == 2, "{r:?}");
    assert_eq!(injected_commands(&r.stderr), Vec::<String>::new(), "{r:?}");
    assert_eq!(injected_commands(&r.stdout), Vec::<String>::new(), "{r:?}");
    assert!(
        r.stderr.contains("nl ::error::pwned-after-newline"),
        "{r:?}"
    );
    assert!(r.stderr.contains("cr ::error::pwned-after-cr"), "{r:?}");
}

/// The presigned log URL's secrets, as the emulator received them.
fn log_url_secrets(emu: &Emulator) -> Vec<String> {
    let fetch = emu
        .requests()
        .into_iter()
        .find(|q| q.path.starts_with("/__logs/"))
        .expect("the step log was fetched");
    let query = fetch.query.expect("through its presigned URL");
    let mut secrets = vec![query.clone()];
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name == "X-Amz-Signature" || name == "X-Amz-Security-Token" {
            secrets.push(value.into_owned());
        }
    }
    for (name, raw) in query.split('&').filter_map(|p| p.split_once('=')) {
        if name == "X-Amz-Signature" || name == "X-Amz-Security-Token" {
            secrets.push(raw.to_owned());
        }
    }
    assert!(secrets.len() >= 5, "{secrets:?}");
    secrets
}

const HOSTILE_REASON: &str = "![x](https://evil/x.png) <img src=x> | a\n::error::y";

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_job_shows_its_log_tail_and_publishes_no_markup_or_signature() {
    let pr = Pr::start().await;
    let (emu, gh) = (&pr.emu, &pr.gh);
    let mut log: String = (1..=40).map(|i| format!("build line {i}\n")).collect();
    log.push_str("::error::pwned from the log\n##[set-output name=x]y\n::add-mask::x\n\u{1b}[31mnpm ERR! build failed\u{1b}[0m\r\n");
    emu.push_fault(fault(
        "StartDeployment",
        1,
        FaultAction::FailJobWithLog {
            reason: HOSTILE_REASON.into(),
            log,
        },
    ));
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("result.json");
    let dotenv = out.path().join("deploy.env");
    let mut c = pr.cmd("opened", SHA1, REPO, WRITE_TOKEN);
    in_actions(&mut c, out.path());
    c.arg("--json").arg(&json).arg("--dotenv").arg(&dotenv);
    let r = run(&mut c).await;
    assert_eq!(r.code, 1, "{r:?}");

    // stderr: the reason on its line, no injected command.
    assert_eq!(injected_commands(&r.stderr), Vec::<String>::new(), "{r:?}");
    assert!(
        r.stderr
            .contains("step DEPLOY: ![x](https://evil/x.png) <img src=x> | a ::error::y"),
        "{r:?}"
    );

    // The last 30 lines of the log, in a group, each line made safe.
    let group = r
        .stderr
        .split("::group::Last lines of the DEPLOY step's log\n")
        .nth(1)
        .and_then(|rest| rest.split("::endgroup::").next())
        .unwrap_or_else(|| panic!("no log group: {r:?}"));
    let lines: Vec<&str> = group.lines().collect();
    assert_eq!(lines.first(), Some(&"  …"), "{group}");
    assert_eq!(lines.len(), 31, "{group}");
    assert_eq!(lines[1], "  build line 15");
    assert!(group.contains("  build line 40\n"), "{group}");
    assert!(!group.contains("build line 14\n"), "{group}");
    assert!(
        group.contains("  \\::error::pwned from the log\n"),
        "{group}"
    );
    assert!(group.contains("  ##\\[set-output name=x]y\n"), "{group}");
    assert!(
        group.contains("  \\u{1b}[31mnpm ERR! build failed\\u{1b}[0m\n"),
        "{group}"
    );
    // Asked for the end only.
    let fetch = emu
        .requests()
        .into_iter()
        .find(|q| q.path.starts_with("/__logs/"))
        .unwrap();
    assert!(
        fetch
            .headers
            .iter()
            .any(|(k, v)| k == "range" && v == "bytes=-65536"),
        "{:?}",
        fetch.headers
    );

    // Summary and PR comment: the reason as text.
    let summary = read(&out.path().join("summary"));
    let comments = gh.comments(7);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let comment = &comments[0].body;
    for (what, md) in [("summary", &summary), ("comment", comment)] {
        assert!(
            md.contains("\\!\\[x\\]\\(https://evil/x.png\\) &lt;img src=x&gt; \\| a ::error::y"),
            "{what}: {md}"
        );
        assert!(!md.contains("!["), "{what}: {md}");
        assert!(!md.contains("<img"), "{what}: {md}");
        for row in md.lines().filter(|l| l.starts_with('|')) {
            let columns = row.replace("\\|", "").matches('|').count();
            assert!(columns == 3 || columns == 4, "{what}: {row}");
        }
        assert!(md.contains("https://us-east-1.console.aws.amazon.com/amplify/apps/d1test/branches/pr%2D7/deployments/1"), "{what}: {md}");
    }

    // The presigned URL's query reaches nothing the run published.
    let json_text = read(&json);
    assert!(json_text.contains("\"jobConsoleUrl\""), "{json_text}");
    let published = [
        (
            "stderr",
            r.stderr
                .lines()
                .filter(|l| !l.starts_with("::add-mask::"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        ("stdout", r.stdout.clone()),
        ("GITHUB_OUTPUT", read(&out.path().join("output"))),
        ("summary", summary.clone()),
        ("json", json_text),
        ("dotenv", read(&dotenv)),
        ("comment", comment.clone()),
    ];
    for secret in log_url_secrets(emu) {
        for (what, text) in &published {
            assert!(!text.contains(&secret), "{what} holds {secret:?}:\n{text}");
        }
    }
    for (what, text) in &published {
        assert!(
            !text.contains("/__logs/"),
            "{what} links the log URL:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_that_cannot_be_fetched_is_a_note_and_the_exit_code_stays() {
    for (log_fault, note) in [
        (
            FaultAction::Status {
                status: 403,
                error_type: Some("AccessDenied".into()),
                message: None,
            },
            "could not fetch the DEPLOY step's log: the log server answered HTTP 403",
        ),
        // Never answers in time: bounded by what is left of --timeout.
        (
            FaultAction::Delay { ms: 60_000 },
            "could not fetch the DEPLOY step's log: no answer within",
        ),
    ] {
        let emu = emulator().await;
        emu.push_fault(fault(
            "StartDeployment",
            1,
            FaultAction::FailJob {
                reason: "build failed".into(),
            },
        ));
        emu.push_fault(fault("StepLog", 1, log_fault));
        let site = tiny_site();
        let out = tempfile::tempdir().unwrap();
        let mut c = deploy_cmd(&emu, site.path());
        in_actions(&mut c, out.path());
        c.args(["--timeout", "5s"]);
        let started = std::time::Instant::now();
        let r = run(&mut c).await;
        assert_eq!(r.code, 1, "{r:?}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{r:?}"
        );
        assert!(r.stderr.contains(note), "{r:?}");
        assert!(
            r.stderr
                .contains("::group::Last lines of the DEPLOY step's log\n"),
            "{r:?}"
        );
        assert!(r.stderr.contains("ended FAILED"), "{r:?}");
        for secret in log_url_secrets(&emu) {
            let shown: Vec<&str> = r
                .stderr
                .lines()
                .filter(|l| !l.starts_with("::add-mask::"))
                .collect();
            assert!(!shown.join("\n").contains(&secret), "{r:?}");
        }
    }
}
