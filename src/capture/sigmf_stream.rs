//! Streamed SigMF recordings with one capture segment per burst or receive
//! window (SigMF specification v1.2, "Captures Array": `core:sample_start`,
//! `core:global_index`, `core:frequency`), as the lab recorder writes them.
//!
//! Samples go straight to the `.sigmf-data` file (bounded memory: one reusable
//! byte buffer); segment and annotation metadata (a few dozen bytes per probe)
//! are kept and written as the `.sigmf-meta` JSON by [`SigmfWriter::finish`].
//! [`SigmfRecording`] reads such a recording back segment by segment.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use num_complex::Complex32;
use serde_json::{json, Map, Value};

use super::sigmf::{parse_sigmf_meta, sigmf_paths, Annotation, SigmfDatatype, SigmfMeta};
use super::CaptureError;

/// SigMF specification version written into `core:version`.
const SIGMF_VERSION: &str = "1.2.0";
/// Version of qwave's SigMF extension.
const QWAVE_EXTENSION_VERSION: &str = "1.0.0";

/// One capture segment: samples from `sample_start` up to the next segment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaptureSegment {
    /// `core:sample_start`: first sample of the segment in the data file.
    pub sample_start: u64,
    /// `core:global_index`: the radio's sample clock (tick) at that sample.
    pub global_index: Option<u64>,
    /// `core:frequency`: carrier, Hz.
    pub frequency: Option<f64>,
    /// `qwave:seq`: probe exchange the burst or window belongs to.
    pub seq: Option<u64>,
    /// `qwave:direction`: whose probe (`"alice->bob"` or `"bob->alice"`).
    pub direction: Option<String>,
    /// `qwave:damaged`: the radio reported lost samples or lateness in this window.
    pub damaged: bool,
}

/// Global fields of a streamed recording.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamHeader {
    /// `core:datatype`.
    pub datatype: SigmfDatatype,
    /// `core:sample_rate`, samples per second.
    pub sample_rate: f64,
    /// `core:description`.
    pub description: Option<String>,
    /// `core:hw`.
    pub hw: Option<String>,
    /// `qwave:role`: who recorded (`"alice"`, `"bob"`, `"eve"`).
    pub role: Option<String>,
    /// `qwave:stream`: `"tx"` (bursts sent) or `"rx"` (windows received).
    pub stream: Option<String>,
}

/// Streaming SigMF writer: segments are appended to the data file as they come.
pub struct SigmfWriter {
    header: StreamHeader,
    meta_path: PathBuf,
    data_path: PathBuf,
    data: BufWriter<File>,
    bytes: Vec<u8>,
    written: u64,
    captures: Vec<CaptureSegment>,
    annotations: Vec<Annotation>,
}

impl SigmfWriter {
    /// Creates `base.sigmf-data` (and later `base.sigmf-meta`).
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] for a bad sample rate; [`CaptureError::Io`]
    /// if the data file cannot be created.
    pub fn create(base: &Path, header: StreamHeader) -> Result<Self, CaptureError> {
        if !(header.sample_rate.is_finite() && header.sample_rate > 0.0) {
            return Err(CaptureError::Invalid(format!(
                "sample_rate {} is not a positive finite number",
                header.sample_rate
            )));
        }
        let (meta_path, data_path) = sigmf_paths(base);
        let file = File::create(&data_path).map_err(|source| CaptureError::Io {
            path: data_path.clone(),
            source,
        })?;
        Ok(Self {
            header,
            meta_path,
            data_path,
            data: BufWriter::with_capacity(1 << 16, file),
            bytes: Vec::new(),
            written: 0,
            captures: Vec::new(),
            annotations: Vec::new(),
        })
    }

    /// Samples written so far (the `sample_start` of the next segment).
    pub fn samples_written(&self) -> u64 {
        self.written
    }

    /// Appends `samples` as a new capture segment (its `sample_start` is set
    /// to the current end of the data); returns that start.
    ///
    /// # Errors
    /// [`CaptureError::Io`] on a write failure.
    pub fn push_segment(
        &mut self,
        mut segment: CaptureSegment,
        samples: &[Complex32],
    ) -> Result<u64, CaptureError> {
        let start = self.written;
        segment.sample_start = start;
        self.bytes.clear();
        encode_into(samples, self.header.datatype, &mut self.bytes);
        self.data
            .write_all(&self.bytes)
            .map_err(|source| CaptureError::Io {
                path: self.data_path.clone(),
                source,
            })?;
        self.written += samples.len() as u64;
        self.captures.push(segment);
        Ok(start)
    }

    /// Adds an annotation (positions are in data-file samples).
    pub fn annotate(&mut self, a: Annotation) {
        self.annotations.push(a);
    }

    /// The metadata as SigMF JSON.
    fn meta_json(&self) -> String {
        let h = &self.header;
        let mut global = Map::new();
        global.insert("core:datatype".into(), json!(h.datatype.as_str()));
        global.insert("core:sample_rate".into(), json!(h.sample_rate));
        global.insert("core:version".into(), json!(SIGMF_VERSION));
        if let Some(d) = &h.description {
            global.insert("core:description".into(), json!(d));
        }
        if let Some(hw) = &h.hw {
            global.insert("core:hw".into(), json!(hw));
        }
        global.insert(
            "core:extensions".into(),
            json!([{ "name": "qwave", "version": QWAVE_EXTENSION_VERSION, "optional": true }]),
        );
        if let Some(r) = &h.role {
            global.insert("qwave:role".into(), json!(r));
        }
        if let Some(s) = &h.stream {
            global.insert("qwave:stream".into(), json!(s));
        }
        let mut caps: Vec<Value> = self
            .captures
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("core:sample_start".into(), json!(c.sample_start));
                if let Some(g) = c.global_index {
                    m.insert("core:global_index".into(), json!(g));
                }
                if let Some(f) = c.frequency.filter(|f| f.is_finite()) {
                    m.insert("core:frequency".into(), json!(f));
                }
                if let Some(s) = c.seq {
                    m.insert("qwave:seq".into(), json!(s));
                }
                if let Some(d) = &c.direction {
                    m.insert("qwave:direction".into(), json!(d));
                }
                if c.damaged {
                    m.insert("qwave:damaged".into(), json!(true));
                }
                Value::Object(m)
            })
            .collect();
        if caps.is_empty() {
            caps.push(json!({ "core:sample_start": 0 }));
        }
        let anns = super::sigmf::annotations_json(&self.annotations);
        let doc = json!({ "global": global, "captures": caps, "annotations": anns });
        // A Value of maps, strings and finite numbers always serializes.
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// Flushes the data and writes the `.sigmf-meta` file.
    ///
    /// # Errors
    /// [`CaptureError::Io`] on a write failure.
    pub fn finish(mut self) -> Result<(), CaptureError> {
        let data_path = self.data_path.clone();
        self.data
            .flush()
            .and_then(|()| self.data.get_ref().sync_all())
            .map_err(|source| CaptureError::Io {
                path: data_path,
                source,
            })?;
        std::fs::write(&self.meta_path, self.meta_json()).map_err(|source| CaptureError::Io {
            path: self.meta_path.clone(),
            source,
        })
    }
}

/// Encodes samples as [`super::encode_iq`] does, into a reused buffer.
fn encode_into(samples: &[Complex32], datatype: SigmfDatatype, out: &mut Vec<u8>) {
    match datatype {
        SigmfDatatype::Ci16Le => {
            let q16 = |x: f32| ((x * 32768.0).round() as i16).to_le_bytes(); // `as` saturates
            for s in samples {
                out.extend_from_slice(&q16(s.re));
                out.extend_from_slice(&q16(s.im));
            }
        }
        SigmfDatatype::Cf32Le => {
            for s in samples {
                out.extend_from_slice(&s.re.to_le_bytes());
                out.extend_from_slice(&s.im.to_le_bytes());
            }
        }
    }
}

/// A SigMF recording opened for segment-by-segment reading.
pub struct SigmfRecording {
    /// Global fields and annotations.
    pub meta: SigmfMeta,
    /// `qwave:role` and `qwave:stream` (when present).
    pub role: Option<String>,
    /// `qwave:stream`: `"tx"` or `"rx"`.
    pub stream: Option<String>,
    /// Capture segments, in data order.
    pub captures: Vec<CaptureSegment>,
    /// Samples in the data file.
    pub total_samples: u64,
    data_path: PathBuf,
    data: File,
    bytes: Vec<u8>,
}

impl SigmfRecording {
    /// Opens a recording by base, `.sigmf-meta` or `.sigmf-data` path.
    ///
    /// # Errors
    /// [`CaptureError::Io`], [`CaptureError::Json`], [`CaptureError::Schema`]
    /// (bad or unsorted capture segments, segments past the data),
    /// [`CaptureError::Truncated`].
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let (meta_path, data_path) = sigmf_paths(path);
        let text = std::fs::read_to_string(&meta_path).map_err(|source| CaptureError::Io {
            path: meta_path.clone(),
            source,
        })?;
        let with_path = |e: CaptureError| match e {
            CaptureError::Json { source, .. } => CaptureError::Json {
                path: meta_path.clone(),
                source,
            },
            CaptureError::Schema { what, .. } => CaptureError::Schema {
                path: meta_path.clone(),
                what,
            },
            other => other,
        };
        let meta = parse_sigmf_meta(&text).map_err(with_path)?;
        let bad = |what: String| CaptureError::Schema {
            path: meta_path.clone(),
            what,
        };
        let doc: Value = serde_json::from_str(&text).map_err(|source| CaptureError::Json {
            path: meta_path.clone(),
            source,
        })?;
        let global = doc.get("global").and_then(Value::as_object);
        let gstr = |key: &str| -> Result<Option<String>, CaptureError> {
            match global.and_then(|g| g.get(key)) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(format!("global {key} is not a string"))),
            }
        };
        let role = gstr("qwave:role")?;
        let stream = gstr("qwave:stream")?;
        let captures = match doc.get("captures") {
            None => vec![CaptureSegment::default()],
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, c)| parse_capture(c).map_err(|w| bad(format!("captures[{i}] {w}"))))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(bad("`captures` is not an array".into())),
        };
        let data = File::open(&data_path).map_err(|source| CaptureError::Io {
            path: data_path.clone(),
            source,
        })?;
        let len = data
            .metadata()
            .map_err(|source| CaptureError::Io {
                path: data_path.clone(),
                source,
            })?
            .len();
        let size = meta.datatype.sample_size() as u64;
        if len % size != 0 {
            return Err(CaptureError::Truncated {
                path: data_path,
                len,
                sample_size: size as usize,
            });
        }
        let total_samples = len / size;
        for (i, w) in captures.windows(2).enumerate() {
            if w[1].sample_start < w[0].sample_start {
                return Err(bad(format!(
                    "captures[{}] starts before captures[{i}]",
                    i + 1
                )));
            }
        }
        if let Some(c) = captures.iter().find(|c| c.sample_start > total_samples) {
            return Err(bad(format!(
                "capture at sample {} is past the {total_samples} samples of the data",
                c.sample_start
            )));
        }
        Ok(Self {
            meta,
            role,
            stream,
            captures,
            total_samples,
            data_path,
            data,
            bytes: Vec::new(),
        })
    }

    /// Sample range `[start, end)` of capture segment `i` (up to the next segment).
    pub fn segment_range(&self, i: usize) -> Option<(u64, u64)> {
        let c = self.captures.get(i)?;
        let end = self
            .captures
            .get(i + 1)
            .map_or(self.total_samples, |n| n.sample_start);
        Some((c.sample_start, end))
    }

    /// Reads samples `[start, start + out.len())` into `out`.
    ///
    /// # Errors
    /// [`CaptureError::Invalid`] for a range past the data, [`CaptureError::Io`]
    /// on a read failure.
    pub fn read_range(&mut self, start: u64, out: &mut [Complex32]) -> Result<(), CaptureError> {
        if start + out.len() as u64 > self.total_samples {
            return Err(CaptureError::Invalid(format!(
                "{}: samples {start}..{} are past the {} samples of the data",
                self.data_path.display(),
                start + out.len() as u64,
                self.total_samples
            )));
        }
        let size = self.meta.datatype.sample_size();
        self.bytes.resize(out.len() * size, 0);
        let read = self
            .data
            .seek(SeekFrom::Start(start * size as u64))
            .and_then(|_| self.data.read_exact(&mut self.bytes));
        read.map_err(|source| CaptureError::Io {
            path: self.data_path.clone(),
            source,
        })?;
        for (o, s) in out.iter_mut().zip(self.bytes.chunks_exact(size)) {
            *o = match self.meta.datatype {
                SigmfDatatype::Ci16Le => Complex32::new(
                    f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0,
                    f32::from(i16::from_le_bytes([s[2], s[3]])) / 32768.0,
                ),
                SigmfDatatype::Cf32Le => Complex32::new(
                    f32::from_le_bytes([s[0], s[1], s[2], s[3]]),
                    f32::from_le_bytes([s[4], s[5], s[6], s[7]]),
                ),
            };
        }
        Ok(())
    }
}

fn parse_capture(c: &Value) -> Result<CaptureSegment, String> {
    let obj = c.as_object().ok_or("is not an object")?;
    let u = |key: &str| -> Result<Option<u64>, String> {
        match obj.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("{key} {v} is not a non-negative integer")),
        }
    };
    let frequency = match obj.get("core:frequency") {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| format!("core:frequency {v} is not a number"))?,
        ),
    };
    let direction = match obj.get("qwave:direction") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("qwave:direction is not a string".into()),
    };
    let damaged = match obj.get("qwave:damaged") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("qwave:damaged is not a boolean".into()),
    };
    Ok(CaptureSegment {
        sample_start: u("core:sample_start")?.ok_or("core:sample_start is missing")?,
        global_index: u("core:global_index")?,
        frequency,
        seq: u("qwave:seq")?,
        direction,
        damaged,
    })
}
