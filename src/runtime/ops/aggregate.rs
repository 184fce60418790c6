use std::hash::BuildHasher;
use std::sync::Arc;

use arrow_array::{ArrayRef, UInt32Array};
use arrow_select::take::take;
use foldhash::fast::FixedState;
use hashbrown::hash_table::{Entry, HashTable};

use crate::error::{Error, Result};
use crate::function::AggregateImpl;
use crate::runtime::batch::{Batch, pseudo_arrays};
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::state::SharedStore;
use crate::state::codec::{ArrayRowEncoder, decode_row, encode_row};
use crate::types::arrow::{build_array, to_arrow, value_at};
use crate::types::{SqlType, Value};

/// One aggregate function of the operator, with the input columns it reads.
#[derive(Clone)]
pub struct AggregateSpec {
    /// The accumulator.
    pub imp: Arc<dyn AggregateImpl>,
    /// Input column indexes of its arguments.
    pub args: Vec<usize>,
}

/// `GROUP BY`: folds each input row into the state of its key (the leading `key_count`
/// columns) in a state store, and emits the key's new aggregate row. The output timestamp is
/// the largest timestamp folded into the key (SEMANTICS §1.4). Rows whose key has a NULL are
/// dropped, as are stream tombstones; on a table's changelog, retractions undo.
pub struct Aggregate {
    store_name: String,
    key_count: usize,
    specs: Vec<AggregateSpec>,
    output_types: Vec<SqlType>,
    store: Option<SharedStore>,
    /// Whether each output row is preceded by the key's previous row, marked as a
    /// retraction, when the key had one (Kafka Streams' `sendOldValues`, which a `HAVING`
    /// filter downstream needs to tell a row that stops matching from one that never did).
    old_values: bool,
}

/// An output row of the aggregation.
struct OutputRow {
    /// The input row that made it: its key columns are the output's.
    row: usize,
    /// Each aggregate's result.
    results: Vec<Value>,
    ts: i64,
    offset: i64,
    /// The key's previous results and timestamp, when old values are sent and the key had
    /// a row.
    old: Option<(Vec<Value>, i64)>,
}

impl Aggregate {
    /// An aggregation keeping its state in store `store_name`; `output_types` are the key
    /// types followed by each aggregate's result type.
    pub fn new(store_name: String, key_count: usize, specs: Vec<AggregateSpec>, output_types: Vec<SqlType>) -> Self {
        Aggregate {
            store_name,
            key_count,
            specs,
            output_types,
            store: None,
            old_values: false,
        }
    }

    /// Sends each key's previous row before its new one (see the `old_values` field).
    pub fn with_old_values(mut self) -> Self {
        self.old_values = true;
        self
    }

    /// The aggregates' results and timestamp of a key in state `stored` (`[max timestamp,
    /// states...]`), if the key has been aggregated before.
    fn results_of(&self, stored: &[Value]) -> Option<(Vec<Value>, i64)> {
        let ts = stored.first()?.as_i64()?;
        if ts == i64::MIN {
            return None;
        }
        Some((self.results(stored), ts))
    }

    /// Each aggregate's result from state `stored`.
    fn results(&self, stored: &[Value]) -> Vec<Value> {
        self.specs
            .iter()
            .zip(&stored[1..])
            .map(|(s, st)| s.imp.result(st))
            .collect()
    }
}

impl Processor for Aggregate {
    fn init(&mut self, ctx: &mut ProcessorContext) -> Result<()> {
        self.store = Some(ctx.store(&self.store_name)?);
        Ok(())
    }

    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        let Some(store) = self.store.clone() else {
            return Err(Error::internal("aggregate used before init"));
        };
        let (Some(rowtimes), Some(partitions), Some(offsets)) = (batch.rowtimes(), batch.partitions(), batch.offsets())
        else {
            return Err(Error::internal("aggregate input has no pseudo columns"));
        };
        // The batch's rows by key: each distinct key is read once (all together: the store
        // looks them up in one batched call), folded in row order, and written once. Keys are
        // encoded straight from the key columns, into one buffer reused for every row.
        let encoder = ArrayRowEncoder::new(&batch.columns[..self.key_count]);
        let hasher = FixedState::default();
        let mut rows: Vec<(usize, usize)> = Vec::with_capacity(batch.len);
        let mut slots: HashTable<usize> = HashTable::new();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut key = Vec::with_capacity(64);
        for row in 0..batch.len {
            if batch.is_tombstone(row) && !batch.is_retraction(row) || encoder.has_null(row) {
                continue;
            }
            key.clear();
            encoder.encode(row, &mut key);
            let hash = hasher.hash_one(key.as_slice());
            let slot = match slots.entry(hash, |&i| keys[i] == key, |&i| hasher.hash_one(keys[i].as_slice())) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    e.insert(keys.len());
                    keys.push(key.clone());
                    keys.len() - 1
                }
            };
            rows.push((row, slot));
        }
        if rows.is_empty() {
            return Ok(());
        }
        let found = store.get_many(&keys.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
        // Stored per key: [max timestamp, state of each aggregate].
        let mut states: Vec<Vec<Value>> = Vec::with_capacity(keys.len());
        for bytes in found {
            let stored = match bytes {
                Some(bytes) => decode_row(&bytes)
                    .map_err(|e| Error::new(crate::ErrorKind::State, format!("corrupt aggregate state: {e}")))?,
                None => std::iter::once(Value::BigInt(i64::MIN))
                    .chain(self.specs.iter().map(|s| s.imp.initial()))
                    .collect(),
            };
            if stored.len() != self.specs.len() + 1 {
                return Err(Error::new(
                    crate::ErrorKind::State,
                    "aggregate state has the wrong number of fields",
                ));
            }
            states.push(stored);
        }
        let mut out: Vec<OutputRow> = Vec::with_capacity(rows.len());
        let mut args: Vec<Value> = Vec::new();
        // A retraction directly followed by the new row of the same input record in the same
        // group is one update: only the result of both is emitted (Kafka Streams, KIP-904).
        let same_update: Vec<bool> = rows
            .iter()
            .zip(rows.iter().skip(1))
            .map(|((a, slot_a), (b, slot_b))| {
                batch.is_retraction(*a)
                    && !batch.is_retraction(*b)
                    && slot_a == slot_b
                    && partitions.value(*a) == partitions.value(*b)
                    && offsets.value(*a) == offsets.value(*b)
            })
            .chain(std::iter::once(false))
            .collect();
        // With old values: the key's row before the update being folded (which, for an
        // absorbed retraction, is the row before the retraction).
        let mut before: Option<(Vec<Value>, i64)> = None;
        for ((row, slot), absorbed) in rows.into_iter().zip(same_update) {
            if self.old_values && before.is_none() {
                before = Some(self.results_of(&states[slot]).unwrap_or_default());
            }
            let stored = &mut states[slot];
            let retract = batch.is_retraction(row);
            for (i, spec) in self.specs.iter().enumerate() {
                args.clear();
                args.extend(spec.args.iter().map(|c| value_at(batch.columns[*c].as_ref(), row)));
                let state = std::mem::replace(&mut stored[i + 1], Value::Null);
                let result = if retract {
                    spec.imp.undo(state.clone(), &args)
                } else {
                    spec.imp.add(state.clone(), &args)
                };
                stored[i + 1] = match result {
                    Ok(s) => s,
                    Err(message) => {
                        super::log_row_errors(
                            ctx,
                            &batch,
                            "aggregate",
                            vec![crate::runtime::expr::RowError { row, message }],
                        );
                        state
                    }
                };
            }
            let max_ts = stored[0].as_i64().unwrap_or(i64::MIN).max(rowtimes.value(row));
            stored[0] = Value::BigInt(max_ts);
            if absorbed {
                continue;
            }
            out.push(OutputRow {
                row,
                results: self.results(stored),
                ts: max_ts,
                offset: offsets.value(row),
                old: before.take().filter(|(values, _)| !values.is_empty()),
            });
        }
        for (key, stored) in keys.into_iter().zip(&states) {
            store.put_owned(key.into(), Some(encode_row(stored).into()))?;
        }
        self.emit(out, &batch, ctx)
    }
}

impl Aggregate {
    fn emit(&self, rows: Vec<OutputRow>, input: &Batch, ctx: &mut ProcessorContext) -> Result<()> {
        let (Some(first), Some(partitions)) = (rows.first(), input.partitions()) else {
            return Ok(());
        };
        let partition = partitions.value(first.row);
        let olds = rows.iter().filter(|r| r.old.is_some()).count();
        let n = rows.len() + olds;
        let mut ts: Vec<i64> = Vec::with_capacity(n);
        let mut offsets: Vec<i64> = Vec::with_capacity(n);
        let mut retractions: Vec<bool> = Vec::with_capacity(n);
        // The input row of each output row: the key columns are gathered from there.
        let mut source_rows: Vec<u32> = Vec::with_capacity(n);
        let mut results: Vec<Vec<Value>> = Vec::with_capacity(n);
        for row in rows {
            let source_row = u32::try_from(row.row).map_err(|_| Error::internal("batch too large"))?;
            if let Some((old, old_ts)) = row.old {
                ts.push(old_ts);
                offsets.push(row.offset);
                retractions.push(true);
                source_rows.push(source_row);
                results.push(old);
            }
            ts.push(row.ts);
            offsets.push(row.offset);
            retractions.push(false);
            source_rows.push(source_row);
            results.push(row.results);
        }
        let take_rows = UInt32Array::from(source_rows);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.output_types.len() + 3);
        for (c, ty) in self.output_types.iter().enumerate() {
            if c < self.key_count {
                let keys = take(input.columns[c].as_ref(), &take_rows, None)?;
                // The planner keys the aggregation by its leading input columns, so their
                // types are the output's; anything else is converted value by value.
                if *keys.data_type() == to_arrow(ty) {
                    columns.push(keys);
                } else {
                    let values: Vec<Value> = (0..keys.len()).map(|r| value_at(keys.as_ref(), r)).collect();
                    columns.push(build_array(ty, &values)?);
                }
            } else {
                let column: Vec<Value> = results
                    .iter_mut()
                    .map(|r| std::mem::take(&mut r[c - self.key_count]))
                    .collect();
                columns.push(build_array(ty, &column)?);
            }
        }
        columns.extend(pseudo_arrays(ts, partition, offsets));
        let mut batch = Batch::new(columns, n)?;
        if olds > 0 {
            batch.retractions = Some(arrow_array::BooleanArray::from(retractions));
        }
        if input.headers.is_some() {
            batch.headers = Some(
                take_rows
                    .values()
                    .iter()
                    .map(|r| input.headers_of(*r as usize).to_vec())
                    .collect(),
            );
        }
        ctx.forward(batch);
        Ok(())
    }
}
