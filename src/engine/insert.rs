//! `INSERT INTO ... VALUES`: one record, encoded with the source's formats and written to
//! the partition Kafka's default partitioner picks for its key.

use std::sync::Arc;

use super::Engine;
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::{Bytes, Record, default_partition};
use crate::plan::binder::{Binder, Scope, is_null_literal};
use crate::runtime::expr::{RowCtx, cast_value, eval_value};
use crate::sql::ast::{Expr, Ident};
use crate::types::{ColumnKind, ROWTIME, SqlType, Value};

/// Whether a value of type `from` may be inserted into a column of type `to`.
fn insertable(from: &SqlType, to: &SqlType) -> bool {
    from.can_widen_to(to)
        || (matches!(from, SqlType::Decimal { .. }) && matches!(to, SqlType::Double | SqlType::Decimal { .. }))
        || (from == &SqlType::String && matches!(to, SqlType::Timestamp | SqlType::Date | SqlType::Time))
        || match (from, to) {
            (SqlType::Array(a), SqlType::Array(b)) => insertable(a, b),
            (SqlType::Map(ak, av), SqlType::Map(bk, bv)) => insertable(ak, bk) && insertable(av, bv),
            (SqlType::Struct(a), SqlType::Struct(b)) => a
                .iter()
                .all(|(n, t)| b.iter().any(|(bn, bt)| bn.eq_ignore_ascii_case(n) && insertable(t, bt))),
            _ => false,
        }
}

pub(super) fn insert_values(
    engine: &Arc<Engine>,
    target: &Ident,
    columns: Option<&[Ident]>,
    values: &[Expr],
) -> Result<StatementResult> {
    let desc = engine.state.lock().catalog.source(&target.value).cloned();
    let Some(desc) = desc else {
        // A name read unquoted is upper case; a source created with a quoted lower-case name
        // is then found only by quoting it.
        let hint = engine
            .state
            .lock()
            .catalog
            .sources()
            .find(|s| s.name.eq_ignore_ascii_case(&target.value))
            .map(|s| {
                format!(
                    "\nDid you mean \"{}\"? Hint: wrap the source name in double quotes to make it case-sensitive.",
                    s.name
                )
            })
            .unwrap_or_default();
        return Err(Error::plan(format!(
            "Cannot insert values into an unknown stream/table: `{}`{hint}",
            target.value
        )));
    };
    if desc.is_source {
        return Err(Error::plan(format!(
            "Cannot insert values into read-only {}: {}",
            desc.kind_name().to_lowercase(),
            desc.name
        )));
    }
    let names: Vec<String> = match columns {
        Some(cols) => cols.iter().map(|c| c.value.clone()).collect(),
        None => {
            // Without a column list the values are for every column, header columns too,
            // which cannot be written (ksqlDB says so before counting the values).
            let headers: Vec<&str> = desc
                .schema
                .columns
                .iter()
                .filter(|c| matches!(c.kind, ColumnKind::Header(_)))
                .map(|c| c.name.as_str())
                .collect();
            if !headers.is_empty() {
                return Err(Error::plan(format!(
                    "Cannot insert into HEADER columns: {}",
                    headers.join(", ")
                )));
            }
            desc.schema.columns.iter().map(|c| c.name.clone()).collect()
        }
    };
    if names.len() != values.len() {
        return Err(Error::plan(format!(
            "Expected a value for each column. Expected Columns: [{}]. Got {} value(s).",
            names.join(", "),
            values.len()
        )));
    }
    let catalog = engine.state.lock().catalog.clone();
    let scope = Scope::default();
    let mut binder = Binder::new(&scope, &engine.functions, &catalog);
    let mut key_values: Vec<Value> = desc.schema.key_columns().map(|_| Value::Null).collect();
    let mut value_values: Vec<Value> = desc.schema.value_columns().map(|_| Value::Null).collect();
    let mut rowtime: Option<i64> = None;
    for (name, expr) in names.iter().zip(values) {
        let bound = binder.bind(expr)?;
        let mut env = Vec::new();
        let value = eval_value(&bound, &RowCtx { columns: &[], row: 0 }, &mut env)
            .map_err(|e| Error::execution(format!("Failed to evaluate the value for column {name}: {e}")))?;
        if name == ROWTIME {
            rowtime = Some(match value {
                Value::BigInt(v) | Value::Timestamp(v) => v,
                Value::Int(v) => v as i64,
                other => {
                    return Err(Error::plan(format!("ROWTIME must be a BIGINT, not {other}")));
                }
            });
            continue;
        }
        if name == crate::types::ROWPARTITION || name == crate::types::ROWOFFSET {
            return Err(Error::plan(format!("Inserting into column `{name}` is not allowed.")));
        }
        let Some((_, col)) = desc.schema.find(name) else {
            return Err(Error::plan(format!(
                "Column name {name} does not exist in {}.",
                desc.name
            )));
        };
        if matches!(col.kind, ColumnKind::Header(_)) {
            return Err(Error::plan(format!("Cannot insert into HEADER columns: {name}")));
        }
        if !is_null_literal(&bound) && !insertable(&bound.ty(), &col.ty) {
            return Err(Error::plan(format!(
                "Expected type {} for field {name} but got {expr}({})",
                col.ty,
                bound.ty()
            )));
        }
        let value =
            cast_value(value, &col.ty).map_err(|e| Error::plan(format!("Invalid value for column {name}: {e}")))?;
        let (slot, pool) = match col.kind {
            ColumnKind::Key => (desc.schema.key_columns().position(|c| &c.name == name), &mut key_values),
            _ => (
                desc.schema.value_columns().position(|c| &c.name == name),
                &mut value_values,
            ),
        };
        if let Some(i) = slot {
            pool[i] = value;
        }
    }
    if desc.kind == crate::sql::ast::SourceKind::Table && key_values.iter().any(Value::is_null) {
        return Err(Error::plan(format!(
            "Failed to insert values into '{}'. Value for primary key column(s) {} is required for tables",
            desc.name,
            desc.key_columns()
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let timestamp = match (rowtime, &desc.timestamp) {
        (Some(t), _) => t,
        (None, Some(ts)) => {
            let idx = desc.schema.value_columns().position(|c| c.name == ts.column);
            match idx.map(|i| &value_values[i]) {
                Some(Value::BigInt(v)) | Some(Value::Timestamp(v)) => *v,
                _ => crate::runtime::processing_log::now_ms(),
            }
        }
        (None, None) => crate::runtime::processing_log::now_ms(),
    };
    let key = desc.key_format.encode_row(&desc.key_columns(), &key_values)?;
    let value = desc.value_format.encode_row(&desc.value_columns(), &value_values)?;
    let mut round_robin = crate::runtime::processing_log::now_ms() as u32;
    let partition = default_partition(key.as_deref(), desc.partitions, &mut round_robin);
    let record = Record {
        key: key.map(Bytes::from),
        value: value.map(Bytes::from),
        timestamp,
        headers: Vec::new(),
    };
    engine.log.append(&desc.topic, partition, &[record])?;
    Ok(StatementResult::Message(String::new()))
}
