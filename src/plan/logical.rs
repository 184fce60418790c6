//! The logical plan of a query: a tree of typed nodes, each with its output schema.

use std::fmt;
use std::sync::Arc;

use super::catalog::SourceDesc;
use crate::runtime::batch::BatchSchema;
use crate::runtime::expr::PhysicalExpr;
use crate::types::ColumnKind;

/// A node of the logical plan.
#[derive(Debug, Clone)]
pub enum LogicalPlan {
    /// Reads a stream or table.
    Source {
        /// The source.
        source: Arc<SourceDesc>,
        /// The name its columns are qualified with.
        alias: String,
        /// Its batches: data columns then pseudo columns.
        schema: BatchSchema,
    },
    /// `WHERE`
    Filter {
        /// Input.
        input: Box<LogicalPlan>,
        /// The predicate.
        predicate: PhysicalExpr,
    },
    /// `GROUP BY`: one state per key in a store; emits the updated row of each key.
    Aggregate {
        /// Input: grouping keys then aggregate arguments.
        input: Box<LogicalPlan>,
        /// How many leading input columns are the grouping key.
        key_count: usize,
        /// The aggregate calls.
        aggregates: Vec<AggregateCall>,
        /// Output: keys then one column per aggregate.
        schema: BatchSchema,
        /// Whether the input goes through a repartition topic first (the grouping key is not
        /// the source's key).
        repartition: bool,
        /// Whether the input is a table's changelog (updates retract the old row first).
        on_table: bool,
    },
    /// Table functions of the select list (`EXPLODE`): each row becomes one row per value.
    /// Output: the input's data columns, one `KSQL_SYNTH_<n>` column per call, then the
    /// pseudo columns.
    FlatMap {
        /// Input.
        input: Box<LogicalPlan>,
        /// The table function calls, bound on the input.
        functions: Vec<crate::runtime::ops::TableFunctionCall>,
        /// Output schema.
        schema: BatchSchema,
    },
    /// `SELECT` list (and the new key of `PARTITION BY`).
    Project {
        /// Input.
        input: Box<LogicalPlan>,
        /// One expression per output data column.
        exprs: Vec<PhysicalExpr>,
        /// Output schema.
        schema: BatchSchema,
        /// Whether the key changed (`PARTITION BY`).
        rekeyed: bool,
    },
}

/// One aggregate function call of a `GROUP BY` query.
#[derive(Debug, Clone)]
pub struct AggregateCall {
    /// The call as written (canonical SQL), for EXPLAIN.
    pub text: String,
    /// The function bound to its argument types.
    pub bound: std::sync::Arc<crate::function::BoundAggregate>,
    /// Indexes of its column arguments in the aggregation's input.
    pub args: Vec<usize>,
}

impl LogicalPlan {
    /// The schema of the batches this node produces.
    pub fn schema(&self) -> &BatchSchema {
        match self {
            LogicalPlan::Source { schema, .. }
            | LogicalPlan::FlatMap { schema, .. }
            | LogicalPlan::Project { schema, .. }
            | LogicalPlan::Aggregate { schema, .. } => schema,
            LogicalPlan::Filter { input, .. } => input.schema(),
        }
    }

    fn fmt_indented(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let pad = "\t".repeat(depth);
        let cols = |s: &BatchSchema| {
            s.data_columns()
                .iter()
                .map(|c| {
                    let key = if c.kind == ColumnKind::Key { " KEY" } else { "" };
                    format!("{} {}{key}", c.name, c.ty)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            LogicalPlan::Source { source, schema, .. } => {
                writeln!(
                    f,
                    "{pad} > [ SOURCE ] | Name: {} | Topic: {} | Schema: {}",
                    source.name,
                    source.topic,
                    cols(schema)
                )
            }
            LogicalPlan::Filter { input, predicate } => {
                writeln!(f, "{pad} > [ FILTER ] | Predicate: {predicate}")?;
                input.fmt_indented(f, depth + 1)
            }
            LogicalPlan::Aggregate {
                input,
                aggregates,
                schema,
                repartition,
                ..
            } => {
                let calls: Vec<&str> = aggregates.iter().map(|a| a.text.as_str()).collect();
                writeln!(
                    f,
                    "{pad} > [ AGGREGATE ] | Schema: {} | Aggregates: {}{}",
                    cols(schema),
                    calls.join(", "),
                    if *repartition {
                        " | Repartitioned by the grouping key"
                    } else {
                        ""
                    }
                )?;
                input.fmt_indented(f, depth + 1)
            }
            LogicalPlan::FlatMap {
                input,
                functions,
                schema,
            } => {
                let calls: Vec<String> = functions.iter().map(|c| c.to_string()).collect();
                writeln!(
                    f,
                    "{pad} > [ FLAT_MAP ] | Schema: {} | Table functions: {}",
                    cols(schema),
                    calls.join(", ")
                )?;
                input.fmt_indented(f, depth + 1)
            }
            LogicalPlan::Project {
                input,
                exprs,
                schema,
                rekeyed,
            } => {
                let items: Vec<String> = schema
                    .data_columns()
                    .iter()
                    .zip(exprs)
                    .map(|(c, e)| format!("{e} AS {}", c.name))
                    .collect();
                writeln!(
                    f,
                    "{pad} > [ {} ] | Schema: {} | Expressions: {}",
                    if *rekeyed { "PARTITION BY + PROJECT" } else { "PROJECT" },
                    cols(schema),
                    items.join(", ")
                )?;
                input.fmt_indented(f, depth + 1)
            }
        }
    }
}

impl fmt::Display for LogicalPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_indented(f, 0)
    }
}
