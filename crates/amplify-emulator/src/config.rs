//! How one emulator is set up: its region, the credentials it accepts,
//! job timing, URL lifetimes and clock-skew tolerance ([`Config`]), and the
//! credential type whose `Debug` hides its secrets.

use std::time::Duration;

/// Settings of one emulator.
#[derive(Clone, Debug)]
pub struct Config {
    /// The region requests must be signed for. Default `us-east-1`.
    pub region: String,
    /// Accepted credentials. Default: AWS's documentation example key.
    pub credentials: Vec<Credential>,
    /// Time a started job spends RUNNING before it ends. Default 300 ms.
    pub job_duration: Duration,
    /// `X-Amz-Expires` of upload URLs. Default 3 h, as Amplify's.
    pub upload_url_ttl: Duration,
    /// How far `x-amz-date` may be from the emulator's clock. Default 15 min.
    pub clock_skew_tolerance: Duration,
    /// Print one line per request, and the site URL of each successful
    /// deploy, on stdout (the binary turns this on). Default off.
    pub log_requests: bool,
    /// Where `s3://` sources are read, path-style and unsigned
    /// (`http://127.0.0.1:PORT`, e.g. a moto server), as Amplify reads S3
    /// with the bucket policy's rights. `None`: they are not fetched (the
    /// job succeeds on trust). The binary takes `AWS_ENDPOINT_URL_S3`.
    pub s3_endpoint: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: "us-east-1".to_owned(),
            credentials: vec![Credential {
                access_key_id: "AKIDEXAMPLE".to_owned(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
                session_token: None,
            }],
            job_duration: Duration::from_millis(300),
            upload_url_ttl: Duration::from_secs(3 * 3600),
            clock_skew_tolerance: Duration::from_secs(15 * 60),
            log_requests: false,
            s3_endpoint: None,
        }
    }
}

/// An accepted credential. With a session token, requests must carry the
/// same `x-amz-security-token`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"******")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "******"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_debug_hides_secrets() {
        let shown = format!("{:?}", Config::default().credentials[0]);
        assert!(shown.contains("AKIDEXAMPLE"));
        assert!(!shown.contains("EXAMPLEKEY"), "{shown}");
    }
}
