//! Settings: validate what the user asked for, and resolve region, endpoint
//! and credentials. One precedence chain, visible here:
//! flag > `AMPLIFY_*` > `INPUT_*` (mapped in `cli`) > AWS conventions > default.

use aws_config::BehaviorVersion;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::region::Region;

use crate::amplify::{Client, ClientConfig};
use crate::cli::AwsArgs;
use crate::error::RunError;
use crate::http::{self, Purpose, RetryConfig, RetryObserver};
use crate::report::Reporter;

/// `appId` matches `d[a-z0-9]+`, 1–20 characters.
pub fn validate_app_id(app_id: Option<&str>) -> Result<String, RunError> {
    let Some(app_id) = app_id.filter(|s| !s.is_empty()) else {
        return Err(RunError::input(
            "app-id is required: pass --app-id or set AMPLIFY_APP_ID (input app-id in GitHub Actions)",
        ));
    };
    let ok = app_id.len() <= 20
        && app_id.starts_with('d')
        && app_id.len() > 1
        && app_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok {
        return Err(RunError::input(format!(
            "app-id {app_id:?} is not an Amplify app id: expected 'd' then lower-case letters or digits, at most 20 characters (e.g. d1a2b3c4d5e6f7)"
        )));
    }
    Ok(app_id.to_owned())
}

/// Branch names are 1–255 characters.
pub fn validate_branch(branch: Option<&str>) -> Result<String, RunError> {
    let Some(branch) = branch.filter(|s| !s.is_empty()) else {
        return Err(RunError::input(
            "branch is required: pass --branch or set AMPLIFY_BRANCH (input branch in GitHub Actions)",
        ));
    };
    let chars = branch.chars().count();
    if chars > 255 {
        return Err(RunError::input(format!(
            "branch is {chars} characters long: Amplify allows at most 255"
        )));
    }
    if branch.chars().any(char::is_control) {
        return Err(RunError::input(format!(
            "branch {branch:?} contains a control character"
        )));
    }
    Ok(branch.to_owned())
}

/// `http(s)://…` or `s3://bucket/…`.
pub fn validate_source_url(url: &str) -> Result<(), RunError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| RunError::input(format!("source-url {url:?} is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" | "http" | "s3" if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        scheme => Err(RunError::input(format!(
            "source-url scheme {scheme:?} is not supported: use https://… (a public .zip) or s3://bucket/prefix"
        ))),
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's.
pub async fn resolve_region(flag: Option<&str>) -> Result<String, RunError> {
    if let Some(r) = flag.filter(|r| !r.is_empty()) {
        return validate_region(r);
    }
    if let Some(r) = env_nonempty("AWS_REGION").or_else(|| env_nonempty("AWS_DEFAULT_REGION")) {
        return validate_region(&r);
    }
    use aws_config::meta::region::ProvideRegion;
    let profile = aws_config::profile::ProfileFileRegionProvider::new();
    match profile.region().await {
        Some(r) => validate_region(r.as_ref()),
        None => Err(RunError::input(
            "region is not set: pass --region or set AWS_REGION (or a region in your AWS profile)",
        )),
    }
}

fn validate_region(r: &str) -> Result<String, RunError> {
    let r = r.trim();
    if !r.is_empty()
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(r.to_owned())
    } else {
        Err(RunError::input(format!(
            "region {r:?} is not an AWS region name (e.g. us-east-1)"
        )))
    }
}

/// `--endpoint-url`, else `AWS_ENDPOINT_URL_AMPLIFY`, else `AWS_ENDPOINT_URL`,
/// else `https://amplify.{region}.amazonaws.com`.
pub fn resolve_endpoint(flag: Option<&str>, region: &str) -> Result<url::Url, RunError> {
    let (source, value) = if let Some(f) = flag.filter(|f| !f.is_empty()) {
        ("endpoint-url", f.to_owned())
    } else if let Some(v) = env_nonempty("AWS_ENDPOINT_URL_AMPLIFY") {
        ("AWS_ENDPOINT_URL_AMPLIFY", v)
    } else if let Some(v) = env_nonempty("AWS_ENDPOINT_URL") {
        ("AWS_ENDPOINT_URL", v)
    } else {
        ("default", format!("https://amplify.{region}.amazonaws.com"))
    };
    let url = url::Url::parse(value.trim())
        .map_err(|e| RunError::input(format!("{source} {value:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(RunError::input(format!(
            "{source} {value:?} must be an http(s) URL"
        )));
    }
    Ok(url)
}

/// Credentials from the standard AWS chain: environment, shared config and
/// credentials files and profiles, SSO, web identity token file, ECS and EC2
/// instance metadata. Nothing is fetched until the first call signs. Their
/// requests go through `http`, the client every other call uses (its trust
/// roots, proxy and timeouts).
pub async fn credentials(
    region: &str,
    http: &reqwest::Client,
) -> Result<SharedCredentialsProvider, RunError> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .http_client(crate::http::sdk::http_client(http.clone()))
        .load()
        .await;
    config.credentials_provider().ok_or_else(|| {
        RunError::aws("no AWS credentials provider could be configured").hint(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile, or role-to-assume",
        )
    })
}

/// Extra trust roots for AWS endpoints (the Amplify API, the upload, STS):
/// the PEM file named by `AWS_CA_BUNDLE`, else by the profile's
/// `ca_bundle`, as the AWS CLI and SDKs read them. None: the platform's
/// and the bundled roots only.
pub async fn resolve_ca_bundle() -> Result<Vec<reqwest::Certificate>, RunError> {
    let (source, path) = if let Some(path) = env_nonempty("AWS_CA_BUNDLE") {
        ("AWS_CA_BUNDLE", path)
    } else if let Some(path) = profile_value("ca_bundle").await {
        ("the profile's ca_bundle", path)
    } else {
        return Ok(Vec::new());
    };
    let path = path.trim();
    let pem = std::fs::read(path).map_err(|e| {
        RunError::input(format!("cannot read {source} {path}")).cause(e.to_string())
    })?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(roots) if !roots.is_empty() => Ok(roots),
        Ok(_) => Err(RunError::input(format!(
            "{source} {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ))),
        Err(e) => Err(
            RunError::input(format!("{source} {path} is not a PEM certificate bundle"))
                .caused_by(&e),
        ),
    }
}

/// A setting of the selected profile (`AWS_PROFILE`, else `default`) in
/// the shared config and credentials files.
async fn profile_value(key: &str) -> Option<String> {
    // aws-config re-exports only this deprecated name of aws-runtime's
    // `EnvConfigFiles`; depending on aws-runtime for it is not worth it.
    #[allow(deprecated)]
    use aws_config::profile::profile_file::ProfileFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    #[allow(deprecated)]
    let files = ProfileFiles::default();
    let profiles = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None)
        .await
        .ok()?;
    profiles
        .get(key)
        .map(str::to_owned)
        .filter(|v| !v.trim().is_empty())
}

/// A signed Amplify client built from what [`AwsArgs`] and the environment
/// say, with the transport settings the upload shares.
pub struct Connection {
    pub client: Client,
    pub region: String,
    /// The client for the upload (no read timeout: each attempt's time
    /// limit is sized from the file).
    pub http: reqwest::Client,
    pub retry: RetryConfig,
    pub observer: RetryObserver,
}

/// Region, endpoint, trust roots and credentials, resolved once for every
/// command. Secrets are masked on GitHub before anything could print them.
pub async fn connect(aws: &AwsArgs, reporter: &Reporter) -> Result<Connection, RunError> {
    let region = resolve_region(aws.region.as_deref()).await?;
    let endpoint = resolve_endpoint(aws.endpoint_url.as_deref(), &region)?;
    let roots = resolve_ca_bundle().await?;
    let api_http = http::build_client_with(Purpose::Api, &roots);
    let credentials = crate::credentials::provider(&region, aws, &api_http, reporter).await?;
    reporter.mask_credentials(&credentials).await;
    let retry = RetryConfig::default();
    let observer = reporter.retry_observer(retry.max_retries + 1);
    let client = Client::new(ClientConfig {
        endpoint,
        region: region.clone(),
        credentials,
        retry,
        observer: observer.clone(),
        http: api_http,
    });
    Ok(Connection {
        client,
        region,
        http: http::build_client_with(Purpose::Upload, &roots),
        retry,
        observer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids() {
        assert_eq!(validate_app_id(Some("d1a2b3")).unwrap(), "d1a2b3");
        for bad in ["", "x123", "d", "D123", "d12_3", "d123456789012345678901"] {
            let err = validate_app_id(Some(bad)).unwrap_err();
            assert!(err.message.contains("app-id"), "{bad}: {}", err.message);
            assert_eq!(err.class.code(), 2);
        }
        assert!(validate_app_id(None)
            .unwrap_err()
            .message
            .contains("--app-id"));
    }

    #[test]
    fn branches() {
        assert_eq!(validate_branch(Some("feature/x")).unwrap(), "feature/x");
        assert!(validate_branch(Some(&"b".repeat(255))).is_ok());
        assert!(validate_branch(Some(&"b".repeat(256)))
            .unwrap_err()
            .message
            .contains("255"));
        assert!(validate_branch(Some("")).is_err());
    }

    #[test]
    fn source_urls() {
        assert!(validate_source_url("https://example.com/site.zip").is_ok());
        assert!(validate_source_url("s3://bucket/prefix/").is_ok());
        assert!(validate_source_url("ftp://x/y")
            .unwrap_err()
            .message
            .contains("ftp"));
        assert!(validate_source_url("not a url").is_err());
    }

    #[test]
    fn endpoint_default_and_flag() {
        let u = resolve_endpoint(Some("http://127.0.0.1:4566"), "eu-west-1").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:4566/");
        assert!(resolve_endpoint(Some("ftp://x"), "eu-west-1").is_err());
    }
}
