//! A pull request's build artifact, unpacked as untrusted input. The
//! trusted run of a fork's preview deploys the zip its build uploaded
//! (GitHub hands artifacts back as zips); nothing in it is trusted: not
//! its names, its sizes, its file types, nor its layout.
//!
//! So the whole central directory is read and checked before a byte is
//! written, and any fault refuses the archive whole:
//! - every name is relative, `/`-separated UTF-8 with no empty, `.` or
//!   `..` segment, no backslash and no control character (the rules
//!   packaging applies to a folder's names, [`super::walk::unservable`]);
//! - every entry is a plain file or a folder: a symbolic link or any other
//!   Unix file type in the external attributes is refused, as are
//!   encrypted entries and methods other than stored and deflate;
//! - no two entries share a name, and no file is also a folder;
//! - the entries, and the bytes their headers declare, stay under
//!   [`Caps`].
//!
//! Then each file is written with `create_new` (a second file on a
//! case-insensitive disk is refused, not overwritten), never more bytes
//! than its header declared, and checked against its CRC-32. The reader
//! handles what GitHub's artifact store and common zippers write: stored
//! or deflated entries, data descriptors (sizes are taken from the central
//! directory), zip64 sizes, offsets and entry counts (PKWARE APPNOTE
//! 6.3.10). No crate: the binary has a zip writer of its own
//! ([`super::container`]) and a size budget.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use super::container::{
    u16_at, u32_at, u64_at, CENTRAL_HEADER, END, LOCAL_HEADER, TAIL, ZIP64_END, ZIP64_LOCATOR,
};

/// Longest name accepted: Linux's PATH_MAX; no longer path can be written.
const MAX_NAME: usize = 4096;
/// Most bytes of names held in memory while the directory is checked.
const MAX_NAME_BYTES: u64 = 64 * 1024 * 1024;

/// How much an artifact may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Files and folders.
    pub max_entries: u64,
    /// Bytes of the files, unpacked (and of the download).
    pub max_bytes: u64,
}

impl Default for Caps {
    /// 100,000 entries; 5 GB, Amplify's limit on a deployment's zip.
    fn default() -> Caps {
        Caps {
            max_entries: 100_000,
            max_bytes: super::MAX_ARCHIVE_BYTES,
        }
    }
}

/// What was unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unpacked {
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("cannot read the artifact {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the artifact is not a zip archive that can be read: {why}")]
    Malformed { why: String },
    #[error("artifact entry {name:?} is refused: it has {why}")]
    BadName { name: String, why: &'static str },
    #[error("artifact entry {name:?} is refused: it is a symbolic link")]
    Link { name: String },
    #[error("artifact entry {name:?} is refused: it is neither a file nor a folder")]
    Special { name: String },
    #[error("artifact entry {name:?} is refused: it is encrypted")]
    Encrypted { name: String },
    #[error("artifact entry {name:?} is refused: compression method {method} (only stored and deflate are read)")]
    Method { name: String, method: u16 },
    #[error("the artifact holds {name:?} twice (or as both a file and a folder)")]
    Duplicate { name: String },
    #[error("the artifact holds {count} files and folders, more than the {max} allowed")]
    TooManyEntries { count: u64, max: u64 },
    #[error("the artifact's files hold more than the {max} bytes allowed")]
    TooLarge { max: u64 },
    #[error("artifact entry {name:?} is corrupt: {why}")]
    Corrupt { name: String, why: &'static str },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// One entry of the central directory, checked.
#[derive(Debug)]
struct Entry {
    /// As stored (a folder's with its trailing `/`).
    name: String,
    dir: bool,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
}

/// Where the central directory is, from the end records.
struct Directory {
    entries: u64,
    offset: u64,
    size: u64,
}

/// Unpack the zip at `zip` into the folder `into` (which should be new
/// and empty), or refuse it whole: on `Err`, the checks that come before
/// writing have written nothing; a fault found while writing (a corrupt
/// entry) leaves a partial folder for the caller to remove.
pub fn unpack(zip: &Path, into: &Path, caps: &Caps) -> Result<Unpacked, UnpackError> {
    let read = |source| UnpackError::Read {
        path: zip.to_path_buf(),
        source,
    };
    let mut file = File::open(zip).map_err(read)?;
    let len = file.metadata().map_err(read)?.len();
    let dir = find_directory(&mut file, len).map_err(|e| e.or_read(zip))?;
    if dir.entries > caps.max_entries {
        return Err(UnpackError::TooManyEntries {
            count: dir.entries,
            max: caps.max_entries,
        });
    }
    if dir.offset.saturating_add(dir.size) > len {
        return Err(malformed(
            "the central directory lies past the end of the file",
        ));
    }
    let entries = read_directory(&mut file, &dir).map_err(|e| e.or_read(zip))?;
    check_entries(&entries, caps)?;
    let mut unpacked = Unpacked { files: 0, bytes: 0 };
    for entry in &entries {
        let path = into.join(&entry.name);
        if entry.dir {
            fs::create_dir_all(&path).map_err(|source| UnpackError::Write { path, source })?;
            continue;
        }
        let written = write_entry(&mut file, dir.offset, entry, &path)?;
        unpacked.files += 1;
        unpacked.bytes += written;
    }
    Ok(unpacked)
}

fn malformed(why: impl Into<String>) -> UnpackError {
    UnpackError::Malformed { why: why.into() }
}

/// An I/O error while reading the archive, or a fault in it.
enum Fault {
    Io(io::Error),
    Zip(UnpackError),
}

impl Fault {
    fn or_read(self, zip: &Path) -> UnpackError {
        match self {
            Fault::Io(source) if source.kind() == io::ErrorKind::UnexpectedEof => {
                malformed("it ends early")
            }
            Fault::Io(source) => UnpackError::Read {
                path: zip.to_path_buf(),
                source,
            },
            Fault::Zip(e) => e,
        }
    }
}

impl From<io::Error> for Fault {
    fn from(e: io::Error) -> Fault {
        Fault::Io(e)
    }
}

impl From<UnpackError> for Fault {
    fn from(e: UnpackError) -> Fault {
        Fault::Zip(e)
    }
}

/// The end record (and, when it says so, the zip64 end record).
fn find_directory(file: &mut File, len: u64) -> Result<Directory, Fault> {
    let tail_len = len.min(TAIL);
    let start = len - tail_len;
    let mut tail = vec![0; tail_len as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut tail)?;
    // The last signature whose comment reaches exactly the end of the file.
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| {
            u32_at(&tail, i) == Some(END)
                && u16_at(&tail, i + 20).map(|c| i + 22 + usize::from(c)) == Some(tail.len())
        })
        .ok_or_else(|| malformed("no end of central directory record"))?;
    let field16 = |o| u16_at(&tail, at + o).unwrap_or(0);
    let field32 = |o| u32_at(&tail, at + o).unwrap_or(0);
    if field16(4) != 0 || field16(6) != 0 {
        return Err(malformed("a multi-part archive").into());
    }
    let (entries, size, offset) = (field16(10), field32(12), field32(16));
    if entries != u16::MAX && size != u32::MAX && offset != u32::MAX {
        return Ok(Directory {
            entries: entries.into(),
            offset: offset.into(),
            size: size.into(),
        });
    }
    // Zip64: the locator sits just before the end record.
    let locator = at
        .checked_sub(20)
        .filter(|&l| u32_at(&tail, l) == Some(ZIP64_LOCATOR))
        .ok_or_else(|| malformed("a zip64 archive without its zip64 locator"))?;
    let end64 = u64_at(&tail, locator + 8).unwrap_or(u64::MAX);
    if end64.saturating_add(56) > len {
        return Err(malformed("the zip64 end record lies past the end of the file").into());
    }
    let mut record = [0u8; 56];
    file.seek(SeekFrom::Start(end64))?;
    file.read_exact(&mut record)?;
    if u32_at(&record, 0) != Some(ZIP64_END) {
        return Err(malformed("no zip64 end record where the locator says").into());
    }
    Ok(Directory {
        entries: u64_at(&record, 32).unwrap_or(0),
        size: u64_at(&record, 40).unwrap_or(0),
        offset: u64_at(&record, 48).unwrap_or(0),
    })
}

/// Every record of the central directory, decoded (not yet checked as a
/// whole: see [`check_entries`]).
fn read_directory(file: &mut File, dir: &Directory) -> Result<Vec<Entry>, Fault> {
    file.seek(SeekFrom::Start(dir.offset))?;
    let mut reader = BufReader::new((&*file).take(dir.size));
    let mut entries = Vec::new();
    let mut name_bytes = 0u64;
    for _ in 0..dir.entries {
        let mut fixed = [0u8; 46];
        reader.read_exact(&mut fixed)?;
        if u32_at(&fixed, 0) != Some(CENTRAL_HEADER) {
            return Err(malformed("a central directory record is missing").into());
        }
        let field16 = |o| u16_at(&fixed, o).unwrap_or(0);
        let mut name = vec![0; field16(28).into()];
        let mut extra = vec![0; field16(30).into()];
        reader.read_exact(&mut name)?;
        reader.read_exact(&mut extra)?;
        io::copy(&mut (&mut reader).take(field16(32).into()), &mut io::sink())?;
        name_bytes += name.len() as u64;
        if name_bytes > MAX_NAME_BYTES {
            return Err(malformed("its names hold more than 64 MiB").into());
        }
        entries.push(decode(&fixed, name, &extra)?);
    }
    Ok(entries)
}

/// One central directory record: its name, type and sizes (zip64 ones
/// from the 0x0001 extra field), each checked on its own.
fn decode(fixed: &[u8; 46], name: Vec<u8>, extra: &[u8]) -> Result<Entry, UnpackError> {
    let field16 = |o| u16_at(fixed, o).unwrap_or(0);
    let field32 = |o| u32_at(fixed, o).unwrap_or(0);
    let name = String::from_utf8(name).map_err(|e| UnpackError::BadName {
        name: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        why: "a name that is not UTF-8",
    })?;
    let dir = check_name(&name)?;
    check_type(&name, dir, field32(38))?;
    if field16(8) & 1 != 0 {
        return Err(UnpackError::Encrypted { name });
    }
    let method = field16(10);
    if method != 0 && method != 8 {
        return Err(UnpackError::Method { name, method });
    }
    let mut zip64 = Zip64Fields::new(extra);
    let mut wide = |narrow: u32| match narrow {
        u32::MAX => zip64.next(),
        n => Some(u64::from(n)),
    };
    let size = wide(field32(24));
    let compressed = wide(field32(20));
    let offset = wide(field32(42));
    let (Some(size), Some(compressed), Some(offset)) = (size, compressed, offset) else {
        return Err(UnpackError::Corrupt {
            name,
            why: "its zip64 sizes are missing",
        });
    };
    if dir && size != 0 {
        return Err(UnpackError::Corrupt {
            name,
            why: "a folder with content",
        });
    }
    Ok(Entry {
        name,
        dir,
        method,
        crc: field32(16),
        compressed,
        size,
        offset,
    })
}

/// The 64-bit values of a zip64 extra field (0x0001), in order.
struct Zip64Fields<'a> {
    data: &'a [u8],
}

impl<'a> Zip64Fields<'a> {
    fn new(mut extra: &'a [u8]) -> Zip64Fields<'a> {
        while extra.len() >= 4 {
            let id = u16_at(extra, 0).unwrap_or(0);
            let len = usize::from(u16_at(extra, 2).unwrap_or(0));
            let body = extra.get(4..4 + len).unwrap_or(&[]);
            if id == 1 {
                return Zip64Fields { data: body };
            }
            extra = extra.get(4 + len..).unwrap_or(&[]);
        }
        Zip64Fields { data: &[] }
    }

    fn next(&mut self) -> Option<u64> {
        let v = u64_at(self.data, 0)?;
        self.data = &self.data[8..];
        Some(v)
    }
}

/// Whether `name` is a folder (a trailing `/`); an error when it is not
/// a relative path that packaging would deploy as it is.
fn check_name(name: &str) -> Result<bool, UnpackError> {
    let refuse = |why| UnpackError::BadName {
        name: name.to_owned(),
        why,
    };
    if name.len() > MAX_NAME {
        return Err(refuse("a name longer than 4096 bytes"));
    }
    if name.starts_with('/') {
        return Err(refuse("an absolute path"));
    }
    if let Some(why) = super::walk::unservable(name) {
        return Err(refuse(why));
    }
    let (path, dir) = match name.strip_suffix('/') {
        Some(path) => (path, true),
        None => (name, false),
    };
    for part in path.split('/') {
        match part {
            "" => return Err(refuse("an empty name or an empty path segment")),
            "." | ".." => return Err(refuse("a . or .. segment, which leaves its folder")),
            _ => {}
        }
        // A Windows drive or root (`C:x`) is not one plain segment.
        let mut parts = Path::new(part).components();
        if !matches!((parts.next(), parts.next()), (Some(Component::Normal(p)), None) if p == part)
        {
            return Err(refuse("a segment this system reads as more than a name"));
        }
    }
    Ok(dir)
}

/// Refuse a link or any Unix file type but a file or a folder (the upper
/// 16 bits of the external attributes, whatever "version made by" says).
fn check_type(name: &str, dir: bool, external: u32) -> Result<(), UnpackError> {
    const TYPE: u32 = 0o170_000;
    match (external >> 16) & TYPE {
        0 | 0o100_000 if !dir => Ok(()),
        0 | 0o040_000 if dir => Ok(()),
        0o120_000 => Err(UnpackError::Link {
            name: name.to_owned(),
        }),
        _ => Err(UnpackError::Special {
            name: name.to_owned(),
        }),
    }
}

/// The directory as a whole: no name twice, no file that is also a
/// folder, within the caps.
fn check_entries(entries: &[Entry], caps: &Caps) -> Result<(), UnpackError> {
    let mut files = HashSet::new();
    let mut dirs = HashSet::new();
    let mut declared = 0u64;
    for e in entries {
        declared = declared.saturating_add(e.size);
        if declared > caps.max_bytes {
            return Err(UnpackError::TooLarge {
                max: caps.max_bytes,
            });
        }
        let path = e.name.trim_end_matches('/');
        let fresh = if e.dir {
            dirs.insert(path)
        } else {
            files.insert(path)
        };
        if !fresh {
            return Err(UnpackError::Duplicate {
                name: path.to_owned(),
            });
        }
    }
    // Every folder an entry lies in, explicit or not, must not be a file.
    for e in entries {
        let path = e.name.trim_end_matches('/');
        let mut parents = path.rmatch_indices('/').map(|(i, _)| &path[..i]);
        if e.dir && files.contains(path) {
            return Err(UnpackError::Duplicate {
                name: path.to_owned(),
            });
        }
        if let Some(p) = parents.find(|p| files.contains(p)) {
            return Err(UnpackError::Duplicate { name: p.to_owned() });
        }
    }
    Ok(())
}

/// Write one file: its local header must name it, its data must inflate
/// to exactly the declared size and CRC. Returns the bytes written.
fn write_entry(
    file: &mut File,
    directory: u64,
    e: &Entry,
    path: &Path,
) -> Result<u64, UnpackError> {
    let corrupt = |why| UnpackError::Corrupt {
        name: e.name.clone(),
        why,
    };
    let start = data_start(file, e)
        .map_err(|_| corrupt("its local header cannot be read"))?
        .ok_or_else(|| corrupt("its local header does not match the central directory"))?;
    if start.saturating_add(e.compressed) > directory {
        return Err(corrupt("its data runs into the central directory"));
    }
    let out = create_new(e, path)?;
    file.seek(SeekFrom::Start(start))
        .map_err(|_| corrupt("its data cannot be read"))?;
    let raw = BufReader::new((&*file).take(e.compressed));
    let mut data: Box<dyn Read> = match e.method {
        8 => Box::new(flate2::read::DeflateDecoder::new(raw)),
        _ => Box::new(raw),
    };
    let mut out = Checked {
        out: io::BufWriter::new(out),
        crc: crc32fast::Hasher::new(),
        written: 0,
        limit: e.size,
    };
    let copied = io::copy(&mut data, &mut out).and_then(|_| out.out.flush());
    if let Err(err) = copied {
        return Err(match err.kind() {
            io::ErrorKind::FileTooLarge => corrupt("it holds more bytes than its header says"),
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                corrupt("its compressed data is invalid")
            }
            io::ErrorKind::UnexpectedEof => corrupt("its compressed data ends early"),
            _ => UnpackError::Write {
                path: path.to_path_buf(),
                source: err,
            },
        });
    }
    if out.written != e.size {
        return Err(corrupt("it holds fewer bytes than its header says"));
    }
    if out.crc.finalize() != e.crc {
        return Err(corrupt("its CRC-32 does not match"));
    }
    Ok(out.written)
}

/// A new file at `path` (and its folders); one already there is another
/// entry's name that this disk takes for the same (case, Unicode
/// normalisation): a duplicate, never overwritten.
fn create_new(e: &Entry, path: &Path) -> Result<File, UnpackError> {
    let write_err = |source| UnpackError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(write_err)?;
    }
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => Ok(f),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(UnpackError::Duplicate {
            name: e.name.clone(),
        }),
        Err(source) => Err(write_err(source)),
    }
}

/// Where an entry's data starts, after its local header; `None` when the
/// local header is not there or names another file.
fn data_start(file: &mut File, e: &Entry) -> io::Result<Option<u64>> {
    let mut head = [0u8; 30];
    file.seek(SeekFrom::Start(e.offset))?;
    file.read_exact(&mut head)?;
    if u32_at(&head, 0) != Some(LOCAL_HEADER) {
        return Ok(None);
    }
    let name_len = usize::from(u16_at(&head, 26).unwrap_or(0));
    let extra_len = u64::from(u16_at(&head, 28).unwrap_or(0));
    let mut name = vec![0; name_len];
    file.read_exact(&mut name)?;
    if name != e.name.as_bytes() {
        return Ok(None);
    }
    Ok(Some(e.offset + 30 + name_len as u64 + extra_len))
}

/// A writer that hashes what it writes and refuses to pass `limit`
/// (`FileTooLarge`): a header cannot promise a small file and deliver a
/// large one.
struct Checked<W> {
    out: W,
    crc: crc32fast::Hasher,
    written: u64,
    limit: u64,
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::from(io::ErrorKind::FileTooLarge));
        }
        let n = self.out.write(buf)?;
        self.crc.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests;
