//! `CAST` between SQL types, with ksqlDB's conversions (Java's number formatting and
//! truncation, ISO-8601 text for temporal types).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::types::arrow::{format_date, format_time, format_timestamp};
use crate::types::{SqlType, Value, format_double};

/// Converts `v` to type `to`; an error names the value and the target.
pub fn cast_value(v: Value, to: &SqlType) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let fail = |v: &Value| format!("Cannot cast {} to {to}", describe(v));
    Ok(match (to, &v) {
        (SqlType::String, _) => Value::String(to_text(&v)),
        (SqlType::Boolean, Value::Boolean(_)) => v,
        (SqlType::Boolean, Value::String(s)) => Value::Boolean(s.trim().eq_ignore_ascii_case("true")),
        (SqlType::Int, _) => match &v {
            Value::String(s) => Value::Int(s.trim().parse::<i32>().map_err(|_| fail(&v))?),
            Value::Double(d) => Value::Int(java_f64_to_i64(*d) as i32),
            Value::Decimal(u, s) => Value::Int(truncate_decimal(*u, *s) as i32),
            other => Value::Int(other.as_i64().ok_or_else(|| fail(other))? as i32),
        },
        (SqlType::BigInt, _) => match &v {
            Value::String(s) => Value::BigInt(s.trim().parse::<i64>().map_err(|_| fail(&v))?),
            Value::Double(d) => Value::BigInt(java_f64_to_i64(*d)),
            Value::Decimal(u, s) => Value::BigInt(truncate_decimal(*u, *s) as i64),
            Value::Int(_) | Value::BigInt(_) => Value::BigInt(v.as_i64().unwrap_or_default()),
            other => return Err(fail(other)),
        },
        (SqlType::Double, _) => match &v {
            Value::String(s) => Value::Double(s.trim().parse::<f64>().map_err(|_| fail(&v))?),
            Value::Int(_) | Value::BigInt(_) | Value::Double(_) | Value::Decimal(..) => {
                Value::Double(v.as_f64().unwrap_or_default())
            }
            other => return Err(fail(other)),
        },
        (SqlType::Decimal { precision, scale }, _) => {
            let unscaled = match &v {
                Value::String(s) => Value::parse_decimal(s, *scale).ok_or_else(|| fail(&v))?,
                Value::Int(i) => Value::decimal_rescale(*i as i128, 0, *scale).ok_or_else(|| fail(&v))?,
                Value::BigInt(i) => Value::decimal_rescale(*i as i128, 0, *scale).ok_or_else(|| fail(&v))?,
                Value::Decimal(u, s) => Value::decimal_rescale(*u, *s, *scale).ok_or_else(|| fail(&v))?,
                Value::Double(d) => {
                    if !d.is_finite() {
                        return Err(fail(&v));
                    }
                    Value::parse_decimal(&format!("{d}"), *scale).ok_or_else(|| fail(&v))?
                }
                other => return Err(fail(other)),
            };
            if unscaled.unsigned_abs() >= 10u128.pow(*precision as u32) {
                return Err(format!("Numeric field overflow: {} does not fit {to}", describe(&v)));
            }
            Value::Decimal(unscaled, *scale)
        }
        (SqlType::Bytes, Value::Bytes(_)) => v,
        (SqlType::Timestamp, Value::Timestamp(_)) => v,
        (SqlType::Timestamp, Value::String(s)) => Value::Timestamp(parse_timestamp_text(s).ok_or_else(|| fail(&v))?),
        (SqlType::Timestamp, Value::Date(d)) => Value::Timestamp(*d as i64 * 86_400_000),
        (SqlType::Date, Value::Date(_)) => v,
        (SqlType::Date, Value::Timestamp(ms)) => Value::Date(ms.div_euclid(86_400_000) as i32),
        (SqlType::Date, Value::String(s)) => Value::Date(
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map(|d| (d - NaiveDate::default()).num_days() as i32)
                .map_err(|_| fail(&v))?,
        ),
        (SqlType::Time, Value::Time(_)) => v,
        (SqlType::Time, Value::Timestamp(ms)) => Value::Time(ms.rem_euclid(86_400_000) as i32),
        (SqlType::Time, Value::String(s)) => Value::Time(parse_time_text(s).ok_or_else(|| fail(&v))?),
        (SqlType::Array(item), Value::Array(items)) => Value::Array(
            items
                .iter()
                .cloned()
                .map(|i| cast_value(i, item))
                .collect::<Result<_, _>>()?,
        ),
        (SqlType::Map(kt, vt), Value::Map(entries)) => Value::Map(
            entries
                .iter()
                .cloned()
                .map(|(k, val)| Ok((cast_value(k, kt)?, cast_value(val, vt)?)))
                .collect::<Result<_, String>>()?,
        ),
        (SqlType::Struct(fields), Value::Struct(got)) => Value::Struct(
            fields
                .iter()
                .map(|(name, ft)| {
                    let found = got
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or(Value::Null);
                    Ok((name.clone(), cast_value(found, ft)?))
                })
                .collect::<Result<_, String>>()?,
        ),
        (_, other) => return Err(fail(other)),
    })
}

/// Java's `(long) double`: truncation toward zero, saturating, NaN → 0.
fn java_f64_to_i64(d: f64) -> i64 {
    if d.is_nan() { 0 } else { d as i64 }
}

fn truncate_decimal(u: i128, s: i8) -> i128 {
    if s <= 0 {
        u * 10i128.pow((-s) as u32)
    } else {
        u / 10i128.pow(s as u32)
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => to_text(other),
    }
}

/// The text form of a value as `CAST(x AS STRING)` gives it: Java's `toString` of the value
/// ksqlDB holds, so collections read `[1, 2]`, `{k=v, k2=v2}` and `Struct{A=1,B=x}` (a struct
/// leaves out its NULL fields, as Kafka Connect's `Struct` does).
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Double(d) => format_double(*d),
        Value::Timestamp(ms) => format_timestamp(*ms),
        Value::Date(d) => format_date(*d),
        Value::Time(t) => format_time(*t),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(to_text).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}={}", to_text(k), to_text(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Struct(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(n, v)| format!("{n}={}", to_text(v)))
                .collect();
            format!("Struct{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// Parses ISO-8601 timestamp text (`2021-01-02T03:04:05.678`, with `T` or a space, optional
/// fraction, optional `Z`) into epoch milliseconds.
pub fn parse_timestamp_text(s: &str) -> Option<i64> {
    let t = s.trim().trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp_millis())
}

fn parse_time_text(s: &str) -> Option<i32> {
    let t = s.trim();
    for fmt in ["%H:%M:%S%.f", "%H:%M"] {
        if let Ok(time) = NaiveTime::parse_from_str(t, fmt) {
            return Some((time.num_seconds_from_midnight() * 1000 + time.nanosecond() / 1_000_000) as i32);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_java_rules() {
        assert_eq!(cast_value(Value::Double(2.9), &SqlType::Int), Ok(Value::Int(2)));
        assert_eq!(cast_value(Value::Double(-2.9), &SqlType::BigInt), Ok(Value::BigInt(-2)));
        assert_eq!(cast_value(Value::Int(3), &SqlType::Double), Ok(Value::Double(3.0)));
        assert_eq!(
            cast_value(Value::Double(1.0), &SqlType::String),
            Ok(Value::String("1.0".into()))
        );
        assert_eq!(
            cast_value(Value::String(" 42 ".into()), &SqlType::Int),
            Ok(Value::Int(42))
        );
        assert!(cast_value(Value::String("x".into()), &SqlType::Int).is_err());
        assert_eq!(
            cast_value(
                Value::String("1.5".into()),
                &SqlType::Decimal { precision: 4, scale: 2 }
            ),
            Ok(Value::Decimal(150, 2))
        );
        assert!(cast_value(Value::Int(1000), &SqlType::Decimal { precision: 3, scale: 1 }).is_err());
        assert_eq!(
            cast_value(Value::String("1970-01-02".into()), &SqlType::Date),
            Ok(Value::Date(1))
        );
        assert_eq!(
            cast_value(Value::String("1970-01-01T00:00:01.5".into()), &SqlType::Timestamp),
            Ok(Value::Timestamp(1500))
        );
    }

    #[test]
    fn collections_cast_to_javas_text() {
        let map = Value::Map(vec![(Value::String("this".into()), Value::Int(1))]);
        assert_eq!(cast_value(map, &SqlType::String), Ok(Value::String("{this=1}".into())));
        let st = Value::Struct(vec![
            ("F0".into(), Value::Int(1)),
            ("f1".into(), Value::Int(3)),
            ("G".into(), Value::Null),
        ]);
        assert_eq!(
            cast_value(st, &SqlType::String),
            Ok(Value::String("Struct{F0=1,f1=3}".into()))
        );
        let arr = Value::Array(vec![Value::Int(1), Value::Null, Value::String("x".into())]);
        assert_eq!(
            cast_value(arr, &SqlType::String),
            Ok(Value::String("[1, null, x]".into()))
        );
    }
}
