//! The alist text format for sparse parity-check matrices (D. J. C. MacKay,
//! "Encyclopedia of sparse graph codes", format description "alist"), and
//! its conversion to and from quasi-cyclic codes.
//!
//! ```text
//! n m
//! max_column_degree max_row_degree
//! degree of each column (n numbers)
//! degree of each row (m numbers)
//! n lines: 1-based row indices of the ones of each column (zero padded)
//! m lines: 1-based column indices of the ones of each row (zero padded)
//! ```
//!
//! The parser takes whitespace-separated tokens (line breaks are not
//! significant), accepts lists with or without the zero padding, and checks
//! that the row lists are exactly the transpose of the column lists.

use super::codes::QcCode;
use std::fmt::Write as _;

/// Largest n or m the parser accepts (guards allocations against hostile headers).
pub const MAX_DIM: usize = 1 << 22;

/// Why an alist text is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlistError {
    /// The text ended before the item named.
    #[error("alist ends early (reading {0})")]
    UnexpectedEnd(&'static str),
    /// A token is not a decimal number.
    #[error("token {index} is not a number")]
    NotANumber {
        /// Token position (0-based).
        index: usize,
    },
    /// n or m is zero or larger than [`MAX_DIM`].
    #[error("dimensions {n} x {m} out of range")]
    Dimensions {
        /// Columns.
        n: usize,
        /// Rows.
        m: usize,
    },
    /// A degree exceeds the stated maximum or the other dimension.
    #[error("degree {degree} of {what} {index} out of range")]
    Degree {
        /// "column" or "row".
        what: &'static str,
        /// Index (0-based).
        index: usize,
        /// The degree given.
        degree: usize,
    },
    /// An index in a list is outside 1..=n or 1..=m.
    #[error("index {value} in the list of {what} {index} out of range")]
    Index {
        /// "column" or "row".
        what: &'static str,
        /// List number (0-based).
        index: usize,
        /// The value given (1-based).
        value: usize,
    },
    /// A list names the same index twice.
    #[error("{what} {index} lists an index twice")]
    Duplicate {
        /// "column" or "row".
        what: &'static str,
        /// List number (0-based).
        index: usize,
    },
    /// The row lists are not the transpose of the column lists.
    #[error("row lists disagree with column lists")]
    Inconsistent,
    /// Tokens follow the last row list.
    #[error("trailing data after the last row list")]
    Trailing,
    /// The matrix is not made of Z×Z circulant permutation blocks.
    #[error("not quasi-cyclic with circulant size {z}")]
    NotQuasiCyclic {
        /// Circulant size asked for.
        z: usize,
    },
}

/// A sparse binary matrix as read from an alist file: 0-based row indices
/// per column, sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alist {
    /// Number of rows (checks).
    pub m: usize,
    /// Row indices of the ones of each column (n lists).
    pub columns: Vec<Vec<u32>>,
}

struct Tokens<'a> {
    it: std::str::SplitAsciiWhitespace<'a>,
    index: usize,
    peeked: Option<usize>,
}

impl Tokens<'_> {
    fn next(&mut self, what: &'static str) -> Result<usize, AlistError> {
        if let Some(v) = self.peeked.take() {
            return Ok(v);
        }
        let t = self.it.next().ok_or(AlistError::UnexpectedEnd(what))?;
        let i = self.index;
        self.index += 1;
        if t.len() > 9 {
            return Err(AlistError::NotANumber { index: i });
        }
        t.parse().map_err(|_| AlistError::NotANumber { index: i })
    }

    /// Consumes zero tokens (padding); stops at the first non-zero one.
    fn skip_zeros(&mut self) -> Result<(), AlistError> {
        while self.peeked.is_none() {
            match self.it.clone().next() {
                None => return Ok(()),
                Some(_) => {
                    let v = self.next("padding")?;
                    if v != 0 {
                        self.peeked = Some(v);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Reads `count` lists, list `i` of `degrees[i]` distinct 1-based indices ≤ `bound`.
fn lists(
    t: &mut Tokens<'_>,
    degrees: &[usize],
    bound: usize,
    what: &'static str,
) -> Result<Vec<Vec<u32>>, AlistError> {
    let mut out = Vec::with_capacity(degrees.len());
    for (index, &d) in degrees.iter().enumerate() {
        t.skip_zeros()?;
        let mut l = Vec::with_capacity(d.min(256));
        for _ in 0..d {
            let value = t.next(what)?;
            if value == 0 || value > bound {
                return Err(AlistError::Index { what, index, value });
            }
            l.push((value - 1) as u32);
        }
        l.sort_unstable();
        if l.windows(2).any(|w| w[0] == w[1]) {
            return Err(AlistError::Duplicate { what, index });
        }
        out.push(l);
    }
    Ok(out)
}

impl Alist {
    /// Parses alist text.
    ///
    /// # Errors
    /// An [`AlistError`] naming the first problem found.
    pub fn parse(text: &str) -> Result<Alist, AlistError> {
        let mut t = Tokens {
            it: text.split_ascii_whitespace(),
            index: 0,
            peeked: None,
        };
        let n = t.next("n")?;
        let m = t.next("m")?;
        if n == 0 || m == 0 || n > MAX_DIM || m > MAX_DIM {
            return Err(AlistError::Dimensions { n, m });
        }
        let max_c = t.next("max column degree")?;
        let max_r = t.next("max row degree")?;
        let mut read_degrees = |count: usize, max: usize, other: usize, what: &'static str| {
            let mut v = Vec::new();
            for index in 0..count {
                let degree = t.next(what)?;
                if degree > max || degree > other {
                    return Err(AlistError::Degree {
                        what,
                        index,
                        degree,
                    });
                }
                v.push(degree);
            }
            Ok(v)
        };
        let dc = read_degrees(n, max_c, m, "column")?;
        let dr = read_degrees(m, max_r, n, "row")?;
        let columns = lists(&mut t, &dc, m, "column")?;
        let rows = lists(&mut t, &dr, n, "row")?;
        t.skip_zeros()?;
        if t.peeked.is_some() || t.it.next().is_some() {
            return Err(AlistError::Trailing);
        }
        // The row lists must be the transpose of the column lists.
        let mut transposed: Vec<Vec<u32>> = vec![Vec::new(); m];
        for (j, col) in columns.iter().enumerate() {
            for &i in col {
                transposed[i as usize].push(j as u32);
            }
        }
        if transposed != rows {
            return Err(AlistError::Inconsistent);
        }
        Ok(Alist { m, columns })
    }

    /// Number of columns n.
    pub fn n(&self) -> usize {
        self.columns.len()
    }

    /// Alist text of this matrix (zero padded, one list per line).
    pub fn to_text(&self) -> String {
        let n = self.n();
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); self.m];
        for (j, col) in self.columns.iter().enumerate() {
            for &i in col {
                rows[i as usize].push(j as u32);
            }
        }
        let max_c = self.columns.iter().map(Vec::len).max().unwrap_or(0);
        let max_r = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut s = String::new();
        let _ = writeln!(s, "{n} {}", self.m);
        let _ = writeln!(s, "{max_c} {max_r}");
        let degs = |l: &[Vec<u32>]| {
            l.iter()
                .map(|v| v.len().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(s, "{}", degs(&self.columns));
        let _ = writeln!(s, "{}", degs(&rows));
        for (lists, width) in [(&self.columns, max_c), (&rows, max_r)] {
            for l in lists.iter() {
                let mut line: Vec<String> = l.iter().map(|&i| (i + 1).to_string()).collect();
                line.resize(width, "0".to_string());
                let _ = writeln!(s, "{}", line.join(" "));
            }
        }
        s
    }

    /// The alist form of a quasi-cyclic code.
    pub fn from_qc(code: &QcCode) -> Alist {
        let z = code.z();
        let mut columns: Vec<Vec<u32>> = vec![Vec::new(); code.n()];
        for i in 0..code.block_rows() {
            for (c, s) in code.row(i) {
                for r in 0..z {
                    columns[c * z + (r + s) % z].push((i * z + r) as u32);
                }
            }
        }
        for c in &mut columns {
            c.sort_unstable();
        }
        Alist {
            m: code.m(),
            columns,
        }
    }

    /// Recovers the quasi-cyclic structure with circulant size `z`: every
    /// Z×Z block must be zero or a cyclically shifted identity (the
    /// convention of [`QcCode`]: row `r` of a block with shift `s` has its one
    /// in column `(r + s) mod z`).
    ///
    /// # Errors
    /// [`AlistError::NotQuasiCyclic`] if the sizes are not multiples of `z`
    /// or some block is not a circulant permutation.
    pub fn to_qc(&self, name: &str, z: usize) -> Result<QcCode, AlistError> {
        let bad = AlistError::NotQuasiCyclic { z };
        let n = self.n();
        if z == 0 || !n.is_multiple_of(z) || !self.m.is_multiple_of(z) {
            return Err(bad);
        }
        let (nb, mb) = (n / z, self.m / z);
        let mut rows: Vec<Vec<(u32, u32)>> = vec![Vec::new(); mb];
        for j in 0..nb {
            // Column j·z (t = 0) meets row i·z + r of block (i, j) ⇒ s = (z − r) mod z.
            for &row in &self.columns[j * z] {
                let (i, r) = (row as usize / z, row as usize % z);
                rows[i].push((j as u32, ((z - r) % z) as u32));
            }
        }
        let code = QcCode::from_rows(name, z, nb, &rows).map_err(|_| bad.clone())?;
        if Alist::from_qc(&code) != *self {
            return Err(bad);
        }
        Ok(code)
    }
}
