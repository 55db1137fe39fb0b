//! The eavesdropper sweep (issue 8): Eve at 0.05 λ … 2 λ from Bob on the
//! simulated walk, 60 s of IQ-level probing (≈ 13,500 final-key bits; about
//! 10 s in a debug build, so it runs with the ordinary tests).

use qwave::report::{eve_sweep, report_eve_sweep, EveSweepOptions, SimSetup};
use qwave::session::SessionConfig;
use qwave_dsp::channel::Scenario;

#[test]
fn eve_is_at_chance_beyond_the_first_zero_of_j0() {
    let dir = std::env::temp_dir().join(format!("qwave-eve-sweep-{}", std::process::id()));
    let setup = SimSetup {
        scenario: Scenario::walk(),
        seconds: 60.0,
        seed: 21,
        session: SessionConfig::default(),
    };
    let opts = EveSweepOptions {
        distances: eve_sweep::DEFAULT_DISTANCES.to_vec(),
        progress: false,
    };
    let s = report_eve_sweep(&setup, &opts, &dir).expect("sweep");
    eprintln!(
        "{} final key bits in {:.0} s; Bob's raw disagreement {:.4}",
        s.final_key_bits, s.channel_seconds, s.bob_disagreement
    );
    for p in &s.points {
        eprintln!(
            "d = {:.3} λ: J0 {:+.3}, amplitude corr {:+.3}, Eve raw disagreement {:.4}, \
             final-key agreement {:.4} over {} bits, {} of {} reconciled bits parity-determined",
            p.distance_wavelengths,
            p.rho_theory.unwrap_or(f64::NAN),
            p.amplitude_correlation.unwrap_or(f64::NAN),
            p.raw_disagreement.unwrap_or(f64::NAN),
            p.key_agreement.unwrap_or(f64::NAN),
            p.compared_key_bits,
            p.parity_determined_bits,
            p.reconciled_bits
        );
    }
    assert_eq!(s.points.len(), eve_sweep::DEFAULT_DISTANCES.len());
    for p in s.points.iter().filter(|p| p.distance_wavelengths >= 0.5) {
        assert!(
            p.compared_key_bits >= 3000,
            "only {} key bits at {} λ",
            p.compared_key_bits,
            p.distance_wavelengths
        );
        let k = p.key_agreement.expect("Eve followed the blocks");
        assert!(
            (0.47..=0.53).contains(&k),
            "Eve at {} λ agrees on {k:.4} of the key",
            p.distance_wavelengths
        );
    }
    let near = &s.points[0];
    assert!((near.distance_wavelengths - 0.05).abs() < 1e-12);
    let d = near.raw_disagreement.expect("Eve quantized");
    assert!(d < 0.4, "Eve at 0.05 λ disagrees on {d:.3} of raw bits");
    for f in ["eve_sweep", "eve_correlation"] {
        let png = std::fs::read(dir.join(format!("{f}.png"))).unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
        let csv = std::fs::read_to_string(dir.join(format!("{f}.csv"))).unwrap();
        assert_eq!(csv.lines().count(), 1 + s.points.len());
    }
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("Closer than 0.383 λ"));
    let _ = std::fs::remove_dir_all(&dir);
}
