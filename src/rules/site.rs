//! The rule files at the root of a site folder, applied to its package:
//! `_headers` becomes a generated `customHttp.yml` (per deploy, so a
//! preview gets its own headers), a `customHttp.yml` the site has is
//! checked and kept, and the rule files themselves stay out of the
//! package unless asked to keep them. And the rules a sync writes, which
//! both `rules sync` and `deploy --sync-rules` build here: `_redirects`,
//! the SPA rewrite, and the not-found page (`404.html`) that Netlify and
//! Cloudflare Pages serve by themselves and Amplify needs a rule for.

use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::{headers_to_custom_http, redirects_to_rules, spa_rule, validate_custom_http, Refused};
use super::{CUSTOM_HTTP_FILE, HEADERS_FILE, REDIRECTS_FILE};
use crate::amplify::CustomRule;
use crate::error::RunError;
use crate::package::{Generated, PackageOptions};

/// Apply the folder's rule files to `opts`. Bad input (both header files,
/// a line Amplify cannot express, a malformed `customHttp.yml`) is an
/// error before anything is packaged.
pub fn apply_to_package(opts: &mut PackageOptions, keep_rule_files: bool) -> Result<(), RunError> {
    let root = opts.root.clone();
    let headers = read_if_file(&root, HEADERS_FILE)?;
    let custom = read_if_file(&root, CUSTOM_HTTP_FILE)?;
    match (headers, custom) {
        (Some(_), Some(_)) => {
            return Err(RunError::input(format!(
                "{} has both {HEADERS_FILE} and {CUSTOM_HTTP_FILE}: keep one (amplify-deploy writes {CUSTOM_HTTP_FILE} from {HEADERS_FILE})",
                root.display()
            )))
        }
        (Some(text), None) => {
            let yaml = headers_to_custom_http(&text).map_err(|e| refused(&root, e))?;
            opts.generated.push(Generated {
                name: CUSTOM_HTTP_FILE.into(),
                bytes: yaml.into_bytes(),
            });
        }
        (None, Some(text)) => {
            validate_custom_http(&text).map_err(|e| refused(&root, e))?;
        }
        (None, None) => {}
    }
    if !keep_rule_files {
        opts.leave_out = vec![HEADERS_FILE.into(), REDIRECTS_FILE.into()];
    }
    Ok(())
}

/// A rules file's refusal as bad input: one cause line per bad line.
pub fn refused(dir: &Path, mut e: Refused) -> RunError {
    e.file = dir.join(&e.file).display().to_string();
    refused_file(e)
}

/// The text of `dir/name` when it is a file.
fn read_if_file(dir: &Path, name: &str) -> Result<Option<String>, RunError> {
    let path = dir.join(name);
    if !path.is_file() {
        return Ok(None);
    }
    std::fs::read_to_string(&path)
        .map(Some)
        .map_err(|e| RunError::input(format!("cannot read {}: {e}", path.display())))
}

/// `--not-found-page`: which page answers the paths no file or rule
/// serves, with status 404.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NotFoundPage {
    /// `404.html` at the folder's root, when the folder has one (what
    /// Netlify and Cloudflare Pages serve by themselves).
    #[default]
    Default,
    /// This site path (`/errors/missing.html`); the file must exist.
    Page(String),
    /// `none`: no not-found rule.
    Off,
}

impl NotFoundPage {
    /// The setting as given: unset or blank is the default, `none` off.
    pub fn parse(value: Option<&str>) -> NotFoundPage {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => NotFoundPage::Default,
            Some(v) if v.eq_ignore_ascii_case("none") => NotFoundPage::Off,
            Some(v) => NotFoundPage::Page(v.to_owned()),
        }
    }
}

/// The page of the default not-found rule, at the folder's root.
pub const NOT_FOUND_FILE: &str = "404.html";

/// The rules a sync writes: the `_redirects` file's, in order, then the
/// SPA rewrite with `spa`, then the not-found rule (see [`not_found_rule`]);
/// and where they come from, for the log. A missing file, a line Amplify
/// cannot express, a bad `--not-found-page`, or nothing to sync is bad
/// input. `redirects` is the file or the folder holding it; the not-found
/// page is looked for in that folder.
pub fn desired_rules(
    redirects: Option<&Path>,
    spa: bool,
    not_found: &NotFoundPage,
) -> Result<(Vec<CustomRule>, String), RunError> {
    let file = redirects.map(|given| {
        // A folder stands for its `_redirects`.
        if given.is_dir() {
            given.join(REDIRECTS_FILE)
        } else {
            given.to_path_buf()
        }
    });
    let folder = file.as_deref().map(folder_of);
    let (rules, from) = build_rules(file.as_deref(), folder.as_deref(), spa, not_found)?;
    if from.is_empty() {
        return Err(RunError::input(
            "no rules to sync: pass --from DIR/_redirects, --spa, or both",
        ));
    }
    Ok((rules, from))
}

/// `deploy --sync-rules`: the rules of the site `folder` (its `_redirects`
/// when it has one, its not-found page) and the SPA rewrite with `spa`;
/// `folder` is `None` for a `--source-url` deploy.
pub fn deploy_rules(
    folder: Option<&Path>,
    spa: bool,
    not_found: &NotFoundPage,
) -> Result<(Vec<CustomRule>, String), RunError> {
    let redirects = folder
        .map(|f| f.join(REDIRECTS_FILE))
        .filter(|p| p.is_file());
    let (rules, from) = build_rules(redirects.as_deref(), folder, spa, not_found)?;
    if from.is_empty() {
        let shown = folder.map_or("the folder".into(), |f| f.display().to_string());
        return Err(RunError::input(format!(
            "sync-rules: {shown} has no {REDIRECTS_FILE} or {NOT_FOUND_FILE} and --spa is not set: no rules to sync"
        )));
    }
    Ok((rules, from))
}

/// The folder a rules file is in (`.` for a bare file name).
fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The rules of `redirects`, the SPA rewrite, the not-found rule, and
/// what they came from (empty: nothing to sync).
fn build_rules(
    redirects: Option<&Path>,
    folder: Option<&Path>,
    spa: bool,
    not_found: &NotFoundPage,
) -> Result<(Vec<CustomRule>, String), RunError> {
    let mut rules = Vec::new();
    let mut from = Vec::new();
    if let Some(path) = redirects {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RunError::input(format!("cannot read {}: {e}", path.display())))?;
        let shown = path.display().to_string();
        rules = redirects_to_rules(&text, &shown).map_err(refused_file)?;
        from.push(shown);
    }
    if spa {
        rules.push(spa_rule());
        from.push("--spa".into());
    }
    if let Some(rule) = not_found_rule(folder, not_found, &rules)? {
        from.push(format!("the not-found page {}", rule.target));
        rules.push(rule);
    }
    Ok((rules, from.join(" and ")))
}

/// Amplify's catch-all source: a rule with it answers every path first.
const CATCH_ALL: &str = "/<*>";

/// The rule that answers missing paths with the not-found page and 404,
/// to go last (after the SPA rewrite, which leaves paths with a file
/// extension to it): `/<*>` to the page, status `404`, which Amplify
/// applies only where no file matches. `None` with `none`, without a
/// page, or (the default page) when a rule already catches every path.
/// A page named with `--not-found-page` must be a file of `folder`.
pub fn not_found_rule(
    folder: Option<&Path>,
    setting: &NotFoundPage,
    rules: &[CustomRule],
) -> Result<Option<CustomRule>, RunError> {
    let page = match setting {
        NotFoundPage::Off => return Ok(None),
        NotFoundPage::Default => {
            let has_page = folder.is_some_and(|f| f.join(NOT_FOUND_FILE).is_file());
            if !has_page || rules.iter().any(|r| r.source == CATCH_ALL) {
                return Ok(None);
            }
            format!("/{NOT_FOUND_FILE}")
        }
        NotFoundPage::Page(page) => {
            checked_page(folder, page)?;
            if let Some(r) = rules.iter().find(|r| r.source == CATCH_ALL) {
                return Err(RunError::input(format!(
                    "not-found-page {page}: the rules already catch every path ({} -> {}), so it would never be served",
                    r.source, r.target
                ))
                .hint("drop that rule, or leave --not-found-page out"));
            }
            page.clone()
        }
    };
    Ok(Some(CustomRule {
        source: CATCH_ALL.into(),
        target: utf8_percent_encode(&page, PAGE_ESCAPES).to_string(),
        status: Some("404".into()),
        condition: None,
    }))
}

/// What a page's name cannot carry raw in a rule target: controls, space,
/// the characters URLs and Amplify's placeholders give a meaning to, and
/// (always) non-ASCII; as browsers send them.
const PAGE_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `--not-found-page PATH`: a site path to a file of `folder`.
fn checked_page(folder: Option<&Path>, page: &str) -> Result<(), RunError> {
    let bad = |why: String| Err(RunError::input(format!("not-found-page {page:?}: {why}")));
    let Some(rel) = page.strip_prefix('/') else {
        return bad("must be a site path starting with / (e.g. /404.html), or none".into());
    };
    if rel
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("must name a file of the site: no empty, `.` or `..` segments".into());
    }
    let Some(folder) = folder else {
        return bad(
            "no site folder to find it in (deploy --path, or rules sync --from DIR/_redirects)"
                .into(),
        );
    };
    let file = folder.join(rel);
    if !file.is_file() {
        return bad(format!("{} is not a file", file.display()));
    }
    Ok(())
}

/// A refusal of a file named in full.
fn refused_file(e: Refused) -> RunError {
    let mut err = RunError::input(e.to_string());
    for cause in e.causes() {
        err = err.cause(cause);
    }
    err
}
