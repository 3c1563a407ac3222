//! The presigned upload URL behaves like S3's.

use std::time::Duration;

use crate::support::{emulator, site_zip, Client};

async fn upload_url(client: &Client) -> String {
    let created = client
        .call(
            "POST",
            "/apps/d1/branches/feature%2Fx/deployments",
            Some("{}"),
        )
        .await;
    assert_eq!(created.status, 200, "{created:?}");
    created.body["zipUploadUrl"]
        .as_str()
        .expect("zipUploadUrl")
        .to_owned()
}

fn s3_code(text: &str) -> &str {
    text.split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or_default()
}

#[tokio::test]
async fn upload_url_is_shaped_like_s3s() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let url = upload_url(&client).await;
    let expected = format!("{}/__upload/d1/feature%2Fx/1?", emulator.endpoint());
    assert!(url.starts_with(&expected), "{url}");
    for part in [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Expires=10800",
        "X-Amz-SignedHeaders=host",
        "X-Amz-Credential=",
        "%2Fus-east-1%2Fs3%2Faws4_request",
        "X-Amz-Security-Token=",
        "X-Amz-Signature=",
    ] {
        assert!(url.contains(part), "{part} missing from {url}");
    }
}

#[tokio::test]
async fn upload_is_stored_for_the_job() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let url = upload_url(&client).await;
    let zip = site_zip();
    let put = client.put(&url, zip.clone()).await;
    assert_eq!(put.status().as_u16(), 200);
    assert!(put.headers().contains_key("etag"));
    let record = emulator.requests().pop().expect("recorded");
    assert_eq!(record.operation, "Upload");
    assert_eq!(record.body_len, zip.len() as u64);
    assert_eq!(record.path, "/__upload/d1/feature%2Fx/1");
}

#[tokio::test]
async fn chunked_or_lengthless_uploads_are_refused() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let url = upload_url(&client).await;
    let stream = futures_stream(site_zip());
    let put = client.put(&url, reqwest::Body::wrap_stream(stream)).await;
    assert_eq!(put.status().as_u16(), 411);
    assert_eq!(
        s3_code(&put.text().await.expect("body")),
        "MissingContentLength"
    );
}

fn futures_stream(
    data: Vec<u8>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    OneChunk(Some(data))
}

struct OneChunk(Option<Vec<u8>>);

impl futures_core::Stream for OneChunk {
    type Item = Result<Vec<u8>, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.take().map(Ok))
    }
}

#[tokio::test]
async fn tampered_reencoded_or_posted_uploads_are_refused() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let url = upload_url(&client).await;

    let tampered = format!("{}0", url.trim_end_matches(|c: char| c.is_ascii_hexdigit()));
    let put = client.put(&tampered, site_zip()).await;
    assert_eq!(put.status().as_u16(), 403);
    assert_eq!(
        s3_code(&put.text().await.expect("body")),
        "SignatureDoesNotMatch"
    );

    let reencoded = url.replace("%2F", "%252F");
    let put = client.put(&reencoded, site_zip()).await;
    assert_eq!(put.status().as_u16(), 403);

    let post = client
        .http
        .post(&url)
        .body(site_zip())
        .send()
        .await
        .expect("post");
    assert_eq!(post.status().as_u16(), 403);
    assert_eq!(
        s3_code(&post.text().await.expect("body")),
        "SignatureDoesNotMatch"
    );

    let get = client.http.delete(&url).send().await.expect("delete");
    assert_eq!(get.status().as_u16(), 405);

    let with_auth = client
        .http
        .put(&url)
        .header("authorization", "AWS4-HMAC-SHA256 Credential=x")
        .body(site_zip())
        .send()
        .await
        .expect("put");
    assert_eq!(with_auth.status().as_u16(), 400);
    let text = with_auth.text().await.expect("body");
    assert_eq!(s3_code(&text), "InvalidArgument");
    assert!(text.contains("Only one auth mechanism allowed"), "{text}");
}

#[tokio::test]
async fn expired_upload_url_is_refused() {
    let emulator = emulator().await;
    emulator.set_upload_url_ttl(Duration::from_secs(0));
    let client = Client::new(&emulator);
    let url = upload_url(&client).await;
    assert!(url.contains("X-Amz-Expires=0"), "{url}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let put = client.put(&url, site_zip()).await;
    assert_eq!(put.status().as_u16(), 403);
    let text = put.text().await.expect("body");
    assert_eq!(s3_code(&text), "AccessDenied");
    assert!(text.contains("Request has expired"), "{text}");
}

#[tokio::test]
async fn large_upload_is_accepted() {
    let emulator = emulator().await;
    let client = Client::new(&emulator);
    let url = upload_url(&client).await;
    let body = vec![7u8; 150 * 1024 * 1024];
    let started = std::time::Instant::now();
    let put = client.put(&url, body).await;
    assert_eq!(put.status().as_u16(), 200);
    eprintln!("150 MiB upload took {:?}", started.elapsed());
}
