//! The plan: every input of a deploy checked before anything touches the
//! network, and the dry run's account of it.

use std::path::PathBuf;
use std::time::Duration;

use crate::amplify::CustomRule;
use crate::choices::{OnBusy, Verify};
use crate::error::RunError;
use crate::http;
use crate::package::{human_bytes, PackageOptions};
use crate::settings::{self, DeploySettings, VerifySettings};

use super::Ctx;
use crate::outcome::Outcome;

/// Everything `deploy` needs, validated.
pub(super) struct Plan {
    pub(super) app_id: String,
    pub(super) branch: String,
    pub(super) source: Source,
    pub(super) wait: bool,
    pub(super) dry_run: bool,
    pub(super) timeout: Duration,
    pub(super) quota_wait: Duration,
    pub(super) keep_job_on_timeout: bool,
    pub(super) on_busy: OnBusy,
    pub(super) create_branch: bool,
    pub(super) stage: &'static str,
    pub(super) poll_interval: Duration,
    pub(super) pending_grace: Duration,
    /// Where the archive is written.
    pub(super) temp_dir: PathBuf,
    /// Our commit, for provenance and newest-wins.
    pub(super) commit: settings::CommitSettings,
    /// The live check and the branch's basic auth.
    pub(super) verify: VerifySettings,
    /// `--sync-rules`: the app's rules to write before deploying, and
    /// where they come from.
    pub(super) rules: Option<(Vec<CustomRule>, String)>,
    /// `--artifact-store`: the package goes to S3 and the job starts from it.
    pub(super) store: Option<StorePlan>,
    /// `--skip-unchanged`.
    pub(super) skip_unchanged: bool,
    /// `--override-lock`: deploy to a locked branch.
    pub(super) override_lock: bool,
    /// A rollback: what it records on the branch before its job.
    pub(super) undo: Option<settings::Undo>,
    /// `--skew-protection`: the branch's setting to have; `None`: as it is.
    pub(super) skew_protection: Option<bool>,
}

/// Where the package is stored and how Amplify reads it.
pub(super) struct StorePlan {
    pub(super) store: crate::s3::ArtifactStore,
    pub(super) url: crate::choices::ArtifactUrl,
    /// `AWS_ENDPOINT_URL_S3` (path-style), checked; `None`: AWS.
    pub(super) endpoint: Option<url::Url>,
}

/// What the job deploys: a folder we package and upload, or a URL Amplify
/// fetches itself.
pub(super) enum Source {
    Folder(PackageOptions),
    Url {
        url: String,
        kind: Option<&'static str>,
    },
}

impl Plan {
    /// Check all input before touching the network.
    pub(super) fn from_settings(s: &DeploySettings) -> Result<Plan, RunError> {
        let app_id = settings::validate_app_id(s.app_id.as_deref())?;
        let branch = settings::validate_branch(s.branch.as_deref())?;
        let rules = s.sync_rules.then(|| sync_rules(s)).transpose()?;
        let source = match (&s.path, &s.source_url) {
            (Some(path), None) => {
                check_folder(path)?;
                let mut opts = s.filter.package_options(path)?;
                crate::rules::site::apply_to_package(&mut opts, s.filter.keep_rule_files)?;
                // The live check compares the site with these bytes.
                opts.keep = (s.verify.mode != Verify::Off)
                    .then(|| live_document(&s.verify.path, path, rules.as_ref()));
                Source::Folder(opts)
            }
            (None, Some(url)) => {
                settings::validate_source_url(url)?;
                Source::Url {
                    url: url.clone(),
                    kind: s.source_url_type.map(|t| t.as_str()),
                }
            }
            (None, None) => {
                return Err(RunError::input(
                    "path is required: pass --path DIR (the build folder) or --source-url URL",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(RunError::input(
                    "path and source-url cannot be used together",
                ))
            }
        };
        if s.timeout.is_zero() {
            return Err(RunError::input("timeout must be longer than 0s"));
        }
        Ok(Plan {
            app_id,
            branch,
            source,
            wait: s.wait,
            dry_run: s.dry_run,
            timeout: s.timeout,
            quota_wait: s.quota_wait,
            keep_job_on_timeout: s.keep_job_on_timeout,
            on_busy: s.on_busy,
            create_branch: s.create_branch,
            stage: s.stage.as_str(),
            poll_interval: s.poll_interval,
            pending_grace: s.pending_grace,
            temp_dir: s.temp_dir.clone(),
            commit: s.commit.clone(),
            verify: s.verify.clone(),
            rules,
            store: store_plan(s)?,
            skip_unchanged: s.skip_unchanged,
            override_lock: s.override_lock,
            undo: s.undo.clone(),
            skew_protection: s.skew_protection,
        })
    }
}

/// `--sync-rules`: the folder's `_redirects` (if it has one), then the SPA
/// rewrite with `--spa`, then the not-found page; translated now, so a bad
/// line stops the run before anything is sent.
fn sync_rules(s: &DeploySettings) -> Result<(Vec<CustomRule>, String), RunError> {
    crate::rules::site::deploy_rules(s.path.as_deref(), s.spa, &s.not_found_page)
}

/// `--artifact-store`, checked: an `s3://bucket/prefix` for a folder
/// source, and an http(s) S3 endpoint when one is set.
fn store_plan(s: &DeploySettings) -> Result<Option<StorePlan>, RunError> {
    let Some(value) = &s.artifact_store else {
        return Ok(None);
    };
    let store = crate::s3::ArtifactStore::parse(value)
        .map_err(|e| RunError::input(format!("artifact-store: {e}")))?;
    if s.path.is_none() {
        return Err(RunError::input(
            "artifact-store keeps a package built from --path; it cannot be used with source-url",
        ));
    }
    let endpoint = match &s.aws.s3_endpoint {
        None => None,
        Some(e) => {
            let url = url::Url::parse(e.url.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| {
                    RunError::input(format!("{} {:?} must be an http(s) URL", e.source, e.url))
                })?;
            Some(url)
        }
    };
    Ok(Some(StorePlan {
        store,
        url: s.artifact_url,
        endpoint,
    }))
}

/// The package entry a site path serves: `/` is `index.html`, `/docs/`
/// is `docs/index.html`, `/a.html` is `a.html`.
pub(crate) fn root_document(path: &str) -> String {
    let name = path.trim_start_matches('/');
    if name.is_empty() || name.ends_with('/') {
        format!("{name}index.html")
    } else {
        name.to_owned()
    }
}

/// The package entry the live check expects at `verify_path`: its own
/// file, unless the rules being synced rewrite it (the SPA rule sends a
/// route without a file to `index.html`).
fn live_document(
    verify_path: &str,
    folder: &std::path::Path,
    rules: Option<&(Vec<CustomRule>, String)>,
) -> String {
    let own = root_document(verify_path);
    let path = verify_path.split(['?', '#']).next().unwrap_or("/");
    let has_file = folder.join(&own).is_file();
    rules
        .and_then(|(rules, _)| crate::rules::rewrite_target(path, rules, has_file))
        .map_or(own, |target| root_document(&target))
}

fn check_folder(path: &std::path::Path) -> Result<(), RunError> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(RunError::input(format!("path {shown}: no such directory")))
        }
        Err(e) => Err(RunError::input(format!(
            "path {shown}: cannot be read: {e}"
        ))),
        Ok(m) if !m.is_dir() => Err(RunError::input(format!(
            "path {shown}: is a file, not a directory (pass the build folder, e.g. dist/)"
        ))),
        Ok(_) => Ok(()),
    }
}

/// `--dry-run`: print what the deploy would do, change nothing.
pub(super) fn show_dry_run(ctx: &Ctx, o: &Outcome, branch_missing: bool, would: &str) {
    let r = &ctx.reporter;
    r.line("dry run: nothing was changed");
    r.line(format!("  app       {} ({})", o.app_id, o.region));
    let created = if branch_missing {
        " (would be created)"
    } else {
        ""
    };
    r.line(format!("  branch    {}{created}", o.branch));
    r.line(format!("  endpoint  {}", ctx.client.endpoint()));
    if let Some(p) = &o.package {
        r.line(format!("  files     {}", p.file_count));
        r.line(format!(
            "  size      {} ({} bytes)",
            human_bytes(p.bytes),
            p.bytes
        ));
        r.line(format!("  sha256    {}", p.sha256));
    }
    if let Source::Url { url, .. } = &ctx.plan.source {
        r.line(format!("  source    {}", http::redact_url(url)));
    }
    if let (Some(store), Some(p)) = (&ctx.plan.store, &o.package) {
        r.line(format!(
            "  artifact  {}",
            store.store.artifact(&p.sha256).s3_url()
        ));
    }
    r.line(format!("  would     {would}"));
}
