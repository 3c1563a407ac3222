//! Scripted faults: "503 twice, then normal", "drop the connection", "cut the
//! upload after 1 KiB". Faults are queued; each request takes the first one
//! that applies to its operation and counts its `times` down.

use serde::{Deserialize, Serialize};

use crate::operation::Operation;

/// One scripted fault.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Fault {
    /// The name of the operation it applies to, as [`crate::Operation::as_str`]
    /// gives it ("CreateDeployment", …, "Upload", "StepLog"); `None` means
    /// any Amplify API operation (not the upload). A name no operation has
    /// never applies.
    #[serde(default)]
    pub operation: Option<String>,
    /// How many requests it affects.
    #[serde(default = "one")]
    pub times: u32,
    /// What happens to those requests.
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault for one request of `operation` (`None`: any API operation).
    pub fn new(operation: Option<&str>, action: FaultAction) -> Fault {
        Fault {
            operation: operation.map(str::to_owned),
            times: 1,
            action,
        }
    }

    /// The same fault for `times` requests.
    pub fn times(mut self, times: u32) -> Fault {
        self.times = times;
        self
    }

    /// Faults are scripted by name (over HTTP too), so a name no operation
    /// has is kept and simply never applies.
    fn applies_to(&self, operation: Operation) -> bool {
        let operation_matches = match &self.operation {
            Some(wanted) => wanted == operation.as_str(),
            // A cut only makes sense for the upload, so "any" means it there.
            None if matches!(self.action, FaultAction::CutUpload { .. }) => {
                operation == Operation::Upload
            }
            None => operation.is_api(),
        };
        let action_fits = match self.action {
            FaultAction::CutUpload { .. } => operation == Operation::Upload,
            FaultAction::FailJob { .. } | FaultAction::FailJobWithLog { .. } => {
                operation == Operation::StartDeployment
            }
            // Taken only by a request that turns skew protection on.
            FaultAction::RefuseSkewProtection { .. } => false,
            _ => true,
        };
        operation_matches && action_fits
    }

    /// Whether this is a `refuse_skew_protection` fault for `operation`
    /// (`None`: CreateBranch or UpdateBranch).
    fn refuses_skew_protection(&self, operation: Operation) -> bool {
        let branch_write = matches!(operation, Operation::CreateBranch | Operation::UpdateBranch);
        let operation_matches = match &self.operation {
            Some(wanted) => wanted == operation.as_str(),
            None => true,
        };
        matches!(self.action, FaultAction::RefuseSkewProtection { .. })
            && branch_write
            && operation_matches
    }
}

/// What a fault does to a request.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with an Amplify-style JSON error (an S3-style XML one for the
    /// upload); the operation is not performed.
    Status {
        status: u16,
        #[serde(default)]
        error_type: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
    /// Answer with this exact body, e.g. an HTML 502 page from a proxy.
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Wait, then proceed normally (a slow service, or with a long wait,
    /// one that accepts and never answers).
    Delay { ms: u64 },
    /// Perform the operation, then wait before answering (a slow answer:
    /// other clients see the operation's effect meanwhile).
    DelayAfter { ms: u64 },
    /// Close the connection without answering; the operation is not performed.
    Drop,
    /// Perform the operation, then close without answering (a lost response).
    DropAfter,
    /// Upload only: read this many body bytes, then close the connection.
    CutUpload { after_bytes: u64 },
    /// StartDeployment only: start normally, but the job ends FAILED.
    FailJob { reason: String },
    /// Answer with a redirect (301, 302, 307, …) to `location`; the
    /// operation is not performed (a misconfigured proxy or bucket).
    Redirect { status: u16, location: String },
    /// Answer 200 with a JSON-looking body of `bytes` bytes (a runaway
    /// answer); the operation is not performed.
    HugeBody { bytes: u64 },
    /// StartDeployment only: as `FailJob`, and the failed step's log (served
    /// at its presigned `logUrl`) is `log`.
    FailJobWithLog { reason: String, log: String },
    /// Another client creates this branch (stage PRODUCTION) of the
    /// request's app just before the operation is performed: a race, e.g.
    /// for the last free branch of an app at CreateBranch.
    BranchCreatedFirst { branch: String },
    /// CreateBranch/UpdateBranch only, and only a request that turns
    /// `enableSkewProtection` on (no other request uses it up): refused
    /// with 400 BadRequestException and `message` (default: the user
    /// guide's rule that an app must have been deployed first, in the
    /// emulator's words), nothing changed. The service's exact refusal is
    /// not documented.
    RefuseSkewProtection {
        #[serde(default)]
        message: Option<String>,
    },
}

impl FaultAction {
    /// The name recorded in [`crate::RequestRecord::fault`].
    pub fn name(&self) -> &'static str {
        match self {
            FaultAction::Status { .. } => "status",
            FaultAction::Raw { .. } => "raw",
            FaultAction::Delay { .. } => "delay",
            FaultAction::DelayAfter { .. } => "delay_after",
            FaultAction::Drop => "drop",
            FaultAction::DropAfter => "drop_after",
            FaultAction::CutUpload { .. } => "cut_upload",
            FaultAction::FailJob { .. } => "fail_job",
            FaultAction::Redirect { .. } => "redirect",
            FaultAction::HugeBody { .. } => "huge_body",
            FaultAction::FailJobWithLog { .. } => "fail_job_with_log",
            FaultAction::BranchCreatedFirst { .. } => "branch_created_first",
            FaultAction::RefuseSkewProtection { .. } => "refuse_skew_protection",
        }
    }
}

/// The queue of pending faults.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: Vec<Fault>,
}

impl FaultQueue {
    pub fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.faults.push(fault);
        }
    }

    /// Takes one use of the first fault that applies to `operation`.
    pub fn take(&mut self, operation: Operation) -> Option<FaultAction> {
        self.take_first(|f| f.applies_to(operation))
    }

    /// Takes one use of the first `refuse_skew_protection` fault for
    /// `operation`, for a request that turns skew protection on.
    pub fn take_skew_refusal(&mut self, operation: Operation) -> Option<FaultAction> {
        self.take_first(|f| f.refuses_skew_protection(operation))
    }

    /// Takes one use of the first fault `wanted` picks; a fault whose uses
    /// are spent is removed.
    fn take_first(&mut self, wanted: impl Fn(&Fault) -> bool) -> Option<FaultAction> {
        let index = self.faults.iter().position(wanted)?;
        let fault = &mut self.faults[index];
        fault.times -= 1;
        let action = fault.action.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(action)
    }

    pub fn pending(&self) -> &[Fault] {
        &self.faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_in_push_order_and_count_down() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::new(Some("GetJob"), FaultAction::Drop).times(2));
        queue.push(Fault::new(None, FaultAction::Delay { ms: 1 }));
        assert_eq!(queue.take(Operation::Upload), None);
        assert_eq!(queue.take(Operation::GetJob), Some(FaultAction::Drop));
        assert_eq!(
            queue.take(Operation::CreateDeployment),
            Some(FaultAction::Delay { ms: 1 })
        );
        assert_eq!(queue.take(Operation::GetJob), Some(FaultAction::Drop));
        assert_eq!(queue.take(Operation::GetJob), None);
    }

    #[test]
    fn action_specific_faults_wait_for_their_operation() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::new(
            None,
            FaultAction::FailJob {
                reason: "boom".into(),
            },
        ));
        assert_eq!(queue.take(Operation::CreateDeployment), None);
        assert!(matches!(
            queue.take(Operation::StartDeployment),
            Some(FaultAction::FailJob { .. })
        ));
    }

    #[test]
    fn skew_refusals_wait_for_a_branch_write_that_asks_for_it() {
        let mut queue = FaultQueue::default();
        let refuse = FaultAction::RefuseSkewProtection { message: None };
        queue.push(Fault::new(Some("UpdateBranch"), refuse.clone()));
        queue.push(Fault::new(None, refuse.clone()));
        // Never taken as an ordinary fault, by any operation.
        assert_eq!(queue.take(Operation::UpdateBranch), None);
        assert_eq!(queue.take(Operation::CreateBranch), None);
        assert_eq!(queue.take_skew_refusal(Operation::GetBranch), None);
        // The one for any branch write goes to CreateBranch...
        assert_eq!(
            queue.take_skew_refusal(Operation::CreateBranch),
            Some(refuse.clone())
        );
        assert_eq!(queue.take_skew_refusal(Operation::CreateBranch), None);
        // ...the UpdateBranch one stays for UpdateBranch.
        assert_eq!(
            queue.take_skew_refusal(Operation::UpdateBranch),
            Some(refuse)
        );
        assert!(queue.pending().is_empty());
    }

    #[test]
    fn cut_upload_without_operation_applies_to_the_upload() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::new(None, FaultAction::CutUpload { after_bytes: 1 }));
        assert_eq!(queue.take(Operation::CreateDeployment), None);
        assert_eq!(
            queue.take(Operation::Upload),
            Some(FaultAction::CutUpload { after_bytes: 1 })
        );
    }

    #[test]
    fn fault_json_uses_snake_case_tags_and_defaults() {
        let fault: Fault = serde_json::from_str(
            r#"{"operation":"Upload","action":{"type":"cut_upload","after_bytes":10}}"#,
        )
        .expect("valid fault json");
        assert_eq!(fault.times, 1);
        assert_eq!(fault.action, FaultAction::CutUpload { after_bytes: 10 });
        let slow: FaultAction =
            serde_json::from_str(r#"{"type":"delay_after","ms":250}"#).expect("valid action json");
        assert_eq!(slow, FaultAction::DelayAfter { ms: 250 });
        let status: FaultAction =
            serde_json::from_str(r#"{"type":"status","status":503}"#).expect("valid action json");
        assert_eq!(
            status,
            FaultAction::Status {
                status: 503,
                error_type: None,
                message: None
            }
        );
    }
}
