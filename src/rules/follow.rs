//! Which file a site path serves under the rules we know, for the live
//! check: the rewrites a sync wrote (a `200` always, a `404-200` only
//! where no file matches), with Amplify's SPA rule and the `<*>` and
//! `<name>` placeholders understood. Redirects are followed over HTTP by
//! the check itself; a rule it cannot evaluate (another regex, a domain)
//! stops the reading there, and the path serves its own file.

use crate::amplify::CustomRule;

use super::spa_rule;

/// The extensions Amplify's SPA rule leaves to their files.
const SPA_FILE_EXTENSIONS: [&str; 14] = [
    "css", "gif", "ico", "jpg", "js", "png", "txt", "svg", "woff", "woff2", "ttf", "map", "json",
    "webp",
];

/// The rewrite target `path` is served from, if a rule rewrites it.
/// `has_file`: the package has a file at `path`.
pub fn rewrite_target(path: &str, rules: &[CustomRule], has_file: bool) -> Option<String> {
    let spa = spa_rule().source;
    for rule in rules {
        let values = if rule.source == spa {
            spa_matches(path).then(Vec::new)
        } else if rule.source.starts_with('<') || rule.source.contains("://") {
            return None; // a regex or a domain rule: not evaluated here
        } else {
            match_source(&rule.source, path)
        };
        let Some(values) = values else { continue };
        if rule.condition.as_deref().is_some_and(|c| !c.is_empty()) {
            continue; // a country rule never holds for the check
        }
        return match rule.status.as_deref() {
            Some("200") => Some(fill(&rule.target, &values)),
            Some("404-200") if !has_file => Some(fill(&rule.target, &values)),
            Some("404-200" | "404") => continue,
            _ => None, // a redirect: the check follows it over HTTP
        };
    }
    None
}

/// Whether Amplify's SPA regex matches `path`: no `.` at all, or a last
/// extension that is not one of the file types it leaves alone.
fn spa_matches(path: &str) -> bool {
    match path.rsplit_once('.') {
        None => true,
        Some((_, ext)) => !ext.is_empty() && !SPA_FILE_EXTENSIONS.contains(&ext),
    }
}

/// The placeholders' values when `source` matches `path`: `<*>` (the
/// rest of the path, `/` included) and `<name>` (one segment).
fn match_source(source: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut values = Vec::new();
    let mut rest = path;
    let mut parts = source.split('/').peekable();
    let mut first = true;
    while let Some(part) = parts.next() {
        if !first {
            rest = rest.strip_prefix('/')?;
        }
        first = false;
        if part == "<*>" {
            values.push(("<*>".to_owned(), rest.to_owned()));
            return parts.peek().is_none().then_some(values);
        }
        let (segment, after) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if part.len() > 2 && part.starts_with('<') && part.ends_with('>') {
            values.push((part.to_owned(), segment.to_owned()));
        } else if part != segment {
            return None;
        }
        rest = after;
    }
    rest.is_empty().then_some(values)
}

/// `target` with the placeholders' values.
fn fill(target: &str, values: &[(String, String)]) -> String {
    values.iter().fold(target.to_owned(), |t, (name, value)| {
        t.replace(name.as_str(), value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(source: &str, target: &str, status: &str) -> CustomRule {
        CustomRule {
            source: source.into(),
            target: target.into(),
            status: Some(status.into()),
            condition: None,
        }
    }

    #[test]
    fn the_spa_rule_sends_routes_to_the_shell_and_leaves_assets() {
        let rules = [spa_rule()];
        for path in [
            "/",
            "/dashboard",
            "/users/42/edit",
            "/docs/",
            "/page.html",
            "/a.b/c",
        ] {
            assert_eq!(
                rewrite_target(path, &rules, false).as_deref(),
                Some("/index.html"),
                "{path}"
            );
        }
        for path in ["/app.js", "/style.css", "/data.json", "/logo.webp"] {
            assert_eq!(rewrite_target(path, &rules, true), None, "{path}");
        }
    }

    #[test]
    fn rewrites_in_order_404_200_only_without_a_file_and_redirects_left_to_http() {
        let rules = [
            rule("/old", "/new", "301"),
            rule("/app/<*>", "/app/index.html", "404-200"),
            rule("/docs/<*>", "/v2/<*>", "200"),
        ];
        assert_eq!(rewrite_target("/old", &rules, false), None);
        assert_eq!(
            rewrite_target("/app/x", &rules, false).as_deref(),
            Some("/app/index.html")
        );
        assert_eq!(rewrite_target("/app/x", &rules, true), None);
        assert_eq!(
            rewrite_target("/docs/a/b.html", &rules, true).as_deref(),
            Some("/v2/a/b.html")
        );
        assert_eq!(rewrite_target("/else", &rules, false), None);
        // Named placeholders are one segment each.
        let named = [
            rule("/<lang>/x/<id>", "/x/<id>.<lang>.html", "200"),
            spa_rule(),
        ];
        assert_eq!(
            rewrite_target("/fr/x/7", &named, true).as_deref(),
            Some("/x/7.fr.html")
        );
        assert_eq!(
            rewrite_target("/dashboard", &named, false).as_deref(),
            Some("/index.html")
        );
        // A regex other than the SPA rule stops the reading.
        let regex = [rule("</^x$/>", "/x", "200"), spa_rule()];
        assert_eq!(rewrite_target("/dashboard", &regex, false), None);
    }
}
