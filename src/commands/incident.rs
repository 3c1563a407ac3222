//! `lock` and `unlock`: hold a branch for an incident, and release it. The
//! lock is a set of branch tags (`crate::incident::Lock`) that deploys keep;
//! `deploy` and `promote` to a locked branch end LOCKED (exit 0, nothing
//! deployed) unless `--override-lock`; `rollback` works on it. Unlike
//! provenance, which only warns, a lock that cannot be written or removed
//! is a failure (exit 3): an incident tool must not pretend.

use crate::branch::Target;
use crate::error::RunError;
use crate::incident::Lock;
use crate::report::Reporter;
use crate::settings::{BranchSettings, LockSettings};

/// `amplify-deploy lock`.
pub async fn lock(s: &LockSettings, reporter: &Reporter) -> Result<(), RunError> {
    let t = connect(&s.target, reporter).await?;
    let (arn, held) = branch(&t).await?;
    let reason = s.request.reason.clone();
    let lock = Lock::taken_now(
        reason.unwrap_or_else(|| "no reason given".into()),
        &s.request.by,
    );
    t.client
        .tag_resource(&arn, &lock.to_tags())
        .await
        .map_err(|e| tagging_error(&t, &e, "lock", "amplify:TagResource", &arn))?;
    if let Some(held) = held {
        reporter.line(format!(
            "branch {} was locked already {}: that lock is replaced",
            t.branch,
            held.describe()
        ));
    }
    // Read back: what deploys will see, sanitised as tags are.
    let shown = Lock::from_tags(&lock.to_tags().into_iter().collect()).unwrap_or(lock);
    reporter.result(format!(
        "locked {}/{} {}: deploy and promote end LOCKED until `amplify-deploy unlock` (or --override-lock)",
        t.app_id,
        t.branch,
        shown.describe()
    ));
    Ok(())
}

/// `amplify-deploy unlock`.
pub async fn unlock(s: &BranchSettings, reporter: &Reporter) -> Result<(), RunError> {
    let t = connect(s, reporter).await?;
    let (arn, held) = branch(&t).await?;
    let Some(held) = held else {
        reporter.result(format!("{}/{} is not locked", t.app_id, t.branch));
        return Ok(());
    };
    let keys = Lock::keys();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    t.client
        .untag_resource(&arn, &keys)
        .await
        .map_err(|e| tagging_error(&t, &e, "unlock", "amplify:UntagResource", &arn))?;
    reporter.result(format!(
        "unlocked {}/{} (it was locked {})",
        t.app_id,
        t.branch,
        held.describe()
    ));
    Ok(())
}

async fn connect(s: &BranchSettings, reporter: &Reporter) -> Result<Target, RunError> {
    Target::connect(&s.app_id, &s.branch, &s.aws, reporter).await
}

/// The branch's ARN and the lock it holds.
async fn branch(t: &Target) -> Result<(String, Option<Lock>), RunError> {
    let b = t
        .client
        .get_branch(&t.app_id, &t.branch)
        .await
        .map_err(|e| t.explain(&e))?;
    let arn = b
        .branch_arn
        .filter(|a| !a.is_empty())
        .ok_or_else(|| RunError::aws(format!("GetBranch gave branch {} no branchArn", t.branch)))?;
    Ok((arn, Lock::from_tags(&b.tags.unwrap_or_default())))
}

fn tagging_error(
    t: &Target,
    e: &crate::amplify::ApiError,
    what: &str,
    action: &str,
    arn: &str,
) -> RunError {
    t.explain(e)
        .cause(format!("branch {} was not {what}ed", t.branch))
        .hint(format!("grant {action} on {arn} to the role or user running `amplify-deploy {what}` (docs/iam.md)"))
}
