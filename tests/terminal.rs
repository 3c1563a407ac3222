//! On a terminal: the live progress line, under a real pseudo-terminal
//! (`script` from util-linux), is redrawn in place and taken off the
//! screen before the next line, so the run ends with whole lines, on
//! success and on Ctrl-C alike.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;

/// What clears a live line: back to column 0, erase the line.
const CLEAR: &str = "\r\x1b[2K";

/// `c` run under `script`, its stderr (and stdout) a terminal.
fn under_pty(c: &Command) -> Command {
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
    let mut line = format!("exec {}", quote(c.get_program()));
    for arg in c.get_args() {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    let mut s = Command::new("script");
    s.env_clear();
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            s.env(k, v);
        }
    }
    s.env("TERM", "xterm")
        .env("SHELL", "/bin/sh")
        .args(["-qfec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    s
}

/// Start `c` and collect its output as it comes.
fn spawn_reading(c: &mut Command) -> (Child, Arc<Mutex<Vec<u8>>>) {
    let mut child = c.spawn().expect("script runs");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut out = child.stdout.take().unwrap();
    let sink = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (child, seen)
}

fn text(seen: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&seen.lock().unwrap()).into_owned()
}

/// Wait (at most `limit`) until the output holds `needle`.
fn wait_for(seen: &Mutex<Vec<u8>>, needle: &str, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if text(seen).contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Wait for `child`, killing it after `limit`.
fn finish(child: &mut Child, limit: Duration) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What is left on screen of each line: the text after the last clear.
fn screen_lines(out: &str) -> Vec<String> {
    out.split('\n')
        .map(|l| {
            let l = l.trim_end_matches('\r');
            l.rsplit(CLEAR).next().unwrap_or(l).to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bar_is_drawn_and_ends_cleanly() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_millis(800));
    emu.push_fault(fault("Upload", 1, FaultAction::Delay { ms: 600 }));
    let (site, _) = site();
    let mut c = under_pty(&deploy_cmd(&emu, site.path()));
    let (mut child, seen) = spawn_reading(&mut c);
    let code = tokio::task::block_in_place(|| finish(&mut child, Duration::from_secs(60)));
    std::thread::sleep(Duration::from_millis(100));
    let out = text(&seen);
    assert_eq!(code, 0, "{out:?}");
    assert!(
        out.contains(&format!("{CLEAR}[")) && out.contains("] uploading: "),
        "{out:?}"
    );
    assert!(
        out.contains(&format!("{CLEAR}waiting: job 1 is ")),
        "{out:?}"
    );
    assert!(out.ends_with("\r\n"), "a partial line is left: {out:?}");
    let lines = screen_lines(&out);
    let last = lines.iter().rev().find(|l| !l.is_empty()).unwrap();
    assert!(last.starts_with("deployed d1test/main job 1: "), "{out:?}");
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("uploading: ") || l.contains("waiting: ")),
        "a progress line stayed on screen: {lines:#?}"
    );
    // Colour on a terminal.
    assert!(out.contains("\x1b[32mSUCCEED\x1b[0m"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_finishes_the_bar_line_before_the_error() {
    let emu = emulator().await;
    emu.set_job_duration(Duration::from_secs(120));
    let site = tiny_site();
    let mut c = under_pty(&deploy_cmd(&emu, site.path()));
    let (mut child, seen) = spawn_reading(&mut c);
    let drawn = tokio::task::block_in_place(|| {
        wait_for(&seen, "waiting: job 1 is ", Duration::from_secs(30))
    });
    assert!(drawn, "{:?}", text(&seen));
    // `script` ran `exec amplify-deploy …`: its child is the binary.
    let pid = Command::new("pgrep")
        .args(["-P", &child.id().to_string()])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_owned();
    assert!(!pid.is_empty());
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    let code = tokio::task::block_in_place(|| finish(&mut child, Duration::from_secs(60)));
    std::thread::sleep(Duration::from_millis(100));
    let out = text(&seen);
    assert_eq!(code, 130, "{out:?}");
    assert!(out.ends_with("\r\n"), "a partial line is left: {out:?}");
    let lines = screen_lines(&out);
    assert!(!lines.iter().any(|l| l.contains("waiting: ")), "{lines:#?}");
    let error = lines
        .iter()
        .position(|l| l.contains("interrupted by SIGINT"))
        .unwrap();
    assert!(
        lines[error].starts_with("\x1b[31merror:\x1b[0m interrupted by SIGINT"),
        "{lines:#?}"
    );
    assert_eq!(job_statuses(&emu, "main"), vec!["CANCELLED".to_string()]);
}
