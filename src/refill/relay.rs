//! A refill relayed by the base station: keys obtained from the key centre with ETSI 014
//! `enc_keys` (the terminal as master, the named peer as slave), wrapped under the
//! physical-layer key, unwrapped by the terminal, and checked against the copies the peer fetches
//! with `dec_keys`.
//!
//! Payload format inside the wrap: per key, a 36-byte key ID (UUID text), a u16 big-endian key
//! length and the key bytes.

use base64::Engine as _;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::wrap::{
    derive_kek, otp_open, otp_pad_len, otp_seal, unwrap_aes_kw, wrap_aes_kw, WrapError, WrapKind,
};
use crate::centre::etsi::KeyRequest;
use crate::centre::Centre;

/// Errors of a relayed refill.
#[derive(Debug, thiserror::Error)]
pub enum RefillError {
    /// The key centre refused or failed.
    #[error("key centre: {0}")]
    Centre(String),
    /// Wrapping or unwrapping failed.
    #[error(transparent)]
    Wrap(#[from] WrapError),
    /// The unwrapped payload does not parse.
    #[error("refill payload malformed: {0}")]
    Malformed(&'static str),
    /// The requested volume is not a whole number of keys.
    #[error("refill of {bytes} bytes is not a multiple of the {key_bytes}-byte key size")]
    Volume {
        /// Requested bytes.
        bytes: usize,
        /// Key size in bytes.
        key_bytes: usize,
    },
}

/// One delivered key: its ETSI key ID and material.
pub struct RefillKey {
    /// ETSI 014 key ID.
    pub key_id: String,
    /// Key material (zeroized on drop).
    pub key: Zeroizing<Vec<u8>>,
}

/// What a relayed refill did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefillOutcome {
    /// Bytes of key delivered to the terminal.
    pub bytes: u64,
    /// Keys delivered.
    pub keys: usize,
    /// Bytes that crossed the air (wrapped).
    pub wrapped_bytes: u64,
    /// Protection used.
    pub wrap: WrapKind,
    /// The peer's `dec_keys` copies equal the terminal's unwrapped keys.
    pub verified: bool,
}

/// Encodes keys as a refill payload (36-byte key ID, u16 length, key bytes per key).
///
/// # Errors
/// [`RefillError::Malformed`] for a key ID that is not a 36-character UUID.
pub fn encode_payload(keys: &[RefillKey]) -> Result<Zeroizing<Vec<u8>>, RefillError> {
    let mut out = Zeroizing::new(Vec::new());
    for k in keys {
        if k.key_id.len() != 36 {
            return Err(RefillError::Malformed("key ID is not a 36-character UUID"));
        }
        out.extend_from_slice(k.key_id.as_bytes());
        out.extend_from_slice(&(k.key.len() as u16).to_be_bytes());
        out.extend_from_slice(&k.key);
    }
    Ok(out)
}

/// Parses a refill payload (the terminal's side; input is authenticated but checked anyway).
///
/// # Errors
/// [`RefillError::Malformed`] on truncation or a non-UTF-8 key ID.
pub fn decode_payload(mut bytes: &[u8]) -> Result<Vec<RefillKey>, RefillError> {
    let mut keys = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 38 {
            return Err(RefillError::Malformed("truncated key header"));
        }
        let key_id = std::str::from_utf8(&bytes[..36])
            .map_err(|_| RefillError::Malformed("key ID is not UTF-8"))?
            .to_owned();
        let len = u16::from_be_bytes([bytes[36], bytes[37]]) as usize;
        let rest = &bytes[38..];
        if rest.len() < len {
            return Err(RefillError::Malformed("truncated key"));
        }
        keys.push(RefillKey {
            key_id,
            key: Zeroizing::new(rest[..len].to_vec()),
        });
        bytes = &rest[len..];
    }
    Ok(keys)
}

/// Wraps a refill payload for the air: AES-KWP under the KEK of `refill_id`, or a one-time pad
/// taken from `physical_key` (which must then hold [`otp_pad_len`] bytes).
///
/// # Errors
/// Wrapping errors, e.g. too little physical-layer key for `otp`.
pub fn seal(
    wrap: WrapKind,
    physical_key: &[u8],
    refill_id: &[u8; 16],
    payload: &[u8],
) -> Result<Vec<u8>, RefillError> {
    Ok(match wrap {
        WrapKind::AesKw => wrap_aes_kw(&derive_kek(physical_key, refill_id), payload)?,
        WrapKind::Otp => {
            let need = otp_pad_len(payload.len());
            let pad = physical_key.get(..need).ok_or(WrapError::PadTooShort {
                needed: need,
                available: physical_key.len(),
            })?;
            otp_seal(pad, payload)?
        }
    })
}

/// Inverse of [`seal`] (the terminal's side).
///
/// # Errors
/// [`WrapError::Integrity`] for a modified or wrongly keyed refill.
pub fn open(
    wrap: WrapKind,
    physical_key: &[u8],
    refill_id: &[u8; 16],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, RefillError> {
    Ok(match wrap {
        WrapKind::AesKw => unwrap_aes_kw(&derive_kek(physical_key, refill_id), sealed)?,
        WrapKind::Otp => {
            let need = otp_pad_len(sealed.len().saturating_sub(super::wrap::OTP_TAG_BYTES));
            let pad = physical_key.get(..need).ok_or(WrapError::PadTooShort {
                needed: need,
                available: physical_key.len(),
            })?;
            otp_open(pad, sealed)?
        }
    })
}

/// Runs one refill of `bytes` bytes through `centre`: the base station fetches keys with
/// `enc_keys` for `terminal` (master) shared with `peer` (slave), seals them for the air under
/// its copy of the physical-layer key (`station_key`), the terminal opens them with its copy
/// (`terminal_key`), and the peer's `dec_keys` copies are compared with the terminal's in
/// constant time. Returns the terminal's keys and the outcome.
///
/// # Errors
/// Centre refusals (e.g. 503 when its pool is short), wrapping errors, a volume that is not a
/// whole number of keys.
pub fn relay_refill(
    centre: &Centre,
    terminal: &str,
    peer: &str,
    bytes: usize,
    wrap: WrapKind,
    station_key: &[u8],
    terminal_key: &[u8],
) -> Result<(Vec<RefillKey>, RefillOutcome), RefillError> {
    let limits = &centre.config().limits;
    let key_bytes = (limits.key_size / 8) as usize;
    if key_bytes == 0 || bytes == 0 || !bytes.is_multiple_of(key_bytes) {
        return Err(RefillError::Volume { bytes, key_bytes });
    }
    let total = bytes / key_bytes;
    let per_request = (limits.max_key_per_request as usize).max(1);
    let b64 = base64::engine::general_purpose::STANDARD;
    // Base station: enc_keys on the terminal's behalf.
    let mut fetched = Vec::with_capacity(total);
    while fetched.len() < total {
        let number = per_request.min(total - fetched.len()) as u32;
        let req = KeyRequest {
            number,
            size: limits.key_size,
            additional_slaves: Vec::new(),
        };
        let c = centre
            .enc_keys(terminal, peer, &req)
            .map_err(|e| RefillError::Centre(e.to_string()))?;
        for k in c.keys {
            let key = Zeroizing::new(
                b64.decode(k.key.as_bytes())
                    .map_err(|_| RefillError::Malformed("centre key is not base64"))?,
            );
            fetched.push(RefillKey {
                key_id: k.key_id,
                key,
            });
        }
    }
    let payload = encode_payload(&fetched)?;
    drop(fetched);
    let mut refill_id = [0u8; 16];
    getrandom::fill(&mut refill_id).expect("the OS CSPRNG is available");
    let on_air = seal(wrap, station_key, &refill_id, &payload)?;
    drop(payload);
    // Terminal: unwrap and parse.
    let opened = open(wrap, terminal_key, &refill_id, &on_air)?;
    let terminal_keys = decode_payload(&opened)?;
    // Peer: fetch its copies with dec_keys and compare.
    let mut verified = terminal_keys.len() == total;
    for chunk in terminal_keys.chunks(per_request) {
        let ids: Vec<String> = chunk.iter().map(|k| k.key_id.clone()).collect();
        let c = centre
            .dec_keys(peer, terminal, &ids)
            .map_err(|e| RefillError::Centre(e.to_string()))?;
        verified &= c.keys.len() == chunk.len();
        for (mine, theirs) in chunk.iter().zip(&c.keys) {
            let theirs_key = Zeroizing::new(
                b64.decode(theirs.key.as_bytes())
                    .map_err(|_| RefillError::Malformed("centre key is not base64"))?,
            );
            verified &= mine.key_id == theirs.key_id && bool::from(mine.key.ct_eq(&theirs_key));
        }
    }
    let outcome = RefillOutcome {
        bytes: (terminal_keys.len() * key_bytes) as u64,
        keys: terminal_keys.len(),
        wrapped_bytes: on_air.len() as u64,
        wrap,
        verified,
    };
    Ok((terminal_keys, outcome))
}

/// An in-process key centre for demos and tests: SQLite in `dir`, a fresh master key, the two
/// SAEs registered, and its pool filled with `pool_bytes` from the OS CSPRNG (source `csprng`,
/// which is not quantum).
///
/// # Errors
/// Store or centre errors.
pub fn local_centre(
    dir: &std::path::Path,
    saes: &[&str],
    pool_bytes: usize,
) -> Result<Centre, RefillError> {
    use crate::centre::crypto::MasterKey;
    use crate::centre::store::open_store;
    use crate::centre::CentreConfig;
    let centre_err = |e: &dyn std::fmt::Display| RefillError::Centre(e.to_string());
    let store = open_store(&format!("sqlite://{}", dir.join("centre.db").display()))
        .map_err(|e| centre_err(&e))?;
    let mut master = Zeroizing::new([0u8; 32]);
    getrandom::fill(master.as_mut_slice()).expect("the OS CSPRNG is available");
    let cfg = CentreConfig {
        known_saes: saes.iter().map(|s| (*s).to_owned()).collect(),
        max_key_count: (pool_bytes / 32) as u64 + 1,
        ..CentreConfig::default()
    };
    let centre = Centre::new(cfg, store, MasterKey::from_bytes(&master));
    let mut pool = Zeroizing::new(vec![0u8; pool_bytes]);
    getrandom::fill(pool.as_mut_slice()).expect("the OS CSPRNG is available");
    centre
        .fill_pool(&pool, "csprng")
        .map_err(|e| centre_err(&e))?;
    Ok(centre)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip_and_truncation() {
        let keys = vec![
            RefillKey {
                key_id: "123e4567-e89b-12d3-a456-426614174000".into(),
                key: Zeroizing::new(vec![7u8; 32]),
            },
            RefillKey {
                key_id: "123e4567-e89b-12d3-a456-426614174001".into(),
                key: Zeroizing::new(vec![9u8; 16]),
            },
        ];
        let p = encode_payload(&keys).unwrap();
        let back = decode_payload(&p).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].key_id, keys[1].key_id);
        assert_eq!(back[1].key.as_slice(), keys[1].key.as_slice());
        for cut in [1, 37, 40, p.len() - 1] {
            assert!(decode_payload(&p[..cut]).is_err(), "cut {cut}");
        }
    }
}
