use crate::error::{Error, Result};
use crate::format::Format;
use crate::runtime::batch::Batch;
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::state::SharedStore;
use crate::state::codec::encode_row;
use crate::types::arrow::value_at;
use crate::types::{SqlType, Value};

/// Keeps a table's current rows in a state store, keyed by the serialized record key (so a
/// scan returns rows in key-byte order, as ksqlDB's pull queries do), for pull queries to
/// read. A tombstone deletes the key. Batches pass through unchanged.
pub struct Materialize {
    store_name: String,
    key_columns: Vec<(usize, String, SqlType)>,
    key_format: Format,
    width: usize,
    store: Option<SharedStore>,
}

impl Materialize {
    /// Materializes the first `width` data columns in `store_name`, keyed by `key_columns`
    /// serialized with `key_format`.
    pub fn new(
        store_name: String,
        key_columns: Vec<(usize, String, SqlType)>,
        key_format: Format,
        width: usize,
    ) -> Self {
        Materialize {
            store_name,
            key_columns,
            key_format,
            width,
            store: None,
        }
    }
}

impl Processor for Materialize {
    fn init(&mut self, ctx: &mut ProcessorContext) -> Result<()> {
        self.store = Some(ctx.store(&self.store_name)?);
        Ok(())
    }

    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        let Some(store) = self.store.clone() else {
            return Err(Error::internal("materialize used before init"));
        };
        let rowtimes = batch.rowtimes().cloned();
        let cols: Vec<(String, SqlType)> = self
            .key_columns
            .iter()
            .map(|(_, n, t)| (n.clone(), t.clone()))
            .collect();
        for row in 0..batch.len {
            let key: Vec<Value> = self
                .key_columns
                .iter()
                .map(|(i, _, _)| value_at(batch.columns[*i].as_ref(), row))
                .collect();
            let Ok(Some(key_bytes)) = self.key_format.encode_row(&cols, &key) else {
                continue; // A row without a key is not part of a table.
            };
            if batch.is_tombstone(row) {
                store.put(&key_bytes, None)?;
                continue;
            }
            let ts = rowtimes.as_ref().map_or(0, |r| r.value(row));
            let mut stored = Vec::with_capacity(self.width + 1);
            stored.push(Value::BigInt(ts));
            stored.extend(batch.columns[..self.width].iter().map(|c| value_at(c.as_ref(), row)));
            store.put(&key_bytes, Some(&encode_row(&stored)))?;
        }
        ctx.forward(batch);
        Ok(())
    }
}
