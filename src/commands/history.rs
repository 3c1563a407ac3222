//! `amplify-deploy history`: a branch's jobs, newest first, with the
//! package each deployed, where it is kept, the live one and those a
//! rollback can return to (see `crate::history`).

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use crate::amplify::JobStatus;
use crate::branch::Target;
use crate::ci::escape::log_line;
use crate::error::RunError;
use crate::history::{Entry, Stored};
use crate::report::Reporter;
use crate::settings::HistorySettings;

use super::store;

/// `amplify-deploy history`.
pub async fn history(s: &HistorySettings, reporter: &Reporter) -> Result<(), RunError> {
    let (t, s3) = store::connect(&s.target, reporter).await?;
    let entries = store::entries(&t, &s3, s.artifact_store.as_ref(), Some(s.limit)).await?;
    if s.json {
        println!("{}", crate::ci::json::to_line(&history_json(&t, &entries)));
    } else {
        for line in history_text(&t, &entries).lines() {
            println!("{}", log_line(line));
        }
    }
    Ok(())
}

pub(super) fn time(epoch: Option<f64>) -> Option<String> {
    let secs = epoch.filter(|s| s.is_finite() && *s >= 0.0)?;
    let t = UNIX_EPOCH.checked_add(Duration::from_secs_f64(secs))?;
    Some(humantime::format_rfc3339_seconds(t).to_string())
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

fn marks(e: &Entry) -> &'static str {
    if e.live {
        "live"
    } else if e.can_roll_back_to() {
        "can roll back"
    } else {
        ""
    }
}

/// The plain table: one row a job, its provenance under it.
fn history_text(t: &Target, entries: &[Entry]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "jobs of {}/{} in {}, newest first:",
        t.app_id, t.branch, t.region
    );
    if entries.is_empty() {
        let _ = writeln!(out, "  (no jobs)");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<6} {:<10} {:<20} {:<20} {:<12} {:<8} NOTE",
        "JOB", "STATUS", "STARTED", "ENDED", "SHA-256", "ARTIFACT"
    );
    for e in entries {
        let status = e.summary.status.as_ref().map_or("?", JobStatus::as_str);
        let sha = e.sha256.as_deref().map_or("-", |s| &s[..12.min(s.len())]);
        let row = format!(
            "{:<6} {:<10} {:<20} {:<20} {:<12} {:<8} {}",
            e.job_id,
            status,
            time(e.summary.start_time).unwrap_or_else(|| "-".into()),
            time(e.summary.end_time).unwrap_or_else(|| "-".into()),
            sha,
            stored_word(e),
            marks(e)
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
    if entries.iter().any(|e| e.stored == Stored::Expired) {
        let _ = writeln!(
            out,
            "expired: the artifact's key is gone from the store (the store's lifecycle rule removes old artifacts, see docs/rollback.md); that job cannot be rolled back to"
        );
    }
    out
}

fn stored_json(e: &Entry) -> &'static str {
    match e.stored {
        Stored::Present => "present",
        Stored::Expired => "expired",
        Stored::NotStored => "notStored",
        Stored::Unknown(_) => "unknown",
    }
}

fn history_json(t: &Target, entries: &[Entry]) -> serde_json::Value {
    let jobs: Vec<_> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "jobId": e.job_id,
                "status": e.summary.status,
                "startTime": time(e.summary.start_time),
                "endTime": time(e.summary.end_time),
                "sha256": e.sha256,
                "artifact": e.artifact.as_ref().map(|a| a.s3_url()),
                "artifactStatus": stored_json(e),
                "live": e.live,
                "canRollBack": e.can_roll_back_to(),
                "provenance": e.provenance,
            })
        })
        .collect();
    serde_json::json!({
        "appId": t.app_id,
        "branch": t.branch,
        "region": t.region,
        "liveJobId": entries.iter().find(|e| e.live).map(|e| e.job_id.clone()),
        "jobs": jobs,
    })
}
