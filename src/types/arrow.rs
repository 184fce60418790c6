//! Conversions between [`SqlType`]/[`Value`] and Arrow types/arrays.

use std::sync::Arc;

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::types::*;
use arrow_array::*;
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};

use super::{SqlType, Value};
use crate::error::{Error, Result};

/// The Arrow type a SQL type is stored as.
pub fn to_arrow(ty: &SqlType) -> DataType {
    match ty {
        SqlType::Boolean => DataType::Boolean,
        SqlType::Int => DataType::Int32,
        SqlType::BigInt => DataType::Int64,
        SqlType::Double => DataType::Float64,
        SqlType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
        SqlType::String => DataType::Utf8,
        SqlType::Bytes => DataType::Binary,
        SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
        SqlType::Date => DataType::Date32,
        SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
        SqlType::Array(t) => DataType::List(Arc::new(Field::new("item", to_arrow(t), true))),
        SqlType::Map(k, v) => DataType::Map(map_entries_field(k, v), false),
        SqlType::Struct(fields) => DataType::Struct(struct_fields(fields)),
    }
}

fn map_entries_field(k: &SqlType, v: &SqlType) -> Arc<Field> {
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", to_arrow(k), false),
            Field::new("value", to_arrow(v), true),
        ])),
        false,
    ))
}

fn struct_fields(fields: &[(String, SqlType)]) -> Fields {
    fields.iter().map(|(n, t)| Field::new(n, to_arrow(t), true)).collect()
}

/// The SQL type an Arrow type stores, when it is one Runnel produces.
pub fn from_arrow(dt: &DataType) -> Option<SqlType> {
    Some(match dt {
        DataType::Boolean => SqlType::Boolean,
        DataType::Int32 => SqlType::Int,
        DataType::Int64 => SqlType::BigInt,
        DataType::Float64 => SqlType::Double,
        DataType::Decimal128(p, s) => SqlType::Decimal {
            precision: *p,
            scale: *s,
        },
        DataType::Utf8 => SqlType::String,
        DataType::Binary => SqlType::Bytes,
        DataType::Timestamp(TimeUnit::Millisecond, _) => SqlType::Timestamp,
        DataType::Date32 => SqlType::Date,
        DataType::Time32(TimeUnit::Millisecond) => SqlType::Time,
        DataType::List(f) => SqlType::Array(Box::new(from_arrow(f.data_type())?)),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => SqlType::Map(
                Box::new(from_arrow(kv[0].data_type())?),
                Box::new(from_arrow(kv[1].data_type())?),
            ),
            _ => return None,
        },
        DataType::Struct(fields) => SqlType::Struct(
            fields
                .iter()
                .map(|f| Some((f.name().clone(), from_arrow(f.data_type())?)))
                .collect::<Option<_>>()?,
        ),
        DataType::Null => SqlType::String,
        _ => return None,
    })
}

/// The value at `row` of `array`.
pub fn value_at(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    macro_rules! prim {
        ($t:ty, $v:ident) => {
            Value::$v(
                array
                    .as_any()
                    .downcast_ref::<PrimitiveArray<$t>>()
                    .map(|a| a.value(row))
                    .unwrap_or_default(),
            )
        };
    }
    match array.data_type() {
        DataType::Boolean => Value::Boolean(
            array
                .as_any()
                .downcast_ref::<BooleanArray>()
                .is_some_and(|a| a.value(row)),
        ),
        DataType::Int32 => prim!(Int32Type, Int),
        DataType::Int64 => prim!(Int64Type, BigInt),
        DataType::Float64 => prim!(Float64Type, Double),
        DataType::Decimal128(_, s) => Value::Decimal(
            array
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .map(|a| a.value(row))
                .unwrap_or_default(),
            *s,
        ),
        DataType::Utf8 => Value::String(
            array
                .as_any()
                .downcast_ref::<StringArray>()
                .map(|a| a.value(row).to_string())
                .unwrap_or_default(),
        ),
        DataType::Binary => Value::Bytes(
            array
                .as_any()
                .downcast_ref::<BinaryArray>()
                .map(|a| a.value(row).to_vec())
                .unwrap_or_default(),
        ),
        DataType::Timestamp(TimeUnit::Millisecond, _) => prim!(TimestampMillisecondType, Timestamp),
        DataType::Date32 => prim!(Date32Type, Date),
        DataType::Time32(TimeUnit::Millisecond) => prim!(Time32MillisecondType, Time),
        DataType::List(_) => match array.as_any().downcast_ref::<ListArray>() {
            Some(list) => {
                let items = list.value(row);
                Value::Array((0..items.len()).map(|i| value_at(items.as_ref(), i)).collect())
            }
            None => Value::Null,
        },
        DataType::Map(_, _) => match array.as_any().downcast_ref::<MapArray>() {
            Some(map) => {
                let entries = map.value(row);
                let keys = entries.column(0);
                let values = entries.column(1);
                Value::Map(
                    (0..entries.len())
                        .map(|i| (value_at(keys.as_ref(), i), value_at(values.as_ref(), i)))
                        .collect(),
                )
            }
            None => Value::Null,
        },
        DataType::Struct(fields) => match array.as_any().downcast_ref::<StructArray>() {
            Some(s) => Value::Struct(
                fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.name().clone(), value_at(s.column(i).as_ref(), row)))
                    .collect(),
            ),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

/// Builds an array of type `ty` from values. Each value must already be of `ty` (or NULL);
/// integer and decimal values are widened where the type asks for it.
pub fn build_array(ty: &SqlType, values: &[Value]) -> Result<ArrayRef> {
    let mismatch = |v: &Value| Error::internal(format!("value {v:?} does not fit type {ty}"));
    Ok(match ty {
        SqlType::Boolean => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::Boolean(b) => Some(*b),
                    other => return Err(mismatch(other)),
                });
            }
            Arc::new(BooleanArray::from(out))
        }
        SqlType::Int => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::Int(i) => Some(*i),
                    other => return Err(mismatch(other)),
                });
            }
            Arc::new(Int32Array::from(out))
        }
        SqlType::BigInt | SqlType::Timestamp => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::Int(i) => Some(*i as i64),
                    Value::BigInt(i) | Value::Timestamp(i) => Some(*i),
                    other => return Err(mismatch(other)),
                });
            }
            if *ty == SqlType::Timestamp {
                Arc::new(TimestampMillisecondArray::from(out))
            } else {
                Arc::new(Int64Array::from(out))
            }
        }
        SqlType::Double => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    other => Some(other.as_f64().ok_or_else(|| mismatch(other))?),
                });
            }
            Arc::new(Float64Array::from(out))
        }
        SqlType::Decimal { precision, scale } => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::Decimal(u, s) => Some(Value::decimal_rescale(*u, *s, *scale).ok_or_else(|| mismatch(v))?),
                    Value::Int(i) => Some(Value::decimal_rescale(*i as i128, 0, *scale).ok_or_else(|| mismatch(v))?),
                    Value::BigInt(i) => Some(Value::decimal_rescale(*i as i128, 0, *scale).ok_or_else(|| mismatch(v))?),
                    other => return Err(mismatch(other)),
                });
            }
            Arc::new(Decimal128Array::from(out).with_precision_and_scale(*precision, *scale)?)
        }
        SqlType::String => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::String(s) => Some(s.as_str()),
                    other => return Err(mismatch(other)),
                });
            }
            Arc::new(StringArray::from(out))
        }
        SqlType::Bytes => {
            let mut out: Vec<Option<&[u8]>> = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::Bytes(b) => Some(b.as_slice()),
                    other => return Err(mismatch(other)),
                });
            }
            Arc::new(BinaryArray::from(out))
        }
        SqlType::Date => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::Date(d) => Some(*d),
                    other => return Err(mismatch(other)),
                });
            }
            Arc::new(Date32Array::from(out))
        }
        SqlType::Time => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::Time(t) => Some(*t),
                    other => return Err(mismatch(other)),
                });
            }
            Arc::new(Time32MillisecondArray::from(out))
        }
        SqlType::Array(item) => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            offsets.push(0i32);
            let mut children = Vec::new();
            let mut nulls = BooleanBufferBuilder::new(values.len());
            for v in values {
                match v {
                    Value::Null => nulls.append(false),
                    Value::Array(items) => {
                        children.extend(items.iter().cloned());
                        nulls.append(true);
                    }
                    other => return Err(mismatch(other)),
                }
                offsets.push(children.len() as i32);
            }
            let child = build_array(item, &children)?;
            let field = Arc::new(Field::new("item", to_arrow(item), true));
            Arc::new(ListArray::try_new(
                field,
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                child,
                Some(NullBuffer::new(nulls.finish())),
            )?)
        }
        SqlType::Map(k, val) => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            offsets.push(0i32);
            let (mut keys, mut vals) = (Vec::new(), Vec::new());
            let mut nulls = BooleanBufferBuilder::new(values.len());
            for v in values {
                match v {
                    Value::Null => nulls.append(false),
                    Value::Map(entries) => {
                        for (ek, ev) in entries {
                            if ek.is_null() {
                                continue; // Arrow map keys cannot be null; ksqlDB drops such entries too.
                            }
                            keys.push(ek.clone());
                            vals.push(ev.clone());
                        }
                        nulls.append(true);
                    }
                    other => return Err(mismatch(other)),
                }
                offsets.push(keys.len() as i32);
            }
            let entries_field = map_entries_field(k, val);
            let DataType::Struct(kv_fields) = entries_field.data_type().clone() else {
                return Err(Error::internal("map entries are not a struct"));
            };
            let entries =
                StructArray::try_new(kv_fields, vec![build_array(k, &keys)?, build_array(val, &vals)?], None)?;
            Arc::new(MapArray::try_new(
                entries_field,
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                entries,
                Some(NullBuffer::new(nulls.finish())),
                false,
            )?)
        }
        SqlType::Struct(fields) => {
            let mut columns: Vec<Vec<Value>> = vec![Vec::with_capacity(values.len()); fields.len()];
            let mut nulls = BooleanBufferBuilder::new(values.len());
            for v in values {
                match v {
                    Value::Null => {
                        nulls.append(false);
                        columns.iter_mut().for_each(|c| c.push(Value::Null));
                    }
                    Value::Struct(got) => {
                        nulls.append(true);
                        for (i, (name, _)) in fields.iter().enumerate() {
                            let found = got.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
                            columns[i].push(found.unwrap_or(Value::Null));
                        }
                    }
                    other => return Err(mismatch(other)),
                }
            }
            let arrays = fields
                .iter()
                .zip(&columns)
                .map(|((_, t), vals)| build_array(t, vals))
                .collect::<Result<Vec<_>>>()?;
            if fields.is_empty() {
                Arc::new(StructArray::new_empty_fields(
                    values.len(),
                    Some(NullBuffer::new(nulls.finish())),
                ))
            } else {
                Arc::new(StructArray::try_new(
                    struct_fields(fields),
                    arrays,
                    Some(NullBuffer::new(nulls.finish())),
                )?)
            }
        }
    })
}

/// An array of `len` copies of `value`, typed `ty`.
pub fn repeat_value(ty: &SqlType, value: &Value, len: usize) -> Result<ArrayRef> {
    if value.is_null() {
        return Ok(new_null_array(&to_arrow(ty), len));
    }
    let one = build_array(ty, std::slice::from_ref(value))?;
    let indices = UInt32Array::from(vec![0u32; len]);
    Ok(arrow_select::take::take(one.as_ref(), &indices, None)?)
}

/// Formats epoch milliseconds as ksqlDB prints TIMESTAMP values (`2021-01-02T03:04:05.006`).
pub fn format_timestamp(ms: i64) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(dt) => dt.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
        None => ms.to_string(),
    }
}

/// Formats days since the epoch as `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    NaiveDate::from_num_days_from_ce_opt(days + 719_163)
        .map(|d| d.to_string())
        .unwrap_or_else(|| days.to_string())
}

/// Formats milliseconds since midnight as `HH:MM:SS` (with `.mmm` when not zero).
pub fn format_time(ms: i32) -> String {
    let secs = (ms / 1000) as u32;
    match NaiveTime::from_num_seconds_from_midnight_opt(secs, (ms % 1000) as u32 * 1_000_000) {
        Some(t) if t.nanosecond() == 0 => t.format("%H:%M:%S").to_string(),
        Some(t) => t.format("%H:%M:%S%.3f").to_string(),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ty: SqlType, values: Vec<Value>) {
        let array = build_array(&ty, &values).unwrap();
        assert_eq!(array.data_type(), &to_arrow(&ty));
        let back: Vec<Value> = (0..array.len()).map(|i| value_at(array.as_ref(), i)).collect();
        assert_eq!(back, values);
        assert_eq!(from_arrow(array.data_type()), Some(ty));
    }

    #[test]
    fn every_type_round_trips() {
        round_trip(SqlType::Int, vec![Value::Int(1), Value::Null]);
        round_trip(SqlType::String, vec![Value::String("a".into()), Value::Null]);
        round_trip(
            SqlType::Decimal { precision: 5, scale: 2 },
            vec![Value::Decimal(12345, 2)],
        );
        round_trip(
            SqlType::Array(Box::new(SqlType::BigInt)),
            vec![Value::Array(vec![Value::BigInt(1), Value::Null]), Value::Null],
        );
        round_trip(
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
            vec![
                Value::Map(vec![(Value::String("k".into()), Value::Int(2))]),
                Value::Null,
            ],
        );
        round_trip(
            SqlType::Struct(vec![("A".into(), SqlType::Int), ("b".into(), SqlType::String)]),
            vec![
                Value::Struct(vec![("A".into(), Value::Int(1)), ("b".into(), Value::Null)]),
                Value::Null,
            ],
        );
    }

    #[test]
    fn time_values_format_like_ksqldb() {
        assert_eq!(format_timestamp(1_000), "1970-01-01T00:00:01.000");
        assert_eq!(format_date(1), "1970-01-02");
        assert_eq!(format_time(3_723_000), "01:02:03");
    }
}
