//! Preflight: read-only checks (GetApp, GetBranch) that the app takes
//! manual deploys and the branch exists, or will be created; and its
//! creation when the plan says so.

use crate::amplify::Client;
use crate::error::RunError;
use crate::explain::web_compute_app;

use super::Ctx;

/// The preflight, a group of the log of its own. Returns whether the branch
/// is missing (and is to be created).
pub(super) async fn preflight(ctx: &Ctx) -> Result<bool, RunError> {
    ctx.reporter.group("Checking app and branch");
    let r = check_app_and_branch(ctx, &ctx.client).await;
    ctx.reporter.end_group();
    r
}

/// GetApp and GetBranch: the app exists and takes manual deploys, the branch
/// exists (or will be created). Returns whether the branch is missing.
pub(super) async fn check_app_and_branch(ctx: &Ctx, client: &Client) -> Result<bool, RunError> {
    let plan = &ctx.plan;
    let app = client
        .get_app(&plan.app_id)
        .await
        .map_err(|e| ctx.explain(&e))?;
    if app.platform.as_deref() == Some("WEB_COMPUTE") {
        return Err(web_compute_app(&plan.app_id).hint(
            "deploy to a WEB (static) app; SSR apps deploy from a connected Git repository",
        ));
    }
    let domain = app.default_domain.clone();
    ctx.with_outcome(|o| {
        o.url = domain
            .as_ref()
            .map(|d| format!("https://{}.{d}", plan.branch.replace('/', "-")))
    });
    match client.get_branch(&plan.app_id, &plan.branch).await {
        Ok(b) => {
            set_url_from_branch(ctx, b.display_name.as_deref());
            super::lock(&ctx.state).branch_arn = b.branch_arn;
            Ok(false)
        }
        Err(e) if e.is_not_found() && plan.create_branch => Ok(true),
        Err(e) => Err(ctx.explain(&e)),
    }
}

/// CreateBranch, in the plan's stage (`--create-branch`).
pub(super) async fn create_branch(ctx: &Ctx) -> Result<(), RunError> {
    let plan = &ctx.plan;
    ctx.reporter.line(format!(
        "creating branch {} (stage {})",
        plan.branch, plan.stage
    ));
    match ctx
        .client
        .create_branch(&plan.app_id, &plan.branch, Some(plan.stage))
        .await
    {
        Ok(b) => {
            set_url_from_branch(ctx, b.display_name.as_deref());
            super::lock(&ctx.state).branch_arn = b.branch_arn;
            Ok(())
        }
        Err(e) => Err(ctx.explain(&e)),
    }
}

/// The site's URL uses the branch's display name (its subdomain).
fn set_url_from_branch(ctx: &Ctx, display_name: Option<&str>) {
    let display = display_name
        .map(str::to_owned)
        .unwrap_or_else(|| ctx.plan.branch.replace('/', "-"));
    ctx.with_outcome(|o| {
        if let Some(url) = &o.url {
            if let Some(domain) = url
                .strip_prefix("https://")
                .and_then(|r| r.split_once('.'))
                .map(|(_, d)| d.to_owned())
            {
                o.url = Some(format!("https://{display}.{domain}"));
            }
        }
    });
}
