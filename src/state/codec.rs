//! A compact binary encoding of rows of [`Value`]s for state stores: aggregation states and
//! materialized rows. Self-describing (a tag byte per value), so a reader needs no schema,
//! and decoding untrusted bytes never panics.

use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    StringArray, Time32MillisecondArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, TimeUnit};

use crate::types::Value;
use crate::types::arrow::value_at;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const BIGINT: u8 = 4;
const DOUBLE: u8 = 5;
const DECIMAL: u8 = 6;
const STRING: u8 = 7;
const BYTES: u8 = 8;
const TIMESTAMP: u8 = 9;
const DATE: u8 = 10;
const TIME: u8 = 11;
const ARRAY: u8 = 12;
const MAP: u8 = 13;
const STRUCT: u8 = 14;

/// Encodes a row.
pub fn encode_row(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * values.len());
    put_len(&mut out, values.len());
    for v in values {
        encode_value(v, &mut out);
    }
    out
}

/// Encodes rows of Arrow columns exactly as [`encode_row`] encodes the values
/// [`value_at`](crate::types::arrow::value_at) reads from them, without building those
/// values: a key is hashed and looked up once per record, so this saves an allocation and a
/// copy of every string key. Each column is downcast once, when the encoder is made.
pub struct ArrayRowEncoder<'a> {
    columns: Vec<ColumnView<'a>>,
}

enum ColumnView<'a> {
    Bool(&'a BooleanArray),
    Int(&'a Int32Array),
    BigInt(&'a Int64Array),
    Double(&'a Float64Array),
    Decimal(&'a Decimal128Array, i8),
    Str(&'a StringArray),
    Bytes(&'a BinaryArray),
    Timestamp(&'a TimestampMillisecondArray),
    Date(&'a Date32Array),
    Time(&'a Time32MillisecondArray),
    /// Nested types (and anything else) go through [`Value`].
    Other(&'a dyn Array),
}

impl<'a> ArrayRowEncoder<'a> {
    /// An encoder of rows made of `columns`, in order.
    pub fn new(columns: impl IntoIterator<Item = &'a ArrayRef>) -> Self {
        let columns = columns
            .into_iter()
            .map(|c| {
                let c = c.as_ref();
                let any = c.as_any();
                let view = match c.data_type() {
                    DataType::Boolean => any.downcast_ref().map(ColumnView::Bool),
                    DataType::Int32 => any.downcast_ref().map(ColumnView::Int),
                    DataType::Int64 => any.downcast_ref().map(ColumnView::BigInt),
                    DataType::Float64 => any.downcast_ref().map(ColumnView::Double),
                    DataType::Decimal128(_, scale) => any.downcast_ref().map(|a| ColumnView::Decimal(a, *scale)),
                    DataType::Utf8 => any.downcast_ref().map(ColumnView::Str),
                    DataType::Binary => any.downcast_ref().map(ColumnView::Bytes),
                    DataType::Timestamp(TimeUnit::Millisecond, _) => any.downcast_ref().map(ColumnView::Timestamp),
                    DataType::Date32 => any.downcast_ref().map(ColumnView::Date),
                    DataType::Time32(TimeUnit::Millisecond) => any.downcast_ref().map(ColumnView::Time),
                    _ => None,
                };
                view.unwrap_or(ColumnView::Other(c))
            })
            .collect();
        ArrayRowEncoder { columns }
    }

    /// Whether row `row` has a NULL in some column.
    pub fn has_null(&self, row: usize) -> bool {
        self.columns.iter().any(|c| match c {
            // Whatever reads as NULL, e.g. a column of Arrow's NULL type, which has no
            // validity bits.
            ColumnView::Other(a) => value_at(*a, row).is_null(),
            c => c.array().is_null(row),
        })
    }

    /// Appends the encoding of row `row` to `out`.
    pub fn encode(&self, row: usize, out: &mut Vec<u8>) {
        put_len(out, self.columns.len());
        for column in &self.columns {
            if column.array().is_null(row) {
                out.push(NULL);
                continue;
            }
            match column {
                ColumnView::Bool(a) => out.push(if a.value(row) { TRUE } else { FALSE }),
                ColumnView::Int(a) => {
                    out.push(INT);
                    out.extend_from_slice(&a.value(row).to_le_bytes());
                }
                ColumnView::BigInt(a) => {
                    out.push(BIGINT);
                    out.extend_from_slice(&a.value(row).to_le_bytes());
                }
                ColumnView::Double(a) => {
                    out.push(DOUBLE);
                    out.extend_from_slice(&a.value(row).to_le_bytes());
                }
                ColumnView::Decimal(a, scale) => {
                    out.push(DECIMAL);
                    out.extend_from_slice(&a.value(row).to_le_bytes());
                    out.push(*scale as u8);
                }
                ColumnView::Str(a) => {
                    out.push(STRING);
                    put_bytes(out, a.value(row).as_bytes());
                }
                ColumnView::Bytes(a) => {
                    out.push(BYTES);
                    put_bytes(out, a.value(row));
                }
                ColumnView::Timestamp(a) => {
                    out.push(TIMESTAMP);
                    out.extend_from_slice(&a.value(row).to_le_bytes());
                }
                ColumnView::Date(a) => {
                    out.push(DATE);
                    out.extend_from_slice(&a.value(row).to_le_bytes());
                }
                ColumnView::Time(a) => {
                    out.push(TIME);
                    out.extend_from_slice(&a.value(row).to_le_bytes());
                }
                ColumnView::Other(a) => encode_value(&value_at(*a, row), out),
            }
        }
    }
}

impl ColumnView<'_> {
    fn array(&self) -> &dyn Array {
        match self {
            ColumnView::Bool(a) => *a,
            ColumnView::Int(a) => *a,
            ColumnView::BigInt(a) => *a,
            ColumnView::Double(a) => *a,
            ColumnView::Decimal(a, _) => *a,
            ColumnView::Str(a) => *a,
            ColumnView::Bytes(a) => *a,
            ColumnView::Timestamp(a) => *a,
            ColumnView::Date(a) => *a,
            ColumnView::Time(a) => *a,
            ColumnView::Other(a) => *a,
        }
    }
}

/// Decodes a row written by [`encode_row`].
pub fn decode_row(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let mut r = Reader { bytes, pos: 0 };
    let n = r.len()?;
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        out.push(r.value(0)?);
    }
    if r.pos != bytes.len() {
        return Err(format!("{} trailing bytes after a row", bytes.len() - r.pos));
    }
    Ok(out)
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

/// Appends one value.
pub fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(NULL),
        Value::Boolean(false) => out.push(FALSE),
        Value::Boolean(true) => out.push(TRUE),
        Value::Int(i) => {
            out.push(INT);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::BigInt(i) => {
            out.push(BIGINT);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Double(d) => {
            out.push(DOUBLE);
            out.extend_from_slice(&d.to_le_bytes());
        }
        Value::Decimal(u, s) => {
            out.push(DECIMAL);
            out.extend_from_slice(&u.to_le_bytes());
            out.push(*s as u8);
        }
        Value::String(s) => {
            out.push(STRING);
            put_bytes(out, s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(BYTES);
            put_bytes(out, b);
        }
        Value::Timestamp(t) => {
            out.push(TIMESTAMP);
            out.extend_from_slice(&t.to_le_bytes());
        }
        Value::Date(d) => {
            out.push(DATE);
            out.extend_from_slice(&d.to_le_bytes());
        }
        Value::Time(t) => {
            out.push(TIME);
            out.extend_from_slice(&t.to_le_bytes());
        }
        Value::Array(items) => {
            out.push(ARRAY);
            put_len(out, items.len());
            items.iter().for_each(|i| encode_value(i, out));
        }
        Value::Map(entries) => {
            out.push(MAP);
            put_len(out, entries.len());
            for (k, v) in entries {
                encode_value(k, out);
                encode_value(v, out);
            }
        }
        Value::Struct(fields) => {
            out.push(STRUCT);
            put_len(out, fields.len());
            for (n, v) in fields {
                put_bytes(out, n.as_bytes());
                encode_value(v, out);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or("truncated state value")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        self.take(N)?
            .try_into()
            .map_err(|_| "truncated state value".to_string())
    }

    fn len(&mut self) -> Result<usize, String> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        // A length can never exceed the bytes left: guards allocations against bad input.
        if n > self.bytes.len() - self.pos + 1 {
            return Err(format!(
                "length {n} exceeds the {} bytes left",
                self.bytes.len() - self.pos
            ));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|e| e.to_string())
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 64 {
            return Err("state value nests too deeply".into());
        }
        let tag = self.take(1)?[0];
        Ok(match tag {
            NULL => Value::Null,
            FALSE => Value::Boolean(false),
            TRUE => Value::Boolean(true),
            INT => Value::Int(i32::from_le_bytes(self.array()?)),
            BIGINT => Value::BigInt(i64::from_le_bytes(self.array()?)),
            DOUBLE => Value::Double(f64::from_le_bytes(self.array()?)),
            DECIMAL => {
                let u = i128::from_le_bytes(self.array()?);
                Value::Decimal(u, self.take(1)?[0] as i8)
            }
            STRING => Value::String(self.string()?),
            BYTES => {
                let n = self.len()?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            TIMESTAMP => Value::Timestamp(i64::from_le_bytes(self.array()?)),
            DATE => Value::Date(i32::from_le_bytes(self.array()?)),
            TIME => Value::Time(i32::from_le_bytes(self.array()?)),
            ARRAY => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            MAP => {
                let n = self.len()?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.value(depth + 1)?;
                    entries.push((k, self.value(depth + 1)?));
                }
                Value::Map(entries)
            }
            STRUCT => {
                let n = self.len()?;
                let mut fields = Vec::with_capacity(n);
                for _ in 0..n {
                    let name = self.string()?;
                    fields.push((name, self.value(depth + 1)?));
                }
                Value::Struct(fields)
            }
            other => return Err(format!("unknown value tag {other} in state")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let row = vec![
            Value::Null,
            Value::Boolean(true),
            Value::Int(-3),
            Value::BigInt(1 << 40),
            Value::Double(0.5),
            Value::Decimal(-12345, 2),
            Value::String("héllo".into()),
            Value::Bytes(vec![0, 255]),
            Value::Timestamp(7),
            Value::Array(vec![Value::Int(1), Value::Null]),
            Value::Map(vec![(Value::String("k".into()), Value::BigInt(2))]),
            Value::Struct(vec![("A".into(), Value::Date(3)), ("B".into(), Value::Time(4))]),
        ];
        assert_eq!(decode_row(&encode_row(&row)).unwrap(), row);
    }

    /// Encoding straight from Arrow columns gives the bytes of encoding their values.
    #[test]
    fn array_rows_encode_as_their_values() {
        use crate::types::SqlType;
        use crate::types::arrow::build_array;
        let columns: Vec<(SqlType, Vec<Value>)> = vec![
            (
                SqlType::Boolean,
                vec![Value::Boolean(true), Value::Null, Value::Boolean(false)],
            ),
            (SqlType::Int, vec![Value::Int(-3), Value::Int(4), Value::Null]),
            (
                SqlType::BigInt,
                vec![Value::Null, Value::BigInt(1 << 40), Value::BigInt(-1)],
            ),
            (
                SqlType::Double,
                vec![Value::Double(0.5), Value::Null, Value::Double(-0.0)],
            ),
            (
                SqlType::Decimal { precision: 6, scale: 2 },
                vec![Value::Decimal(-12345, 2), Value::Decimal(1, 2), Value::Null],
            ),
            (
                SqlType::String,
                vec![Value::String("héllo".into()), Value::Null, Value::String(String::new())],
            ),
            (
                SqlType::Bytes,
                vec![Value::Bytes(vec![0, 255]), Value::Bytes(vec![]), Value::Null],
            ),
            (
                SqlType::Timestamp,
                vec![Value::Timestamp(7), Value::Null, Value::Timestamp(-7)],
            ),
            (SqlType::Date, vec![Value::Date(3), Value::Date(-3), Value::Null]),
            (SqlType::Time, vec![Value::Null, Value::Time(4), Value::Time(0)]),
            (
                SqlType::Array(Box::new(SqlType::Int)),
                vec![
                    Value::Array(vec![Value::Int(1), Value::Null]),
                    Value::Null,
                    Value::Array(vec![]),
                ],
            ),
            (
                SqlType::Struct(vec![("A".into(), SqlType::String)]),
                vec![
                    Value::Null,
                    Value::Struct(vec![("A".into(), Value::String("x".into()))]),
                    Value::Null,
                ],
            ),
        ];
        let arrays: Vec<ArrayRef> = columns.iter().map(|(t, v)| build_array(t, v).unwrap()).collect();
        let encoder = ArrayRowEncoder::new(&arrays);
        for row in 0..3 {
            let values: Vec<Value> = arrays.iter().map(|a| value_at(a.as_ref(), row)).collect();
            let mut out = vec![9];
            encoder.encode(row, &mut out);
            assert_eq!(out[1..], encode_row(&values)[..], "row {row}");
            assert_eq!(encoder.has_null(row), values.iter().any(Value::is_null));
        }
    }

    #[test]
    fn damaged_bytes_are_errors() {
        let bytes = encode_row(&[Value::String("abc".into())]);
        assert!(decode_row(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_row(&[1, 0, 0, 0, 99]).is_err());
        assert!(decode_row(&[255, 255, 255, 255]).is_err());
    }
}
