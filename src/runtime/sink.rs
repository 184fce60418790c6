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
        let keys = self.key_format.encode_batch(&key_cols, &key_arrays, batch.len);
        let values = self.value_format.encode_batch(&value_cols, &value_arrays, batch.len);
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
        let mut by_partition: Vec<Vec<Record>> = vec![Vec::new(); self.partitions.max(1) as usize];
        let mut key_iter = keys.rows.into_iter();
        let mut value_iter = values.rows.into_iter();
        for (row, failed) in failed.iter().enumerate().take(batch.len) {
            let key = key_iter.next().flatten();
            let value = value_iter.next().flatten();
            if *failed {
                continue;
            }
            let value = if batch.is_tombstone(row) { None } else { value };
            let partition = default_partition(key.as_deref(), self.partitions, round_robin);
            let headers = if batch.is_retraction(row) {
                vec![(RETRACTION_HEADER.to_string(), None)]
            } else {
                Vec::new()
            };
            by_partition[partition as usize].push(Record {
                key: key.map(Bytes::from),
                value: value.map(Bytes::from),
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
