//! Packaging: walk the build folder, filter it, compress it and write the
//! deterministic zip that Amplify receives.
//!
//! The archive holds the folder's *contents* (so `index.html` sits at the
//! root), entries sorted by path, with fixed timestamps and permissions, so
//! the same contents always give the same bytes.
//!
//! The work is split in three stages, one submodule each, that run at the
//! same time:
//! - [`walk`] lists the files to ship (filters, symlink rules, name checks),
//!   already in archive order;
//! - [`compress`] turns one file, or one chunk of a large file, into the
//!   bytes of a zip entry (deflate or stored), on any thread;
//! - [`write`] runs the compression jobs in parallel with bounded memory and
//!   writes their results into the zip in a fixed order, framed by [`container`].
//!
//! Beside them, [`digest`] names what a zip holds without building it (the
//! tree digest, [`tree_digest`]), which packaging also reports, so that a
//! deploy can tell an unchanged folder before it compresses anything.
//!
//! Entry names are the files' paths relative to the folder, byte for byte
//! as UTF-8: never normalised, so `:`, every script, and both the composed
//! and decomposed forms of an accented letter reach the service as they are
//! on disk. What cannot be served that way is refused, naming the file.

mod compress;
mod container;
mod digest;
pub mod entry;
mod ordered;
pub mod unpack;
mod walk;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use digest::{tree_digest, TreeDigest, TREE_DIGEST_FORMAT};

/// Amplify's limit for a manual-deploy zip (Amplify user guide: 5 GB).
pub const MAX_ARCHIVE_BYTES: u64 = 5_000_000_000;

/// Name of the ignore file read from the root of the folder (gitignore
/// syntax). The file itself is never shipped.
pub const IGNORE_FILE: &str = ".amplifyignore";

/// What to package and how.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The build folder; its contents become the archive root.
    pub root: PathBuf,
    /// gitignore-style patterns to leave out (on top of `.amplifyignore`).
    pub excludes: Vec<String>,
    /// Compression threads; `None` uses every core. `Some(1)` does all the
    /// work (reading, compressing, writing) on the calling thread.
    pub threads: Option<usize>,
    /// Timestamp for every entry (seconds since the epoch), from
    /// `SOURCE_DATE_EPOCH` when set.
    pub source_date_epoch: Option<u64>,
    /// Refuse archives larger than this many bytes.
    pub max_archive_bytes: u64,
    /// An entry whose bytes to keep, as they went into the archive (the
    /// live check compares the site with it); kept when it is at most
    /// 8 MiB (compressed in one piece).
    pub keep: Option<String>,
    /// Files made for the package, not read from the folder (a
    /// `customHttp.yml` written from `_headers`), put in archive order.
    pub generated: Vec<Generated>,
    /// Names at the folder's root left out (`_headers`, `_redirects`).
    pub leave_out: Vec<String>,
}

/// A file the package gains that the folder does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Entry name, relative, `/`-separated.
    pub name: String,
    pub bytes: Vec<u8>,
}

impl PackageOptions {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        PackageOptions {
            root: root.into(),
            excludes: Vec::new(),
            threads: None,
            source_date_epoch: None,
            max_archive_bytes: MAX_ARCHIVE_BYTES,
            keep: None,
            generated: Vec::new(),
            leave_out: Vec::new(),
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
    /// The [`tree_digest`] of what the archive holds (64 lower-case hex
    /// digits), taken while packaging.
    pub tree_digest: String,
    pub elapsed: Duration,
    /// Things the user should know but that did not stop packaging, e.g. a
    /// symlink leaving the folder that was skipped. One line each.
    pub warnings: Vec<String>,
    /// The bytes of [`PackageOptions::keep`], when it was packaged whole.
    pub kept: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("path {path}: not found")]
    NotFound { path: PathBuf },
    #[error("path {path}: not a directory")]
    NotADirectory { path: PathBuf },
    #[error("path {path}: holds no files to deploy")]
    Empty { path: PathBuf },
    #[error("exclude pattern {pattern:?} is not a valid gitignore pattern")]
    BadExclude {
        pattern: String,
        #[source]
        source: ignore::Error,
    },
    #[error("file name {path:?} is not valid UTF-8: rename it or exclude it")]
    NonUtf8Name { path: PathBuf },
    #[error("file name {path:?} cannot be served: it contains {what}: rename it or exclude it")]
    UnservableName { path: PathBuf, what: &'static str },
    #[error("two files would both be stored as {name:?}")]
    DuplicateName { name: String },
    #[error("file name {name:?} is longer than the 65535 bytes a zip entry name can hold")]
    NameTooLong { name: String },
    #[error("{path} changed size while it was being packaged (it had {size} bytes when the folder was listed): package once the build has finished writing")]
    SizeChanged { path: PathBuf, size: u64 },
    #[error("archive exceeds the limit of {limit} bytes (reached while adding {path}): exclude large files")]
    TooLarge { limit: u64, path: String },
    #[error("symlink loop at {path}: remove the link or exclude it")]
    SymlinkLoop {
        path: PathBuf,
        /// What the OS said, when it was the OS that found the loop.
        #[source]
        source: Option<std::io::Error>,
    },
    #[error("cannot read {path}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the archive {path}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// [`Control::cancel`] stopped the run.
    #[error("packaging was stopped")]
    Cancelled,
}

/// A packaging run seen from another thread: told when the folder has been
/// listed (every name checked, every file found; compression goes on), and
/// able to stop the run, which then ends soon with
/// [`PackageError::Cancelled`] and leaves no file behind.
#[derive(Clone, Default)]
pub struct Control {
    cancelled: Arc<AtomicBool>,
    on_listed: Option<Arc<dyn Fn() + Send + Sync>>,
    counts: Arc<Counts>,
}

/// How far a run is, for progress: counters another thread reads.
#[derive(Debug, Default)]
pub struct Counts {
    /// Files (and their bytes) listed so far; the totals once listed.
    pub files_found: AtomicU64,
    pub bytes_found: AtomicU64,
    /// Files (and their bytes) written into the zip so far.
    pub files_packed: AtomicU64,
    pub bytes_packed: AtomicU64,
    pub listed: AtomicBool,
}

impl Control {
    /// A control that calls `f` once the folder has been listed.
    pub fn on_listed(f: impl Fn() + Send + Sync + 'static) -> Control {
        Control {
            on_listed: Some(Arc::new(f)),
            ..Control::default()
        }
    }

    /// Stop the run.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The run's counters.
    pub fn counts(&self) -> Arc<Counts> {
        Arc::clone(&self.counts)
    }

    fn found(&self, bytes: u64) {
        self.counts.files_found.fetch_add(1, Ordering::Relaxed);
        self.counts.bytes_found.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A piece of a file (a large file is compressed in chunks) is in the zip.
    fn packed_bytes(&self, bytes: u64) {
        self.counts.bytes_packed.fetch_add(bytes, Ordering::Relaxed);
    }

    fn packed_file(&self) {
        self.counts.files_packed.fetch_add(1, Ordering::Relaxed);
    }

    fn listed(&self) {
        self.counts.listed.store(true, Ordering::Relaxed);
        if let Some(f) = &self.on_listed {
            f();
        }
    }
}

/// Package `opts.root` into the zip file at `out`.
///
/// The archive is written to a temporary file next to `out` and renamed
/// into place only when complete, so a failed run never leaves a partial
/// zip behind.
pub fn package_to_file(opts: &PackageOptions, out: &Path) -> Result<PackageReport, PackageError> {
    package_to_file_with(opts, out, &Control::default())
}

/// [`package_to_file`], followed and stoppable through `control`.
pub fn package_to_file_with(
    opts: &PackageOptions,
    out: &Path,
    control: &Control,
) -> Result<PackageReport, PackageError> {
    package_with(opts, out, &write::Tuning::default(), control)
}

fn package_with(
    opts: &PackageOptions,
    out: &Path,
    tuning: &write::Tuning,
    control: &Control,
) -> Result<PackageReport, PackageError> {
    let started = Instant::now();
    let walk = walk::Walk::new(opts, Some(out))?;
    // Made before the walk reaches it, as it may lie inside the folder.
    let tmp = write::temp_archive(out)?;
    let walk = walk.skipping(tmp.path());
    // Held until the archive is written: the walk reads them like files.
    let (walk, _generated) = walk::with_generated(Box::new(walk), &opts.generated)?;
    let walk = walk::Watched::new(walk, control.clone(), &opts.root);
    let written = write::write_archive(opts, Box::new(walk), tmp, out, tuning, control)?;
    Ok(PackageReport {
        file_count: written.file_count,
        bytes_in: written.bytes_in,
        bytes_out: written.bytes_out,
        sha256: written.sha256,
        tree_digest: written.tree_digest,
        elapsed: started.elapsed(),
        warnings: written.warnings,
        kept: written.kept,
    })
}

/// A size as people read it: `512 B`, `1.5 KiB`, `2.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests;
