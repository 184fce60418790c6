//! Turning consumed records into batches: key and value decoding, header columns, the
//! record timestamp (or the `TIMESTAMP` column), and the pseudo columns.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array};

use crate::error::Result;
use crate::format::Format;
use crate::log::ConsumedRecord;
use crate::runtime::batch::{Batch, BatchSchema, pseudo_arrays};
use crate::runtime::expr::cast::parse_timestamp_text;
use crate::runtime::processing_log::{ProcessingErrorKind, ProcessingLogEntry};
use crate::types::arrow::{build_array, value_at};
use crate::types::{ColumnKind, SqlType, Value};

/// Where a source's event time comes from when not from the record timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampSpec {
    /// Index of the column among the data columns.
    pub column: usize,
    /// `TIMESTAMP_FORMAT` for STRING columns (a Java `DateTimeFormatter` pattern).
    pub format: Option<String>,
}

/// How to read one source topic.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    /// The topic.
    pub topic: String,
    /// Key format.
    pub key_format: Format,
    /// Value format.
    pub value_format: Format,
    /// The columns produced.
    pub schema: BatchSchema,
    /// `WITH (TIMESTAMP = ...)`
    pub timestamp: Option<TimestampSpec>,
    /// Drop records without a key (and log them): a table's rows need one, as Kafka
    /// Streams' table sources skip null keys.
    pub drop_null_keys: bool,
}

/// What [`SourceSpec::decode`] made of a run of records.
pub struct Decoded {
    /// The rows read.
    pub batch: Batch,
    /// The records that could not be read, for the processing log.
    pub log: Vec<ProcessingLogEntry>,
    /// The record that ended the run (its offset) and the error it is, when one did.
    pub fatal: Option<(i64, crate::Error)>,
}

/// Parses timestamp text by a Java pattern; set by the function module, which owns the
/// pattern translator.
pub type TimestampParser = fn(&str, &str) -> std::result::Result<i64, String>;

impl SourceSpec {
    /// Decodes records into a batch. Records that cannot be read are left out and reported.
    /// With `fail_on_invalid_timestamp` (`ksql.timestamp.throw.on.invalid`), the first record
    /// whose timestamp is invalid ends the batch instead: the records before it are decoded,
    /// and the error comes back for the caller to raise once it has processed them, as Kafka
    /// Streams processes records one by one until the failing one.
    pub fn decode(
        &self,
        records: &[ConsumedRecord],
        parse_ts: Option<TimestampParser>,
        fail_on_invalid_timestamp: bool,
    ) -> Result<Decoded> {
        let n = records.len();
        let mut log = Vec::new();
        let mut keep = vec![true; n];
        let data = self.schema.data_columns();
        let key_cols: Vec<(String, SqlType)> = data
            .iter()
            .filter(|c| c.kind == ColumnKind::Key)
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect();
        let value_cols: Vec<(String, SqlType)> = data
            .iter()
            .filter(|c| c.kind == ColumnKind::Value)
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect();

        let mut decode = |format: &Format,
                          cols: &[(String, SqlType)],
                          target: &'static str,
                          pick: fn(&ConsumedRecord) -> Option<&[u8]>| {
            let inputs: Vec<Option<&[u8]>> = records.iter().map(pick).collect();
            let decoded = format.decode(cols, &inputs);
            for (row, message) in decoded.errors {
                keep[row] = false;
                log.push(ProcessingLogEntry {
                    kind: ProcessingErrorKind::Deserialization,
                    message,
                    topic: self.topic.clone(),
                    partition: Some(records[row].partition),
                    offset: Some(records[row].offset),
                    target: Some(target),
                });
            }
            (decoded.arrays, decoded.null_rows)
        };
        // No key bytes (or a JSON `null` key): the key is null as a whole.
        let (key_arrays, key_nulls) = decode(&self.key_format, &key_cols, "key", |r| r.record.key.as_deref());
        // A null value (no bytes, or a JSON null) is a tombstone, as in ksqlDB.
        let (value_arrays, value_nulls) =
            decode(&self.value_format, &value_cols, "value", |r| r.record.value.as_deref());
        if self.drop_null_keys {
            for (row, rec) in records.iter().enumerate() {
                if keep[row] && key_nulls.get(row).copied().unwrap_or(rec.record.key.is_none()) {
                    keep[row] = false;
                    log.push(ProcessingLogEntry {
                        kind: ProcessingErrorKind::RecordProcessing,
                        message: "Skipping a record with a null key: a table's records need a key".into(),
                        topic: self.topic.clone(),
                        partition: Some(rec.partition),
                        offset: Some(rec.offset),
                        target: Some("key"),
                    });
                }
            }
        }

        let (mut ki, mut vi) = (key_arrays.into_iter(), value_arrays.into_iter());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.columns.len());
        for c in data {
            let array = match &c.kind {
                ColumnKind::Key => ki.next(),
                ColumnKind::Value => vi.next(),
                ColumnKind::Header(key) => Some(header_column(records, key.as_deref(), &c.ty)?),
            };
            match array {
                Some(a) if a.len() == n => columns.push(a),
                _ => {
                    return Err(crate::Error::internal(format!(
                        "format produced no column for {}",
                        c.name
                    )));
                }
            }
        }

        let mut rowtimes = Vec::with_capacity(n);
        // The offset of the record that ends the batch, and why.
        let mut fatal: Option<(i64, crate::Error)> = None;
        for (row, rec) in records.iter().enumerate() {
            if fatal.is_some() {
                keep[row] = false;
                rowtimes.push(-1);
                continue;
            }
            let ts = match &self.timestamp {
                // A tombstone has no columns to take a time from; it keeps the record's. A
                // record already left out (it could not be read) needs none.
                None => Ok(rec.record.timestamp),
                Some(_)
                    if !keep[row] || rec.record.value.is_none() || value_nulls.get(row).copied().unwrap_or(false) =>
                {
                    Ok(rec.record.timestamp)
                }
                Some(spec) => extract_timestamp(&columns[spec.column], row, spec.format.as_deref(), parse_ts),
            };
            match ts {
                Ok(ts) if ts >= 0 => rowtimes.push(ts),
                other => {
                    // A negative or unreadable timestamp drops the record (SEMANTICS §1.3).
                    keep[row] = false;
                    rowtimes.push(-1);
                    let message = match other {
                        Err(e) => e,
                        Ok(ts) => format!("Invalid timestamp {ts}: negative"),
                    };
                    if fail_on_invalid_timestamp {
                        fatal = Some((
                            rec.offset,
                            crate::Error::execution(format!(
                                "Fatal user code error in TimestampExtractor callback for record at offset {} of {}-{}: \
                                 {message} (ksql.timestamp.throw.on.invalid is true)",
                                rec.offset, self.topic, rec.partition
                            )),
                        ));
                        continue;
                    }
                    {
                        log.push(ProcessingLogEntry {
                            kind: ProcessingErrorKind::RecordProcessing,
                            message,
                            topic: self.topic.clone(),
                            partition: Some(rec.partition),
                            offset: Some(rec.offset),
                            target: None,
                        });
                    }
                }
            }
        }
        let partition = records.first().map(|r| r.partition).unwrap_or(0);
        let mut offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
        // Each record's retraction marker, when it has one (its value says whether it pairs
        // with the next record); only internal topics carry it, so headerless runs skip this.
        let has_headers = records.iter().any(|r| !r.record.headers.is_empty());
        let markers: Vec<Option<Option<&[u8]>>> = if has_headers {
            records
                .iter()
                .map(|r| {
                    r.record
                        .headers
                        .iter()
                        .find(|(k, _)| k == crate::runtime::sink::RETRACTION_HEADER)
                        .map(|(_, v)| v.as_deref())
                })
                .collect()
        } else {
            Vec::new()
        };
        // A retraction paired with the next record (one update: see `sink::UPDATE_PAIR`)
        // takes that record's offset, so the aggregation sees both as one input record.
        for (i, marker) in markers.iter().enumerate() {
            if *marker == Some(Some(crate::runtime::sink::UPDATE_PAIR))
                && let Some(next) = records.get(i + 1)
            {
                offsets[i] = next.offset;
            }
        }
        columns.extend(pseudo_arrays(rowtimes, partition, offsets));
        let mut batch = Batch::new(columns, n)?;
        let tombstone: Vec<bool> = records
            .iter()
            .enumerate()
            .map(|(i, r)| r.record.value.is_none() || value_nulls.get(i).copied().unwrap_or(false))
            .collect();
        if tombstone.iter().any(|t| *t) {
            batch.tombstones = Some(BooleanArray::from(tombstone));
        }
        if key_nulls.len() == n {
            batch.null_keys = Some(BooleanArray::from(key_nulls));
        }
        if markers.iter().any(Option::is_some) {
            batch.retractions = Some(BooleanArray::from(
                markers.iter().map(Option::is_some).collect::<Vec<_>>(),
            ));
        }
        // Headers travel with the rows (left out when no record has any, the usual case);
        // the internal retraction marker is re-made by the sink from `retractions`.
        if has_headers {
            batch.headers = Some(
                records
                    .iter()
                    .map(|r| {
                        r.record
                            .headers
                            .iter()
                            .filter(|(k, _)| k != crate::runtime::sink::RETRACTION_HEADER)
                            .cloned()
                            .collect()
                    })
                    .collect(),
            );
        }
        if keep.iter().all(|k| *k) {
            Ok(Decoded { batch, log, fatal })
        } else {
            Ok(Decoded {
                batch: batch.filter(&BooleanArray::from(keep))?,
                log,
                fatal,
            })
        }
    }
}

pub(crate) fn extract_timestamp(
    column: &ArrayRef,
    row: usize,
    format: Option<&str>,
    parse_ts: Option<TimestampParser>,
) -> std::result::Result<i64, String> {
    match value_at(column.as_ref(), row) {
        Value::BigInt(v) | Value::Timestamp(v) => Ok(v),
        Value::Int(v) => Ok(v as i64),
        Value::String(s) => match (format, parse_ts) {
            (Some(f), Some(parse)) => parse(&s, f),
            _ => parse_timestamp_text(&s).ok_or_else(|| format!("Could not parse timestamp '{s}'")),
        },
        Value::Null => Err("Timestamp column is null".to_string()),
        other => Err(format!("Timestamp column holds {other:?}")),
    }
}

fn header_column(records: &[ConsumedRecord], key: Option<&str>, ty: &SqlType) -> Result<ArrayRef> {
    let values: Vec<Value> = records
        .iter()
        .map(|r| match key {
            Some(k) => r
                .record
                .headers
                .iter()
                .rev()
                .find(|(hk, _)| hk == k)
                .and_then(|(_, v)| v.as_ref().map(|b| Value::Bytes(b.to_vec())))
                .unwrap_or(Value::Null),
            None => Value::Array(
                r.record
                    .headers
                    .iter()
                    .map(|(hk, v)| {
                        Value::Struct(vec![
                            ("KEY".into(), Value::String(hk.clone())),
                            (
                                "VALUE".into(),
                                v.as_ref().map(|b| Value::Bytes(b.to_vec())).unwrap_or(Value::Null),
                            ),
                        ])
                    })
                    .collect(),
            ),
        })
        .collect();
    build_array(ty, &values)
}

/// The rowtimes of a batch as a plain vector (for sinks and stream time).
pub fn rowtimes_of(batch: &Batch) -> Vec<i64> {
    match batch.rowtimes() {
        Some(a) => a.values().to_vec(),
        None => vec![0; batch.len],
    }
}

/// An Int64 column of `values`.
pub fn int64_column(values: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(values))
}
