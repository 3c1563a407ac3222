//! The signed Amplify client of a run: region, endpoint, trust roots and
//! credentials, from what [`AwsSettings`] resolved. The profile (region,
//! `ca_bundle`) is read here, when connecting, as the AWS CLI does.

use crate::amplify::{Client, ClientConfig};
use crate::error::RunError;
use crate::http::{self, CallTracer, Purpose, RetryConfig, RetryObserver};
use crate::report::Reporter;
use crate::settings::{AwsSettings, Endpoint};

/// The resolved region, else the profile's.
async fn resolve_region(resolved: Option<&str>) -> Result<String, RunError> {
    if let Some(r) = resolved {
        return validate_region(r);
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

/// The resolved endpoint, else `https://amplify.{region}.amazonaws.com`.
fn resolve_endpoint(resolved: Option<&Endpoint>, region: &str) -> Result<url::Url, RunError> {
    let (source, value) = match resolved {
        Some(e) => (e.source, e.url.clone()),
        None => ("default", format!("https://amplify.{region}.amazonaws.com")),
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

/// Extra trust roots for AWS endpoints (the Amplify API, the upload, STS):
/// the PEM file named by `AWS_CA_BUNDLE`, else by the profile's
/// `ca_bundle`, as the AWS CLI and SDKs read them. None: the platform's
/// and the bundled roots only.
async fn resolve_ca_bundle(from_env: Option<&str>) -> Result<Vec<reqwest::Certificate>, RunError> {
    let (source, path) = if let Some(path) = from_env {
        ("AWS_CA_BUNDLE", path.to_owned())
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

/// A signed Amplify client, with the transport settings the upload shares.
pub struct Connection {
    pub client: Client,
    pub region: String,
    /// The client for the upload (no read timeout: each attempt's time
    /// limit is sized from the file).
    pub http: reqwest::Client,
    pub retry: RetryConfig,
    pub observer: RetryObserver,
    /// Told of every call with `-v` (the S3 client's too).
    pub tracer: Option<CallTracer>,
}

/// Region, endpoint, trust roots and credentials, resolved once for every
/// command. Secrets are masked on GitHub before anything could print them.
pub async fn connect(aws: &AwsSettings, reporter: &Reporter) -> Result<Connection, RunError> {
    let region = resolve_region(aws.region.as_deref()).await?;
    let endpoint = resolve_endpoint(aws.endpoint.as_ref(), &region)?;
    let roots = resolve_ca_bundle(aws.ca_bundle.as_deref()).await?;
    let api_http = http::build_client_with(Purpose::Api, &roots);
    let credentials = crate::credentials::provider(&region, aws, &api_http, reporter).await?;
    reporter.mask_credentials(&credentials).await;
    let retry = RetryConfig::default();
    let observer = reporter.retry_observer(retry.max_retries + 1);
    let tracer = reporter.call_tracer();
    let client = Client::new(ClientConfig {
        endpoint,
        region: region.clone(),
        credentials,
        retry,
        observer: observer.clone(),
        http: api_http,
    })
    .with_tracer(tracer.clone());
    Ok(Connection {
        client,
        region,
        http: http::build_client_with(Purpose::Upload, &roots),
        retry,
        observer,
        tracer,
    })
}

/// The S3 client of the artifact store, on the connection's credentials,
/// trust roots and retries: through `endpoint` (`AWS_ENDPOINT_URL_S3`,
/// path-style, an http(s) URL) when set, else AWS.
pub fn store_client(
    endpoint: Option<&Endpoint>,
    connection: &Connection,
) -> Result<crate::s3::Client, RunError> {
    let endpoint = endpoint.map(Endpoint::http_url).transpose()?;
    Ok(s3_client(endpoint, connection))
}

fn s3_client(endpoint: Option<url::Url>, connection: &Connection) -> crate::s3::Client {
    crate::s3::Client::new(crate::s3::S3Config {
        endpoint,
        region: connection.region.clone(),
        credentials: connection.client.credentials().clone(),
        retry: connection.retry,
        observer: connection.observer.clone(),
        http: connection.http.clone(),
        upload_http: connection.http.clone(),
        tracer: connection.tracer.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_default_and_flag() {
        let flag = Endpoint {
            source: "endpoint-url",
            url: "http://127.0.0.1:4566".into(),
        };
        let u = resolve_endpoint(Some(&flag), "eu-west-1").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:4566/");
        let bad = Endpoint {
            source: "endpoint-url",
            url: "ftp://x".into(),
        };
        assert!(resolve_endpoint(Some(&bad), "eu-west-1").is_err());
        let u = resolve_endpoint(None, "eu-west-1").unwrap();
        assert_eq!(u.as_str(), "https://amplify.eu-west-1.amazonaws.com/");
    }
}
