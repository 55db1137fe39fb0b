//! `qwave centre …`: the key centre (ETSI GS QKD 014 KME) and its operator tools.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::centre::client::CentreClient;
use crate::centre::crypto::MasterKey;
use crate::centre::pki::{self, CentreDir};
use crate::centre::source::{parse_source, PoolFiller, SourceError};
use crate::centre::store::open_store;
use crate::centre::{server, Centre, CentreConfig};

/// `qwave centre` arguments.
#[derive(Args, Debug)]
pub struct CentreArgs {
    /// What to do.
    #[command(subcommand)]
    pub cmd: CentreCmd,
}

/// `qwave centre` subcommands.
#[derive(Subcommand, Debug)]
pub enum CentreCmd {
    /// Creates a centre directory: lab CA, centre, operator and SAE certificates, master key.
    Init {
        /// Directory to create.
        dir: PathBuf,
        /// SAE IDs to issue client certificates for (repeatable).
        #[arg(long = "sae")]
        saes: Vec<String>,
        /// Extra DNS names or IP addresses for the centre's certificate.
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
    /// Issues a client certificate for one more SAE.
    AddSae {
        /// Centre directory.
        dir: PathBuf,
        /// SAE ID.
        sae: String,
    },
    /// Runs the key centre (HTTPS with mutual TLS) until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Terminal lifecycle through a running centre (operator certificate).
    Device {
        /// Centre directory (operator certificate).
        #[arg(long)]
        dir: PathBuf,
        /// Centre address host:port.
        #[arg(long, default_value = "127.0.0.1:8443")]
        url: String,
        /// Action.
        #[command(subcommand)]
        action: DeviceCmd,
    },
    /// Audit log tools.
    Audit {
        /// Action.
        #[command(subcommand)]
        action: AuditCmd,
    },
    /// Per-peer key storage spaces (direct database access): S, I, F, T, M and state of each;
    /// optionally configures spaces, feeds them from the pool and runs one rebalancing step.
    Pools(PoolsArgs),
    /// ETSI 014 status of the link from an SAE to a slave SAE.
    Status {
        /// Centre directory (SAE certificate).
        #[arg(long)]
        dir: PathBuf,
        /// Centre address host:port.
        #[arg(long, default_value = "127.0.0.1:8443")]
        url: String,
        /// Calling (master) SAE ID.
        #[arg(long = "as")]
        sae: String,
        /// Slave SAE ID.
        #[arg(long)]
        slave: String,
    },
}

/// `qwave centre pools` options.
#[derive(Args, Debug)]
pub struct PoolsArgs {
    /// Centre directory (master key, default database, SAE list).
    pub dir: PathBuf,
    /// Database: sqlite://PATH (default DIR/centre.db) or postgres://…
    #[arg(long)]
    pub db: Option<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Creates or changes a space: PEER=F (replenishment time F in seconds); repeatable.
    #[arg(long = "space", value_name = "PEER=F")]
    pub spaces: Vec<String>,
    /// Moves N units from the common pool into PEER's space: PEER=N; repeatable.
    #[arg(long = "allocate", value_name = "PEER=N")]
    pub allocate: Vec<String>,
    /// Sets a % of the transfer rule, in (0, 100].
    #[arg(long)]
    pub a_percent: Option<f64>,
    /// Runs one rebalancing step and prints the transfers.
    #[arg(long)]
    pub rebalance: bool,
}

/// `qwave centre serve` options.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Centre directory (certificates, master key, default database).
    #[arg(long)]
    pub dir: PathBuf,
    /// Database: sqlite://PATH (default DIR/centre.db) or postgres://…
    #[arg(long)]
    pub db: Option<String>,
    /// Listen address (port 0: any free port; the address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// Key source: csprng (not quantum) | file:PATH | etsi:HOST:PORT/SLAVE_SAE_ID
    #[arg(long, default_value = "csprng")]
    pub source: String,
    /// For etsi: sources: a centre-style directory holding the upstream CA (ca.pem) and our certificate (sae/NAME.pem).
    #[arg(long)]
    pub upstream_dir: Option<PathBuf>,
    /// For etsi: sources: our SAE ID at the upstream KME.
    #[arg(long)]
    pub upstream_sae: Option<String>,
    /// Pool target in keys of --key-size bits.
    #[arg(long, default_value_t = 10_000)]
    pub max_key_count: u64,
    /// Default key size in bits (one pool unit).
    #[arg(long, default_value_t = 256)]
    pub key_size: u32,
    /// This KME's ID.
    #[arg(long, default_value = "qwave-centre")]
    pub kme_id: String,
    /// Pause between pool fills when full or the source is dry, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub fill_interval_ms: u64,
}

/// `qwave centre device` actions.
#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    /// Initialises a terminal and prints its device credential (base64, shown once).
    Init {
        /// Serial number.
        serial: String,
    },
    /// Binds a terminal to a user with a PIN (--pin or env QWAVE_PIN).
    Bind {
        /// Serial number.
        serial: String,
        /// User.
        #[arg(long)]
        user: String,
        /// PIN (default: env QWAVE_PIN).
        #[arg(long)]
        pin: Option<String>,
    },
    /// Activates a bound terminal with its PIN.
    Activate {
        /// Serial number.
        serial: String,
        /// PIN (default: env QWAVE_PIN).
        #[arg(long)]
        pin: Option<String>,
    },
    /// Freezes a terminal.
    Freeze {
        /// Serial number.
        serial: String,
    },
    /// Unfreezes a terminal with its PIN.
    Unfreeze {
        /// Serial number.
        serial: String,
        /// PIN (default: env QWAVE_PIN).
        #[arg(long)]
        pin: Option<String>,
    },
    /// Reports a terminal lost.
    Lost {
        /// Serial number.
        serial: String,
    },
    /// Destroys a terminal and its undelivered keys.
    Destroy {
        /// Serial number.
        serial: String,
    },
    /// Shows a terminal's state.
    Show {
        /// Serial number.
        serial: String,
    },
}

/// `qwave centre audit` actions.
#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Verifies the hash chain; exits non-zero and names the record if it was tampered with.
    Verify {
        /// Centre directory (master key, head anchor).
        #[arg(long)]
        dir: PathBuf,
        /// Database (default sqlite://DIR/centre.db).
        #[arg(long)]
        db: Option<String>,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn open_centre(dir: &Path, db: Option<String>, mut cfg: CentreConfig) -> Result<Centre> {
    let d = CentreDir(dir.to_owned());
    let url = db.unwrap_or_else(|| d.default_db());
    let store = open_store(&url).with_context(|| format!("opening the store {url}"))?;
    let master = MasterKey::load(&d.master_key())?;
    cfg.known_saes = d.sae_ids()?.into_iter().collect::<BTreeSet<_>>();
    cfg.audit_head = Some(d.audit_head());
    Ok(Centre::new(cfg, store, master))
}

fn pin(p: Option<String>) -> Result<String> {
    match p {
        Some(p) => Ok(p),
        None => std::env::var("QWAVE_PIN").context("give --pin or set QWAVE_PIN"),
    }
}

/// Runs `qwave centre …`.
pub fn run(a: CentreArgs) -> Result<()> {
    match a.cmd {
        CentreCmd::Init { dir, saes, hosts } => {
            pki::init_dir(&dir, &saes, &hosts)?;
            println!("centre directory {} created", dir.display());
            println!("  CA            {}", dir.join("ca.pem").display());
            println!("  centre        {}", dir.join("centre.pem").display());
            println!("  operator      {}", dir.join("operator.pem").display());
            for s in &saes {
                println!(
                    "  SAE {s:<9} {}",
                    dir.join("sae").join(format!("{s}.pem")).display()
                );
            }
            println!(
                "  master key    {} (0600; keep it off the database host's backups)",
                dir.join("master.key").display()
            );
            println!("next: qwave centre serve --dir {}", dir.display());
            Ok(())
        }
        CentreCmd::AddSae { dir, sae } => {
            pki::add_sae(&dir, &sae)?;
            println!(
                "SAE {sae}: {}",
                dir.join("sae").join(format!("{sae}.pem")).display()
            );
            Ok(())
        }
        CentreCmd::Serve(s) => serve(s),
        CentreCmd::Device { dir, url, action } => runtime()?.block_on(device(dir, url, action)),
        CentreCmd::Audit {
            action: AuditCmd::Verify { dir, db },
        } => {
            let c = open_centre(&dir, db, CentreConfig::default())?;
            let (n, findings) = c.audit_verify()?;
            if findings.is_empty() {
                println!("audit log intact: {n} records, hash chain and head anchor verified");
                Ok(())
            } else {
                for f in &findings {
                    println!("TAMPERED: {f}");
                }
                bail!(
                    "audit log verification failed ({} findings over {n} records)",
                    findings.len()
                )
            }
        }
        CentreCmd::Pools(p) => pools(p),
        CentreCmd::Status {
            dir,
            url,
            sae,
            slave,
        } => runtime()?.block_on(async move {
            let c = CentreClient::from_dir(&dir, &sae, &url)?;
            let r = c
                .request("GET", &format!("/api/v1/keys/{slave}/status"), None)
                .await?;
            println!("{}", String::from_utf8_lossy(&r.body));
            if r.status != 200 {
                bail!("status {}", r.status);
            }
            Ok(())
        }),
    }
}

fn serve(s: ServeArgs) -> Result<()> {
    if s.key_size == 0 || !s.key_size.is_multiple_of(8) {
        bail!("--key-size must be a positive multiple of 8");
    }
    let mut cfg = CentreConfig {
        kme_id: s.kme_id.clone(),
        max_key_count: s.max_key_count,
        ..CentreConfig::default()
    };
    cfg.limits.key_size = s.key_size;
    cfg.limits.min_key_size = cfg.limits.min_key_size.min(s.key_size);
    cfg.limits.max_key_size = cfg.limits.max_key_size.max(s.key_size);
    let centre = Arc::new(open_centre(&s.dir, s.db.clone(), cfg)?);
    let d = CentreDir(s.dir.clone());
    let tls = pki::server_config(
        &s.dir.join("centre.pem"),
        &s.dir.join("centre.key"),
        &d.ca_cert(),
    )?;
    let upstream = |addr: &str, _slave: &str| -> Result<CentreClient, SourceError> {
        let (Some(udir), Some(usae)) = (&s.upstream_dir, &s.upstream_sae) else {
            return Err(SourceError::BadSpec(
                "etsi: needs --upstream-dir and --upstream-sae".into(),
            ));
        };
        Ok(CentreClient::from_dir(udir, usae, addr)?)
    };
    let source = parse_source(&s.source, upstream, s.key_size)?;
    if !source.quantum() {
        eprintln!(
            "centre: key source {} is NOT quantum (OS CSPRNG): for development only",
            source.name()
        );
    }
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&s.listen)
            .await
            .with_context(|| format!("binding {}", s.listen))?;
        let handle = server::serve(centre.clone(), tls, listener)?;
        let filler = tokio::spawn(
            PoolFiller::new(centre.clone(), source, 1024)
                .run(Duration::from_millis(s.fill_interval_ms)),
        );
        println!(
            "qwave centre listening on https://{} (store {})",
            handle.addr,
            centre.store().backend()
        );
        std::io::stdout().flush()?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
        eprintln!("centre: shutting down");
        filler.abort();
        handle.shutdown().await;
        Ok(())
    })
}

async fn device(dir: PathBuf, url: String, action: DeviceCmd) -> Result<()> {
    let c = CentreClient::from_dir(&dir, "operator", &url)?;
    let (path, body) = match &action {
        DeviceCmd::Init { serial } => (
            "/api/qwave/v1/devices".to_owned(),
            Some(serde_json::json!({ "serial": serial })),
        ),
        DeviceCmd::Bind {
            serial,
            user,
            pin: p,
        } => (
            format!("/api/qwave/v1/devices/{serial}/bind"),
            Some(serde_json::json!({ "user": user, "pin": pin(p.clone())? })),
        ),
        DeviceCmd::Activate { serial, pin: p } => (
            format!("/api/qwave/v1/devices/{serial}/activate"),
            Some(serde_json::json!({ "pin": pin(p.clone())? })),
        ),
        DeviceCmd::Unfreeze { serial, pin: p } => (
            format!("/api/qwave/v1/devices/{serial}/unfreeze"),
            Some(serde_json::json!({ "pin": pin(p.clone())? })),
        ),
        DeviceCmd::Freeze { serial } => (
            format!("/api/qwave/v1/devices/{serial}/freeze"),
            Some(serde_json::json!({})),
        ),
        DeviceCmd::Lost { serial } => (
            format!("/api/qwave/v1/devices/{serial}/lost"),
            Some(serde_json::json!({})),
        ),
        DeviceCmd::Destroy { serial } => (
            format!("/api/qwave/v1/devices/{serial}/destroy"),
            Some(serde_json::json!({})),
        ),
        DeviceCmd::Show { serial } => (format!("/api/qwave/v1/devices/{serial}"), None),
    };
    let r = match body {
        Some(b) => {
            c.request("POST", &path, Some(b.to_string().as_bytes()))
                .await?
        }
        None => c.request("GET", &path, None).await?,
    };
    println!("{}", String::from_utf8_lossy(&r.body));
    if r.status != 200 {
        bail!("centre answered {}", r.status);
    }
    Ok(())
}

fn pair<T: std::str::FromStr>(flag: &str, v: &str) -> Result<(String, T)> {
    let Some((peer, x)) = v.split_once('=') else {
        bail!("{flag} wants PEER=VALUE, got {v:?}");
    };
    let x = x
        .parse::<T>()
        .map_err(|_| anyhow::anyhow!("{flag} {v:?}: bad value {x:?}"))?;
    Ok((peer.to_owned(), x))
}

fn pools(p: PoolsArgs) -> Result<()> {
    let c = open_centre(&p.dir, p.db.clone(), CentreConfig::default())?;
    for v in &p.spaces {
        let (peer, f) = pair::<f64>("--space", v)?;
        c.space_configure(&peer, f)?;
    }
    for v in &p.allocate {
        let (peer, n) = pair::<u64>("--allocate", v)?;
        c.space_allocate(&peer, n)?;
    }
    if let Some(a) = p.a_percent {
        c.set_a_percent(a)?;
    }
    let transfers = if p.rebalance {
        Some(c.rebalance_pools()?)
    } else {
        None
    };
    let spaces = c.pools()?;
    let a = c.a_percent()?;
    if p.json {
        let mut o = serde_json::json!({ "a_percent": a, "spaces": spaces });
        if let Some(t) = &transfers {
            o["transfers"] = serde_json::to_value(t)?;
        }
        println!("{o}");
        return Ok(());
    }
    if let Some(t) = &transfers {
        if t.is_empty() {
            println!("rebalance: nothing to move");
        }
        for m in t {
            println!(
                "rebalance: migration {} moved {} units {} -> {}",
                m.migration, m.amount, m.from, m.to
            );
        }
    }
    println!(
        "{:<16} {:>8} {:>10} {:>8} {:>8} {:>10} {:>10}  state   (a = {a} %)",
        "peer", "stored", "S keys/s", "I s", "F s", "T", "M"
    );
    for s in &spaces {
        let state = serde_json::to_value(s.state)?;
        println!(
            "{:<16} {:>8} {:>10.3} {:>8.2} {:>8.2} {:>10.1} {:>10.1}  {}",
            s.peer,
            s.stored,
            s.s,
            s.i,
            s.f,
            s.t,
            s.m,
            state.as_str().unwrap_or("?")
        );
    }
    Ok(())
}
