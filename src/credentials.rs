//! AWS credentials for the run: the standard chain (`aws-config`), or a
//! role assumed with a web identity token: GitHub's OIDC token, requested
//! by the binary itself, or the token file GitLab and EKS provide.

use std::path::PathBuf;

use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::{StaticConfiguration, WebIdentityTokenCredentialsProvider};
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_types::region::Region;

use crate::error::{one_line, RunError};
use crate::report::Reporter;

/// The audience AWS STS expects in GitHub's OIDC token.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

pub async fn provider(
    region: &str,
    role_to_assume: Option<&str>,
    reporter: &Reporter,
) -> Result<SharedCredentialsProvider, RunError> {
    let Some(role) = role_to_assume.map(str::trim).filter(|r| !r.is_empty()) else {
        return crate::settings::credentials(region).await;
    };
    validate_role_arn(role)?;
    let token_file = match std::env::var_os("ACTIONS_ID_TOKEN_REQUEST_URL") {
        Some(_) => {
            let token = github_oidc_token(STS_AUDIENCE).await?;
            reporter.github().mask(&token);
            TokenFile::write(&token)?
        }
        None => match std::env::var_os("AWS_WEB_IDENTITY_TOKEN_FILE").filter(|v| !v.is_empty()) {
            Some(path) => TokenFile::Given(PathBuf::from(path)),
            None if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") => {
                return Err(RunError::input(
                    "role-to-assume needs the workflow's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_URL is not set",
                )
                .hint("add `permissions: id-token: write` to the job (or the workflow)"))
            }
            None => {
                return Err(RunError::input(
                    "role-to-assume needs a web identity token: run in GitHub Actions with `permissions: id-token: write`, or set AWS_WEB_IDENTITY_TOKEN_FILE",
                ))
            }
        },
    };
    let session_name = session_name();
    let conf = ProviderConfig::default()
        .with_region(Some(Region::new(region.to_owned())))
        .with_http_client(crate::http::sdk::http_client(crate::http::build_client()));
    let inner = WebIdentityTokenCredentialsProvider::builder()
        .configure(&conf)
        .static_configuration(StaticConfiguration {
            web_identity_token_file: token_file.path(),
            role_arn: role.to_owned(),
            session_name,
        })
        .build();
    let provider = RoleProvider {
        inner,
        _token: token_file,
    };
    // Assume the role now, so that a trust-policy problem is reported as one.
    if let Err(e) = provider.provide_credentials().await {
        let mut err = RunError::aws(format!(
            "could not assume role {role} with the web identity token"
        ))
        .caused_by(&e);
        err.causes.retain(|c| !c.is_empty());
        return Err(err.hint(
            "check the role's trust policy: it must trust token.actions.githubusercontent.com for this repository (see IAM permissions in README)",
        ));
    }
    Ok(SharedCredentialsProvider::new(provider))
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

fn session_name() -> String {
    let run = std::env::var("GITHUB_RUN_ID").unwrap_or_default();
    let mut name = format!("amplify-deploy-{run}");
    name.retain(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(c));
    name.trim_end_matches('-').chars().take(64).collect()
}

/// GitHub's OIDC token for `audience`: GET `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=…`
/// with `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answer `{"value": "…"}`.
async fn github_oidc_token(audience: &str) -> Result<String, RunError> {
    let (Ok(url), Ok(bearer)) = (
        std::env::var("ACTIONS_ID_TOKEN_REQUEST_URL"),
        std::env::var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        return Err(RunError::input(
            "role-to-assume needs the workflow's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set",
        )
        .hint("add `permissions: id-token: write` to the job (or the workflow)"));
    };
    let mut url = url::Url::parse(&url)
        .map_err(|e| RunError::input(format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {e}")))?;
    url.query_pairs_mut().append_pair("audience", audience);
    let shown = crate::http::redact_url(url.as_str());
    let response = crate::http::build_client()
        .get(url)
        .bearer_auth(bearer)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| {
            RunError::aws(format!("could not get GitHub's OIDC token from {shown}")).caused_by(&e)
        })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(RunError::aws(format!(
            "GitHub refused the OIDC token request (HTTP {})",
            status.as_u16()
        ))
        .cause(one_line(&body.chars().take(200).collect::<String>()))
        .hint("the job needs `permissions: id-token: write`"));
    }
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        value: Option<String>,
    }
    match serde_json::from_str::<TokenResponse>(&body) {
        Ok(TokenResponse { value: Some(v) }) if !v.is_empty() => Ok(v),
        _ => Err(RunError::aws(
            "GitHub's OIDC token answer has no token (expected {\"value\": …})",
        )),
    }
}

/// The token file the STS provider reads: ours (deleted when the run
/// ends) or one the CI system provides.
#[derive(Debug)]
enum TokenFile {
    Ours(tempfile::TempPath),
    Given(PathBuf),
}

impl TokenFile {
    fn write(token: &str) -> Result<TokenFile, RunError> {
        use std::io::Write;
        let dir = std::env::var_os("RUNNER_TEMP")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        // tempfile creates the file readable by its owner only.
        let mut f = tempfile::Builder::new()
            .prefix("amplify-deploy-oidc-")
            .tempfile_in(&dir)
            .map_err(|e| {
                RunError::input(format!(
                    "cannot write the OIDC token to {}: {e}",
                    dir.display()
                ))
            })?;
        f.write_all(token.as_bytes())
            .map_err(|e| RunError::input(format!("cannot write the OIDC token: {e}")))?;
        Ok(TokenFile::Ours(f.into_temp_path()))
    }

    fn path(&self) -> PathBuf {
        match self {
            TokenFile::Ours(p) => p.to_path_buf(),
            TokenFile::Given(p) => p.clone(),
        }
    }
}

#[derive(Debug)]
struct RoleProvider {
    inner: WebIdentityTokenCredentialsProvider,
    _token: TokenFile,
}

impl ProvideCredentials for RoleProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.inner.provide_credentials()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert!(validate_role_arn("arn:aws:iam::123456789012:role/deploy").is_ok());
        assert!(validate_role_arn("arn:aws-cn:iam::123456789012:role/path/deploy").is_ok());
        let e = validate_role_arn("deploy-role").unwrap_err();
        assert!(e.message.contains("role-to-assume"));
        assert_eq!(e.class.code(), 2);
    }
}
