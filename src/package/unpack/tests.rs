use std::io::Write as _;

use super::*;

/// One entry of a zip made by hand, so a test can write what no honest
/// zipper would: any name bytes, any file type, a lying size.
#[derive(Clone)]
struct Raw {
    name: Vec<u8>,
    data: Vec<u8>,
    /// Upper 16 bits: the Unix mode.
    external: u32,
    /// Stored (0) or deflate (8); `data` is deflated here for 8.
    method: u16,
    /// Overrides the uncompressed size the headers declare.
    size: Option<u32>,
    flags: u16,
}

fn file(name: &str, data: &[u8]) -> Raw {
    Raw {
        name: name.as_bytes().to_vec(),
        data: data.to_vec(),
        external: 0o100_644 << 16,
        method: 8,
        size: None,
        flags: 1 << 11,
    }
}

fn folder(name: &str) -> Raw {
    Raw {
        external: 0o040_755 << 16 | 0x10,
        method: 0,
        ..file(name, b"")
    }
}

fn link(name: &str, target: &str) -> Raw {
    Raw {
        external: 0o120_777 << 16,
        method: 0,
        ..file(name, target.as_bytes())
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The archive: local headers and data, the central directory, and the
/// end record; with `zip64`, the counts and offsets in a zip64 end record
/// (the classic one saying 0xFFFF/0xFFFFFFFF).
fn archive(entries: &[Raw], zip64: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let packed = match e.method {
            8 => deflate(&e.data),
            _ => e.data.clone(),
        };
        let crc = crc32fast::hash(&e.data);
        let size = e.size.unwrap_or(e.data.len() as u32);
        let mut head = Vec::new();
        head.extend(20u16.to_le_bytes());
        head.extend(e.flags.to_le_bytes());
        head.extend(e.method.to_le_bytes());
        head.extend([0, 0, 0x21, 0]); // time, date
        head.extend(crc.to_le_bytes());
        head.extend((packed.len() as u32).to_le_bytes());
        head.extend(size.to_le_bytes());
        head.extend((e.name.len() as u16).to_le_bytes());
        out.extend(LOCAL_HEADER.to_le_bytes());
        out.extend(&head);
        out.extend(0u16.to_le_bytes());
        out.extend(&e.name);
        out.extend(&packed);
        central.extend(CENTRAL_HEADER.to_le_bytes());
        central.extend((3u16 << 8 | 20).to_le_bytes());
        central.extend(&head);
        central.extend([0u8; 4]); // extra, comment lengths
        central.extend([0u8; 4]); // disk, internal attributes
        central.extend(e.external.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(&e.name);
    }
    let (at, n) = (out.len() as u64, entries.len() as u64);
    out.extend(&central);
    if zip64 {
        let end64 = out.len() as u64;
        out.extend(ZIP64_END.to_le_bytes());
        out.extend(44u64.to_le_bytes());
        out.extend([45, 3, 45, 0]);
        out.extend([0u8; 8]);
        out.extend(n.to_le_bytes());
        out.extend(n.to_le_bytes());
        out.extend((central.len() as u64).to_le_bytes());
        out.extend(at.to_le_bytes());
        out.extend(ZIP64_LOCATOR.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(end64.to_le_bytes());
        out.extend(1u32.to_le_bytes());
    }
    out.extend(END.to_le_bytes());
    out.extend([0u8; 4]);
    let (count, size, offset) = match zip64 {
        true => (u16::MAX, u32::MAX, u32::MAX),
        false => (n as u16, central.len() as u32, at as u32),
    };
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend(size.to_le_bytes());
    out.extend(offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

struct Unpacking {
    dir: tempfile::TempDir,
    into: PathBuf,
}

fn unpack_bytes(bytes: &[u8], caps: Caps) -> (Result<Unpacked, UnpackError>, Unpacking) {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("artifact.zip");
    fs::write(&zip, bytes).unwrap();
    let into = dir.path().join("site");
    fs::create_dir(&into).unwrap();
    (unpack(&zip, &into, &caps), Unpacking { dir, into })
}

/// Every file below `root`, by its `/`-separated relative name.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found: Vec<_> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap();
            let name: Vec<_> = rel.iter().map(|p| p.to_str().unwrap()).collect();
            (name.join("/"), fs::read(e.path()).unwrap())
        })
        .collect();
    found.sort();
    found
}

fn is_empty(root: &Path) -> bool {
    fs::read_dir(root).unwrap().next().is_none()
}

#[test]
fn unpacks_names_byte_for_byte() {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let names = [
        "index.html",
        "::error::x.html",
        "Catégorie:Histoire.html",
        "e\u{301}t\u{e9}/caf\u{e9}.html",
        "日本語/ページ.html",
        "עברית/קובץ.txt",
        ".well-known/security.txt",
        "[link](javascript:x) *b*.md",
        "empty.txt",
    ];
    let mut entries: Vec<Raw> = names
        .iter()
        .map(|n| file(n, format!("<p>{n}</p>").as_bytes()))
        .collect();
    entries[8].data.clear();
    entries.push(folder("assets/"));
    entries.push(file("assets/big.bin", &big));
    entries.push(Raw {
        method: 0,
        ..file("stored.txt", b"as is")
    });
    entries.push(folder("empty folder/"));
    let (r, u) = unpack_bytes(&archive(&entries, false), Caps::default());
    let got = r.unwrap();
    assert_eq!(got.files, 11);
    let mut want: Vec<(String, Vec<u8>)> = entries
        .iter()
        .filter(|e| !e.name.ends_with(b"/"))
        .map(|e| (String::from_utf8(e.name.clone()).unwrap(), e.data.clone()))
        .collect();
    want.sort();
    assert_eq!(tree(&u.into), want);
    assert_eq!(
        got.bytes,
        want.iter().map(|(_, d)| d.len() as u64).sum::<u64>()
    );
    assert!(u.into.join("empty folder").is_dir());
}

#[test]
fn reads_what_the_zip_crate_writes_and_zip64_end_records() {
    // A zipper's own archive: data descriptors, directories, deflate.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    w.add_directory("docs/", opts).unwrap();
    w.start_file("docs/a:b.html", opts).unwrap();
    w.write_all(&b"<p>zip64 extra</p>".repeat(500)).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let (r, u) = unpack_bytes(&bytes, Caps::default());
    assert_eq!(r.unwrap().files, 1);
    assert_eq!(
        tree(&u.into),
        [(
            "docs/a:b.html".to_owned(),
            b"<p>zip64 extra</p>".repeat(500)
        )]
    );

    let (r, u) = unpack_bytes(&archive(&[file("x.html", b"64")], true), Caps::default());
    assert_eq!(r.unwrap().files, 1);
    assert_eq!(tree(&u.into), [("x.html".to_owned(), b"64".to_vec())]);
}

#[test]
fn refuses_names_that_leave_the_folder_or_cannot_be_served() {
    for (name, why) in [
        ("../x.html", ".. segment"),
        ("a/../../x.html", ".. segment"),
        ("./x.html", ". or .."),
        ("/etc/passwd", "absolute path"),
        ("a\\..\\x.html", "backslash"),
        ("a//x.html", "empty path segment"),
        ("bad\u{7}bell.html", "control character"),
        ("line\nbreak.html", "control character"),
    ] {
        let entries = [file("index.html", b"ok"), file(name, b"evil")];
        let (r, u) = unpack_bytes(&archive(&entries, false), Caps::default());
        let e = r.unwrap_err();
        assert!(matches!(e, UnpackError::BadName { .. }), "{name}: {e}");
        assert!(e.to_string().contains(why), "{name}: {e}");
        assert!(is_empty(&u.into), "{name}: something was written");
        assert_eq!(fs::read_dir(u.dir.path()).unwrap().count(), 2);
    }
    let latin1 = Raw {
        name: b"caf\xe9.html".to_vec(),
        ..file("x", b"x")
    };
    let (r, u) = unpack_bytes(&archive(&[latin1], false), Caps::default());
    assert!(r.unwrap_err().to_string().contains("not UTF-8"));
    assert!(is_empty(&u.into));
}

#[test]
fn refuses_links_and_special_files() {
    let entries = [
        file("index.html", b"ok"),
        link("secrets", "/home/runner/.aws/credentials"),
    ];
    let (r, u) = unpack_bytes(&archive(&entries, false), Caps::default());
    assert!(matches!(r, Err(UnpackError::Link { ref name }) if name == "secrets"));
    assert!(is_empty(&u.into));
    // What the zip crate writes for a link is refused too.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.start_file("index.html", opts).unwrap();
    w.write_all(b"ok").unwrap();
    w.add_symlink("up", "..", opts).unwrap();
    let (r, _) = unpack_bytes(&w.finish().unwrap().into_inner(), Caps::default());
    assert!(matches!(r, Err(UnpackError::Link { .. })), "{r:?}");
    let fifo = Raw {
        external: 0o010_644 << 16,
        ..file("pipe", b"")
    };
    let (r, _) = unpack_bytes(&archive(&[fifo], false), Caps::default());
    assert!(matches!(r, Err(UnpackError::Special { .. })), "{r:?}");
}

#[test]
fn refuses_duplicates_and_a_file_that_is_also_a_folder() {
    for entries in [
        vec![file("a.html", b"1"), file("a.html", b"2")],
        vec![file("a", b"1"), file("a/b.html", b"2")],
        vec![file("a/b.html", b"2"), file("a", b"1")],
        vec![folder("a/"), file("a", b"1")],
    ] {
        let (r, u) = unpack_bytes(&archive(&entries, false), Caps::default());
        assert!(matches!(r, Err(UnpackError::Duplicate { .. })), "{r:?}");
        assert!(is_empty(&u.into));
    }
}

#[test]
fn the_caps_hold_before_anything_is_written() {
    let three = [file("a", b"1"), file("b", b"22"), file("c", b"333")];
    let caps = |max_entries, max_bytes| Caps {
        max_entries,
        max_bytes,
    };
    let (r, u) = unpack_bytes(&archive(&three, false), caps(2, 100));
    assert!(
        matches!(r, Err(UnpackError::TooManyEntries { count: 3, max: 2 })),
        "{r:?}"
    );
    assert!(is_empty(&u.into));
    let (r, u) = unpack_bytes(&archive(&three, false), caps(3, 5));
    assert!(matches!(r, Err(UnpackError::TooLarge { max: 5 })), "{r:?}");
    assert!(is_empty(&u.into));
    let (r, _) = unpack_bytes(&archive(&three, false), caps(3, 6));
    assert_eq!(r.unwrap(), Unpacked { files: 3, bytes: 6 });
}

#[test]
fn an_entry_that_holds_more_than_it_declares_is_cut_off() {
    // A bomb's trick: declare 10 bytes, inflate to a megabyte.
    let bomb = Raw {
        size: Some(10),
        ..file("bomb.html", &vec![b'x'; 1 << 20])
    };
    let (r, u) = unpack_bytes(&archive(&[bomb], false), caps_of(100));
    assert!(
        matches!(r, Err(UnpackError::Corrupt { why, .. }) if why.contains("more bytes")),
        "{r:?}"
    );
    let written = fs::metadata(u.into.join("bomb.html")).unwrap().len();
    assert!(written <= 10, "{written}");
}

fn caps_of(max_bytes: u64) -> Caps {
    Caps {
        max_entries: 10,
        max_bytes,
    }
}

#[test]
fn corrupt_archives_are_errors_not_panics() {
    let good = archive(&[file("index.html", b"<h1>hi</h1>")], false);
    // Damaged data: it inflates to other bytes, or not at all.
    let mut damaged = good.clone();
    damaged[30 + "index.html".len() + 2] ^= 0xff;
    let (r, _) = unpack_bytes(&damaged, Caps::default());
    assert!(matches!(r, Err(UnpackError::Corrupt { .. })), "{r:?}");
    for cut in [0, 10, good.len() - 30, good.len() - 1] {
        let (r, _) = unpack_bytes(&good[..cut], Caps::default());
        assert!(r.is_err(), "cut at {cut}");
    }
    let (r, _) = unpack_bytes(b"not a zip at all", Caps::default());
    assert!(matches!(r, Err(UnpackError::Malformed { .. })), "{r:?}");
    // Every single-byte change in the directory: an error or the same file.
    let central = good.len() - 22 - (46 + "index.html".len());
    for i in central..good.len() {
        let mut damaged = good.clone();
        damaged[i] = damaged[i].wrapping_add(0x41);
        let (r, u) = unpack_bytes(&damaged, Caps::default());
        if r.is_ok() {
            for (name, data) in tree(&u.into) {
                assert!(!name.contains(".."), "{i}: {name}");
                assert!(data.len() <= 11, "{i}");
            }
        }
    }
    let encrypted = Raw {
        flags: 1,
        ..file("x", b"x")
    };
    let (r, _) = unpack_bytes(&archive(&[encrypted], false), Caps::default());
    assert!(matches!(r, Err(UnpackError::Encrypted { .. })), "{r:?}");
    let bzip2 = Raw {
        method: 12,
        ..file("x", b"x")
    };
    let (r, _) = unpack_bytes(&archive(&[bzip2], false), Caps::default());
    assert!(
        matches!(r, Err(UnpackError::Method { method: 12, .. })),
        "{r:?}"
    );
}
