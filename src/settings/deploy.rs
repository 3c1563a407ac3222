//! `deploy`'s settings: what to deploy and how (packaging, waiting, the
//! live check, the branch's settings), with the preview decided.

use std::path::PathBuf;
use std::time::Duration;

use super::auth::{BasicAuth, INHERIT};
use super::github::{
    resolve_preview, CommitSettings, ForkSettings, GitHubSettings, LifecycleSettings, Preview,
};
use super::{names, trimmed, AwsSettings, Env};
use crate::choices::{OnBusy, SourceUrlType, Stage, Verify};
use crate::cli::{DeployArgs, PackageFilterArgs};
use crate::error::RunError;
use crate::package::PackageOptions;
use crate::rules::site::NotFoundPage;

/// How a folder is packaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSettings {
    /// `--exclude` patterns, blank ones left out.
    pub excludes: Vec<String>,
    pub threads: Option<usize>,
    pub max_archive_bytes: Option<u64>,
    /// `SOURCE_DATE_EPOCH` as set; parsed when a folder is packaged (a
    /// `--source-url` deploy never reads it).
    pub source_date_epoch: Option<String>,
    /// `--keep-rule-files`: `_headers` and `_redirects` are deployed too.
    pub keep_rule_files: bool,
}

impl FilterSettings {
    pub fn resolve(args: &PackageFilterArgs, env: &Env) -> FilterSettings {
        FilterSettings {
            excludes: args
                .exclude
                .iter()
                .filter(|e| !e.trim().is_empty())
                .cloned()
                .collect(),
            threads: args.threads,
            max_archive_bytes: args.max_archive_bytes,
            source_date_epoch: env.get("SOURCE_DATE_EPOCH"),
            keep_rule_files: args.keep_rule_files.unwrap_or(false),
        }
    }

    /// What `deploy` and `package` package: the folder, filtered, on the
    /// threads asked for, stamped with `SOURCE_DATE_EPOCH`.
    pub fn package_options(&self, path: &std::path::Path) -> Result<PackageOptions, RunError> {
        if self.threads == Some(0) {
            return Err(RunError::input("threads must be at least 1"));
        }
        let mut opts = PackageOptions::new(path);
        opts.excludes = self.excludes.clone();
        opts.threads = self.threads;
        if let Some(max) = self.max_archive_bytes {
            opts.max_archive_bytes = max;
        }
        opts.source_date_epoch = self.source_date_epoch()?;
        Ok(opts)
    }

    /// `SOURCE_DATE_EPOCH` (reproducible-builds.org), when set.
    fn source_date_epoch(&self) -> Result<Option<u64>, RunError> {
        let Some(v) = &self.source_date_epoch else {
            return Ok(None);
        };
        v.trim().parse().map(Some).map_err(|_| {
            RunError::input(format!(
                "SOURCE_DATE_EPOCH {v:?} is not a number of seconds"
            ))
        })
    }
}

/// `amplify-deploy deploy`, with every default and the preview decided.
/// Names and the source are checked by the pipeline, before it touches
/// the network.
#[derive(Clone)]
pub struct DeploySettings {
    pub app_id: Option<String>,
    /// The preview branch on a pull request event, else `--branch`.
    pub branch: Option<String>,
    pub path: Option<PathBuf>,
    pub source_url: Option<String>,
    pub source_url_type: Option<SourceUrlType>,
    pub aws: AwsSettings,
    pub filter: FilterSettings,
    pub wait: bool,
    pub dry_run: bool,
    pub timeout: Duration,
    pub quota_wait: Duration,
    pub keep_job_on_timeout: bool,
    pub on_busy: OnBusy,
    /// Always on for a preview.
    pub create_branch: bool,
    /// `--stage`, else `PULL_REQUEST` for a preview, else `PRODUCTION`.
    pub stage: Stage,
    /// At least 10 ms.
    pub poll_interval: Duration,
    pub pending_grace: Duration,
    pub json: Option<String>,
    pub dotenv: Option<PathBuf>,
    /// Where the archive is written: `RUNNER_TEMP` when it is a folder,
    /// else the system's.
    pub temp_dir: PathBuf,
    pub preview: Preview,
    pub github: GitHubSettings,
    /// What is deployed, for the branch's provenance and newest-wins.
    pub commit: CommitSettings,
    pub verify: VerifySettings,
    /// `--max-previews`, `--evict-open`, `--preview-ttl`.
    pub lifecycle: LifecycleSettings,
    /// `--basic-auth inherit`: a new preview copies its base branch's
    /// basic auth (`verify.basic_auth` is then `None` until it is read).
    pub inherit_basic_auth: bool,
    /// `--sync-rules` (or `--spa`, which implies it): the app's rules from
    /// the folder's `_redirects` before deploying.
    pub sync_rules: bool,
    /// `--spa`: the SPA rewrite after those rules.
    pub spa: bool,
    /// `--not-found-page`: the last rule, missing paths to this page with
    /// 404 (by default the folder's `404.html`, when it has one).
    pub not_found_page: NotFoundPage,
    /// `--artifact-store s3://bucket/prefix`, as given (checked by the plan).
    pub artifact_store: Option<String>,
    pub artifact_url: crate::choices::ArtifactUrl,
    pub skip_unchanged: bool,
    /// `--override-lock`: deploy to a branch locked for an incident.
    pub override_lock: bool,
    /// Set by `rollback`: what it records on the branch before its job.
    pub undo: Option<Undo>,
    /// `--skew-protection`: the branch's `enableSkewProtection` to set;
    /// `None` leaves the branch as it is. Not applied by the pipeline yet.
    pub skew_protection: Option<bool>,
    /// `--fork-previews`, `--preview-label`, `--preview-artifact`, and the
    /// trusted run of a fork's preview this run may be.
    pub fork: ForkSettings,
}

/// What a rollback writes on the branch before it starts its job (failing
/// the run if it cannot): the package it moves away from, in the rollback
/// record, and with `--lock` the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo {
    pub lock: Option<LockRequest>,
}

/// A lock to place (`lock`, `rollback --lock`): why, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    /// `--reason`, else a default the command gives.
    pub reason: Option<String>,
    /// The CI run's URL, else `user@host`.
    pub by: String,
}

/// The live check (`--verify*`), the branch's basic auth, and where the
/// check's requests go.
#[derive(Debug, Clone)]
pub struct VerifySettings {
    pub mode: Verify,
    pub timeout: Duration,
    /// Starts with `/`.
    pub path: String,
    pub basic_auth: Option<BasicAuth>,
    /// `--resolve`: (host, base URL); host `*` matches any.
    pub resolve: Vec<(String, url::Url)>,
    /// The root document's bytes when the source is a URL whose package
    /// is known (a rollback reads them from the artifact); `None`: a URL
    /// source is not checked.
    pub expected: Option<Vec<u8>>,
}

impl VerifySettings {
    pub(super) fn resolve(args: &DeployArgs) -> Result<VerifySettings, RunError> {
        let basic_auth = match &args.basic_auth {
            None => None,
            Some(v) if v.trim() == INHERIT => None,
            // The value is a secret: never repeated in the message.
            Some(v) => match v.split_once(':') {
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    Some(BasicAuth {
                        user: user.to_owned(),
                        password: password.to_owned(),
                    })
                }
                _ => {
                    return Err(RunError::input(
                        "basic-auth must be USER:PASSWORD (a user name, a colon, a password)",
                    ))
                }
            },
        };
        let path = args.verify_path.trim();
        if !path.starts_with('/') || path.contains(['?', '#']) {
            return Err(RunError::input(format!(
                "verify-path must be a path starting with /, got {path:?}"
            )));
        }
        let mut resolve = Vec::new();
        for entry in args.resolve.iter().flat_map(|r| r.split(',')) {
            let parsed = entry.split_once('=').and_then(|(host, base)| {
                Some((host.trim().to_owned(), url::Url::parse(base.trim()).ok()?))
            });
            match parsed {
                Some(pair) => resolve.push(pair),
                None => {
                    return Err(RunError::input(format!(
                        "resolve must be HOST=URL, got {entry:?}"
                    )))
                }
            }
        }
        Ok(VerifySettings {
            mode: args.verify,
            timeout: args.verify_timeout,
            path: path.to_owned(),
            basic_auth,
            resolve,
            expected: None,
        })
    }
}

impl DeploySettings {
    pub fn resolve(args: &DeployArgs, env: &Env) -> Result<DeploySettings, RunError> {
        let inherit_basic_auth = args.basic_auth.as_deref().map(str::trim) == Some(INHERIT);
        if inherit_basic_auth && args.preview != Some(true) {
            return Err(RunError::input(
                "basic-auth inherit copies a base branch's basic auth to a new preview: it needs --preview",
            )
            .hint("pass --basic-auth USER:PASSWORD to protect this branch"));
        }
        let preview = match args.preview {
            Some(true) => resolve_preview(args, env)?,
            _ => Preview::Off,
        };
        let fork = ForkSettings::resolve(args, env, &preview)?;
        let (branch, create_branch, stage) = match &preview {
            Preview::PullRequest { pr, .. } => {
                let branch = format!("{}{}", args.preview_prefix.trim(), pr.number);
                let branch = names::validate_branch(Some(&branch))
                    .map_err(|e| RunError::input(format!("preview-prefix: {}", e.message)))?;
                (Some(branch), true, args.stage.unwrap_or(Stage::PullRequest))
            }
            _ => (
                args.branch.clone(),
                args.create_branch.unwrap_or(false),
                args.stage.unwrap_or(Stage::Production),
            ),
        };
        Ok(DeploySettings {
            app_id: args.app_id.clone(),
            branch,
            path: args.path.clone(),
            source_url: args.source_url.clone(),
            source_url_type: args.source_url_type,
            aws: AwsSettings::resolve(&args.aws, env),
            filter: FilterSettings::resolve(&args.filter, env),
            wait: !args.no_wait && args.wait.unwrap_or(true),
            dry_run: args.dry_run.unwrap_or(false),
            timeout: args.timeout,
            quota_wait: args.quota_wait,
            keep_job_on_timeout: args.keep_job_on_timeout.unwrap_or(false),
            on_busy: args.on_busy,
            create_branch,
            stage,
            poll_interval: args.poll_interval.max(Duration::from_millis(10)),
            pending_grace: args.pending_grace,
            json: args.json.clone(),
            dotenv: args.dotenv.clone(),
            temp_dir: env
                .var_os("RUNNER_TEMP")
                .map(PathBuf::from)
                .filter(|p| p.is_dir())
                .unwrap_or_else(std::env::temp_dir),
            preview,
            github: GitHubSettings::resolve(args, env),
            commit: CommitSettings::resolve(args, env),
            verify: VerifySettings::resolve(args)?,
            lifecycle: LifecycleSettings {
                prefix: args.preview_prefix.trim().to_owned(),
                max_previews: args.max_previews as usize,
                evict_open: args.evict_open.unwrap_or(false),
                ttl: args.preview_ttl.filter(|t| !t.is_zero()),
            },
            inherit_basic_auth,
            sync_rules: args.sync_rules.unwrap_or(false) || args.spa.unwrap_or(false),
            spa: args.spa.unwrap_or(false),
            not_found_page: NotFoundPage::parse(args.not_found_page.as_deref()),
            artifact_store: trimmed(&args.artifact_store),
            artifact_url: args.artifact_url.unwrap_or_default(),
            skip_unchanged: args.skip_unchanged.unwrap_or(false),
            override_lock: args.override_lock.unwrap_or(false),
            undo: None,
            skew_protection: args.skew_protection,
            fork,
        })
    }
}
