//! Deterministic in-memory driver for two parties (cf. quinn-proto's test
//! `Pair`): delivers frames alternately in send order, with injectable faults,
//! and keeps a copy of every frame for an eavesdropper.

use std::collections::VecDeque;

use super::auth::Sender;
use super::party::{Event, Party};

/// A fault applied to the n-th frame put on the wire (counting both
/// directions from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The frame is lost.
    Drop(usize),
    /// One bit of the frame is flipped (byte index modulo the length).
    Corrupt(usize, usize),
    /// The frame is delivered twice.
    Replay(usize),
    /// The frame is held back and delivered after the next one.
    Reorder(usize),
    /// The frame is cut to half its length.
    Truncate(usize),
}

/// Two parties joined by an in-memory public channel.
pub struct Pair {
    /// The base station.
    pub alice: Party,
    /// The terminal.
    pub bob: Party,
    faults: Vec<Fault>,
    sent: usize,
    to_alice: VecDeque<Vec<u8>>,
    to_bob: VecDeque<Vec<u8>>,
    held: Option<(Sender, Vec<u8>)>,
    /// Every frame as it went on the wire, with its sender (what Eve hears).
    pub tap: Vec<(Sender, Vec<u8>)>,
    /// Events of Alice and Bob, in the order they appeared.
    pub alice_events: Vec<Event>,
    /// Bob's events.
    pub bob_events: Vec<Event>,
}

impl Pair {
    /// Joins two parties.
    pub fn new(alice: Party, bob: Party) -> Self {
        Self {
            alice,
            bob,
            faults: Vec::new(),
            sent: 0,
            to_alice: VecDeque::new(),
            to_bob: VecDeque::new(),
            held: None,
            tap: Vec::new(),
            alice_events: Vec::new(),
            bob_events: Vec::new(),
        }
    }

    /// Quiescent with input finished: the drivers' deadline expires for every
    /// party still waiting.
    pub fn expire_deadlines(&mut self) {
        self.alice.on_timeout();
        self.bob.on_timeout();
        self.drive();
    }

    /// Adds a fault.
    pub fn inject(&mut self, f: Fault) {
        self.faults.push(f);
    }

    fn put(&mut self, from: Sender, frame: Vec<u8>) {
        let n = self.sent;
        self.sent += 1;
        let mut frame = frame;
        let mut copies = 1;
        for f in &self.faults {
            match *f {
                Fault::Drop(i) if i == n => copies = 0,
                Fault::Corrupt(i, byte) if i == n && !frame.is_empty() => {
                    let b = byte % frame.len();
                    frame[b] ^= 0x10;
                }
                Fault::Replay(i) if i == n => copies = 2,
                Fault::Truncate(i) if i == n => frame.truncate(frame.len() / 2),
                Fault::Reorder(i) if i == n => {
                    self.held = Some((from, frame));
                    return;
                }
                _ => {}
            }
        }
        for _ in 0..copies {
            self.tap.push((from, frame.clone()));
            match from {
                Sender::Alice => self.to_bob.push_back(frame.clone()),
                Sender::Bob => self.to_alice.push_back(frame.clone()),
            }
        }
        if let Some((hf, h)) = self.held.take() {
            self.tap.push((hf, h.clone()));
            match hf {
                Sender::Alice => self.to_bob.push_back(h),
                Sender::Bob => self.to_alice.push_back(h),
            }
        }
    }

    fn collect(&mut self) -> bool {
        let mut moved = false;
        while let Some(f) = self.alice.poll_transmit() {
            self.put(Sender::Alice, f);
            moved = true;
        }
        while let Some(f) = self.bob.poll_transmit() {
            self.put(Sender::Bob, f);
            moved = true;
        }
        while let Some(e) = self.alice.poll_event() {
            self.alice_events.push(e);
        }
        while let Some(e) = self.bob.poll_event() {
            self.bob_events.push(e);
        }
        moved
    }

    /// Delivers frames until neither side has anything more to say.
    /// Returns the number of frames delivered.
    pub fn drive(&mut self) -> usize {
        let mut delivered = 0;
        loop {
            self.collect();
            let mut any = false;
            if let Some(f) = self.to_bob.pop_front() {
                self.bob.handle_frame(&f);
                delivered += 1;
                any = true;
            }
            self.collect();
            if let Some(f) = self.to_alice.pop_front() {
                self.alice.handle_frame(&f);
                delivered += 1;
                any = true;
            }
            if !any && !self.collect() && self.to_alice.is_empty() && self.to_bob.is_empty() {
                if let Some((hf, h)) = self.held.take() {
                    // Nothing followed the held frame: it arrives late.
                    self.tap.push((hf, h.clone()));
                    match hf {
                        Sender::Alice => self.to_bob.push_back(h),
                        Sender::Bob => self.to_alice.push_back(h),
                    }
                    continue;
                }
                return delivered;
            }
        }
    }
}
