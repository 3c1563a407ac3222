//! Network fixtures on 127.0.0.1: a server that accepts and never
//! answers, a forwarding proxy that records what passed through it, and a
//! TLS front signed by a test CA made with the `openssl` CLI.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections and reads whatever comes, but never answers.
pub struct SilentServer {
    addr: SocketAddr,
    accepted: Arc<Mutex<usize>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl SilentServer {
    pub async fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(Mutex::new(0));
        let count = accepted.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    Ok((mut stream, _)) = listener.accept() => {
                        *count.lock().unwrap() += 1;
                        held.push(tokio::spawn(async move {
                            let mut buf = vec![0u8; 64 * 1024];
                            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                            // Keep the socket open until the test ends.
                            std::future::pending::<()>().await;
                        }));
                    }
                }
            }
            for h in held {
                h.abort();
            }
        });
        SilentServer {
            addr,
            accepted,
            _stop: stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        *self.accepted.lock().unwrap()
    }
}

/// One request the proxy handled: `GET http://127.0.0.1:1234/path` for a
/// forwarded request, `CONNECT 127.0.0.1:1234` for a tunnel.
#[derive(Debug, Clone)]
pub struct Proxied {
    pub method: String,
    pub target: String,
}

/// An HTTP proxy: forwards absolute-URI requests (`HTTP_PROXY`) and
/// tunnels `CONNECT` (`HTTPS_PROXY`), recording each.
pub struct RecordingProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Proxied>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl RecordingProxy {
    pub async fn start() -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = seen.clone();
        // The forwarder itself must not use a proxy.
        let forward = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    Ok((stream, _)) = listener.accept() => {
                        let seen = shared.clone();
                        let forward = forward.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| {
                                proxy(seen.clone(), forward.clone(), req)
                            });
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .with_upgrades()
                                .await;
                        });
                    }
                }
            }
        });
        RecordingProxy {
            addr,
            seen,
            _stop: stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Proxied> {
        self.seen.lock().unwrap().clone()
    }
}

async fn proxy(
    seen: Arc<Mutex<Vec<Proxied>>>,
    forward: reqwest::Client,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let method = req.method().clone();
    let target = req.uri().to_string();
    seen.lock().unwrap().push(Proxied {
        method: method.to_string(),
        target: target.clone(),
    });
    let bad_gateway = || {
        Response::builder()
            .status(502)
            .body(Full::new(Bytes::new()))
            .expect("response")
    };
    if method == Method::CONNECT {
        let Ok(mut upstream) = TcpStream::connect(&target).await else {
            return Ok(bad_gateway());
        };
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                let mut client = TokioIo::new(upgraded);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        });
        return Ok(Response::new(Full::new(Bytes::new())));
    }
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut out = forward.request(parts.method, target).body(body);
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "proxy-connection" | "connection") {
            out = out.header(name, value);
        }
    }
    let Ok(answer) = out.send().await else {
        return Ok(bad_gateway());
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if !matches!(name.as_str(), "transfer-encoding" | "connection") {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    Ok(response.body(Full::new(body)).expect("response"))
}

/// One connection a [`Socks5Proxy`] relayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relayed {
    /// `host:port` as the client asked for it: an IP address (`socks5://`,
    /// the client resolved the name) or a name (`socks5h://`).
    pub target: String,
    /// The user name of the username/password sub-negotiation (RFC 1929).
    pub user: Option<String>,
    /// The first line the client sent through the tunnel
    /// (`GET /apps/d1test HTTP/1.1`).
    pub first_line: String,
}

/// A SOCKS5 proxy (RFC 1928, CONNECT only) on 127.0.0.1: no
/// authentication, or username/password when the client offers it; the
/// name of a `socks5h://` target is resolved here. Records each tunnel.
pub struct Socks5Proxy {
    addr: SocketAddr,
    relayed: Arc<Mutex<Vec<Relayed>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Socks5Proxy {
    pub async fn start() -> Socks5Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let relayed = Arc::new(Mutex::new(Vec::new()));
        let shared = relayed.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    Ok((stream, _)) = listener.accept() => {
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            let _ = socks5_tunnel(stream, shared).await;
                        });
                    }
                }
            }
        });
        Socks5Proxy {
            addr,
            relayed,
            _stop: stop,
        }
    }

    /// `socks5://127.0.0.1:PORT` (or another scheme, and user info).
    pub fn url(&self, scheme: &str, userinfo: &str) -> String {
        format!("{scheme}://{userinfo}{}", self.addr)
    }

    pub fn relayed(&self) -> Vec<Relayed> {
        self.relayed.lock().unwrap().clone()
    }
}

async fn socks5_tunnel(
    mut client: TcpStream,
    relayed: Arc<Mutex<Vec<Relayed>>>,
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods).await?;
    let user = if methods.contains(&2) {
        client.write_all(&[5, 2]).await?;
        let mut v = [0u8; 2];
        client.read_exact(&mut v).await?;
        let mut name = vec![0u8; usize::from(v[1])];
        client.read_exact(&mut name).await?;
        let mut len = [0u8; 1];
        client.read_exact(&mut len).await?;
        let mut password = vec![0u8; usize::from(len[0])];
        client.read_exact(&mut password).await?;
        client.write_all(&[1, 0]).await?;
        Some(String::from_utf8_lossy(&name).into_owned())
    } else {
        client.write_all(&[5, 0]).await?;
        None
    };
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    // Only this machine: a name must resolve to 127.0.0.1.
    let upstream = match tokio::net::lookup_host(&target).await {
        Ok(mut addrs) => match addrs.find(|a| a.ip().is_loopback() && a.is_ipv4()) {
            Some(addr) => TcpStream::connect(addr).await.ok(),
            None => None,
        },
        Err(_) => None,
    };
    let Some(mut upstream) = upstream else {
        // 5: connection refused.
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    let mut first = vec![0u8; 64 * 1024];
    let n = client.read(&mut first).await?;
    upstream.write_all(&first[..n]).await?;
    let first_line = String::from_utf8_lossy(&first[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    relayed.lock().unwrap().push(Relayed {
        target,
        user,
        first_line,
    });
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// A port on 127.0.0.1 that nothing listens on (bound, then let go).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A test CA and a server certificate for `localhost` and 127.0.0.1,
/// made with the `openssl` CLI in a temporary folder.
pub struct TestCa {
    pub dir: tempfile::TempDir,
}

impl TestCa {
    pub fn create() -> TestCa {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::write(
            d.join("ext.cnf"),
            "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write ext");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=amplify-deploy test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        TestCa { dir }
    }

    /// The CA certificate (what AWS_CA_BUNDLE names).
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn server_config(&self) -> Arc<tokio_rustls::rustls::ServerConfig> {
        use tokio_rustls::rustls;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let read = |name: &str| std::fs::read(self.dir.path().join(name)).expect("read pem");
        let certs = vec![CertificateDer::from_pem_slice(&read("server.pem")).expect("cert")];
        let key = PrivateKeyDer::from_pem_slice(&read("server.key")).expect("key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        Arc::new(config)
    }
}

/// Terminates TLS with the test CA's server certificate and forwards the
/// plain bytes to `backend` (the emulator, the fake STS).
pub struct TlsFront {
    addr: SocketAddr,
    handshakes: Arc<Mutex<usize>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TlsFront {
    pub async fn start(ca: &TestCa, backend: &str) -> TlsFront {
        let backend = backend
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let handshakes = Arc::new(Mutex::new(0));
        let count = handshakes.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    Ok((stream, _)) = listener.accept() => {
                        let acceptor = acceptor.clone();
                        let backend = backend.clone();
                        let count = count.clone();
                        tokio::spawn(async move {
                            let Ok(mut tls) = acceptor.accept(stream).await else { return };
                            *count.lock().unwrap() += 1;
                            let Ok(mut plain) = TcpStream::connect(&backend).await else { return };
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                        });
                    }
                }
            }
        });
        TlsFront {
            addr,
            handshakes,
            _stop: stop,
        }
    }

    /// `https://localhost:PORT`: the name the certificate is for.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// Completed TLS handshakes.
    pub fn handshakes(&self) -> usize {
        *self.handshakes.lock().unwrap()
    }
}

/// An AWS config file with one `[default]` profile holding `lines`.
pub fn aws_config_file(dir: &Path, lines: &str) -> PathBuf {
    let path = dir.join("config");
    std::fs::write(&path, format!("[default]\n{lines}\n")).expect("write config");
    path
}
