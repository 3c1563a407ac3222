//! Branch: once the run has decided to deploy, the branch made ready.
//! A missing branch is created: by the hooks when they own its making (a
//! preview: room under `--max-previews`, its tags, inherited basic auth),
//! else CreateBranch in the plan's stage. An existing one gets the settings
//! the run asks for that it lacks (UpdateBranch), and the hooks renew what
//! they keep on it (a preview's expiry).

use crate::amplify::Branch;
use crate::error::RunError;
use crate::settings::BasicAuth;

use super::decide::Changes;
use super::read::{self, Facts, Site};
use super::{Ctx, Hooks};

/// The branch as the steps after it need it.
#[derive(Debug, Clone, Default)]
pub(super) struct ReadyBranch {
    /// For its tags (provenance).
    pub(super) arn: Option<String>,
    /// Visitors must log in: the app's or the branch's basic auth.
    pub(super) basic_auth_on: bool,
    /// What the live check logs in with: `--basic-auth`, or the
    /// credentials a preview inherited.
    pub(super) check_auth: Option<BasicAuth>,
    /// A created branch's URLs (an existing one's were read before).
    pub(super) site: Option<Site>,
}

/// Create the branch or bring its settings up to what the run asks.
pub(super) async fn ready(
    ctx: &Ctx,
    hooks: &mut dyn Hooks,
    facts: &Facts,
    changes: &Changes,
) -> Result<ReadyBranch, RunError> {
    let Some(b) = &facts.branch else {
        return create(ctx, hooks, facts).await;
    };
    hooks.renew_branch(&ctx.client, b).await;
    apply(ctx, changes).await?;
    Ok(ReadyBranch {
        arn: b.branch_arn.clone().filter(|a| !a.is_empty()),
        basic_auth_on: facts.basic_auth_on() || changes.basic_auth,
        check_auth: ctx.plan.verify.basic_auth.clone(),
        site: None,
    })
}

/// A missing branch: the hooks' (a preview), else CreateBranch.
async fn create(ctx: &Ctx, hooks: &mut dyn Hooks, facts: &Facts) -> Result<ReadyBranch, RunError> {
    let plan = &ctx.plan;
    let (branch, check_auth) = match hooks.create_branch(&ctx.client).await? {
        Some(made) => (
            made.branch,
            made.basic_auth.or(plan.verify.basic_auth.clone()),
        ),
        None => (create_branch(ctx).await?, plan.verify.basic_auth.clone()),
    };
    Ok(ReadyBranch {
        site: read::site(facts.default_domain.as_deref(), &plan.branch, Some(&branch)),
        arn: branch.branch_arn.clone().filter(|a| !a.is_empty()),
        basic_auth_on: facts.app_basic_auth
            || branch.enable_basic_auth == Some(true)
            || check_auth.is_some(),
        check_auth,
    })
}

/// CreateBranch in the plan's stage (`--create-branch`), with `--basic-auth`.
async fn create_branch(ctx: &Ctx) -> Result<Branch, RunError> {
    let plan = &ctx.plan;
    ctx.reporter.line(format!(
        "creating branch {} (stage {})",
        plan.branch, plan.stage
    ));
    let credentials = plan.verify.basic_auth.as_ref().map(|a| a.encoded());
    let b = ctx
        .client
        .create_branch_with(
            &plan.app_id,
            &plan.branch,
            Some(plan.stage),
            credentials.as_deref(),
        )
        .await
        .map_err(|e| ctx.explain(&e))?;
    if credentials.is_some() {
        ctx.reporter
            .line(format!("basic auth set on branch {}", plan.branch));
    }
    Ok(b)
}

/// UpdateBranch for each setting the run asks for that the branch lacks
/// (compared, never shown: basic auth). Returns what was updated.
pub(super) async fn apply(ctx: &Ctx, changes: &Changes) -> Result<Vec<&'static str>, RunError> {
    let plan = &ctx.plan;
    let mut updated = Vec::new();
    if let (true, Some(auth)) = (changes.basic_auth, &plan.verify.basic_auth) {
        ctx.client
            .set_branch_basic_auth(&plan.app_id, &plan.branch, &auth.encoded())
            .await
            .map_err(|e| {
                ctx.explain(&e)
                    .hint("updating basic auth needs amplify:UpdateBranch on the branch")
            })?;
        ctx.reporter
            .line(format!("basic auth updated on branch {}", plan.branch));
        updated.push("basic auth");
    }
    Ok(updated)
}
