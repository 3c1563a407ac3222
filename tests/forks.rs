//! Previews of pull requests from forks: a fork's own run defers; the
//! trusted run (`workflow_run`, `pull_request_target: labeled`) finds the
//! pull request through the API, checks the approval and the head, and
//! deploys the build's artifact, unpacked as untrusted input. The real
//! binary against the emulator (with the role assumed through the fake
//! OIDC endpoint and STS) and the contract-checking fake GitHub, whose
//! artifact download redirects to a blob store on another origin.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::support::github::*;
use crate::support::*;

pub(crate) const FORK: &str = "stranger/site";
pub(crate) const SHA1: &str = "1111111111111111111111111111111111111111";
const SHA2: &str = "2222222222222222222222222222222222222222";
const ROLE: &str = "arn:aws:iam::123456789012:role/amplify-deploy-preview";
/// The build run of [`SHA1`].
pub(crate) const RUN: u64 = 9001;

/// Names a fork's build can put in its artifact, every one deployed as it is.
const NAMES: [&str; 7] = [
    "index.html",
    "::error::x.html",
    "docs/Catégorie:Histoire.html",
    "docs/e\u{301}te\u{301}.html",
    "日本語/ページ.html",
    "[click](javascript:alert(1)).md",
    ".well-known/security.txt",
];

/// An emulator that takes only the fake STS's credentials, a fake GitHub
/// (and its blob store), and folders for the event and `RUNNER_TEMP`.
pub(crate) struct Lab {
    pub(crate) emu: Emulator,
    pub(crate) gh: FakeGitHub,
    dir: tempfile::TempDir,
}

impl Lab {
    pub(crate) async fn start() -> Lab {
        let emu = emulator_with(Config {
            credentials: vec![Credential {
                access_key_id: STS_ACCESS_KEY.into(),
                secret_access_key: STS_SECRET_KEY.into(),
                session_token: Some(STS_SESSION_TOKEN.into()),
            }],
            ..Config::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        Lab {
            emu,
            gh: FakeGitHub::start().await,
            dir,
        }
    }

    fn runner_temp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    pub(crate) fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default()
    }

    /// A fork's pull request 7 at `sha`, and a successful build run `id`
    /// of `sha` whose artifact `amplify-preview` is `zip`.
    pub(crate) fn fork_pr(&self, id: u64, sha: &str, zip: Vec<u8>) {
        self.gh.add_pull(FakePull::new(7, sha, FORK));
        self.build(id, sha, FORK, zip);
    }

    fn build(&self, id: u64, sha: &str, head_repo: &str, zip: Vec<u8>) {
        self.gh.add_run(FakeRun {
            id,
            event: "pull_request".into(),
            conclusion: "success".into(),
            head_sha: sha.into(),
            head_branch: "feature".into(),
            head_repo: head_repo.into(),
            artifacts: vec![FakeArtifact {
                id: id * 10,
                name: "amplify-preview".into(),
                zip,
                expired: false,
            }],
        });
    }

    /// The binary as the runner starts the trusted job for `event`
    /// (payload `payload`): `deploy --preview`, no path, the preview role
    /// through OIDC, the base repository's token.
    fn trusted(&self, event: &str, payload: serde_json::Value) -> Command {
        let path = self.dir.path().join(format!("{event}.json"));
        std::fs::write(&path, payload.to_string()).unwrap();
        let mut c = cmd(&self.emu);
        c.args(["deploy", "--app-id", APP, "--preview"])
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", &path)
            .env("GITHUB_API_URL", self.gh.url())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SHA", "ffffffffffffffffffffffffffffffffffffffff")
            .env("GITHUB_RUN_ID", "77")
            .env("GITHUB_OUTPUT", self.dir.path().join("output"))
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary"))
            .env("RUNNER_TEMP", self.runner_temp())
            .env("AMPLIFY_GITHUB_TOKEN", WRITE_TOKEN)
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", self.gh.oidc_url())
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", OIDC_REQUEST_TOKEN)
            .env("AWS_ENDPOINT_URL_STS", self.gh.url())
            .env("AMPLIFY_ROLE_TO_ASSUME", ROLE);
        c
    }

    /// `workflow_run: completed` for build run `id` of `sha` from `head_repo`.
    pub(crate) fn workflow_run(
        &self,
        id: u64,
        sha: &str,
        head_repo: &str,
        conclusion: &str,
    ) -> Command {
        let (owner, name) = head_repo.split_once('/').unwrap();
        let payload = event_payload(
            "workflow_run",
            "completed",
            json!({"workflow_run": {
                "id": id,
                "name": "Amplify deploy",
                "event": "pull_request",
                "status": "completed",
                "conclusion": conclusion,
                "head_sha": sha,
                "head_branch": "feature",
                "head_repository": {"full_name": head_repo, "name": name, "owner": {"login": owner}},
                "repository": {"full_name": REPO, "name": "site", "owner": {"login": "octo"}},
            }}),
        );
        self.trusted("workflow_run", payload)
    }

    /// `pull_request_target: labeled` with `label`, for PR 7 from `head_repo`.
    fn labeled(&self, label: &str, head_repo: &str) -> Command {
        let mut payload =
            pull_request_payload("pull_request_target", "labeled", 7, SHA1, head_repo);
        payload["label"]["name"] = label.into();
        self.trusted("pull_request_target", payload)
    }

    /// Nothing reached AWS, not even STS or the OIDC endpoint.
    fn assert_no_aws(&self) {
        assert!(
            self.emu.requests().is_empty(),
            "{:?}",
            operations(&self.emu)
        );
        assert!(self.gh.state().sts_calls.is_empty());
        assert!(!self.gh.requests().iter().any(|q| q.path == "/oidc"));
    }

    /// Nothing was made on GitHub's side or left in `RUNNER_TEMP`.
    fn assert_nothing_made(&self) {
        assert!(self.gh.comments(7).is_empty(), "{:?}", self.gh.comments(7));
        assert!(self.gh.deployments().is_empty());
        assert!(self.gh.commit_statuses().is_empty());
        assert!(!self.emu.branches(APP).contains(&"pr-7".to_owned()));
        let left: Vec<_> = std::fs::read_dir(self.runner_temp()).unwrap().collect();
        assert!(left.is_empty(), "left in RUNNER_TEMP: {left:?}");
    }
}

/// A zip as `actions/upload-artifact` makes one: deflated, with folders.
fn artifact(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut folders = std::collections::BTreeSet::new();
    for (name, data) in files {
        let mut parts: Vec<&str> = name.split('/').collect();
        parts.pop();
        for i in 1..=parts.len() {
            let folder = format!("{}/", parts[..i].join("/"));
            if folders.insert(folder.clone()) {
                w.add_directory(folder, opts).unwrap();
            }
        }
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The site every name in [`NAMES`] holds, with its own bytes.
fn hostile_site() -> Vec<(String, Vec<u8>)> {
    NAMES
        .iter()
        .map(|n| (n.to_string(), format!("<p>{n}</p>\n").into_bytes()))
        .collect()
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), &d[..])).collect();
    artifact(&borrowed)
}

pub(crate) fn simple_zip(body: &str) -> Vec<u8> {
    artifact(&[("index.html", body.as_bytes())])
}

/// No secret, and no workflow command but `::add-mask::`, `::notice` and
/// the run's own groups, in what the run printed.
fn assert_clean(r: &Run) {
    for line in r.all().lines() {
        let shown = line.trim_start();
        if shown.starts_with("::add-mask::") {
            continue;
        }
        for secret in [WRITE_TOKEN, "BLOBsigSECRET", OIDC_JWT, STS_SECRET_KEY] {
            assert!(!shown.contains(secret), "secret in {line:?}");
        }
        assert!(
            !shown.starts_with("::error::x") && !shown.starts_with("::error::<"),
            "a file name became a workflow command: {line:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forks_own_run_is_deferred_without_any_aws_request() {
    let lab = Lab::start().await;
    for action in ["opened", "closed"] {
        let payload = pull_request_payload("pull_request", action, 7, SHA1, FORK);
        let mut c = lab.trusted("pull_request", payload);
        c.env("AMPLIFY_GITHUB_TOKEN", READ_TOKEN)
            .arg("--path")
            .arg(tiny_site().path());
        let r = run(&mut c).await;
        assert_eq!(r.code, 0, "{action}: {r:?}");
        lab.assert_no_aws();
        assert!(lab.gh.requests().is_empty(), "{:?}", lab.gh.requests());
        assert!(r.stderr.contains("::notice title=Deferred::"), "{r:?}");
        assert!(r.stderr.contains("docs/previews.md#forks"), "{r:?}");
        assert!(
            r.stderr.contains("deferred d1test/pr-7: nothing deployed"),
            "{r:?}"
        );
        assert!(
            lab.read("output").contains("status=DEFERRED"),
            "{}",
            lab.read("output")
        );
        let summary = lab.read("summary");
        assert!(summary.contains("Amplify deploy: DEFERRED"), "{summary}");
        assert!(summary.contains("docs/previews.md\\#forks"), "{summary}");
        lab.assert_nothing_made();
    }
    // A pull request of the repository itself deploys from its own run.
    let payload = pull_request_payload("pull_request", "opened", 7, SHA1, REPO);
    let mut c = lab.trusted("pull_request", payload);
    let r = run(c.arg("--path").arg(tiny_site().path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&lab.emu, "pr-7"), ["SUCCEED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trusted_run_deploys_the_artifact_byte_for_byte_and_comments() {
    let lab = Lab::start().await;
    let site = hostile_site();
    lab.fork_pr(RUN, SHA1, zip_of(&site));
    lab.gh
        .edit_pull(7, |p| p.labels = vec!["bug".into(), "preview".into()]);
    let mut c = lab.workflow_run(RUN, SHA1, FORK, "success");
    c.args(["--commit-status", "--deployment-environment", "preview"]);
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_clean(&r);

    // Every file, byte for byte, on branch pr-7.
    assert_eq!(job_statuses(&lab.emu, "pr-7"), ["SUCCEED"]);
    let deployed = lab.emu.deployed_files(APP, "pr-7").unwrap();
    let want: std::collections::BTreeMap<String, Vec<u8>> = site.into_iter().collect();
    assert_eq!(deployed, want);
    assert_eq!(lab.emu.tags(APP, "pr-7")["amplify-deploy:preview"], "7");

    // The comment, the deployment and the commit status, on the head commit.
    let comments = lab.gh.comments(7);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0]
        .body
        .contains("https://pr-7.d1test.amplifyapp.com"));
    assert!(comments[0].body.contains(SHA1));
    let deployments = lab.gh.deployments();
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].body["ref"], SHA1);
    let statuses = lab.gh.commit_statuses();
    assert!(statuses.iter().all(|st| st.sha == SHA1) && !statuses.is_empty());
    assert_eq!(statuses.last().unwrap().body["state"], "success");

    // The download: the token went to the API, never to the blob store.
    let blob = lab.gh.blob_requests();
    assert_eq!(blob.len(), 1, "{blob:?}");
    assert_eq!(blob[0].status, 200);
    assert_eq!(blob[0].query, BLOB_SIGNATURE);
    for (name, value) in &blob[0].headers {
        assert!(
            name != "authorization" && !name.starts_with("x-github"),
            "{name}"
        );
        assert!(!value.contains(WRITE_TOKEN), "{name}: {value}");
    }
    let api = lab.gh.requests();
    let download = api
        .iter()
        .find(|q| q.path.ends_with("/zip"))
        .expect("the API's download");
    assert_eq!(download.status, 302);
    assert_eq!(
        download.authorization.as_deref(),
        Some(&*format!("Bearer {WRITE_TOKEN}"))
    );
    // The zip and the unpacked folder are gone.
    let left: Vec<_> = std::fs::read_dir(lab.runner_temp()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(r.stderr.contains("has the approval label preview"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_build_of_an_old_head_is_superseded() {
    let lab = Lab::start().await;
    lab.fork_pr(RUN, SHA1, simple_zip("old"));
    lab.gh.edit_pull(7, |p| {
        p.head_sha = SHA2.into();
        p.labels = vec!["preview".into()];
    });
    let r = run(&mut lab.workflow_run(RUN, SHA1, FORK, "success")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(lab.read("output").contains("status=SUPERSEDED"));
    assert!(r.stderr.contains(SHA2), "{r:?}");
    lab.assert_no_aws();
    lab.assert_nothing_made();
    assert!(lab.gh.blob_requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn approval_by_label_or_author_and_the_all_and_off_modes() {
    let lab = Lab::start().await;
    lab.fork_pr(RUN, SHA1, simple_zip("<h1>fork</h1>"));

    // A contributor without the label: awaiting approval, nothing fetched.
    let r = run(&mut lab.workflow_run(RUN, SHA1, FORK, "success")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(lab.read("output").contains("status=AWAITING_APPROVAL"));
    assert!(
        r.stderr.contains("::notice title=Awaiting approval::"),
        "{r:?}"
    );
    assert!(r.stderr.contains("adds the label preview"), "{r:?}");
    lab.assert_no_aws();
    lab.assert_nothing_made();
    assert!(lab.gh.blob_requests().is_empty());

    // fork-previews off: nothing asked of GitHub either.
    let before = lab.gh.requests().len();
    let mut c = lab.workflow_run(RUN, SHA1, FORK, "success");
    let r = run(c.args(["--fork-previews", "off"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(lab.read("output").contains("status=DISABLED"));
    assert_eq!(lab.gh.requests().len(), before);
    lab.assert_no_aws();

    // fork-previews all: deployed without approval.
    let mut c = lab.workflow_run(RUN, SHA1, FORK, "success");
    let r = run(c.env("AMPLIFY_FORK_PREVIEWS", "all")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&lab.emu, "pr-7"), ["SUCCEED"]);

    // A member's pull request needs no label.
    lab.gh
        .edit_pull(7, |p| p.author_association = "MEMBER".into());
    let r = run(&mut lab.workflow_run(RUN, SHA1, FORK, "success")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job_statuses(&lab.emu, "pr-7"), ["SUCCEED", "SUCCEED"]);
    assert!(r.stderr.contains("author is a member"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_artifact_is_exit_2_with_nothing_created() {
    let symlink = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("index.html", opts).unwrap();
        w.write_all(b"ok").unwrap();
        w.add_symlink("creds", "/home/runner/.aws/credentials", opts)
            .unwrap();
        w.finish().unwrap().into_inner()
    };
    let cases = [
        (
            artifact(&[("index.html", b"ok"), ("../x.html", b"up")]),
            ".. segment",
        ),
        (
            artifact(&[("index.html", b"ok"), ("/etc/x.html", b"abs")]),
            "absolute path",
        ),
        (
            artifact(&[("index.html", b"ok"), ("a\\b.html", b"bs")]),
            "backslash",
        ),
        (symlink, "symbolic link"),
    ];
    for (zip, why) in cases {
        let lab = Lab::start().await;
        lab.fork_pr(RUN, SHA1, zip);
        lab.gh.edit_pull(7, |p| p.labels = vec!["preview".into()]);
        let r = run(&mut lab.workflow_run(RUN, SHA1, FORK, "success")).await;
        assert_eq!(r.code, 2, "{why}: {r:?}");
        assert!(r.stderr.contains(why), "{why}: {r:?}");
        assert!(r.stderr.contains("::error"), "{r:?}");
        lab.assert_no_aws();
        lab.assert_nothing_made();
        assert_clean(&r);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_caps_refuse_too_many_files_or_bytes() {
    let lab = Lab::start().await;
    let big = "a".repeat(100_000);
    let zip = artifact(&[
        ("index.html", b"1"),
        ("a.html", b"2"),
        ("big.txt", big.as_bytes()),
    ]);
    assert!(zip.len() < 10_000, "{}", zip.len());
    lab.fork_pr(RUN, SHA1, zip);
    lab.gh.edit_pull(7, |p| p.labels = vec!["preview".into()]);
    for (var, cap, why) in [
        (
            "AMPLIFY_PREVIEW_ARTIFACT_MAX_ENTRIES",
            "2",
            "holds 3 files and folders, more than the 2",
        ),
        (
            "AMPLIFY_PREVIEW_ARTIFACT_MAX_BYTES",
            "10000",
            "more than the 10000 bytes allowed",
        ),
        (
            "AMPLIFY_PREVIEW_ARTIFACT_MAX_BYTES",
            "100",
            "larger than the 100 bytes allowed",
        ),
    ] {
        let mut c = lab.workflow_run(RUN, SHA1, FORK, "success");
        let r = run(c.env(var, cap)).await;
        assert_eq!(r.code, 2, "{var}={cap}: {r:?}");
        assert!(r.stderr.contains(why), "{var}={cap}: {r:?}");
        lab.assert_no_aws();
        lab.assert_nothing_made();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_label_deploys_the_newest_successful_build_of_the_head() {
    let lab = Lab::start().await;
    lab.gh.add_pull(FakePull::new(7, SHA1, FORK));
    lab.build(RUN, SHA1, FORK, simple_zip("older build"));
    lab.build(RUN + 1, SHA1, FORK, simple_zip("newest build"));
    // Newer still, but of another commit, or of another repository.
    lab.build(RUN + 2, SHA2, FORK, simple_zip("another commit"));
    lab.build(RUN + 3, SHA1, "mallory/site", simple_zip("another fork"));
    lab.gh.edit_pull(7, |p| p.labels = vec!["preview".into()]);
    let r = run(&mut lab.labeled("preview", FORK)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let deployed = lab.emu.deployed_files(APP, "pr-7").unwrap();
    assert_eq!(deployed["index.html"], b"newest build");
    assert_eq!(lab.gh.comments(7).len(), 1);
    assert_clean(&r);

    // Another label, or a pull request of the repository: nothing at all.
    for (label, head) in [("bug", FORK), ("preview", REPO)] {
        let before = lab.gh.requests().len();
        let aws = lab.emu.requests().len();
        let r = run(&mut lab.labeled(label, head)).await;
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stderr.contains("nothing to do"), "{r:?}");
        assert_eq!(lab.gh.requests().len(), before);
        assert_eq!(lab.emu.requests().len(), aws);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_trusted_run_leaves_alone() {
    let lab = Lab::start().await;
    lab.fork_pr(RUN, SHA1, simple_zip("x"));
    lab.gh.edit_pull(7, |p| p.labels = vec!["preview".into()]);
    // A failed build, and a build of the repository's own branch.
    for (conclusion, head) in [("failure", FORK), ("success", REPO)] {
        let r = run(&mut lab.workflow_run(RUN, SHA1, head, conclusion)).await;
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stderr.contains("nothing to do"), "{r:?}");
        assert!(r.stderr.contains("::notice title=Preview::"), "{r:?}");
        assert!(lab.read("output").is_empty());
    }
    // A branch with no open pull request.
    lab.gh.edit_pull(7, |p| p.state = "closed".into());
    let r = run(&mut lab.workflow_run(RUN, SHA1, FORK, "success")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("no open pull request"), "{r:?}");
    lab.assert_no_aws();
    lab.assert_nothing_made();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_actions_read_is_exit_3_naming_the_permission() {
    let lab = Lab::start().await;
    lab.fork_pr(RUN, SHA1, simple_zip("x"));
    lab.gh.edit_pull(7, |p| p.labels = vec!["preview".into()]);
    lab.gh.state().actions_forbidden = true;
    let r = run(&mut lab.workflow_run(RUN, SHA1, FORK, "success")).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("actions: read"), "{r:?}");
    lab.assert_no_aws();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_blob_store_is_retried() {
    let lab = Lab::start().await;
    lab.fork_pr(RUN, SHA1, simple_zip("retried"));
    lab.gh.edit_pull(7, |p| p.labels = vec!["preview".into()]);
    lab.gh.state().blob_failures = 1;
    let r = run(&mut lab.workflow_run(RUN, SHA1, FORK, "success")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let statuses: Vec<u16> = lab.gh.blob_requests().iter().map(|b| b.status).collect();
    assert_eq!(statuses, [503, 200]);
    let downloads = lab
        .gh
        .requests()
        .iter()
        .filter(|q| q.path.ends_with("/zip"))
        .count();
    assert_eq!(downloads, 2, "each attempt asks the API for a fresh URL");
    assert_eq!(
        lab.emu.deployed_files(APP, "pr-7").unwrap()["index.html"],
        b"retried"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_removes_a_forks_preview_from_the_trusted_run_only() {
    let lab = Lab::start().await;
    lab.fork_pr(RUN, SHA1, simple_zip("x"));
    lab.gh.edit_pull(7, |p| p.labels = vec!["preview".into()]);
    let r = run(&mut lab.workflow_run(RUN, SHA1, FORK, "success")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(lab.emu.branches(APP).contains(&"pr-7".to_owned()));

    // The fork's own close run has no rights: deferred, the branch stays.
    let aws = lab.emu.requests().len();
    let payload = pull_request_payload("pull_request", "closed", 7, SHA1, FORK);
    let r = run(lab
        .trusted("pull_request", payload)
        .env("AMPLIFY_GITHUB_TOKEN", READ_TOKEN))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("pull_request_target closed job removes it"),
        "{r:?}"
    );
    assert_eq!(lab.emu.requests().len(), aws);
    assert!(lab.emu.branches(APP).contains(&"pr-7".to_owned()));

    // The trusted close job removes it and says so in the comment.
    let payload = pull_request_payload("pull_request_target", "closed", 7, SHA1, FORK);
    let r = run(&mut lab.trusted("pull_request_target", payload)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!lab.emu.branches(APP).contains(&"pr-7".to_owned()));
    let comments = lab.gh.comments(7);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains("preview was removed"),
        "{}",
        comments[0].body
    );
}

/// A rollback (its settings have no preview) in a job whose event and
/// variables would make a deploy the trusted run: it rolls back.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_under_workflow_run_is_a_rollback() {
    let (emu, bucket) = crate::rollback::setup().await;
    let v1 = crate::rollback::store(&emu, &bucket, "one").await;
    let v2 = crate::rollback::store(&emu, &bucket, "two").await;
    assert_eq!(
        crate::rollback::deploy_stored(&emu, &bucket, &v1)
            .await
            .code,
        0
    );
    assert_eq!(
        crate::rollback::deploy_stored(&emu, &bucket, &v2)
            .await
            .code,
        0
    );
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    let payload = event_payload(
        "workflow_run",
        "completed",
        json!({"workflow_run": {"event": "pull_request", "conclusion": "success",
            "head_sha": SHA1, "head_repository": {"full_name": FORK}}}),
    );
    std::fs::write(&event, payload.to_string()).unwrap();
    let r = run(crate::rollback::rollback(&emu, &[])
        .env("GITHUB_EVENT_NAME", "workflow_run")
        .env("GITHUB_EVENT_PATH", &event)
        .env("AMPLIFY_PREVIEW", "true"))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("rolling back d1test/main to job 1"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("preview:"), "{r:?}");
}
