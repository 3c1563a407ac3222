//! Package: the folder into a temporary zip, off the async threads, with
//! the read (GetApp, GetBranch, ListJobs: see [`read`]) alongside.
//!
//! The read starts once the folder has been listed, so that a name that
//! cannot be served or an unreadable folder is still refused before
//! anything reaches the service, and runs while the files are compressed:
//! a mistyped app id then fails in a second, not after packaging a large
//! site, and stops the packaging. The log reads as before: the packaging
//! group, then the "packaged" line, then the read's group with its retries
//! (held back until then); a failed read leaves out the "packaged" line.
//! Packaging changes nothing: it runs before the decision.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::RunError;
use crate::http::{RetryEvent, RetryObserver};
use crate::outcome::PackageFacts;
use crate::package::{self, human_bytes, Control, PackageOptions, PackageReport, TreeDigest};
use crate::progress::packaging_ticker;

use super::read::{self, Facts};
use super::{lock, Ctx};

/// The zip, packaged.
#[derive(Debug, Clone)]
pub(super) struct Packaged {
    pub(super) path: PathBuf,
    /// Lower-case hex SHA-256 of the zip.
    pub(super) sha256: String,
    /// The bytes of the page the live check compares, when packaged whole.
    pub(super) kept: Option<Vec<u8>>,
    /// The digest of the folder it was made from (see `package::digest`).
    pub(super) tree: String,
    /// What the reports say of it.
    pub(super) facts: PackageFacts,
    pub(super) took: std::time::Duration,
}

/// Package the folder and read the app and branch alongside.
pub(super) async fn package_and_read(
    ctx: &Ctx,
    opts: PackageOptions,
) -> Result<(Packaged, Facts), RunError> {
    let work = |control| package_folder(ctx, opts, control);
    let show = |(_, report): &(PathBuf, PackageReport)| show_packaged(ctx, report);
    let ((path, report), facts) = with_read(ctx, "Packaging", work, show).await?;
    Ok((packaged_from(path, report), facts))
}

/// The tree's digest (`--skip-unchanged`: nothing is compressed), with
/// the read alongside.
pub(super) async fn digest_and_read(
    ctx: &Ctx,
    opts: PackageOptions,
) -> Result<(TreeDigest, Facts), RunError> {
    let work = |control: Control| async move {
        tokio::task::spawn_blocking(move || package::tree_digest(&opts, &control))
            .await
            .map_err(|e| RunError::input(format!("reading the folder stopped: {e}")))?
            .map_err(RunError::from)
    };
    let show = |d: &TreeDigest| show_digest(ctx, d);
    with_read(ctx, "Reading the folder", work, show).await
}

/// Local work on the folder (`work`, given the control that stops it),
/// and the read alongside once the folder is listed; `show` prints what
/// the work found, inside its group.
///
/// A failed read is reported over an error of the work (which it causes,
/// by stopping the work); otherwise the work's error wins.
async fn with_read<T, F>(
    ctx: &Ctx,
    title: &str,
    work: impl FnOnce(Control) -> F,
    show: impl FnOnce(&T),
) -> Result<(T, Facts), RunError>
where
    F: std::future::Future<Output = Result<T, RunError>>,
{
    let (listed_tx, mut listed) = tokio::sync::watch::channel(false);
    let was_listed = listed.clone();
    let control = Control::on_listed(move || {
        listed_tx.send_replace(true);
    });
    // Dropped with the run (a signal, the timeout): stop the work too.
    let _stop = StopOnDrop(control.clone());
    let held = Arc::new(Mutex::new(Vec::<RetryEvent>::new()));
    let client = ctx.client.with_observer(holding(&held));
    let check = async {
        let _ = listed.wait_for(|l| *l).await;
        let r = read::read(ctx, &client).await;
        if r.is_err() {
            control.cancel();
        }
        r
    };
    let group = ctx.reporter.open_group(title);
    let ticker = packaging_ticker(&ctx.reporter, &control);
    let working = work(control.clone());
    tokio::pin!(check, working);
    let mut checked = None;
    let done = loop {
        tokio::select! {
            r = &mut check, if checked.is_none() => checked = Some(r),
            r = &mut working => break r,
        }
    };
    drop(ticker);
    // The read ran when the folder was listed: its answer decides.
    let checked = match (checked, *was_listed.borrow()) {
        (Some(r), _) => Some(r),
        (None, true) => Some(check.await),
        (None, false) => None,
    };
    if let Some(Err(e)) = checked {
        drop(group);
        show_checking(ctx, &held);
        return Err(e);
    }
    let done = done?;
    show(&done);
    drop(group);
    show_checking(ctx, &held);
    // With no error, the folder was listed and the read ran.
    let facts = match checked {
        Some(r) => r?,
        None => read::read(ctx, &ctx.client).await?,
    };
    Ok((done, facts))
}

/// The digest's line: what was read, and in how long.
fn show_digest(ctx: &Ctx, d: &TreeDigest) {
    for w in &d.warnings {
        ctx.reporter.warning(w);
    }
    ctx.reporter.line(format!(
        "read {} files, {}, in {:.1}s (tree {})",
        d.file_count,
        human_bytes(d.bytes),
        d.elapsed.as_secs_f64(),
        d.digest
    ));
}

/// Package the folder, the read done already.
pub(super) async fn package(ctx: &Ctx, opts: PackageOptions) -> Result<Packaged, RunError> {
    let control = Control::default();
    let _stop = StopOnDrop(control.clone());
    let group = ctx.reporter.open_group("Packaging");
    let ticker = packaging_ticker(&ctx.reporter, &control);
    let packaged = package_folder(ctx, opts, control).await;
    drop(ticker);
    let (path, report) = packaged?;
    show_packaged(ctx, &report);
    drop(group);
    Ok(packaged_from(path, report))
}

fn packaged_from(path: PathBuf, report: PackageReport) -> Packaged {
    Packaged {
        path,
        facts: PackageFacts {
            file_count: report.file_count,
            bytes: report.bytes_out,
            sha256: report.sha256.clone(),
        },
        sha256: report.sha256,
        tree: report.tree_digest,
        kept: report.kept,
        took: report.elapsed,
    }
}

/// Stops a packaging run when dropped.
struct StopOnDrop(Control);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// An observer that holds the retries back, to show them in their group.
fn holding(held: &Arc<Mutex<Vec<RetryEvent>>>) -> RetryObserver {
    let held = Arc::clone(held);
    Arc::new(move |e: &RetryEvent| {
        held.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e.clone())
    })
}

/// The read's group: the retries it made, held back until now. No
/// retries, no group (an empty group is noise in the log).
fn show_checking(ctx: &Ctx, held: &Mutex<Vec<RetryEvent>>) {
    let held: Vec<RetryEvent> = held
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain(..)
        .collect();
    if held.is_empty() {
        return;
    }
    let _group = ctx.reporter.open_group("Checking app and branch");
    for e in &held {
        (ctx.observer)(e);
    }
}

/// What went into the zip: warnings and the "packaged" line.
fn show_packaged(ctx: &Ctx, report: &PackageReport) {
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
}

/// Package into a temporary file (removed when the run ends).
async fn package_folder(
    ctx: &Ctx,
    opts: PackageOptions,
    control: Control,
) -> Result<(PathBuf, PackageReport), RunError> {
    let dir = &ctx.settings.temp_dir;
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
    let report =
        tokio::task::spawn_blocking(move || package::package_to_file_with(&opts, &out, &control))
            .await
            .map_err(|e| RunError::input(format!("packaging stopped: {e}")))?
            .map_err(RunError::from)?;
    Ok((path, report))
}
