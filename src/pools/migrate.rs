//! Moving keys between a node's storage spaces, consistently with both peers.
//!
//! Node X moves `n` keys from its space for peer A (surplus) to its space for peer B
//! (deficit): it takes the first `n` keys of space A into a journal entry, tells A how many keys
//! to discard (naming the first and last key IDs) and sends B the keys themselves; each message
//! is wrapped with AES-256-KWP (RFC 5649) under a key derived from one key X already shares with
//! that peer ([`derive_kek`]), reserved for this migration on both sides. X puts the keys into
//! space B only after B acknowledged storing them, and forgets the migration once A and B both
//! acknowledged. Every step is one atomic state change; lost messages are re-sent from the
//! journal ([`Node::pending`]), and peers apply each migration at most once. So an interrupted
//! migration leaves no key in two spaces and loses none: a key is in space A, in the journal, or
//! in space B.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use zeroize::{Zeroize, Zeroizing};

use super::plan::PeerId;
use crate::refill::{derive_kek, unwrap_aes_kw, wrap_aes_kw, WrapError};

/// One shared key: an ID (unique among all keys a node holds) and 32 bytes of key material.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// Identifier, unique per pair of nodes.
    pub id: u64,
    /// Key material.
    pub material: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        self.material.zeroize();
    }
}

/// A migration message on the wire between two nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Sender.
    pub from: PeerId,
    /// Receiver.
    pub to: PeerId,
    /// Migration ID (chosen by the moving node, unique per node).
    pub migration: u64,
    /// An acknowledgement (peer → moving node) rather than a request.
    pub ack: bool,
    /// ID of the shared key whose derived KEK wraps `sealed`.
    pub wrap_key_id: u64,
    /// AES-KWP-wrapped body.
    pub sealed: Vec<u8>,
}

/// Errors of the migration protocol.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MigrateError {
    /// The node has no space for this peer.
    #[error("no key space for peer {0}")]
    UnknownPeer(String),
    /// Not enough keys in the surplus space (amount plus one wrap key).
    #[error("space for {peer} holds {have} keys, {need} needed")]
    NotEnoughKeys {
        /// The space.
        peer: String,
        /// Keys there.
        have: usize,
        /// Keys needed.
        need: usize,
    },
    /// The wrap key named by a message is not in the receiver's space.
    #[error("wrap key {0} unknown")]
    UnknownWrapKey(u64),
    /// The message failed its integrity check.
    #[error("migration message failed its integrity check: {0}")]
    Integrity(#[from] WrapError),
    /// The body does not parse or contradicts the receiver's space.
    #[error("malformed migration message: {0}")]
    Malformed(&'static str),
}

struct Migration {
    from: PeerId,
    to: PeerId,
    /// IDs of the moved keys (for the discard notice, also after the keys reached space B).
    ids: Vec<u64>,
    /// The moved keys until B acknowledged them.
    keys: Vec<Key>,
    wrap_from: Key,
    wrap_to: Key,
    from_acked: bool,
    to_acked: bool,
}

/// A node's key spaces and migration state (all of it durable: each method is one atomic step).
#[derive(Default)]
pub struct Node {
    id: PeerId,
    spaces: BTreeMap<PeerId, VecDeque<Key>>,
    journal: BTreeMap<u64, Migration>,
    next_migration: u64,
    /// Migrations of other nodes applied here: (sender, migration) → the wrap key used.
    applied: BTreeMap<(PeerId, u64), Key>,
}

/// Keys a space never hands out for use: the migration protocol needs one shared key with the
/// peer to wrap its notices, also when that space has run dry.
pub const RESERVED_KEYS: usize = 1;

const BODY_DISCARD: u8 = 1;
const BODY_IMMIGRATE: u8 = 2;
const BODY_ACK: u8 = 3;

fn kek_for(wrap: &Key, migration: u64, direction: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&migration.to_be_bytes());
    id[8..8 + direction.len().min(8)].copy_from_slice(&direction[..direction.len().min(8)]);
    derive_kek(&wrap.material, &id)
}

impl Node {
    /// A node with empty spaces for `peers`.
    pub fn new(id: &str, peers: &[&str]) -> Self {
        Self {
            id: id.to_owned(),
            spaces: peers
                .iter()
                .map(|p| ((*p).to_owned(), VecDeque::new()))
                .collect(),
            ..Default::default()
        }
    }

    /// This node's ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Adds a freshly generated key to the space for `peer` (the peer adds the same key).
    pub fn store(&mut self, peer: &str, key: Key) -> Result<(), MigrateError> {
        self.space_mut(peer)?.push_back(key);
        Ok(())
    }

    /// Takes the next key of the space for `peer` for use; the peer then takes the same key by
    /// its ID ([`Node::take`]). The node that rebalances is the one that names keys, so a peer
    /// never uses a key on its own initiative while it may be migrating.
    pub fn consume(&mut self, peer: &str) -> Option<Key> {
        let space = self.spaces.get_mut(peer)?;
        if space.len() <= RESERVED_KEYS {
            return None;
        }
        space.pop_front()
    }

    /// Takes the key `id` of the space for `peer` (named by the peer).
    pub fn take(&mut self, peer: &str, id: u64) -> Option<Key> {
        let space = self.spaces.get_mut(peer)?;
        let pos = space.iter().position(|k| k.id == id)?;
        space.remove(pos)
    }

    /// Key IDs of the space for `peer`, sorted (peers agree on this set).
    pub fn id_set(&self, peer: &str) -> BTreeSet<u64> {
        self.ids(peer).into_iter().collect()
    }

    /// Keys stored for `peer`.
    pub fn stored(&self, peer: &str) -> usize {
        self.spaces.get(peer).map_or(0, VecDeque::len)
    }

    /// Key IDs of the space for `peer`, in order.
    pub fn ids(&self, peer: &str) -> Vec<u64> {
        self.spaces
            .get(peer)
            .map_or_else(Vec::new, |s| s.iter().map(|k| k.id).collect())
    }

    /// Key IDs held in unfinished migrations.
    pub fn journal_ids(&self) -> Vec<u64> {
        self.journal
            .values()
            .flat_map(|m| m.keys.iter().map(|k| k.id))
            .collect()
    }

    /// Migrations still in progress.
    pub fn migrations_in_flight(&self) -> usize {
        self.journal.len()
    }

    fn space_mut(&mut self, peer: &str) -> Result<&mut VecDeque<Key>, MigrateError> {
        self.spaces
            .get_mut(peer)
            .ok_or_else(|| MigrateError::UnknownPeer(peer.to_owned()))
    }

    /// Starts moving `amount` keys from the space for `from` to the space for `to`: one atomic
    /// step that moves them (and one wrap key from each space) into the journal. Returns the
    /// migration ID; the messages come from [`Node::pending`].
    ///
    /// # Errors
    /// [`MigrateError::UnknownPeer`], [`MigrateError::NotEnoughKeys`].
    pub fn begin(&mut self, from: &str, to: &str, amount: usize) -> Result<u64, MigrateError> {
        let have = self.space_mut(from)?.len();
        if have < amount + 1 + RESERVED_KEYS {
            return Err(MigrateError::NotEnoughKeys {
                peer: from.to_owned(),
                have,
                need: amount + 1 + RESERVED_KEYS,
            });
        }
        let to_len = self.space_mut(to)?.len();
        if to_len < 1 {
            return Err(MigrateError::NotEnoughKeys {
                peer: to.to_owned(),
                have: to_len,
                need: 1,
            });
        }
        let space = self.space_mut(from)?;
        let keys: Vec<Key> = space.drain(..amount).collect();
        // The wrap keys come from the back, so the peers' consumption order is untouched.
        let wrap_from = space.pop_back().expect("checked above");
        let wrap_to = self.space_mut(to)?.pop_back().expect("checked above");
        let id = self.next_migration;
        self.next_migration += 1;
        self.journal.insert(
            id,
            Migration {
                from: from.to_owned(),
                to: to.to_owned(),
                ids: keys.iter().map(|k| k.id).collect(),
                keys,
                wrap_from,
                wrap_to,
                from_acked: false,
                to_acked: false,
            },
        );
        Ok(id)
    }

    /// Every message an unfinished migration still needs delivered (idempotent: call again after
    /// a loss or a restart).
    pub fn pending(&self) -> Vec<Envelope> {
        let mut out = Vec::new();
        for (&id, m) in &self.journal {
            if !m.from_acked {
                let mut body = vec![BODY_DISCARD];
                body.extend_from_slice(&(m.ids.len() as u64).to_be_bytes());
                for id in &m.ids {
                    body.extend_from_slice(&id.to_be_bytes());
                }
                out.push(self.seal(&m.from, id, &m.wrap_from, b"x>peer", &body));
            }
            if !m.to_acked {
                let mut body = Zeroizing::new(vec![BODY_IMMIGRATE]);
                body.extend_from_slice(&(m.keys.len() as u64).to_be_bytes());
                for k in &m.keys {
                    body.extend_from_slice(&k.id.to_be_bytes());
                    body.extend_from_slice(&k.material);
                }
                out.push(self.seal(&m.to, id, &m.wrap_to, b"x>peer", &body));
            }
        }
        out
    }

    fn seal(&self, to: &str, migration: u64, wrap: &Key, dir: &[u8], body: &[u8]) -> Envelope {
        let kek = kek_for(wrap, migration, dir);
        Envelope {
            from: self.id.clone(),
            to: to.to_owned(),
            migration,
            ack: dir == b"peer>x",
            wrap_key_id: wrap.id,
            sealed: wrap_aes_kw(&kek, body).expect("non-empty body"),
        }
    }

    /// Handles one message; returns the reply to send, if any.
    ///
    /// # Errors
    /// Integrity, unknown wrap key or malformed body; the node's state is unchanged then.
    pub fn handle(&mut self, env: &Envelope) -> Result<Option<Envelope>, MigrateError> {
        if env.to != self.id {
            return Err(MigrateError::Malformed("addressed to another node"));
        }
        // An acknowledgement of one of our migrations (a stale one is ignored).
        if env.ack {
            let Some(m) = self.journal.get(&env.migration) else {
                return Ok(None);
            };
            let wrap = if env.from == m.from {
                &m.wrap_from
            } else if env.from == m.to {
                &m.wrap_to
            } else {
                return Err(MigrateError::Malformed("acknowledgement from a stranger"));
            };
            if wrap.id != env.wrap_key_id {
                return Err(MigrateError::UnknownWrapKey(env.wrap_key_id));
            }
            let body = unwrap_aes_kw(&kek_for(wrap, env.migration, b"peer>x"), &env.sealed)?;
            if body.as_slice() != [BODY_ACK] {
                return Err(MigrateError::Malformed("expected an acknowledgement"));
            }
            self.on_ack(env.migration, &env.from);
            return Ok(None);
        }
        self.handle_request(env)
    }

    fn handle_request(&mut self, env: &Envelope) -> Result<Option<Envelope>, MigrateError> {
        // A migration of the sender's, already applied here: acknowledge again.
        if let Some(wrap) = self.applied.get(&(env.from.clone(), env.migration)) {
            unwrap_aes_kw(&kek_for(wrap, env.migration, b"x>peer"), &env.sealed)?;
            let wrap = wrap.clone();
            return Ok(Some(self.seal(
                &env.from,
                env.migration,
                &wrap,
                b"peer>x",
                &[BODY_ACK],
            )));
        }
        self.apply(env).map(Some)
    }

    fn on_ack(&mut self, migration: u64, from: &str) {
        let Some(m) = self.journal.get_mut(&migration) else {
            return;
        };
        if from == m.from {
            m.from_acked = true;
        }
        if from == m.to && !m.to_acked {
            // B holds the keys now: they join our space for B in the same step.
            m.to_acked = true;
            let keys = std::mem::take(&mut m.keys);
            if let Some(space) = self.spaces.get_mut(&m.to) {
                space.extend(keys);
            }
        }
        if m.from_acked && m.to_acked {
            self.journal.remove(&migration);
        }
    }

    fn apply(&mut self, env: &Envelope) -> Result<Envelope, MigrateError> {
        let space = self
            .spaces
            .get(&env.from)
            .ok_or_else(|| MigrateError::UnknownPeer(env.from.clone()))?;
        let wrap_pos = space
            .iter()
            .position(|k| k.id == env.wrap_key_id)
            .ok_or(MigrateError::UnknownWrapKey(env.wrap_key_id))?;
        let wrap = space[wrap_pos].clone();
        let body = unwrap_aes_kw(&kek_for(&wrap, env.migration, b"x>peer"), &env.sealed)?;
        let (&tag, rest) = body.split_first().ok_or(MigrateError::Malformed("empty"))?;
        let count = rest
            .get(..8)
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")) as usize)
            .ok_or(MigrateError::Malformed("truncated count"))?;
        let rest = &rest[8..];
        match tag {
            BODY_DISCARD => {
                if rest.len() != 8 * count {
                    return Err(MigrateError::Malformed("discard list length"));
                }
                let ids: Vec<u64> = rest
                    .chunks_exact(8)
                    .map(|c| u64::from_be_bytes(c.try_into().expect("8 bytes")))
                    .collect();
                let listed: BTreeSet<u64> = ids.iter().copied().collect();
                let present = space.iter().filter(|k| listed.contains(&k.id)).count();
                if listed.len() != count || present != count || listed.contains(&wrap.id) {
                    return Err(MigrateError::Malformed(
                        "discard list names keys this space does not hold",
                    ));
                }
                let space = self.spaces.get_mut(&env.from).expect("looked up above");
                space.retain(|k| k.id != wrap.id && !listed.contains(&k.id));
            }
            BODY_IMMIGRATE => {
                if rest.len() != 40 * count {
                    return Err(MigrateError::Malformed("key list length"));
                }
                let keys: Vec<Key> = rest
                    .chunks_exact(40)
                    .map(|c| {
                        let mut material = [0u8; 32];
                        material.copy_from_slice(&c[8..]);
                        Key {
                            id: u64::from_be_bytes(c[..8].try_into().expect("8 bytes")),
                            material,
                        }
                    })
                    .collect();
                let space = self.spaces.get_mut(&env.from).expect("looked up above");
                space.remove(wrap_pos);
                space.extend(keys);
            }
            _ => return Err(MigrateError::Malformed("unknown body")),
        }
        self.applied
            .insert((env.from.clone(), env.migration), wrap.clone());
        Ok(self.seal(&env.from, env.migration, &wrap, b"peer>x", &[BODY_ACK]))
    }
}
