//! Pull queries on materialized tables, answered from the state stores of the query that
//! maintains the table: key lookups (`WHERE key = ...`, `key IN (...)`) read only those keys,
//! anything else scans the stores in key-byte order; the query's own WHERE and projection
//! then run over those rows, and ORDER BY, OFFSET and LIMIT apply last.

use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use sqlparser::ast::{BinaryOperator, Expr, InTarget};

use super::{Config, Engine};
use crate::error::{Error, Result};
use crate::plan::binder::{Binder, Scope, ident_name};
use crate::plan::catalog::SourceDesc;
use crate::plan::lower::{MATERIALIZED_STORE, SinkTarget, build_topology};
use crate::plan::query::{QueryPlan, source_batch_schema};
use crate::runtime::batch::{Batch, pseudo_arrays};
use crate::runtime::expr::{RowCtx, cast_value, eval_value};
use crate::runtime::task::Task;
use crate::sql::ast::{OrderByItem, Query};
use crate::state::SharedStore;
use crate::state::codec::decode_row;
use crate::types::Value;
use crate::types::arrow::{build_array, value_at};

/// The stores holding `source`'s rows, when a running query materializes it.
fn stores_of(engine: &Engine, source: &SourceDesc) -> Option<Vec<(i32, SharedStore)>> {
    let writer = source.written_by.as_ref()?;
    let state = engine.state.lock();
    let running = state.queries.get(writer)?.running.as_ref()?;
    let stores = running.stores_named(MATERIALIZED_STORE);
    (!stores.is_empty()).then_some(stores)
}

/// Answers `plan` from state stores when its source is a materialized table; `None` when it
/// is not (the caller then scans the topic).
pub(super) fn pull_from_state(
    engine: &Arc<Engine>,
    query: &Query,
    plan: &QueryPlan,
    id: &str,
    config: &Config,
) -> Result<Option<Vec<Vec<Value>>>> {
    let source = plan.source.clone();
    let Some(writer) = source.written_by.clone() else {
        return Ok(None);
    };
    // Read-your-writes: the table's query first catches up with what its input held when
    // this query arrived.
    engine.wait_for_query(&writer, Duration::from_millis(config.get_u64("runnel.pull.wait.ms")?))?;
    let Some(stores) = stores_of(engine, &source) else {
        return Ok(None);
    };

    let schema = source_batch_schema(&source);
    let types: Vec<_> = schema.data_columns().iter().map(|c| c.ty.clone()).collect();
    let mut rows: Vec<(i32, Vec<Value>)> = Vec::new();
    let mut take = |partition: i32, bytes: &[u8]| -> Result<()> {
        let stored =
            decode_row(bytes).map_err(|e| Error::new(crate::ErrorKind::State, format!("corrupt table row: {e}")))?;
        if stored.len() == types.len() + 1 {
            rows.push((partition, stored));
        }
        Ok(())
    };
    match key_lookups(query, &source, engine)? {
        Some(keys) => {
            // The store of the key's partition first: rows are partitioned by their
            // serialized key with Kafka's default partitioner, as ksqlDB routes pull queries.
            // Only a miss there (a producer with another partitioner) looks everywhere else.
            let complete = stores.iter().enumerate().all(|(i, (p, _))| *p == i as i32);
            for key in keys {
                let home = complete.then(|| crate::log::partition_for_key(&key, stores.len() as i32) as usize);
                if let Some((partition, store)) = home.and_then(|h| stores.get(h))
                    && let Some(bytes) = store.get(&key)?
                {
                    take(*partition, &bytes)?;
                    continue;
                }
                for (i, (partition, store)) in stores.iter().enumerate() {
                    if Some(i) == home {
                        continue;
                    }
                    if let Some(bytes) = store.get(&key)? {
                        take(*partition, &bytes)?;
                    }
                }
            }
        }
        None => {
            for (partition, store) in &stores {
                for (_, bytes) in store.range(None, None)? {
                    take(*partition, &bytes)?;
                }
            }
        }
    }

    // The rows as a batch of the table's schema, through the pull query's own plan.
    let n = rows.len();
    let mut columns = Vec::with_capacity(types.len() + 3);
    for (c, ty) in types.iter().enumerate() {
        let values: Vec<Value> = rows.iter_mut().map(|(_, r)| std::mem::take(&mut r[c + 1])).collect();
        columns.push(build_array(ty, &values)?);
    }
    let rowtimes: Vec<i64> = rows.iter().map(|(_, r)| r[0].as_i64().unwrap_or(0)).collect();
    columns.extend(pseudo_arrays(rowtimes, 0, vec![0; n]));
    let batch = Batch::new(columns, n)?;
    let (tx, rx) = sync_channel::<Batch>(1024);
    let topology = build_topology(&plan.root, SinkTarget::Channel(tx), false, id)?;
    let graph = Arc::new(topology.to_graph());
    drop(topology);
    let mut task = Task::new(id, 0, 0, graph, engine.log.clone(), engine.timestamp_parser(), None)?;
    task.process_batch(0, batch)?;
    task.close();
    drop(task);
    let width = plan.output_columns().len();
    let mut out = Vec::new();
    while let Ok(batch) = rx.try_recv() {
        for r in 0..batch.len {
            out.push((0..width).map(|c| value_at(batch.columns[c].as_ref(), r)).collect());
        }
    }
    Ok(Some(out))
}

/// The serialized keys a WHERE clause pins the table's key to (`k = v`, `k IN (...)`, also
/// under AND), or `None` when it needs a scan. Only single-column keys are looked up.
fn key_lookups(query: &Query, source: &SourceDesc, engine: &Engine) -> Result<Option<Vec<Vec<u8>>>> {
    let keys: Vec<_> = source.schema.key_columns().collect();
    let ([key], Some(selection)) = (keys.as_slice(), &query.selection) else {
        return Ok(None);
    };
    let Some(literals) = pinned(selection, &key.name) else {
        return Ok(None);
    };
    // Literals bind without the catalog's help: borrow it under the lock rather than copy it
    // (a copy per lookup cost more than the lookup).
    let state = engine.state.lock();
    let scope = Scope::default();
    let mut binder = Binder::new(&scope, &engine.functions, &state.catalog);
    let mut out = Vec::new();
    for lit in literals {
        let Ok(bound) = binder.bind(lit) else { return Ok(None) };
        let mut env = Vec::new();
        let Ok(value) = eval_value(&bound, &RowCtx { columns: &[], row: 0 }, &mut env) else {
            return Ok(None);
        };
        // A literal that does not fit the key type matches no row; let the filter say so.
        let Ok(value) = cast_value(value, &key.ty) else {
            return Ok(None);
        };
        let cols = vec![(key.name.clone(), key.ty.clone())];
        if let Ok(Some(bytes)) = source.key_format.encode_row(&cols, &[value]) {
            out.push(bytes);
        }
    }
    Ok(Some(out))
}

/// The literals `e` pins column `key` to, when it does.
fn pinned<'e>(e: &'e Expr, key: &str) -> Option<Vec<&'e Expr>> {
    let is_key = |x: &Expr| match x {
        Expr::Identifier(i) => ident_name(i) == key,
        Expr::CompoundIdentifier(parts) => parts.last().is_some_and(|i| ident_name(i) == key),
        _ => false,
    };
    let is_literal = |x: &Expr| {
        matches!(x, Expr::Value(_)) || matches!(x, Expr::UnaryOp { expr, .. } if matches!(**expr, Expr::Value(_)))
    };
    match e {
        Expr::Nested(inner) => pinned(inner, key),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } if is_key(left) && is_literal(right) => Some(vec![right]),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } if is_key(right) && is_literal(left) => Some(vec![left]),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => pinned(left, key).or_else(|| pinned(right, key)),
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated: false,
            ..
        } if is_key(expr) && list.iter().all(is_literal) => Some(list.iter().collect()),
        _ => None,
    }
}

/// Applies ORDER BY (output column names), OFFSET and LIMIT.
pub(super) fn order_and_page(
    rows: &mut Vec<Vec<Value>>,
    columns: &[String],
    order_by: &[OrderByItem],
    offset: Option<u64>,
    limit: Option<u64>,
) -> Result<()> {
    if !order_by.is_empty() {
        let mut keys = Vec::new();
        for item in order_by {
            let name = match &item.expr {
                Expr::Identifier(i) => ident_name(i),
                Expr::CompoundIdentifier(parts) => parts.last().map(ident_name).unwrap_or_default(),
                other => return Err(Error::plan(format!("ORDER BY takes output column names, not {other}"))),
            };
            let Some(index) = columns.iter().position(|c| *c == name) else {
                return Err(Error::plan(format!(
                    "ORDER BY column {name} is not in the result; it has {}",
                    columns.join(", ")
                )));
            };
            keys.push((index, item.descending));
        }
        rows.sort_by(|a, b| {
            for (i, desc) in &keys {
                // NULLs sort first, as in ksqlDB's ascending order.
                let ord = match (&a[*i], &b[*i]) {
                    (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
                    (Value::Null, _) => std::cmp::Ordering::Less,
                    (_, Value::Null) => std::cmp::Ordering::Greater,
                    (x, y) => x.sql_cmp(y).unwrap_or(std::cmp::Ordering::Equal),
                };
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let skip = offset.unwrap_or(0) as usize;
    if skip > 0 {
        rows.drain(..skip.min(rows.len()));
    }
    if let Some(l) = limit {
        rows.truncate(l as usize);
    }
    Ok(())
}
