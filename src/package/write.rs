//! The parallel, order-preserving, memory-bounded zip writer.
//!
//! One dispatcher thread walks the folder (in archive order, see [`walk`])
//! and turns the files into jobs as it finds them: a run of small files
//! batched together, or one chunk of a large file. Jobs run on a rayon pool
//! and send their results back tagged with a sequence number; the calling
//! thread writes them into the zip strictly in sequence, so the bytes never
//! depend on which job finished first. Before dispatching a job the
//! dispatcher takes its size from a byte budget that the writer gives back
//! once the job's output is written, which caps the data in flight whatever
//! the file sizes are. That pipeline is [`ordered`], which the tree digest
//! runs on too.
//!
//! Batching is what lets two threads beat one by more than a little: a
//! static site is mostly files of a few kB, and a job per file spends about
//! as much time handing work between threads (a wake-up, a channel send, a
//! reorder) as compressing it.
//!
//! The container is framed by [`container`], which takes data compressed here and
//! streams it (data descriptors, zip64 when sizes or offsets need it), so a
//! large file is never held whole in memory.
//!
//! On the way, each file's content is hashed for the tree digest
//! ([`digest`]): a whole file by the job that read it, a file cut into
//! chunks by the writer, chunk by chunk in order (a deflated chunk's job
//! sends its input along for that), so no file is read twice.
//!
//! [`walk`]: super::walk
//! [`ordered`]: super::ordered
//! [`container`]: super::container
//! [`digest`]: super::digest

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use super::compress::{self, Method};
use super::container::{EntryTime, ZipError, ZipWriter};
use super::digest::DigestBuilder;
use super::ordered::{self, Budget, InOrder, Msg};
use super::walk::{Listing, SourceFile};
use super::{Control, PackageError, PackageOptions};

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
    /// Whole files are compressed in batches of up to this many bytes (or
    /// one larger file alone)...
    pub batch_bytes: u64,
    /// ...and up to this many files.
    pub batch_files: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            whole_max: 8 << 20,
            chunk: 1 << 20,
            in_flight: 64 << 20,
            probe: 128 << 10,
            // Measured on the Rust docs (two threads): 256 kB batches took
            // 2% longer, 2 MB ones no less; a job then takes a few ms.
            batch_bytes: 1 << 20,
            batch_files: 256,
        }
    }
}

/// What the writer measured.
#[derive(Debug)]
pub(super) struct Written {
    pub file_count: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub sha256: String,
    pub tree_digest: String,
    pub warnings: Vec<String>,
    pub kept: Option<Vec<u8>>,
}

/// The zip epoch, used when no `SOURCE_DATE_EPOCH` is given.
const DOS_EPOCH: u64 = 315_532_800; // 1980-01-01 00:00:00 UTC
/// The last second a DOS timestamp can hold.
const DOS_END: u64 = 4_354_819_199; // 2107-12-31 23:59:59 UTC

/// An empty temporary file next to `out`, for [`write_archive`]: it is
/// renamed into place on success and removed however else the run ends.
pub(super) fn temp_archive(out: &Path) -> Result<NamedTempFile, PackageError> {
    let dir = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(".amplify-deploy-")
        .suffix(".zip.tmp")
        .tempfile_in(dir)
        .map_err(|source| PackageError::Output {
            path: out.to_path_buf(),
            source,
        })
}

/// Write the files `listing` yields as a zip into `tmp`, then rename it to
/// `out`.
pub(super) fn write_archive(
    opts: &PackageOptions,
    listing: Box<dyn Listing>,
    tmp: NamedTempFile,
    out: &Path,
    tuning: &Tuning,
    control: &Control,
) -> Result<Written, PackageError> {
    let out_err = |source: io::Error| PackageError::Output {
        path: out.to_path_buf(),
        source,
    };
    let file = tmp.as_file().try_clone().map_err(out_err)?;
    let exceeded = Rc::new(Cell::new(false));
    let sink = Sink::new(file, opts.max_archive_bytes, &exceeded, control);
    let budget = Budget::new(tuning.in_flight);
    let buffers = Arc::new(Buffers::default());
    let writer = EntryWriter {
        out,
        limit: opts.max_archive_bytes,
        exceeded,
        control,
        time: entry_time(opts.source_date_epoch),
        budget: &budget,
        buffers: &buffers,
    };
    let keep = opts.keep.clone().map(|name| {
        Arc::new(Keep {
            name,
            bytes: std::sync::Mutex::new(None),
        })
    });
    let mut jobs = Jobs::new(listing, tuning.clone(), Arc::clone(&buffers));
    jobs.keep = keep.clone();
    let mut digest = DigestBuilder::new(opts.source_date_epoch);
    let (sink, bytes_in, summary) =
        write_entries(opts.threads, &writer, sink, jobs, &budget, &mut digest)?;
    if summary.files == 0 {
        return Err(PackageError::Empty {
            path: opts.root.clone(),
        });
    }
    let (bytes_out, sha256) = finish_file(sink, tmp, out).map_err(out_err)?;
    Ok(Written {
        file_count: summary.files,
        bytes_in,
        bytes_out,
        sha256,
        tree_digest: digest.finish(),
        warnings: summary.warnings,
        kept: keep.and_then(|k| k.bytes.lock().ok()?.take()),
    })
}

/// The entries written in order: compressed on this thread with
/// `--threads 1`, else on a pool of `threads` (`None`: one per core).
fn write_entries(
    threads: Option<usize>,
    writer: &EntryWriter<'_>,
    sink: Sink,
    jobs: Jobs,
    budget: &Budget,
    digest: &mut DigestBuilder,
) -> Result<(Sink, u64, Summary), PackageError> {
    let pool = ordered::pool(threads, "package").map_err(|source| PackageError::Output {
        path: writer.out.to_path_buf(),
        source,
    })?;
    ordered::run(jobs, pool.as_ref(), budget, |order| {
        writer.write_all(sink, order, digest)
    })
}

/// The zip's size and SHA-256 (hex), its file flushed and moved to `out`.
fn finish_file(sink: Sink, tmp: NamedTempFile, out: &Path) -> io::Result<(u64, String)> {
    let bytes_out = sink.count;
    let sha256 = hex::encode(sink.hasher.finalize());
    let file = sink.out.into_inner().map_err(|err| err.into_error())?;
    drop(file);
    put_in_place(tmp, out)?;
    Ok((bytes_out, sha256))
}

/// The entry whose bytes packaging keeps, and them once read.
struct Keep {
    name: String,
    bytes: std::sync::Mutex<Option<Vec<u8>>>,
}

/// The finished archive, readable by all (as a build output is), renamed
/// to `out`.
fn put_in_place(tmp: NamedTempFile, out: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(out).map_err(|err| err.error)?;
    Ok(())
}

/// Timestamp of every entry: `SOURCE_DATE_EPOCH` clamped to what a DOS
/// date can hold, or the zip epoch.
fn entry_time(source_date_epoch: Option<u64>) -> EntryTime {
    EntryTime::from_unix(entry_seconds(source_date_epoch))
}

/// The seconds since the epoch that [`entry_time`] stamps.
pub(super) fn entry_seconds(source_date_epoch: Option<u64>) -> u64 {
    source_date_epoch
        .unwrap_or(DOS_EPOCH)
        .clamp(DOS_EPOCH, DOS_END)
}

/// One job's result: the entry data of a batch of whole files, or one
/// chunk of a large file.
struct Output {
    /// The pieces' bytes, back to back: one allocation for the whole batch.
    data: Vec<u8>,
    pieces: Vec<Piece>,
    /// What stopped the job, after the pieces that came before it.
    error: Option<PackageError>,
    /// Budget taken when the job was dispatched.
    cost: u64,
}

impl Output {
    fn new(cost: u64, data: Vec<u8>) -> Self {
        Output {
            data,
            pieces: Vec::new(),
            error: None,
            cost,
        }
    }

    fn failed(cost: u64, error: PackageError) -> Self {
        let mut out = Output::new(cost, Vec::new());
        out.error = Some(error);
        out
    }
}

/// A whole file, or one chunk of a large one.
struct Piece {
    /// The entry name, on a file's first piece only.
    name: Option<String>,
    last: bool,
    method: Method,
    /// CRC-32 of this piece's uncompressed bytes.
    crc: crc32fast::Hasher,
    raw_len: u64,
    /// Where its bytes are in [`Output::data`].
    range: Range<usize>,
    /// What the tree digest needs: a whole file's content hash, or a
    /// chunk's uncompressed bytes for the writer to hash in order.
    content: Content,
}

/// How a piece's uncompressed bytes reach the tree digest
/// ([`super::digest`]): a file's SHA-256 is one stream, so a file cut into
/// chunks compressed in parallel is hashed by the writer, chunk by chunk.
enum Content {
    /// A whole file, hashed by its job.
    Hashed([u8; 32]),
    /// A stored chunk: its entry data is its bytes.
    Stored,
    /// A deflated chunk: its bytes, after the entry data in
    /// [`Output::data`] (the budget counts a job's input and output).
    Raw(Range<usize>),
}

/// What the walk found, sent after the last job.
#[derive(Default)]
struct Summary {
    files: u64,
    warnings: Vec<String>,
}

/// Budget cost of a job reading `len` bytes: its input plus its output.
/// (Whole files and stored chunks are read into a per-thread buffer or
/// straight into the output, so this overcounts them; a one-times count
/// measured no faster and doubled the synthetic tree's peak memory. A
/// deflated chunk carries its input to the writer, for the tree digest.)
fn cost_of(len: u64) -> u64 {
    len.saturating_mul(2).saturating_add(4096)
}

/// A unit of work: read and compress some whole files or one chunk.
type Job = ordered::Job<Output>;

/// The jobs for the files of a walk, in archive order, each with its
/// budget cost, made as the walk goes.
struct Jobs {
    listing: Box<dyn Listing>,
    tuning: Tuning,
    /// Small files waiting to fill a batch.
    batch: Vec<SourceFile>,
    batch_bytes: u64,
    /// Jobs ready to hand out, before anything else.
    ready: VecDeque<(u64, Job)>,
    files: u64,
    buffers: Arc<Buffers>,
    keep: Option<Arc<Keep>>,
}

impl Jobs {
    fn new(listing: Box<dyn Listing>, tuning: Tuning, buffers: Arc<Buffers>) -> Self {
        Jobs {
            buffers,
            listing,
            tuning,
            batch: Vec::new(),
            batch_bytes: 0,
            ready: VecDeque::new(),
            files: 0,
            keep: None,
        }
    }

    /// The files batched so far as one job, if there are any.
    fn take_batch(&mut self) -> Option<(u64, Job)> {
        if self.batch.is_empty() {
            return None;
        }
        let files = std::mem::take(&mut self.batch);
        let bytes = std::mem::take(&mut self.batch_bytes);
        let cost = files.iter().map(|f| cost_of(f.size)).sum();
        let buffers = Arc::clone(&self.buffers);
        // Compressed data is never larger than the input (it is stored
        // otherwise), so this much room is never outgrown; and room for a
        // full batch makes the buffer fit any later batch too.
        let room = bytes.max(self.tuning.batch_bytes);
        let keep = self.keep.clone();
        let job = move || whole_files(files, room, cost, &buffers, keep.as_deref());
        Some((cost, Box::new(job)))
    }
}

impl ordered::Jobs for Jobs {
    type Output = Output;
    type End = Summary;

    /// The next job, or `None` when the walk is over.
    fn next_job(&mut self) -> Option<(u64, Job)> {
        loop {
            if let Some(job) = self.ready.pop_front() {
                return Some(job);
            }
            let Some(next) = self.listing.next() else {
                return self.take_batch();
            };
            match next {
                Ok(file) if file.size <= self.tuning.whole_max => {
                    self.files += 1;
                    // A batch holds at most `batch_bytes` unless it is a
                    // single file, so that a reused buffer fits it.
                    if self.batch_bytes + file.size > self.tuning.batch_bytes {
                        let batch = self.take_batch();
                        self.ready.extend(batch);
                    }
                    self.batch_bytes += file.size;
                    self.batch.push(file);
                    if self.batch.len() >= self.tuning.batch_files {
                        let batch = self.take_batch();
                        self.ready.extend(batch);
                    }
                }
                Ok(file) => {
                    self.files += 1;
                    let batch = self.take_batch();
                    self.ready.extend(batch);
                    self.ready
                        .extend(chunk_jobs(file, &self.tuning, &self.buffers));
                }
                Err(error) => {
                    let batch = self.take_batch();
                    self.ready.extend(batch);
                    self.ready
                        .push_back((0, Box::new(move || Output::failed(0, error))));
                }
            }
        }
    }

    fn end(&mut self) -> Summary {
        Summary {
            files: self.files,
            warnings: self.listing.take_warnings(),
        }
    }
}

/// The chunk jobs of a file too large to compress in one piece.
fn chunk_jobs(file: SourceFile, tuning: &Tuning, buffers: &Arc<Buffers>) -> Vec<(u64, Job)> {
    let method = if compress::is_precompressed(&file.name) {
        Method::Stored
    } else {
        let mut sample = Vec::new();
        match read_append(
            &file.path,
            file.size,
            0..tuning.probe.min(file.size),
            &mut sample,
        ) {
            Ok(()) if compress::looks_incompressible(&sample) => Method::Stored,
            Ok(()) => Method::Deflate,
            Err(error) => return vec![(0, Box::new(move || Output::failed(0, error)))],
        }
    };
    let (path, size) = (Arc::new(file.path), file.size);
    let mut name = Some(file.name);
    let chunks = file.size.div_ceil(tuning.chunk);
    (0..chunks)
        .map(|k| {
            let start = k * tuning.chunk;
            let end = (start + tuning.chunk).min(file.size);
            let cost = cost_of(end - start + compress::WINDOW);
            let (path, name) = (Arc::clone(&path), name.take());
            let buffers = Arc::clone(buffers);
            let last = k + 1 == chunks;
            let job = move || {
                let mut out = Output::new(cost, buffers.take());
                READ.with(|cell| {
                    let mut buf = cell.borrow_mut();
                    let chunk = Chunk {
                        size,
                        range: start..end,
                        last,
                    };
                    if let Err(error) = chunk_piece(&path, name, chunk, method, &mut buf, &mut out)
                    {
                        out.error = Some(error);
                    }
                    if buf.capacity() > KEEP_BUFFER {
                        *buf = Vec::new();
                    }
                });
                out
            };
            (cost, Box::new(job) as Job)
        })
        .collect()
}

pub(super) fn unreadable_at(path: &Path, source: io::Error) -> PackageError {
    PackageError::Unreadable {
        path: path.to_path_buf(),
        source,
    }
}

thread_local! {
    // Where whole files are read, reused from file to file.
    static READ: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A thread's read buffer is dropped after a file larger than this, so
/// that one big file does not pin its size in every thread; chunks fit.
const KEEP_BUFFER: usize = 2 << 20;

/// Read and compress a batch of whole files.
fn whole_files(
    files: Vec<SourceFile>,
    room: u64,
    cost: u64,
    buffers: &Buffers,
    keep: Option<&Keep>,
) -> Output {
    let mut out = Output::new(cost, buffers.take());
    out.data.reserve(usize::try_from(room).unwrap_or(0));
    READ.with(|cell| {
        let mut buf = cell.borrow_mut();
        for file in files {
            let kept = keep.filter(|k| k.name == file.name);
            if let Err(error) = whole_piece(file, &mut buf, &mut out) {
                out.error = Some(error);
                break;
            }
            if let Some(k) = kept {
                *k.bytes.lock().unwrap_or_else(|p| p.into_inner()) = Some(buf.clone());
            }
        }
        if buf.capacity() > KEEP_BUFFER {
            *buf = Vec::new();
        }
    });
    out
}

/// Append one whole file's piece to `out`, read through `buf`.
fn whole_piece(file: SourceFile, buf: &mut Vec<u8>, out: &mut Output) -> Result<(), PackageError> {
    buf.clear();
    read_append(&file.path, file.size, 0..file.size, buf)?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(buf);
    let start = out.data.len();
    let deflated =
        !compress::is_precompressed(&file.name) && compress::deflate_whole(buf, &mut out.data);
    let method = if deflated {
        Method::Deflate
    } else {
        out.data.extend_from_slice(buf);
        Method::Stored
    };
    out.pieces.push(Piece {
        name: Some(file.name),
        last: true,
        method,
        crc,
        raw_len: file.size,
        range: start..out.data.len(),
        content: Content::Hashed(Sha256::digest(&buf[..]).into()),
    });
    Ok(())
}

/// Which part of a large file a chunk job reads.
struct Chunk {
    /// The file's size when the folder was listed.
    size: u64,
    range: Range<u64>,
    last: bool,
}

/// Append one chunk's piece to `out`, read through `buf`.
fn chunk_piece(
    path: &Path,
    name: Option<String>,
    chunk: Chunk,
    method: Method,
    buf: &mut Vec<u8>,
    out: &mut Output,
) -> Result<(), PackageError> {
    let Chunk { size, range, last } = chunk;
    let (start, end) = (range.start, range.end);
    let at = out.data.len();
    let mut crc = crc32fast::Hasher::new();
    let content = match method {
        Method::Stored => {
            // Straight into the output: stored data needs no other copy.
            read_append(path, size, start..end, &mut out.data)?;
            crc.update(out.data.get(at..).unwrap_or_default());
            Content::Stored
        }
        Method::Deflate => {
            // The window before the chunk comes along as its dictionary.
            let from = start.saturating_sub(compress::WINDOW);
            buf.clear();
            read_append(path, size, from..end, buf)?;
            let split = usize::try_from(start - from).unwrap_or(0).min(buf.len());
            let (dict, data) = buf.split_at(split);
            crc.update(data);
            compress::deflate_chunk(dict, data, last, &mut out.data)
                .map_err(|source| unreadable_at(path, source))?;
            let raw_at = out.data.len();
            out.data.extend_from_slice(data);
            Content::Raw(raw_at..out.data.len())
        }
    };
    let range_end = match &content {
        Content::Raw(raw) => raw.start,
        _ => out.data.len(),
    };
    out.pieces.push(Piece {
        name,
        last,
        method,
        crc,
        raw_len: end - start,
        range: at..range_end,
        content,
    });
    Ok(())
}

/// Append the bytes `range` of the file at `path` to `buf`. `size` is the
/// file's size when the folder was listed, which is what the entry claims:
/// a file that holds fewer bytes now, or more when the read reaches its
/// end, is an error rather than an entry silently cut or padded.
fn read_append(
    path: &Path,
    size: u64,
    range: Range<u64>,
    buf: &mut Vec<u8>,
) -> Result<(), PackageError> {
    let unreadable = |source| unreadable_at(path, source);
    let mut file = File::open(path).map_err(unreadable)?;
    if range.start > 0 {
        file.seek(SeekFrom::Start(range.start))
            .map_err(unreadable)?;
    }
    let len = range.end.saturating_sub(range.start);
    // Asking for one byte past the listed end is how growth shows.
    let want = len + u64::from(range.end >= size);
    let at = buf.len();
    buf.reserve(usize::try_from(len).unwrap_or(0));
    file.take(want).read_to_end(buf).map_err(unreadable)?;
    if (buf.len() - at) as u64 != len {
        buf.truncate(at);
        return Err(PackageError::SizeChanged {
            path: path.to_path_buf(),
            size,
        });
    }
    Ok(())
}

/// The writing half: pieces in sequence order into the zip.
struct EntryWriter<'a> {
    out: &'a Path,
    limit: u64,
    exceeded: Rc<Cell<bool>>,
    control: &'a Control,
    time: EntryTime,
    budget: &'a Budget,
    buffers: &'a Buffers,
}

impl EntryWriter<'_> {
    /// Returns the sink (to read its size and hash), the bytes read and
    /// what the walk found; `digest` gets every entry.
    fn write_all(
        &self,
        sink: Sink,
        order: InOrder<Jobs>,
        digest: &mut DigestBuilder,
    ) -> Result<(Sink, u64, Summary), PackageError> {
        let mut pieces = Pieces {
            order,
            current: None,
            budget: self.budget,
            buffers: self.buffers,
        };
        let mut archive = ZipWriter::new(sink, self.time);
        let mut bytes_in = 0u64;
        let summary = loop {
            let piece = match pieces.next()? {
                Next::Piece(piece) => piece,
                Next::End(summary) => break summary,
            };
            bytes_in += self.write_entry(&mut archive, &mut pieces, piece, digest)?;
        };
        let sink = archive
            .finish()
            .map_err(|err| self.zip_error("the central directory", err))?;
        Ok((sink, bytes_in, summary))
    }

    /// Write one entry, from its first piece to its last, and add it to
    /// `digest`; returns its size.
    fn write_entry(
        &self,
        archive: &mut ZipWriter<Sink>,
        pieces: &mut Pieces<'_>,
        mut piece: Piece,
        digest: &mut DigestBuilder,
    ) -> Result<u64, PackageError> {
        let Some(name) = piece.name.take() else {
            return Err(self.internal("pieces arrived out of order"));
        };
        archive
            .start(&name, piece.method)
            .map_err(|err| self.entry_error(&name, err))?;
        let mut crc = crc32fast::Hasher::new();
        let mut content = FileHash::default();
        let mut raw_len = 0u64;
        loop {
            archive
                .write_data(pieces.bytes(&piece))
                .map_err(|err| self.zip_error(&name, err))?;
            crc.combine(&piece.crc);
            content.add(&piece, pieces.raw(&piece));
            raw_len += piece.raw_len;
            self.control.packed_bytes(piece.raw_len);
            if piece.last {
                break;
            }
            piece = match pieces.next()? {
                Next::Piece(next) if next.name.is_none() => next,
                _ => return Err(self.internal("pieces arrived out of order")),
            };
        }
        archive
            .finish_entry(crc.finalize(), raw_len)
            .map_err(|err| self.zip_error(&name, err))?;
        digest.add(&name, raw_len, &content.finish())?;
        self.control.packed_file();
        Ok(raw_len)
    }

    fn entry_error(&self, name: &str, err: ZipError) -> PackageError {
        match err {
            ZipError::Duplicate(name) => PackageError::DuplicateName { name },
            ZipError::NameTooLong(name) => PackageError::NameTooLong { name },
            ZipError::OutOfOrder(_) => self.internal(&err.to_string()),
            ZipError::Io(err) => self.zip_error(name, err),
        }
    }

    fn zip_error(&self, name: &str, source: io::Error) -> PackageError {
        if self.control.is_cancelled() {
            return PackageError::Cancelled;
        }
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

enum Next {
    Piece(Piece),
    End(Summary),
}

/// One file's SHA-256, from its pieces in order.
#[derive(Default)]
struct FileHash {
    /// Hashed by the job that read the whole file.
    whole: Option<[u8; 32]>,
    /// Fed here, chunk by chunk.
    chunks: Sha256,
}

impl FileHash {
    /// Take in `piece`, whose uncompressed bytes are `raw` unless its job
    /// hashed them.
    fn add(&mut self, piece: &Piece, raw: &[u8]) {
        match piece.content {
            Content::Hashed(sha) => self.whole = Some(sha),
            Content::Stored | Content::Raw(_) => self.chunks.update(raw),
        }
    }

    fn finish(self) -> [u8; 32] {
        self.whole.unwrap_or_else(|| self.chunks.finalize().into())
    }
}

/// The pieces of the job outputs, one at a time, in archive order. An
/// output's budget is given back once all its pieces have been taken.
struct Pieces<'a> {
    order: InOrder<Jobs>,
    /// The output being taken apart, its pieces reversed to pop in order.
    current: Option<Output>,
    budget: &'a Budget,
    buffers: &'a Buffers,
}

impl Pieces<'_> {
    fn next(&mut self) -> Result<Next, PackageError> {
        loop {
            if let Some(out) = &mut self.current {
                if let Some(piece) = out.pieces.pop() {
                    return Ok(Next::Piece(piece));
                }
                if let Some(error) = out.error.take() {
                    return Err(error);
                }
                self.budget.release(out.cost);
                self.buffers.give(std::mem::take(&mut out.data));
            }
            match self.order.next().ok_or_else(no_result)? {
                Msg::Output(mut out) => {
                    out.pieces.reverse();
                    self.current = Some(out);
                }
                Msg::End(summary) => {
                    self.current = None;
                    return Ok(Next::End(summary));
                }
            }
        }
    }

    /// The bytes of a piece of the current output.
    fn bytes(&self, piece: &Piece) -> &[u8] {
        self.current
            .as_ref()
            .and_then(|out| out.data.get(piece.range.clone()))
            .unwrap_or_default()
    }

    /// A chunk's uncompressed bytes (nothing for a whole file's piece,
    /// which comes hashed).
    fn raw(&self, piece: &Piece) -> &[u8] {
        let range = match &piece.content {
            Content::Hashed(_) => return &[],
            Content::Stored => piece.range.clone(),
            Content::Raw(raw) => raw.clone(),
        };
        self.current
            .as_ref()
            .and_then(|out| out.data.get(range))
            .unwrap_or_default()
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
    control: Control,
}

impl Sink {
    fn new(file: File, limit: u64, exceeded: &Rc<Cell<bool>>, control: &Control) -> Sink {
        Sink {
            out: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            count: 0,
            limit,
            exceeded: Rc::clone(exceeded),
            control: control.clone(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.control.is_cancelled() {
            return Err(io::Error::other("packaging was stopped"));
        }
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

/// Output buffers handed back by the writer for later jobs to fill again:
/// allocating a fresh one per job costs page faults (about 5% of the run
/// time on two threads), as large blocks come and go from the OS.
#[derive(Default)]
struct Buffers {
    free: Mutex<Vec<Vec<u8>>>,
}

impl Buffers {
    /// Buffers kept at most, and the largest kept: enough for the jobs in
    /// flight on a few threads without pinning much memory.
    const KEEP: usize = 8;
    const KEEP_BYTES: usize = 2 << 20;

    /// An empty buffer, with room from an earlier job when there is one.
    fn take(&self) -> Vec<u8> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.pop().unwrap_or_default()
    }

    fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() == 0 || buf.capacity() > Self::KEEP_BYTES {
            return;
        }
        buf.clear();
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < Self::KEEP {
            free.push(buf);
        }
    }
}
