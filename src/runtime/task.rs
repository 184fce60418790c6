//! A task: one partition's instance of a processor graph. It decodes records, pushes the
//! batch through its processors depth-first, and tracks stream time. Its state stores are
//! restored from their changelogs before it processes anything (see
//! [`crate::state::changelog`]).

use std::sync::Arc;

use crate::error::Result;
use crate::log::{ConsumedRecord, Log, TopicPartition};
use crate::runtime::batch::Batch;
use crate::runtime::graph::ProcessorGraph;
use crate::runtime::processing_log::ProcessingLogEntry;
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::runtime::source::{Decoded, TimestampParser};
use crate::state::changelog::{Positions, TaskStores};
use crate::state::{SharedStore, StateConfig};

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
    /// Whether an invalid record timestamp fails the task (`ksql.timestamp.throw.on.invalid`).
    fail_on_invalid_timestamp: bool,
    state: TaskStores,
    /// For each input partition, the next offset to process: what the state reflects once
    /// committed (the position marker in the changelogs).
    positions: Positions,
    /// Input below these offsets is already in the restored state (a crash fell between the
    /// changelog write and the offset commit), so it is skipped rather than counted twice.
    skip_below: Positions,
}

impl Task {
    /// Instantiates the graph for `partition`, with its stores in memory.
    pub fn new(
        query_id: &str,
        subtopology: usize,
        partition: i32,
        graph: Arc<ProcessorGraph>,
        log: Arc<dyn Log>,
        parse_ts: Option<TimestampParser>,
        application_id: Option<&str>,
    ) -> Result<Self> {
        let state = StateConfig::memory();
        Self::with_state(
            query_id,
            subtopology,
            partition,
            graph,
            log,
            parse_ts,
            application_id,
            &state,
        )
    }

    /// Instantiates the graph for `partition`, with its stores where `state` says.
    #[allow(clippy::too_many_arguments)]
    pub fn with_state(
        query_id: &str,
        subtopology: usize,
        partition: i32,
        graph: Arc<ProcessorGraph>,
        log: Arc<dyn Log>,
        parse_ts: Option<TimestampParser>,
        application_id: Option<&str>,
        state: &StateConfig,
    ) -> Result<Self> {
        let id = format!("{subtopology}_{partition}");
        let mut ctx = ProcessorContext::new(query_id, id.clone());
        // Each store is rebuilt from its changelog before the task processes anything; a
        // query without an application id (a transient one) keeps its state in memory only.
        let mut names: Vec<String> = Vec::new();
        for name in graph.stores() {
            // Nodes may share a store; it is one store with one changelog.
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let stores = TaskStores::open(&names, application_id, &id, partition, log.as_ref(), state)?;
        for (name, store) in stores.stores() {
            ctx.stores.insert(name.clone(), store.clone());
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
            fail_on_invalid_timestamp: false,
            positions: stores.restored_positions().clone(),
            skip_below: stores.restored_positions().clone(),
            state: stores,
        })
    }

    /// Processing-log entries raised but not yet returned (those of a run that failed).
    pub fn take_processing_log(&mut self) -> Vec<ProcessingLogEntry> {
        self.ctx.take_processing_log()
    }

    /// Makes an invalid record timestamp fail the task instead of dropping the record.
    pub fn fail_on_invalid_timestamps(&mut self, fail: bool) {
        self.fail_on_invalid_timestamp = fail;
    }

    /// Changelog records replayed into the task's stores when it started.
    pub fn restored_records(&self) -> u64 {
        self.state.restored_records()
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
        let Some(last) = records.last() else {
            return Ok(Vec::new());
        };
        let tp = TopicPartition::new(last.topic.as_ref(), last.partition);
        self.positions.insert(tp.clone(), last.offset + 1);
        let records = match self.skip_below.get(&tp) {
            Some(&below) => {
                if last.offset + 1 >= below {
                    self.skip_below.remove(&tp);
                }
                let fresh = records.partition_point(|r| r.offset < below);
                &records[fresh..]
            }
            None => records,
        };
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let Decoded { batch, mut log, fatal } =
            src.spec
                .decode(records, self.parse_ts, self.fail_on_invalid_timestamp)?;
        log.extend(self.process_batch(source, batch)?);
        if let Some((offset, error)) = fatal {
            // The failing record and those after it were not processed: a restart reads
            // them again. What the run logged is kept for `take_processing_log`.
            self.positions.insert(tp, offset);
            for entry in log {
                self.ctx.log_error(entry);
            }
            return Err(error);
        }
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

    /// Writes the stores' changes since the last commit to their changelogs, with the
    /// task's input positions, and records the checkpoint.
    pub fn commit_stores(&mut self) -> Result<()> {
        let Some(log) = self.ctx.log.clone() else { return Ok(()) };
        self.state
            .commit(log.as_ref(), self.ctx.stream_time.max(0), &self.positions)?;
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

    /// Closes the processors and checkpoints the stores (their last commit), so a restart
    /// replays nothing.
    pub fn close(&mut self) {
        for p in &mut self.processors {
            p.close();
        }
        // A failed checkpoint costs only a longer restore on the next start.
        if let Err(e) = self.state.checkpoint() {
            eprintln!("task {}: cannot checkpoint its state stores: {e}", self.id);
        }
    }
}
