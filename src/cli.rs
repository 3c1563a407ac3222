//! Command-line interface: every option is a flag and an environment
//! variable, defined once here.
//!
//! Each option's variable is `AMPLIFY_<NAME>`. GitHub passes action input
//! `app-id` as `INPUT_APP-ID` (and some wrappers as `INPUT_APP_ID`);
//! [`parse`] passes those as flags for the options nothing else sets (no
//! `set_var`), so the precedence is:
//! flag > `AMPLIFY_*` > `INPUT_*` > default (the whole chain is described
//! in `settings`). Only the command layer sees these types.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

pub use crate::choices::{
    ArtifactUrl, ColorChoice, ForkPreviews, OnBusy, SourceUrlType, Stage, Verbosity, Verify,
};

#[derive(Debug, Parser)]
#[command(
    name = "amplify-deploy",
    version,
    about = "Deploy a static site to an AWS Amplify Hosting manual-deploy app",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Run with no subcommand: deploy (as a GitHub Action runner calls it).
    #[command(flatten)]
    pub deploy: DeployArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// How much to print and how: global, so they go before or after any command.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Print errors and the final line only
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print each API call (operation, status, duration, request id) and
    /// retry; -vv also their headers, secrets redacted
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// quiet, normal, verbose or debug (what -q, -v and -vv set)
    #[arg(
        long,
        global = true,
        env = "AMPLIFY_VERBOSITY",
        value_enum,
        hide = true
    )]
    pub verbosity: Option<Verbosity>,

    /// Colour the output: auto (a terminal or GitHub Actions, unless
    /// NO_COLOR is set), always or never
    #[arg(
        long,
        global = true,
        env = "AMPLIFY_COLOR",
        value_name = "WHEN",
        value_enum
    )]
    pub color: Option<ColorChoice>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Package a folder, upload it and deploy it (the default).
    Deploy(Box<DeployArgs>),
    /// Write the archive `deploy` would upload, and say what is in it.
    Package(PackageArgs),
    /// Delete an Amplify branch, stopping its unfinished job first.
    DeleteBranch(DeleteBranchArgs),
    /// Delete one deployment (DeleteJob) so that it is no longer served or
    /// listed; never the live job or an unfinished one.
    DeleteJob(DeleteJobArgs),
    /// Show a job's status, steps and failure reasons.
    Status(StatusArgs),
    /// Stop a job (StopJob): a pending one ends at once, a running one is cancelled.
    Stop(JobArgs),
    /// Print the shell completion script for bash, zsh, fish or powershell.
    Completions(CompletionsArgs),
    /// Write a ready CI workflow and the IAM and OIDC trust policies for an app.
    Init(InitArgs),
    /// List or prune the pull request previews of an app.
    Previews(PreviewsArgs),
    /// The app's redirects and rewrites (customRules), from a `_redirects` file.
    Rules(RulesArgs),
    /// List a branch's jobs, newest first: status, times, package SHA-256,
    /// provenance, the live one and those a rollback can return to.
    History(HistoryArgs),
    /// Deploy an earlier release's stored artifact again, then check it
    /// live. Repeated, it walks back through distinct releases (or take
    /// --job-id / --sha256).
    #[command(mut_args = hide_for_rollback)]
    Rollback(Box<RollbackArgs>),
    /// Deploy the exact stored artifact live on one branch to another (of
    /// this app or --to-app-id), then check it live.
    #[command(mut_args = hide_for_promote)]
    Promote(Box<PromoteArgs>),
    /// Lock a branch for an incident: deploy and promote to it end LOCKED
    /// (exit 0, nothing deployed) until `unlock`, unless --override-lock.
    Lock(LockArgs),
    /// Release a branch's incident lock.
    Unlock(BranchTarget),
}

#[derive(Debug, Args, Clone)]
pub struct LockArgs {
    #[command(flatten)]
    pub target: BranchTarget,

    /// Why the branch is locked (shown to every deploy it holds off)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct AwsArgs {
    /// AWS region of the app [default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's]
    #[arg(long, env = "AMPLIFY_REGION")]
    pub region: Option<String>,

    /// Amplify API endpoint [default: AWS_ENDPOINT_URL_AMPLIFY, AWS_ENDPOINT_URL,
    /// then https://amplify.{region}.amazonaws.com]
    #[arg(long, env = "AMPLIFY_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// IAM role to assume with the workflow's OIDC token (GitHub Actions
    /// `id-token: write`, or AWS_WEB_IDENTITY_TOKEN_FILE elsewhere)
    #[arg(long, env = "AMPLIFY_ROLE_TO_ASSUME", value_name = "ARN")]
    pub role_to_assume: Option<String>,

    /// Session name of the assumed role (2–64 characters of letters,
    /// digits and _+=,.@-) [default: amplify-deploy-$GITHUB_RUN_ID]
    #[arg(long, env = "AMPLIFY_ROLE_SESSION_NAME", value_name = "NAME")]
    pub role_session_name: Option<String>,

    /// Lifetime of the assumed role's credentials in whole seconds,
    /// 900–43200 (at most the role's maximum session duration); they are
    /// renewed before they expire [default: 3600]
    #[arg(long, env = "AMPLIFY_ROLE_DURATION_SECONDS", value_name = "SECONDS",
          value_parser = clap::value_parser!(u32).range(900..=43200))]
    pub role_duration_seconds: Option<u32>,

    /// Audience of the GitHub OIDC token [default: sts.amazonaws.com]
    #[arg(long, env = "AMPLIFY_AUDIENCE", value_name = "AUDIENCE")]
    pub audience: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct PackageFilterArgs {
    /// Leave out files matching this gitignore-style pattern (repeatable;
    /// the variable takes one pattern a line). A `.amplifyignore` file in the
    /// folder is read too.
    #[arg(
        long = "exclude",
        env = "AMPLIFY_EXCLUDE",
        value_name = "GLOB",
        value_delimiter = '\n'
    )]
    pub exclude: Vec<String>,

    /// Compression threads [default: every core]
    #[arg(long, env = "AMPLIFY_THREADS", value_name = "N")]
    pub threads: Option<usize>,

    /// Largest archive accepted (Amplify's limit is 5 GB; tests lower it)
    #[arg(
        long,
        env = "AMPLIFY_MAX_ARCHIVE_BYTES",
        value_name = "BYTES",
        hide = true
    )]
    pub max_archive_bytes: Option<u64>,

    /// Also deploy `_headers` and `_redirects` (left out by default: Amplify
    /// reads the customHttp.yml and rules made from them)
    #[arg(long, env = "AMPLIFY_KEEP_RULE_FILES", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub keep_rule_files: Option<bool>,
}

#[derive(Debug, Args, Clone)]
pub struct DeployArgs {
    /// Amplify app id, e.g. d1a2b3c4d5e6f7
    #[arg(long, env = "AMPLIFY_APP_ID", value_name = "ID")]
    pub app_id: Option<String>,

    /// Amplify branch to deploy to
    #[arg(long, env = "AMPLIFY_BRANCH", value_name = "NAME")]
    pub branch: Option<String>,

    /// Build folder to deploy; its contents become the site root
    #[arg(
        long,
        env = "AMPLIFY_PATH",
        value_name = "DIR",
        conflicts_with = "source_url"
    )]
    pub path: Option<PathBuf>,

    /// Deploy from this URL (a public .zip, or s3://bucket/prefix) instead of a folder
    #[arg(long, env = "AMPLIFY_SOURCE_URL", value_name = "URL")]
    pub source_url: Option<String>,

    /// What --source-url points at
    #[arg(
        long,
        env = "AMPLIFY_SOURCE_URL_TYPE",
        value_enum,
        requires = "source_url"
    )]
    pub source_url_type: Option<SourceUrlType>,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub filter: PackageFilterArgs,

    /// Wait for the job to finish [default: true]
    #[arg(long, env = "AMPLIFY_WAIT", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub wait: Option<bool>,

    /// Return right after the deployment starts (same as --wait=false)
    #[arg(long, conflicts_with = "wait")]
    pub no_wait: bool,

    /// Package and validate, print the plan, and change nothing
    #[arg(long, env = "AMPLIFY_DRY_RUN", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub dry_run: Option<bool>,

    /// Give up waiting after this long (e.g. 20m, 1h); our job is stopped
    #[arg(long, env = "AMPLIFY_TIMEOUT", value_name = "DURATION", default_value = "30m",
          value_parser = parse_duration)]
    pub timeout: Duration,

    /// Longest time to wait for an Amplify quota (e.g. concurrent jobs per
    /// region) to clear before failing; always within --timeout
    #[arg(long, env = "AMPLIFY_QUOTA_WAIT", value_name = "DURATION", default_value = "10m",
          value_parser = parse_duration)]
    pub quota_wait: Duration,

    /// Leave the job running when --timeout passes instead of stopping it
    #[arg(long, env = "AMPLIFY_KEEP_JOB_ON_TIMEOUT", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub keep_job_on_timeout: Option<bool>,

    /// What to do when another deployment is running on the branch
    #[arg(long, env = "AMPLIFY_ON_BUSY", value_enum, default_value = "wait")]
    pub on_busy: OnBusy,

    /// Create the branch when it does not exist
    #[arg(long, env = "AMPLIFY_CREATE_BRANCH", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub create_branch: Option<bool>,

    /// Stage of a branch created by --create-branch
    #[arg(long, env = "AMPLIFY_STAGE", value_enum, default_value = "PRODUCTION")]
    pub stage: Option<Stage>,

    /// After the deploy, check that the site serves the new content: off,
    /// warn (a warning) or strict (exit 5)
    #[arg(
        long,
        env = "AMPLIFY_VERIFY",
        value_enum,
        value_name = "MODE",
        default_value = "warn"
    )]
    pub verify: Verify,

    /// Longest time the live check waits for the new content
    #[arg(long, env = "AMPLIFY_VERIFY_TIMEOUT", value_name = "DURATION", default_value = "2m",
          value_parser = parse_duration)]
    pub verify_timeout: Duration,

    /// Page the live check fetches, compared with that file in the package
    /// (a path ending in / means its index.html)
    #[arg(
        long,
        env = "AMPLIFY_VERIFY_PATH",
        value_name = "PATH",
        default_value = "/"
    )]
    pub verify_path: String,

    /// Protect the branch with basic auth, USER:PASSWORD (better set
    /// AMPLIFY_BASIC_AUTH: command lines are visible to other processes);
    /// `inherit`: a new preview copies its base branch's basic auth
    #[arg(
        long,
        env = "AMPLIFY_BASIC_AUTH",
        value_name = "USER:PASSWORD",
        hide_env_values = true
    )]
    pub basic_auth: Option<String>,

    /// Send the live check for HOST to BASE instead (HOST=BASE, comma
    /// separated; HOST * for any), as curl's --resolve does (tests)
    #[arg(long, env = "AMPLIFY_RESOLVE", value_name = "HOST=BASE", hide = true)]
    pub resolve: Option<String>,

    /// Also write the result as KEY=value lines (GitLab's dotenv report format)
    #[arg(long, env = "AMPLIFY_DOTENV", value_name = "FILE")]
    pub dotenv: Option<PathBuf>,

    /// How often to poll the job (tests use short intervals)
    #[arg(long, env = "AMPLIFY_POLL_INTERVAL", value_name = "DURATION", default_value = "3s",
          value_parser = parse_duration, hide = true)]
    pub poll_interval: Duration,

    /// A job created but not started for this long is taken as orphaned
    #[arg(long, env = "AMPLIFY_PENDING_GRACE", value_name = "DURATION", default_value = "10m",
          value_parser = parse_duration, hide = true)]
    pub pending_grace: Duration,

    /// Print the result as one JSON object on stdout, or write it to FILE
    #[arg(long, env = "AMPLIFY_JSON", value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    pub json: Option<String>,

    /// On a pull_request event, deploy to branch {preview-prefix}{number}
    /// (created with stage PULL_REQUEST), comment its URL on the pull
    /// request, and delete it when the pull request is closed; a fork's own
    /// run deploys nothing (DEFERRED). Without --path, on workflow_run or
    /// pull_request_target labeled: deploy a fork's build artifact, once
    /// approved (see --fork-previews). On other events, deploy to --branch
    /// as usual.
    #[arg(long, env = "AMPLIFY_PREVIEW", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub preview: Option<bool>,

    /// Prefix of preview branch names
    #[arg(
        long,
        env = "AMPLIFY_PREVIEW_PREFIX",
        value_name = "PREFIX",
        default_value = "pr-"
    )]
    pub preview_prefix: String,

    /// Which pull requests from forks the trusted run (workflow_run,
    /// pull_request_target) deploys a preview of: approved (the label
    /// --preview-label, or an author who is an owner, member or
    /// collaborator), all, or off
    #[arg(
        long,
        env = "AMPLIFY_FORK_PREVIEWS",
        value_enum,
        value_name = "WHICH",
        default_value = "approved"
    )]
    pub fork_previews: ForkPreviews,

    /// The label that approves a fork's pull request for a preview
    #[arg(
        long,
        env = "AMPLIFY_PREVIEW_LABEL",
        value_name = "LABEL",
        default_value = "preview"
    )]
    pub preview_label: String,

    /// The artifact a pull request's build uploads, which the trusted run
    /// of a fork's preview deploys
    #[arg(
        long,
        env = "AMPLIFY_PREVIEW_ARTIFACT",
        value_name = "NAME",
        default_value = "amplify-preview"
    )]
    pub preview_artifact: String,

    /// Report the deploy as a GitHub deployment to this environment
    #[arg(long, env = "AMPLIFY_DEPLOYMENT_ENVIRONMENT", value_name = "NAME")]
    pub deployment_environment: Option<String>,

    /// Post a GitHub commit status `amplify-deploy/{branch}` linking the site
    /// (needs `statuses: write`)
    #[arg(long, env = "AMPLIFY_COMMIT_STATUS", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub commit_status: Option<bool>,

    /// Deploy message recorded on the branch [default: the commit's subject, or the PR title]
    #[arg(long, env = "AMPLIFY_MESSAGE", value_name = "TEXT")]
    pub message: Option<String>,

    /// Deploy even when the live deploy is of a newer commit
    #[arg(long, env = "AMPLIFY_FORCE", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub force: Option<bool>,

    /// Deploy even when the branch is locked for an incident (`lock`,
    /// `rollback --lock`); --force does not
    #[arg(long, env = "AMPLIFY_OVERRIDE_LOCK", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub override_lock: Option<bool>,

    /// Token for pull request comments and GitHub deployments [default: GITHUB_TOKEN]
    #[arg(
        long,
        env = "AMPLIFY_GITHUB_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub github_token: Option<String>,

    /// Most previews of the app (1-50; Amplify allows 50 branches): a new
    /// one beyond it first evicts the least recently deployed preview of a
    /// closed pull request, then an expired one
    #[arg(long, env = "AMPLIFY_MAX_PREVIEWS", value_name = "N", default_value = "40",
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_previews: u32,

    /// At --max-previews, also evict the least recently deployed preview of
    /// an open pull request (commenting on it) when nothing else can go
    #[arg(long, env = "AMPLIFY_EVICT_OPEN", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub evict_open: Option<bool>,

    /// A preview expires this long after its last deploy (e.g. 14d); `previews
    /// prune` removes expired ones [default: never]
    #[arg(long, env = "AMPLIFY_PREVIEW_TTL", value_name = "DURATION",
          value_parser = parse_duration)]
    pub preview_ttl: Option<Duration>,

    /// Before deploying, replace the app's redirects and rewrites (shared by
    /// every branch) with the folder's `_redirects` (refused on a preview)
    #[arg(long, env = "AMPLIFY_SYNC_RULES", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub sync_rules: Option<bool>,

    /// Add the single-page-app rewrite (paths without a file extension to
    /// /index.html, 200) after the rules; implies --sync-rules
    #[arg(long, env = "AMPLIFY_SPA", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub spa: Option<bool>,

    /// With --sync-rules, the page that answers missing paths with 404 (a
    /// last rule /<*> to it, unless a rule already catches every path):
    /// a site path such as /errors/missing.html, or none [default:
    /// /404.html when the folder has one]
    #[arg(long, env = "AMPLIFY_NOT_FOUND_PAGE", value_name = "PATH")]
    pub not_found_page: Option<String>,

    /// Keep the package in S3 as {prefix}/{sha256}.zip (uploaded once) and deploy from there
    #[arg(long, env = "AMPLIFY_ARTIFACT_STORE", value_name = "S3_URL")]
    pub artifact_store: Option<String>,

    /// How Amplify reads a stored package: s3 (a bucket policy lets it) or presigned
    #[arg(long, env = "AMPLIFY_ARTIFACT_URL", value_enum, value_name = "KIND")]
    pub artifact_url: Option<ArtifactUrl>,

    /// Turn the branch's skew protection on or off (clients stay on the
    /// deployment they loaded; only later deployments are protected)
    /// [default: leave the branch as it is]
    #[arg(long, env = "AMPLIFY_SKEW_PROTECTION", value_name = "BOOL",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub skew_protection: Option<bool>,

    /// Start nothing when the branch already serves this exact package
    #[arg(long, env = "AMPLIFY_SKIP_UNCHANGED", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub skip_unchanged: Option<bool>,
}

/// `previews`: what it works on and how it reports.
#[derive(Debug, Args, Clone)]
pub struct PreviewsArgs {
    #[command(subcommand)]
    pub command: PreviewsCommand,
}

#[derive(Debug, Subcommand, Clone)]
pub enum PreviewsCommand {
    /// Show every preview: branch, pull request, created, last deployed,
    /// expiry, and whether the pull request is open.
    List(PreviewsListArgs),
    /// Remove previews (stopping their unfinished jobs): with no selector,
    /// those of closed pull requests and the expired ones.
    Prune(PreviewsPruneArgs),
}

#[derive(Debug, Args, Clone)]
pub struct PreviewsTarget {
    /// Amplify app id, e.g. d1a2b3c4d5e6f7
    #[arg(long, env = "AMPLIFY_APP_ID", value_name = "ID")]
    pub app_id: Option<String>,

    /// Prefix of preview branch names (recognises previews made before
    /// they were tagged)
    #[arg(
        long,
        env = "AMPLIFY_PREVIEW_PREFIX",
        value_name = "PREFIX",
        default_value = "pr-"
    )]
    pub preview_prefix: String,

    /// Token to read pull requests, comment and mark deployments inactive
    /// [default: GITHUB_TOKEN]
    #[arg(
        long,
        env = "AMPLIFY_GITHUB_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub github_token: Option<String>,

    /// Print one JSON object on stdout
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

#[derive(Debug, Args, Clone)]
pub struct PreviewsListArgs {
    #[command(flatten)]
    pub target: PreviewsTarget,
}

#[derive(Debug, Args, Clone)]
pub struct PreviewsPruneArgs {
    #[command(flatten)]
    pub target: PreviewsTarget,

    /// Remove previews not deployed for this long (e.g. 7d)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<Duration>,

    /// Remove previews of closed pull requests (needs the GitHub API)
    #[arg(long)]
    pub closed: bool,

    /// Remove previews past their --preview-ttl expiry
    #[arg(long)]
    pub expired: bool,

    /// Say what would be removed, and remove nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Mark the removed previews' GitHub deployments in this environment inactive
    #[arg(long, env = "AMPLIFY_DEPLOYMENT_ENVIRONMENT", value_name = "NAME")]
    pub deployment_environment: Option<String>,
}

/// `--timeout` of a command that calls a service (deploy has its own).
#[derive(Debug, Args, Clone)]
pub struct TimeoutArgs {
    /// Give up after this long (e.g. 90s, 20m): exit 4, naming the call
    /// that got no answer
    #[arg(long, env = "AMPLIFY_TIMEOUT", value_name = "DURATION", default_value = "30m",
          value_parser = parse_duration)]
    pub timeout: Duration,
}

/// The Amplify branch a branch command works on.
#[derive(Debug, Args, Clone)]
pub struct BranchTarget {
    /// Amplify app id, e.g. d1a2b3c4d5e6f7
    #[arg(long, env = "AMPLIFY_APP_ID", value_name = "ID")]
    pub app_id: Option<String>,

    /// Amplify branch
    #[arg(long, env = "AMPLIFY_BRANCH", value_name = "NAME")]
    pub branch: Option<String>,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

#[derive(Debug, Args, Clone)]
pub struct DeleteBranchArgs {
    #[command(flatten)]
    pub target: BranchTarget,

    /// Succeed when the branch does not exist (it is already gone)
    #[arg(long)]
    pub if_exists: bool,
}

#[derive(Debug, Args, Clone)]
pub struct DeleteJobArgs {
    #[command(flatten)]
    pub target: BranchTarget,

    /// The job to delete, e.g. 12 (required here: never read from
    /// AMPLIFY_JOB_ID, which a dotenv report may have set to another job)
    #[arg(long, value_name = "N")]
    pub job_id: String,

    /// Say what would be deleted, and delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args, Clone)]
pub struct JobArgs {
    #[command(flatten)]
    pub target: BranchTarget,

    /// Job id [default: the branch's newest job]
    #[arg(long, env = "AMPLIFY_JOB_ID", value_name = "ID")]
    pub job_id: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub job: JobArgs,

    /// Print the job as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: BranchTarget,

    /// Show at most N jobs
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub limit: u32,

    /// Print the history as one JSON object on stdout
    #[arg(long)]
    pub json: bool,

    /// Where packages are stored (s3://bucket/prefix): finds the artifact of
    /// a job known only by its provenance tags
    #[arg(long, env = "AMPLIFY_ARTIFACT_STORE", value_name = "S3_URL")]
    pub artifact_store: Option<String>,
}

/// Deploy options that `rollback` and `promote`, which deploy a stored
/// artifact, do not use: accepted (a job's environment may set them) but
/// kept out of their --help.
const PACKAGE_OPTIONS: [&str; 18] = [
    "path",
    "source_url",
    "source_url_type",
    "exclude",
    "threads",
    "keep_rule_files",
    "preview",
    "preview_prefix",
    "fork_previews",
    "preview_label",
    "preview_artifact",
    "max_previews",
    "evict_open",
    "preview_ttl",
    "sync_rules",
    "spa",
    "not_found_page",
    "skip_unchanged",
];

/// `rollback` redeploys to an existing branch: no --create-branch, no --stage.
fn hide_for_rollback(arg: clap::Arg) -> clap::Arg {
    let id = arg.get_id().as_str();
    let hide = PACKAGE_OPTIONS.contains(&id)
        || id == "create_branch"
        || id == "stage"
        || arg.is_hide_set();
    arg.hide(hide)
}

/// `promote` names its branches --from-branch and --to-branch.
fn hide_for_promote(arg: clap::Arg) -> clap::Arg {
    let id = arg.get_id().as_str();
    let hide = PACKAGE_OPTIONS.contains(&id) || id == "branch" || arg.is_hide_set();
    arg.hide(hide)
}

#[derive(Debug, Args, Clone)]
pub struct RollbackArgs {
    /// Roll back to this job (it must have succeeded and its artifact be
    /// in the store) [default: the newest earlier release whose package is
    /// stored, neither live nor one a rollback moved away from]
    #[arg(long, value_name = "N", conflicts_with = "sha256")]
    pub job_id: Option<String>,

    /// Roll back to the package with this SHA-256 (its newest job, else
    /// the artifact of that SHA-256 in --artifact-store)
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,

    /// Lock the branch before the rollback's job starts: deploy and
    /// promote then end LOCKED until `unlock`
    #[arg(long)]
    pub lock: bool,

    /// Why the branch is locked (with --lock)
    #[arg(long, value_name = "TEXT", requires = "lock")]
    pub reason: Option<String>,

    /// Every deploy option applies (outputs, --json, --on-busy, --timeout,
    /// --verify, ...); --path and --source-url do not.
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args, Clone)]
pub struct PromoteArgs {
    /// The branch whose live job's artifact is promoted (of --app-id)
    #[arg(long, value_name = "NAME")]
    pub from_branch: String,

    /// The branch it is deployed to
    #[arg(long, value_name = "NAME")]
    pub to_branch: String,

    /// The app of --to-branch [default: --app-id]
    #[arg(long, value_name = "ID")]
    pub to_app_id: Option<String>,

    /// The region of --to-app-id [default: --region]
    #[arg(long, value_name = "REGION")]
    pub to_region: Option<String>,

    /// Every deploy option applies (outputs, --json, --on-busy, --timeout,
    /// --verify, --artifact-url, ...); --branch, --path and --source-url do not.
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args, Clone)]
pub struct PackageArgs {
    /// Folder to package
    #[arg(long, env = "AMPLIFY_PATH", value_name = "DIR")]
    pub path: PathBuf,

    /// Where to write the zip
    #[arg(long, short, value_name = "FILE.zip")]
    pub output: PathBuf,

    #[command(flatten)]
    pub filter: PackageFilterArgs,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// Shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells `completions` writes for (clap_complete's, without elvish:
/// each generator costs binary size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args, Clone)]
pub struct InitArgs {
    /// Amplify app id, e.g. d1a2b3c4d5e6f7
    #[arg(long, env = "AMPLIFY_APP_ID", value_name = "ID")]
    pub app_id: Option<String>,

    /// Branch that deploys to production on push [default: main]
    #[arg(long, env = "AMPLIFY_BRANCH", value_name = "NAME")]
    pub branch: Option<String>,

    /// Build folder the workflow deploys [default: dist]
    #[arg(long, env = "AMPLIFY_PATH", value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// Write a GitLab CI pipeline (.gitlab-ci.yml) instead of GitHub workflows
    #[arg(long)]
    pub gitlab: bool,

    /// GitHub without environments (private repositories on GitHub Free):
    /// trust the production branch's runs for production, and pull request
    /// runs for previews, instead of the environments production and preview
    #[arg(long, conflicts_with = "gitlab")]
    pub no_environments: bool,

    /// Prefix of preview branch names; the preview role may change only
    /// branches that start with it [default: pr-, with --gitlab mr-]
    #[arg(long, value_name = "PREFIX")]
    pub preview_prefix: Option<String>,

    /// Repository the OIDC trust policy names (owner/name) [default: from
    /// `git remote get-url origin`]
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: Option<String>,

    /// Pin the action to this commit: the full SHA its release tag names
    /// [default: the release commit this binary was built from, if known]
    #[arg(long, value_name = "SHA")]
    pub action_sha: Option<String>,

    /// Take the action from this repository (a fork or a mirror); its
    /// release tag's commit is looked up on GITHUB_API_URL and pinned
    /// [default: the repository this binary was released from]
    #[arg(long, value_name = "OWNER/NAME")]
    pub action_repository: Option<String>,

    /// Print the files on stdout instead of writing them
    #[arg(long)]
    pub print: bool,

    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

/// Parse the command line; `get` reads the environment for GitHub's
/// `INPUT_*` variables. Exits with clap's message on bad usage.
pub fn parse(get: impl Fn(&str) -> Option<OsString>) -> Cli {
    try_parse_from(std::env::args_os(), get).unwrap_or_else(|e| e.exit())
}

/// [`parse`] with the arguments given.
pub fn try_parse_from<I, T>(
    argv: I,
    get: impl Fn(&str) -> Option<OsString>,
) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    output_flags_after_subcommand(&mut argv);
    argv.extend(input_flags(&argv, &github_input_overrides(get)));
    let matches = Cli::command().try_get_matches_from(argv)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    // `--stage` shows its default in `--help`, but an unset stage is `None`:
    // a preview's default differs (see `settings`).
    let defaulted = |m: &clap::ArgMatches| {
        matches!(
            m.value_source("stage"),
            None | Some(clap::parser::ValueSource::DefaultValue)
        )
    };
    match (&mut cli.command, matches.subcommand()) {
        (Some(Command::Deploy(args)), Some((_, sub))) if defaulted(sub) => args.stage = None,
        (None, _) if defaulted(&matches) => cli.deploy.stage = None,
        _ => {}
    }
    Ok(cli)
}

/// `-q deploy …` as `deploy -q …`. The top level takes deploy's own flags
/// (a runner calls the binary with no subcommand), so clap refuses any
/// flag before a subcommand name, the global output flags included.
fn output_flags_after_subcommand(argv: &mut Vec<OsString>) {
    let mut i = 1;
    while let Some(arg) = argv.get(i).and_then(|a| a.to_str()) {
        match arg {
            "--color" | "--verbosity" => i += 2,
            "--quiet" | "--verbose" => i += 1,
            _ if arg.starts_with("--color=") || arg.starts_with("--verbosity=") => i += 1,
            _ if arg.len() > 1
                && arg.starts_with('-')
                && arg[1..].bytes().all(|b| b == b'q' || b == b'v') =>
            {
                i += 1
            }
            _ => break,
        }
    }
    let Some(name) = argv.get(i).and_then(|a| a.to_str()) else {
        return;
    };
    if i > 1 && Cli::command().find_subcommand(name).is_some() {
        let flags: Vec<OsString> = argv.drain(1..i).collect();
        argv.splice(2..2, flags);
    }
}

/// GitHub's inputs as `--option=value` flags to append to `argv`, for the
/// options of the command being run that neither a flag nor their
/// `AMPLIFY_*` variable sets. As flags they are checked like a flag or a
/// variable would be (conflicts, value parsers).
fn input_flags(argv: &[OsString], inputs: &[(String, OsString)]) -> Vec<OsString> {
    if inputs.is_empty() {
        return Vec::new();
    }
    // A lenient parse, only to learn the (sub)command and what is given.
    let cli = Cli::command().ignore_errors(true);
    let Ok(matches) = cli.clone().try_get_matches_from(argv) else {
        return Vec::new();
    };
    let (cmd, matches) = match matches.subcommand() {
        Some((name, sub)) => match cli.find_subcommand(name) {
            Some(cmd) => (cmd.clone(), sub.clone()),
            None => return Vec::new(),
        },
        None => (cli, matches),
    };
    let unset = |id: &clap::Id| {
        matches!(
            matches.value_source(id.as_str()),
            None | Some(clap::parser::ValueSource::DefaultValue)
        )
    };
    let mut flags = Vec::new();
    for arg in cmd.get_arguments().filter(|a| unset(a.get_id())) {
        let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        if let Some((_, value)) = inputs.iter().find(|(name, _)| env == name.as_str()) {
            let mut flag = OsString::from(format!("--{long}="));
            flag.push(value);
            flags.push(flag);
        }
    }
    flags
}

/// Parse a duration such as `20m`, `90s` or `1h 30m`. The error stays a
/// `String` on purpose: this is a clap value parser, and clap prints the
/// text after the flag's name; no caller matches on it.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("{e} (expected e.g. 20m, 90s, 1h30m)"))
}

/// The `AMPLIFY_*` variable names of every option of every command.
fn option_env_names() -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![Cli::command()];
    while let Some(cmd) = stack.pop() {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                let env = env.to_string_lossy().into_owned();
                if !names.contains(&env) {
                    names.push(env);
                }
            }
        }
        stack.extend(cmd.get_subcommands().cloned());
    }
    names
}

/// For every `AMPLIFY_FOO_BAR` that is unset, take the value of GitHub's
/// `INPUT_FOO-BAR` or `INPUT_FOO_BAR`. Empty values count as unset: the
/// runner sets every declared input, empty when the workflow gave none.
///
/// Returns the `AMPLIFY_*` names with the values to default to.
fn github_input_overrides(get: impl Fn(&str) -> Option<OsString>) -> Vec<(String, OsString)> {
    let present = |name: &str| get(name).filter(|v| !v.is_empty());
    let mut out = Vec::new();
    for name in option_env_names() {
        if present(&name).is_some() {
            continue;
        }
        let Some(input) = name.strip_prefix("AMPLIFY_") else {
            continue;
        };
        let hyphen = format!("INPUT_{}", input.replace('_', "-"));
        let underscore = format!("INPUT_{input}");
        if let Some(value) = present(&hyphen).or_else(|| present(&underscore)) {
            out.push((name, value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn overrides(vars: &[(&str, &str)]) -> HashMap<String, String> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        github_input_overrides(|k| vars.get(k).cloned())
            .into_iter()
            .map(|(k, v)| (k, v.into_string().unwrap()))
            .collect()
    }

    #[test]
    fn github_inputs_map_onto_amplify_variables() {
        let got = overrides(&[("INPUT_APP-ID", "d123"), ("INPUT_SOURCE_URL_TYPE", "ZIP")]);
        assert_eq!(got.get("AMPLIFY_APP_ID").map(String::as_str), Some("d123"));
        assert_eq!(
            got.get("AMPLIFY_SOURCE_URL_TYPE").map(String::as_str),
            Some("ZIP")
        );
    }

    #[test]
    fn amplify_variable_wins_and_empty_inputs_are_unset() {
        let got = overrides(&[
            ("AMPLIFY_APP_ID", "dfromenv"),
            ("INPUT_APP-ID", "dfrominput"),
            ("INPUT_BRANCH", ""),
        ]);
        assert!(!got.contains_key("AMPLIFY_APP_ID"));
        assert!(!got.contains_key("AMPLIFY_BRANCH"));
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn rollback_and_promote_help_leaves_out_the_packaging_options() {
        let help = |name: &str| {
            let mut cmd = Cli::command();
            cmd.find_subcommand_mut(name)
                .expect(name)
                .render_long_help()
                .to_string()
        };
        let (rollback, promote) = (help("rollback"), help("promote"));
        // An option's own line, not a mention in another's description.
        let shows = |help: &str, flag: &str| {
            help.lines()
                .any(|l| l.trim_start().split([' ', '=']).next() == Some(flag))
        };
        for flag in [
            "--path",
            "--source-url",
            "--exclude",
            "--preview",
            "--skip-unchanged",
        ] {
            assert!(!shows(&rollback, flag), "rollback --help shows {flag}");
            assert!(!shows(&promote, flag), "promote --help shows {flag}");
        }
        assert!(shows(&rollback, "--branch") && !shows(&rollback, "--create-branch"));
        assert!(!shows(&promote, "--branch") && shows(&promote, "--create-branch"));
        for flag in ["--artifact-store", "--on-busy", "--verify", "--json"] {
            assert!(shows(&rollback, flag) && shows(&promote, flag), "{flag}");
        }
        // Still accepted: a job's environment may set them.
        assert!(Cli::try_parse_from(["amplify-deploy", "rollback", "--path", "dist"]).is_ok());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("20m").unwrap(), Duration::from_secs(1200));
        assert!(parse_duration("soon").unwrap_err().contains("20m"));
    }

    fn parse_with(argv: &[&str], vars: &[(&str, &str)]) -> Result<Cli, clap::Error> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        let argv = std::iter::once("amplify-deploy").chain(argv.iter().copied());
        try_parse_from(argv, |k| vars.get(k).cloned())
    }

    #[test]
    fn github_inputs_are_checked_like_flags() {
        // Two inputs that conflict are refused as the flags would be.
        let both = [
            ("INPUT_PATH", "dist"),
            ("INPUT_SOURCE-URL", "https://x/y.zip"),
        ];
        let err = parse_with(&[], &both).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        // A flag wins over its input, so nothing conflicts.
        let cli = parse_with(&["--source-url", "https://x/y.zip"], &both[1..]).unwrap();
        assert_eq!(cli.deploy.source_url.as_deref(), Some("https://x/y.zip"));
        // An input reaches the subcommand being run, and satisfies a required option.
        let cli = parse_with(&["package", "-o", "site.zip"], &[("INPUT_PATH", "dist")]).unwrap();
        let Some(Command::Package(args)) = cli.command else {
            panic!("not package");
        };
        assert_eq!(args.path, PathBuf::from("dist"));
        // A bad input value is refused by the option's parser.
        let err = parse_with(&[], &[("INPUT_TIMEOUT", "soon")]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn stage_is_none_unless_given() {
        assert_eq!(parse_with(&[], &[]).unwrap().deploy.stage, None);
        let cli = parse_with(&["--stage", "BETA"], &[]).unwrap();
        assert_eq!(cli.deploy.stage, Some(Stage::Beta));
        let cli = parse_with(&[], &[("INPUT_STAGE", "DEVELOPMENT")]).unwrap();
        assert_eq!(cli.deploy.stage, Some(Stage::Development));
    }
}

#[derive(Debug, Args, Clone)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand, Clone)]
pub enum RulesCommand {
    /// Replace the app's redirects and rewrites with a `_redirects` file's
    /// (and the SPA rewrite), printing the difference first
    Sync(RulesSyncArgs),
}

#[derive(Debug, Args, Clone)]
pub struct RulesSyncArgs {
    /// Amplify app id, e.g. d1a2b3c4d5e6f7
    #[arg(long, env = "AMPLIFY_APP_ID", value_name = "ID")]
    pub app_id: Option<String>,

    /// The `_redirects` file (Netlify / Cloudflare Pages syntax), or the
    /// folder that holds it
    #[arg(long, value_name = "DIR/_redirects")]
    pub from: Option<PathBuf>,

    /// Add the single-page-app rewrite (paths without a file extension to
    /// /index.html, 200) after the rules
    #[arg(long)]
    pub spa: bool,

    /// The page that answers missing paths with 404 (a last rule /<*> to
    /// it, unless a rule already catches every path): a site path in the
    /// folder of --from, such as /errors/missing.html, or none [default:
    /// /404.html when that folder has one]
    #[arg(long, env = "AMPLIFY_NOT_FOUND_PAGE", value_name = "PATH")]
    pub not_found_page: Option<String>,

    /// Print the difference, change nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub timeout: TimeoutArgs,
}
