//! State stores: what stateful operators keep between records, and what pull queries read.
//!
//! A [`KeyValueStore`] maps serialized keys to serialized values, ordered by key bytes so
//! range scans work. Stores are wrapped by [`changelog::ChangeLoggingStore`], which writes
//! every change to the store's changelog topic on the log in step with the task's commits
//! and restores the store from that topic (after a local checkpoint) when the task starts —
//! Kafka Streams' design. Window and session stores are key-value stores over composite keys
//! (see [`keys`]), so one implementation serves all three.
//!
//! Two implementations: [`memory::MemoryStore`] and [`rocks::RocksStore`] (RocksDB, chosen
//! with `runnel.state.store`, the default when a state directory is known). A task's stores
//! live in `<state dir>/<application id>/<task id>/`; see [`changelog::TaskStores`].

pub mod cache;
pub mod changelog;
pub mod codec;
pub mod keys;
pub mod memory;
pub mod rocks;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

/// Errors from state stores.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The backing storage failed.
    #[error("state store {store}: {message}")]
    Storage {
        /// The store.
        store: String,
        /// What failed.
        message: String,
    },
    /// Restoring from the changelog failed.
    #[error("restoring state store {store} from {topic}: {message}")]
    Restore {
        /// The store.
        store: String,
        /// Its changelog topic.
        topic: String,
        /// What failed.
        message: String,
    },
}

impl From<StateError> for crate::error::Error {
    fn from(e: StateError) -> Self {
        crate::error::Error::new(crate::error::ErrorKind::State, e.to_string())
    }
}

/// Result of state operations.
pub type StateResult<T> = Result<T, StateError>;

/// A key and its value, as stored.
pub type Entry = (Bytes, Bytes);

/// An ordered map of byte keys to byte values.
pub trait KeyValueStore: Send + Sync {
    /// The store's name.
    fn name(&self) -> &str;
    /// The value of `key`.
    fn get(&self, key: &[u8]) -> StateResult<Option<Bytes>>;
    /// The values of several keys, in order. Stores that can look keys up together
    /// (RocksDB's batched MultiGet) do it much faster than one `get` per key.
    fn get_many(&self, keys: &[&[u8]]) -> StateResult<Vec<Option<Bytes>>> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    /// Sets (`Some`) or deletes (`None`) the value of `key`.
    fn put(&self, key: &[u8], value: Option<&[u8]>) -> StateResult<()>;
    /// [`KeyValueStore::put`] for a caller that owns the bytes: stores that keep them (the
    /// changelogging store's pending changes) take them without copying.
    fn put_owned(&self, key: Bytes, value: Option<Bytes>) -> StateResult<()> {
        self.put(&key, value.as_deref())
    }
    /// Entries with `from <= key < to` (either bound open), in key order.
    fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> StateResult<Vec<Entry>>;
    /// Number of entries (exact for the in-memory store, an estimate for others).
    fn approximate_len(&self) -> u64;
    /// Makes what was written durable, where the store has durability of its own.
    fn flush(&self) -> StateResult<()>;
    /// Applies several changes at once (atomically, where the store can).
    fn write_batch(&self, entries: &mut dyn Iterator<Item = (&[u8], Option<&[u8]>)>) -> StateResult<()> {
        for (k, v) in entries {
            self.put(k, v)?;
        }
        Ok(())
    }
}

/// Which implementation backs a task's stores (`runnel.state.store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreKind {
    /// RocksDB in the state directory; restarts replay only the changelog's tail.
    #[default]
    Rocksdb,
    /// In memory; every start replays the whole changelog.
    Memory,
}

impl StoreKind {
    /// Parses a `runnel.state.store` value (`rocksdb` or `memory`, any case).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "rocksdb" => Some(StoreKind::Rocksdb),
            "memory" => Some(StoreKind::Memory),
            _ => None,
        }
    }
}

/// Where and how a query's tasks keep their state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateConfig {
    /// `state.dir`: the root of the tasks' local state; with none, stores are in memory.
    pub state_dir: Option<PathBuf>,
    /// `runnel.state.store`; `Rocksdb` needs a state directory (without one, memory is used).
    pub store: StoreKind,
    /// `processing.guarantee=exactly_once_v2`: changelog writes belong to transactions that a
    /// crash aborts, so a local store may hold changes its changelog never committed. A
    /// checkpoint is then only valid from a clean close, and is removed once read.
    pub exactly_once: bool,
    /// `runnel.state.store.cache.max.bytes`: committed entries kept in memory in front of
    /// RocksDB stores (see [`cache`]). A query's total; each task gets its share (0: none).
    pub store_cache_bytes: u64,
    /// `runnel.state.checkpoint.records`: changelog records a task writes between two
    /// checkpoints of its RocksDB stores. A checkpoint writes the store cache's changes to
    /// RocksDB and flushes RocksDB's memtables to disk; the fewer there are, the more changes
    /// to one key fold into one write. After a crash, a restart replays at most about this
    /// many changelog records per task.
    pub checkpoint_records: u64,
}

/// The default of [`StateConfig::checkpoint_records`].
pub const CHECKPOINT_RECORDS: u64 = 1_000_000;

impl StateConfig {
    /// In-memory stores only (transient queries, tests).
    pub fn memory() -> Self {
        StateConfig {
            state_dir: None,
            store: StoreKind::Memory,
            exactly_once: false,
            store_cache_bytes: 0,
            checkpoint_records: CHECKPOINT_RECORDS,
        }
    }

    /// The directory of a task's local state, when its stores are on disk.
    pub fn task_dir(&self, application_id: &str, task_id: &str) -> Option<PathBuf> {
        match (&self.state_dir, self.store) {
            (Some(root), StoreKind::Rocksdb) => Some(root.join(application_id).join(task_id)),
            _ => None,
        }
    }
}

/// A store shared by the task that writes it and the pull queries that read it.
pub type SharedStore = Arc<dyn KeyValueStore>;

/// Entries whose key starts with `prefix`.
pub fn prefix_scan(store: &dyn KeyValueStore, prefix: &[u8]) -> StateResult<Vec<Entry>> {
    let end = keys::prefix_end(prefix);
    store.range(Some(prefix), end.as_deref())
}
