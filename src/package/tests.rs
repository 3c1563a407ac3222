//! Packaging tests: every archive is read back with the `zip` crate (which
//! checks each entry's CRC while reading) and, where Info-ZIP's `unzip` is
//! installed, tested with `unzip -t` as well.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::write::Tuning;
use super::*;

/// Small sizes so that chunking, probing and the in-flight cap all happen on
/// files a debug build handles quickly.
fn tiny_tuning() -> Tuning {
    Tuning {
        whole_max: 64 * 1024,
        chunk: 40_000,
        in_flight: 300_000,
        probe: 16 * 1024,
        batch_bytes: 10_000,
        batch_files: 3,
    }
}

fn write(root: &Path, name: &str, data: &[u8]) {
    let path = root.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, data).unwrap();
}

fn text(len: usize, seed: u8) -> Vec<u8> {
    let words: [&[u8]; 6] = [
        b"<div>",
        b"static ",
        b"site ",
        b"amplify ",
        b"</div>\n",
        b"deploy ",
    ];
    let mut out = Vec::with_capacity(len);
    let mut i = seed as usize;
    while out.len() < len {
        out.extend_from_slice(words[i % words.len()]);
        i = i.wrapping_mul(31).wrapping_add(7) % 1009;
    }
    out.truncate(len);
    out
}

fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    seed |= 1;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Name, compression method and contents of every entry, in archive order;
/// reading the contents to the end makes the `zip` crate verify each CRC.
fn read_back(zip_path: &Path) -> Vec<(String, zip::CompressionMethod, Vec<u8>)> {
    let file = fs::File::open(zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(file).expect("a readable zip");
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .expect("entry data with a good CRC");
        entries.push((
            entry.name().expect("a UTF-8 name").to_string(),
            entry.compression(),
            data,
        ));
    }
    entries
}

fn unzip_accepts(zip_path: &Path) {
    match Command::new("unzip").arg("-tqq").arg(zip_path).output() {
        Ok(out) => assert!(
            out.status.success(),
            "unzip -t rejected the archive: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("unzip not installed: skipping `unzip -t`"),
    }
}

fn package(opts: &PackageOptions, out: &Path) -> Result<PackageReport, PackageError> {
    package_with(opts, out, &tiny_tuning(), &Control::default())
}

/// A listing made before packaging starts, to change the folder in between.
struct Listed(std::collections::VecDeque<Result<walk::SourceFile, PackageError>>);

impl Iterator for Listed {
    type Item = Result<walk::SourceFile, PackageError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.pop_front()
    }
}

impl walk::Listing for Listed {
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }
}

fn names(entries: &[(String, zip::CompressionMethod, Vec<u8>)]) -> Vec<&str> {
    entries.iter().map(|(n, _, _)| n.as_str()).collect()
}

#[test]
fn archive_holds_folder_contents_sorted_with_hidden_files() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("dist");
    write(&site, "index.html", b"<html>home</html>");
    write(&site, ".well-known/security.txt", b"Contact: x");
    write(&site, "a/b.html", b"b");
    write(&site, "a.txt", b"a dot");
    write(&site, "Z.css", b"z");
    write(&site, "empty", b"");
    write(&site, "\u{e9}t\u{e9}.html", "été".as_bytes());
    let out = tmp.path().join("site.zip");

    let report = package(&PackageOptions::new(&site), &out).unwrap();

    let entries = read_back(&out);
    // Byte order of the UTF-8 names: '.' (0x2E) < '/' (0x2F) < 'Z' < 'a'.
    assert_eq!(
        names(&entries),
        [
            ".well-known/security.txt",
            "Z.css",
            "a.txt",
            "a/b.html",
            "empty",
            "index.html",
            "\u{e9}t\u{e9}.html"
        ]
    );
    let index = entries.iter().find(|e| e.0 == "index.html").unwrap();
    assert_eq!(index.2, b"<html>home</html>");
    assert_eq!(entries.last().unwrap().2, "été".as_bytes());
    unzip_accepts(&out);

    let bytes = fs::read(&out).unwrap();
    assert_eq!(report.file_count, 7);
    assert_eq!(report.bytes_in, 17 + 10 + 1 + 5 + 1 + 5); // "empty" adds 0
    assert_eq!(report.bytes_out, bytes.len() as u64);
    assert_eq!(report.sha256, hex::encode(Sha256::digest(&bytes)));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn entries_have_fixed_time_and_permissions() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"hi");
    write(&site, "run.sh", b"#!/bin/sh");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(site.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = tmp.path().join("a.zip");
    package(&PackageOptions::new(&site), &out).unwrap();
    let mut archive = zip::ZipArchive::new(fs::File::open(&out).unwrap()).unwrap();
    for i in 0..archive.len() {
        let entry = archive.by_index(i).unwrap();
        assert_eq!(entry.unix_mode(), Some(0o100644), "{:?}", entry.name());
        let t = entry.last_modified().unwrap();
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            (1980, 1, 1, 0, 0)
        );
    }

    let mut opts = PackageOptions::new(&site);
    opts.source_date_epoch = Some(1_700_000_000); // 2023-11-14 22:13:20 UTC
    package(&opts, &out).unwrap();
    let mut archive = zip::ZipArchive::new(fs::File::open(&out).unwrap()).unwrap();
    let t = archive.by_index(0).unwrap().last_modified().unwrap();
    assert_eq!(
        (t.year(), t.month(), t.day(), t.hour(), t.minute()),
        (2023, 11, 14, 22, 13)
    );
}

/// Builds the same contents twice: files created in opposite orders, with
/// different modification times and permissions.
fn twin_trees(base: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..40 {
        files.push((format!("page{i}/index.html"), text(500 + i * 300, i as u8)));
    }
    files.push(("big.js".into(), text(200_000, 3)));
    files.push(("media/noise.bin".into(), noise(150_000, 9)));
    files.push(("img/logo.png".into(), noise(3_000, 4)));
    let one = base.join("one");
    let two = base.join("two");
    for (name, data) in &files {
        write(&one, name, data);
    }
    for (name, data) in files.iter().rev() {
        write(&two, name, data);
    }
    for (i, (name, _)) in files.iter().enumerate() {
        let f = fs::File::options()
            .write(true)
            .open(two.join(name))
            .unwrap();
        let when =
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000 + i as u64 * 7777);
        f.set_modified(when).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(two.join(name), fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    (one, two)
}

#[test]
fn same_contents_give_same_bytes_whatever_order_mtime_or_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = twin_trees(tmp.path());
    let mut outputs = Vec::new();
    for (root, threads) in [
        (&one, Some(1)),
        (&two, Some(4)),
        (&one, Some(4)),
        (&two, None),
    ] {
        let mut opts = PackageOptions::new(root);
        opts.threads = threads;
        let out = tmp.path().join(format!("out{}.zip", outputs.len()));
        let report = package(&opts, &out).unwrap();
        outputs.push((fs::read(&out).unwrap(), report.sha256));
    }
    for (bytes, sha) in &outputs[1..] {
        assert!(bytes == &outputs[0].0, "archives differ");
        assert_eq!(sha, &outputs[0].1);
    }
    // And with the production tuning (no chunking at these sizes).
    let a = tmp.path().join("prod1.zip");
    let b = tmp.path().join("prod2.zip");
    let mut opts = PackageOptions::new(&one);
    opts.threads = Some(1);
    package_to_file(&opts, &a).unwrap();
    let mut opts = PackageOptions::new(&two);
    opts.threads = Some(3);
    package_to_file(&opts, &b).unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    unzip_accepts(&a);
}

#[test]
fn compressed_formats_and_noise_are_stored_text_is_deflated() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    // Compressible bytes under a precompressed extension: stored by name.
    write(&site, "photo.JPG", &text(5_000, 1));
    write(&site, "font.woff2", &text(5_000, 2));
    write(&site, "noise.dat", &noise(20_000, 5));
    write(&site, "page.html", &text(20_000, 6));
    // Large (chunked) files: noise stored after the probe, text deflated.
    write(&site, "large-noise.bin", &noise(300_000, 8));
    write(&site, "large-text.txt", &text(300_000, 9));
    // Compressible head, incompressible middle: deflate with stored blocks.
    let mut mixed = text(100_000, 3);
    mixed.extend(noise(100_000, 2));
    mixed.extend(text(50_001, 4));
    write(&site, "mixed.log", &mixed);
    let out = tmp.path().join("a.zip");
    package(&PackageOptions::new(&site), &out).unwrap();

    let entries = read_back(&out);
    let method = |name: &str| entries.iter().find(|e| e.0 == name).unwrap().1;
    use zip::CompressionMethod::{Deflated, Stored};
    assert_eq!(method("photo.JPG"), Stored);
    assert_eq!(method("font.woff2"), Stored);
    assert_eq!(method("noise.dat"), Stored);
    assert_eq!(method("page.html"), Deflated);
    assert_eq!(method("large-noise.bin"), Stored);
    assert_eq!(method("large-text.txt"), Deflated);
    assert_eq!(method("mixed.log"), Deflated);
    let data = |name: &str| entries.iter().find(|e| e.0 == name).unwrap().2.clone();
    assert_eq!(data("mixed.log"), mixed);
    assert_eq!(data("large-noise.bin"), noise(300_000, 8));
    assert_eq!(data("large-text.txt"), text(300_000, 9));
    unzip_accepts(&out);
}

#[test]
fn chunked_deflate_costs_little_ratio() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "big.html", &text(1_000_000, 5));
    let chunked = tmp.path().join("chunked.zip");
    let whole = tmp.path().join("whole.zip");
    package(&PackageOptions::new(&site), &chunked).unwrap();
    package_to_file(&PackageOptions::new(&site), &whole).unwrap();
    let (c, w) = (
        fs::metadata(&chunked).unwrap().len(),
        fs::metadata(&whole).unwrap().len(),
    );
    // 25 chunks of 40 kB, each primed with the previous 32 kB.
    assert!(c as f64 <= w as f64 * 1.10, "chunked {c} vs whole {w}");
    assert_eq!(read_back(&chunked)[0].2, text(1_000_000, 5));
}

#[test]
fn excludes_and_amplifyignore_filter_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"x");
    write(&site, "app.js", b"x");
    write(&site, "app.js.map", b"x");
    write(&site, "keep.map", b"x");
    write(&site, "drafts/post.html", b"x");
    write(&site, "sub/drafts/other.html", b"x");
    write(&site, "private/key.txt", b"x");
    write(&site, "sub/.amplifyignore", b"not special below the root");
    write(
        &site,
        ".amplifyignore",
        b"# comment\n*.map\r\n!keep.map\n/private/\n",
    );
    let mut opts = PackageOptions::new(&site);
    opts.excludes = vec!["drafts/".into()];
    let out = tmp.path().join("a.zip");
    package(&opts, &out).unwrap();
    assert_eq!(
        names(&read_back(&out)),
        ["app.js", "index.html", "keep.map", "sub/.amplifyignore"]
    );

    // A command-line pattern comes last, so it can bring a file back.
    opts.excludes = vec!["!app.js.map".into()];
    package(&opts, &out).unwrap();
    assert!(names(&read_back(&out)).contains(&"app.js.map"));
}

#[test]
fn bad_patterns_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"x");
    let out = tmp.path().join("a.zip");
    let mut opts = PackageOptions::new(&site);
    opts.excludes = vec!["ok/".into(), "[z-a]".into()];
    match package(&opts, &out) {
        Err(PackageError::BadExclude { pattern, .. }) => assert_eq!(pattern, "[z-a]"),
        other => panic!("expected BadExclude, got {other:?}"),
    }
    write(&site, ".amplifyignore", b"fine\n{unclosed\n");
    match package(&PackageOptions::new(&site), &out) {
        Err(PackageError::BadExclude { pattern, .. }) => assert_eq!(pattern, "{unclosed"),
        other => panic!("expected BadExclude, got {other:?}"),
    }
    assert!(!out.exists());
}

#[test]
fn root_must_be_a_folder_with_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a.zip");
    let missing = tmp.path().join("missing");
    assert!(matches!(
        package(&PackageOptions::new(&missing), &out),
        Err(PackageError::NotFound { path }) if path == missing
    ));
    write(tmp.path(), "file.txt", b"x");
    assert!(matches!(
        package(&PackageOptions::new(tmp.path().join("file.txt")), &out),
        Err(PackageError::NotADirectory { .. })
    ));
    let empty = tmp.path().join("empty");
    fs::create_dir_all(empty.join("only/dirs")).unwrap();
    assert!(matches!(
        package(&PackageOptions::new(&empty), &out),
        Err(PackageError::Empty { .. })
    ));
    // Everything excluded is empty too.
    write(&empty, "index.html", b"x");
    let mut opts = PackageOptions::new(&empty);
    opts.excludes = vec!["*.html".into()];
    assert!(matches!(
        package(&opts, &out),
        Err(PackageError::Empty { .. })
    ));
    assert!(!out.exists());
}

#[test]
fn archive_over_the_limit_is_refused_and_not_left_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "a.html", &text(1_000, 1));
    write(&site, "b.bin", &noise(200_000, 1));
    write(&site, "c.html", &text(1_000, 2));
    let out = tmp.path().join("a.zip");
    let mut opts = PackageOptions::new(&site);
    opts.max_archive_bytes = 100_000;
    match package(&opts, &out) {
        Err(PackageError::TooLarge { limit, path }) => {
            assert_eq!(limit, 100_000);
            assert_eq!(path, "b.bin");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(!out.exists());
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["site"], "temporary file left behind");

    opts.max_archive_bytes = 400_000;
    let report = package(&opts, &out).unwrap();
    assert!(report.bytes_out <= 400_000);
}

#[test]
fn output_inside_the_folder_is_not_packed_into_itself() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "index.html", b"x");
    let out = tmp.path().join("site.zip");
    package(&PackageOptions::new(tmp.path()), &out).unwrap();
    let report = package(&PackageOptions::new(tmp.path()), &out).unwrap();
    assert_eq!(names(&read_back(&out)), ["index.html"]);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
}

#[test]
fn file_vanishing_after_the_walk_is_unreadable() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"x");
    write(&site, "gone.html", b"soon gone");
    let opts = PackageOptions::new(&site);
    let listed = Listed(walk::Walk::new(&opts, None).unwrap().collect());
    fs::remove_file(site.join("gone.html")).unwrap();
    let out = tmp.path().join("a.zip");
    let tmp = write::temp_archive(&out).unwrap();
    match write::write_archive(
        &opts,
        Box::new(listed),
        tmp,
        &out,
        &tiny_tuning(),
        &Control::default(),
    ) {
        Err(PackageError::Unreadable { path, .. }) => assert!(path.ends_with("gone.html")),
        other => panic!("expected Unreadable, got {other:?}"),
    }
    assert!(!out.exists());
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"x");
    write(&site, "secret.html", b"x");
    let secret = site.join("secret.html");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::File::open(&secret).is_ok() {
        eprintln!("running with permission to read mode-000 files (root): skipping");
        return;
    }
    match package(&PackageOptions::new(&site), &tmp.path().join("a.zip")) {
        Err(PackageError::Unreadable { path, .. }) => assert!(path.ends_with("secret.html")),
        other => panic!("expected Unreadable, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn non_utf8_name_is_refused_unless_excluded() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"x");
    let bad = site.join(OsStr::from_bytes(b"caf\xe9.html"));
    fs::write(&bad, b"x").unwrap();
    let out = tmp.path().join("a.zip");
    match package(&PackageOptions::new(&site), &out) {
        Err(PackageError::NonUtf8Name { path }) => {
            assert_eq!(path.as_os_str().as_bytes(), b"caf\xe9.html")
        }
        other => panic!("expected NonUtf8Name, got {other:?}"),
    }
    let mut opts = PackageOptions::new(&site);
    opts.excludes = vec!["caf*".into()];
    package(&opts, &out).unwrap();
    assert_eq!(names(&read_back(&out)), ["index.html"]);
}

/// Names whose order differs between sorting each directory by name and
/// sorting the full paths: `-` (0x2D) and `.` (0x2E) sort before `/`
/// (0x2F), `0` (0x30) after it, and UTF-8 after ASCII.
const TRICKY_NAMES: &[&str] = &[
    "a-b",
    "a.txt",
    "a/b c",
    "a/b-c/d",
    "a/b.txt",
    "a/b/c",
    "a/b/c.txt",
    "a/b0",
    "a/bc",
    "a0",
    "ab",
    "A",
    "Z/z",
    "e.x",
    "e/\u{e9}",
    "e\u{301}",
    "\u{e9}/x",
    "\u{e9}a",
    "\u{e9}.txt",
    "~",
];

fn walk_names(site: &Path) -> Vec<String> {
    walk::Walk::new(&PackageOptions::new(site), None)
        .unwrap()
        .map(|file| file.unwrap().name)
        .collect()
}

#[test]
fn walk_yields_names_in_byte_order_without_a_full_sort() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    // Made in reverse so that creation order gives nothing away.
    for name in TRICKY_NAMES.iter().rev() {
        write(&site, name, name.as_bytes());
    }
    let walked = walk_names(&site);
    let mut sorted: Vec<String> = TRICKY_NAMES.iter().map(|n| n.to_string()).collect();
    sorted.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(walked, sorted);
    assert_eq!(walked[..4], ["A", "Z/z", "a-b", "a.txt"]);

    // The archive keeps that order, whatever the thread count, and pairs
    // each name with its own contents across batch boundaries.
    for threads in [1, 2, 4] {
        let out = tmp.path().join(format!("t{threads}.zip"));
        let mut opts = PackageOptions::new(&site);
        opts.threads = Some(threads);
        package(&opts, &out).unwrap();
        let entries = read_back(&out);
        assert_eq!(names(&entries), sorted, "threads {threads}");
        for (name, _, data) in &entries {
            assert_eq!(data, name.as_bytes());
        }
    }
}

#[cfg(unix)]
#[test]
fn symlinked_directories_sort_as_directories() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "real/page.html", b"p");
    write(&site, "l.txt", b"t");
    write(&site, "l0", b"0");
    write(&site, "l-", b"-");
    write(&site, "m", b"m");
    // A link to a directory ranks as "l/", a link to a file as its name.
    symlink("real", site.join("l")).unwrap();
    symlink("m", site.join("m.link")).unwrap();
    assert_eq!(
        walk_names(&site),
        [
            "l-",
            "l.txt",
            "l/page.html",
            "l0",
            "m",
            "m.link",
            "real/page.html"
        ]
    );
}

#[cfg(unix)]
#[test]
fn symlinks_inside_are_followed_outside_are_skipped() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"home");
    write(&site, "assets/app.js", b"js");
    write(tmp.path(), "outside/secret.txt", b"secret");
    symlink("index.html", site.join("home.html")).unwrap();
    symlink("assets", site.join("static")).unwrap();
    symlink("../outside/secret.txt", site.join("leak.txt")).unwrap();
    symlink(tmp.path().join("outside"), site.join("leakdir")).unwrap();
    symlink("missing.html", site.join("broken.html")).unwrap();
    let out = tmp.path().join("a.zip");
    let report = package(&PackageOptions::new(&site), &out).unwrap();
    let entries = read_back(&out);
    assert_eq!(
        names(&entries),
        ["assets/app.js", "home.html", "index.html", "static/app.js"]
    );
    assert_eq!(entries[1].2, b"home");
    assert_eq!(report.warnings.len(), 3, "{:?}", report.warnings);
    assert!(report.warnings.iter().any(|w| w.contains("leak.txt")));
    assert!(report.warnings.iter().any(|w| w.contains("leakdir")));
    assert!(report.warnings.iter().any(|w| w.contains("broken.html")));
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_refused() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"x");
    write(&site, "a/page.html", b"x");
    symlink("..", site.join("a/up")).unwrap();
    let out = tmp.path().join("a.zip");
    match package(&PackageOptions::new(&site), &out) {
        Err(PackageError::SymlinkLoop { path, .. }) => assert!(path.ends_with("a/up"), "{path:?}"),
        other => panic!("expected SymlinkLoop, got {other:?}"),
    }

    let site2 = tmp.path().join("site2");
    write(&site2, "index.html", b"x");
    symlink("self", site2.join("self")).unwrap();
    match package(&PackageOptions::new(&site2), &out) {
        Err(PackageError::SymlinkLoop { path, .. }) => assert!(path.ends_with("self"), "{path:?}"),
        other => panic!("expected SymlinkLoop, got {other:?}"),
    }
    assert!(!out.exists());
}

#[test]
fn in_flight_budget_smaller_than_a_chunk_still_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    for i in 0..30 {
        write(
            &site,
            &format!("f{i:02}.txt"),
            &text(30_000 + i * 1000, i as u8),
        );
    }
    write(&site, "large.txt", &text(500_000, 1));
    let tuning = Tuning {
        in_flight: 1,
        ..tiny_tuning()
    };
    let out = tmp.path().join("a.zip");
    let mut opts = PackageOptions::new(&site);
    opts.threads = Some(4);
    package_with(&opts, &out, &tuning, &Control::default()).unwrap();
    let entries = read_back(&out);
    assert_eq!(entries.len(), 31);
    assert_eq!(entries[30].2, text(500_000, 1));
}

/// Writes and reads back an entry over 4 GiB (zip64). Slow: run with
/// `cargo test --release --lib package::tests::zip64 -- --ignored`.
#[test]
#[ignore]
fn zip64_entry_over_4_gib() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"home");
    let big = fs::File::create(site.join("big.bin")).unwrap();
    let size = (4u64 << 30) + 12_345;
    big.set_len(size).unwrap(); // sparse zeros: cheap to make, deflates well
    write(&site, "z.html", b"after");
    let out = tmp.path().join("big.zip");
    let report = package_to_file(&PackageOptions::new(&site), &out).unwrap();
    assert_eq!(report.bytes_in, size + 9);
    let mut archive = zip::ZipArchive::new(fs::File::open(&out).unwrap()).unwrap();
    let mut entry = archive.by_name("big.bin").unwrap();
    assert_eq!(entry.size(), size);
    let read = std::io::copy(&mut entry, &mut std::io::sink()).unwrap();
    assert_eq!(read, size);
    drop(entry);
    let mut last = String::new();
    archive
        .by_name("z.html")
        .unwrap()
        .read_to_string(&mut last)
        .unwrap();
    assert_eq!(last, "after");
    unzip_accepts(&out);
}

// ---- Entry names exactly as on disk ----

/// The files under `root` as entry names, read with nothing but
/// `std::fs`: relative paths, components joined with `/`, in byte order.
fn names_on_disk(root: &Path) -> Vec<String> {
    fn visit(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().expect("UTF-8 on disk");
            let full = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                visit(&entry.path(), &full, out);
            } else {
                out.push(full);
            }
        }
    }
    let mut out = Vec::new();
    visit(root, "", &mut out);
    out.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    out
}

/// Every entry's raw name bytes, UTF-8 flag (general-purpose bit 11) and
/// contents, read by the `zip` crate.
fn raw_entries(zip_path: &Path) -> Vec<(Vec<u8>, bool, Vec<u8>)> {
    let mut archive = ::zip::ZipArchive::new(fs::File::open(zip_path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            let utf8 = entry.flags().as_u16() & (1 << 11) != 0;
            (entry.name_raw().to_vec(), utf8, data)
        })
        .collect()
}

/// Asserts that the archive holds exactly the files of `root`, under their
/// names on disk byte for byte, flagged UTF-8, with their contents.
fn assert_archive_is_the_folder(zip_path: &Path, root: &Path) {
    let on_disk = names_on_disk(root);
    let entries = raw_entries(zip_path);
    let names: Vec<String> = entries
        .iter()
        .map(|(raw, _, _)| String::from_utf8(raw.clone()).expect("UTF-8 entry name"))
        .collect();
    assert_eq!(names, on_disk);
    for (name, utf8, data) in &entries {
        let name = std::str::from_utf8(name).unwrap();
        assert!(utf8, "{name:?}: UTF-8 flag not set");
        assert_eq!(data, &fs::read(root.join(name)).unwrap(), "{name:?}");
    }
    // A strict reader decodes names by the flag: the `zip` crate agrees.
    let decoded: Vec<String> = read_back(zip_path).into_iter().map(|e| e.0).collect();
    assert_eq!(decoded, on_disk);
}

/// What generated names are made of: several scripts, composed and
/// decomposed accents, other combining marks, `:`, emoji (with skin tones
/// and joiners), spaces, dots and URL-special characters.
const NAME_PARTS: &[&str] = &[
    "a",
    "Z",
    "index",
    "0",
    " ",
    ".",
    ":",
    "-",
    "~",
    "#",
    "%20",
    "&",
    "'",
    "+",
    "(1)",
    "\u{e9}",                                      // é, composed (NFC)
    "e\u{301}",                                    // é, decomposed (NFD)
    "A\u{30a}",                                    // Å, decomposed
    "\u{1e9b}\u{323}",                             // ẛ̣
    "Cat\u{e9}gorie",                              // Catégorie
    "\u{627}\u{644}\u{639}\u{631}\u{628}\u{64a}",  // Arabic
    "\u{5e2}\u{5d1}\u{5e8}\u{5d9}\u{5ea}",         // Hebrew
    "\u{939}\u{93f}\u{928}\u{94d}\u{926}\u{940}",  // Hindi
    "\u{4e2d}\u{6587}",                            // Chinese
    "\u{65e5}\u{672c}\u{8a9e}",                    // Japanese
    "\u{d55c}\u{ad6d}\u{c5b4}",                    // Korean
    "\u{440}\u{443}\u{441}",                       // Cyrillic
    "\u{3b5}\u{3bb}",                              // Greek
    "\u{e44}\u{e17}\u{e22}",                       // Thai
    "\u{1f600}",                                   // emoji
    "\u{1f44d}\u{1f3fd}",                          // with a skin tone
    "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}", // joined by ZWJ
    "\u{2764}\u{fe0f}",                            // with a variation selector
    "\u{200b}",                                    // zero-width space
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random relative path of one to three components, or `None` when the
/// draw is not a usable file name (`.`, `..`, too long for the disk).
fn random_path(rng: &mut Rng) -> Option<String> {
    let depth = 1 + rng.below(3);
    let mut components = Vec::new();
    for _ in 0..depth {
        let parts = 1 + rng.below(4);
        let component: String = (0..parts)
            .map(|_| NAME_PARTS[rng.below(NAME_PARTS.len())])
            .collect();
        if component == "." || component == ".." || component.len() > 200 {
            return None;
        }
        components.push(component);
    }
    let ext = [".html", ".png", ".txt", ""][rng.below(4)];
    let mut path = components.join("/");
    path.push_str(ext);
    (path != IGNORE_FILE).then_some(path)
}

/// Property: whatever UTF-8 names a folder holds, the archive holds the
/// same names byte for byte (flagged UTF-8), each with its own contents.
#[test]
fn generated_utf8_names_are_stored_exactly_as_on_disk() {
    for seed in 1..=40u64 {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        fs::create_dir(&site).unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut files: Vec<String> = Vec::new();
        let mut dirs: Vec<String> = Vec::new();
        while files.len() < 12 {
            let Some(path) = random_path(&mut rng) else {
                continue;
            };
            // A name cannot be a file and a folder at once.
            let prefixes: Vec<String> = path
                .match_indices('/')
                .map(|(i, _)| path[..i].to_owned())
                .collect();
            if files.contains(&path)
                || dirs.contains(&path)
                || prefixes.iter().any(|p| files.contains(p))
            {
                continue;
            }
            let contents = format!("{seed} {path}\n").repeat(1 + rng.below(300));
            write(&site, &path, contents.as_bytes());
            dirs.extend(prefixes);
            files.push(path);
        }
        let out = tmp.path().join("a.zip");
        let mut opts = PackageOptions::new(&site);
        opts.threads = Some([1, 2, 4][seed as usize % 3]);
        let report = package(&opts, &out).unwrap();
        assert_eq!(report.file_count, files.len() as u64, "seed {seed}");
        assert_archive_is_the_folder(&out, &site);
        if seed % 10 == 0 {
            unzip_accepts(&out);
        }
    }
}

/// The names issue 9 found rewritten: everything before the last `:` was
/// dropped, so `sub/é:index.html` became a second `sub/index.html`.
pub(crate) const MULTILINGUAL: &[&str] = &[
    "Cat\u{e9}gorie:Histoire.html",
    "sub/\u{e9}:index.html",
    "sub/index.html",
    "\u{627}\u{644}\u{639}\u{631}\u{628}\u{64a}\u{629}/\u{635}\u{641}\u{62d}\u{629}.html",
    "\u{939}\u{93f}\u{928}\u{94d}\u{926}\u{940}/\u{92a}\u{943}\u{937}\u{94d}\u{920}.html",
    "\u{4e2d}\u{6587}/\u{9996}\u{9875}.html",
    "\u{420}\u{443}\u{441}\u{441}\u{43a}\u{438}\u{439}.html",
    "\u{5e2}\u{5d1}\u{5e8}\u{5d9}\u{5ea}.html",
    "\u{1f600} smile.html",
    "caf\u{e9}.html",
    "cafe\u{301}.html",
    "a..b/..c.html",
    "Wiki:Main Page",
];

#[test]
fn multilingual_names_with_colons_and_both_normal_forms_stay_distinct() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    for name in MULTILINGUAL {
        write(&site, name, name.as_bytes());
    }
    let out = tmp.path().join("a.zip");
    let report = package(&PackageOptions::new(&site), &out).unwrap();
    assert_eq!(report.file_count, MULTILINGUAL.len() as u64);
    assert_archive_is_the_folder(&out, &site);
    unzip_accepts(&out);
}

#[cfg(unix)]
#[test]
fn names_that_cannot_be_served_are_refused_unless_excluded() {
    for (name, what) in [
        ("a\\b.html", "a backslash"),
        ("dir\\/x.html", "a backslash"),
        ("tab\t.html", "a control character"),
        ("line\nbreak/x.html", "a control character"),
        ("esc\u{1b}[31m.html", "a control character"),
        ("del\u{7f}.html", "a control character"),
        ("c1\u{85}.html", "a control character"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        write(&site, "index.html", b"x");
        write(&site, name, b"x");
        let out = tmp.path().join("a.zip");
        let err = package(&PackageOptions::new(&site), &out).unwrap_err();
        // The file, or the folder holding it, is named.
        let PackageError::UnservableName { path, what: found } = &err else {
            panic!("{name:?}: expected UnservableName, got {err:?}");
        };
        let first = name.split('/').next().unwrap();
        assert_eq!(path, Path::new(first));
        assert!(found.starts_with(what), "{name:?}: {found}");
        // On one line, its odd characters escaped.
        let message = err.to_string();
        assert!(!message.contains(['\n', '\t', '\u{1b}']), "{message:?}");
        assert!(message.contains(&format!("{first:?}")), "{message}");
        assert!(!out.exists());

        let mut opts = PackageOptions::new(&site);
        let pattern = first.replace(|c: char| c == '\\' || c.is_control(), "*");
        opts.excludes = vec![format!("/{pattern}")];
        package(&opts, &out).unwrap();
        assert_eq!(names(&read_back(&out)), ["index.html"]);
    }
}

/// On Windows `\` separates components, so it joins the name as `/`.
#[cfg(windows)]
#[test]
fn windows_paths_are_joined_with_slashes() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "sub\\Cat\u{e9}gorie\\page.html", b"x");
    write(&site, "index.html", b"x");
    assert_eq!(
        walk_names(&site),
        ["index.html", "sub/Cat\u{e9}gorie/page.html"]
    );
}

#[test]
fn a_name_listed_twice_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "a.html", b"a");
    write(&site, "b.html", b"b");
    let opts = PackageOptions::new(&site);
    let mut files: Vec<_> = walk::Walk::new(&opts, None).unwrap().collect();
    let mut twin = files[1].as_ref().unwrap().clone();
    twin.path = site.join("a.html");
    files.insert(2, Ok(twin));
    let out = tmp.path().join("a.zip");
    let tmp = write::temp_archive(&out).unwrap();
    let listed = Listed(files.into());
    match write::write_archive(
        &opts,
        Box::new(listed),
        tmp,
        &out,
        &tiny_tuning(),
        &Control::default(),
    ) {
        Err(PackageError::DuplicateName { name }) => assert_eq!(name, "b.html"),
        other => panic!("expected DuplicateName, got {other:?}"),
    }
    assert!(!out.exists());
}

// ---- Files that change while they are packaged ----

/// Lists `site`, lets `change` alter it, then packages that listing.
fn package_after(
    site: &Path,
    change: impl FnOnce(),
    threads: usize,
) -> Result<write::Written, PackageError> {
    let mut opts = PackageOptions::new(site);
    opts.threads = Some(threads);
    let listed = Listed(walk::Walk::new(&opts, None).unwrap().collect());
    change();
    let out = site.with_extension("zip");
    let tmp = write::temp_archive(&out).unwrap();
    let result = write::write_archive(
        &opts,
        Box::new(listed),
        tmp,
        &out,
        &tiny_tuning(),
        &Control::default(),
    );
    if result.is_err() {
        assert!(!out.exists());
    }
    result
}

fn resize(path: &Path, by: i64) {
    let len = fs::metadata(path).unwrap().len();
    if by > 0 {
        let mut f = fs::File::options().append(true).open(path).unwrap();
        std::io::Write::write_all(&mut f, &vec![b'+'; by as usize]).unwrap();
    } else {
        let f = fs::File::options().write(true).open(path).unwrap();
        f.set_len(len - by.unsigned_abs()).unwrap();
    }
}

#[test]
fn a_file_that_grows_or_shrinks_after_the_listing_is_an_error_naming_it() {
    // Whole files, stored and deflated chunks (tiny tuning: above 64 kB a
    // file is cut into 40 kB chunks), by a byte and by more than a chunk.
    let cases: &[(&str, Vec<u8>)] = &[
        ("small.html", text(5_000, 1)),
        ("photo.png", noise(5_000, 2)),
        ("large-text.txt", text(150_000, 3)),
        ("large-noise.bin", noise(150_000, 4)),
    ];
    for (name, data) in cases {
        for by in [1i64, -1, 50_000, -50_000] {
            if -by >= data.len() as i64 {
                continue;
            }
            for threads in [1, 3] {
                let tmp = tempfile::tempdir().unwrap();
                let site = tmp.path().join("site");
                write(&site, "index.html", b"x");
                write(&site, name, data);
                let path = site.join(name);
                match package_after(&site, || resize(&path, by), threads) {
                    Err(PackageError::SizeChanged { path, size }) => {
                        assert!(path.ends_with(name), "{path:?}");
                        assert_eq!(size, data.len() as u64);
                    }
                    other => panic!("{name} {by:+} bytes: expected SizeChanged, got {other:?}"),
                }
            }
        }
    }
    // Unchanged, the same listing packages fine.
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    for (name, data) in cases {
        write(&site, name, data);
    }
    let written = package_after(&site, || {}, 2).unwrap();
    assert_eq!(written.file_count, cases.len() as u64);
}

#[test]
fn errors_keep_the_os_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"x");
    write(&site, "gone.html", b"x");
    let err = package_after(
        &site,
        || fs::remove_file(site.join("gone.html")).unwrap(),
        1,
    )
    .unwrap_err();
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        cause.as_deref().is_some_and(|c| c.contains("os error")),
        "{err}: {cause:?}"
    );

    let err = package(
        &PackageOptions::new(&site),
        &tmp.path().join("no/such/dir/a.zip"),
    )
    .unwrap_err();
    assert!(matches!(err, PackageError::Output { .. }), "{err:?}");
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        cause.as_deref().is_some_and(|c| c.contains("os error 2")),
        "{err}: {cause:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_found_by_the_os_keeps_its_cause() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"x");
    symlink("b", site.join("a")).unwrap();
    symlink("a", site.join("b")).unwrap();
    let err = package(&PackageOptions::new(&site), &tmp.path().join("a.zip")).unwrap_err();
    assert!(matches!(err, PackageError::SymlinkLoop { .. }), "{err:?}");
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        cause.as_deref().is_some_and(|c| c.contains("os error")),
        "{err}: {cause:?}"
    );
}

#[test]
fn a_control_hears_when_the_folder_is_listed_and_can_stop_the_run() {
    let site = tempfile::tempdir().unwrap();
    for i in 0..20 {
        write(site.path(), &format!("page-{i}.html"), &text(50_000, i));
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("site.zip");

    let listed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&listed);
    let control = Control::on_listed(move || flag.store(true, Ordering::Relaxed));
    let opts = PackageOptions::new(site.path());
    package_with(&opts, &out, &tiny_tuning(), &control).unwrap();
    assert!(listed.load(Ordering::Relaxed));

    // Stopped once listed, while the files are still being compressed: the
    // run ends Cancelled and leaves neither the zip nor its temporary file.
    fs::remove_file(&out).unwrap();
    let control = Control::default();
    let stop = control.clone();
    let control = Control {
        on_listed: Some(Arc::new(move || stop.cancel())),
        ..control
    };
    let err = package_with(&opts, &out, &tiny_tuning(), &control).unwrap_err();
    assert!(matches!(err, PackageError::Cancelled), "{err:?}");
    assert_eq!(fs::read_dir(out_dir.path()).unwrap().count(), 0);
}

#[test]
fn the_kept_entry_is_the_bytes_packaged_and_only_that_one() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("dist");
    write(&site, "index.html", b"<html>root</html>");
    write(&site, "docs/index.html", b"<html>docs</html>");
    let out = tmp.path().join("site.zip");
    for threads in [Some(1), None] {
        let opts = PackageOptions {
            keep: Some("docs/index.html".into()),
            threads,
            ..PackageOptions::new(&site)
        };
        let report = package(&opts, &out).unwrap();
        assert_eq!(report.kept.as_deref(), Some(&b"<html>docs</html>"[..]));
    }
    let opts = PackageOptions {
        keep: Some("missing.html".into()),
        ..PackageOptions::new(&site)
    };
    assert_eq!(package(&opts, &out).unwrap().kept, None);
    assert_eq!(
        package(&PackageOptions::new(&site), &out).unwrap().kept,
        None
    );
}

#[test]
fn a_control_counts_what_was_found_and_packed() {
    let site = tempfile::tempdir().unwrap();
    for i in 0..12 {
        write(site.path(), &format!("p/page-{i}.html"), &text(70_000, i));
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("site.zip");
    let control = Control::default();
    let opts = PackageOptions::new(site.path());
    let report = package_with(&opts, &out, &tiny_tuning(), &control).unwrap();
    let counts = control.counts();
    let get = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
    assert!(counts.listed.load(Ordering::Relaxed));
    assert_eq!(get(&counts.files_found), report.file_count);
    assert_eq!(get(&counts.files_packed), report.file_count);
    assert_eq!(get(&counts.bytes_found), report.bytes_in);
    assert_eq!(get(&counts.bytes_packed), report.bytes_in);
}

#[test]
fn generated_files_join_in_archive_order_and_rule_files_stay_out() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    for name in [
        "index.html",
        "assets/app.js",
        "_headers",
        "_redirects",
        "docs/_headers",
        "zzz.txt",
    ] {
        write(&site, name, name.as_bytes());
    }
    let mut opts = PackageOptions::new(&site);
    opts.generated = vec![Generated {
        name: "customHttp.yml".into(),
        bytes: b"customHeaders: []\n".to_vec(),
    }];
    opts.leave_out = vec!["_headers".into(), "_redirects".into()];
    let (a, b) = (tmp.path().join("a.zip"), tmp.path().join("b.zip"));
    package(&opts, &a).unwrap();
    let entries = read_back(&a);
    assert_eq!(
        names(&entries),
        [
            "assets/app.js",
            "customHttp.yml",
            "docs/_headers",
            "index.html",
            "zzz.txt"
        ]
    );
    assert_eq!(entries[1].2, b"customHeaders: []\n");
    // Same input, same bytes.
    package(&opts, &b).unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    unzip_accepts(&a);
}

#[test]
fn a_generated_file_the_folder_also_has_is_a_duplicate() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "customHttp.yml", b"x");
    let mut opts = PackageOptions::new(&site);
    opts.generated = vec![Generated {
        name: "customHttp.yml".into(),
        bytes: b"y".to_vec(),
    }];
    let err = package(&opts, &tmp.path().join("a.zip")).unwrap_err();
    assert!(
        matches!(err, PackageError::DuplicateName { ref name } if name == "customHttp.yml"),
        "{err:?}"
    );
}

mod digest;
