//! `amplify-deploy package`: write the archive `deploy` would upload, and
//! say what is in it.

use crate::error::RunError;
use crate::package;
use crate::report::Reporter;
use crate::settings::PackageSettings;

pub async fn package(s: &PackageSettings, reporter: &Reporter) -> Result<(), RunError> {
    let mut opts = s.filter.package_options(&s.path)?;
    crate::rules::site::apply_to_package(&mut opts, s.filter.keep_rule_files)?;
    let output = s.output.clone();
    let control = package::Control::default();
    let ticker = crate::progress::packaging_ticker(reporter, &control);
    let report = tokio::task::spawn_blocking(move || {
        package::package_to_file_with(&opts, &output, &control)
    })
    .await
    .map_err(|e| RunError::input(format!("packaging stopped: {e}")))?
    .map_err(RunError::from)?;
    drop(ticker);
    for w in &report.warnings {
        reporter.warning(w);
    }
    reporter.result(format!(
        "{}: {} files, {} in, {} out, sha256 {}, {:.2}s",
        s.output.display(),
        report.file_count,
        report.bytes_in,
        report.bytes_out,
        report.sha256,
        report.elapsed.as_secs_f64()
    ));
    Ok(())
}
