//! `completions` and `init`: the scripts, the files `init` writes for an
//! emulated app (account 123456789012 in its ARN), and docs/iam.md checked
//! against the one list of actions in `src/policy.rs`.

use std::path::Path;
use std::process::Command;

use amplify_deploy::policy::{self, AppRef, Feature};
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde_json::Value;

use crate::support::github::FakeGitHub;
use crate::support::net::SilentServer;
use crate::support::*;

/// The release's man page generator (examples/man.rs), run here as a module.
#[allow(dead_code)]
#[path = "../examples/man.rs"]
mod man;

const FILES: [&str; 3] = [
    ".github/workflows/amplify-deploy.yml",
    "amplify-deploy-iam-policy.json",
    "amplify-deploy-trust-policy.json",
];

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
    let generated = [
        policy::iam_policy(&app, &[Feature::Deploy]),
        policy::iam_policy(&app, policy::DEPLOY_AND_PREVIEWS),
        policy::github_trust_policy(&app, "OWNER/REPO"),
        policy::gitlab_trust_policy(&app, "GROUP/PROJECT"),
    ]
    .map(|p| serde_json::to_value(p).unwrap());
    assert_eq!(blocks, generated);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_writes_the_workflow_and_the_policies_for_the_app() {
    let emu = emulator().await;
    let dir = checkout(Some("git@github.com:octo/site.git"));
    let r = run(&mut init(&emu, dir.path(), &[APP])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    for name in FILES {
        assert!(r.stderr.contains(&format!("wrote {name}\n")), "{r:?}");
    }
    let snapshot = |name: &str, file: &str| {
        insta::assert_snapshot!(name, read(dir.path(), file));
    };
    snapshot("init_github_workflow", FILES[0]);
    snapshot("init_iam_policy", FILES[1]);
    snapshot("init_trust_policy", FILES[2]);
    // What the docs show, with the app's values in place of the placeholders.
    let documented = iam_doc_blocks()[1]
        .replace("eu-west-1", "us-east-1")
        .replace("d1a2b3c4d5e6f7", APP);
    assert_eq!(json(&read(dir.path(), FILES[1])), json(&documented));
    let generated = policy::iam_policy(&emulated_app(), policy::DEPLOY_AND_PREVIEWS);
    assert_eq!(read(dir.path(), FILES[1]), generated.to_file_text());
    let trust = json(&read(dir.path(), FILES[2]));
    let sub = &trust["Statement"][0]["Condition"]["StringLike"]
        ["token.actions.githubusercontent.com:sub"];
    assert_eq!(sub, "repo:octo/site:*");
    assert_eq!(operations(&emu), ["GetApp"]);
    insta::assert_snapshot!("init_github_notes", r.stderr);
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
    write(dir.path(), FILES[2], b"mine\n");
    let r = run(&mut init(&emu, dir.path(), &[APP])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(FILES[2]) && r.stderr.contains("--force"),
        "{r:?}"
    );
    assert_eq!(read(dir.path(), FILES[2]), "mine\n");
    // Nothing half written: the other files are not there either.
    assert!(!dir.path().join(FILES[0]).exists());
    assert!(!dir.path().join(FILES[1]).exists());

    let r = run(&mut init(&emu, dir.path(), &[APP, "--force"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(read(dir.path(), FILES[2]).contains("repo:octo/site:*"));
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
    assert!(r.stdout.contains("repo:OWNER/REPO:*"), "{r:?}");
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
    insta::assert_snapshot!("init_gitlab_pipeline", read(dir.path(), ".gitlab-ci.yml"));
    let trust = read(dir.path(), FILES[2]);
    assert!(trust.contains("project_path:group/sub/site:*"), "{trust}");
    assert!(trust.contains(":oidc-provider/gitlab.com"), "{trust}");
    assert!(!dir.path().join(FILES[0]).exists());
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
