//! `completions` and `init`: the scripts, the files `init` writes for an
//! emulated app (account 123456789012 in its ARN), the rules of least
//! privilege its workflows keep (tests/docs/check_init_workflows.py), the
//! roles' policies checked against every call a deploy and the preview
//! lifecycle make, and docs/iam.md checked against the one list of actions
//! in `src/policy.rs`.

use std::path::Path;
use std::process::Command;

use amplify_deploy::policy::{self, AppRef, Feature, Role};
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde_json::Value;

use crate::support::github::FakeGitHub;
use crate::support::net::SilentServer;
use crate::support::*;

/// The release's man page generator (examples/man.rs), run here as a module.
#[allow(dead_code)]
#[path = "../examples/man.rs"]
mod man;

/// What `init` writes for GitHub: the two workflows, then each role's
/// permissions and trust policies.
const FILES: [&str; 6] = [
    ".github/workflows/amplify-deploy.yml",
    ".github/workflows/amplify-preview.yml",
    "amplify-deploy-production-iam-policy.json",
    "amplify-deploy-production-trust-policy.json",
    "amplify-deploy-preview-iam-policy.json",
    "amplify-deploy-preview-trust-policy.json",
];
const PRODUCTION_IAM: &str = FILES[2];
const PRODUCTION_TRUST: &str = FILES[3];
const PREVIEW_IAM: &str = FILES[4];
const PREVIEW_TRUST: &str = FILES[5];

/// The emulated app, as its ARN names it.
fn emulated_app() -> AppRef {
    AppRef {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        app_id: APP.into(),
    }
}

/// A checkout whose `origin` is `remote` (none when `None`).
fn checkout(remote: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("git runs")
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    if let Some(url) = remote {
        git(&["remote", "add", "origin", url]);
    }
    dir
}

fn init(emu: &Emulator, dir: &Path, args: &[&str]) -> Command {
    let mut c = cmd(emu);
    c.current_dir(dir).args(["init", "--app-id"]).args(args);
    c
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

/// The ```json blocks of docs/iam.md, in order.
fn iam_doc_blocks() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam.md"))
        .expect("docs/iam.md");
    let (mut blocks, mut current) = (Vec::new(), None::<String>);
    for event in Parser::new(&text) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) if &*lang == "json" => {
                current = Some(String::new())
            }
            Event::Text(t) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(&t)
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    blocks
}

#[test]
fn docs_iam_policies_are_the_generated_ones() {
    let app = AppRef::placeholder();
    let blocks: Vec<Value> = iam_doc_blocks().iter().map(|b| json(b)).collect();
    let github = |role, environments| {
        policy::github_trust_policy(&app, "OWNER/REPO", role, environments, "main")
    };
    let gitlab = |role| policy::gitlab_trust_policy(&app, "GROUP/PROJECT", role, "main");
    let generated = [
        policy::iam_policy(&app, &[Feature::Deploy]),
        policy::production_policy(&app, "main"),
        policy::preview_policy(&app, "pr-"),
        github(Role::Production, true),
        github(Role::Preview, true),
        github(Role::Production, false),
        github(Role::Preview, false),
        gitlab(Role::Production),
        gitlab(Role::Preview),
        policy::incident_policy(&app),
    ]
    .map(|p| serde_json::to_value(p).unwrap());
    assert_eq!(blocks, generated);
}

/// The `sub` values a trust policy accepts.
fn subjects(trust: &Value) -> Vec<String> {
    let mut all = Vec::new();
    for tests in trust["Statement"][0]["Condition"]
        .as_object()
        .unwrap()
        .values()
    {
        for (key, value) in tests.as_object().unwrap() {
            if key.ends_with(":sub") {
                match value {
                    Value::Array(a) => all.extend(a.iter().map(|v| v.as_str().unwrap().to_owned())),
                    v => all.push(v.as_str().unwrap().to_owned()),
                }
            }
        }
    }
    all
}

/// Each statement's actions and resources.
fn statements(policy: &Value) -> Vec<(Vec<String>, Vec<String>)> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (strings(&s["Action"]), strings(&s["Resource"])))
        .collect()
}

/// tests/docs/check_init_workflows.py on the workflows in `dir`.
fn check_workflows(dir: &Path, extra: &[&str]) -> std::process::Output {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/docs/check_init_workflows.py"
    );
    Command::new("python3")
        .arg(script)
        .arg(dir)
        .args(extra)
        .output()
        .expect("python3 runs (with python3-yaml)")
}

fn assert_clean(dir: &Path, extra: &[&str]) {
    let out = check_workflows(dir, extra);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("0 finding(s) in 2 workflow(s)"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_writes_the_workflows_and_the_two_roles_for_the_app() {
    let emu = emulator().await;
    let dir = checkout(Some("git@github.com:octo/site.git"));
    let r = run(&mut init(&emu, dir.path(), &[APP])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    for name in FILES {
        assert!(r.stderr.contains(&format!("wrote {name}: ")), "{r:?}");
    }
    let snapshot = |name: &str, file: &str| {
        insta::assert_snapshot!(name, read(dir.path(), file));
    };
    snapshot("init_github_workflow", FILES[0]);
    snapshot("init_github_trusted_workflow", FILES[1]);
    snapshot("init_production_iam_policy", PRODUCTION_IAM);
    snapshot("init_production_trust_policy", PRODUCTION_TRUST);
    snapshot("init_preview_iam_policy", PREVIEW_IAM);
    snapshot("init_preview_trust_policy", PREVIEW_TRUST);
    insta::assert_snapshot!("init_github_notes", r.stderr);
    assert_clean(dir.path(), &[]);

    // What the docs show, with the app's values in place of the placeholders.
    let docs = iam_doc_blocks();
    let filled = |block: &str| {
        json(
            &block
                .replace("eu-west-1", "us-east-1")
                .replace("d1a2b3c4d5e6f7", APP),
        )
    };
    assert_eq!(json(&read(dir.path(), PRODUCTION_IAM)), filled(&docs[1]));
    assert_eq!(json(&read(dir.path(), PREVIEW_IAM)), filled(&docs[2]));
    let app = emulated_app();
    assert_eq!(
        read(dir.path(), PREVIEW_IAM),
        policy::preview_policy(&app, "pr-").to_file_text()
    );

    // Each role trusts one exact subject: its environment.
    let production = json(&read(dir.path(), PRODUCTION_TRUST));
    let preview = json(&read(dir.path(), PREVIEW_TRUST));
    assert_eq!(
        subjects(&production),
        ["repo:octo/site:environment:production"]
    );
    assert_eq!(subjects(&preview), ["repo:octo/site:environment:preview"]);
    for sub in subjects(&production).iter().chain(&subjects(&preview)) {
        assert!(!sub.contains('*') && !sub.ends_with(":*"), "{sub}");
    }

    // Production deletes nothing; previews change only pr-* branches
    // (and what IAM cannot narrow: the app-level actions, on the app).
    let arn = format!("arn:aws:amplify:us-east-1:123456789012:apps/{APP}");
    let production = json(&read(dir.path(), PRODUCTION_IAM));
    for (actions, resources) in statements(&production) {
        assert!(
            !actions.iter().any(|a| a == "amplify:DeleteBranch"),
            "{actions:?}"
        );
        for r in resources {
            assert!(
                r == arn || r.starts_with(&format!("{arn}/branches/main")),
                "{r}"
            );
        }
    }
    let preview = json(&read(dir.path(), PREVIEW_IAM));
    for (actions, resources) in statements(&preview) {
        let app_only = [
            "amplify:GetApp",
            "amplify:ListBranches",
            "amplify:CreateBranch",
        ];
        if actions.iter().all(|a| app_only.contains(&a.as_str())) {
            assert_eq!(resources, std::slice::from_ref(&arn));
            continue;
        }
        for r in resources {
            assert!(r.starts_with(&format!("{arn}/branches/pr-")), "{r}");
        }
    }
    assert_eq!(operations(&emu), ["GetApp"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_without_environments_trusts_the_branch_and_pull_request_runs() {
    let emu = emulator().await;
    let dir = checkout(Some("https://github.com/octo/site"));
    let r = run(&mut init(
        &emu,
        dir.path(),
        &[
            APP,
            "--no-environments",
            "--branch",
            "trunk",
            "--preview-prefix",
            "site-pr-",
        ],
    ))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_clean(dir.path(), &["--no-environments"]);
    // A job in an environment would get a subject these roles do not trust.
    for f in &FILES[..2] {
        assert!(!read(dir.path(), f).contains("environment:"), "{f}");
    }
    let production = json(&read(dir.path(), PRODUCTION_TRUST));
    let preview = json(&read(dir.path(), PREVIEW_TRUST));
    assert_eq!(
        subjects(&production),
        ["repo:octo/site:ref:refs/heads/trunk"]
    );
    assert_eq!(
        subjects(&preview),
        [
            "repo:octo/site:pull_request",
            "repo:octo/site:ref:refs/heads/trunk"
        ]
    );
    // What is lost is said.
    let note = r
        .stderr
        .lines()
        .find(|l| l.contains("--no-environments"))
        .expect("note");
    assert!(note.contains("every pull request run"), "{note}");
    // The prefix reaches the preview role and every step that needs it.
    assert!(read(dir.path(), PREVIEW_IAM).contains("/branches/site-pr-*"));
    let workflows = read(dir.path(), FILES[0]) + &read(dir.path(), FILES[1]);
    assert_eq!(
        workflows.matches("preview-prefix: 'site-pr-'").count(),
        5,
        "{workflows}"
    );

    // The checker holds them to it: with environments expected, every
    // deploy job is a finding.
    let out = check_workflows(dir.path(), &[]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "job production: role amplify-deploy-production outside environment production"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_workflow_checker_finds_a_deploy_job_that_runs_commands() {
    let emu = emulator().await;
    let dir = checkout(Some("https://github.com/octo/site"));
    let r = run(&mut init(&emu, dir.path(), &[APP])).await;
    assert_eq!(r.code, 0, "{r:?}");
    let edit = |file: &str, from: &str, to: &str| {
        let text = read(dir.path(), file);
        assert!(text.contains(from), "{from}");
        write(dir.path(), file, text.replacen(from, to, 1).as_bytes());
    };
    // A build step in the job that holds the role; a checkout in a trusted
    // run; a pull request's title in a shell; a wider token.
    edit(
        FILES[0],
        "      - id: deploy\n",
        "      - run: npm test\n      - id: deploy\n",
    );
    edit(
        FILES[1],
        "      - name: Remove the approval label",
        "      - uses: actions/checkout@v4\n      - name: Remove the approval label",
    );
    edit(
        FILES[1],
        "\"repos/$REPOSITORY",
        "\"${{ github.event.pull_request.title }}/$REPOSITORY",
    );
    edit(
        FILES[0],
        "permissions: {}\n",
        "permissions:\n  contents: write\n",
    );
    let out = check_workflows(dir.path(), &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    for finding in [
        "amplify-deploy.yml: top-level permissions are not {}",
        "amplify-deploy.yml: job production: holds id-token: write and runs a command",
        "amplify-preview.yml: job revoke-approval: checks out code in a trusted run",
        "amplify-preview.yml: job revoke-approval: a run: step expands ${{ }} (use env:)",
    ] {
        assert!(text.contains(finding), "{finding}\n{text}");
    }
}

/// An IAM resource pattern: `*` any characters, `?` one, `${*}`, `${?}`
/// and `${$}` the characters themselves.
fn resource_pattern(p: &str) -> regex::Regex {
    let mut re = String::from("^");
    let mut rest = p;
    while let Some(c) = rest.chars().next() {
        let literal = ["${*}", "${?}", "${$}"]
            .into_iter()
            .find(|l| rest.starts_with(l));
        if let Some(l) = literal {
            re.push_str(&regex::escape(&l[2..3]));
            rest = &rest[l.len()..];
            continue;
        }
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        rest = &rest[c.len_utf8()..];
    }
    re.push('$');
    regex::Regex::new(&re).unwrap()
}

/// Whether `policy` allows `action` on `resource`.
fn allows(policy: &Value, action: &str, resource: &str) -> bool {
    statements(policy).iter().any(|(actions, resources)| {
        actions.iter().any(|a| a == action)
            && resources
                .iter()
                .any(|r| resource_pattern(r).is_match(resource))
    })
}

/// The IAM action and resource ARN of each Amplify call the emulator
/// answered: the app, branch or job the path names, at the level of the
/// action's resource type; a tag call's ARN as given.
fn calls(emu: &Emulator) -> Vec<(String, String)> {
    let app = format!("arn:aws:amplify:us-east-1:123456789012:apps/{APP}");
    let decode = |s: &str| percent_decode(s);
    let mut out = Vec::new();
    for r in emu.requests() {
        let action = format!("amplify:{}", r.operation);
        let Some(kind) = policy::resource_type(&action) else {
            continue;
        };
        let segments: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
        let resource = match (segments.as_slice(), kind) {
            (["tags", arn], _) => decode(arn),
            (_, policy::ResourceType::App) => app.clone(),
            (["apps", _, "branches", b, ..], policy::ResourceType::Branch) => {
                format!("{app}/branches/{}", decode(b))
            }
            (["apps", _, "branches", b, "jobs", j, ..], policy::ResourceType::Job) => {
                format!("{app}/branches/{}/jobs/{j}", decode(b))
            }
            other => panic!("{action} {}: {other:?}", r.path),
        };
        out.push((action, resource));
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(Ok(b)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Every call in `calls` that `policy` does not allow.
fn denied(policy: &Value, calls: &[(String, String)]) -> Vec<String> {
    calls
        .iter()
        .filter(|(a, r)| !allows(policy, a, r))
        .map(|(a, r)| format!("{a} on {r}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_roles_allow_every_call_their_jobs_make_and_no_more() {
    use crate::previews_lifecycle::Lab;
    const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);
    let app = emulated_app();
    let production = serde_json::to_value(policy::production_policy(&app, "main")).unwrap();
    let preview = serde_json::to_value(policy::preview_policy(&app, "pr-")).unwrap();

    // Production: a pushed deploy of main, with its provenance tags.
    let emu = emulator().await;
    let site = tiny_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_SHA", "0123abc")
        .env("GITHUB_REPOSITORY", "octo/site")
        .env("GITHUB_RUN_ID", "42");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    let made = calls(&emu);
    assert!(
        made.iter().any(|(a, _)| a == "amplify:TagResource"),
        "{made:?}"
    );
    assert_eq!(denied(&production, &made), Vec::<String>::new());
    // ...and it could not have touched a preview, or deleted main.
    let other = format!("arn:aws:amplify:us-east-1:123456789012:apps/{APP}/branches/pr-1");
    assert!(!allows(&production, "amplify:CreateDeployment", &other));
    let main = format!("arn:aws:amplify:us-east-1:123456789012:apps/{APP}/branches/main");
    assert!(!allows(&production, "amplify:DeleteBranch", &main));

    // Previews: create (evicting a closed one at the cap, with an expiry),
    // redeploy without it (the expiry removed), close, and the nightly
    // prune of an expired one.
    let lab = Lab::start().await;
    lab.preview(1, 3 * DAY, "closed");
    let old = lab.preview(2, 2 * DAY, "open");
    lab.expire(&old, -60);
    // Its job never ended: prune stops it first.
    lab.emu.insert_job(APP, &old, "RUNNING");
    let cap = ["--max-previews", "2", "--preview-ttl", "1d"];
    let r = run(lab.deploy(7, "opened").args(cap)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(&mut lab.deploy(7, "synchronize")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(&mut lab.deploy(7, "closed")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(&mut lab.previews("prune")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        lab.emu.branches(APP) == ["main"],
        "{:?}",
        lab.emu.branches(APP)
    );
    let made = calls(&lab.emu);
    for op in [
        "CreateBranch",
        "DeleteBranch",
        "TagResource",
        "UntagResource",
        "ListBranches",
        "StopJob",
    ] {
        assert!(
            made.iter().any(|(a, _)| a == &format!("amplify:{op}")),
            "no {op}: {made:?}"
        );
    }
    assert_eq!(denied(&preview, &made), Vec::<String>::new());
    // ...and it could not have deployed or deleted main.
    assert!(!allows(&preview, "amplify:CreateDeployment", &main));
    assert!(!allows(&preview, "amplify:DeleteBranch", &main));
    assert!(!allows(
        &preview,
        "amplify:StopJob",
        &format!("{main}/jobs/3")
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn init_pins_the_action_to_the_commit_given() {
    let emu = emulator().await;
    let dir = checkout(Some("https://github.com/octo/site.git"));
    let sha = "0123456789abcdef0123456789ABCDEF01234567";
    let r = run(&mut init(
        &emu,
        dir.path(),
        &[APP, "--print", "--action-sha", sha],
    ))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let pinned = "uses: OWNER/amplify-deploy@0123456789abcdef0123456789abcdef01234567 # v";
    assert!(r.stdout.contains(pinned), "{r:?}");
    assert!(!r.stderr.contains("by tag"), "{r:?}");

    let r = run(&mut init(
        &emu,
        dir.path(),
        &[APP, "--action-sha", "v1.2.3"],
    ))
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("\"v1.2.3\""), "{r:?}");
}

/// The workflow `init --print` wrote, its `uses:` line.
fn uses_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.contains("uses: octo/amplify-deploy@"))
        .unwrap_or_else(|| panic!("no uses: line for the action in {stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn init_pins_the_action_to_the_commit_its_release_tag_names() {
    let emu = emulator().await;
    let gh = FakeGitHub::start().await;
    let dir = checkout(Some("https://github.com/octo/site.git"));
    let version = concat!("v", env!("CARGO_PKG_VERSION"));
    let commit = "c0ffee0123456789abcdef0123456789abcdef01";
    let init_with_api = |api: &str| {
        let mut c = init(
            &emu,
            dir.path(),
            &[APP, "--print", "--action-repository", "octo/amplify-deploy"],
        );
        c.env("GITHUB_API_URL", api);
        c
    };

    // An annotated tag: its tag object names the commit.
    gh.add_tag("octo/amplify-deploy", version, commit, true);
    let r = run(&mut init_with_api(&gh.url())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        uses_line(&r.stdout).trim(),
        format!("uses: octo/amplify-deploy@{commit} # {version}"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("by tag"), "{r:?}");
    let paths: Vec<String> = gh.requests().iter().map(|q| q.path.clone()).collect();
    assert_eq!(
        paths,
        [
            format!("/repos/octo/amplify-deploy/git/ref/tags/{version}"),
            "/repos/octo/amplify-deploy/git/tags/7a9000000000000000000000000000000000beef".into(),
        ]
    );

    // Offline, or a tag GitHub does not know: the tag, and a note saying why.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let silent = SilentServer::start().await;
    let no_tags = FakeGitHub::start().await;
    for (api, why) in [
        (closed.as_str(), "could not reach the GitHub API"),
        (&no_tags.url(), "HTTP 404"),
        // Accepts and never answers: given up after 10 s.
        (&silent.url(), "could not reach the GitHub API"),
    ] {
        let r = run(&mut init_with_api(api)).await;
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(
            uses_line(&r.stdout).trim(),
            format!("uses: octo/amplify-deploy@{version}"),
            "{r:?}"
        );
        let note = r
            .stderr
            .lines()
            .find(|l| l.contains("by tag"))
            .expect("note");
        assert!(note.contains(why), "{note}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn init_never_overwrites_a_file_without_force() {
    let emu = emulator().await;
    let dir = checkout(Some("https://github.com/octo/site"));
    write(dir.path(), PREVIEW_TRUST, b"mine\n");
    let r = run(&mut init(&emu, dir.path(), &[APP])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(PREVIEW_TRUST) && r.stderr.contains("--force"),
        "{r:?}"
    );
    assert_eq!(read(dir.path(), PREVIEW_TRUST), "mine\n");
    // Nothing half written: the other files are not there either.
    for f in FILES.iter().filter(|f| **f != PREVIEW_TRUST) {
        assert!(!dir.path().join(f).exists(), "{f}");
    }

    let r = run(&mut init(&emu, dir.path(), &[APP, "--force"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(read(dir.path(), PREVIEW_TRUST).contains("repo:octo/site:environment:preview"));
}

#[tokio::test(flavor = "multi_thread")]
async fn init_print_prints_the_files_and_writes_none() {
    let emu = emulator().await;
    let dir = checkout(None);
    let r = run(&mut init(&emu, dir.path(), &[APP, "--print"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    for name in FILES {
        assert!(r.stdout.contains(&format!("==> {name} <==\n")), "{r:?}");
        assert!(!dir.path().join(name).exists(), "{name}");
    }
    // No remote: a placeholder, and a note that says so.
    assert!(
        r.stdout.contains("repo:OWNER/REPO:environment:production"),
        "{r:?}"
    );
    assert!(r.stderr.contains("--repository OWNER/NAME"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_gitlab_writes_the_pipeline_for_the_project() {
    let emu = emulator().await;
    let dir = checkout(Some("git@gitlab.com:group/sub/site.git"));
    let r = run(&mut init(
        &emu,
        dir.path(),
        &[APP, "--gitlab", "--branch", "prod"],
    ))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let pipeline = read(dir.path(), ".gitlab-ci.yml");
    insta::assert_snapshot!("init_gitlab_pipeline", pipeline);
    assert!(!dir.path().join(FILES[0]).exists());
    // AWS sees only sub and aud: production trusts branch prod exactly,
    // previews any branch of the project, with a policy for mr-* only.
    let production = json(&read(dir.path(), PRODUCTION_TRUST));
    let preview = json(&read(dir.path(), PREVIEW_TRUST));
    assert_eq!(
        subjects(&production),
        ["project_path:group/sub/site:ref_type:branch:ref:prod"]
    );
    let exact = &production["Statement"][0]["Condition"]["StringEquals"];
    assert!(exact.get("gitlab.com:sub").is_some(), "{production}");
    assert_eq!(
        subjects(&preview),
        ["project_path:group/sub/site:ref_type:branch:ref:*"]
    );
    assert!(read(dir.path(), PRODUCTION_TRUST).contains(":oidc-provider/gitlab.com"));
    assert_eq!(
        read(dir.path(), PREVIEW_IAM),
        policy::preview_policy(&emulated_app(), "mr-").to_file_text()
    );
    assert_eq!(
        read(dir.path(), PRODUCTION_IAM),
        policy::production_policy(&emulated_app(), "prod").to_file_text()
    );
    // The jobs assume the role their branch is trusted for: the production
    // job runs on branch prod only; review apps are mr-IID.
    assert!(pipeline.contains("- if: $CI_COMMIT_BRANCH == $AMPLIFY_PRODUCTION_BRANCH"));
    assert!(pipeline.contains("AMPLIFY_PRODUCTION_BRANCH: 'prod'"));
    assert_eq!(
        pipeline.matches("role/amplify-deploy-production").count(),
        1
    );
    assert_eq!(pipeline.matches("role/amplify-deploy-preview").count(), 2);
    assert_eq!(pipeline.matches("\"mr-$CI_MERGE_REQUEST_IID\"").count(), 2);
    assert!(r.stderr.contains("protect branch prod"), "{r:?}");
    let out = check_workflows(dir.path(), &["--gitlab"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 finding(s) in 4 job(s)"), "{text}");
    // A build step in a job that holds the ID token is found.
    let edited = pipeline.replacen(
        "    - amplify-deploy deploy --dotenv deploy.env",
        "    - npm run build\n    - amplify-deploy deploy --dotenv deploy.env",
        1,
    );
    write(dir.path(), ".gitlab-ci.yml", edited.as_bytes());
    let out = check_workflows(dir.path(), &["--gitlab"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("job deploy: holds an ID token and runs 'npm run build'"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn init_refuses_a_prefix_it_cannot_put_in_a_policy() {
    let emu = emulator().await;
    let dir = checkout(None);
    for bad in ["pr/*", "pr-$x", "", "pr 1"] {
        let r = run(&mut init(&emu, dir.path(), &[APP, "--preview-prefix", bad])).await;
        if bad.is_empty() {
            // Empty is unset: the default.
            assert_eq!(r.code, 0, "{r:?}");
            continue;
        }
        assert_eq!(r.code, 2, "{bad}: {r:?}");
        assert!(
            r.stderr.contains(&format!("preview-prefix {bad:?}")),
            "{r:?}"
        );
    }
    let r = run(&mut init(
        &emu,
        dir.path(),
        &[APP, "--gitlab", "--no-environments", "--print"],
    ))
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--no-environments"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_for_a_missing_app_exits_3() {
    let emu = emulator().await;
    let dir = checkout(None);
    let r = run(&mut init(&emu, dir.path(), &["d1nosuchapp"])).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("d1nosuchapp"), "{r:?}");
    insta::with_settings!({filters => vec![(r"request id: \S+", "request id: [id]")]}, {
        insta::assert_snapshot!("init_missing_app", r.stderr);
    });
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only .git"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn init_refuses_a_repository_that_is_not_one() {
    let emu = emulator().await;
    let dir = checkout(None);
    let r = run(&mut init(&emu, dir.path(), &[APP, "--repository", "octo"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("\"octo\""), "{r:?}");
    assert_eq!(count(&emu, "GetApp"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_for_every_shell_complete_commands_and_flags() {
    let emu = emulator().await;
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = run(cmd(&emu).args(["completions", shell])).await;
        assert_eq!(r.code, 0, "{shell}: {r:?}");
        for word in [
            "deploy",
            "delete-branch",
            "init",
            "app-id",
            "preview-prefix",
        ] {
            assert!(r.stdout.contains(word), "{shell} completes no {word}");
        }
        if shell == "bash" {
            let script = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(script.path(), &r.stdout).unwrap();
            let ok = Command::new("bash").arg("-n").arg(script.path()).status();
            assert!(ok.unwrap().success(), "bash -n fails on the script");
        }
    }
}

#[test]
fn the_man_page_generator_writes_a_roff_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = man::write_man_page(&dir.path().join("man")).expect("written");
    assert_eq!(path, dir.path().join("man/amplify-deploy.1"));
    let page = std::fs::read_to_string(&path).unwrap();
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "roff: {page:.80}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "no {section}");
    }
    for word in ["amplify\\-deploy", "app\\-id", "init", "completions"] {
        assert!(page.contains(word), "no {word}");
    }
}
