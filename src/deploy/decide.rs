//! Decide: from what was read ([`Facts`]) and what is known of our package,
//! the one thing this run does, as a value `run` then acts on. Only
//! [`Decision::Deploy`] changes the service or GitHub (the app's rules, the
//! store, the branch, its tags, GitHub deployments); a skip applies only
//! the branch settings the run asks for; every other decision ends the run
//! leaving everything as it was.
//!
//! The order: a lock (unless `--override-lock`, or a rollback), then
//! newest wins (unless `--force`), then a busy branch (`--on-busy`), then
//! `--skip-unchanged`.

use crate::amplify::JobSummary;
use crate::choices::OnBusy;
use crate::incident::Lock;
use crate::provenance::{format_time, LiveJob, Provenance};

use super::read::Facts;
use crate::settings::DeploySettings;

/// What the run does.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Decision {
    /// Deploy, first making the branch what the run asks (`changes`).
    /// `note`: why `--skip-unchanged` did not skip.
    Deploy {
        changes: Changes,
        note: Option<String>,
    },
    /// The branch serves a newer commit (its provenance says): nothing is
    /// deployed. The message says which.
    Superseded(String),
    /// `--skip-unchanged`: the live job already serves this package; only
    /// `changes` (branch settings) are applied.
    Skipped {
        live: Box<JobSummary>,
        sha256: String,
        changes: Changes,
    },
    /// `--on-busy fail` on a busy branch.
    Busy { job_id: String, status: String },
    /// The branch is locked for an incident.
    Locked(Lock),
    /// `--dry-run`: what the run would have done, in words.
    DryRun(String),
}

/// Where the decision stands: made, or waiting for something first.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    Decided(Decision),
    /// `--on-busy wait` on a busy branch: wait until it is free, read
    /// again and decide again.
    WaitForBusy,
    /// `--skip-unchanged` can only compare the zip's SHA-256 (the live
    /// job records no tree digest): package, then decide again.
    NeedZip,
}

/// The branch settings the run asks for that the branch does not have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Changes {
    /// The branch does not exist: create it.
    pub(super) create_branch: bool,
    /// `--basic-auth` differs from the branch's credentials.
    pub(super) basic_auth: bool,
    /// `--skew-protection` differs from the branch's (for a branch to
    /// create: the value asked for).
    pub(super) skew_protection: Option<bool>,
}

/// What is known of our package so far: the tree's digest, and once
/// packaged, the zip's SHA-256.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Ours<'a> {
    pub(super) sha256: Option<&'a str>,
    pub(super) tree: Option<&'a str>,
}

/// Whether the run must not deploy: the branch is locked, or serves a
/// newer commit. The first question of every decision, and the one asked
/// again after waiting for a busy branch, with the changes made.
pub(super) fn recheck(plan: &DeploySettings, facts: &Facts) -> Option<Decision> {
    if let Some(lock) = facts
        .lock()
        .filter(|_| !plan.override_lock && plan.undo.is_none())
    {
        return Some(Decision::Locked(lock));
    }
    superseded(plan, facts).map(Decision::Superseded)
}

/// The decision, or what it waits for.
pub(super) fn decide(plan: &DeploySettings, facts: &Facts, ours: Ours<'_>) -> Verdict {
    let verdict = decide_live(plan, facts, ours);
    if !plan.dry_run {
        return verdict;
    }
    let would = match &verdict {
        Verdict::Decided(d) => would(d),
        Verdict::WaitForBusy => {
            let job = facts.busy().first().map_or(String::new(), |j| {
                format!(" for job {}", j.job_id.as_deref().unwrap_or("?"))
            });
            format!("wait{job} (the branch is busy), then decide again")
        }
        Verdict::NeedZip => return verdict,
    };
    Verdict::Decided(Decision::DryRun(would))
}

/// What a decision would do, for `--dry-run`.
fn would(d: &Decision) -> String {
    match d {
        Decision::Deploy { changes, .. } if changes.create_branch => {
            "create the branch and deploy".to_owned()
        }
        Decision::Deploy { .. } => "deploy".to_owned(),
        Decision::Superseded(why) => format!("deploy nothing (superseded): {why}"),
        Decision::Skipped { live, .. } => format!(
            "start nothing: live job {} already serves this package (--skip-unchanged)",
            live.job_id.as_deref().unwrap_or("?")
        ),
        Decision::Busy { job_id, status } => {
            format!("fail: the branch is busy, job {job_id} is {status} (--on-busy fail)")
        }
        Decision::Locked(lock) => {
            format!("deploy nothing: the branch is locked {}", lock.describe())
        }
        Decision::DryRun(what) => what.clone(),
    }
}

fn decide_live(plan: &DeploySettings, facts: &Facts, ours: Ours<'_>) -> Verdict {
    if let Some(held) = recheck(plan, facts) {
        return Verdict::Decided(held);
    }
    let busy = facts.busy();
    if let Some(job) = busy.first() {
        match plan.on_busy {
            OnBusy::Fail => {
                return Verdict::Decided(Decision::Busy {
                    job_id: job.job_id.clone().unwrap_or_default(),
                    status: job.status.as_ref().map_or("?", |s| s.as_str()).to_owned(),
                })
            }
            OnBusy::Wait => return Verdict::WaitForBusy,
            // The branch is cleared when our job is created.
            OnBusy::Stop => {}
        }
    }
    let changes = changes(plan, facts);
    if !plan.skip_unchanged {
        return deploy(changes, None);
    }
    if !busy.is_empty() {
        return deploy(changes, Some("a job is running on the branch".into()));
    }
    skip_or_deploy(facts, ours, changes)
}

fn deploy(changes: Changes, note: Option<String>) -> Verdict {
    Verdict::Decided(Decision::Deploy { changes, note })
}

/// `--skip-unchanged` on a free branch: skip when the live job is known to
/// serve our package (by the tree digest its provenance records, else by
/// the zip's SHA-256); anything uncertain deploys.
fn skip_or_deploy(facts: &Facts, ours: Ours<'_>, changes: Changes) -> Verdict {
    if changes.create_branch {
        return deploy(changes, Some("the branch does not exist yet".into()));
    }
    let (LiveJob::Known(Some(live_id)), Some(live)) = (facts.live(), facts.newest_succeeded())
    else {
        return deploy(changes, Some("the branch's live job is not known".into()));
    };
    let recorded = facts.provenance();
    // A tree counts only with the zip's size recorded beside it (what a
    // skip reports).
    let live_tree = recorded
        .as_ref()
        .filter(|p| p.bytes.is_some())
        .and_then(|p| p.tree.as_deref());
    let live_sha = facts.live_sha256();
    let skipped = |sha256: String, changes: Changes| {
        Verdict::Decided(Decision::Skipped {
            live: Box::new(live.clone()),
            sha256,
            changes,
        })
    };
    match (ours.tree, live_tree, ours.sha256, &live_sha) {
        // The same tree: the same package, whose SHA-256 the provenance has.
        (Some(tree), Some(theirs), _, Some(sha)) if tree == theirs => skipped(sha.clone(), changes),
        (_, _, Some(sha), Some(theirs)) if sha.eq_ignore_ascii_case(theirs) => {
            skipped(theirs.clone(), changes)
        }
        (_, _, Some(_), Some(_)) => deploy(
            changes,
            Some(format!("live job {live_id} serves another package")),
        ),
        (Some(tree), Some(theirs), None, _) if tree != theirs => deploy(
            changes,
            Some(format!("live job {live_id} serves another package")),
        ),
        (_, _, _, None) => deploy(
            changes,
            Some(format!("live job {live_id} has no known package SHA-256")),
        ),
        (_, _, None, Some(_)) => Verdict::NeedZip,
    }
}

/// The branch settings the run asks for that differ from the branch's.
fn changes(plan: &DeploySettings, facts: &Facts) -> Changes {
    let Some(branch) = &facts.branch else {
        return Changes {
            create_branch: true,
            basic_auth: false,
            skew_protection: plan.skew_protection,
        };
    };
    let wanted = plan.verify.basic_auth.as_ref().map(|a| a.encoded());
    let skew_now = branch.enable_skew_protection.unwrap_or(false);
    Changes {
        create_branch: false,
        basic_auth: wanted.is_some_and(|w| facts.branch_credentials() != Some(w.as_str())),
        skew_protection: plan.skew_protection.filter(|want| *want != skew_now),
    }
}

/// Newest wins: why not to deploy, when the branch serves (by its trusted
/// provenance) a newer commit than ours. Without our commit time, with
/// `--force`, or without trusted provenance, `None`.
fn superseded(plan: &DeploySettings, facts: &Facts) -> Option<String> {
    let commit = &plan.commit;
    let ours = commit.time.filter(|_| !commit.force)?;
    let live: Provenance = facts.provenance()?;
    if live.commit_epoch()? <= ours {
        return None;
    }
    let name = |sha: Option<&str>, time: Option<String>| {
        format!(
            "{} ({})",
            sha.unwrap_or("unknown commit"),
            time.unwrap_or_else(|| "unknown time".into())
        )
    };
    Some(format!(
        "branch {} serves a newer commit, {} (job {}); this run's commit {} is older: not deploying it (--force deploys it anyway)",
        plan.branch,
        name(live.commit.as_deref(), live.commit_time.clone()),
        live.job_id,
        name(commit.sha.as_deref(), format_time(ours)),
    ))
}

#[cfg(test)]
mod tests;
