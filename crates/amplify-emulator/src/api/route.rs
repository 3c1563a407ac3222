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
        ("POST", [_]) => call(Operation::UpdateApp, None, None),
        ("POST", [_, "branches"]) => call(Operation::CreateBranch, None, None),
        ("GET", [_, "branches"]) => call(Operation::ListBranches, None, None),
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
        ("DELETE", [_, "branches", _, "jobs", _]) => {
            call(Operation::DeleteJob, segments.get(2), segments.get(4))
        }
        ("DELETE", [_, "branches", _, "jobs", _, "stop"]) => {
            call(Operation::StopJob, segments.get(2), segments.get(4))
        }
        _ => return None,
    };
    Some(operation)
}

/// Maps `/tags/{resourceArn}` (one decoded label) to a tag operation on
/// the branch the ARN names (`arn:aws:amplify:…:apps/{app}/branches/{branch}`).
pub(crate) fn route_tags(method: &str, segments: &[String]) -> Option<ApiCall> {
    let [arn] = segments else { return None };
    let operation = match method {
        "POST" => Operation::TagResource,
        "DELETE" => Operation::UntagResource,
        "GET" => Operation::ListTagsForResource,
        _ => return None,
    };
    let (_, resource) = arn.strip_prefix("arn:aws:amplify:")?.split_once(":apps/")?;
    let (app_id, branch) = resource.split_once("/branches/")?;
    Some(ApiCall {
        operation,
        app_id: app_id.to_owned(),
        branch: Some(branch.to_owned()),
        job_id: None,
    })
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
            ("POST", "d1", "UpdateApp"),
            ("POST", "d1/branches", "CreateBranch"),
            ("GET", "d1/branches", "ListBranches"),
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
            ("DELETE", "d1/branches/main/jobs/3", "DeleteJob"),
        ];
        for (method, path, operation) in cases {
            let call = route(method, &segments(path)).expect(path);
            assert_eq!(call.operation.as_str(), operation);
        }
        assert_eq!(route("PUT", &segments("d1")), None);
        let arn =
            vec!["arn:aws:amplify:us-east-1:123456789012:apps/d1/branches/feature/x".to_owned()];
        let call = route_tags("POST", &arn).expect("tags");
        assert_eq!(call.operation.as_str(), "TagResource");
        assert_eq!((call.app_id.as_str(), call.branch()), ("d1", "feature/x"));
        assert_eq!(route_tags("PUT", &arn), None);
        assert_eq!(route("GET", &segments("d1/branches/main/jobs/3/x")), None);
    }
}
