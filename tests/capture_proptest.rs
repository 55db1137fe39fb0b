//! Property tests: the text and JSON parsers never panic on arbitrary input, and
//! well-formed input round-trips.

use num_complex::Complex32;
use proptest::prelude::*;
use qwave::capture::{
    decode_iq, encode_iq, parse_rssi_text, parse_sigmf_meta, Annotation, CaptureError,
    SigmfDatatype, SigmfMeta,
};

/// JSON-ish text built from SigMF keys, so the fuzzer reaches the field checks.
fn jsonish() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("\"global\""),
        Just("\"captures\""),
        Just("\"annotations\""),
        Just("\"core:datatype\""),
        Just("\"core:sample_rate\""),
        Just("\"core:frequency\""),
        Just("\"core:sample_start\""),
        Just("\"core:sample_count\""),
        Just("\"core:label\""),
        Just("\"qwave:seq\""),
        Just("\"qwave:direction\""),
    ];
    let atom = prop_oneof![
        Just("\"cf32_le\"".to_string()),
        Just("\"ci16_le\"".to_string()),
        Just("\"ri8\"".to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:e}")),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
    ];
    let leaf = (key.clone(), atom).prop_map(|(k, v)| format!("{k}: {v}"));
    leaf.prop_recursive(4, 32, 4, move |inner| {
        (
            key.clone(),
            prop::collection::vec(inner, 0..4),
            any::<bool>(),
        )
            .prop_map(|(k, items, arr)| {
                if arr {
                    format!("{k}: [{{{}}}]", items.join(", "))
                } else {
                    format!("{k}: {{{}}}", items.join(", "))
                }
            })
    })
    .prop_map(|body| format!("{{{body}}}"))
}

proptest! {
    #[test]
    fn rssi_text_never_panics(text in "\\PC*") {
        let _ = parse_rssi_text(&text);
    }

    #[test]
    fn rssi_text_of_number_chars_never_panics(text in "[-+0-9.,eE;\\t \\n#]{0,200}") {
        match parse_rssi_text(&text) {
            Ok(v) => prop_assert!(v.iter().all(|x| x.is_finite())),
            Err(CaptureError::Parse { line, .. }) => prop_assert!(line >= 1 && line <= text.lines().count()),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn rssi_decimal_comma_round_trips(values in prop::collection::vec(-120.0f32..20.0, 0..50)) {
        let text: String = values.iter().map(|v| format!("{v:.3}\n").replace('.', ",")).collect();
        let back = parse_rssi_text(&text).unwrap();
        prop_assert_eq!(back.len(), values.len());
        for (a, b) in values.iter().zip(&back) {
            prop_assert!((a - b).abs() <= 0.0005 + 1e-5, "{} vs {}", a, b);
        }
    }

    #[test]
    fn sigmf_meta_never_panics_on_any_text(text in "\\PC*") {
        let _ = parse_sigmf_meta(&text);
    }

    #[test]
    fn sigmf_meta_never_panics_on_jsonish(text in jsonish()) {
        // Whatever parses prints and parses back identically (annotations sorted).
        if let Ok(mut meta) = parse_sigmf_meta(&text) {
            meta.annotations.sort_by_key(|a| a.sample_start);
            prop_assert_eq!(parse_sigmf_meta(&meta.to_json()).unwrap(), meta);
        }
    }

    #[test]
    fn sigmf_meta_parses_minimal_valid_documents(
        dt in prop_oneof![Just("cf32_le"), Just("ci16_le")],
        rate in 1u64..100_000_000,
        extra in "[a-z]{0,8}",
    ) {
        let text = format!(
            r#"{{"global": {{"core:datatype": "{dt}", "core:sample_rate": {rate}, "x:{extra}": 1}}, "captures": [], "annotations": []}}"#
        );
        let m = parse_sigmf_meta(&text).unwrap();
        prop_assert_eq!(m.sample_rate, rate as f64);
        prop_assert_eq!(m.datatype.as_str(), dt);
    }

    #[test]
    fn sigmf_meta_round_trips(
        rate in 1.0f64..1e9,
        freq in prop::option::of(0.0f64..6e9),
        starts in prop::collection::vec((0u64..1 << 40, 0u64..1 << 20, prop::option::of(any::<u64>())), 0..8),
        desc in prop::option::of("\\PC{0,20}"),
    ) {
        let mut annotations: Vec<Annotation> = starts.into_iter().map(|(s, c, seq)| Annotation {
            sample_start: s, sample_count: c, label: "probe".into(), seq, direction: Some("rx".into()),
        }).collect();
        annotations.sort_by_key(|a| a.sample_start);
        let m = SigmfMeta {
            datatype: SigmfDatatype::Cf32Le, sample_rate: rate, frequency: freq,
            description: desc, hw: None, annotations,
        };
        prop_assert_eq!(parse_sigmf_meta(&m.to_json()).unwrap(), m);
    }

    #[test]
    fn iq_bytes_decode_or_report_truncation(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        for dt in [SigmfDatatype::Ci16Le, SigmfDatatype::Cf32Le] {
            match decode_iq(&bytes, dt) {
                Some(s) => {
                    prop_assert_eq!(s.len() * dt.sample_size(), bytes.len());
                    if dt == SigmfDatatype::Ci16Le || s.iter().all(|c| !c.re.is_nan() && !c.im.is_nan()) {
                        prop_assert_eq!(encode_iq(&s, dt), bytes.clone());
                    }
                }
                None => prop_assert!(bytes.len() % dt.sample_size() != 0),
            }
        }
    }

    #[test]
    fn cf32_encode_decode_is_identity(v in prop::collection::vec((-1e6f32..1e6, -1e6f32..1e6), 0..32)) {
        let s: Vec<Complex32> = v.into_iter().map(|(a, b)| Complex32::new(a, b)).collect();
        prop_assert_eq!(decode_iq(&encode_iq(&s, SigmfDatatype::Cf32Le), SigmfDatatype::Cf32Le).unwrap(), s);
    }
}
