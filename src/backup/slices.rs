//! Backup slices: the AONT package of a secret, cut into `k` data shards and extended with
//! `n − k` Reed–Solomon parity shards over GF(2⁸) (crate `reed-solomon-erasure`; Reed & Solomon,
//! J. SIAM 8, 1960), so that any `k` slices restore the secret and fewer give nothing useful
//! (the package transform hides everything until the whole package is back).
//!
//! Slice file format (all integers big-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `QWBS` |
//! | 1 | version (1) |
//! | 1, 1, 1 | n, k, slice index |
//! | 16 | backup ID (random) |
//! | 4 | package length |
//! | 4 | shard length |
//! | shard length | shard |
//! | 32 | SHA3-256 of everything above (detects a corrupted slice) |

use reed_solomon_erasure::galois_8::ReedSolomon;
use sha3::{Digest, Sha3_256};
use zeroize::Zeroizing;

use super::aont;
use super::BackupError;

const MAGIC: &[u8; 4] = b"QWBS";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 3 + 16 + 4 + 4;
const TAG_LEN: usize = 32;
/// Largest supported slice count (GF(2⁸) Reed–Solomon).
pub const MAX_SLICES: usize = 255;

/// One backup slice.
#[derive(Clone, PartialEq, Eq)]
pub struct Slice {
    /// Total slices.
    pub n: u8,
    /// Slices needed to restore.
    pub k: u8,
    /// This slice's index (`0..n`).
    pub index: u8,
    /// Random ID shared by the slices of one backup.
    pub backup_id: [u8; 16],
    /// Length of the AONT package.
    pub package_len: u32,
    /// The shard.
    pub shard: Vec<u8>,
}

impl std::fmt::Debug for Slice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slice")
            .field("n", &self.n)
            .field("k", &self.k)
            .field("index", &self.index)
            .field("shard_len", &self.shard.len())
            .finish_non_exhaustive()
    }
}

impl Slice {
    /// Serialises the slice with its integrity tag.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.shard.len() + TAG_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[VERSION, self.n, self.k, self.index]);
        out.extend_from_slice(&self.backup_id);
        out.extend_from_slice(&self.package_len.to_be_bytes());
        out.extend_from_slice(&(self.shard.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.shard);
        let tag = Sha3_256::digest(&out);
        out.extend_from_slice(&tag);
        out
    }

    /// Parses and checks a slice file.
    ///
    /// # Errors
    /// [`BackupError::BadSlice`] naming the problem (magic, version, truncation, parameters,
    /// lengths) or [`BackupError::CorruptSlice`] if the integrity tag does not match.
    pub fn decode(bytes: &[u8]) -> Result<Slice, BackupError> {
        let bad = |why: &'static str| BackupError::BadSlice(why);
        if bytes.len() < HEADER_LEN + TAG_LEN {
            return Err(bad("shorter than a slice header"));
        }
        if &bytes[..4] != MAGIC {
            return Err(bad("not a qwave backup slice (magic)"));
        }
        if bytes[4] != VERSION {
            return Err(bad("unsupported slice version"));
        }
        let (n, k, index) = (bytes[5], bytes[6], bytes[7]);
        if k == 0 || k >= n || index >= n {
            return Err(bad("inconsistent n, k or index"));
        }
        let mut backup_id = [0u8; 16];
        backup_id.copy_from_slice(&bytes[8..24]);
        let package_len = u32::from_be_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
        let shard_len = u32::from_be_bytes([bytes[28], bytes[29], bytes[30], bytes[31]]) as usize;
        if bytes.len() != HEADER_LEN + shard_len + TAG_LEN {
            return Err(bad("length does not match the shard length"));
        }
        if (package_len as usize).div_ceil(k as usize) != shard_len {
            return Err(bad("shard length does not match the package length"));
        }
        let (body, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        if Sha3_256::digest(body).as_slice() != tag {
            return Err(BackupError::CorruptSlice { index });
        }
        Ok(Slice {
            n,
            k,
            index,
            backup_id,
            package_len,
            shard: body[HEADER_LEN..].to_vec(),
        })
    }
}

/// Splits `secret` into `n` slices of which any `k` restore it (`1 ≤ k < n ≤ 255`).
///
/// # Errors
/// [`BackupError::BadParameters`] for impossible `n`, `k` or an empty secret.
pub fn split(secret: &[u8], n: usize, k: usize) -> Result<Vec<Slice>, BackupError> {
    if secret.is_empty() || k == 0 || k >= n || n > MAX_SLICES {
        return Err(BackupError::BadParameters(format!(
            "need 1 ≤ k < n ≤ {MAX_SLICES} and a non-empty secret (n = {n}, k = {k}, {} bytes)",
            secret.len()
        )));
    }
    let mut package_key = Zeroizing::new([0u8; 32]);
    getrandom::fill(package_key.as_mut_slice()).expect("the OS CSPRNG is available");
    let mut backup_id = [0u8; 16];
    getrandom::fill(&mut backup_id).expect("the OS CSPRNG is available");
    let pkg = aont::package(secret, &package_key);
    let shard_len = pkg.len().div_ceil(k);
    let mut shards: Vec<Vec<u8>> = (0..n).map(|_| vec![0u8; shard_len]).collect();
    for (i, chunk) in pkg.chunks(shard_len).enumerate() {
        shards[i][..chunk.len()].copy_from_slice(chunk);
    }
    let rs = ReedSolomon::new(k, n - k).map_err(|e| BackupError::BadParameters(e.to_string()))?;
    rs.encode(&mut shards)
        .map_err(|e| BackupError::BadParameters(e.to_string()))?;
    Ok(shards
        .into_iter()
        .enumerate()
        .map(|(i, shard)| Slice {
            n: n as u8,
            k: k as u8,
            index: i as u8,
            backup_id,
            package_len: pkg.len() as u32,
            shard,
        })
        .collect())
}

/// Restores the secret from at least `k` slices of one backup (duplicates are ignored).
///
/// # Errors
/// [`BackupError::Mixed`] if the slices come from different backups,
/// [`BackupError::NotEnough`] with fewer than `k` distinct slices,
/// [`BackupError::Corrupt`] if the reconstructed package fails its check.
pub fn restore(slices: &[Slice]) -> Result<Zeroizing<Vec<u8>>, BackupError> {
    let first = slices
        .first()
        .ok_or(BackupError::NotEnough { have: 0, need: 1 })?;
    let (n, k) = (first.n as usize, first.k as usize);
    if slices.iter().any(|s| {
        s.backup_id != first.backup_id
            || s.n != first.n
            || s.k != first.k
            || s.package_len != first.package_len
            || s.shard.len() != first.shard.len()
    }) {
        return Err(BackupError::Mixed);
    }
    let mut shards: Vec<Option<Vec<u8>>> = vec![None; n];
    for s in slices {
        shards[s.index as usize] = Some(s.shard.clone());
    }
    let have = shards.iter().filter(|s| s.is_some()).count();
    if have < k {
        return Err(BackupError::NotEnough { have, need: k });
    }
    let rs = ReedSolomon::new(k, n - k).map_err(|e| BackupError::BadParameters(e.to_string()))?;
    rs.reconstruct_data(&mut shards)
        .map_err(|_| BackupError::Corrupt)?;
    let mut pkg = Zeroizing::new(Vec::with_capacity(first.package_len as usize));
    for s in shards.iter().take(k).flatten() {
        pkg.extend_from_slice(s);
    }
    for s in shards.iter_mut().flatten() {
        zeroize::Zeroize::zeroize(s);
    }
    pkg.truncate(first.package_len as usize);
    aont::unpackage(&pkg).ok_or(BackupError::Corrupt)
}
