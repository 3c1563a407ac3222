//! Read: everything the decision needs, before anything changes. GetApp
//! (the app takes manual deploys; its domain and basic auth), GetBranch
//! (whether it exists; its ARN, URLs, basic auth, `activeJobId` and tags:
//! provenance, the incident lock, the rollback record) and the newest page
//! of ListJobs (the live job, unfinished jobs).

use std::collections::HashMap;

use crate::amplify::{Branch, Client, JobStatus, JobSummary};
use crate::error::RunError;
use crate::explain::web_compute_app;
use crate::incident::{Lock, RolledBack};
use crate::outcome::site_urls;
use crate::provenance::{self, LiveJob, Provenance, Trust};
use crate::s3::Artifact;

use super::Ctx;

/// How many of the newest jobs are read: the live one is among them unless
/// 50 jobs failed since it (then the run deploys, as when unsure).
const JOBS_READ: u32 = 50;

/// What the service says of the app and the branch, read once per decision.
#[derive(Debug, Clone, Default)]
pub(super) struct Facts {
    pub(super) default_domain: Option<String>,
    /// Basic auth set on the app (every branch has it).
    pub(super) app_basic_auth: bool,
    /// `None`: the branch does not exist (and `--create-branch` is on).
    pub(super) branch: Option<Branch>,
    /// The branch's newest jobs, newest first.
    pub(super) jobs: Vec<JobSummary>,
}

impl Facts {
    fn tags(&self) -> HashMap<String, String> {
        self.branch
            .as_ref()
            .and_then(|b| b.tags.clone())
            .unwrap_or_default()
    }

    /// The newest SUCCEED job.
    pub(super) fn newest_succeeded(&self) -> Option<&JobSummary> {
        self.jobs
            .iter()
            .find(|j| j.status == Some(JobStatus::Succeed))
    }

    /// The job the branch serves, checked against `activeJobId`.
    pub(super) fn live(&self) -> LiveJob {
        provenance::live_job(
            self.newest_succeeded().and_then(|j| j.job_id.as_deref()),
            self.branch
                .as_ref()
                .and_then(|b| b.active_job_id.as_deref()),
        )
    }

    /// The provenance of the live job, when the tags are of that job.
    pub(super) fn provenance(&self) -> Option<Provenance> {
        match provenance::judge(&self.tags(), &self.live()) {
            Trust::Trusted(p) => Some(*p),
            _ => None,
        }
    }

    /// The package the live job serves: the artifact its `sourceUrl`
    /// names, else the SHA-256 its provenance records.
    pub(super) fn live_sha256(&self) -> Option<String> {
        let LiveJob::Known(Some(_)) = self.live() else {
            return None;
        };
        let from_url = self
            .newest_succeeded()
            .and_then(|j| j.source_url.as_deref())
            .and_then(Artifact::from_source_url)
            .map(|a| a.sha256);
        from_url
            .or_else(|| self.provenance().and_then(|p| p.sha256))
            .map(|s| s.to_ascii_lowercase())
    }

    /// The branch's unfinished jobs.
    pub(super) fn busy(&self) -> Vec<&JobSummary> {
        self.jobs
            .iter()
            .filter(|j| j.status.as_ref().is_some_and(|s| !s.is_terminal()))
            .collect()
    }

    pub(super) fn lock(&self) -> Option<Lock> {
        Lock::from_tags(&self.tags())
    }

    pub(super) fn rolled_back(&self) -> RolledBack {
        RolledBack::from_tags(&self.tags())
    }

    /// The branch's basic auth credentials (base64), when it has it on.
    pub(super) fn branch_credentials(&self) -> Option<&str> {
        let b = self.branch.as_ref()?;
        b.basic_auth_credentials
            .as_ref()
            .filter(|_| b.enable_basic_auth == Some(true))
            .map(|c| c.0.as_str())
    }

    /// Whether visitors must log in: the app's or the branch's basic auth.
    pub(super) fn basic_auth_on(&self) -> bool {
        self.app_basic_auth || self.branch_credentials().is_some()
    }
}

/// The read, as its own group of the log.
pub(super) async fn read_grouped(ctx: &Ctx) -> Result<Facts, RunError> {
    let _group = ctx.reporter.open_group("Checking app and branch");
    read(ctx, &ctx.client).await
}

impl Facts {
    /// The site's URLs as the branch has them now.
    pub(super) fn site(&self, name: &str) -> Option<Site> {
        site(self.default_domain.as_deref(), name, self.branch.as_ref())
    }
}

/// GetApp, GetBranch and ListJobs: the app exists and takes manual
/// deploys, the branch exists (or will be created).
pub(super) async fn read(ctx: &Ctx, client: &Client) -> Result<Facts, RunError> {
    let plan = &ctx.settings;
    let app = client
        .get_app(&plan.app_id)
        .await
        .map_err(|e| ctx.explain(&e))?;
    if app.platform.as_deref() == Some("WEB_COMPUTE") {
        return Err(web_compute_app(&plan.app_id).hint(
            "deploy to a WEB (static) app; SSR apps deploy from a connected Git repository",
        ));
    }
    let Facts { branch, jobs, .. } = read_branch(ctx, client).await?;
    Ok(Facts {
        default_domain: app.default_domain.clone(),
        app_basic_auth: app.enable_basic_auth == Some(true),
        branch,
        jobs,
    })
}

/// GetBranch and ListJobs alone (the app's facts left empty).
pub(super) async fn read_branch(ctx: &Ctx, client: &Client) -> Result<Facts, RunError> {
    let plan = &ctx.settings;
    let mut facts = Facts::default();
    match client.get_branch(&plan.app_id, &plan.branch).await {
        Ok(b) => facts.branch = Some(b),
        Err(e) if e.is_not_found() && plan.create_branch => return Ok(facts),
        Err(e) => return Err(ctx.explain(&e)),
    }
    facts.jobs = client
        .list_jobs(&plan.app_id, &plan.branch, Some(JOBS_READ), None)
        .await
        .map_err(|e| ctx.explain(&e))?
        .job_summaries;
    Ok(facts)
}

/// The site's URLs: every one (the Amplify URL, then the custom domains),
/// and the one reports give (the first custom domain, else the Amplify URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Site {
    pub(super) url: String,
    pub(super) urls: Vec<String>,
}

/// The URLs of `branch` (`None`: a branch not created yet, named
/// `name`) under the app's default `domain`. The Amplify URL uses the
/// branch's display name, its subdomain.
pub(super) fn site(domain: Option<&str>, name: &str, branch: Option<&Branch>) -> Option<Site> {
    let domain = domain?;
    let display = branch
        .and_then(|b| b.display_name.clone())
        .unwrap_or_else(|| name.replace('/', "-"));
    let custom = branch
        .and_then(|b| b.custom_domains.clone())
        .unwrap_or_default();
    let urls = site_urls(&format!("https://{display}.{domain}"), &custom);
    let url = urls.get(1).or(urls.first()).cloned()?;
    Some(Site { url, urls })
}
