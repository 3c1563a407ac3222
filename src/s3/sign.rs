//! SigV4 for S3: the path is encoded once and never normalized, the
//! payload hash goes in `x-amz-content-sha256`, and a presigned URL carries
//! the signature in its query (see `crate::amplify::sign` for Amplify's
//! rules, which differ).

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningError, SigningInstructions, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderName, HeaderValue, InvalidHeaderName, InvalidHeaderValue};

/// A request that cannot be signed, by step: reading it, the signing
/// parameters, the signature, the headers the signature adds. Each says
/// what its source says.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{source}")]
    Request { source: SigningError },
    #[error("{source}")]
    Params {
        source: v4::signing_params::BuildError,
    },
    #[error("{source}")]
    Sign { source: SigningError },
    #[error("{source}")]
    HeaderName { source: InvalidHeaderName },
    #[error("{source}")]
    HeaderValue { source: InvalidHeaderValue },
}

/// The signing name of S3.
pub const SIGNING_NAME: &str = "s3";

/// The longest a presigned URL may live (SigV4's limit).
pub const MAX_PRESIGNED: Duration = Duration::from_secs(7 * 24 * 3600);

/// Everything but `A-Za-z0-9-._~` and `/` is escaped in an object key.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// An object key as it goes in a URL path (slashes kept).
pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY).to_string()
}

fn settings(location: SignatureLocation, expires_in: Option<Duration>) -> SigningSettings {
    let mut s = SigningSettings::default();
    s.percent_encoding_mode = PercentEncodingMode::Single;
    s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    s.payload_checksum_kind = match location {
        SignatureLocation::Headers => PayloadChecksumKind::XAmzSha256,
        _ => PayloadChecksumKind::NoHeader,
    };
    s.signature_location = location;
    s.expires_in = expires_in;
    s
}

/// Sign a request without a body (HEAD) in its headers.
pub fn sign_headers(
    request: &mut reqwest::Request,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), SignError> {
    let headers = crate::http::header_pairs(request.headers());
    let instructions = instructions(
        request.method().as_str(),
        request.url().as_str(),
        &headers,
        SignableBody::Bytes(&[]),
        credentials,
        region,
        time,
        settings(SignatureLocation::Headers, None),
    )?;
    let (headers, _) = instructions.into_parts();
    for header in headers {
        let name = HeaderName::from_bytes(header.name().as_bytes())
            .map_err(|source| SignError::HeaderName { source })?;
        let mut value = HeaderValue::from_str(header.value())
            .map_err(|source| SignError::HeaderValue { source })?;
        value.set_sensitive(header.sensitive() || name == "authorization");
        request.headers_mut().insert(name, value);
    }
    Ok(())
}

/// A presigned URL for `method` on `url`, valid for `expires_in` (at most
/// [`MAX_PRESIGNED`]); `headers` are signed and must be sent as given.
pub fn presign(
    method: &str,
    url: &url::Url,
    headers: &[(String, String)],
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
    expires_in: Duration,
) -> Result<url::Url, SignError> {
    let instructions = instructions(
        method,
        url.as_str(),
        headers,
        SignableBody::UnsignedPayload,
        credentials,
        region,
        time,
        settings(
            SignatureLocation::QueryParams,
            Some(expires_in.min(MAX_PRESIGNED)),
        ),
    )?;
    let (_, query) = instructions.into_parts();
    let mut signed = url.clone();
    {
        let mut pairs = signed.query_pairs_mut();
        for (name, value) in &query {
            let value: &Cow<'_, str> = value;
            pairs.append_pair(name, value);
        }
    }
    Ok(signed)
}

/// What SigV4 adds to a request (headers or query), signed as S3 wants
/// (`settings`): the one signing step of [`sign_headers`] and [`presign`].
#[allow(clippy::too_many_arguments)]
fn instructions(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: SignableBody<'_>,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
    settings: SigningSettings,
) -> Result<SigningInstructions, SignError> {
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        body,
    )
    .map_err(|source| SignError::Request { source })?;
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|source| SignError::Params { source })?
        .into();
    let (instructions, _) = sign(signable, &params)
        .map_err(|source| SignError::Sign { source })?
        .into_parts();
    Ok(instructions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /// AWS's documented presigned GET example ("Authenticating Requests:
    /// Using Query Parameters"): bucket `examplebucket`, key `test.txt`,
    /// 2013-05-24T00:00:00Z, 86400 s.
    #[test]
    fn presigned_get_matches_the_s3_documentation() {
        let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET, None, None, "test");
        let url = url::Url::parse("https://examplebucket.s3.amazonaws.com/test.txt").unwrap();
        let time = UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        let signed = presign(
            "GET",
            &url,
            &[],
            &creds,
            "us-east-1",
            time,
            Duration::from_secs(86_400),
        )
        .unwrap();
        let signature = signed
            .query_pairs()
            .find(|(k, _)| k == "X-Amz-Signature")
            .map(|(_, v)| v.into_owned());
        assert_eq!(
            signature.as_deref(),
            Some("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        );
        assert!(signed.query().unwrap().contains("X-Amz-Expires=86400"));
    }

    #[test]
    fn header_signing_adds_the_payload_hash() {
        let creds = Credentials::new("AKID", SECRET, Some("tok".into()), None, "test");
        let mut r = reqwest::Request::new(
            reqwest::Method::HEAD,
            url::Url::parse("http://127.0.0.1:9000/b/k%20x.zip").unwrap(),
        );
        sign_headers(&mut r, &creds, "eu-west-1", SystemTime::now()).unwrap();
        assert_eq!(
            r.headers()["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(r.headers()["authorization"].is_sensitive());
        assert!(r.headers().contains_key("x-amz-security-token"));
    }

    #[test]
    fn keys_keep_their_slashes() {
        assert_eq!(encode_key("site/prod/ab.zip"), "site/prod/ab.zip");
        assert_eq!(encode_key("a b+c/é"), "a%20b%2Bc/%C3%A9");
    }
}
