//! `deploy`'s settings: what to deploy and how (packaging, waiting, the
//! live check, the branch's settings), with the preview decided.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::auth::{BasicAuth, INHERIT};
use super::github::{
    resolve_preview, CommitSettings, ForkSettings, GitHubSettings, LifecycleSettings, Preview,
};
use super::names::{self, AppId, BranchName};
use super::{trimmed, AwsSettings, Env};
use crate::amplify::CustomRule;
use crate::choices::{ArtifactUrl, OnBusy, SourceUrlType, Stage, Verify};
use crate::cli::{DeployArgs, PackageFilterArgs};
use crate::error::RunError;
use crate::package::PackageOptions;
use crate::rules::site::NotFoundPage;
use crate::s3::ArtifactStore;

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

/// `deploy`'s settings, resolved and checked before anything runs: how it
/// runs ([`DeployOptions`], which it derefs to), what it deploys
/// ([`Source`]; `None` only for a closed pull request's run, which removes
/// its preview), and the commit it is of.
#[derive(Clone)]
pub struct DeploySettings {
    pub options: DeployOptions,
    pub source: Option<Source>,
    /// What is deployed, for the branch's provenance and newest-wins.
    pub commit: CommitSettings,
}

impl std::ops::Deref for DeploySettings {
    type Target = DeployOptions;
    fn deref(&self) -> &DeployOptions {
        &self.options
    }
}

/// What a deploy deploys.
#[derive(Debug, Clone)]
pub enum Source {
    /// A folder, packaged as these options say (the live check's page, the
    /// files made from `_headers`, the rule files left out included).
    Folder(PackageOptions),
    /// A URL Amplify fetches itself (`--source-url`).
    Url {
        url: String,
        kind: Option<SourceUrlType>,
    },
    /// A package in the artifact store (`rollback`, `promote`): the URL the
    /// job starts from (`s3://…`, or a presigned GET: a secret), and the
    /// page the live check expects, read from the artifact.
    Stored { url: String, page: Option<Vec<u8>> },
}

/// `--sync-rules`: the app's rules to write, and where they come from.
#[derive(Debug, Clone)]
pub struct RulesSync {
    pub rules: Vec<CustomRule>,
    pub from: String,
}

/// `--artifact-store`: where the package is stored and how Amplify reads it.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub store: ArtifactStore,
    pub url: ArtifactUrl,
}

/// How a deploy runs, whatever it deploys.
#[derive(Clone)]
pub struct DeployOptions {
    pub app_id: AppId,
    /// The preview branch on a pull request event, else `--branch`.
    pub branch: BranchName,
    pub aws: AwsSettings,
    pub wait: bool,
    pub dry_run: bool,
    /// Longer than zero.
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
    pub verify: VerifySettings,
    /// `--max-previews`, `--evict-open`, `--preview-ttl`.
    pub lifecycle: LifecycleSettings,
    /// `--basic-auth inherit`: a new preview copies its base branch's
    /// basic auth (`verify.basic_auth` is then `None` until it is read).
    pub inherit_basic_auth: bool,
    /// `--sync-rules` (or `--spa`, which implies it): the rules, translated.
    pub rules: Option<RulesSync>,
    /// `--artifact-store`, with a folder source.
    pub store: Option<StoreSettings>,
    pub skip_unchanged: bool,
    /// `--override-lock`: deploy to a branch locked for an incident.
    pub override_lock: bool,
    /// Set by `rollback`: what it records on the branch before its job.
    pub undo: Option<Undo>,
    /// `--skew-protection`: the branch's `enableSkewProtection` to have;
    /// `None` leaves the branch as it is.
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
        })
    }
}

/// What a deploy's options are resolved for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose<'a> {
    /// `deploy`: a folder or a URL, the preview decided by the event.
    Deploy,
    /// `rollback` and `promote`: a stored package to an existing branch
    /// (no preview, no packaging, no store, no skipping), of this app and
    /// in this region when given (`promote --to-app-id`, `--to-region`),
    /// recording `undo` first (a rollback).
    Redeploy {
        branch: Option<&'a str>,
        app_id: Option<&'a str>,
        region: Option<&'a str>,
        undo: Option<&'a Undo>,
    },
}

impl DeploySettings {
    /// `deploy`: its options, its source and its commit, checked.
    pub fn resolve(args: &DeployArgs, env: &Env) -> Result<DeploySettings, RunError> {
        let mut options = DeployOptions::resolve(args, env, Purpose::Deploy)?;
        // None: a closed pull request's run (it removes the preview); a
        // fork's own pull_request run (it deploys nothing, whatever its
        // folder holds); the trusted run of a fork's preview (its artifact
        // is the folder, found once the run has found the pull request).
        let source = match &options.preview {
            Preview::PullRequest { pr, .. } if pr.is_closed() || pr.token_is_read_only() => None,
            _ if options.fork.trusted.is_some() => None,
            _ => Some(source(args, env, &options)?),
        };
        if let Some(Source::Folder(_)) = &source {
            options.store = store_settings(args)?;
        }
        if options.timeout.is_zero() {
            return Err(RunError::input("timeout must be longer than 0s"));
        }
        Ok(DeploySettings {
            options,
            source,
            commit: CommitSettings::resolve(args, env),
        })
    }
}

impl DeployOptions {
    /// The options of `args` for `purpose`; the rules (`--sync-rules`) are
    /// translated from the folder now, so a bad line stops the run before
    /// anything is sent.
    pub fn resolve(
        args: &DeployArgs,
        env: &Env,
        purpose: Purpose<'_>,
    ) -> Result<DeployOptions, RunError> {
        let Target {
            preview,
            fork,
            verify,
            app_id,
            branch: (branch, create_branch, stage),
            rules,
        } = Target::resolve(args, env, purpose)?;
        let (region, undo, redeploy) = match purpose {
            Purpose::Deploy => (None, None, false),
            Purpose::Redeploy { region, undo, .. } => (region, undo, true),
        };
        let mut aws = AwsSettings::resolve(&args.aws, env);
        if let Some(region) = region {
            aws.region = Some(region.to_owned());
        }
        Ok(DeployOptions {
            app_id,
            branch,
            aws,
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
            temp_dir: temp_dir(env),
            preview,
            github: GitHubSettings::resolve(args, env),
            verify,
            lifecycle: LifecycleSettings::resolve(args),
            inherit_basic_auth: inherits_basic_auth(args),
            rules,
            store: None,
            skip_unchanged: !redeploy && args.skip_unchanged.unwrap_or(false),
            override_lock: args.override_lock.unwrap_or(false),
            undo: undo.cloned(),
            skew_protection: args.skew_protection,
            fork,
        })
    }
}

/// What a deploy goes to and what it checks first: the preview the event
/// decides, the live check, the app, the branch (with whether it may be
/// created, and its stage), the rules to sync.
struct Target {
    preview: Preview,
    fork: ForkSettings,
    verify: VerifySettings,
    app_id: AppId,
    branch: (BranchName, bool, Stage),
    rules: Option<RulesSync>,
}

impl Target {
    /// Checked in the order users have always met them: basic-auth
    /// inherit, the preview, the preview's branch, the live check, the
    /// app, the branch, the rules.
    fn resolve(args: &DeployArgs, env: &Env, purpose: Purpose<'_>) -> Result<Target, RunError> {
        let redeploy = matches!(purpose, Purpose::Redeploy { .. });
        if inherits_basic_auth(args) && (args.preview != Some(true) || redeploy) {
            return Err(RunError::input(
                "basic-auth inherit copies a base branch's basic auth to a new preview: it needs --preview",
            )
            .hint("pass --basic-auth USER:PASSWORD to protect this branch"));
        }
        let preview = match (args.preview, purpose) {
            (Some(true), Purpose::Deploy) => resolve_preview(args, env)?,
            _ => Preview::Off,
        };
        let fork = ForkSettings::resolve(args, env, &preview, redeploy)?;
        let (given, app) = match purpose {
            Purpose::Deploy => (args.branch.as_deref(), None),
            Purpose::Redeploy { branch, app_id, .. } => (branch, app_id),
        };
        let preview_branch = match &preview {
            Preview::PullRequest { .. } => Some(branch_of(args, &preview, given, redeploy)?),
            _ => None,
        };
        let verify = VerifySettings::resolve(args)?;
        let app_id = AppId::parse(app.or(args.app_id.as_deref()))?;
        let branch = match (preview_branch, &fork.trusted) {
            (Some(b), _) => b,
            // The trusted run of a fork's preview finds its branch with the
            // pull request; this name is never sent.
            (None, Some(_)) if given.is_none_or(|g| g.trim().is_empty()) => (
                BranchName::parse(Some(FORK_PENDING))?,
                false,
                Stage::PullRequest,
            ),
            (None, _) => branch_of(args, &preview, given, redeploy)?,
        };
        let rules = match redeploy {
            false => sync_rules(args, &preview)?,
            true => None,
        };
        Ok(Target {
            preview,
            fork,
            verify,
            app_id,
            branch,
            rules,
        })
    }
}

/// The branch of a fork's trusted run until it has found the pull request
/// (and with it the preview's branch): a placeholder, never sent.
pub(super) const FORK_PENDING: &str = "fork-preview-pending";

/// `--basic-auth inherit`.
fn inherits_basic_auth(args: &DeployArgs) -> bool {
    args.basic_auth.as_deref().map(str::trim) == Some(INHERIT)
}

/// Where the archive is written: `RUNNER_TEMP` when it is a folder, else
/// the system's.
fn temp_dir(env: &Env) -> PathBuf {
    env.var_os("RUNNER_TEMP")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

impl LifecycleSettings {
    /// `--preview-prefix`, `--max-previews`, `--evict-open`, `--preview-ttl`.
    fn resolve(args: &DeployArgs) -> LifecycleSettings {
        LifecycleSettings {
            prefix: args.preview_prefix.trim().to_owned(),
            max_previews: args.max_previews as usize,
            evict_open: args.evict_open.unwrap_or(false),
            ttl: args.preview_ttl.filter(|t| !t.is_zero()),
        }
    }
}

/// The branch (a pull request's preview, else the one given), whether it
/// may be created, and its stage.
fn branch_of(
    args: &DeployArgs,
    preview: &Preview,
    given: Option<&str>,
    redeploy: bool,
) -> Result<(BranchName, bool, Stage), RunError> {
    match preview {
        Preview::PullRequest { pr, .. } => {
            let branch = format!("{}{}", args.preview_prefix.trim(), pr.number);
            let branch = BranchName::parse(Some(&branch))
                .map_err(|e| RunError::input(format!("preview-prefix: {}", e.message)))?;
            Ok((branch, true, args.stage.unwrap_or(Stage::PullRequest)))
        }
        _ => Ok((
            BranchName::parse(given)?,
            !redeploy && args.create_branch.unwrap_or(false),
            args.stage.unwrap_or(Stage::Production),
        )),
    }
}

/// `--sync-rules` (or `--spa`): the folder's `_redirects` (if it has one),
/// then the SPA rewrite, then the not-found page. Refused on a preview:
/// the rules are the app's, shared by every branch.
fn sync_rules(args: &DeployArgs, preview: &Preview) -> Result<Option<RulesSync>, RunError> {
    let spa = args.spa.unwrap_or(false);
    if !(args.sync_rules.unwrap_or(false) || spa) {
        return Ok(None);
    }
    if let Preview::PullRequest { pr, .. } = preview {
        if pr.is_closed() {
            return Ok(None); // the run removes the preview: nothing to sync
        }
        return Err(RunError::input(format!(
            "sync-rules: pull request #{}'s preview cannot change the app's redirects and rewrites, which every branch shares: sync them from the production deploy (or `amplify-deploy rules sync`)",
            pr.number
        )));
    }
    let not_found = NotFoundPage::parse(args.not_found_page.as_deref());
    let (rules, from) = crate::rules::site::deploy_rules(args.path.as_deref(), spa, &not_found)?;
    Ok(Some(RulesSync { rules, from }))
}

/// What `deploy` deploys: `--path` (packaged as the options say) or
/// `--source-url`, and with `--artifact-store` where the package is kept.
fn source(args: &DeployArgs, env: &Env, options: &DeployOptions) -> Result<Source, RunError> {
    match (&args.path, &args.source_url) {
        (Some(path), None) => folder(args, env, options, path),
        (None, Some(url)) => {
            names::validate_source_url(url)?;
            if args
                .artifact_store
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
            {
                // Checked as before: the store's URL first, then its use.
                store_settings(args)?;
                return Err(RunError::input(
                    "artifact-store keeps a package built from --path; it cannot be used with source-url",
                ));
            }
            Ok(Source::Url {
                url: url.clone(),
                kind: args.source_url_type,
            })
        }
        (None, None) => Err(RunError::input(
            "path is required: pass --path DIR (the build folder) or --source-url URL",
        )),
        (Some(_), Some(_)) => Err(RunError::input(
            "path and source-url cannot be used together",
        )),
    }
}

/// A folder source: it exists, its package options, the page the live
/// check compares (which the rules being synced may rewrite).
fn folder(
    args: &DeployArgs,
    env: &Env,
    options: &DeployOptions,
    path: &Path,
) -> Result<Source, RunError> {
    folder_source(&FilterSettings::resolve(&args.filter, env), options, path)
}

/// A folder source of `filter`'s packaging options, for `options`' live
/// check and rules (a deploy's `--path`; a fork's artifact, unpacked).
pub(super) fn folder_source(
    filter: &FilterSettings,
    options: &DeployOptions,
    path: &Path,
) -> Result<Source, RunError> {
    check_folder(path)?;
    let mut opts = filter.package_options(path)?;
    crate::rules::site::apply_to_package(&mut opts, filter.keep_rule_files)?;
    opts.keep = (options.verify.mode != Verify::Off)
        .then(|| live_document(&options.verify.path, path, options.rules.as_ref()));
    Ok(Source::Folder(opts))
}

/// `--artifact-store s3://bucket/prefix`, parsed.
pub(super) fn store_settings(args: &DeployArgs) -> Result<Option<StoreSettings>, RunError> {
    let Some(value) = trimmed(&args.artifact_store) else {
        return Ok(None);
    };
    let store = ArtifactStore::parse(&value)
        .map_err(|e| RunError::input(format!("artifact-store: {e}")))?;
    Ok(Some(StoreSettings {
        store,
        url: args.artifact_url.unwrap_or_default(),
    }))
}

fn check_folder(path: &Path) -> Result<(), RunError> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(RunError::input(format!("path {shown}: no such directory")))
        }
        Err(e) => Err(RunError::input(format!(
            "path {shown}: cannot be read: {e}"
        ))),
        Ok(m) if !m.is_dir() => Err(RunError::input(format!(
            "path {shown}: is a file, not a directory (pass the build folder, e.g. dist/)"
        ))),
        Ok(_) => Ok(()),
    }
}

/// The package entry a site path serves: `/` is `index.html`, `/docs/`
/// is `docs/index.html`, `/a.html` is `a.html`.
pub fn root_document(path: &str) -> String {
    let name = path.trim_start_matches('/');
    if name.is_empty() || name.ends_with('/') {
        format!("{name}index.html")
    } else {
        name.to_owned()
    }
}

/// The package entry the live check expects at `verify_path`: its own
/// file, unless the rules being synced rewrite it (the SPA rule sends a
/// route without a file to `index.html`).
fn live_document(verify_path: &str, folder: &Path, rules: Option<&RulesSync>) -> String {
    let own = root_document(verify_path);
    let path = verify_path.split(['?', '#']).next().unwrap_or("/");
    let has_file = folder.join(&own).is_file();
    rules
        .and_then(|r| crate::rules::rewrite_target(path, &r.rules, has_file))
        .map_or(own, |target| root_document(&target))
}
