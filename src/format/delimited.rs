//! DELIMITED: one line of delimiter-separated fields, quoted CSV-style, as ksqlDB reads and
//! writes it through Apache Commons CSV's default dialect.
//!
//! Reading: only the first record of the text counts; an empty field is NULL for every
//! type; the field count must match the column count. Writing: NULL is an empty field; a
//! field is quoted when it holds the delimiter, a quote or a line break, starts with a
//! character up to `#` or ends with one up to a space, or (first field only) does not start
//! with a letter or digit.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine;

use super::builder::ColumnBuilder;
use super::number;
use super::reader::Col;
use super::{BASE64, RowOutcome};
use crate::types::{SqlType, Value};

/// Splits the first record of `text` into fields (unquoted ones are borrowed).
fn split_record(text: &str, delim: u8) -> Result<Vec<Cow<'_, str>>, String> {
    let b = text.as_bytes();
    let mut i = 0;
    // Empty lines before the record are skipped, as Commons CSV does.
    while i < b.len() && matches!(b[i], b'\r' | b'\n') {
        i += 1;
    }
    let mut fields = Vec::new();
    if i >= b.len() {
        return Ok(fields);
    }
    loop {
        if b.get(i) == Some(&b'"') {
            i += 1;
            let mut value = String::new();
            let mut run = i;
            loop {
                match b.get(i) {
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        value.push_str(&text[run..=i]);
                        i += 2;
                        run = i;
                    }
                    Some(b'"') => {
                        value.push_str(&text[run..i]);
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                    None => return Err("EOF reached before encapsulated token finished".into()),
                }
            }
            // Only whitespace may sit between the closing quote and the delimiter.
            while let Some(&c) = b.get(i) {
                if c == delim || c == b'\r' || c == b'\n' {
                    break;
                }
                if !c.is_ascii_whitespace() {
                    return Err("invalid char between encapsulated token and delimiter".into());
                }
                i += 1;
            }
            fields.push(Cow::Owned(value));
        } else {
            let start = i;
            while let Some(&c) = b.get(i) {
                if c == delim || c == b'\r' || c == b'\n' {
                    break;
                }
                i += 1;
            }
            // `delim` and line breaks are ASCII, so `start..i` is on char boundaries.
            fields.push(Cow::Borrowed(&text[start..i]));
        }
        match b.get(i) {
            Some(&c) if c == delim => i += 1,
            _ => return Ok(fields),
        }
    }
}

/// Decodes one DELIMITED record into `cols`.
pub(crate) fn decode_record(cols: &mut [ColumnBuilder], delim: u8, bytes: &[u8]) -> Result<RowOutcome, String> {
    let text = String::from_utf8_lossy(bytes);
    let fields = split_record(&text, delim).map_err(|e| format!("Error deserializing delimited row: {e}"))?;
    if fields.is_empty() {
        return Err("Error deserializing delimited row: No fields in record".into());
    }
    if fields.len() != cols.len() {
        return Err(format!(
            "Error deserializing delimited row: Unexpected field count, csvFields:{} schemaFields:{}",
            fields.len(),
            cols.len()
        ));
    }
    for (col, field) in cols.iter_mut().zip(&fields) {
        push_field(col, field).map_err(|e| format!("Error deserializing delimited row: {e}"))?;
    }
    Ok(RowOutcome::Present)
}

/// One field's text into its column, with Java's parsers.
fn push_field(b: &mut ColumnBuilder, f: &str) -> Result<(), String> {
    if f.is_empty() {
        b.push_null();
        return Ok(());
    }
    let bad = || format!("For input string: \"{f}\"");
    match &b.ty {
        // Boolean.parseBoolean: anything but "true" (any case) is false.
        SqlType::Boolean => b.push_bool(f.eq_ignore_ascii_case("true")),
        SqlType::Int | SqlType::Date | SqlType::Time => {
            let v = number::parse_int(f).ok_or_else(bad)?;
            b.push_i32(v);
        }
        SqlType::BigInt | SqlType::Timestamp => {
            let v = number::parse_long(f).ok_or_else(bad)?;
            b.push_i64(v);
        }
        SqlType::Double => {
            let v = number::parse_double(f).ok_or_else(bad)?;
            b.push_f64(v);
        }
        SqlType::Decimal { precision, scale } => {
            let (p, s) = (*precision, *scale);
            let d = number::parse_big_decimal(f).ok_or_else(bad)?;
            let v = number::fit_decimal(d, p, s)?;
            b.push_decimal(v);
        }
        SqlType::String => b.push_bytes(f.as_bytes()),
        SqlType::Bytes => {
            let v = BASE64.decode(f).map_err(|e| format!("Invalid base64 for BYTES: {e}"))?;
            b.push_bytes(&v);
        }
        ty => return Err(format!("DELIMITED does not support type: {ty}")),
    }
    Ok(())
}

/// Encodes row `row` of `cols` as one DELIMITED record into `out`.
pub(crate) fn encode_record(cols: &[Col<'_>], delim: u8, row: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let mut buf = String::new();
    for (i, col) in cols.iter().enumerate() {
        if i > 0 {
            out.push(delim);
        }
        // NULL is written raw: an empty, unquoted field.
        if col.is_null(row) {
            continue;
        }
        buf.clear();
        let text = field_text(col, row, &mut buf)?;
        write_field(text, i == 0, delim, out);
    }
    Ok(())
}

/// The text of a non-null field: numbers as Java prints them, DECIMAL plain with its scale,
/// BYTES in base64, TIMESTAMP and TIME in milliseconds, DATE in days.
fn field_text<'a>(col: &'a Col<'_>, row: usize, buf: &'a mut String) -> Result<&'a str, String> {
    // Writing into a String cannot fail.
    match col {
        Col::Str(a) => return Ok(a.value(row)),
        Col::Bool(a) => buf.push_str(if a.value(row) { "true" } else { "false" }),
        Col::Int(a) => _ = write!(buf, "{}", a.value(row)),
        Col::Date(a) => _ = write!(buf, "{}", a.value(row)),
        Col::Time(a) => _ = write!(buf, "{}", a.value(row)),
        Col::BigInt(a) => _ = write!(buf, "{}", a.value(row)),
        Col::Timestamp(a) => _ = write!(buf, "{}", a.value(row)),
        Col::Double(a) => buf.push_str(&super::number::java_double(a.value(row))),
        Col::Decimal(a, scale) => buf.push_str(&Value::decimal_to_string(a.value(row), *scale)),
        Col::Bytes(a) => BASE64.encode_string(a.value(row), buf),
        Col::List(..) => return Err("The 'DELIMITED' format does not support type 'ARRAY'".into()),
        Col::Map(..) => return Err("The 'DELIMITED' format does not support type 'MAP'".into()),
        Col::Struct(..) => {
            return Err("The 'DELIMITED' format does not support type 'STRUCT'".into());
        }
    }
    Ok(buf)
}

/// Whether Commons CSV (minimal quoting) would quote this field.
fn needs_quotes(text: &str, first: bool, delim: u8) -> bool {
    let b = text.as_bytes();
    let (Some(&c0), Some(&last)) = (b.first(), b.last()) else {
        // An empty first field is quoted so the line is not read as empty.
        return first;
    };
    if first && !c0.is_ascii_alphanumeric() {
        return true;
    }
    c0 <= b'#' || b.iter().any(|&c| c == delim || c == b'"' || c == b'\n' || c == b'\r') || last <= b' '
}

fn write_field(text: &str, first: bool, delim: u8, out: &mut Vec<u8>) {
    if !needs_quotes(text, first, delim) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    for part in text.split_inclusive('"') {
        out.extend_from_slice(part.as_bytes());
        if part.ends_with('"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<String> {
        split_record(text, b',')
            .unwrap()
            .into_iter()
            .map(|c| c.into_owned())
            .collect()
    }

    #[test]
    fn splits_quoted_and_empty_fields() {
        assert_eq!(split("a,\"b,c\",,\"d\"\"e\""), ["a", "b,c", "", "d\"e"]);
        assert_eq!(split("x,"), ["x", ""]);
        assert_eq!(split("\n\na,b\nc,d"), ["a", "b"]);
        assert_eq!(split("\"a\" ,b"), ["a", "b"]);
        assert!(split("").is_empty());
        assert!(split_record("\"abc", b',').is_err());
        assert!(split_record("\"a\"x,b", b',').is_err());
        assert_eq!(
            split_record("a|b,c", b'|').unwrap(),
            [Cow::Borrowed("a"), Cow::Borrowed("b,c")]
        );
    }

    #[test]
    fn quotes_like_commons_csv() {
        let q = |t: &str, first: bool| {
            let mut out = Vec::new();
            write_field(t, first, b',', &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(q("-10", true), "\"-10\"");
        assert_eq!(q("-10", false), "-10");
        assert_eq!(q("!", false), "\"!\"");
        assert_eq!(q("IQ==", false), "IQ==");
        assert_eq!(q("a,b", false), "\"a,b\"");
        assert_eq!(q("say \"hi\"", false), "\"say \"\"hi\"\"\"");
        assert_eq!(q("x ", false), "\"x \"");
        assert_eq!(q("", true), "\"\"");
        assert_eq!(q("", false), "");
        assert_eq!(q("0.12", true), "0.12");
    }
}
