//! Previews of pull requests from forks (docs/previews.md#forks).
//!
//! A fork's `pull_request` run holds no secrets and no OIDC token, and
//! runs the fork's code: it never deploys ([`RunStatus::Deferred`]). The
//! trusted run does, on the default branch's workflow with the base
//! repository's token: `workflow_run` (the build ended) or
//! `pull_request_target: labeled` (the approval came later). It trusts
//! nothing the pull request says: the pull request is found through the
//! API by the build's head repository and branch, never from the
//! artifact; a build of a commit that is no longer the head deploys
//! nothing ([`RunStatus::Superseded`]); a fork's pull request deploys only
//! once approved ([`RunStatus::AwaitingApproval`]); the artifact is
//! unpacked as untrusted input (`crate::package::unpack`). Every check
//! comes before AWS is called: [`route`] returns the folder to deploy and
//! the pull request it is the preview of, or how the run ends.
//!
//! The functions take explicit values ([`Context`]), not the deploy's
//! settings, so the flow does not depend on how those are arranged.

use std::path::Path;

use crate::choices::ForkPreviews;
use crate::ci::escape::markdown;
use crate::error::{ErrorClass, RunError};
use crate::github::client::{Api, ArtifactInfo, DownloadError, GitHubError, PullInfo};
use crate::github::event::{PullRequest, WorkflowRun};
use crate::outcome::RunStatus;
use crate::package::{human_bytes, unpack};
use crate::report::Reporter;
use crate::settings::{ForkSettings, TrustedEvent};

/// Where the flow is documented, named in every notice.
const DOCS: &str = "docs/previews.md#forks";

/// Authors whose pull requests `fork-previews: approved` deploys unlabelled.
const TRUSTED_AUTHORS: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

/// What the flow needs to know, as plain values.
pub struct Context<'a> {
    /// `GITHUB_REPOSITORY`: the base repository.
    pub repository: Option<&'a str>,
    /// `GITHUB_API_URL`.
    pub api_url: &'a str,
    /// The base repository's token.
    pub token: Option<&'a str>,
    /// Where the artifact is downloaded and unpacked (`RUNNER_TEMP`).
    pub temp_dir: &'a Path,
    /// `--app-id`, checked before the artifact is fetched.

    /// `--preview-prefix`, for the branch the log names.
    pub prefix: &'a str,
    /// `--sync-rules`, which a preview refuses.
    pub sync_rules: bool,
    pub fork: &'a ForkSettings,
    /// The pull request of this run's event, when it is one.
    pub pr: Option<&'a PullRequest>,
}

/// What the run does.
pub enum Route {
    /// Not a fork's preview: deploy (or remove) as usual.
    AsUsual,
    /// The run ends here and deploys nothing.
    Ended(Ended),
    /// Deploy this folder as this pull request's preview.
    Deploy(Found),
}

/// A fork's preview, ready to deploy.
pub struct Found {
    /// The pull request as the API says it is now (head commit, base).
    pub pr: PullRequest,
    pub title: Option<String>,
    /// The artifact, unpacked; removed when dropped.
    pub folder: tempfile::TempDir,
}

/// How a run ended without deploying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// `None`: there was nothing to do (not a fork's build, a label that
    /// approves nothing, no open pull request).
    pub status: Option<RunStatus>,
    /// The preview's branch, once the pull request is known.
    pub branch: Option<String>,
    /// What happened and why, in one sentence.
    pub why: String,
}

impl Ended {
    fn new(status: Option<RunStatus>, branch: Option<String>, why: String) -> Ended {
        Ended {
            status,
            branch,
            why,
        }
    }

    /// The notice's title.
    pub fn title(&self) -> &'static str {
        match self.status {
            Some(RunStatus::Deferred) => "Deferred",
            Some(RunStatus::AwaitingApproval) => "Awaiting approval",
            Some(RunStatus::Disabled) => "Fork previews off",
            Some(RunStatus::Superseded) => "Superseded",
            _ => "Preview",
        }
    }

    /// The job summary: the status and the reason.
    pub fn summary(&self) -> String {
        let status = self.status.as_ref().map_or("", RunStatus::as_str);
        let mut why = self.why.chars();
        let first = why.next().map(|c| c.to_uppercase().to_string());
        let why = first.unwrap_or_default() + why.as_str();
        format!(
            "### ⏭️ Amplify deploy: {}\n\n{}\n\n",
            markdown(status),
            markdown(&why)
        )
    }

    /// Say so: the log line and the notice.
    pub fn announce(&self, reporter: &Reporter) {
        reporter.line(format!("preview: {}", self.why));
        reporter.github().notice(self.title(), &self.why);
    }
}

/// Decide what this run does about a fork's preview, reading GitHub and
/// fetching the artifact as it needs; AWS is not called.
pub async fn route(cx: &Context<'_>, reporter: &Reporter) -> Result<Route, RunError> {
    if let Some(pr) = cx
        .pr
        .filter(|pr| pr.event == "pull_request" && pr.is_fork())
    {
        return Ok(Route::Ended(deferred(cx, pr)));
    }
    match &cx.fork.trusted {
        None => Ok(Route::AsUsual),
        Some(TrustedEvent::WorkflowRun(run)) => workflow_run(cx, run, reporter).await,
        Some(TrustedEvent::PullRequestTarget(pr)) if pr.is_closed() => Ok(Route::AsUsual),
        Some(TrustedEvent::PullRequestTarget(pr)) if pr.action == "labeled" => {
            labeled(cx, pr, reporter).await
        }
        Some(TrustedEvent::PullRequestTarget(pr)) => Ok(nothing(format!(
            "pull_request_target {} of pull request #{}: without a path, a preview is deployed from a build's artifact when the build completes (workflow_run) or the label {} is added; nothing to do",
            pr.action, pr.number, cx.fork.label
        ))),
    }
}

fn nothing(why: String) -> Route {
    Route::Ended(Ended::new(None, None, why))
}

/// A fork's own `pull_request` run: it deploys nothing, not even a
/// removal, and calls nothing.
fn deferred(cx: &Context<'_>, pr: &PullRequest) -> Ended {
    let fork = pr.head_repo.as_deref().unwrap_or("(deleted)");
    let (what, how) = match pr.is_closed() {
        false => (
            "deploy",
            "the trusted workflow (workflow_run) deploys its preview from this run's artifact",
        ),
        true => (
            "remove its preview",
            "the trusted workflow's pull_request_target closed job removes it",
        ),
    };
    Ended::new(
        Some(RunStatus::Deferred),
        Some(format!("{}{}", cx.prefix, pr.number)),
        format!(
            "pull request #{} comes from the fork {fork}: its run has no rights to {what}, so it changes nothing; {how} ({DOCS})",
            pr.number
        ),
    )
}

fn disabled(branch: Option<String>, whose: &str) -> Route {
    Route::Ended(Ended::new(
        Some(RunStatus::Disabled),
        branch,
        format!("fork-previews is off: {whose} gets no preview"),
    ))
}

/// A build run ended: deploy its artifact if it built an approved fork's
/// pull request at its current head.
async fn workflow_run(
    cx: &Context<'_>,
    run: &WorkflowRun,
    reporter: &Reporter,
) -> Result<Route, RunError> {
    let head = run.head_repo.as_deref().unwrap_or("(deleted)");
    let branch = run.head_branch.as_deref().unwrap_or("");
    if !run.built_a_pull_request() {
        return Ok(nothing(format!(
            "build run {} was a {} run that ended {}: only a successful pull_request build deploys a preview; nothing to do",
            run.id,
            run.event,
            run.conclusion.as_deref().unwrap_or("unfinished")
        )));
    }
    if !run.is_fork() {
        return Ok(nothing(format!(
            "build run {} built branch {branch} of this repository: its own pull_request run deploys its preview; nothing to do",
            run.id
        )));
    }
    if cx.fork.mode == ForkPreviews::Off {
        return Ok(disabled(
            None,
            &format!("the fork {head}'s branch {branch}"),
        ));
    }
    let owner = run.head_repo.as_deref().and_then(|r| r.split('/').next());
    let Some(owner) = owner.filter(|_| !branch.is_empty()) else {
        return Ok(nothing(format!(
            "build run {} names no head repository or branch (a deleted fork?): no pull request to find; nothing to do",
            run.id
        )));
    };
    let api = precheck(cx, reporter)?;
    let Some(pr) = find_pull(&api, owner, head, branch, reporter).await? else {
        return Ok(nothing(format!(
            "no open pull request has the head {head}:{branch} that build run {} built; nothing to do",
            run.id
        )));
    };
    reporter.line(format!(
        "preview: build run {} built {} of the fork {head}'s branch {branch}: pull request #{}",
        run.id, run.head_sha, pr.number
    ));
    deliver(cx, &api, pr, run.id, &run.head_sha, reporter).await
}

/// The open pull request whose head is branch `branch` of repository
/// `head` (owned by `owner`): GitHub matches the owner and branch, the
/// repository is checked here. Several: the newest, and the log says so.
async fn find_pull(
    api: &Api,
    owner: &str,
    head: &str,
    branch: &str,
    reporter: &Reporter,
) -> Result<Option<PullInfo>, RunError> {
    let pulls = api
        .open_pulls_from(owner, branch)
        .await
        .map_err(|e| github_error(&e, "pull-requests: read"))?;
    let mut ours = pulls.into_iter().filter(|p| {
        p.head_ref == branch
            && p.head_repo
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(head))
    });
    let first = ours.next();
    if let Some(pr) = &first {
        for other in ours {
            reporter.line(format!(
                "preview: pull request #{} also has that head; only #{} is deployed",
                other.number, pr.number
            ));
        }
    }
    Ok(first)
}

/// The approval label was added to a pull request: deploy the newest
/// successful build of its head commit.
async fn labeled(
    cx: &Context<'_>,
    event: &PullRequest,
    reporter: &Reporter,
) -> Result<Route, RunError> {
    let n = event.number;
    let label = event.label.as_deref().unwrap_or("");
    if label != cx.fork.label {
        return Ok(nothing(format!(
            "the label {label} added to pull request #{n} is not the approval label {}; nothing to do",
            cx.fork.label
        )));
    }
    if !event.is_fork() {
        return Ok(nothing(format!(
            "pull request #{n} comes from this repository: its own pull_request run deploys its preview; nothing to do"
        )));
    }
    let branch = Some(format!("{}{n}", cx.prefix));
    if cx.fork.mode == ForkPreviews::Off {
        return Ok(disabled(branch, &format!("pull request #{n}")));
    }
    let api = precheck(cx, reporter)?;
    let pr = api
        .pull(n)
        .await
        .map_err(|e| github_error(&e, "pull-requests: read"))?;
    if pr.state != "open" {
        return Ok(nothing(format!(
            "pull request #{n} is {}; nothing to do",
            pr.state
        )));
    }
    if let Some(ended) = decide(cx, &pr, &pr.head_sha) {
        return Ok(Route::Ended(ended));
    }
    let Some((run, artifact)) = newest_build(cx, &api, &pr).await? else {
        return Ok(nothing(format!(
            "no successful build of pull request #{n}'s head {} has the artifact {} yet: the build's workflow_run deploys the preview when it completes",
            pr.head_sha, cx.fork.artifact
        )));
    };
    reporter.line(format!(
        "preview: the label {label} was added to pull request #{n}: deploying build run {run} of {}",
        pr.head_sha
    ));
    let built = pr.head_sha.clone();
    let fetched = Fetched {
        run,
        artifact,
        built: &built,
        event: "pull_request_target",
    };
    fetch_and_check(cx, &api, pr.number, fetched, reporter).await
}

/// The newest successful `pull_request` run of the pull request's head
/// commit, from its head repository, that has the artifact.
async fn newest_build(
    cx: &Context<'_>,
    api: &Api,
    pr: &PullInfo,
) -> Result<Option<(u64, ArtifactInfo)>, RunError> {
    let runs = api
        .successful_pull_request_runs(&pr.head_sha)
        .await
        .map_err(|e| github_error(&e, "actions: read"))?;
    let from_head = |repo: &Option<String>| match (repo, &pr.head_repo) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    };
    for run in runs.iter().filter(|r| {
        r.event == "pull_request"
            && r.conclusion.as_deref() == Some("success")
            && r.head_sha == pr.head_sha
            && from_head(&r.head_repo)
    }) {
        if let Some(a) = live_artifact(cx, api, run.id).await? {
            return Ok(Some((run.id, a)));
        }
    }
    Ok(None)
}

/// The run's artifact named `preview-artifact` that can still be
/// downloaded.
async fn live_artifact(
    cx: &Context<'_>,
    api: &Api,
    run: u64,
) -> Result<Option<ArtifactInfo>, RunError> {
    let listed = api
        .run_artifacts(run, &cx.fork.artifact)
        .await
        .map_err(|e| github_error(&e, "actions: read"))?;
    Ok(listed
        .into_iter()
        .find(|a| a.name == cx.fork.artifact && !a.expired))
}

/// The pull request is found: decide, then fetch the artifact of `run`.
async fn deliver(
    cx: &Context<'_>,
    api: &Api,
    pr: PullInfo,
    run: u64,
    built: &str,
    reporter: &Reporter,
) -> Result<Route, RunError> {
    if let Some(ended) = decide(cx, &pr, built) {
        return Ok(Route::Ended(ended));
    }
    let Some(artifact) = live_artifact(cx, api, run).await? else {
        return Err(RunError::input(format!(
            "build run {run} has no artifact named {} that can still be downloaded",
            cx.fork.artifact
        ))
        .hint("set preview-artifact to the name the build uploads with actions/upload-artifact, and keep it until the trusted run has deployed it (retention-days)"));
    };
    let fetched = Fetched {
        run,
        artifact,
        built,
        event: "workflow_run",
    };
    fetch_and_check(cx, api, pr.number, fetched, reporter).await
}

/// The build whose artifact a deploy fetches.
struct Fetched<'a> {
    run: u64,
    artifact: ArtifactInfo,
    /// The commit it built.
    built: &'a str,
    /// The trusted run's event, recorded on the preview's pull request.
    event: &'a str,
}

/// Fetch and unpack the artifact, then read pull request `number` again
/// (its labels and head commit as they are now, just before deploying)
/// and decide again.
async fn fetch_and_check(
    cx: &Context<'_>,
    api: &Api,
    number: u64,
    build: Fetched<'_>,
    reporter: &Reporter,
) -> Result<Route, RunError> {
    let folder = fetch(cx, api, build.run, &build.artifact, reporter).await?;
    let now = api
        .pull(number)
        .await
        .map_err(|e| github_error(&e, "pull-requests: read"))?;
    if now.state != "open" {
        return Ok(nothing(format!(
            "pull request #{number} was closed meanwhile; nothing to do"
        )));
    }
    if let Some(ended) = decide(cx, &now, build.built) {
        return Ok(Route::Ended(ended));
    }
    reporter.line(format!(
        "preview: {}",
        approval(cx, &now).unwrap_or_default()
    ));
    Ok(Route::Deploy(Found {
        pr: PullRequest {
            event: build.event.to_owned(),
            action: String::new(),
            number: now.number,
            head_sha: Some(now.head_sha),
            head_repo: now.head_repo,
            base_repo: now.base_repo,
            base_ref: now.base_ref,
            label: None,
        },
        title: now.title,
        folder,
    }))
}

/// Superseded or awaiting approval, or `None`: deploy.
fn decide(cx: &Context<'_>, pr: &PullInfo, built: &str) -> Option<Ended> {
    let n = pr.number;
    let branch = Some(format!("{}{n}", cx.prefix));
    if !pr.head_sha.eq_ignore_ascii_case(built) {
        return Some(Ended::new(
            Some(RunStatus::Superseded),
            branch,
            format!(
                "the build is of {built}, but pull request #{n} is now at {}: nothing deployed; the newer commit's build deploys its preview",
                pr.head_sha
            ),
        ));
    }
    if approval(cx, pr).is_some() {
        return None;
    }
    let fork = pr.head_repo.as_deref().unwrap_or("(deleted)");
    let label = &cx.fork.label;
    Some(Ended::new(
        Some(RunStatus::AwaitingApproval),
        branch,
        format!(
            "pull request #{n} from the fork {fork} is not approved for a preview (no label {label}; its author is {}): a maintainer adds the label {label} to deploy it (fork-previews: approved, {DOCS})",
            association(&pr.author_association)
        ),
    ))
}

/// Why the pull request may be deployed, or `None`: it may not.
fn approval(cx: &Context<'_>, pr: &PullInfo) -> Option<String> {
    let label = &cx.fork.label;
    match cx.fork.mode {
        ForkPreviews::Off => None,
        ForkPreviews::All => {
            Some("fork-previews is all: every fork's pull request is deployed".into())
        }
        ForkPreviews::Approved if pr.labels.iter().any(|l| l == label) => Some(format!(
            "pull request #{} has the approval label {label}",
            pr.number
        )),
        ForkPreviews::Approved if TRUSTED_AUTHORS.contains(&pr.author_association.as_str()) => {
            Some(format!(
                "pull request #{}'s author is {}",
                pr.number,
                association(&pr.author_association)
            ))
        }
        ForkPreviews::Approved => None,
    }
}

/// `author_association` as words: "an owner", "a first-time contributor".
fn association(value: &str) -> String {
    let words = value.to_ascii_lowercase().replace('_', "-");
    match words.as_str() {
        "" => "unknown".to_owned(),
        "none" => "not associated with the repository".to_owned(),
        w if w.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {w}"),
        w => format!("a {w}"),
    }
}

/// The checks a fork's deploy can make before fetching anything, and the
/// API of the base repository.
fn precheck(cx: &Context<'_>, reporter: &Reporter) -> Result<Api, RunError> {
    if cx.sync_rules {
        return Err(RunError::input(
            "sync-rules: a pull request's preview cannot change the app's redirects and rewrites, which every branch shares: sync them from the production deploy (or `amplify-deploy rules sync`)",
        ));
    }
    let token = cx.token.filter(|t| !t.is_empty()).ok_or_else(|| {
        RunError::input("a fork's preview needs the GitHub API: set github-token (the action's default is github.token) or GITHUB_TOKEN")
    })?;
    reporter.github().mask(token);
    let repo = cx.repository.ok_or_else(|| {
        RunError::input("a fork's preview needs GITHUB_REPOSITORY (the base repository)")
    })?;
    Api::new(cx.api_url, repo, token, reporter).map_err(|e| RunError::input(e.to_string()))
}

/// Download the artifact into `temp_dir` and unpack it into a new folder
/// there; the zip is removed once unpacked.
async fn fetch(
    cx: &Context<'_>,
    api: &Api,
    run: u64,
    artifact: &ArtifactInfo,
    reporter: &Reporter,
) -> Result<tempfile::TempDir, RunError> {
    let caps = cx.fork.caps;
    reporter.line(format!(
        "preview: downloading artifact {} ({}) of build run {run}",
        artifact.name,
        human_bytes(artifact.size_in_bytes)
    ));
    let zip = api
        .download_artifact(artifact.id, cx.temp_dir, caps.max_bytes)
        .await
        .map_err(|e| download_error(&e, &artifact.name))?;
    let folder = tempfile::Builder::new()
        .prefix("amplify-preview-")
        .tempdir_in(cx.temp_dir)
        .map_err(|e| {
            RunError::input(format!("cannot make a folder in {}", cx.temp_dir.display()))
                .caused_by(&e)
        })?;
    let into = folder.path().to_path_buf();
    let zip_path = zip.path().to_path_buf();
    // On this thread: nothing else runs meanwhile (a task of its own
    // would cost the binary a task type for nothing).
    let unpacked = tokio::task::block_in_place(|| unpack::unpack(&zip_path, &into, &caps));
    let unpacked = unpacked.map_err(|e| {
        let err = RunError::input(format!("artifact {} of build run {run}: {e}", artifact.name));
        with_sources(err, &e).hint(format!(
            "nothing was deployed; the artifact must hold the site's files and folders only ({DOCS})"
        ))
    })?;
    reporter.line(format!(
        "preview: unpacked {} files, {}, from artifact {}",
        unpacked.files,
        human_bytes(unpacked.bytes),
        artifact.name
    ));
    Ok(folder)
}

/// A failed GitHub call of the flow: exit 3 (a service refused or failed
/// a call), naming the permission a refusal is likely about.
fn github_error(e: &GitHubError, permission: &str) -> RunError {
    let err = with_sources(
        RunError::new(ErrorClass::Aws, format!("fork preview: {e}")),
        e,
    );
    if e.is_permission() {
        err.hint(format!(
            "give the trusted job `permissions: {permission}` (its GitHub token reads the pull request and the build's artifacts)"
        ))
    } else {
        err
    }
}

fn download_error(e: &DownloadError, name: &str) -> RunError {
    match e {
        DownloadError::Api(GitHubError::Status { status: 410, .. }) => {
            RunError::input(format!("artifact {name} has expired: {e}"))
                .hint("raise the build's retention-days, or push again to build it anew")
        }
        DownloadError::Api(api) => github_error(api, "actions: read"),
        DownloadError::TooLarge { .. } => RunError::input(format!("artifact {name}: {e}")),
        other => with_sources(
            RunError::new(ErrorClass::Aws, format!("artifact {name}: {other}")),
            other,
        ),
    }
}

/// `err` with the causes of `e` (not `e` itself, which it already says).
fn with_sources(err: RunError, e: &(dyn std::error::Error + 'static)) -> RunError {
    match e.source() {
        Some(source) => err.caused_by(source),
        None => err,
    }
}

#[cfg(test)]
mod tests;
