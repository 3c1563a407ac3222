//! A real S3 server for the artifact store's tests: moto in server mode
//! (`pip install "moto[server]"`), one per test process, started on first
//! use on a free 127.0.0.1 port and stopped when the process exits (it is
//! started under `sh`, which kills it when our end of its stdin closes).
//! Each test makes its own buckets, with unique names.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The running server; the stdin keeps it alive until the process exits.
struct Moto {
    endpoint: String,
    _child: Mutex<(Child, ChildStdin)>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();
static BUCKETS: AtomicU32 = AtomicU32::new(0);

/// The endpoint of this process's moto server (`http://127.0.0.1:PORT`).
pub fn endpoint() -> String {
    let moto = MOTO.get_or_init(|| tokio::task::block_in_place(start));
    moto.endpoint.clone()
}

fn start() -> Moto {
    let found = Command::new("sh")
        .args(["-c", "command -v moto_server"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "moto_server is not installed: the artifact store's tests need a real S3 server; run `python3 -m pip install \"moto[server]==5.2.1\"`"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let script = format!(
        "moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; cat >/dev/null; kill $m; wait $m"
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh starts moto_server");
    let stdin = child.stdin.take().expect("piped stdin");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on 127.0.0.1:{port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: Mutex::new((child, stdin)),
    }
}

/// A new, empty bucket in `region`, with a name no other test uses.
pub fn bucket(region: &str) -> String {
    let n = BUCKETS.fetch_add(1, Ordering::Relaxed);
    let name = format!("store-{}-{n}", std::process::id());
    let body = if region == "us-east-1" {
        String::new()
    } else {
        format!(
            r#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"#
        )
    };
    let status = request("PUT", &format!("/{name}"), region, body.as_bytes()).0;
    assert_eq!(status, 200, "CreateBucket {name} in {region}");
    name
}

/// The object's bytes, or `None` when it is absent.
pub fn get(bucket: &str, key: &str) -> Option<Vec<u8>> {
    let (status, body) = request("GET", &format!("/{bucket}/{key}"), "us-east-1", b"");
    (status == 200).then_some(body)
}

/// The object's headers (lowercase names), or `None` when it is absent.
pub fn head(bucket: &str, key: &str) -> Option<Vec<(String, String)>> {
    let (status, head) = raw("HEAD", &format!("/{bucket}/{key}"), "us-east-1", b"");
    (status == 200).then_some(head)
}

/// Keys in the bucket (ListObjectsV2), sorted.
pub fn keys(bucket: &str) -> Vec<String> {
    let (_, body) = request("GET", &format!("/{bucket}?list-type=2"), "us-east-1", b"");
    let text = String::from_utf8_lossy(&body);
    let mut keys: Vec<String> = text
        .split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

/// Delete an object.
pub fn delete(bucket: &str, key: &str) {
    request("DELETE", &format!("/{bucket}/{key}"), "us-east-1", b"");
}

fn request(method: &str, path: &str, region: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let (status, _, body) = exchange(method, path, region, body);
    (status, body)
}

fn raw(method: &str, path: &str, region: &str, body: &[u8]) -> (u16, Vec<(String, String)>) {
    let (status, headers, _) = exchange(method, path, region, body);
    (status, headers)
}

/// One HTTP/1.0 exchange with moto (it reads the region from the
/// credential scope and does not check signatures outside its IAM mode).
fn exchange(
    method: &str,
    path: &str,
    region: &str,
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let endpoint = endpoint();
    let host = endpoint.trim_start_matches("http://").to_owned();
    tokio::task::block_in_place(|| {
        let mut s = TcpStream::connect(&host).expect("moto answers");
        let head = format!(
            "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/{region}/s3/aws4_request, SignedHeaders=host, Signature=0\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).expect("send");
        s.write_all(body).expect("send body");
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).expect("read");
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(answer.len());
        let text = String::from_utf8_lossy(&answer[..split]).into_owned();
        let mut lines = text.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let body = answer.get(split + 4..).unwrap_or_default().to_vec();
        (status, headers, body)
    })
}

/// Put an object (PutObject, unsigned as moto takes it).
pub fn put(bucket: &str, key: &str, body: &[u8]) {
    let (status, _) = request("PUT", &format!("/{bucket}/{key}"), "us-east-1", body);
    assert_eq!(status, 200, "PutObject s3://{bucket}/{key}");
}
