//! `qwave pool-peer`: the peer side of a centre's per-peer key space (issue 7). `sync` fetches
//! the units of this peer's space it does not hold, then fetches, applies and acknowledges the
//! migration notices addressed to it; `show` lists the local store.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::centre::client::CentreClient;
use crate::centre::pki::sae_id_of;
use crate::pools::peer::{fetch_notices, sync, PeerStore};

/// `qwave pool-peer` options.
#[derive(Args, Debug)]
pub struct PoolPeerArgs {
    /// What to do.
    #[command(subcommand)]
    pub cmd: PoolPeerCmd,
}

/// `qwave pool-peer` subcommands.
#[derive(Subcommand, Debug)]
pub enum PoolPeerCmd {
    /// Syncs the local store with this peer's space at the centre and applies its notices.
    Sync(SyncArgs),
    /// Lists the local store (unit IDs, never material) and the applied notices.
    Show(ShowArgs),
}

/// `qwave pool-peer sync` options.
#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The centre, HOST:PORT.
    #[arg(long)]
    pub centre: String,
    /// This peer SAE's client certificate (PEM); its CN is the SAE ID.
    #[arg(long)]
    pub cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// The centre's CA certificate (PEM).
    #[arg(long)]
    pub ca: PathBuf,
    /// Name in the centre's certificate (default: the host of --centre).
    #[arg(long)]
    pub server_name: Option<String>,
    /// Local store directory (peer.db, peer.key).
    #[arg(long)]
    pub store: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `qwave pool-peer show` options.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Local store directory.
    #[arg(long)]
    pub store: PathBuf,
    /// This peer's SAE ID (the store refuses another).
    #[arg(long)]
    pub sae: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn sae_of(cert: &Path) -> Result<String> {
    let der = CertificateDer::from_pem_file(cert)
        .with_context(|| format!("reading certificate {}", cert.display()))?;
    sae_id_of(&der).with_context(|| format!("{} has no common name", cert.display()))
}

/// Runs `qwave pool-peer`.
pub fn run(a: PoolPeerArgs) -> Result<()> {
    match a.cmd {
        PoolPeerCmd::Sync(s) => run_sync(s),
        PoolPeerCmd::Show(s) => show(s),
    }
}

fn run_sync(a: SyncArgs) -> Result<()> {
    let me = sae_of(&a.cert)?;
    let host = a
        .centre
        .rsplit_once(':')
        .map_or(a.centre.as_str(), |(h, _)| h);
    let name = a
        .server_name
        .clone()
        .unwrap_or_else(|| host.trim_matches(['[', ']']).to_owned());
    let client = CentreClient::new(&a.ca, Some((&a.cert, &a.key)), &a.centre, &name)?;
    let mut store = PeerStore::open(&a.store, &me)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (s, n) = rt.block_on(async {
        let s = sync(&client, &mut store).await?;
        let n = fetch_notices(&client, &mut store).await?;
        anyhow::Ok((s, n))
    })?;
    let held = store.ids()?.len();
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "peer": me, "sync": s, "notices": n, "held": held })
        );
    } else {
        println!(
            "{me}: sync received {} units ({} new), dropped {} consumed; notices applied {}, re-acknowledged {}, waiting {}; {held} units held",
            s.received, s.stored, s.dropped, n.applied, n.already, n.waiting
        );
    }
    Ok(())
}

fn show(a: ShowArgs) -> Result<()> {
    let store = PeerStore::open(&a.store, &a.sae)?;
    let ids = store.ids()?;
    let applied = store.applied()?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "peer": a.sae, "units": ids, "applied": applied })
        );
    } else {
        println!(
            "{}: {} units held, {} notices applied",
            a.sae,
            ids.len(),
            applied.len()
        );
        for id in &ids {
            println!("{id}");
        }
    }
    Ok(())
}
