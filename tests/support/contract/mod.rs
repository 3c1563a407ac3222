//! GitHub's contract, as GitHub publishes it: the REST API's OpenAPI
//! description (npm `@octokit/openapi`), pinned and fetched by
//! `scripts/github-openapi.sh`, which the fake GitHub checks every REST
//! request it receives against ([`rest`]). It is read once per test binary.

pub mod rest;
pub mod schema;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

pub use rest::{Operation, Request, Rest};

/// Where the fetched documents are: `GITHUB_OPENAPI_DIR`, else the
/// folder `scripts/github-openapi.sh` fills by default.
pub fn dir() -> PathBuf {
    match std::env::var_os("GITHUB_OPENAPI_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/github-openapi"
        )),
    }
}

fn load(dir: &std::path::Path, file: &str, package: &str) -> Value {
    let path = dir.join(file);
    let text = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "GitHub's API description {} is missing ({e}): run scripts/github-openapi.sh, \
             which fetches {package} from npm (or set GITHUB_OPENAPI_DIR to the folder it wrote)",
            path.display()
        )
    });
    serde_json::from_slice(&text).unwrap_or_else(|e| {
        panic!(
            "{} is not JSON ({e}): run scripts/github-openapi.sh again",
            path.display()
        )
    })
}

/// The REST API description.
pub fn rest() -> &'static Rest {
    static REST: OnceLock<Rest> = OnceLock::new();
    REST.get_or_init(|| Rest::new(load(&dir(), "openapi.json", "@octokit/openapi")))
}
