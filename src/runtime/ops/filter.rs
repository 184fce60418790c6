use crate::error::Result;
use crate::runtime::batch::Batch;
use crate::runtime::expr::{PhysicalExpr, evaluate_predicate};
use crate::runtime::processor::{Processor, ProcessorContext};

/// Keeps the rows for which a predicate is true (`WHERE`). A row whose predicate fails to
/// evaluate is dropped and logged, as in ksqlDB.
pub struct Filter {
    predicate: PhysicalExpr,
    on_table: bool,
}

impl Filter {
    /// A filter on `predicate` over a stream: rows that do not match are dropped.
    pub fn new(predicate: PhysicalExpr) -> Self {
        Filter {
            predicate,
            on_table: false,
        }
    }

    /// A filter over a table's changelog: a row that does not match becomes a tombstone for
    /// its key, so a row that stops matching is deleted downstream (SEMANTICS §2.2).
    pub fn on_table(predicate: PhysicalExpr) -> Self {
        Filter {
            predicate,
            on_table: true,
        }
    }
}

impl Processor for Filter {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        let mut errors = Vec::new();
        let mask = evaluate_predicate(&self.predicate, &batch.columns, batch.len, &mut errors)?;
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
