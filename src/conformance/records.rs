//! Turning corpus records into log records and back, and comparing values the way the
//! upstream harness does: JSON semantically (field order ignored, names case-insensitive),
//! integers exactly, doubles within 1e-6, decimals exactly including their scale.

use base64::Engine as _;

use super::json::Json;
use crate::format::{BASE64, Format, FormatKind};
use crate::plan::catalog::SourceDesc;
use crate::types::{SqlType, Value};

/// One side (key or value) of a source: its format and columns.
pub(crate) struct Side<'a> {
    pub format: &'a Format,
    pub columns: Vec<(String, SqlType)>,
}

impl<'a> Side<'a> {
    /// The key side of `source`.
    pub fn key(source: &'a SourceDesc) -> Self {
        Side {
            format: &source.key_format,
            columns: source.key_columns(),
        }
    }

    /// The value side of `source`.
    pub fn value(source: &'a SourceDesc) -> Self {
        Side {
            format: &source.value_format,
            columns: source.value_columns(),
        }
    }

    /// Whether a record of this side is the bare value of its only column.
    fn unwrapped(&self) -> bool {
        self.columns.len() == 1
            && (self.format.is_key
                || self.format.kind == FormatKind::Kafka
                || self.format.wrap_single_value == Some(false))
    }

    /// The type a record of this side has, to guide comparisons.
    pub fn hint(&self) -> SqlType {
        match self.columns.as_slice() {
            [(_, t)] if self.unwrapped() => t.clone(),
            cols => SqlType::Struct(cols.to_vec()),
        }
    }
}

/// Encodes one side of an input record. JSON is written as given; DELIMITED takes the string
/// as the record text; KAFKA encodes the value by the column's type.
pub(crate) fn encode(j: &Json, side: Option<&Side>) -> Result<Option<Vec<u8>>, String> {
    if j.is_null() {
        return Ok(None);
    }
    let kind = side.map(|s| s.format.kind);
    // A side with no columns (a stream without key columns) is not read: write what was given.
    let kind = kind.filter(|_| side.is_none_or(|s| !s.columns.is_empty()));
    match (kind, j) {
        // The internal format also reads JSON.
        (Some(FormatKind::Json | FormatKind::Internal), _) => Ok(Some(j.to_string().into_bytes())),
        (Some(FormatKind::None), _) => Ok(None),
        (Some(FormatKind::Delimited), Json::String(s)) => Ok(Some(s.clone().into_bytes())),
        (Some(FormatKind::Delimited), Json::Number(n)) => Ok(Some(n.clone().into_bytes())),
        (Some(FormatKind::Kafka | FormatKind::Delimited), _) => {
            let Some(side) = side else {
                return Err("no format".into());
            };
            let values = match (side.columns.as_slice(), j) {
                ([(_, t)], j) => vec![json_to_value(j, t)?],
                (cols, Json::Object(_)) => cols
                    .iter()
                    .map(|(n, t)| json_to_value(field_ci(j, n).unwrap_or(&Json::Null), t))
                    .collect::<Result<_, _>>()?,
                (cols, _) => {
                    return Err(format!(
                        "cannot encode {j} for {} columns in {}",
                        cols.len(),
                        side.format.kind.name()
                    ));
                }
            };
            side.format
                .encode_row(&side.columns, &values)
                .map_err(|e| e.to_string())
        }
        // No source over the topic: strings as text, anything else as JSON.
        (None, Json::String(s)) => Ok(Some(s.clone().into_bytes())),
        (None, _) => Ok(Some(j.to_string().into_bytes())),
    }
}

/// A corpus value as an engine value of type `ty` (for the KAFKA format).
fn json_to_value(j: &Json, ty: &SqlType) -> Result<Value, String> {
    let bad = || format!("cannot read {j} as {ty}");
    Ok(match (j, ty) {
        (Json::Null, _) => Value::Null,
        (Json::Number(n), SqlType::Int) => Value::Int(n.parse().map_err(|_| bad())?),
        (Json::Number(n), SqlType::BigInt) => Value::BigInt(n.parse().map_err(|_| bad())?),
        (Json::Number(n), SqlType::Timestamp) => Value::Timestamp(n.parse().map_err(|_| bad())?),
        (Json::Number(n), SqlType::Double) => Value::Double(n.parse().map_err(|_| bad())?),
        (Json::String(s), SqlType::Double) => Value::Double(s.parse().map_err(|_| bad())?),
        (Json::Number(n) | Json::String(n), SqlType::Decimal { scale, .. }) => {
            Value::Decimal(Value::parse_decimal(n, *scale).ok_or_else(bad)?, *scale)
        }
        (Json::Bool(b), SqlType::Boolean) => Value::Boolean(*b),
        (Json::String(s), SqlType::Bytes) => Value::Bytes(BASE64.decode(s.as_bytes()).map_err(|_| bad())?),
        (Json::String(s), SqlType::String) => Value::String(s.clone()),
        (Json::Number(n), SqlType::String) => Value::String(n.clone()),
        _ => return Err(bad()),
    })
}

/// Renders one side of a consumed record as JSON: JSON text parsed, DELIMITED as its text,
/// KAFKA decoded by the columns' types.
pub(crate) fn decode(bytes: Option<&[u8]>, side: Option<&Side>) -> Json {
    let Some(bytes) = bytes else {
        return Json::Null;
    };
    let text = || Json::String(String::from_utf8_lossy(bytes).into_owned());
    match side {
        Some(s) if s.format.kind == FormatKind::Json => std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| Json::parse(t).ok())
            .unwrap_or_else(text),
        Some(s) if s.format.kind == FormatKind::Kafka => match s.format.decode_row(&s.columns, Some(bytes)) {
            Ok(values) if values.len() == 1 => value_to_json(&values[0]),
            _ => Json::String(format!("<undecodable KAFKA bytes {}>", hex(bytes))),
        },
        Some(_) => text(),
        None => std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| Json::parse(t).ok())
            .unwrap_or_else(text),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An engine value as JSON, as ksqlDB's JSON serializer writes it.
pub(crate) fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number(i.to_string()),
        Value::BigInt(i) | Value::Timestamp(i) => Json::Number(i.to_string()),
        Value::Date(d) => Json::Number(d.to_string()),
        Value::Time(t) => Json::Number(t.to_string()),
        Value::Double(d) if d.is_finite() => Json::Number(format!("{d:?}")),
        Value::Double(d) => Json::String(
            if d.is_nan() {
                "NaN"
            } else if *d > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            }
            .into(),
        ),
        Value::Decimal(u, s) => Json::Number(Value::decimal_to_string(*u, *s)),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(BASE64.encode(b)),
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (key, value_to_json(v))
                })
                .collect(),
        ),
        Value::Struct(fields) => Json::Object(fields.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect()),
    }
}

/// The field `name` of an object: exact name first, then ignoring case.
fn field_ci<'a>(j: &'a Json, name: &str) -> Option<&'a Json> {
    let Json::Object(fields) = j else { return None };
    fields
        .iter()
        .find(|(k, _)| k == name)
        .or_else(|| fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .map(|(_, v)| v)
}

/// Whether `actual` matches `expected`; `ty` (when known) decides how numbers compare.
pub(crate) fn json_matches(expected: &Json, actual: &Json, ty: Option<&SqlType>) -> bool {
    match (expected, actual) {
        (Json::Null, Json::Null) => true,
        (Json::Bool(a), Json::Bool(b)) => a == b,
        (Json::Number(e), Json::Number(a)) => numbers_match(e, a, ty),
        // ksqlDB: a string matches a DECIMAL if it parses to the same value.
        (Json::String(e), Json::Number(a)) | (Json::Number(e), Json::String(a))
            if matches!(ty, Some(SqlType::Decimal { .. })) =>
        {
            decimal_value_eq(e, a)
        }
        (Json::String(e), Json::String(a)) => e == a,
        (Json::Array(e), Json::Array(a)) => {
            let elem = match ty {
                Some(SqlType::Array(t)) => Some(t.as_ref()),
                _ => None,
            };
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| json_matches(x, y, elem))
        }
        (Json::Object(e), Json::Object(a)) => {
            let is_map = matches!(ty, Some(SqlType::Map(..)));
            let field_ty = |name: &str| match ty {
                Some(SqlType::Struct(fields)) => fields
                    .iter()
                    .find(|(n, _)| n == name)
                    .or_else(|| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
                    .map(|(_, t)| t),
                Some(SqlType::Map(_, v)) => Some(v.as_ref()),
                _ => None,
            };
            if is_map {
                // Map keys are data: exact names, and a missing key is not a null value.
                return e.len() == a.len()
                    && e.iter().all(|(name, ev)| {
                        a.iter()
                            .find(|(k, _)| k == name)
                            .is_some_and(|(_, av)| json_matches(ev, av, field_ty(name)))
                    });
            }
            // Rows and structs are read by their schema upstream: names match ignoring case,
            // and a field that is absent reads as NULL.
            let expected_ok = e.iter().all(|(name, ev)| match field_ci(actual, name) {
                Some(av) => json_matches(ev, av, field_ty(name)),
                None => ev.is_null(),
            });
            let actual_ok = a
                .iter()
                .all(|(name, av)| av.is_null() || field_ci(expected, name).is_some());
            expected_ok && actual_ok
        }
        _ => false,
    }
}

fn numbers_match(e: &str, a: &str, ty: Option<&SqlType>) -> bool {
    if e == a {
        return true;
    }
    match ty {
        Some(SqlType::Decimal { .. }) => decimal_scale_eq(e, a),
        Some(SqlType::Int | SqlType::BigInt | SqlType::Timestamp | SqlType::Date | SqlType::Time) => {
            decimal_value_eq(e, a)
        }
        _ => {
            decimal_value_eq(e, a)
                || match (e.parse::<f64>(), a.parse::<f64>()) {
                    (Ok(x), Ok(y)) => {
                        let diff = (x - y).abs();
                        diff <= 1e-6 || diff <= 1e-9 * x.abs().max(y.abs())
                    }
                    _ => false,
                }
        }
    }
}

/// A number as sign, unscaled digits (no leading zeros) and scale: `-1.20` is
/// `(true, "120", 2)`.
fn decimal_parts(text: &str) -> Option<(bool, String, i64)> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = format!("{int}{frac}").trim_start_matches('0').to_string();
    Some((neg && !digits.is_empty(), digits, frac.len() as i64 - exp))
}

/// Same value and same scale (`1.10` differs from `1.1`).
fn decimal_scale_eq(a: &str, b: &str) -> bool {
    match (decimal_parts(a), decimal_parts(b)) {
        (Some(x), Some(y)) => x == y || (x.1.is_empty() && y.1.is_empty() && x.2 == y.2),
        _ => false,
    }
}

/// Same numeric value, whatever the scale.
fn decimal_value_eq(a: &str, b: &str) -> bool {
    let norm = |p: (bool, String, i64)| {
        let (neg, mut digits, mut scale) = p;
        while digits.ends_with('0') {
            digits.pop();
            scale -= 1;
        }
        if digits.is_empty() {
            (false, digits, 0)
        } else {
            (neg, digits, scale)
        }
    };
    match (decimal_parts(a), decimal_parts(b)) {
        (Some(x), Some(y)) => norm(x) == norm(y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Json {
        Json::parse(s).unwrap()
    }

    #[test]
    fn numbers_compare_by_type() {
        let dec = SqlType::Decimal { precision: 4, scale: 2 };
        assert!(json_matches(&j("1.10"), &j("1.10"), Some(&dec)));
        assert!(!json_matches(&j("1.10"), &j("1.1"), Some(&dec)));
        assert!(json_matches(&j("\"1.1\""), &j("1.10"), Some(&dec)));
        assert!(json_matches(
            &j("0.3"),
            &j("0.30000000000000004"),
            Some(&SqlType::Double)
        ));
        assert!(json_matches(&j("1"), &j("1.0"), Some(&SqlType::Double)));
        assert!(!json_matches(&j("1"), &j("2"), Some(&SqlType::BigInt)));
        assert!(json_matches(&j("100"), &j("1E+2"), None));
    }

    #[test]
    fn objects_ignore_order_and_case() {
        assert!(json_matches(
            &j(r#"{"A":1,"B":[1,2]}"#),
            &j(r#"{"b":[1,2],"a":1}"#),
            None
        ));
        assert!(!json_matches(&j(r#"{"A":1}"#), &j(r#"{"A":1,"B":2}"#), None));
        assert!(!json_matches(&j("null"), &j("0"), None));
    }
}
