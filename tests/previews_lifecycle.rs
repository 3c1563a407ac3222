//! Previews that look after themselves: `previews list` and `prune`,
//! eviction at `--max-previews` and at Amplify's branch limit, expiry, and
//! basic auth on previews. The real binary against the emulator and the
//! fake GitHub.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use crate::support::github::*;
use crate::support::*;

const DAY: Duration = Duration::from_secs(86_400);
const PREVIEW_TAG: &str = "amplify-deploy:preview";
const REPOSITORY_TAG: &str = "amplify-deploy:preview-repository";
const PREFIX_TAG: &str = "amplify-deploy:preview-prefix";
const EXPIRES_TAG: &str = "amplify-deploy:preview-expires";

/// An emulator, a fake GitHub, a site and a folder for event payloads.
pub(crate) struct Lab {
    pub(crate) emu: Emulator,
    pub(crate) gh: FakeGitHub,
    site: tempfile::TempDir,
    dir: tempfile::TempDir,
}

impl Lab {
    pub(crate) async fn start() -> Lab {
        Lab {
            emu: emulator().await,
            gh: FakeGitHub::start().await,
            site: tiny_site(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A preview of pull request `pr` made by this tool for this repository
    /// (tagged), deployed `age` ago, its pull request `state` on GitHub.
    pub(crate) fn preview(&self, pr: u64, age: Duration, state: &str) -> String {
        let name = format!("pr-{pr}");
        self.made(
            &name,
            pr,
            &[(REPOSITORY_TAG, REPO), (PREFIX_TAG, "pr-")],
            age,
        );
        self.gh.set_pull_state(pr, state);
        name
    }

    /// Branch `name`, a preview of pull request `pr` tagged with `tags`
    /// besides the number, deployed `age` ago.
    fn made(&self, name: &str, pr: u64, tags: &[(&str, &str)], age: Duration) {
        self.emu.set_stage(APP, name, "PULL_REQUEST");
        let mut all = BTreeMap::from([(PREVIEW_TAG.to_owned(), pr.to_string())]);
        all.extend(tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.emu.tag_branch(APP, name, all);
        let job = self.emu.insert_job(APP, name, "PENDING");
        self.emu.end_job(APP, name, &job, "SUCCEED");
        self.emu.age_branch(APP, name, age);
    }

    /// Set the preview's expiry tag `from_now` ahead (negative: past).
    pub(crate) fn expire(&self, branch: &str, from_now_secs: i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let at = std::time::UNIX_EPOCH + Duration::from_secs((now + from_now_secs) as u64);
        let value = humantime::format_rfc3339_seconds(at).to_string();
        let tags = BTreeMap::from([(EXPIRES_TAG.to_owned(), value)]);
        self.emu.tag_branch(APP, branch, tags);
    }

    /// `previews SUB --app-id d1test` as a GitHub Actions runner starts it.
    pub(crate) fn previews(&self, sub: &str) -> Command {
        let mut c = cmd(&self.emu);
        c.args(["previews", sub, "--app-id", APP])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_API_URL", self.gh.url())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_TOKEN", WRITE_TOKEN);
        c
    }

    /// The deploy a runner starts for pull request `pr`'s `action` event.
    pub(crate) fn deploy(&self, pr: u64, action: &str) -> Command {
        let payload = pull_request_payload("pull_request", action, pr, SHA, REPO);
        let event = self.dir.path().join(format!("event-{pr}-{action}.json"));
        std::fs::write(&event, payload.to_string()).unwrap();
        let mut c = cmd(&self.emu);
        c.args(["deploy", "--app-id", APP, "--preview", "--path"])
            .arg(self.site.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_API_URL", self.gh.url())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SHA", SHA)
            .env("GITHUB_OUTPUT", self.dir.path().join("output"))
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary"))
            .env("AMPLIFY_GITHUB_TOKEN", WRITE_TOKEN);
        c
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn branches(&self) -> Vec<String> {
        self.emu.branches(APP)
    }
}

const SHA: &str = "3333333333333333333333333333333333333333";

/// Our comment on pull request `pr`, as an earlier deploy left it.
fn our_comment(gh: &FakeGitHub, pr: u64) -> u64 {
    let body = format!("<!-- amplify-deploy:preview:{APP} -->\n### Amplify preview\n\ndeployed");
    gh.add_comment_by(pr, ACTIONS_BOT, &body)
}

fn comment_body(gh: &FakeGitHub, id: u64) -> String {
    gh.state()
        .comments
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.body.clone())
        .unwrap_or_default()
}

/// Every kind of branch that is not ours, next to ours.
fn strangers(lab: &Lab) {
    // A hand-made branch named like a preview, but not of stage PULL_REQUEST.
    lab.emu.create_branch(APP, "pr-40");
    lab.gh.set_pull_state(40, "closed");
    lab.emu.age_branch(APP, "pr-40", 100 * DAY);
    // Untagged, other names, old.
    lab.emu.create_branch(APP, "feature");
    lab.emu.set_stage(APP, "release", "PULL_REQUEST");
    lab.emu.age_branch(APP, "feature", 100 * DAY);
    lab.emu.age_branch(APP, "release", 100 * DAY);
    lab.emu.age_branch(APP, "main", 100 * DAY);
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_removes_closed_and_expired_previews_and_nothing_else() {
    let lab = Lab::start().await;
    strangers(&lab);
    lab.preview(1, DAY, "closed");
    lab.preview(2, DAY, "open");
    let expired = lab.preview(3, DAY, "open");
    lab.expire(&expired, -60);
    let later = lab.preview(4, DAY, "open");
    lab.expire(&later, 3600);
    // Made before the ownership tag: name and stage only.
    lab.emu.set_stage(APP, "pr-5", "PULL_REQUEST");
    lab.gh.set_pull_state(5, "closed");
    let comment = our_comment(&lab.gh, 1);
    lab.gh.add_deployment(serde_json::json!({
        "ref": SHA,
        "environment": "preview",
        "payload": {"amplify_deploy": {"branch": "pr-1", "pull_request": 1}}
    }));
    // An unfinished job is stopped before its branch is deleted.
    lab.emu.insert_job(APP, "pr-1", "RUNNING");

    let r = run(lab
        .previews("prune")
        .args(["--deployment-environment", "preview"]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let mut left = lab.branches();
    left.sort();
    assert_eq!(
        left,
        ["feature", "main", "pr-2", "pr-4", "pr-40", "release"]
    );
    assert!(
        r.stdout
            .contains("removed: pr-1 (pull request #1): pull request #1 is closed"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("removed: pr-3 (pull request #3): expired"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("removed: pr-5 (pull request #5)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("3 removed; 2 kept"), "{r:?}");
    assert_eq!(count(&lab.emu, "StopJob"), 1, "{:?}", operations(&lab.emu));
    let body = comment_body(&lab.gh, comment);
    assert!(body.contains("The preview was removed"), "{body}");
    // Markdown-escaped, as GitHub renders it: "pull request #1 is closed".
    assert!(body.contains(r"pull request \#1 is closed"), "{body}");
    // No comment is created where there was none.
    assert!(lab.gh.comments(3).is_empty());
    let statuses = &lab.gh.deployments()[0].statuses;
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0]["state"], "inactive");
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_leaves_the_previews_of_other_repositories_alone() {
    // The issue's case: octo/docs (prefix docs-pr-) made docs-pr-5 on the
    // same app; this repository's pull request #5 is closed.
    let lab = Lab::start().await;
    let docs = [(REPOSITORY_TAG, "octo/docs"), (PREFIX_TAG, "docs-pr-")];
    lab.made("docs-pr-5", 5, &docs, 30 * DAY);
    lab.expire("docs-pr-5", -60);
    // Another repository that uses our prefix, and a preview of octo/docs
    // made before the repository tag (its number alone).
    lab.made(
        "pr-6",
        6,
        &[(REPOSITORY_TAG, "octo/other"), (PREFIX_TAG, "pr-")],
        30 * DAY,
    );
    lab.made("docs-pr-8", 8, &[], 30 * DAY);
    for pr in [5, 6, 8] {
        lab.gh.set_pull_state(pr, "closed");
    }
    // Ours, closed: the only one to go.
    lab.preview(9, DAY, "closed");

    let r = run(lab.previews("prune").args(["--older-than", "7d"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(&mut lab.previews("prune")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("removed: pr-9 (pull request #9)"),
        "{r:?}"
    );
    let mut left = lab.branches();
    left.sort();
    assert_eq!(left, ["docs-pr-5", "docs-pr-8", "main", "pr-6"]);
    // With octo/docs's prefix, this repository still does not own its
    // tagged preview; the untagged-by-repository one it cannot tell apart.
    let r = run(lab
        .previews("list")
        .args(["--preview-prefix", "docs-pr-", "--json"]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let listed: Vec<&str> = v["previews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["branch"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["docs-pr-8"], "{v}");
    assert_eq!(v["previews"][0]["ownership"], "legacy");
    // octo/docs itself prunes its own.
    let r = run(lab
        .previews("prune")
        .args(["--preview-prefix", "docs-pr-", "--expired"])
        .env("GITHUB_REPOSITORY", "octo/docs"))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!lab.branches().contains(&"docs-pr-5".to_owned()), "{r:?}");
    // Nothing of another repository was ever listed for a job or deleted.
    let touched: Vec<String> = lab
        .emu
        .requests()
        .into_iter()
        .filter(|q| q.operation == "DeleteBranch" || q.operation == "StopJob")
        .map(|q| q.path)
        .collect();
    assert!(touched.iter().all(|p| !p.contains("/pr-6")), "{touched:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn eviction_skips_the_previews_of_other_repositories() {
    let lab = Lab::start().await;
    // Older, closed (as this repository's #1), and of another repository.
    lab.made(
        "pr-1",
        1,
        &[(REPOSITORY_TAG, "octo/other"), (PREFIX_TAG, "pr-")],
        9 * DAY,
    );
    lab.gh.set_pull_state(1, "closed");
    lab.preview(2, 3 * DAY, "closed");
    lab.preview(3, DAY, "open");

    let r = run(lab.deploy(7, "opened").args(["--max-previews", "2"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("evicting branch pr-2 (pull request #2)"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("evicting branch pr-1"), "{r:?}");
    let mut left = lab.branches();
    left.sort();
    assert_eq!(left, ["main", "pr-1", "pr-3", "pr-7"]);
    // The new preview says whose it is.
    let tags = lab.emu.tags(APP, "pr-7");
    assert_eq!(tags[PREVIEW_TAG], "7");
    assert_eq!(tags[REPOSITORY_TAG], REPO);
    assert_eq!(tags[PREFIX_TAG], "pr-");
    // Only open previews of ours are left: none is evicted, and never the
    // other repository's, even with --evict-open.
    let r = run(lab
        .deploy(8, "opened")
        .args(["--max-previews", "2", "--evict-open"]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("evicting branch pr-3"), "{r:?}");
    assert!(lab.branches().contains(&"pr-1".to_owned()));

    // The other repository's pull request #1 closes here: its branch is
    // left in place, and the log says whose it is.
    let r = run(&mut lab.deploy(1, "closed")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(lab.branches().contains(&"pr-1".to_owned()), "{r:?}");
    assert!(
        r.stderr
            .contains("it is the preview of pull request #1 of octo/other): left in place"),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_by_age_counts_from_the_last_deploy_and_only_applies_that_selector() {
    let lab = Lab::start().await;
    strangers(&lab);
    lab.preview(1, 10 * DAY, "open");
    lab.preview(2, 2 * DAY, "open");
    // Closed, but --older-than alone does not select closed ones.
    lab.preview(3, DAY, "closed");
    // Created long ago, deployed today: not old.
    let renewed = lab.preview(4, 30 * DAY, "open");
    let job = lab.emu.insert_job(APP, &renewed, "PENDING");
    lab.emu.end_job(APP, &renewed, &job, "SUCCEED");

    let r = run(lab.previews("prune").args(["--older-than", "7d"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let mut left = lab.branches();
    left.sort();
    assert_eq!(
        left,
        ["feature", "main", "pr-2", "pr-3", "pr-4", "pr-40", "release"]
    );
    assert!(
        r.stdout
            .contains("pr-1 (pull request #1): not deployed for 10days"),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_names_what_prune_would_remove_and_removes_nothing() {
    let lab = Lab::start().await;
    lab.preview(1, DAY, "closed");
    let before = lab.branches();
    let r = run(lab.previews("prune").args(["--dry-run", "--json"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lab.branches(), before);
    assert_eq!(count(&lab.emu, "DeleteBranch"), 0);
    assert_eq!(count(&lab.emu, "StopJob"), 0);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("one JSON object");
    assert_eq!(v["dryRun"], true);
    assert_eq!(v["pruned"][0]["branch"], "pr-1");
    assert_eq!(v["pruned"][0]["result"], "would be removed");
    assert!(lab.gh.state().comments.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_github_closed_is_skipped_with_a_notice_and_the_rest_is_done() {
    let lab = Lab::start().await;
    lab.preview(1, DAY, "closed");
    let expired = lab.preview(2, DAY, "open");
    lab.expire(&expired, -60);
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let r = run(lab.previews("prune").env("GITHUB_API_URL", &url)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("--closed skipped"), "{r:?}");
    assert!(r.stderr.contains("::notice"), "{r:?}");
    assert!(lab.branches().contains(&"pr-1".to_owned()));
    assert!(!lab.branches().contains(&"pr-2".to_owned()));

    // No token at all: the same.
    let mut c = lab.previews("prune");
    c.env_remove("GITHUB_TOKEN");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("--closed skipped"), "{r:?}");
    assert!(r.stderr.contains("no GitHub token"), "{r:?}");
    assert!(lab.branches().contains(&"pr-1".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_cap_closed_go_first_then_expired_then_open_only_when_asked() {
    let lab = Lab::start().await;
    strangers(&lab);
    lab.preview(1, 3 * DAY, "open");
    lab.preview(2, DAY, "closed");
    let expired = lab.preview(3, 2 * DAY, "open");
    lab.expire(&expired, -60);
    let cap = ["--max-previews", "3"];

    let r = run(lab.deploy(7, "opened").args(cap)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("evicting branch pr-2 (pull request #2)"),
        "{r:?}"
    );
    let r = run(lab.deploy(8, "opened").args(cap)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("evicting branch pr-3 (pull request #3): it expired"),
        "{r:?}"
    );

    // Only open previews are left: none is evicted without --evict-open.
    let r = run(lab.deploy(9, "opened").args(cap)).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("--evict-open"), "{r:?}");
    assert!(!lab.branches().contains(&"pr-9".to_owned()));
    assert!(lab.branches().contains(&"pr-1".to_owned()));

    let r = run(lab.deploy(9, "opened").args(cap).arg("--evict-open")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("evicting branch pr-1 (pull request #1)"),
        "{r:?}"
    );
    let mut left = lab.branches();
    left.sort();
    assert_eq!(
        left,
        ["feature", "main", "pr-40", "pr-7", "pr-8", "pr-9", "release"]
    );
    // The open pull request is told why its preview went.
    let told = lab.gh.comments(1);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].body.contains("evicted"), "{}", told[0].body);
    assert!(
        told[0].body.contains(r"pull request \#9"),
        "{}",
        told[0].body
    );
    // The new previews carry the ownership tag.
    assert_eq!(lab.emu.tags(APP, "pr-9")[PREVIEW_TAG], "9");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_branch_taken_by_another_run_at_the_limit_evicts_once_more_and_retries() {
    let lab = Lab::start().await;
    for i in 1..47 {
        lab.emu.create_branch(APP, &format!("b{i}"));
    }
    lab.preview(1, DAY, "closed");
    lab.preview(2, 2 * DAY, "open");
    // main, b1..b46, pr-1, pr-2: one branch short of the limit. With room
    // for every preview nothing needs evicting, until another run creates
    // a branch between our ListBranches and CreateBranch.
    assert_eq!(lab.branches().len(), 49);
    lab.emu.push_fault(fault(
        "CreateBranch",
        1,
        FaultAction::BranchCreatedFirst {
            branch: "other-run".into(),
        },
    ));
    let r = run(lab.deploy(7, "opened").args(["--max-previews", "50"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("met Amplify's limit of 50 branches"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("evicting branch pr-1 (pull request #1)"),
        "{r:?}"
    );
    assert!(r.stderr.contains("of Amplify's 50 branches"), "{r:?}");
    let branches = lab.branches();
    assert!(branches.contains(&"pr-7".to_owned()));
    assert!(branches.contains(&"other-run".to_owned()));
    assert!(branches.contains(&"pr-2".to_owned()));
    assert!(!branches.contains(&"pr-1".to_owned()));
    assert_eq!(count(&lab.emu, "CreateBranch"), 2);
    // `list` warns too, at 45 branches or more.
    let r = run(&mut lab.previews("list")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("::warning"), "{r:?}");
    assert!(r.stderr.contains("50 of Amplify's 50 branches"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ttl_is_stamped_and_renewed_on_each_deploy() {
    let lab = Lab::start().await;
    let r = run(lab.deploy(7, "opened").args(["--preview-ttl", "14d"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let first = lab.emu.tags(APP, "pr-7")[EXPIRES_TAG].clone();
    lab.expire("pr-7", -60);
    let r = run(lab.deploy(7, "synchronize").args(["--preview-ttl", "14d"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let renewed = lab.emu.tags(APP, "pr-7")[EXPIRES_TAG].clone();
    assert!(renewed >= first, "{first} then {renewed}");
    assert!(r.stderr.contains("preview: branch pr-7 expires"), "{r:?}");
    // Not expired: prune keeps it.
    let r = run(lab.previews("prune").arg("--expired")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(lab.branches().contains(&"pr-7".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redeploy_without_the_ttl_removes_the_expiry() {
    let lab = Lab::start().await;
    for pr in [7, 8] {
        lab.gh.set_pull_state(pr, "open");
        let r = run(lab.deploy(pr, "opened").args(["--preview-ttl", "1s"])).await;
        assert_eq!(r.code, 0, "{r:?}");
        assert!(lab
            .emu
            .tags(APP, &format!("pr-{pr}"))
            .contains_key(EXPIRES_TAG));
    }
    // pr-7 is redeployed without --preview-ttl: it no longer expires.
    let r = run(&mut lab.deploy(7, "synchronize")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("preview: branch pr-7 no longer expires"),
        "{r:?}"
    );
    let tags = lab.emu.tags(APP, "pr-7");
    assert!(!tags.contains_key(EXPIRES_TAG), "{tags:?}");
    assert_eq!(tags[REPOSITORY_TAG], REPO);
    assert_eq!(count(&lab.emu, "UntagResource"), 1);
    // Nothing left to remove: no second UntagResource.
    let r = run(&mut lab.deploy(7, "synchronize")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&lab.emu, "UntagResource"), 1);

    // Past the old expiry, prune takes pr-8 (expired) and keeps pr-7, whose
    // pull request is open.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let r = run(&mut lab.previews("prune")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("removed: pr-8 (pull request #8): expired"),
        "{r:?}"
    );
    let mut left = lab.branches();
    left.sort();
    assert_eq!(left, ["main", "pr-7"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_untag_resource_is_a_warning_naming_the_action() {
    let lab = Lab::start().await;
    let r = run(lab.deploy(7, "opened").args(["--preview-ttl", "1d"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    lab.emu.push_fault(status_fault(
        "UntagResource",
        1,
        403,
        Some("AccessDeniedException"),
    ));
    let r = run(&mut lab.deploy(7, "synchronize")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("::warning"), "{r:?}");
    assert!(r.stderr.contains("amplify:UntagResource"), "{r:?}");
    assert!(lab.emu.tags(APP, "pr-7").contains_key(EXPIRES_TAG));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_branch_named_like_the_preview_is_deployed_but_never_tagged() {
    let lab = Lab::start().await;
    lab.emu.create_branch(APP, "pr-7");
    let r = run(lab.deploy(7, "opened").args(["--preview-ttl", "1d"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!lab.emu.tags(APP, "pr-7").contains_key(PREVIEW_TAG));
    assert!(r.stderr.contains("never pruned or evicted"), "{r:?}");

    // Nor deleted when the pull request closes.
    let r = run(&mut lab.deploy(7, "closed")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(lab.emu.branches(APP).contains(&"pr-7".to_owned()), "{r:?}");
    assert!(r.stderr.contains("left in place"), "{r:?}");
}

/// Everything a run wrote where people or machines read it.
fn everything(lab: &Lab, r: &Run) -> String {
    let all = r.all();
    let shown: Vec<&str> = all
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    let comments: Vec<String> = lab
        .gh
        .state()
        .comments
        .iter()
        .map(|c| c.body.clone())
        .collect();
    format!(
        "{}\n{}\n{}\n{}",
        shown.join("\n"),
        lab.file("output"),
        lab.file("summary"),
        comments.join("\n")
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn inherited_basic_auth_protects_the_preview_and_is_masked_everywhere() {
    let lab = Lab::start().await;
    let password = "s3cret-Pa55word";
    let encoded = "dGVhbTpzM2NyZXQtUGE1NXdvcmQ="; // team:s3cret-Pa55word
    lab.emu.set_basic_auth(APP, "main", Some(encoded));
    let r = run(lab.deploy(7, "opened").args(["--basic-auth", "inherit"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lab.emu.basic_auth(APP, "pr-7").as_deref(), Some(encoded));
    assert!(
        r.stderr.contains(&format!("::add-mask::{password}")),
        "{r:?}"
    );
    assert!(
        r.stderr.contains(&format!("::add-mask::{encoded}")),
        "{r:?}"
    );
    // Masked before anything else could print it.
    let first_mask = r.stderr.find(&format!("::add-mask::{password}")).unwrap();
    assert!(
        r.stderr.find("basic auth copied").unwrap() > first_mask,
        "{r:?}"
    );
    let all = everything(&lab, &r);
    assert!(!all.contains(password), "{all}");
    assert!(!all.contains(encoded), "{all}");
    let comment = &lab.gh.comments(7)[0].body;
    assert!(comment.contains("protected with basic auth"), "{comment}");
    // A push: still protected, still masked.
    let r = run(lab
        .deploy(7, "synchronize")
        .args(["--basic-auth", "inherit"]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let comment = &lab.gh.comments(7)[0].body;
    assert!(comment.contains("protected with basic auth"), "{comment}");
    assert!(!everything(&lab, &r).contains(password));

    // The base branch given with --branch wins over the event's.
    lab.emu
        .set_basic_auth(APP, "staging", Some("c3RhZ2U6c3RhZ2UtcGFzcw=="));
    let r = run(lab
        .deploy(8, "opened")
        .args(["--basic-auth", "inherit", "--branch", "staging"]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        lab.emu.basic_auth(APP, "pr-8").as_deref(),
        Some("c3RhZ2U6c3RhZ2UtcGFzcw==")
    );
    assert!(!everything(&lab, &r).contains("stage-pass"));
}

#[tokio::test(flavor = "multi_thread")]
async fn given_basic_auth_protects_the_preview_and_is_masked_everywhere() {
    let lab = Lab::start().await;
    let mut c = lab.deploy(7, "opened");
    c.env("AMPLIFY_BASIC_AUTH", "reviewer:Given-Pa55");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(lab.emu.basic_auth(APP, "pr-7").is_some());
    assert!(r.stderr.contains("::add-mask::Given-Pa55"), "{r:?}");
    let all = everything(&lab, &r);
    assert!(!all.contains("Given-Pa55"), "{all}");
    assert!(lab.gh.comments(7)[0]
        .body
        .contains("protected with basic auth"));
}

#[tokio::test(flavor = "multi_thread")]
async fn inherit_from_a_base_branch_without_basic_auth_says_the_preview_is_not_protected() {
    let lab = Lab::start().await;
    let r = run(lab.deploy(7, "opened").args(["--basic-auth", "inherit"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("branch main has no basic auth"), "{r:?}");
    assert_eq!(lab.emu.basic_auth(APP, "pr-7"), None);
    assert!(!lab.gh.comments(7)[0].body.contains("protected"));
}
