//! CI integration: GitHub Actions workflow commands, outputs and job summary;
//! GitLab dotenv reports; JSON for Jenkins and scripts.
//!
//! Every format here renders the same [`crate::outcome::Outcome`], so a
//! GitHub output, a dotenv variable and a JSON field never disagree.

pub mod dotenv;
pub mod escape;
pub mod github;
pub mod json;
pub mod summary;

use std::path::PathBuf;

/// Why a CI report could not be written. The deploy itself may have
/// succeeded; the caller decides whether this fails the run.
#[derive(Debug, thiserror::Error)]
pub enum CiError {
    #[error("cannot write step outputs to {path}")]
    WriteOutputs {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the job summary to {path}")]
    WriteSummary {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the dotenv report to {path}")]
    WriteDotenv {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the JSON report to {target}")]
    WriteJson {
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no heredoc delimiter for output {key} that does not occur in its value")]
    NoDelimiter { key: String },
}
