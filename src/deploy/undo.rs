//! Undo: a rollback's record on the branch, written once the run has
//! decided to deploy and before its job starts. The package it moves away
//! from joins the rollback record (so the next rollback walks further
//! back: see `crate::incident`), and with `--lock` the branch is locked.
//! Both must be written: a rollback whose record cannot be written starts
//! nothing (exit 3), unlike provenance, which only warns.

use std::collections::BTreeMap;

use crate::error::RunError;
use crate::incident::Lock;

use super::read::Facts;
use super::Ctx;

/// TagResource of the rollback record and the lock, when this run is a
/// rollback.
pub(super) async fn record(ctx: &Ctx, facts: &Facts) -> Result<(), RunError> {
    let Some(undo) = &ctx.settings.undo else {
        return Ok(());
    };
    let branch = &ctx.settings.branch;
    let moving_from = facts.live_sha256();
    let mut tags = BTreeMap::new();
    if let Some(sha) = &moving_from {
        tags.extend(facts.rolled_back().with(sha).to_tags());
    }
    let lock = undo.lock.as_ref().map(|req| {
        let reason = req.reason.clone().unwrap_or_else(|| "rollback".to_owned());
        Lock::taken_now(reason, &req.by)
    });
    if let Some(lock) = &lock {
        tags.extend(lock.to_tags());
    }
    if tags.is_empty() {
        return Ok(());
    }
    let arn = facts
        .branch
        .as_ref()
        .and_then(|b| b.branch_arn.clone())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            RunError::aws(format!(
                "branch {branch} has no branchArn: the rollback record cannot be written, so the rollback is not started"
            ))
        })?;
    ctx.client.tag_resource(&arn, &tags).await.map_err(|e| {
        ctx.explain(&e)
            .cause(format!(
                "the rollback record (and lock) could not be written on branch {branch}: nothing was started"
            ))
            .hint(format!(
                "a rollback records what it moves away from: grant amplify:TagResource on {arn} to the role"
            ))
    })?;
    if let Some(sha) = &moving_from {
        ctx.reporter.line(format!(
            "recorded on branch {branch}: rolled back from package {sha}"
        ));
    }
    if let Some(lock) = &lock {
        ctx.reporter
            .line(format!("locked branch {branch} {}", lock.describe()));
    }
    Ok(())
}
