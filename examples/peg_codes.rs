//! Builds the long LDPC family by QC-PEG and writes its alist files.
//!
//! Usage: `cargo run --release --example peg_codes [-- <dir>]` (default
//! `src/reconcile/ldpc/alist`). For every member of
//! `qwave::reconcile::ldpc::long::LONG_CODES` it runs the QC-PEG
//! construction from the member's spec, writes `peg16384_<name>.alist` and
//! prints n, m, rate, degree counts and girth. The construction is
//! deterministic (seeded), so the output reproduces the stored files.
//! `QWAVE_CODES=r083,r075` rebuilds only the members named.

use qwave::reconcile::ldpc::alist::Alist;
use qwave::reconcile::ldpc::long::LONG_CODES;
use qwave::reconcile::ldpc::peg;
use std::collections::BTreeMap;

fn main() -> anyhow::Result<()> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "src/reconcile/ldpc/alist".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let only = std::env::var("QWAVE_CODES").unwrap_or_default();
    for lc in LONG_CODES
        .iter()
        .filter(|c| only.is_empty() || only.split(',').any(|o| o == c.name))
    {
        let t = std::time::Instant::now();
        let code = peg::build(&lc.spec())?;
        let alist = Alist::from_qc(&code);
        let path = dir.join(format!("peg16384_{}.alist", lc.name));
        std::fs::write(&path, alist.to_text())?;
        let mut rows = BTreeMap::new();
        for i in 0..code.block_rows() {
            *rows.entry(code.row(i).len()).or_insert(0usize) += 1;
        }
        println!(
            "{}: n = {}, m = {}, rate = {:.4}, edges = {}, block-row degrees {:?}, girth = {:?}, {:.1} s -> {}",
            code.name(),
            code.n(),
            code.m(),
            1.0 - code.m() as f64 / code.n() as f64,
            code.edges(),
            rows,
            peg::girth(&code),
            t.elapsed().as_secs_f64(),
            path.display()
        );
    }
    Ok(())
}
