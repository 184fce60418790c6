//! Built-in stateless operators. Stateful ones (aggregations, windows, joins) live beside
//! them, one file each.

mod aggregate;
mod filter;
pub(crate) mod flat_map;
mod materialize;
mod project;
mod record_cache;
mod sink;
mod sink_timestamp;
mod table_changes;

pub use aggregate::{Aggregate, AggregateSpec};
pub use filter::Filter;
pub use flat_map::{FlatMap, TableFunction, TableFunctionCall};
pub use materialize::Materialize;
pub use project::Project;
pub use record_cache::RecordCache;
pub use sink::{ChannelSink, TopicSink};
pub use sink_timestamp::SinkTimestamp;
pub use table_changes::TableChanges;

/// Forwards every batch unchanged.
pub struct PassThrough;

impl crate::runtime::processor::Processor for PassThrough {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> crate::error::Result<()> {
        ctx.forward(batch);
        Ok(())
    }
}

use crate::runtime::batch::Batch;
use crate::runtime::expr::RowError;
use crate::runtime::processing_log::{ProcessingErrorKind, ProcessingLogEntry};
use crate::runtime::processor::ProcessorContext;

/// Writes expression failures of `batch` rows to the processing log.
pub(crate) fn log_row_errors(ctx: &mut ProcessorContext, batch: &Batch, what: &str, errors: Vec<RowError>) {
    for e in errors {
        ctx.log_error(ProcessingLogEntry {
            kind: ProcessingErrorKind::RecordProcessing,
            message: format!("Error computing expression {what}: {}", e.message),
            topic: String::new(),
            partition: batch.partitions().filter(|p| e.row < p.len()).map(|p| p.value(e.row)),
            offset: batch.offsets().filter(|o| e.row < o.len()).map(|o| o.value(e.row)),
            target: None,
        });
    }
}
