use std::sync::mpsc::SyncSender;

use crate::error::{Error, Result};
use crate::runtime::batch::Batch;
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::runtime::sink::SinkSpec;

/// Writes batches to a topic of the task's log.
pub struct TopicSink {
    spec: SinkSpec,
    round_robin: u32,
}

impl TopicSink {
    /// A sink writing to `spec.topic`.
    pub fn new(spec: SinkSpec) -> Self {
        TopicSink { spec, round_robin: 0 }
    }
}

impl Processor for TopicSink {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        let encoded = self.spec.encode(&batch, &mut self.round_robin)?;
        for e in encoded.errors {
            ctx.log_error(e);
        }
        let Some(log) = ctx.log.clone() else {
            return Err(Error::internal("sink has no log to write to"));
        };
        for (partition, records) in encoded.by_partition {
            log.send(&self.spec.topic, partition, &records)?;
        }
        Ok(())
    }
}

/// Hands batches to a transient query's reader. When the reader has gone, batches are
/// dropped: the query is being cancelled.
pub struct ChannelSink {
    sender: SyncSender<Batch>,
}

impl ChannelSink {
    /// A sink sending to `sender`.
    pub fn new(sender: SyncSender<Batch>) -> Self {
        ChannelSink { sender }
    }
}

impl Processor for ChannelSink {
    fn process(&mut self, batch: Batch, _ctx: &mut ProcessorContext) -> Result<()> {
        let _ = self.sender.send(batch);
        Ok(())
    }
}
