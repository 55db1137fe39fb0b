//! Key-store backup: AONT + Reed–Solomon slices, placement constraints.

use proptest::prelude::*;
use qwave::backup::{restore, split, BackupError, Placement, Slice};

fn secret() -> Vec<u8> {
    (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect()
}

/// Every k-subset of n slices (by bitmask) restores the secret; every (k−1)-subset fails cleanly.
#[test]
fn any_k_slices_restore_and_fewer_fail() {
    let (n, k) = (6, 4);
    let s = secret();
    let slices = split(&s, n, k).unwrap();
    let mut restored = 0;
    for mask in 0u32..(1 << n) {
        let subset: Vec<Slice> = (0..n)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| slices[i].clone())
            .collect();
        match subset.len() {
            l if l >= k => {
                assert_eq!(
                    restore(&subset).unwrap().as_slice(),
                    s.as_slice(),
                    "{mask:b}"
                );
                restored += 1;
            }
            0 => assert!(restore(&subset).is_err()),
            l => assert_eq!(
                restore(&subset).unwrap_err(),
                BackupError::NotEnough { have: l, need: k }
            ),
        }
    }
    // C(6,4) + C(6,5) + C(6,6) subsets.
    assert_eq!(restored, 15 + 6 + 1);
}

#[test]
fn slices_round_trip_through_their_encoding() {
    let slices = split(&secret(), 5, 3).unwrap();
    for s in &slices {
        assert_eq!(&Slice::decode(&s.encode()).unwrap(), s);
    }
    // No slice contains the secret in the clear.
    for s in &slices {
        assert!(!s.shard.windows(8).any(|w| w == &secret()[..8]));
    }
}

#[test]
fn corrupted_slice_is_detected() {
    let slices = split(&secret(), 5, 3).unwrap();
    let mut bytes = slices[1].encode();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    assert_eq!(
        Slice::decode(&bytes).unwrap_err(),
        BackupError::CorruptSlice { index: 1 }
    );
    // An altered shard with a recomputed tag passes decoding but not restore.
    let mut forged = slices[0].clone();
    forged.shard[0] ^= 0x80;
    let forged = Slice::decode(&forged.encode()).unwrap();
    let set = vec![forged, slices[2].clone(), slices[4].clone()];
    assert_eq!(restore(&set).unwrap_err(), BackupError::Corrupt);
}

#[test]
fn slices_of_different_backups_do_not_mix() {
    let a = split(&secret(), 4, 2).unwrap();
    let b = split(&secret(), 4, 2).unwrap();
    assert_eq!(
        restore(&[a[0].clone(), b[1].clone()]).unwrap_err(),
        BackupError::Mixed
    );
}

#[test]
fn bad_parameters_are_rejected() {
    for (n, k) in [(3, 3), (3, 0), (2, 5), (256, 10)] {
        assert!(matches!(
            split(&secret(), n, k),
            Err(BackupError::BadParameters(_))
        ));
    }
    assert!(matches!(
        split(&[], 4, 2),
        Err(BackupError::BadParameters(_))
    ));
}

/// The example of the design documents: 2 trusted nodes, 10 slices, 4 per node.
#[test]
fn placement_example_and_violations() {
    let p = Placement {
        slices: 10,
        threshold: 6,
        trusted_nodes: 2,
        per_node: 4,
    };
    let shares = p.assign().unwrap();
    let names: Vec<&str> = shares.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(names, ["trusted-1", "trusted-2", "client-1"]);
    assert_eq!(shares[2].slices, vec![8, 9]);
    let all: Vec<usize> = shares.iter().flat_map(|s| s.slices.clone()).collect();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    // One node could restore alone.
    assert!(Placement { threshold: 4, ..p }.assign().is_err());
    // Trusted nodes cannot recover a lost terminal.
    assert!(Placement {
        threshold: 9,
        per_node: 4,
        ..p
    }
    .assign()
    .is_err());
    // Clients alone could restore.
    assert!(Placement { slices: 20, ..p }.assign().is_err());
    assert!(Placement { per_node: 0, ..p }.assign().is_err());
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Slice::decode(&bytes);
    }

    #[test]
    fn split_restore_round_trip(secret in proptest::collection::vec(any::<u8>(), 1..300), n in 2usize..12, k_off in 0usize..10) {
        let k = 1 + k_off % (n - 1);
        let slices = split(&secret, n, k).unwrap();
        let last_k: Vec<Slice> = slices[n - k..].to_vec();
        let restored = restore(&last_k).unwrap();
        prop_assert_eq!(restored.as_slice(), secret.as_slice());
    }
}
