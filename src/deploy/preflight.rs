//! Preflight: read-only checks (GetApp, GetBranch) that the app takes
//! manual deploys and the branch exists, or will be created; and its
//! creation when the plan says so.

use crate::amplify::{Branch, Client};
use crate::error::RunError;
use crate::explain::web_compute_app;
use crate::outcome::site_urls;

use super::{lock, Ctx};

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
    let app_auth = app.enable_basic_auth == Some(true);
    ctx.with_outcome(|o| o.default_domain = domain);
    match client.get_branch(&plan.app_id, &plan.branch).await {
        Ok(b) => {
            set_urls_from_branch(ctx, Some(&b));
            let credentials = b
                .basic_auth_credentials
                .filter(|_| b.enable_basic_auth == Some(true))
                .map(|c| c.0);
            let mut state = lock(&ctx.state);
            state.basic_auth_on = app_auth || credentials.is_some();
            state.branch_credentials = credentials;
            state.branch_arn = b.branch_arn;
            Ok(false)
        }
        Err(e) if e.is_not_found() && plan.create_branch => {
            set_urls_from_branch(ctx, None);
            lock(&ctx.state).basic_auth_on = app_auth;
            Ok(true)
        }
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
    let credentials = plan.verify.basic_auth.as_ref().map(|a| a.encoded());
    match ctx
        .client
        .create_branch_with(
            &plan.app_id,
            &plan.branch,
            Some(plan.stage),
            credentials.as_deref(),
        )
        .await
    {
        Ok(b) => {
            set_urls_from_branch(ctx, Some(&b));
            if credentials.is_some() {
                ctx.reporter
                    .line(format!("basic auth set on branch {}", plan.branch));
                lock(&ctx.state).basic_auth_on = true;
            }
            lock(&ctx.state).branch_arn = b.branch_arn;
            Ok(())
        }
        Err(e) => Err(ctx.explain(&e)),
    }
}

/// `--basic-auth` on an existing branch: UpdateBranch when its credentials
/// differ (compared, never shown).
pub(super) async fn update_basic_auth(ctx: &Ctx) -> Result<(), RunError> {
    let plan = &ctx.plan;
    let Some(auth) = &plan.verify.basic_auth else {
        return Ok(());
    };
    let wanted = auth.encoded();
    if lock(&ctx.state).branch_credentials.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    ctx.client
        .set_branch_basic_auth(&plan.app_id, &plan.branch, &wanted)
        .await
        .map_err(|e| {
            ctx.explain(&e)
                .hint("updating basic auth needs amplify:UpdateBranch on the branch")
        })?;
    ctx.reporter
        .line(format!("basic auth updated on branch {}", plan.branch));
    let mut state = lock(&ctx.state);
    state.basic_auth_on = true;
    state.branch_credentials = Some(wanted);
    Ok(())
}

/// The site's URLs: the Amplify URL uses the branch's display name (its
/// subdomain); `url` is the first custom domain, else that.
fn set_urls_from_branch(ctx: &Ctx, branch: Option<&Branch>) {
    let display = branch
        .and_then(|b| b.display_name.clone())
        .unwrap_or_else(|| ctx.plan.branch.replace('/', "-"));
    let custom = branch
        .and_then(|b| b.custom_domains.clone())
        .unwrap_or_default();
    ctx.with_outcome(|o| {
        let Some(domain) = &o.default_domain else {
            return;
        };
        o.urls = site_urls(&format!("https://{display}.{domain}"), &custom);
        o.url = o.urls.get(1).or(o.urls.first()).cloned();
    });
}
