//! Metered refills in-process: a 4-node network, users on different nodes, full request flow,
//! settlement, forged / altered / replayed events, user bill vs operator audit.

use qwave::ledger::audit::{operator_audit, user_bill};
use qwave::ledger::settle::{claim, settle};
use qwave::ledger::{LedgerError, Network, SignedEvent};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-ledger-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// n1 — n2 — n3 and a spur n1 — n4; alice on n1, bob on n3, carol on n1.
fn network(name: &str) -> Network {
    let mut net = Network::open(&tmp(name)).expect("open");
    net.init_node("n1", 2, &[]).expect("n1");
    net.init_node("n2", 3, &["n1".into()]).expect("n2");
    net.init_node("n3", 4, &["n2".into()]).expect("n3");
    net.init_node("n4", 5, &["n1".into()]).expect("n4");
    net.add_user("alice", "n1").expect("alice");
    net.add_user("bob", "n3").expect("bob");
    net.add_user("carol", "n1").expect("carol");
    net
}

fn rejections_mention(net: &Network, node: &str, what: &str) -> bool {
    net.node(node)
        .expect("node")
        .audit_log()
        .expect("log")
        .iter()
        .any(|r| r.event == "event_rejected" && r.detail.contains(what))
}

#[test]
fn full_flow_across_three_nodes_and_settlement() {
    let net = network("flow");
    let ids = net.issue("alice", "rcpt-1", 90, 9, 3).expect("issue");
    net.issue("alice", "rcpt-2", 5, 5, 1).expect("issue 2");
    assert_eq!(ids.len(), 3);
    assert_eq!(
        net.user("alice")
            .expect("u")
            .unused()
            .expect("unused")
            .len(),
        4
    );

    let quote = net.quote("alice", "bob").expect("quote");
    let route: Vec<_> = quote.iter().map(|c| (c.node.as_str(), c.charge)).collect();
    assert_eq!(route, [("n1", 2), ("n2", 3), ("n3", 4)]);

    let d1 = net.request("alice", "bob").expect("request 1");
    let d2 = net.request("alice", "bob").expect("request 2");
    assert_ne!(d1.event.event.key_id, d2.event.event.key_id);
    // The 5-value key cannot pay a 9 request; after the third 9 is spent none is left.
    net.request("alice", "bob").expect("request 3");
    assert!(matches!(
        net.request("alice", "bob"),
        Err(LedgerError::NoKeyOfValue(9))
    ));

    // Keys delivered: bob's node holds three for him until he fetches them; then both users
    // hold the same three keys and the mailbox is empty.
    assert_eq!(net.fetch("bob").expect("fetch"), 3);
    assert_eq!(net.fetch("bob").expect("fetch again"), 0);
    let a_keys = net.user("alice").expect("u").keys().expect("keys");
    let b_keys = net.user("bob").expect("u").keys().expect("keys");
    assert_eq!(a_keys.len(), 3);
    assert_eq!(
        a_keys.iter().map(|k| (k.0, *k.2)).collect::<Vec<_>>(),
        b_keys.iter().map(|k| (k.0, *k.2)).collect::<Vec<_>>()
    );
    // Spent keys deleted at both ends: alice keeps only the 5; n1's pool too.
    let unused = net.user("alice").expect("u").unused().expect("unused");
    assert_eq!(unused.iter().map(|u| u.1).collect::<Vec<_>>(), [5]);
    let n1 = net.node("n1").expect("n1");
    for id in &ids {
        assert!(n1.pool_key(id).expect("pool").is_none());
        assert!(n1.is_spent(id).expect("spent"));
    }
    // Events stored at every node on the route, none at n4.
    for (n, want) in [("n1", 3), ("n2", 3), ("n3", 3), ("n4", 0)] {
        assert_eq!(
            net.node(n).expect("n").events().expect("ev").len(),
            want,
            "{n}"
        );
    }
    assert_eq!(net.user("alice").expect("u").events().expect("e").len(), 3);
    assert_eq!(net.user("bob").expect("u").events().expect("e").len(), 3);
    assert_eq!(a_keys.iter().filter(|k| k.1 == "bob").count(), 3);
    assert_eq!(b_keys.iter().filter(|k| k.1 == "alice").count(), 3);

    // Settlement sums to the charges: n2 gets 3 × 3, n3 gets 3 × 4; a second run pays nothing.
    let s2 = settle(&net, "n2").expect("settle n2");
    let s3 = settle(&net, "n3").expect("settle n3");
    assert_eq!((s2.paid_claims, s2.total), (3, 9));
    assert_eq!((s3.paid_claims, s3.total), (3, 12));
    assert!(s2.refused.is_empty() && s3.refused.is_empty());
    assert_eq!(settle(&net, "n2").expect("again").total, 0);
    // n1 keeps its own charge: 3 × 27 paid by alice = 9 (n2) + 12 (n3) + 6 (n1).
    let bill = user_bill("alice", &net.user("alice").expect("u")).expect("bill");
    assert_eq!(bill.spent, 27);
    assert_eq!(bill.paid, 95);
    assert_eq!(bill.unused_value, 5);
    assert_eq!(bill.per_node.get("n1").copied(), Some(6));
    assert_eq!(bill.per_node.get("n2").copied(), Some(s2.total));
    assert_eq!(bill.per_node.get("n3").copied(), Some(s3.total));

    // The operator's audit agrees with the user's own bill and finds nothing wrong.
    let op = operator_audit(&net).expect("audit");
    assert!(op.findings.is_empty(), "{:?}", op.findings);
    assert_eq!(op.billed.get("alice").copied(), Some(bill.spent));
    assert_eq!(op.nodes["n1"].issued_keys, 4);
    assert_eq!(op.nodes["n1"].spent_keys, 3);
    assert_eq!(op.nodes["n2"].settled, 9);
    assert_eq!(op.nodes["n3"].earned, 12);
}

#[test]
fn forged_altered_and_replayed_events_are_rejected_and_audited() {
    let net = network("attacks");
    net.issue("alice", "r1", 18, 9, 2).expect("issue");
    let d = net.request("alice", "bob").expect("request");
    let wire = d.event.encode();

    // Replayed: the same signed event again at the relay.
    let e = net
        .deliver_to_relay("n2", "n1", &wire)
        .expect_err("replay accepted");
    assert!(matches!(e, LedgerError::Replay(_)), "{e}");
    assert!(rejections_mention(&net, "n2", "replayed"));

    // Forged signature: one bit of the signature flipped.
    let mut forged = wire.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let e = net
        .deliver_to_relay("n3", "n2", &forged)
        .expect_err("forgery accepted");
    assert!(matches!(e, LedgerError::BadSignature), "{e}");
    assert!(rejections_mention(&net, "n3", "signature"));

    // Forged by another node's key (n4 signs an event claiming to come from n1).
    let mut ev = d.event.event.clone();
    ev.nonce = [0xee; 16];
    ev.key_id = [0xdd; 16];
    let n4 = net.node("n4").expect("n4");
    let sk = n4.signing_key().expect("n4 key");
    let other = SignedEvent::sign(ev, d.event.mac, &sk).expect("sign");
    let e = net
        .deliver_to_relay("n2", "n1", &other.encode())
        .expect_err("n4 forgery accepted");
    assert!(matches!(e, LedgerError::BadSignature), "{e}");

    // Altered breakdown: n2 raises its own charge; the signature no longer covers it.
    let mut altered_event = d.event.event.clone();
    altered_event.breakdown[1].charge += 10;
    altered_event.nonce = [0xaa; 16];
    let altered = SignedEvent {
        event_bytes: altered_event.encode().expect("enc"),
        event: altered_event,
        mac: d.event.mac,
        sig: d.event.sig,
    };
    let e = net
        .deliver_to_relay("n3", "n2", &altered.encode())
        .expect_err("altered accepted");
    assert!(matches!(e, LedgerError::BadSignature), "{e}");

    // A requester-side forgery: a MAC not made with the denominated key is refused by n1.
    let breakdown = net.quote("alice", "bob").expect("quote");
    let (bytes, mut mac) = net.user_sign("alice", "bob", breakdown).expect("sign");
    mac[0] ^= 1;
    let e = net
        .submit("alice", &bytes, mac)
        .expect_err("bad MAC accepted");
    assert!(matches!(e, LedgerError::BadMac), "{e}");
    assert!(rejections_mention(&net, "n1", "MAC"));
    // Nothing was spent by the refused request; alice can still pay with the same key.
    assert_eq!(net.user("alice").expect("u").unused().expect("u").len(), 1);
    net.request("alice", "bob").expect("second request");

    // Settlement: a replayed claim and a claim for an altered event are refused and audited.
    assert_eq!(settle(&net, "n2").expect("settle").total, 6);
    let n1 = net.node("n1").expect("n1");
    let pk = net.public_key("n1").expect("pk");
    let e = claim(&n1, "n1", &pk, "n2", &wire).expect_err("double claim paid");
    assert!(matches!(e, LedgerError::Replay(_)), "{e}");
    let e = claim(&n1, "n1", &pk, "n4", &wire).expect_err("off-route claim paid");
    assert!(matches!(e, LedgerError::Refused(_)), "{e}");

    let op = operator_audit(&net).expect("audit");
    assert!(op.findings.is_empty(), "{:?}", op.findings);
    let joined = op.rejections.join("\n");
    for want in [
        "n2: event_rejected",
        "n3: event_rejected",
        "n1: event_rejected",
        "n1: claim_rejected",
    ] {
        assert!(joined.contains(want), "{want} missing from\n{joined}");
    }
    assert!(op.rejections.len() >= 6, "{joined}");
}

#[test]
fn tampered_records_show_up_in_the_operator_audit() {
    let net = network("tamper");
    net.issue("carol", "r1", 4, 2, 2).expect("issue");
    net.issue("alice", "r2", 9, 9, 1).expect("issue");
    // Same node: route is just n1.
    let d = net.request("carol", "alice").expect("local request");
    assert_eq!(d.event.event.breakdown.len(), 1);
    net.request("alice", "bob").expect("remote");
    assert!(operator_audit(&net).expect("audit").findings.is_empty());
    // n2 loses its copy of the relayed event, and n1's audit log is edited.
    let c = rusqlite::Connection::open(net.node_path("n2")).expect("open");
    c.execute("DELETE FROM events", []).expect("delete");
    c.execute("UPDATE audit SET detail = 'edited' WHERE seq = 1", [])
        .expect("edit");
    let op = operator_audit(&net).expect("audit");
    let f = op.findings.join("\n");
    assert!(f.contains("missing at relay n2"), "{f}");
    assert!(f.contains("n2: audit chain"), "{f}");
}

#[test]
fn payments_must_cover_issued_keys_and_are_used_once() {
    let net = network("pay");
    assert!(matches!(
        net.issue("alice", "p", 10, 5, 3),
        Err(LedgerError::Payment(_))
    ));
    net.issue("alice", "p2", 15, 5, 3).expect("issue");
    assert!(matches!(
        net.issue("alice", "p2", 15, 5, 3),
        Err(LedgerError::Payment(_))
    ));
    assert!(matches!(
        net.quote("alice", "nobody"),
        Err(LedgerError::Directory(_))
    ));
}

/// Reads a store's database and WAL files as raw bytes.
fn raw_bytes(db: &std::path::Path) -> Vec<u8> {
    let mut all = std::fs::read(db).expect("db");
    let wal = db.with_extension("db-wal");
    if let Ok(w) = std::fs::read(wal) {
        all.extend_from_slice(&w);
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn secrets_are_sealed_at_rest() {
    let net = network("rest");
    net.issue("alice", "r1", 18, 9, 2).expect("issue");
    let d = net.request("alice", "bob").expect("request");
    // Keys still held: n1's pool and alice's unused key share the material, as do the
    // delivered key (alice's store, n3's mailbox before bob fetches, then bob's store).
    let unused = net.user("alice").expect("u").unused().expect("unused");
    assert_eq!(unused.len(), 1);
    let (_, _, dk_material) = net
        .node("n1")
        .expect("n1")
        .pool_key(&unused[0].0)
        .expect("pool")
        .expect("in pool");
    let a_keys = net.user("alice").expect("u").keys().expect("keys");
    assert_eq!(a_keys[0].0, d.key_id);
    let delivered = *a_keys[0].2;
    let n3_mail = raw_bytes(&net.node_path("n3"));
    assert!(
        !contains(&n3_mail, &delivered),
        "delivered key in clear at n3"
    );
    assert_eq!(net.fetch("bob").expect("fetch"), 1);
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("denominated key".into(), dk_material.to_vec()),
        ("delivered key".into(), delivered.to_vec()),
    ];
    for n in ["n1", "n2", "n3", "n4"] {
        let sk = net.node(n).expect("n").signing_key().expect("key");
        secrets.push((format!("{n} signing key"), sk.to_bytes().to_vec()));
    }
    let mut files = Vec::new();
    for n in ["n1", "n2", "n3", "n4"] {
        files.push(net.node_path(n));
    }
    for u in ["alice", "bob", "carol"] {
        files.push(net.user_path(u));
    }
    for f in &files {
        let raw = raw_bytes(f);
        assert!(raw.len() > 1000, "{} empty", f.display());
        for (what, s) in &secrets {
            assert!(!contains(&raw, s), "{what} in clear in {}", f.display());
        }
    }
    // The check can fail: the same bytes are found when they are there.
    let alice_raw = raw_bytes(&net.user_path("alice"));
    assert!(contains(&alice_raw, &d.event.event.key_id[..8]) || contains(&alice_raw, &unused[0].0));
    // The sealed columns hold XChaCha20-Poly1305 blobs (24-byte nonce + 32 + 16-byte tag).
    let c = rusqlite::Connection::open(net.user_path("alice")).expect("open raw");
    let len: i64 = c
        .query_row("SELECT length(material) FROM dkeys", [], |r| r.get(0))
        .expect("row");
    assert_eq!(len, 24 + 32 + 16);
    // Master key files are private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(qwave::ledger::store::key_path(&net.node_path("n1")))
            .expect("key file");
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
    }
}
