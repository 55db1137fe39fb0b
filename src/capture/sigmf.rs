//! SigMF IQ recordings (SigMF specification v1.2: `.sigmf-meta` JSON plus
//! `.sigmf-data` samples), with qwave's probe annotations in a `qwave`
//! extension (`qwave:seq`, `qwave:direction`).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use num_complex::Complex32;
use serde_json::{json, Map, Value};

use super::raw::{decode_iq, encode_iq};
use super::CaptureError;

/// SigMF specification version written into `core:version`.
const SIGMF_VERSION: &str = "1.2.0";
/// Version of qwave's SigMF extension (`qwave:seq`, `qwave:direction`).
const QWAVE_EXTENSION_VERSION: &str = "1.0.0";
/// Path used in errors of [`parse_sigmf_meta`], which has no file.
const NO_FILE: &str = "<sigmf-meta>";

/// Sample formats qwave reads and writes (SigMF `core:datatype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigmfDatatype {
    /// `ci16_le`: complex int16 little-endian, scaled by 1/32768.
    Ci16Le,
    /// `cf32_le`: complex float32 little-endian.
    Cf32Le,
}

impl SigmfDatatype {
    /// The SigMF name: `"ci16_le"` or `"cf32_le"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigmfDatatype::Ci16Le => "ci16_le",
            SigmfDatatype::Cf32Le => "cf32_le",
        }
    }

    /// Bytes per complex sample (4 or 8).
    pub fn sample_size(self) -> usize {
        match self {
            SigmfDatatype::Ci16Le => 4,
            SigmfDatatype::Cf32Le => 8,
        }
    }
}

impl fmt::Display for SigmfDatatype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigmfDatatype {
    type Err = CaptureError;

    /// Parses `"ci16_le"` / `"cf32_le"`; any other name is [`CaptureError::Datatype`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ci16_le" => Ok(SigmfDatatype::Ci16Le),
            "cf32_le" => Ok(SigmfDatatype::Cf32Le),
            other => Err(CaptureError::Datatype(other.to_owned())),
        }
    }
}

/// One SigMF annotation; qwave marks probe bursts with label `"probe"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// `core:sample_start`: first sample of the burst.
    pub sample_start: u64,
    /// `core:sample_count`: burst length in samples.
    pub sample_count: u64,
    /// `core:label` (empty = not written).
    pub label: String,
    /// `qwave:seq`: probe-exchange number.
    pub seq: Option<u64>,
    /// `qwave:direction`: e.g. `"tx"`/`"rx"` or `"alice->bob"`.
    pub direction: Option<String>,
}

/// The parts of a `.sigmf-meta` file that qwave uses.
#[derive(Clone, Debug, PartialEq)]
pub struct SigmfMeta {
    /// `global.core:datatype`.
    pub datatype: SigmfDatatype,
    /// `global.core:sample_rate` in samples per second.
    pub sample_rate: f64,
    /// `captures[0].core:frequency` in Hz.
    pub frequency: Option<f64>,
    /// `global.core:description`.
    pub description: Option<String>,
    /// `global.core:hw`.
    pub hw: Option<String>,
    /// `annotations` (written sorted by `sample_start`, as SigMF requires).
    pub annotations: Vec<Annotation>,
}

impl SigmfMeta {
    /// Checks what a reader requires: `sample_rate` positive and finite, `frequency` finite.
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] naming the bad field.
    pub fn validate(&self) -> Result<(), CaptureError> {
        if !(self.sample_rate.is_finite() && self.sample_rate > 0.0) {
            return Err(CaptureError::Invalid(format!(
                "sample_rate {} is not a positive finite number",
                self.sample_rate
            )));
        }
        if let Some(f) = self.frequency.filter(|f| !f.is_finite()) {
            return Err(CaptureError::Invalid(format!(
                "frequency {f} is not finite"
            )));
        }
        Ok(())
    }

    /// The metadata as a SigMF JSON document (pretty-printed).
    pub fn to_json(&self) -> String {
        let mut global = Map::new();
        global.insert("core:datatype".into(), json!(self.datatype.as_str()));
        global.insert("core:sample_rate".into(), json!(self.sample_rate));
        global.insert("core:version".into(), json!(SIGMF_VERSION));
        if let Some(d) = &self.description {
            global.insert("core:description".into(), json!(d));
        }
        if let Some(hw) = &self.hw {
            global.insert("core:hw".into(), json!(hw));
        }
        global.insert(
            "core:extensions".into(),
            json!([{ "name": "qwave", "version": QWAVE_EXTENSION_VERSION, "optional": true }]),
        );
        let mut capture = Map::new();
        capture.insert("core:sample_start".into(), json!(0));
        if let Some(f) = self.frequency {
            capture.insert("core:frequency".into(), json!(f));
        }
        let annotations = annotations_json(&self.annotations);
        let doc = json!({
            "global": global,
            "captures": [capture],
            "annotations": annotations,
        });
        // Serializing a Value built from maps, strings and numbers cannot fail;
        // non-finite floats become `null` (and are then rejected on reading).
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }
}

/// The `.sigmf-meta` and `.sigmf-data` paths for a base path, a meta path or a data path.
pub fn sigmf_paths(path: &Path) -> (PathBuf, PathBuf) {
    let s = path.as_os_str().to_string_lossy();
    let base: OsString = match s
        .strip_suffix(".sigmf-meta")
        .or_else(|| s.strip_suffix(".sigmf-data"))
    {
        Some(stem) => stem.into(),
        None => path.as_os_str().to_owned(),
    };
    let with = |ext: &str| {
        let mut p = base.clone();
        p.push(ext);
        PathBuf::from(p)
    };
    (with(".sigmf-meta"), with(".sigmf-data"))
}

/// Writes `base.sigmf-meta` and `base.sigmf-data` (`base` may also end in either extension).
///
/// # Errors
/// [`CaptureError::Invalid`] if [`SigmfMeta::validate`] fails (nothing is written);
/// [`CaptureError::Io`] if a file cannot be written.
pub fn write_sigmf(
    base: &Path,
    meta: &SigmfMeta,
    samples: &[Complex32],
) -> Result<(), CaptureError> {
    meta.validate()?;
    let (meta_path, data_path) = sigmf_paths(base);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CaptureError::Io { path, source }
    };
    std::fs::write(&data_path, encode_iq(samples, meta.datatype)).map_err(io(&data_path))?;
    std::fs::write(&meta_path, meta.to_json()).map_err(io(&meta_path))
}

/// Reads a recording given its base path, its `.sigmf-meta` or its `.sigmf-data` path.
///
/// # Errors
/// [`CaptureError::Io`] (missing file), [`CaptureError::Json`] (malformed meta),
/// [`CaptureError::Schema`] (missing/mistyped field), [`CaptureError::Datatype`]
/// (datatype other than `ci16_le`/`cf32_le`), [`CaptureError::Truncated`] (data
/// length not a multiple of the sample size).
pub fn read_sigmf(
    base_or_meta_or_data_path: &Path,
) -> Result<(SigmfMeta, Vec<Complex32>), CaptureError> {
    let (meta_path, data_path) = sigmf_paths(base_or_meta_or_data_path);
    let text = std::fs::read_to_string(&meta_path).map_err(|source| CaptureError::Io {
        path: meta_path.clone(),
        source,
    })?;
    let meta = parse_meta(&text, &meta_path)?;
    let bytes = std::fs::read(&data_path).map_err(|source| CaptureError::Io {
        path: data_path.clone(),
        source,
    })?;
    let samples = decode_iq(&bytes, meta.datatype).ok_or_else(|| CaptureError::Truncated {
        path: data_path.clone(),
        len: bytes.len() as u64,
        sample_size: meta.datatype.sample_size(),
    })?;
    Ok((meta, samples))
}

/// Parses `.sigmf-meta` JSON text (errors carry the placeholder path `<sigmf-meta>`).
///
/// # Errors
/// As [`read_sigmf`] for the metadata part.
pub fn parse_sigmf_meta(text: &str) -> Result<SigmfMeta, CaptureError> {
    parse_meta(text, Path::new(NO_FILE))
}

fn parse_meta(text: &str, path: &Path) -> Result<SigmfMeta, CaptureError> {
    let doc: Value = serde_json::from_str(text).map_err(|source| CaptureError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |what: String| CaptureError::Schema {
        path: path.to_path_buf(),
        what,
    };
    let top = doc
        .as_object()
        .ok_or_else(|| bad("top level is not a JSON object".into()))?;
    let global = top
        .get("global")
        .ok_or_else(|| bad("object `global` is missing".into()))?
        .as_object()
        .ok_or_else(|| bad("`global` is not an object".into()))?;
    let datatype = match global.get("core:datatype") {
        None => return Err(bad("global core:datatype is missing".into())),
        Some(Value::String(s)) => s.parse::<SigmfDatatype>()?,
        Some(_) => return Err(bad("global core:datatype is not a string".into())),
    };
    let sample_rate = match global.get("core:sample_rate") {
        None => return Err(bad("global core:sample_rate is missing".into())),
        Some(v) => v
            .as_f64()
            .filter(|r| r.is_finite() && *r > 0.0)
            .ok_or_else(|| {
                bad(format!(
                    "global core:sample_rate {v} is not a positive number"
                ))
            })?,
    };
    let description =
        opt_str(global, "core:description").map_err(|w| bad(format!("global {w}")))?;
    let hw = opt_str(global, "core:hw").map_err(|w| bad(format!("global {w}")))?;

    let frequency = match top.get("captures") {
        None => None,
        Some(Value::Array(caps)) => match caps.first() {
            None => None,
            Some(Value::Object(c)) => match c.get("core:frequency") {
                None => None,
                Some(v) => Some(v.as_f64().filter(|f| f.is_finite()).ok_or_else(|| {
                    bad(format!("captures[0] core:frequency {v} is not a number"))
                })?),
            },
            Some(_) => return Err(bad("captures[0] is not an object".into())),
        },
        Some(_) => return Err(bad("`captures` is not an array".into())),
    };

    let annotations = match top.get("annotations") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, a)| parse_annotation(a).map_err(|w| bad(format!("annotations[{i}] {w}"))))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("`annotations` is not an array".into())),
    };
    Ok(SigmfMeta {
        datatype,
        sample_rate,
        frequency,
        description,
        hw,
        annotations,
    })
}

fn opt_str(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

fn req_u64(obj: &Map<String, Value>, key: &str) -> Result<u64, String> {
    match obj.get(key) {
        None => Err(format!("{key} is missing")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| format!("{key} {v} is not a non-negative integer")),
    }
}

fn parse_annotation(a: &Value) -> Result<Annotation, String> {
    let obj = a.as_object().ok_or("is not an object")?;
    let seq = match obj.get("qwave:seq") {
        None => None,
        Some(_) => Some(req_u64(obj, "qwave:seq")?),
    };
    Ok(Annotation {
        sample_start: req_u64(obj, "core:sample_start")?,
        sample_count: req_u64(obj, "core:sample_count")?,
        label: opt_str(obj, "core:label")?.unwrap_or_default(),
        seq,
        direction: opt_str(obj, "qwave:direction")?,
    })
}

/// SigMF `annotations` array for `anns`, sorted by `core:sample_start` as the
/// specification requires; qwave's `seq` and `direction` under `qwave:`.
pub(crate) fn annotations_json(anns: &[Annotation]) -> Vec<Value> {
    let mut sorted: Vec<&Annotation> = anns.iter().collect();
    sorted.sort_by_key(|a| a.sample_start);
    sorted
        .into_iter()
        .map(|a| {
            let mut m = Map::new();
            m.insert("core:sample_start".into(), json!(a.sample_start));
            m.insert("core:sample_count".into(), json!(a.sample_count));
            if !a.label.is_empty() {
                m.insert("core:label".into(), json!(a.label));
            }
            if let Some(s) = a.seq {
                m.insert("qwave:seq".into(), json!(s));
            }
            if let Some(d) = &a.direction {
                m.insert("qwave:direction".into(), json!(d));
            }
            Value::Object(m)
        })
        .collect()
}
