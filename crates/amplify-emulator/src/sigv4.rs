//! SigV4 verification of Amplify API calls, as the AWS front door does it:
//! parse the `Authorization` header, find the caller's credential, rebuild
//! the signature with `aws-sigv4` at the request's own `x-amz-date`, compare.
//!
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html>

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SessionTokenMode, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use hyper::HeaderMap;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::config::Credential;
use crate::error::ApiError;

/// Signing name of Amplify.
pub(crate) const SERVICE: &str = "amplify";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const EXPIRED_TOKEN: &str = "The security token included in the request is expired";

/// What the verifier needs to know about the service.
pub(crate) struct Verifier<'a> {
    pub credentials: &'a [Credential],
    /// Access key ids of session credentials that have expired.
    pub expired: &'a [String],
    pub region: &'a str,
    pub clock_skew_tolerance: Duration,
    pub now: SystemTime,
}

/// The request parts that are signed.
pub(crate) struct SignedRequest<'a> {
    pub method: &'a str,
    /// Path and query exactly as received (still percent-encoded).
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

impl Verifier<'_> {
    /// Ok when the request is signed by one of the configured credentials.
    pub fn verify(&self, request: &SignedRequest<'_>) -> Result<(), ApiError> {
        let Some(header) = request.headers.get("authorization") else {
            return Err(ApiError::new(
                403,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ));
        };
        let header = header
            .to_str()
            .map_err(|_| incomplete("Authorization header is not valid ASCII."))?;
        let auth = parse_authorization(header)?;

        if self.expired.iter().any(|id| id == auth.access_key_id) {
            return Err(ApiError::new(403, "ExpiredTokenException", EXPIRED_TOKEN));
        }
        let credential = self
            .credentials
            .iter()
            .find(|c| c.access_key_id == auth.access_key_id)
            .ok_or_else(|| ApiError::new(403, "UnrecognizedClientException", INVALID_TOKEN))?;
        let token = header_str(request.headers, "x-amz-security-token");
        if token != credential.session_token.as_deref() {
            return Err(ApiError::new(
                403,
                "UnrecognizedClientException",
                INVALID_TOKEN,
            ));
        }

        let amz_date = header_str(request.headers, "x-amz-date").ok_or_else(|| {
            incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        })?;
        let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
            incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ))
        })?;
        self.check_skew(amz_date, signed_at)?;
        self.check_scope(&auth, amz_date)?;

        let expected = self.signature(request, &auth, credential, signed_at)?;
        if expected != auth.signature {
            return Err(invalid_signature(SIGNATURE_MISMATCH));
        }
        Ok(())
    }

    fn check_skew(&self, amz_date: &str, signed_at: SystemTime) -> Result<(), ApiError> {
        let minutes = self.clock_skew_tolerance.as_secs() / 60;
        let now = format_amz_date(self.now);
        if signed_at + self.clock_skew_tolerance < self.now {
            let earliest = format_amz_date(self.now - self.clock_skew_tolerance);
            return Err(invalid_signature(format!(
                "Signature expired: {amz_date} is now earlier than {earliest} ({now} - {minutes} min.)"
            )));
        }
        if signed_at > self.now + self.clock_skew_tolerance {
            let latest = format_amz_date(self.now + self.clock_skew_tolerance);
            return Err(invalid_signature(format!(
                "Signature not yet current: {amz_date} is still later than {latest} ({now} + {minutes} min.)"
            )));
        }
        Ok(())
    }

    fn check_scope(&self, auth: &Authorization<'_>, amz_date: &str) -> Result<(), ApiError> {
        let day = amz_date.get(..8).unwrap_or(amz_date);
        if auth.date != day {
            return Err(invalid_signature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{day}', from '{amz_date}'.",
                auth.date
            )));
        }
        if auth.region != self.region {
            return Err(invalid_signature(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                auth.region
            )));
        }
        if auth.service != SERVICE {
            return Err(invalid_signature(format!(
                "Credential should be scoped to correct service: '{SERVICE}'. "
            )));
        }
        if auth.terminator != "aws4_request" {
            return Err(invalid_signature(format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
                auth.terminator
            )));
        }
        if !auth.signed_headers.contains(&"host") {
            return Err(invalid_signature(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        Ok(())
    }

    /// The signature `aws-sigv4` computes over the headers the client said
    /// it signed.
    fn signature(
        &self,
        request: &SignedRequest<'_>,
        auth: &Authorization<'_>,
        credential: &Credential,
        signed_at: SystemTime,
    ) -> Result<String, ApiError> {
        // aws-sigv4 adds these itself (from the time, the identity and the
        // settings) and must not be handed them.
        const ADDED_BY_SIGNER: &[&str] =
            &["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];
        let mut headers = Vec::new();
        for name in &auth.signed_headers {
            if ADDED_BY_SIGNER.contains(name) {
                continue;
            }
            for value in request.headers.get_all(*name) {
                let value = value
                    .to_str()
                    .map_err(|_| invalid_signature(SIGNATURE_MISMATCH))?;
                headers.push((*name, value));
            }
        }

        let mut settings = SigningSettings::default();
        settings.excluded_headers = None;
        if auth.signed_headers.contains(&"x-amz-content-sha256") {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        if !auth.signed_headers.contains(&"x-amz-security-token") {
            settings.session_token_mode = SessionTokenMode::Exclude;
        }
        let identity = Credentials::new(
            &credential.access_key_id,
            &credential.secret_access_key,
            credential.session_token.clone(),
            None,
            "amplify-emulator",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(SERVICE)
            .time(signed_at)
            .settings(settings)
            .build()
            .map_err(|_| invalid_signature(SIGNATURE_MISMATCH))?
            .into();
        let uri = format!("http://amplify.emulator{}", request.path_and_query);
        let signable = SignableRequest::new(
            request.method,
            Cow::Owned(uri),
            headers.into_iter(),
            SignableBody::Bytes(request.body),
        )
        .map_err(|_| invalid_signature(SIGNATURE_MISMATCH))?;
        let output = sign(signable, &params).map_err(|_| invalid_signature(SIGNATURE_MISMATCH))?;
        Ok(output.signature().to_owned())
    }
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, ApiError> {
    let Some(rest) = header.strip_prefix(ALGORITHM) else {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'. The only supported algorithm is {ALGORITHM}.",
            header.split_whitespace().next().unwrap_or("")
        )));
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key.trim() {
            "Credential" => credential = Some(value.trim()),
            "SignedHeaders" => signed_headers = Some(value.trim()),
            "Signature" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let missing = |name: &str| {
        incomplete(format!(
            "Authorization header requires '{name}' parameter. Authorization={header}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope[..] else {
        return Err(incomplete(format!(
            "Credential should have 5 slash-separated parts, not {}: '{credential}'.",
            scope.len()
        )));
    };
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        terminator,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn invalid_signature(message: impl Into<String>) -> ApiError {
    ApiError::new(403, "InvalidSignatureException", message)
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "IncompleteSignatureException", message)
}

/// Parses SigV4's `20150830T123600Z`.
pub(crate) fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = PrimitiveDateTime::parse(text, format).ok()?;
    Some(SystemTime::from(parsed.assume_utc()))
}

/// Formats a time as SigV4's `20150830T123600Z`.
pub(crate) fn format_amz_date(time: SystemTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    OffsetDateTime::from(time)
        .format(format)
        .unwrap_or_else(|_| "19700101T000000Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderName, HeaderValue};

    const KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn credential(secret: &str, token: Option<&str>) -> Credential {
        Credential {
            access_key_id: KEY.into(),
            secret_access_key: secret.into(),
            session_token: token.map(str::to_owned),
        }
    }

    /// Signs a request the way a client does, with aws-sigv4.
    fn signed_headers(
        method: &str,
        path: &str,
        body: &[u8],
        signer: &Credential,
        at: SystemTime,
    ) -> HeaderMap {
        let identity = Credentials::new(
            &signer.access_key_id,
            &signer.secret_access_key,
            signer.session_token.clone(),
            None,
            "test",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("amplify")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let uri = format!("http://127.0.0.1:4566{path}");
        let request_headers = [
            ("content-type", "application/json"),
            ("host", "127.0.0.1:4566"),
        ];
        let signable = SignableRequest::new(
            method,
            uri,
            request_headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
        let mut headers = HeaderMap::new();
        for (name, value) in request_headers
            .iter()
            .copied()
            .chain(instructions.headers())
        {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        headers
    }

    fn verify(
        headers: &HeaderMap,
        path: &str,
        body: &[u8],
        known: &Credential,
        now: SystemTime,
    ) -> Result<(), ApiError> {
        let credentials = [known.clone()];
        let verifier = Verifier {
            credentials: &credentials,
            expired: &[],
            region: "us-east-1",
            clock_skew_tolerance: Duration::from_secs(15 * 60),
            now,
        };
        verifier.verify(&SignedRequest {
            method: "POST",
            path_and_query: path,
            headers,
            body,
        })
    }

    const BRANCH_PATH: &str = "/apps/d1/branches/feature%2Fx/deployments";

    #[test]
    fn request_signed_for_an_encoded_branch_path_verifies() {
        let now = SystemTime::now();
        let good = credential(SECRET, None);
        let headers = signed_headers("POST", BRANCH_PATH, b"{}", &good, now);
        assert_eq!(verify(&headers, BRANCH_PATH, b"{}", &good, now), Ok(()));
    }

    #[test]
    fn request_signed_with_a_wrong_secret_is_refused() {
        let now = SystemTime::now();
        let headers = signed_headers("POST", BRANCH_PATH, b"{}", &credential("wrong", None), now);
        let err = verify(&headers, BRANCH_PATH, b"{}", &credential(SECRET, None), now)
            .expect_err("wrong secret");
        assert_eq!(err.error_type, "InvalidSignatureException");
        assert_eq!(err.message, SIGNATURE_MISMATCH);
    }

    #[test]
    fn changed_body_or_path_breaks_the_signature() {
        let now = SystemTime::now();
        let good = credential(SECRET, None);
        let headers = signed_headers("POST", BRANCH_PATH, b"{}", &good, now);
        assert!(verify(&headers, BRANCH_PATH, b"{ }", &good, now).is_err());
        assert!(verify(
            &headers,
            "/apps/d1/branches/feature/x/deployments",
            b"{}",
            &good,
            now
        )
        .is_err());
    }

    #[test]
    fn session_token_must_match_the_credential() {
        let now = SystemTime::now();
        let with_token = credential(SECRET, Some("token/with+odd=chars"));
        let headers = signed_headers("POST", BRANCH_PATH, b"{}", &with_token, now);
        assert_eq!(
            verify(&headers, BRANCH_PATH, b"{}", &with_token, now),
            Ok(())
        );
        let unsigned = signed_headers("POST", BRANCH_PATH, b"{}", &credential(SECRET, None), now);
        let err = verify(&unsigned, BRANCH_PATH, b"{}", &with_token, now).expect_err("no token");
        assert_eq!(err.error_type, "UnrecognizedClientException");
    }

    #[test]
    fn expired_session_credentials_are_refused_as_expired() {
        let now = SystemTime::now();
        let session = credential(SECRET, Some("session-token"));
        let headers = signed_headers("POST", BRANCH_PATH, b"{}", &session, now);
        let verifier = Verifier {
            credentials: &[],
            expired: std::slice::from_ref(&session.access_key_id),
            region: "us-east-1",
            clock_skew_tolerance: Duration::from_secs(15 * 60),
            now,
        };
        let err = verifier
            .verify(&SignedRequest {
                method: "POST",
                path_and_query: BRANCH_PATH,
                headers: &headers,
                body: b"{}",
            })
            .expect_err("expired");
        assert_eq!(err.status, 403);
        assert_eq!(err.error_type, "ExpiredTokenException");
    }

    #[test]
    fn old_signatures_are_expired() {
        let now = SystemTime::now();
        let good = credential(SECRET, None);
        let headers = signed_headers(
            "POST",
            BRANCH_PATH,
            b"{}",
            &good,
            now - Duration::from_secs(3600),
        );
        let err = verify(&headers, BRANCH_PATH, b"{}", &good, now).expect_err("expired");
        assert_eq!(err.error_type, "InvalidSignatureException");
        assert!(
            err.message.starts_with("Signature expired: "),
            "{}",
            err.message
        );
    }

    #[test]
    fn amz_dates_round_trip() {
        let time = parse_amz_date("20150830T123600Z").expect("valid date");
        assert_eq!(
            time.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .ok(),
            Some(1_440_938_160)
        );
        assert_eq!(format_amz_date(time), "20150830T123600Z");
        assert_eq!(parse_amz_date("2015-08-30"), None);
    }
}
