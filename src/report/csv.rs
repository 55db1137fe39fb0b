//! Minimal CSV output (RFC 4180: comma-separated, header row, text fields
//! quoted when they contain a comma, quote or newline). Missing numbers are
//! empty fields.

use std::io::Write;
use std::path::Path;

use super::ReportError;

/// One CSV cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// A number (NaN and infinities are written as an empty field).
    Num(f64),
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// No value.
    Empty,
}

impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::Num(v)
    }
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Cell::Empty, Cell::Num)
    }
}

impl From<u64> for Cell {
    fn from(v: u64) -> Self {
        Cell::Int(v as i64)
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_owned())
    }
}

fn write_cell(out: &mut String, c: &Cell) {
    use std::fmt::Write as _;
    match c {
        Cell::Num(v) if v.is_finite() => {
            let _ = write!(out, "{v}");
        }
        Cell::Num(_) | Cell::Empty => {}
        Cell::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Cell::Text(t) if t.contains([',', '"', '\n', '\r']) => {
            out.push('"');
            out.push_str(&t.replace('"', "\"\""));
            out.push('"');
        }
        Cell::Text(t) => out.push_str(t),
    }
}

/// Writes `header` and `rows` to `path`.
///
/// # Errors
/// [`ReportError::Io`] when the file cannot be written; [`ReportError::Input`]
/// when a row's length differs from the header's.
pub fn write(path: &Path, header: &[&str], rows: &[Vec<Cell>]) -> Result<(), ReportError> {
    let mut s = header.join(",");
    s.push('\n');
    for (i, r) in rows.iter().enumerate() {
        if r.len() != header.len() {
            return Err(ReportError::Input(format!(
                "{}: row {i} has {} cells, the header {}",
                path.display(),
                r.len(),
                header.len()
            )));
        }
        for (j, c) in r.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            write_cell(&mut s, c);
        }
        s.push('\n');
    }
    let mut f = std::fs::File::create(path).map_err(|e| ReportError::io(path, e))?;
    f.write_all(s.as_bytes())
        .map_err(|e| ReportError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_empty_cells() {
        let mut s = String::new();
        write_cell(&mut s, &Cell::Text("a,\"b\"".into()));
        s.push(',');
        write_cell(&mut s, &Cell::Num(f64::NAN));
        s.push(',');
        write_cell(&mut s, &Cell::Num(0.25));
        assert_eq!(s, "\"a,\"\"b\"\"\",,0.25");
    }
}
