//! A branch's deploy history as `history` shows it and `rollback` chooses
//! from: every job (ListJobs, all pages, newest first) with the package it
//! deployed, where that package is kept, and whether it is still there.
//!
//! A job's package SHA-256 comes from its `sourceUrl` when that names an
//! artifact (`s3://bucket/prefix/{sha256}.zip`, or a presigned URL of that
//! key: see [`crate::s3::artifact`]), else from the provenance tags when
//! they name that job (the tags describe this tool's last deploy only). A
//! SHA-256 known from the tags alone is found in the store only when
//! `--artifact-store` says where to look. The live job is the newest
//! SUCCEED one, as on the service.

use std::collections::HashMap;

use crate::amplify::{ApiError, Client, JobStatus, JobSummary};
use crate::provenance::Provenance;
use crate::s3::{self, Artifact, ArtifactStore, ObjectState};

/// Where a job's package is, as far as the store says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The artifact is in the store: the job can be rolled back to.
    Present,
    /// The key is gone (the store's lifecycle rule removed it).
    Expired,
    /// The job did not deploy from the store (a CreateDeployment upload or
    /// another URL) and no `--artifact-store` names its package.
    NotStored,
    /// The store did not say (denied, or an error), with why.
    Unknown(String),
}

/// One job of the branch.
#[derive(Debug, Clone)]
pub struct Entry {
    pub summary: JobSummary,
    pub job_id: String,
    pub sha256: Option<String>,
    pub artifact: Option<Artifact>,
    /// The provenance tags, when they name this job.
    pub provenance: Option<Provenance>,
    pub live: bool,
    pub stored: Stored,
}

impl Entry {
    pub fn succeeded(&self) -> bool {
        self.summary.status == Some(JobStatus::Succeed)
    }

    /// A SUCCEED job, not the live one, whose artifact is present.
    pub fn can_roll_back_to(&self) -> bool {
        self.succeeded() && !self.live && self.stored == Stored::Present
    }
}

/// Every job of the branch, newest first, at most `limit` (all when
/// `None`); pages are read until that many are known.
pub async fn list_jobs(
    client: &Client,
    app_id: &str,
    branch: &str,
    limit: Option<usize>,
) -> Result<Vec<JobSummary>, ApiError> {
    let mut jobs = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_jobs(app_id, branch, Some(50), token.as_deref())
            .await?;
        jobs.extend(page.job_summaries);
        token = page.next_token.filter(|t| !t.is_empty());
        let enough = limit.is_some_and(|n| jobs.len() >= n);
        if token.is_none() || enough {
            break;
        }
    }
    Ok(jobs)
}

/// The entries for `jobs` (newest first), before the store is asked:
/// SHA-256 and artifact from the `sourceUrl`, else from the tags.
pub fn entries(
    jobs: Vec<JobSummary>,
    tags: &HashMap<String, String>,
    store: Option<&ArtifactStore>,
) -> Vec<Entry> {
    let tagged = Provenance::from_tags(tags);
    let live = jobs
        .iter()
        .find(|j| j.status == Some(JobStatus::Succeed))
        .and_then(|j| j.job_id.clone());
    jobs.into_iter()
        .filter_map(|summary| {
            let job_id = summary.job_id.clone()?;
            let provenance = tagged.clone().filter(|p| p.job_id == job_id);
            let from_url = summary
                .source_url
                .as_deref()
                .and_then(Artifact::from_source_url);
            let tag_sha = provenance
                .as_ref()
                .and_then(|p| p.sha256.clone())
                .filter(|s| is_sha256(s))
                .map(|s| s.to_ascii_lowercase());
            let artifact = from_url.or_else(|| Some(store?.artifact(tag_sha.as_deref()?)));
            let sha256 = artifact.as_ref().map(|a| a.sha256.clone()).or(tag_sha);
            let stored = if artifact.is_some() {
                Stored::Unknown("not checked".into())
            } else {
                Stored::NotStored
            };
            Some(Entry {
                live: live.as_deref() == Some(job_id.as_str()),
                summary,
                job_id,
                sha256,
                artifact,
                provenance,
                stored,
            })
        })
        .collect()
}

/// HeadObject for each entry with an artifact (each bucket's region found
/// once with HeadBucket).
pub async fn check_store(s3: &s3::Client, entries: &mut [Entry]) {
    let mut buckets: HashMap<String, Result<s3::Bucket, String>> = HashMap::new();
    for entry in entries.iter_mut() {
        let Some(artifact) = &entry.artifact else {
            continue;
        };
        if !buckets.contains_key(&artifact.bucket) {
            let found = s3.bucket(&artifact.bucket).await.map_err(|e| e.to_string());
            buckets.insert(artifact.bucket.clone(), found);
        }
        entry.stored = match &buckets[&artifact.bucket] {
            Err(why) => Stored::Unknown(why.clone()),
            Ok(bucket) => match s3.head_object(bucket, &artifact.key).await {
                Ok(ObjectState::Present { .. }) => Stored::Present,
                Ok(ObjectState::Absent) => Stored::Expired,
                Ok(ObjectState::Denied) => {
                    Stored::Unknown("HeadObject denied (s3:GetObject, s3:ListBucket)".into())
                }
                Err(e) => Stored::Unknown(e.to_string()),
            },
        };
    }
}

/// 64 hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, status: JobStatus, url: Option<&str>) -> JobSummary {
        JobSummary {
            job_id: Some(id.into()),
            status: Some(status),
            source_url: url.map(str::to_owned),
            ..JobSummary::default()
        }
    }

    #[test]
    fn the_sha_comes_from_the_source_url_or_the_tags_of_that_job() {
        let a = "a".repeat(64);
        let b = "B".repeat(64);
        let jobs = vec![
            job("4", JobStatus::Failed, Some(&format!("s3://bkt/p/{a}.zip"))),
            job("3", JobStatus::Succeed, None),
            job(
                "2",
                JobStatus::Succeed,
                Some(&format!(
                    "https://bkt.s3.us-east-1.amazonaws.com/p/{a}.zip?X-Amz-Signature=x"
                )),
            ),
            job(
                "1",
                JobStatus::Succeed,
                Some("https://example.com/site.zip"),
            ),
        ];
        let tags = Provenance {
            job_id: "3".into(),
            sha256: Some(b.clone()),
            ..Provenance::default()
        }
        .to_tags()
        .into_iter()
        .collect();
        let store = ArtifactStore::parse("s3://store/x").unwrap();
        let e = entries(jobs.clone(), &tags, Some(&store));
        assert_eq!(e[0].sha256.as_deref(), Some(a.as_str()));
        assert!(!e[0].live && e[1].live);
        assert_eq!(e[1].sha256, Some(b.to_ascii_lowercase()));
        assert_eq!(
            e[1].artifact.as_ref().map(Artifact::s3_url),
            Some(format!("s3://store/x/{}.zip", b.to_ascii_lowercase()))
        );
        assert_eq!(
            e[2].artifact.as_ref().map(|a| a.key.as_str()),
            Some(&*format!("p/{a}.zip"))
        );
        assert_eq!(e[3].stored, Stored::NotStored);
        // Without a store, a SHA from the tags has nowhere to be looked up.
        let e = entries(jobs, &tags, None);
        assert_eq!(e[1].stored, Stored::NotStored);
        assert!(e[1].sha256.is_some());
    }
}
