//! A branch's deploy history as `history` shows it and `rollback` chooses
//! from: its jobs (ListJobs, newest first, read page by page only as far as
//! needed) with the package each deployed, where that package is kept, and
//! whether it is still there.
//!
//! A job's package SHA-256 comes from its `sourceUrl` when that names an
//! artifact (`s3://bucket/prefix/{sha256}.zip`, or a presigned URL of that
//! key: see [`crate::s3::artifact`]), else from the provenance tags when
//! they name that job (the tags describe this tool's last deploy only). A
//! SHA-256 known from the tags alone is found in the store only when
//! `--artifact-store` says where to look. The live job is the newest
//! SUCCEED one, as on the service.
//!
//! **Rollback's rule** ([`Entry::why_not_target`]): a rollback returns to
//! the newest earlier release whose package is stored and is neither the
//! live package nor one a rollback has moved away from (the branch's
//! rollback record, `crate::incident::RolledBack`). So repeated rollbacks
//! walk back through distinct releases, v3 -> v2 -> v1, never forward.

use std::collections::{HashMap, VecDeque};

use crate::amplify::{ApiError, Client, JobStatus, JobSummary};
use crate::incident::RolledBack;
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

    /// Why a rollback does not return to this job by itself (`None`: it
    /// may): see the module's rule. `live_sha256` is the live job's package.
    pub fn why_not_target(
        &self,
        live_sha256: Option<&str>,
        rolled_back: &RolledBack,
    ) -> Option<&'static str> {
        self.why_not_release(live_sha256, rolled_back)
            .or_else(|| self.why_not_stored())
    }

    /// The rule's part that needs no store: a SUCCEED job, not live, whose
    /// package is neither the live one nor one a rollback moved away from.
    pub fn why_not_release(
        &self,
        live_sha256: Option<&str>,
        rolled_back: &RolledBack,
    ) -> Option<&'static str> {
        let sha = self.sha256.as_deref();
        if !self.succeeded() {
            Some("it did not succeed")
        } else if self.live {
            Some("it is the live job")
        } else if sha.is_some() && sha == live_sha256 {
            Some("it serves the live package")
        } else if sha.is_some_and(|s| rolled_back.contains(s)) {
            Some("a rollback moved away from its package")
        } else {
            None
        }
    }

    /// The rule's part the store answers: the artifact is there.
    pub fn why_not_stored(&self) -> Option<&'static str> {
        match &self.stored {
            Stored::Present => None,
            Stored::Expired => Some("its artifact expired"),
            Stored::NotStored => Some("it was not deployed from the artifact store"),
            Stored::Unknown(_) => Some("the store cannot say whether its artifact is there"),
        }
    }
}

/// The entry for one job (the store not yet asked): SHA-256 and artifact
/// from its `sourceUrl`, else from the provenance tags when they are of
/// this job.
pub fn entry(
    summary: JobSummary,
    tagged: Option<&Provenance>,
    store: Option<&ArtifactStore>,
    live: bool,
) -> Option<Entry> {
    let job_id = summary.job_id.clone()?;
    let provenance = tagged.filter(|p| p.job_id == job_id).cloned();
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
        live,
        summary,
        job_id,
        sha256,
        artifact,
        provenance,
        stored,
    })
}

/// A branch's jobs, newest first, read a page at a time as they are asked
/// for; the store asked about an entry only when [`Walk::check`] is.
pub struct Walk<'a> {
    client: &'a Client,
    app_id: &'a str,
    branch: &'a str,
    s3: &'a s3::Client,
    store: Option<&'a ArtifactStore>,
    tagged: Option<Provenance>,
    page: VecDeque<JobSummary>,
    token: Option<String>,
    exhausted: bool,
    live_seen: bool,
    /// Each bucket's HeadBucket, asked once: the bucket, or why not.
    buckets: HashMap<String, Result<s3::Bucket, s3::S3Error>>,
}

impl<'a> Walk<'a> {
    /// Walk `branch`'s jobs; `tags` are the branch's (its provenance).
    pub fn new(
        client: &'a Client,
        (app_id, branch): (&'a str, &'a str),
        tags: &HashMap<String, String>,
        s3: &'a s3::Client,
        store: Option<&'a ArtifactStore>,
    ) -> Walk<'a> {
        Walk {
            client,
            app_id,
            branch,
            s3,
            store,
            tagged: Provenance::from_tags(tags),
            page: VecDeque::new(),
            token: None,
            exhausted: false,
            live_seen: false,
            buckets: HashMap::new(),
        }
    }

    /// The next job (the first SUCCEED one is the live one), reading the
    /// next ListJobs page when this one is used up.
    pub async fn next(&mut self) -> Result<Option<Entry>, ApiError> {
        loop {
            if let Some(summary) = self.page.pop_front() {
                let live = !self.live_seen && summary.status == Some(JobStatus::Succeed);
                self.live_seen |= live;
                match entry(summary, self.tagged.as_ref(), self.store, live) {
                    Some(e) => return Ok(Some(e)),
                    None => continue,
                }
            }
            if self.exhausted {
                return Ok(None);
            }
            let page = self
                .client
                .list_jobs(self.app_id, self.branch, Some(50), self.token.as_deref())
                .await?;
            self.page.extend(page.job_summaries);
            self.token = page.next_token.filter(|t| !t.is_empty());
            self.exhausted = self.token.is_none();
        }
    }

    /// HeadObject for the entry's artifact (each bucket's region found
    /// once with HeadBucket).
    pub async fn check(&mut self, entry: &mut Entry) {
        let Some(artifact) = &entry.artifact else {
            return;
        };
        if !self.buckets.contains_key(&artifact.bucket) {
            let found = self.s3.bucket(&artifact.bucket).await;
            self.buckets.insert(artifact.bucket.clone(), found);
        }
        entry.stored = match &self.buckets[&artifact.bucket] {
            Err(why) => Stored::Unknown(why.to_string()),
            Ok(bucket) => match self.s3.head_object(bucket, &artifact.key).await {
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
        let tags = Provenance {
            job_id: "3".into(),
            sha256: Some(b.clone()),
            ..Provenance::default()
        };
        let store = ArtifactStore::parse("s3://store/x").unwrap();
        let failed = job("4", JobStatus::Failed, Some(&format!("s3://bkt/p/{a}.zip")));
        let e = entry(failed, Some(&tags), Some(&store), false).unwrap();
        assert_eq!(e.sha256.as_deref(), Some(a.as_str()));
        let tagged = entry(
            job("3", JobStatus::Succeed, None),
            Some(&tags),
            Some(&store),
            true,
        );
        let tagged = tagged.unwrap();
        assert_eq!(tagged.sha256, Some(b.to_ascii_lowercase()));
        assert_eq!(
            tagged.artifact.as_ref().map(Artifact::s3_url),
            Some(format!("s3://store/x/{}.zip", b.to_ascii_lowercase()))
        );
        let presigned =
            format!("https://bkt.s3.us-east-1.amazonaws.com/p/{a}.zip?X-Amz-Signature=x");
        let e = entry(
            job("2", JobStatus::Succeed, Some(&presigned)),
            Some(&tags),
            None,
            false,
        );
        assert_eq!(
            e.unwrap().artifact.as_ref().map(|a| a.key.as_str()),
            Some(&*format!("p/{a}.zip"))
        );
        let other = job(
            "1",
            JobStatus::Succeed,
            Some("https://example.com/site.zip"),
        );
        assert_eq!(
            entry(other, Some(&tags), None, false).unwrap().stored,
            Stored::NotStored
        );
        // Without a store, a SHA from the tags has nowhere to be looked up.
        let e = entry(job("3", JobStatus::Succeed, None), Some(&tags), None, true).unwrap();
        assert_eq!(e.stored, Stored::NotStored);
        assert!(e.sha256.is_some());
        // Tags of another job say nothing of this one.
        let e = entry(
            job("5", JobStatus::Succeed, None),
            Some(&tags),
            Some(&store),
            false,
        );
        assert_eq!(e.unwrap().sha256, None);
    }

    #[test]
    fn a_rollback_returns_only_to_an_earlier_stored_release_not_yet_undone() {
        let sha = |c: char| c.to_string().repeat(64);
        let stored = |id: &str, c: char| Entry {
            stored: Stored::Present,
            ..entry(
                job(
                    id,
                    JobStatus::Succeed,
                    Some(&format!("s3://bkt/p/{}.zip", sha(c))),
                ),
                None,
                None,
                false,
            )
            .unwrap()
        };
        let live = sha('2');
        let rolled = RolledBack::default().with(&sha('3'));
        let why = |e: &Entry| e.why_not_target(Some(&live), &rolled);
        assert_eq!(why(&stored("1", '1')), None);
        assert_eq!(why(&stored("2", '2')), Some("it serves the live package"));
        assert_eq!(
            why(&stored("3", '3')),
            Some("a rollback moved away from its package")
        );
        let mut the_live = stored("4", '2');
        the_live.live = true;
        assert_eq!(why(&the_live), Some("it is the live job"));
        let mut expired = stored("1", '1');
        expired.stored = Stored::Expired;
        assert_eq!(why(&expired), Some("its artifact expired"));
        let mut failed = stored("1", '1');
        failed.summary.status = Some(JobStatus::Failed);
        assert_eq!(why(&failed), Some("it did not succeed"));
    }
}
