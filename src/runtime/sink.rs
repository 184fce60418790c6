//! Turning batches into records for a topic: key and value encoding, partitioning by the
//! serialized key (Kafka's default partitioner), tombstones, and the record timestamp.

use crate::error::Result;
use crate::format::Format;
use crate::log::{Bytes, Record, default_partition};
use crate::runtime::batch::Batch;
use crate::runtime::processing_log::{ProcessingErrorKind, ProcessingLogEntry};
use crate::runtime::source::rowtimes_of;
use crate::types::SqlType;

/// The header that marks a record of an internal topic as the retraction of a table row's
/// old value (Kafka Streams carries the same as the old half of a `Change`).
pub const RETRACTION_HEADER: &str = "__runnel.retract";

/// The value of [`RETRACTION_HEADER`] on a retraction whose input record's new row follows
/// it, in the same group: the two are one update (Kafka Streams sends them as one `Change`,
/// and the aggregation emits only the result of both, KIP-904).
pub const UPDATE_PAIR: &[u8] = b"update";

/// Whether the row after `row` failed to serialize.
fn failed_next(failed: &[bool], row: usize) -> bool {
    failed.get(row + 1).copied().unwrap_or(true)
}

/// How to write batches to one topic.
#[derive(Debug, Clone)]
pub struct SinkSpec {
    /// The topic.
    pub topic: String,
    /// Partitions of the topic.
    pub partitions: i32,
    /// Key format.
    pub key_format: Format,
    /// Value format.
    pub value_format: Format,
    /// Batch column index, name and type of each key column.
    pub key_columns: Vec<(usize, String, SqlType)>,
    /// Batch column index, name and type of each value column.
    pub value_columns: Vec<(usize, String, SqlType)>,
}

/// Records of one batch grouped by target partition.
pub struct EncodedBatch {
    /// `(partition, records)` pairs.
    pub by_partition: Vec<(i32, Vec<Record>)>,
    /// Rows that could not be written.
    pub errors: Vec<ProcessingLogEntry>,
}

impl SinkSpec {
    /// Encodes a batch. `round_robin` spreads null-key records over partitions.
    pub fn encode(&self, batch: &Batch, round_robin: &mut u32) -> Result<EncodedBatch> {
        let cols = |spec: &[(usize, String, SqlType)]| -> (Vec<(String, SqlType)>, Vec<arrow_array::ArrayRef>) {
            (
                spec.iter().map(|(_, n, t)| (n.clone(), t.clone())).collect(),
                spec.iter()
                    .filter_map(|(i, _, _)| batch.columns.get(*i).cloned())
                    .collect(),
            )
        };
        let (key_cols, key_arrays) = cols(&self.key_columns);
        let (value_cols, value_arrays) = cols(&self.value_columns);
        let mut keys = self
            .key_format
            .encode_batch_keyed(&key_cols, &key_arrays, batch.len, batch.null_keys.as_ref());
        let mut values = self.value_format.encode_batch(&value_cols, &value_arrays, batch.len);
        let rowtimes = rowtimes_of(batch);
        let mut errors = Vec::new();
        let mut failed = vec![false; batch.len];
        for (row, message) in keys.errors.iter().chain(values.errors.iter()) {
            failed[*row] = true;
            errors.push(ProcessingLogEntry {
                kind: ProcessingErrorKind::Serialization,
                message: message.clone(),
                topic: self.topic.clone(),
                partition: None,
                offset: None,
                target: None,
            });
        }
        // One shared buffer per side: each record's key and value are slices of it (a
        // reference count each) rather than an allocation per row.
        let key_data = Bytes::from(std::mem::take(&mut keys.data));
        let value_data = Bytes::from(std::mem::take(&mut values.data));
        let slice = |data: &Bytes, range: Option<&Option<std::ops::Range<usize>>>| {
            range
                .and_then(|r| r.clone())
                .and_then(|r| (r.end <= data.len()).then(|| data.slice(r)))
        };
        let partitions = self.partitions.max(1) as usize;
        let mut by_partition: Vec<Vec<Record>> = vec![Vec::new(); partitions];
        // Rows spread evenly over the partitions by the key hash; room for that avoids most
        // regrowth when the batch is large.
        let per_partition = batch.len / partitions + 1;
        for row in 0..batch.len {
            if failed[row] {
                continue;
            }
            let key = slice(&key_data, keys.rows.get(row));
            let value = if batch.is_tombstone(row) {
                None
            } else {
                slice(&value_data, values.rows.get(row))
            };
            let partition = default_partition(key.as_deref(), self.partitions, round_robin);
            let mut headers = batch.headers_of(row).to_vec();
            if batch.is_retraction(row) {
                // Paired with the next row when that is the same input record's new row
                // for the same key (see `UPDATE_PAIR`).
                let same_record = |a: usize, b: usize| {
                    batch.partitions().is_some_and(|p| p.value(a) == p.value(b))
                        && batch.offsets().is_some_and(|o| o.value(a) == o.value(b))
                };
                let paired = row + 1 < batch.len
                    && !failed_next(&failed, row)
                    && !batch.is_retraction(row + 1)
                    && same_record(row, row + 1)
                    && key == slice(&key_data, keys.rows.get(row + 1));
                let marker = paired.then(|| Bytes::from_static(UPDATE_PAIR));
                headers.push((RETRACTION_HEADER.to_string(), marker));
            }
            let target = &mut by_partition[partition as usize];
            if target.capacity() == 0 {
                target.reserve(per_partition);
            }
            target.push(Record {
                key,
                value,
                timestamp: rowtimes.get(row).copied().unwrap_or(0),
                headers,
            });
        }
        Ok(EncodedBatch {
            by_partition: by_partition
                .into_iter()
                .enumerate()
                .filter(|(_, r)| !r.is_empty())
                .map(|(p, r)| (p as i32, r))
                .collect(),
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray, Int32Array, StringArray};

    use super::*;
    use crate::format::FormatKind;
    use crate::runtime::batch::pseudo_arrays;

    /// Two key columns K1, K2 and a value column V; rows: (a, 1, 10), (NULL, NULL, 20),
    /// (NULL, NULL, 30).
    fn batch() -> Batch {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![Some("a"), None, None])),
            Arc::new(Int32Array::from(vec![Some(1), None, None])),
            Arc::new(Int32Array::from(vec![10, 20, 30])),
        ];
        columns.extend(pseudo_arrays(vec![5, 6, 7], 0, vec![0, 1, 2]));
        Batch::new(columns, 3).unwrap()
    }

    fn spec() -> SinkSpec {
        let json = Format::new(FormatKind::Json);
        SinkSpec {
            topic: "OUT".into(),
            partitions: 1,
            key_format: json.clone().for_key(),
            value_format: json,
            key_columns: vec![(0, "K1".into(), SqlType::String), (1, "K2".into(), SqlType::Int)],
            value_columns: vec![(2, "V".into(), SqlType::Int)],
        }
    }

    fn records(b: &Batch) -> Vec<Record> {
        let encoded = spec().encode(b, &mut 0).unwrap();
        assert!(encoded.errors.is_empty());
        encoded.by_partition.into_iter().flat_map(|(_, r)| r).collect()
    }

    fn text(b: &Option<Bytes>) -> Option<&str> {
        b.as_deref().map(|b| std::str::from_utf8(b).unwrap())
    }

    #[test]
    fn rows_are_slices_of_one_buffer_with_their_timestamps() {
        let out = records(&batch());
        let values: Vec<Option<&str>> = out.iter().map(|r| text(&r.value)).collect();
        assert_eq!(
            values,
            vec![Some(r#"{"V":10}"#), Some(r#"{"V":20}"#), Some(r#"{"V":30}"#)]
        );
        assert_eq!(out.iter().map(|r| r.timestamp).collect::<Vec<_>>(), vec![5, 6, 7]);
        assert_eq!(text(&out[0].key), Some(r#"{"K1":"a","K2":1}"#));
        assert!(out.iter().all(|r| r.headers.is_empty()));
    }

    #[test]
    fn multi_column_keys_are_null_only_when_the_record_key_was() {
        // Unknown (no flags): all-NULL columns make a null key, as before.
        let out = records(&batch());
        assert_eq!((text(&out[1].key), text(&out[2].key)), (None, None));
        // Flagged: row 2's record had no key; row 1's key is an object of NULLs.
        let mut b = batch();
        b.null_keys = Some(BooleanArray::from(vec![false, false, true]));
        let out = records(&b);
        assert_eq!(text(&out[1].key), Some(r#"{"K1":null,"K2":null}"#));
        assert_eq!(text(&out[2].key), None);
    }

    #[test]
    fn headers_ride_along_and_survive_a_filter() {
        let mut b = batch();
        let h = |k: &str, v: &'static [u8]| vec![(k.to_string(), Some(Bytes::from_static(v)))];
        b.headers = Some(vec![h("a", b"1"), Vec::new(), h("c", b"3")]);
        b.retractions = Some(BooleanArray::from(vec![false, false, true]));
        let b = b.filter(&BooleanArray::from(vec![true, false, true])).unwrap();
        let out = records(&b);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].headers, h("a", b"1"));
        // The retraction marker is added after the carried headers.
        let mut want = h("c", b"3");
        want.push((RETRACTION_HEADER.to_string(), None));
        assert_eq!(out[1].headers, want);
    }
}
