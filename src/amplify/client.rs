//! The signed client: one method per operation, each a single retried,
//! re-signed request.

use std::fmt;
use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::error::{classify_failure, service_error, ApiError, Failure};
use super::sign::{encode_label, sign_request, SIGNING_NAME};
use super::types::{
    App, AppEnvelope, BasicAuthInput, Branch, BranchEnvelope, BranchUpdate, CreateBranchInput,
    CreateDeploymentOutput, CustomRule, Job, JobEnvelope, JobSummary, JobSummaryEnvelope,
    ListBranchesOutput, ListJobsOutput, NewBranch, StartDeploymentInput, TagsEnvelope,
    UpdateAppRulesInput, UpdateBranchInput,
};
use crate::http::{
    format_limit, read_capped, retry, trace, CallTracer, RetryConfig, RetryObserver,
    MAX_ANSWER_BYTES, MAX_ERROR_BYTES,
};

/// How to reach and authenticate to Amplify.
#[derive(Clone)]
pub struct ClientConfig {
    /// e.g. `https://amplify.us-east-1.amazonaws.com` or
    /// `http://127.0.0.1:4566`; a path prefix is kept.
    pub endpoint: url::Url,
    pub region: String,
    pub credentials: SharedCredentialsProvider,
    pub retry: RetryConfig,
    pub observer: RetryObserver,
    pub http: reqwest::Client,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoint", &self.endpoint.as_str())
            .field("region", &self.region)
            .field("credentials", &"******")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// The Amplify API client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    cfg: ClientConfig,
    /// Told of every attempt (`-v`), when set.
    tracer: Option<CallTracer>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("cfg", &self.cfg)
            .field("traced", &self.tracer.is_some())
            .finish()
    }
}

/// A call that got no usable answer; the error without the URL, and the
/// proxy it could not get through, if that is why.
fn transport(operation: &'static str, source: reqwest::Error) -> Failure {
    Failure::from(ApiError::Transport {
        operation,
        proxy: crate::http::proxy::proxy_failure(&source),
        source: source.without_url(),
    })
}

/// The result in a 2xx answer: `member` taken out of its JSON by `extract`.
fn decode_answer<E, T>(
    operation: &'static str,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: crate::http::CappedBody,
    member: &'static str,
    extract: &impl Fn(E) -> Option<T>,
) -> Result<T, ApiError>
where
    E: DeserializeOwned,
{
    let request_id = headers
        .get("x-amzn-RequestId")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let decode = |message: String| ApiError::Decode {
        operation,
        status,
        message,
        request_id: request_id.clone(),
    };
    if body.truncated {
        return Err(decode(format!(
            "the answer is larger than {}, the most read from the Amplify API",
            format_limit(MAX_ANSWER_BYTES)
        )));
    }
    let envelope: E = serde_json::from_slice(&body.bytes).map_err(|e| {
        let excerpt = crate::http::body_excerpt(&body.bytes);
        if excerpt.is_empty() {
            decode(format!("{e} (empty body)"))
        } else {
            decode(format!("{e}: {excerpt}"))
        }
    })?;
    extract(envelope).ok_or_else(|| decode(format!("the answer has no `{member}`")))
}

/// One operation's request, before signing.
struct Call {
    operation: &'static str,
    method: Method,
    /// Already label-encoded.
    path: String,
    /// Already encoded.
    query: Option<String>,
    /// JSON body, for operations with body members.
    body: Option<Vec<u8>>,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Client {
        Client { cfg, tracer: None }
    }

    /// The same client telling `tracer` of every attempt (`-v`).
    pub fn with_tracer(&self, tracer: Option<CallTracer>) -> Client {
        Client {
            cfg: self.cfg.clone(),
            tracer,
        }
    }

    /// The same client with another retry configuration.
    pub fn with_retry(&self, retry: RetryConfig) -> Client {
        let mut cfg = self.cfg.clone();
        cfg.retry = retry;
        Client {
            cfg,
            tracer: self.tracer.clone(),
        }
    }

    /// The same client telling its retries to another observer.
    pub fn with_observer(&self, observer: RetryObserver) -> Client {
        let mut cfg = self.cfg.clone();
        cfg.observer = observer;
        Client {
            cfg,
            tracer: self.tracer.clone(),
        }
    }

    /// The endpoint calls go to.
    pub fn endpoint(&self) -> &url::Url {
        &self.cfg.endpoint
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.cfg.region
    }

    /// The credentials requests are signed with (shared with S3).
    pub fn credentials(&self) -> &SharedCredentialsProvider {
        &self.cfg.credentials
    }

    /// [GetApp](https://docs.aws.amazon.com/amplify/latest/APIReference/API_GetApp.html)
    pub async fn get_app(&self, app_id: &str) -> Result<App, ApiError> {
        let call = Call::get("GetApp", format!("/apps/{}", encode_label(app_id)));
        self.send(call, "app", |e: AppEnvelope| e.app).await
    }

    /// [UpdateApp](https://docs.aws.amazon.com/amplify/latest/APIReference/API_UpdateApp.html):
    /// replace the app's redirects and rewrites (`customRules`) with `rules`.
    pub async fn set_app_rules(&self, app_id: &str, rules: &[CustomRule]) -> Result<App, ApiError> {
        let body = UpdateAppRulesInput {
            custom_rules: rules,
        };
        let call = Call::post(
            "UpdateApp",
            format!("/apps/{}", encode_label(app_id)),
            &body,
        )?;
        self.send(call, "app", |e: AppEnvelope| e.app).await
    }

    /// [GetBranch](https://docs.aws.amazon.com/amplify/latest/APIReference/API_GetBranch.html)
    pub async fn get_branch(&self, app_id: &str, branch: &str) -> Result<Branch, ApiError> {
        let call = Call::get("GetBranch", branch_path(app_id, branch));
        self.send(call, "branch", |e: BranchEnvelope| e.branch)
            .await
    }

    /// [CreateBranch](https://docs.aws.amazon.com/amplify/latest/APIReference/API_CreateBranch.html)
    pub async fn create_branch(
        &self,
        app_id: &str,
        branch: &str,
        stage: Option<&str>,
    ) -> Result<Branch, ApiError> {
        self.create_branch_with(app_id, branch, stage, None).await
    }

    /// [CreateBranch](https://docs.aws.amazon.com/amplify/latest/APIReference/API_CreateBranch.html),
    /// with basic auth on when `basic_auth` (base64 of `user:password`) is given.
    pub async fn create_branch_with(
        &self,
        app_id: &str,
        branch: &str,
        stage: Option<&str>,
        basic_auth: Option<&str>,
    ) -> Result<Branch, ApiError> {
        self.create_branch_tagged(app_id, branch, stage, basic_auth, None)
            .await
    }

    /// [CreateBranch](https://docs.aws.amazon.com/amplify/latest/APIReference/API_CreateBranch.html)
    /// with basic auth as [`Client::create_branch_with`], carrying `tags`
    /// from its creation (no moment without them).
    pub async fn create_branch_tagged(
        &self,
        app_id: &str,
        branch: &str,
        stage: Option<&str>,
        basic_auth: Option<&str>,
        tags: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<Branch, ApiError> {
        let new = NewBranch {
            stage,
            basic_auth,
            tags,
            skew_protection: None,
        };
        self.create_branch_from(app_id, branch, &new).await
    }

    /// [CreateBranch](https://docs.aws.amazon.com/amplify/latest/APIReference/API_CreateBranch.html)
    /// with the members `new` sets (stage, basic auth, tags, skew protection).
    pub async fn create_branch_from(
        &self,
        app_id: &str,
        branch: &str,
        new: &NewBranch<'_>,
    ) -> Result<Branch, ApiError> {
        let body = CreateBranchInput {
            branch_name: branch,
            stage: new.stage,
            basic_auth: new.basic_auth.map(|credentials| BasicAuthInput {
                enable_basic_auth: true,
                basic_auth_credentials: credentials,
            }),
            enable_skew_protection: new.skew_protection,
            tags: new.tags.filter(|t| !t.is_empty()),
        };
        let call = Call::post(
            "CreateBranch",
            format!("/apps/{}/branches", encode_label(app_id)),
            &body,
        )?;
        self.send(call, "branch", |e: BranchEnvelope| e.branch)
            .await
    }

    /// [UpdateBranch](https://docs.aws.amazon.com/amplify/latest/APIReference/API_UpdateBranch.html):
    /// basic auth on, with these credentials (base64 of `user:password`).
    pub async fn set_branch_basic_auth(
        &self,
        app_id: &str,
        branch: &str,
        credentials: &str,
    ) -> Result<Branch, ApiError> {
        let update = BranchUpdate {
            basic_auth: Some(credentials),
            ..BranchUpdate::default()
        };
        self.update_branch(app_id, branch, &update).await
    }

    /// [UpdateBranch](https://docs.aws.amazon.com/amplify/latest/APIReference/API_UpdateBranch.html):
    /// skew protection on or off. Only deployments made after it is turned
    /// on are protected.
    pub async fn set_branch_skew_protection(
        &self,
        app_id: &str,
        branch: &str,
        on: bool,
    ) -> Result<Branch, ApiError> {
        let update = BranchUpdate {
            skew_protection: Some(on),
            ..BranchUpdate::default()
        };
        self.update_branch(app_id, branch, &update).await
    }

    /// [UpdateBranch](https://docs.aws.amazon.com/amplify/latest/APIReference/API_UpdateBranch.html)
    /// of the members `update` sets; the others are left as they are.
    pub async fn update_branch(
        &self,
        app_id: &str,
        branch: &str,
        update: &BranchUpdate<'_>,
    ) -> Result<Branch, ApiError> {
        let body = UpdateBranchInput {
            basic_auth: update.basic_auth.map(|credentials| BasicAuthInput {
                enable_basic_auth: true,
                basic_auth_credentials: credentials,
            }),
            enable_skew_protection: update.skew_protection,
        };
        let call = Call::post("UpdateBranch", branch_path(app_id, branch), &body)?;
        self.send(call, "branch", |e: BranchEnvelope| e.branch)
            .await
    }

    /// [DeleteBranch](https://docs.aws.amazon.com/amplify/latest/APIReference/API_DeleteBranch.html)
    pub async fn delete_branch(&self, app_id: &str, branch: &str) -> Result<Branch, ApiError> {
        let call = Call::without_body("DeleteBranch", Method::DELETE, branch_path(app_id, branch));
        self.send(call, "branch", |e: BranchEnvelope| e.branch)
            .await
    }

    /// [CreateDeployment](https://docs.aws.amazon.com/amplify/latest/APIReference/API_CreateDeployment.html)
    /// with body `{}`: one `zipUploadUrl`. Retried like every call; if a
    /// lost answer leaves a PENDING job behind, the next attempt fails with
    /// "last job N was not finished" ([`ApiError::unfinished_job_id`]).
    pub async fn create_deployment(
        &self,
        app_id: &str,
        branch: &str,
    ) -> Result<CreateDeploymentOutput, ApiError> {
        let call = Call::post(
            "CreateDeployment",
            format!("{}/deployments", branch_path(app_id, branch)),
            &serde_json::json!({}),
        )?;
        self.send(call, "", Some).await
    }

    /// [StartDeployment](https://docs.aws.amazon.com/amplify/latest/APIReference/API_StartDeployment.html)
    pub async fn start_deployment(
        &self,
        app_id: &str,
        branch: &str,
        req: &StartDeploymentInput,
    ) -> Result<JobSummary, ApiError> {
        let call = Call::post(
            "StartDeployment",
            format!("{}/deployments/start", branch_path(app_id, branch)),
            req,
        )?;
        self.send(call, "jobSummary", |e: JobSummaryEnvelope| e.job_summary)
            .await
    }

    /// [GetJob](https://docs.aws.amazon.com/amplify/latest/APIReference/API_GetJob.html)
    pub async fn get_job(&self, app_id: &str, branch: &str, job_id: &str) -> Result<Job, ApiError> {
        let call = Call::get(
            "GetJob",
            format!(
                "{}/jobs/{}",
                branch_path(app_id, branch),
                encode_label(job_id)
            ),
        );
        self.send(call, "job", |e: JobEnvelope| e.job).await
    }

    /// [StopJob](https://docs.aws.amazon.com/amplify/latest/APIReference/API_StopJob.html)
    pub async fn stop_job(
        &self,
        app_id: &str,
        branch: &str,
        job_id: &str,
    ) -> Result<JobSummary, ApiError> {
        let call = Call::without_body(
            "StopJob",
            Method::DELETE,
            format!(
                "{}/jobs/{}/stop",
                branch_path(app_id, branch),
                encode_label(job_id)
            ),
        );
        self.send(call, "jobSummary", |e: JobSummaryEnvelope| e.job_summary)
            .await
    }

    /// [DeleteJob](https://docs.aws.amazon.com/amplify/latest/APIReference/API_DeleteJob.html):
    /// the job and what it deployed, so that it is no longer served; the
    /// answer is the job's summary.
    pub async fn delete_job(
        &self,
        app_id: &str,
        branch: &str,
        job_id: &str,
    ) -> Result<JobSummary, ApiError> {
        let call = Call::without_body(
            "DeleteJob",
            Method::DELETE,
            format!(
                "{}/jobs/{}",
                branch_path(app_id, branch),
                encode_label(job_id)
            ),
        );
        self.send(call, "jobSummary", |e: JobSummaryEnvelope| e.job_summary)
            .await
    }

    /// [ListJobs](https://docs.aws.amazon.com/amplify/latest/APIReference/API_ListJobs.html),
    /// newest first.
    pub async fn list_jobs(
        &self,
        app_id: &str,
        branch: &str,
        max_results: Option<u32>,
        next_token: Option<&str>,
    ) -> Result<ListJobsOutput, ApiError> {
        let mut query = Vec::new();
        if let Some(max) = max_results {
            query.push(format!("maxResults={max}"));
        }
        if let Some(token) = next_token {
            // Strict encoding: a form-encoded `+` would be read back as a
            // space by SigV4's canonical query.
            query.push(format!("nextToken={}", encode_label(token)));
        }
        let mut call = Call::get("ListJobs", format!("{}/jobs", branch_path(app_id, branch)));
        call.query = (!query.is_empty()).then(|| query.join("&"));
        self.send(call, "", Some).await
    }

    /// [ListBranches](https://docs.aws.amazon.com/amplify/latest/APIReference/API_ListBranches.html):
    /// every branch of the app, following `nextToken` (50 a page).
    pub async fn list_branches(&self, app_id: &str) -> Result<Vec<Branch>, ApiError> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        // Amplify allows 50 branches an app: a few pages at most; the cap
        // stops a service that keeps answering the same token.
        for _ in 0..100 {
            let mut query = "maxResults=50".to_owned();
            if let Some(t) = &token {
                query.push_str(&format!("&nextToken={}", encode_label(t)));
            }
            let mut call = Call::get(
                "ListBranches",
                format!("/apps/{}/branches", encode_label(app_id)),
            );
            call.query = Some(query);
            let page: ListBranchesOutput = self.send(call, "", Some).await?;
            all.extend(page.branches);
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(all)
    }

    /// [TagResource](https://docs.aws.amazon.com/amplify/latest/APIReference/API_TagResource.html):
    /// adds (or replaces) `tags` on the resource, e.g. a branch's `branchArn`.
    pub async fn tag_resource(
        &self,
        arn: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        let call = Call::post(
            "TagResource",
            format!("/tags/{}", encode_label(arn)),
            &serde_json::json!({ "tags": tags }),
        )?;
        self.send(call, "", |_: serde_json::Value| Some(())).await
    }

    /// [UntagResource](https://docs.aws.amazon.com/amplify/latest/APIReference/API_UntagResource.html):
    /// removes the tags `keys` from the resource (a key it does not carry
    /// is no error).
    pub async fn untag_resource(&self, arn: &str, keys: &[&str]) -> Result<(), ApiError> {
        let mut call = Call::without_body(
            "UntagResource",
            Method::DELETE,
            format!("/tags/{}", encode_label(arn)),
        );
        let query: Vec<String> = keys
            .iter()
            .map(|k| format!("tagKeys={}", encode_label(k)))
            .collect();
        call.query = Some(query.join("&"));
        self.send(call, "", |_: serde_json::Value| Some(())).await
    }

    /// [ListTagsForResource](https://docs.aws.amazon.com/amplify/latest/APIReference/API_ListTagsForResource.html)
    pub async fn list_tags_for_resource(
        &self,
        arn: &str,
    ) -> Result<std::collections::HashMap<String, String>, ApiError> {
        let call = Call::get(
            "ListTagsForResource",
            format!("/tags/{}", encode_label(arn)),
        );
        self.send(call, "tags", |e: TagsEnvelope| e.tags).await
    }

    /// Run `call` through the retry loop and take `member` out of the
    /// answer with `extract` (`""` when the answer is the result itself).
    async fn send<E, T>(
        &self,
        call: Call,
        member: &'static str,
        extract: impl Fn(E) -> Option<T>,
    ) -> Result<T, ApiError>
    where
        E: DeserializeOwned,
    {
        retry(
            &self.cfg.retry,
            call.operation,
            &self.cfg.observer,
            classify_failure,
            || self.attempt(&call, member, &extract),
        )
        .await
        .map_err(|failure| failure.error)
    }

    async fn attempt<E, T>(
        &self,
        call: &Call,
        member: &'static str,
        extract: &impl Fn(E) -> Option<T>,
    ) -> Result<T, Failure>
    where
        E: DeserializeOwned,
    {
        let operation = call.operation;
        crate::http::wire::calling(|| {
            let host = self.cfg.endpoint.host_str().unwrap_or_default();
            format!("Amplify {operation} at {host}")
        });
        let request = self.signed_request(call).await?;
        let sent = self.tracer.as_ref().map(|_| trace::sent(&request));
        let started = std::time::Instant::now();
        let answer = self.cfg.http.execute(request).await;
        if let (Some(tracer), Some(sent)) = (&self.tracer, sent) {
            trace::answered(tracer, operation, sent, started, &answer);
        }
        let response = answer.map_err(|e| transport(operation, e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // Redirects are not followed (see `http::build_client_with`): a 3xx
        // lands here and is reported with its status like any error.
        let success = (200..300).contains(&status);
        let limit = if success {
            MAX_ANSWER_BYTES
        } else {
            MAX_ERROR_BYTES
        };
        let body = read_capped(response, limit)
            .await
            .map_err(|e| transport(operation, e))?;
        if !success {
            return Err(service_error(operation, status, &headers, &body.bytes));
        }
        decode_answer(operation, status, &headers, body, member, extract).map_err(Failure::from)
    }

    /// The request for `call`, signed for this attempt: a fresh
    /// x-amz-date, and the credentials as they are now (refreshed when due).
    async fn signed_request(&self, call: &Call) -> Result<reqwest::Request, Failure> {
        let mut builder = self
            .cfg
            .http
            .request(call.method.clone(), self.url(call))
            .timeout(self.cfg.retry.request_timeout);
        if let Some(body) = &call.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let mut request = builder.build().map_err(|e| transport(call.operation, e))?;
        let credentials = self
            .cfg
            .credentials
            .provide_credentials()
            .await
            .map_err(|source| Failure::from(ApiError::Credentials { source }))?;
        sign_request(
            &mut request,
            &credentials,
            &self.cfg.region,
            SIGNING_NAME,
            SystemTime::now(),
        )?;
        Ok(request)
    }

    fn url(&self, call: &Call) -> url::Url {
        let mut url = self.cfg.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_string();
        // `set_path` leaves existing %XX escapes alone, so labels stay
        // encoded exactly once.
        url.set_path(&format!("{base}{}", call.path));
        url.set_query(call.query.as_deref());
        url.set_fragment(None);
        url
    }
}

impl Call {
    fn get(operation: &'static str, path: String) -> Call {
        Call::without_body(operation, Method::GET, path)
    }

    fn without_body(operation: &'static str, method: Method, path: String) -> Call {
        Call {
            operation,
            method,
            path,
            query: None,
            body: None,
        }
    }

    fn post(
        operation: &'static str,
        path: String,
        body: &impl serde::Serialize,
    ) -> Result<Call, ApiError> {
        let body = serde_json::to_vec(body).map_err(|e| ApiError::Signing {
            message: format!("cannot encode the {operation} request: {e}"),
        })?;
        Ok(Call {
            operation,
            method: Method::POST,
            path,
            query: None,
            body: Some(body),
        })
    }
}

fn branch_path(app_id: &str, branch: &str) -> String {
    format!(
        "/apps/{}/branches/{}",
        encode_label(app_id),
        encode_label(branch)
    )
}

#[cfg(test)]
mod tests;
