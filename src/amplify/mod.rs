//! The Amplify Hosting API: typed requests and responses and the
//! SigV4-signed client that calls it through `crate::http`'s retry loop.
//!
//! Only the operations a manual deploy needs are here; the service model
//! is botocore's `amplify-2017-07-25`.

mod client;
mod error;
mod sign;
mod types;
mod zip_upload;

pub use client::{Client, ClientConfig};
pub use error::{limit_kind, ApiError, Limit};
pub use sign::{encode_label, sign_request, SIGNING_NAME};
pub use types::{
    App, Branch, BranchUpdate, CreateDeploymentOutput, CustomRule, Job, JobStatus, JobSummary,
    ListBranchesOutput, ListJobsOutput, NewBranch, Secret, StartDeploymentInput, Step,
};
pub(crate) use zip_upload::S3_ZIP;
pub use zip_upload::{upload_zip, upload_zip_counting};
