//! Typed views of Arrow columns for the encoders: each column is downcast once per batch,
//! not once per row.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType, TimestampMillisecondType,
};
use arrow_array::{
    Array, BinaryArray, BooleanArray, Decimal128Array, ListArray, MapArray, PrimitiveArray, StringArray, StructArray,
};

use crate::types::SqlType;
use crate::types::arrow::to_arrow;

/// A column downcast to its concrete Arrow array, children included.
pub(crate) enum Col<'a> {
    /// BOOLEAN
    Bool(&'a BooleanArray),
    /// INT
    Int(&'a PrimitiveArray<Int32Type>),
    /// DATE (days)
    Date(&'a PrimitiveArray<Date32Type>),
    /// TIME (millis)
    Time(&'a PrimitiveArray<Time32MillisecondType>),
    /// BIGINT
    BigInt(&'a PrimitiveArray<Int64Type>),
    /// TIMESTAMP (millis)
    Timestamp(&'a PrimitiveArray<TimestampMillisecondType>),
    /// DOUBLE
    Double(&'a PrimitiveArray<Float64Type>),
    /// DECIMAL with its scale.
    Decimal(&'a Decimal128Array, i8),
    /// STRING
    Str(&'a StringArray),
    /// BYTES
    Bytes(&'a BinaryArray),
    /// ARRAY with its items.
    List(&'a ListArray, Box<Col<'a>>),
    /// MAP with its keys and values.
    Map(&'a MapArray, Box<Col<'a>>, Box<Col<'a>>),
    /// STRUCT with its field names (as declared) and children.
    Struct(&'a StructArray, Vec<(&'a str, Col<'a>)>),
}

impl<'a> Col<'a> {
    /// Views `array` as a column of `ty`; fails when the array is not of `to_arrow(ty)`.
    pub fn new(ty: &'a SqlType, array: &'a dyn Array) -> Result<Col<'a>, String> {
        let wrong = || {
            format!(
                "column of type {ty} holds an Arrow array of type {} (expected {})",
                array.data_type(),
                to_arrow(ty)
            )
        };
        Ok(match ty {
            SqlType::Boolean => Col::Bool(array.as_boolean_opt().ok_or_else(wrong)?),
            SqlType::Int => Col::Int(array.as_primitive_opt().ok_or_else(wrong)?),
            SqlType::Date => Col::Date(array.as_primitive_opt().ok_or_else(wrong)?),
            SqlType::Time => Col::Time(array.as_primitive_opt().ok_or_else(wrong)?),
            SqlType::BigInt => Col::BigInt(array.as_primitive_opt().ok_or_else(wrong)?),
            SqlType::Timestamp => Col::Timestamp(array.as_primitive_opt().ok_or_else(wrong)?),
            SqlType::Double => Col::Double(array.as_primitive_opt().ok_or_else(wrong)?),
            SqlType::Decimal { scale, .. } => Col::Decimal(array.as_primitive_opt().ok_or_else(wrong)?, *scale),
            SqlType::String => Col::Str(array.as_string_opt().ok_or_else(wrong)?),
            SqlType::Bytes => Col::Bytes(array.as_binary_opt().ok_or_else(wrong)?),
            SqlType::Array(item) => {
                let list: &ListArray = array.as_list_opt().ok_or_else(wrong)?;
                Col::List(list, Box::new(Col::new(item, list.values().as_ref())?))
            }
            SqlType::Map(k, v) => {
                let map = array.as_map_opt().ok_or_else(wrong)?;
                Col::Map(
                    map,
                    Box::new(Col::new(k, map.keys().as_ref())?),
                    Box::new(Col::new(v, map.values().as_ref())?),
                )
            }
            SqlType::Struct(fields) => {
                let s = array.as_struct_opt().ok_or_else(wrong)?;
                if s.num_columns() != fields.len() {
                    return Err(wrong());
                }
                let children = fields
                    .iter()
                    .zip(s.columns())
                    .map(|((name, t), child)| Ok((name.as_str(), Col::new(t, child.as_ref())?)))
                    .collect::<Result<Vec<_>, String>>()?;
                Col::Struct(s, children)
            }
        })
    }

    /// The underlying array.
    fn array(&self) -> &dyn Array {
        match self {
            Col::Bool(a) => *a,
            Col::Int(a) => *a,
            Col::Date(a) => *a,
            Col::Time(a) => *a,
            Col::BigInt(a) => *a,
            Col::Timestamp(a) => *a,
            Col::Double(a) => *a,
            Col::Decimal(a, _) => *a,
            Col::Str(a) => *a,
            Col::Bytes(a) => *a,
            Col::List(a, _) => *a,
            Col::Map(a, ..) => *a,
            Col::Struct(a, _) => *a,
        }
    }

    /// Whether `row` is NULL.
    pub fn is_null(&self, row: usize) -> bool {
        self.array().is_null(row)
    }
}
