//! `_redirects` (Netlify, Cloudflare Pages) to Amplify `customRules`.
//!
//! A line is `from [query…] to [status][!] [conditions…]`. Placeholders
//! are whole path segments (`:name`, Amplify's `<name>`); the one splat
//! `*` becomes `<*>` and `:splat` in the target its value. Status:
//! `301` (the default) and `302` as they are; `200` is a rewrite that,
//! like Netlify's, only applies where no file matches (Amplify `404-200`)
//! unless forced with `!` (Amplify `200`) or sent to another host (a
//! reverse proxy, Amplify `200`); `404` serves the target with 404 where
//! no file matches (Amplify `404`). `Country=` conditions become one rule
//! per country (`<US>`). Non-ASCII characters in paths are
//! percent-encoded, as browsers send them.

use super::{significant_lines, Refusal, Refused, REDIRECTS_FILE};
use crate::amplify::CustomRule;

/// Why one `_redirects` line cannot be translated, by the part of the line
/// that is read: the tokens, the status, the conditions, the source, the
/// target. The message is the refusal's `why`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum LineError {
    #[error("empty rule")]
    Empty,
    /// Query parameters after the source, or a `?` in it.
    #[error("query-string matching (`{0}`): Amplify rules match the path only")]
    QueryMatching(String),
    #[error("no target: a rule is `from to [status]`")]
    NoTarget,
    #[error("`404!`: Amplify's 404 rules only apply where no file matches; drop the `!`")]
    StatusForced404,
    #[error("status {0}: Amplify redirects are 301 or 302; use 301 (permanent) or 302")]
    StatusRedirect(String),
    #[error("status {0}: Amplify rules answer 200 (rewrite), 301, 302 or 404")]
    StatusUnknown(String),
    #[error("unexpected `{0}` after the status")]
    ConditionNotKeyValue(String),
    #[error("`{0}` is not a two-letter country code")]
    ConditionCountry(String),
    #[error("`{0}`: Amplify conditions are countries only, not languages")]
    ConditionLanguage(String),
    #[error("`{0}`: Amplify rules have no role or cookie conditions")]
    ConditionRoleOrCookie(String),
    #[error("unknown condition `{0}`")]
    ConditionUnknown(String),
    /// `what` is `source` or `target`.
    #[error("{what} `{value}` has `<` or `>`, which Amplify reads as a placeholder")]
    AngleBrackets { what: &'static str, value: String },
    #[error("source `{0}` is neither a path (`/…`) nor a URL (`https://…`)")]
    SourceNotAPath(String),
    #[error("source `{0}`: placeholders in the host cannot be expressed in Amplify")]
    SourceHostPlaceholder(String),
    #[error("source `{0}` has more than one `*`")]
    SourceSplats(String),
    #[error("`:splat` in the source: write `*` there (`:splat` is its value in the target)")]
    SourceSplatName,
    #[error("source `{from}` names `:{name}` twice")]
    SourceNamedTwice { from: String, name: String },
    #[error("target `{0}` is neither a path (`/…`) nor a URL (`https://…`)")]
    TargetNotAPath(String),
    #[error("target `{0}`: Netlify functions and services do not exist on Amplify")]
    TargetNetlify(String),
    #[error("target `{0}` uses `:splat` but the source has no `*`")]
    TargetSplatWithoutStar(String),
    #[error("target `{to}` uses `:{name}`, which the source does not name")]
    TargetUnnamed { to: String, name: String },
    #[error("target query `{query}` uses `:{name}`, which the source does not name")]
    TargetQueryUnnamed { query: String, name: String },
}

/// Amplify's documented single-page-app rewrite: every path without a file
/// extension (or with one no site serves as a file) to `/index.html`.
pub fn spa_rule() -> CustomRule {
    CustomRule {
        source: r"</^[^.]+$|\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|woff2|ttf|map|json|webp)$)([^.]+$)/>".into(),
        target: "/index.html".into(),
        status: Some("200".into()),
        condition: None,
    }
}

/// Translate a `_redirects` file, in order; `file` names it in the error.
/// Every line that cannot be translated is in the one error.
pub fn redirects_to_rules(text: &str, file: &str) -> Result<Vec<CustomRule>, Refused> {
    let mut rules = Vec::new();
    let mut refused = Vec::new();
    for (line, code) in significant_lines(text) {
        match line_rules(code) {
            Ok(mut r) => rules.append(&mut r),
            Err(why) => refused.push(Refusal {
                line,
                why: why.to_string(),
            }),
        }
    }
    if refused.is_empty() {
        Ok(rules)
    } else {
        let file = if file.is_empty() {
            REDIRECTS_FILE
        } else {
            file
        };
        Err(Refused {
            file: file.to_owned(),
            lines: refused,
        })
    }
}

/// The rules one line becomes (several with several countries).
fn line_rules(code: &str) -> Result<Vec<CustomRule>, LineError> {
    let tokens: Vec<&str> = code
        .split_whitespace()
        .take_while(|t| !t.starts_with('#'))
        .collect();
    let (from, rest) = tokens.split_first().ok_or(LineError::Empty)?;
    let query: Vec<&str> = rest
        .iter()
        .take_while(|t| t.contains('=') && !is_url_or_path(t))
        .copied()
        .collect();
    if !query.is_empty() {
        return Err(LineError::QueryMatching(query.join(" ")));
    }
    let (to, rest) = rest.split_first().ok_or(LineError::NoTarget)?;
    let (status, rest) = match rest.split_first() {
        Some((s, rest)) if s.trim_end_matches('!').bytes().all(|b| b.is_ascii_digit()) => {
            (*s, rest)
        }
        _ => ("301", rest),
    };
    let countries = conditions(rest)?;
    let (source, names, splat) = source(from)?;
    let target = target(to, &names, splat)?;
    let status = amplify_status(status, is_absolute(to))?.to_owned();
    let rule = |condition: Option<String>| CustomRule {
        source: source.clone(),
        target: target.clone(),
        status: Some(status.clone()),
        condition,
    };
    Ok(match countries {
        None => vec![rule(None)],
        Some(codes) => codes.into_iter().map(|c| rule(Some(c))).collect(),
    })
}

fn is_absolute(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

fn is_url_or_path(s: &str) -> bool {
    s.starts_with('/') || is_absolute(s)
}

/// The Amplify status of a `_redirects` status (`200`, `301!`, …).
fn amplify_status(status: &str, absolute_target: bool) -> Result<&'static str, LineError> {
    let (code, forced) = match status.strip_suffix('!') {
        Some(code) => (code, true),
        None => (status, false),
    };
    match code {
        "200" if forced || absolute_target => Ok("200"),
        "200" => Ok("404-200"),
        "301" => Ok("301"),
        "302" => Ok("302"),
        "404" if forced => Err(LineError::StatusForced404),
        "404" => Ok("404"),
        "303" | "307" | "308" => Err(LineError::StatusRedirect(code.to_owned())),
        _ => Err(LineError::StatusUnknown(code.to_owned())),
    }
}

/// `Country=us,ca` as Amplify conditions (`<US>`, `<CA>`), one per rule;
/// any other condition is refused.
fn conditions(tokens: &[&str]) -> Result<Option<Vec<String>>, LineError> {
    let mut countries = None;
    for t in tokens {
        let (key, value) = t
            .split_once('=')
            .ok_or_else(|| LineError::ConditionNotKeyValue(t.to_string()))?;
        match key.to_ascii_lowercase().as_str() {
            "country" => {
                let codes: Result<Vec<String>, LineError> = value
                    .split(',')
                    .map(|c| {
                        if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
                            Ok(format!("<{}>", c.to_ascii_uppercase()))
                        } else {
                            Err(LineError::ConditionCountry(c.to_owned()))
                        }
                    })
                    .collect();
                countries = Some(codes?);
            }
            "language" => return Err(LineError::ConditionLanguage(t.to_string())),
            "role" | "cookie" => return Err(LineError::ConditionRoleOrCookie(t.to_string())),
            _ => return Err(LineError::ConditionUnknown(t.to_string())),
        }
    }
    Ok(countries)
}

/// Marks Amplify reads as placeholders, refused in literal paths.
fn check_literal(what: &'static str, s: &str) -> Result<(), LineError> {
    if s.contains(['<', '>']) {
        return Err(LineError::AngleBrackets {
            what,
            value: s.to_owned(),
        });
    }
    Ok(())
}

/// Split `https://host/path` into `https://host` and `/path`.
fn split_origin(s: &str) -> (&str, &str) {
    if !is_absolute(s) {
        return ("", s);
    }
    let after_scheme = s.find("://").map_or(0, |i| i + 3);
    match s[after_scheme..].find('/') {
        Some(i) => s.split_at(after_scheme + i),
        None => (s, ""),
    }
}

/// A placeholder segment's name (`:year` -> `year`).
fn placeholder(segment: &str) -> Option<&str> {
    let name = segment.strip_prefix(':')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() || first == '_')
        .then_some(())
        .filter(|_| chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map(|_| name)
}

/// The Amplify source of a `from`, its placeholder names, and whether it
/// has a splat.
fn source(from: &str) -> Result<(String, Vec<String>, bool), LineError> {
    check_literal("source", from)?;
    if from.contains('?') {
        return Err(LineError::QueryMatching(from.to_owned()));
    }
    let (origin, path) = split_origin(from);
    if origin.is_empty() && !from.starts_with('/') {
        return Err(LineError::SourceNotAPath(from.to_owned()));
    }
    let host = origin.split_once("://").map_or("", |(_, h)| h);
    if host.contains('*') || host.split('.').any(|label| placeholder(label).is_some()) {
        return Err(LineError::SourceHostPlaceholder(from.to_owned()));
    }
    if path.matches('*').count() > 1 {
        return Err(LineError::SourceSplats(from.to_owned()));
    }
    let mut names = Vec::new();
    let mut segments = Vec::new();
    for segment in path.split('/') {
        match placeholder(segment) {
            Some("splat") => return Err(LineError::SourceSplatName),
            Some(name) if names.iter().any(|n| n == name) => {
                return Err(LineError::SourceNamedTwice {
                    from: from.to_owned(),
                    name: name.to_owned(),
                })
            }
            Some(name) => {
                names.push(name.to_owned());
                segments.push(format!("<{name}>"));
            }
            None => segments.push(segment.replace('*', "<*>")),
        }
    }
    let splat = path.contains('*');
    let path = encode_non_ascii(&segments.join("/"));
    Ok((format!("{origin}{path}"), names, splat))
}

/// The Amplify target of a `to`, with the source's placeholders.
fn target(to: &str, names: &[String], splat: bool) -> Result<String, LineError> {
    check_literal("target", to)?;
    let (origin, path) = split_origin(to);
    if origin.is_empty() && !to.starts_with('/') {
        return Err(LineError::TargetNotAPath(to.to_owned()));
    }
    if to.starts_with("/.netlify/") {
        return Err(LineError::TargetNetlify(to.to_owned()));
    }
    if to.contains(":splat") && !splat {
        return Err(LineError::TargetSplatWithoutStar(to.to_owned()));
    }
    let path = path.replace(":splat", "<*>");
    let mut segments = Vec::new();
    for segment in path.split('/') {
        let (head, query) = match segment.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (segment, None),
        };
        let head = match placeholder(head) {
            Some(name) if names.iter().any(|n| n == name) => format!("<{name}>"),
            Some(name) => {
                return Err(LineError::TargetUnnamed {
                    to: to.to_owned(),
                    name: name.to_owned(),
                })
            }
            None => head.to_owned(),
        };
        let query = query.map(|q| query_placeholders(q, names)).transpose()?;
        segments.push(match query {
            Some(q) => format!("{head}?{q}"),
            None => head,
        });
    }
    Ok(format!("{origin}{}", encode_non_ascii(&segments.join("/"))))
}

/// Non-ASCII characters percent-encoded (UTF-8, upper-case hex), as
/// browsers send them and as Amplify matches paths; `%XX` escapes written
/// in the file are kept.
fn encode_non_ascii(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `a=:id&b=1` with the source's placeholders as `<id>`.
fn query_placeholders(query: &str, names: &[String]) -> Result<String, LineError> {
    let pairs: Result<Vec<String>, LineError> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => match placeholder(v) {
                Some(name) if names.iter().any(|n| n == name) => Ok(format!("{k}=<{name}>")),
                Some(name) => Err(LineError::TargetQueryUnnamed {
                    query: query.to_owned(),
                    name: name.to_owned(),
                }),
                None => Ok(pair.to_owned()),
            },
            None => Ok(pair.to_owned()),
        })
        .collect();
    Ok(pairs?.join("&"))
}
