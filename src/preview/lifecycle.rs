//! The previews of an app as a whole: which branches are this
//! repository's ([`super::owner`]), when each was last deployed, whether
//! its pull request is still open, which of them `previews prune` selects
//! and in which order eviction takes them, and removing one (stop its
//! unfinished jobs and delete it as `crate::branch` does, update its pull
//! request's comment, mark its GitHub deployments inactive).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::amplify::{ApiError, Client};
use crate::branch::{remove_branch, Removal, Target};
use crate::error::RunError;
use crate::github::client::{Api, GitHubError, SetupError};
use crate::github::comment::{self, CommentState};
use crate::report::Reporter;
use crate::settings::{AppId, BranchName, PruneSettings};

use super::owner::{self, Ours, Ownership};

/// Amplify's limit on branches per app.
pub const MAX_BRANCHES: usize = 50;
/// From this many branches of an app on (whoever made them), a warning.
pub const WARN_BRANCHES: usize = 45;

/// One preview of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub branch: String,
    pub pr: u64,
    pub ownership: Ownership,
    /// Epoch seconds.
    pub created: Option<i64>,
    /// The newest job's start, else the branch's creation.
    pub last_deployed: Option<i64>,
    pub expires: Option<i64>,
    /// On GitHub: open, closed, or `None` when not known.
    pub open: Option<bool>,
}

/// The app's branches as ListBranches gave them: our previews, and how
/// many branches there are in all.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub previews: Vec<Listed>,
    pub branches: usize,
}

/// Now, in epoch seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn whole_seconds(epoch: Option<f64>) -> Option<i64> {
    epoch
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s as i64)
}

/// ListBranches, then ListJobs (the newest job) of each of our previews;
/// those of other repositories (and other prefixes) are left out.
pub async fn inventory(
    client: &Client,
    app_id: &str,
    ours: &Ours<'_>,
) -> Result<Inventory, ApiError> {
    let branches = client.list_branches(app_id).await?;
    let mut previews = Vec::new();
    for b in &branches {
        let (Some(found), Some(name)) = (owner::our_preview(b, ours), b.branch_name.as_deref())
        else {
            continue;
        };
        let created = whole_seconds(b.create_time);
        let newest = match client.list_jobs(app_id, name, Some(1), None).await {
            Ok(out) => out
                .job_summaries
                .first()
                .and_then(|j| whole_seconds(j.start_time)),
            // Deleted meanwhile: it is not a preview any more.
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        previews.push(Listed {
            branch: name.to_owned(),
            pr: found.pr,
            ownership: found.ownership,
            created,
            last_deployed: newest.or(created),
            expires: owner::expiry(b),
            open: None,
        });
    }
    previews.sort_by(|a, b| (a.pr, &a.branch).cmp(&(b.pr, &b.branch)));
    Ok(Inventory {
        previews,
        branches: branches.len(),
    })
}

/// Ask GitHub whether each preview's pull request is open. Returns why
/// that is not known (no token, GitHub unreachable, …); the previews
/// asked before the failure keep their answer.
pub async fn read_pr_states(
    api: Result<&Api, &SetupError>,
    previews: &mut [Listed],
) -> Option<String> {
    let api = match api {
        Ok(api) => api,
        Err(why) => return Some(why.to_string()),
    };
    for p in previews.iter_mut() {
        match api.pull_request_is_open(p.pr).await {
            Ok(open) => p.open = Some(open),
            // A pull request GitHub does not know (another repository's
            // number?) stays unknown: never taken as closed.
            Err(GitHubError::Status { status: 404, .. }) => {}
            Err(e) => return Some(e.to_string()),
        }
    }
    None
}

/// Why `prune` removes `p`, in words; empty when it keeps it.
pub fn prune_reasons(p: &Listed, sel: &PruneSettings, now: i64) -> Vec<String> {
    let mut why = Vec::new();
    if sel.closed && p.open == Some(false) {
        why.push(format!("pull request #{} is closed", p.pr));
    }
    if sel.expired && p.expires.is_some_and(|at| at <= now) {
        why.push("expired".to_owned());
    }
    if let (Some(age), Some(last)) = (sel.older_than, p.last_deployed) {
        let age_secs = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        if now.saturating_sub(last) >= age_secs {
            let idle = Duration::from_secs(u64::try_from(now - last).unwrap_or(0));
            why.push(format!(
                "not deployed for {}",
                humantime::format_duration(round_to_minutes(idle))
            ));
        }
    }
    why
}

fn round_to_minutes(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs() / 60 * 60)
}

/// Which previews eviction takes, first to last: those of closed pull
/// requests, least recently deployed first; then the expired ones; then,
/// with `evict_open`, the others (open, or not known to be closed).
pub fn eviction_order(previews: &[Listed], now: i64, evict_open: bool) -> Vec<(&Listed, String)> {
    let mut by_age: Vec<&Listed> = previews.iter().collect();
    by_age.sort_by_key(|p| (p.last_deployed.unwrap_or(i64::MIN), p.pr));
    let closed = |p: &&Listed| p.open == Some(false);
    let expired = |p: &&Listed| !closed(p) && p.expires.is_some_and(|at| at <= now);
    let mut order: Vec<(&Listed, String)> = Vec::new();
    for p in by_age.iter().filter(|p| closed(p)) {
        order.push((p, format!("pull request #{} is closed", p.pr)));
    }
    for p in by_age.iter().filter(|p| expired(p)) {
        order.push((p, "it expired".to_owned()));
    }
    if evict_open {
        for p in by_age.iter().filter(|p| !closed(p) && !expired(p)) {
            order.push((p, "it was the least recently deployed preview".to_owned()));
        }
    }
    order
}

/// What removing previews needs: the app, and GitHub when reachable.
pub struct Remover<'a> {
    pub client: &'a Client,
    pub app_id: &'a AppId,
    pub region: &'a str,
    pub github: Option<&'a Api>,
    /// `--deployment-environment`: where the preview's deployments are.
    pub environment: Option<&'a str>,
    pub reporter: &'a Reporter,
}

impl Remover<'_> {
    /// Stop `p`'s unfinished jobs and delete it (already gone is fine),
    /// then say so on its pull request (creating the comment when
    /// `comment_always`, else only updating ours) and mark its GitHub
    /// deployments inactive.
    pub async fn remove(
        &self,
        p: &Listed,
        why: &str,
        comment_always: bool,
    ) -> Result<Removal, RunError> {
        let target = Target {
            client: self.client.clone(),
            app_id: self.app_id.clone(),
            branch: BranchName::parse(Some(&p.branch))?,
            region: self.region.to_owned(),
        };
        let removal = remove_branch(&target, true, self.reporter).await?;
        let Some(api) = self.github else {
            return Ok(removal);
        };
        let body = comment::render(
            self.app_id,
            None,
            &CommentState::Pruned {
                branch: &p.branch,
                why,
            },
            SystemTime::now(),
        );
        let n = p.pr;
        match comment::upsert(api, n, self.app_id, &body, !comment_always).await {
            Ok(comment::Upserted::Absent) => {}
            Ok(_) => self
                .reporter
                .line(format!("preview: updated the comment on pull request #{n}")),
            Err(e) => self.reporter.warning(&format!(
                "could not comment on pull request #{n}: {e} (branch {} was removed)",
                p.branch
            )),
        }
        if let Some(environment) = self.environment {
            let description = format!("Preview removed: {why}");
            match super::deactivate_deployments(api, environment, n, &description).await {
                Ok(marked) => self.reporter.line(format!(
                    "preview: marked {marked} GitHub deployment(s) of pull request #{n} in {environment} inactive"
                )),
                Err(e) => self.reporter.warning(&format!(
                    "could not mark the GitHub deployments of pull request #{n} inactive: {e}"
                )),
            }
        }
        Ok(removal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(pr: u64, last: i64, open: Option<bool>, expires: Option<i64>) -> Listed {
        Listed {
            branch: format!("pr-{pr}"),
            pr,
            ownership: Ownership::Tagged,
            created: Some(0),
            last_deployed: Some(last),
            expires,
            open,
        }
    }

    fn prs(order: &[(&Listed, String)]) -> Vec<u64> {
        order.iter().map(|(p, _)| p.pr).collect()
    }

    #[test]
    fn eviction_takes_closed_then_expired_then_open_least_recent_first() {
        let now = 1_000;
        let previews = [
            listed(1, 500, Some(true), None),
            listed(2, 300, Some(false), None),
            listed(3, 100, Some(true), Some(900)),
            listed(4, 200, Some(false), Some(900)),
            listed(5, 50, None, None),
            listed(6, 400, Some(true), Some(2_000)),
        ];
        assert_eq!(prs(&eviction_order(&previews, now, false)), [4, 2, 3]);
        assert_eq!(
            prs(&eviction_order(&previews, now, true)),
            [4, 2, 3, 5, 6, 1]
        );
    }

    #[test]
    fn prune_selects_by_state_expiry_and_age() {
        let now = 10 * 86_400;
        let sel = |closed, expired, older_than| PruneSettings {
            older_than,
            closed,
            expired,
            dry_run: false,
        };
        let closed = listed(1, now, Some(false), None);
        let unknown = listed(2, now, None, None);
        let expired = listed(3, now, Some(true), Some(now - 1));
        let stale = listed(4, now - 8 * 86_400, Some(true), None);
        let both = sel(true, true, None);
        assert_eq!(
            prune_reasons(&closed, &both, now),
            ["pull request #1 is closed"]
        );
        assert!(prune_reasons(&unknown, &both, now).is_empty());
        assert_eq!(prune_reasons(&expired, &both, now), ["expired"]);
        assert!(prune_reasons(&expired, &sel(true, false, None), now).is_empty());
        assert!(prune_reasons(&stale, &both, now).is_empty());
        let week = Some(Duration::from_secs(7 * 86_400));
        assert_eq!(
            prune_reasons(&stale, &sel(false, false, week), now),
            ["not deployed for 8days"]
        );
        assert!(prune_reasons(&closed, &sel(false, false, week), now).is_empty());
    }
}
