//! The format of the values on Runnel's own internal topics (repartition topics): a compact
//! binary row that only Runnel reads, so the reader knows the schema and the bytes carry
//! none. Writing one is copying each column's value; reading one is the reverse, with no
//! text to scan or numbers to parse, which is most of what a repartition costs in JSON.
//!
//! A row is [`MAGIC`], then each column in order: a tag byte ([`ABSENT`] for NULL,
//! [`PRESENT`] followed by the value), where a value is
//! - BOOLEAN: one byte (0 or 1); INT, DATE, TIME: 4 bytes; BIGINT, TIMESTAMP, DOUBLE: 8
//!   bytes; DECIMAL: the unscaled value in 16 bytes (at the column's scale); all
//!   little-endian;
//! - STRING, BYTES: the length in 4 bytes, then the bytes (UTF-8 for STRING);
//! - ARRAY: the item count in 4 bytes, then each item (tag and value); MAP: the entry count,
//!   then each key and value (tag and value each); STRUCT: each field (tag and value).
//!
//! [`MAGIC`] can never start a JSON text (it is not a valid first byte of UTF-8), so a
//! record without it is read as JSON: what queries of earlier versions left in their
//! repartition topics is still read after an upgrade.

use super::RowOutcome;
use super::builder::{ColumnBuilder, Data};
use super::reader::Col;
use crate::types::SqlType;

/// The first byte of every binary row.
pub(crate) const MAGIC: u8 = 0xB1;
const ABSENT: u8 = 0;
const PRESENT: u8 = 1;
/// How deep values may nest (guards the stack against hostile bytes).
const MAX_DEPTH: usize = 64;

/// Appends row `row` of `cols` to `out`.
pub(crate) fn encode_record(cols: &[Col<'_>], row: usize, out: &mut Vec<u8>) {
    out.push(MAGIC);
    for col in cols {
        write_value(col, row, out);
    }
}

fn put_len(n: usize, out: &mut Vec<u8>) {
    // Arrow offsets are i32, so no length or count of an array exceeds u32.
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn write_value(col: &Col<'_>, row: usize, out: &mut Vec<u8>) {
    if col.is_null(row) {
        out.push(ABSENT);
        return;
    }
    out.push(PRESENT);
    match col {
        Col::Bool(a) => out.push(u8::from(a.value(row))),
        Col::Int(a) => out.extend_from_slice(&a.value(row).to_le_bytes()),
        Col::Date(a) => out.extend_from_slice(&a.value(row).to_le_bytes()),
        Col::Time(a) => out.extend_from_slice(&a.value(row).to_le_bytes()),
        Col::BigInt(a) => out.extend_from_slice(&a.value(row).to_le_bytes()),
        Col::Timestamp(a) => out.extend_from_slice(&a.value(row).to_le_bytes()),
        Col::Double(a) => out.extend_from_slice(&a.value(row).to_le_bytes()),
        Col::Decimal(a, _) => out.extend_from_slice(&a.value(row).to_le_bytes()),
        Col::Str(a) => {
            let s = a.value(row).as_bytes();
            put_len(s.len(), out);
            out.extend_from_slice(s);
        }
        Col::Bytes(a) => {
            let b = a.value(row);
            put_len(b.len(), out);
            out.extend_from_slice(b);
        }
        Col::List(a, items) => {
            let offsets = a.value_offsets();
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            put_len(end - start, out);
            for i in start..end {
                write_value(items, i, out);
            }
        }
        Col::Map(a, keys, values) => {
            let offsets = a.value_offsets();
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            put_len(end - start, out);
            for i in start..end {
                write_value(keys, i, out);
                write_value(values, i, out);
            }
        }
        Col::Struct(_, fields) => {
            for (_, field) in fields {
                write_value(field, row, out);
            }
        }
    }
}

/// Reads one binary row (starting with [`MAGIC`]) into `cols`.
pub(crate) fn decode_record(cols: &mut [ColumnBuilder], bytes: &[u8]) -> Result<RowOutcome, String> {
    let mut r = Reader { bytes, pos: 1 };
    for col in cols.iter_mut() {
        r.value(col, 0)?;
    }
    if r.pos != bytes.len() {
        return Err(format!(
            "Invalid internal record: {} bytes after the last column",
            bytes.len() - r.pos
        ));
    }
    Ok(RowOutcome::Present)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or("Invalid internal record: it ends inside a value")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn len(&mut self) -> Result<usize, String> {
        Ok(u32::from_le_bytes(self.fixed()?) as usize)
    }

    fn value(&mut self, b: &mut ColumnBuilder, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("Invalid internal record: values nest too deeply".into());
        }
        match self.fixed::<1>()?[0] {
            ABSENT => {
                b.push_null();
                return Ok(());
            }
            PRESENT => {}
            tag => return Err(format!("Invalid internal record: unknown tag {tag}")),
        }
        match &b.ty {
            SqlType::Boolean => match self.fixed::<1>()?[0] {
                0 => b.push_bool(false),
                1 => b.push_bool(true),
                other => return Err(format!("Invalid internal record: BOOLEAN byte {other}")),
            },
            SqlType::Int | SqlType::Date | SqlType::Time => b.push_i32(i32::from_le_bytes(self.fixed()?)),
            SqlType::BigInt | SqlType::Timestamp => b.push_i64(i64::from_le_bytes(self.fixed()?)),
            SqlType::Double => b.push_f64(f64::from_le_bytes(self.fixed()?)),
            SqlType::Decimal { precision, .. } => {
                let v = i128::from_le_bytes(self.fixed()?);
                // Arithmetic on decimals relies on their precision (no overflow below it).
                if 10i128
                    .checked_pow(u32::from(*precision))
                    .is_some_and(|limit| v.unsigned_abs() >= limit.unsigned_abs())
                {
                    return Err(format!(
                        "Invalid internal record: a DECIMAL has more than {precision} digits"
                    ));
                }
                b.push_decimal(v);
            }
            SqlType::String => {
                let n = self.len()?;
                let s = self.take(n)?;
                std::str::from_utf8(s).map_err(|e| format!("Invalid internal record: a STRING is not UTF-8: {e}"))?;
                b.push_bytes(s);
            }
            SqlType::Bytes => {
                let n = self.len()?;
                let s = self.take(n)?;
                b.push_bytes(s);
            }
            SqlType::Array(_) => {
                let n = self.len()?;
                let Data::List { ends, child } = &mut b.data else {
                    return Err("internal: builder is not a list".into());
                };
                for _ in 0..n {
                    self.value(child, depth + 1)?;
                }
                ends.push(child.len());
                b.push_valid();
            }
            SqlType::Map(..) => {
                let n = self.len()?;
                let Data::Map { ends, keys, values } = &mut b.data else {
                    return Err("internal: builder is not a map".into());
                };
                for _ in 0..n {
                    self.value(keys, depth + 1)?;
                    self.value(values, depth + 1)?;
                }
                ends.push(keys.len());
                b.push_valid();
            }
            SqlType::Struct(_) => {
                let Data::Struct(children) = &mut b.data else {
                    return Err("internal: builder is not a struct".into());
                };
                for child in children.iter_mut() {
                    self.value(child, depth + 1)?;
                }
                b.push_valid();
            }
        }
        Ok(())
    }
}
