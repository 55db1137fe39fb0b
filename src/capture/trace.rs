//! HDF5 CSI trace: per-party probe rows (`seq`, `t`, `csi`/`rssi`) in the fixed
//! `qwave-csi-trace` version 1 schema (`ARCHITECTURE.md`, "HDF5 CSI trace").
//!
//! Complex values are the HDF5 compound `{r: f32, i: f32}`, which is h5py's
//! layout for `numpy.complex64`; string attributes are variable-length UTF-8
//! (h5py reads them as `str`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, Group, Location};
use ndarray::ArrayView2;
use num_complex::Complex32;

use super::{h5file, CaptureError};

/// Value of the root attribute `format`.
pub const TRACE_FORMAT: &str = "qwave-csi-trace";
/// Value of the root attribute `version` that this code reads and writes.
pub const TRACE_VERSION: i64 = 1;

/// Rows buffered per party by [`TraceWriter`] before they are written.
const CHUNK_ROWS: usize = 1024;
/// Target size of one HDF5 chunk written by [`TraceWriter`].
const CHUNK_BYTES: usize = 64 * 1024;
/// Largest dataset [`read_trace`] loads (elements); a larger one is a schema error,
/// not an allocation failure (a few bytes of HDF5 can declare a huge dataset).
const MAX_ELEMENTS: usize = 1 << 30;

/// What each row of a trace holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// Per-subcarrier complex channel estimate (`csi` `[N, K]` plus `subcarriers` `[K]`).
    Csi,
    /// One received-strength value per probe in dBm (`rssi` `[N]`).
    Rssi,
}

impl TraceKind {
    /// The `kind` attribute text: `"csi"` or `"rssi"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Csi => "csi",
            TraceKind::Rssi => "rssi",
        }
    }

    /// Parses the `kind` attribute text (exact, lower case).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "csi" => Some(TraceKind::Csi),
            "rssi" => Some(TraceKind::Rssi),
            _ => None,
        }
    }
}

/// The rows one observer (`alice`, `bob`, `eve`, `eve0`, …) recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct PartyTrace {
    /// Group name: `"alice"`, `"bob"`, `"eve"`, `"eve0"`, ….
    pub name: String,
    /// Eve's `observes` attribute (`"alice"` when absent, or `"bob"`); `None` writes no attribute.
    pub observes: Option<String>,
    /// Probe-exchange number per row; equal `seq` across parties = same exchange.
    pub seq: Vec<u64>,
    /// Receive time per row in seconds.
    pub t: Vec<f64>,
    /// Kind `Csi`: subcarrier index of each of the K columns; empty for `Rssi`.
    pub subcarriers: Vec<i16>,
    /// Kind `Csi`: N×K channel estimates, row-major; empty for `Rssi`.
    pub csi: Vec<Complex32>,
    /// Kind `Rssi`: N received strengths in dBm; empty for `Csi`.
    pub rssi: Vec<f32>,
}

impl PartyTrace {
    /// An empty party (no rows, no columns).
    pub fn new(name: &str) -> Self {
        PartyTrace {
            name: name.to_owned(),
            observes: None,
            seq: Vec::new(),
            t: Vec::new(),
            subcarriers: Vec::new(),
            csi: Vec::new(),
            rssi: Vec::new(),
        }
    }

    /// Number of rows N.
    pub fn len(&self) -> usize {
        self.seq.len()
    }

    /// True when the party has no rows.
    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// The K channel estimates of row `row` (kind `Csi`), or `None` when out of range.
    pub fn csi_row(&self, row: usize) -> Option<&[Complex32]> {
        let k = self.subcarriers.len();
        if k == 0 {
            return None;
        }
        self.csi.get(row * k..(row + 1) * k)
    }
}

/// A whole trace: root attributes plus one [`PartyTrace`] per observer.
#[derive(Clone, Debug, PartialEq)]
pub struct CsiTrace {
    /// What the rows hold.
    pub kind: TraceKind,
    /// Carrier frequency in Hz (`NaN` = unknown).
    pub center_frequency_hz: f64,
    /// Measurement bandwidth in Hz, if known.
    pub bandwidth_hz: Option<f64>,
    /// Free text: how the trace was recorded.
    pub source: String,
    /// Observers; [`read_trace`] returns `alice`, `bob`, then the others sorted by name.
    pub parties: Vec<PartyTrace>,
}

impl CsiTrace {
    /// The party called `name`, if present.
    pub fn party(&self, name: &str) -> Option<&PartyTrace> {
        self.parties.iter().find(|p| p.name == name)
    }

    /// Checks the schema's rules on the in-memory trace.
    ///
    /// Rules: `alice` and `bob` present; party names unique, non-empty, without
    /// `/` and not `.`; `observes` only on non-alice/bob parties and then
    /// `"alice"` or `"bob"`; `source` without NUL; per party `t` as long as
    /// `seq`, `seq` values unique (any order); kind `Csi`: K ≥ 1 unique
    /// subcarriers and `csi` = N×K, no `rssi`; kind `Rssi`: `rssi` = N, no
    /// `csi`/`subcarriers`; `center_frequency_hz` not infinite or negative
    /// (`NaN` = unknown); `bandwidth_hz` finite and positive when present.
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] naming the first broken rule.
    pub fn validate(&self) -> Result<(), CaptureError> {
        let bad = |what: String| Err(CaptureError::Invalid(what));
        if self.center_frequency_hz.is_infinite() || self.center_frequency_hz < 0.0 {
            return bad(format!(
                "center_frequency_hz {} is not a frequency",
                self.center_frequency_hz
            ));
        }
        if let Some(bw) = self.bandwidth_hz {
            if !(bw.is_finite() && bw > 0.0) {
                return bad(format!("bandwidth_hz {bw} is not a positive finite number"));
            }
        }
        if self.source.contains('\0') {
            return bad("source contains a NUL character".into());
        }
        let mut names = HashSet::new();
        for p in &self.parties {
            if p.name.is_empty() || p.name == "." || p.name.contains('/') || p.name.contains('\0') {
                return bad(format!("party name {:?} is not a valid group name", p.name));
            }
            if !names.insert(p.name.as_str()) {
                return bad(format!("party {:?} appears twice", p.name));
            }
            validate_party(self.kind, p).or_else(|what| bad(format!("/{}: {what}", p.name)))?;
        }
        for required in ["alice", "bob"] {
            if !names.contains(required) {
                return bad(format!("party group /{required} is missing"));
            }
        }
        Ok(())
    }
}

fn validate_party(kind: TraceKind, p: &PartyTrace) -> Result<(), String> {
    let n = p.seq.len();
    if let Some(o) = &p.observes {
        if p.name == "alice" || p.name == "bob" {
            return Err("only an eavesdropper group may carry `observes`".into());
        }
        if o != "alice" && o != "bob" {
            return Err(format!("observes = {o:?}, expected \"alice\" or \"bob\""));
        }
    }
    if p.t.len() != n {
        return Err(format!("t has {} rows but seq has {n}", p.t.len()));
    }
    let mut seen = HashSet::with_capacity(n);
    if let Some(dup) = p.seq.iter().find(|s| !seen.insert(**s)) {
        return Err(format!("seq {dup} appears more than once"));
    }
    match kind {
        TraceKind::Csi => {
            let k = p.subcarriers.len();
            if k == 0 {
                return Err("kind csi needs at least one subcarrier".into());
            }
            let mut cols = HashSet::with_capacity(k);
            if let Some(dup) = p.subcarriers.iter().find(|s| !cols.insert(**s)) {
                return Err(format!("subcarrier {dup} appears more than once"));
            }
            if Some(p.csi.len()) != n.checked_mul(k) {
                return Err(format!(
                    "csi has {} values, expected N×K = {n}×{k}",
                    p.csi.len()
                ));
            }
            if !p.rssi.is_empty() {
                return Err("kind csi carries no rssi values".into());
            }
        }
        TraceKind::Rssi => {
            if p.rssi.len() != n {
                return Err(format!("rssi has {} rows but seq has {n}", p.rssi.len()));
            }
            if !p.csi.is_empty() || !p.subcarriers.is_empty() {
                return Err("kind rssi carries no csi or subcarriers".into());
            }
        }
    }
    Ok(())
}

/// Pairs rows of two parties by equal `seq` (rows may be missing on either side).
///
/// Returns `(row_a, row_b)` index pairs in the order of `a`'s rows; each row of
/// either side is used at most once (if a `seq` repeats, which
/// [`CsiTrace::validate`] forbids, occurrences pair up in order).
pub fn pair_by_seq(a: &PartyTrace, b: &PartyTrace) -> Vec<(usize, usize)> {
    let mut rows_b: HashMap<u64, Vec<usize>> = HashMap::with_capacity(b.seq.len());
    for (j, s) in b.seq.iter().enumerate().rev() {
        rows_b.entry(*s).or_default().push(j);
    }
    let mut pairs = Vec::with_capacity(a.seq.len().min(b.seq.len()));
    for (i, s) in a.seq.iter().enumerate() {
        if let Some(j) = rows_b.get_mut(s).and_then(Vec::pop) {
            pairs.push((i, j));
        }
    }
    pairs
}

fn h5err(path: &Path) -> impl Fn(hdf5::Error) -> CaptureError + '_ {
    move |source| CaptureError::Hdf5 {
        path: path.to_path_buf(),
        source,
    }
}

fn schema(path: &Path, what: impl Into<String>) -> CaptureError {
    CaptureError::Schema {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

fn write_str_attr(loc: &Location, name: &str, value: &str) -> hdf5::Result<()> {
    // VarLenUnicode refuses an interior NUL (validate() catches it earlier).
    let v: VarLenUnicode = value
        .parse()
        .map_err(|e: hdf5::types::StringError| hdf5::Error::from(e.to_string()))?;
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)?
        .write_scalar(&v)
}

fn write_f64_attr(loc: &Location, name: &str, value: f64) -> hdf5::Result<()> {
    loc.new_attr::<f64>()
        .shape(())
        .create(name)?
        .write_scalar(&value)
}

/// Writes a whole trace (after [`CsiTrace::validate`]), replacing any file at `path`.
///
/// # Errors
/// [`CaptureError::Invalid`] if the trace breaks the schema, [`CaptureError::Hdf5`] if writing fails.
pub fn write_trace(path: &Path, trace: &CsiTrace) -> Result<(), CaptureError> {
    trace.validate()?;
    let e = h5err(path);
    let file = h5file::create(path).map_err(&e)?;
    write_root_attrs(
        &file,
        trace.kind,
        trace.center_frequency_hz,
        trace.bandwidth_hz,
        &trace.source,
    )
    .map_err(&e)?;
    for p in &trace.parties {
        write_party(&file, trace.kind, p).map_err(&e)?;
    }
    file.close().map_err(&e)
}

fn write_root_attrs(
    file: &hdf5::File,
    kind: TraceKind,
    center_frequency_hz: f64,
    bandwidth_hz: Option<f64>,
    source: &str,
) -> hdf5::Result<()> {
    write_str_attr(file, "format", TRACE_FORMAT)?;
    file.new_attr::<i64>()
        .shape(())
        .create("version")?
        .write_scalar(&TRACE_VERSION)?;
    write_str_attr(file, "kind", kind.as_str())?;
    write_f64_attr(file, "center_frequency_hz", center_frequency_hz)?;
    if let Some(bw) = bandwidth_hz {
        write_f64_attr(file, "bandwidth_hz", bw)?;
    }
    write_str_attr(file, "source", source)
}

fn write_party(file: &hdf5::File, kind: TraceKind, p: &PartyTrace) -> hdf5::Result<()> {
    let g = file.create_group(&p.name)?;
    if let Some(o) = &p.observes {
        write_str_attr(&g, "observes", o)?;
    }
    let n = p.seq.len();
    g.new_dataset::<u64>()
        .shape(n)
        .create("seq")?
        .write_raw(&p.seq)?;
    g.new_dataset::<f64>()
        .shape(n)
        .create("t")?
        .write_raw(&p.t)?;
    match kind {
        TraceKind::Csi => {
            let k = p.subcarriers.len();
            g.new_dataset::<i16>()
                .shape(k)
                .create("subcarriers")?
                .write_raw(&p.subcarriers)?;
            g.new_dataset::<Complex32>()
                .shape((n, k))
                .create("csi")?
                .write_raw(&p.csi)?;
        }
        TraceKind::Rssi => {
            g.new_dataset::<f32>()
                .shape(n)
                .create("rssi")?
                .write_raw(&p.rssi)?;
        }
    }
    Ok(())
}

/// Reads and checks a trace written by [`write_trace`], [`TraceWriter`] or any
/// tool (e.g. h5py) that follows the schema.
///
/// Parties come back as `alice`, `bob`, then the other groups sorted by name;
/// root datasets and unknown attributes are ignored.
///
/// # Errors
/// [`CaptureError::Hdf5`] if the file cannot be opened as HDF5;
/// [`CaptureError::Schema`] naming what is wrong (missing/wrong attribute,
/// wrong format or version, missing dataset, wrong type, rank or shape, csi
/// columns ≠ subcarriers, or a rule of [`CsiTrace::validate`]).
pub fn read_trace(path: &Path) -> Result<CsiTrace, CaptureError> {
    let file = h5file::open(path).map_err(h5err(path))?;
    let format = str_attr(path, &file, "format", "/")?;
    if format != TRACE_FORMAT {
        return Err(schema(
            path,
            format!("attribute /format is {format:?}, expected {TRACE_FORMAT:?}"),
        ));
    }
    let version = int_attr(path, &file, "version")?;
    if version != TRACE_VERSION {
        return Err(schema(
            path,
            format!("attribute /version is {version}, this reader reads {TRACE_VERSION}"),
        ));
    }
    let kind_s = str_attr(path, &file, "kind", "/")?;
    let kind = TraceKind::from_name(&kind_s).ok_or_else(|| {
        schema(
            path,
            format!("attribute /kind is {kind_s:?}, expected \"csi\" or \"rssi\""),
        )
    })?;
    let center_frequency_hz = f64_attr(path, &file, "center_frequency_hz")?
        .ok_or_else(|| schema(path, "attribute /center_frequency_hz is missing"))?;
    let bandwidth_hz = f64_attr(path, &file, "bandwidth_hz")?;
    let source = str_attr(path, &file, "source", "/")?;

    let mut groups = file.groups().map_err(h5err(path))?;
    groups.sort_by_key(|g| party_order(&group_name(g)));
    let mut parties = Vec::with_capacity(groups.len());
    for g in &groups {
        parties.push(read_party(path, kind, g)?);
    }
    let trace = CsiTrace {
        kind,
        center_frequency_hz,
        bandwidth_hz,
        source,
        parties,
    };
    trace.validate().map_err(|e| match e {
        CaptureError::Invalid(what) => schema(path, what),
        other => other,
    })?;
    Ok(trace)
}

fn group_name(g: &Group) -> String {
    g.name().trim_start_matches('/').to_owned()
}

fn party_order(name: &str) -> (u8, String) {
    let rank = match name {
        "alice" => 0,
        "bob" => 1,
        _ => 2,
    };
    (rank, name.to_owned())
}

fn read_party(path: &Path, kind: TraceKind, g: &Group) -> Result<PartyTrace, CaptureError> {
    let name = group_name(g);
    let gpath = format!("/{name}");
    let observes = if has_attr(path, g, "observes")? {
        Some(str_attr(path, g, "observes", &gpath)?)
    } else {
        None
    };
    let seq_ds = dataset(path, g, &gpath, "seq")?;
    let n = vector_len(path, &seq_ds, &gpath, "seq")?;
    let seq = read_seq(path, &seq_ds, &gpath)?;
    let t_ds = dataset(path, g, &gpath, "t")?;
    expect_len(path, &t_ds, &gpath, "t", n)?;
    let t: Vec<f64> = read_checked(path, &t_ds, &gpath, "t", is_float, "a float")?;
    let mut party = PartyTrace {
        name,
        observes,
        seq,
        t,
        ..PartyTrace::new("")
    };
    match kind {
        TraceKind::Csi => {
            let sc_ds = dataset(path, g, &gpath, "subcarriers")?;
            let k = vector_len(path, &sc_ds, &gpath, "subcarriers")?;
            let csi_ds = dataset(path, g, &gpath, "csi")?;
            let shape = csi_ds.shape();
            if shape.len() != 2 {
                return Err(schema(
                    path,
                    format!("{gpath}/csi has rank {}, expected 2 ([N, K])", shape.len()),
                ));
            }
            if shape[0] != n {
                return Err(schema(
                    path,
                    format!("{gpath}/csi has {} rows but seq has {n}", shape[0]),
                ));
            }
            if shape[1] != k {
                return Err(schema(
                    path,
                    format!(
                        "{gpath}/csi has {} columns but subcarriers has {k} entries",
                        shape[1]
                    ),
                ));
            }
            party.subcarriers =
                read_checked(path, &sc_ds, &gpath, "subcarriers", is_int, "an integer")?;
            party.csi = read_checked(
                path,
                &csi_ds,
                &gpath,
                "csi",
                is_complex,
                "the compound {r, i} of floats (complex)",
            )?;
        }
        TraceKind::Rssi => {
            let ds = dataset(path, g, &gpath, "rssi")?;
            expect_len(path, &ds, &gpath, "rssi", n)?;
            party.rssi = read_checked(path, &ds, &gpath, "rssi", is_float, "a float")?;
        }
    }
    Ok(party)
}

fn dataset(path: &Path, g: &Group, gpath: &str, name: &str) -> Result<Dataset, CaptureError> {
    if !g.link_exists(name) {
        return Err(schema(path, format!("dataset {gpath}/{name} is missing")));
    }
    g.dataset(name)
        .map_err(|e| schema(path, format!("{gpath}/{name} is not a dataset ({e})")))
}

fn vector_len(path: &Path, ds: &Dataset, gpath: &str, name: &str) -> Result<usize, CaptureError> {
    match ds.shape().as_slice() {
        [n] => Ok(*n),
        s => Err(schema(
            path,
            format!("{gpath}/{name} has rank {}, expected 1", s.len()),
        )),
    }
}

fn expect_len(
    path: &Path,
    ds: &Dataset,
    gpath: &str,
    name: &str,
    n: usize,
) -> Result<(), CaptureError> {
    let len = vector_len(path, ds, gpath, name)?;
    if len != n {
        return Err(schema(
            path,
            format!("{gpath}/{name} has {len} rows but seq has {n}"),
        ));
    }
    Ok(())
}

fn is_int(d: &TypeDescriptor) -> bool {
    matches!(d, TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_))
}

fn is_float(d: &TypeDescriptor) -> bool {
    matches!(d, TypeDescriptor::Float(_))
}

fn is_complex(d: &TypeDescriptor) -> bool {
    match d {
        TypeDescriptor::Compound(c) => {
            let mut names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
            names.sort_unstable();
            names == ["i", "r"] && c.fields.iter().all(|f| is_float(&f.ty))
        }
        _ => false,
    }
}

/// `seq` as u64; a signed dataset (h5py's default int64) must hold no negative value.
fn read_seq(path: &Path, ds: &Dataset, gpath: &str) -> Result<Vec<u64>, CaptureError> {
    let signed = matches!(
        ds.dtype().and_then(|t| t.to_descriptor()),
        Ok(TypeDescriptor::Integer(_))
    );
    if !signed {
        return read_checked(path, ds, gpath, "seq", is_int, "an integer");
    }
    let v: Vec<i64> = read_checked(path, ds, gpath, "seq", is_int, "an integer")?;
    v.into_iter()
        .map(|s| u64::try_from(s).map_err(|_| schema(path, format!("{gpath}/seq holds {s} < 0"))))
        .collect()
}

fn read_checked<T: hdf5::H5Type>(
    path: &Path,
    ds: &Dataset,
    gpath: &str,
    name: &str,
    accept: fn(&TypeDescriptor) -> bool,
    expected: &str,
) -> Result<Vec<T>, CaptureError> {
    let desc = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| schema(path, format!("{gpath}/{name}: unreadable datatype ({e})")))?;
    if !accept(&desc) {
        return Err(schema(
            path,
            format!("{gpath}/{name} has datatype {desc}, expected {expected}"),
        ));
    }
    if ds.size() > MAX_ELEMENTS {
        return Err(schema(
            path,
            format!(
                "{gpath}/{name} has {} elements, more than this reader loads ({MAX_ELEMENTS})",
                ds.size()
            ),
        ));
    }
    ds.read_raw::<T>()
        .map_err(|e| schema(path, format!("{gpath}/{name}: cannot read as {desc} ({e})")))
}

fn has_attr(path: &Path, loc: &Location, name: &str) -> Result<bool, CaptureError> {
    Ok(loc
        .attr_names()
        .map_err(h5err(path))?
        .iter()
        .any(|a| a == name))
}

fn attr_descriptor(
    path: &Path,
    loc: &Location,
    name: &str,
    at: &str,
) -> Result<Option<(hdf5::Attribute, TypeDescriptor)>, CaptureError> {
    if !has_attr(path, loc, name)? {
        return Ok(None);
    }
    let attr = loc.attr(name).map_err(h5err(path))?;
    if !attr.is_scalar() && attr.size() != 1 {
        return Err(schema(
            path,
            format!(
                "attribute {at}{name} has shape {:?}, expected a scalar",
                attr.shape()
            ),
        ));
    }
    let desc = attr.dtype().and_then(|t| t.to_descriptor()).map_err(|e| {
        schema(
            path,
            format!("attribute {at}{name}: unreadable datatype ({e})"),
        )
    })?;
    Ok(Some((attr, desc)))
}

fn str_attr(path: &Path, loc: &Location, name: &str, at: &str) -> Result<String, CaptureError> {
    let sep = if at.ends_with('/') { "" } else { "/" };
    let at = format!("{at}{sep}");
    let (attr, desc) = attr_descriptor(path, loc, name, &at)?
        .ok_or_else(|| schema(path, format!("attribute {at}{name} is missing")))?;
    let read_err = |e: hdf5::Error| schema(path, format!("attribute {at}{name}: {e}"));
    let value = match desc {
        TypeDescriptor::VarLenUnicode => attr
            .as_reader()
            .read_raw::<VarLenUnicode>()
            .map(|v| v.first().map(|s| s.as_str().to_owned())),
        TypeDescriptor::VarLenAscii => attr
            .as_reader()
            .read_raw::<VarLenAscii>()
            .map(|v| v.first().map(|s| s.as_str().to_owned())),
        TypeDescriptor::FixedAscii(_) => attr
            .as_reader()
            .read_raw::<FixedAscii<4096>>()
            .map(|v| v.first().map(|s| s.as_str().to_owned())),
        TypeDescriptor::FixedUnicode(_) => attr
            .as_reader()
            .read_raw::<FixedUnicode<4096>>()
            .map(|v| v.first().map(|s| s.as_str().to_owned())),
        other => {
            return Err(schema(
                path,
                format!("attribute {at}{name} has datatype {other}, expected a string"),
            ))
        }
    }
    .map_err(read_err)?;
    value.ok_or_else(|| schema(path, format!("attribute {at}{name} is empty")))
}

fn int_attr(path: &Path, loc: &Location, name: &str) -> Result<i64, CaptureError> {
    let (attr, desc) = attr_descriptor(path, loc, name, "/")?
        .ok_or_else(|| schema(path, format!("attribute /{name} is missing")))?;
    if !is_int(&desc) {
        return Err(schema(
            path,
            format!("attribute /{name} has datatype {desc}, expected an integer"),
        ));
    }
    let v: Vec<i64> = attr
        .read_raw()
        .map_err(|e| schema(path, format!("attribute /{name}: {e}")))?;
    v.first()
        .copied()
        .ok_or_else(|| schema(path, format!("attribute /{name} is empty")))
}

fn f64_attr(path: &Path, loc: &Location, name: &str) -> Result<Option<f64>, CaptureError> {
    let Some((attr, desc)) = attr_descriptor(path, loc, name, "/")? else {
        return Ok(None);
    };
    if !(is_float(&desc) || is_int(&desc)) {
        return Err(schema(
            path,
            format!("attribute /{name} has datatype {desc}, expected a number"),
        ));
    }
    let v: Vec<f64> = attr
        .read_raw()
        .map_err(|e| schema(path, format!("attribute /{name}: {e}")))?;
    v.first()
        .copied()
        .map(Some)
        .ok_or_else(|| schema(path, format!("attribute /{name} is empty")))
}

/// Incremental trace writer for long runs: rows are appended per party into
/// chunked (about 64 KiB), resizable datasets, buffered 1024 rows at
/// a time and flushed by [`TraceWriter::finish`]. Per party, `seq` must
/// increase from row to row (memory stays constant however long the run).
///
/// For kind `Csi`, call [`TraceWriter::set_subcarriers`] before the first
/// [`TraceWriter::append_csi`]. A writer dropped without `finish` closes the
/// file with the rows flushed so far (the last < 1024 rows per party are lost).
pub struct TraceWriter {
    path: PathBuf,
    file: h5file::LockedFile,
    kind: TraceKind,
    subcarriers: Option<Vec<i16>>,
    parties: Vec<PartyWriter>,
}

struct PartyWriter {
    name: String,
    group: Group,
    seq_ds: Dataset,
    t_ds: Dataset,
    /// `csi` (created by `set_subcarriers`) or `rssi`.
    value_ds: Option<Dataset>,
    written: usize,
    last_seq: Option<u64>,
    seq: Vec<u64>,
    t: Vec<f64>,
    csi: Vec<Complex32>,
    rssi: Vec<f32>,
}

impl PartyWriter {
    fn buffered(&self) -> usize {
        self.seq.len()
    }

    fn flush(&mut self, k: usize) -> hdf5::Result<()> {
        let b = self.buffered();
        if b == 0 {
            return Ok(());
        }
        let (start, end) = (self.written, self.written + b);
        self.seq_ds.resize(end)?;
        self.seq_ds.write_slice(&self.seq, start..end)?;
        self.t_ds.resize(end)?;
        self.t_ds.write_slice(&self.t, start..end)?;
        if let Some(ds) = &self.value_ds {
            if k == 0 {
                ds.resize(end)?;
                ds.write_slice(&self.rssi, start..end)?;
            } else {
                let view = ArrayView2::from_shape((b, k), &self.csi)
                    .map_err(|e| hdf5::Error::from(e.to_string()))?;
                ds.resize((end, k))?;
                ds.write_slice(view, (start..end, ..))?;
            }
        }
        self.written = end;
        self.seq.clear();
        self.t.clear();
        self.csi.clear();
        self.rssi.clear();
        Ok(())
    }
}

impl TraceWriter {
    /// Creates (truncates) `path`, writes the root attributes and one group per party.
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] if `parties` lacks `alice` or `bob`, repeats a name,
    /// or a name is not a valid group name, or a root attribute value is invalid;
    /// [`CaptureError::Hdf5`] if the file cannot be created.
    pub fn create(
        path: &Path,
        kind: TraceKind,
        center_frequency_hz: f64,
        bandwidth_hz: Option<f64>,
        source: &str,
        parties: &[&str],
    ) -> Result<Self, CaptureError> {
        // Reuse the in-memory rules on an empty trace with these parties.
        let probe = CsiTrace {
            kind: TraceKind::Rssi,
            center_frequency_hz,
            bandwidth_hz,
            source: source.to_owned(),
            parties: parties.iter().map(|n| PartyTrace::new(n)).collect(),
        };
        probe.validate()?;
        let e = h5err(path);
        let file = h5file::create(path).map_err(&e)?;
        write_root_attrs(&file, kind, center_frequency_hz, bandwidth_hz, source).map_err(&e)?;
        let mut writers = Vec::with_capacity(parties.len());
        for name in parties {
            writers.push(Self::create_party(&file, kind, name).map_err(&e)?);
        }
        Ok(TraceWriter {
            path: path.to_path_buf(),
            file,
            kind,
            subcarriers: None,
            parties: writers,
        })
    }

    fn create_party(file: &hdf5::File, kind: TraceKind, name: &str) -> hdf5::Result<PartyWriter> {
        let group = file.create_group(name)?;
        let seq_ds = group
            .new_dataset::<u64>()
            .chunk(CHUNK_BYTES / 8)
            .shape(0..)
            .create("seq")?;
        let t_ds = group
            .new_dataset::<f64>()
            .chunk(CHUNK_BYTES / 8)
            .shape(0..)
            .create("t")?;
        let value_ds = match kind {
            TraceKind::Rssi => Some(
                group
                    .new_dataset::<f32>()
                    .chunk(CHUNK_BYTES / 4)
                    .shape(0..)
                    .create("rssi")?,
            ),
            TraceKind::Csi => None,
        };
        Ok(PartyWriter {
            name: name.to_owned(),
            group,
            seq_ds,
            t_ds,
            value_ds,
            written: 0,
            last_seq: None,
            seq: Vec::with_capacity(CHUNK_ROWS),
            t: Vec::with_capacity(CHUNK_ROWS),
            csi: Vec::new(),
            rssi: Vec::new(),
        })
    }

    /// Sets the K subcarrier indices of the CSI columns (kind `Csi`, once, before any row).
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] for kind `Rssi`, a second call, an empty or repeating list.
    pub fn set_subcarriers(&mut self, subcarriers: &[i16]) -> Result<(), CaptureError> {
        if self.kind != TraceKind::Csi {
            return Err(CaptureError::Invalid("kind rssi has no subcarriers".into()));
        }
        if self.subcarriers.is_some() {
            return Err(CaptureError::Invalid("subcarriers already set".into()));
        }
        let mut cols = HashSet::new();
        if subcarriers.is_empty() || !subcarriers.iter().all(|s| cols.insert(*s)) {
            return Err(CaptureError::Invalid(
                "subcarriers must be a non-empty list of distinct indices".into(),
            ));
        }
        let k = subcarriers.len();
        let e = h5err(&self.path);
        for p in &mut self.parties {
            p.group
                .new_dataset::<i16>()
                .shape(k)
                .create("subcarriers")
                .and_then(|ds| ds.write_raw(subcarriers))
                .map_err(&e)?;
            let ds = p
                .group
                .new_dataset::<Complex32>()
                .chunk(((CHUNK_BYTES / 8 / k).max(1), k))
                .shape((0.., k))
                .create("csi")
                .map_err(&e)?;
            p.value_ds = Some(ds);
            p.csi.reserve(CHUNK_ROWS * k);
        }
        self.subcarriers = Some(subcarriers.to_vec());
        Ok(())
    }

    /// Sets the `observes` attribute (`"alice"` or `"bob"`) of an eavesdropper party.
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] for an unknown party, `alice`/`bob`, or another value.
    pub fn set_observes(&mut self, party: &str, observes: &str) -> Result<(), CaptureError> {
        if party == "alice" || party == "bob" {
            return Err(CaptureError::Invalid(
                "only an eavesdropper group may carry `observes`".into(),
            ));
        }
        if observes != "alice" && observes != "bob" {
            return Err(CaptureError::Invalid(format!(
                "observes = {observes:?}, expected \"alice\" or \"bob\""
            )));
        }
        let i = self.index(party)?;
        write_str_attr(&self.parties[i].group, "observes", observes).map_err(h5err(&self.path))
    }

    fn index(&self, party: &str) -> Result<usize, CaptureError> {
        self.parties
            .iter()
            .position(|p| p.name == party)
            .ok_or_else(|| CaptureError::Invalid(format!("no party {party:?} in this trace")))
    }

    fn push_row(&mut self, party: &str, seq: u64, t: f64) -> Result<usize, CaptureError> {
        let i = self.index(party)?;
        let p = &mut self.parties[i];
        if p.last_seq.is_some_and(|last| seq <= last) {
            return Err(CaptureError::Invalid(format!(
                "/{party}: seq {seq} does not follow {}",
                p.last_seq.unwrap_or_default()
            )));
        }
        p.last_seq = Some(seq);
        p.seq.push(seq);
        p.t.push(t);
        Ok(i)
    }

    fn maybe_flush(&mut self, i: usize) -> Result<(), CaptureError> {
        let k = self.subcarriers.as_ref().map_or(0, Vec::len);
        if self.parties[i].buffered() >= CHUNK_ROWS {
            self.parties[i].flush(k).map_err(h5err(&self.path))?;
        }
        Ok(())
    }

    /// Appends one CSI row (K values in `subcarriers` order) to `party`.
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] for kind `Rssi`, subcarriers not set, wrong length,
    /// unknown party or a `seq` not above the party's last; [`CaptureError::Hdf5`] if a flush fails.
    pub fn append_csi(
        &mut self,
        party: &str,
        seq: u64,
        t: f64,
        csi: &[Complex32],
    ) -> Result<(), CaptureError> {
        let k = match (self.kind, &self.subcarriers) {
            (TraceKind::Csi, Some(sc)) => sc.len(),
            (TraceKind::Csi, None) => {
                return Err(CaptureError::Invalid(
                    "set_subcarriers must be called before append_csi".into(),
                ))
            }
            (TraceKind::Rssi, _) => {
                return Err(CaptureError::Invalid(
                    "append_csi on a trace of kind rssi".into(),
                ))
            }
        };
        if csi.len() != k {
            return Err(CaptureError::Invalid(format!(
                "/{party}: csi row has {} values, expected K = {k}",
                csi.len()
            )));
        }
        let i = self.push_row(party, seq, t)?;
        self.parties[i].csi.extend_from_slice(csi);
        self.maybe_flush(i)
    }

    /// Appends one RSSI row (dBm) to `party`.
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] for kind `Csi`, unknown party or a `seq` not above the party's last;
    /// [`CaptureError::Hdf5`] if a flush fails.
    pub fn append_rssi(
        &mut self,
        party: &str,
        seq: u64,
        t: f64,
        rssi_dbm: f32,
    ) -> Result<(), CaptureError> {
        if self.kind != TraceKind::Rssi {
            return Err(CaptureError::Invalid(
                "append_rssi on a trace of kind csi".into(),
            ));
        }
        let i = self.push_row(party, seq, t)?;
        self.parties[i].rssi.push(rssi_dbm);
        self.maybe_flush(i)
    }

    /// Writes all buffered rows and closes the file.
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] if kind `Csi` and subcarriers were never set;
    /// [`CaptureError::Hdf5`] if writing fails.
    pub fn finish(mut self) -> Result<(), CaptureError> {
        let k = match (self.kind, &self.subcarriers) {
            (TraceKind::Csi, None) => {
                return Err(CaptureError::Invalid(
                    "kind csi: set_subcarriers was never called".into(),
                ))
            }
            (_, sc) => sc.as_ref().map_or(0, Vec::len),
        };
        let e = h5err(&self.path);
        for p in &mut self.parties {
            p.flush(k).map_err(&e)?;
        }
        drop(self.parties);
        self.file.close().map_err(&e)
    }
}
