//! Key confirmation tags, KMAC256 known answers (NIST SP 800-185 samples), SecretKey, packing.

use qwave::amplify::{
    confirmation_tag, kmac256, pack_bits, split_confirmation, verify_tag, AmplifyError,
    ConfirmRole, SecretKey, CONFIRM_CUSTOMIZATION, CONFIRM_KEY_BITS,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use subtle::ConstantTimeEq;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn sample_key() -> Vec<u8> {
    (0x40u8..=0x5F).collect()
}

/// NIST SP 800-185 KMAC samples (KMAC_samples.pdf), KMAC256 sample #4.
#[test]
fn kmac256_nist_sample_4() {
    let mut out = [0u8; 64];
    kmac256(
        &sample_key(),
        &[0, 1, 2, 3],
        b"My Tagged Application",
        &mut out,
    );
    assert_eq!(
        out.to_vec(),
        hex(
            "20C570C31346F703C9AC36C61C03CB64C3970D0CFC787E9B79599D273A68D2F7\
             F69D4CC3DE9D104A351689F27CF6F5951F0103F33F4F24871024D9C27773A8DD"
        )
    );
}

/// KMAC256 sample #5 (200-byte data, empty customization).
#[test]
fn kmac256_nist_sample_5() {
    let data: Vec<u8> = (0u8..=0xC7).collect();
    let mut out = [0u8; 64];
    kmac256(&sample_key(), &data, b"", &mut out);
    assert_eq!(
        out.to_vec(),
        hex(
            "75358CF39E41494E949707927CEE0AF20A3FF553904C86B08F21CC414BCFD691\
             589D27CF5E15369CBBFF8B9A4C2EB17800855D0235FF635DA82533EC6B759B69"
        )
    );
}

/// KMAC256 sample #6 (200-byte data, customization).
#[test]
fn kmac256_nist_sample_6() {
    let data: Vec<u8> = (0u8..=0xC7).collect();
    let mut out = [0u8; 64];
    kmac256(&sample_key(), &data, b"My Tagged Application", &mut out);
    assert_eq!(
        out.to_vec(),
        hex(
            "B58618F71F92E1D56C1B8C55DDD7CD188B97B4CA4D99831EB2699A837DA2E4D9\
             70FBACFDE50033AEA585F1A2708510C32D07880801BD182898FE476876FC8965"
        )
    );
}

/// The tag is exactly KMAC256 over the documented encoding.
#[test]
fn tag_uses_documented_encoding() {
    let key_bits = [1u8, 0, 1, 1, 0, 0, 0, 1, 1, 1]; // 10 bits → B1 C0
    let na = [0xAAu8; 16];
    let nb = [0x55u8; 16];
    let mut data = vec![1u8, 40];
    data.extend_from_slice(b"alice");
    data.extend_from_slice(&na);
    data.extend_from_slice(&nb);
    data.extend_from_slice(&10u64.to_be_bytes());
    let mut expected = [0u8; 32];
    kmac256(
        &[0xB1, 0xC0],
        &data,
        b"qwave key confirmation",
        &mut expected,
    );
    assert_eq!(CONFIRM_CUSTOMIZATION, b"qwave key confirmation");
    assert_eq!(
        confirmation_tag(&key_bits, ConfirmRole::Alice, &na, &nb),
        expected
    );
}

#[test]
fn tags_agree_on_same_inputs_and_change_on_any_flip() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xC0FF);
    let key: Vec<u8> = (0..CONFIRM_KEY_BITS as usize)
        .map(|_| rng.random_range(0..2u8))
        .collect();
    let mut na = [0u8; 16];
    let mut nb = [0u8; 16];
    rng.fill(&mut na);
    rng.fill(&mut nb);
    let alice = confirmation_tag(&key, ConfirmRole::Alice, &na, &nb);
    // Bob recomputes Alice's tag from his copy of the key and accepts it.
    let key_copy = key.clone();
    assert!(verify_tag(
        &confirmation_tag(&key_copy, ConfirmRole::Alice, &na, &nb),
        &alice
    ));
    // Roles differ (no reflection).
    let bob = confirmation_tag(&key, ConfirmRole::Bob, &na, &nb);
    assert_ne!(alice, bob);
    assert!(!verify_tag(&alice, &bob));
    // Every single key-bit flip changes the tag.
    for i in 0..key.len() {
        let mut k = key.clone();
        k[i] ^= 1;
        assert!(
            !verify_tag(&alice, &confirmation_tag(&k, ConfirmRole::Alice, &na, &nb)),
            "bit {i}"
        );
    }
    // Any nonce bit flip changes the tag; swapping the nonces too.
    for byte in 0..16 {
        let mut na2 = na;
        na2[byte] ^= 0x80;
        assert_ne!(alice, confirmation_tag(&key, ConfirmRole::Alice, &na2, &nb));
        let mut nb2 = nb;
        nb2[byte] ^= 0x01;
        assert_ne!(alice, confirmation_tag(&key, ConfirmRole::Alice, &na, &nb2));
    }
    assert_ne!(alice, confirmation_tag(&key, ConfirmRole::Alice, &nb, &na));
    // A key extended by a zero bit packs to the same bytes but its length is bound in.
    let mut longer = key.clone();
    longer.push(0);
    assert_ne!(
        alice,
        confirmation_tag(&longer, ConfirmRole::Alice, &na, &nb)
    );
}

#[test]
fn verify_tag_rejects_wrong_length_and_content() {
    let tag = confirmation_tag(&[1, 0, 1], ConfirmRole::Bob, &[0; 16], &[1; 16]);
    assert!(verify_tag(&tag, &tag));
    assert!(!verify_tag(&tag, &tag[..31]));
    assert!(!verify_tag(&tag, &[]));
    let mut long = tag.to_vec();
    long.push(0);
    assert!(!verify_tag(&tag, &long));
    let mut bad = tag;
    bad[31] ^= 1;
    assert!(!verify_tag(&tag, &bad));
}

#[test]
fn split_confirmation_takes_first_128_bits() {
    assert_eq!(CONFIRM_KEY_BITS, 128);
    let bits: Vec<u8> = (0..300).map(|i| (i % 3 == 0) as u8).collect();
    let (conf, key) = split_confirmation(&bits).unwrap();
    assert_eq!(conf.len(), 128);
    assert_eq!(key.len(), 172);
    assert_eq!(conf, &bits[..128]);
    assert_eq!(key, &bits[128..]);
    assert!(matches!(
        split_confirmation(&bits[..128]),
        Err(AmplifyError::LengthMismatch { got: 128, .. })
    ));
}

#[test]
fn pack_bits_is_msb_first() {
    assert_eq!(pack_bits(&[1, 0, 0, 0, 0, 0, 0, 1]), vec![0x81]);
    assert_eq!(
        pack_bits(&[1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1]),
        vec![0xD2, 0xE0]
    );
    assert_eq!(pack_bits(&[]), Vec::<u8>::new());
    assert_eq!(pack_bits(&[0, 0, 0, 0, 0, 0, 0, 0, 1]), vec![0x00, 0x80]);
}

#[test]
fn secret_key_debug_hides_content_and_compares() {
    let k = SecretKey::from_bits(&[1, 0, 1, 0, 1, 0, 1, 0, 1, 1]);
    assert_eq!(k.bit_len(), 10);
    assert_eq!(k.as_bytes(), &[0xAA, 0xC0]);
    let dbg = format!("{k:?}");
    assert!(dbg.contains("bit_len: 10"), "{dbg}");
    assert!(
        !dbg.to_lowercase().contains("aa") && !dbg.contains("170"),
        "{dbg}"
    );

    // from_packed clears padding bits and checks the byte count.
    let p = SecretKey::from_packed(vec![0xAA, 0xFF], 10).unwrap();
    assert_eq!(p.as_bytes(), &[0xAA, 0xC0]);
    assert!(bool::from(p.ct_eq(&k)));
    let other = SecretKey::from_bits(&[1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    assert!(!bool::from(other.ct_eq(&k)));
    let shorter = SecretKey::from_bits(&[1, 0, 1, 0, 1, 0, 1, 0, 1]);
    assert!(!bool::from(shorter.ct_eq(&k)));
    assert!(matches!(
        SecretKey::from_packed(vec![0; 3], 10),
        Err(AmplifyError::LengthMismatch {
            expected: 2,
            got: 3,
            ..
        })
    ));
}
