//! A ledger node as a network service: HTTP/1.1 over mutual TLS (the centre's rustls set-up,
//! [`crate::centre::pki::server_config`]). The caller is the CN of its verified client
//! certificate (`node.<id>`, `user.<id>` or `operator`, see [`Caller`]). One route per
//! protocol step, `POST /ledger/v1/{quote,submit,forward,fetch,ack,claim,settle}` with a
//! [`Msg`] JSON body; each only parses, runs [`NodeService::handle`] on a blocking thread
//! and serialises the [`Reply`](super::transport::Reply). [`error_response`] is the one error→status map.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use tokio::net::TcpListener;

use super::service::NodeService;
use super::transport::{Caller, ErrorBody, Msg};
use super::LedgerError;
use crate::centre::pki::sae_id_of;

/// Maps a ledger error to its HTTP status and [`ErrorBody`]. Internal failures become 500
/// with a generic message; the cause goes to stderr (never key material: errors carry none).
pub fn error_response(e: &LedgerError) -> Response {
    let code = match e {
        LedgerError::Malformed(_) | LedgerError::Json(_) => StatusCode::BAD_REQUEST,
        LedgerError::Unauthorized(_) => StatusCode::FORBIDDEN,
        LedgerError::BadSignature
        | LedgerError::BadMac
        | LedgerError::Replay(_)
        | LedgerError::Refused(_)
        | LedgerError::NoKeyOfValue(_)
        | LedgerError::Payment(_)
        | LedgerError::Overflow => StatusCode::UNPROCESSABLE_ENTITY,
        LedgerError::NoRoute { .. } | LedgerError::Directory(_) => StatusCode::NOT_FOUND,
        LedgerError::Remote { .. } | LedgerError::Network(_) => StatusCode::BAD_GATEWAY,
        LedgerError::Sqlite(_)
        | LedgerError::Io(_)
        | LedgerError::Crypto(_)
        | LedgerError::Pki(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = if code == StatusCode::INTERNAL_SERVER_ERROR {
        eprintln!("ledger node: internal error: {e}");
        "internal error of the ledger node".to_owned()
    } else {
        e.to_string()
    };
    // A downstream refusal keeps its kind, so the requester sees why the route failed.
    let kind = match e {
        LedgerError::Remote { kind, .. } => kind.clone(),
        _ => e.kind().to_owned(),
    };
    (code, Json(ErrorBody { kind, message })).into_response()
}

async fn step(
    State(svc): State<Arc<NodeService>>,
    Extension(caller): Extension<Caller>,
    Path(op): Path<String>,
    body: Bytes,
) -> Response {
    let msg = match Msg::decode(&body) {
        Ok(m) => m,
        Err(e) => return error_response(&e),
    };
    if msg.op() != op {
        return error_response(&LedgerError::Malformed("message does not match the route"));
    }
    match tokio::task::spawn_blocking(move || svc.handle(&caller, msg)).await {
        Ok(Ok(r)) => (StatusCode::OK, Json(r)).into_response(),
        Ok(Err(e)) => error_response(&e),
        Err(_) => error_response(&LedgerError::Network("worker task failed".into())),
    }
}

/// The node's routes.
pub fn router(svc: Arc<NodeService>) -> Router {
    Router::new()
        .route("/ledger/v1/{op}", post(step))
        .with_state(svc)
}

pub use crate::centre::mtls::ServerHandle;

/// Serves `svc` on `listener` with mutual TLS until the handle is shut down. Connections
/// whose client certificate does not verify, or names no known kind of caller, are dropped.
///
/// # Errors
/// The listener's address cannot be read.
pub fn serve(
    svc: Arc<NodeService>,
    tls: rustls::ServerConfig,
    listener: TcpListener,
) -> std::io::Result<ServerHandle> {
    crate::centre::mtls::serve(
        "ledger node",
        router(svc),
        tls,
        listener,
        |c| sae_id_of(c).and_then(|cn| Caller::from_cn(&cn)),
        |_, _| {},
    )
}
