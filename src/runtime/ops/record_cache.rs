use std::collections::{BTreeMap, HashMap};

use arrow_array::{ArrayRef, BooleanArray};
use foldhash::fast::FixedState;

use crate::error::Result;
use crate::runtime::batch::{Batch, pseudo_arrays};
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::state::codec::encode_row;
use crate::types::arrow::{build_array, value_at};
use crate::types::{SqlType, Value};

/// A row waiting in the cache.
struct CachedRow {
    values: Vec<Value>,
    tombstone: bool,
    ts: i64,
    partition: i32,
    offset: i64,
    size: u64,
}

/// Kafka Streams' record cache on a table's changelog: between commits, updates to one key
/// fold into its latest row, which is forwarded when the task commits (`flush`) or when the
/// cache outgrows its share of `statestore.cache.max.bytes` (least recently updated key
/// first). With a size of 0 every update passes straight through. The table's store is
/// written before the cache, so pull queries always see the latest row.
pub struct RecordCache {
    key_columns: Vec<usize>,
    types: Vec<SqlType>,
    rows: BTreeMap<u64, (Vec<u8>, CachedRow)>,
    by_key: HashMap<Vec<u8>, u64, FixedState>,
    next: u64,
    bytes: u64,
}

impl RecordCache {
    /// A cache over rows of the data columns `types`, keyed by `key_columns`.
    pub fn new(key_columns: Vec<usize>, types: Vec<SqlType>) -> Self {
        RecordCache {
            key_columns,
            types,
            rows: BTreeMap::new(),
            by_key: HashMap::default(),
            next: 0,
            bytes: 0,
        }
    }

    fn put(&mut self, key: Vec<u8>, row: CachedRow) {
        if let Some((_, old)) = self.by_key.remove(&key).and_then(|seq| self.rows.remove(&seq)) {
            self.bytes -= old.size;
        }
        self.bytes += row.size;
        self.by_key.insert(key.clone(), self.next);
        self.rows.insert(self.next, (key, row));
        self.next += 1;
    }

    fn pop_oldest(&mut self) -> Option<CachedRow> {
        let (_, (key, row)) = self.rows.pop_first()?;
        self.by_key.remove(&key);
        self.bytes -= row.size;
        Some(row)
    }

    fn emit(&self, rows: Vec<CachedRow>, ctx: &mut ProcessorContext) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let partition = rows[0].partition;
        let ts = rows.iter().map(|r| r.ts).collect();
        let offsets = rows.iter().map(|r| r.offset).collect();
        let tombstones: Vec<bool> = rows.iter().map(|r| r.tombstone).collect();
        let mut values: Vec<Vec<Value>> = rows.into_iter().map(|r| r.values).collect();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.types.len() + 3);
        for (c, ty) in self.types.iter().enumerate() {
            let column: Vec<Value> = values.iter_mut().map(|r| std::mem::take(&mut r[c])).collect();
            columns.push(build_array(ty, &column)?);
        }
        columns.extend(pseudo_arrays(ts, partition, offsets));
        let mut batch = Batch::new(columns, n)?;
        if tombstones.iter().any(|t| *t) {
            batch.tombstones = Some(BooleanArray::from(tombstones));
        }
        ctx.forward(batch);
        Ok(())
    }
}

impl Processor for RecordCache {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        if ctx.cache_max_bytes == 0 {
            ctx.forward(batch);
            return Ok(());
        }
        let (Some(rowtimes), Some(partitions), Some(offsets)) = (batch.rowtimes(), batch.partitions(), batch.offsets())
        else {
            ctx.forward(batch);
            return Ok(());
        };
        let mut evicted = Vec::new();
        for row in 0..batch.len {
            let values: Vec<Value> = (0..self.types.len())
                .map(|c| value_at(batch.columns[c].as_ref(), row))
                .collect();
            let key: Vec<Value> = self.key_columns.iter().map(|c| values[*c].clone()).collect();
            let key = encode_row(&key);
            let size = (key.len() + 16 * values.len()) as u64;
            let cached = CachedRow {
                values,
                tombstone: batch.is_tombstone(row),
                ts: rowtimes.value(row),
                partition: partitions.value(row),
                offset: offsets.value(row),
                size,
            };
            self.put(key, cached);
            while self.bytes > ctx.cache_max_bytes {
                evicted.extend(self.pop_oldest());
            }
        }
        self.emit(evicted, ctx)
    }

    fn flush(&mut self, ctx: &mut ProcessorContext) -> Result<()> {
        let mut out = Vec::with_capacity(self.rows.len());
        while let Some(row) = self.pop_oldest() {
            out.push(row);
        }
        self.emit(out, ctx)
    }
}
