//! A preview's branch, made ready once the deploy pipeline has decided to
//! deploy (it asks through `deploy::Hooks`). The first deploy of a pull
//! request makes room under `--max-previews` (evicting in
//! [`lifecycle::eviction_order`]), copies the base branch's basic auth for
//! `--basic-auth inherit`, and creates the branch with our ownership and
//! expiry tags; a CreateBranch that still meets Amplify's branch limit
//! (another run took the last one) evicts once more and retries once.
//! Later deploys renew the tags (the expiry), on branches that are ours,
//! and remove an expiry that a deploy without `--preview-ttl` no longer sets.

use crate::amplify::{ApiError, Branch, Client};
use crate::deploy::MadeBranch;
use crate::error::RunError;
use crate::explain::{explain, Scope};
use crate::settings::{AppId, BasicAuth, DeploySettings, Preview as PreviewSetting};

use super::lifecycle::{self, Remover, MAX_BRANCHES, WARN_BRANCHES};
use super::{api, ours, owner, Integration};

/// One preview branch about to be deployed.
struct Room<'a> {
    client: &'a Client,
    region: &'a str,
    app_id: &'a AppId,
    branch: &'a str,
    pr: u64,
    s: &'a DeploySettings,
}

impl Room<'_> {
    fn explain(&self, e: &ApiError, branch: &str) -> RunError {
        explain(
            e,
            &Scope {
                app_id: self.app_id,
                branch,
                region: self.region,
            },
        )
    }
}

impl Integration {
    fn room<'a>(&'a self, client: &'a Client) -> Option<Room<'a>> {
        let p = self.preview.as_ref().filter(|p| !p.pr.is_closed())?;
        Some(Room {
            client,
            region: client.region(),
            app_id: &self.app_id,
            branch: &p.branch,
            pr: p.pr.number,
            s: &self.settings,
        })
    }

    /// The run decided to deploy a preview whose branch is missing: make
    /// room, copy the base branch's basic auth (`--basic-auth inherit`)
    /// and create the branch with our tags (see the module). `None` when
    /// this run is no preview.
    pub(super) async fn create_preview_branch(
        &mut self,
        client: &Client,
    ) -> Result<Option<MadeBranch>, RunError> {
        let Some(room) = self.room(client) else {
            return Ok(None);
        };
        let tags = owner::tags(
            &ours(room.s),
            room.pr,
            lifecycle::now(),
            room.s.lifecycle.ttl,
        );
        let inherited = match room.s.inherit_basic_auth {
            true => self.inherit(&room).await?,
            false => None,
        };
        let auth = inherited.as_ref().or(room.s.verify.basic_auth.as_ref());
        let credentials = auth.map(BasicAuth::encoded);
        self.make_room(&room, false).await?;
        let branch = self.create(&room, credentials.as_deref(), &tags).await?;
        if credentials.is_some() {
            self.reporter
                .line(format!("basic auth set on branch {}", room.branch));
        }
        let protected = auth.is_some();
        self.protected |= protected;
        Ok(Some(MadeBranch {
            branch,
            basic_auth: inherited,
        }))
    }

    /// The run decided to deploy to an existing preview branch: renew
    /// its tags (the expiry) when it is ours.
    pub(super) async fn renew_preview_branch(&mut self, client: &Client, b: &Branch) {
        let Some(room) = self.room(client) else {
            return;
        };
        let tags = owner::tags(
            &ours(room.s),
            room.pr,
            lifecycle::now(),
            room.s.lifecycle.ttl,
        );
        self.renew(&room, b, &tags).await;
        // Protected since its creation (e.g. inherited): still so.
        self.protected |= b.enable_basic_auth == Some(true);
    }

    /// CreateBranch with our tags; at Amplify's limit (another run took
    /// the last branch), evict once more and retry once.
    async fn create(
        &self,
        room: &Room<'_>,
        credentials: Option<&str>,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<Branch, RunError> {
        let stage = room.s.stage.as_str();
        let create = || {
            room.client.create_branch_tagged(
                room.app_id,
                room.branch,
                Some(stage),
                credentials,
                Some(tags),
            )
        };
        self.reporter.line(format!(
            "creating branch {} (stage {stage}) tagged as the preview of pull request #{}",
            room.branch, room.pr
        ));
        match create().await {
            Ok(b) => Ok(b),
            Err(e) if is_branch_limit(&e) => {
                if self.make_room(room, true).await? == 0 {
                    return Err(room.explain(&e, room.branch));
                }
                self.reporter.warning(&format!(
                    "CreateBranch met Amplify's limit of {MAX_BRANCHES} branches (another run created one meanwhile): evicted once more, retrying once"
                ));
                create().await.map_err(|e| room.explain(&e, room.branch))
            }
            Err(e) => Err(room.explain(&e, room.branch)),
        }
    }

    /// Renew the tags of a preview branch that is ours; leave any other
    /// branch of that name untagged (it is not ours to prune).
    async fn renew(
        &self,
        room: &Room<'_>,
        b: &Branch,
        tags: &std::collections::BTreeMap<String, String>,
    ) {
        if owner::our_preview(b, &ours(room.s)).is_none() {
            self.reporter.line(format!(
                "preview: branch {} was not created by amplify-deploy as this repository's preview ({}): it is deployed to but never pruned or evicted",
                room.branch,
                owner::why_not_ours(b, &ours(room.s))
            ));
            return;
        }
        let Some(arn) = b.branch_arn.as_deref().filter(|a| !a.is_empty()) else {
            return;
        };
        match room.client.tag_resource(arn, tags).await {
            Ok(()) => {
                if let Some(at) = tags.get(owner::EXPIRES_TAG) {
                    self.reporter
                        .line(format!("preview: branch {} expires {at}", room.branch));
                }
            }
            Err(e) => self.reporter.warning(&format!(
                "preview: the tags of branch {} were not renewed (add amplify:TagResource to the deploy role): {}",
                room.branch,
                crate::error::one_line(&e.to_string())
            )),
        }
        self.clear(room, arn, &owner::stale(b, tags)).await;
    }

    /// Remove our tags a redeploy no longer sets: the expiry of a preview
    /// deployed without `--preview-ttl`, which must not be pruned by it.
    async fn clear(&self, room: &Room<'_>, arn: &str, stale: &[&str]) {
        if stale.is_empty() {
            return;
        }
        match room.client.untag_resource(arn, stale).await {
            Ok(()) => self.reporter.line(format!(
                "preview: branch {} no longer expires (no --preview-ttl)",
                room.branch
            )),
            Err(e) => self.reporter.warning(&format!(
                "preview: the old expiry of branch {} was not removed, so previews prune --expired may remove it (add amplify:UntagResource to the deploy role): {}",
                room.branch,
                crate::error::one_line(&e.to_string())
            )),
        }
    }

    /// `--basic-auth inherit`: the basic auth of the base branch (`--branch`,
    /// else the pull request's base), masked at once.
    async fn inherit(&self, room: &Room<'_>) -> Result<Option<BasicAuth>, RunError> {
        let base = match &room.s.preview {
            PreviewSetting::PullRequest { pr, given_branch } => given_branch
                .clone()
                .filter(|b| !b.trim().is_empty())
                .or_else(|| pr.base_ref.clone()),
            _ => None,
        };
        let Some(base) = base else {
            return Err(RunError::input(
                "basic-auth inherit: the event names no base branch: pass --branch (the Amplify branch to copy basic auth from)",
            ));
        };
        let b = room
            .client
            .get_branch(room.app_id, &base)
            .await
            .map_err(|e| {
                room.explain(&e, &base).hint(
                    "basic-auth inherit copies the base branch's basic auth: pass --branch NAME, the Amplify branch to copy it from",
                )
            })?;
        let encoded = b
            .basic_auth_credentials
            .filter(|_| b.enable_basic_auth == Some(true))
            .map(|c| c.0);
        let Some(encoded) = encoded else {
            let msg = format!(
                "basic-auth inherit: branch {base} has no basic auth, so the preview is not protected"
            );
            self.reporter.line(format!("preview: {msg}"));
            self.reporter.github().notice("Preview", &msg);
            return Ok(None);
        };
        self.reporter.github().mask(&encoded);
        let auth = BasicAuth::from_encoded(&encoded).ok_or_else(|| {
            RunError::aws(format!(
                "basic-auth inherit: the basic auth credentials of branch {base} are not base64 of USER:PASSWORD"
            ))
        })?;
        self.reporter.github().mask(&auth.password);
        self.reporter.line(format!(
            "preview: basic auth copied from branch {base} (the password is masked)"
        ));
        Ok(Some(auth))
    }

    /// Evict what `--max-previews` and Amplify's 50 branches ask for
    /// before one more preview is created; with `again`, at least one (a
    /// CreateBranch met the limit). Returns how many were. Only
    /// `--max-previews` is an error when too few can go: for Amplify's
    /// limit, CreateBranch's own answer says what to do. Warns from 45
    /// branches on.
    async fn make_room(&self, room: &Room<'_>, again: bool) -> Result<usize, RunError> {
        let s = room.s;
        let mut inventory = lifecycle::inventory(room.client, room.app_id, &ours(s))
            .await
            .map_err(|e| room.explain(&e, room.branch))?;
        inventory.previews.retain(|p| p.branch != room.branch);
        let cap_need = (inventory.previews.len() + 1).saturating_sub(s.lifecycle.max_previews);
        let limit_need = (inventory.branches + 1)
            .saturating_sub(MAX_BRANCHES)
            .max(usize::from(again));
        let evicted = match cap_need.max(limit_need) {
            0 => 0,
            _ => {
                self.evict(room, &mut inventory.previews, cap_need, limit_need)
                    .await?
            }
        };
        let after = (inventory.branches + 1).saturating_sub(evicted);
        if after >= WARN_BRANCHES {
            self.reporter.warning(&format!(
                "app {} will have {after} of Amplify's {MAX_BRANCHES} branches: prune previews (amplify-deploy previews prune) or delete unused branches",
                room.app_id
            ));
        }
        Ok(evicted)
    }

    /// Evict `cap_need` previews (an error when fewer can go), or up to
    /// `limit_need` when more. Returns how many were.
    async fn evict(
        &self,
        room: &Room<'_>,
        previews: &mut [lifecycle::Listed],
        cap_need: usize,
        limit_need: usize,
    ) -> Result<usize, RunError> {
        let s = room.s;
        let github = api(&s.github, &self.reporter);
        if let Some(why) = lifecycle::read_pr_states(github.as_ref(), previews).await {
            self.reporter.warning(&format!(
                "which pull requests are closed is not known ({why}): only expired previews{} can be evicted",
                if s.lifecycle.evict_open { " and, with --evict-open, any" } else { "" }
            ));
        }
        let order = lifecycle::eviction_order(previews, lifecycle::now(), s.lifecycle.evict_open);
        if order.len() < cap_need {
            return Err(RunError::aws(format!(
                "app {} has {} previews (--max-previews {}) and {} can be evicted, {cap_need} must: preview {} is not created",
                room.app_id,
                previews.len(),
                s.lifecycle.max_previews,
                order.len(),
                room.branch
            ))
            .hint("prune previews (amplify-deploy previews prune), raise --max-previews (at most 50 branches an app), or pass --evict-open"));
        }
        let remover = Remover {
            client: room.client,
            app_id: room.app_id,
            region: room.region,
            github: github.as_ref().ok(),
            environment: s.github.deployment_environment.as_deref(),
            reporter: &self.reporter,
        };
        let need = cap_need.max(limit_need).min(order.len());
        for (p, why) in order.into_iter().take(need) {
            self.reporter.line(format!(
                "preview: evicting branch {} (pull request #{}): {why}",
                p.branch, p.pr
            ));
            let why = format!(
                "it was evicted to make room for the preview of pull request #{} ({why}); push a commit to deploy it again",
                room.pr
            );
            remover.remove(p, &why, p.open != Some(false)).await?;
        }
        Ok(need)
    }
}

/// CreateBranch refused for Amplify's branches-per-app limit.
fn is_branch_limit(e: &ApiError) -> bool {
    e.error_type() == Some("LimitExceededException")
}
