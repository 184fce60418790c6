use std::collections::VecDeque;
use std::hash::BuildHasher;

use arrow_array::{Array, ArrayRef, BooleanArray};
use foldhash::fast::FixedState;
use hashbrown::hash_table::{Entry, HashTable};

use crate::error::{Error, Result};
use crate::runtime::batch::Batch;
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::state::codec::ArrayRowEncoder;

/// A batch some of whose rows are still the latest of their key.
struct HeldBatch {
    columns: Vec<ArrayRef>,
    tombstones: Option<BooleanArray>,
    /// Each row's headers, when the batch carries any: a forwarded row keeps those of
    /// the update it is.
    headers: Option<Vec<Vec<crate::log::Header>>>,
    /// Rows of this batch still in the cache; the batch goes when none is.
    live: usize,
    /// What holding it costs (its arrays' memory).
    bytes: u64,
}

/// A cached row: where it is, and its key (to find it by key) with the key's hash.
struct Slot {
    batch: u64,
    row: usize,
    key: Box<[u8]>,
    hash: u64,
}

/// Kafka Streams' record cache on a table's changelog: between commits, updates to one key
/// fold into its latest row, which is forwarded when the task commits (`flush`) or when the
/// cache outgrows its share of `statestore.cache.max.bytes` (least recently updated key
/// first). With a size of 0 every update passes straight through. The table's store is
/// written before the cache, so pull queries always see the latest row.
///
/// Rows stay in the batches they came in (no copy per row): the cache holds those batches
/// while any of their rows is still the latest of its key, counts their memory against the
/// budget, and builds what it forwards by gathering rows from them column by column.
pub struct RecordCache {
    key_columns: Vec<usize>,
    /// Held batches by id; ids grow, `first_batch` is the id of the front one.
    batches: VecDeque<Option<HeldBatch>>,
    first_batch: u64,
    /// Cached rows in update order (oldest first); a row replaced by a newer one of its key
    /// leaves a `None`. `first_seq` is the sequence number of the front one.
    order: VecDeque<Option<Slot>>,
    first_seq: u64,
    /// The sequence number of each cached row, with its key's hash; keys are compared in
    /// `order`, so a row leaving the cache is found by its number alone.
    by_key: HashTable<(u64, u64)>,
    hasher: FixedState,
    bytes: u64,
    /// Batches left with no cached row, dropped once what is being forwarded is built.
    dead: Vec<u64>,
}

impl RecordCache {
    /// A cache keyed by the data columns `key_columns`.
    pub fn new(key_columns: Vec<usize>) -> Self {
        RecordCache {
            key_columns,
            batches: VecDeque::new(),
            first_batch: 0,
            order: VecDeque::new(),
            first_seq: 0,
            by_key: HashTable::new(),
            hasher: FixedState::default(),
            bytes: 0,
            dead: Vec::new(),
        }
    }

    /// Where batch `id` is in `batches`.
    fn index(&self, id: u64) -> Option<usize> {
        usize::try_from(id.checked_sub(self.first_batch)?).ok()
    }

    fn held(&mut self, id: u64) -> Option<&mut HeldBatch> {
        let i = self.index(id)?;
        self.batches.get_mut(i)?.as_mut()
    }

    /// Takes one row of batch `id` out of the cache. A batch with no row left no longer
    /// counts against the budget, but stays readable until [`Self::release`].
    fn unhold(&mut self, id: u64) {
        let Some(held) = self.held(id) else { return };
        held.live -= 1;
        if held.live == 0 {
            let bytes = held.bytes;
            self.bytes -= bytes;
            self.dead.push(id);
        }
    }

    /// Drops the batches that no cached row needs any more.
    fn release(&mut self) {
        for id in std::mem::take(&mut self.dead) {
            if let Some(slot) = self.index(id).and_then(|i| self.batches.get_mut(i)) {
                *slot = None;
            }
        }
        while matches!(self.batches.front(), Some(None)) {
            self.batches.pop_front();
            self.first_batch += 1;
        }
    }

    /// Removes the oldest cached row.
    fn pop_oldest(&mut self) -> Option<(u64, usize)> {
        loop {
            let slot = self.order.pop_front()?;
            let seq = self.first_seq;
            self.first_seq += 1;
            if let Some(slot) = slot {
                if let Ok(entry) = self.by_key.find_entry(slot.hash, |&(_, s)| s == seq) {
                    entry.remove();
                }
                self.unhold(slot.batch);
                return Some((slot.batch, slot.row));
            }
        }
    }

    /// Forwards the rows `rows` (batch id, row), in that order, as one batch.
    fn emit(&mut self, rows: &[(u64, usize)], ctx: &mut ProcessorContext) -> Result<()> {
        if rows.is_empty() {
            self.release();
            return Ok(());
        }
        // The batches involved, numbered locally for `interleave`.
        let mut local: Vec<u64> = rows.iter().map(|(b, _)| *b).collect();
        local.sort_unstable();
        local.dedup();
        let mut sources: Vec<&HeldBatch> = Vec::with_capacity(local.len());
        for id in &local {
            let held = self
                .index(*id)
                .and_then(|i| self.batches.get(i))
                .and_then(Option::as_ref)
                .ok_or_else(|| Error::internal("record cache lost a batch it still needed"))?;
            sources.push(held);
        }
        let indices: Vec<(usize, usize)> = rows
            .iter()
            .map(|(b, r)| (local.binary_search(b).unwrap_or_default(), *r))
            .collect();
        let width = sources[0].columns.len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(width);
        for c in 0..width {
            let arrays: Vec<&dyn Array> = sources.iter().map(|s| s.columns[c].as_ref()).collect();
            columns.push(arrow_select::interleave::interleave(&arrays, &indices).map_err(Error::from)?);
        }
        let tombstones: Vec<bool> = indices
            .iter()
            .map(|(s, r)| sources[*s].tombstones.as_ref().is_some_and(|t| t.value(*r)))
            .collect();
        let mut batch = Batch::new(columns, rows.len())?;
        if tombstones.iter().any(|t| *t) {
            batch.tombstones = Some(BooleanArray::from(tombstones));
        }
        if sources.iter().any(|s| s.headers.is_some()) {
            batch.headers = Some(
                indices
                    .iter()
                    .map(|(s, r)| {
                        sources[*s]
                            .headers
                            .as_ref()
                            .and_then(|h| h.get(*r))
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect(),
            );
        }
        self.release();
        ctx.forward(batch);
        Ok(())
    }
}

impl Processor for RecordCache {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        if ctx.cache_max_bytes == 0 || batch.len == 0 {
            ctx.forward(batch);
            return Ok(());
        }
        let id = self.first_batch + self.batches.len() as u64;
        let bytes = batch
            .columns
            .iter()
            .map(|c| c.get_array_memory_size() as u64)
            .sum::<u64>()
            + batch
                .tombstones
                .as_ref()
                .map_or(0, |t| t.get_array_memory_size() as u64)
            + batch.headers.as_ref().map_or(0, |rows| {
                rows.iter()
                    .flatten()
                    .map(|(k, v)| (k.len() + v.as_ref().map_or(0, |v| v.len()) + 48) as u64)
                    .sum::<u64>()
            });
        self.batches.push_back(Some(HeldBatch {
            columns: batch.columns.clone(),
            tombstones: batch.tombstones.clone(),
            headers: batch.headers.clone(),
            live: 0,
            bytes,
        }));
        self.bytes += bytes;
        let encoder = ArrayRowEncoder::new(self.key_columns.iter().map(|c| &batch.columns[*c]));
        let mut key = Vec::with_capacity(64);
        for row in 0..batch.len {
            key.clear();
            encoder.encode(row, &mut key);
            let hash = self.hasher.hash_one(key.as_slice());
            let seq = self.first_seq + self.order.len() as u64;
            let (order, first_seq) = (&self.order, self.first_seq);
            let same_key = |&(h, s): &(u64, u64)| {
                h == hash
                    && s.checked_sub(first_seq)
                        .and_then(|i| order.get(i as usize))
                        .and_then(Option::as_ref)
                        .is_some_and(|slot| *slot.key == *key)
            };
            let older = match self.by_key.entry(hash, same_key, |&(h, _)| h) {
                Entry::Occupied(mut e) => Some(std::mem::replace(&mut e.get_mut().1, seq)),
                Entry::Vacant(e) => {
                    e.insert((hash, seq));
                    None
                }
            };
            self.order.push_back(Some(Slot {
                batch: id,
                row,
                key: key.as_slice().into(),
                hash,
            }));
            if let Some(held) = self.held(id) {
                held.live += 1;
            }
            if let Some(older) = older {
                // The key's earlier row is folded into this one.
                let i = (older - self.first_seq) as usize;
                if let Some(slot) = self.order.get_mut(i).and_then(Option::take) {
                    self.unhold(slot.batch);
                }
            }
        }
        let mut evicted = Vec::new();
        while self.bytes > ctx.cache_max_bytes {
            match self.pop_oldest() {
                Some(row) => evicted.push(row),
                None => break,
            }
        }
        self.emit(&evicted, ctx)
    }

    fn flush(&mut self, ctx: &mut ProcessorContext) -> Result<()> {
        let mut out = Vec::with_capacity(self.by_key.len());
        while let Some(row) = self.pop_oldest() {
            out.push(row);
        }
        self.emit(&out, ctx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};

    use super::*;
    use crate::runtime::batch::pseudo_arrays;

    fn batch(keys: &[&str], values: &[i64], tombstones: Option<Vec<bool>>) -> Batch {
        let n = keys.len();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(keys.to_vec())),
            Arc::new(Int64Array::from(values.to_vec())),
        ];
        columns.extend(pseudo_arrays(values.to_vec(), 0, (0..n as i64).collect()));
        let mut b = Batch::new(columns, n).unwrap();
        b.tombstones = tombstones.map(BooleanArray::from);
        b
    }

    /// (key, value, tombstone) of every row forwarded so far.
    fn forwarded(ctx: &mut ProcessorContext) -> Vec<(String, i64, bool)> {
        let mut out = Vec::new();
        for b in ctx.take_forwarded() {
            let keys = b.columns[0].as_any().downcast_ref::<StringArray>().unwrap();
            let values = b.columns[1].as_any().downcast_ref::<Int64Array>().unwrap();
            for i in 0..b.len {
                out.push((keys.value(i).to_string(), values.value(i), b.is_tombstone(i)));
            }
        }
        out
    }

    fn context(bytes: u64) -> ProcessorContext {
        let mut ctx = ProcessorContext::new("q", "0_0".to_string());
        ctx.cache_max_bytes = bytes;
        ctx
    }

    #[test]
    fn folds_updates_per_key_until_flush_in_update_order() {
        let mut cache = RecordCache::new(vec![0]);
        let mut ctx = context(10 << 20);
        cache
            .process(batch(&["a", "b", "a"], &[1, 2, 3], None), &mut ctx)
            .unwrap();
        cache
            .process(batch(&["c", "b"], &[4, 5], Some(vec![false, true])), &mut ctx)
            .unwrap();
        assert!(forwarded(&mut ctx).is_empty());
        cache.flush(&mut ctx).unwrap();
        assert_eq!(
            forwarded(&mut ctx),
            vec![("a".into(), 3, false), ("c".into(), 4, false), ("b".into(), 5, true)]
        );
        cache.flush(&mut ctx).unwrap();
        assert!(forwarded(&mut ctx).is_empty());
        assert!(cache.batches.is_empty() && cache.order.is_empty() && cache.bytes == 0);
    }

    #[test]
    fn evicts_the_least_recently_updated_rows_when_over_budget() {
        let mut cache = RecordCache::new(vec![0]);
        let one = batch(&["x"], &[0], None);
        let per_batch: u64 = one.columns.iter().map(|c| c.get_array_memory_size() as u64).sum();
        // Room for two single-row batches.
        let mut ctx = context(2 * per_batch);
        for (i, k) in ["a", "b", "a", "c", "d"].iter().enumerate() {
            cache.process(batch(&[k], &[i as i64], None), &mut ctx).unwrap();
        }
        // "a" was updated after "b", so "b" goes first; the fold of "a" freed its first batch.
        assert_eq!(
            forwarded(&mut ctx),
            vec![("b".into(), 1, false), ("a".into(), 2, false)]
        );
        cache.flush(&mut ctx).unwrap();
        assert_eq!(
            forwarded(&mut ctx),
            vec![("c".into(), 3, false), ("d".into(), 4, false)]
        );
    }

    #[test]
    fn passes_everything_through_without_a_budget() {
        let mut cache = RecordCache::new(vec![0]);
        let mut ctx = context(0);
        cache.process(batch(&["a", "a"], &[1, 2], None), &mut ctx).unwrap();
        assert_eq!(
            forwarded(&mut ctx),
            vec![("a".into(), 1, false), ("a".into(), 2, false)]
        );
    }
}
