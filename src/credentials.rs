//! AWS credentials for the run: the standard chain (`aws-config`), or a
//! role assumed with a web identity token: GitHub's OIDC token, requested
//! by the binary itself, or the token file GitLab and EKS provide.
//!
//! Whatever the source, credentials are cached ([`CredentialsCache`]) and
//! refreshed once, shortly before they expire, for every signer at once.
//! A refresh under `role-to-assume` asks for a fresh web identity token
//! first (GitHub's expire about 5 minutes after issue; a token file is
//! re-read, as the CI system rotates it), then calls STS
//! `AssumeRoleWithWebIdentity` itself, with the run's HTTP client: so the
//! call has its timeouts, `AWS_CA_BUNDLE` and proxy, and one STS call is
//! made per credential lifetime, not per request.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;

use crate::error::{one_line, RunError};
use crate::http::{
    body_excerpt, describe_reqwest_error, read_capped, redact_url, retry, xml_element, RetryConfig,
    RetryDecision, RetryObserver, MAX_ERROR_BYTES,
};
use crate::report::Reporter;
use crate::settings::{AwsSettings, Endpoint, TokenEnv};

/// The audience AWS STS expects in GitHub's OIDC token.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// Credentials are refreshed when less than this is left of them …
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// … or less than this part of their lifetime, for short-lived ones.
const REFRESH_MARGIN_DIVISOR: u32 = 4;

/// Time limit of one OIDC token request or STS call.
const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The run's credentials: a [`CredentialsCache`] over the chain, or over
/// the role when `role-to-assume` is set. The role is assumed once here,
/// so that a trust-policy problem is reported before anything else.
pub async fn provider(
    region: &str,
    aws: &AwsSettings,
    http: &reqwest::Client,
    reporter: &Reporter,
) -> Result<SharedCredentialsProvider, RunError> {
    let session_name = match aws.role_session_name.as_deref() {
        Some(name) => validate_session_name(name)?,
        None => aws.default_session_name.clone(),
    };
    let masker = reporter.clone();
    let mask: Mask = Arc::new(move |secret: &str| masker.github().mask(secret));
    let Some(role) = aws.role_to_assume.as_deref() else {
        let chain = standard_chain(region, http).await?;
        let cache = CredentialsCache::new(Box::new(Chain(chain)), mask);
        return Ok(SharedCredentialsProvider::new(cache));
    };
    validate_role_arn(role)?;
    let token = token_source(aws.audience.as_deref(), &aws.token_env)?;
    let role = WebIdentity {
        http: http.clone(),
        sts_endpoint: sts_endpoint(region, aws.sts_endpoint.as_ref())?,
        role_arn: role.to_owned(),
        session_name,
        duration_seconds: aws.role_duration_seconds,
        token,
        mask: mask.clone(),
    };
    let cache = CredentialsCache::new(Box::new(role), mask);
    cache.get().await?;
    Ok(SharedCredentialsProvider::new(cache))
}

/// Credentials from the standard AWS chain: environment, shared config and
/// credentials files and profiles, SSO, web identity token file, ECS and EC2
/// instance metadata. Nothing is fetched until the first call signs. Their
/// requests go through `http`, the client every other call uses (its trust
/// roots, proxy and timeouts).
async fn standard_chain(
    region: &str,
    http: &reqwest::Client,
) -> Result<SharedCredentialsProvider, RunError> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(region.to_owned()))
        .http_client(crate::http::sdk::http_client(http.clone()))
        .load()
        .await;
    config.credentials_provider().ok_or_else(|| {
        RunError::aws("no AWS credentials provider could be configured").hint(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile, or role-to-assume",
        )
    })
}

/// Where the web identity token comes from, decided once from the
/// environment; the token itself is fetched on every refresh.
#[derive(Debug, Clone)]
enum TokenSource {
    /// GitHub Actions with `id-token: write`.
    GitHub {
        url: String,
        bearer: String,
        audience: String,
    },
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` (GitLab, EKS), re-read each time.
    File(PathBuf),
}

fn token_source(audience: Option<&str>, env: &TokenEnv) -> Result<TokenSource, RunError> {
    let permission_hint = "add `permissions: id-token: write` to the job (or the workflow)";
    if let Some(url) = &env.github_request_url {
        let Some(bearer) = env.github_request_token.clone() else {
            return Err(RunError::input(
                "role-to-assume needs the workflow's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set",
            )
            .hint(permission_hint));
        };
        let audience = audience.map(str::trim).filter(|a| !a.is_empty());
        return Ok(TokenSource::GitHub {
            url: url.clone(),
            bearer,
            audience: audience.unwrap_or(STS_AUDIENCE).to_owned(),
        });
    }
    match &env.token_file {
        Some(path) => Ok(TokenSource::File(path.clone())),
        None if env.github_actions => {
            Err(RunError::input(
                "role-to-assume needs the workflow's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_URL is not set",
            )
            .hint(permission_hint))
        }
        None => Err(RunError::input(
            "role-to-assume needs a web identity token: run in GitHub Actions with `permissions: id-token: write`, or set AWS_WEB_IDENTITY_TOKEN_FILE",
        )),
    }
}

fn validate_role_arn(role: &str) -> Result<(), RunError> {
    let ok = role.starts_with("arn:") && role.split(':').count() >= 6 && role.contains(":role/");
    if ok {
        Ok(())
    } else {
        Err(RunError::input(format!(
            "role-to-assume {role:?} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
        )))
    }
}

/// STS's rule for `RoleSessionName`: 2–64 characters of `[\w+=,.@-]`.
fn validate_session_name(name: &str) -> Result<String, RunError> {
    let name = name.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if (2..=64).contains(&name.len()) && name.chars().all(allowed) {
        Ok(name.to_owned())
    } else {
        Err(RunError::input(format!(
            "role-session-name {name:?} is not a valid STS session name: 2 to 64 characters of letters, digits and _+=,.@-"
        )))
    }
}

/// The resolved STS endpoint (`AWS_ENDPOINT_URL_STS`, else
/// `AWS_ENDPOINT_URL`), else the regional one (as the AWS SDKs resolve it).
fn sts_endpoint(region: &str, resolved: Option<&Endpoint>) -> Result<url::Url, RunError> {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let (source, value) = match resolved {
        Some(e) => (e.source, e.url.clone()),
        None => ("default", format!("https://sts.{region}.{suffix}")),
    };
    match url::Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(url),
        _ => Err(RunError::input(format!(
            "{source} {value:?} is not an http(s) URL"
        ))),
    }
}

/// Called with each new secret (keys, session tokens, OIDC tokens) before
/// it could be printed: masks it in GitHub's log.
type Mask = Arc<dyn Fn(&str) + Send + Sync>;

type Fetched<'a> = Pin<Box<dyn Future<Output = Result<Credentials, RunError>> + Send + 'a>>;

/// Something that can produce fresh credentials.
trait Source: Send + Sync + 'static {
    fn fetch(&self) -> Fetched<'_>;
}

/// The standard chain, which re-reads its sources on every call.
struct Chain(SharedCredentialsProvider);

impl Source for Chain {
    fn fetch(&self) -> Fetched<'_> {
        Box::pin(async move {
            self.0.provide_credentials().await.map_err(|e| {
                RunError::aws("could not load AWS credentials")
                    .caused_by(&e)
                    .hint("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile, or role-to-assume")
            })
        })
    }
}

/// Credentials held until shortly before they expire, then refreshed once
/// for every caller (the lock is held across the refresh, so concurrent
/// signers wait for the one refresh instead of starting their own).
pub struct CredentialsCache {
    source: Box<dyn Source>,
    clock: Arc<dyn Fn() -> SystemTime + Send + Sync>,
    held: tokio::sync::Mutex<Option<Held>>,
    mask: Mask,
}

struct Held {
    credentials: Credentials,
    refresh_at: Option<SystemTime>,
}

impl std::fmt::Debug for CredentialsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialsCache(******)")
    }
}

impl CredentialsCache {
    fn new(source: Box<dyn Source>, mask: Mask) -> Self {
        Self::with_clock(source, mask, Arc::new(SystemTime::now))
    }

    fn with_clock(
        source: Box<dyn Source>,
        mask: Mask,
        clock: Arc<dyn Fn() -> SystemTime + Send + Sync>,
    ) -> Self {
        CredentialsCache {
            source,
            clock,
            held: tokio::sync::Mutex::new(None),
            mask,
        }
    }

    /// The cached credentials, refreshed first if they are due. When a
    /// refresh fails while the held credentials are still valid, those
    /// are used (the next call tries again).
    async fn get(&self) -> Result<Credentials, RunError> {
        let mut held = self.held.lock().await;
        let now = (self.clock)();
        if let Some(h) = held.as_ref() {
            if h.refresh_at.is_none_or(|at| now < at) {
                return Ok(h.credentials.clone());
            }
        }
        match self.source.fetch().await {
            Ok(credentials) => {
                (self.mask)(credentials.secret_access_key());
                if let Some(token) = credentials.session_token() {
                    (self.mask)(token);
                }
                let refresh_at = credentials.expiry().map(|exp| refresh_time(now, exp));
                *held = Some(Held {
                    credentials: credentials.clone(),
                    refresh_at,
                });
                Ok(credentials)
            }
            Err(e) => match held.as_ref() {
                Some(h)
                    if h.credentials
                        .expiry()
                        .is_some_and(|exp| (self.clock)() < exp) =>
                {
                    Ok(h.credentials.clone())
                }
                _ => Err(e),
            },
        }
    }
}

/// When credentials fetched at `fetched` and valid until `expires` are
/// refreshed: when less than 5 minutes, or a quarter of their lifetime,
/// whichever is shorter, is left. (A fixed 5-minute margin would refresh
/// credentials that live 5 minutes or less on every call.)
fn refresh_time(fetched: SystemTime, expires: SystemTime) -> SystemTime {
    let lifetime = expires.duration_since(fetched).unwrap_or_default();
    let margin = MAX_REFRESH_MARGIN.min(lifetime / REFRESH_MARGIN_DIVISOR);
    expires - margin
}

impl ProvideCredentials for CredentialsCache {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.get()
                .await
                .map_err(|e| CredentialsError::provider_error(RefreshError(e.to_string())))
        })
    }
}

/// A failed refresh, as the signer reports it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RefreshError(String);

/// `role-to-assume`: a fresh web identity token, then STS.
struct WebIdentity {
    http: reqwest::Client,
    sts_endpoint: url::Url,
    role_arn: String,
    session_name: String,
    duration_seconds: u32,
    token: TokenSource,
    mask: Mask,
}

impl Source for WebIdentity {
    fn fetch(&self) -> Fetched<'_> {
        Box::pin(async move {
            let token = match &self.token {
                TokenSource::GitHub {
                    url,
                    bearer,
                    audience,
                } => github_oidc_token(&self.http, url, bearer, audience).await?,
                TokenSource::File(path) => read_token_file(path)?,
            };
            (self.mask)(&token);
            self.assume_role(&token).await
        })
    }
}

/// The OIDC token request and STS are retried like any call, within a
/// small budget: the whole run is inside `--timeout` anyway.
fn token_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(60),
        request_timeout: TOKEN_REQUEST_TIMEOUT,
        ..RetryConfig::default()
    }
}

fn quiet() -> RetryObserver {
    crate::http::silent_observer()
}

/// One failed attempt at a token or credentials request.
#[derive(Debug)]
enum Attempt {
    Http(reqwest::Error),
    Status {
        status: u16,
        code: String,
        message: String,
    },
}

impl Attempt {
    fn decision(&self) -> RetryDecision {
        match self {
            Attempt::Http(e) if e.is_builder() => RetryDecision::Fail,
            Attempt::Http(e) => RetryDecision::Retry {
                reason: describe_reqwest_error(e),
                after: None,
            },
            Attempt::Status { status, code, .. }
                if *status >= 500
                    || *status == 429
                    || matches!(
                        code.as_str(),
                        "Throttling" | "IDPCommunicationError" | "RequestTimeout"
                    ) =>
            {
                RetryDecision::Retry {
                    reason: format!("HTTP {status} {code}"),
                    after: None,
                }
            }
            Attempt::Status { .. } => RetryDecision::Fail,
        }
    }
}

/// GitHub's OIDC token for `audience`: GET `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=…`
/// with `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answer `{"value": "…"}`.
async fn github_oidc_token(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    audience: &str,
) -> Result<String, RunError> {
    let mut url = url::Url::parse(url)
        .map_err(|e| RunError::input(format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {e}")))?;
    url.query_pairs_mut().append_pair("audience", audience);
    let shown = redact_url(url.as_str());
    let body = match request_oidc_token(http, &url, bearer).await {
        Ok(body) => body,
        Err(Attempt::Http(e)) => {
            return Err(
                RunError::aws(format!("could not get GitHub's OIDC token from {shown}"))
                    .cause(describe_reqwest_error(&e)),
            )
        }
        Err(Attempt::Status {
            status, message, ..
        }) => {
            return Err(RunError::aws(format!(
                "GitHub refused the OIDC token request (HTTP {status})"
            ))
            .cause(one_line(&message))
            .hint("the job needs `permissions: id-token: write`"))
        }
    };
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        value: Option<String>,
    }
    match serde_json::from_slice::<TokenResponse>(&body) {
        Ok(TokenResponse { value: Some(v) }) if !v.is_empty() => Ok(v),
        _ => Err(RunError::aws(
            "GitHub's OIDC token answer has no token (expected {\"value\": …})",
        )),
    }
}

/// One attempt of a token or STS request, within [`TOKEN_REQUEST_TIMEOUT`]:
/// the status and (at most [`MAX_ERROR_BYTES`] of) the body.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), Attempt> {
    let response = request
        .timeout(TOKEN_REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| Attempt::Http(e.without_url()))?;
    let status = response.status().as_u16();
    let body = read_capped(response, MAX_ERROR_BYTES)
        .await
        .map_err(|e| Attempt::Http(e.without_url()))?;
    Ok((status, body.bytes))
}

/// The token request, retried: the answer's body, or the last attempt's failure.
async fn request_oidc_token(
    http: &reqwest::Client,
    url: &url::Url,
    bearer: &str,
) -> Result<Vec<u8>, Attempt> {
    retry(
        &token_retry(),
        "OIDC token request",
        &quiet(),
        Attempt::decision,
        || async {
            let request = http
                .get(url.clone())
                .bearer_auth(bearer)
                .header("accept", "application/json");
            let (status, body) = send(request).await?;
            if !(200..300).contains(&status) {
                return Err(Attempt::Status {
                    status,
                    code: String::new(),
                    message: body_excerpt(&body),
                });
            }
            Ok(body)
        },
    )
    .await
}

fn read_token_file(path: &std::path::Path) -> Result<String, RunError> {
    let token = std::fs::read_to_string(path).map_err(|e| {
        RunError::input(format!(
            "cannot read AWS_WEB_IDENTITY_TOKEN_FILE {}",
            path.display()
        ))
        .cause(e.to_string())
    })?;
    let token = token.trim();
    if token.is_empty() {
        return Err(RunError::input(format!(
            "AWS_WEB_IDENTITY_TOKEN_FILE {} is empty",
            path.display()
        )));
    }
    Ok(token.to_owned())
}

impl WebIdentity {
    /// [AssumeRoleWithWebIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html):
    /// an unsigned form POST; the answer and errors are XML.
    async fn assume_role(&self, token: &str) -> Result<Credentials, RunError> {
        let duration = self.duration_seconds.to_string();
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "AssumeRoleWithWebIdentity")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", &self.role_arn)
            .append_pair("RoleSessionName", &self.session_name)
            .append_pair("WebIdentityToken", token)
            .append_pair("DurationSeconds", &duration)
            .finish();
        let text = self
            .post_to_sts(form)
            .await
            .map_err(|attempt| self.sts_error(attempt))?;
        parse_sts_credentials(&text).ok_or_else(|| {
            self.failed().cause(
                "STS answered without AccessKeyId, SecretAccessKey, SessionToken and Expiration",
            )
        })
    }

    fn failed(&self) -> RunError {
        RunError::aws(format!(
            "could not assume role {} with the web identity token",
            self.role_arn
        ))
    }

    /// The form POST, retried: the answer's text, or the last attempt's failure.
    async fn post_to_sts(&self, form: String) -> Result<String, Attempt> {
        retry(
            &token_retry(),
            "AssumeRoleWithWebIdentity",
            &quiet(),
            Attempt::decision,
            || async {
                let request = self
                    .http
                    .post(self.sts_endpoint.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("accept", "text/xml")
                    .body(form.clone());
                let (status, body) = send(request).await?;
                let text = String::from_utf8_lossy(&body).into_owned();
                if !(200..300).contains(&status) {
                    let code = xml_element(&text, "Code").unwrap_or_default();
                    let message =
                        xml_element(&text, "Message").unwrap_or_else(|| body_excerpt(&body));
                    return Err(Attempt::Status {
                        status,
                        code,
                        message,
                    });
                }
                Ok(text)
            },
        )
        .await
    }

    fn sts_error(&self, attempt: Attempt) -> RunError {
        match attempt {
            Attempt::Http(e) => self
                .failed()
                .cause(format!(
                    "STS at {}: {}",
                    redact_url(self.sts_endpoint.as_str()),
                    describe_reqwest_error(&e)
                ))
                .hint("check that STS is reachable (proxy, AWS_ENDPOINT_URL_STS, AWS_CA_BUNDLE)"),
            Attempt::Status {
                status,
                code,
                message,
            } => {
                let err = self
                    .failed()
                    .cause(one_line(&format!("HTTP {status} {code}: {message}")));
                let hint = if code == "ValidationError" && message.contains("DurationSeconds") {
                    "lower role-duration-seconds to the role's maximum session duration (1 h unless raised)"
                } else {
                    "check the role's trust policy: it must trust token.actions.githubusercontent.com for this repository (see docs/iam.md)"
                };
                err.hint(hint)
            }
        }
    }
}

fn parse_sts_credentials(xml: &str) -> Option<Credentials> {
    let field = |name: &str| xml_element(xml, name).filter(|v| !v.is_empty());
    let expiration = field("Expiration")?;
    let expires = humantime::parse_rfc3339_weak(&expiration).ok()?;
    Some(Credentials::new(
        field("AccessKeyId")?,
        field("SecretAccessKey")?,
        Some(field("SessionToken")?),
        Some(expires),
        "AssumeRoleWithWebIdentity",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_server::{Action, TestServer};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    #[test]
    fn role_arns() {
        assert!(validate_role_arn("arn:aws:iam::123456789012:role/deploy").is_ok());
        assert!(validate_role_arn("arn:aws-cn:iam::123456789012:role/path/deploy").is_ok());
        let e = validate_role_arn("deploy-role").unwrap_err();
        assert!(e.message.contains("role-to-assume"));
        assert_eq!(e.class.code(), 2);
    }

    #[test]
    fn session_names_follow_sts_rules() {
        for good in [
            "ab",
            "amplify-deploy-42",
            "a_b+c=d,e.f@g-h",
            &"x".repeat(64),
        ] {
            assert_eq!(validate_session_name(good).unwrap(), good);
        }
        for bad in [
            "a",
            "",
            "has space",
            "slash/no",
            "é-accent",
            &"x".repeat(65),
        ] {
            let e = validate_session_name(bad).unwrap_err();
            assert!(e.message.contains("role-session-name"), "{bad}");
            assert_eq!(e.class.code(), 2);
        }
    }

    #[test]
    fn refresh_margin_fits_short_and_long_lifetimes() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |lifetime: u64| {
            refresh_time(t0, t0 + Duration::from_secs(lifetime))
                .duration_since(t0)
                .unwrap()
        };
        // An hour: refreshed 5 minutes before the end.
        assert_eq!(at(3600), Duration::from_secs(3300));
        // 10 s: a quarter of the lifetime, not 5 minutes (never "always due").
        assert_eq!(at(10), Duration::from_millis(7500));
        // 15 minutes (STS's minimum): 3m45s before the end.
        assert_eq!(at(900), Duration::from_secs(675));
        // Already expired when fetched: due at once.
        assert_eq!(
            refresh_time(t0, t0 - Duration::from_secs(1)),
            t0 - Duration::from_secs(1)
        );
    }

    #[test]
    fn sts_answer_is_parsed() {
        let xml = r#"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>
          <Credentials><SessionToken>tok/en+=</SessionToken><SecretAccessKey>se/cret</SecretAccessKey>
          <Expiration>2026-11-29T08:00:00Z</Expiration><AccessKeyId>ASIAX</AccessKeyId></Credentials>
          </AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"#;
        let c = parse_sts_credentials(xml).unwrap();
        assert_eq!(c.access_key_id(), "ASIAX");
        assert_eq!(c.secret_access_key(), "se/cret");
        assert_eq!(c.session_token(), Some("tok/en+="));
        assert_eq!(
            c.expiry().unwrap(),
            humantime::parse_rfc3339("2026-11-29T08:00:00Z").unwrap()
        );
        assert!(
            parse_sts_credentials("<Credentials><AccessKeyId>A</AccessKeyId></Credentials>")
                .is_none()
        );
    }

    /// A source that counts its fetches and issues credentials valid for
    /// `lifetime` from the fake clock's now; `fail` makes it fail.
    struct Counting {
        clock: Arc<Mutex<SystemTime>>,
        lifetime: Duration,
        fetches: Arc<AtomicUsize>,
        fail: Arc<Mutex<bool>>,
        delay: Duration,
    }

    impl Source for Counting {
        fn fetch(&self) -> Fetched<'_> {
            Box::pin(async move {
                let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(self.delay).await;
                if *self.fail.lock().unwrap() {
                    return Err(RunError::aws("STS is down"));
                }
                let now = *self.clock.lock().unwrap();
                Ok(Credentials::new(
                    format!("ASIA{n}"),
                    format!("secret{n}"),
                    Some(format!("token{n}")),
                    Some(now + self.lifetime),
                    "test",
                ))
            })
        }
    }

    struct Fixture {
        clock: Arc<Mutex<SystemTime>>,
        fetches: Arc<AtomicUsize>,
        fail: Arc<Mutex<bool>>,
        masked: Arc<Mutex<Vec<String>>>,
        cache: Arc<CredentialsCache>,
    }

    fn fixture(lifetime: Duration, delay: Duration) -> Fixture {
        let clock = Arc::new(Mutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        ));
        let fetches = Arc::new(AtomicUsize::new(0));
        let fail = Arc::new(Mutex::new(false));
        let masked = Arc::new(Mutex::new(Vec::new()));
        let source = Counting {
            clock: clock.clone(),
            lifetime,
            fetches: fetches.clone(),
            fail: fail.clone(),
            delay,
        };
        let sink = masked.clone();
        let mask: Mask = Arc::new(move |s: &str| sink.lock().unwrap().push(s.to_owned()));
        let now = clock.clone();
        let cache = CredentialsCache::with_clock(
            Box::new(source),
            mask,
            Arc::new(move || *now.lock().unwrap()),
        );
        Fixture {
            clock,
            fetches,
            fail,
            masked,
            cache: Arc::new(cache),
        }
    }

    impl Fixture {
        fn advance(&self, by: Duration) {
            *self.clock.lock().unwrap() += by;
        }
        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn credentials_are_kept_until_the_margin_then_refreshed_once() {
        let f = fixture(Duration::from_secs(10), Duration::ZERO);
        let first = f.cache.get().await.unwrap();
        for _ in 0..50 {
            assert_eq!(f.cache.get().await.unwrap().access_key_id(), "ASIA1");
        }
        assert_eq!(f.fetches(), 1);
        // 7.4 s in: still before the 2.5 s margin.
        f.advance(Duration::from_millis(7400));
        assert_eq!(f.cache.get().await.unwrap().access_key_id(), "ASIA1");
        assert_eq!(f.fetches(), 1);
        // 7.6 s in: refreshed, once.
        f.advance(Duration::from_millis(200));
        assert_eq!(f.cache.get().await.unwrap().access_key_id(), "ASIA2");
        assert_eq!(f.cache.get().await.unwrap().access_key_id(), "ASIA2");
        assert_eq!(f.fetches(), 2);
        // Long past expiry: refreshed again.
        f.advance(Duration::from_secs(3600));
        assert_eq!(f.cache.get().await.unwrap().access_key_id(), "ASIA3");
        assert_eq!(f.fetches(), 3);
        // Every new secret was masked.
        let masked = f.masked.lock().unwrap().clone();
        assert!(masked.contains(&first.secret_access_key().to_owned()));
        for n in 1..=3 {
            assert!(masked.contains(&format!("secret{n}")), "{masked:?}");
            assert!(masked.contains(&format!("token{n}")), "{masked:?}");
        }
    }

    /// Twenty callers at once all get the key `want`.
    async fn assert_all_get(f: &Fixture, want: &str) {
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let cache = f.cache.clone();
                tokio::spawn(async move { cache.get().await.unwrap().access_key_id().to_owned() })
            })
            .collect();
        for c in callers {
            assert_eq!(c.await.unwrap(), want);
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh() {
        let f = fixture(Duration::from_secs(10), Duration::from_millis(100));
        assert_all_get(&f, "ASIA1").await;
        assert_eq!(f.fetches(), 1);
        f.advance(Duration::from_secs(9));
        assert_all_get(&f, "ASIA2").await;
        assert_eq!(f.fetches(), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_valid_credentials_but_not_expired_ones() {
        let f = fixture(Duration::from_secs(10), Duration::ZERO);
        f.cache.get().await.unwrap();
        *f.fail.lock().unwrap() = true;
        // Due for refresh (8 s in) but still valid: the held ones are used.
        f.advance(Duration::from_secs(8));
        assert_eq!(f.cache.get().await.unwrap().access_key_id(), "ASIA1");
        // Expired: the refresh error comes through.
        f.advance(Duration::from_secs(3));
        let e = f.cache.get().await.unwrap_err();
        assert!(e.message.contains("STS is down"));
        // Through the SDK trait too, as the signer sees it.
        assert!(f.cache.provide_credentials().await.is_err());
        *f.fail.lock().unwrap() = false;
        assert_eq!(f.cache.get().await.unwrap().access_key_id(), "ASIA5");
    }

    fn web_identity(endpoint: &str, token_file: &std::path::Path) -> WebIdentity {
        WebIdentity {
            http: crate::http::build_client(),
            sts_endpoint: url::Url::parse(endpoint).unwrap(),
            role_arn: "arn:aws:iam::123456789012:role/deploy".into(),
            session_name: "amplify-deploy-7".into(),
            duration_seconds: 900,
            token: TokenSource::File(token_file.to_path_buf()),
            mask: Arc::new(|_: &str| {}),
        }
    }

    fn sts_answer(n: u32) -> Action {
        Action::body(
            200,
            "text/xml",
            &format!(
                "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
                 <SessionToken>token{n}</SessionToken><SecretAccessKey>secret{n}</SecretAccessKey>\
                 <Expiration>2099-01-01T00:00:00Z</Expiration><AccessKeyId>ASIA{n}</AccessKeyId>\
                 </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
            ),
        )
    }

    fn form(body: &[u8]) -> std::collections::BTreeMap<String, String> {
        url::form_urlencoded::parse(body).into_owned().collect()
    }

    #[tokio::test]
    async fn each_refresh_rereads_the_token_file() {
        let server = TestServer::start(vec![sts_answer(1), sts_answer(2)]).await;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "first-token\n").unwrap();
        let source = web_identity(&server.url("/"), &token);
        assert_eq!(source.fetch().await.unwrap().access_key_id(), "ASIA1");
        // The CI system rotates the file; the next refresh sends the new one.
        std::fs::write(&token, "second-token").unwrap();
        let second = source.fetch().await.unwrap();
        assert_eq!(second.access_key_id(), "ASIA2");
        assert_eq!(second.session_token(), Some("token2"));
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        let first = form(&requests[0].body);
        assert_eq!(first["Action"], "AssumeRoleWithWebIdentity");
        assert_eq!(first["Version"], "2011-06-15");
        assert_eq!(first["WebIdentityToken"], "first-token");
        assert_eq!(first["DurationSeconds"], "900");
        assert_eq!(first["RoleSessionName"], "amplify-deploy-7");
        assert_eq!(form(&requests[1].body)["WebIdentityToken"], "second-token");
        // Unsigned: STS authenticates the token, not a signature.
        assert_eq!(requests[0].header("authorization"), None);
    }

    #[tokio::test]
    async fn an_sts_refusal_names_the_code_and_is_not_retried() {
        let server = TestServer::start(vec![Action::body(
            403,
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
             <Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error></ErrorResponse>",
        )])
        .await;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "t").unwrap();
        let e = web_identity(&server.url("/"), &token)
            .fetch()
            .await
            .unwrap_err();
        assert_eq!(e.class.code(), 3);
        assert!(e.message.contains("arn:aws:iam::123456789012:role/deploy"));
        let causes = e.causes().join("\n");
        assert!(
            causes.contains("HTTP 403 AccessDenied: Not authorized"),
            "{causes}"
        );
        assert!(e.hint.unwrap().contains("trust policy"));
        assert_eq!(server.requests().len(), 1);
    }

    #[test]
    fn sts_endpoint_resolution() {
        assert_eq!(
            sts_endpoint("eu-west-1", None).unwrap().as_str(),
            "https://sts.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            sts_endpoint("cn-north-1", None).unwrap().as_str(),
            "https://sts.cn-north-1.amazonaws.com.cn/"
        );
        let local = Endpoint {
            source: "AWS_ENDPOINT_URL_STS",
            url: "http://127.0.0.1:9".into(),
        };
        let url = sts_endpoint("eu-west-1", Some(&local)).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/");
        let bad = Endpoint {
            source: "AWS_ENDPOINT_URL",
            url: "ftp://x".into(),
        };
        let err = sts_endpoint("eu-west-1", Some(&bad)).unwrap_err();
        assert!(
            err.message.starts_with("AWS_ENDPOINT_URL "),
            "{}",
            err.message
        );
    }
}
