//! `qwave ledger` through the binary, as an operator and users run it: three nodes, two
//! users, issue → request → settle → audit, and a forged, altered and replayed event
//! presented on the wire, each refused and listed by the operator's audit.

use std::path::Path;
use std::process::{Command, Output};

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

#[test]
fn issue_request_settle_audit_and_attacks() {
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

    // Replayed, altered (a charge byte changed) and forged (signature byte changed) events.
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
    for (file, node, from) in [
        (write("replay.hex", &wire), "n2", "n1"),
        (write("altered.hex", &altered), "n3", "n2"),
        (write("forged.hex", &forged), "n3", "n2"),
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
        assert!(!o.status.success(), "{} accepted", file.display());
    }

    let s = ok(&net, &["settle"]);
    let paid: u64 = s
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["total"].as_u64().expect("total"))
        .sum();
    assert_eq!(paid, 5, "n2 and n3 claim 2 + 3 of the 6");

    let bill = ok(&net, &["audit", "--user", "alice"]);
    assert_eq!(bill["spent"], 6);
    assert_eq!(bill["paid"], 12);
    assert_eq!(bill["unused_value"], 6);
    let bob = ok(&net, &["audit", "--user", "bob"]);
    assert_eq!(bob["received"], 1);

    let op = ok(&net, &["audit", "--operator"]);
    assert_eq!(op["billed"]["alice"], bill["spent"]);
    assert_eq!(op["findings"].as_array().map(Vec::len), Some(0));
    let rej: Vec<String> = op["rejections"]
        .as_array()
        .expect("rejections")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(rej.len(), 3, "{rej:?}");
    assert!(rej[0].contains("replayed"), "{rej:?}");
    assert!(
        rej[1].contains("signature") && rej[2].contains("signature"),
        "{rej:?}"
    );
    let _ = std::fs::remove_dir_all(&net);
}
