//! `qwave ledger` through the binary over real sockets: three node processes
//! (`qwave ledger serve`, HTTPS with mutual TLS on free ports) on the route n1 — n2 — n3, two
//! users, issue → quote → request → fetch → settle → audit, and a forged, an altered and a
//! replayed event (and a replayed settlement claim) sent over the network, each refused and
//! listed by the operator's audit.

mod procs;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use procs::Proc;
use qwave::ledger::transport::{Caller, HttpTransport, Msg, Transport};
use qwave::ledger::{LedgerError, Network};

fn qwave(net: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qwave"))
        .arg("ledger")
        .arg("--net")
        .arg(net)
        .args(args)
        .output()
        .expect("run qwave")
}

fn ok(net: &Path, args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.push("--json");
    let o = qwave(net, &a);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("one JSON value")
}

fn serve(net: &Path, node: &str) -> Proc {
    let netp = net.to_str().expect("utf8");
    let mut p = Proc::spawn(&["ledger", "--net", netp, "serve", "--node", node]);
    p.wait_stderr("listening on", Duration::from_secs(60));
    p
}

fn remote_kind(e: LedgerError) -> String {
    match e {
        LedgerError::Remote { kind, .. } => kind,
        other => panic!("expected a node's refusal, got {other}"),
    }
}

#[test]
fn node_processes_request_settle_audit_and_attacks() {
    let net = std::env::temp_dir().join(format!("qwave-ledger-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&net);
    ok(&net, &["init-node", "n1", "--tariff", "1"]);
    ok(&net, &["init-node", "n2", "--tariff", "2", "--link", "n1"]);
    ok(&net, &["init-node", "n3", "--tariff", "3", "--link", "n2"]);
    ok(&net, &["add-user", "alice", "--node", "n1"]);
    ok(&net, &["add-user", "bob", "--node", "n3"]);
    ok(
        &net,
        &[
            "issue",
            "--user",
            "alice",
            "--value",
            "6",
            "--count",
            "2",
            "--payment",
            "rcpt-1",
        ],
    );
    // Without running nodes a request cannot go anywhere.
    let o = qwave(&net, &["quote", "--from", "alice", "--to", "bob"]);
    assert!(!o.status.success());

    let servers: Vec<Proc> = ["n1", "n2", "n3"].iter().map(|n| serve(&net, n)).collect();
    let dir = Network::open(&net).expect("open");
    for n in ["n1", "n2", "n3"] {
        let a = dir.address(n).expect("published address");
        assert!(a.starts_with("127.0.0.1:") && !a.ends_with(":0"), "{a}");
    }

    let q = ok(&net, &["quote", "--from", "alice", "--to", "bob"]);
    assert_eq!(q["total"], 6);

    let ev = net.join("event.hex");
    let r = ok(
        &net,
        &[
            "request",
            "--from",
            "alice",
            "--to",
            "bob",
            "--save-event",
            ev.to_str().expect("utf8"),
        ],
    );
    assert_eq!(r["total"], 6);
    assert_eq!(r["breakdown"].as_array().map(Vec::len), Some(3));
    let dk: [u8; 16] = hex::decode(r["denominated_key"].as_str().expect("dk"))
        .expect("hex")
        .try_into()
        .expect("16");

    // The far node (n3) holds the key until bob fetches it; then both users hold it.
    assert_eq!(ok(&net, &["fetch", "--user", "bob"])["fetched"], 1);
    assert_eq!(ok(&net, &["fetch", "--user", "bob"])["fetched"], 0);
    let a_keys = dir.user("alice").expect("alice").keys().expect("keys");
    let b_keys = dir.user("bob").expect("bob").keys().expect("keys");
    assert_eq!(a_keys.len(), 1);
    assert_eq!(b_keys.len(), 1);
    assert_eq!((a_keys[0].0, *a_keys[0].2), (b_keys[0].0, *b_keys[0].2));
    assert_eq!(hex::encode(a_keys[0].0), r["key_id"].as_str().expect("id"));
    // The spent denominated key is gone at both ends; every node on the route stored the event.
    let n1 = dir.node("n1").expect("n1");
    assert!(n1.pool_key(&dk).expect("pool").is_none());
    assert!(n1.is_spent(&dk).expect("spent"));
    let unused = dir.user("alice").expect("alice").unused().expect("unused");
    assert_eq!(unused.len(), 1);
    assert_ne!(unused[0].0, dk);
    for (n, role) in [("n1", "first"), ("n2", "relay"), ("n3", "far")] {
        let evs = dir.node(n).expect("n").events().expect("events");
        assert_eq!(evs.len(), 1, "{n}");
        assert_eq!(evs[0].role, role, "{n}");
    }

    // Replayed, altered (a charge byte changed) and forged (signature byte changed) events,
    // each sent over the network to a node on the route with its predecessor's certificate.
    let hex_text = std::fs::read_to_string(&ev).expect("event");
    let wire = hex::decode(hex_text.trim()).expect("hex");
    let write = |name: &str, b: &[u8]| {
        let p = net.join(name);
        std::fs::write(&p, hex::encode(b)).expect("write");
        p
    };
    let mut altered = wire.clone();
    // "n3" is the last hop: its charge is the 8 bytes before key_id, nonce, MAC and signature.
    let charge_last = altered.len() - 64 - 32 - 16 - 16 - 1;
    altered[charge_last] = 99;
    let mut forged = wire.clone();
    let n = forged.len();
    forged[n - 10] ^= 0x40;
    for (file, node, from, why) in [
        (write("replay.hex", &wire), "n2", "n1", "replay"),
        (write("altered.hex", &altered), "n3", "n2", "bad_signature"),
        (write("forged.hex", &forged), "n3", "n2", "bad_signature"),
    ] {
        let o = qwave(
            &net,
            &[
                "relay",
                "--node",
                node,
                "--from",
                from,
                file.to_str().expect("utf8"),
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{} accepted", file.display());
        assert!(err.contains(why), "{}: {err}", file.display());
    }

    // Settlement over the network: the operator asks each node to claim from n1.
    let s = ok(&net, &["settle"]);
    let paid: u64 = s
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["total"].as_u64().expect("total"))
        .sum();
    assert_eq!(paid, 5, "n2 and n3 claim 2 + 3 of the 6");

    // Over the wire with the nodes' own certificates: a replayed claim, and a user calling a
    // node it is not attached to, are refused.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let as_n2 = HttpTransport::new(net.clone(), Caller::Node("n2".into()), rt.handle().clone());
    let e = as_n2
        .call(
            "n1",
            &Msg::Claim {
                wire: hex::encode(&wire),
            },
        )
        .expect_err("replayed claim paid");
    assert_eq!(remote_kind(e), "replay");
    let as_bob = HttpTransport::new(net.clone(), Caller::User("bob".into()), rt.handle().clone());
    let e = as_bob
        .call("n1", &Msg::Quote { to: "alice".into() })
        .expect_err("foreign user served");
    assert_eq!(remote_kind(e), "unauthorized");
    // Each node serves its own certificate: with the directory pointing "n1" at n2 (a spoofed
    // entry), alice's client refuses the handshake instead of talking to an impostor.
    let mut spoof = Network::open(&net).expect("open");
    let (a1, a2) = (
        spoof.address("n1").expect("n1"),
        spoof.address("n2").expect("n2"),
    );
    spoof.set_address("n1", &a2).expect("spoof n1");
    let as_alice = HttpTransport::new(
        net.clone(),
        Caller::User("alice".into()),
        rt.handle().clone(),
    );
    let e = as_alice
        .call("n1", &Msg::Quote { to: "bob".into() })
        .expect_err("n2 accepted as n1");
    assert!(matches!(e, LedgerError::Network(_)), "{e}");
    spoof.set_address("n1", &a1).expect("restore n1");
    let q = as_alice
        .call("n1", &Msg::Quote { to: "bob".into() })
        .expect("the real n1 answers");
    drop(q);

    let bill = ok(&net, &["audit", "--user", "alice"]);
    assert_eq!(bill["spent"], 6);
    assert_eq!(bill["paid"], 12);
    assert_eq!(bill["unused_value"], 6);
    assert_eq!(bill["per_node"]["n2"], 2);
    let bob = ok(&net, &["audit", "--user", "bob"]);
    assert_eq!(bob["received"], 1);

    let op = ok(&net, &["audit", "--operator"]);
    assert_eq!(op["billed"]["alice"], bill["spent"]);
    assert_eq!(op["findings"].as_array().map(Vec::len), Some(0));
    assert_eq!(op["nodes"]["n2"]["settled"], 2);
    assert_eq!(op["nodes"]["n3"]["settled"], 3);
    let rej: Vec<String> = op["rejections"]
        .as_array()
        .expect("rejections")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(rej.len(), 4, "{rej:?}");
    let joined = rej.join("\n");
    assert!(
        joined.contains("n2: event_rejected") && joined.contains("replayed"),
        "{rej:?}"
    );
    assert_eq!(
        rej.iter()
            .filter(|r| r.starts_with("n3: event_rejected") && r.contains("signature"))
            .count(),
        2,
        "{rej:?}"
    );
    assert!(joined.contains("n1: claim_rejected"), "{rej:?}");
    drop(servers);
    let _ = std::fs::remove_dir_all(&net);
}
