//! Provenance on the branch (see `crate::provenance`): the tags written
//! once our job succeeded (newest wins, which reads them, is part of the
//! decision). A failure to write them never fails a deploy that would
//! otherwise succeed.

use crate::error::one_line;
use crate::provenance::{format_time, Provenance};

use super::packaging::Packaged;
use super::Ctx;

/// Tag the branch with what is now live: job `job_id`, our package, commit,
/// message, run and version. A failure is one warning.
pub(super) async fn stamp(ctx: &Ctx, job_id: &str, arn: Option<&str>, zip: Option<&Packaged>) {
    let branch = &ctx.settings.branch;
    let arn = match arn.map(str::to_owned) {
        Some(arn) => Some(arn),
        None => match ctx.client.get_branch(&ctx.settings.app_id, branch).await {
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
    let commit = &ctx.settings.commit;
    let p = Provenance {
        job_id: job_id.to_owned(),
        sha256: zip.map(|z| z.sha256.clone()),
        commit: commit.sha.clone(),
        commit_time: commit.time.and_then(format_time),
        message: commit.message.clone(),
        run_url: commit.run_url.clone(),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        tree: zip.map(|z| z.tree.clone()),
        bytes: zip.map(|z| z.facts.bytes.to_string()),
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
