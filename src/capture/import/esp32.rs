//! ESP32-CSI-Tool CSV (serial output of Steven M. Hernandez's ESP32-CSI-Tool,
//! one file per side).
//!
//! A header row names the columns (`type,role,mac,rssi,…,len,CSI_DATA`); each
//! data row starts with `CSI_DATA` and ends with the CSI buffer
//! `[i0 r0 i1 r1 …]`: per subcarrier one signed 8-bit imaginary part, then the
//! real part (ESP-IDF `wifi_csi_info_t`). Other lines (boot messages on the
//! serial console) are skipped. Columns used when present: `len` (must equal
//! the buffer's value count), `seq` or `id` (sequence number),
//! `local_timestamp` (µs, 32-bit, wraps), `real_timestamp` (s),
//! `secondary_channel` (must be 0) and `channel` (gives the carrier).
//!
//! Subcarriers: with no secondary channel, the first 64 pairs are the L-LTF
//! of a 20 MHz channel in the order 0, 1, …, 31, −32, −31, …, −1 (ESP-IDF
//! Wi-Fi guide, "Wi-Fi Channel State Information"); the trace keeps the 52
//! occupied ones, −26..=−1 and 1..=26 (IEEE 802.11-2020 §17.3.3), ascending.
//! Any HT-LTF values after the first 128 are ignored.

use std::path::Path;

use num_complex::Complex32;

use super::{read_text, unwrap_counter, ImportError, ImportSummary};
use crate::capture::{write_trace, CsiTrace, PartyTrace, TraceKind};

/// The 52 occupied L-LTF subcarriers, the columns of an imported trace.
pub const ESP32_LLTF_SUBCARRIERS: [i16; 52] = {
    let mut s = [0i16; 52];
    let mut i = 0;
    while i < 26 {
        s[i] = i as i16 - 26;
        s[26 + i] = i as i16 + 1;
        i += 1;
    }
    s
};

/// Values in the L-LTF part of the buffer (64 subcarriers × imag, real).
const LLTF_VALUES: usize = 128;

/// One `CSI_DATA` row.
#[derive(Clone, Debug, PartialEq)]
pub struct Esp32Row {
    /// 1-based line in the file.
    pub line: usize,
    /// `seq` / `id` column.
    pub seq: Option<u64>,
    /// `local_timestamp` column, µs.
    pub local_timestamp: Option<u32>,
    /// `real_timestamp` column, s.
    pub real_timestamp: Option<f64>,
    /// `channel` column.
    pub channel: Option<u8>,
    /// CSI of [`ESP32_LLTF_SUBCARRIERS`], in that order.
    pub lltf: Vec<Complex32>,
}

struct Columns {
    count: usize,
    len: Option<usize>,
    seq: Option<usize>,
    local_timestamp: Option<usize>,
    real_timestamp: Option<usize>,
    secondary_channel: Option<usize>,
    channel: Option<usize>,
}

fn header(fields: &[&str], line: usize) -> Result<Columns, ImportError> {
    let find = |names: &[&str]| fields.iter().position(|f| names.contains(f));
    let last = fields.last().copied().unwrap_or_default();
    if !last.eq_ignore_ascii_case("CSI_DATA") && !last.eq_ignore_ascii_case("data") {
        return Err(ImportError::Line {
            line,
            what: format!("header's last column is {last:?}, expected CSI_DATA"),
        });
    }
    Ok(Columns {
        count: fields.len(),
        len: find(&["len"]),
        seq: find(&["seq", "id"]),
        local_timestamp: find(&["local_timestamp"]),
        real_timestamp: find(&["real_timestamp"]),
        secondary_channel: find(&["secondary_channel"]),
        channel: find(&["channel"]),
    })
}

/// Splits `CSI_DATA,…,[…]` into the fields before the buffer and the buffer's inside.
fn split_row(line: &str) -> Result<(Vec<&str>, &str), String> {
    let open = line
        .find('[')
        .ok_or("no CSI buffer \"[...]\" at the end of the row")?;
    let close = line[open..]
        .find(']')
        .map(|c| open + c)
        .ok_or("CSI buffer \"[...\" is not closed by ']'")?;
    let tail = line[close + 1..].trim().trim_start_matches('"').trim();
    if !tail.is_empty() && tail != "," {
        return Err(format!("text {tail:?} after the CSI buffer"));
    }
    let head = line[..open].trim_end().trim_end_matches('"');
    let head = head
        .strip_suffix(',')
        .ok_or("the CSI buffer is not a separate column")?;
    Ok((
        head.split(',').map(str::trim).collect(),
        &line[open + 1..close],
    ))
}

fn number<T: std::str::FromStr>(
    fields: &[&str],
    col: Option<usize>,
    name: &str,
) -> Result<Option<T>, String> {
    let Some(c) = col else { return Ok(None) };
    let f = fields.get(c).copied().unwrap_or_default();
    f.parse()
        .map(Some)
        .map_err(|_| format!("column {name} = {f:?} is not a valid number"))
}

fn parse_row(line: &str, cols: &Columns) -> Result<Esp32Row, String> {
    let (fields, buffer) = split_row(line)?;
    if fields.len() + 1 != cols.count {
        return Err(format!(
            "{} columns, but the header has {}",
            fields.len() + 1,
            cols.count
        ));
    }
    let mut values = Vec::with_capacity(384);
    for (i, v) in buffer
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|v| !v.is_empty())
        .enumerate()
    {
        let x: i8 = v
            .parse()
            .map_err(|_| format!("CSI value {i} = {v:?} is not an integer in -128..=127"))?;
        values.push(x);
    }
    if let Some(len) = number::<usize>(&fields, cols.len, "len")? {
        if len != values.len() {
            return Err(format!(
                "len = {len}, but the CSI buffer holds {} values",
                values.len()
            ));
        }
    }
    if values.len() % 2 != 0 || values.len() < LLTF_VALUES {
        return Err(format!(
            "CSI buffer holds {} values, expected an even count of at least {LLTF_VALUES} (64 L-LTF subcarriers)",
            values.len()
        ));
    }
    if let Some(sc) = number::<u8>(&fields, cols.secondary_channel, "secondary_channel")? {
        if sc != 0 {
            return Err(format!(
                "secondary_channel = {sc}: only 20 MHz captures (no secondary channel) are mapped"
            ));
        }
    }
    let local_timestamp = number::<u32>(&fields, cols.local_timestamp, "local_timestamp")?;
    let real_timestamp = number::<f64>(&fields, cols.real_timestamp, "real_timestamp")?;
    if real_timestamp.is_some_and(|t| !t.is_finite()) {
        return Err("real_timestamp is not finite".into());
    }
    let lltf = ESP32_LLTF_SUBCARRIERS
        .iter()
        .map(|&k| {
            let pair = if k >= 0 {
                k as usize
            } else {
                (64 + k) as usize
            };
            let (im, re) = (values[2 * pair], values[2 * pair + 1]);
            Complex32::new(f32::from(re), f32::from(im))
        })
        .collect();
    Ok(Esp32Row {
        line: 0,
        seq: number(&fields, cols.seq, "seq")?,
        local_timestamp,
        real_timestamp,
        channel: number(&fields, cols.channel, "channel")?,
        lltf,
    })
}

/// Parses an ESP32-CSI-Tool CSV capture into its `CSI_DATA` rows.
///
/// # Errors
/// [`ImportError::Line`] naming the line: a `CSI_DATA` row before any header,
/// a header whose last column is not `CSI_DATA`, a row whose column count
/// differs from the header's, a non-numeric or out-of-range field, a `len`
/// that disagrees with the buffer, a buffer too short for the L-LTF, or a
/// secondary channel.
pub fn parse_esp32_csv(text: &str) -> Result<Vec<Esp32Row>, ImportError> {
    let mut cols: Option<Columns> = None;
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let first = line.split(',').next().unwrap_or_default().trim();
        if first == "type" {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            cols = Some(header(&fields, i + 1)?);
        } else if first == "CSI_DATA" {
            let err = |what: String| ImportError::Line { line: i + 1, what };
            let c = cols.as_ref().ok_or_else(|| {
                err("CSI_DATA row before the header row (type,role,…,CSI_DATA)".into())
            })?;
            let mut row = parse_row(line, c).map_err(err)?;
            row.line = i + 1;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Carrier of a 2.4 GHz channel number (1..=14), Hz.
fn channel_hz(ch: u8) -> Option<f64> {
    match ch {
        1..=13 => Some((2407.0 + 5.0 * f64::from(ch)) * 1e6),
        14 => Some(2484e6),
        _ => None,
    }
}

fn party(name: &str, rows: &[Esp32Row], by_seq: bool) -> Result<PartyTrace, ImportError> {
    let mut p = PartyTrace::new(name);
    p.subcarriers = ESP32_LLTF_SUBCARRIERS.to_vec();
    p.csi.reserve(rows.len() * ESP32_LLTF_SUBCARRIERS.len());
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    let mut clock: Option<(u64, u64)> = None;
    for (i, r) in rows.iter().enumerate() {
        let seq = if by_seq {
            r.seq.unwrap_or_default()
        } else {
            i as u64
        };
        if !seen.insert(seq) {
            return Err(ImportError::Line {
                line: r.line,
                what: format!("seq {seq} appears a second time"),
            });
        }
        let t = match (r.local_timestamp, r.real_timestamp) {
            (Some(us), _) => {
                let ext = unwrap_counter(clock, u64::from(us), 32);
                clock = Some((ext, u64::from(us)));
                ext as f64 * 1e-6
            }
            (None, Some(s)) => s,
            (None, None) => f64::NAN,
        };
        p.seq.push(seq);
        p.t.push(t);
        p.csi.extend_from_slice(&r.lltf);
    }
    Ok(p)
}

fn trace_of(
    alice: Result<PartyTrace, ImportError>,
    bob: Result<PartyTrace, ImportError>,
    center_frequency_hz: f64,
    source: String,
) -> Result<CsiTrace, ImportError> {
    let trace = CsiTrace {
        kind: TraceKind::Csi,
        center_frequency_hz,
        bandwidth_hz: Some(20e6),
        source,
        parties: vec![alice?, bob?],
    };
    trace.validate()?;
    Ok(trace)
}

/// Pairing rule: by the `seq`/`id` column when both files have one, else by
/// order (the i-th `CSI_DATA` row of each file is exchange i).
fn pair_by_column(alice: &[Esp32Row], bob: &[Esp32Row]) -> bool {
    let has = |rows: &[Esp32Row]| !rows.is_empty() && rows.iter().all(|r| r.seq.is_some());
    has(alice) && has(bob)
}

/// The carrier: `center_frequency_hz` unless NaN, else the first row's `channel`.
fn carrier(alice: &[Esp32Row], bob: &[Esp32Row], center_frequency_hz: f64) -> f64 {
    if !center_frequency_hz.is_nan() {
        return center_frequency_hz;
    }
    alice
        .iter()
        .chain(bob)
        .next()
        .and_then(|r| r.channel)
        .and_then(channel_hz)
        .unwrap_or(f64::NAN)
}

/// Builds a CSI trace from both sides' rows (columns [`ESP32_LLTF_SUBCARRIERS`]).
///
/// `seq`: the `seq`/`id` column when both sides have it, else the row's
/// position. `t`: `local_timestamp` extended over its 32-bit wraps (s), else
/// `real_timestamp`, else `NaN`. Carrier: `center_frequency_hz`, or when that
/// is `NaN` the first row's `channel` (2.4 GHz band), else unknown.
///
/// # Errors
/// [`ImportError::File`] (path `alice`/`bob`) around an [`ImportError::Line`]
/// for a repeated `seq`; [`ImportError::Capture`] if the trace breaks the schema.
pub fn esp32_to_trace(
    alice: &[Esp32Row],
    bob: &[Esp32Row],
    center_frequency_hz: f64,
    source: &str,
) -> Result<CsiTrace, ImportError> {
    let by_seq = pair_by_column(alice, bob);
    trace_of(
        party("alice", alice, by_seq).map_err(|e| e.in_file(Path::new("alice"))),
        party("bob", bob, by_seq).map_err(|e| e.in_file(Path::new("bob"))),
        carrier(alice, bob, center_frequency_hz),
        source.to_owned(),
    )
}

/// `qwave import esp32`: reads both CSV files and writes the HDF5 trace `out`.
///
/// # Errors
/// As [`parse_esp32_csv`] and [`esp32_to_trace`], wrapped in
/// [`ImportError::File`] naming the file; [`ImportError::Capture`] on I/O.
pub fn import_esp32(
    alice: &Path,
    bob: &Path,
    out: &Path,
    center_frequency_hz: f64,
) -> Result<ImportSummary, ImportError> {
    let parse = |path: &Path| {
        read_text(path)
            .and_then(|t| parse_esp32_csv(&t))
            .map_err(|e| e.in_file(path))
    };
    let (a, b) = (parse(alice)?, parse(bob)?);
    let by_seq = pair_by_column(&a, &b);
    let trace = trace_of(
        party("alice", &a, by_seq).map_err(|e| e.in_file(alice)),
        party("bob", &b, by_seq).map_err(|e| e.in_file(bob)),
        carrier(&a, &b, center_frequency_hz),
        format!(
            "qwave import esp32: {} (alice), {} (bob); pairing by {}",
            alice.display(),
            bob.display(),
            if by_seq { "seq column" } else { "row order" }
        ),
    )?;
    write_trace(out, &trace)?;
    Ok(ImportSummary::of(&trace))
}
