//! What connecting to AWS needs: region, endpoints, trust roots, the role
//! to assume and the variables its web identity token comes from.

use std::path::PathBuf;

use super::{trimmed, Env};
use crate::cli::AwsArgs;
use crate::error::RunError;

/// `--role-duration-seconds` default, as aws-actions/configure-aws-credentials'.
pub const DEFAULT_ROLE_DURATION_SECONDS: u32 = 3600;

/// Where the Amplify endpoint came from (named in error messages), and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub source: &'static str,
    pub url: String,
}

impl Endpoint {
    /// The value as an http(s) URL with a host, or an error naming where it
    /// came from (one rule for every endpoint parsed so).
    pub fn http_url(&self) -> Result<url::Url, RunError> {
        url::Url::parse(self.url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                RunError::input(format!(
                    "{} {:?} must be an http(s) URL",
                    self.source, self.url
                ))
            })
    }
}

/// The variables a web identity token comes from (read when the role is
/// assumed).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TokenEnv {
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`, when set (GitHub, `id-token: write`).
    pub github_request_url: Option<String>,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: a secret.
    pub github_request_token: Option<String>,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` (GitLab, EKS).
    pub token_file: Option<PathBuf>,
    /// `GITHUB_ACTIONS=true`.
    pub github_actions: bool,
}

impl std::fmt::Debug for TokenEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEnv")
            .field("github_request_url", &self.github_request_url)
            .field(
                "github_request_token",
                &self.github_request_token.as_ref().map(|_| "******"),
            )
            .field("token_file", &self.token_file)
            .field("github_actions", &self.github_actions)
            .finish()
    }
}

impl TokenEnv {
    pub(super) fn resolve(env: &Env) -> TokenEnv {
        let text = |name: &str| env.var_os(name).map(|v| v.to_string_lossy().into_owned());
        TokenEnv {
            github_request_url: text("ACTIONS_ID_TOKEN_REQUEST_URL"),
            github_request_token: env
                .var_os("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
                .and_then(|v| v.into_string().ok()),
            token_file: env
                .var_os("AWS_WEB_IDENTITY_TOKEN_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            github_actions: env.var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
        }
    }
}

/// Region, endpoint, trust roots and role: what connecting needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`; `None`:
    /// the profile's, looked up when connecting.
    pub region: Option<String>,
    /// `--endpoint-url`, else `AWS_ENDPOINT_URL_AMPLIFY`, else
    /// `AWS_ENDPOINT_URL`; `None`: the region's public endpoint.
    pub endpoint: Option<Endpoint>,
    /// `AWS_CA_BUNDLE`; `None`: the profile's `ca_bundle`, if any.
    pub ca_bundle: Option<String>,
    pub role_to_assume: Option<String>,
    /// As given; checked when the role is assumed.
    pub role_session_name: Option<String>,
    /// `amplify-deploy-$GITHUB_RUN_ID`, cut to what STS accepts.
    pub default_session_name: String,
    pub role_duration_seconds: u32,
    pub audience: Option<String>,
    /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`; `None`: the
    /// region's public endpoint.
    pub sts_endpoint: Option<Endpoint>,
    pub token_env: TokenEnv,
    /// `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`: the artifact
    /// store's endpoint, addressed path-style; `None`: AWS.
    pub s3_endpoint: Option<Endpoint>,
}

impl AwsSettings {
    pub fn resolve(args: &AwsArgs, env: &Env) -> AwsSettings {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let endpoint = match given(&args.endpoint_url) {
            Some(url) => Some(("endpoint-url", url)),
            None => ["AWS_ENDPOINT_URL_AMPLIFY", "AWS_ENDPOINT_URL"]
                .into_iter()
                .find_map(|name| env.get(name).map(|v| (name, v))),
        };
        let sts_endpoint = ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"]
            .into_iter()
            .find_map(|name| env.get(name).map(|url| Endpoint { source: name, url }));
        let s3_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .into_iter()
            .find_map(|name| env.get(name).map(|url| Endpoint { source: name, url }));
        AwsSettings {
            s3_endpoint,
            sts_endpoint,
            token_env: TokenEnv::resolve(env),
            region: given(&args.region)
                .or_else(|| env.get("AWS_REGION"))
                .or_else(|| env.get("AWS_DEFAULT_REGION")),
            endpoint: endpoint.map(|(source, url)| Endpoint { source, url }),
            ca_bundle: env.get("AWS_CA_BUNDLE"),
            role_to_assume: trimmed(&args.role_to_assume),
            role_session_name: args.role_session_name.clone(),
            default_session_name: default_session_name(
                &env.get("GITHUB_RUN_ID").unwrap_or_default(),
            ),
            role_duration_seconds: args
                .role_duration_seconds
                .unwrap_or(DEFAULT_ROLE_DURATION_SECONDS),
            audience: trimmed(&args.audience),
        }
    }
}

pub(super) fn default_session_name(run_id: &str) -> String {
    let mut name = format!("amplify-deploy-{run_id}");
    name.retain(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(c));
    name.trim_end_matches('-').chars().take(64).collect()
}
