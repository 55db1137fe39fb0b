//! Replay of the real reciprocal USRP RSSI measurements in ../shared/data
//! (two USRP N210, TDD, slow fading): the pipeline either confirms equal keys
//! or refuses with a reason; it never outputs mismatching keys.

use std::path::PathBuf;

use qwave::capture::{parse_rssi_text, read_trace, rssi_pair_to_trace, write_trace};
use qwave::pipeline::replay::replay;
use qwave::session::SessionConfig;

fn data_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/usrp-rssi");
    d.is_dir().then_some(d)
}

#[test]
fn usrp_rssi_replay_confirms_or_refuses_never_mismatches() {
    let Some(dir) = data_dir() else {
        eprintln!("skipped: ../shared/data/usrp-rssi is absent");
        return;
    };
    let read = |f: &str| parse_rssi_text(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap();
    let (a, b) = (read("RSSI_SDR1.txt"), read("RSSI_SDR2.txt"));
    let trace = rssi_pair_to_trace(&a, &b, "usrp-rssi (two USRP N210, TDD)");
    // Through the HDF5 schema, as `scripts/usrp-rssi-to-h5` + `qwave replay` would.
    let tmp = std::env::temp_dir().join(format!("qwave-usrp-{}.h5", std::process::id()));
    write_trace(&tmp, &trace).unwrap();
    let trace = read_trace(&tmp).unwrap();
    let _ = std::fs::remove_file(&tmp);
    for block in [250u32, 1000] {
        let cfg = SessionConfig {
            block_exchanges: block,
            min_block_exchanges: 100,
            ..SessionConfig::default()
        };
        let r = replay(&trace, &cfg, &[1; 32], false, "usrp-rssi".into()).unwrap();
        eprintln!("block {block}:\n{}", r.summary());
        assert!(r.keys_match, "mismatching keys must never be output");
        assert!(r.aborted.is_none(), "{:?}", r.aborted);
        assert!(
            r.confirmed || !r.refusals.is_empty(),
            "either a confirmed key or a stated refusal"
        );
        assert!(r.final_key_bits == 0 || r.confirmed);
        // The recording's raw-threshold disagreement is ~16 %; after time
        // decimation and equiprobable quantization it stays in that range.
        assert!(
            r.bit_disagreement > 0.05 && r.bit_disagreement < 0.35,
            "{}",
            r.bit_disagreement
        );
    }
}
