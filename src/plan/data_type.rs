//! sqlparser's `DataType` (as written in `CAST`) to our [`SqlType`].

use sqlparser::ast::{ArrayElemTypeDef, DataType, ExactNumberInfo};

use super::catalog::Catalog;
use crate::error::{Error, Result};
use crate::types::SqlType;

/// Converts a parsed type, resolving custom types from the catalog.
pub fn to_sql_type(dt: &DataType, catalog: &Catalog) -> Result<SqlType> {
    Ok(match dt {
        DataType::Boolean | DataType::Bool => SqlType::Boolean,
        DataType::Int(_) | DataType::Integer(_) => SqlType::Int,
        DataType::BigInt(_) => SqlType::BigInt,
        DataType::Double(_) | DataType::DoublePrecision | DataType::Float64 => SqlType::Double,
        DataType::Decimal(info) | DataType::Numeric(info) => match info {
            ExactNumberInfo::PrecisionAndScale(p, s) => decimal(*p, *s)?,
            ExactNumberInfo::Precision(p) => decimal(*p, 0)?,
            ExactNumberInfo::None => {
                return Err(Error::plan(
                    "DECIMAL needs a precision and a scale, e.g. DECIMAL(10, 2)",
                ));
            }
        },
        DataType::String(_) | DataType::Varchar(_) | DataType::Text => SqlType::String,
        DataType::Bytes(_) | DataType::Bytea => SqlType::Bytes,
        DataType::Timestamp(..) => SqlType::Timestamp,
        DataType::Date => SqlType::Date,
        DataType::Time(..) => SqlType::Time,
        DataType::Array(
            ArrayElemTypeDef::AngleBracket(t)
            | ArrayElemTypeDef::SquareBracket(t, _)
            | ArrayElemTypeDef::Parenthesis(t),
        ) => SqlType::Array(Box::new(to_sql_type(t, catalog)?)),
        DataType::Map(k, v, _) => SqlType::Map(Box::new(to_sql_type(k, catalog)?), Box::new(to_sql_type(v, catalog)?)),
        DataType::Struct(fields, _) => SqlType::Struct(
            fields
                .iter()
                .map(|f| {
                    let name = f.field_name.as_ref().map(|n| n.value.clone()).unwrap_or_default();
                    Ok((name, to_sql_type(&f.field_type, catalog)?))
                })
                .collect::<Result<_>>()?,
        ),
        DataType::Custom(name, _) => {
            let text = name.to_string();
            let upper = text.trim_matches('`').to_uppercase();
            match upper.as_str() {
                "STRING" | "VARCHAR" => SqlType::String,
                "BYTES" => SqlType::Bytes,
                "INT" | "INTEGER" => SqlType::Int,
                "BIGINT" => SqlType::BigInt,
                "DOUBLE" => SqlType::Double,
                "BOOLEAN" => SqlType::Boolean,
                _ => match catalog.custom_type(&upper) {
                    Some(t) => t.clone(),
                    None => return Err(Error::plan(format!("Unknown type: {text}"))),
                },
            }
        }
        other => {
            return Err(Error::plan(format!(
                "Unsupported type: {other}. Supported types are BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL(p, s), STRING, BYTES, TIMESTAMP, DATE, TIME, ARRAY, MAP and STRUCT"
            )));
        }
    })
}

fn decimal(p: u64, s: i64) -> Result<SqlType> {
    if !(1..=38).contains(&p) || s < 0 || s as u64 > p {
        return Err(Error::plan(format!(
            "DECIMAL({p}, {s}) is invalid: precision must be 1 to 38 and scale 0 to the precision"
        )));
    }
    Ok(SqlType::Decimal {
        precision: p as u8,
        scale: s as i8,
    })
}
