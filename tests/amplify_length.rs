//! Final key length rule (leftover hash lemma) with worked numbers.

use qwave::amplify::{
    final_key_length, AmplifyError, LengthInputs, CONFIRM_KEY_BITS, DEFAULT_SECURITY_LOG2,
};

fn inputs(n: usize, h: f64, leaked: u64) -> LengthInputs {
    LengthInputs {
        n,
        min_entropy_per_bit: h,
        leaked_bits: leaked,
        confirm_bits: CONFIRM_KEY_BITS,
        security_log2: DEFAULT_SECURITY_LOG2,
    }
}

#[test]
fn worked_examples() {
    // 10000·0.9 − 1500 − 128 − 128 = 9000 − 1756 = 7244.
    assert_eq!(final_key_length(&inputs(10_000, 0.9, 1500)).unwrap(), 7244);
    // Fractional: 1001·0.85 = 850.85 → 850.85 − 100 − 128 − 128 = 494.85 → 494.
    assert_eq!(final_key_length(&inputs(1001, 0.85, 100)).unwrap(), 494);
    // 2^20 bits, H = 1, no leakage, ε = 2^-32, no confirmation: 1048576 − 64.
    let li = LengthInputs {
        n: 1 << 20,
        min_entropy_per_bit: 1.0,
        leaked_bits: 0,
        confirm_bits: 0,
        security_log2: 32,
    };
    assert_eq!(final_key_length(&li).unwrap(), (1 << 20) - 64);
    // Exactly one bit left.
    assert_eq!(final_key_length(&inputs(1000, 0.5, 243)).unwrap(), 1);
}

#[test]
fn insufficient_entropy_reports_numbers() {
    // 1000·0.5 − 244 − 128 − 128 = 0 → no key.
    match final_key_length(&inputs(1000, 0.5, 244)) {
        Err(AmplifyError::InsufficientEntropy {
            n,
            min_entropy_per_bit,
            leaked_bits,
            confirm_bits,
            security_bits,
            available,
        }) => {
            assert_eq!(n, 1000);
            assert_eq!(min_entropy_per_bit, 0.5);
            assert_eq!(leaked_bits, 244);
            assert_eq!(confirm_bits, 128);
            assert_eq!(security_bits, 128);
            assert_eq!(available, 0.0);
        }
        other => panic!("expected InsufficientEntropy, got {other:?}"),
    }
    // Leakage beyond everything: negative.
    let err = final_key_length(&inputs(500, 0.8, 10_000)).unwrap_err();
    assert!(
        matches!(err, AmplifyError::InsufficientEntropy { available, .. } if available < -9000.0)
    );
    // Zero-length input.
    assert!(matches!(
        final_key_length(&inputs(0, 1.0, 0)),
        Err(AmplifyError::InsufficientEntropy { .. })
    ));
}

#[test]
fn bad_min_entropy_is_rejected() {
    for h in [-0.1, 1.01, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                final_key_length(&inputs(10_000, h, 0)),
                Err(AmplifyError::InvalidParameter {
                    name: "min_entropy_per_bit",
                    ..
                })
            ),
            "h = {h}"
        );
    }
}
