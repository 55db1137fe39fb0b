//! Intel 5300 "Linux 802.11n CSI Tool" logs (`log_to_file` output, `.dat`).
//!
//! The file is a sequence of records: a big-endian `u16` length L (counting
//! the code byte), a code byte, then L − 1 payload bytes. Code `0xBB` is the
//! NIC's beamforming feedback notification (Halperin et al., "Tool release:
//! gathering 802.11n traces with channel state information", ACM SIGCOMM CCR
//! 41(1), 2011); other codes are skipped. The `0xBB` payload:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | `timestamp_low`, u32 LE, NIC clock in µs (wraps every 2³² µs) |
//! | 4..6 | `bfee_count`, u16 LE, notification counter (wraps) |
//! | 6..8 | reserved |
//! | 8, 9 | `Nrx`, `Ntx` (1..=3 each) |
//! | 10, 11, 12 | `rssi_a/b/c` (dB, u8) |
//! | 13 | `noise` (dBm, i8) |
//! | 14, 15 | `agc`, `antenna_sel` (2 bits per receive chain) |
//! | 16..18 | `len`, u16 LE = ⌈30·(16·Nrx·Ntx + 3)/8⌉ |
//! | 18..20 | `fake_rate_n_flags`, u16 LE (bit 11 = HT40) |
//! | 20.. | CSI: per subcarrier group 3 skipped bits, then Nrx·Ntx pairs of 8-bit signed real, imag, bit-packed LSB first |
//!
//! The 30 columns are the subcarriers of 802.11n CSI feedback with grouping
//! Ng = 2 (20 MHz) or Ng = 4 (40 MHz), as the tool documents them.

use std::path::Path;

use num_complex::Complex32;

use super::{read_bytes, unwrap_counter, ImportError, ImportSummary};
use crate::capture::{write_trace, CsiTrace, PartyTrace, TraceKind};

/// Code byte of a beamforming feedback record.
pub const BFEE_CODE: u8 = 0xBB;
/// Subcarrier groups reported per record.
pub const GROUPS: usize = 30;
/// Bytes of the fixed header before the CSI matrix.
const HEADER: usize = 20;
/// `fake_rate_n_flags` bit for a 40 MHz (HT40) frame.
const HT40_FLAG: u16 = 0x800;

/// 20 MHz grouping (Ng = 2): −28, −26, …, −2, −1, 1, 3, …, 27, 28.
const SUBCARRIERS_20: [i16; GROUPS] = [
    -28, -26, -24, -22, -20, -18, -16, -14, -12, -10, -8, -6, -4, -2, -1, 1, 3, 5, 7, 9, 11, 13,
    15, 17, 19, 21, 23, 25, 27, 28,
];
/// 40 MHz grouping (Ng = 4): −58, −54, …, −2, 2, 6, …, 58.
const SUBCARRIERS_40: [i16; GROUPS] = [
    -58, -54, -50, -46, -42, -38, -34, -30, -26, -22, -18, -14, -10, -6, -2, 2, 6, 10, 14, 18, 22,
    26, 30, 34, 38, 42, 46, 50, 54, 58,
];

/// Subcarrier indices of the 30 reported groups for a 20 MHz or 40 MHz frame.
pub fn intel5300_subcarriers(ht40: bool) -> &'static [i16; GROUPS] {
    if ht40 {
        &SUBCARRIERS_40
    } else {
        &SUBCARRIERS_20
    }
}

/// One beamforming feedback record (code `0xBB`).
#[derive(Clone, Debug, PartialEq)]
pub struct Bfee {
    /// Byte offset of the record's length field in the file.
    pub offset: u64,
    /// NIC clock at reception, µs (32-bit, wraps).
    pub timestamp_low: u32,
    /// Notification counter (16-bit, wraps).
    pub bfee_count: u16,
    /// Receive chains (1..=3).
    pub nrx: u8,
    /// Transmit streams (1..=3).
    pub ntx: u8,
    /// Per-chain RSSI a, b, c (dB; 0 = chain off).
    pub rssi: [u8; 3],
    /// Noise floor, dBm (−127 = not measured).
    pub noise: i8,
    /// Automatic gain control setting, dB.
    pub agc: u8,
    /// Receive antenna permutation, 2 bits per chain.
    pub antenna_sel: u8,
    /// Rate and flags of the frame (bit 11 = HT40).
    pub fake_rate_n_flags: u16,
    /// 30 × Nrx × Ntx raw values as stored: index `(group · Nrx + rx) · Ntx + tx`.
    pub csi: Vec<Complex32>,
}

impl Bfee {
    /// True when the frame was 40 MHz wide.
    pub fn is_ht40(&self) -> bool {
        self.fake_rate_n_flags & HT40_FLAG != 0
    }

    /// Physical antenna (0 = A, 1 = B, 2 = C) of each stored receive chain,
    /// from `antenna_sel`; `None` if those bits are not a permutation of the
    /// first Nrx antennas (the tool then leaves the chains unpermuted).
    pub fn rx_permutation(&self) -> Option<[u8; 3]> {
        let nrx = usize::from(self.nrx);
        let mut perm = [0u8; 3];
        for (k, p) in perm.iter_mut().enumerate() {
            *p = (self.antenna_sel >> (2 * k)) & 0x3;
        }
        let mut seen = [false; 4];
        for p in &perm[..nrx.min(3)] {
            if usize::from(*p) >= nrx || seen[usize::from(*p)] {
                return None;
            }
            seen[usize::from(*p)] = true;
        }
        Some(perm)
    }

    /// The stored chain that received on physical antenna `antenna`, if any.
    pub fn chain_of_antenna(&self, antenna: u8) -> Option<usize> {
        let nrx = usize::from(self.nrx);
        match self.rx_permutation() {
            Some(perm) => perm[..nrx].iter().position(|p| *p == antenna),
            None => (usize::from(antenna) < nrx).then_some(usize::from(antenna)),
        }
    }

    /// The 30 values of receive antenna `rx_antenna` (after the permutation) and stream `tx`.
    pub fn stream(&self, rx_antenna: u8, tx: u8) -> Option<Vec<Complex32>> {
        let chain = self.chain_of_antenna(rx_antenna)?;
        if tx >= self.ntx {
            return None;
        }
        let (nrx, ntx) = (usize::from(self.nrx), usize::from(self.ntx));
        (0..GROUPS)
            .map(|g| {
                self.csi
                    .get((g * nrx + chain) * ntx + usize::from(tx))
                    .copied()
            })
            .collect()
    }
}

/// Bytes of the packed CSI matrix for `nrx` × `ntx` (the tool's `calc_len`).
pub fn csi_matrix_len(nrx: u8, ntx: u8) -> usize {
    (GROUPS * (usize::from(nrx) * usize::from(ntx) * 16 + 3)).div_ceil(8)
}

/// Parses a whole log; records with codes other than `0xBB` are skipped.
///
/// # Errors
/// [`ImportError::Byte`] at the offending byte: a record header or record cut
/// off by the end of the file, a zero length, a `0xBB` record shorter than its
/// header, Nrx/Ntx outside 1..=3, or a CSI length other than the one Nrx/Ntx imply.
pub fn parse_intel5300_log(bytes: &[u8]) -> Result<Vec<Bfee>, ImportError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let err = |offset: usize, what: String| ImportError::Byte {
        offset: offset as u64,
        what,
    };
    while at < bytes.len() {
        let left = bytes.len() - at;
        if left < 3 {
            return Err(err(
                at,
                format!("record header cut off: {left} bytes left, a header has 3"),
            ));
        }
        let field_len = usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
        let code = bytes[at + 2];
        if field_len == 0 {
            return Err(err(
                at,
                "record length 0 (it must count the code byte)".into(),
            ));
        }
        let end = at + 2 + field_len;
        if end > bytes.len() {
            return Err(err(
                at,
                format!(
                    "record (code {code:#04x}) of {} payload bytes runs past the end of the file ({} left)",
                    field_len - 1,
                    left - 3
                ),
            ));
        }
        if code == BFEE_CODE {
            out.push(parse_bfee(&bytes[at + 3..end], at)?);
        }
        at = end;
    }
    Ok(out)
}

/// Parses one `0xBB` payload; `record` is the record's offset (errors point into the payload).
fn parse_bfee(p: &[u8], record: usize) -> Result<Bfee, ImportError> {
    let base = record + 3;
    let err = |rel: usize, what: String| ImportError::Byte {
        offset: (base + rel) as u64,
        what,
    };
    if p.len() < HEADER {
        return Err(ImportError::Byte {
            offset: record as u64,
            what: format!(
                "beamforming record of {} bytes is shorter than its {HEADER}-byte header",
                p.len()
            ),
        });
    }
    let (nrx, ntx) = (p[8], p[9]);
    if !(1..=3).contains(&nrx) {
        return Err(err(8, format!("Nrx = {nrx}, expected 1..=3")));
    }
    if !(1..=3).contains(&ntx) {
        return Err(err(9, format!("Ntx = {ntx}, expected 1..=3")));
    }
    let len = usize::from(u16::from_le_bytes([p[16], p[17]]));
    let expected = csi_matrix_len(nrx, ntx);
    if len != expected {
        return Err(err(
            16,
            format!("CSI matrix length {len}, expected {expected} for Nrx = {nrx}, Ntx = {ntx}"),
        ));
    }
    if HEADER + len > p.len() {
        return Err(err(
            16,
            format!(
                "CSI matrix of {len} bytes runs past the record ({} bytes after the header)",
                p.len() - HEADER
            ),
        ));
    }
    let payload = &p[HEADER..HEADER + len];
    let byte = |i: usize| u32::from(payload.get(i).copied().unwrap_or(0));
    let streams = usize::from(nrx) * usize::from(ntx);
    let mut csi = Vec::with_capacity(GROUPS * streams);
    let mut bit = 0usize;
    for _ in 0..GROUPS {
        bit += 3;
        let shift = bit % 8;
        for _ in 0..streams {
            let i = bit / 8;
            let re = (((byte(i) >> shift) | (byte(i + 1) << (8 - shift))) & 0xFF) as u8 as i8;
            let im = (((byte(i + 1) >> shift) | (byte(i + 2) << (8 - shift))) & 0xFF) as u8 as i8;
            csi.push(Complex32::new(f32::from(re), f32::from(im)));
            bit += 16;
        }
    }
    Ok(Bfee {
        offset: record as u64,
        timestamp_low: u32::from_le_bytes([p[0], p[1], p[2], p[3]]),
        bfee_count: u16::from_le_bytes([p[4], p[5]]),
        nrx,
        ntx,
        rssi: [p[10], p[11], p[12]],
        noise: p[13] as i8,
        agc: p[14],
        antenna_sel: p[15],
        fake_rate_n_flags: u16::from_le_bytes([p[18], p[19]]),
        csi,
    })
}

/// How records become trace rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Intel5300Options {
    /// Physical receive antenna (0 = A, 1 = B, 2 = C) whose CSI becomes the row.
    pub rx_antenna: u8,
    /// Transmit stream whose CSI becomes the row.
    pub tx_antenna: u8,
    /// `seq` = the extended `bfee_count` itself instead of its offset from the
    /// file's first record (use when both NICs' counters were aligned).
    pub absolute_count: bool,
    /// Carrier frequency in Hz for the trace (`NaN` = unknown; the log does not say).
    pub center_frequency_hz: f64,
}

impl Default for Intel5300Options {
    fn default() -> Self {
        Intel5300Options {
            rx_antenna: 0,
            tx_antenna: 0,
            absolute_count: false,
            center_frequency_hz: f64::NAN,
        }
    }
}

/// Rows of one side. `seq` is `bfee_count` extended over its 16-bit wraps
/// (minus the first record's unless `absolute_count`); `t` is `timestamp_low`
/// extended over its 32-bit wraps, in seconds.
fn party(
    name: &str,
    records: &[Bfee],
    opts: &Intel5300Options,
    ht40: bool,
) -> Result<PartyTrace, ImportError> {
    let mut p = PartyTrace::new(name);
    p.subcarriers = intel5300_subcarriers(ht40).to_vec();
    p.seq.reserve(records.len());
    p.t.reserve(records.len());
    p.csi.reserve(records.len() * GROUPS);
    // (extended, raw) of the previous record's bfee_count and timestamp_low.
    let mut count: Option<(u64, u64)> = None;
    let mut clock: Option<(u64, u64)> = None;
    let first = records.first().map_or(0, |r| u64::from(r.bfee_count));
    for r in records {
        let at = |what: String| ImportError::Byte {
            offset: r.offset,
            what,
        };
        if r.is_ht40() != ht40 {
            return Err(at(format!(
                "a {} MHz record in a trace of {} MHz records",
                if r.is_ht40() { 40 } else { 20 },
                if ht40 { 40 } else { 20 }
            )));
        }
        let c = unwrap_counter(count, u64::from(r.bfee_count), 16);
        if count.is_some_and(|(prev, _)| prev == c) {
            return Err(at(format!(
                "bfee_count {} repeats the previous record's",
                r.bfee_count
            )));
        }
        count = Some((c, u64::from(r.bfee_count)));
        let t = unwrap_counter(clock, u64::from(r.timestamp_low), 32);
        clock = Some((t, u64::from(r.timestamp_low)));
        let row = r.stream(opts.rx_antenna, opts.tx_antenna).ok_or_else(|| {
            at(format!(
                "no CSI for receive antenna {} and transmit stream {} (Nrx = {}, Ntx = {}, antenna_sel = {:#04x})",
                opts.rx_antenna, opts.tx_antenna, r.nrx, r.ntx, r.antenna_sel
            ))
        })?;
        p.seq.push(if opts.absolute_count { c } else { c - first });
        p.t.push(t as f64 * 1e-6);
        p.csi.extend_from_slice(&row);
    }
    Ok(p)
}

fn trace_of(
    alice: Result<PartyTrace, ImportError>,
    bob: Result<PartyTrace, ImportError>,
    ht40: bool,
    opts: &Intel5300Options,
    source: String,
) -> Result<CsiTrace, ImportError> {
    let trace = CsiTrace {
        kind: TraceKind::Csi,
        center_frequency_hz: opts.center_frequency_hz,
        bandwidth_hz: Some(if ht40 { 40e6 } else { 20e6 }),
        source,
        parties: vec![alice?, bob?],
    };
    trace.validate()?;
    Ok(trace)
}

/// Whether the traces are 40 MHz: decided by Alice's first record (else Bob's).
fn bandwidth_of(alice: &[Bfee], bob: &[Bfee]) -> Result<bool, ImportError> {
    alice
        .first()
        .or_else(|| bob.first())
        .map(Bfee::is_ht40)
        .ok_or_else(|| ImportError::Pairing("neither log has a beamforming record".into()))
}

/// Builds a CSI trace from both sides' records (`alice` = Alice's NIC, Bob→Alice).
///
/// Rows pair by `seq` (see [`Intel5300Options::absolute_count`]); columns are
/// [`intel5300_subcarriers`] for the bandwidth of Alice's first record.
///
/// # Errors
/// [`ImportError::File`] (path `alice`/`bob`) around an [`ImportError::Byte`]
/// for a record of another bandwidth, a repeated `bfee_count` or a missing
/// antenna/stream; [`ImportError::Pairing`] if both sides are empty.
pub fn intel5300_to_trace(
    alice: &[Bfee],
    bob: &[Bfee],
    opts: &Intel5300Options,
    source: &str,
) -> Result<CsiTrace, ImportError> {
    let ht40 = bandwidth_of(alice, bob)?;
    trace_of(
        party("alice", alice, opts, ht40).map_err(|e| e.in_file(Path::new("alice"))),
        party("bob", bob, opts, ht40).map_err(|e| e.in_file(Path::new("bob"))),
        ht40,
        opts,
        source.to_owned(),
    )
}

/// `qwave import intel5300`: reads both logs and writes the HDF5 trace `out`.
///
/// # Errors
/// As [`parse_intel5300_log`] and [`intel5300_to_trace`], each wrapped in
/// [`ImportError::File`] naming the log; [`ImportError::Capture`] if a file
/// cannot be read or the trace cannot be written.
pub fn import_intel5300(
    alice: &Path,
    bob: &Path,
    out: &Path,
    opts: &Intel5300Options,
) -> Result<ImportSummary, ImportError> {
    let parse = |path: &Path| {
        read_bytes(path)
            .and_then(|b| parse_intel5300_log(&b))
            .map_err(|e| e.in_file(path))
    };
    let (a, b) = (parse(alice)?, parse(bob)?);
    let ht40 = bandwidth_of(&a, &b)?;
    let trace = trace_of(
        party("alice", &a, opts, ht40).map_err(|e| e.in_file(alice)),
        party("bob", &b, opts, ht40).map_err(|e| e.in_file(bob)),
        ht40,
        opts,
        format!(
            "qwave import intel5300: {} (alice), {} (bob); rx antenna {}, tx stream {}",
            alice.display(),
            bob.display(),
            opts.rx_antenna,
            opts.tx_antenna
        ),
    )?;
    write_trace(out, &trace)?;
    Ok(ImportSummary::of(&trace))
}
