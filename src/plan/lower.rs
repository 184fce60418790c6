//! Lowering a logical plan to a topology through the DSL, naming nodes as ksqlDB does
//! (`WhereFilter`, `FlatMap`, `Project`).

use super::catalog::SourceDesc;
use super::logical::LogicalPlan;
use crate::error::Result;
use crate::format::Format;
use crate::runtime::ops::{Aggregate, AggregateSpec, Materialize, RecordCache, TableChanges};
use crate::runtime::sink::SinkSpec;
use crate::runtime::source::{SourceSpec, TimestampSpec};
use crate::topology::{KStream, StreamsBuilder};
use crate::types::{ColumnKind, SqlType};

use std::sync::Arc;

/// Lowers the input of a table aggregation: the table's source turned into changes (old row
/// retracted, new row added) by a processor that materializes it, then `WHERE`, which applies
/// to old and new rows alike.
fn lower_table_changes(plan: &LogicalPlan, b: &mut StreamsBuilder, app_id: &str) -> Result<KStream> {
    match plan {
        LogicalPlan::Source { .. } => {
            let s = lower(plan, b, false, app_id)?;
            let key_count = s
                .schema
                .data_columns()
                .iter()
                .filter(|c| c.kind == ColumnKind::Key)
                .count();
            let types: Vec<SqlType> = s.schema.data_columns().iter().map(|c| c.ty.clone()).collect();
            let store = "KsqlTopic-Reduce".to_string();
            let store_for_supplier = store.clone();
            let supplier: crate::runtime::processor::ProcessorSupplier =
                Arc::new(move || Box::new(TableChanges::new(store_for_supplier.clone(), key_count, types.clone())));
            s.process_stateful(b, "KTABLE-SOURCE", supplier, vec![store], s.schema.clone())
        }
        LogicalPlan::Filter { input, predicate } => {
            let s = lower_table_changes(input, b, app_id)?;
            s.filter(b, predicate.clone(), Some("WhereFilter"))
        }
        other => lower(other, b, false, app_id),
    }
}

/// Lowers an aggregation; with `old_values`, each output row is preceded by the group's
/// previous row (for a `HAVING` filter).
fn lower_aggregate(plan: &LogicalPlan, b: &mut StreamsBuilder, app_id: &str, old_values: bool) -> Result<KStream> {
    let LogicalPlan::Aggregate {
        input,
        key_count,
        aggregates,
        schema,
        repartition,
        on_table,
    } = plan
    else {
        return Err(crate::Error::internal("lower_aggregate needs an aggregation"));
    };
    let mut s = match input.as_ref() {
        LogicalPlan::Project {
            input: pre_input,
            exprs,
            schema,
            ..
        } => {
            let s = if *on_table {
                lower_table_changes(pre_input, b, app_id)?
            } else {
                lower(pre_input, b, false, app_id)?
            };
            s.map_values(b, exprs.clone(), schema.clone(), Some("Aggregate-Prepare"))?
        }
        other => lower(other, b, false, app_id)?,
    };
    if *repartition {
        s = repartition_by_key(&s, b, app_id, plan_partitions(input))?;
    }
    let specs: Vec<AggregateSpec> = aggregates
        .iter()
        .map(|a| AggregateSpec {
            imp: a.bound.imp.clone(),
            args: a.args.clone(),
        })
        .collect();
    let output_types: Vec<SqlType> = schema.data_columns().iter().map(|c| c.ty.clone()).collect();
    let store = crate::plan::view::AGGREGATE_STORE.to_string();
    let key_count = *key_count;
    let store_for_supplier = store.clone();
    let supplier: crate::runtime::processor::ProcessorSupplier = Arc::new(move || {
        let aggregate = Aggregate::new(
            store_for_supplier.clone(),
            key_count,
            specs.clone(),
            output_types.clone(),
        );
        Box::new(if old_values {
            aggregate.with_old_values()
        } else {
            aggregate
        })
    });
    s.process_stateful(b, "KSTREAM-AGGREGATE", supplier, vec![store], schema.clone())
}

/// Whether `plan` is an aggregation, or a HAVING filter right over one.
fn after_aggregate(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate { .. } => true,
        LogicalPlan::Filter { input, .. } => matches!(input.as_ref(), LogicalPlan::Aggregate { .. }),
        _ => false,
    }
}

/// The partitions of the source a plan reads.
fn plan_partitions(plan: &LogicalPlan) -> i32 {
    match plan {
        LogicalPlan::Source { source, .. } => source.partitions,
        LogicalPlan::Filter { input, .. }
        | LogicalPlan::FlatMap { input, .. }
        | LogicalPlan::Project { input, .. }
        | LogicalPlan::Aggregate { input, .. } => plan_partitions(input),
    }
}

/// Routes a stream through an internal topic keyed by its key columns, so that every row of
/// one key reaches the same task (SEMANTICS §3.3). Keys are JSON, which carries every SQL
/// type and decides the partition (so it stays as earlier versions wrote it); values are
/// Runnel's binary rows, which cost a fraction of JSON to write and read.
fn repartition_by_key(s: &KStream, b: &mut StreamsBuilder, app_id: &str, partitions: i32) -> Result<KStream> {
    let topic = format!("{app_id}-Aggregate-GroupBy-repartition");
    let json = Format::from_name("JSON")?;
    let binary = Format::new(crate::format::FormatKind::Internal);
    let cols = |kind: ColumnKind| -> Vec<(usize, String, SqlType)> {
        s.schema
            .data_columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == kind)
            .map(|(i, c)| (i, c.name.clone(), c.ty.clone()))
            .collect()
    };
    let spec = SinkSpec {
        topic: topic.clone(),
        partitions,
        key_format: json.clone().for_key(),
        value_format: binary.clone(),
        key_columns: cols(ColumnKind::Key),
        value_columns: cols(ColumnKind::Value),
    };
    s.to_named(b, spec, "Aggregate-GroupBy-repartition-sink")?;
    b.add_internal_topic(&topic, partitions);
    b.stream_named(
        SourceSpec {
            topic,
            key_format: json.for_key(),
            value_format: binary,
            schema: s.schema.clone(),
            timestamp: None,
            drop_null_keys: false,
        },
        "Aggregate-GroupBy-repartition-source",
    )
}

/// Where a query's output goes.
pub enum SinkTarget {
    /// A topic, with its formats and partitions.
    Topic(std::sync::Arc<SourceDesc>),
    /// No topic: the table's rows are only materialized in a store (`CREATE SOURCE TABLE`).
    Materialize(std::sync::Arc<SourceDesc>),
    /// A channel read by the caller (transient queries).
    Channel(std::sync::mpsc::SyncSender<crate::runtime::batch::Batch>),
}

/// Builds the topology of a planned query.
/// `table_semantics` makes filters turn non-matching rows into tombstones, as a table's
/// changelog needs.
/// `app_id` prefixes the query's internal topics (repartition topics); the topology lists
/// them, with their partition counts, in [`crate::topology::Topology::internal_topics`].
pub fn build_topology(
    root: &LogicalPlan,
    sink: SinkTarget,
    table_semantics: bool,
    app_id: &str,
) -> Result<crate::topology::Topology> {
    let mut b = StreamsBuilder::new();
    let stream = lower(root, &mut b, table_semantics, app_id)?;
    match sink {
        SinkTarget::Topic(desc) => {
            let cols = |kind: ColumnKind| -> Vec<(usize, String, crate::types::SqlType)> {
                stream
                    .schema
                    .data_columns()
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.kind == kind)
                    .map(|(i, c)| (i, c.name.clone(), c.ty.clone()))
                    .collect()
            };
            let spec = SinkSpec {
                topic: desc.topic.clone(),
                partitions: desc.partitions,
                key_format: desc.key_format.clone(),
                value_format: desc.value_format.clone(),
                key_columns: cols(ColumnKind::Key),
                value_columns: cols(ColumnKind::Value),
            };
            // A table's rows are also kept in a store, for pull queries; an aggregation's
            // states already are that store (see `plan::view`).
            let stream = if desc.kind == crate::sql::ast::SourceKind::Table {
                let rows = if crate::plan::view::aggregate_below(root).is_none() {
                    materialize(&stream, &mut b, &desc)?
                } else {
                    stream
                };
                cache(&rows, &mut b)?
            } else {
                stream
            };
            let stream = match &desc.timestamp {
                Some(t) => sink_timestamp(&stream, &mut b, t)?,
                None => stream,
            };
            stream.to(&mut b, spec)?;
        }
        SinkTarget::Materialize(desc) => {
            materialize(&stream, &mut b, &desc)?;
        }
        SinkTarget::Channel(sender) => stream.to_channel(&mut b, sender)?,
    }
    Ok(b.build())
}

/// Stamps each output record with the time in the sink's `TIMESTAMP` column.
fn sink_timestamp(
    stream: &KStream,
    b: &mut StreamsBuilder,
    t: &crate::plan::catalog::TimestampColumn,
) -> Result<KStream> {
    let Some(column) = stream.schema.data_columns().iter().position(|c| c.name == t.column) else {
        return Err(crate::Error::plan(format!(
            "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{}'",
            t.column
        )));
    };
    let spec = TimestampSpec {
        column,
        format: t.format.clone(),
    };
    let supplier: crate::runtime::processor::ProcessorSupplier = Arc::new(move || {
        Box::new(crate::runtime::ops::SinkTimestamp::new(
            spec.clone(),
            Some(crate::function::parse_timestamp_pattern),
        ))
    });
    stream.process(b, "KSTREAM-TRANSFORM", None, supplier, stream.schema.clone())
}

/// Puts the record cache in front of a table's sink (it folds updates per key until commit).
fn cache(stream: &KStream, b: &mut StreamsBuilder) -> Result<KStream> {
    let data = stream.schema.data_columns();
    let key_columns: Vec<usize> = data
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == ColumnKind::Key)
        .map(|(i, _)| i)
        .collect();
    let supplier: crate::runtime::processor::ProcessorSupplier =
        Arc::new(move || Box::new(RecordCache::new(key_columns.clone())));
    stream.process(b, "KTABLE-CACHE", None, supplier, stream.schema.clone())
}

/// The store holding a table's current rows, read by pull queries.
pub const MATERIALIZED_STORE: &str = "KsqlTable-Materialize";

fn materialize(stream: &KStream, b: &mut StreamsBuilder, desc: &SourceDesc) -> Result<KStream> {
    let key_columns: Vec<(usize, String, SqlType)> = stream
        .schema
        .data_columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == ColumnKind::Key)
        .map(|(i, c)| (i, c.name.clone(), c.ty.clone()))
        .collect();
    let width = stream.schema.data_columns().len();
    let key_format = desc.key_format.clone();
    let supplier: crate::runtime::processor::ProcessorSupplier = Arc::new(move || {
        Box::new(Materialize::new(
            MATERIALIZED_STORE.to_string(),
            key_columns.clone(),
            key_format.clone(),
            width,
        ))
    });
    stream.process_stateful(
        b,
        "KTABLE-MATERIALIZE",
        supplier,
        vec![MATERIALIZED_STORE.to_string()],
        stream.schema.clone(),
    )
}

fn lower(plan: &LogicalPlan, b: &mut StreamsBuilder, table: bool, app_id: &str) -> Result<KStream> {
    match plan {
        LogicalPlan::Source { source, schema, .. } => {
            let timestamp = source.timestamp.as_ref().and_then(|t| {
                schema
                    .data_columns()
                    .iter()
                    .position(|c| c.name == t.column)
                    .map(|column| TimestampSpec {
                        column,
                        format: t.format.clone(),
                    })
            });
            let source = b.stream(SourceSpec {
                topic: source.topic.clone(),
                key_format: source.key_format.clone(),
                value_format: source.value_format.clone(),
                schema: schema.clone(),
                timestamp,
                drop_null_keys: source.kind == crate::sql::ast::SourceKind::Table,
            })?;
            source.transform_values(b)
        }
        LogicalPlan::Aggregate { .. } => lower_aggregate(plan, b, app_id, false),
        LogicalPlan::Filter { input, predicate } => {
            if table && matches!(input.as_ref(), LogicalPlan::Aggregate { .. }) {
                // HAVING tells a group that stops matching from one that never did by the
                // group's old row, which the aggregation then sends along.
                let s = lower_aggregate(input, b, app_id, true)?;
                return s.filter_table_changes(b, predicate.clone(), Some("Aggregate-HavingFilter"));
            }
            let s = lower(input, b, table, app_id)?;
            let name = if after_aggregate(input) {
                "Aggregate-HavingFilter"
            } else {
                "WhereFilter"
            };
            if table {
                s.filter_table(b, predicate.clone(), Some(name))
            } else {
                s.filter(b, predicate.clone(), Some(name))
            }
        }
        LogicalPlan::FlatMap {
            input,
            functions,
            schema,
        } => {
            let s = lower(input, b, table, app_id)?;
            s.flat_map(b, functions.clone(), schema.clone())
        }
        LogicalPlan::Project {
            input, exprs, schema, ..
        } => {
            let s = lower(input, b, table, app_id)?;
            let name = if after_aggregate(input) {
                "Aggregate-Project"
            } else {
                "Project"
            };
            s.map_values(b, exprs.clone(), schema.clone(), Some(name))
        }
    }
}
