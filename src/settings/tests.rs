use std::ffi::OsString;
use std::time::Duration;

use super::names::{validate_app_id, validate_branch};
use super::*;
use crate::choices::{OnBusy, Stage, Verbosity};

#[test]
fn app_ids() {
    assert_eq!(validate_app_id(Some("d1a2b3")).unwrap(), "d1a2b3");
    for bad in ["", "x123", "d", "D123", "d12_3", "d123456789012345678901"] {
        let err = validate_app_id(Some(bad)).unwrap_err();
        assert!(err.message.contains("app-id"), "{bad}: {}", err.message);
        assert_eq!(err.class.code(), 2);
    }
    assert!(validate_app_id(None)
        .unwrap_err()
        .message
        .contains("--app-id"));
}

#[test]
fn branches() {
    assert_eq!(validate_branch(Some("feature/x")).unwrap(), "feature/x");
    assert!(validate_branch(Some(&"b".repeat(255))).is_ok());
    assert!(validate_branch(Some(&"b".repeat(256)))
        .unwrap_err()
        .message
        .contains("255"));
    assert!(validate_branch(Some("")).is_err());
}

#[test]
fn source_urls() {
    assert!(validate_source_url("https://example.com/site.zip").is_ok());
    assert!(validate_source_url("s3://bucket/prefix/").is_ok());
    assert!(validate_source_url("ftp://x/y")
        .unwrap_err()
        .message
        .contains("ftp"));
    assert!(validate_source_url("not a url").is_err());
}

fn env(vars: &[(&str, &str)]) -> Env {
    Env::from_map(
        vars.iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect(),
    )
}

/// The example site: a folder to deploy.
const SITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/site");

/// Parse `argv` (after the program name) with `vars` as the whole
/// environment, and resolve the deploy settings; an app, a branch (unless
/// a preview or an input decides it) and the example site are given when
/// `argv` and `vars` do not.
fn deploy(argv: &[&str], vars: &[(&str, &str)]) -> Result<DeploySettings, RunError> {
    let has = |flag: &str, input: &str| {
        argv.iter().any(|a| a.starts_with(flag)) || vars.iter().any(|(k, _)| *k == input)
    };
    let mut full: Vec<&str> = argv.to_vec();
    if !has("--app-id", "INPUT_APP-ID") {
        full.extend(["--app-id", "d1test"]);
    }
    if !has("--branch", "INPUT_BRANCH") && !has("--preview", "INPUT_PREVIEW") {
        full.extend(["--branch", "main"]);
    }
    if !has("--source-url", "INPUT_SOURCE-URL") && !has("--path", "INPUT_PATH") {
        full.extend(["--path", SITE]);
    }
    resolve_deploy(&full, vars)
}

/// [`deploy`] with exactly `argv`.
fn resolve_deploy(argv: &[&str], vars: &[(&str, &str)]) -> Result<DeploySettings, RunError> {
    let env = env(vars);
    let argv = std::iter::once("amplify-deploy").chain(argv.iter().copied());
    let cli = crate::cli::try_parse_from(argv, |k| env.var_os(k)).unwrap();
    match Settings::resolve(&cli, &env)? {
        Settings::Deploy(s) => Ok(*s),
        _ => panic!("not a deploy"),
    }
}

fn pull_request_event(action: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let payload = serde_json::json!({
        "action": action,
        "number": 42,
        "pull_request": {"head": {"sha": "abc"}, "base": {"repo": {"full_name": "o/r"}}}
    });
    std::fs::write(file.path(), payload.to_string()).unwrap();
    file
}

#[test]
fn flag_beats_github_input_beats_default() {
    let inputs = [("INPUT_BRANCH", "from-input"), ("INPUT_TIMEOUT", "5m")];
    let s = deploy(&["--branch", "from-flag"], &inputs).unwrap();
    assert_eq!(&*s.branch, "from-flag");
    assert_eq!(s.timeout, Duration::from_secs(300));
    let err = resolve_deploy(&["--app-id", "d1"], &[]).err().unwrap();
    assert!(
        err.message.starts_with("branch is required"),
        "{}",
        err.message
    );
    let s = deploy(&[], &[]).unwrap();
    assert_eq!(s.timeout, Duration::from_secs(30 * 60));
    // A list input is one pattern a line, as AMPLIFY_EXCLUDE.
    let s = deploy(&[], &[("INPUT_EXCLUDE", "*.map\n\n.git/")]).unwrap();
    let Some(Source::Folder(opts)) = &s.source else {
        panic!("a folder")
    };
    assert_eq!(opts.excludes, ["*.map", ".git/"]);
}

#[test]
fn defaults_are_decided_here() {
    let s = deploy(&[], &[]).unwrap();
    assert!(s.wait && !s.dry_run && !s.keep_job_on_timeout && !s.create_branch);
    assert_eq!((s.stage, s.on_busy), (Stage::Production, OnBusy::Wait));
    assert!(matches!(s.preview, Preview::Off));
    assert_eq!(s.aws.role_duration_seconds, DEFAULT_ROLE_DURATION_SECONDS);
    assert!(!deploy(&["--no-wait"], &[]).unwrap().wait);
    assert!(!deploy(&[], &[("INPUT_WAIT", "false")]).unwrap().wait);
    assert!(!s.github.commit_status);
    assert!(
        deploy(&["--commit-status"], &[])
            .unwrap()
            .github
            .commit_status
    );
    let input = [("INPUT_COMMIT_STATUS", "true")];
    assert!(deploy(&[], &input).unwrap().github.commit_status);
    let fast = deploy(&["--poll-interval", "1ms"], &[]).unwrap();
    assert_eq!(fast.poll_interval, Duration::from_millis(10));
}

#[test]
fn skew_protection_is_left_alone_unless_given() {
    let skew = |argv: &[&str], vars: &[(&str, &str)]| deploy(argv, vars).unwrap().skew_protection;
    assert_eq!(skew(&[], &[]), None);
    assert_eq!(skew(&["--skew-protection", "true"], &[]), Some(true));
    assert_eq!(skew(&["--skew-protection=false"], &[]), Some(false));
    // (clap reads AMPLIFY_* itself; the GitHub input stands for it here.)
    assert_eq!(skew(&[], &[("INPUT_SKEW-PROTECTION", "off")]), Some(false));
    assert_eq!(skew(&[], &[("INPUT_SKEW-PROTECTION", "true")]), Some(true));
    let input = [("INPUT_SKEW-PROTECTION", "true")];
    assert_eq!(skew(&["--skew-protection", "false"], &input), Some(false));
    // A value is needed, and it is a boolean.
    for bad in [&["--skew-protection"][..], &["--skew-protection", "maybe"]] {
        let argv = std::iter::once("amplify-deploy").chain(bad.iter().copied());
        assert!(
            crate::cli::try_parse_from(argv, |_| None).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn not_found_page_is_the_default_none_or_a_page() {
    let page = |argv: &[&str], vars: &[(&str, &str)]| {
        let args = crate::cli::try_parse_from(
            std::iter::once("amplify-deploy").chain(argv.iter().copied()),
            |k| env(vars).var_os(k),
        )
        .unwrap();
        NotFoundPage::parse(args.deploy.not_found_page.as_deref())
    };
    assert_eq!(page(&[], &[]), NotFoundPage::Default);
    assert_eq!(page(&["--not-found-page", "none"], &[]), NotFoundPage::Off);
    let input = [("INPUT_NOT-FOUND-PAGE", "/e/404.html")];
    assert_eq!(page(&[], &input), NotFoundPage::Page("/e/404.html".into()));
}

#[test]
fn aws_conventions_follow_the_flags() {
    let vars = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "us-east-2"),
        ("AWS_ENDPOINT_URL", "http://generic"),
        ("AWS_ENDPOINT_URL_AMPLIFY", "http://amplify"),
        ("GITHUB_RUN_ID", "77"),
    ];
    let s = deploy(&[], &vars).unwrap();
    assert_eq!(s.aws.region.as_deref(), Some("eu-west-1"));
    let endpoint = s.aws.endpoint.clone().unwrap();
    assert_eq!(
        (endpoint.source, endpoint.url.as_str()),
        ("AWS_ENDPOINT_URL_AMPLIFY", "http://amplify")
    );
    assert_eq!(s.aws.default_session_name, "amplify-deploy-77");
    let s = deploy(
        &["--region", "ap-south-1", "--endpoint-url", "http://flag"],
        &vars[1..3],
    )
    .unwrap();
    assert_eq!(s.aws.region.as_deref(), Some("ap-south-1"));
    assert_eq!(s.aws.endpoint.clone().unwrap().source, "endpoint-url");
    let s = deploy(
        &[],
        &[("AWS_REGION", " "), ("AWS_DEFAULT_REGION", "us-east-2")],
    );
    assert_eq!(s.unwrap().aws.region.as_deref(), Some("us-east-2"));
}

#[test]
fn s3_endpoint_is_its_own_then_the_generic_one() {
    let vars = [
        ("AWS_ENDPOINT_URL", "http://generic"),
        ("AWS_ENDPOINT_URL_S3", "http://s3"),
    ];
    let s3 = deploy(&[], &vars).unwrap().aws.s3_endpoint.clone().unwrap();
    assert_eq!(
        (s3.source, s3.url.as_str()),
        ("AWS_ENDPOINT_URL_S3", "http://s3")
    );
    let s3 = deploy(&[], &vars[..1])
        .unwrap()
        .aws
        .s3_endpoint
        .clone()
        .unwrap();
    assert_eq!(s3.source, "AWS_ENDPOINT_URL");
    let amplify_only = [("AWS_ENDPOINT_URL_AMPLIFY", "http://amplify")];
    assert_eq!(deploy(&[], &amplify_only).unwrap().aws.s3_endpoint, None);
}

#[test]
fn github_token_falls_back_to_github_token() {
    let vars = [("GITHUB_TOKEN", "from-env")];
    let s = deploy(&["--github-token", "from-flag"], &vars).unwrap();
    assert_eq!(s.github.token.as_deref(), Some("from-flag"));
    let s = deploy(&["--github-token", " "], &vars).unwrap();
    assert_eq!(s.github.token.as_deref(), Some("from-env"));
    let s = deploy(&[], &[]).unwrap();
    assert_eq!(s.github.api_url, DEFAULT_GITHUB_API_URL);
}

#[test]
fn a_pull_request_decides_branch_create_and_stage() {
    let event = pull_request_event("opened");
    let path = event.path().to_str().unwrap();
    let vars = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", path),
    ];
    let s = deploy(&["--preview", "--branch", "main"], &vars).unwrap();
    assert_eq!(&*s.branch, "pr-42");
    assert!(s.create_branch);
    assert_eq!(s.stage, Stage::PullRequest);
    let Preview::PullRequest { pr, given_branch } = &s.preview else {
        panic!("not a preview: {:?}", s.preview);
    };
    assert_eq!((pr.number, given_branch.as_deref()), (42, Some("main")));
    // A stage given by flag or input is kept.
    let s = deploy(&["--preview", "--stage", "BETA"], &vars).unwrap();
    assert_eq!(s.stage, Stage::Beta);
    let with_input = [vars[0], vars[1], ("INPUT_STAGE", "DEVELOPMENT")];
    let s = deploy(&["--preview"], &with_input).unwrap();
    assert_eq!(s.stage, Stage::Development);
    let bad = deploy(&["--preview", "--preview-prefix", "a\tb"], &vars);
    assert!(bad.err().unwrap().message.starts_with("preview-prefix: "));
}

#[test]
fn preview_on_other_events_needs_a_branch() {
    let push = [("GITHUB_EVENT_NAME", "push")];
    let s = deploy(&["--preview", "--branch", "main"], &push).unwrap();
    assert_eq!(&*s.branch, "main");
    assert_eq!(s.stage, Stage::Production);
    assert!(matches!(&s.preview, Preview::NotPullRequest { why } if why.contains("push")));
    let err = deploy(&["--preview"], &push).err().unwrap();
    assert!(
        err.message.contains("no branch is given"),
        "{}",
        err.message
    );
    let err = deploy(&["--preview"], &[("GITHUB_EVENT_NAME", "pull_request")])
        .err()
        .unwrap();
    assert!(err.message.contains("GITHUB_EVENT_PATH"), "{}", err.message);
}

#[test]
fn a_forks_preview_settings() {
    let s = deploy(&[], &[]).unwrap();
    assert_eq!(s.fork.mode, crate::choices::ForkPreviews::Approved);
    assert_eq!(
        (&*s.fork.label, &*s.fork.artifact),
        ("preview", "amplify-preview")
    );
    assert!(s.fork.trusted.is_none());
    let inputs = [
        ("INPUT_FORK-PREVIEWS", "off"),
        ("INPUT_PREVIEW-LABEL", " ok to preview "),
        ("INPUT_PREVIEW-ARTIFACT", "site"),
    ];
    let s = deploy(&[], &inputs).unwrap();
    assert_eq!(s.fork.mode, crate::choices::ForkPreviews::Off);
    assert_eq!(
        (&*s.fork.label, &*s.fork.artifact),
        ("ok to preview", "site")
    );
    let err = deploy(&["--preview-label", " "], &[]).err().unwrap();
    assert!(err.message.contains("preview-label"), "{}", err.message);
    let argv = ["amplify-deploy", "--fork-previews", "some"];
    assert!(crate::cli::try_parse_from(argv, |_| None).is_err());

    // workflow_run: the build's artifact, no branch needed; with a path,
    // as any other event.
    let event = tempfile::NamedTempFile::new().unwrap();
    let run = serde_json::json!({"workflow_run": {"id": 9, "event": "pull_request",
        "conclusion": "success", "head_sha": "a".repeat(40), "head_branch": "f",
        "head_repository": {"full_name": "x/r"}, "repository": {"full_name": "o/r"}}});
    std::fs::write(event.path(), run.to_string()).unwrap();
    let vars = [
        ("GITHUB_EVENT_NAME", "workflow_run"),
        ("GITHUB_EVENT_PATH", event.path().to_str().unwrap()),
    ];
    let s = resolve_deploy(&["--app-id", "d1test", "--preview"], &vars).unwrap();
    let Some(TrustedEvent::WorkflowRun(found)) = &s.fork.trusted else {
        panic!("{:?}", s.fork.trusted);
    };
    assert_eq!((found.id, found.head_branch.as_deref()), (9, Some("f")));
    assert!(resolve_deploy(&["--app-id", "d1", "--preview", "--path", SITE], &vars).is_err());
    let s = deploy(&["--preview", "--path", SITE, "--branch", "main"], &vars).unwrap();
    assert!(s.fork.trusted.is_none());

    // pull_request_target without a path; then the found preview's settings.
    let event = pull_request_event("labeled");
    let vars = [
        ("GITHUB_EVENT_NAME", "pull_request_target"),
        ("GITHUB_EVENT_PATH", event.path().to_str().unwrap()),
    ];
    let argv = [
        "--app-id",
        "d1",
        "--preview",
        "--branch",
        "main",
        "--message",
        "m",
    ];
    let s = resolve_deploy(&argv, &vars).unwrap();
    let Some(TrustedEvent::PullRequestTarget(pr)) = &s.fork.trusted else {
        panic!("{:?}", s.fork.trusted);
    };
    let mut pr = pr.clone();
    pr.number = 7;
    pr.head_sha = Some("b".repeat(40));
    let found = s
        .for_fork_preview(pr, Some("Title".into()), SITE.into())
        .unwrap();
    assert_eq!(&*found.branch, "pr-7");
    let Some(Source::Folder(opts)) = &found.source else {
        panic!("a folder")
    };
    assert_eq!(opts.root, std::path::Path::new(SITE));
    assert_eq!(found.commit.sha, Some("b".repeat(40)));
    assert_eq!(found.commit.message.as_deref(), Some("m"));
    assert!(found.create_branch && found.stage == Stage::PullRequest);
    assert!(found.fork.trusted.is_none());
    assert!(matches!(&found.preview,
        Preview::PullRequest { pr, given_branch } if pr.number == 7 && given_branch.as_deref() == Some("main")));
    let s = deploy(&["--preview", "--path", SITE], &vars).unwrap();
    assert!(s.fork.trusted.is_none());
}

#[test]
fn runner_temp_and_source_date_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().to_str().unwrap();
    let s = deploy(&[], &[("RUNNER_TEMP", here)]).unwrap();
    assert_eq!(s.temp_dir, dir.path());
    let s = deploy(&[], &[("RUNNER_TEMP", "/no/such/dir")]).unwrap();
    assert_eq!(s.temp_dir, std::env::temp_dir());
    let s = deploy(&[], &[("SOURCE_DATE_EPOCH", "1700000000")]).unwrap();
    let Some(Source::Folder(opts)) = &s.source else {
        panic!("a folder")
    };
    assert_eq!(opts.source_date_epoch, Some(1_700_000_000));
    let err = deploy(&[], &[("SOURCE_DATE_EPOCH", "yesterday")])
        .err()
        .unwrap();
    assert!(err.message.contains("SOURCE_DATE_EPOCH"), "{}", err.message);
}

fn output(argv: &[&str], vars: &[(&str, &str)], terminal: bool) -> OutputSettings {
    let env = env(vars);
    let argv = std::iter::once("amplify-deploy").chain(argv.iter().copied());
    let cli = crate::cli::try_parse_from(argv, |k| env.var_os(k)).unwrap();
    OutputSettings::resolve(&cli.output, &env, terminal)
}

#[test]
fn verbosity_flags_beat_the_variable() {
    let v = |argv: &[&str], vars: &[(&str, &str)]| output(argv, vars, false).verbosity;
    assert_eq!(v(&[], &[]), Verbosity::Normal);
    assert_eq!(v(&["-q"], &[]), Verbosity::Quiet);
    assert_eq!(v(&["status", "--quiet"], &[]), Verbosity::Quiet);
    assert_eq!(v(&["-v"], &[]), Verbosity::Verbose);
    assert_eq!(v(&["-vv"], &[]), Verbosity::Debug);
    assert_eq!(v(&["-v", "-v", "-v"], &[]), Verbosity::Debug);
    // Before the command name too.
    assert_eq!(v(&["-q", "status"], &[]), Verbosity::Quiet);
    assert_eq!(
        v(&["-vv", "--color", "never", "deploy"], &[]),
        Verbosity::Debug
    );
    assert_eq!(v(&["--verbosity=verbose", "stop"], &[]), Verbosity::Verbose);
    let quiet = [("AMPLIFY_VERBOSITY", "quiet")];
    assert_eq!(v(&["--verbosity", "debug"], &[]), Verbosity::Debug);
    assert_eq!(
        v(&["-v", "--verbosity", "quiet"], &quiet),
        Verbosity::Verbose
    );
    let flags = ["--verbosity", "quiet"];
    assert_eq!(output(&flags, &[], true).progress, ProgressMode::Off);
}

#[test]
fn colour_switches() {
    let c = |argv: &[&str], vars: &[(&str, &str)], tty: bool| output(argv, vars, tty).color;
    assert!(c(&[], &[], true));
    assert!(!c(&[], &[], false));
    assert!(!c(&[], &[("TERM", "dumb")], true));
    assert!(c(&[], &[("GITHUB_ACTIONS", "true")], false));
    assert!(!c(&[], &[("NO_COLOR", "1")], true));
    assert!(
        c(&[], &[("NO_COLOR", "")], true),
        "an empty NO_COLOR is unset"
    );
    assert!(!c(
        &[],
        &[("NO_COLOR", "1"), ("GITHUB_ACTIONS", "true")],
        false
    ));
    assert!(c(&[], &[("CLICOLOR_FORCE", "1")], false));
    assert!(!c(&[], &[("CLICOLOR_FORCE", "0")], false));
    assert!(!c(
        &[],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
        false
    ));
    assert!(c(&["--color", "always"], &[("NO_COLOR", "1")], false));
    assert!(!c(&["--color=never"], &[("CLICOLOR_FORCE", "1")], true));
}

#[test]
fn progress_is_live_on_a_terminal_outside_ci() {
    let p = |vars: &[(&str, &str)], tty: bool| output(&[], vars, tty).progress;
    assert_eq!(p(&[], true), ProgressMode::Live);
    assert_eq!(p(&[], false), ProgressMode::Lines(PROGRESS_INTERVAL));
    assert_eq!(
        p(&[("CI", "true")], true),
        ProgressMode::Lines(PROGRESS_INTERVAL)
    );
    assert_eq!(
        p(&[("GITHUB_ACTIONS", "true")], true),
        ProgressMode::Lines(PROGRESS_INTERVAL)
    );
    let fast = [("AMPLIFY_PROGRESS_INTERVAL", "200ms")];
    assert_eq!(
        p(&fast, false),
        ProgressMode::Lines(Duration::from_millis(200))
    );
}
