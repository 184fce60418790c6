use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::ArrayRef;
use foldhash::fast::FixedState;

use crate::error::{Error, Result};
use crate::function::AggregateImpl;
use crate::runtime::batch::{Batch, pseudo_arrays};
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::state::SharedStore;
use crate::state::codec::{decode_row, encode_row};
use crate::types::arrow::{build_array, value_at};
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
    values: Vec<Value>,
    ts: i64,
    partition: i32,
    offset: i64,
    /// The key's previous row, when old values are sent and the key had one.
    old: Option<(Vec<Value>, i64)>,
    /// The headers of the input record that made this row (Kafka Streams forwards them
    /// with the aggregate's update).
    headers: Vec<crate::log::Header>,
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

    /// The output row of a key in state `stored` (`[max timestamp, states...]`), if the key
    /// has been aggregated before.
    fn row_of(&self, key: &[Value], stored: &[Value]) -> Option<(Vec<Value>, i64)> {
        let ts = stored.first()?.as_i64()?;
        if ts == i64::MIN {
            return None;
        }
        Some((self.result_row(key.to_vec(), stored), ts))
    }

    /// `key` followed by each aggregate's result from state `stored`.
    fn result_row(&self, mut key: Vec<Value>, stored: &[Value]) -> Vec<Value> {
        key.extend(self.specs.iter().zip(&stored[1..]).map(|(s, st)| s.imp.result(st)));
        key
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
        // looks them up in one batched call), folded in row order, and written once.
        let mut rows: Vec<(usize, usize, Vec<Value>)> = Vec::with_capacity(batch.len);
        let mut slots: HashMap<Vec<u8>, usize, FixedState> = HashMap::with_hasher(FixedState::default());
        for row in 0..batch.len {
            if batch.is_tombstone(row) && !batch.is_retraction(row) {
                continue;
            }
            let key: Vec<Value> = batch.columns[..self.key_count]
                .iter()
                .map(|c| value_at(c.as_ref(), row))
                .collect();
            if key.iter().any(Value::is_null) {
                continue;
            }
            let key_bytes = encode_row(&key);
            let next = slots.len();
            let slot = *slots.entry(key_bytes).or_insert(next);
            rows.push((row, slot, key));
        }
        // The distinct keys, by slot.
        let mut keys: Vec<Vec<u8>> = vec![Vec::new(); slots.len()];
        for (key, slot) in slots {
            keys[slot] = key;
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
            .map(|((a, slot_a, _), (b, slot_b, _))| {
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
        for ((row, slot, key), absorbed) in rows.into_iter().zip(same_update) {
            if self.old_values && before.is_none() {
                before = Some(self.row_of(&key, &states[slot]).unwrap_or_default());
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
                values: self.result_row(key, stored),
                ts: max_ts,
                partition: partitions.value(row),
                offset: offsets.value(row),
                old: before.take().filter(|(values, _)| !values.is_empty()),
                headers: batch.headers_of(row).to_vec(),
            });
        }
        for (key, stored) in keys.into_iter().zip(&states) {
            store.put_owned(key.into(), Some(encode_row(stored).into()))?;
        }
        self.emit(out, ctx, batch.headers.is_some())
    }
}

impl Aggregate {
    fn emit(&self, rows: Vec<OutputRow>, ctx: &mut ProcessorContext, with_headers: bool) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let partition = rows[0].partition;
        let olds = rows.iter().filter(|r| r.old.is_some()).count();
        let n = rows.len() + olds;
        let mut ts: Vec<i64> = Vec::with_capacity(n);
        let mut offsets: Vec<i64> = Vec::with_capacity(n);
        let mut retractions: Vec<bool> = Vec::with_capacity(n);
        let mut values: Vec<Vec<Value>> = Vec::with_capacity(n);
        let mut headers: Vec<Vec<crate::log::Header>> = Vec::new();
        for row in rows {
            if let Some((old, old_ts)) = row.old {
                ts.push(old_ts);
                offsets.push(row.offset);
                retractions.push(true);
                values.push(old);
                if with_headers {
                    headers.push(row.headers.clone());
                }
            }
            ts.push(row.ts);
            offsets.push(row.offset);
            retractions.push(false);
            values.push(row.values);
            if with_headers {
                headers.push(row.headers);
            }
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.output_types.len() + 3);
        for (c, ty) in self.output_types.iter().enumerate() {
            let column: Vec<Value> = values.iter_mut().map(|r| std::mem::take(&mut r[c])).collect();
            columns.push(build_array(ty, &column)?);
        }
        columns.extend(pseudo_arrays(ts, partition, offsets));
        let mut batch = Batch::new(columns, n)?;
        if olds > 0 {
            batch.retractions = Some(arrow_array::BooleanArray::from(retractions));
        }
        if with_headers {
            batch.headers = Some(headers);
        }
        ctx.forward(batch);
        Ok(())
    }
}
