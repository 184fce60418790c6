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

impl LogicalPlan {
    /// The schema of the batches this node produces.
    pub fn schema(&self) -> &BatchSchema {
        match self {
            LogicalPlan::Source { schema, .. } | LogicalPlan::Project { schema, .. } => schema,
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
