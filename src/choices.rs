//! The small value sets a user picks from (`--on-busy`, `--stage`,
//! `--source-url-type`). They sit below both the command line, which parses
//! them, and the pipeline, which acts on them, so neither imports the other.

use clap::ValueEnum;

/// What to do when another deployment is running on the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnBusy {
    /// Wait for it to end, then deploy.
    Wait,
    /// Stop it (StopJob), then deploy.
    Stop,
    /// Exit with an error.
    Fail,
}

/// Whether the live check runs after a deploy, and what a site that does
/// not serve the new content yet means. `false`/`true` read as `off`/`strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Verify {
    /// No live check.
    #[value(alias = "false")]
    Off,
    /// A warning; the run still succeeds.
    Warn,
    /// Exit 5: deployed, but the site does not serve it yet.
    #[value(alias = "true")]
    Strict,
}

/// Which pull requests from forks get a preview (`--fork-previews`), in
/// the trusted run that deploys them (docs/previews.md#forks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForkPreviews {
    /// Those with the label `--preview-label`, or whose author is an
    /// owner, member or collaborator of the repository.
    Approved,
    /// Every one.
    All,
    /// None.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Stage {
    Production,
    Beta,
    Development,
    Experimental,
    PullRequest,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Production => "PRODUCTION",
            Stage::Beta => "BETA",
            Stage::Development => "DEVELOPMENT",
            Stage::Experimental => "EXPERIMENTAL",
            Stage::PullRequest => "PULL_REQUEST",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SourceUrlType {
    Zip,
    BucketPrefix,
}

impl SourceUrlType {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceUrlType::Zip => "ZIP",
            SourceUrlType::BucketPrefix => "BUCKET_PREFIX",
        }
    }
}

/// How Amplify reads a package kept in the artifact store
/// (`--artifact-url`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ArtifactUrl {
    /// `s3://bucket/prefix/{sha256}.zip`: the bucket policy lets Amplify
    /// read it; never expires, nothing secret in the job.
    #[default]
    S3,
    /// A presigned HTTPS GET, valid for the run (for buckets that cannot
    /// carry that policy).
    Presigned,
}

/// How much a run prints (`-q`, `-v`, `-vv`, `AMPLIFY_VERBOSITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, ValueEnum)]
pub enum Verbosity {
    /// Errors and the final line only.
    Quiet,
    /// The steps, retries and progress.
    #[default]
    Normal,
    /// Also each API call (operation, status, duration, request id) and
    /// the upload's throughput.
    Verbose,
    /// Also the calls' headers, secrets redacted.
    Debug,
}

/// When to colour the output (`--color`, `AMPLIFY_COLOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal and in GitHub Actions logs, unless `NO_COLOR` is set
    /// (`CLICOLOR_FORCE` forces it).
    #[default]
    Auto,
    Always,
    Never,
}
