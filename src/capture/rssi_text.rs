//! Plain-text RSSI logs (one probe per line, as logged by USRP TDD
//! experiments) and their conversion into an RSSI-kind [`CsiTrace`].

use super::{CaptureError, CsiTrace, PartyTrace, TraceKind};

/// Parses an RSSI log: one value per line, or two columns (index/time, value).
///
/// Columns are separated by whitespace, `;` or, when a line also has a `.`
/// decimal point (`"3,-32.5"`) or a decimal comma fails as one number
/// (`"3,-32"`), by `,`. A single `,` inside a number is a decimal comma
/// (`"-32,144"` = -32.144). Blank lines and lines starting with `#` are
/// skipped; every data line must have the column count of the first one.
/// Values must be finite.
///
/// # Errors
/// [`CaptureError::Parse`] naming the 1-based line and the problem.
pub fn parse_rssi_text(text: &str) -> Result<Vec<f32>, CaptureError> {
    let mut values = Vec::new();
    let mut columns = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |what: String| CaptureError::Parse { line: i + 1, what };
        let fields =
            split_fields(line).ok_or_else(|| err(format!("cannot read {line:?} as numbers")))?;
        let expected = *columns.get_or_insert(fields.len());
        if fields.len() != expected {
            return Err(err(format!(
                "{} columns, but the first data line has {expected}",
                fields.len()
            )));
        }
        if !(1..=2).contains(&fields.len()) {
            return Err(err(format!(
                "{} columns, expected 1 (value) or 2 (index, value)",
                fields.len()
            )));
        }
        let value = fields[fields.len() - 1] as f32;
        if !value.is_finite() {
            return Err(err(format!(
                "value {} is not finite as f32",
                fields[fields.len() - 1]
            )));
        }
        values.push(value);
    }
    Ok(values)
}

/// Splits a line into numbers, or `None` if some field is not a number.
fn split_fields(line: &str) -> Option<Vec<f64>> {
    let fields: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|f| !f.is_empty())
        .collect();
    if let [one] = fields.as_slice() {
        if one.contains(',') && (one.contains('.') || one.matches(',').count() > 1) {
            return one.split(',').map(|f| parse_number(f.trim())).collect();
        }
        if let Some(v) = parse_number(one) {
            return Some(vec![v]);
        }
        if one.contains(',') {
            return one.split(',').map(|f| parse_number(f.trim())).collect();
        }
        return None;
    }
    fields.into_iter().map(parse_number).collect()
}

/// A decimal number with `.` or a single `,` as decimal mark (no `inf`/`nan` words).
fn parse_number(s: &str) -> Option<f64> {
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b',' | b'e' | b'E'))
    {
        return None;
    }
    if s.matches(',').count() > 1 || (s.contains(',') && s.contains('.')) {
        return None;
    }
    s.replace(',', ".").parse().ok()
}

/// Builds an RSSI-kind trace from two logs whose line i is exchange i
/// (`alice` = SDR1's Bob→Alice readings, `bob` = SDR2's Alice→Bob readings).
///
/// `seq` is the line index; a longer series keeps its extra rows unpaired.
/// The logs carry no timing or carrier: `t` and `center_frequency_hz` are
/// `NaN` (unknown) — set `center_frequency_hz` when known.
pub fn rssi_pair_to_trace(alice: &[f32], bob: &[f32], source: &str) -> CsiTrace {
    let party = |name: &str, rssi: &[f32]| PartyTrace {
        seq: (0..rssi.len() as u64).collect(),
        t: vec![f64::NAN; rssi.len()],
        rssi: rssi.to_vec(),
        ..PartyTrace::new(name)
    };
    CsiTrace {
        kind: TraceKind::Rssi,
        center_frequency_hz: f64::NAN,
        bandwidth_hz: None,
        source: source.to_owned(),
        parties: vec![party("alice", alice), party("bob", bob)],
    }
}
