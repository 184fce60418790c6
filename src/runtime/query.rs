//! Running a query: tasks over the partitions of its source topics, spread over
//! `num.stream.threads` worker threads, each with its own consumer; offsets committed per
//! consumer group every `commit.interval.ms` and on stop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::log::{ConsumedRecord, Log, LogConsumer, Rebalance, TopicPartition};
use crate::runtime::graph::ProcessorGraph;
use crate::runtime::processing_log::write_entries;
use crate::runtime::source::TimestampParser;
use crate::runtime::task::Task;

/// Where a consumer group with no committed offset starts (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// From the first record held.
    Earliest,
    /// From the end: only new records.
    Latest,
}

/// How a query runs.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// The query id (`CSAS_X_1`).
    pub query_id: String,
    /// The consumer group committing its offsets; `None` for a transient query (no commits).
    pub group: Option<String>,
    /// Worker threads (`num.stream.threads`).
    pub threads: usize,
    /// `commit.interval.ms`
    pub commit_interval: Duration,
    /// `auto.offset.reset`
    pub offset_reset: OffsetReset,
    /// Records taken per poll.
    pub max_poll_records: usize,
    /// For bounded scans: stop once every partition has been read up to these offsets.
    pub stop_at: Option<BTreeMap<TopicPartition, i64>>,
    /// `statestore.cache.max.bytes`: the record cache shared by the query's tasks; 0 emits
    /// every update.
    pub cache_max_bytes: u64,
    /// Where and how tasks keep their state stores.
    pub state: crate::state::StateConfig,
    /// `processing.guarantee=exactly_once_v2`: on a log with transactions, each worker writes
    /// its output, changelogs and input offsets in one transaction per commit.
    pub exactly_once: bool,
    /// `ksql.timestamp.throw.on.invalid`: a record whose timestamp is invalid (negative, or
    /// a TIMESTAMP column that is null or does not parse) fails the query instead of being
    /// dropped and logged.
    pub fail_on_invalid_timestamp: bool,
}

/// The state of a query, as `SHOW QUERIES` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryState {
    /// Processing.
    Running,
    /// Failed; the message says why.
    Error(String),
    /// Stopped.
    Stopped,
}

/// A started query.
pub struct RunningQuery {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    state: Arc<Mutex<QueryState>>,
    /// Records processed, over all tasks.
    pub processed: Arc<std::sync::atomic::AtomicU64>,
    /// How far each source partition has been processed (the next offset to process).
    positions: Arc<Mutex<BTreeMap<TopicPartition, i64>>>,
    /// Every task's state stores, by (store name, partition): what pull queries read. Tasks
    /// come and go as the consumer group moves partitions between members.
    stores: Arc<Mutex<BTreeMap<(String, i32), crate::state::SharedStore>>>,
    /// Workers still waiting for their partitions from the consumer group.
    unsettled: Arc<std::sync::atomic::AtomicUsize>,
    /// Every partition of every topic the query reads, wherever it is processed.
    source_partitions: Vec<TopicPartition>,
}

impl RunningQuery {
    /// Starts the query's threads over its sub-topologies: one task per (sub-topology,
    /// partition), spread round-robin over `config.threads` threads.
    pub fn start(
        graphs: Vec<ProcessorGraph>,
        log: Arc<dyn Log>,
        config: QueryConfig,
        parse_ts: Option<TimestampParser>,
    ) -> Result<Self> {
        let graphs: Vec<Arc<ProcessorGraph>> = graphs.into_iter().map(Arc::new).collect();
        let mut tasks: Vec<(usize, i32)> = Vec::new();
        let mut source_partitions = Vec::new();
        for (sub, graph) in graphs.iter().enumerate() {
            let topics = graph.source_topics();
            let Some(first) = topics.first() else {
                return Err(Error::internal(format!(
                    "sub-topology {sub} of query {} has no source",
                    config.query_id
                )));
            };
            let partitions = match log.describe_topic(first)? {
                Some(d) => d.partitions,
                None => {
                    return Err(Error::execution(format!("source topic '{first}' does not exist")));
                }
            };
            tasks.extend((0..partitions).map(|p| (sub, p)));
            for topic in &topics {
                source_partitions.extend((0..partitions).map(|p| TopicPartition::new(topic.clone(), p)));
            }
            // Changelog topics: compacted, one partition per task of the sub-topology.
            if let Some(app) = &config.group {
                for store in graph.stores() {
                    let mut topic_config = crate::log::TopicConfig::new(partitions);
                    topic_config.configs.insert("cleanup.policy".into(), "compact".into());
                    match log.create_topic(&crate::state::changelog::changelog_topic(app, &store), &topic_config) {
                        Ok(()) | Err(crate::log::LogError::TopicExists(_)) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        if tasks.is_empty() {
            return Err(Error::internal(format!("query {} has no source", config.query_id)));
        }
        let threads = config.threads.clamp(1, tasks.len());
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(QueryState::Running));
        let processed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let positions = Arc::new(Mutex::new(BTreeMap::new()));
        let mut latest_at_start = BTreeMap::new();
        if config.offset_reset == OffsetReset::Latest {
            for tp in &source_partitions {
                latest_at_start.insert(tp.clone(), log.end_offset(&tp.topic, tp.partition)?);
            }
        }
        let shared = Shared {
            parse_ts,
            budgets: TaskBudgets::split(&config, &graphs, &tasks),
            latest_at_start,
            stores: Arc::new(Mutex::new(BTreeMap::new())),
            positions: positions.clone(),
            unsettled: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        };
        let mut handles = Vec::new();
        for t in 0..threads {
            let mine: Vec<(usize, i32)> = tasks
                .iter()
                .enumerate()
                .filter(|(i, _)| i % threads == t)
                .map(|(_, task)| *task)
                .collect();
            let worker = Worker::new(&graphs, &log, &config, mine, &shared, t + 1)?;
            let shared_positions = positions.clone();
            let (stop, state, processed) = (stop.clone(), state.clone(), processed.clone());
            let name = format!("{}-StreamThread-{}", config.query_id, t + 1);
            let handle = std::thread::Builder::new()
                .name(name)
                .spawn(move || worker.run(&stop, &state, &processed, &shared_positions))
                .map_err(|e| Error::execution(format!("cannot start a query thread: {e}")))?;
            handles.push(handle);
        }
        Ok(RunningQuery {
            stop,
            threads: handles,
            state,
            processed,
            positions,
            stores: shared.stores,
            unsettled: shared.unsettled,
            source_partitions,
        })
    }

    /// Whether every source partition this process holds has been processed up to `ends` (or
    /// the query ended). Partitions held elsewhere count as done; while a worker waits for
    /// its partitions from the consumer group, nothing is known, so the answer is no.
    pub fn has_processed_up_to(&self, ends: &BTreeMap<TopicPartition, i64>) -> bool {
        if self.is_finished() {
            return true;
        }
        if self.unsettled.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let positions = self.positions.lock();
        ends.iter().all(|(tp, end)| positions.get(tp).is_none_or(|p| p >= end))
    }

    /// End offsets of the query's source partitions now, in [`RunningQuery::source_partitions`]
    /// order, for [`RunningQuery::caught_up`]; `None` for topics whose name starts with
    /// `internal_prefix` (the query's own repartition topics, which fill while it runs).
    pub fn source_ends(&self, log: &dyn Log, internal_prefix: &str) -> Vec<Option<i64>> {
        let external = |tp: &&TopicPartition| !tp.topic.starts_with(internal_prefix);
        let mut ends = log
            .end_offsets(&mut self.source_partitions.iter().filter(external))
            .into_iter();
        self.source_partitions
            .iter()
            .map(|tp| if external(&tp) { ends.next() } else { None })
            .collect()
    }

    /// Whether every source partition this process holds is processed up to `ends` (from
    /// [`RunningQuery::source_ends`]) and, once those are, every internal one up to its end
    /// then: everything derived from the external input is in the internal topics by the time
    /// a task reports its position, so the internal ends read after that check are complete.
    pub fn caught_up(&self, log: &dyn Log, ends: &[Option<i64>]) -> bool {
        if self.is_finished() {
            return true;
        }
        if self.unsettled.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let behind = |tps: &mut dyn Iterator<Item = (&TopicPartition, i64)>| {
            let positions = self.positions.lock();
            for (tp, end) in tps {
                if positions.get(tp).is_some_and(|p| *p < end) {
                    return true;
                }
            }
            false
        };
        let mut external = self
            .source_partitions
            .iter()
            .zip(ends)
            .filter_map(|(tp, end)| end.map(|e| (tp, e)));
        if behind(&mut external) {
            return false;
        }
        let internal: Vec<&TopicPartition> = self
            .source_partitions
            .iter()
            .zip(ends)
            .filter(|(_, end)| end.is_none())
            .map(|(tp, _)| tp)
            .collect();
        let internal_ends = log.end_offsets(&mut internal.iter().copied());
        !behind(&mut internal.into_iter().zip(internal_ends))
    }

    /// The instances of store `name`, one per task (by partition).
    pub fn stores_named(&self, name: &str) -> Vec<(i32, crate::state::SharedStore)> {
        self.stores
            .lock()
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, p), s)| (*p, s.clone()))
            .collect()
    }

    /// The topic-partitions the query reads (all of them, including those another process
    /// of the same service processes).
    pub fn source_partitions(&self) -> Vec<TopicPartition> {
        self.source_partitions.clone()
    }

    /// The processed positions, shared (for progress and lag displays).
    pub fn positions_handle(&self) -> Arc<Mutex<BTreeMap<TopicPartition, i64>>> {
        self.positions.clone()
    }

    /// The current state.
    pub fn state(&self) -> QueryState {
        self.state.lock().clone()
    }

    /// Whether every thread has ended (error or stop).
    pub fn is_finished(&self) -> bool {
        self.threads.iter().all(|t| t.is_finished())
    }

    /// Stops the threads, committing what they processed, and waits for them.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let mut s = self.state.lock();
        if *s == QueryState::Running {
            *s = QueryState::Stopped;
        }
    }
}

impl Drop for RunningQuery {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker {
    query_id: String,
    log: Arc<dyn Log>,
    consumer: Box<dyn LogConsumer>,
    tasks: BTreeMap<(usize, i32), Task>,
    /// Topic → (sub-topology, source index in it), over every sub-topology of the query.
    source_index: BTreeMap<String, (usize, usize)>,
    group: Option<String>,
    commit_interval: Duration,
    max_poll_records: usize,
    stop_at: Option<BTreeMap<TopicPartition, i64>>,
    /// What creating a task needs.
    graphs: Vec<Arc<ProcessorGraph>>,
    config: QueryConfig,
    parse_ts: Option<TimestampParser>,
    budgets: TaskBudgets,
    /// The query's stores by (name, partition), shared with pull queries.
    stores: Arc<Mutex<BTreeMap<(String, i32), crate::state::SharedStore>>>,
    /// The query's processed positions, shared with read-your-writes waits.
    positions: Arc<Mutex<BTreeMap<TopicPartition, i64>>>,
    /// See [`Shared::latest_at_start`].
    latest_at_start: BTreeMap<TopicPartition, i64>,
    /// A member of the query's consumer group (the group protocol assigns partitions), or
    /// the owner of a fixed set of tasks (the embedded log).
    member: bool,
    /// Members of the query still waiting for their partitions: while any is, this process
    /// cannot say how far the query got.
    unsettled: Arc<std::sync::atomic::AtomicUsize>,
    settled: bool,
    /// Outside a consumer group: the (sub-topology, partition) tasks this worker owns, until
    /// its thread has created them.
    fixed_tasks: Vec<(usize, i32)>,
    /// Under exactly-once processing, the transactional id of this worker's producer.
    transactional_id: Option<String>,
    /// Whether this worker's writes and offsets go through transactions.
    transactional: bool,
    /// How far each repartition topic partition has been purged.
    purged: BTreeMap<TopicPartition, i64>,
}

/// This process's id for transactional ids: kept in the state directory, so a restarted
/// process gets the same one; random when there is no state directory.
fn node_id(state: &crate::state::StateConfig) -> String {
    let random = || {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{:x}", nanos ^ u128::from(std::process::id()) << 64)
    };
    let Some(dir) = &state.state_dir else {
        return random();
    };
    let path = dir.join("runnel.process-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return id.to_string();
        }
    }
    let id = random();
    // Without a writable state directory the id only lasts this process: still correct,
    // only a crash then leaves its transactions open until they time out.
    let _ = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, &id));
    id
}

/// Each task's share of the query's memory budgets. Kafka Streams shares its record cache by
/// the threads that use it; a query here shares each budget equally by the tasks that use it.
#[derive(Debug, Clone, Copy)]
struct TaskBudgets {
    /// Of `statestore.cache.max.bytes`, per task with a record cache.
    record_cache: u64,
    /// Of `runnel.state.store.cache.max.bytes`, per task with state stores.
    store_cache: u64,
}

impl TaskBudgets {
    fn split(config: &QueryConfig, graphs: &[Arc<ProcessorGraph>], tasks: &[(usize, i32)]) -> Self {
        let count = |f: &dyn Fn(&ProcessorGraph) -> bool| {
            tasks.iter().filter(|(sub, _)| f(&graphs[*sub])).count().max(1) as u64
        };
        TaskBudgets {
            record_cache: config.cache_max_bytes / count(&|g| g.has_record_cache()),
            store_cache: config.state.store_cache_bytes / count(&|g| !g.stores().is_empty()),
        }
    }
}

/// What the workers of one query share.
struct Shared {
    parse_ts: Option<TimestampParser>,
    budgets: TaskBudgets,
    /// For `auto.offset.reset=latest`: each source partition's end when the query started, so
    /// "latest" means the same whenever the group gets round to assigning a partition.
    latest_at_start: BTreeMap<TopicPartition, i64>,
    stores: Arc<Mutex<BTreeMap<(String, i32), crate::state::SharedStore>>>,
    positions: Arc<Mutex<BTreeMap<TopicPartition, i64>>>,
    unsettled: Arc<std::sync::atomic::AtomicUsize>,
}

impl Worker {
    fn new(
        graphs: &[Arc<ProcessorGraph>],
        log: &Arc<dyn Log>,
        config: &QueryConfig,
        mine: Vec<(usize, i32)>,
        shared: &Shared,
        thread: usize,
    ) -> Result<Self> {
        let (parse_ts, budgets) = (shared.parse_ts, shared.budgets);
        let mut source_index = BTreeMap::new();
        let mut all_topics = Vec::new();
        for (sub, graph) in graphs.iter().enumerate() {
            for (i, topic) in graph.source_topics().into_iter().enumerate() {
                source_index.insert(topic.clone(), (sub, i));
                all_topics.push(topic);
            }
        }
        let mut consumer = log.consumer()?;
        // Persistent queries join their consumer group where the log has a group protocol
        // (Kafka): the group then splits partitions between threads and processes.
        let member = match (&config.group, &config.stop_at) {
            (Some(group), None) => consumer.subscribe(group, &all_topics)?,
            _ => false,
        };
        let mut worker = Worker {
            query_id: config.query_id.clone(),
            log: log.clone(),
            consumer,
            tasks: BTreeMap::new(),
            source_index,
            group: config.group.clone(),
            commit_interval: config.commit_interval,
            max_poll_records: config.max_poll_records,
            stop_at: config.stop_at.clone(),
            graphs: graphs.to_vec(),
            config: config.clone(),
            parse_ts,
            budgets,
            stores: shared.stores.clone(),
            positions: shared.positions.clone(),
            latest_at_start: shared.latest_at_start.clone(),
            member,
            unsettled: shared.unsettled.clone(),
            settled: false,
            transactional_id: match (&config.group, member && config.exactly_once) {
                // Kafka Streams' `<application id>-<process id>-<thread>`: the process id
                // lives in the state directory, so a restarted process takes over (and
                // aborts) the transactions its killed predecessor left open.
                (Some(group), true) => Some(format!("{group}-{}-{thread}", node_id(&config.state))),
                _ => None,
            },
            transactional: false,
            purged: BTreeMap::new(),
            fixed_tasks: Vec::new(),
        };
        // Until its tasks exist (restored, on the worker's own thread, so the threads of a
        // query restore in parallel), this process cannot say how far the query got.
        worker.unsettled.fetch_add(1, Ordering::SeqCst);
        worker.settled = false;
        worker.fixed_tasks = if member { Vec::new() } else { mine };
        Ok(worker)
    }

    /// Creates (restoring their stores) the fixed tasks of a worker outside a consumer group,
    /// and starts reading their partitions.
    fn start_fixed_tasks(&mut self) -> Result<()> {
        let mut tps = Vec::new();
        for (sub, partition) in std::mem::take(&mut self.fixed_tasks) {
            self.add_task(sub, partition)?;
            for topic in self.graphs[sub].source_topics() {
                tps.push(TopicPartition::new(topic, partition));
            }
        }
        let positions = self.start_positions(&tps)?;
        self.consumer.assign(&positions)?;
        self.positions.lock().extend(positions);
        Ok(())
    }

    /// Creates the task of (sub-topology, partition), restoring its stores first.
    fn add_task(&mut self, sub: usize, partition: i32) -> Result<()> {
        if self.tasks.contains_key(&(sub, partition)) {
            return Ok(());
        }
        let mut state = self.config.state.clone();
        state.store_cache_bytes = self.budgets.store_cache;
        let mut task = Task::with_state(
            &self.config.query_id,
            sub,
            partition,
            self.graphs[sub].clone(),
            self.log.clone(),
            self.parse_ts,
            self.config.group.as_deref(),
            &state,
        )?;
        task.set_cache_bytes(self.budgets.record_cache);
        task.fail_on_invalid_timestamps(self.config.fail_on_invalid_timestamp);
        let mut stores = self.stores.lock();
        for (name, store) in task.stores() {
            stores.insert((name.clone(), partition), store.clone());
        }
        drop(stores);
        self.tasks.insert((sub, partition), task);
        Ok(())
    }

    /// Where each partition starts: its group's committed offset, else `auto.offset.reset`.
    fn start_positions(&self, tps: &[TopicPartition]) -> Result<Vec<(TopicPartition, i64)>> {
        let mut committed_by_topic: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
        let mut out = Vec::with_capacity(tps.len());
        for tp in tps {
            if !committed_by_topic.contains_key(&tp.topic) {
                let committed = match &self.config.group {
                    Some(g) => self.log.committed(g, &tp.topic)?,
                    None => BTreeMap::new(),
                };
                committed_by_topic.insert(tp.topic.clone(), committed);
            }
            let offset = match committed_by_topic.get(&tp.topic).and_then(|c| c.get(&tp.partition)) {
                Some(o) => *o,
                None => match self.config.offset_reset {
                    OffsetReset::Earliest => self.log.start_offset(&tp.topic, tp.partition)?,
                    OffsetReset::Latest => match self.latest_at_start.get(tp) {
                        Some(end) => *end,
                        None => self.log.end_offset(&tp.topic, tp.partition)?,
                    },
                },
            };
            out.push((tp.clone(), offset));
        }
        Ok(out)
    }

    /// Acts on a rebalance of the query's consumer group, if one is waiting.
    fn handle_rebalance(&mut self) -> Result<()> {
        match self.consumer.pending_rebalance() {
            None => Ok(()),
            Some(Rebalance::Revoked(tps)) => {
                if self.settled {
                    self.settled = false;
                    self.unsettled.fetch_add(1, Ordering::SeqCst);
                }
                // Commit everything, as Kafka Streams does when partitions are revoked: the
                // next owner starts exactly where this one stopped. The range assignor is
                // eager: every partition is revoked, and the next assignment brings back
                // those that stay (their stores restore from the local checkpoint).
                self.commit()?;
                for t in self.tasks.values_mut() {
                    t.close();
                }
                let mut stores = self.stores.lock();
                for ((_, partition), task) in std::mem::take(&mut self.tasks) {
                    for name in task.stores().keys() {
                        stores.remove(&(name.clone(), partition));
                    }
                }
                drop(stores);
                let mut positions = self.positions.lock();
                for tp in &tps {
                    positions.remove(tp);
                }
                drop(positions);
                self.consumer.complete_revoke()?;
                Ok(())
            }
            Some(Rebalance::Assigned(tps)) => {
                for tp in &tps {
                    let Some(&(sub, _)) = self.source_index.get(&tp.topic) else {
                        return Err(Error::internal(format!(
                            "assigned {} which the query does not read",
                            tp.topic
                        )));
                    };
                    self.add_task(sub, tp.partition)?;
                }
                let positions = self.start_positions(&tps)?;
                self.consumer.complete_assign(&positions)?;
                self.positions.lock().extend(positions);
                if !self.settled {
                    self.settled = true;
                    self.unsettled.fetch_sub(1, Ordering::SeqCst);
                }
                Ok(())
            }
        }
    }

    fn run(
        mut self,
        stop: &AtomicBool,
        state: &Mutex<QueryState>,
        processed: &std::sync::atomic::AtomicU64,
        positions: &Mutex<BTreeMap<TopicPartition, i64>>,
    ) {
        let mut last_commit = Instant::now();
        let mut dirty = false;
        // Transactions belong to the thread that writes: begin them here, not in `new`.
        if let Some(id) = self.transactional_id.clone() {
            match self.consumer.begin_transactions(&id) {
                Ok(on) => self.transactional = on,
                Err(e) => {
                    *state.lock() = QueryState::Error(format!("cannot begin exactly-once processing: {e}"));
                    return;
                }
            }
        }
        if !self.member {
            let started = self.start_fixed_tasks();
            self.settled = true;
            self.unsettled.fetch_sub(1, Ordering::SeqCst);
            if let Err(e) = started {
                *state.lock() = QueryState::Error(format!("cannot start the query's tasks: {e}"));
                for t in self.tasks.values_mut() {
                    t.close();
                }
                return;
            }
        }
        while !stop.load(Ordering::SeqCst) {
            if self.reached_end() {
                break;
            }
            let result = self.step(processed).and_then(|did| {
                // Even a poll that returned nothing may have moved past transaction markers.
                positions.lock().extend(self.consumer.positions());
                if self.member {
                    self.handle_rebalance()?;
                }
                dirty |= did;
                if dirty && last_commit.elapsed() >= self.commit_interval {
                    last_commit = Instant::now();
                    dirty = false;
                    self.commit()
                } else {
                    Ok(())
                }
            });
            if let Err(e) = result {
                // A broker outage pauses an at-least-once query: nothing was committed past
                // what its acknowledged output covers, so it retries until the broker is back.
                // Under exactly-once a failed transaction was aborted while the local stores
                // kept its changes, so the query stops (a restart rebuilds them exactly).
                if !self.transactional && !self.log.reachable() {
                    dirty = true;
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
                *state.lock() = QueryState::Error(e.to_string());
                for t in self.tasks.values_mut() {
                    t.close();
                }
                return;
            }
        }
        if let Err(e) = self.commit() {
            *state.lock() = QueryState::Error(e.to_string());
        }
        for t in self.tasks.values_mut() {
            t.close();
        }
    }

    fn reached_end(&self) -> bool {
        match &self.stop_at {
            None => false,
            Some(ends) => self
                .consumer
                .positions()
                .iter()
                .all(|(tp, pos)| ends.get(tp).is_none_or(|end| pos >= end)),
        }
    }

    /// Polls once and processes what came; returns whether anything was processed.
    fn step(&mut self, processed: &std::sync::atomic::AtomicU64) -> Result<bool> {
        let records = self.consumer.poll(self.max_poll_records, Duration::from_millis(100))?;
        if records.is_empty() {
            return Ok(false);
        }
        processed.fetch_add(records.len() as u64, Ordering::Relaxed);
        let mut entries = Vec::new();
        // Records arrive grouped by partition runs; process each run as one batch.
        let mut start = 0;
        while start < records.len() {
            let (topic, partition) = (&records[start].topic, records[start].partition);
            let end = start
                + records[start..]
                    .iter()
                    .take_while(|r| &r.topic == topic && r.partition == partition)
                    .count();
            let run: &[ConsumedRecord] = &records[start..end];
            let Some(&(sub, source)) = self.source_index.get(topic.as_ref()) else {
                return Err(Error::internal(format!("records from unassigned topic {topic}")));
            };
            if let Some(task) = self.tasks.get_mut(&(sub, partition)) {
                match task.process(source, run) {
                    Ok(logged) => entries.extend(logged),
                    Err(error) => {
                        // What was logged before the failure still reaches the processing log.
                        entries.extend(task.take_processing_log());
                        write_entries(self.log.as_ref(), &self.query_id, &entries);
                        return Err(error);
                    }
                }
            }
            start = end;
        }
        // Sinks only enqueued their records: the positions reported next must not run ahead
        // of output the log has acknowledged.
        self.log.await_sends()?;
        write_entries(self.log.as_ref(), &self.query_id, &entries);
        Ok(true)
    }

    fn commit(&mut self) -> Result<()> {
        let mut entries = Vec::new();
        for t in self.tasks.values_mut() {
            entries.extend(t.flush()?);
        }
        self.log.await_sends()?;
        write_entries(self.log.as_ref(), &self.query_id, &entries);
        // State before offsets: a crash in between replays input into state that already
        // holds it (at least once), never the reverse.
        for t in self.tasks.values_mut() {
            t.commit_stores()?;
        }
        let positions = self.consumer.positions();
        if self.transactional {
            self.consumer.commit_transaction(&positions)?;
        } else if let Some(group) = &self.group
            && !self.consumer.commit_as_member(&positions)?
        {
            self.log.commit(group, &positions)?;
        }
        self.purge_repartition_topics(&positions);
        Ok(())
    }

    /// Deletes what the query's repartition topics hold before the committed offsets (Kafka
    /// Streams' purge): nothing will read it again, and the topics would otherwise grow
    /// without bound. Best effort: a failed purge is retried at the next commit.
    fn purge_repartition_topics(&mut self, committed: &[(TopicPartition, i64)]) {
        let Some(group) = &self.group else { return };
        for (tp, offset) in committed {
            if !(tp.topic.starts_with(group.as_str()) && tp.topic.ends_with("-repartition")) {
                continue;
            }
            if self.purged.get(tp).is_some_and(|p| p >= offset) {
                continue;
            }
            if self.log.delete_records_before(&tp.topic, tp.partition, *offset).is_ok() {
                self.purged.insert(tp.clone(), *offset);
            }
        }
    }
}
