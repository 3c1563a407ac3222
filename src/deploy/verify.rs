//! The live check: after SUCCEED, fetch the site (`url` + `--verify-path`)
//! until it serves exactly the bytes of that file in the package, with
//! backoff, within `--verify-timeout` and `--timeout`. A CDN may serve the
//! previous content for a while after a job ends; this says how long.
//!
//! The shared HTTP clients follow no redirects; this check follows them
//! itself (at most [`MAX_REDIRECTS`]), sending the basic auth credentials
//! only to the site's own hosts. `--resolve` sends a host's requests
//! elsewhere (tests point it at the emulator, which serves by `Host`).

use std::time::{Duration, Instant};

use crate::error::{ErrorClass, RunError};
use crate::outcome::{VerifyFacts, VerifyResult};

use super::branch::ReadyBranch;
use super::read::Site;
use super::Ctx;
use crate::choices::Verify;
use crate::settings::{root_document, Source};

const MAX_REDIRECTS: usize = 5;
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);
/// Left of `--timeout` for the reports after the check.
const MARGIN: Duration = Duration::from_secs(2);

/// What the check found, for the outcome, and its verdict: an error only
/// for `--verify strict` when the site does not serve the new content.
pub(super) struct Checked {
    pub(super) facts: Option<VerifyFacts>,
    pub(super) error: Option<RunError>,
}

impl Checked {
    fn ok(facts: Option<VerifyFacts>) -> Checked {
        Checked { facts, error: None }
    }
}

/// A skipped check, saying why; nothing when the check is off.
pub(super) fn skip(ctx: &Ctx, why: &str) -> Option<VerifyFacts> {
    if ctx.settings.verify.mode == Verify::Off {
        return None;
    }
    ctx.reporter.line(format!("live check skipped: {why}"));
    ctx.reporter.github().notice("Live check skipped", why);
    Some(VerifyFacts {
        result: VerifyResult::Skipped,
        seconds: None,
        reason: Some(why.to_owned()),
    })
}

/// The check, as `--verify` asks: the site (`site`, on `branch`) serves
/// `expected` (the page as packaged), else the bytes the settings expect
/// (a stored artifact's page).
pub(super) async fn live_check(
    ctx: &Ctx,
    deadline: Instant,
    (branch, site): (&ReadyBranch, Option<&Site>),
    expected: Option<Vec<u8>>,
) -> Checked {
    let v = &ctx.settings.verify;
    if v.mode == Verify::Off {
        return Checked::ok(None);
    }
    if let Source::Url { .. } = &ctx.source {
        return Checked::ok(skip(
            ctx,
            "nothing to compare: the site came from --source-url",
        ));
    }
    let Some(expected) = expected else {
        let name = root_document(&v.path);
        let why = format!("nothing to compare: the package has no {name}");
        return Checked::ok(skip(ctx, &why));
    };
    if branch.basic_auth_on && branch.check_auth.is_none() {
        let why = "the branch or app has basic auth and no --basic-auth was given";
        return Checked::ok(skip(ctx, why));
    }
    let hosts: Vec<String> = site.map_or(Vec::new(), |s| {
        s.urls.iter().filter_map(|u| host_of(u)).collect()
    });
    let base = site.map_or("", |s| s.url.as_str());
    let url = format!("{}{}", base.trim_end_matches('/'), v.path);
    let until = (Instant::now() + v.timeout).min(deadline.checked_sub(MARGIN).unwrap_or(deadline));
    ctx.reporter
        .line(format!("checking that {url} serves the new content"));
    let started = Instant::now();
    let mut delay = FIRST_DELAY;
    let last = loop {
        let seen = fetch(ctx, &url, &hosts, branch, expected.len(), until).await;
        if seen.as_ref().is_ok_and(|body| *body == expected) {
            return Checked::ok(Some(served(ctx, started.elapsed())));
        }
        if Instant::now() + delay >= until {
            break seen;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_DELAY);
    };
    let what = match last {
        Ok(_) => "it serves other content".to_owned(),
        Err(e) => e.to_string(),
    };
    not_served(ctx, &url, started.elapsed(), what)
}

fn served(ctx: &Ctx, took: Duration) -> VerifyFacts {
    let facts = VerifyFacts {
        result: VerifyResult::Served,
        seconds: Some(seconds(took)),
        reason: None,
    };
    ctx.reporter.line(format!("live check: {}", facts.shown()));
    facts
}

fn not_served(ctx: &Ctx, url: &str, took: Duration, what: String) -> Checked {
    let facts = Some(VerifyFacts {
        result: VerifyResult::NotServed,
        seconds: Some(seconds(took)),
        reason: Some(what.clone()),
    });
    let message = format!(
        "{url} does not serve the new content after {:.1}s: {what}",
        took.as_secs_f64()
    );
    match ctx.settings.verify.mode {
        Verify::Strict => Checked {
            facts,
            error: Some(
                RunError::new(
                    ErrorClass::NotLive,
                    format!("deployed, but the site does not serve it yet: {message}"),
                )
                .hint(
                    "the CDN may still be updating: raise --verify-timeout, or use --verify warn",
                ),
            ),
        },
        _ => {
            ctx.reporter.warning(&message);
            Checked::ok(facts)
        }
    }
}

/// Why one GET of the check got no page, by step; the text is the
/// check's reason.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("bad URL: {source}")]
    Url { source: url::ParseError },
    #[error("{}", crate::http::describe_reqwest_error(.source))]
    Send { source: reqwest::Error },
    #[error("{}", crate::http::describe_reqwest_error(.source))]
    Body { source: reqwest::Error },
    #[error("no answer in time")]
    Timeout,
    #[error("bad redirect: {source}")]
    Redirect { source: url::ParseError },
    #[error("HTTP {0}")]
    Status(u16),
    #[error("more than {MAX_REDIRECTS} redirects")]
    Redirects,
}

fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok()?.host_str().map(str::to_owned)
}

/// One GET of `url`, redirects followed; the body (up to one byte more
/// than expected), or what went wrong.
async fn fetch(
    ctx: &Ctx,
    url: &str,
    own_hosts: &[String],
    branch: &ReadyBranch,
    expected_len: usize,
    until: Instant,
) -> Result<Vec<u8>, FetchError> {
    let mut url = url::Url::parse(url).map_err(|source| FetchError::Url { source })?;
    for _ in 0..=MAX_REDIRECTS {
        let host = url.host_str().unwrap_or_default().to_owned();
        let (target, rewritten) = route(&ctx.settings.verify.resolve, &url);
        let mut req = ctx
            .http
            .get(target)
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .header(reqwest::header::CACHE_CONTROL, "no-cache");
        if rewritten {
            req = req.header(reqwest::header::HOST, &host);
        }
        if let Some(auth) = &branch.check_auth {
            if own_hosts.contains(&host) {
                req = req.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Basic {}", auth.encoded()),
                );
            }
        }
        let answer = tokio::time::timeout_at(until.into(), async {
            let resp = req.send().await.map_err(|e| FetchError::Send {
                source: e.without_url(),
            })?;
            let status = resp.status();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            let body = crate::http::read_capped(resp, expected_len + 1)
                .await
                .map_err(|e| FetchError::Body {
                    source: e.without_url(),
                })?;
            Ok((status, location, body.bytes))
        })
        .await
        .map_err(|_| FetchError::Timeout)??;
        match answer {
            (status, Some(location), _) if status.is_redirection() => {
                url = url
                    .join(&location)
                    .map_err(|source| FetchError::Redirect { source })?;
            }
            (status, _, body) if status.is_success() => return Ok(body),
            (status, _, _) => return Err(FetchError::Status(status.as_u16())),
        }
    }
    Err(FetchError::Redirects)
}

/// `url` sent where `--resolve` says, and whether it was rewritten.
fn route(resolve: &[(String, url::Url)], url: &url::Url) -> (url::Url, bool) {
    let host = url.host_str().unwrap_or_default();
    let Some((_, base)) = resolve
        .iter()
        .find(|(h, _)| h == "*" || h.eq_ignore_ascii_case(host))
    else {
        return (url.clone(), false);
    };
    let mut target = base.clone();
    target.set_path(url.path());
    target.set_query(url.query());
    (target, true)
}
