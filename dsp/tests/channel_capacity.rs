//! Secret-key capacity estimate: sanity and monotonicity in the model parameters.

use qwave_dsp::channel::{ChannelSim, Scenario};

fn cap(sc: &Scenario) -> qwave_dsp::channel::CapacityEstimate {
    ChannelSim::new(sc, 1).capacity()
}

#[test]
fn presets_finite_positive_and_faster_is_more() {
    let (walk, vehicle, stat) = (
        cap(&Scenario::walk()),
        cap(&Scenario::vehicle()),
        cap(&Scenario::static_room()),
    );
    for (name, c) in [("walk", &walk), ("vehicle", &vehicle), ("static", &stat)] {
        println!(
            "{name:8}: I(A;B|E) {:8.1} bit/s  lower {:8.1} bit/s  I(A;B) {:8.1} bit/s  samples/s {:6.1}  \
             bits/sample {:6.2}  r_t {:.4}  ρ_E {:?}",
            c.bits_per_second,
            c.lower_bound_bits_per_second,
            c.mutual_information_bits_per_second,
            c.independent_samples_per_second,
            c.bits_per_sample,
            c.time_correlation,
            c.eve_correlations
        );
    }
    assert!(walk.bits_per_second.is_finite() && walk.bits_per_second > 0.0);
    assert!(vehicle.bits_per_second > walk.bits_per_second);
    assert_eq!(stat.bits_per_second, 0.0);
    assert!(
        (walk.independent_samples_per_second - 2.0 * Scenario::walk().max_doppler_hz()).abs()
            < 1e-9
    );
    assert_eq!(vehicle.independent_samples_per_second, 100.0);
    for c in [&walk, &vehicle] {
        assert!(c.lower_bound_bits_per_second <= c.bits_per_second + 1e-9);
        assert!(c.bits_per_second <= c.mutual_information_bits_per_second + 1e-9);
        assert!(c.lower_bound_bits_per_second > 0.0);
        assert!((c.frequency_eigenvalues.iter().sum::<f64>() - 52.0).abs() < 1e-6);
        assert!(!c.method.is_empty());
    }
}

#[test]
fn closer_eve_and_longer_gap_and_more_noise_reduce_the_estimate() {
    let base = cap(&Scenario::walk());
    let close = cap(&Scenario::walk().with_eves_at_wavelengths(&[0.05]));
    let none = cap(&Scenario::walk().with_eves_at_wavelengths(&[]));
    let two = cap(&Scenario::walk().with_eves_at_wavelengths(&[0.5, 0.5]));
    println!(
        "walk: no Eve {:.1}, Eve λ/2 {:.1}, two Eves λ/2 {:.1}, Eve 0.05λ {:.1} bit/s",
        none.bits_per_second, base.bits_per_second, two.bits_per_second, close.bits_per_second
    );
    assert!(close.bits_per_second < base.bits_per_second);
    assert!(base.bits_per_second < none.bits_per_second);
    assert!(two.bits_per_second < base.bits_per_second);
    assert_eq!(
        none.bits_per_second,
        none.mutual_information_bits_per_second
    );

    let gap1 = cap(&Scenario::vehicle());
    let gap3 = cap(&Scenario {
        tdd_gap_s: 3e-3,
        ..Scenario::vehicle()
    });
    println!(
        "vehicle: gap 1 ms {:.1}, gap 3 ms {:.1} bit/s",
        gap1.bits_per_second, gap3.bits_per_second
    );
    assert!(gap3.bits_per_second < gap1.bits_per_second);

    let noisy = cap(&Scenario {
        snr_db: 5.0,
        ..Scenario::walk()
    });
    assert!(noisy.bits_per_second < base.bits_per_second);
    // More delay spread = more independent frequency modes = more key.
    let wide = cap(&Scenario {
        rms_delay_spread_s: 150e-9,
        ..Scenario::walk()
    });
    println!(
        "walk, 150 ns delay spread: {:.1} bit/s",
        wide.bits_per_second
    );
    assert!(wide.bits_per_second > base.bits_per_second);
}
