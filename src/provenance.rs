//! Provenance: what this tool records on a branch after a deploy (tags on
//! the branch ARN: package, job, commit, message, run, version), and when
//! those tags can be believed. A tag describes this tool's last deploy only,
//! so it is trusted only while its job is the live one.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, UNIX_EPOCH};

/// The prefix every provenance tag key shares.
pub const PREFIX: &str = "amplify-deploy:";

const SHA256: &str = "sha256";
const JOB_ID: &str = "job-id";
const COMMIT: &str = "commit";
const COMMIT_TIME: &str = "commit-time";
const MESSAGE: &str = "message";
const RUN_URL: &str = "run-url";
const VERSION: &str = "version";
const TREE: &str = "tree";
const BYTES: &str = "package-bytes";

/// AWS's longest tag value.
const MAX_VALUE_CHARS: usize = 256;

/// One deploy's provenance, as written to (or read from) the branch's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub job_id: String,
    pub sha256: Option<String>,
    pub commit: Option<String>,
    /// RFC 3339, UTC, whole seconds.
    pub commit_time: Option<String>,
    pub message: Option<String>,
    pub run_url: Option<String>,
    pub version: Option<String>,
    /// The digest of the folder the package was made from (names, modes,
    /// contents, packaging options): `--skip-unchanged` compares it before
    /// compressing anything.
    pub tree: Option<String>,
    /// The zip's size, so that a run skipped by the tree reports it.
    pub bytes: Option<String>,
}

impl Provenance {
    /// The tags to write: every value sanitised to AWS's tag rules, and
    /// every key written (empty when unknown), so that no value of an
    /// earlier deploy survives under this job's id.
    pub fn to_tags(&self) -> BTreeMap<String, String> {
        let fields = [
            (JOB_ID, Some(&self.job_id)),
            (SHA256, self.sha256.as_ref()),
            (COMMIT, self.commit.as_ref()),
            (COMMIT_TIME, self.commit_time.as_ref()),
            (MESSAGE, self.message.as_ref()),
            (RUN_URL, self.run_url.as_ref()),
            (VERSION, self.version.as_ref()),
            (TREE, self.tree.as_ref()),
            (BYTES, self.bytes.as_ref()),
        ];
        fields
            .into_iter()
            .map(|(key, value)| {
                let value = value.map(|v| sanitise(v)).unwrap_or_default();
                (format!("{PREFIX}{key}"), value)
            })
            .collect()
    }

    /// The provenance the tags carry; `None` without a job id.
    pub fn from_tags(tags: &HashMap<String, String>) -> Option<Provenance> {
        let get = |key: &str| {
            tags.get(&format!("{PREFIX}{key}"))
                .filter(|v| !v.trim().is_empty())
                .cloned()
        };
        Some(Provenance {
            job_id: get(JOB_ID)?,
            sha256: get(SHA256),
            commit: get(COMMIT),
            commit_time: get(COMMIT_TIME),
            message: get(MESSAGE),
            run_url: get(RUN_URL),
            version: get(VERSION),
            tree: get(TREE),
            bytes: get(BYTES),
        })
    }

    /// The commit time in epoch seconds, when it is one.
    pub fn commit_epoch(&self) -> Option<i64> {
        self.commit_time.as_deref().and_then(parse_time)
    }
}

/// Whether a branch's provenance tags describe what it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The tags are of the live job.
    Trusted(Box<Provenance>),
    /// No tags of this tool, or tags of another job than the live one.
    None,
    /// ListJobs and `activeJobId` name different live jobs: trust neither.
    Unknown,
}

/// Which job a branch serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveJob {
    /// This job, or (`None`) no job yet.
    Known(Option<String>),
    /// ListJobs and `activeJobId` disagree.
    Disputed,
}

/// The live job: the newest SUCCEED job (`newest_succeeded`, from
/// ListJobs), checked against `Branch.activeJobId` where both exist.
pub fn live_job(newest_succeeded: Option<&str>, active_job_id: Option<&str>) -> LiveJob {
    let active = active_job_id.filter(|a| !a.is_empty());
    match (newest_succeeded, active) {
        (Some(listed), Some(active)) if listed != active => LiveJob::Disputed,
        (listed, active) => LiveJob::Known(listed.or(active).map(str::to_owned)),
    }
}

/// The trust `tags` earn given the live job (see [`live_job`]).
pub fn judge(tags: &HashMap<String, String>, live: &LiveJob) -> Trust {
    let LiveJob::Known(live) = live else {
        return Trust::Unknown;
    };
    match Provenance::from_tags(tags) {
        Some(p) if live.as_deref() == Some(p.job_id.as_str()) => Trust::Trusted(Box::new(p)),
        _ => Trust::None,
    }
}

/// What a branch serves and what its tags say about it.
#[derive(Debug, Clone)]
pub struct BranchState {
    pub branch_arn: Option<String>,
    pub live: LiveJob,
    pub trust: Trust,
    /// All the branch's tags (the incident lock is read from them).
    pub tags: HashMap<String, String>,
}

/// Read the branch (GetBranch: its ARN, tags and `activeJobId`) and its
/// newest jobs (ListJobs), and judge its provenance.
pub async fn read(
    client: &crate::amplify::Client,
    app_id: &str,
    branch: &str,
) -> Result<BranchState, crate::amplify::ApiError> {
    let b = client.get_branch(app_id, branch).await?;
    let jobs = client.list_jobs(app_id, branch, Some(50), None).await?;
    let newest = jobs
        .job_summaries
        .iter()
        .find(|j| j.status == Some(crate::amplify::JobStatus::Succeed))
        .and_then(|j| j.job_id.as_deref());
    let live = live_job(newest, b.active_job_id.as_deref());
    let tags = b.tags.unwrap_or_default();
    let trust = judge(&tags, &live);
    Ok(BranchState {
        branch_arn: b.branch_arn.filter(|a| !a.is_empty()),
        live,
        trust,
        tags,
    })
}

/// A value as AWS accepts it: letters, digits, spaces and `_ . : / = + - @`
/// kept, anything else a space (runs of spaces collapsed), at most 256
/// characters (a cut value ends with `...`).
pub fn sanitise(value: &str) -> String {
    let mapped: String = value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "_.:/=+-@".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let clean = mapped.split_whitespace().collect::<Vec<_>>().join(" ");
    if clean.chars().count() <= MAX_VALUE_CHARS {
        return clean;
    }
    let cut: String = clean.chars().take(MAX_VALUE_CHARS - 3).collect();
    format!("{}...", cut.trim_end())
}

/// Epoch seconds of an RFC 3339 time (`2026-01-02T03:04:05Z`, fractions
/// and `±hh:mm` offsets accepted), else `None`.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = rest[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// `epoch` as RFC 3339 in UTC, whole seconds.
pub fn format_time(epoch: i64) -> Option<String> {
    let t = UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(epoch).ok()?))?;
    Some(humantime::format_rfc3339_seconds(t).to_string())
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_offsets_are_the_same_instant() {
        let utc = parse_time("2026-11-29T08:00:00Z").unwrap();
        assert_eq!(parse_time("2026-11-29T09:00:00+01:00"), Some(utc));
        assert_eq!(parse_time("2026-11-29T01:00:00.123-07:00"), Some(utc));
        assert_eq!(format_time(utc).as_deref(), Some("2026-11-29T08:00:00Z"));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-29T08:00:00",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_are_sanitised_and_cut() {
        assert_eq!(
            sanitise("Fix \"quotes\"; rm -rf $HOME\n::error::x <b>"),
            "Fix quotes rm -rf HOME ::error::x b"
        );
        let long = sanitise(&"é".repeat(300));
        assert_eq!(long.chars().count(), 256);
        assert!(long.ends_with("..."));
    }

    #[test]
    fn tags_are_trusted_only_for_the_live_job() {
        let p = Provenance {
            job_id: "3".into(),
            commit: Some("abc".into()),
            ..Provenance::default()
        };
        let tags: HashMap<_, _> = p.to_tags().into_iter().collect();
        assert_eq!(
            judge(&tags, &live_job(Some("3"), Some("3"))),
            Trust::Trusted(Box::new(p))
        );
        assert_eq!(judge(&tags, &live_job(Some("4"), None)), Trust::None);
        assert_eq!(
            judge(&tags, &live_job(Some("3"), Some("4"))),
            Trust::Unknown
        );
        assert_eq!(judge(&HashMap::new(), &live_job(None, None)), Trust::None);
    }
}
