//! Pull request previews and GitHub deployment statuses, driven by the
//! `deploy` command: deploy each pull request to its own Amplify branch,
//! post its URL as one comment, delete the branch on close, and report the
//! deploy as a GitHub deployment. The GitHub REST client, the comment and
//! the event payload are in `crate::github`; what the event decided (the
//! branch, its stage) is resolved in `crate::settings`. A failure of
//! GitHub's API is a warning, never a failed deploy.
//!
//! Decisions, documented in docs/previews.md:
//! - `--preview` outside a pull request event deploys to `--branch` as
//!   usual (with a notice), so one workflow serves pushes and pull requests.
//! - a closed pull request's branch that is already gone is not an error.
//! - a closed pull request's GitHub deployments (in `--deployment-environment`,
//!   created for that pull request: their payload names it) are marked
//!   `inactive`; no other deployment is touched.

pub mod fork;
pub mod lifecycle;
pub mod owner;
mod room;
pub mod status;

use std::time::SystemTime;

use crate::branch::{remove_branch, Target};
use crate::error::RunError;
use crate::github::client::{self, Api, SetupError};
use crate::github::comment::{self, CommentState, Upserted};
use crate::github::event::PullRequest;
use crate::outcome::{Outcome, RunStatus};
use crate::report::Reporter;
use crate::settings::{AppId, DeploySettings, GitHubSettings, Preview as PreviewSetting};
use status::CommitStatus;

/// The key of this tool's part of a deployment's payload.
const PAYLOAD_KEY: &str = "amplify_deploy";

/// GitHub's limit on a deployment status description.
const MAX_DESCRIPTION: usize = 140;

/// The pull request a preview deploys.
#[derive(Debug)]
struct Preview {
    pr: PullRequest,
    branch: String,
    /// Where to comment; `None` when we cannot (fork, no token).
    comments: Option<Api>,
}

/// A GitHub deployment to report to.
#[derive(Debug)]
struct DeploymentPlan {
    api: Api,
    sha: String,
    environment: String,
    transient: bool,
    payload: serde_json::Value,
    id: Option<u64>,
}

/// The GitHub side of one `deploy` run.
pub struct Integration {
    reporter: Reporter,
    app_id: AppId,
    preview: Option<Preview>,
    deployment: Option<DeploymentPlan>,
    commit_status: Option<CommitStatus>,
    /// The preview has basic auth (given or inherited): the comment says
    /// so, never the password.
    protected: bool,
    /// What the preview's branch is made with.
    settings: DeploySettings,
}

/// The pipeline calls these once it has decided to deploy, never before.
impl crate::deploy::Hooks for Integration {
    fn create_branch<'a>(
        &'a mut self,
        client: &'a crate::amplify::Client,
    ) -> crate::deploy::BoxFuture<'a, Result<Option<crate::deploy::MadeBranch>, RunError>> {
        Box::pin(self.create_preview_branch(client))
    }

    fn renew_branch<'a>(
        &'a mut self,
        client: &'a crate::amplify::Client,
        branch: &'a crate::amplify::Branch,
    ) -> crate::deploy::BoxFuture<'a, ()> {
        Box::pin(self.renew_preview_branch(client, branch))
    }

    fn deploying(&mut self) -> crate::deploy::BoxFuture<'_, ()> {
        Box::pin(self.before_deploy())
    }
}

/// The REST client for the workflow's repository, or why there is none.
pub fn github_api(gh: &GitHubSettings, reporter: &Reporter) -> Result<Api, SetupError> {
    api(gh, reporter)
}

/// Whose previews a deploy looks after: `GITHUB_REPOSITORY`'s, with
/// `--preview-prefix`.
fn ours(s: &DeploySettings) -> owner::Ours<'_> {
    owner::Ours {
        repository: s.github.repository.as_deref(),
        prefix: &s.lifecycle.prefix,
    }
}

fn api(gh: &GitHubSettings, reporter: &Reporter) -> Result<Api, SetupError> {
    let token = gh.token.as_deref().ok_or(SetupError::NoToken)?;
    let repo = gh.repository.as_deref().ok_or(SetupError::NoRepository)?;
    Api::new(&gh.api_url, repo, token, reporter)
}

impl Integration {
    /// Say what the preview settings decided, and get ready to comment and
    /// to report the deployment.
    pub fn prepare(s: &DeploySettings, reporter: &Reporter) -> Integration {
        if let Some(t) = &s.github.token {
            reporter.github().mask(t);
        }
        let preview = match &s.preview {
            PreviewSetting::Off => None,
            PreviewSetting::PullRequest { pr, given_branch } => {
                let branch = s.branch.to_string();
                Some(announce_preview(
                    pr,
                    branch,
                    given_branch.as_deref(),
                    s,
                    reporter,
                ))
            }
            PreviewSetting::NotPullRequest { why } => {
                let branch = &s.branch;
                let msg = format!("preview: {why}: deploying to branch {branch} as usual");
                reporter.line(&msg);
                reporter.github().notice("Preview", &msg);
                None
            }
        };
        let pr = preview.as_ref().map(|p| &p.pr);
        let deployment = plan_deployment(s, pr, reporter);
        let commit_status = plan_commit_status(s, pr, reporter);
        Integration {
            reporter: reporter.clone(),
            app_id: s.app_id.clone(),
            preview,
            deployment,
            commit_status,
            protected: s.verify.basic_auth.is_some(),
            settings: s.clone(),
        }
    }

    /// The pull request was closed: remove its branch instead of deploying.
    pub fn closes_preview(&self) -> bool {
        self.preview.as_ref().is_some_and(|p| p.pr.is_closed())
    }

    /// Stop the preview branch's job, delete the branch (already gone is
    /// fine) and say so in the comment.
    pub async fn remove_preview(&self, s: &DeploySettings) -> Result<(), RunError> {
        let Some(p) = &self.preview else {
            return Ok(());
        };
        if s.dry_run {
            self.reporter.line(format!(
                "dry run: pull request #{} was closed: would stop the unfinished jobs of branch {} and delete it",
                p.pr.number, p.branch
            ));
            return Ok(());
        }
        self.reporter.line(format!(
            "preview: pull request #{} was closed: removing branch {}",
            p.pr.number, p.branch
        ));
        let target = Target::connect(&s.app_id, &s.branch, &s.aws, &self.reporter).await?;
        if !self.is_ours(&target, s, p).await? {
            return Ok(());
        }
        remove_branch(&target, true, &self.reporter).await?;
        let body = comment::render(
            &self.app_id,
            p.pr.head_sha.as_deref(),
            &CommentState::Removed { branch: &p.branch },
            SystemTime::now(),
        );
        self.comment(p, &body, true).await;
        self.deactivate(s, p).await;
        Ok(())
    }

    /// Whether the branch is this pull request's preview by the ownership
    /// rule (or already gone); a branch made by hand under the preview's
    /// name is left in place, and the log says so.
    async fn is_ours(
        &self,
        target: &Target,
        s: &DeploySettings,
        p: &Preview,
    ) -> Result<bool, RunError> {
        let branch = match target
            .client
            .get_branch(&target.app_id, &target.branch)
            .await
        {
            Ok(branch) => branch,
            Err(e) if crate::branch::is_branch_missing(&e) => return Ok(true),
            Err(e) => return Err(target.explain(&e)),
        };
        let owned =
            owner::our_preview(&branch, &ours(s)).is_some_and(|owned| owned.pr == p.pr.number);
        if !owned {
            self.reporter.line(format!(
                "preview: branch {} is not the preview amplify-deploy made for pull request #{} \
                 ({}): left in place",
                p.branch,
                p.pr.number,
                owner::why_not_ours(&branch, &ours(s))
            ));
        }
        Ok(owned)
    }

    /// Mark the closed pull request's GitHub deployments inactive, when
    /// `--deployment-environment` says where they are.
    async fn deactivate(&self, s: &DeploySettings, p: &Preview) {
        let Some(environment) = s.github.deployment_environment.as_deref() else {
            return;
        };
        let n = p.pr.number;
        if p.pr.token_is_read_only() {
            self.reporter.line(format!(
                "GitHub deployments of pull request #{n}: not marked inactive, the fork's token is read-only"
            ));
            return;
        }
        let api = match api(&s.github, &self.reporter) {
            Ok(api) => api,
            Err(why) => {
                self.reporter.warning(&format!(
                    "the GitHub deployments of pull request #{n} are not marked inactive: {why}"
                ));
                return;
            }
        };
        let description = format!("Pull request #{n} was closed");
        match deactivate_deployments(&api, environment, n, &description).await {
            Ok(marked) => self.reporter.line(format!(
                "preview: marked {marked} GitHub deployment(s) of pull request #{n} in {environment} inactive"
            )),
            Err(e) => self.reporter.warning(&deployment_warning(
                &e,
                &format!("mark the GitHub deployments of pull request #{n} inactive"),
            )),
        }
    }

    /// Post the pending commit status; create the GitHub deployment and
    /// mark it in progress (once the run has decided to deploy).
    async fn before_deploy(&mut self) {
        if let Some(c) = &mut self.commit_status {
            c.pending(&self.reporter).await;
        }
        let Some(d) = &mut self.deployment else {
            return;
        };
        let created = d
            .api
            .create_deployment(&d.sha, &d.environment, d.transient, d.payload.clone())
            .await;
        match created {
            Ok(id) => {
                d.id = Some(id);
                self.reporter.line(format!(
                    "GitHub deployment {id} to {} for {}",
                    d.environment, d.sha
                ));
                if let Err(e) = d
                    .api
                    .create_deployment_status(id, "in_progress", None, None, "Deploying to Amplify")
                    .await
                {
                    self.reporter.warning(&deployment_warning(
                        &e,
                        "mark the GitHub deployment in progress",
                    ));
                }
            }
            Err(e) => self
                .reporter
                .warning(&deployment_warning(&e, "create the GitHub deployment")),
        }
    }

    /// Report how the deploy ended: the commit status, the deployment
    /// status and the comment. `outcome` is `None` when the deploy stopped
    /// before reaching AWS.
    pub async fn after_deploy(&mut self, outcome: Option<&Outcome>, error: Option<&RunError>) {
        if let Some(c) = &mut self.commit_status {
            c.finish(outcome, error, &self.reporter).await;
        }
        if let Some(DeploymentPlan {
            api, id: Some(id), ..
        }) = &self.deployment
        {
            let (state, description) = deployment_ending(outcome, error);
            let env_url = outcome
                .and_then(|o| o.url.as_deref())
                .filter(|_| state != "failure");
            // The job's console page (its logs), never a presigned log URL.
            let log_url =
                outcome.map(|o| o.job_console_url().unwrap_or_else(|| o.console_url.clone()));
            if let Err(e) = api
                .create_deployment_status(*id, state, env_url, log_url.as_deref(), &description)
                .await
            {
                self.reporter.warning(&deployment_warning(
                    &e,
                    "report the GitHub deployment status",
                ));
            }
        }
        if let (Some(p), Some(o)) = (&self.preview, outcome) {
            if o.status == Some(RunStatus::DryRun) {
                return;
            }
            let message = error.map(|e| e.message.clone());
            let mut body = comment::render(
                &self.app_id,
                p.pr.head_sha.as_deref(),
                &CommentState::Deployed {
                    outcome: o,
                    error: message.as_deref(),
                },
                SystemTime::now(),
            );
            if self.protected {
                body.push_str(comment::PROTECTED);
            }
            self.comment(p, &body, false).await;
        }
    }

    async fn comment(&self, p: &Preview, body: &str, only_update: bool) {
        let Some(api) = &p.comments else {
            return;
        };
        let n = p.pr.number;
        match comment::upsert(api, n, &self.app_id, body, only_update).await {
            Ok(Upserted::Created(id)) => self
                .reporter
                .line(format!("preview: commented on pull request #{n} (comment {id})")),
            Ok(Upserted::Updated(id)) => self.reporter.line(format!(
                "preview: updated the comment on pull request #{n} (comment {id})"
            )),
            Ok(Upserted::Absent) => {}
            Err(e) if e.is_permission() => self.reporter.warning(&format!(
                "cannot comment on pull request #{n} of {}: {e}; give the job `permissions: pull-requests: write` (the deploy itself is not affected)",
                api.repo()
            )),
            Err(e) => self.reporter.warning(&format!(
                "could not comment on pull request #{n}: {e} (the deploy itself is not affected)"
            )),
        }
    }
}

/// Say which branch the pull request deploys to, and whether its URL can
/// be commented.
fn announce_preview(
    pr: &PullRequest,
    branch: String,
    given_branch: Option<&str>,
    s: &DeploySettings,
    reporter: &Reporter,
) -> Preview {
    match given_branch {
        Some(given) if given != branch => reporter.line(format!(
            "preview: pull request #{} deploys to branch {branch} (not --branch {given})",
            pr.number
        )),
        _ => reporter.line(format!(
            "preview: pull request #{} deploys to branch {branch}",
            pr.number
        )),
    }
    let comments = if pr.token_is_read_only() {
        let why = format!(
            "pull request #{} comes from the fork {}: its workflow token is read-only, so the preview URL is not commented (it is in the job summary and the url output)",
            pr.number,
            pr.head_repo.as_deref().unwrap_or("(deleted)")
        );
        reporter.line(format!("preview: {why}"));
        reporter.github().notice("Preview", &why);
        None
    } else {
        match api(&s.github, reporter) {
            Ok(api) => Some(api),
            Err(why) => {
                reporter.warning(&format!(
                    "the preview URL is not commented on the pull request: {why}"
                ));
                None
            }
        }
    };
    Preview {
        pr: pr.clone(),
        branch,
        comments,
    }
}

/// The commit a deploy reports on: the pull request's head, else
/// `GITHUB_SHA`.
fn deploy_sha(s: &DeploySettings, pr: Option<&PullRequest>) -> Option<String> {
    pr.and_then(|p| p.head_sha.clone())
        .or_else(|| s.github.sha.clone())
}

/// The commit status `--commit-status` asks for, when this run deploys
/// something and can report it.
fn plan_commit_status(
    s: &DeploySettings,
    pr: Option<&PullRequest>,
    reporter: &Reporter,
) -> Option<CommitStatus> {
    if !s.github.commit_status || s.dry_run || pr.is_some_and(PullRequest::is_closed) {
        return None;
    }
    if pr.is_some_and(PullRequest::token_is_read_only) {
        reporter.line("commit status: not posted, the fork's token is read-only");
        return None;
    }
    let branch = &s.branch;
    match (deploy_sha(s, pr), api(&s.github, reporter)) {
        (Some(sha), Ok(api)) => Some(CommitStatus::new(api, sha, branch)),
        (None, _) => {
            reporter.warning(
                "commit-status: no commit SHA (GITHUB_SHA is unset): the commit status is not posted",
            );
            None
        }
        (_, Err(why)) => {
            reporter.warning(&format!(
                "commit-status: the commit status is not posted: {why}"
            ));
            None
        }
    }
}

/// What a deployment carries to say whose it is: the Amplify branch and,
/// for a preview, the pull request, so closing it finds exactly its own
/// ([`is_preview_of`]).
fn deployment_payload(branch: Option<&str>, pr: Option<&PullRequest>) -> serde_json::Value {
    let mut ours = serde_json::json!({ "branch": branch });
    if let Some(pr) = pr {
        ours["pull_request"] = pr.number.into();
    }
    serde_json::json!({ PAYLOAD_KEY: ours })
}

/// Whether a listed deployment is one this tool made for pull request
/// `number` in `environment`.
fn is_preview_of(d: &client::Deployment, environment: &str, number: u64) -> bool {
    d.environment == environment
        && d.payload
            .get(PAYLOAD_KEY)
            .and_then(|p| p.get("pull_request"))
            .and_then(serde_json::Value::as_u64)
            == Some(number)
}

/// Mark pull request `number`'s deployments in `environment` inactive,
/// saying why (`description`). Returns how many were.
async fn deactivate_deployments(
    api: &Api,
    environment: &str,
    number: u64,
    description: &str,
) -> Result<usize, client::GitHubError> {
    let listed = api.deployments(environment).await?;
    let mut marked = 0;
    for d in listed
        .iter()
        .filter(|d| is_preview_of(d, environment, number))
    {
        api.create_deployment_status(d.id, "inactive", None, None, description)
            .await?;
        marked += 1;
    }
    Ok(marked)
}

/// The GitHub deployment `--deployment-environment` asks for, when this
/// run deploys something and can report it.
fn plan_deployment(
    s: &DeploySettings,
    pr: Option<&PullRequest>,
    reporter: &Reporter,
) -> Option<DeploymentPlan> {
    let environment = s.github.deployment_environment.as_deref()?;
    let sha = deploy_sha(s, pr);
    if s.dry_run || pr.is_some_and(PullRequest::is_closed) {
        // Nothing is deployed.
        return None;
    }
    if pr.is_some_and(PullRequest::token_is_read_only) {
        reporter.line("GitHub deployment: not reported, the fork's token is read-only");
        return None;
    }
    match (sha, api(&s.github, reporter)) {
        (Some(sha), Ok(api)) => Some(DeploymentPlan {
            api,
            sha,
            environment: environment.to_owned(),
            transient: pr.is_some(),
            payload: deployment_payload(Some(&s.branch), pr),
            id: None,
        }),
        (None, _) => {
            reporter.warning(
                "deployment-environment: no commit SHA (GITHUB_SHA is unset): the GitHub deployment is not reported",
            );
            None
        }
        (_, Err(why)) => {
            reporter.warning(&format!(
                "deployment-environment: the GitHub deployment is not reported: {why}"
            ));
            None
        }
    }
}

fn deployment_warning(e: &client::GitHubError, what: &str) -> String {
    if e.is_permission() {
        format!("could not {what}: {e}; give the job `permissions: deployments: write` (the deploy itself is not affected)")
    } else {
        format!("could not {what}: {e} (the deploy itself is not affected)")
    }
}

/// The GitHub deployment's last state and description. A run that opened
/// it and then, deciding again after a wait, deployed nothing (superseded,
/// locked) leaves it `inactive`, never `in_progress`.
fn deployment_ending(
    outcome: Option<&Outcome>,
    error: Option<&RunError>,
) -> (&'static str, String) {
    if let Some(e) = error {
        return ("failure", e.message.chars().take(MAX_DESCRIPTION).collect());
    }
    match outcome.and_then(|o| o.status.as_ref()) {
        Some(s) if s.succeeded() => ("success", "Deployed to Amplify".to_owned()),
        Some(RunStatus::Superseded) => (
            "inactive",
            "Not deployed: the branch serves a newer commit".to_owned(),
        ),
        Some(RunStatus::Locked) => ("inactive", "Not deployed: the branch is locked".to_owned()),
        _ => ("in_progress", "Amplify deployment started".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amplify::JobStatus;

    fn ending(status: Option<RunStatus>, error: Option<&RunError>) -> &'static str {
        let outcome = Outcome {
            status,
            ..Outcome::default()
        };
        deployment_ending(Some(&outcome), error).0
    }

    #[test]
    fn a_deployment_ends_by_how_the_run_ended() {
        let succeeded = Some(RunStatus::Job(JobStatus::Succeed));
        assert_eq!(ending(succeeded, None), "success");
        assert_eq!(ending(Some(RunStatus::Started), None), "in_progress");
        assert_eq!(ending(Some(RunStatus::Superseded), None), "inactive");
        assert_eq!(ending(Some(RunStatus::Locked), None), "inactive");
        let failed = Some(RunStatus::Job(JobStatus::Failed));
        let error = RunError::aws("job 3 FAILED");
        assert_eq!(ending(failed, Some(&error)), "failure");
        assert_eq!(deployment_ending(None, Some(&error)).1, "job 3 FAILED");
    }
}
