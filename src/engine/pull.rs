//! Pull queries on materialized tables, answered from the state stores of the query that
//! maintains the table: key lookups (`WHERE key = ...`, `key IN (...)`) read only those keys,
//! anything else scans the stores in key-byte order; the query's own WHERE and projection
//! then run over those rows, and ORDER BY, OFFSET and LIMIT apply last.

use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use arrow_array::{ArrayRef, Int32Array, Int64Array};
use bytes::Bytes;
use std::time::Duration;

use sqlparser::ast::{BinaryOperator, Expr, InTarget};

use super::{Config, Engine};
use crate::error::{Error, Result};
use crate::plan::binder::{Binder, Scope, ident_name};
use crate::plan::catalog::SourceDesc;
use crate::plan::logical::LogicalPlan;
use crate::plan::lower::{MATERIALIZED_STORE, SinkTarget, build_topology};
use crate::plan::query::{QueryPlan, source_batch_schema};
use crate::plan::view::{AGGREGATE_STORE, AggregateView, TableView};
use crate::runtime::batch::Batch;
use crate::runtime::expr::{RowCtx, cast_value, eval_value, evaluate, evaluate_predicate};
use crate::runtime::task::Task;
use crate::sql::ast::{OrderByItem, Query};
use crate::state::SharedStore;
use crate::state::codec::{decode_row, encode_row};
use crate::types::arrow::{build_array, value_at};
use crate::types::{SqlType, Value};

/// A table's stores, by partition.
type PartitionStores = Vec<(i32, SharedStore)>;

/// The stores holding `source`'s rows (or the states they come from) and how to read them,
/// when a running query keeps it.
fn stores_of(engine: &Engine, source: &SourceDesc) -> Option<(PartitionStores, Arc<TableView>)> {
    let writer = source.written_by.as_ref()?;
    let state = engine.state.lock();
    let query = state.queries.get(writer)?;
    let running = query.running.as_ref()?;
    let name = match *query.view {
        TableView::Rows => MATERIALIZED_STORE,
        TableView::Aggregate(_) => AGGREGATE_STORE,
    };
    let stores = running.stores_named(name);
    (!stores.is_empty()).then(|| (stores, query.view.clone()))
}

/// A table row read from a store: its partition, timestamp and data columns.
struct TableRow {
    partition: i32,
    ts: i64,
    values: Vec<Value>,
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
    let Some((stores, view)) = stores_of(engine, &source) else {
        return Ok(None);
    };
    let schema = source_batch_schema(&source);
    let types: Vec<SqlType> = schema.data_columns().iter().map(|c| c.ty.clone()).collect();
    let keys = key_lookups(query, &source, engine)?;
    let batch = match &*view {
        TableView::Rows => table_batch(&types, read_rows(&stores, keys, &source, &types)?)?,
        TableView::Aggregate(view) => read_aggregates(&stores, keys, view, &source, &types)?,
    };

    // The rows through the pull query's own plan.
    let width = plan.output_columns().len();
    let out = match evaluate_plan(&plan.root, batch.clone())? {
        Some(out) => vec![out],
        None => run_in_task(engine, plan, id, batch)?,
    };
    Ok(Some(
        out.iter()
            .flat_map(|b| (0..b.len).map(move |r| (0..width).map(|c| value_at(b.columns[c].as_ref(), r)).collect()))
            .collect(),
    ))
}

/// Reads a `KsqlTable-Materialize` store: `keys` (serialized as the table's key) or all.
fn read_rows(
    stores: &[(i32, SharedStore)],
    keys: Option<Vec<Value>>,
    source: &SourceDesc,
    types: &[SqlType],
) -> Result<Vec<TableRow>> {
    let mut rows = Vec::new();
    let mut take = |partition: i32, bytes: &[u8]| -> Result<()> {
        let mut stored =
            decode_row(bytes).map_err(|e| Error::new(crate::ErrorKind::State, format!("corrupt table row: {e}")))?;
        if stored.len() == types.len() + 1 {
            let ts = stored[0].as_i64().unwrap_or(0);
            stored.remove(0);
            rows.push(TableRow {
                partition,
                ts,
                values: stored,
            });
        }
        Ok(())
    };
    match keys {
        Some(keys) => {
            let key_columns: Vec<(String, SqlType)> = source
                .schema
                .key_columns()
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect();
            for key in keys {
                if let Ok(Some(bytes)) = source.key_format.encode_row(&key_columns, &[key])
                    && let Some((partition, row)) = lookup(stores, &bytes, &bytes)?
                {
                    take(partition, &row)?;
                }
            }
        }
        None => {
            for (partition, store) in stores {
                for (_, bytes) in store.range(None, None)? {
                    take(*partition, &bytes)?;
                }
            }
        }
    }
    Ok(rows)
}

/// Reads an aggregation's states, `keys` or all, and turns them into a batch of the table's
/// rows with the query's steps after the aggregation. A scan returns each partition's rows in
/// the order of their serialized keys, as a store of the rows themselves would.
fn read_aggregates(
    stores: &[(i32, SharedStore)],
    keys: Option<Vec<Value>>,
    view: &AggregateView,
    source: &SourceDesc,
    table_types: &[SqlType],
) -> Result<Batch> {
    let width = table_types.len();
    let corrupt = |e: String| Error::new(crate::ErrorKind::State, format!("corrupt aggregate state: {e}"));
    let key_types = view.key_types();
    // (partition, key bytes, state bytes)
    let mut states: Vec<(i32, Vec<u8>, Bytes)> = Vec::new();
    // Only a table key that is the whole grouping key can be looked up; else scan.
    let keys = keys.filter(|_| view.key_columns == [Some(0)] && view.key_count == 1);
    let scan = keys.is_none();
    match keys {
        Some(keys) => {
            for key in keys {
                let Ok(key) = cast_value(key, &key_types[0]) else {
                    continue;
                };
                let home = view
                    .partitioner
                    .0
                    .encode_row(&view.partitioner.1, std::slice::from_ref(&key))
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                let bytes = encode_row(std::slice::from_ref(&key));
                if let Some((partition, state)) = lookup(stores, &bytes, &home)? {
                    states.push((partition, bytes, state));
                }
            }
        }
        None => {
            for (partition, store) in stores {
                for (key, state) in store.range(None, None)? {
                    states.push((*partition, key.to_vec(), state));
                }
            }
        }
    }
    let types: Vec<SqlType> = view.schema.data_columns().iter().map(|c| c.ty.clone()).collect();
    let mut rows = Vec::with_capacity(states.len());
    for (partition, key, state) in states {
        let mut values = decode_row(&key).map_err(corrupt)?;
        let stored = decode_row(&state).map_err(corrupt)?;
        if values.len() != view.key_count || stored.len() != view.aggregates.len() + 1 {
            return Err(corrupt("the wrong number of fields".into()));
        }
        values.extend(view.aggregates.iter().zip(&stored[1..]).map(|(f, s)| f.result(s)));
        rows.push(TableRow {
            partition,
            ts: stored[0].as_i64().unwrap_or(0),
            values,
        });
    }
    let Some(post) = evaluate_plan(&view.post, table_batch(&types, rows)?)? else {
        return Err(Error::internal("an aggregation's select list could not be evaluated"));
    };
    if !scan {
        // Looked-up keys keep the order they were asked in: the batch is the answer.
        return Ok(post);
    }
    let mut out: Vec<(Vec<u8>, TableRow)> = Vec::with_capacity(post.len);
    let (Some(rowtimes), Some(partitions)) = (post.rowtimes(), post.partitions()) else {
        return Err(Error::internal("aggregate rows have no pseudo columns"));
    };
    // The table's key columns lead its rows.
    let key_columns: Vec<(String, SqlType)> = source
        .schema
        .key_columns()
        .map(|c| (c.name.clone(), c.ty.clone()))
        .collect();
    for r in 0..post.len {
        let values: Vec<Value> = (0..width).map(|c| value_at(post.columns[c].as_ref(), r)).collect();
        let sort_key = source
            .key_format
            .encode_row(&key_columns, &values[..key_columns.len().min(width)])
            .ok()
            .flatten()
            .unwrap_or_default();
        out.push((
            sort_key,
            TableRow {
                partition: partitions.value(r),
                ts: rowtimes.value(r),
                values,
            },
        ));
    }
    out.sort_by(|a, b| (a.1.partition, &a.0).cmp(&(b.1.partition, &b.0)));
    table_batch(table_types, out.into_iter().map(|(_, row)| row).collect())
}

/// The value of `key` in the store of the partition `home` (the key as partitioned)
/// belongs to, or, on a miss there (a producer with another partitioner), in any other.
fn lookup(stores: &[(i32, SharedStore)], key: &[u8], home: &[u8]) -> Result<Option<(i32, Bytes)>> {
    // Rows are partitioned by their serialized key with Kafka's default partitioner, as
    // ksqlDB routes pull queries.
    let complete = stores.iter().enumerate().all(|(i, (p, _))| *p == i as i32);
    let home = complete.then(|| crate::log::partition_for_key(home, stores.len() as i32) as usize);
    if let Some((partition, store)) = home.and_then(|h| stores.get(h))
        && let Some(bytes) = store.get(key)?
    {
        return Ok(Some((*partition, bytes)));
    }
    for (i, (partition, store)) in stores.iter().enumerate() {
        if Some(i) != home
            && let Some(bytes) = store.get(key)?
        {
            return Ok(Some((*partition, bytes)));
        }
    }
    Ok(None)
}

/// `rows` as a batch of `types` with their timestamps and partitions.
fn table_batch(types: &[SqlType], mut rows: Vec<TableRow>) -> Result<Batch> {
    let n = rows.len();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(types.len() + 3);
    for (c, ty) in types.iter().enumerate() {
        let values: Vec<Value> = rows.iter_mut().map(|r| std::mem::take(&mut r.values[c])).collect();
        columns.push(build_array(ty, &values)?);
    }
    columns.push(Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.ts))));
    columns.push(Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.partition))));
    columns.push(Arc::new(Int64Array::from(vec![0i64; n])));
    Batch::new(columns, n)
}

/// Runs a plan of filters and projections over a source directly on `batch`; `None` when
/// the plan has other steps (then [`run_in_task`] runs it). Rows whose expressions fail are
/// dropped by filters and get NULLs from projections, as in a running query.
fn evaluate_plan(plan: &LogicalPlan, batch: Batch) -> Result<Option<Batch>> {
    match plan {
        LogicalPlan::Source { .. } => Ok(Some(batch)),
        LogicalPlan::Filter { input, predicate } => {
            let Some(batch) = evaluate_plan(input, batch)? else {
                return Ok(None);
            };
            let mask = evaluate_predicate(predicate, &batch.columns, batch.len, &mut Vec::new())?;
            Ok(Some(if mask.true_count() == batch.len {
                batch
            } else {
                batch.filter(&mask)?
            }))
        }
        LogicalPlan::Project { input, exprs, .. } => {
            let Some(batch) = evaluate_plan(input, batch)? else {
                return Ok(None);
            };
            let mut columns = Vec::with_capacity(exprs.len() + 3);
            for expr in exprs {
                columns.push(evaluate(expr, &batch.columns, batch.len, &mut Vec::new())?);
            }
            columns.extend(batch.pseudo_columns());
            Ok(Some(Batch::new(columns, batch.len)?))
        }
        LogicalPlan::Aggregate { .. } | LogicalPlan::FlatMap { .. } => Ok(None),
    }
}

/// Runs the pull query's plan in a task of its own, for plans [`evaluate_plan`] cannot.
fn run_in_task(engine: &Arc<Engine>, plan: &QueryPlan, id: &str, batch: Batch) -> Result<Vec<Batch>> {
    let (tx, rx) = sync_channel::<Batch>(1024);
    let topology = build_topology(&plan.root, SinkTarget::Channel(tx), false, id)?;
    let graph = Arc::new(topology.to_graph());
    drop(topology);
    let mut task = Task::new(id, 0, 0, graph, engine.log.clone(), engine.timestamp_parser(), None)?;
    task.process_batch(0, batch)?;
    task.close();
    drop(task);
    Ok(rx.try_iter().collect())
}

/// The key values a WHERE clause pins the table's key to (`k = v`, `k IN (...)`, also under
/// AND), cast to the key's type, or `None` when it needs a scan. Only single-column keys are
/// looked up.
fn key_lookups(query: &Query, source: &SourceDesc, engine: &Engine) -> Result<Option<Vec<Value>>> {
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
        out.push(value);
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
