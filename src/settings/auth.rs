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

/// Standard base64 (padding optional); `None` on any other character.
pub(super) fn unbase64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuth({}:******)", self.user)
    }
}

/// Standard base64 with padding (RFC 4648 section 4).
pub(super) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `--basic-auth inherit`.
pub(super) const INHERIT: &str = "inherit";

#[cfg(test)]
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
