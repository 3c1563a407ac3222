//! The tree digest: one SHA-256 that names what a package holds, computed
//! from the folder without compressing anything, so that a deploy can tell
//! an unchanged tree before it builds the zip.
//!
//! # Definition (format [`TREE_DIGEST_FORMAT`] = 1)
//!
//! SHA-256 of this byte string (integers unsigned, big-endian):
//! 1. the tag `amplify-deploy tree digest` (its length as u64, then its
//!    bytes) and the format version (u32);
//! 2. the timestamp stamped on every entry, in seconds since the epoch
//!    (u64): `SOURCE_DATE_EPOCH` clamped to what a zip can hold (1980 to
//!    2107), or 1980-01-01 without it;
//! 3. each entry, in archive order (byte order of the names): a byte `1`,
//!    the name's length (u64) and its bytes, exactly as stored in the zip
//!    (UTF-8, never normalised), the mode the zip stores for it (u32), its
//!    size (u64) and the SHA-256 of its content (32 bytes);
//! 4. a byte `0` and the number of entries (u64).
//!
//! Every variable field is length-prefixed or fixed-width, so no two trees
//! encode to the same string. The digest is rendered as 64 lower-case hex
//! digits, which an AWS tag value can hold.
//!
//! What the digest covers is what shapes the zip: the names, the contents
//! and the timestamp. Excludes, `.amplifyignore`, left-out rule files and
//! generated files (a `customHttp.yml` made from `_headers`) count through
//! the entries they add, remove or change. The zip keeps no permissions
//! (every entry is `rw-r--r--`), so an exec bit changes neither the zip nor
//! the digest. Options that change nothing in the zip (threads, the kept
//! entry, the size limit) and the folder's place on disk are left out. How
//! the zip is compressed (deflate level, chunking) is fixed for a format
//! version; a change there that changes what the site serves must bump it.
//!
//! Both paths build the digest with one [`DigestBuilder`]: [`tree_digest`]
//! from the walk, hashing the files in parallel; packaging as it writes the
//! zip, from each file's hash taken while it was read for compression.
//! [`tree_digest`] walks exactly as packaging does (same filters, names
//! checks and errors), except that it cannot know the zip's size, so it
//! never reports [`PackageError::TooLarge`].

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::ordered::{self, Budget, InOrder, Msg};
use super::walk::{self, Listing, SourceFile};
use super::write::{self, Tuning};
use super::{container, Control, PackageError, PackageOptions};

/// Version of the digest's definition, hashed into it: a digest from
/// another version never matches.
pub const TREE_DIGEST_FORMAT: u32 = 1;

const TAG: &[u8] = b"amplify-deploy tree digest";

/// What [`tree_digest`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeDigest {
    /// 64 lower-case hex digits.
    pub digest: String,
    /// Entries the zip would hold, generated files included.
    pub file_count: u64,
    /// Sum of their sizes.
    pub bytes: u64,
    pub elapsed: Duration,
    /// What packaging would warn about (a symlink leaving the folder...).
    pub warnings: Vec<String>,
}

/// Builds the digest from the entries, fed in archive order.
pub(super) struct DigestBuilder {
    hasher: Sha256,
    count: u64,
    bytes: u64,
    /// The last name added: each must sort after it.
    last: String,
}

impl DigestBuilder {
    pub(super) fn new(source_date_epoch: Option<u64>) -> Self {
        let mut hasher = Sha256::new();
        hasher.update((TAG.len() as u64).to_be_bytes());
        hasher.update(TAG);
        hasher.update(TREE_DIGEST_FORMAT.to_be_bytes());
        hasher.update(write::entry_seconds(source_date_epoch).to_be_bytes());
        DigestBuilder {
            hasher,
            count: 0,
            bytes: 0,
            last: String::new(),
        }
    }

    /// Add the next entry: `content` is the SHA-256 of its `size` bytes.
    /// Refuses what the zip writer refuses: a name too long for a zip, or
    /// one that does not sort after the previous.
    pub(super) fn add(
        &mut self,
        name: &str,
        size: u64,
        content: &[u8; 32],
    ) -> Result<(), PackageError> {
        if u16::try_from(name.len()).is_err() {
            return Err(PackageError::NameTooLong { name: name.into() });
        }
        if self.count > 0 && name.as_bytes() <= self.last.as_bytes() {
            if name == self.last {
                return Err(PackageError::DuplicateName { name: name.into() });
            }
            return Err(PackageError::Output {
                path: Default::default(),
                source: io::Error::other(format!("internal error: entry {name:?} out of order")),
            });
        }
        self.hasher.update([1]);
        self.hasher.update((name.len() as u64).to_be_bytes());
        self.hasher.update(name.as_bytes());
        self.hasher.update(container::FILE_MODE.to_be_bytes());
        self.hasher.update(size.to_be_bytes());
        self.hasher.update(content);
        self.count += 1;
        self.bytes += size;
        self.last.clear();
        self.last.push_str(name);
        Ok(())
    }

    pub(super) fn count(&self) -> u64 {
        self.count
    }

    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest, as lower-case hex.
    pub(super) fn finish(mut self) -> String {
        self.hasher.update([0]);
        self.hasher.update(self.count.to_be_bytes());
        hex::encode(self.hasher.finalize())
    }
}

/// The digest of the zip that packaging `opts` would write, computed from
/// the folder alone: it walks as packaging does and hashes every file on
/// `opts.threads` threads, but writes and compresses nothing.
///
/// `control` hears when the folder is listed, counts the files hashed as
/// packed, and stops the run with [`PackageError::Cancelled`].
pub fn tree_digest(opts: &PackageOptions, control: &Control) -> Result<TreeDigest, PackageError> {
    tree_digest_with(opts, &Tuning::default(), control)
}

pub(super) fn tree_digest_with(
    opts: &PackageOptions,
    tuning: &Tuning,
    control: &Control,
) -> Result<TreeDigest, PackageError> {
    let started = Instant::now();
    let walk = walk::Walk::new(opts, None)?;
    // Held until every file is hashed: the walk reads them like files.
    let (walk, _generated) = walk::with_generated(Box::new(walk), &opts.generated)?;
    let walk = walk::Watched::new(walk, control.clone(), &opts.root);
    let mut digest = digest_listing(opts, Box::new(walk), tuning, control)?;
    digest.elapsed = started.elapsed();
    Ok(digest)
}

/// The digest of the files `listing` yields, hashed on `opts.threads`.
pub(super) fn digest_listing(
    opts: &PackageOptions,
    listing: Box<dyn Listing>,
    tuning: &Tuning,
    control: &Control,
) -> Result<TreeDigest, PackageError> {
    let started = Instant::now();
    let hashing = Hashing {
        block: block_size(tuning),
        batches: Batches::new(listing, tuning),
        control: control.clone(),
    };
    let mut builder = DigestBuilder::new(opts.source_date_epoch);
    let pool = ordered::pool(opts.threads, "digest").map_err(|source| PackageError::Output {
        path: Default::default(),
        source,
    })?;
    // Batches waiting or being hashed: bounds what the walk holds ahead.
    let budget = Budget::new(IN_FLIGHT_BATCHES);
    let warnings = ordered::run(hashing, pool.as_ref(), &budget, |order| {
        collect(&mut builder, control, order, &budget)
    })?;
    Ok(TreeDigest {
        file_count: builder.count(),
        bytes: builder.bytes(),
        digest: builder.finish(),
        elapsed: started.elapsed(),
        warnings,
    })
}

/// Files hashed together, in archive order, or what stopped the listing.
enum Batch {
    Files(Vec<SourceFile>),
    Failed(PackageError),
}

/// A batch's result: each file's name, size and content hash, then what
/// stopped it, if anything did.
struct Hashed {
    entries: Vec<(String, u64, [u8; 32])>,
    error: Option<PackageError>,
}

/// The listing cut into batches as packaging cuts it: runs of small files
/// up to `batch_bytes` and `batch_files`, a file too large to be
/// compressed whole alone (hashed in blocks of `chunk` bytes).
struct Batches {
    listing: Box<dyn Listing>,
    tuning: Tuning,
    pending: Vec<SourceFile>,
    pending_bytes: u64,
    /// Made while filling `pending`, handed out after it.
    next: Option<Batch>,
}

impl Batches {
    fn new(listing: Box<dyn Listing>, tuning: &Tuning) -> Self {
        Batches {
            listing,
            tuning: tuning.clone(),
            pending: Vec::new(),
            pending_bytes: 0,
            next: None,
        }
    }

    fn take_pending(&mut self) -> Option<Batch> {
        self.pending_bytes = 0;
        let files = std::mem::take(&mut self.pending);
        (!files.is_empty()).then_some(Batch::Files(files))
    }

    fn warnings(&mut self) -> Vec<String> {
        self.listing.take_warnings()
    }
}

impl Iterator for Batches {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if let Some(batch) = self.next.take() {
            return Some(batch);
        }
        loop {
            let file = match self.listing.next() {
                None => return self.take_pending(),
                Some(Err(error)) => {
                    self.next = Some(Batch::Failed(error));
                    return self.take_pending().or_else(|| self.next.take());
                }
                Some(Ok(file)) => file,
            };
            if file.size > self.tuning.whole_max {
                self.next = Some(Batch::Files(vec![file]));
                return self.take_pending().or_else(|| self.next.take());
            }
            let full = self.pending_bytes + file.size > self.tuning.batch_bytes;
            let ready = if full { self.take_pending() } else { None };
            self.pending_bytes += file.size;
            self.pending.push(file);
            if self.pending.len() >= self.tuning.batch_files {
                self.next = self.take_pending();
            }
            if let Some(batch) = ready.or_else(|| self.next.take()) {
                return Some(batch);
            }
        }
    }
}

/// Batches in flight at most (each up to `batch_files` names).
const IN_FLIGHT_BATCHES: u64 = 64;

/// The batches as jobs, each hashing its files; a batch costs 1 in the
/// budget.
struct Hashing {
    batches: Batches,
    block: usize,
    control: Control,
}

impl ordered::Jobs for Hashing {
    type Output = Hashed;
    type End = Vec<String>;

    fn next_job(&mut self) -> Option<(u64, ordered::Job<Hashed>)> {
        let batch = self.batches.next()?;
        let (block, control) = (self.block, self.control.clone());
        Some((1, Box::new(move || hash_batch(batch, block, &control))))
    }

    fn end(&mut self) -> Vec<String> {
        self.batches.warnings()
    }
}

/// Feed the batches' entries to `builder` in archive order, giving each
/// batch's place in `budget` back; the first error in that order ends the
/// run.
fn collect(
    builder: &mut DigestBuilder,
    control: &Control,
    mut order: InOrder<Hashing>,
    budget: &Budget,
) -> Result<Vec<String>, PackageError> {
    loop {
        let hashed = match order.next().ok_or_else(no_result)? {
            // As packaging, which is stopped until its last write.
            Msg::End(_) if control.is_cancelled() => return Err(PackageError::Cancelled),
            Msg::End(warnings) => return Ok(warnings),
            Msg::Output(hashed) => hashed,
        };
        budget.release(1);
        for (name, size, content) in &hashed.entries {
            builder.add(name, *size, content)?;
            control.packed_bytes(*size);
            control.packed_file();
        }
        if let Some(error) = hashed.error {
            return Err(error);
        }
    }
}

fn no_result() -> PackageError {
    PackageError::Output {
        path: Default::default(),
        source: io::Error::other("internal error: a hashing job ended without a result"),
    }
}

/// Bytes read at a time: a chunk, as packaging reads a large file.
fn block_size(tuning: &Tuning) -> usize {
    usize::try_from(tuning.chunk).unwrap_or(1 << 20).max(1)
}

thread_local! {
    // Where files are read, reused from batch to batch.
    static BLOCK: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn hash_batch(batch: Batch, block: usize, control: &Control) -> Hashed {
    let files = match batch {
        Batch::Files(files) => files,
        Batch::Failed(error) => {
            return Hashed {
                entries: Vec::new(),
                error: Some(error),
            }
        }
    };
    let mut out = Hashed {
        entries: Vec::with_capacity(files.len()),
        error: None,
    };
    BLOCK.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() != block {
            *buf = vec![0; block];
        }
        for file in files {
            match hash_file(&file, &mut buf, control) {
                Ok(content) => out.entries.push((file.name, file.size, content)),
                Err(error) => {
                    out.error = Some(error);
                    break;
                }
            }
        }
    });
    out
}

/// The SHA-256 of a file's content, read through `buf`. Like packaging, it
/// insists on the size seen when the folder was listed: a file that holds
/// fewer bytes now, or more, is [`PackageError::SizeChanged`].
fn hash_file(
    file: &SourceFile,
    buf: &mut [u8],
    control: &Control,
) -> Result<[u8; 32], PackageError> {
    if control.is_cancelled() {
        return Err(PackageError::Cancelled);
    }
    let unreadable = |source| write::unreadable_at(&file.path, source);
    // Asking for one byte past the listed size is how growth shows.
    let mut rest = File::open(&file.path)
        .map_err(unreadable)?
        .take(file.size.saturating_add(1));
    let mut hasher = Sha256::new();
    let mut read = 0u64;
    loop {
        let n = match rest.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(unreadable(err)),
        };
        hasher.update(&buf[..n]);
        read += n as u64;
        if control.is_cancelled() {
            return Err(PackageError::Cancelled);
        }
    }
    if read != file.size {
        return Err(PackageError::SizeChanged {
            path: file.path.clone(),
            size: file.size,
        });
    }
    Ok(hasher.finalize().into())
}
