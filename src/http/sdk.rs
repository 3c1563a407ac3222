//! The HTTP client that `aws-config`'s credential providers (profiles with
//! SSO or a role, IMDS, the ECS container endpoint, web identity from
//! `AWS_ROLE_ARN`) send their requests through: the program's own reqwest
//! client, behind the AWS SDK's `HttpClient` trait.
//!
//! Without it, `aws-config` brings its own hyper client and its own TLS
//! provider (aws-lc-rs, beside the ring that reqwest uses): two HTTP stacks
//! and two crypto providers in one binary, and a credential chain that would
//! not share the CA bundle, proxy and timeouts every other call has.
//! Credential requests are small, so bodies are sent and read whole; an
//! answer larger than [`MAX_BODY`] is refused.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// The largest answer a credential provider may get (STS, SSO and IMDS
/// answers are a few KiB).
pub const MAX_BODY: usize = 1 << 20;

/// `client` as the AWS SDK's HTTP client.
pub fn http_client(client: reqwest::Client) -> SharedHttpClient {
    SharedHttpClient::new(ReqwestClient { client })
}

#[derive(Debug, Clone)]
struct ReqwestClient {
    client: reqwest::Client,
}

impl HttpClient for ReqwestClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // The SDK asks for connect and read timeouts; reqwest's client has
        // its own connect timeout, so the two bound the whole request here.
        let timeout = match (settings.connect_timeout(), settings.read_timeout()) {
            (Some(c), Some(r)) => Some(c + r),
            (c, r) => c.or(r),
        };
        SharedHttpConnector::new(Connector {
            client: self.client.clone(),
            timeout,
        })
    }
}

#[derive(Debug)]
struct Connector {
    client: reqwest::Client,
    timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        let timeout = self.timeout;
        HttpConnectorFuture::new(async move { send(&client, timeout, request).await })
    }
}

async fn send(
    client: &reqwest::Client,
    timeout: Option<Duration>,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    let method = reqwest::Method::from_bytes(request.method().as_bytes())
        .map_err(|e| ConnectorError::user(e.into()))?;
    let Some(body) = request.body().bytes().map(<[u8]>::to_vec) else {
        return Err(ConnectorError::user(
            "a streaming request body cannot be sent by this client".into(),
        ));
    };
    let mut builder = client.request(method, request.uri());
    for (name, value) in request.headers().iter() {
        builder = builder.header(name, value);
    }
    if let Some(t) = timeout {
        builder = builder.timeout(t);
    }
    let response = builder.body(body).send().await.map_err(connector_error)?;
    let status = StatusCode::try_from(response.status().as_u16())
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let headers = response.headers().clone();
    let body = read_capped(response).await?;
    let mut out = HttpResponse::new(status, SdkBody::from(body));
    for (name, value) in &headers {
        if let Ok(value) = value.to_str() {
            out.headers_mut()
                .append(name.as_str().to_owned(), value.to_owned());
        }
    }
    Ok(out)
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, ConnectorError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(connector_error)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ConnectorError::other(
                format!("the answer is larger than {MAX_BODY} bytes").into(),
                None,
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request through the adapter reaches a real server with its method,
    /// path, headers and body, and the answer comes back whole.
    #[tokio::test]
    async fn round_trip() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            loop {
                let n = sock.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
                if got.ends_with(b"Action=X") || n == 0 {
                    break;
                }
            }
            let body = "<ok/>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nx-amzn-requestid: r1\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8(got).unwrap()
        });
        let mut req = HttpRequest::new(SdkBody::from("Action=X"));
        req.set_method("POST").unwrap();
        req.set_uri(format!("http://{addr}/sts?a=1")).unwrap();
        req.headers_mut().insert("x-test", "yes");
        let connector = Connector {
            client: reqwest::Client::new(),
            timeout: Some(Duration::from_secs(5)),
        };
        let resp = connector.call(req).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.body().bytes(), Some(&b"<ok/>"[..]));
        assert_eq!(resp.headers().get("x-amzn-requestid"), Some("r1"));
        let sent = server.await.unwrap();
        assert!(sent.starts_with("POST /sts?a=1 HTTP/1.1\r\n"), "{sent}");
        assert!(sent.to_ascii_lowercase().contains("x-test: yes"), "{sent}");
    }

    /// A server that accepts and never answers is a timeout error.
    #[tokio::test]
    async fn silent_server_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _keep = tokio::spawn(async move {
            let (_sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let mut req = HttpRequest::empty();
        req.set_uri(format!("http://{addr}/")).unwrap();
        let connector = Connector {
            client: reqwest::Client::new(),
            timeout: Some(Duration::from_millis(300)),
        };
        let err = connector.call(req).await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
    }
}
