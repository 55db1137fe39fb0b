//! A small HTTP/1.1-over-mutual-TLS client for the centre (tests, CLI,
//! the upstream ETSI 014 key source and the load bench).

use std::path::Path;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::pki::{client_config, CentreDir, PkiError};

/// Client errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TLS set-up.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Connect or handshake.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// HTTP.
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// Request construction.
    #[error("request: {0}")]
    Request(#[from] hyper::http::Error),
    /// The server name is not a DNS name or IP address.
    #[error("bad server name {0:?}")]
    BadName(String),
    /// A reply body that is not the JSON expected.
    #[error("reply (status {status}) is not the expected JSON: {error}")]
    Json {
        /// HTTP status.
        status: u16,
        /// Parse error.
        error: String,
    },
}

/// An HTTP reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// Parses the body as JSON.
    ///
    /// # Errors
    /// [`ClientError::Json`].
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::Json {
            status: self.status,
            error: e.to_string(),
        })
    }
}

/// Connects to one centre with one client identity.
#[derive(Clone)]
pub struct CentreClient {
    connector: TlsConnector,
    addr: String,
    name: ServerName<'static>,
}

impl CentreClient {
    /// A client trusting `ca`, presenting `cert_key` (if any), for `addr`
    /// (`host:port`) whose certificate names `server_name`.
    ///
    /// # Errors
    /// Unreadable PEM files, a bad server name.
    pub fn new(
        ca: &Path,
        cert_key: Option<(&Path, &Path)>,
        addr: &str,
        server_name: &str,
    ) -> Result<Self, ClientError> {
        let cfg = client_config(ca, cert_key)?;
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| ClientError::BadName(server_name.into()))?;
        Ok(Self {
            connector: TlsConnector::from(Arc::new(cfg)),
            addr: addr.to_owned(),
            name,
        })
    }

    /// A client for `who` (an SAE ID or `operator`) from a centre directory.
    ///
    /// # Errors
    /// As [`CentreClient::new`].
    pub fn from_dir(dir: &Path, who: &str, addr: &str) -> Result<Self, ClientError> {
        let d = CentreDir(dir.to_owned());
        let (c, k) = d.client(who);
        let host = addr
            .rsplit_once(':')
            .map_or(addr, |(h, _)| h)
            .trim_matches(['[', ']']);
        Self::new(&d.ca_cert(), Some((&c, &k)), addr, host)
    }

    /// Opens a keep-alive connection.
    ///
    /// # Errors
    /// Connect, handshake or HTTP errors.
    pub async fn connect(&self) -> Result<Connection, ClientError> {
        let tcp = TcpStream::connect(&self.addr).await?;
        tcp.set_nodelay(true)?;
        let tls = self.connector.connect(self.name.clone(), tcp).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Connection {
            sender,
            host: self.addr.clone(),
        })
    }

    /// One request on a fresh connection.
    ///
    /// # Errors
    /// As [`Connection::request`].
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Reply, ClientError> {
        self.connect().await?.request(method, path, body).await
    }
}

/// One keep-alive connection.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    /// Sends a request (JSON body if given) and reads the whole reply.
    ///
    /// # Errors
    /// HTTP errors (including a server that closed the connection, e.g. after refusing the certificate).
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Reply, ClientError> {
        self.sender.ready().await?;
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        let req = b.body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes().to_vec();
        Ok(Reply { status, body })
    }
}
