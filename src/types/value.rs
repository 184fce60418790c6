use std::cmp::Ordering;
use std::fmt;

use super::SqlType;

/// One SQL value. `Null` is typeless: its type comes from the column or expression it sits in.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// SQL NULL.
    #[default]
    Null,
    /// BOOLEAN
    Boolean(bool),
    /// INT
    Int(i32),
    /// BIGINT
    BigInt(i64),
    /// DOUBLE
    Double(f64),
    /// DECIMAL: the unscaled integer and the scale (`12.34` = `Decimal(1234, 2)`).
    Decimal(i128, i8),
    /// STRING
    String(String),
    /// BYTES
    Bytes(Vec<u8>),
    /// TIMESTAMP, milliseconds since the epoch.
    Timestamp(i64),
    /// DATE, days since the epoch.
    Date(i32),
    /// TIME, milliseconds since midnight.
    Time(i32),
    /// ARRAY
    Array(Vec<Value>),
    /// MAP, in insertion order.
    Map(Vec<(Value, Value)>),
    /// STRUCT: field names with their values, in declaration order.
    Struct(Vec<(String, Value)>),
}

impl Value {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as an i64, for INT and BIGINT (and TIMESTAMP, which is one).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v as i64),
            Value::BigInt(v) | Value::Timestamp(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as an f64, for any numeric value.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::BigInt(v) => Some(*v as f64),
            Value::Double(v) => Some(*v),
            Value::Decimal(u, s) => Some(*u as f64 / 10f64.powi(*s as i32)),
            _ => None,
        }
    }

    /// The value as a string slice, for STRING.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a bool, for BOOLEAN.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// A decimal value rescaled to `scale`, or `None` if it does not fit in 38 digits.
    pub fn decimal_rescale(unscaled: i128, from: i8, to: i8) -> Option<i128> {
        match to.cmp(&from) {
            Ordering::Equal => Some(unscaled),
            Ordering::Greater => unscaled.checked_mul(10i128.checked_pow((to - from) as u32)?),
            Ordering::Less => {
                let div = 10i128.checked_pow((from - to) as u32)?;
                // Round half up, away from zero, as Java's BigDecimal HALF_UP does.
                let q = unscaled / div;
                let r = unscaled % div;
                Some(if r.abs() * 2 >= div { q + unscaled.signum() } else { q })
            }
        }
    }

    /// Formats a decimal's unscaled value and scale as plain text (`1234, 2` → `12.34`).
    pub fn decimal_to_string(unscaled: i128, scale: i8) -> String {
        if scale <= 0 {
            return (unscaled * 10i128.pow((-scale) as u32)).to_string();
        }
        let neg = unscaled < 0;
        let digits = unscaled.unsigned_abs().to_string();
        let scale = scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits)
        } else {
            digits
        };
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{}{}.{}", if neg { "-" } else { "" }, int, frac)
    }

    /// Parses decimal text into an unscaled value at `scale`.
    pub fn parse_decimal(text: &str, scale: i8) -> Option<i128> {
        let t = text.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let digits = format!("{int}{frac}");
        let unscaled: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        let v = Value::decimal_rescale(unscaled, frac.len() as i8, scale)?;
        Some(if neg { -v } else { v })
    }

    /// The type this value naturally has, where it can be told from the value alone.
    pub fn natural_type(&self) -> Option<SqlType> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => SqlType::Boolean,
            Value::Int(_) => SqlType::Int,
            Value::BigInt(_) => SqlType::BigInt,
            Value::Double(_) => SqlType::Double,
            Value::Decimal(u, s) => {
                let digits = u.unsigned_abs().to_string().len() as i16;
                SqlType::Decimal {
                    precision: digits.max(*s as i16).clamp(1, 38) as u8,
                    scale: *s,
                }
            }
            Value::String(_) => SqlType::String,
            Value::Bytes(_) => SqlType::Bytes,
            Value::Timestamp(_) => SqlType::Timestamp,
            Value::Date(_) => SqlType::Date,
            Value::Time(_) => SqlType::Time,
            Value::Array(items) => SqlType::Array(Box::new(
                items.iter().find_map(|v| v.natural_type()).unwrap_or(SqlType::String),
            )),
            Value::Map(entries) => SqlType::Map(
                Box::new(
                    entries
                        .iter()
                        .find_map(|(k, _)| k.natural_type())
                        .unwrap_or(SqlType::String),
                ),
                Box::new(
                    entries
                        .iter()
                        .find_map(|(_, v)| v.natural_type())
                        .unwrap_or(SqlType::String),
                ),
            ),
            Value::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|(n, v)| (n.clone(), v.natural_type().unwrap_or(SqlType::String)))
                    .collect(),
            ),
        })
    }

    /// SQL comparison: `None` when either side is NULL or the values are not comparable.
    /// Numbers compare by value across INT, BIGINT, DECIMAL and DOUBLE.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, _) | (_, Null) => None,
            (Boolean(a), Boolean(b)) => Some(a.cmp(b)),
            (String(a), String(b)) => Some(a.cmp(b)),
            (Bytes(a), Bytes(b)) => Some(a.cmp(b)),
            (Timestamp(a), Timestamp(b)) => Some(a.cmp(b)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (Time(a), Time(b)) => Some(a.cmp(b)),
            (Decimal(a, sa), Decimal(b, sb)) => {
                let s = (*sa).max(*sb);
                Some(Value::decimal_rescale(*a, *sa, s)?.cmp(&Value::decimal_rescale(*b, *sb, s)?))
            }
            (Array(a), Array(b)) => {
                for (x, y) in a.iter().zip(b) {
                    match x.sql_cmp(y)? {
                        Ordering::Equal => continue,
                        o => return Some(o),
                    }
                }
                Some(a.len().cmp(&b.len()))
            }
            (Map(_), Map(_)) | (Struct(_), Struct(_)) => {
                if self == other {
                    Some(Ordering::Equal)
                } else {
                    None
                }
            }
            _ => match (self.as_i64(), other.as_i64()) {
                (Some(a), Some(b)) if !matches!(self, Timestamp(_)) && !matches!(other, Timestamp(_)) => {
                    Some(a.cmp(&b))
                }
                _ => {
                    if let (Decimal(..), _) | (_, Decimal(..)) = (self, other)
                        && !matches!(self, Double(_))
                        && !matches!(other, Double(_))
                    {
                        let a = self.to_decimal(18)?;
                        let b = other.to_decimal(18)?;
                        return Some(a.cmp(&b));
                    }
                    self.as_f64()?.partial_cmp(&other.as_f64()?)
                }
            },
        }
    }

    /// An integer or decimal value as an unscaled decimal at `scale`.
    fn to_decimal(&self, scale: i8) -> Option<i128> {
        match self {
            Value::Int(v) => Value::decimal_rescale(*v as i128, 0, scale),
            Value::BigInt(v) => Value::decimal_rescale(*v as i128, 0, scale),
            Value::Decimal(u, s) => Value::decimal_rescale(*u, *s, scale),
            _ => None,
        }
    }

    /// The value as JSON, as ksqlDB writes it in the JSON format and REST responses.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Boolean(b) => J::Bool(*b),
            Value::Int(v) => J::from(*v),
            Value::BigInt(v) | Value::Timestamp(v) => J::from(*v),
            Value::Double(v) => serde_json::Number::from_f64(*v)
                .map(J::Number)
                .unwrap_or_else(|| J::String(v.to_string())),
            Value::Decimal(u, s) => {
                let text = Value::decimal_to_string(*u, *s);
                serde_json::from_str::<serde_json::Number>(&text)
                    .map(J::Number)
                    .unwrap_or(J::String(text))
            }
            Value::String(s) => J::String(s.clone()),
            Value::Bytes(b) => {
                use base64::Engine;
                J::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::Date(d) => J::from(*d),
            Value::Time(t) => J::from(*t),
            Value::Array(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.to_string(), v.to_json())).collect()),
            Value::Struct(fields) => J::Object(fields.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

/// Text as the shell prints it: strings bare, NULL as `null`, collections in ksqlDB's style.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::BigInt(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{}", format_double(*v)),
            Value::Decimal(u, s) => f.write_str(&Value::decimal_to_string(*u, *s)),
            Value::String(s) => f.write_str(s),
            Value::Bytes(_) => match self.to_json() {
                serde_json::Value::String(s) => f.write_str(&s),
                other => write!(f, "{other}"),
            },
            Value::Timestamp(ms) => f.write_str(&crate::types::arrow::format_timestamp(*ms)),
            Value::Date(d) => f.write_str(&crate::types::arrow::format_date(*d)),
            Value::Time(t) => f.write_str(&crate::types::arrow::format_time(*t)),
            Value::Array(_) | Value::Map(_) | Value::Struct(_) => write!(f, "{}", self.to_json()),
        }
    }
}

/// Formats a double as Java's `Double.toString` does for the common range (`1.0`, `0.5`, `1.0E10`).
pub fn format_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-3..1e7).contains(&abs) {
        let s = format!("{v:E}");
        // Rust prints `1E10`; Java prints `1.0E10`.
        return match s.split_once('E') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
            _ => s,
        };
    }
    let s = format!("{v}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_through_text() {
        assert_eq!(Value::decimal_to_string(1234, 2), "12.34");
        assert_eq!(Value::decimal_to_string(-5, 2), "-0.05");
        assert_eq!(Value::parse_decimal("12.345", 2), Some(1235));
        assert_eq!(Value::parse_decimal("-0.05", 2), Some(-5));
        assert_eq!(Value::parse_decimal("abc", 2), None);
    }

    #[test]
    fn numbers_compare_across_types() {
        assert_eq!(Value::Int(3).sql_cmp(&Value::BigInt(3)), Some(Ordering::Equal));
        assert_eq!(Value::Int(3).sql_cmp(&Value::Double(3.5)), Some(Ordering::Less));
        assert_eq!(Value::Decimal(350, 2).sql_cmp(&Value::Int(3)), Some(Ordering::Greater));
        assert_eq!(Value::Null.sql_cmp(&Value::Int(3)), None);
    }

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(format_double(1.0), "1.0");
        assert_eq!(format_double(0.5), "0.5");
        assert_eq!(format_double(1e10), "1.0E10");
    }
}
