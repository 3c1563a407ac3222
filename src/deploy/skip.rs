//! `--skip-unchanged`, once decided ([`super::Decision::Skipped`]): the
//! live job already serves this package, so nothing is started. The
//! branch settings the run asks for that differ are still applied (a
//! rotated basic-auth password is not skipped), and the outcome is SKIPPED
//! with the live job's id.

use crate::amplify::JobSummary;
use crate::error::RunError;

use super::branch;
use super::decide::Changes;
use super::Ctx;

pub(super) async fn skipped(
    ctx: &Ctx,
    live: &JobSummary,
    sha256: &str,
    changes: &Changes,
) -> Result<(), RunError> {
    let updated = branch::apply(ctx, changes, false).await?;
    let live_id = live.job_id.as_deref().unwrap_or_default();
    ctx.reporter.line(format!(
        "unchanged: live job {live_id} already serves package {sha256}; nothing started (--skip-unchanged)"
    ));
    if !updated.is_empty() {
        ctx.reporter.line(format!(
            "updated {} on branch {} without a new job",
            updated.join(" and "),
            ctx.settings.branch
        ));
    }
    Ok(())
}
