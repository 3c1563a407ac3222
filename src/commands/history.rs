//! `amplify-deploy history`: a branch's jobs, newest first, with the
//! package each deployed, where it is kept, the live one and those a
//! rollback can return to (see `crate::history`).

use std::fmt::Write as _;

use crate::amplify::JobStatus;
use crate::branch::Target;
use crate::ci::escape::log_line;
use crate::error::RunError;
use crate::history::{Entry, Stored};
use crate::incident::{Lock, RolledBack};
use crate::outcome::rfc3339;
use crate::report::Reporter;
use crate::settings::HistorySettings;

use super::artifacts;

/// `amplify-deploy history`.
pub async fn history(s: &HistorySettings, reporter: &Reporter) -> Result<(), RunError> {
    let (t, s3) = artifacts::connect(&s.target, reporter).await?;
    let (entries, tags) = artifacts::entries(&t, &s3, s.artifact_store.as_ref(), s.limit).await?;
    let h = History {
        marks: marks(&entries, &RolledBack::from_tags(&tags)),
        entries,
        lock: Lock::from_tags(&tags),
    };
    if s.json {
        println!("{}", crate::ci::json::to_line(&history_json(&t, &h)));
    } else {
        for line in history_text(&t, &h).lines() {
            println!("{}", log_line(line));
        }
    }
    Ok(())
}

/// The jobs shown, what each is to a rollback, and the branch's lock.
struct History {
    entries: Vec<Entry>,
    marks: Vec<Mark>,
    lock: Option<Lock>,
}

/// What a job is to a rollback, by its rule (`crate::history`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Live,
    /// The job `rollback` with no target returns to.
    Next,
    /// Another job `rollback` may return to (by `--job-id`, or later).
    CanRollBack,
    /// A rollback moved away from its package.
    RolledBack,
    None,
}

/// Each entry's mark. The rollback target is the newest release the rule
/// allows; only the jobs shown are weighed.
fn marks(entries: &[Entry], rolled: &RolledBack) -> Vec<Mark> {
    let live_sha = entries
        .iter()
        .find(|e| e.live)
        .and_then(|e| e.sha256.clone());
    let mut next_given = false;
    entries
        .iter()
        .map(|e| {
            if e.live {
                return Mark::Live;
            }
            match e.why_not_target(live_sha.as_deref(), rolled) {
                None if !next_given => {
                    next_given = true;
                    Mark::Next
                }
                None => Mark::CanRollBack,
                Some(_)
                    if e.succeeded() && e.sha256.as_deref().is_some_and(|s| rolled.contains(s)) =>
                {
                    Mark::RolledBack
                }
                Some(_) => Mark::None,
            }
        })
        .collect()
}

/// What the store says of an entry, in a word.
fn stored_word(e: &Entry) -> &'static str {
    match e.stored {
        Stored::Present => "present",
        Stored::Expired => "expired",
        Stored::NotStored => "-",
        Stored::Unknown(_) => "unknown",
    }
}

fn mark_word(m: Mark) -> &'static str {
    match m {
        Mark::Live => "live",
        Mark::Next => "rollback target",
        Mark::CanRollBack => "can roll back",
        Mark::RolledBack => "rolled back from",
        Mark::None => "",
    }
}

/// The plain table: one row a job, its provenance under it.
fn history_text(t: &Target, h: &History) -> String {
    let entries = &h.entries;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "jobs of {}/{} in {}, newest first:",
        t.app_id, t.branch, t.region
    );
    if let Some(lock) = &h.lock {
        let _ = writeln!(
            out,
            "LOCKED {}: deploy and promote end LOCKED until `amplify-deploy unlock`",
            lock.describe()
        );
    }
    if entries.is_empty() {
        let _ = writeln!(out, "  (no jobs)");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<6} {:<10} {:<20} {:<20} {:<12} {:<8} NOTE",
        "JOB", "STATUS", "STARTED", "ENDED", "SHA-256", "ARTIFACT"
    );
    for (e, mark) in entries.iter().zip(&h.marks) {
        entry_text(&mut out, e, *mark);
    }
    if entries.iter().any(|e| e.stored == Stored::Expired) {
        let _ = writeln!(
            out,
            "expired: the artifact's key is gone from the store (the store's lifecycle rule removes old artifacts, see docs/rollback.md); that job cannot be rolled back to"
        );
    }
    out
}

/// One job's row of the table, then its provenance and why its artifact
/// is unknown, indented under it.
fn entry_text(out: &mut String, e: &Entry, mark: Mark) {
    let status = e.summary.status.as_ref().map_or("?", JobStatus::as_str);
    let sha = e.sha256.as_deref().map_or("-", |s| &s[..12.min(s.len())]);
    let row = format!(
        "{:<6} {:<10} {:<20} {:<20} {:<12} {:<8} {}",
        e.job_id,
        status,
        rfc3339(e.summary.start_time).unwrap_or_else(|| "-".into()),
        rfc3339(e.summary.end_time).unwrap_or_else(|| "-".into()),
        sha,
        stored_word(e),
        mark_word(mark)
    );
    let _ = writeln!(out, "{}", row.trim_end());
    if let Some(p) = &e.provenance {
        let known: Vec<String> = [
            p.commit.as_deref().map(|c| format!("commit {c}")),
            p.message.clone(),
            p.run_url.as_deref().map(|r| format!("run {r}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !known.is_empty() {
            let _ = writeln!(out, "       {}", known.join(", "));
        }
    }
    if let Stored::Unknown(why) = &e.stored {
        let _ = writeln!(out, "       artifact unknown: {why}");
    }
}

fn stored_json(e: &Entry) -> &'static str {
    match e.stored {
        Stored::Present => "present",
        Stored::Expired => "expired",
        Stored::NotStored => "notStored",
        Stored::Unknown(_) => "unknown",
    }
}

fn history_json(t: &Target, h: &History) -> serde_json::Value {
    let entries = &h.entries;
    let jobs: Vec<_> = entries
        .iter()
        .zip(&h.marks)
        .map(|(e, mark)| {
            serde_json::json!({
                "jobId": e.job_id,
                "status": e.summary.status,
                "startTime": rfc3339(e.summary.start_time),
                "endTime": rfc3339(e.summary.end_time),
                "sha256": e.sha256,
                "artifact": e.artifact.as_ref().map(|a| a.s3_url()),
                "artifactStatus": stored_json(e),
                "live": e.live,
                "canRollBack": matches!(mark, Mark::Next | Mark::CanRollBack),
                "rollbackTarget": *mark == Mark::Next,
                "rolledBackFrom": *mark == Mark::RolledBack,
                "provenance": e.provenance,
            })
        })
        .collect();
    serde_json::json!({
        "appId": t.app_id,
        "branch": t.branch,
        "region": t.region,
        "liveJobId": entries.iter().find(|e| e.live).map(|e| e.job_id.clone()),
        "lock": h.lock.as_ref().map(lock_json),
        "jobs": jobs,
    })
}

/// A lock as JSON: `{"reason", "time", "by"}`.
pub(super) fn lock_json(lock: &Lock) -> serde_json::Value {
    serde_json::json!({ "reason": lock.reason, "time": lock.time, "by": lock.by })
}
