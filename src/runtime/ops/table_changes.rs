use arrow_array::{ArrayRef, BooleanArray};

use crate::error::{Error, Result};
use crate::runtime::batch::{Batch, pseudo_arrays};
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::state::SharedStore;
use crate::state::codec::{decode_row, encode_row};
use crate::types::arrow::{build_array, value_at};
use crate::types::{SqlType, Value};

/// Materializes a table's latest row per key and turns each update into a change: a
/// retraction of the old row (when there was one) followed by the new row (unless it is a
/// tombstone). An aggregation over a table needs both: the old row leaves its group before
/// the new one joins (SEMANTICS §2.2, §5).
pub struct TableChanges {
    store_name: String,
    key_count: usize,
    types: Vec<SqlType>,
    store: Option<SharedStore>,
}

impl TableChanges {
    /// Keeps rows in store `store_name`; the first `key_count` of the data columns (of
    /// `types`) are the table's primary key.
    pub fn new(store_name: String, key_count: usize, types: Vec<SqlType>) -> Self {
        TableChanges {
            store_name,
            key_count,
            types,
            store: None,
        }
    }
}

impl Processor for TableChanges {
    fn init(&mut self, ctx: &mut ProcessorContext) -> Result<()> {
        self.store = Some(ctx.store(&self.store_name)?);
        Ok(())
    }

    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        let Some(store) = self.store.clone() else {
            return Err(Error::internal("table changes used before init"));
        };
        let (Some(rowtimes), Some(partitions), Some(offsets)) = (batch.rowtimes(), batch.partitions(), batch.offsets())
        else {
            return Err(Error::internal("table input has no pseudo columns"));
        };
        let width = self.types.len();
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut retract = Vec::new();
        let (mut ts, mut offs) = (Vec::new(), Vec::new());
        // Each change carries the headers of the record that made it (Kafka Streams forwards
        // a record's context through its table operations).
        let mut headers: Vec<Vec<crate::log::Header>> = Vec::new();
        let carry_headers = batch.headers.is_some();
        for row in 0..batch.len {
            let key: Vec<Value> = batch.columns[..self.key_count]
                .iter()
                .map(|c| value_at(c.as_ref(), row))
                .collect();
            if key.iter().any(Value::is_null) {
                continue; // Tables drop records with a null key.
            }
            let key_bytes = encode_row(&key);
            if let Some(old) = store.get(&key_bytes)? {
                let old = decode_row(&old)
                    .map_err(|e| Error::new(crate::ErrorKind::State, format!("corrupt table row: {e}")))?;
                if old.len() == width {
                    rows.push(old);
                    retract.push(true);
                    ts.push(rowtimes.value(row));
                    offs.push(offsets.value(row));
                    if carry_headers {
                        headers.push(batch.headers_of(row).to_vec());
                    }
                }
            }
            if batch.is_tombstone(row) {
                store.put(&key_bytes, None)?;
                continue;
            }
            let new: Vec<Value> = batch.columns[..width]
                .iter()
                .map(|c| value_at(c.as_ref(), row))
                .collect();
            store.put(&key_bytes, Some(&encode_row(&new)))?;
            rows.push(new);
            retract.push(false);
            ts.push(rowtimes.value(row));
            offs.push(offsets.value(row));
            if carry_headers {
                headers.push(batch.headers_of(row).to_vec());
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(width + 3);
        for (c, ty) in self.types.iter().enumerate() {
            let values: Vec<Value> = rows.iter_mut().map(|r| std::mem::take(&mut r[c])).collect();
            columns.push(build_array(ty, &values)?);
        }
        let partition = if batch.len > 0 { partitions.value(0) } else { 0 };
        columns.extend(pseudo_arrays(ts, partition, offs));
        let mut out = Batch::new(columns, n)?;
        if retract.iter().any(|r| *r) {
            out.retractions = Some(BooleanArray::from(retract));
        }
        if carry_headers {
            out.headers = Some(headers);
        }
        ctx.forward(out);
        Ok(())
    }
}
