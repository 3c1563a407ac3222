//! `amplify-deploy previews list` and `previews prune`: the pull request
//! previews of an app that belong to this repository (`GITHUB_REPOSITORY`,
//! `crate::preview::owner`), shown or removed.
//! Results go to stdout (one JSON object with `--json`, as `status
//! --json`); progress to stderr. Without the GitHub API (no token, GitHub
//! unreachable) whether a pull request is closed is not known: `--closed`
//! is skipped with a notice and the rest is still done.

use crate::branch::Removal;
use crate::ci::escape::log_line;
use crate::ci::json::to_line;
use crate::connection::{self, Connection};
use crate::error::RunError;
use crate::explain::{explain, Scope};
use crate::preview::lifecycle::{self, Inventory, Listed, Remover, MAX_BRANCHES, WARN_BRANCHES};
use crate::preview::owner::{Ours, Ownership};
use crate::provenance::format_time;
use crate::report::Reporter;
use crate::settings::{PreviewsSettings, PruneSettings};

/// `amplify-deploy previews list|prune`.
pub async fn previews(s: &PreviewsSettings, reporter: &Reporter) -> Result<(), RunError> {
    let app_id = &s.app_id;
    if let Some(t) = &s.github.token {
        reporter.github().mask(t);
    }
    let Connection { client, region, .. } = connection::connect(&s.aws, reporter).await?;
    let mut inventory = read_inventory(s, &client, &region, reporter).await?;
    let github = crate::preview::github_api(&s.github, reporter);
    let wants_states = s.prune.as_ref().is_none_or(|p| p.closed);
    let unknown = match wants_states {
        true => lifecycle::read_pr_states(github.as_ref(), &mut inventory.previews).await,
        false => None,
    };
    let place = Place {
        app_id,
        region: &region,
    };
    let Some(sel) = &s.prune else {
        if let Some(why) = &unknown {
            notice(
                reporter,
                &format!("whether the pull requests are open is not known: {why}"),
            );
        }
        list(&place, &inventory, s.json);
        return Ok(());
    };
    let mut sel = sel.clone();
    if let (true, Some(why)) = (sel.closed, &unknown) {
        notice(reporter, &format!(
            "--closed skipped: whether the pull requests are closed is not known ({why}); the other selectors still apply"
        ));
        sel.closed = false;
    }
    let remover = Remover {
        client: &client,
        app_id,
        region: &region,
        github: github.as_ref().ok(),
        environment: s.github.deployment_environment.as_deref(),
        reporter,
    };
    prune(
        &place,
        &remover,
        &inventory,
        &sel,
        unknown.is_some(),
        s.json,
    )
    .await
}

/// The app's previews (this repository's, by the ownership rule), with a
/// warning when the app nears Amplify's branch limit.
async fn read_inventory(
    s: &PreviewsSettings,
    client: &crate::amplify::Client,
    region: &str,
    reporter: &Reporter,
) -> Result<Inventory, RunError> {
    let app_id = &s.app_id;
    let scope = Scope {
        app_id,
        branch: "",
        region,
    };
    let ours = Ours {
        repository: s.github.repository.as_deref(),
        prefix: &s.prefix,
    };
    let inventory = lifecycle::inventory(client, app_id, &ours)
        .await
        .map_err(|e| explain(&e, &scope))?;
    if inventory.branches >= WARN_BRANCHES {
        reporter.warning(&format!(
            "app {app_id} has {} of Amplify's {MAX_BRANCHES} branches (whoever made them): new previews will soon fail",
            inventory.branches
        ));
    }
    Ok(inventory)
}

fn notice(reporter: &Reporter, msg: &str) {
    reporter.line(format!("notice: {msg}"));
    reporter.github().notice("Previews", msg);
}

struct Place<'a> {
    app_id: &'a str,
    region: &'a str,
}

fn time(epoch: Option<i64>) -> Option<String> {
    epoch.and_then(format_time)
}

fn state(p: &Listed) -> &'static str {
    match p.open {
        Some(true) => "open",
        Some(false) => "closed",
        None => "unknown",
    }
}

fn preview_json(p: &Listed) -> serde_json::Value {
    serde_json::json!({
        "branch": p.branch,
        "pullRequest": p.pr,
        "ownership": match p.ownership {
            Ownership::Tagged => "tagged",
            Ownership::Legacy => "legacy",
        },
        "created": time(p.created),
        "lastDeployed": time(p.last_deployed),
        "expires": time(p.expires),
        "pullRequestState": state(p),
    })
}

fn header(place: &Place<'_>, inv: &Inventory) -> String {
    format!(
        "app {} ({}): {} previews, {} of {MAX_BRANCHES} branches",
        place.app_id,
        place.region,
        inv.previews.len(),
        inv.branches
    )
}

/// Print the previews as a table, or one JSON object.
fn list(place: &Place<'_>, inv: &Inventory, json: bool) {
    if json {
        let previews: Vec<_> = inv.previews.iter().map(preview_json).collect();
        let value = serde_json::json!({
            "appId": place.app_id,
            "region": place.region,
            "branches": inv.branches,
            "maxBranches": MAX_BRANCHES,
            "previews": previews,
        });
        println!("{}", to_line(&value));
        return;
    }
    println!("{}", log_line(&header(place, inv)));
    if inv.previews.is_empty() {
        return;
    }
    let dash = || "-".to_owned();
    let mut rows = vec![[
        "BRANCH".to_owned(),
        "PR".to_owned(),
        "CREATED".to_owned(),
        "LAST DEPLOYED".to_owned(),
        "EXPIRES".to_owned(),
        "PR STATE".to_owned(),
    ]];
    for p in &inv.previews {
        rows.push([
            p.branch.clone(),
            format!("#{}", p.pr),
            time(p.created).unwrap_or_else(dash),
            time(p.last_deployed).unwrap_or_else(dash),
            time(p.expires).unwrap_or_else(dash),
            state(p).to_owned(),
        ]);
    }
    print_table(&rows);
}

fn print_table(rows: &[[String; 6]]) {
    let mut widths = [0usize; 6];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", log_line(cells.join("  ").trim_end()));
    }
}

/// One preview `prune` selected, and what became of it.
struct Pruned<'a> {
    preview: &'a Listed,
    reasons: Vec<String>,
    result: &'static str,
}

/// Remove (or, dry run, name) every preview the selectors pick.
async fn prune(
    place: &Place<'_>,
    remover: &Remover<'_>,
    inv: &Inventory,
    sel: &PruneSettings,
    closed_skipped: bool,
    json: bool,
) -> Result<(), RunError> {
    let now = lifecycle::now();
    let mut pruned = Vec::new();
    let mut first_error = None;
    for p in &inv.previews {
        let reasons = lifecycle::prune_reasons(p, sel, now);
        if reasons.is_empty() {
            continue;
        }
        let result = if sel.dry_run {
            "would be removed"
        } else {
            match remover.remove(p, &reasons.join(", "), false).await {
                Ok(Removal::Deleted) => "removed",
                Ok(Removal::AlreadyGone) => "already gone",
                Err(e) => {
                    remover.reporter.error(&e);
                    first_error.get_or_insert(e);
                    "failed"
                }
            }
        };
        pruned.push(Pruned {
            preview: p,
            reasons,
            result,
        });
    }
    report_prune(place, inv, sel, closed_skipped, &pruned, json);
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn report_prune(
    place: &Place<'_>,
    inv: &Inventory,
    sel: &PruneSettings,
    closed_skipped: bool,
    pruned: &[Pruned<'_>],
    json: bool,
) {
    let kept = inv.previews.len() - pruned.len();
    if json {
        let items: Vec<_> = pruned
            .iter()
            .map(|p| {
                let mut v = preview_json(p.preview);
                v["reasons"] = serde_json::json!(p.reasons);
                v["result"] = serde_json::json!(p.result);
                v
            })
            .collect();
        let value = serde_json::json!({
            "appId": place.app_id,
            "region": place.region,
            "dryRun": sel.dry_run,
            "closedSkipped": closed_skipped,
            "pruned": items,
            "kept": kept,
        });
        println!("{}", to_line(&value));
        return;
    }
    println!("{}", log_line(&header(place, inv)));
    for p in pruned {
        println!(
            "{}",
            log_line(&format!(
                "{}: {} (pull request #{}): {}",
                p.result,
                p.preview.branch,
                p.preview.pr,
                p.reasons.join(", ")
            ))
        );
    }
    let done = if sel.dry_run {
        format!(
            "dry run: {} would be removed, nothing was changed",
            pruned.len()
        )
    } else {
        let removed = pruned.iter().filter(|p| p.result != "failed").count();
        format!("{removed} removed")
    };
    println!("{}", log_line(&format!("{done}; {kept} kept")));
}
