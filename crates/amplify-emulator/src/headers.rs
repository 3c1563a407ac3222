//! Custom response headers: the `customHttp.yml` at the root of a deployed
//! zip, or the app's `customHeaders` (the same YAML, set by UpdateApp).
//! A deploy's file wins over the app's setting as a whole.
//!
//! ```yaml
//! customHeaders:
//!   - pattern: '**/*'
//!     headers:
//!       - key: 'Strict-Transport-Security'
//!         value: 'max-age=31536000'
//! ```
//!
//! The YAML is read by a small strict reader of this block subset (maps,
//! lists, plain and quoted scalars, comments): anything else is an error
//! naming the line, so a file the emulator accepts means what it says.
//! Patterns are globs over the request path without its leading `/`:
//! `*` within a segment, `**` across segments (none included), `?` one
//! character. Every pattern that matches adds its headers, in order; a
//! later value for the same header replaces an earlier one.
//!
//! <https://docs.aws.amazon.com/amplify/latest/userguide/custom-headers.html>

use serde_json::{Map, Value};

/// The file Amplify reads custom headers from in a manual deploy's zip.
pub(crate) const FILE_NAME: &str = "customHttp.yml";

/// One `customHeaders` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HeaderRule {
    pub pattern: String,
    pub headers: Vec<(String, String)>,
}

/// Reads the `customHeaders` YAML; the error names the line or entry.
pub(crate) fn parse(text: &str) -> Result<Vec<HeaderRule>, String> {
    let document = yaml::parse(text)?;
    let top = match document {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => map,
        _ => return Err("expected a map with the key customHeaders".to_owned()),
    };
    if let Some(other) = top.keys().find(|k| *k != "customHeaders") {
        return Err(format!(
            "unknown key {other:?}: only customHeaders is allowed"
        ));
    }
    let entries = match top.get("customHeaders") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err("customHeaders must be a list".to_owned()),
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            header_rule(entry).map_err(|e| format!("customHeaders entry {}: {e}", i + 1))
        })
        .collect()
}

fn header_rule(entry: &Value) -> Result<HeaderRule, String> {
    let map = entry.as_object().ok_or("expected pattern and headers")?;
    check_keys(map, &["pattern", "headers"])?;
    let pattern = string(map, "pattern")?;
    let Some(Value::Array(list)) = map.get("headers") else {
        return Err("headers must be a list of key and value".to_owned());
    };
    let headers = list
        .iter()
        .map(|header| {
            let header = header.as_object().ok_or("a header needs key and value")?;
            check_keys(header, &["key", "value"])?;
            let key = string(header, "key")?;
            let valid = !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid {
                return Err(format!("{key:?} is not a header name"));
            }
            Ok((key, string(header, "value")?))
        })
        .collect::<Result<_, String>>()?;
    Ok(HeaderRule { pattern, headers })
}

fn check_keys(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!("unknown key {key:?}")),
        None => Ok(()),
    }
}

fn string(map: &Map<String, Value>, key: &str) -> Result<String, String> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(format!("{key} is missing")),
    }
}

/// The headers for a request path (decoded, from the site root).
pub(crate) fn for_path(rules: &[HeaderRule], path: &str) -> Vec<(String, String)> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut headers: Vec<(String, String)> = Vec::new();
    for rule in rules.iter().filter(|r| glob(&r.pattern, path)) {
        for (key, value) in &rule.headers {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
            headers.push((key.clone(), value.clone()));
        }
    }
    headers
}

/// Whether `path` (no leading `/`) matches the glob `pattern`.
pub(crate) fn glob(pattern: &str, path: &str) -> bool {
    let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    segments_match(&pattern, &path)
}

fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
    wildcard(
        pattern,
        path,
        |p| *p == "**",
        |p, segment| segment_match(p.as_bytes(), segment.as_bytes()),
    )
}

fn segment_match(pattern: &[u8], text: &[u8]) -> bool {
    wildcard(pattern, text, |p| *p == b'*', |p, c| *p == b'?' || p == c)
}

/// Matches `items` against `pattern`, where `is_star` elements match any
/// run of items and others must match one item each. Backtracks to the
/// last star only, so it stays linear-ish whatever the pattern.
fn wildcard<P, T>(
    pattern: &[P],
    items: &[T],
    is_star: impl Fn(&P) -> bool,
    one: impl Fn(&P, &T) -> bool,
) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < items.len() {
        if p < pattern.len() && is_star(&pattern[p]) {
            star = Some((p, i));
            p += 1;
        } else if p < pattern.len() && one(&pattern[p], &items[i]) {
            p += 1;
            i += 1;
        } else if let Some((star_p, star_i)) = star {
            p = star_p + 1;
            i = star_i + 1;
            star = Some((star_p, star_i + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(is_star)
}

/// The block subset of YAML that `customHttp.yml` files are written in.
mod yaml {
    use serde_json::{Map, Value};

    /// One meaningful line: its number, indentation and text.
    struct Line {
        number: usize,
        indent: usize,
        text: String,
    }

    pub(super) fn parse(text: &str) -> Result<Value, String> {
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let number = i + 1;
            if raw.trim() == "---" && lines.is_empty() {
                continue;
            }
            let content = strip_comment(raw);
            if content.trim().is_empty() {
                continue;
            }
            let indent = content.len() - content.trim_start_matches([' ', '\t']).len();
            if content[..indent].contains('\t') {
                return Err(format!(
                    "line {number}: tabs are not allowed for indentation"
                ));
            }
            lines.push(Line {
                number,
                indent,
                text: content.trim().to_owned(),
            });
        }
        if lines.is_empty() {
            return Ok(Value::Null);
        }
        let mut at = 0;
        let indent = lines[0].indent;
        let value = node(&mut lines, &mut at, indent)?;
        match lines.get(at) {
            Some(line) => Err(format!("line {}: unexpected indentation", line.number)),
            None => Ok(value),
        }
    }

    /// The text before a comment (`#` at the start or after a space,
    /// outside quotes).
    fn strip_comment(line: &str) -> &str {
        let mut quote = None;
        let mut previous = ' ';
        for (i, c) in line.char_indices() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '\'' || c == '"' => quote = Some(c),
                None if c == '#' && (previous == ' ' || previous == '\t') => return &line[..i],
                None => {}
            }
            previous = c;
        }
        line
    }

    fn is_item(text: &str) -> bool {
        text == "-" || text.starts_with("- ")
    }

    /// Deeper than any `customHeaders` file; each level indents further,
    /// so this bounds the recursion.
    const MAX_INDENT: usize = 256;

    fn node(lines: &mut [Line], at: &mut usize, indent: usize) -> Result<Value, String> {
        if indent > MAX_INDENT {
            return Err(format!("line {}: nested too deeply", lines[*at].number));
        }
        if is_item(&lines[*at].text) {
            sequence(lines, at, indent)
        } else {
            mapping(lines, at, indent)
        }
    }

    fn sequence(lines: &mut [Line], at: &mut usize, indent: usize) -> Result<Value, String> {
        let mut items = Vec::new();
        while *at < lines.len() && lines[*at].indent == indent && is_item(&lines[*at].text) {
            let line = &mut lines[*at];
            let rest = line.text[1..].trim_start().to_owned();
            if rest.is_empty() {
                *at += 1;
                items.push(child(lines, at, indent)?);
                continue;
            }
            // `- key: value` opens a map (or `- - x` a list) two columns in.
            let offset = line.text.len() - rest.len();
            line.indent += offset;
            line.text = rest;
            if is_item(&line.text) || key_value(&line.text, line.number)?.is_some() {
                let inner = line.indent;
                items.push(node(lines, at, inner)?);
            } else {
                let number = line.number;
                let text = line.text.clone();
                items.push(scalar(&text, number)?);
                *at += 1;
            }
        }
        Ok(Value::Array(items))
    }

    fn mapping(lines: &mut [Line], at: &mut usize, indent: usize) -> Result<Value, String> {
        let mut map = Map::new();
        while *at < lines.len() && lines[*at].indent == indent && !is_item(&lines[*at].text) {
            let number = lines[*at].number;
            let text = lines[*at].text.clone();
            let Some((key, value)) = key_value(&text, number)? else {
                return Err(format!("line {number}: expected `key: value`"));
            };
            *at += 1;
            let value = match value {
                Some(value) => scalar(value, number)?,
                None => match lines.get(*at) {
                    // A list may sit at its key's own indentation.
                    Some(next) if next.indent == indent && is_item(&next.text) => {
                        sequence(lines, at, indent)?
                    }
                    _ => child(lines, at, indent)?,
                },
            };
            if map.insert(key.clone(), value).is_some() {
                return Err(format!("line {number}: {key:?} appears twice"));
            }
        }
        Ok(Value::Object(map))
    }

    /// The block under a key or item at `indent`, or null when none.
    fn child(lines: &mut [Line], at: &mut usize, indent: usize) -> Result<Value, String> {
        match lines.get(*at) {
            Some(next) if next.indent > indent => {
                let inner = next.indent;
                node(lines, at, inner)
            }
            _ => Ok(Value::Null),
        }
    }

    /// `key: value` or `key:`; `None` when the text is not a map entry.
    fn key_value(text: &str, number: usize) -> Result<Option<(String, Option<&str>)>, String> {
        let (key, rest) = if text.starts_with(['\'', '"']) {
            let end = quoted_end(text).ok_or_else(|| format!("line {number}: unclosed quote"))?;
            let Some(rest) = text[end..].strip_prefix(':') else {
                return Ok(None);
            };
            (unquote(&text[..end], number)?, rest)
        } else {
            let Some(colon) = text
                .match_indices(':')
                .map(|(i, _)| i)
                .find(|&i| text[i + 1..].is_empty() || text[i + 1..].starts_with(' '))
            else {
                return Ok(None);
            };
            (text[..colon].trim_end().to_owned(), &text[colon + 1..])
        };
        let rest = rest.trim();
        Ok(Some((key, (!rest.is_empty()).then_some(rest))))
    }

    /// Where the quoted scalar starting `text` ends (after its quote).
    fn quoted_end(text: &str) -> Option<usize> {
        let quote = text.chars().next()?;
        let mut chars = text.char_indices().skip(1).peekable();
        while let Some((i, c)) = chars.next() {
            if quote == '"' && c == '\\' {
                chars.next();
            } else if c == quote {
                if quote == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                    chars.next();
                    continue;
                }
                return Some(i + 1);
            }
        }
        None
    }

    fn scalar(text: &str, number: usize) -> Result<Value, String> {
        match text {
            "[]" => return Ok(Value::Array(Vec::new())),
            "{}" => return Ok(Value::Object(Map::new())),
            "~" | "null" => return Ok(Value::Null),
            _ => {}
        }
        if text.starts_with(['\'', '"']) {
            let end = quoted_end(text).ok_or_else(|| format!("line {number}: unclosed quote"))?;
            if end != text.len() {
                return Err(format!("line {number}: text after a quoted value"));
            }
            return unquote(text, number).map(Value::String);
        }
        if text.starts_with(['[', '{', '|', '>', '&', '*', '!', '@', '`']) {
            return Err(format!(
                "line {number}: {text:?}: only plain or quoted values are supported"
            ));
        }
        Ok(Value::String(text.to_owned()))
    }

    fn unquote(text: &str, number: usize) -> Result<String, String> {
        let inner = &text[1..text.len() - 1];
        if text.starts_with('\'') {
            return Ok(inner.replace("''", "'"));
        }
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            out.push(match chars.next() {
                Some('n') => '\n',
                Some('t') => '\t',
                Some('r') => '\r',
                Some('b') => '\u{8}',
                Some('f') => '\u{c}',
                Some('0') => '\0',
                Some(c @ ('"' | '\\' | '/' | ' ')) => c,
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    u32::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| hex.len() == 4)
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("line {number}: bad escape \\u{hex}"))?
                }
                other => {
                    return Err(format!(
                        "line {number}: unsupported escape \\{}",
                        other.unwrap_or(' ')
                    ))
                }
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_shape() {
        let text = "# security\ncustomHeaders:\n  - pattern: '**/*'\n    headers:\n      - key: 'Strict-Transport-Security'\n        value: 'max-age=31536000; includeSubDomains'\n      - key: X-Frame-Options\n        value: SAMEORIGIN # inline comment\n  - pattern: \"*.json\"\n    headers:\n    - key: Cache-Control\n      value: \"no-cache, it's \\\"fresh\\\"\"\n";
        let rules = parse(text).expect("valid");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].pattern, "**/*");
        assert_eq!(
            rules[0].headers,
            vec![
                (
                    "Strict-Transport-Security".to_owned(),
                    "max-age=31536000; includeSubDomains".to_owned()
                ),
                ("X-Frame-Options".to_owned(), "SAMEORIGIN".to_owned()),
            ]
        );
        assert_eq!(rules[1].headers[0].1, "no-cache, it's \"fresh\"".to_owned());
        let escaped = parse("customHeaders:\n- pattern: \"**/*\"\n  headers:\n  - key: \"X-Note\"\n    value: \"caf\\u00e9 \\\"x\\\" \\\\ /\"\n").expect("JSON-style quoting");
        assert_eq!(escaped[0].headers[0].1, "café \"x\" \\ /");
        assert_eq!(parse("").expect("empty"), Vec::new());
        assert_eq!(parse("customHeaders: []\n").expect("none"), Vec::new());
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let cases = [
            ("customHeaders:\n  - pattern: '*'\n", "customHeaders entry 1: headers must be a list of key and value"),
            ("customHeader:\n  - pattern: '*'\n", "unknown key \"customHeader\": only customHeaders is allowed"),
            ("customHeaders:\n  - pattern: '*'\n    headers:\n      - key: 'Bad Name'\n        value: x\n", "customHeaders entry 1: \"Bad Name\" is not a header name"),
            ("customHeaders:\n  - pattern: '*'\n    headers:\n      - key: X\n        value: |\n          multi\n", "line 5: \"|\": only plain or quoted values are supported"),
            ("customHeaders:\n\t- pattern: '*'\n", "line 2: tabs are not allowed for indentation"),
            ("customHeaders:\n  - pattern: 'x\n", "line 2: unclosed quote"),
            ("customHeaders:\n  - pattern: a\n      headers: []\n", "line 3: unexpected indentation"),
        ];
        for (text, error) in cases {
            assert_eq!(parse(text).expect_err(text), error, "{text}");
        }
    }

    #[test]
    fn odd_input_is_an_error_not_a_panic() {
        let deep = "- ".repeat(5000) + "x";
        let odd = [
            deep.as_str(),
            "-",
            ":",
            "'",
            "\"\\",
            "customHeaders:\n  -\n  -",
            "a: 'b'c",
            "- a\nb: c",
            "customHeaders: \"\\u12\"",
            "\u{feff}customHeaders: []",
            "  x: 1\ny: 2",
        ];
        for text in odd {
            let _ = parse(text);
        }
        assert!(parse(&deep)
            .expect_err("deep")
            .ends_with("nested too deeply"));
    }

    #[test]
    fn globs_match_paths() {
        let cases = [
            ("**/*", "index.html", true),
            ("**/*", "a/b/c.css", true),
            ("**/*.css", "style.css", true),
            ("**/*.css", "a/b/style.css", true),
            ("**/*.css", "a/b/style.js", false),
            ("*.json", "data.json", true),
            ("*.json", "api/data.json", false),
            ("/*", "page", true),
            ("/*", "a/page", false),
            ("/assets/**", "assets/x/y.png", true),
            ("img?.png", "img1.png", true),
            ("**/a/**/b", "a/x/y/b", true),
            ("**/a/**/b", "x/a/b", true),
            ("**/a/**/b", "x/a/b/c", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(glob(pattern, path), expected, "{pattern} vs {path}");
        }
        let rules = parse("customHeaders:\n  - pattern: '**/*'\n    headers:\n      - key: Cache-Control\n        value: max-age=60\n  - pattern: '**/*.css'\n    headers:\n      - key: cache-control\n        value: max-age=600\n").expect("valid");
        assert_eq!(
            for_path(&rules, "/css/site.css"),
            vec![("cache-control".to_owned(), "max-age=600".to_owned())]
        );
        assert_eq!(
            for_path(&rules, "/"),
            vec![("Cache-Control".to_owned(), "max-age=60".to_owned())]
        );
    }
}
