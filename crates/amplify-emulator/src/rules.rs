//! An app's `customRules` (redirects and rewrites) as Amplify applies them
//! to a site request: in order, the first rule whose source matches (and
//! whose `condition` holds) decides. Sources are paths with `<*>` (any
//! text, slashes included) and `<name>` placeholders (one path segment),
//! or a regex written `</…/>` (lookarounds allowed, as Amplify's standard
//! single-page-app rule uses them), or a bare domain (`https://example.com`,
//! matched against the `Host`; the path is appended to the target). The
//! target gets the wildcard and the placeholders substituted.
//!
//! Statuses: `200` serves the target's content (a rewrite), `301`/`302`
//! redirect to it, `404` serves the target with 404 and `404-200` with 200;
//! the two 404 kinds apply only when the request names no deployed file.
//! A rule without a status redirects with 301, the console's default.
//! Redirects carry the request's query string along, except when the
//! source itself names query parameters (`/docs?id=<id>`).
//!
//! <https://docs.aws.amazon.com/amplify/latest/userguide/redirects.html>

use fancy_regex::Regex;
use serde::Serialize;

/// One rule as UpdateApp stores it and GetApp returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomRule {
    pub source: String,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// The statuses Amplify's rules take.
pub(crate) const STATUSES: [&str; 5] = ["200", "301", "302", "404", "404-200"];

/// What a rule does with a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Serve the site's `path` (from the site root, `/…`, as the target
    /// wrote it) with `status`.
    Serve { path: String, status: u16 },
    /// Answer `status` with `Location: location`.
    Redirect { location: String, status: u16 },
    /// A rewrite to another origin (Amplify's reverse proxy).
    Proxy { url: String },
}

/// The request as the rules see it.
pub(crate) struct SiteRequest<'a> {
    /// Path from the site root as sent (still percent-encoded), starting
    /// with `/`: a redirect hands it on unchanged.
    pub path: &'a str,
    /// The raw query string, if any.
    pub query: Option<&'a str>,
    /// The viewer's country (`CloudFront-Viewer-Country`), for conditions.
    pub country: Option<&'a str>,
    /// The `Host` the request was sent to (no port), for domain sources.
    pub host: Option<&'a str>,
    /// Whether the path names a deployed file.
    pub exists: bool,
}

/// The outcome of the first rule that applies, or `None`.
pub(crate) fn apply(rules: &[CustomRule], request: &SiteRequest<'_>) -> Option<Outcome> {
    rules.iter().find_map(|rule| apply_one(rule, request))
}

fn apply_one(rule: &CustomRule, request: &SiteRequest<'_>) -> Option<Outcome> {
    let status = rule.status.as_deref().unwrap_or("301");
    if status.starts_with("404") && request.exists {
        return None;
    }
    if !condition_holds(rule.condition.as_deref(), request.country) {
        return None;
    }
    let source = Source::parse(&rule.source).ok()?;
    let target = match &source {
        // The request's path goes along to the other domain.
        Source::Domain(host) => {
            let matches = request.host.is_some_and(|h| h.eq_ignore_ascii_case(host));
            if !matches {
                return None;
            }
            format!("{}{}", rule.target.trim_end_matches('/'), request.path)
        }
        _ => substitute(&rule.target, &source.captures(request.path, request.query)?),
    };
    let external = target.starts_with("http://") || target.starts_with("https://");
    match status {
        "301" | "302" => {
            let location = match request.query {
                // Forwarded, unless the source matched on the query itself.
                Some(query) if !query.is_empty() && !rule.source.contains('?') => {
                    let separator = if target.contains('?') { '&' } else { '?' };
                    format!("{target}{separator}{query}")
                }
                _ => target,
            };
            let status = if status == "301" { 301 } else { 302 };
            Some(Outcome::Redirect { location, status })
        }
        "200" if external => Some(Outcome::Proxy { url: target }),
        "200" | "404-200" => Some(Outcome::Serve {
            path: target,
            status: 200,
        }),
        "404" => Some(Outcome::Serve {
            path: target,
            status: 404,
        }),
        _ => None,
    }
}

/// A condition is a country code in angle brackets (`<US>`); no condition
/// always holds.
fn condition_holds(condition: Option<&str>, country: Option<&str>) -> bool {
    let Some(condition) = condition.map(str::trim).filter(|c| !c.is_empty()) else {
        return true;
    };
    let code = condition
        .strip_prefix('<')
        .and_then(|c| c.strip_suffix('>'))
        .unwrap_or(condition);
    country.is_some_and(|country| country.eq_ignore_ascii_case(code))
}

/// A compiled rule source.
pub(crate) enum Source {
    /// A path pattern: the regex built from it, the names of its groups
    /// (`*` for the wildcard), and the query parameters it asks for
    /// (`?id=<id>`: a placeholder, or a value to equal).
    Pattern {
        regex: Regex,
        names: Vec<String>,
        query: Vec<(String, String)>,
    },
    /// `</…/>`: matched anywhere in the path unless anchored.
    Regex(Regex),
    /// `https://example.com`: every path of that host (Amplify takes no
    /// path in a domain source).
    Domain(String),
}

/// Values captured by a source: `(name, value)`, `*` for the wildcard.
type Captures = Vec<(String, String)>;

impl Source {
    /// Compiles a rule's source; the error says why it is not one.
    pub fn parse(source: &str) -> Result<Source, String> {
        if let Some(inner) = source.strip_prefix("</").and_then(|s| s.strip_suffix("/>")) {
            return Regex::new(inner)
                .map(Source::Regex)
                .map_err(|e| format!("invalid regular expression {inner:?}: {e}"));
        }
        if let Some(rest) = source
            .strip_prefix("https://")
            .or_else(|| source.strip_prefix("http://"))
        {
            let host = rest.trim_end_matches('/');
            if host.is_empty() || host.contains(['/', '?', '<']) {
                return Err("a domain source takes no path".to_owned());
            }
            return Ok(Source::Domain(host.to_owned()));
        }
        let (path, query) = source.split_once('?').unwrap_or((source, ""));
        let query = query_pairs(query);
        let mut pattern = String::from("^");
        let mut names = Vec::new();
        let mut rest = path;
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>').map(|c| open + c) else {
                break;
            };
            let name = &rest[open + 1..close];
            if name.is_empty() || name.contains(['<', '/']) {
                pattern.push_str(&fancy_regex::escape(&rest[..=open]));
                rest = &rest[open + 1..];
                continue;
            }
            pattern.push_str(&fancy_regex::escape(&rest[..open]));
            pattern.push_str(if name == "*" { "(.*)" } else { "([^/]+)" });
            names.push(name.to_owned());
            rest = &rest[close + 1..];
        }
        pattern.push_str(&fancy_regex::escape(rest));
        pattern.push('$');
        Regex::new(&pattern)
            .map(|regex| Source::Pattern {
                regex,
                names,
                query,
            })
            .map_err(|e| format!("invalid source pattern: {e}"))
    }

    /// The values captured when `path` matches.
    fn captures(&self, path: &str, query: Option<&str>) -> Option<Captures> {
        let (regex, names, wanted) = match self {
            Source::Regex(regex) => return regex.is_match(path).ok()?.then(Vec::new),
            Source::Domain(_) => return None,
            Source::Pattern {
                regex,
                names,
                query,
            } => (regex, names, query),
        };
        let found = regex.captures(path).ok()??;
        let mut captures: Captures = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let value = found.get(i + 1).map_or("", |m| m.as_str());
                (name.clone(), value.to_owned())
            })
            .collect();
        let given = query_pairs(query.unwrap_or_default());
        for (key, want) in wanted {
            let value = given.iter().find(|(k, _)| k == key).map(|(_, v)| v)?;
            match want.strip_prefix('<').and_then(|w| w.strip_suffix('>')) {
                Some(name) => captures.push((name.to_owned(), value.clone())),
                None if want == value => {}
                None => return None,
            }
        }
        Some(captures)
    }
}

/// `a=1&b=<x>` as `(key, value)` pairs (values as written).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// The target with `<*>` and each `<name>` the source captured replaced.
fn substitute(target: &str, captures: &Captures) -> String {
    captures
        .iter()
        .fold(target.to_owned(), |text, (name, value)| {
            text.replace(&format!("<{name}>"), value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPA: &str =
        "</^[^.]+$|\\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|woff2|ttf|map|json|webp)$)([^.]+$)/>";

    fn rule(source: &str, target: &str, status: &str) -> CustomRule {
        CustomRule {
            source: source.into(),
            target: target.into(),
            status: Some(status.into()),
            condition: None,
        }
    }

    fn request(path: &str, exists: bool) -> SiteRequest<'_> {
        SiteRequest {
            path,
            query: None,
            country: None,
            host: None,
            exists,
        }
    }

    fn serve(path: &str, status: u16) -> Option<Outcome> {
        Some(Outcome::Serve {
            path: path.into(),
            status,
        })
    }

    fn redirect(location: &str, status: u16) -> Option<Outcome> {
        Some(Outcome::Redirect {
            location: location.into(),
            status,
        })
    }

    #[test]
    fn wildcards_and_placeholders_reach_the_target() {
        let rules = [
            rule("/docs/<*>", "/documents/<*>", "301"),
            rule(
                "/blog/<year>/<month>/<slug>",
                "/posts/<year>-<month>/<slug>",
                "302",
            ),
        ];
        assert_eq!(
            apply(&rules, &request("/docs/a/b.html", false)),
            redirect("/documents/a/b.html", 301)
        );
        assert_eq!(
            apply(&rules, &request("/blog/2024/05/hello", false)),
            redirect("/posts/2024-05/hello", 302)
        );
        // A placeholder is one segment.
        assert_eq!(apply(&rules, &request("/blog/2024/05/a/b", false)), None);
        assert_eq!(apply(&rules, &request("/documents/x", false)), None);
    }

    #[test]
    fn the_spa_regex_leaves_assets_alone() {
        let rules = [rule(SPA, "/index.html", "200")];
        assert_eq!(
            apply(&rules, &request("/app/settings", false)),
            serve("/index.html", 200)
        );
        assert_eq!(
            apply(&rules, &request("/report.pdf", false)),
            serve("/index.html", 200)
        );
        assert_eq!(apply(&rules, &request("/app.js", true)), None);
        assert_eq!(apply(&rules, &request("/img/logo.png", false)), None);
    }

    #[test]
    fn not_found_rules_wait_for_a_missing_file() {
        let rules = [
            rule("/<*>", "/404.html", "404"),
            rule("/<*>", "/index.html", "404-200"),
        ];
        assert_eq!(apply(&rules, &request("/about.html", true)), None);
        assert_eq!(
            apply(&rules, &request("/nope", false)),
            serve("/404.html", 404)
        );
        let rewrite = [rule("/<*>", "/index.html", "200")];
        assert_eq!(
            apply(&rewrite, &request("/about.html", true)),
            serve("/index.html", 200)
        );
    }

    #[test]
    fn first_match_wins_and_queries_follow_redirects() {
        let rules = [
            rule("/docs/old.html", "/documents/new.html", "301"),
            rule("/docs/<*>", "/documents/<*>", "301"),
        ];
        let mut with_query = request("/docs/old.html", false);
        with_query.query = Some("a=1&b=2");
        assert_eq!(
            apply(&rules, &with_query),
            redirect("/documents/new.html?a=1&b=2", 301)
        );
    }

    #[test]
    fn query_placeholders_match_parameters() {
        let rules = [rule("/docs?id=<id>", "/documents/<id>", "301")];
        let mut asked = request("/docs", false);
        asked.query = Some("id=42");
        assert_eq!(apply(&rules, &asked), redirect("/documents/42", 301));
        assert_eq!(apply(&rules, &request("/docs", false)), None);
    }

    #[test]
    fn conditions_need_the_viewer_country() {
        let mut us_only = rule("/<*>", "/us/<*>", "302");
        us_only.condition = Some("<US>".into());
        let rules = [us_only];
        assert_eq!(apply(&rules, &request("/x", false)), None);
        let mut from_us = request("/x", false);
        from_us.country = Some("us");
        assert_eq!(apply(&rules, &from_us), redirect("/us/x", 302));
    }

    #[test]
    fn domain_sources_send_the_path_along() {
        let rules = [rule(
            "https://example.com",
            "https://www.example.com/",
            "301",
        )];
        let mut apex = request("/a/b", false);
        apex.host = Some("Example.com");
        assert_eq!(
            apply(&rules, &apex),
            redirect("https://www.example.com/a/b", 301)
        );
        let mut www = request("/a/b", false);
        www.host = Some("www.example.com");
        assert_eq!(apply(&rules, &www), None);
        assert!(Source::parse("https://example.com/path").is_err());
    }

    #[test]
    fn bad_regexes_are_reported() {
        assert!(Source::parse("</(unclosed/>").is_err());
        assert!(Source::parse("/a/<b>/<*>").is_ok());
    }
}
