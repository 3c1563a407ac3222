//! Which Amplify operation a REST path names: `/apps/{appId}/branches/…`
//! with the method picks one [`Operation`]; the labels (decoded) travel with
//! it as an [`ApiCall`].

use crate::operation::Operation;

/// One routed Amplify call: the operation and its URI labels (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiCall {
    pub operation: Operation,
    pub app_id: String,
    pub branch: Option<String>,
    pub job_id: Option<String>,
}

impl ApiCall {
    pub fn branch(&self) -> &str {
        self.branch.as_deref().unwrap_or_default()
    }

    pub fn job_id(&self) -> &str {
        self.job_id.as_deref().unwrap_or_default()
    }
}

/// Maps method and decoded path segments after `/apps/` to an operation.
pub(crate) fn route(method: &str, segments: &[String]) -> Option<ApiCall> {
    let call = |operation, branch: Option<&String>, job: Option<&String>| ApiCall {
        operation,
        app_id: segments[0].clone(),
        branch: branch.cloned(),
        job_id: job.cloned(),
    };
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let operation = match (method, parts.as_slice()) {
        ("GET", [_]) => call(Operation::GetApp, None, None),
        ("POST", [_, "branches"]) => call(Operation::CreateBranch, None, None),
        ("GET", [_, "branches", _]) => call(Operation::GetBranch, segments.get(2), None),
        ("POST", [_, "branches", _]) => call(Operation::UpdateBranch, segments.get(2), None),
        ("DELETE", [_, "branches", _]) => call(Operation::DeleteBranch, segments.get(2), None),
        ("POST", [_, "branches", _, "deployments"]) => {
            call(Operation::CreateDeployment, segments.get(2), None)
        }
        ("POST", [_, "branches", _, "deployments", "start"]) => {
            call(Operation::StartDeployment, segments.get(2), None)
        }
        ("GET", [_, "branches", _, "jobs"]) => call(Operation::ListJobs, segments.get(2), None),
        ("GET", [_, "branches", _, "jobs", _]) => {
            call(Operation::GetJob, segments.get(2), segments.get(4))
        }
        ("DELETE", [_, "branches", _, "jobs", _, "stop"]) => {
            call(Operation::StopJob, segments.get(2), segments.get(4))
        }
        _ => return None,
    };
    Some(operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn routes_every_operation() {
        let cases = [
            ("GET", "d1", "GetApp"),
            ("POST", "d1/branches", "CreateBranch"),
            ("GET", "d1/branches/main", "GetBranch"),
            ("DELETE", "d1/branches/main", "DeleteBranch"),
            ("POST", "d1/branches/main", "UpdateBranch"),
            ("POST", "d1/branches/main/deployments", "CreateDeployment"),
            (
                "POST",
                "d1/branches/main/deployments/start",
                "StartDeployment",
            ),
            ("GET", "d1/branches/main/jobs", "ListJobs"),
            ("GET", "d1/branches/main/jobs/3", "GetJob"),
            ("DELETE", "d1/branches/main/jobs/3/stop", "StopJob"),
        ];
        for (method, path, operation) in cases {
            let call = route(method, &segments(path)).expect(path);
            assert_eq!(call.operation.as_str(), operation);
        }
        assert_eq!(route("PUT", &segments("d1")), None);
        assert_eq!(route("GET", &segments("d1/branches/main/jobs/3/x")), None);
    }
}
