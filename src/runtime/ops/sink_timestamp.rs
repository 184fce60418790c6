//! `CREATE STREAM|TABLE ... WITH (TIMESTAMP='col' [, TIMESTAMP_FORMAT='...']) AS SELECT`:
//! the sink's records take their timestamp from a column of the row, as ksqlDB's sink
//! does, so that readers of the new topic see the same time the column says.

use std::sync::Arc;

use arrow_array::{BooleanArray, Int64Array};

use crate::error::Result;
use crate::runtime::batch::Batch;
use crate::runtime::processing_log::{ProcessingErrorKind, ProcessingLogEntry};
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::runtime::source::{TimestampParser, TimestampSpec, extract_timestamp};
use crate::types::PSEUDO_COLUMNS;

/// Sets each row's timestamp from a column. A row whose column is null, unreadable or
/// negative is dropped and logged, as a source with a bad timestamp is (SEMANTICS §1.3);
/// a tombstone has no column to read and keeps its timestamp.
pub struct SinkTimestamp {
    spec: TimestampSpec,
    parse: Option<TimestampParser>,
}

impl SinkTimestamp {
    /// Timestamps from `spec`'s column, text parsed by `parse` with the spec's pattern.
    pub fn new(spec: TimestampSpec, parse: Option<TimestampParser>) -> Self {
        SinkTimestamp { spec, parse }
    }
}

impl Processor for SinkTimestamp {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        let Some(column) = batch.columns.get(self.spec.column) else {
            return Err(crate::Error::internal("sink timestamp column is missing"));
        };
        let old = batch.rowtimes().cloned();
        let mut times = Vec::with_capacity(batch.len);
        let mut keep = Vec::with_capacity(batch.len);
        for row in 0..batch.len {
            let ts = if batch.is_tombstone(row) {
                Ok(old.as_ref().map_or(0, |t| t.value(row)))
            } else {
                extract_timestamp(column, row, self.spec.format.as_deref(), self.parse)
            };
            match ts {
                Ok(ts) if ts >= 0 => {
                    times.push(ts);
                    keep.push(true);
                }
                other => {
                    times.push(-1);
                    keep.push(false);
                    ctx.log_error(ProcessingLogEntry {
                        kind: ProcessingErrorKind::RecordProcessing,
                        message: match other {
                            Err(e) => format!("Invalid sink timestamp: {e}"),
                            Ok(ts) => format!("Invalid sink timestamp {ts}: negative"),
                        },
                        topic: String::new(),
                        partition: batch.partitions().map(|p| p.value(row)),
                        offset: batch.offsets().map(|o| o.value(row)),
                        target: None,
                    });
                }
            }
        }
        let mut batch = batch;
        let at = batch.columns.len().saturating_sub(PSEUDO_COLUMNS.len());
        if let Some(slot) = batch.columns.get_mut(at) {
            *slot = Arc::new(Int64Array::from(times));
        }
        if keep.iter().all(|k| *k) {
            ctx.forward(batch);
        } else {
            let mask = BooleanArray::from(keep);
            let kept = batch.filter(&mask)?;
            if kept.len > 0 {
                ctx.forward(kept);
            }
        }
        Ok(())
    }
}
