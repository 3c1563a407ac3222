//! Pull request previews and GitHub deployment statuses: the real binary
//! against the emulator and the fake GitHub.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::github::*;
use crate::support::*;

pub(crate) const SHA1: &str = "1111111111111111111111111111111111111111";
const SHA2: &str = "2222222222222222222222222222222222222222";

/// A `pull_request` payload for PR 7 of [`REPO`] (`head_repo` differs for a fork).
fn event(dir: &Path, action: &str, sha: &str, head_repo: &str) -> PathBuf {
    let payload = pull_request_payload("pull_request", action, 7, sha, head_repo);
    let path = dir.join(format!("event-{action}-{sha}.json"));
    std::fs::write(&path, payload.to_string()).expect("write event");
    path
}

/// The binary as a GitHub Actions runner starts it for a pull request event.
fn preview_cmd(
    emu: &Emulator,
    gh: &FakeGitHub,
    site: &Path,
    event_path: &Path,
    token: &str,
) -> Command {
    let mut c = cmd(emu);
    c.args(["deploy", "--app-id", APP, "--preview", "--path"])
        .arg(site)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", event_path)
        .env("GITHUB_API_URL", gh.url())
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_SHA", "ffffffffffffffffffffffffffffffffffffffff")
        .env("AMPLIFY_GITHUB_TOKEN", token);
    c
}

/// An emulator, a fake GitHub, a one-page site, and a folder for event payloads.
pub(crate) struct Pr {
    pub(crate) emu: Emulator,
    pub(crate) gh: FakeGitHub,
    pub(crate) site: tempfile::TempDir,
    events: tempfile::TempDir,
}

impl Pr {
    pub(crate) async fn start() -> Pr {
        Pr {
            emu: emulator().await,
            gh: FakeGitHub::start().await,
            site: tiny_site(),
            events: tempfile::tempdir().unwrap(),
        }
    }

    /// The binary as the runner starts it for PR 7's `action` event.
    pub(crate) fn cmd(&self, action: &str, sha: &str, head_repo: &str, token: &str) -> Command {
        let event = event(self.events.path(), action, sha, head_repo);
        preview_cmd(&self.emu, &self.gh, self.site.path(), &event, token)
    }
}

/// No secret in anything the run printed, `::add-mask::` lines aside (the
/// runner reads those and hides the value everywhere else).
fn assert_no_secrets(r: &Run) {
    let shown: String = r
        .all()
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    for secret in [WRITE_TOKEN, READ_TOKEN, PAT_TOKEN, SECRET_KEY] {
        assert!(!shown.contains(secret), "secret in output: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_gets_a_branch_and_one_comment_until_it_closes() {
    let pr = Pr::start().await;
    let (emu, gh) = (&pr.emu, &pr.gh);
    gh.add_comment(7, "LGTM");

    // opened: branch pr-7 created (stage PULL_REQUEST) and deployed, one comment.
    let r = run(&mut pr.cmd("opened", SHA1, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(emu.branches(APP).contains(&"pr-7".to_owned()));
    assert_eq!(job_statuses(emu, "pr-7"), ["SUCCEED"]);
    assert!(
        r.stderr
            .contains("creating branch pr-7 (stage PULL_REQUEST)"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains(&format!("::add-mask::{WRITE_TOKEN}")),
        "{r:?}"
    );
    assert_no_secrets(&r);
    let ours: Vec<_> = gh
        .comments(7)
        .into_iter()
        .filter(|c| c.body.contains("<!-- amplify-deploy:preview:d1test -->"))
        .collect();
    assert_eq!(ours.len(), 1, "{:?}", gh.comments(7));
    let comment = &ours[0];
    assert!(
        comment.body.contains("https://pr-7.d1test.amplifyapp.com"),
        "{}",
        comment.body
    );
    assert!(comment.body.contains(SHA1), "{}", comment.body);
    assert!(comment.body.contains("SUCCEED"), "{}", comment.body);
    assert_eq!(gh.comments(7).len(), 2);
    // Every API call carried the token as a bearer.
    assert!(gh
        .requests()
        .iter()
        .all(|q| q.authorization.as_deref() == Some(&*format!("Bearer {WRITE_TOKEN}"))));

    // synchronize: the same comment is updated, not a second one.
    let r = run(&mut pr.cmd("synchronize", SHA2, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(emu, "pr-7"), ["SUCCEED", "SUCCEED"]);
    let comments = gh.comments(7);
    assert_eq!(comments.len(), 2, "{comments:?}");
    let updated = comments.iter().find(|c| c.id == comment.id).unwrap();
    assert!(
        updated.body.contains(SHA2) && !updated.body.contains(SHA1),
        "{}",
        updated.body
    );
    assert!(r.stderr.contains("updated the comment"), "{r:?}");

    // closed, as a dry run: nothing changes.
    let mut c = pr.cmd("closed", SHA2, REPO, WRITE_TOKEN);
    let r = run(c.arg("--dry-run")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("would stop"), "{r:?}");
    assert!(emu.branches(APP).contains(&"pr-7".to_owned()));

    // closed: the branch is deleted and the comment says so.
    let before = count(emu, "CreateDeployment");
    let r = run(&mut pr.cmd("closed", SHA2, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!emu.branches(APP).contains(&"pr-7".to_owned()));
    assert!(emu.branches(APP).contains(&"main".to_owned()));
    assert_eq!(
        count(emu, "CreateDeployment"),
        before,
        "closing must not deploy"
    );
    let comments = gh.comments(7);
    assert_eq!(comments.len(), 2, "{comments:?}");
    let removed = comments.iter().find(|c| c.id == comment.id).unwrap();
    assert!(
        removed.body.contains("preview was removed"),
        "{}",
        removed.body
    );
    assert_no_secrets(&r);

    // closed again (a re-run): the branch is already gone, still fine.
    let r = run(&mut pr.cmd("closed", SHA2, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("does not exist"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_stops_the_unfinished_job_before_deleting() {
    let pr = Pr::start().await;
    let (emu, gh) = (&pr.emu, &pr.gh);
    // A preview made before the ownership tag: its name and stage say so.
    emu.create_branch(APP, "pr-7");
    emu.set_stage(APP, "pr-7", "PULL_REQUEST");
    emu.insert_job(APP, "pr-7", "RUNNING");
    let r = run(&mut pr.cmd("closed", SHA1, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let ops: Vec<String> = operations(emu)
        .into_iter()
        .filter(|o| o == "StopJob" || o == "DeleteBranch")
        .collect();
    assert_eq!(ops, ["StopJob", "DeleteBranch"]);
    assert!(!emu.branches(APP).contains(&"pr-7".to_owned()));
    // No comment existed, so none is created for a closed PR.
    assert!(gh.comments(7).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_marker_is_found_on_a_later_page() {
    let pr = Pr::start().await;
    let gh = &pr.gh;
    gh.add_comments(7, 120);
    let ours = gh.add_comment_by(
        7,
        ACTIONS_BOT,
        "<!-- amplify-deploy:preview:d1test -->\nold preview comment",
    );
    gh.add_comments(7, 30);
    // Another app's preview comment is not ours.
    gh.add_comment(7, "<!-- amplify-deploy:preview:d9other -->\nother app");

    let r = run(&mut pr.cmd("synchronize", SHA1, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let comments = gh.comments(7);
    assert_eq!(comments.len(), 152, "a second comment was created");
    let updated = comments.iter().find(|c| c.id == ours).unwrap();
    assert!(updated.body.contains(SHA1), "{}", updated.body);
    // Page 1 asked for 100; page 2 came from the Link header.
    let lists: Vec<_> = gh
        .requests()
        .into_iter()
        .filter(|q| q.method == "GET" && q.path.ends_with("/comments"))
        .collect();
    assert_eq!(lists.len(), 2, "{lists:?}");
    assert!(lists[0].query.contains("per_page=100"));
    assert!(lists[1].path.starts_with("/repositories/") && lists[1].query.contains("page=2"));
}

/// GitHub Enterprise Server serves the API under `/api/v3`: every call,
/// and the next page its `Link` names, stays under that base (a call that
/// leaves it is a contract violation, and fails the test).
#[tokio::test(flavor = "multi_thread")]
async fn github_enterprise_server_calls_stay_under_the_api_base() {
    let mut pr = Pr::start().await;
    pr.gh = FakeGitHub::start_under("/api/v3").await;
    pr.gh.add_comments(7, 120);
    let environment = ["--deployment-environment", "preview", "--commit-status"];
    let r = run(pr.cmd("opened", SHA1, REPO, WRITE_TOKEN).args(environment)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("::warning"), "{r:?}");
    assert_eq!(pr.gh.comments(7).len(), 121);
    assert_eq!(pr.gh.commit_statuses().len(), 2);
    let requests = pr.gh.requests();
    let operations: Vec<&str> = requests
        .iter()
        .filter_map(|q| q.operation.as_deref())
        .collect();
    assert_eq!(operations.len(), requests.len(), "{requests:?}");
    for op in [
        "issues/list-comments",
        "issues/create-comment",
        "repos/create-deployment",
        "repos/create-commit-status",
    ] {
        assert!(operations.contains(&op), "{op} in {operations:?}");
    }
    assert!(
        requests
            .iter()
            .any(|q| q.path.starts_with("/repositories/")),
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_token_is_a_warning_not_a_failed_deploy() {
    let pr = Pr::start().await;
    let (emu, gh) = (&pr.emu, &pr.gh);
    let r = run(&mut pr.cmd("opened", SHA1, REPO, READ_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(emu, "pr-7"), ["SUCCEED"]);
    assert!(r.stderr.contains("::warning"), "{r:?}");
    assert!(r.stderr.contains("pull-requests: write"), "{r:?}");
    assert!(gh.comments(7).is_empty());
    assert!(gh.requests().iter().any(|q| q.status == 403));
    assert_no_secrets(&r);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forks_own_run_deploys_nothing_and_says_who_does() {
    let pr = Pr::start().await;
    let (emu, gh) = (&pr.emu, &pr.gh);
    let mut c = pr.cmd("opened", SHA1, "stranger/site", READ_TOKEN);
    c.args(["--deployment-environment", "preview"]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(emu.requests().is_empty(), "{:?}", operations(emu));
    assert!(!emu.branches(APP).contains(&"pr-7".to_owned()));
    assert!(r.stderr.contains("fork stranger/site"), "{r:?}");
    assert!(r.stderr.contains("::notice title=Deferred::"), "{r:?}");
    assert!(gh.requests().is_empty(), "{:?}", gh.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fifty_first_branch_is_a_clear_error() {
    let pr = Pr::start().await;
    let emu = &pr.emu;
    for i in 1..50 {
        emu.create_branch(APP, &format!("b{i}"));
    }
    assert_eq!(emu.branches(APP).len(), 50);
    let r = run(&mut pr.cmd("opened", SHA1, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("limit of 50 branches"), "{r:?}");
    assert!(
        r.stderr
            .contains("amplify-deploy delete-branch --app-id d1test"),
        "{r:?}"
    );
    assert!(r.stderr.contains("::error"), "{r:?}");
    assert_eq!(emu.branches(APP).len(), 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn deployment_statuses_go_in_progress_then_success() {
    let emu = emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.args(["--deployment-environment", "production"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_API_URL", gh.url())
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_SHA", SHA1)
        .env("GITHUB_TOKEN", WRITE_TOKEN);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_no_secrets(&r);
    let deployments = gh.deployments();
    assert_eq!(deployments.len(), 1);
    let d = &deployments[0];
    assert_eq!(d.body["ref"], SHA1);
    assert_eq!(d.body["environment"], "production");
    assert_eq!(d.body["auto_merge"], false);
    assert_eq!(d.body["required_contexts"], serde_json::json!([]));
    let states: Vec<&str> = d
        .statuses
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["in_progress", "success"]);
    let success = &d.statuses[1];
    assert_eq!(
        success["environment_url"],
        "https://main.d1test.amplifyapp.com"
    );
    assert_eq!(
        success["log_url"],
        "https://us-east-1.console.aws.amazon.com/amplify/apps/d1test/branches/main/deployments/1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_deploy_is_a_failed_deployment_and_a_read_only_token_only_warns() {
    let emu = emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let github_env = |c: &mut Command, token: &str| {
        c.args(["--deployment-environment", "production"])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_API_URL", gh.url())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SHA", SHA1)
            .env("GITHUB_TOKEN", token);
    };
    // The app does not exist: the run never decides to deploy, so no
    // GitHub deployment is created (nothing is left in progress).
    let mut c = cmd(&emu);
    c.args([
        "deploy",
        "--app-id",
        "d9missing",
        "--branch",
        "main",
        "--path",
    ])
    .arg(site.path());
    github_env(&mut c, WRITE_TOKEN);
    let r = run(&mut c).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(gh.deployments().is_empty(), "{:?}", gh.deployments());
    // The job fails: the deployment started is a failed one.
    emu.push_fault(fault(
        "StartDeployment",
        1,
        FaultAction::FailJob {
            reason: "Build step exited with 1".into(),
        },
    ));
    let mut c = deploy_cmd(&emu, site.path());
    github_env(&mut c, WRITE_TOKEN);
    let r = run(&mut c).await;
    assert_eq!(r.code, 1, "{r:?}");
    let d = &gh.deployments()[0];
    let states: Vec<&str> = d
        .statuses
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["in_progress", "failure"]);
    assert!(
        d.statuses[1]["description"]
            .as_str()
            .unwrap()
            .contains("FAILED"),
        "{:?}",
        d.statuses[1]
    );

    // A token that cannot write deployments: warning, deploy succeeds.
    let mut c = deploy_cmd(&emu, site.path());
    github_env(&mut c, READ_TOKEN);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("deployments: write"), "{r:?}");
    assert_eq!(gh.deployments().len(), 1);
    assert_no_secrets(&r);
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_outside_a_pull_request_deploys_to_the_branch() {
    let emu = emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.arg("--preview")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_API_URL", gh.url())
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_TOKEN", WRITE_TOKEN);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("not a pull request event"), "{r:?}");
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
    assert!(gh.requests().is_empty());

    // Without a branch to fall back on: a clear input error.
    let mut c = cmd(&emu);
    c.args(["deploy", "--app-id", APP, "--preview", "--path"])
        .arg(site.path())
        .env("GITHUB_EVENT_NAME", "push");
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("not a pull request event"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explicit_stage_wins_over_the_preview_default() {
    let pr = Pr::start().await;
    let emu = &pr.emu;
    let mut c = pr.cmd("opened", SHA1, REPO, WRITE_TOKEN);
    c.env("AMPLIFY_STAGE", "DEVELOPMENT")
        .env("AMPLIFY_PREVIEW_PREFIX", "preview-");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("creating branch preview-7 (stage DEVELOPMENT)"),
        "{r:?}"
    );
    assert_eq!(job_statuses(emu, "preview-7"), ["SUCCEED"]);
}

const MARKER: &str = "<!-- amplify-deploy:preview:d1test -->";

#[tokio::test(flavor = "multi_thread")]
async fn a_marker_planted_by_someone_else_is_left_alone() {
    let pr = Pr::start().await;
    let gh = &pr.gh;
    let planted_body = format!("{MARKER}\nplanted by the pull request's author");
    let planted = gh.add_comment(7, &planted_body);

    let r = run(&mut pr.cmd("opened", SHA1, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let comments = gh.comments(7);
    assert_eq!(comments.len(), 2, "{comments:?}");
    let theirs = comments.iter().find(|c| c.id == planted).unwrap();
    assert_eq!(theirs.body, planted_body, "the planted comment was edited");
    let ours = comments.iter().find(|c| c.id != planted).unwrap();
    assert_eq!(ours.author, ACTIONS_BOT);
    assert!(
        ours.body.contains(MARKER) && ours.body.contains(SHA1),
        "{}",
        ours.body
    );
    // The workflow token may not read /user: the bot is assumed, once.
    let users: Vec<_> = gh
        .requests()
        .into_iter()
        .filter(|q| q.path == "/user")
        .collect();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].status, 403);

    // The next push updates the bot's comment, still not the planted one.
    let r = run(&mut pr.cmd("synchronize", SHA2, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let comments = gh.comments(7);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert_eq!(
        comments.iter().find(|c| c.id == planted).unwrap().body,
        planted_body
    );
    let ours = comments.iter().find(|c| c.id == ours.id).unwrap();
    assert!(ours.body.contains(SHA2), "{}", ours.body);
    assert!(r.stderr.contains("updated the comment"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_personal_token_updates_only_its_users_comment() {
    let pr = Pr::start().await;
    let gh = &pr.gh;
    let bot_body = format!("{MARKER}\nthe workflow's comment");
    let bots = gh.add_comment_by(7, ACTIONS_BOT, &bot_body);
    let alices = gh.add_comment_by(7, PAT_USER, &format!("{MARKER}\nalice's old preview"));

    let r = run(&mut pr.cmd("synchronize", SHA1, REPO, PAT_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let comments = gh.comments(7);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert_eq!(
        comments.iter().find(|c| c.id == bots).unwrap().body,
        bot_body
    );
    let alice = comments.iter().find(|c| c.id == alices).unwrap();
    assert!(alice.body.contains(SHA1), "{}", alice.body);
    assert!(gh
        .requests()
        .iter()
        .any(|q| q.path == "/user" && q.status == 200));
    assert_no_secrets(&r);
}

/// A GitHub answer past the 4 MiB cap (a runaway listing) is refused as
/// such instead of being read whole, and only warns: the deploy succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn a_runaway_github_answer_is_capped_and_only_warns() {
    let pr = Pr::start().await;
    pr.gh.state().huge_comment_listing = Some(16 << 20);
    let r = run(&mut pr.cmd("opened", SHA1, REPO, WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&pr.emu, "pr-7"), ["SUCCEED"]);
    assert!(r.stderr.contains("larger than 4 MiB"), "{r:?}");
    assert!(pr.gh.comments(7).is_empty());
}

/// `deploy --commit-status` for a push of [`SHA1`] to `main`, with `token`.
fn commit_status_cmd(emu: &Emulator, gh: &FakeGitHub, site: &Path, token: &str) -> Command {
    let mut c = deploy_cmd(emu, site);
    c.arg("--commit-status")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_API_URL", gh.url())
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_SHA", SHA1)
        .env("GITHUB_TOKEN", token);
    c
}

fn states(statuses: &[FakeCommitStatus]) -> Vec<&str> {
    statuses
        .iter()
        .map(|s| s.body["state"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_status_goes_pending_then_success_with_the_site() {
    let emu = emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let r = run(&mut commit_status_cmd(&emu, &gh, site.path(), WRITE_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_no_secrets(&r);
    let posted = gh.commit_statuses();
    assert_eq!(states(&posted), ["pending", "success"]);
    for s in &posted {
        assert_eq!(s.sha, SHA1);
        assert_eq!(s.body["context"], "amplify-deploy/main");
    }
    assert_eq!(
        posted[1].body["target_url"],
        "https://main.d1test.amplifyapp.com"
    );
    assert_eq!(posted[1].body["description"], "Deployed to Amplify (job 1)");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_job_is_a_failed_commit_status_linking_the_job() {
    let emu = emulator().await;
    emu.push_fault(fault(
        "StartDeployment",
        1,
        FaultAction::FailJob {
            reason: "Unable to deploy:\n::error::index.html missing".into(),
        },
    ));
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let r = run(&mut commit_status_cmd(&emu, &gh, site.path(), WRITE_TOKEN)).await;
    assert_eq!(r.code, 1, "{r:?}");
    let posted = gh.commit_statuses();
    assert_eq!(states(&posted), ["pending", "failure"]);
    assert_eq!(
        posted[1].body["target_url"],
        "https://us-east-1.console.aws.amazon.com/amplify/apps/d1test/branches/main/deployments/1"
    );
    let description = posted[1].body["description"].as_str().unwrap();
    assert!(
        description.starts_with("Amplify job FAILED: "),
        "{description}"
    );
    assert!(description.chars().count() <= 140, "{description}");
    assert!(!description.contains('\n'), "{description}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_may_not_post_statuses_warns_once_and_deploys() {
    let emu = emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let r = run(&mut commit_status_cmd(&emu, &gh, site.path(), READ_TOKEN)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(gh.commit_statuses().is_empty());
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning: {r:?}");
    assert!(warnings[0].contains("statuses: write"), "{r:?}");
    let tries = gh
        .requests()
        .iter()
        .filter(|q| q.path.contains("/statuses/"))
        .count();
    assert_eq!(tries, 1, "no second try after a 403");
    assert_no_secrets(&r);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_posts_no_commit_status() {
    let emu = emulator().await;
    let gh = FakeGitHub::start().await;
    let site = tiny_site();
    let r = run(commit_status_cmd(&emu, &gh, site.path(), WRITE_TOKEN).arg("--dry-run")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(gh.commit_statuses().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_posts_its_commit_status_on_the_head_commit() {
    let pr = Pr::start().await;
    let r = run(pr
        .cmd("opened", SHA1, REPO, WRITE_TOKEN)
        .arg("--commit-status"))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let posted = pr.gh.commit_statuses();
    assert_eq!(states(&posted), ["pending", "success"]);
    assert!(posted.iter().all(|s| s.sha == SHA1));
    assert_eq!(posted[1].body["context"], "amplify-deploy/pr-7");
    assert_eq!(
        posted[1].body["target_url"],
        "https://pr-7.d1test.amplifyapp.com"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_a_pull_request_marks_only_its_deployments_inactive() {
    let pr = Pr::start().await;
    let gh = &pr.gh;
    let env = "preview";
    let ours = |n: u64| serde_json::json!({"amplify_deploy": {"branch": format!("pr-{n}"), "pull_request": n}});
    // Older deployments of PR 7 and PR 8 in the shared environment, one of
    // PR 7 in another environment, and one somebody else made: over two
    // pages of 100.
    let mut seven =
        vec![gh.add_deployment(
            serde_json::json!({"ref": SHA1, "environment": env, "payload": ours(7)}),
        )];
    let mut others = vec![
        gh.add_deployment(
            serde_json::json!({"ref": SHA1, "environment": "staging", "payload": ours(7)}),
        ),
        gh.add_deployment(serde_json::json!({"ref": SHA1, "environment": env, "payload": {}})),
    ];
    for _ in 0..120 {
        others.push(gh.add_deployment(
            serde_json::json!({"ref": SHA2, "environment": env, "payload": ours(8)}),
        ));
    }
    // This run's deployment of PR 7 (newest, so on the first page).
    let r = run(pr
        .cmd("opened", SHA2, REPO, WRITE_TOKEN)
        .args(["--deployment-environment", env]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let created = gh.deployments().last().unwrap().clone();
    assert_eq!(created.body["payload"], ours(7));
    seven.push(created.id);

    let r = run(pr
        .cmd("closed", SHA2, REPO, WRITE_TOKEN)
        .args(["--deployment-environment", env]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("marked 2 GitHub deployment(s) of pull request #7"),
        "{r:?}"
    );
    let listed_pages = gh
        .requests()
        .iter()
        .filter(|q| q.method == "GET" && q.path.ends_with("/deployments"))
        .count();
    assert_eq!(listed_pages, 2, "followed the Link to the second page");
    for d in gh.deployments() {
        let last = d.statuses.last().and_then(|s| s["state"].as_str());
        if seven.contains(&d.id) {
            assert_eq!(last, Some("inactive"), "{d:?}");
        } else {
            assert!(others.contains(&d.id));
            assert_eq!(last, None, "not ours to touch: {d:?}");
        }
    }
}
