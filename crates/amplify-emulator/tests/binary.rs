//! The `amplify-emulator` binary: start-up banner, request log, site line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{site_zip, Client};

struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("the emulator printed a line")
    }

    fn wait_for(&self, prefix: &str) -> String {
        loop {
            let line = self.next_line();
            if line.starts_with(prefix) {
                return line;
            }
        }
    }
}

fn start(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amplify-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running { child, lines }
}

#[tokio::test]
async fn binary_prints_its_env_and_logs_requests_and_sites() {
    let running = start(&[
        "--listen",
        "127.0.0.1:0",
        "--job-duration",
        "50ms",
        "--branch",
        "main",
        "--branch",
        "feature/x",
    ]);
    let banner = running.wait_for("amplify-emulator listening on ");
    let endpoint = banner
        .trim_start_matches("amplify-emulator listening on ")
        .to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{banner}");
    assert_eq!(
        running.wait_for("  export AWS_ENDPOINT_URL="),
        format!("  export AWS_ENDPOINT_URL={endpoint}")
    );
    assert_eq!(
        running.next_line(),
        "  export AWS_ACCESS_KEY_ID=AKIDEXAMPLE"
    );
    assert_eq!(
        running.next_line(),
        "  export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    );
    assert_eq!(running.next_line(), "  export AWS_REGION=us-east-1");
    assert_eq!(
        running.wait_for("app "),
        "app d1example (WEB), branches: main, feature/x"
    );

    let client = Client::for_endpoint(&endpoint);
    let job = client.deploy("d1example", "feature%2Fx", site_zip()).await;
    client.wait_job("d1example", "feature%2Fx", &job).await;
    assert_eq!(
        running.wait_for("POST /apps/d1example/branches/feature%2Fx/deployments "),
        "POST /apps/d1example/branches/feature%2Fx/deployments 200"
    );
    let upload = running.wait_for("PUT ");
    assert_eq!(
        upload, "PUT /__upload/d1example/feature%2Fx/1 200",
        "no query logged"
    );
    assert_eq!(
        running.wait_for("site: "),
        format!("site: {endpoint}/__site/d1example/feature-x/")
    );
}

#[test]
fn binary_refuses_a_busy_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let output = Command::new(env!("CARGO_BIN_EXE_amplify-emulator"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}
