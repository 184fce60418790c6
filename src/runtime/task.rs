//! A task: one partition's instance of a processor graph. It decodes records, pushes the
//! batch through its processors depth-first, and tracks stream time.

use std::sync::Arc;

use crate::error::Result;
use crate::log::{ConsumedRecord, Log};
use crate::runtime::batch::Batch;
use crate::runtime::graph::ProcessorGraph;
use crate::runtime::processing_log::ProcessingLogEntry;
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::runtime::source::TimestampParser;
use crate::state::SharedStore;
use crate::state::changelog::{ChangeLoggingStore, changelog_topic};
use crate::state::memory::MemoryStore;

/// One partition's processors.
pub struct Task {
    /// `<sub-topology>_<partition>`
    pub id: String,
    /// The partition it reads.
    pub partition: i32,
    graph: Arc<ProcessorGraph>,
    processors: Vec<Box<dyn Processor>>,
    ctx: ProcessorContext,
    parse_ts: Option<TimestampParser>,
    changelogged: Vec<Arc<ChangeLoggingStore>>,
}

impl Task {
    /// Instantiates the graph for `partition`.
    pub fn new(
        query_id: &str,
        subtopology: usize,
        partition: i32,
        graph: Arc<ProcessorGraph>,
        log: Arc<dyn Log>,
        parse_ts: Option<TimestampParser>,
        application_id: Option<&str>,
    ) -> Result<Self> {
        let id = format!("{subtopology}_{partition}");
        let mut ctx = ProcessorContext::new(query_id, id.clone());
        // Each store is rebuilt from its changelog before the task processes anything; a
        // query without an application id (a transient one) keeps its state in memory only.
        let mut changelogged = Vec::new();
        for name in graph.stores() {
            let memory: SharedStore = Arc::new(MemoryStore::new(name.clone()));
            let store: SharedStore = match application_id {
                Some(app) => {
                    let logged = Arc::new(ChangeLoggingStore::new(memory, changelog_topic(app, &name), partition));
                    logged.restore(log.as_ref(), 0)?;
                    changelogged.push(logged.clone());
                    logged
                }
                None => memory,
            };
            ctx.stores.insert(name, store);
        }
        ctx.log = Some(log);
        let mut processors: Vec<Box<dyn Processor>> = graph.nodes.iter().map(|n| (n.supplier)()).collect();
        for p in &mut processors {
            p.init(&mut ctx)?;
        }
        Ok(Task {
            id,
            partition,
            graph,
            processors,
            ctx,
            parse_ts,
            changelogged,
        })
    }

    /// The task's stream time.
    pub fn stream_time(&self) -> i64 {
        self.ctx.stream_time
    }

    /// Processes records read from the source at `source` (records of one partition, in
    /// offset order). Returns the processing-log entries raised.
    pub fn process(&mut self, source: usize, records: &[ConsumedRecord]) -> Result<Vec<ProcessingLogEntry>> {
        let Some(src) = self.graph.sources.get(source) else {
            return Err(crate::Error::internal(format!(
                "task {} has no source {source}",
                self.id
            )));
        };
        let (batch, mut log) = src.spec.decode(records, self.parse_ts)?;
        log.extend(self.process_batch(source, batch)?);
        Ok(log)
    }

    /// Processes an already decoded batch as if source `source` had produced it (pull queries
    /// feed rows read from a state store this way).
    pub fn process_batch(&mut self, source: usize, batch: Batch) -> Result<Vec<ProcessingLogEntry>> {
        let Some(src) = self.graph.sources.get(source) else {
            return Err(crate::Error::internal(format!(
                "task {} has no source {source}",
                self.id
            )));
        };
        if let Some(max) = batch.rowtimes().and_then(|r| r.values().iter().copied().max()) {
            self.ctx.stream_time = self.ctx.stream_time.max(max);
        }
        for child in src.children.clone() {
            self.run_node(child, batch.clone())?;
        }
        Ok(self.ctx.take_processing_log())
    }

    fn run_node(&mut self, node: usize, batch: Batch) -> Result<()> {
        // An explicit stack instead of recursion: deep topologies cannot overflow it.
        let mut work = vec![(node, batch)];
        while let Some((node, batch)) = work.pop() {
            let Some(processor) = self.processors.get_mut(node) else {
                return Err(crate::Error::internal(format!("no processor {node}")));
            };
            processor.process(batch, &mut self.ctx)?;
            let out = self.ctx.take_forwarded();
            let children = &self.graph.nodes[node].children;
            for b in out.into_iter().rev() {
                for child in children.iter().rev() {
                    work.push((*child, b.clone()));
                }
            }
        }
        Ok(())
    }

    /// Flushes every processor (at commit).
    pub fn flush(&mut self) -> Result<Vec<ProcessingLogEntry>> {
        for i in 0..self.processors.len() {
            self.processors[i].flush(&mut self.ctx)?;
            let out = self.ctx.take_forwarded();
            for b in out {
                for child in self.graph.nodes[i].children.clone() {
                    self.run_node(child, b.clone())?;
                }
            }
        }
        Ok(self.ctx.take_processing_log())
    }

    /// Writes the stores' changes since the last commit to their changelogs.
    pub fn commit_stores(&mut self) -> Result<()> {
        let Some(log) = self.ctx.log.clone() else { return Ok(()) };
        for store in &self.changelogged {
            store.commit(log.as_ref(), self.ctx.stream_time.max(0))?;
        }
        Ok(())
    }

    /// Sets the task's share of the record cache (`statestore.cache.max.bytes`).
    pub fn set_cache_bytes(&mut self, bytes: u64) {
        self.ctx.cache_max_bytes = bytes;
    }

    /// The task's state stores.
    pub fn stores(&self) -> &std::collections::BTreeMap<String, SharedStore> {
        &self.ctx.stores
    }

    /// Closes the processors.
    pub fn close(&mut self) {
        for p in &mut self.processors {
            p.close();
        }
    }
}
