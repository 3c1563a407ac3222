//! SigV4 signing of the exact request that goes on the wire, and the
//! encoding of URI labels.
//!
//! Amplify is restJson1: a label such as branch `feature/x` is sent as
//! `feature%2Fx`, and SigV4's canonical URI encodes that path once more
//! (`feature%252Fx`), which is `aws-sigv4`'s default for every service but
//! S3 (`PercentEncodingMode::Double`, path normalization enabled).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderName, HeaderValue};

use super::error::ApiError;

/// The signing name of the Amplify API.
pub const SIGNING_NAME: &str = "amplify";

/// Everything but `A-Za-z0-9-._~` is escaped in a URI label.
const LABEL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode one URI label (app id, branch name, job id).
pub fn encode_label(label: &str) -> String {
    utf8_percent_encode(label, LABEL).to_string()
}

/// Sign `request` in place: the method, URL, headers and body it holds now
/// are what gets signed, so nothing may change them afterwards. Adds
/// `x-amz-date`, `authorization` and, with a session token,
/// `x-amz-security-token`.
pub fn sign_request(
    request: &mut reqwest::Request,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), ApiError> {
    let signing = |message: String| ApiError::Signing { message };
    let instructions = {
        let headers = crate::http::header_pairs(request.headers());
        let body: &[u8] = match request.body() {
            None => &[],
            Some(body) => body
                .as_bytes()
                .ok_or_else(|| signing("a streaming body cannot be signed as bytes".to_string()))?,
        };
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| signing(e.to_string()))?;
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| signing(e.to_string()))?
            .into();
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| signing(e.to_string()))?
            .into_parts();
        instructions
    };
    let (headers, _params) = instructions.into_parts();
    for header in headers {
        let name =
            HeaderName::from_bytes(header.name().as_bytes()).map_err(|e| signing(e.to_string()))?;
        let mut value =
            HeaderValue::from_str(header.value()).map_err(|e| signing(e.to_string()))?;
        value.set_sensitive(header.sensitive() || name == "authorization");
        request.headers_mut().insert(name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Known answers from the `aws-signing-test-suite` shipped in
    //! `aws-sigv4`'s source (`aws-signing-test-suite/v4/<case>/`): fixed
    //! date, AWS's example key, exact `Authorization` header.

    use super::*;
    use reqwest::Method;
    use sha2::{Digest, Sha256};
    use std::time::{Duration, UNIX_EPOCH};

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// 2015-08-30T12:36:00Z, the suite's timestamp.
    fn suite_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn creds(token: Option<&str>) -> Credentials {
        Credentials::new(AKID, SECRET, token.map(str::to_string), None, "test")
    }

    fn request(
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> reqwest::Request {
        let mut r = reqwest::Request::new(method, reqwest::Url::parse(url).expect("url"));
        for (n, v) in headers {
            r.headers_mut().insert(
                HeaderName::from_bytes(n.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        if !body.is_empty() {
            *r.body_mut() = Some(reqwest::Body::from(body.to_string()));
        }
        r
    }

    fn signed(
        mut r: reqwest::Request,
        token: Option<&str>,
        region: &str,
        service: &str,
        time: SystemTime,
    ) -> reqwest::Request {
        sign_request(&mut r, &creds(token), region, service, time).expect("signs");
        r
    }

    fn header<'a>(r: &'a reqwest::Request, name: &str) -> &'a str {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("<missing>")
    }

    fn auth(signed_headers: &str, signature: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={signed_headers}, Signature={signature}")
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        let r = signed(
            request(
                Method::GET,
                "https://example.amazonaws.com/?Param2=value2&Param1=value1",
                &[],
                "",
            ),
            None,
            "us-east-1",
            "service",
            suite_time(),
        );
        assert_eq!(header(&r, "x-amz-date"), "20150830T123600Z");
        assert_eq!(
            header(&r, "authorization"),
            auth(
                "host;x-amz-date",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
            )
        );
    }

    #[test]
    fn get_vanilla_with_session_token() {
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
        let r = signed(
            request(Method::GET, "https://example.amazonaws.com/", &[], ""),
            Some(token),
            "us-east-1",
            "service",
            suite_time(),
        );
        assert_eq!(header(&r, "x-amz-security-token"), token);
        assert!(r.headers()["x-amz-security-token"].is_sensitive());
        assert_eq!(
            header(&r, "authorization"),
            auth(
                "host;x-amz-date;x-amz-security-token",
                "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
            )
        );
    }

    #[test]
    fn post_vanilla() {
        let r = signed(
            request(Method::POST, "https://example.amazonaws.com/", &[], ""),
            None,
            "us-east-1",
            "service",
            suite_time(),
        );
        assert_eq!(
            header(&r, "authorization"),
            auth(
                "host;x-amz-date",
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
            )
        );
    }

    #[test]
    fn post_x_www_form_urlencoded_signs_the_body() {
        let body = "Param1=value1";
        let sha = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
        assert_eq!(hex::encode(Sha256::digest(body)), sha);
        let r = signed(
            request(
                Method::POST,
                "https://example.amazonaws.com/",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("content-length", "13"),
                    ("x-amz-content-sha256", sha),
                ],
                body,
            ),
            None,
            "us-east-1",
            "service",
            suite_time(),
        );
        assert_eq!(
            header(&r, "authorization"),
            auth(
                "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
                "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"
            )
        );
    }

    #[test]
    fn double_url_encode_path() {
        // The suite's `double-url-encode` case: a restJson path whose
        // label was already encoded once (Lambda; Amplify is the same).
        // The suite gives its canonical request and string to sign, not
        // the key behind its signature, so the known answer is the string
        // to sign, signed with AWS's example key.
        let canonical = "POST\n/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-west-2%253A892717189312%253Afunction%253Amy-rusty-fun/invocations\n\nhost:lambda.us-east-2.amazonaws.com\nx-amz-date:20210511T154045Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let string_to_sign = "AWS4-HMAC-SHA256\n20210511T154045Z\n20210511/us-east-2/lambda/aws4_request\n684dbb3c92a8b6b1e452e23e523c1ea941c713a4c13500bb9f3bdad1e19afaf7";
        assert!(string_to_sign.ends_with(&hex::encode(Sha256::digest(canonical))));
        let time = UNIX_EPOCH + Duration::from_secs(1_620_747_645); // 2021-05-11T15:40:45Z
        let key = v4::generate_signing_key(SECRET, time, "us-east-2", "lambda");
        let signature = v4::calculate_signature(key, string_to_sign.as_bytes());
        let r = signed(
            request(
                Method::POST,
                "https://lambda.us-east-2.amazonaws.com/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A892717189312%3Afunction%3Amy-rusty-fun/invocations",
                &[],
                "",
            ),
            None,
            "us-east-2",
            "lambda",
            time,
        );
        assert_eq!(header(&r, "x-amz-date"), "20210511T154045Z");
        assert_eq!(
            header(&r, "authorization"),
            format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20210511/us-east-2/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}")
        );
    }

    /// The signature of `canonical_request` computed independently of
    /// `aws-sigv4`'s canonicalisation.
    fn expected_signature(
        canonical_request: &str,
        time: SystemTime,
        region: &str,
        service: &str,
    ) -> String {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n20240102T030405Z\n20240102/{region}/{service}/aws4_request\n{}",
            hex::encode(Sha256::digest(canonical_request))
        );
        let key = v4::generate_signing_key(SECRET, time, region, service);
        v4::calculate_signature(key, string_to_sign.as_bytes())
    }

    #[test]
    fn amplify_branch_label_is_encoded_twice_in_the_canonical_request() {
        let time = UNIX_EPOCH + Duration::from_secs(1_704_164_645); // 2024-01-02T03:04:05Z
        let path = format!("/apps/d1/branches/{}", encode_label("feature/x"));
        assert_eq!(path, "/apps/d1/branches/feature%2Fx");
        let r = signed(
            request(
                Method::GET,
                &format!("https://amplify.us-east-1.amazonaws.com{path}"),
                &[],
                "",
            ),
            None,
            "us-east-1",
            SIGNING_NAME,
            time,
        );
        // The wire keeps the single encoding.
        assert_eq!(r.url().path(), "/apps/d1/branches/feature%2Fx");
        let canonical = "GET\n/apps/d1/branches/feature%252Fx\n\nhost:amplify.us-east-1.amazonaws.com\nx-amz-date:20240102T030405Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let signature = expected_signature(canonical, time, "us-east-1", SIGNING_NAME);
        assert_eq!(
            header(&r, "authorization"),
            format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/amplify/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}")
        );
        // And it is not the single-encoded one.
        let single = canonical.replace("feature%252Fx", "feature%2Fx");
        assert_ne!(
            signature,
            expected_signature(&single, time, "us-east-1", SIGNING_NAME)
        );
    }

    #[test]
    fn json_body_and_non_default_port_are_signed() {
        let time = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
        let r = signed(
            request(
                Method::POST,
                "http://127.0.0.1:4566/apps/d1/branches/main/deployments",
                &[("content-type", "application/json")],
                "{}",
            ),
            None,
            "eu-west-1",
            SIGNING_NAME,
            time,
        );
        let canonical = format!(
            "POST\n/apps/d1/branches/main/deployments\n\ncontent-type:application/json\nhost:127.0.0.1:4566\nx-amz-date:20240102T030405Z\n\ncontent-type;host;x-amz-date\n{}",
            hex::encode(Sha256::digest("{}"))
        );
        let signature = expected_signature(&canonical, time, "eu-west-1", SIGNING_NAME);
        assert!(header(&r, "authorization").ends_with(&format!("Signature={signature}")));
    }

    #[test]
    fn label_encoding_keeps_only_unreserved() {
        assert_eq!(encode_label("main"), "main");
        assert_eq!(encode_label("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(encode_label("feature/x y+z"), "feature%2Fx%20y%2Bz");
        assert_eq!(encode_label("ሴ"), "%E1%88%B4");
        assert_eq!(encode_label("%2F"), "%252F");
    }
}
