use arrow_array::{Array, BooleanArray};

use crate::error::Result;
use crate::runtime::batch::Batch;
use crate::runtime::expr::{PhysicalExpr, evaluate_predicate};
use crate::runtime::processor::{Processor, ProcessorContext};

/// Keeps the rows for which a predicate is true (`WHERE`). A row whose predicate fails to
/// evaluate is dropped and logged, as in ksqlDB.
pub struct Filter {
    predicate: PhysicalExpr,
    on_table: bool,
    /// On a table whose rows come with their old values (see [`Filter::on_table_changes`]).
    old_values: bool,
}

impl Filter {
    /// A filter on `predicate` over a stream: rows that do not match are dropped.
    pub fn new(predicate: PhysicalExpr) -> Self {
        Filter {
            predicate,
            on_table: false,
            old_values: false,
        }
    }

    /// A filter over a table's changelog: a row that does not match becomes a tombstone for
    /// its key, so a row that stops matching is deleted downstream (SEMANTICS §2.2).
    pub fn on_table(predicate: PhysicalExpr) -> Self {
        Filter {
            predicate,
            on_table: true,
            old_values: false,
        }
    }

    /// A filter over a table's changes whose rows are each preceded by the key's previous
    /// row, marked as a retraction, when there was one (an aggregation sending old values).
    /// As Kafka Streams' `KTableFilter` (SEMANTICS §2.2): the new row passes if it matches;
    /// otherwise a tombstone goes out if the old row matched, and nothing if neither did
    /// (a `HAVING` that a group never met emits nothing for it). Old rows do not go on.
    pub fn on_table_changes(predicate: PhysicalExpr) -> Self {
        Filter {
            predicate,
            on_table: true,
            old_values: true,
        }
    }
}

impl Processor for Filter {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        let mut errors = Vec::new();
        let mask = evaluate_predicate(&self.predicate, &batch.columns, batch.len, &mut errors)?;
        if self.old_values {
            super::log_row_errors(ctx, &batch, &self.predicate.to_string(), errors);
            return forward_changes(batch, &mask, ctx);
        }
        if self.on_table {
            super::log_row_errors(ctx, &batch, &self.predicate.to_string(), errors);
            let deleted = arrow_arith::boolean::not(&mask)?;
            let tombstones = match &batch.tombstones {
                Some(t) => arrow_arith::boolean::or(t, &deleted)?,
                None => deleted,
            };
            let mut out = batch;
            out.tombstones = if tombstones.true_count() > 0 {
                Some(tombstones)
            } else {
                None
            };
            ctx.forward(out);
            return Ok(());
        }
        // Tombstones never pass a stream filter: WHERE drops null values (SEMANTICS §2.1).
        let mask = match &batch.tombstones {
            Some(t) => arrow_arith::boolean::and(&mask, &arrow_arith::boolean::not(t)?)?,
            None => mask,
        };
        super::log_row_errors(ctx, &batch, &self.predicate.to_string(), errors);
        if mask.true_count() == batch.len {
            ctx.forward(batch);
        } else if mask.true_count() > 0 {
            ctx.forward(batch.filter(&mask)?);
        }
        Ok(())
    }
}

/// [`Filter::on_table_changes`]: `mask` holds the predicate of every row, old and new.
fn forward_changes(batch: Batch, mask: &BooleanArray, ctx: &mut ProcessorContext) -> Result<()> {
    let matches = |row: usize| mask.is_valid(row) && mask.value(row) && !batch.is_tombstone(row);
    let mut keep = Vec::with_capacity(batch.len);
    let mut tombstones = Vec::with_capacity(batch.len);
    let mut old_matched = false;
    for row in 0..batch.len {
        if batch.is_retraction(row) {
            old_matched = matches(row);
            keep.push(false);
            tombstones.push(false);
            continue;
        }
        let new_matches = matches(row);
        keep.push(new_matches || old_matched);
        tombstones.push(!new_matches);
        old_matched = false;
    }
    let keep = BooleanArray::from(keep);
    if keep.true_count() == 0 {
        return Ok(());
    }
    let tombstones = BooleanArray::from(tombstones);
    let mut out = batch;
    out.retractions = None;
    out.tombstones = Some(tombstones);
    let mut out = out.filter(&keep)?;
    if out.tombstones.as_ref().is_some_and(|t| t.true_count() == 0) {
        out.tombstones = None;
    }
    ctx.forward(out);
    Ok(())
}
