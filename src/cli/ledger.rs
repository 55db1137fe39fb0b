//! `qwave ledger`: metered refills. The operator's actions (`init-node`, `add-user`, `issue`,
//! `audit --operator`) work on the network directory; `serve` runs one node as an HTTPS
//! service; the user's and settlement actions (`quote`, `request`, `fetch`, `relay`,
//! `settle`) talk to the nodes over the network (mutual TLS, certificates from `<net>/pki`).
//! `--json` prints one JSON value.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::centre::pki::{server_config, CentreDir};
use crate::ledger::audit::{operator_audit, user_bill};
use crate::ledger::service::NodeService;
use crate::ledger::settle::settle_via;
use crate::ledger::transport::{Caller, HttpTransport, Msg, Reply, Transport};
use crate::ledger::Network;

/// `qwave ledger`.
#[derive(Args, Debug)]
pub struct LedgerArgs {
    /// Network directory (`network.json`, `nodes/*.db`, `users/*.db`); created if missing.
    #[arg(long)]
    pub net: PathBuf,
    /// Print one JSON value on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub action: LedgerAction,
}

/// Ledger actions.
#[derive(Subcommand, Debug)]
pub enum LedgerAction {
    /// Creates a node with a fresh Ed25519 key and publishes it in the directory.
    InitNode {
        /// Node ID.
        id: String,
        /// Charge per key this node carries.
        #[arg(long)]
        tariff: u64,
        /// Existing nodes to link to (comma-separated).
        #[arg(long, value_delimiter = ',')]
        link: Vec<String>,
    },
    /// Attaches a user (and creates its key store) to a node.
    AddUser {
        /// User ID.
        id: String,
        /// Home node.
        #[arg(long)]
        node: String,
    },
    /// The operator records a payment and issues denominated keys to the user and its node's pool.
    Issue {
        /// User.
        #[arg(long)]
        user: String,
        /// Value of each key.
        #[arg(long)]
        value: u64,
        /// Number of keys.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Payment reference (receipt); unique per node.
        #[arg(long)]
        payment: String,
        /// Amount paid (default: value × count).
        #[arg(long)]
        amount: Option<u64>,
    },
    /// Runs one node as an HTTPS service (mutual TLS) and publishes its address in the directory.
    Serve {
        /// Node ID.
        #[arg(long)]
        node: String,
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
    /// Takes the keys the user's node holds for it (delivered by requests of other users).
    Fetch {
        /// User.
        #[arg(long)]
        user: String,
    },
    /// Asks the first node (over the network) for the route and charge breakdown of a request.
    Quote {
        /// Requesting user.
        #[arg(long)]
        from: String,
        /// Receiving user.
        #[arg(long)]
        to: String,
    },
    /// Requests a key from one user to another over the network, paid with a denominated key of
    /// the quoted value.
    Request {
        /// Requesting user.
        #[arg(long)]
        from: String,
        /// Receiving user.
        #[arg(long)]
        to: String,
        /// Also write the signed event's wire bytes (hex) here.
        #[arg(long)]
        save_event: Option<PathBuf>,
    },
    /// Sends a signed event (hex file) to a node over the network as node `--from` (with its
    /// certificate), as a forwarding step.
    Relay {
        /// Receiving node.
        #[arg(long)]
        node: String,
        /// Sending node (recorded in the audit log).
        #[arg(long)]
        from: String,
        /// File with the hex wire bytes.
        event: PathBuf,
    },
    /// The operator asks a node (over the network) to claim its share of every unsettled
    /// stored event from the first nodes.
    Settle {
        /// Claiming node (default: every node).
        #[arg(long)]
        node: Option<String>,
    },
    /// A user's bill from its own stored events, or the operator's audit of all nodes.
    Audit {
        /// User whose bill to reproduce.
        #[arg(long, conflicts_with = "operator")]
        user: Option<String>,
        /// The operator's audit.
        #[arg(long)]
        operator: bool,
    },
}

/// Runs a ledger action.
pub fn run(a: LedgerArgs) -> Result<()> {
    let mut net = Network::open(&a.net).with_context(|| format!("opening {}", a.net.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let http = |c: Caller| HttpTransport::new(a.net.clone(), c, rt.handle().clone());
    let out = match a.action {
        LedgerAction::InitNode { id, tariff, link } => {
            net.init_node(&id, tariff, &link)?;
            let pk = net.directory().nodes.get(&id).map(|e| e.public_key.clone());
            eprintln!("node {id}: tariff {tariff}, links {link:?}");
            json!({ "node": id, "tariff": tariff, "public_key": pk })
        }
        LedgerAction::AddUser { id, node } => {
            net.add_user(&id, &node)?;
            eprintln!("user {id} attached to {node}");
            json!({ "user": id, "node": node })
        }
        LedgerAction::Issue {
            user,
            value,
            count,
            payment,
            amount,
        } => {
            let amount = match amount {
                Some(a) => a,
                None => value
                    .checked_mul(u64::from(count))
                    .context("value × count overflows")?,
            };
            let ids = net.issue(&user, &payment, amount, value, count)?;
            eprintln!("issued {count} key(s) of value {value} to {user} against payment {payment} ({amount})");
            json!({ "user": user, "payment": payment, "amount": amount, "value": value,
                    "keys": ids.iter().map(hex::encode).collect::<Vec<_>>() })
        }
        LedgerAction::Serve { node, listen } => {
            let pki = net.pki_dir();
            let (cert, key) = CentreDir(pki.clone()).server(&Caller::Node(node.clone()).cn());
            let tls = server_config(&cert, &key, &pki.join("ca.pem"))?;
            let svc = Arc::new(NodeService::open(
                Network::open(&a.net)?,
                &node,
                Box::new(http(Caller::Node(node.clone()))),
            )?);
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("binding {listen}"))?;
                let h = crate::ledger::server::serve(svc, tls, listener)?;
                net.set_address(&node, &h.addr.to_string())?;
                eprintln!("ledger node {node} listening on {}", h.addr);
                shutdown_signal().await;
                h.shutdown().await;
                anyhow::Ok(())
            })?;
            eprintln!("ledger node {node} stopped");
            return Ok(());
        }
        LedgerAction::Fetch { user } => {
            let n = net.fetch_via(&http(Caller::User(user.clone())), &user)?;
            eprintln!("{user} stored {n} delivered key(s)");
            json!({ "user": user, "fetched": n })
        }
        LedgerAction::Quote { from, to } => {
            let home = net.home(&from)?.to_owned();
            let b = match http(Caller::User(from.clone())).call(&home, &Msg::Quote { to })? {
                Reply::Quote { breakdown } => breakdown,
                other => bail!("{home} gave an unexpected reply: {other:?}"),
            };
            let b: Vec<crate::ledger::Charge> = b
                .into_iter()
                .map(|(node, charge)| crate::ledger::Charge { node, charge })
                .collect();
            let total: u64 = b.iter().map(|c| c.charge).sum();
            for c in &b {
                eprintln!("{:>12} {:>6}", c.node, c.charge);
            }
            eprintln!("{:>12} {:>6}", "total", total);
            json!({ "breakdown": b.iter().map(|c| json!([c.node, c.charge])).collect::<Vec<_>>(), "total": total })
        }
        LedgerAction::Request {
            from,
            to,
            save_event,
        } => {
            let d = net.request_via(&http(Caller::User(from.clone())), &from, &to)?;
            let e = &d.event.event;
            if let Some(p) = save_event {
                std::fs::write(&p, hex::encode(d.event.encode()))
                    .with_context(|| format!("writing {}", p.display()))?;
            }
            let total = e.total()?;
            eprintln!(
                "key {} delivered {from} → {to} via {}; paid {total} with denominated key {}",
                hex::encode(d.key_id),
                e.breakdown
                    .iter()
                    .map(|c| c.node.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                hex::encode(e.key_id)
            );
            json!({ "key_id": hex::encode(d.key_id), "event": hex::encode(e.nonce),
                    "denominated_key": hex::encode(e.key_id), "total": total,
                    "breakdown": e.breakdown.iter().map(|c| json!([c.node, c.charge])).collect::<Vec<_>>() })
        }
        LedgerAction::Relay { node, from, event } => {
            let text = std::fs::read_to_string(&event)
                .with_context(|| format!("reading {}", event.display()))?;
            let wire = hex::decode(text.trim()).context("event file is not hex")?;
            let msg = Msg::Forward {
                wire: hex::encode(&wire),
            };
            match http(Caller::Node(from.clone())).call(&node, &msg) {
                Ok(_) => {
                    eprintln!("{node} accepted the event");
                    json!({ "accepted": true })
                }
                Err(e) => {
                    if a.json {
                        println!("{}", json!({ "accepted": false, "reason": e.to_string() }));
                    }
                    bail!("{node} rejected the event: {e}");
                }
            }
        }
        LedgerAction::Settle { node } => {
            let nodes: Vec<String> = match node {
                Some(n) => vec![n],
                None => net.directory().nodes.keys().cloned().collect(),
            };
            let mut reps = Vec::new();
            for n in nodes {
                let r = settle_via(&http(Caller::Operator), &n)?;
                eprintln!(
                    "{n}: {} claim(s) paid, total {}, {} refused",
                    r.paid_claims,
                    r.total,
                    r.refused.len()
                );
                for why in &r.refused {
                    eprintln!("  refused {why}");
                }
                reps.push(r);
            }
            serde_json::to_value(reps)?
        }
        LedgerAction::Audit { user, operator } => {
            if let Some(u) = user {
                let bill = user_bill(&u, &net.user(&u)?)?;
                eprintln!("bill of {u}: paid {}", bill.paid);
                for l in &bill.lines {
                    let parts: Vec<String> = l
                        .breakdown
                        .iter()
                        .map(|(n, c)| format!("{n}:{c}"))
                        .collect();
                    eprintln!(
                        "  {} → {:<10} {:>6}  [{}]",
                        l.event,
                        l.to,
                        l.total,
                        parts.join(" ")
                    );
                }
                eprintln!(
                    "  spent {} on {} key(s); unused {}; per node {:?}; {} key(s) received",
                    bill.spent,
                    bill.lines.len(),
                    bill.unused_value,
                    bill.per_node,
                    bill.received
                );
                serde_json::to_value(bill)?
            } else if operator {
                let r = operator_audit(&net)?;
                for (id, n) in &r.nodes {
                    eprintln!(
                        "{id}: issued {} keys ({}), spent {}, first {} relayed {} earned {} settled {}, {} audit records",
                        n.issued_keys, n.issued_value, n.spent_keys, n.first_events,
                        n.relayed_events, n.earned, n.settled, n.audit_records
                    );
                }
                eprintln!("billed per user: {:?}", r.billed);
                for x in &r.rejections {
                    eprintln!("rejected: {x}");
                }
                for f in &r.findings {
                    eprintln!("FINDING: {f}");
                }
                if r.findings.is_empty() {
                    eprintln!("every issued and relayed key is accounted for");
                }
                let v = serde_json::to_value(&r)?;
                if !r.findings.is_empty() {
                    if a.json {
                        println!("{v}");
                    }
                    bail!("operator audit found {} inconsistencies", r.findings.len());
                }
                v
            } else {
                bail!("give --user U or --operator");
            }
        }
    };
    if a.json {
        println!("{out}");
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
