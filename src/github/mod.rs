//! GitHub beyond workflow commands: pull request previews (deploy each pull
//! request to its own Amplify branch, post its URL as one comment, delete
//! the branch on close) and GitHub deployment statuses. Everything here
//! talks to the GitHub REST API with the workflow's token; a failure of
//! that API is a warning, never a failed deploy.
//!
//! Decisions, documented in docs/previews.md:
//! - `--preview` outside a pull request event deploys to `--branch` as
//!   usual (with a notice), so one workflow serves pushes and pull requests.
//! - a closed pull request's branch that is already gone is not an error.

pub mod client;
pub mod comment;
pub mod event;

use std::time::SystemTime;

use crate::cli::{DeployArgs, Stage};
use crate::error::RunError;
use crate::outcome::{Outcome, RunStatus};
use crate::report::Reporter;

use client::Api;
use comment::{CommentState, Upserted};
use event::{PullRequest, PULL_REQUEST_EVENTS};

/// The public API; `GITHUB_API_URL` overrides it (GitHub Enterprise Server).
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// GitHub's limit on a deployment status description.
const MAX_DESCRIPTION: usize = 140;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

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
    id: Option<u64>,
}

/// The GitHub side of one `deploy` run.
pub struct Integration {
    reporter: Reporter,
    app_id: String,
    preview: Option<Preview>,
    deployment: Option<DeploymentPlan>,
}

impl Integration {
    /// Read the event, and point `args` at the preview branch when this run
    /// deploys a pull request preview.
    pub fn prepare(args: &mut DeployArgs, reporter: &Reporter) -> Result<Integration, RunError> {
        let token = args
            .github_token
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| env("GITHUB_TOKEN"));
        if let Some(t) = &token {
            reporter.github().mask(t);
        }
        let api = || -> Result<Api, String> {
            let token = token.as_deref().ok_or(
                "no GitHub token: set github-token (the action's default is github.token) or GITHUB_TOKEN",
            )?;
            let repo = env("GITHUB_REPOSITORY").ok_or("GITHUB_REPOSITORY is not set")?;
            let base = env("GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned());
            Api::new(&base, &repo, token, reporter)
        };
        let mut me = Integration {
            reporter: reporter.clone(),
            app_id: args.app_id.clone().unwrap_or_default(),
            preview: None,
            deployment: None,
        };

        if args.preview == Some(true) {
            let event = env("GITHUB_EVENT_NAME");
            match event.as_deref() {
                Some(name) if PULL_REQUEST_EVENTS.contains(&name) => {
                    let pr = read_pull_request(name)?;
                    let branch = format!("{}{}", args.preview_prefix.trim(), pr.number);
                    let branch = crate::settings::validate_branch(Some(&branch))
                        .map_err(|e| RunError::input(format!("preview-prefix: {}", e.message)))?;
                    match args.branch.as_deref() {
                        Some(given) if given != branch => reporter.line(format!(
                            "preview: pull request #{} deploys to branch {branch} (not --branch {given})",
                            pr.number
                        )),
                        _ => reporter.line(format!(
                            "preview: pull request #{} deploys to branch {branch}",
                            pr.number
                        )),
                    }
                    args.branch = Some(branch.clone());
                    args.create_branch = Some(true);
                    if !args.stage_given {
                        args.stage = Stage::PullRequest;
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
                        match api() {
                            Ok(api) => Some(api),
                            Err(why) => {
                                reporter.warning(&format!(
                                    "the preview URL is not commented on the pull request: {why}"
                                ));
                                None
                            }
                        }
                    };
                    me.preview = Some(Preview {
                        pr,
                        branch,
                        comments,
                    });
                }
                other => {
                    let what = match other {
                        Some(name) => format!("the {name} event is not a pull request event"),
                        None => {
                            "not running for a GitHub event (GITHUB_EVENT_NAME is unset)".to_owned()
                        }
                    };
                    let Some(branch) = args.branch.as_deref().filter(|b| !b.is_empty()) else {
                        return Err(RunError::input(format!(
                            "preview is on, but {what}, and no branch is given to deploy to instead"
                        ))
                        .hint("pass --branch (input branch) for pushes, or run on pull_request events only"));
                    };
                    let msg = format!("preview: {what}: deploying to branch {branch} as usual");
                    reporter.line(&msg);
                    reporter.github().notice("Preview", &msg);
                }
            }
        }

        if let Some(environment) = args
            .deployment_environment
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let pr = me.preview.as_ref().map(|p| &p.pr);
            let sha = pr
                .and_then(|p| p.head_sha.clone())
                .or_else(|| env("GITHUB_SHA"));
            if args.dry_run == Some(true) || pr.is_some_and(PullRequest::is_closed) {
                // Nothing is deployed.
            } else if pr.is_some_and(PullRequest::token_is_read_only) {
                reporter.line("GitHub deployment: not reported, the fork's token is read-only");
            } else {
                match (sha, api()) {
                    (Some(sha), Ok(api)) => {
                        me.deployment = Some(DeploymentPlan {
                            api,
                            sha,
                            environment: environment.to_owned(),
                            transient: pr.is_some(),
                            id: None,
                        })
                    }
                    (None, _) => reporter.warning(
                        "deployment-environment: no commit SHA (GITHUB_SHA is unset): the GitHub deployment is not reported",
                    ),
                    (_, Err(why)) => reporter.warning(&format!(
                        "deployment-environment: the GitHub deployment is not reported: {why}"
                    )),
                }
            }
        }
        Ok(me)
    }

    /// The pull request was closed: remove its branch instead of deploying.
    pub fn closes_preview(&self) -> bool {
        self.preview.as_ref().is_some_and(|p| p.pr.is_closed())
    }

    /// Stop the preview branch's job, delete the branch (already gone is
    /// fine) and say so in the comment.
    pub async fn remove_preview(&self, args: &DeployArgs) -> Result<(), RunError> {
        let Some(p) = &self.preview else {
            return Ok(());
        };
        if args.dry_run == Some(true) {
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
        crate::branches::remove_branch(
            args.app_id.as_deref(),
            Some(&p.branch),
            &args.aws,
            true,
            &self.reporter,
        )
        .await?;
        let body = comment::render(
            &self.app_id,
            p.pr.head_sha.as_deref(),
            &CommentState::Removed { branch: &p.branch },
            SystemTime::now(),
        );
        self.comment(p, &body, true).await;
        Ok(())
    }

    /// Create the GitHub deployment and mark it in progress.
    pub async fn before_deploy(&mut self) {
        let Some(d) = &mut self.deployment else {
            return;
        };
        let created = d
            .api
            .create_deployment(&d.sha, &d.environment, d.transient)
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

    /// Report how the deploy ended: the deployment status and the comment.
    /// `outcome` is `None` when the deploy stopped before reaching AWS.
    pub async fn after_deploy(&self, outcome: Option<&Outcome>, error: Option<&RunError>) {
        if let Some(DeploymentPlan {
            api, id: Some(id), ..
        }) = &self.deployment
        {
            let succeeded =
                outcome.is_some_and(|o| o.status.as_ref().is_some_and(RunStatus::succeeded));
            let (state, description) = match (error, succeeded) {
                (None, true) => ("success", "Deployed to Amplify".to_owned()),
                (None, _) => ("in_progress", "Amplify deployment started".to_owned()),
                (Some(e), _) => ("failure", e.message.chars().take(MAX_DESCRIPTION).collect()),
            };
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
            let body = comment::render(
                &self.app_id,
                p.pr.head_sha.as_deref(),
                &CommentState::Deployed {
                    outcome: o,
                    error: message.as_deref(),
                },
                SystemTime::now(),
            );
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

fn read_pull_request(event: &str) -> Result<PullRequest, RunError> {
    let Some(path) = env("GITHUB_EVENT_PATH") else {
        return Err(RunError::input(format!(
            "preview: GITHUB_EVENT_NAME is {event}, but GITHUB_EVENT_PATH (the event payload) is not set"
        )));
    };
    let payload = std::fs::read_to_string(&path).map_err(|e| {
        RunError::input(format!(
            "preview: cannot read the event payload {path}: {e}"
        ))
    })?;
    PullRequest::parse(event, &payload)
        .map_err(|e| RunError::input(format!("preview: {path}: {e}")))
}

fn deployment_warning(e: &client::GitHubError, what: &str) -> String {
    if e.is_permission() {
        format!("could not {what}: {e}; give the job `permissions: deployments: write` (the deploy itself is not affected)")
    } else {
        format!("could not {what}: {e} (the deploy itself is not affected)")
    }
}
