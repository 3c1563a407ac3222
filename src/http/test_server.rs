//! A scripted HTTP/1.1 server on 127.0.0.1 for transport tests.
//!
//! Raw TCP so tests can see the request exactly as it went on the wire
//! (request target byte for byte, `Content-Length` vs chunked). Each
//! connection serves one request and closes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Retries that are quick enough for tests: 3 retries, 1–5 ms apart.
pub(crate) fn fast_retry() -> super::RetryConfig {
    super::RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
        backoff: super::BackoffConfig {
            init_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            base: 2.0,
        },
        request_timeout: Duration::from_secs(5),
        quota_wait: Duration::from_secs(20),
    }
}

/// What the server does with the next request.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read the request, then close the connection without answering.
    Drop,
    /// Answer with a `Content-Length` of `declared` but send only `body`,
    /// then close: a body cut short.
    Cut {
        status: u16,
        declared: usize,
        body: Vec<u8>,
    },
    /// Wait, then do the inner action.
    Delay(Duration, Box<Action>),
}

impl Action {
    pub(crate) fn status(status: u16) -> Self {
        Action::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn json(status: u16, body: &str) -> Self {
        Action::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub(crate) fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Action::Respond {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.into(), value.into()));
                Action::Respond {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }

    pub(crate) fn body(status: u16, content_type: &str, body: &str) -> Self {
        Action::Respond {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
        }
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub method: String,
    /// The request target exactly as sent (path and query).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) struct TestServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl TestServer {
    /// Serve `script` in order; once it is used up, answer 599.
    pub(crate) async fn start(script: Vec<Action>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let recorded = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                let script = script.clone();
                tokio::spawn(serve(stream, recorded, script));
            }
        });
        TestServer { addr, requests }
    }

    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

/// One connection: its request recorded, the script's next action done.
async fn serve(
    stream: tokio::net::TcpStream,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<VecDeque<Action>>>,
) {
    let mut stream = BufReader::new(stream);
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    recorded.lock().expect("lock").push(request);
    let mut action = script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(|| Action::status(599));
    let stream = stream.get_mut();
    loop {
        let (status, headers, declared, body) = match action {
            Action::Delay(wait, inner) => {
                tokio::time::sleep(wait).await;
                action = *inner;
                continue;
            }
            Action::Drop => return,
            Action::Respond {
                status,
                headers,
                body,
            } => (status, headers, body.len(), body),
            Action::Cut {
                status,
                declared,
                body,
            } => (status, Vec::new(), declared, body),
        };
        let mut out = format!("HTTP/1.1 {status} Scripted\r\n");
        for (n, v) in &headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str(&format!(
            "Content-Length: {declared}\r\nConnection: close\r\n\r\n"
        ));
        let _ = stream.write_all(out.as_bytes()).await;
        let _ = stream.write_all(&body).await;
        let _ = stream.shutdown().await;
        return;
    }
}

async fn read_request<R: AsyncBufReadExt + AsyncReadExt + Unpin>(r: &mut R) -> Option<Recorded> {
    let mut line = String::new();
    r.read_line(&mut line).await.ok()?;
    let mut parts = line.trim_end().splitn(3, ' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).await.ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        r.read_exact(&mut body).await.ok()?;
    } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await.ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}
