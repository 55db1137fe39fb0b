//! The accept loop shared by qwave's HTTPS services (the key centre and the ledger nodes):
//! HTTP/1.1 over mutual TLS (tokio-rustls), each connection's verified client certificate
//! mapped to a caller that the axum handlers receive as a request extension.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use axum::Router;
use hyper_util::rt::TokioIo;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// Longest a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server.
pub struct ServerHandle {
    /// The bound address.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// The rustls reason when a handshake failed on the client's certificate (invalid or absent).
fn cert_failure(e: &std::io::Error) -> Option<String> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
            Some(inner.to_string())
        }
        _ => None,
    }
}

/// Serves `app` on `listener` with mutual TLS until the handle is shut down.
///
/// `caller_of` maps the verified client certificate to the caller inserted into every request
/// of that connection (`None` drops the connection); `on_cert_failure(peer, why)` runs on a
/// blocking thread when a handshake fails on the client's certificate (the centre audits it).
/// `name` prefixes accept errors on stderr.
///
/// # Errors
/// The listener's address cannot be read.
pub fn serve<C, F, A>(
    name: &'static str,
    app: Router,
    tls: rustls::ServerConfig,
    listener: TcpListener,
    caller_of: F,
    on_cert_failure: A,
) -> std::io::Result<ServerHandle>
where
    C: Clone + Send + Sync + 'static,
    F: Fn(&CertificateDer<'_>) -> Option<C> + Clone + Send + Sync + 'static,
    A: Fn(String, String) + Clone + Send + Sync + 'static,
{
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let (stop, mut stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                _ = &mut stopped => break,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        eprintln!("{name}: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, app) = (acceptor.clone(), app.clone());
            let (caller_of, on_cert_failure) = (caller_of.clone(), on_cert_failure.clone());
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        if let Some(why) = cert_failure(&e) {
                            let peer = peer.to_string();
                            let _ = tokio::task::spawn_blocking(move || on_cert_failure(peer, why))
                                .await;
                        }
                        return;
                    }
                    Err(_) => return,
                };
                let caller = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(&caller_of);
                let Some(caller) = caller else {
                    return;
                };
                let svc =
                    hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(caller.clone());
                        let mut app = app.clone();
                        async move { app.call(req).await }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    Ok(ServerHandle {
        addr,
        stop: Some(stop),
        task,
    })
}
