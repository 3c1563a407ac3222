//! Real-world `_redirects` and `_headers` (the shapes the Netlify and
//! Cloudflare Pages docs and static-site generators write) with their
//! exact Amplify translation, and the lines that are refused with why.

use super::*;
use crate::amplify::CustomRule;

fn rule(source: &str, target: &str, status: &str, condition: Option<&str>) -> CustomRule {
    CustomRule {
        source: source.into(),
        target: target.into(),
        status: Some(status.into()),
        condition: condition.map(Into::into),
    }
}

/// An expected rule: source, target, status, condition.
type Want = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

/// (`_redirects` line, the rules it becomes).
const TRANSLATED: &[(&str, &[Want])] = &[
    // Netlify docs: the basics.
    ("/home / 301", &[("/home", "/", "301", None)]),
    (
        "/blog/my-post.php /blog/my-post",
        &[("/blog/my-post.php", "/blog/my-post", "301", None)],
    ),
    ("/news /blog 302", &[("/news", "/blog", "302", None)]),
    // Splats.
    (
        "/news/* /blog/:splat 301",
        &[("/news/<*>", "/blog/<*>", "301", None)],
    ),
    (
        "/docs/*  /documents/:splat",
        &[("/docs/<*>", "/documents/<*>", "301", None)],
    ),
    // Placeholders.
    (
        "/news/:year/:month/:date/:slug /blog/:year/:month/:date/:slug",
        &[(
            "/news/<year>/<month>/<date>/<slug>",
            "/blog/<year>/<month>/<date>/<slug>",
            "301",
            None,
        )],
    ),
    (
        "/store/:id /products?id=:id 301",
        &[("/store/<id>", "/products?id=<id>", "301", None)],
    ),
    // SPA fallback as Create React App, Vite and SvelteKit's static adapter
    // docs tell Netlify users to write: shadowed, so Amplify's 404-200.
    (
        "/*    /index.html   200",
        &[("/<*>", "/index.html", "404-200", None)],
    ),
    (
        "/app/*  /app/index.html  200",
        &[("/app/<*>", "/app/index.html", "404-200", None)],
    ),
    // A forced rewrite always applies.
    (
        "/old-app/* /new-app/index.html 200!",
        &[("/old-app/<*>", "/new-app/index.html", "200", None)],
    ),
    // Proxy to another host (Netlify docs' API proxy): Amplify's reverse proxy.
    (
        "/api/*  https://api.example.com/:splat  200",
        &[("/api/<*>", "https://api.example.com/<*>", "200", None)],
    ),
    // Custom 404 page (Netlify docs, Gatsby/Hugo sites).
    ("/*  /404.html  404", &[("/<*>", "/404.html", "404", None)]),
    (
        "/ecommerce /closed 404",
        &[("/ecommerce", "/closed", "404", None)],
    ),
    // Domain-level redirect (Netlify docs).
    (
        "https://old.example.com/* https://www.example.com/:splat 301!",
        &[(
            "https://old.example.com/<*>",
            "https://www.example.com/<*>",
            "301",
            None,
        )],
    ),
    // Country conditions: one rule per country.
    (
        "/  /uk   302  Country=gb",
        &[("/", "/uk", "302", Some("<GB>"))],
    ),
    (
        "/shop /shop-na 302 Country=us,CA",
        &[
            ("/shop", "/shop-na", "302", Some("<US>")),
            ("/shop", "/shop-na", "302", Some("<CA>")),
        ],
    ),
    // Docusaurus/Eleventy trailing comment.
    (
        "/old /new 301 # moved in v2",
        &[("/old", "/new", "301", None)],
    ),
    // Odd names: escapes kept, unicode percent-encoded as browsers send it.
    (
        "/caf%C3%A9 /menu%20du%20jour.html 301",
        &[("/caf%C3%A9", "/menu%20du%20jour.html", "301", None)],
    ),
    (
        "/café/* /carte/:splat 302",
        &[("/caf%C3%A9/<*>", "/carte/<*>", "302", None)],
    ),
    (
        "/ünï /日本/😀.html 302",
        &[(
            "/%C3%BCn%C3%AF",
            "/%E6%97%A5%E6%9C%AC/%F0%9F%98%80.html",
            "302",
            None,
        )],
    ),
];

#[test]
fn real_world_redirects_translate_exactly() {
    for (line, want) in TRANSLATED {
        let got = redirects_to_rules(line, "_redirects")
            .unwrap_or_else(|e| panic!("{line:?} refused: {:?}", e.causes()));
        let want: Vec<CustomRule> = want
            .iter()
            .map(|(s, t, st, c)| rule(s, t, st, *c))
            .collect();
        assert_eq!(got, want, "{line:?}");
    }
}

#[test]
fn a_whole_file_keeps_its_order_and_skips_comments_and_blank_lines() {
    let text = "\u{feff}# Redirects from the old site\n\n/a /b\n   \n  # indented comment\n/c/* /d/:splat 302\n/* /index.html 200\n";
    let got = redirects_to_rules(text, "_redirects").unwrap();
    assert_eq!(
        got,
        vec![
            rule("/a", "/b", "301", None),
            rule("/c/<*>", "/d/<*>", "302", None),
            rule("/<*>", "/index.html", "404-200", None),
        ]
    );
}

/// (line, why) for each refused line.
const REFUSED: &[(&str, &str)] = &[
    ("/store id=:id /blog/:id 301", "query-string matching (`id=:id`): Amplify rules match the path only"),
    ("/search?q=x /find 301", "query-string matching (`/search?q=x`): Amplify rules match the path only"),
    ("/ /fr 302 Language=fr", "`Language=fr`: Amplify conditions are countries only, not languages"),
    ("/admin/* /admin/:splat 200! Role=admin", "`Role=admin`: Amplify rules have no role or cookie conditions"),
    ("/beta /beta-on 302 Cookie=beta", "`Cookie=beta`: Amplify rules have no role or cookie conditions"),
    ("/x /y 302 Country=usa", "`usa` is not a two-letter country code"),
    ("/old /new 308", "status 308: Amplify redirects are 301 or 302; use 301 (permanent) or 302"),
    ("/gone /410.html 410", "status 410: Amplify rules answer 200 (rewrite), 301, 302 or 404"),
    ("/x /404.html 404!", "`404!`: Amplify's 404 rules only apply where no file matches; drop the `!`"),
    ("/api/* /.netlify/functions/:splat 200", "target `/.netlify/functions/:splat`: Netlify functions and services do not exist on Amplify"),
    ("/lonely", "no target: a rule is `from to [status]`"),
    ("old /new", "source `old` is neither a path (`/…`) nor a URL (`https://…`)"),
    ("/a /b/:splat", "target `/b/:splat` uses `:splat` but the source has no `*`"),
    ("/a/:id /b/:slug", "target `/b/:slug` uses `:slug`, which the source does not name"),
    ("/a/*/b/* /c", "source `/a/*/b/*` has more than one `*`"),
    ("/a/<b> /c", "source `/a/<b>` has `<` or `>`, which Amplify reads as a placeholder"),
    ("https://:project.pages.dev/* https://example.com/:splat 301", "source `https://:project.pages.dev/*`: placeholders in the host cannot be expressed in Amplify"),
    ("/a /b 301 extra", "unexpected `extra` after the status"),
];

#[test]
fn unsupported_lines_are_refused_with_their_reason() {
    for (line, why) in REFUSED {
        let err = redirects_to_rules(line, "_redirects").expect_err(line);
        assert_eq!(
            err.lines,
            vec![Refusal {
                line: 1,
                why: why.to_string()
            }],
            "{line:?}"
        );
    }
}

#[test]
fn every_bad_line_is_in_the_one_error() {
    let text = "/ok /fine\n/q id=1 /x\n\n/y /z 307\n/ok2 /fine2 302\n";
    let err = redirects_to_rules(text, "site/_redirects").unwrap_err();
    assert_eq!(
        err.to_string(),
        "site/_redirects: 2 lines Amplify cannot express"
    );
    let lines: Vec<usize> = err.lines.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 4]);
    assert!(err.causes()[1].starts_with("line 4: status 307"));
}

#[test]
fn the_spa_rule_is_amplify_s_documented_one() {
    let spa = spa_rule();
    assert_eq!(
        spa.source,
        r"</^[^.]+$|\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|woff2|ttf|map|json|webp)$)([^.]+$)/>"
    );
    assert_eq!(
        (spa.target.as_str(), spa.status.as_deref()),
        ("/index.html", Some("200"))
    );
}

const SECURITY_HEADERS: &str = "\
# Netlify docs / Cloudflare Pages docs
/*
  X-Frame-Options: DENY
  X-Content-Type-Options: nosniff
  Referrer-Policy: strict-origin-when-cross-origin
  Content-Security-Policy: default-src 'self'; img-src 'self' data:

/assets/*
  Cache-Control: public, max-age=31536000, immutable
/*.html
  Cache-Control: public, max-age=0, must-revalidate
/blog/:slug/feed.xml
  Content-Type: application/rss+xml
/_app/immutable/*
  Cache-Control: public, max-age=31536000
  Cache-Control: immutable
";

#[test]
fn real_world_headers_become_custom_http_yml() {
    let yaml = headers_to_custom_http(SECURITY_HEADERS).unwrap();
    assert_eq!(
        yaml,
        "\
# Written by amplify-deploy from _headers.
customHeaders:
  - pattern: '**/*'
    headers:
      - key: 'X-Frame-Options'
        value: 'DENY'
      - key: 'X-Content-Type-Options'
        value: 'nosniff'
      - key: 'Referrer-Policy'
        value: 'strict-origin-when-cross-origin'
      - key: 'Content-Security-Policy'
        value: 'default-src ''self''; img-src ''self'' data:'
  - pattern: '/assets/**/*'
    headers:
      - key: 'Cache-Control'
        value: 'public, max-age=31536000, immutable'
  - pattern: '**/*.html'
    headers:
      - key: 'Cache-Control'
        value: 'public, max-age=0, must-revalidate'
  - pattern: '/blog/*/feed.xml'
    headers:
      - key: 'Content-Type'
        value: 'application/rss+xml'
  - pattern: '/_app/immutable/**/*'
    headers:
      - key: 'Cache-Control'
        value: 'public, max-age=31536000, immutable'
"
    );
    // What we write, we read back the same.
    let back = validate_custom_http(&yaml).unwrap();
    assert_eq!(back.len(), 5);
    assert_eq!(
        back[0].headers[3].1,
        "default-src 'self'; img-src 'self' data:"
    );
}

#[test]
fn header_lines_amplify_cannot_express_are_refused() {
    let text = "  X-Early: 1\n/*\n  ! X-Frame-Options\nhttps://:project.pages.dev/*\n  X-Robots-Tag: noindex\n/a\n  no colon here\n  Bad Name: x\nrelative\n";
    let err = headers_to_custom_http(text).unwrap_err();
    assert_eq!(
        err.causes(),
        [
            "line 1: a header line before any path pattern",
            "line 3: `! X-Frame-Options` removes a header, which customHttp.yml cannot express",
            "line 4: `https://:project.pages.dev/*`: customHttp.yml patterns are paths, not hosts",
            "line 7: `no colon here` is not `Name: value`",
            "line 8: `Bad Name` is not a header name",
            "line 9: `relative` is not a path pattern (`/…`)",
        ]
    );
}

/// A site whose account pages set a session and a CSRF cookie, as a
/// Netlify `_headers` would; Link preload lines are a list.
const COOKIES: &str = "\
/account/*
  Set-Cookie: session=; Path=/account; Expires=Thu, 01 Jan 1970 00:00:00 GMT
  Link: </fonts/inter.woff2>; rel=preload; as=font
  set-cookie: csrf=abc; Path=/; Secure
  Link: </app.css>; rel=preload; as=style
/*
  Set-Cookie: consent=0; Path=/
/account/*
  Set-Cookie: theme=dark; Path=/
";

#[test]
fn several_set_cookie_lines_for_one_path_are_refused_with_their_lines() {
    let err = headers_to_custom_http(COOKIES).unwrap_err();
    assert_eq!(err.to_string(), "_headers: 2 lines Amplify cannot express");
    assert_eq!(
        err.causes(),
        [
            "line 4: a second `Set-Cookie` for `/account/*` (the first is on line 2): customHttp.yml would join them into one header, which browsers read as one cookie; set one cookie per path",
            "line 9: a second `Set-Cookie` for `/account/*` (the first is on line 2): customHttp.yml would join them into one header, which browsers read as one cookie; set one cookie per path",
        ]
    );
    // Refused alongside other bad lines, in line order.
    let err = headers_to_custom_http(&format!("{COOKIES}  ! X-Robots-Tag\n")).unwrap_err();
    let lines: Vec<usize> = err.lines.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 9, 10]);
}

#[test]
fn one_cookie_per_path_is_kept_and_other_repeated_headers_are_joined() {
    let text = "/account/*\n  Set-Cookie: session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT\n  Link: </a.css>; rel=preload; as=style\n  Link: </b.js>; rel=preload; as=script\n/*\n  Set-Cookie: consent=0; Path=/\n";
    let yaml = headers_to_custom_http(text).unwrap();
    let rules = validate_custom_http(&yaml).unwrap();
    assert_eq!(
        rules[0].headers,
        [
            (
                "Set-Cookie".to_owned(),
                "session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT".to_owned()
            ),
            (
                "Link".to_owned(),
                "</a.css>; rel=preload; as=style, </b.js>; rel=preload; as=script".to_owned()
            ),
        ]
    );
    assert_eq!(rules[1].pattern, "**/*");
    assert_eq!(rules[1].headers[0].1, "consent=0; Path=/");
}

#[test]
fn amplify_docs_custom_http_yml_is_valid() {
    let text = "customHeaders:\n  - pattern: '*.json'\n    headers:\n    - key: 'custom-header-name-1'\n      value: 'custom-header-value-1'\n    - key: \"custom-header-name-2\"\n      value: custom-header-value-2 # plain\n  - pattern: '/path/*'\n    headers:\n    - key: 'custom-header-name-1'\n      value: 'custom-header-value-2'\n";
    let rules = validate_custom_http(text).unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].pattern, "*.json");
    assert_eq!(
        rules[0].headers[1],
        (
            "custom-header-name-2".into(),
            "custom-header-value-2".into()
        )
    );
}

/// (customHttp.yml, "line N: why").
const BAD_CUSTOM_HTTP: &[(&str, &str)] = &[
    ("customHeader:\n", "line 1: expected `customHeaders:`, found `customHeader:`"),
    ("applications:\n  - appRoot: app1\n", "line 1: `applications:` (monorepo) is not supported: a manual deploy has one app root"),
    ("customHeaders:\n  - pattern: '**'\n    header:\n", "line 3: unexpected `header`: an entry is `pattern` and `headers`, a header `key` and `value`"),
    ("customHeaders:\n  - pattern: '**'\n    headers:\n      - key: 'a\n", "line 4: unterminated quote in `'a`"),
    ("customHeaders:\n  - pattern: '**'\n    headers:\n      - key: X\n  - pattern: b\n", "line 5: the header before this line lacks its `key` or `value`"),
    ("customHeaders:\n  - pattern: '**'\n", "line 2: pattern '**' has no headers"),
    ("customHeaders:\n  - pattern: [a, b]\n", "line 2: `[a, b]`: quote this value (flow, anchor, tag or block syntax is not read)"),
];

#[test]
fn a_bad_custom_http_yml_names_the_line() {
    for (text, want) in BAD_CUSTOM_HTTP {
        let err = validate_custom_http(text).expect_err(text);
        assert_eq!(err.causes()[0], *want, "{text:?}");
        assert!(err.to_string().starts_with("customHttp.yml: "));
    }
}

/// (file text, the refusal of its one bad line): the refusals the tables
/// above leave out, pinned word for word.
const MORE_REDIRECTS: &[(&str, &str)] = &[
    ("/a /b 302 Foo=bar", "unknown condition `Foo=bar`"),
    (
        "/a/:splat /b",
        "`:splat` in the source: write `*` there (`:splat` is its value in the target)",
    ),
    ("/a/:id/:id /b", "source `/a/:id/:id` names `:id` twice"),
    (
        "/a b",
        "target `b` is neither a path (`/…`) nor a URL (`https://…`)",
    ),
    (
        "/a/:id /b?x=:slug",
        "target query `x=:slug` uses `:slug`, which the source does not name",
    ),
    (
        "/a /b>",
        "target `/b>` has `<` or `>`, which Amplify reads as a placeholder",
    ),
    (
        "/a /b 303",
        "status 303: Amplify redirects are 301 or 302; use 301 (permanent) or 302",
    ),
];

const MORE_HEADERS: &[(&str, &str)] = &[
    ("/a b\n", "line 1: `/a b` has a space or a quote"),
    (
        "/a\n  X: a\u{1}b\n",
        "line 2: the value of `X` has a control character",
    ),
];

const MORE_CUSTOM_HTTP: &[(&str, &str)] = &[
    (
        "customHeaders:\n  headers:\n",
        "line 2: `headers` before any `- pattern`",
    ),
    (
        "customHeaders:\n  - headers: x\n",
        "line 2: write `- pattern:` first, then `headers:`",
    ),
    (
        "customHeaders:\n  - pattern: a\n    pattern: b\n",
        "line 3: a second `pattern` in one entry",
    ),
    (
        "customHeaders:\n  - pattern: ''\n",
        "line 2: an empty `pattern`",
    ),
    (
        "customHeaders:\n  - pattern: a\n    headers:\n      key: x\n",
        "line 4: `key` outside a `- key:` item",
    ),
    (
        "customHeaders:\n  - pattern: a\n    headers:\n      - key: x\n        key: y\n",
        "line 5: a second `key` in one header",
    ),
    (
        "customHeaders:\n  - pattern: a\n    headers:\n      - key: x\n",
        "line 4: the header before this line lacks its `key` or `value`",
    ),
    (
        "customHeaders:\n  - pattern: a\n    y: 1\n",
        "line 3: unexpected `y`: an entry is `pattern` and `headers`, a header `key` and `value`",
    ),
    (
        "customHeaders:\n  - pattern\n",
        "line 2: `- pattern` is not `key: value`",
    ),
    ("# nothing\n", "line 1: no `customHeaders:`"),
    (
        "customHeaders:\n  - pattern: 'a'b'\n",
        "line 2: a lone `'` inside `'a'b'` (write `''`)",
    ),
    (
        "customHeaders:\n  - pattern: \"a\\xb\"\n",
        "line 2: unsupported escape `\\x` in `\"a\\xb\"`",
    ),
    (
        "customHeaders:\n  - pattern: \"a\\\"\n",
        "line 2: unsupported escape `\\ ` in `\"a\\\"`",
    ),
    (
        "customHeaders:\n  - pattern: \"a\"b\"\n",
        "line 2: an unescaped `\"` inside `\"a\"b\"`",
    ),
    (
        "customHeaders:\n  - pattern: \"ab\n",
        "line 2: unterminated quote in `\"ab`",
    ),
];

#[test]
fn every_refusal_reads_as_before() {
    for (text, want) in MORE_REDIRECTS {
        let err = redirects_to_rules(text, "_redirects").expect_err(text);
        assert_eq!(err.causes(), [format!("line 1: {want}")], "{text:?}");
    }
    for (text, want) in MORE_HEADERS {
        let err = headers_to_custom_http(text).expect_err(text);
        assert_eq!(err.causes(), [*want], "{text:?}");
    }
    for (text, want) in MORE_CUSTOM_HTTP {
        let err = validate_custom_http(text).expect_err(text);
        assert_eq!(err.causes(), [*want], "{text:?}");
    }
}

#[test]
fn the_diff_shows_removed_and_added_rules_in_order() {
    let old = vec![
        rule("/a", "/b", "301", None),
        rule("/<*>", "/index.html", "404-200", None),
    ];
    let new = vec![
        rule("/a", "/b", "301", None),
        rule("/c", "/d", "302", Some("<US>")),
        spa_rule(),
    ];
    let d = diff(&old, &new);
    let text: Vec<String> = d.lines.iter().map(|(m, l)| format!("{m} {l}")).collect();
    assert_eq!(
        text,
        [
            "  /a -> /b 301",
            "- /<*> -> /index.html 404-200",
            "+ /c -> /d 302 if <US>",
            &format!("+ {} -> /index.html 200", spa_rule().source),
        ]
    );
    assert!((d.changed(), d.added(), d.removed()) == (true, 2, 1));
    assert!(!diff(&new, &new).changed());
}

/// The not-found rule: `/<*>` to the page, 404, as the last rule.
mod not_found {
    use std::path::Path;

    use super::*;
    use crate::error::{ErrorClass, RunError};
    use crate::rules::site::{deploy_rules, desired_rules, NotFoundPage};

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn page(target: &str) -> CustomRule {
        rule("/<*>", target, "404", None)
    }

    fn rules_of(dir: &Path, spa: bool, setting: &NotFoundPage) -> Vec<CustomRule> {
        deploy_rules(Some(dir), spa, setting).expect("rules").0
    }

    fn bad_input(result: Result<(Vec<CustomRule>, String), RunError>) -> String {
        let e = result.expect_err("bad input");
        assert_eq!(e.class, ErrorClass::BadInput, "{e}");
        e.message
    }

    const REDIRECTS: &str = "/old /new 301\n/blog/* /news/:splat 302\n";

    #[test]
    fn the_folders_404_html_goes_last_after_the_spa_rewrite() {
        let dir = folder(&[("_redirects", REDIRECTS), ("404.html", "lost")]);
        let moved = [
            rule("/old", "/new", "301", None),
            rule("/blog/<*>", "/news/<*>", "302", None),
        ];
        let with_spa = rules_of(dir.path(), true, &NotFoundPage::Default);
        let mut want = moved.to_vec();
        want.extend([spa_rule(), page("/404.html")]);
        assert_eq!(with_spa, want);
        let without = rules_of(dir.path(), false, &NotFoundPage::Default);
        let mut want = moved.to_vec();
        want.push(page("/404.html"));
        assert_eq!(without, want);
        // The log says where the last rule comes from.
        let (_, from) = deploy_rules(Some(dir.path()), true, &NotFoundPage::Default).unwrap();
        assert!(
            from.ends_with(" and --spa and the not-found page /404.html"),
            "{from}"
        );
    }

    #[test]
    fn a_404_html_alone_is_something_to_sync() {
        let dir = folder(&[("index.html", "home"), ("404.html", "lost")]);
        assert_eq!(
            rules_of(dir.path(), false, &NotFoundPage::Default),
            [page("/404.html")]
        );
        // Without it (or when it is a folder), nothing to sync.
        let dir = folder(&[("index.html", "home"), ("404.html/index.html", "x")]);
        let message = bad_input(deploy_rules(
            Some(dir.path()),
            false,
            &NotFoundPage::Default,
        ));
        assert!(
            message
                .ends_with("has no _redirects or 404.html and --spa is not set: no rules to sync"),
            "{message}"
        );
        assert_eq!(
            rules_of(dir.path(), true, &NotFoundPage::Default),
            [spa_rule()]
        );
    }

    #[test]
    fn an_existing_catch_all_keeps_its_place_and_none_turns_the_rule_off() {
        let dir = folder(&[
            (
                "_redirects",
                "/api/* https://api.example.com/:splat 200\n/* /index.html 200\n",
            ),
            ("404.html", "lost"),
        ]);
        let rules = rules_of(dir.path(), false, &NotFoundPage::Default);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1], rule("/<*>", "/index.html", "404-200", None));
        // Netlify's own not-found line is not doubled either.
        let dir = folder(&[("_redirects", "/* /404.html 404\n"), ("404.html", "lost")]);
        assert_eq!(
            rules_of(dir.path(), false, &NotFoundPage::Default),
            [page("/404.html")]
        );
        // A page named on purpose that could never answer is an error.
        let message = bad_input(deploy_rules(
            Some(dir.path()),
            false,
            &NotFoundPage::Page("/404.html".into()),
        ));
        assert!(
            message.contains("already catch every path (/<*> -> /404.html)"),
            "{message}"
        );

        let dir = folder(&[("_redirects", REDIRECTS), ("404.html", "lost")]);
        let off = rules_of(dir.path(), true, &NotFoundPage::Off);
        assert_eq!(off.last(), Some(&spa_rule()));
        assert!(off.iter().all(|r| r.source != "/<*>"));
        let dir = folder(&[("404.html", "lost")]);
        let message = bad_input(deploy_rules(Some(dir.path()), false, &NotFoundPage::Off));
        assert!(message.contains("no rules to sync"), "{message}");
    }

    #[test]
    fn a_named_page_must_be_a_file_of_the_folder_and_is_encoded_as_targets_are() {
        let dir = folder(&[
            ("errors/missing.html", "x"),
            ("pages/not found é.html", "x"),
            ("100%.html", "x"),
            ("404.html", "default"),
        ]);
        let named = |p: &str| rules_of(dir.path(), false, &NotFoundPage::Page(p.into()));
        assert_eq!(
            named("/errors/missing.html"),
            [page("/errors/missing.html")]
        );
        assert_eq!(
            named("/pages/not found é.html"),
            [page("/pages/not%20found%20%C3%A9.html")]
        );
        assert_eq!(named("/100%.html"), [page("/100%25.html")]);
        for (given, why) in [
            ("errors/missing.html", "must be a site path starting with /"),
            ("/errors/gone.html", "gone.html is not a file"),
            ("/errors", "errors is not a file"),
            ("/../outside.html", "no empty, `.` or `..` segments"),
            ("//404.html", "no empty, `.` or `..` segments"),
        ] {
            let message = bad_input(deploy_rules(
                Some(dir.path()),
                false,
                &NotFoundPage::Page(given.into()),
            ));
            assert!(
                message.starts_with(&format!("not-found-page {given:?}: "))
                    && message.contains(why),
                "{given}: {message}"
            );
        }
        // A source-url deploy has no folder to look in.
        let message = bad_input(deploy_rules(
            None,
            true,
            &NotFoundPage::Page("/404.html".into()),
        ));
        assert!(message.contains("no site folder"), "{message}");
        assert_eq!(
            deploy_rules(None, true, &NotFoundPage::Default).unwrap().0,
            [spa_rule()]
        );
    }

    #[test]
    fn rules_sync_looks_in_the_folder_of_from() {
        let dir = folder(&[("site/_redirects", REDIRECTS), ("site/404.html", "lost")]);
        let file = dir.path().join("site/_redirects");
        for from in [file.as_path(), dir.path().join("site").as_path()] {
            let (rules, _) = desired_rules(Some(from), false, &NotFoundPage::Default).unwrap();
            assert_eq!(rules.last(), Some(&page("/404.html")), "{}", from.display());
        }
        // --spa alone names no folder: no not-found rule.
        let (rules, _) = desired_rules(None, true, &NotFoundPage::Default).unwrap();
        assert_eq!(rules, [spa_rule()]);
        let message = bad_input(desired_rules(None, false, &NotFoundPage::Default));
        assert!(message.starts_with("no rules to sync"), "{message}");
    }

    #[test]
    fn the_setting_reads_none_and_blank() {
        assert_eq!(NotFoundPage::parse(None), NotFoundPage::Default);
        assert_eq!(NotFoundPage::parse(Some("  ")), NotFoundPage::Default);
        assert_eq!(NotFoundPage::parse(Some("None")), NotFoundPage::Off);
        assert_eq!(
            NotFoundPage::parse(Some(" /e/404.html ")),
            NotFoundPage::Page("/e/404.html".into())
        );
    }
}
