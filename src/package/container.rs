//! The zip container: local file headers, data descriptors, the central
//! directory and its end records, zip64 where sizes or offsets need it
//! (PKWARE APPNOTE 6.3.10). Compression happens elsewhere ([`compress`]);
//! this module only frames bytes it is given.
//!
//! Why the project writes its own container instead of using a crate: the
//! entry names must be the files' relative paths byte for byte, flagged as
//! UTF-8, so that `Catégorie:Histoire.html` and `sub/é:index.html` deploy
//! under those names. rawzip 0.5, used before, offers two ways to pass a
//! name: `EntryPath::conformant` normalises it (it drops everything before
//! the last `:` and resolves `\` and `..`, so two files could end up as one
//! name) and `EntryPath::verbatim` keeps the bytes but never sets the UTF-8
//! flag (general-purpose bit 11), so strict readers decode the name as
//! CP437. The Info-ZIP Unicode Path extra field (0x7075) does not rescue
//! that: Python's `zipfile` ignores it. What the project needs of the format
//! is small (stored and deflated entries, data descriptors, zip64, no
//! encryption, comments or directories), and owning it also drops a
//! dependency from the binary.
//!
//! The layout is the one rawzip wrote, so archives stay byte-identical to
//! earlier releases apart from the UTF-8 flag, now set on every entry:
//! - every entry streams its data after a local header with zero sizes and
//!   is closed by a data descriptor (bit 3), whose sizes are 8 bytes wide
//!   when either size reaches 4 GiB;
//! - "version made by" is Unix, each entry a `rw-r--r--` regular file,
//!   timestamped with a DOS date and an extended-timestamp field (0x5455,
//!   central directory only);
//! - a zip64 extra field (0x0001) in the central directory carries the
//!   sizes and offsets that do not fit in 32 bits, and a zip64 end record
//!   and locator come before the classic end record when anything does.
//!
//! The writer also holds the one invariant the rest relies on: entry names
//! come strictly in byte order, so no two entries can share a name.
//!
//! [`compress`]: super::compress

use std::cmp::Ordering;
use std::io::{self, Write};

use super::compress::Method;

// The records' signatures, shared with the readers (`super::entry`,
// `super::unpack`).
pub(super) const LOCAL_HEADER: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;
pub(super) const CENTRAL_HEADER: u32 = 0x0201_4b50;
pub(super) const ZIP64_END: u32 = 0x0606_4b50;
pub(super) const ZIP64_LOCATOR: u32 = 0x0706_4b50;
pub(super) const END: u32 = 0x0605_4b50;
/// The end record (22 bytes) and the longest comment it may carry: how
/// much of an archive's tail a reader needs to find it.
pub(super) const TAIL: u64 = 22 + 65_535;

/// Version needed to extract: 2.0 (deflate), 4.5 (zip64).
const VERSION: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// Upper byte of "version made by": the external attributes are Unix modes.
const MADE_BY_UNIX: u16 = 3 << 8;

/// Sizes, CRC and data follow in a data descriptor (bit 3); the name is
/// UTF-8 (bit 11).
const FLAGS: u16 = 1 << 3 | 1 << 11;

/// Every entry is a plain `rw-r--r--` file, whatever the disk says.
pub(super) const FILE_MODE: u32 = 0o100_644;

const EXTENDED_TIMESTAMP: u16 = 0x5455;
const ZIP64_EXTRA: u16 = 0x0001;

/// A size, offset or count at or above these needs zip64.
const MAX32: u64 = u32::MAX as u64;
const MAX16: u64 = u16::MAX as u64;

/// What cannot be written as asked.
#[derive(Debug, thiserror::Error)]
pub(super) enum ZipError {
    /// A name equal to the previous entry's.
    #[error("two entries named {0:?}")]
    Duplicate(String),
    /// A name sorting before the previous entry's: a bug in the caller.
    #[error("entry {0:?} comes out of order")]
    OutOfOrder(String),
    #[error("entry name {0:?} is longer than the 65535 bytes a zip name can hold")]
    NameTooLong(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The time stamped on every entry.
#[derive(Debug, Clone, Copy)]
pub(super) struct EntryTime {
    dos_date: u16,
    dos_time: u16,
    unix: u32,
}

impl EntryTime {
    /// `secs` since the epoch, which must lie within what a DOS date holds
    /// (1980 to 2107); the extended timestamp saturates at 2106.
    pub(super) fn from_unix(secs: u64) -> Self {
        let days = secs / 86_400;
        let in_day = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        let (hour, minute, second) = (in_day / 3600, in_day / 60 % 60, in_day % 60);
        EntryTime {
            dos_date: ((year.saturating_sub(1980) as u16) << 9)
                | ((month as u16) << 5)
                | day as u16,
            dos_time: ((hour as u16) << 11) | ((minute as u16) << 5) | (second / 2) as u16,
            unix: u32::try_from(secs).unwrap_or(u32::MAX),
        }
    }
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01, in
/// the proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// What the central directory needs of a finished entry.
struct Entry {
    /// Where its name is in [`ZipWriter::names`].
    name_end: usize,
    method: Method,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    offset: u64,
}

impl Entry {
    fn needs_zip64(&self) -> bool {
        self.compressed >= MAX32 || self.uncompressed >= MAX32 || self.offset >= MAX32
    }
}

/// The entry being written.
struct Open {
    method: Method,
    offset: u64,
    compressed: u64,
}

/// Writes a zip to `out`, one entry at a time, without seeking.
pub(super) struct ZipWriter<W: Write> {
    out: W,
    /// Bytes written so far: the offset of whatever comes next.
    offset: u64,
    time: EntryTime,
    entries: Vec<Entry>,
    /// Every entry name, back to back.
    names: Vec<u8>,
    /// Where the last name started in `names`.
    last_name: usize,
    open: Option<Open>,
}

impl<W: Write> ZipWriter<W> {
    pub(super) fn new(out: W, time: EntryTime) -> Self {
        ZipWriter {
            out,
            offset: 0,
            time,
            entries: Vec::new(),
            names: Vec::new(),
            last_name: 0,
            open: None,
        }
    }

    /// Start an entry named `name`, exactly these bytes. Names must come in
    /// strictly increasing byte order, which is what rules out duplicates.
    pub(super) fn start(&mut self, name: &str, method: Method) -> Result<(), ZipError> {
        if self.open.is_some() {
            return Err(
                io::Error::other("an entry started before the last one was finished").into(),
            );
        }
        if !self.entries.is_empty() {
            match name.as_bytes().cmp(&self.names[self.last_name..]) {
                Ordering::Greater => {}
                Ordering::Equal => return Err(ZipError::Duplicate(name.to_owned())),
                Ordering::Less => return Err(ZipError::OutOfOrder(name.to_owned())),
            }
        }
        let name_len =
            u16::try_from(name.len()).map_err(|_| ZipError::NameTooLong(name.to_owned()))?;
        let mut header = Vec::with_capacity(30 + name.len());
        put32(&mut header, LOCAL_HEADER);
        put16(&mut header, VERSION);
        put16(&mut header, FLAGS);
        put16(&mut header, method_id(method));
        put16(&mut header, self.time.dos_time);
        put16(&mut header, self.time.dos_date);
        // CRC and sizes are in the data descriptor (APPNOTE 4.4.4).
        header.extend_from_slice(&[0; 12]);
        put16(&mut header, name_len);
        put16(&mut header, 0); // no local extra fields
        header.extend_from_slice(name.as_bytes());
        let offset = self.offset;
        self.put(&header)?;
        self.last_name = self.names.len();
        self.names.extend_from_slice(name.as_bytes());
        self.open = Some(Open {
            method,
            offset,
            compressed: 0,
        });
        Ok(())
    }

    /// Append already-compressed bytes to the open entry.
    pub(super) fn write_data(&mut self, data: &[u8]) -> io::Result<()> {
        let Some(open) = &mut self.open else {
            return Err(io::Error::other("entry data written outside an entry"));
        };
        open.compressed += data.len() as u64;
        self.put(data)
    }

    /// Close the open entry: `crc` and `uncompressed` describe the bytes
    /// before compression.
    pub(super) fn finish_entry(&mut self, crc: u32, uncompressed: u64) -> io::Result<()> {
        let Some(open) = self.open.take() else {
            return Err(io::Error::other("no entry to finish"));
        };
        let mut descriptor = Vec::with_capacity(24);
        put32(&mut descriptor, DATA_DESCRIPTOR);
        put32(&mut descriptor, crc);
        if open.compressed >= MAX32 || uncompressed >= MAX32 {
            put64(&mut descriptor, open.compressed);
            put64(&mut descriptor, uncompressed);
        } else {
            put32(&mut descriptor, open.compressed as u32);
            put32(&mut descriptor, uncompressed as u32);
        }
        self.put(&descriptor)?;
        self.entries.push(Entry {
            name_end: self.names.len(),
            method: open.method,
            crc,
            compressed: open.compressed,
            uncompressed,
            offset: open.offset,
        });
        Ok(())
    }

    /// Write the central directory and the end records; returns `out`.
    pub(super) fn finish(mut self) -> io::Result<W> {
        if self.open.is_some() {
            return Err(io::Error::other("the last entry was not finished"));
        }
        let directory_offset = self.offset;
        let (entries, names) = (
            std::mem::take(&mut self.entries),
            std::mem::take(&mut self.names),
        );
        let mut buf = Vec::with_capacity(64 << 10);
        let mut name_start = 0;
        for entry in &entries {
            let name = &names[name_start..entry.name_end];
            name_start = entry.name_end;
            central_header(&mut buf, entry, name, self.time);
            if buf.len() >= 60 << 10 {
                self.put(&buf)?;
                buf.clear();
            }
        }
        self.put(&buf)?;
        buf.clear();
        let directory_size = self.offset - directory_offset;
        let count = entries.len() as u64;
        let zip64 = count >= MAX16
            || directory_size >= MAX32
            || directory_offset >= MAX32
            || entries.iter().any(Entry::needs_zip64);
        if zip64 {
            let record_offset = self.offset;
            put32(&mut buf, ZIP64_END);
            put64(&mut buf, 44); // size of the rest of this record
            put16(&mut buf, VERSION_ZIP64); // made by
            put16(&mut buf, VERSION_ZIP64); // needed
            put32(&mut buf, 0); // this disk
            put32(&mut buf, 0); // disk where the directory starts
            put64(&mut buf, count); // entries on this disk
            put64(&mut buf, count); // entries in all
            put64(&mut buf, directory_size);
            put64(&mut buf, directory_offset);
            put32(&mut buf, ZIP64_LOCATOR);
            put32(&mut buf, 0); // disk of the zip64 end record
            put64(&mut buf, record_offset);
            put32(&mut buf, 1); // disks in all
        }
        put32(&mut buf, END);
        put16(&mut buf, 0); // this disk
        put16(&mut buf, 0); // disk where the directory starts
        put16(&mut buf, count.min(MAX16) as u16);
        put16(&mut buf, count.min(MAX16) as u16);
        put32(&mut buf, directory_size.min(MAX32) as u32);
        put32(&mut buf, directory_offset.min(MAX32) as u32);
        put16(&mut buf, 0); // no archive comment
        self.put(&buf)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

/// One central directory header, with its extra fields.
fn central_header(buf: &mut Vec<u8>, entry: &Entry, name: &[u8], time: EntryTime) {
    let mut zip64 = Vec::new();
    for value in [entry.uncompressed, entry.compressed, entry.offset] {
        if value >= MAX32 {
            zip64.extend_from_slice(&value.to_le_bytes());
        }
    }
    let version = if zip64.is_empty() {
        VERSION
    } else {
        VERSION_ZIP64
    };
    let extra_len = 9 + if zip64.is_empty() { 0 } else { 4 + zip64.len() };
    put32(buf, CENTRAL_HEADER);
    put16(buf, MADE_BY_UNIX | version);
    put16(buf, version);
    put16(buf, FLAGS);
    put16(buf, method_id(entry.method));
    put16(buf, time.dos_time);
    put16(buf, time.dos_date);
    put32(buf, entry.crc);
    put32(buf, entry.compressed.min(MAX32) as u32);
    put32(buf, entry.uncompressed.min(MAX32) as u32);
    put16(buf, name.len() as u16);
    put16(buf, extra_len as u16);
    put16(buf, 0); // no comment
    put16(buf, 0); // disk where the entry starts
    put16(buf, 0); // internal attributes
    put32(buf, FILE_MODE << 16);
    put32(buf, entry.offset.min(MAX32) as u32);
    buf.extend_from_slice(name);
    // Extended timestamp: modification time only.
    put16(buf, EXTENDED_TIMESTAMP);
    put16(buf, 5);
    buf.push(1);
    put32(buf, time.unix);
    if !zip64.is_empty() {
        put16(buf, ZIP64_EXTRA);
        put16(buf, zip64.len() as u16);
        buf.extend_from_slice(&zip64);
    }
}

fn method_id(method: Method) -> u16 {
    match method {
        Method::Stored => 0,
        Method::Deflate => 8,
    }
}

fn put16(buf: &mut Vec<u8>, v: u16) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

/// The little-endian integers of a record, `None` past its end.
pub(super) fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

pub(super) fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn dos_time_known_answers() {
        let t = EntryTime::from_unix(315_532_800); // 1980-01-01 00:00:00
        assert_eq!((t.dos_date, t.dos_time, t.unix), (0x0021, 0, 315_532_800));
        let t = EntryTime::from_unix(1_700_000_000); // 2023-11-14 22:13:20
        assert_eq!(
            (t.dos_date, t.dos_time),
            ((43 << 9) | (11 << 5) | 14, (22 << 11) | (13 << 5) | 10)
        );
        let t = EntryTime::from_unix(951_782_400); // 2000-02-29 00:00:00
        assert_eq!(t.dos_date, (20 << 9) | (2 << 5) | 29);
        let t = EntryTime::from_unix(4_354_819_199); // 2107-12-31 23:59:59
        assert_eq!(
            (t.dos_date, t.dos_time, t.unix),
            (
                (127 << 9) | (12 << 5) | 31,
                (23 << 11) | (59 << 5) | 29,
                u32::MAX
            )
        );
    }

    #[test]
    fn names_must_come_in_strictly_increasing_order() {
        let mut zip = ZipWriter::new(Vec::new(), EntryTime::from_unix(315_532_800));
        zip.start("b", Method::Stored).unwrap();
        zip.finish_entry(0, 0).unwrap();
        assert!(matches!(
            zip.start("b", Method::Stored),
            Err(ZipError::Duplicate(name)) if name == "b"
        ));
        assert!(matches!(
            zip.start("a", Method::Stored),
            Err(ZipError::OutOfOrder(name)) if name == "a"
        ));
        zip.start("b/c", Method::Stored).unwrap();
        assert!(zip.start("c", Method::Stored).is_err(), "entry still open");
        let long = "x".repeat(70_000);
        zip.finish_entry(0, 0).unwrap();
        assert!(matches!(
            zip.start(&long, Method::Stored),
            Err(ZipError::NameTooLong(_))
        ));
    }

    /// More entries than the classic end record can count: the zip64 end
    /// record and locator carry the count.
    #[test]
    fn zip64_end_records_past_65535_entries() {
        let count = 70_000;
        let mut zip = ZipWriter::new(Vec::new(), EntryTime::from_unix(315_532_800));
        for i in 0..count {
            let data = format!("{i}");
            zip.start(&format!("{i:06}.txt"), Method::Stored).unwrap();
            zip.write_data(data.as_bytes()).unwrap();
            zip.finish_entry(crc32fast::hash(data.as_bytes()), data.len() as u64)
                .unwrap();
        }
        let bytes = zip.finish().unwrap();
        // Classic end record: counts saturated at 0xFFFF.
        let end = bytes.len() - 22;
        assert_eq!(&bytes[end..end + 4], &END.to_le_bytes());
        assert_eq!(&bytes[end + 8..end + 12], &[0xff; 4]);
        assert_eq!(&bytes[end - 20..end - 16], &ZIP64_LOCATOR.to_le_bytes());
        let mut archive = ::zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), count);
        let mut last = String::new();
        archive
            .by_index(count - 1)
            .unwrap()
            .read_to_string(&mut last)
            .unwrap();
        assert_eq!(last, format!("{}", count - 1));
    }
}
