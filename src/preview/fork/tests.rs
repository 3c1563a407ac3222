use super::*;
use crate::package::unpack::Caps;

const BUILT: &str = "1111111111111111111111111111111111111111";

fn settings(mode: ForkPreviews) -> ForkSettings {
    ForkSettings {
        mode,
        label: "preview".into(),
        artifact: "amplify-preview".into(),
        caps: Caps::default(),
        trusted: None,
        stage: None,
        filter: crate::settings::FilterSettings {
            excludes: Vec::new(),
            threads: None,
            max_archive_bytes: None,
            source_date_epoch: None,
            keep_rule_files: false,
        },
    }
}

fn context(fork: &ForkSettings) -> Context<'_> {
    Context {
        repository: Some("octo/site"),
        api_url: "https://api.github.com",
        token: Some("t"),
        temp_dir: Path::new("/nonexistent"),
        prefix: "pr-",
        sync_rules: false,
        fork,
        pr: None,
    }
}

fn pull(labels: &[&str], association: &str, head: &str) -> PullInfo {
    PullInfo {
        number: 7,
        state: "open".into(),
        title: Some("Fix typo".into()),
        head_sha: head.into(),
        head_ref: "feature".into(),
        head_repo: Some("stranger/site".into()),
        base_repo: Some("octo/site".into()),
        base_ref: Some("main".into()),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        author_association: association.into(),
    }
}

#[test]
fn approved_takes_the_label_or_a_trusted_author() {
    let fork = settings(ForkPreviews::Approved);
    let cx = context(&fork);
    assert_eq!(
        decide(&cx, &pull(&["bug", "preview"], "NONE", BUILT), BUILT),
        None
    );
    for trusted in ["OWNER", "MEMBER", "COLLABORATOR"] {
        assert_eq!(
            decide(&cx, &pull(&[], trusted, BUILT), BUILT),
            None,
            "{trusted}"
        );
    }
    for other in [
        "CONTRIBUTOR",
        "FIRST_TIME_CONTRIBUTOR",
        "NONE",
        "MANNEQUIN",
        "",
    ] {
        let ended = decide(&cx, &pull(&["Preview", "previews"], other, BUILT), BUILT).unwrap();
        assert_eq!(ended.status, Some(RunStatus::AwaitingApproval), "{other}");
        assert_eq!(ended.branch.as_deref(), Some("pr-7"));
        assert!(
            ended.why.contains("adds the label preview"),
            "{}",
            ended.why
        );
    }
    let first = decide(&cx, &pull(&[], "FIRST_TIME_CONTRIBUTOR", BUILT), BUILT).unwrap();
    assert!(
        first.why.contains("its author is a first-time-contributor"),
        "{}",
        first.why
    );
}

#[test]
fn all_deploys_every_fork_and_a_moved_head_is_superseded_whatever_the_mode() {
    let all = settings(ForkPreviews::All);
    assert_eq!(
        decide(&context(&all), &pull(&[], "NONE", BUILT), BUILT),
        None
    );
    let approved = settings(ForkPreviews::Approved);
    for fork in [&all, &approved] {
        let newer = "2222222222222222222222222222222222222222";
        let ended = decide(&context(fork), &pull(&["preview"], "OWNER", newer), BUILT).unwrap();
        assert_eq!(ended.status, Some(RunStatus::Superseded));
        assert!(
            ended.why.contains(newer) && ended.why.contains(BUILT),
            "{}",
            ended.why
        );
    }
}

#[test]
fn a_forks_own_run_is_deferred_open_or_closed() {
    let fork = settings(ForkPreviews::Approved);
    let mut cx = context(&fork);
    let payload = |action: &str, head: &str| {
        serde_json::json!({"action": action, "number": 7, "pull_request": {
            "head": {"sha": BUILT, "repo": {"full_name": head}},
            "base": {"repo": {"full_name": "octo/site"}}}})
        .to_string()
    };
    let opened = PullRequest::parse("pull_request", &payload("opened", "stranger/site")).unwrap();
    cx.pr = Some(&opened);
    let ended = deferred(&cx, &opened);
    assert_eq!(ended.status, Some(RunStatus::Deferred));
    assert!(ended.why.contains("workflow_run") && ended.why.contains(DOCS));
    let closed = PullRequest::parse("pull_request", &payload("closed", "stranger/site")).unwrap();
    assert!(deferred(&cx, &closed)
        .why
        .contains("pull_request_target closed"));
}

#[test]
fn the_summary_is_markdown_safe() {
    let ended = Ended::new(
        Some(RunStatus::AwaitingApproval),
        None,
        "label <img src=x> [a](javascript:x)".into(),
    );
    let md = ended.summary();
    assert!(
        md.starts_with("### ⏭️ Amplify deploy: AWAITING\\_APPROVAL"),
        "{md}"
    );
    assert!(!md.contains("<img") && !md.contains("[a]("), "{md}");
}

fn reporter() -> Reporter {
    Reporter::new(crate::ci::github::GitHub::new(
        false,
        None,
        None,
        Box::new(std::io::sink()),
    ))
}

/// What the run decides before it asks GitHub anything: here the API's
/// URL is unusable, so any call would be an error.
#[tokio::test]
async fn what_is_decided_from_the_event_alone() {
    let run = |conclusion: &str, head: Option<&str>, branch: Option<&str>| WorkflowRun {
        id: 42,
        name: None,
        event: "pull_request".into(),
        conclusion: Some(conclusion.into()),
        head_sha: BUILT.into(),
        head_branch: branch.map(str::to_owned),
        head_repo: head.map(str::to_owned),
        repo: Some("octo/site".into()),
    };
    let cases = [
        (
            run("failure", Some("stranger/site"), Some("f")),
            None,
            "ended failure",
        ),
        (
            run("success", Some("octo/site"), Some("f")),
            None,
            "of this repository",
        ),
        (run("success", None, Some("f")), None, "a deleted fork"),
        (
            run("success", Some("stranger/site"), None),
            None,
            "a deleted fork",
        ),
    ];
    for (event, status, why) in cases {
        let mut fork = settings(ForkPreviews::Approved);
        fork.trusted = Some(TrustedEvent::WorkflowRun(event));
        let mut cx = context(&fork);
        cx.api_url = "not a url";
        let Route::Ended(ended) = route(&cx, &reporter()).await.unwrap() else {
            panic!("{why}: not ended");
        };
        assert_eq!(ended.status, status, "{why}");
        assert!(ended.why.contains(why), "{why}: {}", ended.why);
    }
    let mut fork = settings(ForkPreviews::Off);
    fork.trusted = Some(TrustedEvent::WorkflowRun(run(
        "success",
        Some("x/site"),
        Some("f"),
    )));
    let mut cx = context(&fork);
    cx.api_url = "not a url";
    let Route::Ended(ended) = route(&cx, &reporter()).await.unwrap() else {
        panic!("not ended");
    };
    assert_eq!(ended.status, Some(RunStatus::Disabled));
}
