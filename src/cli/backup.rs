//! `qwave backup split|restore`: a key-store master key (or any user key) split into slices
//! for trusted-institution and client nodes, and restored from any `k` of them.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use crate::backup::{self, Placement, Slice};

/// `qwave backup`.
#[derive(Args, Debug)]
pub struct BackupArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: BackupAction,
}

/// Backup actions.
#[derive(Subcommand, Debug)]
pub enum BackupAction {
    /// Splits a secret file into slices, checks the placement and writes one folder per node.
    Split {
        /// The secret (e.g. a key-store master key file).
        #[arg(long)]
        secret: PathBuf,
        /// Total slices n.
        #[arg(long, default_value_t = 10)]
        slices: usize,
        /// Slices needed to restore k.
        #[arg(long, default_value_t = 6)]
        threshold: usize,
        /// Trusted-institution nodes m.
        #[arg(long, default_value_t = 2)]
        trusted: usize,
        /// Slices per node i.
        #[arg(long, default_value_t = 4)]
        per_node: usize,
        /// Output folder: one sub-folder per node with its slice files.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restores the secret from slice files (corrupted ones are reported and skipped).
    Restore {
        /// Slice files (`*.qwbs`).
        #[arg(required = true)]
        slices: Vec<PathBuf>,
        /// Where to write the restored secret (created with mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs a backup action.
pub fn run(a: BackupArgs) -> Result<()> {
    match a.action {
        BackupAction::Split {
            secret,
            slices,
            threshold,
            trusted,
            per_node,
            out,
        } => {
            let plan = Placement {
                slices,
                threshold,
                trusted_nodes: trusted,
                per_node,
            }
            .assign()?;
            let data = Zeroizing::new(
                std::fs::read(&secret).with_context(|| format!("reading {}", secret.display()))?,
            );
            let parts = backup::split(&data, slices, threshold)?;
            for share in &plan {
                let dir = out.join(&share.node);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                for &i in &share.slices {
                    let path = dir.join(format!("slice-{i:03}.qwbs"));
                    std::fs::write(&path, parts[i].encode())
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                eprintln!(
                    "{:<10} slices {:?} → {}",
                    share.node,
                    share.slices,
                    dir.display()
                );
            }
            eprintln!(
                "{slices} slices, any {threshold} restore; no node holds more than {per_node}"
            );
            Ok(())
        }
        BackupAction::Restore { slices, out } => {
            let mut good = Vec::new();
            for path in &slices {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                match Slice::decode(&bytes) {
                    Ok(s) => good.push(s),
                    Err(e) => eprintln!("skipping {}: {e}", path.display()),
                }
            }
            if good.is_empty() {
                bail!("no valid slice among {} files", slices.len());
            }
            let secret = backup::restore(&good)?;
            write_private(&out, &secret)?;
            eprintln!(
                "restored {} bytes from {} slices → {}",
                secret.len(),
                good.len(),
                out.display()
            );
            Ok(())
        }
    }
}

fn write_private(path: &PathBuf, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(data)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
