//! The base station's side of live refills: after key generation it keeps the session's
//! confirmed physical-layer key and serves the terminal's refill requests ([`serve_refills`]),
//! obtaining keys from the centre as a two-phase commit ([`RefillCentre`]): reserve for the
//! refill ID, send, and confirm only after the terminal acknowledged. Protocol: [`super::wire`].

use std::io::{Read, Write};

use super::relay::{encode_payload, seal};
use super::wire::{self, End, FrameAuth, RefillMsg, WireError};
use super::wrap::{otp_pad_len, WrapKind};
use super::RefillKey;
use crate::centre::service::refill::decode_keys;
use crate::centre::Centre;

/// Keys per chunk on the air (32 KiB of 256-bit keys): the unit of the progress bar.
pub const CHUNK_KEYS: usize = 1024;
/// Largest refill a terminal may ask for (9 MiB, the largest operator volume).
pub const MAX_REFILL_BYTES: u64 = 9 << 20;

/// Errors of the base station's refill service.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    /// The key centre refused or failed (the message is the centre's).
    #[error("key centre: {0}")]
    Centre(String),
    /// The link to the terminal failed.
    #[error("link to the terminal: {0}")]
    Io(#[from] std::io::Error),
    /// A frame failed authentication or decoding.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The terminal broke the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// The centre as the base station sees it: the two phases of a refill.
pub trait RefillCentre {
    /// Bytes per key.
    fn key_bytes(&self) -> usize;
    /// Reserves (or, on retry, reads back) `number` keys of `terminal` shared with `peer` for
    /// refill `refill_id`.
    ///
    /// # Errors
    /// [`StationError::Centre`] with the centre's reason.
    fn reserve(
        &self,
        terminal: &str,
        peer: &str,
        refill_id: &[u8; 16],
        number: u32,
    ) -> Result<Vec<RefillKey>, StationError>;
    /// Drops the reservation after the terminal acknowledged; returns keys released.
    ///
    /// # Errors
    /// [`StationError::Centre`].
    fn confirm(&self, refill_id: &[u8; 16]) -> Result<u64, StationError>;
}

/// An in-process centre, the base station acting as SAE `station`.
pub struct LocalCentre<'a> {
    /// The centre.
    pub centre: &'a Centre,
    /// The base station's SAE ID.
    pub station: String,
}

impl RefillCentre for LocalCentre<'_> {
    fn key_bytes(&self) -> usize {
        (self.centre.config().limits.key_size / 8) as usize
    }

    fn reserve(
        &self,
        terminal: &str,
        peer: &str,
        refill_id: &[u8; 16],
        number: u32,
    ) -> Result<Vec<RefillKey>, StationError> {
        let c = self
            .centre
            .refill_reserve(
                &self.station,
                terminal,
                peer,
                &hex::encode(refill_id),
                number,
            )
            .map_err(|e| StationError::Centre(e.to_string()))?;
        decode_keys(c).map_err(|e| StationError::Centre(e.to_string()))
    }

    fn confirm(&self, refill_id: &[u8; 16]) -> Result<u64, StationError> {
        self.centre
            .refill_confirm(&self.station, &hex::encode(refill_id))
            .map_err(|e| StationError::Centre(e.to_string()))
    }
}

/// The centre over its HTTPS API (mutual TLS; the base station's certificate names its SAE ID).
pub struct RemoteCentre {
    client: crate::centre::client::CentreClient,
    rt: tokio::runtime::Runtime,
    key_bytes: usize,
}

impl RemoteCentre {
    /// A remote centre reached with `client`, whose keys are `key_bytes` long.
    ///
    /// # Errors
    /// [`StationError::Io`] if no async runtime can be built.
    pub fn new(
        client: crate::centre::client::CentreClient,
        key_bytes: usize,
    ) -> Result<Self, StationError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            client,
            rt,
            key_bytes,
        })
    }

    fn call(&self, path: &str, body: &serde_json::Value) -> Result<Vec<u8>, StationError> {
        let body = body.to_string();
        let reply = self
            .rt
            .block_on(self.client.request("POST", path, Some(body.as_bytes())))
            .map_err(|e| StationError::Centre(e.to_string()))?;
        if reply.status != 200 {
            return Err(StationError::Centre(format!(
                "HTTP {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            )));
        }
        Ok(reply.body)
    }
}

impl RefillCentre for RemoteCentre {
    fn key_bytes(&self) -> usize {
        self.key_bytes
    }

    fn reserve(
        &self,
        terminal: &str,
        peer: &str,
        refill_id: &[u8; 16],
        number: u32,
    ) -> Result<Vec<RefillKey>, StationError> {
        let body = self.call(
            &format!("/api/qwave/v1/refills/{}/reserve", hex::encode(refill_id)),
            &serde_json::json!({ "terminal": terminal, "peer": peer, "number": number }),
        )?;
        let c: crate::centre::etsi::KeyContainer = serde_json::from_slice(&body)
            .map_err(|e| StationError::Centre(format!("reserve reply: {e}")))?;
        let keys = decode_keys(c).map_err(|e| StationError::Centre(e.to_string()))?;
        if keys.len() != number as usize || keys.iter().any(|k| k.key.len() != self.key_bytes) {
            return Err(StationError::Centre(format!(
                "reserve returned {} keys, {number} of {} bytes expected",
                keys.len(),
                self.key_bytes
            )));
        }
        Ok(keys)
    }

    fn confirm(&self, refill_id: &[u8; 16]) -> Result<u64, StationError> {
        let body = self.call(
            &format!("/api/qwave/v1/refills/{}/confirm", hex::encode(refill_id)),
            &serde_json::json!({}),
        )?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| StationError::Centre(format!("confirm reply: {e}")))?;
        v.get("released")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| StationError::Centre("confirm reply without `released`".into()))
    }
}

/// What one refill session served.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StationSummary {
    /// Refills whose chunks were sent.
    pub sent: usize,
    /// Refills the terminal acknowledged and the centre confirmed.
    pub confirmed: usize,
    /// Requests refused (reason sent to the terminal).
    pub refused: usize,
}

/// Pad bookkeeping for `otp` within one session: each chunk takes fresh physical-layer key.
pub(crate) struct PadCursor {
    pub(crate) used: usize,
}

impl PadCursor {
    /// Physical-layer key the next seal under `wrap` of `payload_len` bytes uses, advancing the
    /// cursor for `otp`.
    pub(crate) fn next<'k>(
        &mut self,
        wrap: WrapKind,
        key: &'k [u8],
        payload_len: usize,
    ) -> &'k [u8] {
        match wrap {
            WrapKind::AesKw => key,
            WrapKind::Otp => {
                let from = self.used.min(key.len());
                self.used = self.used.saturating_add(otp_pad_len(payload_len));
                &key[from..]
            }
        }
    }
}

fn send<S: Write>(conn: &mut S, auth: &mut FrameAuth, m: &RefillMsg) -> Result<(), StationError> {
    wire::write_frame(conn, &auth.seal(m))?;
    Ok(())
}

/// Serves refill requests from the terminal `terminal` over `conn` (already connected, after
/// key generation) under the confirmed `physical_key`, until the terminal closes the link.
/// A request the centre cannot serve is answered with `Refused` and the session goes on.
///
/// # Errors
/// Link failures, a frame that fails authentication, a protocol violation; reservations made
/// so far stay in the centre and a retry with the same refill ID gets the same keys.
pub fn serve_refills<S: Read + Write>(
    conn: &mut S,
    physical_key: &[u8],
    centre: &dyn RefillCentre,
    terminal: &str,
    log: &dyn Fn(&str),
) -> Result<StationSummary, StationError> {
    let mut auth = FrameAuth::new(physical_key, End::Station);
    let mut pad = PadCursor { used: 0 };
    let mut sum = StationSummary::default();
    let key_bytes = centre.key_bytes().max(1);
    while let Some(frame) = wire::read_frame(conn)? {
        match auth.open(&frame)? {
            RefillMsg::Request {
                id,
                peer,
                bytes,
                wrap,
            } => {
                let refuse = |reason: String| RefillMsg::Refused { id, reason };
                if bytes == 0 || bytes > MAX_REFILL_BYTES || bytes % key_bytes as u64 != 0 {
                    sum.refused += 1;
                    let m = refuse(format!(
                        "{bytes} bytes is not a whole number of {key_bytes}-byte keys up to {MAX_REFILL_BYTES}"
                    ));
                    send(conn, &mut auth, &m)?;
                    continue;
                }
                let number = (bytes / key_bytes as u64) as u32;
                let keys = match centre.reserve(terminal, &peer, &id, number) {
                    Ok(k) => k,
                    Err(e) => {
                        sum.refused += 1;
                        log(&format!("refill {} refused: {e}", hex::encode(id)));
                        send(conn, &mut auth, &refuse(e.to_string()))?;
                        continue;
                    }
                };
                let chunks: Vec<&[RefillKey]> = keys.chunks(CHUNK_KEYS).collect();
                let total = chunks.len() as u32;
                let mut sealed_all = Vec::with_capacity(chunks.len());
                let mut failure = None;
                for chunk in &chunks {
                    let payload =
                        encode_payload(chunk).map_err(|e| StationError::Centre(e.to_string()))?;
                    let k = pad.next(wrap, physical_key, payload.len());
                    match seal(wrap, k, &id, &payload) {
                        Ok(s) => sealed_all.push(s),
                        Err(e) => {
                            failure = Some(e.to_string());
                            break;
                        }
                    }
                }
                if let Some(why) = failure {
                    sum.refused += 1;
                    send(conn, &mut auth, &refuse(why))?;
                    continue;
                }
                for (index, sealed) in sealed_all.into_iter().enumerate() {
                    let m = RefillMsg::Chunk {
                        id,
                        index: index as u32,
                        total,
                        sealed,
                    };
                    send(conn, &mut auth, &m)?;
                }
                sum.sent += 1;
                log(&format!(
                    "refill {}: {} keys for {terminal} shared with {peer} sent in {total} chunks",
                    hex::encode(id),
                    keys.len()
                ));
            }
            RefillMsg::Ack { id } => {
                let n = centre.confirm(&id)?;
                sum.confirmed += 1;
                log(&format!(
                    "refill {} acknowledged; centre released {n} reserved keys",
                    hex::encode(id)
                ));
                send(conn, &mut auth, &RefillMsg::Confirmed { id })?;
            }
            other => {
                return Err(StationError::Protocol(format!(
                    "unexpected {} from the terminal",
                    crate::terminal::client::msg_name(&other)
                )))
            }
        }
    }
    Ok(sum)
}
