//! Key sources behind one trait, and the background filler that keeps the
//! pool at `max_key_count`.
//!
//! * [`Csprng`] (`csprng`): the operating system's CSPRNG. **Not quantum**:
//!   for development and labs without a QRNG or QKD link.
//! * [`FileSource`] (`file:PATH`): key files written by a QRNG or QKD device;
//!   each byte is used once (files in a directory are removed after reading,
//!   a single file is truncated).
//! * [`EtsiUpstream`] (`etsi:HOST:PORT/SLAVE_SAE_ID`): pulls keys from an
//!   upstream ETSI GS QKD 014 KME of a real QKD network, as a master SAE.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::client::{CentreClient, ClientError};
use super::etsi::KeyContainer;
use super::service::{Centre, CentreError};

/// Key source errors.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The OS random generator failed.
    #[error("csprng: {0}")]
    Rng(String),
    /// Reading key files failed.
    #[error("key file {path}: {source}")]
    File {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The upstream KME could not be reached.
    #[error("upstream KME: {0}")]
    Upstream(#[from] ClientError),
    /// The upstream KME answered with an error or a malformed container.
    #[error("upstream KME answered {status}: {message}")]
    UpstreamReply {
        /// HTTP status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// Storing the keys failed.
    #[error(transparent)]
    Centre(#[from] CentreError),
    /// A `--source` value that names no source.
    #[error("unknown key source {0:?} (csprng | file:PATH | etsi:HOST:PORT/SLAVE_SAE_ID)")]
    BadSpec(String),
}

/// A boxed future (object-safe async trait method).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where key material comes from.
pub trait KeySource: Send {
    /// Name for logs and the audit log (`csprng`, `file:…`, `etsi:…`).
    fn name(&self) -> String;
    /// Whether the material is quantum (QRNG or QKD).
    fn quantum(&self) -> bool;
    /// Up to `want` fresh bytes (fewer, or none, when the source has no more now).
    fn read(&mut self, want: usize) -> BoxFuture<'_, Result<Zeroizing<Vec<u8>>, SourceError>>;
}

/// The OS CSPRNG (`getrandom`). Not quantum.
pub struct Csprng;

impl KeySource for Csprng {
    fn name(&self) -> String {
        "csprng".into()
    }
    fn quantum(&self) -> bool {
        false
    }
    fn read(&mut self, want: usize) -> BoxFuture<'_, Result<Zeroizing<Vec<u8>>, SourceError>> {
        Box::pin(async move {
            let mut v = Zeroizing::new(vec![0u8; want]);
            getrandom::fill(&mut v).map_err(|e| SourceError::Rng(e.to_string()))?;
            Ok(v)
        })
    }
}

/// Raw key bytes written by a QRNG or QKD device: a directory of files (each
/// read whole, then removed; names starting with `.` or ending `.tmp` are
/// skipped so writers can rename into place) or one file (read, then truncated).
pub struct FileSource {
    path: PathBuf,
    buf: Zeroizing<Vec<u8>>,
}

impl FileSource {
    /// A source over `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            buf: Zeroizing::new(Vec::new()),
        }
    }

    fn refill(&mut self, want: usize) -> Result<(), SourceError> {
        let err = |p: &std::path::Path| {
            let p = p.to_owned();
            move |source| SourceError::File { path: p, source }
        };
        if self.path.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(&self.path)
                .map_err(err(&self.path))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| !n.starts_with('.') && !n.ends_with(".tmp"))
                })
                .collect();
            names.sort();
            for p in names {
                if self.buf.len() >= want {
                    break;
                }
                let bytes = Zeroizing::new(std::fs::read(&p).map_err(err(&p))?);
                std::fs::remove_file(&p).map_err(err(&p))?;
                self.buf.extend_from_slice(&bytes);
            }
        } else if self.path.is_file() {
            let bytes = Zeroizing::new(std::fs::read(&self.path).map_err(err(&self.path))?);
            if !bytes.is_empty() {
                std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&self.path)
                    .map_err(err(&self.path))?;
                self.buf.extend_from_slice(&bytes);
            }
        }
        Ok(())
    }
}

impl KeySource for FileSource {
    fn name(&self) -> String {
        format!("file:{}", self.path.display())
    }
    fn quantum(&self) -> bool {
        true
    }
    fn read(&mut self, want: usize) -> BoxFuture<'_, Result<Zeroizing<Vec<u8>>, SourceError>> {
        Box::pin(async move {
            if self.buf.len() < want {
                self.refill(want)?;
            }
            let n = want.min(self.buf.len());
            let out = Zeroizing::new(self.buf[..n].to_vec());
            self.buf.drain(..n);
            Ok(out)
        })
    }
}

/// Pulls keys from an upstream ETSI GS QKD 014 KME (`POST enc_keys`) as a master SAE.
pub struct EtsiUpstream {
    client: CentreClient,
    slave: String,
    size_bits: u32,
    max_per_request: u32,
}

impl EtsiUpstream {
    /// A source fetching `size_bits`-bit keys for `slave` through `client`.
    pub fn new(client: CentreClient, slave: String, size_bits: u32, max_per_request: u32) -> Self {
        Self {
            client,
            slave,
            size_bits,
            max_per_request: max_per_request.max(1),
        }
    }
}

impl KeySource for EtsiUpstream {
    fn name(&self) -> String {
        format!("etsi:{}", self.slave)
    }
    fn quantum(&self) -> bool {
        true
    }
    fn read(&mut self, want: usize) -> BoxFuture<'_, Result<Zeroizing<Vec<u8>>, SourceError>> {
        Box::pin(async move {
            let per = (self.size_bits / 8) as usize;
            let number = want.div_ceil(per).min(self.max_per_request as usize);
            if number == 0 {
                return Ok(Zeroizing::new(Vec::new()));
            }
            let body = serde_json::json!({ "number": number, "size": self.size_bits }).to_string();
            let path = format!("/api/v1/keys/{}/enc_keys", self.slave);
            let r = self
                .client
                .request("POST", &path, Some(body.as_bytes()))
                .await?;
            if r.status == 503 {
                return Ok(Zeroizing::new(Vec::new()));
            }
            if r.status != 200 {
                let message = serde_json::from_slice::<serde_json::Value>(&r.body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                return Err(SourceError::UpstreamReply {
                    status: r.status,
                    message,
                });
            }
            let c: KeyContainer = r.json()?;
            let mut out = Zeroizing::new(Vec::with_capacity(number * per));
            for k in &c.keys {
                let bytes = Zeroizing::new(
                    base64::engine::general_purpose::STANDARD
                        .decode(&k.key)
                        .map_err(|e| SourceError::UpstreamReply {
                            status: r.status,
                            message: format!("key is not base64: {e}"),
                        })?,
                );
                out.extend_from_slice(&bytes);
            }
            Ok(out)
        })
    }
}

/// Parses a `--source` value. `etsi:` sources need a client (the upstream KME's CA and our certificate).
///
/// # Errors
/// [`SourceError::BadSpec`].
pub fn parse_source(
    spec: &str,
    upstream: impl FnOnce(&str, &str) -> Result<CentreClient, SourceError>,
    size_bits: u32,
) -> Result<Box<dyn KeySource>, SourceError> {
    if spec == "csprng" {
        Ok(Box::new(Csprng))
    } else if let Some(p) = spec.strip_prefix("file:") {
        Ok(Box::new(FileSource::new(PathBuf::from(p))))
    } else if let Some(rest) = spec.strip_prefix("etsi:") {
        let rest = rest.strip_prefix("https://").unwrap_or(rest);
        let (addr, slave) = rest
            .split_once('/')
            .ok_or_else(|| SourceError::BadSpec(spec.into()))?;
        if slave.is_empty() || addr.is_empty() {
            return Err(SourceError::BadSpec(spec.into()));
        }
        let client = upstream(addr, slave)?;
        Ok(Box::new(EtsiUpstream::new(
            client,
            slave.to_owned(),
            size_bits,
            128,
        )))
    } else {
        Err(SourceError::BadSpec(spec.into()))
    }
}

/// Moves key material from a source into the pool, up to `max_key_count`.
pub struct PoolFiller {
    centre: Arc<Centre>,
    source: Box<dyn KeySource>,
    carry: Zeroizing<Vec<u8>>,
    batch_units: u64,
}

impl PoolFiller {
    /// A filler adding at most `batch_units` per step.
    pub fn new(centre: Arc<Centre>, source: Box<dyn KeySource>, batch_units: u64) -> Self {
        Self {
            centre,
            source,
            carry: Zeroizing::new(Vec::new()),
            batch_units: batch_units.max(1),
        }
    }

    /// One step: tops the pool up by at most one batch; returns units added (0: full or source dry).
    ///
    /// # Errors
    /// Source or storage errors.
    pub async fn step(&mut self) -> Result<u64, SourceError> {
        let c = self.centre.clone();
        let have = tokio::task::spawn_blocking(move || c.store().pool_count())
            .await
            .map_err(|e| CentreError::Audit(e.to_string()))?
            .map_err(CentreError::from)?;
        let need = self
            .centre
            .config()
            .max_key_count
            .saturating_sub(have)
            .min(self.batch_units);
        if need == 0 {
            return Ok(0);
        }
        let unit = (self.centre.config().limits.key_size / 8) as usize;
        let want = (need as usize * unit).saturating_sub(self.carry.len());
        let fresh = self.source.read(want).await?;
        self.carry.extend_from_slice(&fresh);
        let whole = self.carry.len() / unit * unit;
        if whole == 0 {
            return Ok(0);
        }
        let bytes = Zeroizing::new(self.carry[..whole].to_vec());
        self.carry.drain(..whole);
        let c = self.centre.clone();
        let name = self.source.name();
        let added = tokio::task::spawn_blocking(move || c.fill_pool(&bytes, &name))
            .await
            .map_err(|e| CentreError::Audit(e.to_string()))??;
        Ok(added)
    }

    /// Runs until the task is aborted: fills while there is room and material, then waits `interval`.
    pub async fn run(mut self, interval: Duration) {
        loop {
            match self.step().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => eprintln!("centre: key source {}: {e}", self.source.name()),
            }
            tokio::time::sleep(interval).await;
        }
    }
}
