//! Growable, truncatable column builders that decoders write into.
//!
//! Arrow's own builders cannot take back values, but a record that fails half-way through
//! (say its third column has the wrong type) must leave no trace: the whole row becomes
//! NULL. These builders keep plain vectors so a failed row is undone by truncating every
//! column back to the row's start.

use std::sync::Arc;

use arrow_array::types::{
    Date32Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType, TimestampMillisecondType,
};
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Decimal128Array, ListArray, MapArray, PrimitiveArray, StringArray, StructArray,
};
use arrow_buffer::{BooleanBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType};

use crate::types::SqlType;
use crate::types::arrow::to_arrow;

/// One column under construction: its SQL type, per-row validity and the values.
#[derive(Debug)]
pub(crate) struct ColumnBuilder {
    /// The SQL type of the column; decoders read it for conversion rules and messages.
    pub ty: SqlType,
    valid: Vec<bool>,
    /// The values; the variant follows `ty`.
    pub data: Data,
}

/// The storage of a [`ColumnBuilder`], one variant per Arrow layout.
#[derive(Debug)]
pub(crate) enum Data {
    /// BOOLEAN
    Bool(Vec<bool>),
    /// INT, DATE and TIME
    I32(Vec<i32>),
    /// BIGINT and TIMESTAMP
    I64(Vec<i64>),
    /// DOUBLE
    F64(Vec<f64>),
    /// DECIMAL: unscaled values at the column's scale.
    Dec(Vec<i128>),
    /// STRING and BYTES: end offsets into `bytes` (the start of row `i` is the end of `i-1`).
    Var { ends: Vec<usize>, bytes: Vec<u8> },
    /// ARRAY: end offsets into the child.
    List {
        ends: Vec<usize>,
        child: Box<ColumnBuilder>,
    },
    /// MAP: end offsets into the key and value children.
    Map {
        ends: Vec<usize>,
        keys: Box<ColumnBuilder>,
        values: Box<ColumnBuilder>,
    },
    /// STRUCT: one child per field, each as long as the struct.
    Struct(Vec<ColumnBuilder>),
}

impl ColumnBuilder {
    /// An empty builder for `ty`.
    pub fn new(ty: &SqlType) -> Self {
        let data = match ty {
            SqlType::Boolean => Data::Bool(Vec::new()),
            SqlType::Int | SqlType::Date | SqlType::Time => Data::I32(Vec::new()),
            SqlType::BigInt | SqlType::Timestamp => Data::I64(Vec::new()),
            SqlType::Double => Data::F64(Vec::new()),
            SqlType::Decimal { .. } => Data::Dec(Vec::new()),
            SqlType::String | SqlType::Bytes => Data::Var {
                ends: Vec::new(),
                bytes: Vec::new(),
            },
            SqlType::Array(item) => Data::List {
                ends: Vec::new(),
                child: Box::new(ColumnBuilder::new(item)),
            },
            SqlType::Map(k, v) => Data::Map {
                ends: Vec::new(),
                keys: Box::new(ColumnBuilder::new(k)),
                values: Box::new(ColumnBuilder::new(v)),
            },
            SqlType::Struct(fields) => Data::Struct(fields.iter().map(|(_, t)| ColumnBuilder::new(t)).collect()),
        };
        ColumnBuilder {
            ty: ty.clone(),
            valid: Vec::new(),
            data,
        }
    }

    /// An empty builder for `ty` with room for `rows` rows at the top level (children of
    /// nested types grow as needed), so a batch's columns are not regrown row by row.
    pub fn with_capacity(ty: &SqlType, rows: usize) -> Self {
        let mut b = ColumnBuilder::new(ty);
        b.valid.reserve(rows);
        match &mut b.data {
            Data::Bool(v) => v.reserve(rows),
            Data::I32(v) => v.reserve(rows),
            Data::I64(v) => v.reserve(rows),
            Data::F64(v) => v.reserve(rows),
            Data::Dec(v) => v.reserve(rows),
            Data::Var { ends, .. } | Data::List { ends, .. } | Data::Map { ends, .. } => ends.reserve(rows),
            Data::Struct(_) => {}
        }
        b
    }

    /// Number of rows appended so far.
    pub fn len(&self) -> usize {
        self.valid.len()
    }

    /// Appends a NULL.
    pub fn push_null(&mut self) {
        self.valid.push(false);
        match &mut self.data {
            Data::Bool(v) => v.push(false),
            Data::I32(v) => v.push(0),
            Data::I64(v) => v.push(0),
            Data::F64(v) => v.push(0.0),
            Data::Dec(v) => v.push(0),
            Data::Var { ends, bytes } => ends.push(bytes.len()),
            Data::List { ends, child } => ends.push(child.len()),
            Data::Map { ends, keys, .. } => ends.push(keys.len()),
            Data::Struct(fields) => fields.iter_mut().for_each(ColumnBuilder::push_null),
        }
    }

    /// Marks the value just written into `data` as present. Decoders push the value into
    /// `data` themselves (or, for ARRAY/MAP, fill the children and push the end offset)
    /// and then call this.
    pub fn push_valid(&mut self) {
        self.valid.push(true);
    }

    /// Appends a BOOLEAN.
    pub fn push_bool(&mut self, b: bool) {
        if let Data::Bool(v) = &mut self.data {
            v.push(b);
        }
        self.valid.push(true);
    }

    /// Appends an INT, DATE or TIME.
    pub fn push_i32(&mut self, x: i32) {
        if let Data::I32(v) = &mut self.data {
            v.push(x);
        }
        self.valid.push(true);
    }

    /// Appends a BIGINT or TIMESTAMP.
    pub fn push_i64(&mut self, x: i64) {
        if let Data::I64(v) = &mut self.data {
            v.push(x);
        }
        self.valid.push(true);
    }

    /// Appends a DOUBLE.
    pub fn push_f64(&mut self, x: f64) {
        if let Data::F64(v) = &mut self.data {
            v.push(x);
        }
        self.valid.push(true);
    }

    /// Appends a DECIMAL's unscaled value (already at the column's scale).
    pub fn push_decimal(&mut self, x: i128) {
        if let Data::Dec(v) = &mut self.data {
            v.push(x);
        }
        self.valid.push(true);
    }

    /// Appends a STRING or BYTES value.
    pub fn push_bytes(&mut self, b: &[u8]) {
        if let Data::Var { ends, bytes } = &mut self.data {
            bytes.extend_from_slice(b);
            ends.push(bytes.len());
        }
        self.valid.push(true);
    }

    /// Drops every row from `len` on, in this column and its children.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len() {
            return;
        }
        self.valid.truncate(len);
        match &mut self.data {
            Data::Bool(v) => v.truncate(len),
            Data::I32(v) => v.truncate(len),
            Data::I64(v) => v.truncate(len),
            Data::F64(v) => v.truncate(len),
            Data::Dec(v) => v.truncate(len),
            Data::Var { ends, bytes } => {
                ends.truncate(len);
                bytes.truncate(ends.last().copied().unwrap_or(0));
            }
            Data::List { ends, child } => {
                ends.truncate(len);
                child.truncate(ends.last().copied().unwrap_or(0));
            }
            Data::Map { ends, keys, values } => {
                ends.truncate(len);
                let end = ends.last().copied().unwrap_or(0);
                keys.truncate(end);
                values.truncate(end);
            }
            Data::Struct(fields) => fields.iter_mut().for_each(|f| f.truncate(len)),
        }
    }

    /// Builds the Arrow array, typed `to_arrow(ty)`.
    pub fn finish(self) -> Result<ArrayRef, ArrowError> {
        let nulls = nulls(&self.valid);
        let dt = to_arrow(&self.ty);
        Ok(match self.data {
            Data::Bool(v) => Arc::new(BooleanArray::new(BooleanBuffer::from(v), nulls)),
            Data::I32(v) => match self.ty {
                SqlType::Date => prim::<Date32Type>(v, nulls),
                SqlType::Time => prim::<Time32MillisecondType>(v, nulls),
                _ => prim::<Int32Type>(v, nulls),
            },
            Data::I64(v) => match self.ty {
                SqlType::Timestamp => prim::<TimestampMillisecondType>(v, nulls),
                _ => prim::<Int64Type>(v, nulls),
            },
            Data::F64(v) => prim::<Float64Type>(v, nulls),
            Data::Dec(v) => {
                let DataType::Decimal128(p, s) = dt else {
                    return Err(mismatch(&self.ty));
                };
                Arc::new(Decimal128Array::try_new(ScalarBuffer::from(v), nulls)?.with_precision_and_scale(p, s)?)
            }
            Data::Var { ends, bytes } => {
                let offsets = offsets(&ends)?;
                if self.ty == SqlType::String {
                    Arc::new(StringArray::try_new(offsets, bytes.into(), nulls)?)
                } else {
                    Arc::new(BinaryArray::try_new(offsets, bytes.into(), nulls)?)
                }
            }
            Data::List { ends, child } => {
                let DataType::List(field) = dt else {
                    return Err(mismatch(&self.ty));
                };
                Arc::new(ListArray::try_new(field, offsets(&ends)?, child.finish()?, nulls)?)
            }
            Data::Map { ends, keys, values } => {
                let DataType::Map(entries_field, sorted) = dt else {
                    return Err(mismatch(&self.ty));
                };
                let DataType::Struct(kv) = entries_field.data_type() else {
                    return Err(mismatch(&self.ty));
                };
                let entries = StructArray::try_new(kv.clone(), vec![keys.finish()?, values.finish()?], None)?;
                Arc::new(MapArray::try_new(
                    entries_field,
                    offsets(&ends)?,
                    entries,
                    nulls,
                    sorted,
                )?)
            }
            Data::Struct(children) => {
                let DataType::Struct(fields) = dt else {
                    return Err(mismatch(&self.ty));
                };
                if fields.is_empty() {
                    Arc::new(StructArray::new_empty_fields(self.valid.len(), nulls))
                } else {
                    let arrays = children
                        .into_iter()
                        .map(ColumnBuilder::finish)
                        .collect::<Result<Vec<_>, _>>()?;
                    Arc::new(StructArray::try_new(fields, arrays, nulls)?)
                }
            }
        })
    }
}

fn mismatch(ty: &SqlType) -> ArrowError {
    ArrowError::InvalidArgumentError(format!("unexpected Arrow layout for {ty}"))
}

fn prim<T: arrow_array::ArrowPrimitiveType>(values: Vec<T::Native>, nulls: Option<NullBuffer>) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls))
}

/// A validity buffer, or none when every row is present (Arrow's cheaper form).
fn nulls(valid: &[bool]) -> Option<NullBuffer> {
    if valid.iter().all(|v| *v) {
        None
    } else {
        Some(NullBuffer::new(BooleanBuffer::from(valid)))
    }
}

/// Arrow's i32 offsets from end positions; fails (rather than wrapping) past 2 GiB.
fn offsets(ends: &[usize]) -> Result<OffsetBuffer<i32>, ArrowError> {
    let mut out = Vec::with_capacity(ends.len() + 1);
    out.push(0i32);
    for end in ends {
        out.push(
            i32::try_from(*end)
                .map_err(|_| ArrowError::InvalidArgumentError("column data exceeds 2 GiB in one batch".into()))?,
        );
    }
    Ok(OffsetBuffer::new(ScalarBuffer::from(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Value;
    use crate::types::arrow::value_at;

    #[test]
    fn truncate_undoes_a_partial_row() {
        let ty = SqlType::Array(Box::new(SqlType::String));
        let mut b = ColumnBuilder::new(&ty);
        // Row 0: ["a"]
        if let Data::List { ends, child } = &mut b.data {
            child.push_bytes(b"a");
            ends.push(child.len());
        }
        b.push_valid();
        // Row 1 starts, writes a child, then fails.
        if let Data::List { child, .. } = &mut b.data {
            child.push_bytes(b"junk");
        }
        b.truncate(1);
        b.push_null();
        let array = b.finish().unwrap();
        assert_eq!(array.data_type(), &to_arrow(&ty));
        assert_eq!(
            value_at(array.as_ref(), 0),
            Value::Array(vec![Value::String("a".into())])
        );
        assert_eq!(value_at(array.as_ref(), 1), Value::Null);
    }

    #[test]
    fn struct_nulls_reach_children() {
        let ty = SqlType::Struct(vec![("A".into(), SqlType::Int)]);
        let mut b = ColumnBuilder::new(&ty);
        b.push_null();
        if let Data::Struct(f) = &mut b.data {
            f[0].push_i32(7);
        }
        b.push_valid();
        let array = b.finish().unwrap();
        assert_eq!(value_at(array.as_ref(), 0), Value::Null);
        assert_eq!(
            value_at(array.as_ref(), 1),
            Value::Struct(vec![("A".into(), Value::Int(7))])
        );
    }
}
