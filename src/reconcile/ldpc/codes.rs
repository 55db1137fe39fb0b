//! Quasi-cyclic LDPC codes: the IEEE 802.11n family and the parity-check
//! arithmetic (syndrome, encoder) shared by both roles.
//!
//! The base matrices are those of IEEE Std 802.11-2020 Annex F (first
//! published as 802.11n-2009 Annex R): 24 block columns, circulant size
//! Z = 27, 54, 81 for n = 648, 1296, 1944, rates 1/2, 2/3, 3/4, 5/6. Entry
//! `-1` is the all-zero Z×Z block; entry `s ≥ 0` is the identity cyclically
//! shifted right by `s`, i.e. row `r` of block (i, j) has its one in column
//! `j·Z + (r + s) mod Z`.

/// Why a parity-check matrix cannot be built or used as asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// A shift is not smaller than the circulant size, or a row names a column outside the matrix.
    #[error("base matrix entry out of range")]
    EntryOutOfRange,
    /// A buffer has the wrong length for this code.
    #[error("length {got} does not match the code ({want})")]
    Length {
        /// Length the code needs.
        want: usize,
        /// Length given.
        got: usize,
    },
    /// The parity part is not the 802.11n dual-diagonal form, so the
    /// back-substitution encoder does not apply.
    #[error("parity part is not dual-diagonal; no systematic encoder")]
    NotDualDiagonal,
    /// An alist file is malformed.
    #[error("malformed alist: {0}")]
    Alist(&'static str),
}

/// Code rate of an IEEE 802.11n LDPC code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rate {
    /// Rate 1/2 (12 × 24 base matrix).
    R12,
    /// Rate 2/3 (8 × 24).
    R23,
    /// Rate 3/4 (6 × 24).
    R34,
    /// Rate 5/6 (4 × 24).
    R56,
}

impl Rate {
    /// All rates, lowest first.
    pub const ALL: [Rate; 4] = [Rate::R12, Rate::R23, Rate::R34, Rate::R56];

    /// The rate as a fraction (numerator, denominator).
    pub fn fraction(self) -> (usize, usize) {
        match self {
            Rate::R12 => (1, 2),
            Rate::R23 => (2, 3),
            Rate::R34 => (3, 4),
            Rate::R56 => (5, 6),
        }
    }
}

/// Block length of an IEEE 802.11n LDPC code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Length {
    /// n = 648, Z = 27.
    N648,
    /// n = 1296, Z = 54.
    N1296,
    /// n = 1944, Z = 81.
    N1944,
}

impl Length {
    /// All lengths, shortest first.
    pub const ALL: [Length; 3] = [Length::N648, Length::N1296, Length::N1944];

    /// Codeword length in bits.
    pub fn bits(self) -> usize {
        24 * self.z()
    }

    /// Circulant size Z.
    pub fn z(self) -> usize {
        match self {
            Length::N648 => 27,
            Length::N1296 => 54,
            Length::N1944 => 81,
        }
    }
}

/// A quasi-cyclic binary LDPC code given by a base matrix of circulant shifts,
/// stored row by row as (block column, shift) pairs (contiguous, for the
/// layered decoder, which treats each block row as one layer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QcCode {
    name: String,
    z: usize,
    block_cols: usize,
    /// `row_start[i]..row_start[i + 1]` indexes the entries of block row `i`.
    row_start: Vec<usize>,
    cols: Vec<u32>,
    shifts: Vec<u32>,
}

impl QcCode {
    /// Builds a code from block rows of (block column, shift) entries.
    ///
    /// # Errors
    /// [`CodeError::EntryOutOfRange`] if a shift is ≥ `z` or a column ≥ `block_cols`.
    pub fn from_rows(
        name: impl Into<String>,
        z: usize,
        block_cols: usize,
        rows: &[Vec<(u32, u32)>],
    ) -> Result<Self, CodeError> {
        let mut c = QcCode {
            name: name.into(),
            z,
            block_cols,
            row_start: vec![0],
            cols: Vec::new(),
            shifts: Vec::new(),
        };
        if z == 0 {
            return Err(CodeError::EntryOutOfRange);
        }
        for row in rows {
            for &(col, s) in row {
                if col as usize >= block_cols || s as usize >= z {
                    return Err(CodeError::EntryOutOfRange);
                }
                c.cols.push(col);
                c.shifts.push(s);
            }
            c.row_start.push(c.cols.len());
        }
        Ok(c)
    }

    /// The IEEE 802.11n code of `length` and `rate` (IEEE 802.11-2020 Annex F).
    pub fn ieee80211n(length: Length, rate: Rate) -> Self {
        let base: &[[i8; 24]] = match (length, rate) {
            (Length::N648, Rate::R12) => &H648_R12,
            (Length::N648, Rate::R23) => &H648_R23,
            (Length::N648, Rate::R34) => &H648_R34,
            (Length::N648, Rate::R56) => &H648_R56,
            (Length::N1296, Rate::R12) => &H1296_R12,
            (Length::N1296, Rate::R23) => &H1296_R23,
            (Length::N1296, Rate::R34) => &H1296_R34,
            (Length::N1296, Rate::R56) => &H1296_R56,
            (Length::N1944, Rate::R12) => &H1944_R12,
            (Length::N1944, Rate::R23) => &H1944_R23,
            (Length::N1944, Rate::R34) => &H1944_R34,
            (Length::N1944, Rate::R56) => &H1944_R56,
        };
        let (a, b) = rate.fraction();
        let z = length.z();
        let mut c = QcCode {
            name: format!("802.11n n={} R={a}/{b}", length.bits()),
            z,
            block_cols: 24,
            row_start: vec![0],
            cols: Vec::new(),
            shifts: Vec::new(),
        };
        for row in base {
            for (j, &s) in row.iter().enumerate() {
                if s >= 0 {
                    c.cols.push(j as u32);
                    // Annex F shifts are all below Z (checked by the tests).
                    c.shifts.push(s as u32 % z as u32);
                }
            }
            c.row_start.push(c.cols.len());
        }
        c
    }

    /// Human-readable name, e.g. `802.11n n=1944 R=1/2`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Circulant size Z.
    pub fn z(&self) -> usize {
        self.z
    }

    /// Number of block rows (layers).
    pub fn block_rows(&self) -> usize {
        self.row_start.len() - 1
    }

    /// Number of block columns.
    pub fn block_cols(&self) -> usize {
        self.block_cols
    }

    /// Codeword length n.
    pub fn n(&self) -> usize {
        self.block_cols * self.z
    }

    /// Number of parity checks m (syndrome length).
    pub fn m(&self) -> usize {
        self.block_rows() * self.z
    }

    /// Design dimension k = n − m (the true dimension if H has full rank).
    pub fn k(&self) -> usize {
        self.n() - self.m()
    }

    /// Number of ones in H.
    pub fn edges(&self) -> usize {
        self.cols.len() * self.z
    }

    /// Entries (block column, shift) of block row `i`.
    pub fn row(&self, i: usize) -> impl ExactSizeIterator<Item = (usize, usize)> + '_ {
        let r = self.row_start[i]..self.row_start[i + 1];
        self.cols[r.clone()]
            .iter()
            .zip(&self.shifts[r])
            .map(|(&c, &s)| (c as usize, s as usize))
    }

    /// Per block column, its (block row, shift mod z) entries, in block-row order.
    pub fn column_entries(&self) -> Vec<Vec<(usize, usize)>> {
        let mut column = vec![Vec::new(); self.block_cols()];
        for i in 0..self.block_rows() {
            for (j, s) in self.row(i) {
                column[j].push((i, s % self.z));
            }
        }
        column
    }

    /// The check that entry (block row `i`, shift `s` < z) joins to lane `t`
    /// of its block column (as [`Self::syndrome`] computes it).
    pub fn check_of(&self, i: usize, s: usize, t: usize) -> usize {
        i * self.z + (t + self.z - s) % self.z
    }

    /// Syndrome `s = H·x` of `word` (one byte 0/1 per bit) into `out` (m bytes).
    ///
    /// # Errors
    /// [`CodeError::Length`] if `word` is not n long or `out` not m long.
    pub fn syndrome(&self, word: &[u8], out: &mut [u8]) -> Result<(), CodeError> {
        check_len(self.n(), word.len())?;
        check_len(self.m(), out.len())?;
        let z = self.z;
        out.fill(0);
        for i in 0..self.block_rows() {
            let acc = &mut out[i * z..(i + 1) * z];
            for (c, s) in self.row(i) {
                let v = &word[c * z..(c + 1) * z];
                // acc[r] ^= v[(r + s) mod z]
                let (head, tail) = v.split_at(s);
                for (a, &x) in acc.iter_mut().zip(tail.iter().chain(head)) {
                    *a ^= x & 1;
                }
            }
        }
        Ok(())
    }

    /// True if `word` has syndrome `target` (`H·word = target`; false for
    /// wrong lengths).
    pub fn is_codeword_for(&self, word: &[u8], target: &[u8]) -> bool {
        let mut s = vec![0u8; self.m()];
        let ok = self.syndrome(word, &mut s).is_ok() && s == target;
        zeroize::Zeroize::zeroize(&mut s);
        ok
    }

    /// True if `word` satisfies every parity check.
    pub fn is_codeword(&self, word: &[u8]) -> bool {
        let mut s = vec![0u8; self.m()];
        self.syndrome(word, &mut s).is_ok() && s.iter().all(|&b| b == 0)
    }

    /// Systematic encoder for the 802.11n structure: `info` (k bits) fills the
    /// first k positions, the parity blocks follow by back substitution over
    /// the dual-diagonal parity part (IEEE 802.11-2020 §19.3.11.7.4 describes
    /// the same structure).
    ///
    /// # Errors
    /// [`CodeError::Length`] for a wrong `info` length,
    /// [`CodeError::NotDualDiagonal`] if the parity part is not of that form.
    pub fn encode(&self, info: &[u8]) -> Result<Vec<u8>, CodeError> {
        check_len(self.k(), info.len())?;
        let (z, mb, kb) = (
            self.z,
            self.block_rows(),
            self.block_cols - self.block_rows(),
        );
        // Expected structure: column kb has shift a in rows 0 and mb−1 and
        // shift 0 in one middle row; columns kb+1.. are the dual diagonal.
        let mut p0_rows = Vec::new();
        for i in 0..mb {
            for (c, s) in self.row(i) {
                if c == kb {
                    p0_rows.push((i, s));
                } else if c > kb {
                    let j = c - kb; // parity block j sits in rows j−1 and j
                    if s != 0 || !(i + 1 == j || i == j) {
                        return Err(CodeError::NotDualDiagonal);
                    }
                }
            }
        }
        if p0_rows.len() != 3
            || p0_rows[0].0 != 0
            || p0_rows[2].0 != mb - 1
            || p0_rows[0].1 != p0_rows[2].1
            || p0_rows[1].1 != 0
        {
            return Err(CodeError::NotDualDiagonal);
        }
        let mut word = vec![0u8; self.n()];
        word[..self.k()].copy_from_slice(info);
        for b in &mut word[..self.k()] {
            *b &= 1;
        }
        // λ_i: contribution of the information part to block row i.
        let mut lambda = vec![0u8; self.m()];
        for i in 0..mb {
            let acc = &mut lambda[i * z..(i + 1) * z];
            for (c, s) in self.row(i).filter(|&(c, _)| c < kb) {
                let v = &word[c * z..(c + 1) * z];
                let (head, tail) = v.split_at(s);
                for (a, &x) in acc.iter_mut().zip(tail.iter().chain(head)) {
                    *a ^= x;
                }
            }
        }
        // Summing all block rows cancels the dual diagonal and the two equal
        // shifts of p0, leaving p0 = Σ λ_i.
        let mut p0 = vec![0u8; z];
        for i in 0..mb {
            for (a, &x) in p0.iter_mut().zip(&lambda[i * z..(i + 1) * z]) {
                *a ^= x;
            }
        }
        word[kb * z..(kb + 1) * z].copy_from_slice(&p0);
        // Row i: λ_i + P^{s_i} p0 + p_i + p_{i+1} = 0 gives p_{i+1}.
        for i in 0..mb - 1 {
            let mut acc = lambda[i * z..(i + 1) * z].to_vec();
            if let Some(&(_, s)) = p0_rows.iter().find(|&&(r, _)| r == i) {
                let (head, tail) = p0.split_at(s);
                for (a, &x) in acc.iter_mut().zip(tail.iter().chain(head)) {
                    *a ^= x;
                }
            }
            if i >= 1 {
                let prev = &word[(kb + i) * z..(kb + i + 1) * z];
                for (a, &x) in acc.iter_mut().zip(prev) {
                    *a ^= x;
                }
            }
            word[(kb + i + 1) * z..(kb + i + 2) * z].copy_from_slice(&acc);
        }
        Ok(word)
    }
}

fn check_len(want: usize, got: usize) -> Result<(), CodeError> {
    if want == got {
        Ok(())
    } else {
        Err(CodeError::Length { want, got })
    }
}

// IEEE Std 802.11-2020 Annex F, Tables F-1 to F-3 (base matrices; -1 = zero block).
const H648_R12: [[i8; 24]; 12] = [
    [
        0, -1, -1, -1, 0, 0, -1, -1, 0, -1, -1, 0, 1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    [
        22, 0, -1, -1, 17, -1, 0, 0, 12, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    [
        6, -1, 0, -1, 10, -1, -1, -1, 24, -1, 0, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    [
        2, -1, -1, 0, 20, -1, -1, -1, 25, 0, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1,
    ],
    [
        23, -1, -1, -1, 3, -1, -1, -1, 0, -1, 9, 11, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1,
    ],
    [
        24, -1, 23, 1, 17, -1, 3, -1, 10, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1,
    ],
    [
        25, -1, -1, -1, 8, -1, -1, -1, 7, 18, -1, -1, 0, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1,
    ],
    [
        13, 24, -1, -1, 0, -1, 8, -1, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1,
    ],
    [
        7, 20, -1, 16, 22, 10, -1, -1, 23, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1,
    ],
    [
        11, -1, -1, -1, 19, -1, -1, -1, 13, -1, 3, 17, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1,
    ],
    [
        25, -1, 8, -1, 23, 18, -1, 14, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0,
    ],
    [
        3, -1, -1, -1, 16, -1, -1, 2, 25, 5, -1, -1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0,
    ],
];
const H648_R23: [[i8; 24]; 8] = [
    [
        25, 26, 14, -1, 20, -1, 2, -1, 4, -1, -1, 8, -1, 16, -1, 18, 1, 0, -1, -1, -1, -1, -1, -1,
    ],
    [
        10, 9, 15, 11, -1, 0, -1, 1, -1, -1, 18, -1, 8, -1, 10, -1, -1, 0, 0, -1, -1, -1, -1, -1,
    ],
    [
        16, 2, 20, 26, 21, -1, 6, -1, 1, 26, -1, 7, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1,
    ],
    [
        10, 13, 5, 0, -1, 3, -1, 7, -1, -1, 26, -1, -1, 13, -1, 16, -1, -1, -1, 0, 0, -1, -1, -1,
    ],
    [
        23, 14, 24, -1, 12, -1, 19, -1, 17, -1, -1, -1, 20, -1, 21, -1, 0, -1, -1, -1, 0, 0, -1, -1,
    ],
    [
        6, 22, 9, 20, -1, 25, -1, 17, -1, 8, -1, 14, -1, 18, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1,
    ],
    [
        14, 23, 21, 11, 20, -1, 24, -1, 18, -1, 19, -1, -1, -1, -1, 22, -1, -1, -1, -1, -1, -1, 0,
        0,
    ],
    [
        17, 11, 11, 20, -1, 21, -1, 26, -1, 3, -1, -1, 18, -1, 26, -1, 1, -1, -1, -1, -1, -1, -1, 0,
    ],
];
const H648_R34: [[i8; 24]; 6] = [
    [
        16, 17, 22, 24, 9, 3, 14, -1, 4, 2, 7, -1, 26, -1, 2, -1, 21, -1, 1, 0, -1, -1, -1, -1,
    ],
    [
        25, 12, 12, 3, 3, 26, 6, 21, -1, 15, 22, -1, 15, -1, 4, -1, -1, 16, -1, 0, 0, -1, -1, -1,
    ],
    [
        25, 18, 26, 16, 22, 23, 9, -1, 0, -1, 4, -1, 4, -1, 8, 23, 11, -1, -1, -1, 0, 0, -1, -1,
    ],
    [
        9, 7, 0, 1, 17, -1, -1, 7, 3, -1, 3, 23, -1, 16, -1, -1, 21, -1, 0, -1, -1, 0, 0, -1,
    ],
    [
        24, 5, 26, 7, 1, -1, -1, 15, 24, 15, -1, 8, -1, 13, -1, 13, -1, 11, -1, -1, -1, -1, 0, 0,
    ],
    [
        2, 2, 19, 14, 24, 1, 15, 19, -1, 21, -1, 2, -1, 24, -1, 3, -1, 2, 1, -1, -1, -1, -1, 0,
    ],
];
const H648_R56: [[i8; 24]; 4] = [
    [
        17, 13, 8, 21, 9, 3, 18, 12, 10, 0, 4, 15, 19, 2, 5, 10, 26, 19, 13, 13, 1, 0, -1, -1,
    ],
    [
        3, 12, 11, 14, 11, 25, 5, 18, 0, 9, 2, 26, 26, 10, 24, 7, 14, 20, 4, 2, -1, 0, 0, -1,
    ],
    [
        22, 16, 4, 3, 10, 21, 12, 5, 21, 14, 19, 5, -1, 8, 5, 18, 11, 5, 5, 15, 0, -1, 0, 0,
    ],
    [
        7, 7, 14, 14, 4, 16, 16, 24, 24, 10, 1, 7, 15, 6, 10, 26, 8, 18, 21, 14, 1, -1, -1, 0,
    ],
];
const H1296_R12: [[i8; 24]; 12] = [
    [
        40, -1, -1, -1, 22, -1, 49, 23, 43, -1, -1, -1, 1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1,
    ],
    [
        50, 1, -1, -1, 48, 35, -1, -1, 13, -1, 30, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    [
        39, 50, -1, -1, 4, -1, 2, -1, -1, -1, -1, 49, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    [
        33, -1, -1, 38, 37, -1, -1, 4, 1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1,
    ],
    [
        45, -1, -1, -1, 0, 22, -1, -1, 20, 42, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1,
    ],
    [
        51, -1, -1, 48, 35, -1, -1, -1, 44, -1, 18, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1,
        -1,
    ],
    [
        47, 11, -1, -1, -1, 17, -1, -1, 51, -1, -1, -1, 0, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1,
    ],
    [
        5, -1, 25, -1, 6, -1, 45, -1, 13, 40, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1,
    ],
    [
        33, -1, -1, 34, 24, -1, -1, -1, 23, -1, -1, 46, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1,
        -1,
    ],
    [
        1, -1, 27, -1, 1, -1, -1, -1, 38, -1, 44, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1,
    ],
    [
        -1, 18, -1, -1, 23, -1, -1, 8, 0, 35, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0,
    ],
    [
        49, -1, 17, -1, 30, -1, -1, -1, 34, -1, -1, 19, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        0,
    ],
];
const H1296_R23: [[i8; 24]; 8] = [
    [
        39, 31, 22, 43, -1, 40, 4, -1, 11, -1, -1, 50, -1, -1, -1, 6, 1, 0, -1, -1, -1, -1, -1, -1,
    ],
    [
        25, 52, 41, 2, 6, -1, 14, -1, 34, -1, -1, -1, 24, -1, 37, -1, -1, 0, 0, -1, -1, -1, -1, -1,
    ],
    [
        43, 31, 29, 0, 21, -1, 28, -1, -1, 2, -1, -1, 7, -1, 17, -1, -1, -1, 0, 0, -1, -1, -1, -1,
    ],
    [
        20, 33, 48, -1, 4, 13, -1, 26, -1, -1, 22, -1, -1, 46, 42, -1, -1, -1, -1, 0, 0, -1, -1, -1,
    ],
    [
        45, 7, 18, 51, 12, 25, -1, -1, -1, 50, -1, -1, 5, -1, -1, -1, 0, -1, -1, -1, 0, 0, -1, -1,
    ],
    [
        35, 40, 32, 16, 5, -1, -1, 18, -1, -1, 43, 51, -1, 32, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1,
    ],
    [
        9, 24, 13, 22, 28, -1, -1, 37, -1, -1, 25, -1, -1, 52, -1, 13, -1, -1, -1, -1, -1, -1, 0, 0,
    ],
    [
        32, 22, 4, 21, 16, -1, -1, -1, 27, 28, -1, 38, -1, -1, -1, 8, 1, -1, -1, -1, -1, -1, -1, 0,
    ],
];
const H1296_R34: [[i8; 24]; 6] = [
    [
        39, 40, 51, 41, 3, 29, 8, 36, -1, 14, -1, 6, -1, 33, -1, 11, -1, 4, 1, 0, -1, -1, -1, -1,
    ],
    [
        48, 21, 47, 9, 48, 35, 51, -1, 38, -1, 28, -1, 34, -1, 50, -1, 50, -1, -1, 0, 0, -1, -1, -1,
    ],
    [
        30, 39, 28, 42, 50, 39, 5, 17, -1, 6, -1, 18, -1, 20, -1, 15, -1, 40, -1, -1, 0, 0, -1, -1,
    ],
    [
        29, 0, 1, 43, 36, 30, 47, -1, 49, -1, 47, -1, 3, -1, 35, -1, 34, -1, 0, -1, -1, 0, 0, -1,
    ],
    [
        1, 32, 11, 23, 10, 44, 12, 7, -1, 48, -1, 4, -1, 9, -1, 17, -1, 16, -1, -1, -1, -1, 0, 0,
    ],
    [
        13, 7, 15, 47, 23, 16, 47, -1, 43, -1, 29, -1, 52, -1, 2, -1, 53, -1, 1, -1, -1, -1, -1, 0,
    ],
];
const H1296_R56: [[i8; 24]; 4] = [
    [
        48, 29, 37, 52, 2, 16, 6, 14, 53, 31, 34, 5, 18, 42, 53, 31, 45, -1, 46, 52, 1, 0, -1, -1,
    ],
    [
        17, 4, 30, 7, 43, 11, 24, 6, 14, 21, 6, 39, 17, 40, 47, 7, 15, 41, 19, -1, -1, 0, 0, -1,
    ],
    [
        7, 2, 51, 31, 46, 23, 16, 11, 53, 40, 10, 7, 46, 53, 33, 35, -1, 25, 35, 38, 0, -1, 0, 0,
    ],
    [
        19, 48, 41, 1, 10, 7, 36, 47, 5, 29, 52, 52, 31, 10, 26, 6, 3, 2, -1, 51, 1, -1, -1, 0,
    ],
];
const H1944_R12: [[i8; 24]; 12] = [
    [
        57, -1, -1, -1, 50, -1, 11, -1, 50, -1, 79, -1, 1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1,
    ],
    [
        3, -1, 28, -1, 0, -1, -1, -1, 55, 7, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    [
        30, -1, -1, -1, 24, 37, -1, -1, 56, 14, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1,
        -1,
    ],
    [
        62, 53, -1, -1, 53, -1, -1, 3, 35, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1,
    ],
    [
        40, -1, -1, 20, 66, -1, -1, 22, 28, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1,
        -1,
    ],
    [
        0, -1, -1, -1, 8, -1, 42, -1, 50, -1, -1, 8, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1,
    ],
    [
        69, 79, 79, -1, -1, -1, 56, -1, 52, -1, -1, -1, 0, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1,
    ],
    [
        65, -1, -1, -1, 38, 57, -1, -1, 72, -1, 27, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1,
        -1,
    ],
    [
        64, -1, -1, -1, 14, 52, -1, -1, 30, -1, -1, 32, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1,
        -1,
    ],
    [
        -1, 45, -1, 70, 0, -1, -1, -1, 77, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1,
    ],
    [
        2, 56, -1, 57, 35, -1, -1, -1, -1, -1, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0,
    ],
    [
        24, -1, 61, -1, 60, -1, -1, 27, 51, -1, -1, 16, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        0,
    ],
];
const H1944_R23: [[i8; 24]; 8] = [
    [
        61, 75, 4, 63, 56, -1, -1, -1, -1, -1, -1, 8, -1, 2, 17, 25, 1, 0, -1, -1, -1, -1, -1, -1,
    ],
    [
        56, 74, 77, 20, -1, -1, -1, 64, 24, 4, 67, -1, 7, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1,
    ],
    [
        28, 21, 68, 10, 7, 14, 65, -1, -1, -1, 23, -1, -1, -1, 75, -1, -1, -1, 0, 0, -1, -1, -1, -1,
    ],
    [
        48, 38, 43, 78, 76, -1, -1, -1, -1, 5, 36, -1, 15, 72, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1,
    ],
    [
        40, 2, 53, 25, -1, 52, 62, -1, 20, -1, -1, 44, -1, -1, -1, -1, 0, -1, -1, -1, 0, 0, -1, -1,
    ],
    [
        69, 23, 64, 10, 22, -1, 21, -1, -1, -1, -1, -1, 68, 23, 29, -1, -1, -1, -1, -1, -1, 0, 0,
        -1,
    ],
    [
        12, 0, 68, 20, 55, 61, -1, 40, -1, -1, -1, 52, -1, -1, -1, 44, -1, -1, -1, -1, -1, -1, 0, 0,
    ],
    [
        58, 8, 34, 64, 78, -1, -1, 11, 78, 24, -1, -1, -1, -1, -1, 58, 1, -1, -1, -1, -1, -1, -1, 0,
    ],
];
const H1944_R34: [[i8; 24]; 6] = [
    [
        48, 29, 28, 39, 9, 61, -1, -1, -1, 63, 45, 80, -1, -1, -1, 37, 32, 22, 1, 0, -1, -1, -1, -1,
    ],
    [
        4, 49, 42, 48, 11, 30, -1, -1, -1, 49, 17, 41, 37, 15, -1, 54, -1, -1, -1, 0, 0, -1, -1, -1,
    ],
    [
        35, 76, 78, 51, 37, 35, 21, -1, 17, 64, -1, -1, -1, 59, 7, -1, -1, 32, -1, -1, 0, 0, -1, -1,
    ],
    [
        9, 65, 44, 9, 54, 56, 73, 34, 42, -1, -1, -1, 35, -1, -1, -1, 46, 39, 0, -1, -1, 0, 0, -1,
    ],
    [
        3, 62, 7, 80, 68, 26, -1, 80, 55, -1, 36, -1, 26, -1, 9, -1, 72, -1, -1, -1, -1, -1, 0, 0,
    ],
    [
        26, 75, 33, 21, 69, 59, 3, 38, -1, -1, -1, 35, -1, 62, 36, 26, -1, -1, 1, -1, -1, -1, -1, 0,
    ],
];
const H1944_R56: [[i8; 24]; 4] = [
    [
        13, 48, 80, 66, 4, 74, 7, 30, 76, 52, 37, 60, -1, 49, 73, 31, 74, 73, 23, -1, 1, 0, -1, -1,
    ],
    [
        69, 63, 74, 56, 64, 77, 57, 65, 6, 16, 51, -1, 64, -1, 68, 9, 48, 62, 54, 27, -1, 0, 0, -1,
    ],
    [
        51, 15, 0, 80, 24, 25, 42, 54, 44, 71, 71, 9, 67, 35, -1, 58, -1, 29, -1, 53, 0, -1, 0, 0,
    ],
    [
        16, 29, 36, 41, 44, 56, 59, 37, 50, 24, -1, 65, 4, 65, 52, -1, 4, -1, 73, 52, 1, -1, -1, 0,
    ],
];
