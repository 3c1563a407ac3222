//! One file of a stored package, read with ranged GETs instead of the
//! whole archive: the end record, the central directory, then the entry.
//! A rollback needs the root document's bytes for the live check, and the
//! package may be hundreds of MB.
//!
//! Only what this tool writes is read: stored or deflated entries, no
//! ZIP64 (an archive that needs it is reported as unreadable, and the
//! check is skipped).

use std::io::Read;

use super::container::{u16_at, u32_at, CENTRAL_HEADER, END, LOCAL_HEADER, TAIL};

/// Largest entry read (a root document is small).
const MAX_ENTRY: u64 = 64 * 1024 * 1024;

/// Why an entry of a stored archive cannot be read: a ranged GET, the
/// end record, the central directory, the local header, or the entry.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// `url` without its query (a presigned URL's signature), as is the
    /// source's (`reqwest::Error::without_url`).
    #[error("GET {url}: {}", crate::http::describe_reqwest_error(.source))]
    GetSend { url: String, source: reqwest::Error },
    #[error("GET {url} ({range}): HTTP {status}")]
    GetStatus {
        url: String,
        range: String,
        status: u16,
    },
    #[error("GET {url}: {source}")]
    GetBody { url: String, source: reqwest::Error },
    #[error("no zip end record")]
    EndMissing,
    #[error("short end record")]
    EndShort,
    #[error("a ZIP64 archive")]
    EndZip64,
    #[error("short directory record")]
    DirectoryShort,
    #[error("{name} is larger than {MAX_ENTRY} bytes")]
    EntryTooLarge { name: String },
    #[error("no local header where the directory says")]
    LocalHeaderMissing,
    #[error("cannot inflate {name}: {source}")]
    EntryInflate {
        name: String,
        source: std::io::Error,
    },
    #[error("{name} uses compression method {method}")]
    EntryMethod { name: String, method: u16 },
}

/// The bytes of entry `name` of the zip at `url` (a presigned GET);
/// `Ok(None)` when the archive has no such entry.
pub async fn read_entry(
    http: &reqwest::Client,
    url: &str,
    name: &str,
) -> Result<Option<Vec<u8>>, EntryError> {
    let tail = get(http, url, &format!("bytes=-{TAIL}")).await?;
    let Some(range) = directory_range(&tail)? else {
        return Ok(None); // an empty directory: no entries at all
    };
    let directory = get(http, url, &range).await?;
    let Some(found) = find(&directory, name)? else {
        return Ok(None);
    };
    if u64::from(found.compressed) > MAX_ENTRY {
        return Err(EntryError::EntryTooLarge { name: name.into() });
    }
    let head = get(
        http,
        url,
        &format!("bytes={}-{}", found.offset, u64::from(found.offset) + 29),
    )
    .await?;
    if u32_at(&head, 0) != Some(LOCAL_HEADER) {
        return Err(EntryError::LocalHeaderMissing);
    }
    let skip =
        30 + u64::from(u16_at(&head, 26).unwrap_or(0)) + u64::from(u16_at(&head, 28).unwrap_or(0));
    let start = u64::from(found.offset) + skip;
    let data = if found.compressed == 0 {
        Vec::new()
    } else {
        let end = start + u64::from(found.compressed) - 1;
        get(http, url, &format!("bytes={start}-{end}")).await?
    };
    match found.method {
        0 => Ok(Some(data)),
        8 => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(&data[..])
                .take(MAX_ENTRY)
                .read_to_end(&mut out)
                .map_err(|source| EntryError::EntryInflate {
                    name: name.into(),
                    source,
                })?;
            Ok(Some(out))
        }
        method => Err(EntryError::EntryMethod {
            name: name.into(),
            method,
        }),
    }
}

/// The byte range of the central directory, from the end record in
/// `tail` (the archive's last bytes).
/// The central directory's byte range, from the end record in `tail`;
/// `None` for an empty directory (an archive of no entries).
fn directory_range(tail: &[u8]) -> Result<Option<String>, EntryError> {
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(tail, i) == Some(END))
        .ok_or(EntryError::EndMissing)?;
    let size = u32_at(tail, at + 12).ok_or(EntryError::EndShort)?;
    let offset = u32_at(tail, at + 16).ok_or(EntryError::EndShort)?;
    if size == u32::MAX || offset == u32::MAX {
        return Err(EntryError::EndZip64);
    }
    if size == 0 {
        return Ok(None);
    }
    Ok(Some(format!(
        "bytes={offset}-{}",
        u64::from(offset) + u64::from(size) - 1
    )))
}

struct Found {
    method: u16,
    compressed: u32,
    offset: u32,
}

/// The central directory record of `name`.
fn find(directory: &[u8], name: &str) -> Result<Option<Found>, EntryError> {
    let mut at = 0;
    while u32_at(directory, at) == Some(CENTRAL_HEADER) {
        let field = |o: usize| u16_at(directory, at + o).ok_or(EntryError::DirectoryShort);
        let (name_len, extra, comment) = (field(28)?, field(30)?, field(32)?);
        let start = at + 46;
        let entry = directory
            .get(start..start + usize::from(name_len))
            .ok_or(EntryError::DirectoryShort)?;
        if entry == name.as_bytes() {
            return Ok(Some(Found {
                method: field(10)?,
                compressed: u32_at(directory, at + 20).ok_or(EntryError::DirectoryShort)?,
                offset: u32_at(directory, at + 42).ok_or(EntryError::DirectoryShort)?,
            }));
        }
        at = start + usize::from(name_len) + usize::from(extra) + usize::from(comment);
    }
    Ok(None)
}

/// One ranged GET; anything but 206 is an error.
async fn get(http: &reqwest::Client, url: &str, range: &str) -> Result<Vec<u8>, EntryError> {
    let shown = crate::http::redact_url(url);
    crate::http::wire::calling(|| format!("GET {shown} ({range})"));
    let response = http
        .get(url)
        .header(reqwest::header::RANGE, range)
        .send()
        .await
        .map_err(|e| EntryError::GetSend {
            url: shown.clone(),
            source: e.without_url(),
        })?;
    let status = response.status().as_u16();
    if status != 206 {
        return Err(EntryError::GetStatus {
            url: shown,
            range: range.to_owned(),
            status,
        });
    }
    response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| EntryError::GetBody {
            url: shown,
            source: e.without_url(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An end record: signature, then size (at 12) and offset (at 16).
    fn end_record(size: u32, offset: u32) -> Vec<u8> {
        let mut r = vec![0u8; 22];
        r[..4].copy_from_slice(&END.to_le_bytes());
        r[12..16].copy_from_slice(&size.to_le_bytes());
        r[16..20].copy_from_slice(&offset.to_le_bytes());
        r
    }

    #[test]
    fn an_empty_directory_has_no_range_and_no_underflow() {
        assert_eq!(directory_range(&end_record(0, 0)).unwrap(), None);
        assert_eq!(
            directory_range(&end_record(46, 100)).unwrap().as_deref(),
            Some("bytes=100-145")
        );
        assert!(matches!(
            directory_range(&end_record(u32::MAX, 0)),
            Err(EntryError::EndZip64)
        ));
    }
    use crate::http::test_server::{Action, TestServer};

    /// The query of a presigned GET is a secret (its signature, the
    /// session token): no failed read may show it, in its message or in
    /// any source below it.
    #[tokio::test]
    async fn a_failed_read_never_shows_the_presigned_query() {
        let server = TestServer::start(vec![
            Action::Cut {
                status: 206,
                declared: 100,
                body: b"PK".to_vec(),
            },
            Action::status(403),
            Action::Drop,
        ])
        .await;
        let url = server.url("/b/x.zip?X-Amz-Security-Token=tok-secret&X-Amz-Signature=sig-secret");
        let http = crate::http::build_client();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let e = read_entry(&http, &url, "index.html").await.unwrap_err();
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(" / {s} {s:?}"));
                source = s.source();
            }
            assert!(!text.contains("secret"), "{text}");
            assert!(text.contains(&server.url("/b/x.zip")), "{text}");
            seen.push(e);
        }
        assert!(
            matches!(seen[0], EntryError::GetBody { .. }),
            "{:?}",
            seen[0]
        );
        assert!(matches!(seen[1], EntryError::GetStatus { status: 403, .. }));
        assert!(
            matches!(seen[2], EntryError::GetSend { .. }),
            "{:?}",
            seen[2]
        );
    }
}
