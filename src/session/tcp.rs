//! TCP driver for one party: frames travel length-prefixed (u32 big-endian)
//! over a `TcpStream`; a reader thread turns the stream into the party's
//! inbox. The session itself (authentication, order, replay protection) is
//! the sans-IO [`Party`]; this layer only moves bytes.

use std::io::{Read, Write};
use std::net::TcpStream;

use crossbeam_channel::{bounded, Receiver as ChanRx};

use super::auth::FRAME_OVERHEAD;
use super::wire::MAX_BODY;
use super::Party;
use crate::pipeline::keygen::{party_loop, PartyOutcome, Row, PEER_DEADLINE};
use crate::session::BlockStats;

/// Largest frame accepted from the socket.
pub const MAX_FRAME: usize = MAX_BODY + FRAME_OVERHEAD;

/// Reads one length-prefixed frame; `Ok(None)` on a clean end of stream.
///
/// # Errors
/// I/O errors, a declared length above [`MAX_FRAME`], or a stream that ends
/// inside a frame.
pub fn read_frame(r: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let n = u32::from_be_bytes(len) as usize;
    if n > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("peer announced a {n}-byte frame (limit {MAX_FRAME})"),
        ));
    }
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// Writes one length-prefixed frame.
///
/// # Errors
/// I/O errors.
pub fn write_frame(w: &mut impl Write, frame: &[u8]) -> std::io::Result<()> {
    w.write_all(&(frame.len() as u32).to_be_bytes())?;
    w.write_all(frame)?;
    w.flush()
}

/// Runs `party` over `stream` until the session ends; rows come from `rows`.
/// A socket that fails or closes mid-session aborts the session (no key).
///
/// # Errors
/// Only setting up the socket; protocol failures are in the outcome.
pub fn run_party(
    party: Party,
    rows: ChanRx<Row>,
    stream: TcpStream,
    on_key: &(dyn Fn(&BlockStats) + Sync),
) -> std::io::Result<PartyOutcome> {
    stream.set_nodelay(true)?;
    let mut reader = stream.try_clone()?;
    let mut writer = stream;
    let (in_tx, in_rx) = bounded::<Vec<u8>>(1024);
    let (out_tx, out_rx) = bounded::<Vec<u8>>(1024);
    let rd = std::thread::spawn(move || {
        while let Ok(Some(f)) = read_frame(&mut reader) {
            if in_tx.send(f).is_err() {
                break;
            }
        }
    });
    let wr = std::thread::spawn(move || {
        for f in out_rx {
            if write_frame(&mut writer, &f).is_err() {
                break;
            }
        }
        let _ = writer.shutdown(std::net::Shutdown::Write);
    });
    let out = party_loop(party, rows, in_rx, out_tx, None, PEER_DEADLINE, on_key);
    let _ = wr.join();
    let _ = rd.join();
    Ok(out)
}
