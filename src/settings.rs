//! Settings, resolved once before anything runs (uv's `settings.rs`): the
//! command line, the environment and the GitHub event become one immutable,
//! typed value per command. Nothing below the command layer reads the
//! environment or sees a clap type; it gets these structs.
//!
//! The precedence chain, in one place:
//! 1. a flag on the command line;
//! 2. its `AMPLIFY_*` variable (clap's `env`, declared in `cli`);
//! 3. GitHub's `INPUT_*` variable ([`crate::cli::parse`] passes it as a
//!    flag for an option that neither a flag nor `AMPLIFY_*` sets);
//! 4. the GitHub event, for previews: a pull request decides the branch,
//!    `create-branch` and (unless given) the stage;
//! 5. AWS conventions (`AWS_REGION`, `AWS_ENDPOINT_URL_AMPLIFY`, …, here;
//!    the profile when connecting, see `connection`);
//! 6. the default.
//!
//! Only the standard AWS credential chain (`aws-config`: `AWS_ACCESS_KEY_ID`,
//! `AWS_PROFILE`, container and instance metadata, …) and the profile files
//! are read later, by aws-config itself, as every AWS SDK does.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::choices::{ColorChoice, OnBusy, SourceUrlType, Stage, Verbosity, Verify};
use crate::cli::{
    AwsArgs, BranchTarget, Cli, Command, DeployArgs, InitArgs, JobArgs, OutputArgs,
    PackageFilterArgs, PreviewsCommand, PromoteArgs, RollbackArgs,
};
use crate::error::RunError;
use crate::github::event::{PullRequest, PULL_REQUEST_EVENTS};
use crate::package::PackageOptions;
use crate::rules::site::NotFoundPage;

/// The public GitHub API; `GITHUB_API_URL` overrides it (GitHub Enterprise Server).
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

/// `--role-duration-seconds` default, as aws-actions/configure-aws-credentials'.
pub const DEFAULT_ROLE_DURATION_SECONDS: u32 = 3600;

/// Reads one variable.
type Lookup = Box<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// A view of the environment: the process's, or a map in tests (no
/// `set_var`).
pub struct Env {
    lookup: Lookup,
}

impl Env {
    /// The process's environment.
    pub fn real() -> Env {
        Env {
            lookup: Box::new(|name| std::env::var_os(name)),
        }
    }

    /// Exactly these variables.
    pub fn from_map(vars: BTreeMap<String, OsString>) -> Env {
        Env {
            lookup: Box::new(move |name| vars.get(name).cloned()),
        }
    }

    pub fn var_os(&self, name: &str) -> Option<OsString> {
        (self.lookup)(name)
    }

    /// A variable's value, unless it is unset, blank or not UTF-8.
    pub fn get(&self, name: &str) -> Option<String> {
        self.var_os(name)?
            .into_string()
            .ok()
            .filter(|v| !v.trim().is_empty())
    }
}

/// What one run does, fully resolved.
pub enum Settings {
    Deploy(Box<DeploySettings>),
    Package(PackageSettings),
    DeleteBranch {
        target: BranchSettings,
        if_exists: bool,
    },
    DeleteJob(DeleteJobSettings),
    Status {
        job: JobSettings,
        json: bool,
    },
    Stop(JobSettings),
    Completions(crate::cli::Shell),
    Init(InitSettings),
    Previews(PreviewsSettings),
    RulesSync(RulesSyncSettings),
    History(HistorySettings),
    Rollback(Box<RollbackSettings>),
    Promote(Box<PromoteSettings>),
    Lock(LockSettings),
    Unlock(BranchSettings),
}

impl Settings {
    /// Resolve the parsed command line against the environment. Fails only
    /// on what must be known before anything runs (the preview's event).
    pub fn resolve(cli: &Cli, env: &Env) -> Result<Settings, RunError> {
        Ok(match &cli.command {
            None => Settings::Deploy(Box::new(DeploySettings::resolve(&cli.deploy, env)?)),
            Some(Command::Deploy(args)) => {
                Settings::Deploy(Box::new(DeploySettings::resolve(args, env)?))
            }
            Some(Command::Package(args)) => Settings::Package(PackageSettings {
                path: args.path.clone(),
                output: args.output.clone(),
                filter: FilterSettings::resolve(&args.filter, env),
            }),
            Some(Command::DeleteBranch(args)) => Settings::DeleteBranch {
                target: BranchSettings::resolve(&args.target, env),
                if_exists: args.if_exists,
            },
            Some(Command::DeleteJob(args)) => Settings::DeleteJob(DeleteJobSettings {
                target: BranchSettings::resolve(&args.target, env),
                job_id: args.job_id.clone(),
                dry_run: args.dry_run,
            }),
            Some(Command::Status(args)) => Settings::Status {
                job: JobSettings::resolve(&args.job, env),
                json: args.json,
            },
            Some(Command::Stop(args)) => Settings::Stop(JobSettings::resolve(args, env)),
            Some(Command::Completions(args)) => Settings::Completions(args.shell),
            Some(Command::Init(args)) => Settings::Init(InitSettings::resolve(args, env)),
            Some(Command::Previews(args)) => {
                Settings::Previews(PreviewsSettings::resolve(&args.command, env))
            }
            Some(Command::Rules(args)) => match &args.command {
                crate::cli::RulesCommand::Sync(a) => Settings::RulesSync(RulesSyncSettings {
                    app_id: a.app_id.clone(),
                    from: a.from.clone(),
                    spa: a.spa,
                    not_found_page: NotFoundPage::parse(a.not_found_page.as_deref()),
                    dry_run: a.dry_run,
                    aws: AwsSettings::resolve(&a.aws, env),
                    timeout: a.timeout.timeout,
                }),
            },
            Some(Command::History(args)) => Settings::History(HistorySettings {
                target: BranchSettings::resolve(&args.target, env),
                limit: args.limit as usize,
                json: args.json,
                artifact_store: args
                    .artifact_store
                    .as_deref()
                    .map(crate::s3::ArtifactStore::parse)
                    .transpose()
                    .map_err(|e| RunError::input(format!("artifact-store: {e}")))?,
            }),
            Some(Command::Rollback(args)) => {
                Settings::Rollback(Box::new(RollbackSettings::resolve(args, env)?))
            }
            Some(Command::Promote(args)) => {
                Settings::Promote(Box::new(PromoteSettings::resolve(args, env)?))
            }
            Some(Command::Lock(args)) => Settings::Lock(LockSettings {
                target: BranchSettings::resolve(&args.target, env),
                request: LockRequest {
                    reason: trimmed(&args.reason),
                    by: lock_by(env),
                },
            }),
            Some(Command::Unlock(args)) => Settings::Unlock(BranchSettings::resolve(args, env)),
        })
    }

    /// `--timeout` of a command the command layer bounds as a whole;
    /// `None` for those that bound themselves (deploy, rollback, promote)
    /// or call no service.
    pub fn timeout(&self) -> Option<Duration> {
        match self {
            Settings::DeleteBranch { target, .. } | Settings::Unlock(target) => {
                Some(target.timeout)
            }
            Settings::Status { job, .. } | Settings::Stop(job) => Some(job.target.timeout),
            Settings::DeleteJob(s) => Some(s.target.timeout),
            Settings::Lock(s) => Some(s.target.timeout),
            Settings::History(s) => Some(s.target.timeout),
            Settings::Init(s) => Some(s.timeout),
            Settings::Previews(s) => Some(s.timeout),
            Settings::RulesSync(s) => Some(s.timeout),
            Settings::Deploy(_)
            | Settings::Rollback(_)
            | Settings::Promote(_)
            | Settings::Package(_)
            | Settings::Completions(_) => None,
        }
    }
}

/// `lock`: the branch, and why and by whom it is locked.
pub struct LockSettings {
    pub target: BranchSettings,
    pub request: LockRequest,
}

/// Who places a lock: the CI run (`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/
/// actions/runs/$GITHUB_RUN_ID`, GitLab's `CI_JOB_URL`), else
/// `user@host` from `USER`/`USERNAME` and `HOSTNAME`/`COMPUTERNAME`.
fn lock_by(env: &Env) -> String {
    if let Some(url) = run_url(env) {
        return url;
    }
    let user = env.get("USER").or_else(|| env.get("USERNAME"));
    let host = env.get("HOSTNAME").or_else(|| env.get("COMPUTERNAME"));
    match (user, host) {
        (Some(u), Some(h)) => format!("{u}@{h}"),
        (Some(u), None) => u,
        (None, Some(h)) => format!("someone@{h}"),
        (None, None) => "an unknown user".to_owned(),
    }
}

/// The CI run's page: GitHub's run URL, else GitLab's `CI_JOB_URL`.
fn run_url(env: &Env) -> Option<String> {
    match (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repo), Some(run)) => Some(format!(
            "{}/{repo}/actions/runs/{run}",
            server.trim_end_matches('/')
        )),
        _ => env.get("CI_JOB_URL"),
    }
}

/// Where the Amplify endpoint came from (named in error messages), and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub source: &'static str,
    pub url: String,
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
    fn resolve(env: &Env) -> TokenEnv {
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

/// A value with its surrounding white space cut, unless that leaves nothing.
fn trimmed(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn default_session_name(run_id: &str) -> String {
    let mut name = format!("amplify-deploy-{run_id}");
    name.retain(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(c));
    name.trim_end_matches('-').chars().take(64).collect()
}

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

/// `amplify-deploy rules sync`.
pub struct RulesSyncSettings {
    pub app_id: Option<String>,
    pub from: Option<PathBuf>,
    pub spa: bool,
    /// `--not-found-page`: `404.html` of the `--from` folder by default.
    pub not_found_page: NotFoundPage,
    pub dry_run: bool,
    pub aws: AwsSettings,
    pub timeout: Duration,
}

/// `amplify-deploy package`.
pub struct PackageSettings {
    pub path: PathBuf,
    pub output: PathBuf,
    pub filter: FilterSettings,
}

/// The Amplify branch a branch command works on (checked when it runs).
pub struct BranchSettings {
    pub app_id: Option<String>,
    pub branch: Option<String>,
    pub aws: AwsSettings,
    /// `--timeout`: the whole command's bound.
    pub timeout: Duration,
}

impl BranchSettings {
    fn resolve(t: &BranchTarget, env: &Env) -> BranchSettings {
        BranchSettings {
            app_id: t.app_id.clone(),
            branch: t.branch.clone(),
            aws: AwsSettings::resolve(&t.aws, env),
            timeout: t.timeout.timeout,
        }
    }
}

/// `history`: a branch, how many jobs, and how to print them.
pub struct HistorySettings {
    pub target: BranchSettings,
    pub limit: usize,
    pub json: bool,
    /// `--artifact-store`: where a package known only by its SHA-256 (the
    /// provenance tags) is looked for.
    pub artifact_store: Option<crate::s3::ArtifactStore>,
}

/// Which earlier deploy `rollback` returns to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTarget {
    /// The newest earlier release by the undo rule (`crate::history`).
    Previous,
    Job(String),
    /// Lowercase hex.
    Sha256(String),
}

/// `rollback`: the deploy settings (outputs, waiting, busy branch, live
/// check) and the target. The source is set once the target is found.
pub struct RollbackSettings {
    pub deploy: DeploySettings,
    pub target: RollbackTarget,
    pub artifact_store: Option<crate::s3::ArtifactStore>,
    /// `--artifact-url presigned`: deploy from a presigned GET.
    pub presigned: bool,
}

impl RollbackSettings {
    fn resolve(args: &RollbackArgs, env: &Env) -> Result<RollbackSettings, RunError> {
        let mut deploy = DeploySettings::resolve(&args.deploy, env)?;
        // A rollback redeploys what is stored: no folder, no preview, and
        // never "superseded" (returning to an older commit is the point).
        deploy.path = None;
        deploy.source_url = None;
        deploy.source_url_type = None;
        deploy.preview = Preview::Off;
        deploy.branch = args.deploy.branch.clone();
        deploy.create_branch = false;
        deploy.commit.force = true;
        let target = match (&args.job_id, &args.sha256) {
            (Some(id), _) => {
                let id = id.trim();
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(RunError::input(format!(
                        "job-id {id:?} is not an Amplify job id (a number, e.g. 12)"
                    )));
                }
                RollbackTarget::Job(id.to_owned())
            }
            (None, Some(sha)) => {
                let sha = sha.trim();
                if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(RunError::input(format!(
                        "sha256 {sha:?} is not a SHA-256 (64 hex digits)"
                    )));
                }
                RollbackTarget::Sha256(sha.to_ascii_lowercase())
            }
            (None, None) => RollbackTarget::Previous,
        };
        let artifact_store = deploy
            .artifact_store
            .as_deref()
            .map(crate::s3::ArtifactStore::parse)
            .transpose()
            .map_err(|e| RunError::input(format!("artifact-store: {e}")))?;
        let presigned = deploy.artifact_url == crate::choices::ArtifactUrl::Presigned;
        // The artifact is deployed from its URL: nothing to package or store.
        deploy.artifact_store = None;
        deploy.skip_unchanged = false;
        deploy.undo = Some(Undo {
            lock: args.lock.then(|| LockRequest {
                reason: trimmed(&args.reason),
                by: lock_by(env),
            }),
        });
        Ok(RollbackSettings {
            deploy,
            target,
            artifact_store,
            presigned,
        })
    }
}

/// `promote`: the source branch, and the deploy settings of the target
/// (its app, branch and region). The source is set once the artifact is
/// found.
pub struct PromoteSettings {
    /// `--app-id` and `--from-branch`, in `--region`.
    pub from: BranchSettings,
    pub deploy: DeploySettings,
    /// `--artifact-url presigned`: deploy from a presigned GET.
    pub presigned: bool,
}

impl PromoteSettings {
    fn resolve(args: &PromoteArgs, env: &Env) -> Result<PromoteSettings, RunError> {
        let mut deploy = DeploySettings::resolve(&args.deploy, env)?;
        let from = BranchSettings {
            app_id: deploy.app_id.clone(),
            branch: Some(args.from_branch.clone()),
            aws: deploy.aws.clone(),
            timeout: deploy.timeout,
        };
        // A promote deploys what is stored: no folder, no preview, and never
        // "superseded" (the target may serve a newer commit on purpose).
        deploy.path = None;
        deploy.source_url = None;
        deploy.source_url_type = None;
        deploy.preview = Preview::Off;
        deploy.artifact_store = None;
        deploy.skip_unchanged = false;
        deploy.branch = Some(args.to_branch.clone());
        deploy.commit.force = true;
        if let Some(app) = trimmed(&args.to_app_id) {
            deploy.app_id = Some(app);
        }
        if let Some(region) = trimmed(&args.to_region) {
            deploy.aws.region = Some(region);
        }
        Ok(PromoteSettings {
            from,
            presigned: deploy.artifact_url == crate::choices::ArtifactUrl::Presigned,
            deploy,
        })
    }
}

/// `delete-job`: a branch and the job to delete, which only the command
/// line names (no variable: `AMPLIFY_JOB_ID` may be another run's job).
pub struct DeleteJobSettings {
    pub target: BranchSettings,
    pub job_id: String,
    pub dry_run: bool,
}

/// `status` and `stop`: a branch and a job id (`None`: its newest job).
pub struct JobSettings {
    pub target: BranchSettings,
    pub job_id: Option<String>,
}

/// `init`: the app, and what to write for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSettings {
    pub app_id: Option<String>,
    /// The production branch (`--branch`, else `main`).
    pub branch: String,
    /// The build folder the workflow deploys (`--path`, else `dist`).
    pub path: String,
    pub gitlab: bool,
    /// `--no-environments`: the roles trust branch and event subjects.
    pub no_environments: bool,
    /// `--preview-prefix`, trimmed, as given.
    pub preview_prefix: Option<String>,
    /// `--repository`; `None`: from `git remote get-url origin`.
    pub repository: Option<String>,
    /// `--action-sha`, as given.
    pub action_sha: Option<String>,
    /// `--action-repository`, as given.
    pub action_repository: Option<String>,
    /// Where the action's release tag is looked up: `GITHUB_API_URL`, and
    /// `GITHUB_TOKEN` when set (public reads need none).
    pub github_api_url: String,
    pub github_token: Option<String>,
    pub print: bool,
    pub force: bool,
    pub aws: AwsSettings,
    pub timeout: Duration,
}

impl InitSettings {
    fn resolve(args: &InitArgs, env: &Env) -> InitSettings {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let path = args
            .path
            .as_deref()
            .map(|p| p.to_string_lossy().into_owned());
        InitSettings {
            app_id: args.app_id.clone(),
            branch: given(&args.branch).unwrap_or("main").to_owned(),
            path: given(&path).unwrap_or("dist").to_owned(),
            gitlab: args.gitlab,
            no_environments: args.no_environments,
            preview_prefix: given(&args.preview_prefix).map(str::to_owned),
            repository: given(&args.repository).map(str::to_owned),
            action_sha: given(&args.action_sha).map(str::to_owned),
            action_repository: given(&args.action_repository).map(str::to_owned),
            github_api_url: env
                .get("GITHUB_API_URL")
                .unwrap_or_else(|| DEFAULT_GITHUB_API_URL.to_owned()),
            github_token: env.get("GITHUB_TOKEN").filter(|t| !t.trim().is_empty()),
            print: args.print,
            force: args.force,
            aws: AwsSettings::resolve(&args.aws, env),
            timeout: args.timeout.timeout,
        }
    }
}

impl JobSettings {
    fn resolve(args: &JobArgs, env: &Env) -> JobSettings {
        JobSettings {
            target: BranchSettings::resolve(&args.target, env),
            job_id: args.job_id.clone(),
        }
    }
}

/// `previews list` and `previews prune`.
pub struct PreviewsSettings {
    pub app_id: Option<String>,
    pub aws: AwsSettings,
    /// `--preview-prefix`, trimmed (the legacy ownership rule).
    pub prefix: String,
    pub github: GitHubSettings,
    pub json: bool,
    /// `None`: list.
    pub prune: Option<PruneSettings>,
    pub timeout: Duration,
}

/// What `previews prune` removes. With no selector given, `closed` and
/// `expired` are both on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneSettings {
    pub older_than: Option<Duration>,
    pub closed: bool,
    pub expired: bool,
    pub dry_run: bool,
}

impl PreviewsSettings {
    fn resolve(command: &PreviewsCommand, env: &Env) -> PreviewsSettings {
        let (target, prune, environment) = match command {
            PreviewsCommand::List(a) => (&a.target, None, None),
            PreviewsCommand::Prune(a) => {
                let none = a.older_than.is_none() && !a.closed && !a.expired;
                let prune = PruneSettings {
                    older_than: a.older_than,
                    closed: a.closed || none,
                    expired: a.expired || none,
                    dry_run: a.dry_run,
                };
                (&a.target, Some(prune), trimmed(&a.deployment_environment))
            }
        };
        PreviewsSettings {
            app_id: target.app_id.clone(),
            aws: AwsSettings::resolve(&target.aws, env),
            prefix: target.preview_prefix.trim().to_owned(),
            github: GitHubSettings::from_parts(&target.github_token, environment, env),
            json: target.json,
            prune,
            timeout: target.timeout.timeout,
        }
    }
}

/// What `--max-previews`, `--evict-open` and `--preview-ttl` ask of a
/// preview deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// `--preview-prefix`, trimmed (which branches are previews).
    pub prefix: String,
    pub max_previews: usize,
    pub evict_open: bool,
    pub ttl: Option<Duration>,
}

/// What `--preview` decided from the GitHub event.
#[derive(Debug, Clone)]
pub enum Preview {
    /// `--preview` is off.
    Off,
    /// A pull request event: deploy to (or, closed, remove) its own branch,
    /// [`DeploySettings::branch`].
    PullRequest {
        pr: PullRequest,
        /// `--branch`, which the preview branch replaces.
        given_branch: Option<String>,
    },
    /// Another event: deploy to `--branch` as usual. Why, for the log.
    NotPullRequest { why: String },
}

/// GitHub's side of a deploy: the REST API and the deployment to report.
/// No `Debug`: it holds the token.
#[derive(Clone)]
pub struct GitHubSettings {
    /// `--github-token`, else `GITHUB_TOKEN`.
    pub token: Option<String>,
    pub repository: Option<String>,
    pub api_url: String,
    /// `GITHUB_SHA`: the commit of a non-preview deployment.
    pub sha: Option<String>,
    /// `--deployment-environment`, trimmed.
    pub deployment_environment: Option<String>,
    /// `--commit-status`: post a commit status for the deploy.
    pub commit_status: bool,
}

impl GitHubSettings {
    fn resolve(args: &DeployArgs, env: &Env) -> GitHubSettings {
        let environment = trimmed(&args.deployment_environment);
        GitHubSettings {
            commit_status: args.commit_status.unwrap_or(false),
            ..GitHubSettings::from_parts(&args.github_token, environment, env)
        }
    }

    /// The token (`--github-token`, else `GITHUB_TOKEN`), the repository
    /// and API from the environment.
    fn from_parts(
        token: &Option<String>,
        deployment_environment: Option<String>,
        env: &Env,
    ) -> GitHubSettings {
        GitHubSettings {
            token: token
                .clone()
                .filter(|t| !t.trim().is_empty())
                .or_else(|| env.get("GITHUB_TOKEN")),
            repository: env.get("GITHUB_REPOSITORY"),
            api_url: env
                .get("GITHUB_API_URL")
                .unwrap_or_else(|| DEFAULT_GITHUB_API_URL.to_owned()),
            sha: env.get("GITHUB_SHA"),
            deployment_environment,
            commit_status: false,
        }
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

/// The commit a deploy is of, and what is recorded on the branch about it.
/// Each part is absent when the CI does not say (git is never asked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSettings {
    /// `--message`, else the pushed commit's subject (`head_commit.message`),
    /// the pull request's title, or `CI_COMMIT_TITLE`.
    pub message: Option<String>,
    /// `GITHUB_SHA` (a pull request's head sha), else `CI_COMMIT_SHA`.
    pub sha: Option<String>,
    /// Epoch seconds: `head_commit.timestamp`, else `CI_COMMIT_TIMESTAMP`.
    pub time: Option<i64>,
    /// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`, else `CI_JOB_URL`.
    pub run_url: Option<String>,
    /// `--force`: deploy even when the live deploy is of a newer commit.
    pub force: bool,
}

impl CommitSettings {
    fn resolve(args: &DeployArgs, env: &Env) -> CommitSettings {
        let event = read_event(env).unwrap_or(serde_json::Value::Null);
        let text = |pointer: &str| {
            event
                .pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let subject = text("/head_commit/message")
            .and_then(|m| m.lines().next().map(str::to_owned))
            .or_else(|| text("/pull_request/title"))
            .or_else(|| env.get("CI_COMMIT_TITLE"));
        let run_url = run_url(env);
        CommitSettings {
            message: trimmed(&args.message).or(subject),
            sha: text("/pull_request/head/sha")
                .or_else(|| env.get("GITHUB_SHA"))
                .or_else(|| env.get("CI_COMMIT_SHA")),
            time: text("/head_commit/timestamp")
                .or_else(|| env.get("CI_COMMIT_TIMESTAMP"))
                .and_then(|t| crate::provenance::parse_time(&t)),
            run_url,
            force: args.force.unwrap_or(false),
        }
    }
}

/// The GitHub event payload, when there is one and it is JSON.
fn read_event(env: &Env) -> Option<serde_json::Value> {
    env.get("GITHUB_EVENT_NAME")?;
    let text = std::fs::read_to_string(env.get("GITHUB_EVENT_PATH")?).ok()?;
    serde_json::from_str(&text).ok()
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

/// `--basic-auth USER:PASSWORD`. `Debug` shows the user only.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub user: String,
    pub password: String,
}

impl BasicAuth {
    /// `base64(user:password)`, as Amplify's `basicAuthCredentials` and an
    /// `Authorization: Basic` header carry it.
    pub fn encoded(&self) -> String {
        base64(format!("{}:{}", self.user, self.password).as_bytes())
    }
}

impl BasicAuth {
    /// The credentials Amplify's `basicAuthCredentials` carries (base64 of
    /// `user:password`); `None` when they are not that.
    pub fn from_encoded(encoded: &str) -> Option<BasicAuth> {
        let text = String::from_utf8(unbase64(encoded.trim())?).ok()?;
        let (user, password) = text.split_once(':')?;
        (!user.is_empty() && !password.is_empty()).then(|| BasicAuth {
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }
}

/// Standard base64 (padding optional); `None` on any other character.
fn unbase64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuth({}:******)", self.user)
    }
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl VerifySettings {
    fn resolve(args: &DeployArgs) -> Result<VerifySettings, RunError> {
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
        let (branch, create_branch, stage) = match &preview {
            Preview::PullRequest { pr, .. } => {
                let branch = format!("{}{}", args.preview_prefix.trim(), pr.number);
                let branch = validate_branch(Some(&branch))
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
        })
    }
}

/// `--basic-auth inherit`.
const INHERIT: &str = "inherit";

/// `--preview`: on a pull request event, read the pull request; on any
/// other, deploy to `--branch`, which must then be given.
fn resolve_preview(args: &DeployArgs, env: &Env) -> Result<Preview, RunError> {
    let event = env.get("GITHUB_EVENT_NAME");
    let what = match event.as_deref() {
        Some(name) if PULL_REQUEST_EVENTS.contains(&name) => {
            return Ok(Preview::PullRequest {
                pr: read_pull_request(name, env)?,
                given_branch: args.branch.clone(),
            });
        }
        Some(name) => format!("the {name} event is not a pull request event"),
        None => "not running for a GitHub event (GITHUB_EVENT_NAME is unset)".to_owned(),
    };
    if args.branch.as_deref().is_none_or(str::is_empty) {
        return Err(RunError::input(format!(
            "preview is on, but {what}, and no branch is given to deploy to instead"
        ))
        .hint("pass --branch (input branch) for pushes, or run on pull_request events only"));
    }
    Ok(Preview::NotPullRequest { why: what })
}

fn read_pull_request(event: &str, env: &Env) -> Result<PullRequest, RunError> {
    let Some(path) = env.get("GITHUB_EVENT_PATH") else {
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

/// How the run prints: resolved once, carried by the `Reporter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSettings {
    pub verbosity: Verbosity,
    /// ANSI colour on stderr (never in files, outputs, JSON or dotenv).
    pub color: bool,
    pub progress: ProgressMode,
}

/// How long-running steps show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// `--quiet`: none.
    Off,
    /// CI or not a terminal: one plain line at most this often.
    Lines(Duration),
    /// A terminal: one line redrawn in place.
    Live,
}

/// Plain progress lines at most this often (`AMPLIFY_PROGRESS_INTERVAL`
/// lowers it in tests).
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

impl OutputSettings {
    /// Verbosity: `-q`/`-v` beat `AMPLIFY_VERBOSITY`, then normal. Colour:
    /// `--color`/`AMPLIFY_COLOR` beat `NO_COLOR` (any non-empty value),
    /// which beats `CLICOLOR_FORCE`, then a terminal or GitHub Actions
    /// (whose log renders ANSI). `stderr_terminal`: is stderr a terminal.
    pub fn resolve(args: &OutputArgs, env: &Env, stderr_terminal: bool) -> OutputSettings {
        let verbosity = match (args.quiet, args.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => args.verbosity.unwrap_or_default(),
            (false, 1) => Verbosity::Verbose,
            (false, _) => Verbosity::Debug,
        };
        let set = |name: &str| env.var_os(name).is_some_and(|v| !v.is_empty());
        let github = env.var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true");
        let ci = github || env.get("CI").is_some_and(|v| v != "false" && v != "0");
        let terminal = stderr_terminal && env.get("TERM").as_deref() != Some("dumb");
        let color = match args.color.unwrap_or_default() {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set("NO_COLOR") => false,
            ColorChoice::Auto if env.get("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
            ColorChoice::Auto => terminal || github,
        };
        let interval = env
            .get("AMPLIFY_PROGRESS_INTERVAL")
            .and_then(|v| crate::cli::parse_duration(&v).ok())
            .unwrap_or(PROGRESS_INTERVAL);
        let progress = match verbosity {
            Verbosity::Quiet => ProgressMode::Off,
            _ if terminal && !ci => ProgressMode::Live,
            _ => ProgressMode::Lines(interval),
        };
        OutputSettings {
            verbosity,
            color,
            progress,
        }
    }
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

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_map(
            vars.iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect(),
        )
    }

    /// Parse `argv` (after the program name) with `vars` as the whole
    /// environment, and resolve the deploy settings.
    fn deploy(argv: &[&str], vars: &[(&str, &str)]) -> Result<DeploySettings, RunError> {
        let env = env(vars);
        let argv = std::iter::once("amplify-deploy").chain(argv.iter().copied());
        let cli = crate::cli::try_parse_from(argv, |k| env.var_os(k)).unwrap();
        match Settings::resolve(&cli, &env)? {
            Settings::Deploy(s) => Ok(*s),
            _ => panic!("not a deploy"),
        }
    }

    fn pull_request_event(action: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let payload = serde_json::json!({
            "action": action,
            "number": 42,
            "pull_request": {"head": {"sha": "abc"}, "base": {"repo": {"full_name": "o/r"}}}
        });
        std::fs::write(file.path(), payload.to_string()).unwrap();
        file
    }

    #[test]
    fn flag_beats_github_input_beats_default() {
        let inputs = [("INPUT_BRANCH", "from-input"), ("INPUT_TIMEOUT", "5m")];
        let s = deploy(&["--branch", "from-flag"], &inputs).unwrap();
        assert_eq!(s.branch.as_deref(), Some("from-flag"));
        assert_eq!(s.timeout, Duration::from_secs(300));
        let s = deploy(&[], &[]).unwrap();
        assert_eq!(s.branch, None);
        assert_eq!(s.timeout, Duration::from_secs(30 * 60));
        // A list input is one pattern a line, as AMPLIFY_EXCLUDE.
        let s = deploy(&[], &[("INPUT_EXCLUDE", "*.map\n\n.git/")]).unwrap();
        assert_eq!(s.filter.excludes, ["*.map", ".git/"]);
    }

    #[test]
    fn defaults_are_decided_here() {
        let s = deploy(&[], &[]).unwrap();
        assert!(s.wait && !s.dry_run && !s.keep_job_on_timeout && !s.create_branch);
        assert_eq!((s.stage, s.on_busy), (Stage::Production, OnBusy::Wait));
        assert!(matches!(s.preview, Preview::Off));
        assert_eq!(s.aws.role_duration_seconds, DEFAULT_ROLE_DURATION_SECONDS);
        assert!(!deploy(&["--no-wait"], &[]).unwrap().wait);
        assert!(!deploy(&[], &[("INPUT_WAIT", "false")]).unwrap().wait);
        assert!(!s.github.commit_status);
        assert!(
            deploy(&["--commit-status"], &[])
                .unwrap()
                .github
                .commit_status
        );
        let input = [("INPUT_COMMIT_STATUS", "true")];
        assert!(deploy(&[], &input).unwrap().github.commit_status);
        let fast = deploy(&["--poll-interval", "1ms"], &[]).unwrap();
        assert_eq!(fast.poll_interval, Duration::from_millis(10));
    }

    #[test]
    fn skew_protection_is_left_alone_unless_given() {
        let skew =
            |argv: &[&str], vars: &[(&str, &str)]| deploy(argv, vars).unwrap().skew_protection;
        assert_eq!(skew(&[], &[]), None);
        assert_eq!(skew(&["--skew-protection", "true"], &[]), Some(true));
        assert_eq!(skew(&["--skew-protection=false"], &[]), Some(false));
        // (clap reads AMPLIFY_* itself; the GitHub input stands for it here.)
        assert_eq!(skew(&[], &[("INPUT_SKEW-PROTECTION", "off")]), Some(false));
        assert_eq!(skew(&[], &[("INPUT_SKEW-PROTECTION", "true")]), Some(true));
        let input = [("INPUT_SKEW-PROTECTION", "true")];
        assert_eq!(skew(&["--skew-protection", "false"], &input), Some(false));
        // A value is needed, and it is a boolean.
        for bad in [&["--skew-protection"][..], &["--skew-protection", "maybe"]] {
            let argv = std::iter::once("amplify-deploy").chain(bad.iter().copied());
            assert!(
                crate::cli::try_parse_from(argv, |_| None).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn not_found_page_is_the_default_none_or_a_page() {
        let page =
            |argv: &[&str], vars: &[(&str, &str)]| deploy(argv, vars).unwrap().not_found_page;
        assert_eq!(page(&[], &[]), NotFoundPage::Default);
        assert_eq!(page(&["--not-found-page", "none"], &[]), NotFoundPage::Off);
        let input = [("INPUT_NOT-FOUND-PAGE", "/e/404.html")];
        assert_eq!(page(&[], &input), NotFoundPage::Page("/e/404.html".into()));
    }

    #[test]
    fn aws_conventions_follow_the_flags() {
        let vars = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-2"),
            ("AWS_ENDPOINT_URL", "http://generic"),
            ("AWS_ENDPOINT_URL_AMPLIFY", "http://amplify"),
            ("GITHUB_RUN_ID", "77"),
        ];
        let s = deploy(&[], &vars).unwrap();
        assert_eq!(s.aws.region.as_deref(), Some("eu-west-1"));
        let endpoint = s.aws.endpoint.unwrap();
        assert_eq!(
            (endpoint.source, endpoint.url.as_str()),
            ("AWS_ENDPOINT_URL_AMPLIFY", "http://amplify")
        );
        assert_eq!(s.aws.default_session_name, "amplify-deploy-77");
        let s = deploy(
            &["--region", "ap-south-1", "--endpoint-url", "http://flag"],
            &vars[1..3],
        )
        .unwrap();
        assert_eq!(s.aws.region.as_deref(), Some("ap-south-1"));
        assert_eq!(s.aws.endpoint.unwrap().source, "endpoint-url");
        let s = deploy(
            &[],
            &[("AWS_REGION", " "), ("AWS_DEFAULT_REGION", "us-east-2")],
        );
        assert_eq!(s.unwrap().aws.region.as_deref(), Some("us-east-2"));
    }

    #[test]
    fn s3_endpoint_is_its_own_then_the_generic_one() {
        let vars = [
            ("AWS_ENDPOINT_URL", "http://generic"),
            ("AWS_ENDPOINT_URL_S3", "http://s3"),
        ];
        let s3 = deploy(&[], &vars).unwrap().aws.s3_endpoint.unwrap();
        assert_eq!(
            (s3.source, s3.url.as_str()),
            ("AWS_ENDPOINT_URL_S3", "http://s3")
        );
        let s3 = deploy(&[], &vars[..1]).unwrap().aws.s3_endpoint.unwrap();
        assert_eq!(s3.source, "AWS_ENDPOINT_URL");
        let amplify_only = [("AWS_ENDPOINT_URL_AMPLIFY", "http://amplify")];
        assert_eq!(deploy(&[], &amplify_only).unwrap().aws.s3_endpoint, None);
    }

    #[test]
    fn github_token_falls_back_to_github_token() {
        let vars = [("GITHUB_TOKEN", "from-env")];
        let s = deploy(&["--github-token", "from-flag"], &vars).unwrap();
        assert_eq!(s.github.token.as_deref(), Some("from-flag"));
        let s = deploy(&["--github-token", " "], &vars).unwrap();
        assert_eq!(s.github.token.as_deref(), Some("from-env"));
        let s = deploy(&[], &[]).unwrap();
        assert_eq!(s.github.api_url, DEFAULT_GITHUB_API_URL);
    }

    #[test]
    fn a_pull_request_decides_branch_create_and_stage() {
        let event = pull_request_event("opened");
        let path = event.path().to_str().unwrap();
        let vars = [
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", path),
        ];
        let s = deploy(&["--preview", "--branch", "main"], &vars).unwrap();
        assert_eq!(s.branch.as_deref(), Some("pr-42"));
        assert!(s.create_branch);
        assert_eq!(s.stage, Stage::PullRequest);
        let Preview::PullRequest { pr, given_branch } = &s.preview else {
            panic!("not a preview: {:?}", s.preview);
        };
        assert_eq!((pr.number, given_branch.as_deref()), (42, Some("main")));
        // A stage given by flag or input is kept.
        let s = deploy(&["--preview", "--stage", "BETA"], &vars).unwrap();
        assert_eq!(s.stage, Stage::Beta);
        let with_input = [vars[0], vars[1], ("INPUT_STAGE", "DEVELOPMENT")];
        let s = deploy(&["--preview"], &with_input).unwrap();
        assert_eq!(s.stage, Stage::Development);
        let bad = deploy(&["--preview", "--preview-prefix", "a\tb"], &vars);
        assert!(bad.err().unwrap().message.starts_with("preview-prefix: "));
    }

    #[test]
    fn preview_on_other_events_needs_a_branch() {
        let push = [("GITHUB_EVENT_NAME", "push")];
        let s = deploy(&["--preview", "--branch", "main"], &push).unwrap();
        assert_eq!(s.branch.as_deref(), Some("main"));
        assert_eq!(s.stage, Stage::Production);
        assert!(matches!(&s.preview, Preview::NotPullRequest { why } if why.contains("push")));
        let err = deploy(&["--preview"], &push).err().unwrap();
        assert!(
            err.message.contains("no branch is given"),
            "{}",
            err.message
        );
        let err = deploy(&["--preview"], &[("GITHUB_EVENT_NAME", "pull_request")])
            .err()
            .unwrap();
        assert!(err.message.contains("GITHUB_EVENT_PATH"), "{}", err.message);
    }

    #[test]
    fn runner_temp_and_source_date_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().to_str().unwrap();
        let s = deploy(&[], &[("RUNNER_TEMP", here)]).unwrap();
        assert_eq!(s.temp_dir, dir.path());
        let s = deploy(&[], &[("RUNNER_TEMP", "/no/such/dir")]).unwrap();
        assert_eq!(s.temp_dir, std::env::temp_dir());
        let s = deploy(&[], &[("SOURCE_DATE_EPOCH", "1700000000")]).unwrap();
        let opts = s.filter.package_options(dir.path()).unwrap();
        assert_eq!(opts.source_date_epoch, Some(1_700_000_000));
        let s = deploy(&[], &[("SOURCE_DATE_EPOCH", "yesterday")]).unwrap();
        let err = s.filter.package_options(dir.path()).unwrap_err();
        assert!(err.message.contains("SOURCE_DATE_EPOCH"), "{}", err.message);
    }

    fn output(argv: &[&str], vars: &[(&str, &str)], terminal: bool) -> OutputSettings {
        let env = env(vars);
        let argv = std::iter::once("amplify-deploy").chain(argv.iter().copied());
        let cli = crate::cli::try_parse_from(argv, |k| env.var_os(k)).unwrap();
        OutputSettings::resolve(&cli.output, &env, terminal)
    }

    #[test]
    fn verbosity_flags_beat_the_variable() {
        let v = |argv: &[&str], vars: &[(&str, &str)]| output(argv, vars, false).verbosity;
        assert_eq!(v(&[], &[]), Verbosity::Normal);
        assert_eq!(v(&["-q"], &[]), Verbosity::Quiet);
        assert_eq!(v(&["status", "--quiet"], &[]), Verbosity::Quiet);
        assert_eq!(v(&["-v"], &[]), Verbosity::Verbose);
        assert_eq!(v(&["-vv"], &[]), Verbosity::Debug);
        assert_eq!(v(&["-v", "-v", "-v"], &[]), Verbosity::Debug);
        // Before the command name too.
        assert_eq!(v(&["-q", "status"], &[]), Verbosity::Quiet);
        assert_eq!(
            v(&["-vv", "--color", "never", "deploy"], &[]),
            Verbosity::Debug
        );
        assert_eq!(v(&["--verbosity=verbose", "stop"], &[]), Verbosity::Verbose);
        let quiet = [("AMPLIFY_VERBOSITY", "quiet")];
        assert_eq!(v(&["--verbosity", "debug"], &[]), Verbosity::Debug);
        assert_eq!(
            v(&["-v", "--verbosity", "quiet"], &quiet),
            Verbosity::Verbose
        );
        let flags = ["--verbosity", "quiet"];
        assert_eq!(output(&flags, &[], true).progress, ProgressMode::Off);
    }

    #[test]
    fn colour_switches() {
        let c = |argv: &[&str], vars: &[(&str, &str)], tty: bool| output(argv, vars, tty).color;
        assert!(c(&[], &[], true));
        assert!(!c(&[], &[], false));
        assert!(!c(&[], &[("TERM", "dumb")], true));
        assert!(c(&[], &[("GITHUB_ACTIONS", "true")], false));
        assert!(!c(&[], &[("NO_COLOR", "1")], true));
        assert!(
            c(&[], &[("NO_COLOR", "")], true),
            "an empty NO_COLOR is unset"
        );
        assert!(!c(
            &[],
            &[("NO_COLOR", "1"), ("GITHUB_ACTIONS", "true")],
            false
        ));
        assert!(c(&[], &[("CLICOLOR_FORCE", "1")], false));
        assert!(!c(&[], &[("CLICOLOR_FORCE", "0")], false));
        assert!(!c(
            &[],
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
            false
        ));
        assert!(c(&["--color", "always"], &[("NO_COLOR", "1")], false));
        assert!(!c(&["--color=never"], &[("CLICOLOR_FORCE", "1")], true));
    }

    #[test]
    fn progress_is_live_on_a_terminal_outside_ci() {
        let p = |vars: &[(&str, &str)], tty: bool| output(&[], vars, tty).progress;
        assert_eq!(p(&[], true), ProgressMode::Live);
        assert_eq!(p(&[], false), ProgressMode::Lines(PROGRESS_INTERVAL));
        assert_eq!(
            p(&[("CI", "true")], true),
            ProgressMode::Lines(PROGRESS_INTERVAL)
        );
        assert_eq!(
            p(&[("GITHUB_ACTIONS", "true")], true),
            ProgressMode::Lines(PROGRESS_INTERVAL)
        );
        let fast = [("AMPLIFY_PROGRESS_INTERVAL", "200ms")];
        assert_eq!(
            p(&fast, false),
            ProgressMode::Lines(Duration::from_millis(200))
        );
    }
}

#[cfg(test)]
mod basic_auth_tests {
    use super::*;

    #[test]
    fn credentials_encode_as_base64_and_debug_hides_the_password() {
        let auth = BasicAuth {
            user: "Aladdin".into(),
            password: "open sesame".into(),
        };
        // RFC 7617's example.
        assert_eq!(auth.encoded(), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert!(!format!("{auth:?}").contains("sesame"));
    }

    #[test]
    fn amplify_credentials_decode_back() {
        let auth = BasicAuth {
            user: "Aladdin".into(),
            password: "open: sesame é".into(),
        };
        assert_eq!(BasicAuth::from_encoded(&auth.encoded()), Some(auth));
        for n in 0..4 {
            let data = &b"abc"[..n];
            assert_eq!(unbase64(&base64(data)).as_deref(), Some(data));
        }
        for bad in ["", "%%%%", "dXNlcg==", "OnB3"] {
            // Not base64, no colon ("user"), no user (":pw").
            assert_eq!(BasicAuth::from_encoded(bad), None, "{bad}");
        }
    }

    #[test]
    fn basic_auth_inherit_needs_a_preview() {
        let env = Env::from_map(BTreeMap::new());
        let cli = crate::cli::try_parse_from(
            [
                "amplify-deploy",
                "--basic-auth",
                "inherit",
                "--branch",
                "main",
            ],
            |_| None,
        )
        .unwrap();
        let Err(e) = DeploySettings::resolve(&cli.deploy, &env) else {
            panic!("accepted");
        };
        assert!(e.message.contains("needs --preview"), "{}", e.message);
    }
}
