//! UpdateApp's `customRules` and `customHeaders`, a deploy's
//! `customHttp.yml`, and what the site then answers over HTTP.

use amplify_emulator::{CustomRule, Emulator};
use serde_json::{json, Value};

use crate::support::{emulator, zip_of, Client};

/// Amplify's documented single-page-app rewrite.
const SPA: &str =
    "</^[^.]+$|\\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|woff2|ttf|map|json|webp)$)([^.]+$)/>";

const HOST: &str = "main.d1.amplifyapp.com";

/// One site answer: status, `Location`, body and all headers.
#[derive(Debug)]
struct Page {
    status: u16,
    location: Option<String>,
    body: String,
    headers: reqwest::header::HeaderMap,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// GETs `path` from the site `host` names, following no redirect.
async fn visit(emulator: &Emulator, host: &str, path: &str, extra: &[(&str, &str)]) -> Page {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut request = http
        .get(format!("{}{path}", emulator.endpoint()))
        .header("host", host);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("site answers");
    Page {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        headers: response.headers().clone(),
        body: response.text().await.unwrap_or_default(),
    }
}

/// Deploys `files` to `branch_path` of d1 and waits for SUCCEED.
async fn deploy(client: &Client, branch_path: &str, files: &[(&str, &[u8])]) {
    let job = client.deploy("d1", branch_path, zip_of(files)).await;
    let done = client.wait_job("d1", branch_path, &job).await;
    assert_eq!(done.body["job"]["summary"]["status"], "SUCCEED", "{done:?}");
}

async fn update_app(client: &Client, input: Value) -> crate::support::Answer {
    client
        .call("POST", "/apps/d1", Some(&input.to_string()))
        .await
}

fn rule(source: &str, target: &str, status: &str) -> Value {
    json!({ "source": source, "target": target, "status": status })
}

const SITE: &[(&str, &[u8])] = &[
    ("index.html", b"home"),
    ("about.html", b"about"),
    ("404.html", b"not here"),
    ("app.js", b"js"),
    ("docs/index.html", b"docs"),
    ("blog/2024/hello.html", b"hello post"),
];

#[tokio::test]
async fn update_app_keeps_the_rules_and_get_app_returns_them() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let headers = "customHeaders:\n  - pattern: '**/*'\n    headers:\n      - key: X-Frame-Options\n        value: DENY\n";
    let rules = json!([
        rule("/old", "/new", "301"),
        { "source": "/<*>", "target": "/index.html", "status": "404-200", "condition": null },
    ]);
    let updated = update_app(
        &client,
        json!({ "customRules": rules, "customHeaders": headers }),
    )
    .await;
    assert_eq!(updated.status, 200, "{updated:?}");
    let expected = json!([
        { "source": "/old", "target": "/new", "status": "301" },
        { "source": "/<*>", "target": "/index.html", "status": "404-200" },
    ]);
    assert_eq!(updated.body["app"]["customRules"], expected);
    let got = client.call("GET", "/apps/d1", None).await;
    assert_eq!(got.body["app"]["customRules"], expected);
    assert_eq!(got.body["app"]["customHeaders"], headers);
    assert_eq!(
        emulator.custom_rules("d1")[1].status.as_deref(),
        Some("404-200")
    );
    assert_eq!(emulator.custom_headers("d1").as_deref(), Some(headers));

    // Members left out are left alone; an empty list clears the rules.
    let cleared = update_app(&client, json!({ "customRules": [] })).await;
    assert_eq!(cleared.body["app"]["customRules"], json!([]));
    assert_eq!(cleared.body["app"]["customHeaders"], headers);
    let calls = emulator
        .requests()
        .iter()
        .filter(|r| r.operation == "UpdateApp")
        .count();
    assert_eq!(calls, 2);
}

#[tokio::test]
async fn bad_updates_are_refused_with_the_service_errors_and_change_nothing() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let kept = vec![CustomRule {
        source: "/kept".into(),
        target: "/x".into(),
        status: Some("302".into()),
        condition: None,
    }];
    emulator.set_custom_rules("d1", kept.clone());
    let long = "/".repeat(2049);
    let cases = [
        (
            json!({ "customRules": [{ "source": "/a" }] }),
            "BadRequestException",
            "1 validation error detected: Value null at 'customRules.1.member.target' failed to satisfy constraint: Member must not be null".to_owned(),
        ),
        (
            json!({ "customRules": [rule("/a", "/b", "301"), rule(&long, "/b", "30")] }),
            "BadRequestException",
            format!("2 validation errors detected: Value '{long}' at 'customRules.2.member.source' failed to satisfy constraint: Member must have length less than or equal to 2048; Value '30' at 'customRules.2.member.status' failed to satisfy constraint: Member must have length greater than or equal to 3"),
        ),
        (
            json!({ "customRules": [rule("/a", "/b", "418")] }),
            "BadRequestException",
            "Custom rule 1 (source '/a') has status '418': the status must be one of 200, 301, 302, 404, 404-200.".to_owned(),
        ),
        (
            json!({ "customRules": [rule("</(unclosed/>", "/b", "200")] }),
            "BadRequestException",
            "Custom rule 1 has an invalid source '</(unclosed/>': invalid regular expression \"(unclosed\": Parsing error at position 9: Opening parenthesis without closing parenthesis.".to_owned(),
        ),
        (
            json!({ "customRules": { "source": "/a" } }),
            "SerializationException",
            "Expected a list for member 'customRules'.".to_owned(),
        ),
        (
            json!({ "customRules": [{ "source": "/a", "target": 3 }] }),
            "SerializationException",
            "Expected a string for member 'target'.".to_owned(),
        ),
        (
            json!({ "customRules": [], "customHeaders": "customHeaders:\n  - pattern: '*'\n" }),
            "BadRequestException",
            "customHeaders is not a valid custom headers YAML: customHeaders entry 1: headers must be a list of key and value".to_owned(),
        ),
    ];
    for (input, error_type, message) in cases {
        let got = update_app(&client, input.clone()).await;
        assert_eq!(got.status, 400, "{input}: {got:?}");
        assert_eq!(got.error_type.as_deref(), Some(error_type), "{input}");
        assert_eq!(got.message(), message, "{input}");
    }
    assert_eq!(emulator.custom_rules("d1"), kept);
    assert_eq!(emulator.custom_headers("d1"), None);

    let missing = client
        .call("POST", "/apps/d404", Some(r#"{"customRules":[]}"#))
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_type.as_deref(), Some("NotFoundException"));
}

#[tokio::test]
async fn rules_redirect_rewrite_and_serve_not_found_pages() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    deploy(&client, "main", SITE).await;
    let rules = json!([
        rule("/old.html", "/about.html", "301"),
        rule("/docs/<*>", "/documents/<*>", "302"),
        rule("/blog/<year>/<slug>", "/blog/<year>/<slug>.html", "200"),
        rule("/api/<*>", "https://api.example.com/<*>", "200"),
        rule(SPA, "/index.html", "200"),
        rule("/<*>", "/404.html", "404"),
    ]);
    let updated = update_app(&client, json!({ "customRules": rules })).await;
    assert_eq!(updated.status, 200, "{updated:?}");
    // (path, status, Location, body)
    let table: [(&str, u16, Option<&str>, &str); 9] = [
        ("/old.html?ref=mail", 301, Some("/about.html?ref=mail"), ""),
        // Redirects apply even where a file exists.
        ("/docs/", 302, Some("/documents/"), ""),
        ("/docs/guide/intro", 302, Some("/documents/guide/intro"), ""),
        ("/blog/2024/hello", 200, None, "hello post"),
        ("/api/users/1", 502, None, "amplify-emulator does not proxy: a rule rewrites /api/users/1 to https://api.example.com/users/1\n"),
        ("/settings/profile", 200, None, "home"),
        // The SPA regex leaves listed extensions to the files, or to the 404 rule.
        ("/app.js", 200, None, "js"),
        ("/logo.png", 404, None, "not here"),
        // ...but rewrites every other extension, as on Amplify.
        ("/about.html", 200, None, "home"),
    ];
    for (path, status, location, body) in table {
        let page = visit(&emulator, HOST, path, &[]).await;
        assert_eq!(
            (page.status, page.location.as_deref(), page.body.as_str()),
            (status, location, body),
            "{path}"
        );
    }
    // Under /__site/… the redirect keeps the prefix.
    let prefixed = visit(&emulator, "127.0.0.1", "/__site/d1/main/old.html", &[]).await;
    assert_eq!(prefixed.status, 301);
    assert_eq!(
        prefixed.location.as_deref(),
        Some("/__site/d1/main/about.html")
    );
}

/// The not-found rule amplify-deploy appends after the SPA rewrite:
/// missing paths the SPA rule leaves alone get 404 and the page's exact
/// bytes; files and client-side routes are not touched.
#[tokio::test]
async fn a_catch_all_404_rule_after_the_spa_rule_serves_the_page_with_404() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    // Not UTF-8: the bytes must come back as they are.
    let page: &[u8] = b"<h1>lost</h1>\xff\xfe\x00";
    let site: &[(&str, &[u8])] = &[
        ("index.html", b"shell"),
        ("app.js", b"js"),
        ("404.html", page),
    ];
    deploy(&client, "main", site).await;
    for spa_status in ["200", "404-200"] {
        let rules = json!([
            rule(SPA, "/index.html", spa_status),
            rule("/<*>", "/404.html", "404")
        ]);
        let updated = update_app(&client, json!({ "customRules": rules })).await;
        assert_eq!(updated.status, 200, "{updated:?}");
        for path in ["/logo.png", "/assets/missing.css", "/data/x.json"] {
            let response = reqwest::Client::new()
                .get(format!("{}{path}", emulator.endpoint()))
                .header("host", HOST)
                .send()
                .await
                .expect("site answers");
            assert_eq!(response.status().as_u16(), 404, "{spa_status} {path}");
            assert_eq!(
                response.headers()["content-type"],
                "text/html; charset=utf-8",
                "{path}"
            );
            assert_eq!(
                response.bytes().await.expect("body").as_ref(),
                page,
                "{path}"
            );
        }
        let route = visit(&emulator, HOST, "/settings/profile", &[]).await;
        assert_eq!(
            (route.status, route.body.as_str()),
            (200, "shell"),
            "{spa_status}"
        );
        let asset = visit(&emulator, HOST, "/app.js", &[]).await;
        assert_eq!(
            (asset.status, asset.body.as_str()),
            (200, "js"),
            "{spa_status}"
        );
    }
}

#[tokio::test]
async fn the_first_matching_rule_wins() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    deploy(&client, "main", SITE).await;
    let specific = rule("/docs/old.html", "/about.html", "301");
    let general = rule("/docs/<*>", "/documents/<*>", "301");
    update_app(&client, json!({ "customRules": [specific, general] })).await;
    let page = visit(&emulator, HOST, "/docs/old.html", &[]).await;
    assert_eq!(page.location.as_deref(), Some("/about.html"));

    update_app(&client, json!({ "customRules": [general, specific] })).await;
    let page = visit(&emulator, HOST, "/docs/old.html", &[]).await;
    assert_eq!(page.location.as_deref(), Some("/documents/old.html"));
}

#[tokio::test]
async fn not_found_rewrites_and_conditions() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    deploy(&client, "main", SITE).await;
    let mut for_germany = rule("/<*>", "/de/<*>", "302");
    for_germany["condition"] = json!("<DE>");
    let fallback = rule("/<*>", "/index.html", "404-200");
    update_app(&client, json!({ "customRules": [for_germany, fallback] })).await;

    let existing = visit(&emulator, HOST, "/about.html", &[]).await;
    assert_eq!((existing.status, existing.body.as_str()), (200, "about"));
    let missing = visit(&emulator, HOST, "/no/such/page", &[]).await;
    assert_eq!((missing.status, missing.body.as_str()), (200, "home"));
    let german = visit(
        &emulator,
        HOST,
        "/about.html",
        &[("cloudfront-viewer-country", "DE")],
    )
    .await;
    assert_eq!(
        (german.status, german.location.as_deref()),
        (302, Some("/de/about.html"))
    );
}

#[tokio::test]
async fn custom_http_yml_headers_apply_per_pattern_and_win_over_the_app() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let app_headers = "customHeaders:\n  - pattern: '**/*'\n    headers:\n      - key: X-From-App\n        value: 'yes'\n";
    update_app(&client, json!({ "customHeaders": app_headers })).await;
    let custom_http: &[u8] = b"customHeaders:\n  - pattern: '**/*'\n    headers:\n      - key: X-Frame-Options\n        value: DENY\n      - key: Cache-Control\n        value: 'max-age=60'\n  - pattern: '**/*.css'\n    headers:\n      - key: Cache-Control\n        value: 'public, max-age=31536000, immutable'\n";
    deploy(
        &client,
        "main",
        &[
            ("index.html", b"home"),
            ("css/site.css", b"body{}"),
            ("customHttp.yml", custom_http),
        ],
    )
    .await;
    let css = visit(&emulator, HOST, "/css/site.css", &[]).await;
    assert_eq!(css.status, 200);
    assert_eq!(
        css.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(css.header("x-frame-options"), Some("DENY"));
    let home = visit(&emulator, HOST, "/", &[]).await;
    assert_eq!(home.header("cache-control"), Some("max-age=60"));
    assert_eq!(home.header("x-from-app"), None);
    // A 404 carries them too.
    let missing = visit(&emulator, HOST, "/gone", &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-frame-options"), Some("DENY"));

    // A deploy without the file gets the app's headers.
    deploy(&client, "feature%2Fx", &[("index.html", b"x")]).await;
    let other = visit(&emulator, "feature-x.d1.amplifyapp.com", "/", &[]).await;
    assert_eq!(other.header("x-from-app"), Some("yes"));
    assert_eq!(other.header("x-frame-options"), None);
}

#[tokio::test]
async fn an_invalid_custom_http_yml_fails_the_deploy() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let zip = zip_of(&[
        ("index.html", b"home"),
        (
            "customHttp.yml",
            b"customHeaders:\n  - pattern: '**/*'\n    headers:\n      - key: X-Frame-Options\n        value: |\n          DENY\n",
        ),
    ]);
    let job = client.deploy("d1", "main", zip).await;
    let done = client.wait_job("d1", "main", &job).await;
    assert_eq!(done.body["job"]["summary"]["status"], "FAILED");
    assert_eq!(
        done.body["job"]["steps"][0]["statusReason"],
        "invalid customHttp.yml: line 5: \"|\": only plain or quoted values are supported"
    );
}

#[tokio::test]
async fn domain_rules_and_rewrites_to_folders() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    emulator.set_custom_domains("d1", "main", &["example.com", "www.example.com"]);
    deploy(&client, "main", SITE).await;
    let rules = json!([
        rule("https://example.com", "https://www.example.com", "301"),
        rule("/guide", "/docs/", "200"),
    ]);
    update_app(&client, json!({ "customRules": rules })).await;
    let apex = visit(&emulator, "example.com", "/about.html?a=1", &[]).await;
    assert_eq!(
        (apex.status, apex.location.as_deref()),
        (301, Some("https://www.example.com/about.html?a=1"))
    );
    let www = visit(&emulator, "www.example.com", "/guide", &[]).await;
    assert_eq!((www.status, www.body.as_str()), (200, "docs"));
    assert_eq!(www.header("content-type"), Some("text/html; charset=utf-8"));
}

#[tokio::test]
async fn encoded_paths_keep_their_encoding_through_rules() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    deploy(
        &client,
        "main",
        &[("index.html", b"home"), ("caf\u{e9} menu.html", b"menu")],
    )
    .await;
    let rules = json!([
        rule("/old/<*>", "/new/<*>", "301"),
        rule("/menu", "/caf%C3%A9%20menu.html", "200"),
    ]);
    update_app(&client, json!({ "customRules": rules })).await;
    let moved = visit(&emulator, HOST, "/old/a%20b/%0A", &[]).await;
    assert_eq!(
        (moved.status, moved.location.as_deref()),
        (301, Some("/new/a%20b/%0A"))
    );
    let menu = visit(&emulator, HOST, "/menu", &[]).await;
    assert_eq!((menu.status, menu.body.as_str()), (200, "menu"));
    let direct = visit(&emulator, HOST, "/caf%C3%A9%20menu.html", &[]).await;
    assert_eq!((direct.status, direct.body.as_str()), (200, "menu"));
    let head = reqwest::Client::new()
        .head(format!("{}/menu", emulator.endpoint()))
        .header("host", HOST)
        .send()
        .await
        .expect("HEAD answered");
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.text().await.unwrap_or_default(), "");
}
