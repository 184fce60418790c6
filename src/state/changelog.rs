//! Changelogs: every change to a store goes to its changelog topic, in step with the
//! task's commits, and a task restores its stores from there before it processes anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;

use super::{Entry, KeyValueStore, SharedStore, StateError, StateResult};
use crate::log::{Log, Record, TopicPartition};

/// The changelog topic of a store: `<application id>-<store>-changelog`.
pub fn changelog_topic(application_id: &str, store: &str) -> String {
    format!("{application_id}-{store}-changelog")
}

/// A store whose changes are also written to its changelog partition at each commit.
pub struct ChangeLoggingStore {
    inner: SharedStore,
    topic: String,
    partition: i32,
    /// Changes since the last commit; the last change per key is what the changelog needs.
    pending: Mutex<BTreeMap<Bytes, Option<Bytes>>>,
}

impl ChangeLoggingStore {
    /// Wraps `inner`, logging to partition `partition` of `topic`.
    pub fn new(inner: SharedStore, topic: String, partition: i32) -> Self {
        ChangeLoggingStore {
            inner,
            topic,
            partition,
            pending: Mutex::new(BTreeMap::new()),
        }
    }

    /// The changelog topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The wrapped store (pull queries read it directly).
    pub fn inner(&self) -> &SharedStore {
        &self.inner
    }

    /// Writes the pending changes to the changelog; returns the changelog's end offset after
    /// them (what a checkpoint records).
    pub fn commit(&self, log: &dyn Log, timestamp: i64) -> StateResult<i64> {
        let pending = std::mem::take(&mut *self.pending.lock());
        let fail = |e: crate::log::LogError| StateError::Storage {
            store: self.inner.name().to_string(),
            message: format!("writing changelog {}: {e}", self.topic),
        };
        if !pending.is_empty() {
            let records: Vec<Record> = pending
                .into_iter()
                .map(|(k, v)| Record {
                    key: Some(k),
                    value: v,
                    timestamp,
                    headers: Vec::new(),
                })
                .collect();
            log.append(&self.topic, self.partition, &records).map_err(fail)?;
        }
        self.inner.flush()?;
        log.end_offset(&self.topic, self.partition).map_err(fail)
    }

    /// Replays the changelog from `from` to its current end into the store; returns the
    /// offset it reached.
    pub fn restore(&self, log: &dyn Log, from: i64) -> StateResult<i64> {
        let fail = |m: String| StateError::Restore {
            store: self.inner.name().to_string(),
            topic: self.topic.clone(),
            message: m,
        };
        let end = log
            .end_offset(&self.topic, self.partition)
            .map_err(|e| fail(e.to_string()))?;
        let start = log
            .start_offset(&self.topic, self.partition)
            .map_err(|e| fail(e.to_string()))?
            .max(from);
        if start >= end {
            return Ok(end);
        }
        let mut consumer = log.consumer().map_err(|e| fail(e.to_string()))?;
        consumer
            .assign(&[(TopicPartition::new(self.topic.clone(), self.partition), start)])
            .map_err(|e| fail(e.to_string()))?;
        let mut position = start;
        while position < end {
            let records = consumer
                .poll(100_000, Duration::from_secs(5))
                .map_err(|e| fail(e.to_string()))?;
            if records.is_empty() {
                return Err(fail(format!(
                    "the changelog ended at offset {position}, before its end offset {end}"
                )));
            }
            for r in records {
                if r.offset >= end {
                    break;
                }
                position = r.offset + 1;
                if let Some(key) = &r.record.key {
                    self.inner.put(key, r.record.value.as_deref())?;
                }
            }
        }
        Ok(end)
    }
}

impl KeyValueStore for ChangeLoggingStore {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn get(&self, key: &[u8]) -> StateResult<Option<Bytes>> {
        self.inner.get(key)
    }

    fn put(&self, key: &[u8], value: Option<&[u8]>) -> StateResult<()> {
        self.inner.put(key, value)?;
        self.pending
            .lock()
            .insert(Bytes::copy_from_slice(key), value.map(Bytes::copy_from_slice));
        Ok(())
    }

    fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> StateResult<Vec<Entry>> {
        self.inner.range(from, to)
    }

    fn approximate_len(&self) -> u64 {
        self.inner.approximate_len()
    }

    fn flush(&self) -> StateResult<()> {
        self.inner.flush()
    }
}

/// A task's checkpoint: for each changelog partition, the offset its local store already
/// holds, so a clean restart replays only the tail. Written atomically.
pub struct Checkpoint {
    path: PathBuf,
}

impl Checkpoint {
    /// The checkpoint file in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Checkpoint {
            path: dir.join(".checkpoint"),
        }
    }

    /// The recorded offsets (empty when there is no checkpoint).
    pub fn read(&self) -> StateResult<BTreeMap<String, i64>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StateError::Storage {
                store: self.path.display().to_string(),
                message: format!("unreadable checkpoint: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(StateError::Storage {
                store: self.path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// Records `offsets`.
    pub fn write(&self, offsets: &BTreeMap<String, i64>) -> StateResult<()> {
        let io = |e: std::io::Error| StateError::Storage {
            store: self.path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("tmp");
        let bytes = serde_json::to_vec(offsets).map_err(|e| StateError::Storage {
            store: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// Removes the checkpoint (while a task runs, its local state is ahead of it).
    pub fn clear(&self) -> StateResult<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::Storage {
                store: self.path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::log::TopicConfig;
    use crate::log::embedded::EmbeddedLog;
    use crate::state::memory::MemoryStore;

    #[test]
    fn changes_survive_through_the_changelog() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(dir.path()).unwrap();
        let topic = changelog_topic("app", "counts");
        log.create_topic(&topic, &TopicConfig::new(2)).unwrap();
        let store = ChangeLoggingStore::new(Arc::new(MemoryStore::new("counts")), topic.clone(), 1);
        store.put(b"a", Some(b"1")).unwrap();
        store.put(b"a", Some(b"2")).unwrap();
        store.put(b"b", Some(b"1")).unwrap();
        let end = store.commit(log.as_ref(), 0).unwrap();
        assert_eq!(
            end, 2,
            "two keys, one record each: updates to one key fold before a commit"
        );
        store.put(b"b", None).unwrap();
        store.commit(log.as_ref(), 0).unwrap();

        let fresh = ChangeLoggingStore::new(Arc::new(MemoryStore::new("counts")), topic, 1);
        assert_eq!(fresh.restore(log.as_ref(), 0).unwrap(), 3);
        assert_eq!(fresh.get(b"a").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(fresh.get(b"b").unwrap(), None);
    }

    #[test]
    fn checkpoints_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoint::in_dir(&dir.path().join("0_1"));
        assert!(cp.read().unwrap().is_empty());
        cp.write(&BTreeMap::from([("t".to_string(), 42)])).unwrap();
        assert_eq!(cp.read().unwrap().get("t"), Some(&42));
        cp.clear().unwrap();
        assert!(cp.read().unwrap().is_empty());
    }
}
