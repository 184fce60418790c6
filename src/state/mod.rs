//! State stores: what stateful operators keep between records, and what pull queries read.
//!
//! A [`KeyValueStore`] maps serialized keys to serialized values, ordered by key bytes so
//! range scans work. Stores are wrapped by [`changelog::ChangeLoggingStore`], which writes
//! every change to the store's changelog topic on the log in step with the task's commits
//! and restores the store from that topic (after a local checkpoint) when the task starts —
//! Kafka Streams' design. Window and session stores are key-value stores over composite keys
//! (see [`keys`]), so one implementation serves all three.

pub mod changelog;
pub mod codec;
pub mod keys;
pub mod memory;

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
    /// Sets (`Some`) or deletes (`None`) the value of `key`.
    fn put(&self, key: &[u8], value: Option<&[u8]>) -> StateResult<()>;
    /// Entries with `from <= key < to` (either bound open), in key order.
    fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> StateResult<Vec<Entry>>;
    /// Number of entries (exact for the in-memory store, an estimate for others).
    fn approximate_len(&self) -> u64;
    /// Makes what was written durable, where the store has durability of its own.
    fn flush(&self) -> StateResult<()>;
}

/// A store shared by the task that writes it and the pull queries that read it.
pub type SharedStore = Arc<dyn KeyValueStore>;

/// Entries whose key starts with `prefix`.
pub fn prefix_scan(store: &dyn KeyValueStore, prefix: &[u8]) -> StateResult<Vec<Entry>> {
    let end = keys::prefix_end(prefix);
    store.range(Some(prefix), end.as_deref())
}
