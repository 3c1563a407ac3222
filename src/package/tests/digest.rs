//! The tree digest: packaging and [`tree_digest`] give the same one, it is
//! the documented definition applied to the zip's entries, whatever changes
//! the zip changes it, and it refuses what packaging refuses.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::*;
use crate::package::digest::{digest_listing, tree_digest_with};

/// The digest's definition (see `package::digest`), applied here to what
/// a zip holds as read back by the `zip` crate: every entry's raw name,
/// stored mode, size and content.
fn digest_of_zip(zip_path: &Path, seconds: u64) -> String {
    let mut archive = zip::ZipArchive::new(fs::File::open(zip_path).unwrap()).unwrap();
    let mut text = Vec::new();
    let tag = b"amplify-deploy tree digest";
    text.extend((tag.len() as u64).to_be_bytes());
    text.extend(tag);
    text.extend(1u32.to_be_bytes());
    text.extend(seconds.to_be_bytes());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        text.push(1);
        text.extend((entry.name_raw().len() as u64).to_be_bytes());
        text.extend(entry.name_raw());
        text.extend(entry.unix_mode().unwrap().to_be_bytes());
        text.extend((data.len() as u64).to_be_bytes());
        text.extend(Sha256::digest(&data));
    }
    text.push(0);
    text.extend((archive.len() as u64).to_be_bytes());
    hex::encode(Sha256::digest(&text))
}

/// The seconds a zip's entries are stamped with, as `digest_of_zip` needs.
fn seconds(opts: &PackageOptions) -> u64 {
    opts.source_date_epoch
        .unwrap_or(315_532_800)
        .clamp(315_532_800, 4_354_819_199)
}

/// The tree's digest, checked every way: packaging (one thread, several,
/// chunked with the tiny tuning or not) and [`tree_digest`] agree with each
/// other and with the definition applied to the zip written; so do their
/// counts and warnings. Returns it with the zip's bytes.
fn digest_both_ways(opts: &PackageOptions) -> (String, Vec<u8>) {
    digest_checked(
        opts,
        &[
            (tiny_tuning(), Some(1)),
            (tiny_tuning(), Some(3)),
            (Tuning::default(), None),
        ],
    )
}

/// [`digest_both_ways`] with the production tuning only, for trees that
/// only differ from one checked every way.
fn digest_one_way(opts: &PackageOptions) -> (String, Vec<u8>) {
    digest_checked(opts, &[(Tuning::default(), None)])
}

fn digest_checked(opts: &PackageOptions, runs: &[(Tuning, Option<usize>)]) -> (String, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a.zip");
    let mut seen: Option<(String, Vec<u8>)> = None;
    for (tuning, threads) in runs {
        let threads = *threads;
        let opts = PackageOptions {
            threads,
            ..opts.clone()
        };
        let report = package_with(&opts, &out, tuning, &Control::default()).unwrap();
        let digest = tree_digest_with(&opts, tuning, &Control::default()).unwrap();
        assert_eq!(digest.digest, report.tree_digest, "threads {threads:?}");
        assert_eq!(digest.digest, digest_of_zip(&out, seconds(&opts)));
        assert_eq!(digest.digest.len(), 64);
        assert!(digest
            .digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(
            (digest.file_count, digest.bytes, &digest.warnings),
            (report.file_count, report.bytes_in, &report.warnings)
        );
        let first = seen.get_or_insert_with(|| (digest.digest.clone(), Vec::new()));
        assert_eq!(first.0, digest.digest, "threads {threads:?}");
        if tuning.whole_max == Tuning::default().whole_max {
            first.1 = fs::read(&out).unwrap();
        }
    }
    seen.unwrap()
}

/// Nested folders, empty files, large files cut into deflated, stored and
/// precompressed chunks, names with `:`, combining marks, other scripts,
/// a workflow command, hidden files.
fn varied_tree(site: &Path) {
    write(site, "index.html", &text(3_000, 1));
    write(site, "a/b/c/d/deep.html", &text(700, 2));
    write(site, "empty.txt", b"");
    write(site, "a/empty", b"");
    write(site, ".well-known/security.txt", b"Contact: x");
    write(site, "large.txt", &text(300_000, 3));
    write(site, "noise.bin", &noise(200_000, 4));
    write(site, "photo.png", &noise(90_000, 5));
    write(site, "::error::x", b"::error::x");
    write(site, "docs/::warning file=a::b.html", b"w");
    write(site, "r\u{e9}sum\u{e9}.html", b"cv");
    write(site, "swap/1", b"one");
    write(site, "swap/2", b"two");
    for name in MULTILINGUAL {
        write(site, name, name.as_bytes());
    }
}

#[test]
fn both_paths_agree_on_varied_trees() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    varied_tree(&site);
    digest_both_ways(&PackageOptions::new(&site));

    // Excludes, `.amplifyignore`, rule files left out, a generated file.
    write(&site, ".amplifyignore", b"*.map\n/private/\n");
    write(&site, "app.js.map", b"map");
    write(&site, "private/key.txt", b"k");
    write(&site, "_headers", b"/*\n  X-Frame-Options: DENY\n");
    let mut opts = PackageOptions::new(&site);
    opts.excludes = vec!["a/b/".into()];
    opts.leave_out = vec!["_headers".into()];
    opts.generated = vec![Generated {
        name: "customHttp.yml".into(),
        bytes: b"customHeaders: []\n".to_vec(),
    }];
    opts.source_date_epoch = Some(1_700_000_000);
    digest_both_ways(&opts);
}

#[test]
fn both_paths_agree_on_random_utf8_trees() {
    for seed in 1..=12u64 {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        fs::create_dir(&site).unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut made = BTreeSet::new();
        while made.len() < 10 {
            let Some(path) = random_path(&mut rng) else {
                continue;
            };
            let clash = made.iter().any(|m: &String| {
                path.starts_with(&format!("{m}/")) || m.starts_with(&format!("{path}/"))
            });
            if clash || made.contains(&path) {
                continue;
            }
            let contents = format!("{seed} {path}\n").repeat(rng.below(3_000));
            write(&site, &path, contents.as_bytes());
            made.insert(path);
        }
        digest_both_ways(&PackageOptions::new(&site));
    }
}

#[cfg(unix)]
#[test]
fn both_paths_treat_symlinks_as_packaging_does() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"home");
    write(&site, "assets/app.js", b"js");
    write(tmp.path(), "outside/secret.txt", b"secret");
    symlink("index.html", site.join("home.html")).unwrap();
    symlink("assets", site.join("static")).unwrap();
    symlink("../outside/secret.txt", site.join("leak.txt")).unwrap();
    symlink("missing.html", site.join("broken.html")).unwrap();
    let digest = tree_digest(&PackageOptions::new(&site), &Control::default()).unwrap();
    assert_eq!(digest.file_count, 4);
    assert_eq!(digest.warnings.len(), 2, "{:?}", digest.warnings);
    digest_both_ways(&PackageOptions::new(&site));
}

/// A file over 8 MiB is deflated in 1 MiB chunks on several threads; its
/// hash is still one SHA-256 of its bytes in order. (The tiny tuning of
/// `digest_both_ways` cuts smaller files into deflated and stored chunks.)
#[test]
fn a_file_packaged_in_chunks_has_the_hash_of_its_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    let mut big = text((8 << 20) + 300_000, 7);
    write(&site, "big.html", &big);
    write(&site, "index.html", b"home");
    let out = tmp.path().join("a.zip");
    let mut opts = PackageOptions::new(&site);
    let mut digests = Vec::new();
    for _ in 0..2 {
        opts.threads = Some(3);
        let report = package_to_file(&opts, &out).unwrap();
        assert_eq!(report.tree_digest, digest_of_zip(&out, seconds(&opts)));
        opts.threads = Some(2);
        let digest = tree_digest(&opts, &Control::default()).unwrap();
        assert_eq!(digest.digest, report.tree_digest);
        digests.push(digest.digest);
        // A byte in the last chunk changes it.
        let last = big.len() - 10;
        big[last] ^= 1;
        write(&site, "big.html", &big);
    }
    assert_ne!(digests[0], digests[1]);
}

/// The definition pinned on a small tree: changing it (the encoding, the
/// tag, what goes in) changes this value and must bump the format version.
#[test]
fn the_digest_of_a_known_tree_is_pinned() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "a:b.html", b"x");
    write(&site, "caf\u{e9}/e\u{301}", b"");
    let mut opts = PackageOptions::new(&site);
    opts.source_date_epoch = Some(1_700_000_000);
    let (digest, _) = digest_both_ways(&opts);
    assert_eq!(
        digest,
        "0e0818e18ee46fe64da8d7424bdce43cc930a7148831728f6c90f3f299a98794"
    );
}

/// A copy of `varied_tree` under `base` with `change` applied, and its
/// digest and zip (`both_paths_agree_on_varied_trees` checks it every way).
fn changed(
    base: &Path,
    label: &str,
    change: impl FnOnce(&Path, &mut PackageOptions),
) -> (String, Vec<u8>) {
    let site = base.join(label);
    varied_tree(&site);
    let mut opts = PackageOptions::new(&site);
    change(&site, &mut opts);
    digest_one_way(&opts)
}

type Change = Box<dyn FnOnce(&Path, &mut PackageOptions)>;

#[test]
fn whatever_changes_the_zip_changes_the_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, base_zip) = changed(tmp.path(), "base", |_, _| {});
    let rename = |from: &'static str, to: &'static str| -> Change {
        Box::new(move |site, _| fs::rename(site.join(from), site.join(to)).unwrap())
    };
    let flip = |name: &'static str, at: usize| -> Change {
        Box::new(move |site, _| {
            let mut data = fs::read(site.join(name)).unwrap();
            data[at] ^= 0x20;
            fs::write(site.join(name), data).unwrap();
        })
    };
    let generated = |bytes: &'static [u8]| -> Change {
        Box::new(move |_, opts| {
            opts.generated = vec![Generated {
                name: "customHttp.yml".into(),
                bytes: bytes.to_vec(),
            }]
        })
    };
    let changes: Vec<(&str, Change)> = vec![
        ("renamed", rename("index.html", "index.htm")),
        // The same words, composed (NFC) then decomposed (NFD).
        (
            "nfd",
            rename("r\u{e9}sum\u{e9}.html", "re\u{301}sume\u{301}.html"),
        ),
        (
            "nfd folder",
            rename(
                "Cat\u{e9}gorie:Histoire.html",
                "Cate\u{301}gorie:Histoire.html",
            ),
        ),
        ("moved", rename("a/b/c/d/deep.html", "a/b/c/deep.html")),
        ("colon", rename("::error::x", "::error:x")),
        ("small byte", flip("index.html", 2_999)),
        ("chunk byte", flip("large.txt", 250_000)),
        ("stored chunk byte", flip("noise.bin", 150_000)),
        (
            "contents swapped",
            Box::new(|site, _| {
                fs::write(site.join("swap/1"), b"two").unwrap();
                fs::write(site.join("swap/2"), b"one").unwrap();
            }),
        ),
        (
            "empty file added",
            Box::new(|site, _| write(site, "new", b"")),
        ),
        (
            "exclude",
            Box::new(|_, opts| opts.excludes = vec!["empty.txt".into()]),
        ),
        (
            "amplifyignore",
            Box::new(|site, _| write(site, ".amplifyignore", b"/a/empty\n")),
        ),
        (
            "left out",
            Box::new(|_, opts| opts.leave_out = vec!["photo.png".into()]),
        ),
        (
            "epoch",
            Box::new(|_, opts| opts.source_date_epoch = Some(1_700_000_000)),
        ),
        (
            "epoch+1",
            Box::new(|_, opts| opts.source_date_epoch = Some(1_700_000_001)),
        ),
        ("generated", generated(b"customHeaders: []\n")),
        ("generated changed", generated(b"customHeaders: [ ]\n")),
    ];
    let mut digests = BTreeSet::from([base.clone()]);
    for (label, change) in changes {
        let (digest, zip) = changed(tmp.path(), label, change);
        assert_ne!(zip, base_zip, "{label}: the zip should differ");
        assert!(digests.insert(digest), "{label}: digest seen before");
    }
}

#[test]
fn what_leaves_the_zip_alone_leaves_the_digest_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, base_zip) = changed(tmp.path(), "base", |_, _| {});
    #[cfg_attr(not(unix), allow(unused_mut))] // the exec-bit case is Unix's
    let mut same: Vec<(&str, Change)> = vec![
        (
            "mtime",
            Box::new(|site, _| {
                let when = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000);
                let f = fs::File::options()
                    .write(true)
                    .open(site.join("index.html"))
                    .unwrap();
                f.set_modified(when).unwrap();
            }),
        ),
        (
            "exclude matching nothing",
            Box::new(|_, opts| opts.excludes = vec!["*.nothing".into()]),
        ),
        (
            "epoch before 1980",
            Box::new(|_, opts| opts.source_date_epoch = Some(0)),
        ),
        (
            "threads and limit",
            Box::new(|_, opts| {
                opts.threads = Some(2);
                opts.max_archive_bytes = 1 << 30;
                opts.keep = Some("index.html".into());
            }),
        ),
    ];
    // The zip stores every entry as rw-r--r--.
    #[cfg(unix)]
    same.push((
        "exec bit",
        Box::new(|site, _| {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::Permissions::from_mode(0o755);
            fs::set_permissions(site.join("index.html"), mode).unwrap();
        }),
    ));
    for (label, change) in same {
        let (digest, zip) = changed(tmp.path(), label, change);
        assert!(zip == base_zip, "{label}: the zip should be the same");
        assert_eq!(digest, base, "{label}");
    }
}

/// Packaging's error and the digest's, which must be the same.
fn both_errors(opts: &PackageOptions) -> (PackageError, PackageError) {
    let tmp = tempfile::tempdir().unwrap();
    let packaged = package(opts, &tmp.path().join("a.zip")).unwrap_err();
    let digested = tree_digest_with(opts, &tiny_tuning(), &Control::default()).unwrap_err();
    assert_eq!(
        std::mem::discriminant(&packaged),
        std::mem::discriminant(&digested),
        "{packaged:?} vs {digested:?}"
    );
    assert_eq!(packaged.to_string(), digested.to_string());
    let cause = |e: &PackageError| std::error::Error::source(e).map(ToString::to_string);
    assert_eq!(cause(&packaged), cause(&digested));
    (packaged, digested)
}

#[test]
fn errors_are_packaging_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let at = |name: &str| {
        let site = tmp.path().join(name);
        write(&site, "index.html", b"x");
        site
    };
    let missing = PackageOptions::new(tmp.path().join("missing"));
    assert!(matches!(
        both_errors(&missing).1,
        PackageError::NotFound { .. }
    ));
    let file = at("file").join("index.html");
    let (_, err) = both_errors(&PackageOptions::new(file));
    assert!(matches!(err, PackageError::NotADirectory { .. }));
    let empty = tmp.path().join("empty");
    fs::create_dir_all(empty.join("only/dirs")).unwrap();
    let (_, err) = both_errors(&PackageOptions::new(&empty));
    assert!(matches!(err, PackageError::Empty { .. }));
    let mut all_out = PackageOptions::new(at("all-out"));
    all_out.excludes = vec!["*.html".into()];
    assert!(matches!(
        both_errors(&all_out).1,
        PackageError::Empty { .. }
    ));
    let mut bad = PackageOptions::new(at("bad-pattern"));
    bad.excludes = vec!["[z-a]".into()];
    assert!(matches!(
        both_errors(&bad).1,
        PackageError::BadExclude { .. }
    ));
    let site = at("bad-ignore");
    write(&site, ".amplifyignore", b"{unclosed\n");
    let (_, err) = both_errors(&PackageOptions::new(&site));
    assert!(matches!(err, PackageError::BadExclude { .. }));
    let mut twice = PackageOptions::new(at("generated-twice"));
    twice.generated = vec![Generated {
        name: "index.html".into(),
        bytes: b"y".to_vec(),
    }];
    let (_, err) = both_errors(&twice);
    assert!(matches!(err, PackageError::DuplicateName { ref name } if name == "index.html"));
}

#[cfg(unix)]
#[test]
fn names_and_links_packaging_refuses_are_refused() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    for (i, name) in ["a\\b.html", "x/tab\t.html", "esc\u{1b}[31m.html"]
        .iter()
        .enumerate()
    {
        let site = tmp.path().join(format!("s{i}"));
        write(&site, "index.html", b"x");
        write(&site, name, b"x");
        let (_, err) = both_errors(&PackageOptions::new(&site));
        assert!(
            matches!(err, PackageError::UnservableName { .. }),
            "{err:?}"
        );
    }
    let site = tmp.path().join("latin1");
    write(&site, "index.html", b"x");
    fs::write(site.join(OsStr::from_bytes(b"caf\xe9.html")), b"x").unwrap();
    let (_, err) = both_errors(&PackageOptions::new(&site));
    assert!(matches!(err, PackageError::NonUtf8Name { .. }), "{err:?}");
    let site = tmp.path().join("loop");
    write(&site, "a/page.html", b"x");
    symlink("..", site.join("a/up")).unwrap();
    let (_, err) = both_errors(&PackageOptions::new(&site));
    assert!(matches!(err, PackageError::SymlinkLoop { .. }), "{err:?}");
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_named_the_same_way() {
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
    let (_, err) = both_errors(&PackageOptions::new(&site));
    assert!(matches!(err, PackageError::Unreadable { ref path, .. } if path == &secret));
}

/// The digest of a listing made before `change`, on `threads` threads.
fn digest_after(
    site: &Path,
    change: impl FnOnce(),
    threads: usize,
) -> Result<TreeDigest, PackageError> {
    let mut opts = PackageOptions::new(site);
    opts.threads = Some(threads);
    let listed = Listed(walk::Walk::new(&opts, None).unwrap().collect());
    change();
    digest_listing(&opts, Box::new(listed), &tiny_tuning(), &Control::default())
}

#[test]
fn a_file_that_changes_size_or_vanishes_after_the_listing_is_named() {
    // A whole file, and one read in many blocks (tiny tuning: 40 kB).
    for (name, data) in [
        ("small.html", text(5_000, 1)),
        ("large.txt", text(150_000, 2)),
    ] {
        for by in [1i64, -1, 50_000, -4_000] {
            for threads in [1, 3] {
                let tmp = tempfile::tempdir().unwrap();
                let site = tmp.path().join("site");
                write(&site, "index.html", b"x");
                write(&site, name, &data);
                let path = site.join(name);
                let digested = digest_after(&site, || resize(&path, by), threads);
                write(&site, name, &data);
                let packaged = package_after(&site, || resize(&path, by), threads);
                match (digested, packaged) {
                    (Err(PackageError::SizeChanged { path: p, size }), Err(packaged)) => {
                        assert_eq!(p, path);
                        assert_eq!(size, data.len() as u64);
                        assert!(matches!(packaged, PackageError::SizeChanged { .. }));
                    }
                    other => panic!("{name} {by:+}: expected SizeChanged, got {other:?}"),
                }
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "index.html", b"x");
    write(&site, "gone.html", b"soon gone");
    let gone = site.join("gone.html");
    let err = digest_after(&site, || fs::remove_file(&gone).unwrap(), 2).unwrap_err();
    assert!(matches!(err, PackageError::Unreadable { ref path, .. } if path == &gone));
}

/// What the zip writer refuses of a listing, the digest refuses too.
#[test]
fn names_the_zip_cannot_hold_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    write(&site, "a.html", b"a");
    write(&site, "b.html", b"b");
    let opts = PackageOptions::new(&site);
    let file = |name: &str| {
        Ok(walk::SourceFile {
            name: name.into(),
            path: site.join("a.html"),
            size: 1,
        })
    };
    let long = "x".repeat(70_000);
    let cases: [(&[&str], &str); 2] = [
        (&["a", "b", "b"], "DuplicateName"),
        (&[long.as_str()], "NameTooLong"),
    ];
    for (names, what) in cases {
        let files = || names.iter().map(|n| file(n)).collect::<Vec<_>>();
        let digested = digest_listing(
            &opts,
            Box::new(Listed(files().into())),
            &tiny_tuning(),
            &Control::default(),
        )
        .unwrap_err();
        let out = tmp.path().join("a.zip");
        let packaged = write::write_archive(
            &opts,
            Box::new(Listed(files().into())),
            write::temp_archive(&out).unwrap(),
            &out,
            &tiny_tuning(),
            &Control::default(),
        )
        .unwrap_err();
        assert!(format!("{digested:?}").starts_with(what), "{digested:?}");
        assert_eq!(digested.to_string(), packaged.to_string());
    }
}

#[test]
fn a_control_follows_the_digest_and_can_stop_it() {
    let site = tempfile::tempdir().unwrap();
    for i in 0..12 {
        write(site.path(), &format!("p/page-{i}.html"), &text(70_000, i));
    }
    let opts = PackageOptions::new(site.path());
    let control = Control::default();
    let digest = tree_digest_with(&opts, &tiny_tuning(), &control).unwrap();
    let counts = control.counts();
    let get = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
    assert!(counts.listed.load(Ordering::Relaxed));
    assert_eq!(get(&counts.files_found), digest.file_count);
    assert_eq!(get(&counts.files_packed), digest.file_count);
    assert_eq!(get(&counts.bytes_packed), digest.bytes);

    // Stopped before it starts, or once the folder is listed (a large
    // file still being hashed): it ends Cancelled, on one thread or more.
    write(site.path(), "big.txt", &text(3 << 20, 1));
    for threads in [Some(1), Some(3)] {
        let opts = PackageOptions {
            threads,
            ..PackageOptions::new(site.path())
        };
        let stopped = Control::default();
        stopped.cancel();
        let err = tree_digest_with(&opts, &tiny_tuning(), &stopped).unwrap_err();
        assert!(matches!(err, PackageError::Cancelled), "{err:?}");
        let control = Control::default();
        let stop = control.clone();
        let control = Control {
            on_listed: Some(Arc::new(move || stop.cancel())),
            ..control
        };
        let err = tree_digest_with(&opts, &tiny_tuning(), &control).unwrap_err();
        assert!(matches!(err, PackageError::Cancelled), "{err:?}");
    }
}

/// CPU seconds this process has used (user and system), where Linux
/// says: on a machine shared with other work, steadier than wall time.
fn cpu_seconds() -> Option<f64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (in parentheses): utime and stime are
    // the 12th and 13th, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Times the walk alone, the digest and packaging of the Rust
/// documentation (or `BENCH_DOCS=DIR`), `BENCH_RUNS` times each (default
/// 3): wall and CPU seconds per run; checks that the digests agree. Run on
/// a release build:
/// `cargo test --release --lib package::tests::digest::rust_docs -- --ignored --nocapture`
#[test]
#[ignore]
fn rust_docs_digest_and_packaging_times() {
    let docs = std::env::var_os("BENCH_DOCS").map_or_else(
        || {
            let out = Command::new("rustc")
                .args(["--print", "sysroot"])
                .output()
                .unwrap();
            let sysroot = String::from_utf8(out.stdout).unwrap();
            Path::new(sysroot.trim()).join("share/doc/rust/html")
        },
        Into::into,
    );
    let runs: usize = std::env::var("BENCH_RUNS").map_or(3, |r| r.parse().unwrap());
    let opts = PackageOptions::new(&docs);
    let out = tempfile::tempdir().unwrap();
    let zip = out.path().join("docs.zip");
    let time = |label: &str, f: &mut dyn FnMut() -> String| {
        let mut result = String::new();
        let mut runs_seen = Vec::new();
        for _ in 0..runs {
            let (started, cpu) = (Instant::now(), cpu_seconds());
            result = f();
            let wall = started.elapsed().as_secs_f64();
            let cpu = cpu_seconds().zip(cpu).map(|(b, a)| b - a);
            runs_seen.push(format!(
                "{wall:.3} s ({:.2} s CPU)",
                cpu.unwrap_or(f64::NAN)
            ));
        }
        println!("{label}: {}", runs_seen.join(", "));
        result
    };
    println!("{}:", docs.display());
    time("walk alone", &mut || {
        let files = walk::Walk::new(&opts, None).unwrap().count();
        files.to_string()
    });
    let digest = time("tree_digest", &mut || {
        tree_digest(&opts, &Control::default()).unwrap().digest
    });
    let packaged = time("package_to_file", &mut || {
        package_to_file(&opts, &zip).unwrap().tree_digest
    });
    assert_eq!(digest, packaged);
    println!("digest {digest}");
}
