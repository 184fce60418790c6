//! Lowering a logical plan to a topology through the DSL, naming nodes as ksqlDB does
//! (`WhereFilter`, `Project`).

use super::catalog::SourceDesc;
use super::logical::LogicalPlan;
use crate::error::Result;
use crate::runtime::sink::SinkSpec;
use crate::runtime::source::{SourceSpec, TimestampSpec};
use crate::topology::{KStream, StreamsBuilder};
use crate::types::ColumnKind;

/// Where a query's output goes.
pub enum SinkTarget {
    /// A topic, with its formats and partitions.
    Topic(std::sync::Arc<SourceDesc>),
    /// A channel read by the caller (transient queries).
    Channel(std::sync::mpsc::SyncSender<crate::runtime::batch::Batch>),
}

/// Builds the topology of a planned query.
/// `table_semantics` makes filters turn non-matching rows into tombstones, as a table's
/// changelog needs.
pub fn build_topology(
    root: &LogicalPlan,
    sink: SinkTarget,
    table_semantics: bool,
) -> Result<crate::topology::Topology> {
    let mut b = StreamsBuilder::new();
    let stream = lower(root, &mut b, table_semantics)?;
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
            stream.to(&mut b, spec)?;
        }
        SinkTarget::Channel(sender) => stream.to_channel(&mut b, sender)?,
    }
    Ok(b.build())
}

fn lower(plan: &LogicalPlan, b: &mut StreamsBuilder, table: bool) -> Result<KStream> {
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
            })?;
            source.transform_values(b)
        }
        LogicalPlan::Filter { input, predicate } => {
            let s = lower(input, b, table)?;
            if table {
                s.filter_table(b, predicate.clone(), Some("WhereFilter"))
            } else {
                s.filter(b, predicate.clone(), Some("WhereFilter"))
            }
        }
        LogicalPlan::Project {
            input, exprs, schema, ..
        } => {
            let s = lower(input, b, table)?;
            s.map_values(b, exprs.clone(), schema.clone(), Some("Project"))
        }
    }
}
