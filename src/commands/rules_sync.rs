//! `amplify-deploy rules sync`: the app's redirects and rewrites
//! (`customRules`) from a `_redirects` file and `--spa`, with the diff
//! printed first. The file is translated before anything is sent.

use crate::connection;
use crate::error::RunError;
use crate::explain::{explain, Scope};
use crate::report::Reporter;
use crate::rules;
use crate::settings::RulesSyncSettings;

pub async fn sync(s: &RulesSyncSettings, reporter: &Reporter) -> Result<(), RunError> {
    let app_id = &s.app_id;
    let (wanted, from) = rules::site::desired_rules(s.from.as_deref(), s.spa, &s.not_found_page)?;
    let conn = connection::connect(&s.aws, reporter).await?;
    rules::sync::sync(&conn.client, app_id, &wanted, &from, s.dry_run, reporter)
        .await
        .map_err(|e| {
            explain(
                &e,
                &Scope {
                    app_id,
                    branch: "",
                    region: &conn.region,
                },
            )
        })?;
    Ok(())
}
