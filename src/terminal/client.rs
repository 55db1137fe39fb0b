//! The terminal's side of a live refill over the session link to its base station
//! (protocol: [`crate::refill::wire`]).
//!
//! Exactly once: the refill ID is recorded in the store before the request and reused by every
//! retry; the keys are stored in one transaction that is a no-op for a refill already stored;
//! only then is the refill acknowledged. A refill that was stored but whose confirmation was lost
//! is finished by sending the acknowledgement alone.

use std::io::{Read, Write};

use crate::refill::relay::{decode_payload, open};
use crate::refill::station::PadCursor;
use crate::refill::wire::{self, End, FrameAuth, RefillMsg, WireError};
use crate::refill::{RefillError, WrapKind};

use super::store::{Applied, RefillState, StoreError, TerminalStore};

/// Errors of the terminal's refill client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The link to the base station failed or closed early (retry later: same refill ID).
    #[error("link to the base station: {0}")]
    Io(#[from] std::io::Error),
    /// A frame failed authentication or decoding.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The base station refused (e.g. the centre's pool is short).
    #[error("base station refused refill {id}: {reason}")]
    Refused {
        /// Refill ID (hex).
        id: String,
        /// Its reason.
        reason: String,
    },
    /// Unwrapping or parsing the keys failed.
    #[error(transparent)]
    Refill(#[from] RefillError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The base station broke the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// What [`refill`] did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RefillReport {
    /// Refill ID (hex).
    pub refill_id: String,
    /// Peer SAE.
    pub peer: String,
    /// Keys stored by this call (0 when a retry found the refill already stored).
    pub keys_stored: usize,
    /// Bytes of the refill.
    pub bytes: u64,
    /// Bytes that crossed the air (sealed chunks).
    pub wrapped_bytes: u64,
    /// The refill had been stored before (a retry that only re-acknowledged).
    pub already_stored: bool,
}

fn send<S: Write>(conn: &mut S, auth: &mut FrameAuth, m: &RefillMsg) -> Result<(), ClientError> {
    wire::write_frame(conn, &auth.seal(m))?;
    Ok(())
}

fn recv<S: Read>(conn: &mut S, auth: &mut FrameAuth) -> Result<RefillMsg, ClientError> {
    let f = wire::read_frame(conn)?.ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the base station closed the link",
        )
    })?;
    Ok(auth.open(&f)?)
}

/// Asks the base station over `conn` for `bytes` bytes of keys shared with `peer`, stores them
/// and acknowledges. If the store holds an unfinished refill for `peer`, that one (its ID and
/// volume) is retried instead. `progress(done, total)` is called per chunk received.
///
/// # Errors
/// Link, authentication, unwrap, store errors, or the base station's refusal; the store is
/// unchanged unless the keys were stored whole.
pub fn refill<S: Read + Write>(
    conn: &mut S,
    physical_key: &[u8],
    store: &mut TerminalStore,
    peer: &str,
    bytes: u64,
    wrap: WrapKind,
    progress: &mut dyn FnMut(u32, u32),
) -> Result<RefillReport, ClientError> {
    let mut auth = FrameAuth::new(physical_key, End::Terminal);
    let rec = store.begin_refill(peer, bytes)?;
    let id = rec.refill_id;
    let hex_id = hex::encode(id);
    let mut report = RefillReport {
        refill_id: hex_id.clone(),
        peer: peer.to_owned(),
        keys_stored: 0,
        bytes: rec.bytes,
        wrapped_bytes: 0,
        already_stored: rec.state != RefillState::Requested,
    };
    if rec.state == RefillState::Requested {
        send(
            conn,
            &mut auth,
            &RefillMsg::Request {
                id,
                peer: peer.to_owned(),
                bytes: rec.bytes,
                wrap,
            },
        )?;
        let mut pad = PadCursor { used: 0 };
        let mut keys = Vec::new();
        let mut expected_total = None;
        let mut next = 0u32;
        loop {
            match recv(conn, &mut auth)? {
                RefillMsg::Refused { id: rid, reason } if rid == id => {
                    store.abandon_refill(&id)?;
                    return Err(ClientError::Refused { id: hex_id, reason });
                }
                RefillMsg::Chunk {
                    id: rid,
                    index,
                    total,
                    sealed,
                } if rid == id => {
                    if index != next || total == 0 || expected_total.is_some_and(|t| t != total) {
                        return Err(ClientError::Protocol(format!(
                            "chunk {index} of {total} out of order (expected {next})"
                        )));
                    }
                    expected_total = Some(total);
                    let plain_len = match wrap {
                        WrapKind::AesKw => 0,
                        WrapKind::Otp => sealed
                            .len()
                            .saturating_sub(crate::refill::wrap::OTP_TAG_BYTES),
                    };
                    let k = pad.next(wrap, physical_key, plain_len);
                    let payload = open(wrap, k, &id, &sealed)?;
                    keys.extend(decode_payload(&payload)?);
                    report.wrapped_bytes += sealed.len() as u64;
                    next += 1;
                    progress(next, total);
                    if next == total {
                        break;
                    }
                }
                other => {
                    return Err(ClientError::Protocol(format!(
                        "unexpected {} while receiving refill {hex_id}",
                        msg_name(&other)
                    )))
                }
            }
        }
        let got: u64 = keys.iter().map(|k| k.key.len() as u64).sum();
        if got != rec.bytes {
            return Err(ClientError::Protocol(format!(
                "refill {hex_id} carried {got} bytes, {} requested",
                rec.bytes
            )));
        }
        match store.apply_refill(&id, peer, &keys)? {
            Applied::Stored(n) => report.keys_stored = n,
            Applied::Already => report.already_stored = true,
        }
    }
    send(conn, &mut auth, &RefillMsg::Ack { id })?;
    match recv(conn, &mut auth)? {
        RefillMsg::Confirmed { id: rid } if rid == id => {
            store.mark_confirmed(&id)?;
        }
        RefillMsg::Refused { reason, .. } => {
            return Err(ClientError::Refused { id: hex_id, reason })
        }
        other => {
            return Err(ClientError::Protocol(format!(
                "expected the confirmation of {hex_id}, got {}",
                msg_name(&other)
            )))
        }
    }
    Ok(report)
}

pub(crate) fn msg_name(m: &RefillMsg) -> &'static str {
    match m {
        RefillMsg::Request { .. } => "Request",
        RefillMsg::Chunk { .. } => "Chunk",
        RefillMsg::Ack { .. } => "Ack",
        RefillMsg::Confirmed { .. } => "Confirmed",
        RefillMsg::Refused { .. } => "Refused",
    }
}
