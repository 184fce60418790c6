//! What executing a statement returns: a message, rows, or a stream of rows.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::runtime::batch::Batch;
use crate::runtime::query::{QueryState, RunningQuery};
use crate::types::Value;
use crate::types::arrow::value_at;

/// The result of one statement.
pub enum StatementResult {
    /// A confirmation ("Stream created", "Created query with ID CSAS_X_1").
    Message(String),
    /// A finite set of rows (SHOW, DESCRIBE, pull queries).
    Rows(RowSet),
    /// A push query's rows as they arrive.
    Stream(PushQuery),
}

/// Named columns and their rows.
#[derive(Debug, Clone, PartialEq)]
pub struct RowSet {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one value per column.
    pub rows: Vec<Vec<Value>>,
    /// Print one row per block instead of a grid (long text such as EXPLAIN).
    pub vertical: bool,
    /// A heading printed above the rows (DESCRIBE's "Name : X").
    pub title: Option<String>,
}

impl RowSet {
    /// A row set.
    pub fn new(columns: Vec<&str>, rows: Vec<Vec<Value>>) -> Self {
        RowSet {
            columns: columns.into_iter().map(String::from).collect(),
            rows,
            vertical: false,
            title: None,
        }
    }
}

/// What one poll of a push query gave.
pub enum PushPoll {
    /// New rows.
    Rows(Vec<Vec<Value>>),
    /// Nothing yet; the query is still running.
    Idle,
    /// The query ended (its LIMIT was reached, its scan finished, or it failed: `Some(error)`).
    Done(Option<String>),
}

/// What produces a push query's batches.
pub enum QueryHandle {
    /// A transient query over the runtime.
    Query(RunningQuery),
    /// A thread of the engine's own (PRINT), stopped through a flag.
    Thread {
        /// Set to stop it.
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        /// The thread; `Err` carries its failure.
        join: std::thread::JoinHandle<Result<(), String>>,
    },
}

impl QueryHandle {
    fn is_finished(&self) -> bool {
        match self {
            QueryHandle::Query(q) => q.is_finished(),
            QueryHandle::Thread { join, .. } => join.is_finished(),
        }
    }

    fn stop(self) -> Option<String> {
        match self {
            QueryHandle::Query(q) => {
                let error = match q.state() {
                    QueryState::Error(e) => Some(e),
                    _ => None,
                };
                q.stop();
                error
            }
            QueryHandle::Thread { stop, join } => {
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
                match join.join() {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(_) => Some("the query thread panicked".to_string()),
                }
            }
        }
    }
}

/// A running transient query.
pub struct PushQuery {
    /// Output column names.
    pub columns: Vec<String>,
    /// The query id (`transient_<SOURCE>_<n>`).
    pub id: String,
    receiver: Receiver<Batch>,
    query: Option<QueryHandle>,
    limit: Option<u64>,
    emitted: u64,
    data_columns: usize,
    on_stop: Option<Box<dyn FnOnce() + Send>>,
    /// How many records the query still has to read to reach its sources' ends.
    lag: Option<Box<dyn Fn() -> Option<i64> + Send>>,
    /// Whether rows without a value are left out (a stream's: they are not events).
    skip_tombstones: bool,
}

/// How far a push query has got, for the shell's progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushProgress {
    /// Input records read so far.
    pub read: u64,
    /// Records between its positions and its sources' current ends, when known.
    pub lag: Option<i64>,
}

impl PushQuery {
    pub(crate) fn new(
        id: String,
        columns: Vec<String>,
        receiver: Receiver<Batch>,
        query: QueryHandle,
        limit: Option<u64>,
    ) -> Self {
        let data_columns = columns.len();
        PushQuery {
            columns,
            id,
            receiver,
            query: Some(query),
            limit,
            emitted: 0,
            data_columns,
            on_stop: None,
            lag: None,
            skip_tombstones: false,
        }
    }

    /// Leaves out rows without a value: a push query on a stream shows events, and a null
    /// value is none (ksqlDB's push queries skip them; a table's show them as deletions).
    pub(crate) fn skipping_tombstones(mut self) -> Self {
        self.skip_tombstones = true;
        self
    }

    /// Sets how the query's lag is measured.
    pub(crate) fn with_lag(mut self, lag: impl Fn() -> Option<i64> + Send + 'static) -> Self {
        self.lag = Some(Box::new(lag));
        self
    }

    /// Records read so far and the lag, for a query over the runtime.
    pub fn progress(&self) -> Option<PushProgress> {
        match &self.query {
            Some(QueryHandle::Query(q)) => Some(PushProgress {
                read: q.processed.load(std::sync::atomic::Ordering::Relaxed),
                lag: self.lag.as_ref().and_then(|f| f()),
            }),
            _ => None,
        }
    }

    /// Whether the query stops by itself after a number of rows.
    pub fn has_limit(&self) -> bool {
        self.limit.is_some()
    }

    /// Waits up to `timeout` for rows.
    pub fn poll(&mut self, timeout: Duration) -> PushPoll {
        if self.limit.is_some_and(|l| self.emitted >= l) {
            self.stop();
            return PushPoll::Done(None);
        }
        let batch = match self.receiver.recv_timeout(timeout) {
            Ok(batch) => batch,
            Err(RecvTimeoutError::Timeout) => {
                let finished = self.query.as_ref().is_none_or(|q| q.is_finished());
                if !finished {
                    return PushPoll::Idle;
                }
                // Every task ended: hand out what is still queued before saying so.
                match self.receiver.try_recv() {
                    Ok(batch) => batch,
                    Err(_) => return self.finish(),
                }
            }
            Err(RecvTimeoutError::Disconnected) => return self.finish(),
        };
        let mut rows = Vec::with_capacity(batch.len);
        for r in 0..batch.len {
            if self.limit.is_some_and(|l| self.emitted >= l) {
                break;
            }
            if self.skip_tombstones && batch.is_tombstone(r) {
                continue;
            }
            rows.push(
                (0..self.data_columns)
                    .map(|c| value_at(batch.columns[c].as_ref(), r))
                    .collect(),
            );
            self.emitted += 1;
        }
        PushPoll::Rows(rows)
    }

    fn finish(&mut self) -> PushPoll {
        let error = self.query.take().and_then(|q| q.stop());
        self.stop();
        PushPoll::Done(error)
    }

    /// Runs `f` once the query has stopped (dropping its internal topics, say).
    pub fn on_stop(&mut self, f: Box<dyn FnOnce() + Send>) {
        self.on_stop = Some(f);
    }

    /// Stops the query.
    pub fn stop(&mut self) {
        if let Some(q) = self.query.take() {
            q.stop();
        }
        if let Some(f) = self.on_stop.take() {
            f();
        }
    }

    /// Collects every row until the query ends or `timeout` passes without one.
    pub fn collect(mut self, idle_timeout: Duration) -> Result<Vec<Vec<Value>>, String> {
        let mut out = Vec::new();
        loop {
            match self.poll(idle_timeout) {
                PushPoll::Rows(r) => out.extend(r),
                PushPoll::Idle => {
                    self.stop();
                    return Ok(out);
                }
                PushPoll::Done(None) => return Ok(out),
                PushPoll::Done(Some(e)) => return Err(e),
            }
        }
    }
}

impl Drop for PushQuery {
    fn drop(&mut self) {
        self.stop();
    }
}
