use crate::error::Result;
use crate::runtime::batch::Batch;
use crate::runtime::expr::{PhysicalExpr, evaluate};
use crate::runtime::processor::{Processor, ProcessorContext};

/// Computes new columns from expressions (`SELECT` list, `PARTITION BY` re-keying). The
/// pseudo columns pass through, so the record timestamp is kept.
pub struct Project {
    exprs: Vec<PhysicalExpr>,
    rekeyed: bool,
    /// Output columns that are NULL for a record without a value (see
    /// [`Project::null_on_tombstones`]).
    null_on_tombstone: Vec<usize>,
}

impl Project {
    /// A projection computing `exprs`, in order.
    pub fn new(exprs: Vec<PhysicalExpr>) -> Self {
        Project {
            exprs,
            rekeyed: false,
            null_on_tombstone: Vec::new(),
        }
    }

    /// A projection that computes a new key (`PARTITION BY`, `GROUP BY`): whether the input
    /// record had a null key says nothing about the new key, which is never null as a whole
    /// (a new key of several columns that are all NULL is an object of NULLs, as in ksqlDB).
    pub fn rekeying(exprs: Vec<PhysicalExpr>) -> Self {
        Project {
            exprs,
            rekeyed: true,
            null_on_tombstone: Vec::new(),
        }
    }

    /// Makes `columns` NULL for records without a value: their expressions read the value,
    /// which such a record does not have (ksqlDB evaluates a new key from the key alone
    /// then: `PARTITION BY value_col, key_col` of a tombstone is `{value_col: NULL, ...}`).
    pub fn null_on_tombstones(mut self, columns: Vec<usize>) -> Self {
        self.null_on_tombstone = columns;
        self
    }
}

impl Processor for Project {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        let mut columns = Vec::with_capacity(self.exprs.len() + 3);
        for expr in &self.exprs {
            let mut errors = Vec::new();
            columns.push(evaluate(expr, &batch.columns, batch.len, &mut errors)?);
            super::log_row_errors(ctx, &batch, &expr.to_string(), errors);
        }
        if !self.null_on_tombstone.is_empty()
            && let Some(tombstones) = &batch.tombstones
            && tombstones.true_count() > 0
        {
            for &c in &self.null_on_tombstone {
                if let Some(column) = columns.get_mut(c) {
                    *column = arrow_select::nullif::nullif(column.as_ref(), tombstones)?;
                }
            }
        }
        columns.extend(batch.pseudo_columns());
        let mut out = Batch::new(columns, batch.len)?;
        out.tombstones = batch.tombstones;
        out.retractions = batch.retractions;
        out.headers = batch.headers;
        out.null_keys = if self.rekeyed {
            Some(arrow_array::BooleanArray::from(vec![false; out.len]))
        } else {
            batch.null_keys
        };
        ctx.forward(out);
        Ok(())
    }
}
