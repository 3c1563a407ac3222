//! The artifact key model, in one place: a package is stored as
//! `s3://{bucket}/{prefix}/{sha256}.zip`, where `sha256` is the SHA-256 of
//! the zip (the package report's, the one the provenance tags record). A
//! job's `sourceUrl` (that `s3://` URL, or a presigned HTTPS GET of the same
//! key) names its artifact, and so its content.

use crate::provenance::Provenance;

/// S3's limit on user metadata: names (without `x-amz-meta-`) and values.
const MAX_METADATA_BYTES: usize = 2048;

/// `--artifact-store s3://bucket/prefix`: where packages are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactStore {
    pub bucket: String,
    /// Without leading or trailing `/`; may be empty.
    pub prefix: String,
}

/// An `--artifact-store` value that is not `s3://bucket[/prefix]`, by
/// the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreUrlError {
    #[error("{0:?} is not an s3://bucket/prefix URL")]
    NotS3(String),
    #[error("bucket {0:?} is not an S3 bucket name (3-63 characters: a-z, 0-9, `.`, `-`)")]
    Bucket(String),
    #[error(
        "prefix {0:?} must not hold empty, `.` or `..` segments, control characters, `?` or `#`"
    )]
    Prefix(String),
}

/// One stored package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub bucket: String,
    pub key: String,
    /// Lowercase hex.
    pub sha256: String,
}

impl ArtifactStore {
    /// Parse `s3://bucket[/prefix]`; the error says what is wrong.
    pub fn parse(value: &str) -> Result<ArtifactStore, StoreUrlError> {
        let rest = value
            .trim()
            .strip_prefix("s3://")
            .ok_or_else(|| StoreUrlError::NotS3(value.to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        check_bucket(bucket)?;
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..")
            || prefix.contains("//")
            || prefix
                .chars()
                .any(|c| c.is_control() || c == '?' || c == '#')
        {
            return Err(StoreUrlError::Prefix(prefix.to_owned()));
        }
        Ok(ArtifactStore {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The artifact of the package with this SHA-256.
    pub fn artifact(&self, sha256: &str) -> Artifact {
        let name = format!("{}.zip", sha256.to_ascii_lowercase());
        let key = if self.prefix.is_empty() {
            name
        } else {
            format!("{}/{name}", self.prefix)
        };
        Artifact {
            bucket: self.bucket.clone(),
            key,
            sha256: sha256.to_ascii_lowercase(),
        }
    }
}

impl std::fmt::Display for ArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

impl Artifact {
    /// `s3://bucket/key`: what StartDeployment gets, and the job remembers.
    pub fn s3_url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The artifact a job's `sourceUrl` names: `s3://bucket/…/{sha256}.zip`,
    /// or an http(s) URL of that key, virtual-hosted
    /// (`https://bucket.s3.region.amazonaws.com/…`) or path-style
    /// (`http://endpoint/bucket/…`), presigned or not. `None` for anything
    /// else (a CreateDeployment upload, another zip).
    pub fn from_source_url(url: &str) -> Option<Artifact> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/')?;
            return Artifact::new(bucket, key);
        }
        let parsed = url::Url::parse(url).ok()?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return None;
        }
        let path = percent_encoding::percent_decode_str(parsed.path())
            .decode_utf8()
            .ok()?;
        let path = path.strip_prefix('/')?;
        let host = parsed.host_str()?;
        match virtual_host_bucket(host) {
            Some(bucket) => Artifact::new(bucket, path),
            None => {
                let (bucket, key) = path.split_once('/')?;
                Artifact::new(bucket, key)
            }
        }
    }

    fn new(bucket: &str, key: &str) -> Option<Artifact> {
        check_bucket(bucket).ok()?;
        let name = key.rsplit('/').next()?;
        let sha256 = name.strip_suffix(".zip")?;
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Artifact {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            sha256: sha256.to_ascii_lowercase(),
        })
    }
}

/// `bucket` of `bucket.s3.amazonaws.com`, `bucket.s3.region.amazonaws.com`,
/// `bucket.s3-region.amazonaws.com`, `bucket.s3.dualstack.region…`.
fn virtual_host_bucket(host: &str) -> Option<&str> {
    if !host.ends_with(".amazonaws.com") && !host.ends_with(".amazonaws.com.cn") {
        return None;
    }
    let at = host.find(".s3.").or_else(|| host.find(".s3-"))?;
    Some(&host[..at]).filter(|b| !b.is_empty())
}

/// S3's bucket naming rules (3-63 of `a-z 0-9 . -`, starting and ending
/// with a letter or digit).
fn check_bucket(bucket: &str) -> Result<(), StoreUrlError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(StoreUrlError::Bucket(bucket.to_owned()))
    }
}

/// The object's `x-amz-meta-*` headers: the package's provenance, printable
/// ASCII only (anything else becomes `?`), cut so that the whole stays under
/// S3's 2 KB limit (the message is cut first).
pub fn metadata(p: &Provenance) -> Vec<(String, String)> {
    let fields = [
        ("sha256", p.sha256.as_deref()),
        ("commit", p.commit.as_deref()),
        ("commit-time", p.commit_time.as_deref()),
        ("run-url", p.run_url.as_deref()),
        ("version", p.version.as_deref()),
        ("message", p.message.as_deref()),
    ];
    let mut used = 0;
    let mut out = Vec::new();
    for (name, value) in fields {
        let Some(value) = value.map(ascii).filter(|v| !v.is_empty()) else {
            continue;
        };
        let room = MAX_METADATA_BYTES
            .saturating_sub(64) // headroom for S3's own accounting
            .saturating_sub(used + name.len());
        let value: String = value.chars().take(room).collect();
        if value.is_empty() {
            continue;
        }
        used += name.len() + value.len();
        out.push((format!("x-amz-meta-{name}"), value));
    }
    out
}

/// Printable ASCII, runs of white space as one space, anything else `?`.
fn ascii(value: &str) -> String {
    let mapped: String = value
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn store_parses_and_names_keys() {
        let s = ArtifactStore::parse("s3://my-bucket/site/prod/").unwrap();
        assert_eq!(s.prefix, "site/prod");
        let a = s.artifact(&SHA.to_uppercase());
        assert_eq!(a.key, format!("site/prod/{SHA}.zip"));
        assert_eq!(a.s3_url(), format!("s3://my-bucket/site/prod/{SHA}.zip"));
        let bare = ArtifactStore::parse("s3://my-bucket").unwrap();
        assert_eq!(bare.artifact(SHA).key, format!("{SHA}.zip"));
        for bad in [
            "my-bucket/x",
            "s3://My_Bucket/x",
            "s3://ab/x",
            "s3://b-ok/a//b",
            "s3://b-ok/../x",
            "s3://b-ok/a?b",
        ] {
            assert!(ArtifactStore::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_store_says_which_part_is_wrong() {
        for (bad, want) in [
            (
                "my-bucket/x",
                r#""my-bucket/x" is not an s3://bucket/prefix URL"#,
            ),
            (
                "s3://ab/x",
                r#"bucket "ab" is not an S3 bucket name (3-63 characters: a-z, 0-9, `.`, `-`)"#,
            ),
            (
                "s3://b-ok/a//b",
                r#"prefix "a//b" must not hold empty, `.` or `..` segments, control characters, `?` or `#`"#,
            ),
        ] {
            let e = ArtifactStore::parse(bad).unwrap_err();
            assert_eq!(e.to_string(), want, "{bad}");
        }
    }

    #[test]
    fn source_urls_map_back_to_their_artifact() {
        let want = ArtifactStore::parse("s3://my-bucket/site")
            .unwrap()
            .artifact(SHA);
        for url in [
            format!("s3://my-bucket/site/{SHA}.zip"),
            format!(
                "https://my-bucket.s3.eu-west-1.amazonaws.com/site/{SHA}.zip?X-Amz-Signature=x"
            ),
            format!("https://my-bucket.s3.amazonaws.com/site/{SHA}.zip"),
            format!("http://127.0.0.1:5000/my-bucket/site/{SHA}.zip?X-Amz-Expires=9"),
        ] {
            assert_eq!(
                Artifact::from_source_url(&url).as_ref(),
                Some(&want),
                "{url}"
            );
        }
        for other in [
            "https://example.com/site.zip",
            "s3://my-bucket/site/abc.zip",
            "s3://my-bucket",
            "",
            "ftp://h/b/0000.zip",
        ] {
            assert_eq!(Artifact::from_source_url(other), None, "{other}");
        }
    }

    #[test]
    fn metadata_is_ascii_and_under_two_kb() {
        let p = Provenance {
            job_id: "1".into(),
            sha256: Some(SHA.into()),
            commit: Some("abc".into()),
            message: Some(format!("Fix ćafé\n{}", "x".repeat(5000))),
            ..Provenance::default()
        };
        let m = metadata(&p);
        let total: usize = m
            .iter()
            .map(|(k, v)| k.len() - "x-amz-meta-".len() + v.len())
            .sum();
        assert!(total < 2048, "{total}");
        assert!(m.iter().all(|(_, v)| v.is_ascii()));
        let message = &m.iter().find(|(k, _)| k == "x-amz-meta-message").unwrap().1;
        assert!(message.starts_with("Fix ?af? xxx"), "{message}");
        assert_eq!(m[0], ("x-amz-meta-sha256".into(), SHA.into()));
    }
}
