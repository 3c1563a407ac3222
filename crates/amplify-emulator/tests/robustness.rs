//! Bad input gets an AWS-style error, never a panic or a hang.

use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{emulator, Client};

/// Sends raw bytes on a fresh connection; returns the status line.
async fn raw(endpoint: &str, request: &[u8]) -> String {
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("an answer in time")
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn amz_now() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Days since the epoch to a civil date (Howard Hinnant's algorithm).
    let days = (secs / 86400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rem = secs % 86400;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[tokio::test]
async fn malformed_requests_get_errors_and_the_server_survives() {
    let emulator = emulator().await;
    let endpoint = emulator.endpoint();
    let now = amz_now();
    let day = &now[..8];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"GET /apps/d1 HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 garbage\r\n\r\n".to_vec(),
            "400",
        ),
        (
            b"GET /apps/d1 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n".to_vec(),
            "400",
        ),
        (
            b"GET /apps/d1 HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x/y, SignedHeaders=host, Signature=00\r\nX-Amz-Date: 20240101T000000Z\r\n\r\n".to_vec(),
            "400",
        ),
        (
            b"GET /apps/d1 HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/amplify/aws4_request, SignedHeaders=host, Signature=00\r\nX-Amz-Date: yesterday\r\n\r\n".to_vec(),
            "400",
        ),
        (
            [
                format!(
                    "GET /apps/d1 HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{day}/us-east-1/amplify/aws4_request, SignedHeaders=host;x-amz-date;x-odd, Signature=00\r\nX-Amz-Date: {now}\r\nX-Odd: "
                )
                .as_bytes(),
                b"\xff\xfe\r\n\r\n",
            ]
            .concat(),
            "403",
        ),
        (
            format!(
                "GET /apps/d1 HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{day}/us-east-1/amplify/aws4_request, SignedHeaders=, Signature=\r\nX-Amz-Date: {now}\r\n\r\n"
            )
            .into_bytes(),
            "403",
        ),
        (b"GET /apps/%FF%FE/branches HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "404"),
        (b"GET /apps/d1/branches/%2e%2e/jobs HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "403"),
        (b"PUT /__upload/d1/main/1?X-Amz-Algorithm HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".to_vec(), "400"),
        (b"PUT /__upload/d1/main/1?%zz=%zz&&== HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".to_vec(), "400"),
        (b"GET /__site/d1 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "404"),
        (b"GET /__site/d1/main/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "404"),
        (b"GET /__logs/d1/main/99 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "404"),
        (b"POST /__emulator/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnull".to_vec(), "400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "404"),
        (b"NONSENSE\r\n\r\n".to_vec(), "400"),
    ];
    for (request, status) in cases {
        let line = raw(&endpoint, &request).await;
        assert!(
            line.starts_with(&format!("HTTP/1.1 {status}")),
            "{:?} -> {line:?}",
            String::from_utf8_lossy(&request)
        );
    }
    let client = Client::new(&emulator);
    for body in [
        "null",
        "[]",
        "{\"branchName\": 5}",
        "{\"branchName\": \"\"}",
    ] {
        let got = client.call("POST", "/apps/d1/branches", Some(body)).await;
        assert_eq!(got.status, 400, "{body}: {got:?}");
        assert!(got.message().len() > 5, "{got:?}");
    }
    let got = client.call("GET", "/apps/NOT-AN-ID", None).await;
    assert_eq!(got.status, 400);
    assert_eq!(client.call("GET", "/apps/d1", None).await.status, 200);
}
