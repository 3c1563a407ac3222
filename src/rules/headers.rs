//! `_headers` (Netlify, Cloudflare Pages) to Amplify's `customHttp.yml`,
//! and the check of a `customHttp.yml` the site already has.
//!
//! The YAML is written and read by hand: the schema is three keys deep, and
//! a YAML crate would cost more of the binary budget than the whole feature.
//! Values are single-quoted (`'` doubled), so any header value survives.

use super::{significant_lines, Refusal, Refused, CUSTOM_HTTP_FILE, HEADERS_FILE};

/// Why one `_headers` line cannot be translated: a header line (its
/// removal, name or value), a path pattern, or a repeated cookie. The
/// message is the refusal's `why`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum HeadersLineError {
    #[error("`! {0}` removes a header, which customHttp.yml cannot express")]
    HeaderRemoval(String),
    #[error("a header line before any path pattern")]
    HeaderWithoutPattern,
    #[error("`{0}` is not `Name: value`")]
    HeaderNotNameValue(String),
    #[error("`{0}` is not a header name")]
    HeaderName(String),
    #[error("the value of `{0}` has a control character")]
    HeaderControl(String),
    #[error("`{0}`: customHttp.yml patterns are paths, not hosts")]
    PatternHost(String),
    #[error("`{0}` is not a path pattern (`/…`)")]
    PatternNotAPath(String),
    #[error("`{0}` has a space or a quote")]
    PatternSpaceOrQuote(String),
    /// `pattern` as the file writes it; `first`: the line of the first.
    #[error("a second `Set-Cookie` for `{pattern}` (the first is on line {first}): customHttp.yml would join them into one header, which browsers read as one cookie; set one cookie per path")]
    SecondCookie { pattern: String, first: usize },
}

/// Why one line of a `customHttp.yml` is not the `customHeaders` schema:
/// the top key, an entry, a header, the end of the file, or a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum CustomHttpError {
    #[error("`applications:` (monorepo) is not supported: a manual deploy has one app root")]
    TopApplications,
    #[error("expected `customHeaders:`, found `{0}`")]
    TopUnexpected(String),
    #[error("`{0}` is not `key: value`")]
    NotKeyValue(String),
    #[error("unexpected `{0}`: an entry is `pattern` and `headers`, a header `key` and `value`")]
    UnexpectedKey(String),
    #[error("`headers` before any `- pattern`")]
    EntryHeadersFirst,
    #[error("write `- pattern:` first, then `headers:`")]
    EntryHeadersItem,
    #[error("a second `pattern` in one entry")]
    EntrySecondPattern,
    #[error("an empty `pattern`")]
    EntryEmptyPattern,
    #[error("`{0}` outside a `- key:` item")]
    HeaderOutsideItem(String),
    #[error("a second `{0}` in one header")]
    HeaderSecondMember(String),
    #[error("the header before this line lacks its `key` or `value`")]
    HeaderIncomplete,
    #[error("no `customHeaders:`")]
    EndNoCustomHeaders,
    #[error("an entry without a `pattern`")]
    EndNoPattern,
    /// The pattern, quoted as YAML.
    #[error("pattern {0} has no headers")]
    EndNoHeaders(String),
    #[error(transparent)]
    Value(#[from] ScalarError),
}

/// Why a YAML scalar of the block subset cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ScalarError {
    #[error("unterminated quote in `{0}`")]
    Unterminated(String),
    #[error("a lone `'` inside `{0}` (write `''`)")]
    LoneQuote(String),
    #[error("unsupported escape `\\{escape}` in `{raw}`")]
    Escape { escape: char, raw: String },
    #[error("an unescaped `\"` inside `{0}`")]
    UnescapedQuote(String),
    #[error("`{0}`: quote this value (flow, anchor, tag or block syntax is not read)")]
    NotPlain(String),
}

/// One `customHeaders` entry: a pattern and its headers, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderRule {
    pub pattern: String,
    pub headers: Vec<(String, String)>,
}

/// Translate a `_headers` file to the text of a `customHttp.yml`.
pub fn headers_to_custom_http(text: &str) -> Result<String, Refused> {
    let rules = parse_headers(text)?;
    Ok(to_yaml(&rules))
}

/// The rules of a `_headers` file; every line Amplify cannot express in the
/// one error.
fn parse_headers(text: &str) -> Result<Vec<HeaderRule>, Refused> {
    let mut rules: Vec<HeaderRule> = Vec::new();
    let mut refused = Vec::new();
    let mut cookies = Vec::new();
    // The current path pattern as written, for messages.
    let mut written = "";
    for (line, code) in significant_lines(text) {
        let indented = code.starts_with([' ', '\t']);
        let outcome = if indented {
            header_line(code.trim(), rules.last_mut())
        } else {
            written = code.trim();
            amplify_pattern(written).map(|pattern| {
                rules.push(HeaderRule {
                    pattern,
                    headers: Vec::new(),
                })
            })
        };
        match (outcome, rules.last()) {
            (Err(why), _) => refused.push(Refusal {
                line,
                why: why.to_string(),
            }),
            (Ok(()), Some(rule)) if indented && sets_cookie(code) => cookies.push(CookieLine {
                pattern: rule.pattern.clone(),
                written: written.to_owned(),
                line,
            }),
            _ => {}
        }
    }
    refused.extend(repeated_cookies(&cookies));
    refused.sort_by_key(|r| r.line);
    if !refused.is_empty() {
        return Err(Refused {
            file: HEADERS_FILE.into(),
            lines: refused,
        });
    }
    rules.retain(|r| !r.headers.is_empty());
    Ok(rules)
}

/// A `Set-Cookie` line of a `_headers` file.
struct CookieLine {
    /// The Amplify pattern it applies to.
    pattern: String,
    /// The pattern as the file writes it.
    written: String,
    line: usize,
}

/// Whether a header line sets a cookie.
fn sets_cookie(code: &str) -> bool {
    code.split_once(':')
        .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("set-cookie"))
}

/// Every `Set-Cookie` after the first for one pattern (in one block or in
/// two blocks of the same pattern). Other repeated headers are joined with
/// `, ` (RFC 9110 5.3: the same list), but a `Set-Cookie` line is one
/// cookie: joined, a browser reads one cookie whose value holds the rest
/// (and cookie values and dates hold commas, so no one can split them).
fn repeated_cookies(cookies: &[CookieLine]) -> Vec<Refusal> {
    cookies
        .iter()
        .enumerate()
        .filter_map(|(i, cookie)| {
            let first = cookies[..i].iter().find(|c| c.pattern == cookie.pattern)?;
            let why = HeadersLineError::SecondCookie {
                pattern: cookie.written.clone(),
                first: first.line,
            };
            Some(Refusal {
                line: cookie.line,
                why: why.to_string(),
            })
        })
        .collect()
}

/// An indented `Name: value` line, added to the current pattern's headers
/// (a repeated name joins its values with `, `, as Netlify and Cloudflare
/// Pages do; a repeated `Set-Cookie` is refused by [`repeated_cookies`]).
fn header_line(code: &str, current: Option<&mut HeaderRule>) -> Result<(), HeadersLineError> {
    if let Some(name) = code.strip_prefix('!') {
        return Err(HeadersLineError::HeaderRemoval(name.trim().to_owned()));
    }
    let rule = current.ok_or(HeadersLineError::HeaderWithoutPattern)?;
    let (name, value) = code
        .split_once(':')
        .ok_or_else(|| HeadersLineError::HeaderNotNameValue(code.to_owned()))?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(HeadersLineError::HeaderName(name.to_owned()));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(HeadersLineError::HeaderControl(name.to_owned()));
    }
    match rule
        .headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some((_, existing)) => {
            existing.push_str(", ");
            existing.push_str(value);
        }
        None => rule.headers.push((name.to_owned(), value.to_owned())),
    }
    Ok(())
}

/// RFC 9110 token characters (header names).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A `_headers` path pattern as an Amplify glob: Netlify's `*` matches
/// across `/`, so a `*` that starts a segment is `**/*`; a placeholder
/// segment (`:name`) is one segment, `*`; the site-wide `/**/…` is written
/// `**/…` as Amplify's docs do.
fn amplify_pattern(pattern: &str) -> Result<String, HeadersLineError> {
    if pattern.starts_with("http://") || pattern.starts_with("https://") {
        return Err(HeadersLineError::PatternHost(pattern.to_owned()));
    }
    if !pattern.starts_with('/') {
        return Err(HeadersLineError::PatternNotAPath(pattern.to_owned()));
    }
    if pattern.contains(char::is_whitespace) || pattern.contains('\'') {
        return Err(HeadersLineError::PatternSpaceOrQuote(pattern.to_owned()));
    }
    let segments: Vec<String> = pattern
        .split('/')
        .map(|segment| {
            if segment.starts_with(':') && segment.len() > 1 {
                "*".to_owned()
            } else if let Some(rest) = segment.strip_prefix('*') {
                format!("**/*{}", rest.replace('*', "**"))
            } else {
                segment.to_owned()
            }
        })
        .collect();
    let glob = segments.join("/");
    Ok(match glob.strip_prefix("/**/") {
        Some(rest) => format!("**/{rest}"),
        None => glob,
    })
}

/// YAML single-quoted scalar.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The `customHttp.yml` text of the rules.
fn to_yaml(rules: &[HeaderRule]) -> String {
    let mut out = String::from("# Written by amplify-deploy from _headers.\ncustomHeaders:\n");
    if rules.is_empty() {
        out.truncate(out.len() - 1);
        out.push_str(" []\n");
    }
    for rule in rules {
        out.push_str(&format!(
            "  - pattern: {}\n    headers:\n",
            quote(&rule.pattern)
        ));
        for (key, value) in &rule.headers {
            out.push_str(&format!(
                "      - key: {}\n        value: {}\n",
                quote(key),
                quote(value)
            ));
        }
    }
    out
}

/// Check that a `customHttp.yml` is the `customHeaders` schema (a list of
/// `pattern` + `headers`, each header a `key` and a `value`), in the
/// block-style subset of YAML Amplify's docs write; every bad line named.
pub fn validate_custom_http(text: &str) -> Result<Vec<HeaderRule>, Refused> {
    let mut parser = Parser::default();
    let mut refused = Vec::new();
    for (line, code) in significant_lines(text) {
        if let Err(why) = parser.line(code.trim()) {
            refused.push(Refusal {
                line,
                why: why.to_string(),
            });
        }
    }
    if refused.is_empty() {
        if let Err((line, why)) = parser.finish() {
            refused.push(Refusal {
                line,
                why: why.to_string(),
            });
        }
    }
    if refused.is_empty() {
        Ok(parser.rules)
    } else {
        Err(Refused {
            file: CUSTOM_HTTP_FILE.into(),
            lines: refused,
        })
    }
}

/// Where the reader of `customHttp.yml` is.
#[derive(Debug, Default)]
struct Parser {
    /// `customHeaders:` seen.
    started: bool,
    /// In the current entry's `headers:` list.
    in_headers: bool,
    rules: Vec<HeaderRule>,
    /// The current header, key and value as far as given.
    header: Option<(Option<String>, Option<String>)>,
    /// Lines counted so far (for `finish`'s error).
    lines: usize,
}

impl Parser {
    fn line(&mut self, code: &str) -> Result<(), CustomHttpError> {
        self.lines += 1;
        if !self.started {
            return match code {
                "customHeaders:" => {
                    self.started = true;
                    Ok(())
                }
                "applications:" => Err(CustomHttpError::TopApplications),
                _ => Err(CustomHttpError::TopUnexpected(code.to_owned())),
            };
        }
        let (item, body) = match code.strip_prefix("- ") {
            Some(body) => (true, body.trim()),
            None => (false, code),
        };
        let (key, value) = body
            .split_once(':')
            .ok_or_else(|| CustomHttpError::NotKeyValue(code.to_owned()))?;
        let value = value.trim();
        match (key.trim(), item) {
            ("pattern", _) | ("headers", true) => self.entry(item, key.trim(), value),
            ("headers", false) if value.is_empty() || value == "[]" => {
                self.current()?;
                self.flush_header()?;
                self.in_headers = true;
                Ok(())
            }
            ("key" | "value", _) if self.in_headers => self.header_member(item, key.trim(), value),
            (other, _) => Err(CustomHttpError::UnexpectedKey(other.to_owned())),
        }
    }

    fn current(&mut self) -> Result<&mut HeaderRule, CustomHttpError> {
        self.rules
            .last_mut()
            .ok_or(CustomHttpError::EntryHeadersFirst)
    }

    fn entry(&mut self, item: bool, key: &str, value: &str) -> Result<(), CustomHttpError> {
        self.flush_header()?;
        if item {
            self.rules.push(HeaderRule::default());
            self.in_headers = false;
        }
        if key == "headers" {
            return Err(CustomHttpError::EntryHeadersItem);
        }
        let pattern = scalar(value)?;
        let rule = self.current()?;
        if !rule.pattern.is_empty() {
            return Err(CustomHttpError::EntrySecondPattern);
        }
        if pattern.is_empty() {
            return Err(CustomHttpError::EntryEmptyPattern);
        }
        rule.pattern = pattern;
        Ok(())
    }

    fn header_member(&mut self, item: bool, key: &str, value: &str) -> Result<(), CustomHttpError> {
        if item {
            self.flush_header()?;
            self.header = Some((None, None));
        }
        let value = scalar(value)?;
        let header = self
            .header
            .as_mut()
            .ok_or_else(|| CustomHttpError::HeaderOutsideItem(key.to_owned()))?;
        let slot = if key == "key" {
            &mut header.0
        } else {
            &mut header.1
        };
        if slot.replace(value).is_some() {
            return Err(CustomHttpError::HeaderSecondMember(key.to_owned()));
        }
        Ok(())
    }

    /// Move a complete header into the current entry.
    fn flush_header(&mut self) -> Result<(), CustomHttpError> {
        match self.header.take() {
            None => Ok(()),
            Some((Some(key), Some(value))) if !key.is_empty() => {
                self.current()?.headers.push((key, value));
                Ok(())
            }
            Some(_) => Err(CustomHttpError::HeaderIncomplete),
        }
    }

    fn finish(&mut self) -> Result<(), (usize, CustomHttpError)> {
        let end = self.lines;
        if !self.started {
            return Err((1, CustomHttpError::EndNoCustomHeaders));
        }
        self.flush_header().map_err(|why| (end, why))?;
        match self
            .rules
            .iter()
            .find(|r| r.pattern.is_empty() || r.headers.is_empty())
        {
            Some(r) if r.pattern.is_empty() => Err((end, CustomHttpError::EndNoPattern)),
            Some(r) => Err((end, CustomHttpError::EndNoHeaders(quote(&r.pattern)))),
            None => Ok(()),
        }
    }
}

/// A YAML scalar of the block subset: `'single'` (`''` is a quote),
/// `"double"` (`\"` and `\\` escapes) or plain (up to a ` #` comment).
fn scalar(raw: &str) -> Result<String, ScalarError> {
    if let Some(inner) = raw.strip_prefix('\'') {
        let inner = inner
            .strip_suffix('\'')
            .ok_or_else(|| ScalarError::Unterminated(raw.to_owned()))?;
        if inner.replace("''", "").contains('\'') {
            return Err(ScalarError::LoneQuote(raw.to_owned()));
        }
        return Ok(inner.replace("''", "'"));
    }
    if let Some(inner) = raw.strip_prefix('"') {
        let inner = inner
            .strip_suffix('"')
            .ok_or_else(|| ScalarError::Unterminated(raw.to_owned()))?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match (c, c == '\\') {
                (_, true) => match chars.next() {
                    Some(e @ ('"' | '\\' | '/')) => out.push(e),
                    Some('t') => out.push('\t'),
                    other => {
                        return Err(ScalarError::Escape {
                            escape: other.unwrap_or(' '),
                            raw: raw.to_owned(),
                        })
                    }
                },
                ('"', false) => return Err(ScalarError::UnescapedQuote(raw.to_owned())),
                (c, false) => out.push(c),
            }
        }
        return Ok(out);
    }
    let plain = match raw.find(" #") {
        Some(at) => raw[..at].trim_end(),
        None => raw,
    };
    if plain.starts_with(['[', '{', '&', '*', '!', '|', '>', '%', '@', '`']) {
        return Err(ScalarError::NotPlain(raw.to_owned()));
    }
    Ok(plain.to_owned())
}
