//! RSSI logs: one value per line, or two columns (sequence number or time,
//! then the value), as plain text or CSV, one file per side.
//!
//! Rules (one parser for `qwave import rssi` and [`parse_rssi_text`]):
//! - Blank lines and lines starting with `#` are skipped.
//! - An optional header line (before any data; every field starts with a
//!   letter) names the columns. With two columns, the first name says what
//!   the first column is: `seq`, `index`, `idx`, `i`, `n`, `sample`, `count`
//!   (sequence number) or `t`, `time`, `timestamp`, `time_s`, `seconds`, `sec`,
//!   `s` (time in seconds).
//! - Without a header, a first column of strictly increasing unsigned integers
//!   is a sequence number, anything else a time in seconds.
//! - Columns are separated by whitespace, `;` or `,`. [`DecimalMark::Point`]:
//!   `,` always separates. [`DecimalMark::Comma`]: `,` is the decimal mark
//!   (`-32,144` = −32.144) and never separates. [`DecimalMark::Auto`]: a lone
//!   field with one `,` is a decimal comma when it reads as one number and
//!   the column count (header or first data line) allows it, else `,` separates.
//! - Every data line has the column count of the header or first data line;
//!   values must be finite as f32.

use std::path::Path;

use super::{read_text, ImportError, ImportSummary};
use crate::capture::{write_trace, CaptureError, CsiTrace, PartyTrace, TraceKind};

/// How `,` in numbers is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DecimalMark {
    /// Decide per line (see the module rules).
    #[default]
    Auto,
    /// `.` is the decimal mark; `,` separates columns.
    Point,
    /// `,` is the decimal mark (a `.` is also accepted); columns are separated by whitespace or `;`.
    Comma,
}

/// One side's log.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RssiLog {
    /// Values in dBm, one per data line.
    pub rssi: Vec<f32>,
    /// Sequence numbers, when the first column is one.
    pub seq: Option<Vec<u64>>,
    /// Times in seconds, when the first column is one.
    pub t: Option<Vec<f64>>,
    /// 1-based line of each value.
    pub lines: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq)]
enum First {
    Seq,
    Time,
}

const SEQ_NAMES: &[&str] = &["seq", "index", "idx", "i", "n", "sample", "count"];
const TIME_NAMES: &[&str] = &["t", "time", "timestamp", "time_s", "seconds", "sec", "s"];

fn is_header(line: &str) -> bool {
    let number_word = |f: &str| {
        let f = f.trim_start_matches(['+', '-']).to_ascii_lowercase();
        matches!(f.as_str(), "inf" | "infinity" | "nan")
    };
    let fields: Vec<&str> = split_all(line).collect();
    !fields.is_empty()
        && fields.iter().all(|f| {
            let f = f.trim_matches('"');
            f.starts_with(|c: char| c.is_ascii_alphabetic()) && !number_word(f)
        })
}

fn split_all(line: &str) -> impl Iterator<Item = &str> + '_ {
    line.split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .filter(|f| !f.is_empty())
}

/// Splits a data line into fields, or `None` if some field is not a number.
fn split_fields(line: &str, mark: DecimalMark, expected: Option<usize>) -> Option<Vec<&str>> {
    fn ok(fields: Vec<&str>) -> Option<Vec<&str>> {
        fields
            .iter()
            .all(|f| parse_number(f).is_some())
            .then_some(fields)
    }
    let by_space = || -> Vec<&str> {
        line.split(|c: char| c.is_whitespace() || c == ';')
            .filter(|f| !f.is_empty())
            .collect()
    };
    let by_comma = || -> Vec<&str> { line.split(',').map(str::trim).collect() };
    match mark {
        DecimalMark::Point => ok(split_all(line).collect()),
        DecimalMark::Comma => ok(by_space()),
        DecimalMark::Auto => {
            let fields = by_space();
            if let [one] = fields.as_slice() {
                if one.contains(',') {
                    let as_one = parse_number(one).is_some();
                    let split = one.contains('.') || one.matches(',').count() > 1 || !as_one;
                    let split = match expected {
                        Some(1) => false,
                        Some(_) => true,
                        None => split,
                    };
                    return if split { ok(by_comma()) } else { ok(fields) };
                }
            }
            ok(fields)
        }
    }
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

/// An unsigned integer literal (digits, optional leading `+`).
fn parse_index(s: &str) -> Option<u64> {
    let d = s.strip_prefix('+').unwrap_or(s);
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    d.parse().ok()
}

/// Parses one side's RSSI log (rules in the module documentation).
///
/// # Errors
/// [`ImportError::Line`] naming the 1-based line: a field that is not a
/// number, a column count other than the first line's or not 1 or 2, a
/// non-finite value, an unknown first-column name, a sequence number that is
/// not an unsigned integer or repeats.
pub fn parse_rssi_log(text: &str, mark: DecimalMark) -> Result<RssiLog, ImportError> {
    let mut log = RssiLog::default();
    let mut columns: Option<usize> = None;
    let mut first_kind: Option<First> = None;
    let mut first_col: Vec<&str> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |what: String| ImportError::Line { line: i + 1, what };
        if columns.is_none() && is_header(line) {
            let names: Vec<String> = split_all(line)
                .map(|f| f.trim_matches('"').to_ascii_lowercase())
                .collect();
            match names.as_slice() {
                [_] => {}
                [first, _] => {
                    first_kind = Some(if SEQ_NAMES.contains(&first.as_str()) {
                        First::Seq
                    } else if TIME_NAMES.contains(&first.as_str()) {
                        First::Time
                    } else {
                        return Err(err(format!(
                            "first column {first:?} is neither a sequence number ({}) nor a time ({})",
                            SEQ_NAMES.join(", "),
                            TIME_NAMES.join(", ")
                        )));
                    })
                }
                _ => {
                    return Err(err(format!(
                        "header names {} columns, expected 1 (value) or 2 (seq or time, value)",
                        names.len()
                    )))
                }
            }
            columns = Some(names.len());
            continue;
        }
        let fields = split_fields(line, mark, columns)
            .ok_or_else(|| err(format!("cannot read {line:?} as numbers")))?;
        let expected = *columns.get_or_insert(fields.len());
        if fields.len() != expected {
            return Err(err(format!(
                "{} columns, but the header or first data line has {expected}",
                fields.len()
            )));
        }
        if !(1..=2).contains(&fields.len()) {
            return Err(err(format!(
                "{} columns, expected 1 (value) or 2 (seq or time, value)",
                fields.len()
            )));
        }
        let last = fields[fields.len() - 1];
        let value = parse_number(last).unwrap_or(f64::NAN) as f32;
        if !value.is_finite() {
            return Err(err(format!("value {last} is not finite as f32")));
        }
        log.rssi.push(value);
        log.lines.push(i + 1);
        if fields.len() == 2 {
            first_col.push(fields[0]);
        }
    }
    if columns == Some(2) {
        finish_first_column(&mut log, &first_col, first_kind)?;
    }
    Ok(log)
}

fn finish_first_column(
    log: &mut RssiLog,
    first_col: &[&str],
    kind: Option<First>,
) -> Result<(), ImportError> {
    let kind = kind.unwrap_or_else(|| {
        let ints: Option<Vec<u64>> = first_col.iter().map(|f| parse_index(f)).collect();
        match ints {
            Some(v) if v.windows(2).all(|w| w[0] < w[1]) => First::Seq,
            _ => First::Time,
        }
    });
    let err = |k: usize, what: String| ImportError::Line {
        line: log.lines[k],
        what,
    };
    match kind {
        First::Seq => {
            let mut seq = Vec::with_capacity(first_col.len());
            let mut seen = std::collections::HashSet::with_capacity(first_col.len());
            for (k, f) in first_col.iter().enumerate() {
                let s = parse_index(f).ok_or_else(|| {
                    err(k, format!("sequence number {f} is not an unsigned integer"))
                })?;
                if !seen.insert(s) {
                    return Err(err(k, format!("sequence number {s} appears a second time")));
                }
                seq.push(s);
            }
            log.seq = Some(seq);
        }
        First::Time => {
            let mut t = Vec::with_capacity(first_col.len());
            for (k, f) in first_col.iter().enumerate() {
                match parse_number(f).filter(|x| x.is_finite()) {
                    Some(x) => t.push(x),
                    None => return Err(err(k, format!("time {f} is not a finite number"))),
                }
            }
            log.t = Some(t);
        }
    }
    Ok(())
}

/// The values of an RSSI log, with [`DecimalMark::Auto`] (the rules of [`parse_rssi_log`]).
///
/// # Errors
/// [`CaptureError::Parse`] naming the 1-based line and the problem.
pub fn parse_rssi_text(text: &str) -> Result<Vec<f32>, CaptureError> {
    parse_rssi_log(text, DecimalMark::Auto)
        .map(|log| log.rssi)
        .map_err(|e| match e {
            ImportError::Line { line, what } => CaptureError::Parse { line, what },
            other => CaptureError::Parse {
                line: 1,
                what: other.to_string(),
            },
        })
}

fn party(name: &str, log: &RssiLog, by_seq: bool) -> PartyTrace {
    let n = log.rssi.len();
    PartyTrace {
        seq: match (&log.seq, by_seq) {
            (Some(s), true) => s.clone(),
            _ => (0..n as u64).collect(),
        },
        t: log.t.clone().unwrap_or_else(|| vec![f64::NAN; n]),
        rssi: log.rssi.clone(),
        ..PartyTrace::new(name)
    }
}

/// Builds an RSSI-kind trace from both sides' logs (`alice` = Alice's
/// readings of Bob's probes). Pairing: by the sequence column when both logs
/// have one, else line i of each log is exchange i. `t` is the time column or
/// `NaN`; a longer side keeps its extra rows unpaired.
///
/// # Errors
/// [`ImportError::Capture`] if the result breaks the schema.
pub fn rssi_logs_to_trace(
    alice: &RssiLog,
    bob: &RssiLog,
    center_frequency_hz: f64,
    source: &str,
) -> Result<CsiTrace, ImportError> {
    let by_seq = alice.seq.is_some() && bob.seq.is_some();
    let trace = CsiTrace {
        kind: TraceKind::Rssi,
        center_frequency_hz,
        bandwidth_hz: None,
        source: source.to_owned(),
        parties: vec![party("alice", alice, by_seq), party("bob", bob, by_seq)],
    };
    trace.validate()?;
    Ok(trace)
}

/// Builds an RSSI-kind trace from two value series whose entry i is exchange i
/// (`seq` = i, `t` and the carrier `NaN`); a longer series keeps its extra rows unpaired.
pub fn rssi_pair_to_trace(alice: &[f32], bob: &[f32], source: &str) -> CsiTrace {
    let log = |rssi: &[f32]| RssiLog {
        rssi: rssi.to_vec(),
        ..RssiLog::default()
    };
    CsiTrace {
        kind: TraceKind::Rssi,
        center_frequency_hz: f64::NAN,
        bandwidth_hz: None,
        source: source.to_owned(),
        parties: vec![
            party("alice", &log(alice), false),
            party("bob", &log(bob), false),
        ],
    }
}

/// `qwave import rssi`: reads both logs and writes the HDF5 trace `out`.
///
/// # Errors
/// As [`parse_rssi_log`] wrapped in [`ImportError::File`] naming the log;
/// [`ImportError::Capture`] on I/O.
pub fn import_rssi(
    alice: &Path,
    bob: &Path,
    out: &Path,
    mark: DecimalMark,
    center_frequency_hz: f64,
) -> Result<ImportSummary, ImportError> {
    let parse = |path: &Path| {
        read_text(path)
            .and_then(|t| parse_rssi_log(&t, mark))
            .map_err(|e| e.in_file(path))
    };
    let (a, b) = (parse(alice)?, parse(bob)?);
    let trace = rssi_logs_to_trace(
        &a,
        &b,
        center_frequency_hz,
        &format!(
            "qwave import rssi: {} (alice), {} (bob)",
            alice.display(),
            bob.display()
        ),
    )?;
    write_trace(out, &trace)?;
    Ok(ImportSummary::of(&trace))
}
