//! Test support: an in-process emulator, sites on disk, and the real binary.

#![allow(dead_code)]

pub mod contract;
pub mod github;
pub mod moto;
pub mod net;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub use amplify_emulator::{Config, Credential, Emulator, Fault, FaultAction};
pub use std::time::Instant;

pub const ACCESS_KEY: &str = "AKIDEXAMPLE";
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const APP: &str = "d1test";

/// An emulator with app `d1test` (WEB) and branch `main`.
pub async fn emulator() -> Emulator {
    emulator_with(Config::default()).await
}

pub async fn emulator_with(config: Config) -> Emulator {
    let emu = Emulator::start(config).await.expect("emulator starts");
    emu.create_app(APP, "WEB");
    emu.create_branch(APP, "main");
    emu
}

pub fn fault(operation: &str, times: u32, action: FaultAction) -> Fault {
    Fault {
        operation: Some(operation.to_owned()),
        times,
        action,
    }
}

pub fn status_fault(operation: &str, times: u32, status: u16, error_type: Option<&str>) -> Fault {
    fault(
        operation,
        times,
        FaultAction::Status {
            status,
            error_type: error_type.map(str::to_owned),
            message: None,
        },
    )
}

/// The binary, with a clean environment pointing at `emu`: no HOME config,
/// no GitHub variables, fast polling.
pub fn cmd(emu: &Emulator) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amplify-deploy"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-home")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", emu.endpoint())
        .env("AMPLIFY_POLL_INTERVAL", "50ms")
        // The live check is tested on its own (tests/live.rs), pointed
        // at the emulator with --resolve.
        .env("AMPLIFY_VERIFY", "off")
        .stdin(Stdio::null());
    c
}

/// `cmd(emu)` with `deploy --app-id d1test --branch main --path site`.
pub fn deploy_cmd(emu: &Emulator, site: &Path) -> Command {
    let mut c = cmd(emu);
    c.args(["deploy", "--app-id", APP, "--branch", "main", "--path"])
        .arg(site);
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run to completion off the async runtime (the emulator runs on it).
pub async fn run(c: &mut Command) -> Run {
    let out: Output = tokio::task::block_in_place(|| c.output().expect("binary runs"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run to completion, but kill the binary if it is still running after
/// `limit` (a test of a bound must not hang when the bound is missing).
/// Returns the run and how long it took.
pub async fn run_within(c: &mut Command, limit: Duration) -> (Run, Duration) {
    let started = Instant::now();
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    tokio::task::block_in_place(|| {
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let out = tokio::task::block_in_place(|| child.wait_with_output().expect("output"));
    let elapsed = started.elapsed();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, elapsed)
}

/// A site with nested folders, hidden files, unicode and spaces in names,
/// an empty file and a binary file.
pub fn site() -> (tempfile::TempDir, BTreeMap<String, Vec<u8>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = BTreeMap::new();
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let entries: Vec<(&str, Vec<u8>)> = vec![
        ("index.html", b"<!doctype html><h1>hello</h1>\n".to_vec()),
        ("assets/css/site.css", b"body { color: #333 }\n".repeat(200)),
        ("assets/js/app.js", b"console.log('hi');\n".to_vec()),
        (
            ".well-known/security.txt",
            b"Contact: mailto:security@example.com\n".to_vec(),
        ),
        (".hidden", b"secret-ish\n".to_vec()),
        (
            "docs/caf\u{e9} menu/r\u{e9}sum\u{e9} \u{1f600}.html",
            "<p>unicode</p>".as_bytes().to_vec(),
        ),
        ("docs/with space.txt", b"space".to_vec()),
        ("empty.txt", Vec::new()),
        ("img/logo.bin", binary),
        ("a/b/c/d/e/deep.html", b"deep".to_vec()),
    ];
    for (name, data) in entries {
        write(dir.path(), name, &data);
        files.insert(name.to_owned(), data);
    }
    (dir, files)
}

pub fn write(root: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = root.join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, data).expect("write");
    p
}

/// A one-file site.
pub fn tiny_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "index.html", b"<h1>tiny</h1>");
    dir
}

pub fn operations(emu: &Emulator) -> Vec<String> {
    emu.requests().into_iter().map(|r| r.operation).collect()
}

pub fn count(emu: &Emulator, operation: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.operation == operation)
        .count()
}

/// Statuses of the branch's jobs, oldest first.
pub fn job_statuses(emu: &Emulator, branch: &str) -> Vec<String> {
    emu.jobs(APP, branch)
        .into_iter()
        .map(|j| j.status)
        .collect()
}

pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await
}
