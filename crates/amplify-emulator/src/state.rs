//! The emulated account: apps, branches, jobs and uploaded zips, plus the
//! rules Amplify applies to them (one unfinished job per branch, 50 branches
//! per app, no manual deploys on WEB_COMPUTE). Everything here is plain data
//! behind one mutex; time-driven transitions are applied by the tasks of
//! `api::deploy`, and the service's JSON shapes are rendered by `api::render`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use crate::error::ApiError;
use crate::fault::FaultQueue;
use crate::record::RequestRecord;
use crate::rules::CustomRule;

/// Amplify's limit on branches per app (not adjustable).
pub(crate) const MAX_BRANCHES_PER_APP: usize = 50;
/// Largest `maxResults` ListJobs accepts.
pub(crate) const MAX_LIST_RESULTS: usize = 50;

pub(crate) const PENDING: &str = "PENDING";
pub(crate) const RUNNING: &str = "RUNNING";
pub(crate) const SUCCEED: &str = "SUCCEED";
pub(crate) const FAILED: &str = "FAILED";
pub(crate) const CANCELLING: &str = "CANCELLING";
pub(crate) const CANCELLED: &str = "CANCELLED";
/// How long a static site keeps serving a skew-protected deployment to
/// the clients pinned to it (Amplify user guide, "Skew protection").
pub(crate) const SKEW_PROTECTION_KEEPS: Duration = Duration::from_secs(7 * 24 * 3600);
/// Statuses that block a new deployment on the branch.
const UNFINISHED: &[&str] = &["CREATED", PENDING, "PROVISIONING", RUNNING, CANCELLING];

pub(crate) type SiteFiles = BTreeMap<String, Vec<u8>>;

#[derive(Debug)]
pub(crate) struct App {
    pub app_id: String,
    pub platform: String,
    pub create_time: SystemTime,
    pub branches: Vec<Branch>,
    /// UpdateApp's `customRules`, applied in order to every branch's site.
    pub custom_rules: Vec<CustomRule>,
    /// UpdateApp's `customHeaders` (YAML, checked), used by sites whose
    /// deploy has no `customHttp.yml`.
    pub custom_headers: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Branch {
    pub name: String,
    pub display_name: String,
    pub stage: String,
    pub create_time: SystemTime,
    pub next_job_number: u64,
    /// Oldest first.
    pub jobs: Vec<Job>,
    /// TagResource's tags on the branch ARN.
    pub tags: BTreeMap<String, String>,
    /// What was served before the last deploy, and when that deploy
    /// ended: the site serves it while [`State::site_lag`] lasts.
    pub previous: Option<Arc<SiteFiles>>,
    pub deployed_at: Option<Instant>,
    /// Served under `{displayName}.{defaultDomain}` and under each of these.
    pub custom_domains: Vec<String>,
    /// `basicAuthCredentials` (base64 of `user:password`) when basic auth
    /// is on: the site answers 401 to requests without them.
    pub basic_auth: Option<String>,
    /// `enableSkewProtection`: since when it is on. Deployments that end
    /// after it was turned on keep being served to the clients pinned to
    /// them, for [`SKEW_PROTECTION_KEEPS`].
    pub skew_protection: Option<SystemTime>,
    /// Set when DeleteJob removed the live job: the serial of that job.
    /// No older job becomes live again; the next deployment does.
    pub live_deleted: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// Unique across the emulator's life, so a background task never
    /// confuses job 1 of a deleted branch with job 1 of its re-creation.
    pub serial: u64,
    pub job_id: String,
    pub status: String,
    pub source_url: Option<String>,
    pub source_url_type: Option<String>,
    pub status_reason: Option<String>,
    /// The step log a fault scripted; the default log is built when served.
    pub log: Option<String>,
    pub commit_time: SystemTime,
    pub start_time: SystemTime,
    pub end_time: Option<SystemTime>,
    /// What the job deployed, kept while it is the live job (an older
    /// SUCCEED job never becomes live again: rollback is a new job) or,
    /// when it is `protected`, while pinned clients may still ask for it.
    /// `None` for a SUCCEED job whose source was not fetched.
    pub files: Option<Arc<SiteFiles>>,
    /// Deployed under skew protection: served to clients pinned to it.
    pub protected: bool,
}

/// What a background task must do once a job has started.
#[derive(Debug)]
pub(crate) struct StartedJob {
    pub serial: u64,
    /// The uploaded zip (jobs started from CreateDeployment).
    pub zip: Option<Bytes>,
    /// True when the job came from a `sourceUrl`.
    pub from_source_url: bool,
    pub source_url: Option<String>,
    pub source_url_type: Option<String>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub region: String,
    pub apps: Vec<App>,
    /// Uploaded zips by job serial.
    pub uploads: HashMap<u64, Bytes>,
    pub requests: Vec<RequestRecord>,
    pub faults: FaultQueue,
    pub next_serial: u64,
    pub job_duration: Duration,
    pub upload_url_ttl: Duration,
    /// How long a site keeps serving its previous content after a deploy
    /// (a CDN slow to update); `Duration::MAX`: it never updates.
    pub site_lag: Duration,
}

/// Where a job lives, for callers that found it by serial.
pub(crate) struct JobLocation {
    pub app_id: String,
    pub branch: String,
    pub job_id: String,
}

impl State {
    pub fn new(region: String, job_duration: Duration, upload_url_ttl: Duration) -> State {
        State {
            region,
            apps: Vec::new(),
            uploads: HashMap::new(),
            requests: Vec::new(),
            faults: FaultQueue::default(),
            next_serial: 1,
            job_duration,
            upload_url_ttl,
            site_lag: Duration::ZERO,
        }
    }

    // ----- lookups -------------------------------------------------------

    pub fn app(&self, app_id: &str) -> Result<&App, ApiError> {
        self.apps
            .iter()
            .find(|a| a.app_id == app_id)
            .ok_or_else(|| ApiError::app_not_found(app_id))
    }

    pub fn app_mut(&mut self, app_id: &str) -> Result<&mut App, ApiError> {
        self.apps
            .iter_mut()
            .find(|a| a.app_id == app_id)
            .ok_or_else(|| ApiError::app_not_found(app_id))
    }

    pub fn branch(&self, app_id: &str, branch: &str) -> Result<&Branch, ApiError> {
        self.app(app_id)?
            .branches
            .iter()
            .find(|b| b.name == branch)
            .ok_or_else(|| ApiError::branch_not_found(branch))
    }

    pub fn branch_mut(&mut self, app_id: &str, branch: &str) -> Result<&mut Branch, ApiError> {
        self.app_mut(app_id)?
            .branches
            .iter_mut()
            .find(|b| b.name == branch)
            .ok_or_else(|| ApiError::branch_not_found(branch))
    }

    pub fn job(&self, app_id: &str, branch: &str, job_id: &str) -> Result<&Job, ApiError> {
        self.branch(app_id, branch)?
            .jobs
            .iter()
            .find(|j| j.job_id == job_id)
            .ok_or_else(|| ApiError::job_not_found(job_id))
    }

    /// Script the step log of job `serial`.
    pub fn set_job_log(&mut self, serial: u64, log: String) {
        if let Some((job, _)) = self.job_by_serial_mut(serial) {
            job.log = Some(log);
        }
    }

    pub fn job_by_serial_mut(&mut self, serial: u64) -> Option<(&mut Job, JobLocation)> {
        for app in &mut self.apps {
            for branch in &mut app.branches {
                if let Some(job) = branch.jobs.iter_mut().find(|j| j.serial == serial) {
                    let location = JobLocation {
                        app_id: app.app_id.clone(),
                        branch: branch.name.clone(),
                        job_id: job.job_id.clone(),
                    };
                    return Some((job, location));
                }
            }
        }
        None
    }

    pub fn serial_of(&self, app_id: &str, branch: &str, job_id: &str) -> Option<u64> {
        self.job(app_id, branch, job_id).ok().map(|j| j.serial)
    }

    // ----- set-up (Rust API and control endpoint) -------------------------

    /// Creates the app, or changes the platform of an existing one.
    pub fn create_app(&mut self, app_id: &str, platform: &str) {
        match self.app_mut(app_id) {
            Ok(app) => app.platform = platform.to_owned(),
            Err(_) => self.apps.push(App {
                app_id: app_id.to_owned(),
                platform: platform.to_owned(),
                create_time: SystemTime::now(),
                branches: Vec::new(),
                custom_rules: Vec::new(),
                custom_headers: None,
            }),
        }
    }

    /// Adds a job with any status, numbered like the branch's other jobs.
    pub fn insert_job(
        &mut self,
        app_id: &str,
        branch: &str,
        status: &str,
    ) -> Result<String, ApiError> {
        let serial = self.take_serial();
        let branch = self.branch_mut(app_id, branch)?;
        let job = branch.new_job(serial, status);
        let job_id = job.job_id.clone();
        if is_terminal(status) {
            if let Some(job) = branch.jobs.last_mut() {
                job.end_time = Some(SystemTime::now());
            }
        }
        Ok(job_id)
    }

    fn take_serial(&mut self) -> u64 {
        let serial = self.next_serial;
        self.next_serial += 1;
        serial
    }

    // ----- operations ------------------------------------------------------

    /// CreateBranch: enforces the per-app limit and unique names; returns
    /// the new branch.
    pub fn create_branch(
        &mut self,
        app_id: &str,
        branch: &str,
        stage: Option<&str>,
    ) -> Result<&Branch, ApiError> {
        if branch.is_empty() || branch.chars().count() > 255 {
            return Err(ApiError::bad_request(format!(
                "Branch name must be 1 to 255 characters long, got {} characters.",
                branch.chars().count()
            )));
        }
        let app = self.app_mut(app_id)?;
        if app.branches.iter().any(|b| b.name == branch) {
            return Err(ApiError::bad_request(format!(
                "Branch {branch} already exists for app {app_id}."
            )));
        }
        if app.branches.len() >= MAX_BRANCHES_PER_APP {
            return Err(ApiError::limit_exceeded(format!(
                "Limit of {MAX_BRANCHES_PER_APP} branches per app exceeded for app {app_id}."
            )));
        }
        app.branches.push(Branch {
            name: branch.to_owned(),
            display_name: display_name(branch),
            stage: stage.unwrap_or("PRODUCTION").to_owned(),
            create_time: SystemTime::now(),
            next_job_number: 1,
            jobs: Vec::new(),
            tags: BTreeMap::new(),
            previous: None,
            deployed_at: None,
            custom_domains: Vec::new(),
            basic_auth: None,
            skew_protection: None,
            live_deleted: None,
        });
        self.branch(app_id, branch)
    }

    /// DeleteBranch: returns the removed branch.
    pub fn delete_branch(&mut self, app_id: &str, branch: &str) -> Result<Branch, ApiError> {
        let app = self.app_mut(app_id)?;
        let index = app
            .branches
            .iter()
            .position(|b| b.name == branch)
            .ok_or_else(|| ApiError::branch_not_found(branch))?;
        let removed = app.branches.remove(index);
        for job in &removed.jobs {
            self.uploads.remove(&job.serial);
        }
        Ok(removed)
    }

    /// CreateDeployment: a PENDING job waiting for its zip.
    pub fn create_deployment(&mut self, app_id: &str, branch: &str) -> Result<Job, ApiError> {
        self.check_manual_deploys(app_id)?;
        self.branch(app_id, branch)?.check_no_unfinished_job()?;
        let serial = self.take_serial();
        let branch = self.branch_mut(app_id, branch)?;
        Ok(branch.new_job(serial, PENDING).clone())
    }

    /// StartDeployment: moves a PENDING job (or a new sourceUrl job) to
    /// RUNNING and says what the background task must finish.
    pub fn start_deployment(
        &mut self,
        app_id: &str,
        branch: &str,
        job_id: Option<&str>,
        source_url: Option<&str>,
        source_url_type: Option<&str>,
    ) -> Result<(Job, StartedJob), ApiError> {
        self.check_manual_deploys(app_id)?;
        self.branch(app_id, branch)?;
        if let Some(kind) = source_url_type {
            if kind != "ZIP" && kind != "BUCKET_PREFIX" {
                return Err(ApiError::bad_request(format!(
                    "1 validation error detected: Value '{kind}' at 'sourceUrlType' failed to satisfy constraint: Member must satisfy enum value set: [ZIP, BUCKET_PREFIX]"
                )));
            }
        }
        if let Some(job_id) = job_id {
            return self.start_uploaded(app_id, branch, job_id);
        }
        let Some(source_url) = source_url else {
            return Err(ApiError::bad_request(
                "Must specify jobId or sourceUrl for StartDeploymentRequest.",
            ));
        };
        self.start_from_url(app_id, branch, source_url, source_url_type)
    }

    /// Starts the PENDING job CreateDeployment made, with its uploaded zip.
    fn start_uploaded(
        &mut self,
        app_id: &str,
        branch: &str,
        job_id: &str,
    ) -> Result<(Job, StartedJob), ApiError> {
        let job = self.job(app_id, branch, job_id)?;
        if job.status != PENDING {
            return Err(ApiError::bad_request(format!(
                "Job {job_id} is not in PENDING status (it is {}); only a job created by CreateDeployment and not yet started can be started.",
                job.status
            )));
        }
        let serial = job.serial;
        let zip = self.uploads.get(&serial).cloned();
        let branch = self.branch_mut(app_id, branch)?;
        let job = branch
            .jobs
            .iter_mut()
            .find(|j| j.serial == serial)
            .ok_or_else(|| ApiError::job_not_found(job_id))?;
        job.status = RUNNING.to_owned();
        job.start_time = SystemTime::now();
        let started = StartedJob {
            serial,
            zip,
            from_source_url: false,
            source_url: None,
            source_url_type: None,
        };
        Ok((job.clone(), started))
    }

    /// A new RUNNING job deploying `source_url`; the branch must have no
    /// unfinished job.
    fn start_from_url(
        &mut self,
        app_id: &str,
        branch: &str,
        source_url: &str,
        source_url_type: Option<&str>,
    ) -> Result<(Job, StartedJob), ApiError> {
        self.branch(app_id, branch)?.check_no_unfinished_job()?;
        let serial = self.take_serial();
        let branch = self.branch_mut(app_id, branch)?;
        let job = branch.new_job(serial, RUNNING);
        job.source_url = Some(source_url.to_owned());
        job.source_url_type = Some(source_url_type.unwrap_or("ZIP").to_owned());
        let started = StartedJob {
            serial,
            zip: None,
            from_source_url: true,
            source_url: job.source_url.clone(),
            source_url_type: job.source_url_type.clone(),
        };
        Ok((job.clone(), started))
    }

    /// StopJob: PENDING jobs end at once, RUNNING ones go through CANCELLING.
    /// Returns the job and whether a task must finish the cancellation.
    pub fn stop_job(
        &mut self,
        app_id: &str,
        branch: &str,
        job_id: &str,
    ) -> Result<(Job, bool), ApiError> {
        let branch = self.branch_mut(app_id, branch)?;
        let job = branch
            .jobs
            .iter_mut()
            .find(|j| j.job_id == job_id)
            .ok_or_else(|| ApiError::job_not_found(job_id))?;
        match job.status.as_str() {
            "CREATED" | PENDING | "PROVISIONING" => {
                job.status = CANCELLED.to_owned();
                job.end_time = Some(SystemTime::now());
                Ok((job.clone(), false))
            }
            RUNNING => {
                job.status = CANCELLING.to_owned();
                Ok((job.clone(), true))
            }
            CANCELLING => Ok((job.clone(), false)),
            other => Err(ApiError::bad_request(format!(
                "Job {job_id} has already finished with status {other}; only unfinished jobs can be stopped."
            ))),
        }
    }

    /// DeleteJob: removes a finished job and what it deployed, so that no
    /// one is served it again. An unfinished job is refused (stop it
    /// first); the live job may be deleted, and then the branch serves
    /// nothing (Amplify has no rollback of its own: no older job takes
    /// its place). See the README, "DeleteJob".
    pub fn delete_job(
        &mut self,
        app_id: &str,
        branch: &str,
        job_id: &str,
    ) -> Result<Job, ApiError> {
        let branch = self.branch_mut(app_id, branch)?;
        let index = branch
            .jobs
            .iter()
            .position(|j| j.job_id == job_id)
            .ok_or_else(|| ApiError::job_not_found(job_id))?;
        let status = branch.jobs[index].status.as_str();
        if UNFINISHED.contains(&status) {
            return Err(ApiError::bad_request(format!(
                "Job {job_id} is not finished (status {status}); stop it with StopJob before deleting it."
            )));
        }
        let was_live = branch.live_job().map(|j| j.serial) == Some(branch.jobs[index].serial);
        let removed = branch.jobs.remove(index);
        if was_live {
            branch.live_deleted = Some(removed.serial);
            // What the site showed while it lagged goes too.
            branch.previous = None;
        }
        self.uploads.remove(&removed.serial);
        Ok(removed)
    }

    /// Ends a RUNNING job. Returns where it lives when it did end (a job
    /// stopped meanwhile is left alone).
    pub fn finish_job(
        &mut self,
        serial: u64,
        outcome: Result<Option<SiteFiles>, String>,
    ) -> Option<(JobLocation, bool)> {
        let (job, location) = self.job_by_serial_mut(serial)?;
        if job.status != RUNNING {
            return None;
        }
        job.end_time = Some(SystemTime::now());
        let files = match outcome {
            Ok(files) => {
                job.status = SUCCEED.to_owned();
                files
            }
            Err(reason) => {
                job.status = FAILED.to_owned();
                job.status_reason = Some(reason);
                None
            }
        };
        let succeeded = job.status == SUCCEED;
        self.uploads.remove(&serial);
        if succeeded {
            if let Ok(branch) = self.branch_mut(&location.app_id, &location.branch) {
                // What was live until now: the newest other SUCCEED job.
                branch.previous = branch
                    .jobs
                    .iter()
                    .rev()
                    .find(|j| j.serial != serial && j.status == SUCCEED)
                    .and_then(|j| j.files.clone());
                branch.deployed_at = Some(Instant::now());
                for job in &mut branch.jobs {
                    if !job.protected {
                        job.files = None;
                    }
                }
                let since = branch.skew_protection;
                if let Some(job) = branch.jobs.iter_mut().find(|j| j.serial == serial) {
                    job.files = files.map(Arc::new);
                    job.protected = since.is_some_and(|since| job.start_time >= since);
                }
            }
        }
        Some((location, succeeded))
    }

    /// Ends a CANCELLING job.
    pub fn finish_cancel(&mut self, serial: u64) {
        if let Some((job, _)) = self.job_by_serial_mut(serial) {
            if job.status == CANCELLING {
                job.status = CANCELLED.to_owned();
                job.end_time = Some(SystemTime::now());
            }
        }
    }

    fn check_manual_deploys(&self, app_id: &str) -> Result<(), ApiError> {
        let app = self.app(app_id)?;
        if app.platform == "WEB_COMPUTE" {
            return Err(ApiError::bad_request(format!(
                "Manual deployments are not supported for WEB_COMPUTE apps: app {app_id} has platform WEB_COMPUTE."
            )));
        }
        Ok(())
    }
}

impl Branch {
    /// What the site serves now: the last deploy, or the one before it
    /// while the site lags behind.
    pub fn served(&self, lag: Duration) -> Option<Arc<SiteFiles>> {
        match self.deployed_at {
            Some(at) if at.elapsed() < lag => self.previous.clone(),
            _ => self.deployed(),
        }
    }

    /// The files of the live job (the newest SUCCEED one), as the service
    /// serves them: a newer FAILED or CANCELLED job changes nothing.
    pub fn deployed(&self) -> Option<Arc<SiteFiles>> {
        self.live_job()?.files.clone()
    }

    /// CreateBranch/UpdateBranch `enableSkewProtection`: on from now (an
    /// earlier start is kept when it is on already), or off.
    pub fn set_skew_protection(&mut self, on: bool) {
        self.skew_protection = match (on, self.skew_protection) {
            (true, Some(since)) => Some(since),
            (true, None) => Some(SystemTime::now()),
            (false, _) => None,
        };
    }

    /// The files of a skew-protected deployment a client is pinned to:
    /// a SUCCEED job of this branch deployed under protection that ended
    /// less than [`SKEW_PROTECTION_KEEPS`] ago, while protection is on.
    pub fn pinned(&self, job_id: &str) -> Option<Arc<SiteFiles>> {
        self.skew_protection?;
        let job = self
            .jobs
            .iter()
            .find(|j| j.job_id == job_id && j.status == SUCCEED && j.protected)?;
        let age = job.end_time?.elapsed().unwrap_or_default();
        (age < SKEW_PROTECTION_KEEPS).then(|| job.files.clone())?
    }

    /// Whether the site answers to `host` (no port, lower case).
    pub fn serves_host(&self, host: &str, app_id: &str) -> bool {
        let amplify = format!("{}.{app_id}.amplifyapp.com", self.display_name);
        amplify.eq_ignore_ascii_case(host)
            || self.custom_domains.iter().any(|d| {
                let d = d.split_once("://").map_or(d.as_str(), |(_, h)| h);
                d.trim_end_matches('/').eq_ignore_ascii_case(host)
            })
    }

    fn check_no_unfinished_job(&self) -> Result<(), ApiError> {
        match self
            .jobs
            .iter()
            .rev()
            .find(|j| UNFINISHED.contains(&j.status.as_str()))
        {
            Some(job) => Err(ApiError::bad_request(format!(
                "The last job(deployment) {} was not finished, please wait until it finish or use StopJob operation to cancel it.",
                job.job_id
            ))),
            None => Ok(()),
        }
    }

    /// The live job: the newest SUCCEED one, unless the live job was
    /// deleted and nothing was deployed since.
    pub fn live_job(&self) -> Option<&Job> {
        let after = self.live_deleted.unwrap_or(0);
        self.jobs
            .iter()
            .rev()
            .find(|j| j.status == SUCCEED)
            .filter(|j| j.serial > after)
    }

    /// TagResource on the branch: AWS's limits (50 tags, key 1–128, value
    /// at most 256 characters, no `aws:` keys).
    pub fn tag(&mut self, tags: BTreeMap<String, String>) -> Result<(), ApiError> {
        for (key, value) in &tags {
            let key_ok = (1..=128).contains(&key.chars().count()) && !key.starts_with("aws:");
            if !key_ok || value.chars().count() > 256 || !tag_chars(key) || !tag_chars(value) {
                return Err(ApiError::bad_request(format!(
                    "Tag {key:?}={value:?} does not satisfy the tag constraints."
                )));
            }
        }
        let mut merged = self.tags.clone();
        merged.extend(tags);
        if merged.len() > 50 {
            return Err(ApiError::bad_request("A resource has at most 50 tags."));
        }
        self.tags = merged;
        Ok(())
    }

    fn new_job(&mut self, serial: u64, status: &str) -> &mut Job {
        let now = SystemTime::now();
        let job_id = self.next_job_number.to_string();
        self.next_job_number += 1;
        self.jobs.push(Job {
            serial,
            job_id,
            status: status.to_owned(),
            source_url: None,
            source_url_type: None,
            status_reason: None,
            log: None,
            commit_time: now,
            start_time: now,
            end_time: None,
            files: None,
            protected: false,
        });
        let last = self.jobs.len() - 1;
        &mut self.jobs[last]
    }
}

/// AWS's tag characters: letters, digits, spaces and `_ . : / = + - @`.
fn tag_chars(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
}

/// Amplify's display name for a branch: `/` becomes `-`.
pub(crate) fn display_name(branch: &str) -> String {
    branch.replace('/', "-")
}

pub(crate) fn is_terminal(status: &str) -> bool {
    matches!(status, SUCCEED | FAILED | CANCELLED)
}

/// Epoch seconds with millisecond precision, as Amplify's JSON numbers.
pub(crate) fn epoch(time: SystemTime) -> f64 {
    let millis = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    millis as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with_branch() -> State {
        let mut state = State::new(
            "us-east-1".into(),
            Duration::from_millis(10),
            Duration::from_secs(60),
        );
        state.create_app("d1", "WEB");
        state
            .create_branch("d1", "feature/x", None)
            .expect("branch is created");
        state
    }

    #[test]
    fn pending_job_blocks_the_branch_until_stopped() {
        let mut state = state_with_branch();
        let job = state
            .create_deployment("d1", "feature/x")
            .expect("first deployment");
        assert_eq!(job.job_id, "1");
        let err = state
            .create_deployment("d1", "feature/x")
            .expect_err("second deployment is refused");
        assert_eq!(err.error_type, "BadRequestException");
        assert_eq!(
            err.message,
            "The last job(deployment) 1 was not finished, please wait until it finish or use StopJob operation to cancel it."
        );
        let (stopped, needs_task) = state.stop_job("d1", "feature/x", "1").expect("stop");
        assert_eq!(stopped.status, CANCELLED);
        assert!(!needs_task);
        let next = state
            .create_deployment("d1", "feature/x")
            .expect("deployment after stop");
        assert_eq!(next.job_id, "2");
    }

    #[test]
    fn branch_display_name_replaces_slashes() {
        let state = state_with_branch();
        let branch = state.branch("d1", "feature/x").expect("branch exists");
        assert_eq!(branch.display_name, "feature-x");
    }

    #[test]
    fn finish_job_ignores_jobs_that_were_stopped() {
        let mut state = state_with_branch();
        let job = state.create_deployment("d1", "feature/x").expect("create");
        let (_, started) = state
            .start_deployment("d1", "feature/x", Some(&job.job_id), None, None)
            .expect("start");
        let (stopping, needs_task) = state.stop_job("d1", "feature/x", "1").expect("stop");
        assert_eq!(stopping.status, CANCELLING);
        assert!(needs_task);
        assert!(state.finish_job(started.serial, Ok(None)).is_none());
        state.finish_cancel(started.serial);
        let job = state.job("d1", "feature/x", "1").expect("job");
        assert_eq!(job.status, CANCELLED);
        assert!(job.end_time.is_some());
    }
}
