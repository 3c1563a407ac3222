//! `amplify-deploy package` and the packaging options of `deploy`, through
//! the binary.

use std::collections::BTreeMap;
use std::io::Read;

use crate::support::*;

fn entries(zip: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        out.insert(f.name().expect("UTF-8 name").to_string(), data);
    }
    out
}

fn package(site: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_amplify-deploy"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("package")
        .arg("--path")
        .arg(site)
        .arg("--output")
        .arg(out)
        .args(extra);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn package_writes_the_same_bytes_on_any_thread_count() {
    let (site, files) = site();
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one.zip");
    let four = tmp.path().join("four.zip");
    let r1 = run(&mut package(site.path(), &one, &["--threads", "1"])).await;
    let r4 = run(&mut package(site.path(), &four, &["--threads", "4"])).await;
    assert_eq!(r1.code, 0, "{r1:?}");
    assert_eq!(r4.code, 0, "{r4:?}");
    assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&four).unwrap());
    assert_eq!(entries(&one), files);
    // The report names the file count and the archive's SHA-256.
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&one).unwrap()))
    };
    assert!(r1.stderr.contains(&sha), "{r1:?}");
    assert!(
        r1.stderr.contains(&format!("{} files", files.len())),
        "{r1:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn excludes_from_flags_variables_and_amplifyignore() {
    let emu = emulator().await;
    let (site, mut files) = site();
    write(site.path(), ".amplifyignore", b"*.txt\n!empty.txt\n");
    write(site.path(), "notes.md", b"internal");
    write(site.path(), "drafts/a.html", b"draft");
    let r = run(deploy_cmd(&emu, site.path())
        .args(["--exclude", "*.md"])
        .env("AMPLIFY_EXCLUDE", "ignored because the flag wins"))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    files.remove(".well-known/security.txt");
    files.remove("docs/with space.txt");
    files.insert("drafts/a.html".into(), b"draft".to_vec());
    assert_eq!(emu.deployed_files(APP, "main").unwrap(), files);

    // One pattern a line in the variable (GitLab/Jenkins, or the action's multi-line input).
    let r = run(deploy_cmd(&emu, site.path()).env("AMPLIFY_EXCLUDE", "*.md\ndrafts/\n")).await;
    assert_eq!(r.code, 0, "{r:?}");
    files.remove("drafts/a.html");
    assert_eq!(emu.deployed_files(APP, "main").unwrap(), files);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archive_over_the_limit_is_refused_before_anything_is_created() {
    let emu = emulator().await;
    let (site, _) = site();
    let r = run(deploy_cmd(&emu, site.path()).env("AMPLIFY_MAX_ARCHIVE_BYTES", "1000")).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("1000"), "{r:?}");
    // Nothing is created: the limit is met while compressing, and only the
    // read-only read, which runs alongside once the folder is listed, may
    // have asked about the app, the branch and its jobs.
    let ops = operations(&emu);
    assert!(
        ops.iter()
            .all(|op| op == "GetApp" || op == "GetBranch" || op == "ListJobs"),
        "{ops:?}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_symlink_leaving_the_folder_is_skipped_with_a_warning() {
    let emu = emulator().await;
    let site = tiny_site();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", b"outside");
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        site.path().join("leak.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        site.path().join("index.html"),
        site.path().join("home.html"),
    )
    .unwrap();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("warning:") && r.stderr.contains("leak.txt"),
        "{r:?}"
    );
    let files = emu.deployed_files(APP, "main").unwrap();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["home.html", "index.html"]
    );
    assert_eq!(files["home.html"], b"<h1>tiny</h1>");
}

#[tokio::test(flavor = "multi_thread")]
async fn package_keeps_multilingual_names_exactly() {
    let (site, files) = crate::deploy::multilingual_site();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site.zip");
    let r = run(&mut package(site.path(), &out, &[])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(entries(&out), files);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_name_that_cannot_be_served_is_refused_before_any_request() {
    for (name, shown) in [
        ("sub/a\\b.html", r#""sub/a\\b.html""#),
        ("x\u{1}.html", r#""x\u{1}.html""#),
        ("::error::x\n.html", r#""::error::x\n.html""#),
    ] {
        let emu = emulator().await;
        let site = tiny_site();
        write(site.path(), name, b"x");
        let r = run(&mut deploy_cmd(&emu, site.path())).await;
        assert_eq!(r.code, 2, "{r:?}");
        let line = r
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("{r:?}"));
        assert!(
            line.contains(shown) && line.contains("cannot be served"),
            "{r:?}"
        );
        assert!(emu.requests().is_empty(), "{:?}", operations(&emu));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_packaging_error_keeps_its_os_cause() {
    let site = tiny_site();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("missing-dir").join("site.zip");
    let r = run(&mut package(site.path(), &out, &[])).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("cannot write the archive"), "{r:?}");
    assert!(
        r.stderr
            .contains("caused by: No such file or directory (os error 2)"),
        "{r:?}"
    );
}
