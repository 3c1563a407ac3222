//! Apply a rule list to an app: GetApp, the diff against its current
//! `customRules`, and UpdateApp only when something changed (never on a
//! dry run). Shared by `rules sync` and `deploy --sync-rules`.

use crate::amplify::{ApiError, Client, CustomRule};
use crate::report::Reporter;

use super::diff;

/// What a sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    /// The app already had exactly these rules: no UpdateApp.
    Unchanged,
    /// UpdateApp wrote the new rules.
    Updated,
    /// A dry run: the diff was shown, nothing was changed.
    WouldUpdate,
}

/// Sync the app's rules to `rules`, telling `reporter` the diff (every
/// rule, marked `-` removed, `+` added). `from` says where the rules come
/// from, for the heading.
pub async fn sync(
    client: &Client,
    app_id: &str,
    rules: &[CustomRule],
    from: &str,
    dry_run: bool,
    reporter: &Reporter,
) -> Result<Synced, ApiError> {
    let app = client.get_app(app_id).await?;
    let current = app.custom_rules.unwrap_or_default();
    let d = diff(&current, rules);
    reporter.result(format!(
        "rules of app {app_id} from {from}: {} added, {} removed, {} kept",
        d.added(),
        d.removed(),
        d.lines.len() - d.added() - d.removed()
    ));
    for (mark, line) in &d.lines {
        reporter.result(format!("{mark} {line}"));
    }
    if !d.changed() {
        reporter.result("the app's rules are up to date: nothing to change");
        return Ok(Synced::Unchanged);
    }
    if dry_run {
        reporter.result("dry run: the app's rules were not changed");
        return Ok(Synced::WouldUpdate);
    }
    client.set_app_rules(app_id, rules).await?;
    reporter.result(format!("updated the rules of app {app_id} (UpdateApp)"));
    Ok(Synced::Updated)
}
