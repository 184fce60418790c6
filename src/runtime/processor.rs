//! The Processor API: what every operator implements, and the context it runs in.
//!
//! Processors are synchronous and deterministic; a task calls [`Processor::process`] with a
//! batch and the processor forwards zero or more batches to its children through the
//! [`ProcessorContext`]. Failures of single rows go to the processing log and never stop the
//! query; an `Err` from `process` is a failure of the whole task.

use crate::error::Result;
use crate::runtime::batch::Batch;
use crate::runtime::processing_log::ProcessingLogEntry;

/// An operator in a topology.
pub trait Processor: Send {
    /// Called once before the first batch.
    fn init(&mut self, _ctx: &mut ProcessorContext) -> Result<()> {
        Ok(())
    }
    /// Processes one batch, forwarding results through `ctx`.
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()>;
    /// Called when the task commits: flush anything buffered.
    fn flush(&mut self, _ctx: &mut ProcessorContext) -> Result<()> {
        Ok(())
    }
    /// Called once when the task closes.
    fn close(&mut self) {}
}

/// Creates a fresh processor for each task.
pub type ProcessorSupplier = std::sync::Arc<dyn Fn() -> Box<dyn Processor> + Send + Sync>;

/// What a processor sees of its task while it runs.
pub struct ProcessorContext {
    /// Task id, `<sub-topology>_<partition>`.
    pub task_id: String,
    /// The query the task belongs to.
    pub query_id: String,
    /// The task's stream time: the largest record timestamp it has processed.
    pub stream_time: i64,
    /// The log the task reads and writes (sinks append to it).
    pub log: Option<std::sync::Arc<dyn crate::log::Log>>,
    /// This task's share of the record cache in bytes; 0 means every update is forwarded.
    pub cache_max_bytes: u64,
    /// The task's state stores by name.
    pub stores: std::collections::BTreeMap<String, crate::state::SharedStore>,
    forwarded: Vec<Batch>,
    processing_log: Vec<ProcessingLogEntry>,
}

impl ProcessorContext {
    /// A context for a task of a query.
    pub fn new(query_id: impl Into<String>, task_id: impl Into<String>) -> Self {
        ProcessorContext {
            task_id: task_id.into(),
            query_id: query_id.into(),
            stream_time: i64::MIN,
            log: None,
            cache_max_bytes: 0,
            stores: std::collections::BTreeMap::new(),
            forwarded: Vec::new(),
            processing_log: Vec::new(),
        }
    }

    /// The state store `name` declared by this processor.
    pub fn store(&self, name: &str) -> crate::error::Result<crate::state::SharedStore> {
        self.stores
            .get(name)
            .cloned()
            .ok_or_else(|| crate::Error::internal(format!("task {} has no state store {name}", self.task_id)))
    }

    /// Sends a batch to every child of the current processor.
    pub fn forward(&mut self, batch: Batch) {
        if batch.len > 0 {
            self.forwarded.push(batch);
        }
    }

    /// Records a processing-log entry (a row that failed and was skipped or nulled).
    pub fn log_error(&mut self, entry: ProcessingLogEntry) {
        self.processing_log.push(entry);
    }

    /// Takes what was forwarded since the last call.
    pub(crate) fn take_forwarded(&mut self) -> Vec<Batch> {
        std::mem::take(&mut self.forwarded)
    }

    /// Takes the processing-log entries recorded since the last call.
    pub(crate) fn take_processing_log(&mut self) -> Vec<ProcessingLogEntry> {
        std::mem::take(&mut self.processing_log)
    }
}
