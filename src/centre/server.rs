//! HTTP/1.1 over mutual TLS. Our own accept loop (tokio-rustls) hands each
//! connection's verified client identity (certificate CN) to the axum
//! handlers as a [`Caller`] request extension. Routes only parse, call
//! [`Centre`] on a blocking thread and serialise; [`error_response`] is the
//! one error→status map (ETSI GS QKD 014 §5: 400, 401, 503).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::audit::AuditFinding;
use super::etsi::{self, BadRequest, ErrorBody};
use super::pki::sae_id_of;
use super::service::{Centre, CentreError};

/// The authenticated caller: the CN of its verified client certificate.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// Maps a centre error to its HTTP status and §6.5 error body. Internal
/// failures become 503 with a generic message; the cause goes to stderr.
pub fn error_response(e: CentreError) -> Response {
    let (code, body) = match e {
        CentreError::BadRequest(b) => (
            StatusCode::BAD_REQUEST,
            ErrorBody {
                message: b.message,
                details: b.details,
            },
        ),
        CentreError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, msg(m)),
        CentreError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, msg(m)),
        CentreError::NoDevice(s) => (StatusCode::NOT_FOUND, msg(format!("device {s} not found"))),
        CentreError::Conflict(m) => (StatusCode::CONFLICT, msg(m)),
        e @ (CentreError::Store(_) | CentreError::Crypto(_) | CentreError::Audit(_)) => {
            eprintln!("centre: internal error: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                msg("internal error of the key management entity".into()),
            )
        }
    };
    (code, Json(body)).into_response()
}

fn msg(message: String) -> ErrorBody {
    ErrorBody {
        message,
        details: Vec::new(),
    }
}

async fn run<T, F>(c: Arc<Centre>, f: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Centre) -> Result<T, CentreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(move || f(&c)).await {
        Ok(Ok(v)) => (StatusCode::OK, Json(v)).into_response(),
        Ok(Err(e)) => error_response(e),
        Err(_) => error_response(CentreError::Audit("worker task failed".into())),
    }
}

type St = State<Arc<Centre>>;
type Who = Extension<Caller>;

async fn status(State(c): St, Extension(who): Who, Path(slave): Path<String>) -> Response {
    run(c, move |c| c.status(&who.0, &slave)).await
}

async fn enc_get(
    State(c): St,
    Extension(who): Who,
    Path(slave): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let req = match etsi::key_request_from_query(q.as_deref(), &c.config().limits) {
        Ok(r) => r,
        Err(e) => return error_response(e.into()),
    };
    run(c, move |c| c.enc_keys(&who.0, &slave, &req)).await
}

async fn enc_post(
    State(c): St,
    Extension(who): Who,
    Path(slave): Path<String>,
    body: Bytes,
) -> Response {
    let req = match etsi::key_request_from_body(&body, &c.config().limits) {
        Ok(r) => r,
        Err(e) => return error_response(e.into()),
    };
    run(c, move |c| c.enc_keys(&who.0, &slave, &req)).await
}

async fn dec_get(
    State(c): St,
    Extension(who): Who,
    Path(master): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let ids = match etsi::key_ids_from_query(q.as_deref(), c.config().limits.max_key_per_request) {
        Ok(r) => r,
        Err(e) => return error_response(e.into()),
    };
    run(c, move |c| c.dec_keys(&who.0, &master, &ids)).await
}

async fn dec_post(
    State(c): St,
    Extension(who): Who,
    Path(master): Path<String>,
    body: Bytes,
) -> Response {
    let ids = match etsi::key_ids_from_body(&body, c.config().limits.max_key_per_request) {
        Ok(r) => r,
        Err(e) => return error_response(e.into()),
    };
    run(c, move |c| c.dec_keys(&who.0, &master, &ids)).await
}

fn body_str(v: &Value, field: &str) -> Result<String, CentreError> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| BadRequest::new(format!("{field} (string) is required")).into())
}

fn parse_body(body: &[u8]) -> Result<Value, CentreError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| {
        BadRequest {
            message: etsi::MSG_MALFORMED.into(),
            details: vec![json!({ "error": e.to_string() })],
        }
        .into()
    })
}

async fn dev_init(State(c): St, Extension(who): Who, body: Bytes) -> Response {
    run(c, move |c| {
        let serial = body_str(&parse_body(&body)?, "serial")?;
        let cred = c.device_init(&who.0, &serial)?;
        Ok(json!({
            "serial": serial,
            "state": "initialised",
            "credential": base64::engine::general_purpose::STANDARD.encode(cred.as_ref()),
        }))
    })
    .await
}

async fn dev_get(State(c): St, Extension(who): Who, Path(serial): Path<String>) -> Response {
    run(c, move |c| c.device_info(&who.0, &serial)).await
}

async fn dev_action(
    State(c): St,
    Extension(who): Who,
    Path((serial, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    run(c, move |c| {
        let v = parse_body(&body)?;
        let op = who.0.as_str();
        match action.as_str() {
            "bind" => c.device_bind(op, &serial, &body_str(&v, "user")?, &body_str(&v, "pin")?),
            "activate" => c.device_activate(op, &serial, &body_str(&v, "pin")?),
            "freeze" => c.device_freeze(op, &serial),
            "unfreeze" => c.device_unfreeze(op, &serial, &body_str(&v, "pin")?),
            "lost" => c.device_lost(op, &serial),
            "destroy" => c.device_destroy(op, &serial),
            other => Err(BadRequest::new(format!("unknown device action {other:?}")).into()),
        }
    })
    .await
}

/// `POST /api/qwave/v1/refills/{refill_ID}/reserve` `{"terminal", "peer", "number"}`: phase 1
/// of a relayed refill (see `Centre::refill_reserve`); `…/confirm`: phase 2.
async fn refill_action(
    State(c): St,
    Extension(who): Who,
    Path((refill_id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    run(c, move |c| {
        let v = parse_body(&body)?;
        match action.as_str() {
            "reserve" => {
                let number = v
                    .get("number")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| BadRequest::new("number (integer) is required"))?;
                let keys = c.refill_reserve(
                    &who.0,
                    &body_str(&v, "terminal")?,
                    &body_str(&v, "peer")?,
                    &refill_id,
                    number,
                )?;
                Ok(serde_json::to_value(keys).map_err(|e| CentreError::Audit(e.to_string()))?)
            }
            "confirm" => Ok(json!({ "released": c.refill_confirm(&who.0, &refill_id)? })),
            other => Err(BadRequest::new(format!("unknown refill action {other:?}")).into()),
        }
    })
    .await
}

async fn audit_verify(State(c): St, Extension(who): Who) -> Response {
    run(c, move |c| {
        if !c.config().operators.contains(&who.0) {
            c.auth_failed(&who.0, "operator-api", "not an operator");
            return Err(CentreError::Unauthorized(format!("{} is not an operator", who.0)));
        }
        let (n, f) = c.audit_verify()?;
        Ok(json!({ "records": n, "findings": f.iter().map(AuditFinding::to_string).collect::<Vec<_>>() }))
    })
    .await
}

fn require_operator(c: &Centre, who: &str) -> Result<(), CentreError> {
    if c.config().operators.contains(who) {
        Ok(())
    } else {
        c.auth_failed(who, "operator-api", "not an operator");
        Err(CentreError::Unauthorized(format!(
            "{who} is not an operator"
        )))
    }
}

async fn pools(State(c): St, Extension(who): Who) -> Response {
    run(c, move |c| {
        require_operator(c, &who.0)?;
        Ok(json!({ "a_percent": c.a_percent()?, "spaces": c.pools()? }))
    })
    .await
}

async fn pools_rebalance(State(c): St, Extension(who): Who) -> Response {
    run(c, move |c| {
        require_operator(c, &who.0)?;
        let transfers = c.rebalance_pools()?;
        Ok(json!({ "transfers": transfers, "spaces": c.pools()? }))
    })
    .await
}

fn str_list(v: &Value, field: &str) -> Result<Vec<String>, CentreError> {
    match v.get(field) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| BadRequest::new(format!("{field} shall list strings")).into())
            })
            .collect(),
        Some(_) => Err(BadRequest::new(format!("{field} shall be an array of strings")).into()),
    }
}

/// `POST /api/qwave/v1/pools/space/sync` (peer SAE): units of its space not yet shared.
async fn space_sync(State(c): St, Extension(who): Who) -> Response {
    run(c, move |c| c.space_sync(&who.0)).await
}

/// `POST /api/qwave/v1/pools/space/ack` `{"units": [IDs], "consumed": [IDs]}` (peer SAE).
async fn space_ack(State(c): St, Extension(who): Who, body: Bytes) -> Response {
    run(c, move |c| {
        let v = parse_body(&body)?;
        let (s, k) =
            c.space_sync_ack(&who.0, &str_list(&v, "units")?, &str_list(&v, "consumed")?)?;
        Ok(json!({ "shared": s, "forgotten": k }))
    })
    .await
}

/// `GET /api/qwave/v1/pools/notices` (peer SAE): its migration notices, encrypted.
async fn notices(State(c): St, Extension(who): Who) -> Response {
    run(c, move |c| c.notices_for(&who.0)).await
}

/// `POST /api/qwave/v1/pools/notices/{id}/ack` (peer SAE).
async fn notice_ack(State(c): St, Extension(who): Who, Path(id): Path<String>) -> Response {
    run(c, move |c| {
        Ok(json!({ "acked": c.notice_ack(&who.0, &id)? }))
    })
    .await
}

/// The centre's routes: ETSI GS QKD 014 under `/api/v1/keys/…`, qwave's
/// operator API under `/api/qwave/v1/…`.
pub fn router(centre: Arc<Centre>) -> Router {
    Router::new()
        .route("/api/v1/keys/{slave}/status", get(status))
        .route("/api/v1/keys/{slave}/enc_keys", get(enc_get).post(enc_post))
        .route(
            "/api/v1/keys/{master}/dec_keys",
            get(dec_get).post(dec_post),
        )
        .route("/api/qwave/v1/devices", post(dev_init))
        .route("/api/qwave/v1/devices/{serial}", get(dev_get))
        .route("/api/qwave/v1/devices/{serial}/{action}", post(dev_action))
        .route("/api/qwave/v1/audit/verify", get(audit_verify))
        .route("/api/qwave/v1/pools", get(pools))
        .route("/api/qwave/v1/pools/rebalance", post(pools_rebalance))
        .route("/api/qwave/v1/pools/space/sync", post(space_sync))
        .route("/api/qwave/v1/pools/space/ack", post(space_ack))
        .route("/api/qwave/v1/pools/notices", get(notices))
        .route("/api/qwave/v1/pools/notices/{id}/ack", post(notice_ack))
        .route(
            "/api/qwave/v1/refills/{refill_id}/{action}",
            post(refill_action),
        )
        .with_state(centre)
}

pub use super::mtls::ServerHandle;

/// Serves `centre` on `listener` with mutual TLS until the handle is shut down. A handshake
/// that fails on the client's certificate is recorded in the audit log.
///
/// # Errors
/// The listener's address cannot be read.
pub fn serve(
    centre: Arc<Centre>,
    tls: rustls::ServerConfig,
    listener: TcpListener,
) -> std::io::Result<ServerHandle> {
    let app = router(centre.clone());
    super::mtls::serve(
        "centre",
        app,
        tls,
        listener,
        |c| sae_id_of(c).map(Caller),
        move |peer, why| centre.auth_failed(&peer, "tls", &why),
    )
}
