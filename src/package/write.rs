//! The parallel, order-preserving, memory-bounded zip writer.
//!
//! One dispatcher thread walks the sorted file list and turns it into jobs:
//! a whole small file, or one chunk of a large file. Jobs run on a rayon
//! pool and send their results back tagged with a sequence number; the
//! calling thread writes them into the zip strictly in sequence, so the
//! bytes never depend on which job finished first. Before dispatching a job
//! the dispatcher takes its size from a byte budget that the writer gives
//! back once the job's output is written, which caps the data in flight
//! whatever the file sizes are.
//!
//! The container is written with `rawzip`, which accepts data we compressed
//! ourselves and streams it (data descriptors, zip64 when sizes or offsets
//! need it), so a large file is never held whole in memory.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};

use rawzip::path::EntryPath;
use rawzip::time::UtcDateTime;
use rawzip::{CompressionMethod, DataDescriptorOutput, ZipArchiveWriter};
use sha2::{Digest, Sha256};

use super::compress::{self, Method};
use super::walk::SourceFile;
use super::{PackageError, PackageOptions};

/// Sizes that shape the pipeline; tests shrink them to exercise chunking on
/// small files.
#[derive(Debug, Clone)]
pub(super) struct Tuning {
    /// Files up to this size are compressed in one piece.
    pub whole_max: u64,
    /// Larger files are cut into chunks of this size.
    pub chunk: u64,
    /// Cap on the bytes read or compressed but not yet written.
    pub in_flight: u64,
    /// Bytes sampled to decide whether a large file compresses at all.
    pub probe: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            whole_max: 8 << 20,
            chunk: 1 << 20,
            in_flight: 64 << 20,
            probe: 128 << 10,
        }
    }
}

/// What the writer measured.
#[derive(Debug)]
pub(super) struct Written {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub sha256: String,
}

/// Every entry is a plain `rw-r--r--` file, whatever the disk says.
const FILE_MODE: u32 = 0o100_644;

/// The zip epoch, used when no `SOURCE_DATE_EPOCH` is given.
const DOS_EPOCH: u64 = 315_532_800; // 1980-01-01 00:00:00 UTC
/// The last second a DOS timestamp can hold.
const DOS_END: u64 = 4_354_819_199; // 2107-12-31 23:59:59 UTC

/// Write `files` (sorted) as a zip at `out`, via a temporary file in the
/// same directory that is renamed into place on success.
pub(super) fn write_archive(
    opts: &PackageOptions,
    files: &[SourceFile],
    out: &Path,
    tuning: &Tuning,
) -> Result<Written, PackageError> {
    let out_err = |source: io::Error| PackageError::Output {
        path: out.to_path_buf(),
        source,
    };
    let dir = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".amplify-deploy-")
        .suffix(".zip.tmp")
        .tempfile_in(dir)
        .map_err(out_err)?;
    let file = tmp.as_file().try_clone().map_err(out_err)?;
    let exceeded = Rc::new(Cell::new(false));
    let sink = Sink {
        out: BufWriter::with_capacity(1 << 20, file),
        hasher: Sha256::new(),
        count: 0,
        limit: opts.max_archive_bytes,
        exceeded: Rc::clone(&exceeded),
    };
    let budget = Budget::new(tuning.in_flight);
    let writer = EntryWriter {
        files,
        out,
        limit: opts.max_archive_bytes,
        exceeded,
        time: entry_time(opts.source_date_epoch),
        budget: &budget,
    };
    let result = if opts.threads == Some(1) {
        writer.write_all(sink, Source::Inline(Box::new(jobs(files, tuning))))
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads.unwrap_or(0))
            .thread_name(|i| format!("package-{i}"))
            .build()
            .map_err(|err| out_err(io::Error::other(err)))?;
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|scope| {
            let (pool, budget, cancel_flag) = (&pool, &budget, &cancel);
            scope.spawn(move || dispatch(jobs(files, tuning), pool, budget, cancel_flag, tx));
            let result = writer.write_all(sink, Source::Pool(rx));
            if result.is_err() {
                cancel.store(true, Ordering::Relaxed);
                budget.cancel();
            }
            result
        })
    };
    let (sink, bytes_in) = result?;

    let bytes_out = sink.count;
    let sha256 = hex::encode(sink.hasher.finalize());
    let file = sink
        .out
        .into_inner()
        .map_err(|err| out_err(err.into_error()))?;
    drop(file);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(out_err)?;
    }
    tmp.persist(out).map_err(|err| out_err(err.error))?;
    Ok(Written {
        bytes_in,
        bytes_out,
        sha256,
    })
}

/// Timestamp of every entry: `SOURCE_DATE_EPOCH` clamped to what a DOS
/// date can hold, or the zip epoch.
fn entry_time(source_date_epoch: Option<u64>) -> UtcDateTime {
    let secs = source_date_epoch
        .unwrap_or(DOS_EPOCH)
        .clamp(DOS_EPOCH, DOS_END);
    UtcDateTime::from_unix(secs as i64)
}

/// One job's output: a whole file, or one chunk of a large one.
struct Piece {
    first: bool,
    last: bool,
    method: Method,
    /// CRC-32 of this piece's uncompressed bytes.
    crc: crc32fast::Hasher,
    raw_len: u64,
    data: Vec<u8>,
    /// Budget taken when the job was dispatched.
    cost: u64,
}

type Sent = (u64, Result<Piece, PackageError>);

/// Budget cost of a job reading `len` bytes: its input plus its output.
fn cost_of(len: u64) -> u64 {
    len.saturating_mul(2).saturating_add(4096)
}

/// A unit of work: read and compress one file or one chunk of one.
type Job = Box<dyn FnOnce() -> Result<Piece, PackageError> + Send>;

/// The jobs for `files`, in archive order, each with its budget cost.
fn jobs<'a>(files: &'a [SourceFile], tuning: &'a Tuning) -> impl Iterator<Item = (u64, Job)> + 'a {
    files.iter().flat_map(move |file| file_jobs(file, tuning))
}

fn file_jobs(file: &SourceFile, tuning: &Tuning) -> Vec<(u64, Job)> {
    let precompressed = compress::is_precompressed(&file.name);
    if file.size <= tuning.whole_max {
        let cost = cost_of(file.size);
        let (path, size) = (file.path.clone(), file.size);
        let job = move || whole_piece(&path, size, precompressed, cost);
        return vec![(cost, Box::new(job))];
    }
    let method = if precompressed {
        Method::Stored
    } else {
        match read_range(&file.path, 0, tuning.probe.min(file.size)) {
            Ok(sample) if compress::looks_incompressible(&sample) => Method::Stored,
            Ok(_) => Method::Deflate,
            Err(source) => {
                let path = file.path.clone();
                return vec![(0, Box::new(move || Err(unreadable_at(&path, source))))];
            }
        }
    };
    let chunks = file.size.div_ceil(tuning.chunk);
    (0..chunks)
        .map(|k| {
            let start = k * tuning.chunk;
            let end = (start + tuning.chunk).min(file.size);
            let cost = cost_of(end - start + compress::WINDOW);
            let path = file.path.clone();
            let job = move || chunk_piece(&path, start, end, k == 0, k + 1 == chunks, method, cost);
            (cost, Box::new(job) as Job)
        })
        .collect()
}

/// Run `jobs` on the pool, in order, within the budget; results go to `tx`
/// tagged with their position.
fn dispatch(
    jobs: impl Iterator<Item = (u64, Job)>,
    pool: &rayon::ThreadPool,
    budget: &Budget,
    cancel: &Arc<AtomicBool>,
    tx: mpsc::Sender<Sent>,
) {
    for (seq, (cost, job)) in (0u64..).zip(jobs) {
        if !budget.acquire(cost) {
            return;
        }
        let (tx, cancel) = (tx.clone(), Arc::clone(cancel));
        pool.spawn(move || {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            // The receiver is gone only when the writer already failed.
            let _ = tx.send((seq, job()));
        });
    }
}

fn unreadable_at(path: &Path, source: io::Error) -> PackageError {
    PackageError::Unreadable {
        path: path.to_path_buf(),
        source,
    }
}

fn whole_piece(
    path: &Path,
    size: u64,
    precompressed: bool,
    cost: u64,
) -> Result<Piece, PackageError> {
    let data = read_range(path, 0, size).map_err(|source| unreadable_at(path, source))?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&data);
    let deflated = if precompressed {
        None
    } else {
        compress::deflate_whole(&data)
    };
    let (method, data) = match deflated {
        Some(out) => (Method::Deflate, out),
        None => (Method::Stored, data),
    };
    Ok(Piece {
        first: true,
        last: true,
        method,
        crc,
        raw_len: size,
        data,
        cost,
    })
}

fn chunk_piece(
    path: &Path,
    start: u64,
    end: u64,
    first: bool,
    last: bool,
    method: Method,
    cost: u64,
) -> Result<Piece, PackageError> {
    let from = match method {
        Method::Deflate => start.saturating_sub(compress::WINDOW),
        Method::Stored => start,
    };
    let mut buf =
        read_range(path, from, end - from).map_err(|source| unreadable_at(path, source))?;
    let split = usize::try_from(start - from).unwrap_or(0);
    let mut crc = crc32fast::Hasher::new();
    crc.update(buf.get(split..).unwrap_or_default());
    let data = match method {
        Method::Stored => {
            buf.drain(..split);
            buf
        }
        Method::Deflate => {
            let (dict, data) = buf.split_at(split.min(buf.len()));
            compress::deflate_chunk(dict, data, last)
                .map_err(|source| unreadable_at(path, source))?
        }
    };
    Ok(Piece {
        first,
        last,
        method,
        crc,
        raw_len: end - start,
        data,
        cost,
    })
}

/// Exactly `len` bytes of `path` from `offset`; a file that shrank since the
/// walk is an error rather than a silently truncated entry.
fn read_range(path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    if offset > 0 {
        file.seek(SeekFrom::Start(offset))?;
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(len).read_to_end(&mut buf)?;
    if (buf.len() as u64) < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file shrank while it was being packaged",
        ));
    }
    Ok(buf)
}

/// The writing half: pieces in sequence order into the zip.
struct EntryWriter<'a> {
    files: &'a [SourceFile],
    out: &'a Path,
    limit: u64,
    exceeded: Rc<Cell<bool>>,
    time: UtcDateTime,
    budget: &'a Budget,
}

impl EntryWriter<'_> {
    /// Returns the sink (to read its size and hash) and the bytes read.
    fn write_all(&self, sink: Sink, source: Source<'_>) -> Result<(Sink, u64), PackageError> {
        let mut pieces = InOrder {
            source,
            pending: BTreeMap::new(),
            next: 0,
        };
        let mut archive = ZipArchiveWriter::builder()
            .with_capacity(self.files.len())
            .build(sink);
        let mut bytes_in = 0u64;
        for file in self.files {
            let mut piece = pieces.next()?;
            if !piece.first {
                return Err(self.internal("pieces arrived out of order"));
            }
            let method = match piece.method {
                Method::Stored => CompressionMethod::STORE,
                Method::Deflate => CompressionMethod::DEFLATE,
            };
            let name = if file.name.is_ascii() {
                EntryPath::verbatim(file.name.as_bytes())
            } else {
                EntryPath::conformant(file.name.as_str())
            };
            let (mut entry, _) = archive
                .new_file(name)
                .compression_method(method)
                .last_modified(self.time)
                .unix_permissions(FILE_MODE)
                .start()
                .map_err(|err| self.zip_error(&file.name, io::Error::other(err)))?;
            let mut crc = crc32fast::Hasher::new();
            let mut raw_len = 0u64;
            loop {
                entry
                    .write_all(&piece.data)
                    .map_err(|err| self.zip_error(&file.name, err))?;
                crc.combine(&piece.crc);
                raw_len += piece.raw_len;
                self.budget.release(piece.cost);
                if piece.last {
                    break;
                }
                piece = pieces.next()?;
                if piece.first {
                    return Err(self.internal("pieces arrived out of order"));
                }
            }
            entry
                .finish(DataDescriptorOutput::new(crc.finalize(), raw_len))
                .map_err(|err| self.zip_error(&file.name, io::Error::other(err)))?;
            bytes_in += raw_len;
        }
        let sink = archive
            .finish()
            .map_err(|err| self.zip_error("the central directory", io::Error::other(err)))?;
        Ok((sink, bytes_in))
    }

    fn zip_error(&self, name: &str, source: io::Error) -> PackageError {
        if self.exceeded.get() {
            return PackageError::TooLarge {
                limit: self.limit,
                path: name.to_string(),
            };
        }
        PackageError::Output {
            path: self.out.to_path_buf(),
            source,
        }
    }

    fn internal(&self, what: &str) -> PackageError {
        PackageError::Output {
            path: self.out.to_path_buf(),
            source: io::Error::other(format!("internal error: {what}")),
        }
    }
}

/// Where the writer gets pieces from.
enum Source<'a> {
    /// Jobs running on the pool, results arriving in any order.
    Pool(mpsc::Receiver<Sent>),
    /// `--threads 1`: each job runs on the writing thread when its turn
    /// comes, so one thread does all the work.
    Inline(Box<dyn Iterator<Item = (u64, Job)> + 'a>),
}

/// Reorders job results into dispatch order.
struct InOrder<'a> {
    source: Source<'a>,
    pending: BTreeMap<u64, Result<Piece, PackageError>>,
    next: u64,
}

impl InOrder<'_> {
    fn next(&mut self) -> Result<Piece, PackageError> {
        let rx = match &mut self.source {
            Source::Pool(rx) => rx,
            Source::Inline(jobs) => {
                return match jobs.next() {
                    Some((_, job)) => job(),
                    None => Err(no_result()),
                }
            }
        };
        loop {
            if let Some(result) = self.pending.remove(&self.next) {
                self.next += 1;
                return result;
            }
            match rx.recv() {
                Ok((seq, result)) => {
                    self.pending.insert(seq, result);
                }
                Err(_) => return Err(no_result()),
            }
        }
    }
}

fn no_result() -> PackageError {
    PackageError::Output {
        path: Default::default(),
        source: io::Error::other("internal error: a compression job ended without a result"),
    }
}

/// The archive file: counts and hashes every byte, and refuses to grow
/// past the size limit.
struct Sink {
    out: BufWriter<File>,
    hasher: Sha256,
    count: u64,
    limit: u64,
    exceeded: Rc<Cell<bool>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.count.saturating_add(buf.len() as u64) > self.limit {
            self.exceeded.set(true);
            return Err(io::Error::other("archive size limit exceeded"));
        }
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Bytes allowed in flight between dispatch and write.
struct Budget {
    capacity: u64,
    state: Mutex<BudgetState>,
    changed: Condvar,
}

struct BudgetState {
    used: u64,
    cancelled: bool,
}

impl Budget {
    fn new(capacity: u64) -> Self {
        Budget {
            capacity,
            state: Mutex::new(BudgetState {
                used: 0,
                cancelled: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// Wait until `cost` fits (a job larger than the whole budget runs
    /// alone); false once the writer gave up.
    fn acquire(&self, cost: u64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.cancelled && state.used > 0 && state.used + cost > self.capacity {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.cancelled {
            return false;
        }
        state.used += cost;
        true
    }

    fn release(&self, cost: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.used = state.used.saturating_sub(cost);
        self.changed.notify_all();
    }

    fn cancel(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.cancelled = true;
        self.changed.notify_all();
    }
}
