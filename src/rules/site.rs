//! The rule files at the root of a site folder, applied to its package:
//! `_headers` becomes a generated `customHttp.yml` (per deploy, so a
//! preview gets its own headers), a `customHttp.yml` the site has is
//! checked and kept, and the rule files themselves stay out of the
//! package unless asked to keep them.

use std::path::Path;

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

/// The rules a sync writes: the `_redirects` file's, in order, then the
/// SPA rewrite with `spa`; and where they come from, for the log. A missing
/// file, a line Amplify cannot express, or nothing to sync is bad input.
pub fn desired_rules(
    redirects: Option<&Path>,
    spa: bool,
) -> Result<(Vec<CustomRule>, String), RunError> {
    let mut rules = Vec::new();
    let mut from = Vec::new();
    if let Some(given) = redirects {
        // A folder stands for its `_redirects`.
        let joined = given.join(REDIRECTS_FILE);
        let path = if given.is_dir() {
            joined.as_path()
        } else {
            given
        };
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
    if from.is_empty() {
        return Err(RunError::input(
            "no rules to sync: pass --from DIR/_redirects, --spa, or both",
        ));
    }
    Ok((rules, from.join(" and ")))
}

/// A refusal of a file named in full.
fn refused_file(e: Refused) -> RunError {
    let mut err = RunError::input(e.to_string());
    for cause in e.causes() {
        err = err.cause(cause);
    }
    err
}
