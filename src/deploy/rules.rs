//! `--sync-rules`: the app's redirects and rewrites written before our job
//! is created (after the preflight found the app), so the new content is
//! served under the new rules; on a dry run only the diff is shown.

use crate::amplify::CustomRule;
use crate::error::RunError;

use super::Ctx;

pub(super) async fn sync(ctx: &Ctx, rules: &[CustomRule], from: &str) -> Result<(), RunError> {
    let _group = ctx.reporter.open_group("Syncing the app's rules");
    crate::rules::sync::sync(
        &ctx.client,
        &ctx.plan.app_id,
        rules,
        from,
        ctx.plan.dry_run,
        &ctx.reporter,
    )
    .await
    .map_err(|e| ctx.explain(&e))?;
    Ok(())
}
