//! Site behaviour as code: the `_redirects` and `_headers` files
//! Netlify and Cloudflare Pages read, translated to what Amplify Hosting
//! reads (the app's `customRules`, a `customHttp.yml` in the package).
//!
//! Pure: text in, rules or YAML out, and a list of the lines Amplify cannot
//! express. No I/O here; the command layer reads the files and calls the API.

mod diff;
mod follow;
mod headers;
mod redirects;
pub mod site;
pub mod sync;
#[cfg(test)]
mod tests;

use std::fmt;

pub use diff::{diff, rule_line, RuleDiff};
pub use follow::rewrite_target;
pub use headers::{headers_to_custom_http, validate_custom_http, HeaderRule};
pub use redirects::{redirects_to_rules, spa_rule};

/// The file names the rules come from and go to, at the folder's root.
pub const REDIRECTS_FILE: &str = "_redirects";
pub const HEADERS_FILE: &str = "_headers";
pub const CUSTOM_HTTP_FILE: &str = "customHttp.yml";

/// One line that cannot be translated, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 1-based.
    pub line: usize,
    pub why: String,
}

/// Every line of one file that cannot be translated: one error for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The file as the user named it (`_redirects`, `site/_headers`).
    pub file: String,
    pub lines: Vec<Refusal>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.lines.len();
        let s = if n == 1 { "" } else { "s" };
        write!(f, "{}: {n} line{s} Amplify cannot express", self.file)
    }
}

impl std::error::Error for Refused {}

impl Refused {
    /// One line per refused line: `line 3: why`.
    pub fn causes(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|r| format!("line {}: {}", r.line, r.why))
            .collect()
    }
}

/// The significant lines of a rules file: 1-based number and text; blank
/// lines and `#` comment lines left out.
fn significant_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let line = line.trim_start_matches('\u{feff}').trim_end();
        let code = line.trim_start();
        (!code.is_empty() && !code.starts_with('#')).then_some((i + 1, line))
    })
}
