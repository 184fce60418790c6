//! How pull queries read the table a persistent query keeps.
//!
//! A table written by a projection or filter keeps its rows as they are, in the
//! `KsqlTable-Materialize` store. An aggregation keeps no second copy: its rows are a pure
//! function of the aggregate states, so pull queries read the `Aggregate-Aggregate-Materialize`
//! store and apply the query's post-aggregation steps (`HAVING`, the select list) to the
//! states they read, as ksqlDB does. That saves a store write and a changelog record per
//! update, and halves what a restore replays.

use std::sync::Arc;

use super::catalog::SourceDesc;
use super::logical::LogicalPlan;
use crate::error::Result;
use crate::format::Format;
use crate::function::AggregateImpl;
use crate::runtime::batch::BatchSchema;
use crate::runtime::expr::PhysicalExpr;
use crate::sql::ast::SourceKind;
use crate::types::{ColumnKind, Schema, SqlType};

/// The store an aggregation keeps its states in.
pub const AGGREGATE_STORE: &str = "Aggregate-Aggregate-Materialize";

/// Where a table's rows come from when a pull query reads them.
pub enum TableView {
    /// The rows themselves, in the `KsqlTable-Materialize` store, keyed by the serialized key.
    Rows,
    /// An aggregation's states, turned into rows when read.
    Aggregate(Box<AggregateView>),
}

/// Rebuilds an aggregated table's rows from its aggregate store.
pub struct AggregateView {
    /// How many leading columns of [`AggregateView::schema`] are the grouping key; the store
    /// is keyed by their values encoded with `state::codec::encode_row`.
    pub key_count: usize,
    /// The aggregate functions, in column order after the key.
    pub aggregates: Vec<Arc<dyn AggregateImpl>>,
    /// The aggregation's output: grouping key, then one column per aggregate.
    pub schema: BatchSchema,
    /// The query above the aggregation, reading a source of `schema`: its output rows are the
    /// table's rows.
    pub post: LogicalPlan,
    /// For each key column of the table, the grouping key column it is, when it is one.
    pub key_columns: Vec<Option<usize>>,
    /// How the records feeding the store were partitioned: the format and columns their key
    /// was serialized with, so a key lookup reads the store of the key's own partition.
    pub partitioner: (Format, Vec<(String, SqlType)>),
}

impl AggregateView {
    /// The grouping key column types.
    pub fn key_types(&self) -> Vec<SqlType> {
        self.schema.data_columns()[..self.key_count]
            .iter()
            .map(|c| c.ty.clone())
            .collect()
    }
}

/// The aggregation a table's rows come from, when only filters and projections lie between
/// it and the table: then the table needs no store of its own.
pub fn aggregate_below(root: &LogicalPlan) -> Option<&LogicalPlan> {
    match root {
        LogicalPlan::Aggregate { .. } => Some(root),
        LogicalPlan::Filter { input, .. } | LogicalPlan::Project { input, .. } => aggregate_below(input),
        LogicalPlan::Source { .. } | LogicalPlan::FlatMap { .. } => None,
    }
}

/// How pull queries read the table `root` produces.
pub fn view_of(root: &LogicalPlan) -> Result<TableView> {
    let Some(LogicalPlan::Aggregate {
        input,
        key_count,
        aggregates,
        schema,
        repartition,
        ..
    }) = aggregate_below(root)
    else {
        return Ok(TableView::Rows);
    };
    let source = Arc::new(SourceDesc {
        name: AGGREGATE_STORE.to_string(),
        kind: SourceKind::Table,
        schema: Schema::new(schema.data_columns().to_vec()),
        topic: String::new(),
        partitions: 1,
        key_format: Format::from_name("KAFKA")?.for_key(),
        value_format: Format::from_name("JSON")?,
        timestamp: None,
        sql: String::new(),
        is_source: false,
        written_by: None,
    });
    let post = above_aggregate(
        root,
        &LogicalPlan::Source {
            source,
            alias: AGGREGATE_STORE.to_string(),
            schema: schema.clone(),
        },
    );
    let key_columns = table_key_columns(root, *key_count);
    let key_pairs: Vec<(String, SqlType)> = schema.data_columns()[..*key_count]
        .iter()
        .map(|c| (c.name.clone(), c.ty.clone()))
        .collect();
    let partitioner = match (repartition, source_below(input)) {
        // Unrepartitioned input keeps the source's partitioning: its key format and column.
        (false, Some(source)) => {
            let keys: Vec<(String, SqlType)> = source
                .schema
                .key_columns()
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect();
            (source.key_format.clone(), keys)
        }
        // Repartition topics carry JSON keys (see `lower::repartition_by_key`).
        _ => (Format::from_name("JSON")?.for_key(), key_pairs),
    };
    Ok(TableView::Aggregate(Box::new(AggregateView {
        key_count: *key_count,
        aggregates: aggregates.iter().map(|a| a.bound.imp.clone()).collect(),
        schema: schema.clone(),
        post,
        key_columns,
        partitioner,
    })))
}

/// `root` with the aggregation below it replaced by `leaf`.
fn above_aggregate(root: &LogicalPlan, leaf: &LogicalPlan) -> LogicalPlan {
    match root {
        LogicalPlan::Filter { input, predicate } => LogicalPlan::Filter {
            input: Box::new(above_aggregate(input, leaf)),
            predicate: predicate.clone(),
        },
        LogicalPlan::Project {
            input,
            exprs,
            schema,
            rekeyed,
        } => LogicalPlan::Project {
            input: Box::new(above_aggregate(input, leaf)),
            exprs: exprs.clone(),
            schema: schema.clone(),
            rekeyed: *rekeyed,
        },
        _ => leaf.clone(),
    }
}

/// For each key column of the table `root` produces, the aggregation's grouping column it
/// copies, followed through the projections above the aggregation.
fn table_key_columns(root: &LogicalPlan, key_count: usize) -> Vec<Option<usize>> {
    // Where each output data column of `plan` comes from in the aggregation's output.
    fn origins(plan: &LogicalPlan) -> Vec<Option<usize>> {
        match plan {
            LogicalPlan::Aggregate { schema, .. } => (0..schema.data_columns().len()).map(Some).collect(),
            LogicalPlan::Filter { input, .. } => origins(input),
            LogicalPlan::Project { input, exprs, .. } => {
                let below = origins(input);
                exprs
                    .iter()
                    .map(|e| match e {
                        PhysicalExpr::Column { index, .. } => below.get(*index).copied().flatten(),
                        _ => None,
                    })
                    .collect()
            }
            LogicalPlan::Source { .. } | LogicalPlan::FlatMap { .. } => Vec::new(),
        }
    }
    let from = origins(root);
    root.schema()
        .data_columns()
        .iter()
        .zip(from.iter().chain(std::iter::repeat(&None)))
        .filter(|(c, _)| c.kind == ColumnKind::Key)
        .map(|(_, o)| o.filter(|i| *i < key_count))
        .collect()
}

fn source_below(plan: &LogicalPlan) -> Option<&Arc<SourceDesc>> {
    match plan {
        LogicalPlan::Source { source, .. } => Some(source),
        LogicalPlan::Filter { input, .. }
        | LogicalPlan::Project { input, .. }
        | LogicalPlan::FlatMap { input, .. }
        | LogicalPlan::Aggregate { input, .. } => source_below(input),
    }
}
