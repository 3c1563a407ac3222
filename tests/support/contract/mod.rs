//! GitHub's contract, as GitHub publishes it: the REST API's OpenAPI
//! description (npm `@octokit/openapi`) and the webhooks' (npm
//! `@octokit/openapi-webhooks`), pinned and fetched by
//! `scripts/github-openapi.sh`. The fake GitHub checks every REST request
//! it receives against the first ([`rest`]); the tests' event payloads are
//! built from the second ([`event_payload`]). Each document is read once
//! per test binary.

pub mod rest;
pub mod schema;
pub mod webhooks;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

pub use rest::{Operation, Request, Rest};
pub use webhooks::Webhooks;

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

/// The webhooks description.
pub fn webhooks() -> &'static Webhooks {
    static WEBHOOKS: OnceLock<Webhooks> = OnceLock::new();
    WEBHOOKS.get_or_init(|| Webhooks {
        doc: load(&dir(), "openapi-webhooks.json", "@octokit/openapi-webhooks"),
    })
}

/// A webhook payload of `event` with `action` (empty for events that have
/// none, such as `push`), `overrides` merged in: see [`Webhooks::payload`].
pub fn event_payload(event: &str, action: &str, overrides: Value) -> Value {
    webhooks().payload(event, action, &overrides)
}
