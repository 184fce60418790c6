//! Arrow columns → JSON record bytes, written as ksqlDB's serializer writes them: compact,
//! DOUBLE as Java prints it (`1.0`), DECIMAL as a plain number keeping its scale, BYTES as
//! base64, TIMESTAMP/TIME as milliseconds and DATE as days.

use std::io::Write;

use base64::Engine;

use super::BASE64;
use super::reader::Col;
use crate::types::Value;

/// Appends the JSON for row `row` of `col` to `out`.
pub(crate) fn write_value(col: &Col<'_>, row: usize, out: &mut Vec<u8>) {
    if col.is_null(row) {
        out.extend_from_slice(b"null");
        return;
    }
    // Writing into a Vec cannot fail, so the io::Result of write! is ignored.
    match col {
        Col::Bool(a) => out.extend_from_slice(if a.value(row) { b"true" } else { b"false" }),
        Col::Int(a) => _ = write!(out, "{}", a.value(row)),
        Col::Date(a) => _ = write!(out, "{}", a.value(row)),
        Col::Time(a) => _ = write!(out, "{}", a.value(row)),
        Col::BigInt(a) => _ = write!(out, "{}", a.value(row)),
        Col::Timestamp(a) => _ = write!(out, "{}", a.value(row)),
        Col::Double(a) => write_double(a.value(row), out),
        Col::Decimal(a, scale) => out.extend_from_slice(Value::decimal_to_string(a.value(row), *scale).as_bytes()),
        Col::Str(a) => write_string(a.value(row), out),
        Col::Bytes(a) => {
            out.push(b'"');
            out.extend_from_slice(BASE64.encode(a.value(row)).as_bytes());
            out.push(b'"');
        }
        Col::List(a, items) => {
            let offsets = a.value_offsets();
            out.push(b'[');
            for (n, i) in (offsets[row] as usize..offsets[row + 1] as usize).enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_value(items, i, out);
            }
            out.push(b']');
        }
        Col::Map(a, keys, values) => {
            let offsets = a.value_offsets();
            out.push(b'{');
            for (n, i) in (offsets[row] as usize..offsets[row + 1] as usize).enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_key(keys, i, out);
                out.push(b':');
                write_value(values, i, out);
            }
            out.push(b'}');
        }
        Col::Struct(_, fields) => {
            out.push(b'{');
            for (n, (name, child)) in fields.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_string(name, out);
                out.push(b':');
                write_value(child, row, out);
            }
            out.push(b'}');
        }
    }
}

/// Writes an object of named columns: `{"A":1,"B":"x"}`.
pub(crate) fn write_object(names: &[String], cols: &[Col<'_>], row: usize, out: &mut Vec<u8>) {
    out.push(b'{');
    for (n, (name, col)) in names.iter().zip(cols).enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_string(name, out);
        out.push(b':');
        write_value(col, row, out);
    }
    out.push(b'}');
}

/// A map key: JSON keys are strings, so non-string keys are written as their JSON text.
fn write_key(keys: &Col<'_>, i: usize, out: &mut Vec<u8>) {
    match keys {
        Col::Str(a) if !keys.is_null(i) => write_string(a.value(i), out),
        other => {
            let mut text = Vec::new();
            write_value(other, i, &mut text);
            let text = String::from_utf8_lossy(&text);
            write_string(text.trim_matches('"'), out);
        }
    }
}

/// DOUBLE as Java's `Double.toString`; NaN and infinities as strings, as Jackson does.
fn write_double(v: f64, out: &mut Vec<u8>) {
    let text = super::number::java_double(v);
    if v.is_finite() {
        out.extend_from_slice(text.as_bytes());
    } else {
        write_string(&text, out);
    }
}

/// A JSON string with the escapes JSON requires.
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.extend_from_slice(&bytes[run..i]);
                _ = write!(out, "\\u{b:04x}");
                run = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        out.extend_from_slice(esc);
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = Vec::new();
        write_string("a\"b\\c\n\u{1}é", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\c\n\u0001é""#);
    }

    #[test]
    fn doubles_look_like_java() {
        let mut out = Vec::new();
        write_double(1.0, &mut out);
        out.push(b' ');
        write_double(f64::NAN, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "1.0 \"NaN\"");
    }
}
