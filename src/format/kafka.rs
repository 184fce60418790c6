//! KAFKA: the single column as Kafka's primitive serializers write it: INT as 4 big-endian
//! bytes, BIGINT as 8, DOUBLE as 8 (IEEE 754), STRING as UTF-8 and BYTES as they are.
//! With no columns the bytes are ignored and nothing is written.

use super::RowOutcome;
use super::builder::ColumnBuilder;
use super::reader::Col;
use crate::types::SqlType;

/// Decodes one KAFKA record into `cols` (zero or one column).
pub(crate) fn decode_record(cols: &mut [ColumnBuilder], bytes: &[u8]) -> Result<RowOutcome, String> {
    let b = match cols {
        [] => return Ok(RowOutcome::Present),
        [b] => b,
        _ => return Err("The 'KAFKA' format only supports a single field".into()),
    };
    let size = |n: usize, who: &str| format!("Size of data received by {who} is not {n} (got {} bytes)", bytes.len());
    match &b.ty {
        SqlType::Int => {
            let v: [u8; 4] = bytes.try_into().map_err(|_| size(4, "IntegerDeserializer"))?;
            b.push_i32(i32::from_be_bytes(v));
        }
        SqlType::BigInt => {
            let v: [u8; 8] = bytes.try_into().map_err(|_| size(8, "LongDeserializer"))?;
            b.push_i64(i64::from_be_bytes(v));
        }
        SqlType::Double => {
            let v: [u8; 8] = bytes.try_into().map_err(|_| size(8, "DoubleDeserializer"))?;
            b.push_f64(f64::from_be_bytes(v));
        }
        // Java's String(bytes, UTF_8) replaces malformed sequences rather than failing; valid
        // text (the usual case) is copied as it is, without the lossy path's checks.
        SqlType::String => match std::str::from_utf8(bytes) {
            Ok(_) => b.push_bytes(bytes),
            Err(_) => b.push_bytes(String::from_utf8_lossy(bytes).as_bytes()),
        },
        SqlType::Bytes => b.push_bytes(bytes),
        ty => return Err(unsupported(ty)),
    }
    Ok(RowOutcome::Present)
}

/// Appends row `row` of `cols` (zero or one column) to `out`; returns whether anything was
/// written (NULL writes nothing).
pub(crate) fn encode_record(cols: &[Col<'_>], row: usize, out: &mut Vec<u8>) -> Result<bool, String> {
    let col = match cols {
        [] => return Ok(false),
        [col] => col,
        _ => return Err("The 'KAFKA' format only supports a single field".into()),
    };
    if col.is_null(row) {
        return Ok(false);
    }
    match col {
        Col::Int(a) => out.extend_from_slice(&a.value(row).to_be_bytes()),
        Col::BigInt(a) => out.extend_from_slice(&a.value(row).to_be_bytes()),
        Col::Double(a) => out.extend_from_slice(&a.value(row).to_be_bytes()),
        Col::Str(a) => out.extend_from_slice(a.value(row).as_bytes()),
        Col::Bytes(a) => out.extend_from_slice(a.value(row)),
        other => return Err(unsupported(&other_type(other))),
    }
    Ok(true)
}

/// The SQL type behind a column view, for messages.
fn other_type(col: &Col<'_>) -> SqlType {
    match col {
        Col::Bool(_) => SqlType::Boolean,
        Col::Date(_) => SqlType::Date,
        Col::Time(_) => SqlType::Time,
        Col::Timestamp(_) => SqlType::Timestamp,
        Col::Decimal(a, s) => SqlType::Decimal {
            precision: a.precision(),
            scale: *s,
        },
        Col::List(..) => SqlType::Array(Box::new(SqlType::String)),
        Col::Map(..) => SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::String)),
        Col::Struct(..) => SqlType::Struct(Vec::new()),
        Col::Int(_) => SqlType::Int,
        Col::BigInt(_) => SqlType::BigInt,
        Col::Double(_) => SqlType::Double,
        Col::Str(_) => SqlType::String,
        Col::Bytes(_) => SqlType::Bytes,
    }
}

/// ksqlDB's message for a type KAFKA cannot carry.
pub(crate) fn unsupported(ty: &SqlType) -> String {
    format!(
        "The 'KAFKA' format does not support type '{}'",
        super::validate::base_type_name(ty)
    )
}
