//! `--dry-run`: the account of what the deploy would do, printed once the
//! run has read and decided; nothing is changed.

use crate::http;
use crate::outcome::Outcome;
use crate::package::human_bytes;
use crate::settings::Source;

use super::Ctx;

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
    if let Source::Url { url, .. } = &ctx.source {
        r.line(format!("  source    {}", http::redact_url(url)));
    }
    if let (Some(store), Some(p)) = (&ctx.settings.store, &o.package) {
        r.line(format!(
            "  artifact  {}",
            store.store.artifact(&p.sha256).s3_url()
        ));
    }
    r.line(format!("  would     {would}"));
}
