//! Package: the folder into a temporary zip, off the async threads.

use std::path::PathBuf;

use crate::error::RunError;
use crate::outcome::PackageFacts;
use crate::package::{self, human_bytes, PackageOptions, PackageReport};

use super::{lock, Ctx};

/// Package the folder (a group of the log of its own), report what went
/// in, and return the zip's path.
pub(super) async fn package_step(ctx: &Ctx, opts: PackageOptions) -> Result<PathBuf, RunError> {
    ctx.reporter.group("Packaging");
    let r = package_folder(ctx, opts).await;
    ctx.reporter.end_group();
    let (tmp, report) = r?;
    for w in &report.warnings {
        ctx.reporter.warning(w);
    }
    ctx.reporter.line(format!(
        "packaged {} files, {} in, {} zip, in {:.1}s (sha256 {})",
        report.file_count,
        human_bytes(report.bytes_in),
        human_bytes(report.bytes_out),
        report.elapsed.as_secs_f64(),
        report.sha256
    ));
    ctx.with_outcome(|o| {
        o.package = Some(PackageFacts {
            file_count: report.file_count,
            bytes: report.bytes_out,
            sha256: report.sha256.clone(),
        });
        o.phases.push(("package".into(), report.elapsed));
    });
    Ok(tmp)
}

/// Package into a temporary file (removed when the run ends).
async fn package_folder(
    ctx: &Ctx,
    opts: PackageOptions,
) -> Result<(PathBuf, PackageReport), RunError> {
    let dir = &ctx.plan.temp_dir;
    let tmp = tempfile::Builder::new()
        .prefix("amplify-deploy-")
        .suffix(".zip")
        .tempfile_in(dir)
        .map_err(|e| {
            RunError::input(format!(
                "cannot create a temporary file in {}: {e}",
                dir.display()
            ))
        })?
        .into_temp_path();
    let path = tmp.to_path_buf();
    lock(&ctx.state).zip = Some(tmp);
    let out = path.clone();
    let report = tokio::task::spawn_blocking(move || package::package_to_file(&opts, &out))
        .await
        .map_err(|e| RunError::input(format!("packaging stopped: {e}")))?
        .map_err(RunError::from)?;
    Ok((path, report))
}
