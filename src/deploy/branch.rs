//! Branch: once the run has decided to deploy, the branch made ready.
//! A missing branch is created: by the hooks when they own its making (a
//! preview: room under `--max-previews`, its tags, inherited basic auth),
//! else CreateBranch in the plan's stage. An existing one gets the settings
//! the run asks for that it lacks (UpdateBranch), and the hooks renew what
//! they keep on it (a preview's expiry).
//!
//! Skew protection (`--skew-protection`) protects only deployments made
//! after it is on, and Amplify enables it only on an app that has been
//! deployed: a branch created on such an app gets it with CreateBranch;
//! otherwise it is turned on right after the first job succeeds (that job
//! is not protected, and the log says so). The service refusing it is a
//! warning, never a failed deploy.

use crate::amplify::{Branch, NewBranch};
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
    /// Skew protection to turn on once our job has succeeded (the app had
    /// no deployment when the branch was created).
    pub(super) protect_after_deploy: bool,
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
    apply(ctx, changes, true).await?;
    Ok(ReadyBranch {
        arn: b.branch_arn.clone().filter(|a| !a.is_empty()),
        basic_auth_on: facts.basic_auth_on() || changes.basic_auth,
        check_auth: ctx.settings.verify.basic_auth.clone(),
        site: None,
        protect_after_deploy: false,
    })
}

/// A missing branch: the hooks' (a preview), else CreateBranch.
async fn create(ctx: &Ctx, hooks: &mut dyn Hooks, facts: &Facts) -> Result<ReadyBranch, RunError> {
    let plan = &ctx.settings;
    let mut protect_after_deploy = false;
    let (branch, check_auth) = match hooks.create_branch(&ctx.client).await? {
        Some(made) => {
            // A preview's branch, made by the hooks: the setting follows.
            if let Some(on) = plan.skew_protection {
                set_skew_protection(ctx, on, "").await;
            }
            (
                made.branch,
                made.basic_auth.or(plan.verify.basic_auth.clone()),
            )
        }
        None => {
            let skew = match plan.skew_protection {
                Some(true) if !app_deployed(ctx).await => {
                    protect_after_deploy = true;
                    None
                }
                other => other,
            };
            (
                create_branch(ctx, skew).await?,
                plan.verify.basic_auth.clone(),
            )
        }
    };
    Ok(ReadyBranch {
        protect_after_deploy,
        site: read::site(facts.default_domain.as_deref(), &plan.branch, Some(&branch)),
        arn: branch.branch_arn.clone().filter(|a| !a.is_empty()),
        basic_auth_on: facts.app_basic_auth
            || branch.enable_basic_auth == Some(true)
            || check_auth.is_some(),
        check_auth,
    })
}

/// CreateBranch in the plan's stage (`--create-branch`), with
/// `--basic-auth` and `skew` protection; a refusal of the protection alone
/// is a warning, and the branch is created without it.
async fn create_branch(ctx: &Ctx, skew: Option<bool>) -> Result<Branch, RunError> {
    let plan = &ctx.settings;
    ctx.reporter.line(format!(
        "creating branch {} (stage {})",
        plan.branch,
        plan.stage.as_str()
    ));
    let credentials = plan.verify.basic_auth.as_ref().map(|a| a.encoded());
    let new = |skew_protection| NewBranch {
        stage: Some(plan.stage.as_str()),
        basic_auth: credentials.as_deref(),
        tags: None,
        skew_protection,
    };
    let created = ctx
        .client
        .create_branch_from(&plan.app_id, &plan.branch, &new(skew))
        .await;
    let b = match created {
        Err(e) if skew == Some(true) && e.status() == Some(400) => {
            ctx.reporter.warning(&format!(
                "skew protection not set on new branch {}: {}; created without it",
                plan.branch,
                crate::error::one_line(&e.to_string())
            ));
            ctx.client
                .create_branch_from(&plan.app_id, &plan.branch, &new(None))
                .await
        }
        other => other,
    }
    .map_err(|e| ctx.explain(&e))?;
    if credentials.is_some() {
        ctx.reporter
            .line(format!("basic auth set on branch {}", plan.branch));
    }
    if b.enable_skew_protection == Some(true) {
        ctx.reporter.line(format!(
            "skew protection on for branch {}: from its first deployment",
            plan.branch
        ));
    }
    Ok(b)
}

/// Whether the app has a deployment live on some branch (Amplify enables
/// skew protection only then). Unknown counts as no.
async fn app_deployed(ctx: &Ctx) -> bool {
    match ctx.client.list_branches(&ctx.settings.app_id).await {
        Ok(branches) => branches
            .iter()
            .any(|b| b.active_job_id.as_deref().is_some_and(|j| !j.is_empty())),
        Err(_) => false,
    }
}

/// UpdateBranch of skew protection; a refusal is a warning. `when` says,
/// for the log, from which deployment on it protects. Whether it was set.
pub(super) async fn set_skew_protection(ctx: &Ctx, on: bool, when: &str) -> bool {
    let plan = &ctx.settings;
    let set = ctx
        .client
        .set_branch_skew_protection(&plan.app_id, &plan.branch, on)
        .await;
    match set {
        Ok(_) if on => ctx.reporter.line(format!(
            "skew protection on for branch {}{when}",
            plan.branch
        )),
        Ok(_) => ctx
            .reporter
            .line(format!("skew protection off for branch {}", plan.branch)),
        Err(e) => {
            ctx.reporter.warning(&format!(
                "skew protection not turned {} on branch {}: {} (the deploy goes on)",
                if on { "on" } else { "off" },
                plan.branch,
                crate::error::one_line(&e.to_string())
            ));
            return false;
        }
    }
    true
}

/// UpdateBranch for each setting the run asks for that the branch lacks
/// (basic auth: compared, never shown; skew protection). Returns what was
/// updated. `deploying`: a job follows (else the run skipped).
pub(super) async fn apply(
    ctx: &Ctx,
    changes: &Changes,
    deploying: bool,
) -> Result<Vec<&'static str>, RunError> {
    let plan = &ctx.settings;
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
    if let Some(on) = changes.skew_protection {
        let when = if deploying {
            ": it protects deployments from this one on (the first may take up to 10 minutes)"
        } else {
            ": it protects deployments from the next one on"
        };
        if set_skew_protection(ctx, on, when).await {
            updated.push("skew protection");
        }
    }
    Ok(updated)
}
