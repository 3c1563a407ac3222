//! Fetching a job's `sourceUrl` as Amplify does: an HTTP(S) URL (a
//! presigned S3 GET, or any public zip), or an `s3://bucket/key` zip
//! (`ZIP`) or `s3://bucket/prefix` folder (`BUCKET_PREFIX`) read from S3
//! with the rights the bucket policy gives `amplify.amazonaws.com`.
//!
//! The emulator reaches only its own machine: HTTP URLs on 127.0.0.1 or
//! localhost, and `s3://` through the S3 endpoint it was configured with
//! ([`crate::Config::s3_endpoint`], `AWS_ENDPOINT_URL_S3` for the binary),
//! path-style (`http://127.0.0.1:PORT/bucket/key`). Those S3 reads carry an
//! `Authorization` header naming the service (the service reads with the
//! bucket policy's rights, not anonymously): moto outside its IAM mode
//! takes any signature but refuses anonymous reads of private objects. Anything else is taken on trust: the job succeeds, and
//! the site says it does not know what was deployed.

use std::time::Duration;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::state::SiteFiles;

/// What a job deploys.
pub(crate) enum Source {
    /// A zip, still to be checked.
    Zip(Bytes),
    /// The files under a bucket prefix.
    Files(SiteFiles),
    /// A URL the emulator does not fetch.
    Unfetched,
}

/// Fetches `url` (`sourceUrlType` `kind`, `ZIP` when absent); the error is
/// the job's `statusReason`.
pub(crate) async fn fetch(
    url: &str,
    kind: Option<&str>,
    s3_endpoint: Option<&str>,
) -> Result<Source, String> {
    if let Some(location) = url.strip_prefix("s3://") {
        let Some(endpoint) = s3_endpoint else {
            return Ok(Source::Unfetched);
        };
        let (bucket, key) = location.split_once('/').unwrap_or((location, ""));
        let s3 = S3 { endpoint, bucket };
        return if kind == Some("BUCKET_PREFIX") {
            s3.folder(key).await.map(Source::Files)
        } else {
            s3.object(key).await.map(Source::Zip)
        };
    }
    if !is_local(url) {
        return Ok(Source::Unfetched);
    }
    let (status, body) = get(url, None)
        .await
        .map_err(|e| format!("Unable to download the zip file from {url}: {e}"))?;
    if !(200..300).contains(&status) {
        let (code, _) = s3_error(&body);
        let why = if code.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status} {code}")
        };
        return Err(format!("Unable to download the zip file from {url}: {why}"));
    }
    Ok(Source::Zip(body))
}

/// One bucket behind a path-style endpoint.
struct S3<'a> {
    endpoint: &'a str,
    bucket: &'a str,
}

impl S3<'_> {
    /// GetObject of a zip.
    async fn object(&self, key: &str) -> Result<Bytes, String> {
        let location = format!("s3://{}/{key}", self.bucket);
        let url = format!("{}/{}", self.bucket_url(), encode(key, PATH));
        let (status, body) = get(&url, Some(SERVICE_AUTHORIZATION))
            .await
            .map_err(|e| format!("Unable to download the artifact {location}: {e}"))?;
        match status {
            200..=299 => Ok(body),
            _ => Err(failure(&location, status, &body)),
        }
    }

    /// Every object under `prefix` (a folder: `site` reads `site/…`), by
    /// ListObjectsV2 pages then GetObject, named relative to it.
    async fn folder(&self, prefix: &str) -> Result<SiteFiles, String> {
        let prefix = match prefix.trim_end_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let location = format!("s3://{}/{prefix}", self.bucket);
        let mut files = SiteFiles::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = format!(
                "{}?list-type=2&prefix={}",
                self.bucket_url(),
                encode(&prefix, QUERY)
            );
            if let Some(token) = &token {
                url.push_str(&format!("&continuation-token={}", encode(token, QUERY)));
            }
            let (status, body) = get(&url, Some(SERVICE_AUTHORIZATION))
                .await
                .map_err(|e| format!("Unable to list {location}: {e}"))?;
            if !(200..300).contains(&status) {
                return Err(failure(&location, status, &body));
            }
            let page = String::from_utf8_lossy(&body).into_owned();
            for key in elements(&page, "Key") {
                let Some(name) = key.strip_prefix(&prefix) else {
                    continue;
                };
                if name.is_empty() || name.ends_with('/') {
                    continue;
                }
                files.insert(name.to_owned(), self.object(&key).await?.to_vec());
            }
            token = elements(&page, "NextContinuationToken").into_iter().next();
            if token.is_none()
                || elements(&page, "IsTruncated").first().map(String::as_str) != Some("true")
            {
                break;
            }
        }
        if files.is_empty() {
            return Err(format!("No files found under {location}"));
        }
        Ok(files)
    }

    fn bucket_url(&self) -> String {
        format!(
            "{}/{}",
            self.endpoint.trim_end_matches('/'),
            encode(self.bucket, PATH)
        )
    }
}

/// The job's failure reason for an S3 error answer: a missing object or
/// bucket, a denied read (the bucket policy), or anything else.
fn failure(location: &str, status: u16, body: &[u8]) -> String {
    let (code, message) = s3_error(body);
    let detail = match (code.is_empty(), message.is_empty()) {
        (true, _) => format!("HTTP {status}"),
        (false, true) => code.clone(),
        (false, false) => format!("{code}: {message}"),
    };
    match (status, code.as_str()) {
        (404, _) | (_, "NoSuchKey" | "NoSuchBucket") => {
            format!("Unable to download the artifact {location}: it does not exist ({detail}).")
        }
        (403, _) | (_, "AccessDenied") => format!(
            "Access denied to the artifact {location} ({detail}): the bucket policy must let amplify.amazonaws.com call s3:GetObject and s3:ListBucket on it."
        ),
        _ => format!("Unable to download the artifact {location}: {detail}"),
    }
}

/// `<Code>` and `<Message>` of an S3 XML error body (empty when absent).
fn s3_error(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(body);
    let first = |tag| elements(&text, tag).into_iter().next().unwrap_or_default();
    (first("Code"), first("Message"))
}

/// The unescaped text of every `<tag>…</tag>` in `xml`, in order. S3's
/// answers are flat enough that this is all the XML reading needed.
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        found.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    found
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#13;", "\r")
        .replace("&#10;", "\n")
        .replace("&amp;", "&")
}

/// Characters left as they are in an S3 path: RFC 3986 unreserved and `/`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');
/// In a query value, `/` is encoded too.
const QUERY: &AsciiSet = &PATH.add(b'/');

fn encode(text: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(text, set).to_string()
}

/// Source URLs the emulator may fetch: its own machine only.
fn is_local(url: &str) -> bool {
    ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| url.starts_with(prefix))
}

/// Largest body fetched: Amplify takes 5 GB, but this emulator keeps zips
/// in memory.
const SOURCE_URL_LIMIT: usize = 1024 * 1024 * 1024;

/// What the emulator's S3 reads send as `Authorization`: the service's
/// own identity, which a test S3 server does not verify.
const SERVICE_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AMPLIFYSERVICE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// An HTTP/1.1 GET of `url` on this machine: its status and body.
async fn get(url: &str, authorization: Option<&str>) -> Result<(u16, Bytes), String> {
    use http_body_util::{BodyExt, Empty, Limited};

    if !is_local(url) {
        return Err(format!("{url} is not on this machine"));
    }
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let uri: hyper::Uri = url.parse().map_err(|e| text(&e))?;
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| "no host".to_owned())?;
    let host = uri.host().unwrap_or("127.0.0.1").trim_matches(['[', ']']);
    let port = uri.port_u16().unwrap_or(80);
    let download = async {
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| text(&e))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| text(&e))?;
        tokio::spawn(connection);
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut request = hyper::Request::get(path).header("host", authority);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let request = request.body(Empty::<Bytes>::new()).map_err(|e| text(&e))?;
        let response = sender.send_request(request).await.map_err(|e| text(&e))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), SOURCE_URL_LIMIT)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|e| text(&e))?;
        Ok((status, body))
    };
    tokio::time::timeout(Duration::from_secs(60), download)
        .await
        .map_err(|_| "timed out after 60 s".to_owned())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_answers_are_read() {
        let list = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>site/a&amp;b.html</Key></Contents>\
                    <Contents><Key>site/c.css</Key></Contents><NextContinuationToken>t1</NextContinuationToken></ListBucketResult>";
        assert_eq!(elements(list, "Key"), ["site/a&b.html", "site/c.css"]);
        assert_eq!(elements(list, "NextContinuationToken"), ["t1"]);
        let missing = b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>";
        assert_eq!(
            failure("s3://b/k.zip", 404, missing),
            "Unable to download the artifact s3://b/k.zip: it does not exist (NoSuchKey: The specified key does not exist.)."
        );
        assert!(failure("s3://b/k.zip", 403, b"")
            .starts_with("Access denied to the artifact s3://b/k.zip"));
        assert_eq!(encode("a b/ü:c", PATH), "a%20b/%C3%BC%3Ac");
    }
}
