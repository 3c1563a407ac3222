//! Packaging: walk the build folder, filter it, compress it and write the
//! deterministic zip that Amplify receives.
//!
//! The archive holds the folder's *contents* (so `index.html` sits at the
//! root), entries sorted by path, with fixed timestamps and permissions, so
//! the same contents always give the same bytes.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Amplify's limit for a manual-deploy zip (Amplify user guide: 5 GB).
pub const MAX_ARCHIVE_BYTES: u64 = 5_000_000_000;

/// What to package and how.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The build folder; its contents become the archive root.
    pub root: PathBuf,
    /// gitignore-style patterns to leave out (on top of `.amplifyignore`).
    pub excludes: Vec<String>,
    /// Compression threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Timestamp for every entry (seconds since the epoch), from
    /// `SOURCE_DATE_EPOCH` when set.
    pub source_date_epoch: Option<u64>,
    /// Refuse archives larger than this many bytes.
    pub max_archive_bytes: u64,
}

impl PackageOptions {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        PackageOptions {
            root: root.into(),
            excludes: Vec::new(),
            threads: None,
            source_date_epoch: None,
            max_archive_bytes: MAX_ARCHIVE_BYTES,
        }
    }
}

/// What packaging produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageReport {
    pub file_count: u64,
    /// Sum of the sizes of the files read.
    pub bytes_in: u64,
    /// Size of the archive.
    pub bytes_out: u64,
    /// Lower-case hex SHA-256 of the archive.
    pub sha256: String,
    pub elapsed: Duration,
    /// Things the user should know but that did not stop packaging, e.g. a
    /// symlink leaving the folder that was skipped. One line each.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("path {path}: not found")]
    NotFound { path: PathBuf },
    #[error("path {path}: not a directory")]
    NotADirectory { path: PathBuf },
    #[error("path {path}: holds no files to deploy")]
    Empty { path: PathBuf },
}

/// Package `opts.root` into the zip file at `out`.
pub fn package_to_file(opts: &PackageOptions, out: &Path) -> Result<PackageReport, PackageError> {
    let _ = (opts, out);
    todo!("packaging")
}
