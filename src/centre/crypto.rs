//! Key material at rest: XChaCha20-Poly1305 (RFC 8439 AEAD with the extended
//! 192-bit nonce of draft-irtf-cfrg-xchacha) under a 256-bit master key that
//! lives in its own file (mode 0600), never in the database.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// Errors of the at-rest encryption layer.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The master key file could not be read or written.
    #[error("master key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The master key file does not hold exactly 32 bytes.
    #[error("master key file {0}: expected 32 bytes")]
    BadLength(PathBuf),
    /// A sealed blob failed authentication (tampered, truncated or wrong key).
    #[error("sealed key material failed authentication")]
    Unseal,
    /// The OS random number generator failed.
    #[error("OS random number generator: {0}")]
    Rng(String),
}

const NONCE_LEN: usize = 24;

/// The 256-bit master key that seals every key at rest.
pub struct MasterKey {
    aead: XChaCha20Poly1305,
}

impl MasterKey {
    /// Reads the master key from `path` (32 raw bytes).
    ///
    /// # Errors
    /// [`CryptoError::Io`] or [`CryptoError::BadLength`].
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| CryptoError::Io {
            path: path.to_owned(),
            source,
        })?);
        let key: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadLength(path.to_owned()))?;
        Ok(Self::from_bytes(key))
    }

    /// Creates a fresh random master key at `path` with mode 0600 (fails if it exists).
    ///
    /// # Errors
    /// [`CryptoError::Io`] (including "already exists") or [`CryptoError::Rng`].
    pub fn create(path: &Path) -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|e| CryptoError::Rng(e.to_string()))?;
        write_private(path, key.as_ref()).map_err(|source| CryptoError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::from_bytes(&key))
    }

    /// A master key from raw bytes (tests).
    pub fn from_bytes(key: &[u8; 32]) -> Self {
        Self {
            aead: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Seals `plain` bound to `aad` (the row's identity): `nonce ‖ ciphertext ‖ tag`.
    ///
    /// # Errors
    /// [`CryptoError::Rng`] when no nonce can be drawn.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| CryptoError::Rng(e.to_string()))?;
        let ct = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| CryptoError::Unseal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a blob made by [`MasterKey::seal`] with the same `aad`.
    ///
    /// # Errors
    /// [`CryptoError::Unseal`] when the blob is short, altered, moved to another row or sealed under another key.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Unseal);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.aead
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Unseal)
    }
}

/// Writes a new file readable by its owner only (0600 on Unix); fails if it exists.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Fresh random bytes from the OS CSPRNG.
///
/// # Errors
/// [`CryptoError::Rng`].
pub fn random_bytes(out: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(out).map_err(|e| CryptoError::Rng(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_aad_binding() {
        let k = MasterKey::from_bytes(&[7u8; 32]);
        let s = k.seal(b"row-1", b"secret").unwrap();
        assert_eq!(k.open(b"row-1", &s).unwrap().as_slice(), b"secret");
        assert!(matches!(k.open(b"row-2", &s), Err(CryptoError::Unseal)));
        let mut t = s.clone();
        t[30] ^= 1;
        assert!(matches!(k.open(b"row-1", &t), Err(CryptoError::Unseal)));
        let other = MasterKey::from_bytes(&[8u8; 32]);
        assert!(matches!(other.open(b"row-1", &s), Err(CryptoError::Unseal)));
        assert!(!s.windows(6).any(|w| w == b"secret"));
    }
}
