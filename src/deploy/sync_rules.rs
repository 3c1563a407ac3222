//! `--sync-rules`: the app's redirects and rewrites, which every branch
//! shares, written only once the run has decided to deploy and before our
//! job is created, so the new content is served under the new rules; a dry
//! run shows the diff and writes nothing.

use crate::amplify::CustomRule;
use crate::error::RunError;

use super::Ctx;

pub(super) async fn sync(
    ctx: &Ctx,
    rules: &[CustomRule],
    from: &str,
    dry_run: bool,
) -> Result<(), RunError> {
    let _group = ctx.reporter.open_group("Syncing the app's rules");
    crate::rules::sync::sync(
        &ctx.client,
        &ctx.settings.app_id,
        rules,
        from,
        dry_run,
        &ctx.reporter,
    )
    .await
    .map_err(|e| ctx.explain(&e))?;
    Ok(())
}
