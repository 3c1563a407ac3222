//! Provenance on the branch (see `crate::provenance`): newest wins before
//! our job is created, and the tags written once it succeeded. Neither ever
//! fails a deploy that would otherwise succeed.

use crate::error::one_line;
use crate::outcome::RunStatus;
use crate::provenance::{self, format_time, Provenance, Trust};

use super::{lock, Ctx};

/// Newest wins: true when the branch serves (by its trusted provenance) a
/// newer commit than ours; then the run is SUPERSEDED and nothing is
/// created. Without our commit time, with `--force`, or without trusted
/// provenance, false.
pub(super) async fn superseded(ctx: &Ctx) -> Result<bool, crate::error::RunError> {
    let commit = &ctx.plan.commit;
    let Some(ours) = commit.time.filter(|_| !commit.force) else {
        return Ok(false);
    };
    let (app, branch) = (&ctx.plan.app_id, &ctx.plan.branch);
    let state = provenance::read(&ctx.client, app, branch)
        .await
        .map_err(|e| ctx.explain(&e))?;
    let Trust::Trusted(live) = state.trust else {
        return Ok(false);
    };
    match live.commit_epoch() {
        Some(theirs) if theirs > ours => {}
        _ => return Ok(false),
    }
    let name = |sha: Option<&str>, time: Option<String>| {
        format!(
            "{} ({})",
            sha.unwrap_or("unknown commit"),
            time.unwrap_or_else(|| "unknown time".into())
        )
    };
    let message = format!(
        "branch {branch} serves a newer commit, {} (job {}); this run's commit {} is older: not deploying it (--force deploys it anyway)",
        name(live.commit.as_deref(), live.commit_time.clone()),
        live.job_id,
        name(commit.sha.as_deref(), format_time(ours)),
    );
    ctx.reporter.line(format!("superseded: {message}"));
    ctx.reporter.github().notice("Superseded", &message);
    ctx.with_outcome(|o| o.status = Some(RunStatus::Superseded));
    Ok(true)
}

/// Tag the branch with what is now live: job `job_id`, our package, commit,
/// message, run and version. A failure is one warning.
pub(super) async fn stamp(ctx: &Ctx, job_id: &str) {
    let branch = &ctx.plan.branch;
    let known = lock(&ctx.state).branch_arn.clone();
    let arn = match known {
        Some(arn) => Some(arn),
        None => match ctx.client.get_branch(&ctx.plan.app_id, branch).await {
            Ok(b) => b.branch_arn,
            Err(e) => {
                let why = one_line(&e.to_string());
                ctx.reporter
                    .warning(&format!("provenance not recorded: GetBranch failed: {why}"));
                return;
            }
        },
    };
    let Some(arn) = arn.filter(|a| !a.is_empty()) else {
        ctx.reporter
            .warning("provenance not recorded: GetBranch gave no branchArn");
        return;
    };
    let commit = &ctx.plan.commit;
    let p = Provenance {
        job_id: job_id.to_owned(),
        sha256: lock(&ctx.state)
            .outcome
            .package
            .as_ref()
            .map(|p| p.sha256.clone()),
        commit: commit.sha.clone(),
        commit_time: commit.time.and_then(format_time),
        message: commit.message.clone(),
        run_url: commit.run_url.clone(),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
    };
    match ctx.client.tag_resource(&arn, &p.to_tags()).await {
        Ok(()) => ctx.reporter.line(format!(
            "recorded provenance on branch {branch} (job {job_id})"
        )),
        Err(e) if e.error_type() == Some("AccessDeniedException") || e.status() == Some(403) => {
            let branches = arn
                .split_once("/branches/")
                .map_or(arn.clone(), |(app_arn, _)| format!("{app_arn}/branches/*"));
            ctx.reporter.warning(&format!(
                "provenance not recorded: the role may not tag the branch; add \"amplify:TagResource\" on {branches} to the deploy role"
            ));
        }
        Err(e) => ctx.reporter.warning(&format!(
            "provenance not recorded: TagResource failed: {}",
            one_line(&e.to_string())
        )),
    }
}
