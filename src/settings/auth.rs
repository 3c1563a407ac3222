//! `--basic-auth`: credentials as the user gives them and as Amplify
//! carries them (base64 of `user:password`).

/// `--basic-auth USER:PASSWORD`. `Debug` shows the user only.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub user: String,
    pub password: String,
}

impl BasicAuth {
    /// `base64(user:password)`, as Amplify's `basicAuthCredentials` and an
    /// `Authorization: Basic` header carry it.
    pub fn encoded(&self) -> String {
        base64(format!("{}:{}", self.user, self.password).as_bytes())
    }
}

impl BasicAuth {
    /// The credentials Amplify's `basicAuthCredentials` carries (base64 of
    /// `user:password`); `None` when they are not that.
    pub fn from_encoded(encoded: &str) -> Option<BasicAuth> {
        let text = String::from_utf8(unbase64(encoded.trim())?).ok()?;
        let (user, password) = text.split_once(':')?;
        (!user.is_empty() && !password.is_empty()).then(|| BasicAuth {
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }
}

/// Standard base64 (RFC 4648), decoded; `None` when it is not that.
pub(super) fn unbase64(text: &str) -> Option<Vec<u8>> {
    aws_smithy_types::base64::decode(text).ok()
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuth({}:******)", self.user)
    }
}

/// Standard base64 with padding (RFC 4648 section 4).
pub(super) fn base64(data: &[u8]) -> String {
    aws_smithy_types::base64::encode(data)
}

/// `--basic-auth inherit`.
pub(super) const INHERIT: &str = "inherit";

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::settings::{DeploySettings, Env};

    #[test]
    fn credentials_encode_as_base64_and_debug_hides_the_password() {
        let auth = BasicAuth {
            user: "Aladdin".into(),
            password: "open sesame".into(),
        };
        // RFC 7617's example.
        assert_eq!(auth.encoded(), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert!(!format!("{auth:?}").contains("sesame"));
    }

    #[test]
    fn amplify_credentials_decode_back() {
        let auth = BasicAuth {
            user: "Aladdin".into(),
            password: "open: sesame é".into(),
        };
        assert_eq!(BasicAuth::from_encoded(&auth.encoded()), Some(auth));
        for n in 0..4 {
            let data = &b"abc"[..n];
            assert_eq!(unbase64(&base64(data)).as_deref(), Some(data));
        }
        for bad in ["", "%%%%", "dXNlcg==", "OnB3"] {
            // Not base64, no colon ("user"), no user (":pw").
            assert_eq!(BasicAuth::from_encoded(bad), None, "{bad}");
        }
    }

    #[test]
    fn basic_auth_inherit_needs_a_preview() {
        let env = Env::from_map(BTreeMap::new());
        let cli = crate::cli::try_parse_from(
            [
                "amplify-deploy",
                "--basic-auth",
                "inherit",
                "--branch",
                "main",
            ],
            |_| None,
        )
        .unwrap();
        let Err(e) = DeploySettings::resolve(&cli.deploy, &env) else {
            panic!("accepted");
        };
        assert!(e.message.contains("needs --preview"), "{}", e.message);
    }
}
