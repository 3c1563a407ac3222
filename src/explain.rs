//! Turn what AWS answered into errors people can act on: what failed, with
//! the app, branch and region involved, and what to do about it.

use crate::amplify::{limit_kind, ApiError, Limit};
use crate::error::{one_line, RunError};

/// Where a call was made, for messages.
pub struct Scope<'a> {
    pub app_id: &'a str,
    pub branch: &'a str,
    pub region: &'a str,
}

/// An app that serves server-side rendering takes no manual deploys: what
/// the preflight says when GetApp shows one, and what a refusal from the
/// service is turned into.
pub fn web_compute_app(app_id: &str) -> RunError {
    RunError::input(format!(
        "app {app_id} is a WEB_COMPUTE (server-side rendered) app, which cannot take manual deployments"
    ))
}

/// The IAM action an operation needs.
fn iam_action(operation: &str) -> String {
    format!("amplify:{operation}")
}

/// `User: arn:… is not authorized to perform: amplify:CreateDeployment on resource: arn:…`
/// → (action, resource)
fn parse_access_denied(message: &str) -> Option<(String, String)> {
    let rest = message.split("perform: ").nth(1)?;
    let (action, rest) = rest.split_once(" on resource: ")?;
    let resource = rest.split([' ', '\n']).next().unwrap_or(rest);
    Some((
        action.trim().to_owned(),
        resource.trim_end_matches(['.', ',']).to_owned(),
    ))
}

/// The one wording of a missing branch, for [`explain`] and the branch commands.
pub fn no_branch(scope: &Scope<'_>) -> RunError {
    RunError::aws(format!(
        "no branch {:?} in Amplify app {} ({})",
        scope.branch, scope.app_id, scope.region
    ))
}

pub fn explain(err: &ApiError, scope: &Scope<'_>) -> RunError {
    let mut out = match err {
        ApiError::Service {
            operation,
            status,
            error_type,
            message,
            server_date,
            ..
        } => {
            let refusal = Refusal {
                operation,
                status: *status,
                error_type,
                message,
                lower: message.to_ascii_lowercase(),
                server_date: server_date.as_deref(),
            };
            explain_refusal(&refusal, scope)
        }
        ApiError::Transport {
            operation,
            source,
            proxy: Some(proxy),
        } => RunError::aws(format!(
            "{operation} failed: could not reach the Amplify API: {proxy}"
        ))
        .caused_by(source)
        .hint("check that the proxy is up and its variable is right, or leave the host out with NO_PROXY"),
        ApiError::Transport {
            operation, source, ..
        } => RunError::aws(format!("{operation} failed: could not reach the Amplify API"))
            .caused_by(source)
            .hint("check the network, HTTPS_PROXY/NO_PROXY and the endpoint URL"),
        ApiError::Decode { operation, status, message, .. } => RunError::aws(format!(
            "{operation}: unexpected answer from the Amplify API (HTTP {status})"
        ))
        .cause(one_line(message)),
        ApiError::Credentials { source } => RunError::aws("could not load AWS credentials")
            .caused_by(source)
            .hint("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, configure a profile, or use role-to-assume"),
        ApiError::Signing { message } => {
            RunError::aws("could not sign the request").cause(one_line(message))
        }
    };
    if let Some(id) = err.request_id() {
        out = out.cause(format!("AWS request id: {id}"));
    }
    out
}

/// An error answer of the service, as [`explain`] reads it.
struct Refusal<'a> {
    operation: &'a str,
    status: u16,
    error_type: &'a str,
    message: &'a str,
    /// `message`, lower-cased.
    lower: String,
    server_date: Option<&'a str>,
}

impl Refusal<'_> {
    /// What the service said, as a cause: `NotFoundException: …`.
    fn said(&self) -> String {
        format!("{}: {}", self.error_type, one_line(self.message))
    }
}

fn explain_refusal(r: &Refusal<'_>, scope: &Scope<'_>) -> RunError {
    let known = match r.error_type {
        "NotFoundException" => Some(not_found(r, scope)),
        "LimitExceededException" => limit_reached(r, scope),
        _ => not_allowed(r, scope).or_else(|| bad_credentials(r)),
    };
    known.unwrap_or_else(|| {
        if r.lower.contains("web_compute") {
            web_compute_app(scope.app_id).cause(r.said())
        } else {
            RunError::aws(format!("{} failed", r.operation)).cause(format!(
                "{} (HTTP {}): {}",
                r.error_type,
                r.status,
                one_line(r.message)
            ))
        }
    })
}

/// NotFoundException: the branch, a job, or else the app.
fn not_found(r: &Refusal<'_>, scope: &Scope<'_>) -> RunError {
    let Scope {
        app_id,
        branch,
        region,
    } = *scope;
    if r.lower.contains("branch") {
        no_branch(scope)
            .cause(r.said())
            .hint("create the branch in the Amplify console, or pass --create-branch")
    } else if r.lower.contains("job") {
        RunError::aws(format!(
            "{}: job not found on {app_id}/{branch} ({region})",
            r.operation
        ))
        .cause(r.said())
    } else {
        RunError::aws(format!("no Amplify app {app_id} in {region}"))
            .cause(r.said())
            .hint("check app-id and region (the app id is in the Amplify console URL and under App settings)")
    }
}

/// LimitExceededException of a fixed count (branches, tags) or a quota
/// that did not clear; `None` for one about the request rate.
fn limit_reached(r: &Refusal<'_>, scope: &Scope<'_>) -> Option<RunError> {
    let Scope { app_id, region, .. } = *scope;
    let operation = r.operation;
    let e = match limit_kind(operation, r.message) {
        Limit::FixedCount if r.lower.contains("branch") => RunError::aws(format!(
            "app {app_id} has reached Amplify's limit of 50 branches"
        ))
        .cause(r.said())
        .hint(format!(
            "delete unused branches (amplify-deploy delete-branch --app-id {app_id} --branch NAME, or the console)"
        )),
        Limit::FixedCount => RunError::aws(format!("{operation} failed: an AWS limit on tags was reached"))
            .cause(r.said())
            .hint("an AWS resource has at most 50 tags: remove tags you no longer use"),
        Limit::Quota => RunError::aws(format!(
            "{operation} failed: an Amplify quota in {region} did not clear within --quota-wait"
        ))
        .cause(r.said())
        .hint("let other deployments in this account and region finish, raise --quota-wait, or ask for a higher quota in the Service Quotas console"),
        Limit::RequestRate => return None,
    };
    Some(e)
}

/// Access denied: which IAM action on which resource is missing.
fn not_allowed(r: &Refusal<'_>, scope: &Scope<'_>) -> Option<RunError> {
    if !matches!(
        r.error_type,
        "AccessDeniedException" | "UnauthorizedException"
    ) {
        return None;
    }
    let Scope {
        app_id,
        branch,
        region,
    } = *scope;
    let (action, resource) = parse_access_denied(r.message).unwrap_or_else(|| {
        (
            iam_action(r.operation),
            format!("arn:aws:amplify:{region}:<account>:apps/{app_id}/branches/{branch}/*"),
        )
    });
    Some(
        RunError::aws(format!("not allowed to call {action} on {resource}"))
            .cause(r.said())
            .hint(format!(
                "grant {action} on that resource to the role or user running the deploy (see docs/iam.md)"
            )),
    )
}

/// A signature or credentials AWS refuses: a clock off, a wrong secret,
/// unknown or expired credentials, none at all.
fn bad_credentials(r: &Refusal<'_>) -> Option<RunError> {
    let m = &r.lower;
    let e = match r.error_type {
        "InvalidSignatureException" | "SignatureDoesNotMatch"
            if m.contains("expired")
                || m.contains("skew")
                || m.contains("date") && !m.contains("does not match") =>
        {
            let mut e = RunError::aws(
                "AWS refused the request signature: this machine's clock is off",
            )
            .cause(r.said());
            if let Some(date) = r.server_date {
                e = e.cause(format!("AWS's clock says {date}"));
            }
            e.hint("sync the clock (e.g. with NTP); SigV4 allows 5 minutes of skew")
        }
        "InvalidSignatureException" | "SignatureDoesNotMatch" => RunError::aws(
            "AWS refused the request signature: the secret access key does not match the access key id",
        )
        .cause(r.said())
        .hint("check AWS_SECRET_ACCESS_KEY (or the profile's aws_secret_access_key)"),
        "UnrecognizedClientException" | "InvalidClientTokenId" => RunError::aws(
            "AWS does not recognise these credentials (unknown access key id or session token)",
        )
        .cause(r.said())
        .hint("check AWS_ACCESS_KEY_ID, and AWS_SESSION_TOKEN if the credentials are temporary"),
        "ExpiredTokenException" | "ExpiredToken" => RunError::aws("the AWS credentials have expired")
            .cause(r.said())
            .hint("refresh the session (re-run the credentials step, or use role-to-assume)"),
        "MissingAuthenticationTokenException" => {
            RunError::aws("the request was not signed: no AWS credentials").cause(r.said())
        }
        _ => return None,
    };
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_names_action_and_resource() {
        let m = "User: arn:aws:sts::1:assumed-role/ci/x is not authorized to perform: amplify:CreateDeployment on resource: arn:aws:amplify:us-east-1:1:apps/d1/branches/main/deployments/*";
        let (a, r) = parse_access_denied(m).unwrap();
        assert_eq!(a, "amplify:CreateDeployment");
        assert_eq!(
            r,
            "arn:aws:amplify:us-east-1:1:apps/d1/branches/main/deployments/*"
        );
        assert!(parse_access_denied("nope").is_none());
    }
}
