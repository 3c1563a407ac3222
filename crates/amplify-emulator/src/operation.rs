//! The names requests are known by: the Amplify operations the emulator
//! implements and its own endpoints (upload, step log, site, control).
//! Routing yields an [`Operation`]; faults, the request log and the control
//! API speak of it by the name [`Operation::as_str`] gives, so a fault
//! scripted as `"GetJob"` over HTTP meets the same value routing produced.

use std::fmt;
use std::str::FromStr;

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateDeployment,
    StartDeployment,
    GetJob,
    StopJob,
    /// `DELETE …/jobs/{jobId}`: the job and what it deployed are gone.
    DeleteJob,
    ListJobs,
    GetApp,
    GetBranch,
    CreateBranch,
    DeleteBranch,
    /// Tags on a resource (the emulator tags branches): `/tags/{arn}`.
    TagResource,
    UntagResource,
    ListTagsForResource,
    UpdateBranch,
    /// The app's `customRules` and `customHeaders`: `POST /apps/{appId}`.
    UpdateApp,
    ListBranches,
    /// A PUT to a presigned upload URL.
    Upload,
    /// A GET of a step's presigned `logUrl`.
    StepLog,
    /// A page of a deployed site.
    Site,
    /// The unsigned `/__emulator/…` control endpoint.
    Control,
    /// Anything the emulator does not route.
    Unknown,
}

impl Operation {
    /// The Amplify API operations, the ones a fault with no operation covers.
    pub const API: [Operation; 16] = [
        Operation::CreateDeployment,
        Operation::StartDeployment,
        Operation::GetJob,
        Operation::StopJob,
        Operation::DeleteJob,
        Operation::ListJobs,
        Operation::GetApp,
        Operation::GetBranch,
        Operation::CreateBranch,
        Operation::DeleteBranch,
        Operation::TagResource,
        Operation::UntagResource,
        Operation::ListTagsForResource,
        Operation::UpdateBranch,
        Operation::UpdateApp,
        Operation::ListBranches,
    ];

    /// The emulator's own endpoints, and what it does not route.
    const NOT_API: [Operation; 5] = [
        Operation::Upload,
        Operation::StepLog,
        Operation::Site,
        Operation::Control,
        Operation::Unknown,
    ];

    /// Every operation, for parsing names.
    fn all() -> impl Iterator<Item = Operation> {
        Operation::API.into_iter().chain(Operation::NOT_API)
    }

    /// The name used by faults, the request log and the control API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::CreateDeployment => "CreateDeployment",
            Operation::StartDeployment => "StartDeployment",
            Operation::GetJob => "GetJob",
            Operation::StopJob => "StopJob",
            Operation::DeleteJob => "DeleteJob",
            Operation::ListJobs => "ListJobs",
            Operation::GetApp => "GetApp",
            Operation::GetBranch => "GetBranch",
            Operation::CreateBranch => "CreateBranch",
            Operation::DeleteBranch => "DeleteBranch",
            Operation::TagResource => "TagResource",
            Operation::UntagResource => "UntagResource",
            Operation::ListTagsForResource => "ListTagsForResource",
            Operation::UpdateBranch => "UpdateBranch",
            Operation::UpdateApp => "UpdateApp",
            Operation::ListBranches => "ListBranches",
            Operation::Upload => "Upload",
            Operation::StepLog => "StepLog",
            Operation::Site => "Site",
            Operation::Control => "Control",
            Operation::Unknown => "Unknown",
        }
    }

    /// True for the operations of the Amplify API (signed REST-JSON calls).
    pub fn is_api(self) -> bool {
        Operation::API.contains(&self)
    }
}

/// The names of [`Operation::API`], in the same order.
pub const API_OPERATIONS: &[&str] = &{
    let mut names = [""; Operation::API.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Operation::API[i].as_str();
        i += 1;
    }
    names
};

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name no operation has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownOperation(pub String);

impl fmt::Display for UnknownOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no operation named {:?}", self.0)
    }
}

impl std::error::Error for UnknownOperation {}

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(name: &str) -> Result<Operation, UnknownOperation> {
        Operation::all()
            .find(|operation| operation.as_str() == name)
            .ok_or_else(|| UnknownOperation(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for operation in Operation::all() {
            assert_eq!(operation.as_str().parse(), Ok(operation));
        }
        assert_eq!(
            "getjob".parse::<Operation>(),
            Err(UnknownOperation("getjob".to_owned()))
        );
    }

    #[test]
    fn api_names_are_the_api_operations() {
        assert_eq!(API_OPERATIONS.len(), 16);
        assert_eq!(API_OPERATIONS[0], "CreateDeployment");
        assert!(API_OPERATIONS
            .iter()
            .all(|name| name.parse::<Operation>().is_ok_and(Operation::is_api)));
        assert!(!Operation::Upload.is_api());
    }
}
