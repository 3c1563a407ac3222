//! Which proxy a request went through, for errors: reqwest reads
//! `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (and their
//! lower-case forms) itself, and its connection errors do not say that the
//! address they could not reach was the proxy's. A failure through a proxy
//! is named here with its variable and address, never its credentials.
//!
//! The decision is hyper-util's `Matcher`, the one reqwest uses, so it is
//! the proxy the request really took (`NO_PROXY`, a CGI environment and
//! values reqwest ignores included).

use std::fmt;

use hyper_util::client::proxy::matcher::Matcher;

/// A proxy in use, safe to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUse {
    /// The variable that set it: `HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`, …
    pub variable: &'static str,
    /// `scheme://host:port`, without user info.
    pub address: String,
}

impl fmt::Display for ProxyUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the proxy {} ({})", self.address, self.variable)
    }
}

/// The proxy a request to `url` goes through, if any.
pub fn proxy_for(url: &url::Url) -> Option<ProxyUse> {
    let uri: http::Uri = url.as_str().parse().ok()?;
    let intercept = Matcher::from_env().intercept(&uri)?;
    let proxy = intercept.uri();
    let host = proxy.host()?;
    let port = proxy.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(ProxyUse {
        variable: variable_for(url.scheme())?,
        address: format!("{}://{host}{port}", proxy.scheme_str().unwrap_or("http")),
    })
}

/// The variable a `scheme` request takes its proxy from: the scheme's own
/// (upper case first, as reqwest reads them) when it holds a proxy URL
/// reqwest takes, else `ALL_PROXY`.
fn variable_for(scheme: &str) -> Option<&'static str> {
    let own: &[&'static str] = match scheme {
        "https" => &["HTTPS_PROXY", "https_proxy"],
        _ => &["HTTP_PROXY", "http_proxy"],
    };
    let set = |names: &[&'static str]| names.iter().copied().find(|n| std::env::var(n).is_ok());
    match set(own) {
        Some(name) if usable(&std::env::var(name).unwrap_or_default()) => Some(name),
        _ => set(&["ALL_PROXY", "all_proxy"]),
    }
}

/// Whether reqwest takes `value` as a proxy URL (it ignores the others).
fn usable(value: &str) -> bool {
    let probe = http::Uri::from_static("http://example.com/");
    Matcher::builder()
        .http(value)
        .build()
        .intercept(&probe)
        .is_some()
}

/// A request that got no connection, said as a failure of the proxy it
/// went through: "the proxy http://10.0.0.1:3128 (HTTPS_PROXY) refused the
/// connection". `None` when `error` is not a connection error or no proxy
/// applies to its URL.
pub fn proxy_failure(error: &reqwest::Error) -> Option<String> {
    if !error.is_connect() {
        return None;
    }
    let proxy = proxy_for(error.url()?)?;
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if refused(cause) {
            return Some(format!("{proxy} refused the connection"));
        }
        source = cause.source();
    }
    Some(format!("no connection through {proxy}"))
}

/// Whether `cause` is a refused TCP connection. hyper-util's SOCKS error
/// keeps the connect error it wraps without giving it as its `source`;
/// only its `Debug` shows the I/O error's kind.
fn refused(cause: &(dyn std::error::Error + 'static)) -> bool {
    match cause.downcast_ref::<std::io::Error>() {
        Some(io) => io.kind() == std::io::ErrorKind::ConnectionRefused,
        None => {
            cause.to_string().starts_with("SOCKS error")
                && format!("{cause:?}").contains("kind: ConnectionRefused")
        }
    }
}
