//! Signing and checking presigned S3-style URLs with a secret only this
//! emulator knows: the upload PUT URL of CreateDeployment and the step-log
//! GET URL of GetJob. They are checked the way S3 checks a SigV4
//! query-string signature: the values inside the query are percent-encoded
//! (`/`, `+`, `=`), so a client that re-encodes the query, adds an
//! Authorization header or switches to POST is refused, as on S3.

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

use crate::error::S3Error;
use crate::sigv4::{format_amz_date, parse_amz_date};

/// Characters SigV4 leaves unencoded: `A-Za-z0-9-._~`.
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const ACCESS_KEY: &str = "ASIAEMULATORUPLOADS1";

/// Signs and checks presigned URLs (upload and step log) with a secret
/// only this emulator knows.
pub(crate) struct UrlSigner {
    secret: [u8; 32],
    token: String,
}

impl UrlSigner {
    pub fn new() -> UrlSigner {
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        // Shaped like an STS session token: base64 with '/', '+' and '='.
        let token = format!(
            "IQoJb3JpZ2luX2VjE/emulator+{}/session==",
            uuid::Uuid::new_v4().simple()
        );
        UrlSigner { secret, token }
    }

    /// A presigned URL for `method` on `path` (already percent-encoded), as
    /// S3 hands out for uploads and for reading step logs.
    #[allow(clippy::too_many_arguments)]
    pub fn presign_path(
        &self,
        method: &str,
        endpoint: &str,
        host: &str,
        region: &str,
        path: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> String {
        let date = format_amz_date(now);
        let credential = format!(
            "{ACCESS_KEY}/{}/{region}/s3/aws4_request",
            date.get(..8).unwrap_or(&date)
        );
        let expires = ttl.as_secs().to_string();
        let fields = QueryFields {
            algorithm: ALGORITHM.to_owned(),
            credential,
            date,
            expires,
            signed_headers: "host".to_owned(),
            token: self.token.clone(),
            signature: String::new(),
        };
        let signature = self.signature(method, path, host, &fields);
        let encode = |v: &str| utf8_percent_encode(v, UNRESERVED).to_string();
        format!(
            "{endpoint}{path}?X-Amz-Algorithm={}&X-Amz-Credential={}&X-Amz-Date={}&X-Amz-Expires={}&X-Amz-SignedHeaders={}&X-Amz-Security-Token={}&X-Amz-Signature={signature}",
            encode(&fields.algorithm),
            encode(&fields.credential),
            encode(&fields.date),
            encode(&fields.expires),
            encode(&fields.signed_headers),
            encode(&fields.token),
        )
    }

    /// Checks the query-string signature of an upload request.
    pub fn verify(
        &self,
        method: &str,
        raw_path: &str,
        raw_query: &str,
        host: &str,
        now: SystemTime,
    ) -> Result<(), S3Error> {
        let fields = QueryFields::parse(raw_query)?;
        if fields.algorithm != ALGORITHM {
            return Err(S3Error::new(
                400,
                "AuthorizationQueryParametersError",
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
            ));
        }
        let signed_at = parse_amz_date(&fields.date).ok_or_else(|| {
            S3Error::new(
                400,
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            )
        })?;
        let expires: u64 = fields.expires.parse().map_err(|_| {
            S3Error::new(
                400,
                "AuthorizationQueryParametersError",
                "X-Amz-Expires should be a number",
            )
        })?;
        if signed_at + Duration::from_secs(expires) < now {
            return Err(S3Error::new(403, "AccessDenied", "Request has expired"));
        }
        let expected = self.signature(method, raw_path, host, &fields);
        if expected != fields.signature {
            return Err(S3Error::new(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ));
        }
        Ok(())
    }

    fn signature(&self, method: &str, path: &str, host: &str, fields: &QueryFields) -> String {
        let text = [
            method,
            path,
            host,
            &fields.algorithm,
            &fields.credential,
            &fields.date,
            &fields.expires,
            &fields.signed_headers,
            &fields.token,
        ]
        .join("\n");
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The SigV4 query parameters, decoded once as S3 does.
struct QueryFields {
    algorithm: String,
    credential: String,
    date: String,
    expires: String,
    signed_headers: String,
    token: String,
    signature: String,
}

impl QueryFields {
    fn parse(raw_query: &str) -> Result<QueryFields, S3Error> {
        let pairs = query_pairs(raw_query);
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let required = |name: &str| {
            get(name).ok_or_else(|| {
                S3Error::new(
                    400,
                    "AuthorizationQueryParametersError",
                    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
                )
            })
        };
        Ok(QueryFields {
            algorithm: required("X-Amz-Algorithm")?,
            credential: required("X-Amz-Credential")?,
            date: required("X-Amz-Date")?,
            expires: required("X-Amz-Expires")?,
            signed_headers: required("X-Amz-SignedHeaders")?,
            token: get("X-Amz-Security-Token").unwrap_or_default(),
            signature: required("X-Amz-Signature")?,
        })
    }
}

/// Decoded `name=value` pairs of a query string, in order.
pub(crate) fn query_pairs(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// Decodes one query component: `%XX` escapes, and `+` as a space.
fn decode(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// `/__logs/{app}/{branch}/{job}/{step}` with labels percent-encoded.
pub(crate) fn log_path(app_id: &str, branch: &str, job_id: &str, step: &str) -> String {
    format!(
        "/__logs/{}/{}/{}/{}",
        utf8_percent_encode(app_id, UNRESERVED),
        utf8_percent_encode(branch, UNRESERVED),
        utf8_percent_encode(job_id, UNRESERVED),
        utf8_percent_encode(step, UNRESERVED)
    )
}

/// `/__upload/{app}/{branch}/{job}` with labels percent-encoded.
pub(crate) fn upload_path(app_id: &str, branch: &str, job_id: &str) -> String {
    format!(
        "/__upload/{}/{}/{}",
        utf8_percent_encode(app_id, UNRESERVED),
        utf8_percent_encode(branch, UNRESERVED),
        utf8_percent_encode(job_id, UNRESERVED)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "127.0.0.1:4566";

    fn presigned(signer: &UrlSigner, now: SystemTime) -> (String, String) {
        let url = signer.presign_path(
            "PUT",
            "http://127.0.0.1:4566",
            HOST,
            "us-east-1",
            &upload_path("d1", "feature/x", "1"),
            now,
            Duration::from_secs(10800),
        );
        let rest = url
            .strip_prefix("http://127.0.0.1:4566")
            .expect("url starts with the endpoint");
        let (path, query) = rest.split_once('?').expect("url has a query");
        (path.to_owned(), query.to_owned())
    }

    #[test]
    fn url_as_returned_verifies_and_encodes_slashes() {
        let signer = UrlSigner::new();
        let now = SystemTime::now();
        let (path, query) = presigned(&signer, now);
        assert_eq!(path, "/__upload/d1/feature%2Fx/1");
        assert!(
            query.contains("X-Amz-Credential=ASIAEMULATORUPLOADS1%2F"),
            "{query}"
        );
        assert!(query.contains("X-Amz-Expires=10800"), "{query}");
        assert!(
            query.contains("%2Bsession%3D%3D") || query.contains("%3D%3D"),
            "{query}"
        );
        assert_eq!(signer.verify("PUT", &path, &query, HOST, now), Ok(()));
    }

    #[test]
    fn reencoded_query_post_and_other_host_are_refused() {
        let signer = UrlSigner::new();
        let now = SystemTime::now();
        let (path, query) = presigned(&signer, now);
        let reencoded = query.replace('%', "%25");
        let err = signer
            .verify("PUT", &path, &reencoded, HOST, now)
            .expect_err("re-encoded query");
        assert_eq!(err.code, "SignatureDoesNotMatch");
        let err = signer
            .verify("POST", &path, &query, HOST, now)
            .expect_err("POST");
        assert_eq!(err.code, "SignatureDoesNotMatch");
        assert!(signer
            .verify("PUT", &path, &query, "localhost:1", now)
            .is_err());
    }

    #[test]
    fn expired_url_is_refused() {
        let signer = UrlSigner::new();
        let signed = SystemTime::now() - Duration::from_secs(4 * 3600);
        let (path, query) = presigned(&signer, signed);
        let err = signer
            .verify("PUT", &path, &query, HOST, SystemTime::now())
            .expect_err("expired");
        assert_eq!((err.status, err.code.as_str()), (403, "AccessDenied"));
        assert_eq!(err.message, "Request has expired");
    }
}
