//! Peers for the probe tests, all on 127.0.0.1 port 0: plain HTTP servers that answer a fixed
//! response or accept and never answer, the same behind TLS with a certificate from a test CA,
//! and a port nothing listens on.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::RootCertStore;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub enum Reply {
    Answer {
        status: u16,
        body: String,
    },
    /// Accept, read the request, never answer.
    Hang,
}

pub fn answer(status: u16, body: &str) -> Reply {
    Reply::Answer {
        status,
        body: body.into(),
    }
}

/// A running server: its address and how many requests it read.
pub struct Server {
    pub addr: SocketAddr,
    pub requests: Arc<AtomicUsize>,
    pub last_request: Arc<std::sync::Mutex<String>>,
}

impl Server {
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}/health?x=1", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    reply: Reply,
    requests: Arc<AtomicUsize>,
    last: Arc<std::sync::Mutex<String>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    *last.lock().unwrap() = String::from_utf8_lossy(&buf).into_owned();
    match reply {
        Reply::Hang => std::future::pending::<()>().await,
        Reply::Answer { status, body } => {
            let head = format!(
                "HTTP/1.1 {status} Test\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// A plain HTTP server on 127.0.0.1.
pub async fn http_server(reply: Reply) -> Server {
    serve(reply, None).await
}

/// An HTTPS server on 127.0.0.1 presenting `cert`.
pub async fn https_server(reply: Reply, cert: &IssuedCert) -> Server {
    serve(reply, Some(cert.server_config())).await
}

async fn serve(reply: Reply, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(String::new()));
    let (counter, seen) = (requests.clone(), last.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (reply, counter, seen, tls) =
                (reply.clone(), counter.clone(), seen.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    None => serve_one(tcp, reply, counter, seen).await,
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            serve_one(stream, reply, counter, seen).await;
                        }
                    }
                }
            });
        }
    });
    Server {
        addr,
        requests,
        last_request: last,
    }
}

/// An address on which nothing listens (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub der: CertificateDer<'static>,
}

pub struct IssuedCert {
    pub chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    /// notAfter in Unix seconds (whole seconds, as X.509 stores it).
    pub not_after: i64,
}

impl IssuedCert {
    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(self.chain.clone(), key)
                .unwrap(),
        )
    }
}

pub fn unix_now() -> i64 {
    failberry_proto::clock::unix_secs(SystemTime::now())
}

impl TestCa {
    pub fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "failberry test CA");
        let der = params.self_signed(&key).unwrap().der().clone();
        Self {
            issuer: Issuer::new(params, key),
            der,
        }
    }

    /// The trust store of a prober that trusts this CA only.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        roots
    }

    /// A server certificate for 127.0.0.1 and localhost, valid from yesterday until `days` and
    /// a half from now (so that a probe counts exactly `days` whole days left).
    pub fn issue(&self, days: u64) -> IssuedCert {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let now = unix_now() as u64;
        let epoch = date_time_ymd(1970, 1, 1);
        params.not_before = epoch + Duration::from_secs(now - 86_400);
        let not_after = now + days * 86_400 + 43_200;
        params.not_after = epoch + Duration::from_secs(not_after);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        IssuedCert {
            chain: vec![cert.der().clone(), self.der.clone()],
            key: key.serialize_der(),
            not_after: not_after as i64,
        }
    }
}
