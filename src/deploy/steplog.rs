//! The end of a failed step's log, printed where the user looks first: the
//! run's own log. Amplify gives each step a `logUrl`, a presigned S3 GET URL
//! whose query carries a signature and a session token; it is used to fetch
//! the log and never printed (reports link the job's console page instead).
//!
//! The fetch is bounded: one request with a time limit, `Range` for the
//! last [`MAX_TAIL_BYTES`] only, and a cap on what is read should the
//! server ignore the range. Whatever goes wrong is a note, never a change to
//! the run's result.

use std::time::Duration;

use reqwest::header::RANGE;
use reqwest::StatusCode;

use crate::http;
use crate::report::Reporter;

/// Lines shown from the end of the log.
pub const TAIL_LINES: usize = 30;
/// Bytes asked for from the end of the log (`Range: bytes=-N`).
pub const MAX_TAIL_BYTES: usize = 64 * 1024;
/// Most bytes read when the server sends the whole log instead of the range.
pub const MAX_READ_BYTES: usize = 8 * 1024 * 1024;
/// Time for the whole fetch, connection to last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// A longer log line is cut (and marked with `…`).
const MAX_LINE_CHARS: usize = 500;

/// Why the log could not be shown. Never holds the URL.
#[derive(Debug, thiserror::Error)]
pub enum StepLogError {
    #[error("the log server answered HTTP {0}")]
    Status(u16),
    #[error("{0}")]
    Transport(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// The end of a log: its last lines, and whether anything before them was
/// left out.
#[derive(Debug, PartialEq, Eq)]
pub struct Tail {
    pub lines: Vec<String>,
    pub cut: bool,
}

/// Fetch the end of the log at `url` within `timeout`.
pub async fn fetch_tail(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<Tail, StepLogError> {
    match tokio::time::timeout(timeout, fetch(client, url)).await {
        Ok(result) => result,
        Err(_) => Err(StepLogError::Timeout(timeout)),
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Tail, StepLogError> {
    let transport =
        |e: reqwest::Error| StepLogError::Transport(http::describe_reqwest_error(&e.without_url()));
    let mut response = client
        .get(url)
        .header(RANGE, format!("bytes=-{MAX_TAIL_BYTES}"))
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        // An empty log has no last bytes.
        return Ok(Tail {
            lines: Vec::new(),
            cut: false,
        });
    }
    if !status.is_success() {
        return Err(StepLogError::Status(status.as_u16()));
    }
    // 206: the server sent the range; anything before it is left out unless
    // the range started at byte 0. 200: the whole log; keep its end.
    let mut cut = status == StatusCode::PARTIAL_CONTENT && !range_starts_at_zero(&response);
    let mut kept: Vec<u8> = Vec::new();
    let mut read = 0usize;
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        read += chunk.len();
        kept.extend_from_slice(&chunk);
        if kept.len() > MAX_TAIL_BYTES {
            kept.drain(..kept.len() - MAX_TAIL_BYTES);
            cut = true;
        }
        if read >= MAX_READ_BYTES {
            // Not its end, then: say so rather than pass a middle for an end.
            return Err(StepLogError::Transport(format!(
                "the log is longer than {} MiB and the server ignored the range request",
                MAX_READ_BYTES / (1024 * 1024)
            )));
        }
    }
    Ok(last_lines(&kept, cut, TAIL_LINES))
}

/// `Content-Range: bytes 0-…/…`.
fn range_starts_at_zero(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().starts_with("bytes 0-"))
}

/// The last `n` lines of `bytes` (lossy UTF-8, `\r\n` or `\n` ends, long
/// lines cut). When `cut`, the first line may be a fragment and is dropped.
pub fn last_lines(bytes: &[u8], cut: bool, n: usize) -> Tail {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<&str> = text.split('\n').collect();
    let mut cut = cut;
    if cut && lines.len() > 1 {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    if lines.len() > n {
        lines.drain(..lines.len() - n);
        cut = true;
    }
    let lines = lines
        .into_iter()
        .map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            if l.chars().count() > MAX_LINE_CHARS {
                let short: String = l.chars().take(MAX_LINE_CHARS).collect();
                format!("{short}…")
            } else {
                l.to_owned()
            }
        })
        .collect();
    Tail { lines, cut }
}

/// Print the end of step `step`'s log in a collapsed group (GitHub
/// Actions) or an indented block (elsewhere). Every log line goes through
/// [`Reporter::line`], so it cannot start a workflow command. The fetch
/// takes at most `within` (and never more than [`FETCH_TIMEOUT`]).
pub async fn show_tail(
    reporter: &Reporter,
    client: &reqwest::Client,
    step: &str,
    url: &str,
    within: Duration,
) {
    // Should anything echo it after all, the runner hides the signature.
    reporter.mask_url(url);
    let title = format!("Last lines of the {step} step's log");
    let github = reporter.github().is_active();
    if github {
        reporter.group(&title);
    } else {
        reporter.line(format!("{title}:"));
    }
    match fetch_tail(client, url, within.min(FETCH_TIMEOUT)).await {
        Ok(tail) if tail.lines.is_empty() => reporter.line("  (the log is empty)"),
        Ok(tail) => {
            if tail.cut {
                reporter.line("  …");
            }
            for line in &tail.lines {
                reporter.line(format!("  {line}"));
            }
        }
        Err(e) => reporter.line(format!(
            "  note: could not fetch the {step} step's log: {e}; open the job in the Amplify console to read it"
        )),
    }
    if github {
        reporter.end_group();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_server::{Action, TestServer};

    #[test]
    fn keeps_the_last_lines_and_drops_a_fragment() {
        let log: String = (1..=40).map(|i| format!("line {i}\r\n")).collect();
        let tail = last_lines(log.as_bytes(), false, 30);
        assert_eq!(tail.lines.len(), 30);
        assert_eq!(tail.lines[0], "line 11");
        assert_eq!(tail.lines[29], "line 40");
        assert!(tail.cut);

        let tail = last_lines(b"ne 3\nline 4\nline 5\n\n", true, 30);
        assert_eq!(tail.lines, ["line 4", "line 5"]);
        let tail = last_lines(b"only\n", false, 30);
        assert_eq!(
            tail,
            Tail {
                lines: vec!["only".into()],
                cut: false
            }
        );
        let long = "x".repeat(2000);
        assert_eq!(
            last_lines(long.as_bytes(), false, 30).lines[0]
                .chars()
                .count(),
            MAX_LINE_CHARS + 1
        );
    }

    #[tokio::test]
    async fn asks_for_the_end_only_and_reads_a_partial_answer() {
        let body: String = (1..=5).map(|i| format!("l{i}\n")).collect();
        let server =
            TestServer::start(vec![Action::body(206, "text/plain", &body)
                .with_header("Content-Range", "bytes 10-24/25")])
            .await;
        let tail = fetch_tail(
            &http::build_client(),
            &server.url("/log?X-Amz-Signature=s"),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        // A 206 without `bytes 0-` started mid-file: its first line is a fragment.
        assert_eq!(tail.lines, ["l2", "l3", "l4", "l5"]);
        let range = format!("bytes=-{MAX_TAIL_BYTES}");
        assert_eq!(server.requests()[0].header("range"), Some(range.as_str()));
    }

    #[tokio::test]
    async fn errors_and_timeouts_never_name_the_url() {
        let server = TestServer::start(vec![Action::status(403)]).await;
        let url = server.url("/log?X-Amz-Signature=SECRETSIG");
        let err = fetch_tail(&http::build_client(), &url, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "the log server answered HTTP 403");

        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/log?X-Amz-Signature=SECRETSIG",
            silent.local_addr().unwrap()
        );
        let started = std::time::Instant::now();
        let err = fetch_tail(&http::build_client(), &url, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, StepLogError::Timeout(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(!err.to_string().contains("SECRETSIG"));
    }
}
