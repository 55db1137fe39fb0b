//! ETSI GS QKD 014 V1.1.1 data formats (§6) and request validation, pure.
//! Status (§6.1), Key request (§6.2), Key container (§6.3), Key IDs (§6.4),
//! Error (§6.5). Parsing works on `serde_json::Value` so that every malformed
//! or out-of-range field gets a 400 with a message naming it, never a 500.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Status data format (§6.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    /// KME ID of the KME.
    #[serde(rename = "source_KME_ID")]
    pub source_kme_id: String,
    /// KME ID of the target KME.
    #[serde(rename = "target_KME_ID")]
    pub target_kme_id: String,
    /// SAE ID of the calling master SAE.
    #[serde(rename = "master_SAE_ID")]
    pub master_sae_id: String,
    /// SAE ID of the specified slave SAE.
    #[serde(rename = "slave_SAE_ID")]
    pub slave_sae_id: String,
    /// Default key size in bits.
    pub key_size: u32,
    /// Keys (of `key_size`) the KME can deliver now.
    pub stored_key_count: u64,
    /// Maximum of `stored_key_count`.
    pub max_key_count: u64,
    /// Maximum keys per request.
    pub max_key_per_request: u32,
    /// Maximum key size in bits.
    pub max_key_size: u32,
    /// Minimum key size in bits.
    pub min_key_size: u32,
    /// Maximum number of additional slave SAE IDs (0: no multicast).
    #[serde(rename = "max_SAE_ID_count")]
    pub max_sae_id_count: u32,
}

/// One key in a key container (§6.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyItem {
    /// Key ID (UUID).
    #[serde(rename = "key_ID")]
    pub key_id: String,
    /// Key material, base64 (RFC 4648).
    pub key: String,
}

/// Key container (§6.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyContainer {
    /// The keys.
    pub keys: Vec<KeyItem>,
}

/// Error data format (§6.5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    /// Error message.
    pub message: String,
    /// Detailed error objects (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Value>,
}

/// The limits a KME advertises in its status.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Default key size in bits.
    pub key_size: u32,
    /// Maximum keys per request.
    pub max_key_per_request: u32,
    /// Maximum key size in bits.
    pub max_key_size: u32,
    /// Minimum key size in bits.
    pub min_key_size: u32,
    /// Maximum additional slave SAE IDs.
    pub max_sae_id_count: u32,
}

/// A validated key request (§6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRequest {
    /// Number of keys (default 1).
    pub number: u32,
    /// Size of each key in bits (default `key_size`).
    pub size: u32,
    /// Additional slave SAEs that share the keys.
    pub additional_slaves: Vec<String>,
}

/// A request the standard says gets 400 "Bad request format".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct BadRequest {
    /// The message.
    pub message: String,
    /// Details (§6.5 `details`).
    pub details: Vec<Value>,
}

impl BadRequest {
    /// A 400 with a message and no details.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details: Vec::new(),
        }
    }

    fn field(message: impl Into<String>, parameter: &str, value: &Value) -> Self {
        Self {
            message: message.into(),
            details: vec![serde_json::json!({ "parameter": parameter, "value": value })],
        }
    }
}

/// The message for a JSON body that does not parse.
pub const MSG_MALFORMED: &str = "request body is not valid JSON";

fn int_field(v: Option<&Value>, name: &str) -> Result<Option<i128>, BadRequest> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i128::from(i)))
            } else if let Some(u) = n.as_u64() {
                Ok(Some(i128::from(u)))
            } else {
                // Floats: accept only exact integers (e.g. 1e3), clamp the magnitude.
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.is_finite() && f.fract() == 0.0 {
                    Ok(Some(f.clamp(-1e30, 1e30) as i128))
                } else {
                    Err(BadRequest::field(
                        format!("{name} shall be an integer"),
                        name,
                        &Value::Number(n.clone()),
                    ))
                }
            }
        }
        Some(other) => Err(BadRequest::field(
            format!("{name} shall be an integer"),
            name,
            other,
        )),
    }
}

/// Validates `number` and `size` (shared by GET query and POST body).
fn number_and_size(
    number: Option<i128>,
    size: Option<i128>,
    lim: &Limits,
) -> Result<(u32, u32), BadRequest> {
    let number = number.unwrap_or(1);
    if number < 1 {
        return Err(BadRequest::field(
            "number shall be a positive integer",
            "number",
            &num(number),
        ));
    }
    if number > i128::from(lim.max_key_per_request) {
        return Err(BadRequest::field(
            format!(
                "number shall not exceed max_key_per_request ({})",
                lim.max_key_per_request
            ),
            "number",
            &num(number),
        ));
    }
    let size = size.unwrap_or(i128::from(lim.key_size));
    if size < 1 {
        return Err(BadRequest::field(
            "size shall be a positive integer",
            "size",
            &num(size),
        ));
    }
    if size % 8 != 0 {
        return Err(BadRequest::field(
            "size shall be a multiple of 8",
            "size",
            &num(size),
        ));
    }
    if size < i128::from(lim.min_key_size) || size > i128::from(lim.max_key_size) {
        return Err(BadRequest::field(
            format!(
                "size shall be between min_key_size ({}) and max_key_size ({})",
                lim.min_key_size, lim.max_key_size
            ),
            "size",
            &num(size),
        ));
    }
    Ok((number as u32, size as u32))
}

fn num(v: i128) -> Value {
    i64::try_from(v).map_or_else(|_| Value::String(v.to_string()), Value::from)
}

/// Parses the query of `GET …/enc_keys?number=…&size=…` (§5.2).
///
/// # Errors
/// [`BadRequest`] naming the offending parameter.
pub fn key_request_from_query(query: Option<&str>, lim: &Limits) -> Result<KeyRequest, BadRequest> {
    let mut number = None;
    let mut size = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let parsed = || {
            v.parse::<i128>().map_err(|_| {
                BadRequest::field(
                    format!("{k} shall be an integer"),
                    k,
                    &Value::String(v.to_owned()),
                )
            })
        };
        match k {
            "number" => number = Some(parsed()?),
            "size" => size = Some(parsed()?),
            _ => {}
        }
    }
    let (number, size) = number_and_size(number, size, lim)?;
    Ok(KeyRequest {
        number,
        size,
        additional_slaves: Vec::new(),
    })
}

/// Parses the body of `POST …/enc_keys` (§6.2). Unsupported
/// `extension_mandatory` parameters are refused as the standard requires;
/// `extension_optional` is ignored.
///
/// # Errors
/// [`BadRequest`] naming the offending field.
pub fn key_request_from_body(body: &[u8], lim: &Limits) -> Result<KeyRequest, BadRequest> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body).map_err(|e| BadRequest {
            message: MSG_MALFORMED.into(),
            details: vec![serde_json::json!({ "error": e.to_string() })],
        })?
    };
    let obj = v
        .as_object()
        .ok_or_else(|| BadRequest::new("key request shall be a JSON object"))?;
    let (number, size) = number_and_size(
        int_field(obj.get("number"), "number")?,
        int_field(obj.get("size"), "size")?,
        lim,
    )?;
    let mut additional_slaves = Vec::new();
    match obj.get("additional_slave_SAE_IDs") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            if a.len() > lim.max_sae_id_count as usize {
                return Err(BadRequest::new(format!(
                    "additional_slave_SAE_IDs shall not exceed max_SAE_ID_count ({})",
                    lim.max_sae_id_count
                )));
            }
            for id in a {
                let s = id.as_str().ok_or_else(|| {
                    BadRequest::field(
                        "additional_slave_SAE_IDs shall be strings",
                        "additional_slave_SAE_IDs",
                        id,
                    )
                })?;
                if additional_slaves.iter().any(|x: &String| x == s) {
                    return Err(BadRequest::field(
                        "additional_slave_SAE_IDs shall not repeat an ID",
                        "additional_slave_SAE_IDs",
                        id,
                    ));
                }
                additional_slaves.push(s.to_owned());
            }
        }
        Some(other) => {
            return Err(BadRequest::field(
                "additional_slave_SAE_IDs shall be an array",
                "additional_slave_SAE_IDs",
                other,
            ))
        }
    }
    if let Some(ext) = obj.get("extension_mandatory") {
        let names: Vec<Value> = match ext {
            Value::Null => Vec::new(),
            Value::Array(a) => a
                .iter()
                .flat_map(|o| {
                    o.as_object()
                        .map(|m| m.keys().cloned().collect::<Vec<_>>())
                        .unwrap_or_default()
                })
                .map(Value::String)
                .collect(),
            Value::Object(m) => m.keys().cloned().map(Value::String).collect(),
            _ => vec![ext.clone()],
        };
        if !names.is_empty() {
            return Err(BadRequest {
                message: "not all extension_mandatory parameters are supported".into(),
                details: vec![serde_json::json!({ "extension_mandatory_unsupported": names })],
            });
        }
    }
    Ok(KeyRequest {
        number,
        size,
        additional_slaves,
    })
}

/// Parses `GET …/dec_keys?key_ID=…` (§5.3): one or more `key_ID` parameters.
///
/// # Errors
/// [`BadRequest`].
pub fn key_ids_from_query(query: Option<&str>, max: u32) -> Result<Vec<String>, BadRequest> {
    let ids: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| *k == "key_ID")
        .map(|(_, v)| v.to_owned())
        .collect();
    check_ids(ids, max)
}

/// Parses the Key IDs body of `POST …/dec_keys` (§6.4).
///
/// # Errors
/// [`BadRequest`].
pub fn key_ids_from_body(body: &[u8], max: u32) -> Result<Vec<String>, BadRequest> {
    let v: Value = serde_json::from_slice(body).map_err(|e| BadRequest {
        message: MSG_MALFORMED.into(),
        details: vec![serde_json::json!({ "error": e.to_string() })],
    })?;
    let arr = v
        .get("key_IDs")
        .and_then(Value::as_array)
        .ok_or_else(|| BadRequest::new("key_IDs shall be an array of objects with key_ID"))?;
    let mut ids = Vec::with_capacity(arr.len());
    for item in arr {
        let id = item.get("key_ID").and_then(Value::as_str).ok_or_else(|| {
            BadRequest::field(
                "each key_IDs item shall have a key_ID string",
                "key_IDs",
                item,
            )
        })?;
        ids.push(id.to_owned());
    }
    check_ids(ids, max)
}

fn check_ids(ids: Vec<String>, max: u32) -> Result<Vec<String>, BadRequest> {
    if ids.is_empty() {
        return Err(BadRequest::new("at least one key_ID is required"));
    }
    if ids.len() > max as usize {
        return Err(BadRequest::new(format!(
            "number of key_IDs shall not exceed max_key_per_request ({max})"
        )));
    }
    for (i, id) in ids.iter().enumerate() {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(BadRequest::field(
                "key_ID shall be a UUID",
                "key_ID",
                &Value::String(id.clone()),
            ));
        }
        if ids[..i].contains(id) {
            return Err(BadRequest::field(
                "key_ID repeated",
                "key_ID",
                &Value::String(id.clone()),
            ));
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits {
        key_size: 256,
        max_key_per_request: 128,
        max_key_size: 8192,
        min_key_size: 64,
        max_sae_id_count: 2,
    };

    #[test]
    fn defaults_and_errors() {
        let r = key_request_from_body(b"{}", &LIM).unwrap();
        assert_eq!((r.number, r.size), (1, 256));
        let r = key_request_from_query(Some("number=3&size=512"), &LIM).unwrap();
        assert_eq!((r.number, r.size), (3, 512));
        let msg = |b: &[u8]| key_request_from_body(b, &LIM).unwrap_err().message;
        assert_eq!(msg(br#"{"size": 100}"#), "size shall be a multiple of 8");
        assert_eq!(msg(br#"{"size": -8}"#), "size shall be a positive integer");
        assert_eq!(
            msg(br#"{"number": 0}"#),
            "number shall be a positive integer"
        );
        assert!(msg(br#"{"number": 99999999999999999999999}"#).contains("max_key_per_request"));
        assert!(msg(br#"{"size": 1e300}"#).contains("max_key_size"));
        assert_eq!(msg(br#"{"number": "two"}"#), "number shall be an integer");
        assert_eq!(msg(b"{not json"), MSG_MALFORMED);
        assert!(msg(br#"{"extension_mandatory": [{"x": 1}]}"#).contains("extension_mandatory"));
        assert!(key_ids_from_query(Some("key_ID=nope"), 8).is_err());
    }
}
