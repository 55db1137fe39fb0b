//! Lab PKI for `qwave centre init DIR`: a CA, the centre's server
//! certificate (localhost, 127.0.0.1, ::1 and any extra names), an operator
//! client certificate and one client certificate per SAE (CN = SAE ID), all
//! ECDSA P-256 (rcgen). Also the rustls configurations both ends use.
//!
//! ```text
//! DIR/ca.pem ca.key centre.pem centre.key operator.pem operator.key master.key
//! DIR/sae/<SAE_ID>.pem <SAE_ID>.key      DIR/centre.db (SQLite default)
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::crypto::{write_private, CryptoError, MasterKey};

/// PKI and TLS set-up errors.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A PEM file holds no usable certificate or key.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(String),
    /// The directory already holds a CA.
    #[error("{0} already holds a centre (ca.pem exists)")]
    Exists(PathBuf),
    /// An SAE name that cannot be a certificate CN or file name, or is reserved.
    #[error(
        "bad SAE ID {0:?}: use 1–64 characters of [A-Za-z0-9._-], not \"operator\" or \"centre\""
    )]
    BadName(String),
    /// The master key could not be created.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

const CA_CN: &str = "qwave lab CA";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n != "operator"
        && n != "centre"
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !n.starts_with('.')
}

/// Paths of a centre directory.
#[derive(Debug, Clone)]
pub struct CentreDir(pub PathBuf);

impl CentreDir {
    /// CA certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.0.join("ca.pem")
    }
    /// Master key file (keys at rest).
    pub fn master_key(&self) -> PathBuf {
        self.0.join("master.key")
    }
    /// Default SQLite URL.
    pub fn default_db(&self) -> String {
        format!("sqlite://{}", self.0.join("centre.db").display())
    }
    /// Audit head anchor.
    pub fn audit_head(&self) -> PathBuf {
        self.0.join("audit.head")
    }
    /// Certificate and key of a client (`operator` or an SAE ID).
    pub fn client(&self, name: &str) -> (PathBuf, PathBuf) {
        if name == "operator" {
            (self.0.join("operator.pem"), self.0.join("operator.key"))
        } else {
            let d = self.0.join("sae");
            (d.join(format!("{name}.pem")), d.join(format!("{name}.key")))
        }
    }
    /// Certificate and key of a named server other than the centre (see [`add_server`]).
    pub fn server(&self, name: &str) -> (PathBuf, PathBuf) {
        let d = self.0.join("servers");
        (d.join(format!("{name}.pem")), d.join(format!("{name}.key")))
    }
    /// SAE IDs with certificates in `sae/`.
    ///
    /// # Errors
    /// [`PkiError::Io`].
    pub fn sae_ids(&self) -> Result<Vec<String>, PkiError> {
        let d = self.0.join("sae");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&d).map_err(io(&d))? {
            let e = e.map_err(io(&d))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".pem") {
                out.push(id.to_owned());
            }
        }
        out.sort();
        Ok(out)
    }
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, CA_CN);
    p.distinguished_name.push(DnType::OrganizationName, "qwave");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(p)
}

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn issue(
    ca: &Ca,
    cn: &str,
    sans: Vec<String>,
    server: bool,
    pem: &Path,
    key: &Path,
) -> Result<(), PkiError> {
    let mut p = CertificateParams::new(sans)?;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let k = KeyPair::generate()?;
    let c = p.signed_by(&k, &ca.cert, &ca.key)?;
    std::fs::write(pem, c.pem()).map_err(io(pem))?;
    write_private(key, k.serialize_pem().as_bytes()).map_err(io(key))?;
    Ok(())
}

fn load_ca(dir: &CentreDir) -> Result<Ca, PkiError> {
    let kp = dir.0.join("ca.key");
    let text = std::fs::read_to_string(&kp).map_err(io(&kp))?;
    let key = KeyPair::from_pem(&text)?;
    // Same key and subject as the stored CA certificate: certificates signed
    // now chain to it.
    let cert = ca_params()?.self_signed(&key)?;
    Ok(Ca { cert, key })
}

/// Creates a centre directory: CA, centre certificate (for `localhost`,
/// `127.0.0.1`, `::1` and `hosts`), operator certificate, one certificate per
/// SAE, and the master key (0600).
///
/// # Errors
/// [`PkiError::Exists`] when `dir` already holds a CA; I/O and generation errors.
pub fn init_dir(dir: &Path, saes: &[String], hosts: &[String]) -> Result<CentreDir, PkiError> {
    for s in saes {
        if !valid_name(s) {
            return Err(PkiError::BadName(s.clone()));
        }
    }
    let cd = CentreDir(dir.to_owned());
    if cd.ca_cert().exists() {
        return Err(PkiError::Exists(dir.to_owned()));
    }
    let sae_dir = dir.join("sae");
    std::fs::create_dir_all(&sae_dir).map_err(io(&sae_dir))?;
    let key = KeyPair::generate()?;
    let cert = ca_params()?.self_signed(&key)?;
    std::fs::write(cd.ca_cert(), cert.pem()).map_err(io(&cd.ca_cert()))?;
    let ca_key = dir.join("ca.key");
    write_private(&ca_key, key.serialize_pem().as_bytes()).map_err(io(&ca_key))?;
    let ca = Ca { cert, key };
    let mut sans = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    sans.extend(hosts.iter().cloned());
    issue(
        &ca,
        "qwave centre",
        sans,
        true,
        &dir.join("centre.pem"),
        &dir.join("centre.key"),
    )?;
    let (op_pem, op_key) = cd.client("operator");
    issue(&ca, "operator", Vec::new(), false, &op_pem, &op_key)?;
    for s in saes {
        let (p, k) = cd.client(s);
        issue(&ca, s, Vec::new(), false, &p, &k)?;
    }
    MasterKey::create(&cd.master_key())?;
    Ok(cd)
}

/// Issues a client certificate for one more SAE in an existing centre directory.
///
/// # Errors
/// [`PkiError::BadName`], I/O and generation errors (also if it exists).
pub fn add_sae(dir: &Path, sae: &str) -> Result<(), PkiError> {
    if !valid_name(sae) {
        return Err(PkiError::BadName(sae.to_owned()));
    }
    let cd = CentreDir(dir.to_owned());
    let ca = load_ca(&cd)?;
    let (p, k) = cd.client(sae);
    if p.exists() {
        return Err(PkiError::Io {
            path: p,
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    issue(&ca, sae, Vec::new(), false, &p, &k)
}

/// Issues a server certificate named `name` (common name and the only DNS
/// subject alternative name) into `DIR/servers/NAME.pem` / `.key`, for
/// services that share the directory's CA but must each prove who they are
/// (the ledger's nodes: a client checks it reached the node it meant).
///
/// # Errors
/// [`PkiError::BadName`], I/O and generation errors (also if it exists).
pub fn add_server(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), PkiError> {
    if !valid_name(name) {
        return Err(PkiError::BadName(name.to_owned()));
    }
    let cd = CentreDir(dir.to_owned());
    let ca = load_ca(&cd)?;
    let (p, k) = cd.server(name);
    if p.exists() {
        return Err(PkiError::Io {
            path: p,
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    let servers = dir.join("servers");
    std::fs::create_dir_all(&servers).map_err(io(&servers))?;
    issue(&ca, name, vec![name.to_owned()], true, &p, &k)?;
    Ok((p, k))
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let v: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| PkiError::Pem {
            path: path.to_owned(),
            what: e.to_string(),
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| PkiError::Pem {
            path: path.to_owned(),
            what: e.to_string(),
        })?;
    if v.is_empty() {
        return Err(PkiError::Pem {
            path: path.to_owned(),
            what: "no certificate".into(),
        });
    }
    Ok(v)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| PkiError::Pem {
        path: path.to_owned(),
        what: e.to_string(),
    })
}

fn roots(ca: &Path) -> Result<RootCertStore, PkiError> {
    let mut r = RootCertStore::empty();
    for c in certs(ca)? {
        r.add(c)?;
    }
    Ok(r)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The centre's TLS configuration: its certificate, and client certificates
/// required and verified against the CA (mutual TLS, ETSI GS QKD 014 §4.3).
///
/// # Errors
/// Unreadable files or a configuration rustls refuses.
pub fn server_config(cert: &Path, key: &Path, ca: &Path) -> Result<ServerConfig, PkiError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider())
        .build()
        .map_err(|e| PkiError::Verifier(e.to_string()))?;
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(cert)?, private_key(key)?)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// A client TLS configuration presenting `cert`/`key` (or none) and trusting `ca`.
///
/// # Errors
/// Unreadable files or a configuration rustls refuses.
pub fn client_config(
    ca: &Path,
    cert_key: Option<(&Path, &Path)>,
) -> Result<ClientConfig, PkiError> {
    let b = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(ca)?);
    Ok(match cert_key {
        Some((c, k)) => b.with_client_auth_cert(certs(c)?, private_key(k)?)?,
        None => b.with_no_client_auth(),
    })
}

/// The SAE ID a verified client certificate names: its subject CN.
pub fn sae_id_of(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, x) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let cn = x
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_owned();
    Some(cn)
}
