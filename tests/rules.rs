//! Site behaviour as code: `_headers` into the package's customHttp.yml,
//! `_redirects` into the app's customRules (`rules sync`, `deploy
//! --sync-rules`), and what the emulator then serves over HTTP.

use std::path::Path;
use std::process::Command;

use amplify_emulator::{CustomRule, Emulator};

use crate::support::*;

const REDIRECTS: &str = "\
# moved in the 2024 restructure
/blog/*            /news/:splat        301
/café              /menu%20du%20jour   302
/old/:year/:slug   /posts/:year/:slug
";

const HEADERS: &str = "\
/*
  X-Frame-Options: DENY
  Content-Security-Policy: default-src 'self'
/assets/*
  Cache-Control: public, max-age=31536000, immutable
";

fn rule(source: &str, target: &str, status: &str) -> CustomRule {
    CustomRule {
        source: source.into(),
        target: target.into(),
        status: Some(status.into()),
        condition: None,
    }
}

/// The SPA rewrite `--spa` adds.
fn spa() -> CustomRule {
    rule(
        r"</^[^.]+$|\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|woff2|ttf|map|json|webp)$)([^.]+$)/>",
        "/index.html",
        "200",
    )
}

fn rules_sync(emu: &Emulator, extra: &[&str]) -> Command {
    let mut c = cmd(emu);
    c.args(["rules", "sync", "--app-id", APP]).args(extra);
    c
}

fn redirects_file(dir: &Path) -> String {
    write(dir, "_redirects", REDIRECTS.as_bytes())
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_sync_writes_the_translated_rules_and_then_has_nothing_to_do() {
    let emu = emulator().await;
    emu.set_custom_rules(APP, vec![rule("/<*>", "/index.html", "404-200")]);
    let dir = tempfile::tempdir().unwrap();
    let from = redirects_file(dir.path());
    let r = run(&mut rules_sync(&emu, &["--from", &from, "--spa"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        emu.custom_rules(APP),
        [
            rule("/blog/<*>", "/news/<*>", "301"),
            rule("/caf%C3%A9", "/menu%20du%20jour", "302"),
            rule("/old/<year>/<slug>", "/posts/<year>/<slug>", "301"),
            spa(),
        ]
    );
    assert!(r.stderr.contains("- /<*> -> /index.html 404-200"), "{r:?}");
    assert!(
        r.stderr.contains("+ /caf%C3%A9 -> /menu%20du%20jour 302"),
        "{r:?}"
    );
    assert_eq!(operations(&emu), ["GetApp", "UpdateApp"]);
    // The same rules again: read, compared, not written.
    let again = run(&mut rules_sync(&emu, &["--from", &from, "--spa"])).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stderr.contains("nothing to change"), "{again:?}");
    assert_eq!(count(&emu, "UpdateApp"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_sync_dry_run_shows_the_diff_and_changes_nothing() {
    let emu = emulator().await;
    let before = vec![
        rule("/blog/<*>", "/news/<*>", "301"),
        rule("/x", "/y", "302"),
    ];
    emu.set_custom_rules(APP, before.clone());
    let dir = tempfile::tempdir().unwrap();
    let from = redirects_file(dir.path());
    let r = run(&mut rules_sync(&emu, &["--from", &from, "--dry-run"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(emu.custom_rules(APP), before);
    assert_eq!(operations(&emu), ["GetApp"]);
    assert!(
        r.stderr
            .contains("dry run: the app's rules were not changed"),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_redirects_are_one_error_naming_every_line_before_any_request() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let from = write(
        dir.path(),
        "_redirects",
        b"/ok /fine\n/store id=:id /blog/:id 301\n/ /fr 302 Language=fr\n/old /new 308\n",
    );
    let r = run(rules_sync(&emu, &["--dry-run"]).arg("--from").arg(&from)).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("3 lines Amplify cannot express"), "{r:?}");
    for line in [
        "line 2: query-string",
        "line 3: `Language=fr`",
        "line 4: status 308",
    ] {
        assert!(r.stderr.contains(line), "{line}: {r:?}");
    }
    assert!(operations(&emu).is_empty(), "{:?}", operations(&emu));
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_sync_with_nothing_to_sync_is_bad_input() {
    let emu = emulator().await;
    let r = run(&mut rules_sync(&emu, &[])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no rules to sync"), "{r:?}");
    assert!(operations(&emu).is_empty());
}

/// A site with `_headers`, `_redirects`, an index page and an asset.
fn rules_site() -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "index.html", b"<h1>app shell</h1>");
    write(site.path(), "assets/app.js", b"console.log(1)");
    write(site.path(), "menu du jour/index.html", b"<p>menu</p>");
    write(site.path(), "_headers", HEADERS.as_bytes());
    write(site.path(), "_redirects", REDIRECTS.as_bytes());
    site
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_become_custom_http_yml_and_rule_files_stay_out() {
    let emu = emulator().await;
    let site = rules_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    let files = emu.deployed_files(APP, "main").unwrap();
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "assets/app.js",
            "customHttp.yml",
            "index.html",
            "menu du jour/index.html"
        ]
    );
    let yml = String::from_utf8(files["customHttp.yml"].clone()).unwrap();
    assert!(
        yml.contains("  - pattern: '/assets/**/*'\n    headers:\n      - key: 'Cache-Control'\n"),
        "{yml}"
    );
    assert!(yml.contains("value: 'default-src ''self'''"), "{yml}");
    // Without --sync-rules the app's rules are not touched.
    assert_eq!(count(&emu, "UpdateApp"), 0);

    let kept = run(deploy_cmd(&emu, site.path()).arg("--keep-rule-files")).await;
    assert_eq!(kept.code, 0, "{kept:?}");
    let files = emu.deployed_files(APP, "main").unwrap();
    assert!(files.contains_key("_headers") && files.contains_key("_redirects"));
    assert!(files.contains_key("customHttp.yml"));
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_and_custom_http_yml_together_are_refused_before_any_request() {
    let emu = emulator().await;
    let site = tiny_site();
    write(site.path(), "_headers", HEADERS.as_bytes());
    write(site.path(), "customHttp.yml", b"customHeaders: []\n");
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("has both _headers and customHttp.yml"),
        "{r:?}"
    );
    assert!(operations(&emu).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_custom_http_yml_names_its_line() {
    let emu = emulator().await;
    let site = tiny_site();
    write(
        site.path(),
        "customHttp.yml",
        b"customHeaders:\n  - pattern: '**/*'\n    headers:\n      - key: 'X-A'\n        valeu: '1'\n",
    );
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("customHttp.yml: 1 line Amplify cannot express"),
        "{r:?}"
    );
    assert!(r.stderr.contains("line 5: unexpected `valeu`"), "{r:?}");
    assert!(operations(&emu).is_empty());
    // A valid one is deployed as it is.
    let valid = b"customHeaders:\n  - pattern: '**/*'\n    headers:\n      - key: 'X-A'\n        value: '1'\n";
    write(site.path(), "customHttp.yml", valid);
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        emu.deployed_files(APP, "main").unwrap()["customHttp.yml"],
        valid
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_cookies_for_one_path_are_refused_before_any_request() {
    let emu = emulator().await;
    let site = rules_site();
    write(
        site.path(),
        "_headers",
        b"# sessions\n/account/*\n  Cache-Control: no-store\n  Set-Cookie: session=; Path=/account; Expires=Thu, 01 Jan 1970 00:00:00 GMT\n  Set-Cookie: csrf=; Path=/account; Expires=Thu, 01 Jan 1970 00:00:00 GMT\n",
    );
    let r = run(deploy_cmd(&emu, site.path()).args(["--sync-rules", "--spa"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    let file = site.path().join("_headers").display().to_string();
    assert!(
        r.stderr
            .contains(&format!("{file}: 1 line Amplify cannot express")),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("line 5: a second `Set-Cookie` for `/account/*` (the first is on line 4)"),
        "{r:?}"
    );
    assert!(emu.requests().is_empty(), "{:?}", operations(&emu));
    assert!(emu.custom_rules(APP).is_empty());
    // `package` refuses it the same way, and writes nothing.
    let out = tempfile::tempdir().unwrap();
    let zip = out.path().join("site.zip");
    let r = run(cmd(&emu)
        .args(["package", "--path"])
        .arg(site.path())
        .arg("--output")
        .arg(&zip))
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("line 5: a second `Set-Cookie`"), "{r:?}");
    assert!(!zip.exists());
}

/// GET `url` without following redirects.
async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .expect("the emulator's site answers")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_with_sync_rules_and_spa_is_served_with_its_headers_and_fallback() {
    let emu = emulator().await;
    let site = rules_site();
    let r = run(deploy_cmd(&emu, site.path()).args(["--sync-rules", "--spa"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    // The rules are written before the job is created.
    let ops = operations(&emu);
    let at = |op: &str| ops.iter().position(|o| o == op).unwrap();
    assert!(at("UpdateApp") < at("CreateDeployment"), "{ops:?}");
    assert_eq!(emu.custom_rules(APP).last(), Some(&spa()));

    let base = emu.site_url(APP, "main");
    // A client-side route without a file: the app shell, with the headers.
    let page = get(&format!("{base}dashboard/settings")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(
        page.headers()["content-security-policy"],
        "default-src 'self'"
    );
    assert_eq!(page.text().await.unwrap(), "<h1>app shell</h1>");
    // An asset: itself, with its cache header.
    let asset = get(&format!("{base}assets/app.js")).await;
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(asset.text().await.unwrap(), "console.log(1)");
    // A redirect with its splat; one to a folder named with a space.
    let moved = get(&format!("{base}blog/2024/hello")).await;
    assert_eq!(moved.status(), 301);
    assert!(
        moved.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/news/2024/hello"),
        "{:?}",
        moved.headers()
    );
    let menu = get(&format!("{base}caf%C3%A9")).await;
    assert_eq!(menu.status(), 302, "{:?}", menu.headers());
    assert!(
        menu.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/menu%20du%20jour"),
        "{:?}",
        menu.headers()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_refuses_sync_rules_before_any_request() {
    let emu = emulator().await;
    let gh = crate::support::github::FakeGitHub::start().await;
    let site = rules_site();
    let events = tempfile::tempdir().unwrap();
    let event = write(
        events.path(),
        "event.json",
        crate::support::github::pull_request_payload(
            "pull_request",
            "opened",
            7,
            "1111111111111111111111111111111111111111",
            crate::support::github::REPO,
        )
        .to_string()
        .as_bytes(),
    );
    let mut c = cmd(&emu);
    c.args([
        "deploy",
        "--app-id",
        APP,
        "--preview",
        "--sync-rules",
        "--path",
    ])
    .arg(site.path())
    .env("GITHUB_ACTIONS", "true")
    .env("GITHUB_EVENT_NAME", "pull_request")
    .env("GITHUB_EVENT_PATH", &event)
    .env("GITHUB_API_URL", gh.url())
    .env("GITHUB_REPOSITORY", crate::support::github::REPO)
    .env("AMPLIFY_GITHUB_TOKEN", crate::support::github::WRITE_TOKEN);
    let r = run(&mut c).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("pull request #7's preview cannot change the app's redirects"),
        "{r:?}"
    );
    assert!(operations(&emu).is_empty(), "{:?}", operations(&emu));
    assert!(gh.requests().is_empty(), "{:?}", gh.requests().len());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_check_expects_the_app_shell_on_a_route_the_spa_rule_rewrites() {
    let emu = emulator().await;
    let site = rules_site();
    let mut c = deploy_cmd(&emu, site.path());
    c.args(["--spa", "--verify", "strict", "--verify-path", "/dashboard"])
        .env("AMPLIFY_VERIFY_TIMEOUT", "10s")
        .env("AMPLIFY_RESOLVE", format!("*={}", emu.endpoint()));
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("live check: new content served"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_rules_without_redirects_or_spa_is_bad_input_and_a_folder_names_its_redirects() {
    let emu = emulator().await;
    let site = tiny_site();
    let r = run(deploy_cmd(&emu, site.path()).arg("--sync-rules")).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("has no _redirects or 404.html and --spa is not set"),
        "{r:?}"
    );
    assert!(operations(&emu).is_empty());
    // `rules sync --from DIR` reads DIR/_redirects.
    let dir = tempfile::tempdir().unwrap();
    redirects_file(dir.path());
    let r = run(rules_sync(&emu, &["--dry-run"])
        .arg("--from")
        .arg(dir.path()))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("3 added, 0 removed"), "{r:?}");
}

/// The not-found rule `--sync-rules` adds for a site's `404.html`.
fn not_found() -> CustomRule {
    rule("/<*>", "/404.html", "404")
}

/// Not UTF-8, so the bytes served must be exactly the file's.
const NOT_FOUND_PAGE: &[u8] = b"<h1>Page not found</h1>\n\xef\xbb\xbf\xff";

/// `rules_site()` with a `404.html`.
fn site_with_404() -> tempfile::TempDir {
    let site = rules_site();
    write(site.path(), "404.html", NOT_FOUND_PAGE);
    site
}

/// GET `path` of main's site: status and body bytes.
async fn fetch(emu: &Emulator, path: &str) -> (u16, Vec<u8>) {
    let page = get(&format!("{}{path}", emu.site_url(APP, "main"))).await;
    let status = page.status().as_u16();
    (status, page.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_rules_answers_missing_paths_with_the_sites_404_page() {
    let emu = emulator().await;
    let site = site_with_404();
    let r = run(deploy_cmd(&emu, site.path()).arg("--sync-rules")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("+ /<*> -> /404.html 404"), "{r:?}");
    let rules = emu.custom_rules(APP);
    assert_eq!(rules.len(), 4, "{rules:?}");
    assert_eq!(rules.last(), Some(&not_found()));
    for path in ["nope", "docs/gone/", "assets/missing.js", "caf%C3%A9-menu"] {
        assert_eq!(
            fetch(&emu, path).await,
            (404, NOT_FOUND_PAGE.to_vec()),
            "{path}"
        );
    }
    // Files and the other rules are untouched.
    assert_eq!(
        fetch(&emu, "assets/app.js").await,
        (200, b"console.log(1)".to_vec())
    );
    assert_eq!(fetch(&emu, "blog/2024/x").await.0, 301);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_spa_a_missing_file_with_an_extension_gets_the_404_page() {
    let emu = emulator().await;
    let site = site_with_404();
    let r = run(deploy_cmd(&emu, site.path()).arg("--spa")).await;
    assert_eq!(r.code, 0, "{r:?}");
    let rules = emu.custom_rules(APP);
    assert_eq!(rules[rules.len() - 2..], [spa(), not_found()]);
    // The SPA rewrite leaves .png (and .css, .js, ...) to the files, and
    // where there is none, to the not-found rule.
    assert_eq!(
        fetch(&emu, "images/missing.png").await,
        (404, NOT_FOUND_PAGE.to_vec())
    );
    assert_eq!(
        fetch(&emu, "assets/gone.css").await,
        (404, NOT_FOUND_PAGE.to_vec())
    );
    // Client-side routes still get the app shell.
    assert_eq!(
        fetch(&emu, "dashboard/settings").await,
        (200, b"<h1>app shell</h1>".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_page_none_or_another_page() {
    let emu = emulator().await;
    let site = site_with_404();
    write(
        site.path(),
        "errors/page manquante é.html",
        b"<p>introuvable</p>",
    );
    let r =
        run(deploy_cmd(&emu, site.path()).args(["--sync-rules", "--not-found-page", "none"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(emu.custom_rules(APP).iter().all(|r| r.source != "/<*>"));
    let (status, body) = fetch(&emu, "nope").await;
    assert_eq!(status, 404);
    assert_ne!(body, NOT_FOUND_PAGE);

    // Another page, named through the variable, with a space and an accent.
    let mut c = deploy_cmd(&emu, site.path());
    c.arg("--sync-rules")
        .env("AMPLIFY_NOT_FOUND_PAGE", "/errors/page manquante é.html");
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        emu.custom_rules(APP).last(),
        Some(&rule(
            "/<*>",
            "/errors/page%20manquante%20%C3%A9.html",
            "404"
        ))
    );
    assert_eq!(
        fetch(&emu, "nope").await,
        (404, b"<p>introuvable</p>".to_vec())
    );

    // A page the folder does not have: exit 2, nothing sent.
    let before = emu.requests().len();
    let r = run(deploy_cmd(&emu, site.path()).args([
        "--sync-rules",
        "--not-found-page",
        "/errors/500.html",
    ]))
    .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("not-found-page \"/errors/500.html\": "),
        "{r:?}"
    );
    assert!(r.stderr.contains("500.html is not a file"), "{r:?}");
    assert_eq!(emu.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_sync_adds_the_404_page_of_the_from_folder() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    redirects_file(dir.path());
    write(dir.path(), "404.html", NOT_FOUND_PAGE);
    let r = run(rules_sync(&emu, &["--spa"])
        .arg("--from")
        .arg(dir.path().join("_redirects")))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let rules = emu.custom_rules(APP);
    assert_eq!(rules.len(), 5, "{rules:?}");
    assert_eq!(rules[3..], [spa(), not_found()]);
    let r = run(
        rules_sync(&emu, &["--spa", "--not-found-page", "none", "--dry-run"])
            .arg("--from")
            .arg(dir.path()),
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("- /<*> -> /404.html 404"), "{r:?}");
}
