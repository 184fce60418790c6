//! Changelogs: every change to a store goes to its changelog topic, in step with the
//! task's commits, and a task restores its stores from there before it processes anything.
//!
//! Three rules keep a store right across `kill -9` at any moment:
//!
//! 1. A store's backing storage only ever holds what its changelog already holds: changes
//!    wait in [`ChangeLoggingStore`]'s pending map, or with a cache as its unlogged entries
//!    (reads see them first either way), until the commit has appended them to the
//!    changelog. So after a crash the local store is at some
//!    changelog offset at or after its checkpoint, and replaying the changelog from the
//!    checkpoint (every record is a key's whole new value, so replaying is idempotent)
//!    brings it to the changelog's end. A checkpoint, once written, stays valid while the
//!    task runs; Kafka Streams must delete it instead, because its stores take writes first.
//! 2. Each commit also appends a *position marker* to every changelog: the source offsets
//!    the state reflects. The consumer group's offsets are committed after the changelogs,
//!    so a crash between the two leaves the group behind the state; on restart the task
//!    skips the input the state already holds ([`TaskStores::restored_positions`]) instead of
//!    counting it twice.
//! 3. Without a usable checkpoint (first start, a missing or unreadable file, offsets the
//!    changelog no longer has) a local store is wiped and rebuilt from the changelog start.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use foldhash::fast::FixedState;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::cache::StoreCache;
use super::memory::MemoryStore;
use super::rocks::RocksStore;
use super::{Entry, KeyValueStore, SharedStore, StateConfig, StateError, StateResult};
use crate::log::{Log, Record, TopicPartition};

/// The changelog topic of a store: `<application id>-<store>-changelog`.
pub fn changelog_topic(application_id: &str, store: &str) -> String {
    format!("{application_id}-{store}-changelog")
}

/// The header that marks a changelog record as a position marker rather than a change.
pub const POSITIONS_HEADER: &str = "runnel.positions";

/// The key of position markers. It is only there so that a compacted changelog keeps the
/// latest marker; restore recognises markers by [`POSITIONS_HEADER`]. No store key collides
/// with it: an encoded row starts with its value count, so `0` is a row of no values and
/// never has bytes after it, and a window key would need a 7 MB key for this prefix.
pub const POSITIONS_KEY: &[u8] = b"\0runnel.positions";

/// Source offsets a state reflects: for each input partition, the next offset to process.
pub type Positions = BTreeMap<TopicPartition, i64>;

fn positions_to_json(positions: &Positions) -> Vec<u8> {
    let list: Vec<(&str, i32, i64)> = positions
        .iter()
        .map(|(tp, o)| (tp.topic.as_str(), tp.partition, *o))
        .collect();
    serde_json::to_vec(&list).unwrap_or_default()
}

fn positions_from_list(list: Vec<(String, i32, i64)>) -> Positions {
    list.into_iter()
        .map(|(topic, partition, offset)| (TopicPartition::new(topic, partition), offset))
        .collect()
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    /// The changelog offset the store now reflects.
    pub end: i64,
    /// Changelog records replayed (changes and markers).
    pub records: u64,
    /// The last position marker replayed, if any.
    pub positions: Option<Positions>,
}

/// A store whose changes are also written to its changelog partition at each commit.
pub struct ChangeLoggingStore {
    inner: SharedStore,
    topic: String,
    partition: i32,
    /// Changes not yet in `inner`, without a cache; reads see them first.
    pending: RwLock<Pending>,
    /// Entries kept in memory in front of `inner`, including changes not yet in the
    /// changelog and committed ones not written to `inner` yet (see [`StoreCache`]); for
    /// stores whose reads and writes cost more than a hash lookup. With it, `pending` stays
    /// empty.
    cache: Option<Mutex<StoreCache>>,
}

type ChangeMap = HashMap<Bytes, Option<Bytes>, FixedState>;

/// Changes waiting for the changelog: the last one per key since the commit began
/// (`current`), and those of a commit in progress (`committing`), which stay readable until
/// `inner` holds them. Hash maps, not ordered ones: a task looks up and replaces a key per
/// record, and order only matters to range reads, which sort what they take.
#[derive(Default)]
struct Pending {
    current: ChangeMap,
    committing: Arc<ChangeMap>,
}

impl Pending {
    fn get(&self, key: &[u8]) -> Option<&Option<Bytes>> {
        self.current.get(key).or_else(|| self.committing.get(key))
    }
}

impl ChangeLoggingStore {
    /// Wraps `inner`, logging to partition `partition` of `topic`.
    pub fn new(inner: SharedStore, topic: String, partition: i32) -> Self {
        ChangeLoggingStore {
            inner,
            topic,
            partition,
            pending: RwLock::new(Pending::default()),
            cache: None,
        }
    }

    /// Keeps up to `bytes` of entries in memory in front of `inner` (0: none), writing
    /// committed changes to `inner` when they leave it or at [`KeyValueStore::flush`].
    pub fn with_cache(mut self, bytes: usize) -> Self {
        self.cache = (bytes > 0).then(|| Mutex::new(StoreCache::new(bytes)));
        self
    }

    /// The changelog topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The wrapped store: what has been committed (reads of this store also see pending
    /// changes).
    pub fn inner(&self) -> &SharedStore {
        &self.inner
    }

    /// Writes the pending changes to the changelog, followed by a marker of `positions` if
    /// given, then applies them to the wrapped store (not flushed: see
    /// [`TaskStores::commit`]), or with a cache marks them logged there (they reach the store
    /// from the cache). Returns the changelog's end offset after them.
    pub fn commit(&self, log: &dyn Log, timestamp: i64, positions: Option<&Positions>) -> StateResult<i64> {
        let fail = |e: crate::log::LogError| StateError::Storage {
            store: self.inner.name().to_string(),
            message: format!("writing changelog {}: {e}", self.topic),
        };
        let marker = positions.map(|positions| Record {
            key: Some(Bytes::from_static(POSITIONS_KEY)),
            value: Some(Bytes::from(positions_to_json(positions))),
            timestamp,
            headers: vec![(POSITIONS_HEADER.to_string(), None)],
        });
        if let Some(cache) = &self.cache {
            // The changes are the cache's unlogged entries. Only the task thread changes
            // them, so they are the same after the append, when they are marked logged (and
            // only then may they be evicted to the store: rule 1 above).
            let mut records: Vec<Record> = {
                let cache = cache.lock();
                cache
                    .unlogged_changes()
                    .into_iter()
                    .map(|(k, v)| Record {
                        key: Some(Bytes::copy_from_slice(k)),
                        value: v.map(Bytes::copy_from_slice),
                        timestamp,
                        headers: Vec::new(),
                    })
                    .collect()
            };
            records.extend(marker);
            if !records.is_empty() {
                log.append(&self.topic, self.partition, &records).map_err(fail)?;
            }
            drop(records);
            let mut cache = cache.lock();
            cache.mark_logged();
            self.settle(&mut cache)?;
            drop(cache);
            return log.end_offset(&self.topic, self.partition).map_err(fail);
        }
        // Only the task thread writes, so nothing is added until this returns: the changes
        // move aside (still readable) instead of being copied.
        let pending = {
            let mut p = self.pending.write();
            let capacity = p.current.len();
            let taken = std::mem::replace(
                &mut p.current,
                HashMap::with_capacity_and_hasher(capacity, FixedState::default()),
            );
            p.committing = Arc::new(taken);
            p.committing.clone()
        };
        let mut changes: Vec<(&Bytes, &Option<Bytes>)> = pending.iter().collect();
        // In key order: RocksDB inserts sorted keys into its memtable much faster (each
        // insert starts where the last one ended).
        changes.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut records: Vec<Record> = Vec::with_capacity(changes.len() + 1);
        records.extend(changes.iter().map(|(k, v)| Record {
            key: Some((*k).clone()),
            value: (*v).clone(),
            timestamp,
            headers: Vec::new(),
        }));
        records.extend(marker);
        let written = if records.is_empty() {
            Ok(())
        } else {
            log.append(&self.topic, self.partition, &records)
                .map(|_| ())
                .map_err(fail)
        };
        drop(records);
        // Only now may the local store hold these changes (rule 1 above), and before they
        // leave `pending`, so a reader always finds them somewhere.
        let applied = written.and_then(|()| {
            self.inner
                .write_batch(&mut changes.iter().map(|(k, v)| (k.as_ref(), v.as_deref())))
        });
        drop(changes);
        drop(pending);
        let mut p = self.pending.write();
        let committing = std::mem::take(&mut p.committing);
        if let Err(e) = applied {
            // The changes wait for the next commit, behind any made since.
            let committing = Arc::try_unwrap(committing).unwrap_or_else(|shared| (*shared).clone());
            for (k, v) in committing {
                p.current.entry(k).or_insert(v);
            }
            return Err(e);
        }
        drop(p);
        log.end_offset(&self.topic, self.partition).map_err(fail)
    }

    /// Whether the wrapped store holds, or can be given, every change up to the last
    /// commit: false while a change made since replaced a committed value the store did not
    /// have yet (see [`StoreCache::behind_last_commit`]); a checkpoint must wait then.
    pub fn checkpointable(&self) -> bool {
        self.cache.as_ref().is_none_or(|c| !c.lock().behind_last_commit())
    }

    /// Writes what the cache evicted that the store does not have yet. Called with the
    /// cache locked, so no reader misses an entry between the cache and the store.
    fn settle(&self, cache: &mut StoreCache) -> StateResult<()> {
        if !cache.has_spill() {
            return Ok(());
        }
        self.inner.write_batch(&mut cache.spilled().into_iter())?;
        cache.clear_spill();
        Ok(())
    }

    /// Writes every change the cache holds that the store does not have yet.
    fn write_dirty(&self) -> StateResult<()> {
        let Some(cache) = &self.cache else { return Ok(()) };
        self.write_dirty_locked(&mut cache.lock())
    }

    fn write_dirty_locked(&self, cache: &mut StoreCache) -> StateResult<()> {
        if !cache.has_dirty() {
            return Ok(());
        }
        self.inner.write_batch(&mut cache.dirty_entries().into_iter())?;
        cache.mark_clean();
        Ok(())
    }

    /// Replays the changelog from `from` to its current end into the wrapped store.
    pub fn restore(&self, log: &dyn Log, from: i64) -> StateResult<Restored> {
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
        let mut restored = Restored {
            end,
            ..Restored::default()
        };
        if start >= end {
            return Ok(restored);
        }
        // The replay writes the store directly; the cache is dropped after it.
        self.write_dirty()?;
        let mut consumer = log.consumer().map_err(|e| fail(e.to_string()))?;
        consumer
            .assign(&[(TopicPartition::new(self.topic.clone(), self.partition), start)])
            .map_err(|e| fail(e.to_string()))?;
        let mut position = start;
        while position < end {
            let records = consumer
                .poll(100_000, Duration::from_secs(5))
                .map_err(|e| fail(e.to_string()))?;
            // The consumer's position also moves past what carries no record: Kafka's
            // transaction markers and aborted transactions.
            let consumed = consumer.positions().first().map_or(position, |(_, p)| *p);
            if records.is_empty() {
                if consumed > position {
                    position = consumed;
                    continue;
                }
                return Err(fail(format!(
                    "the changelog ended at offset {position}, before its end offset {end}"
                )));
            }
            let mut changes: Vec<(&[u8], Option<&[u8]>)> = Vec::with_capacity(records.len());
            for r in records.iter().take_while(|r| r.offset < end) {
                position = r.offset + 1;
                restored.records += 1;
                if r.record.headers.iter().any(|(name, _)| name == POSITIONS_HEADER) {
                    let list: Vec<(String, i32, i64)> = r
                        .record
                        .value
                        .as_deref()
                        .and_then(|v| serde_json::from_slice(v).ok())
                        .ok_or_else(|| fail(format!("unreadable position marker at offset {}", r.offset)))?;
                    restored.positions = Some(positions_from_list(list));
                } else if let Some(key) = &r.record.key {
                    changes.push((key, r.record.value.as_deref()));
                }
            }
            // In key order (RocksDB inserts sorted keys into its memtable much faster); the
            // sort is stable, so of two changes to one key the later is still written last.
            changes.sort_by(|a, b| a.0.cmp(b.0));
            self.inner.write_batch(&mut changes.into_iter())?;
            position = position.max(consumed.min(end));
        }
        if let Some(cache) = &self.cache {
            cache.lock().clear();
        }
        Ok(restored)
    }
}

impl KeyValueStore for ChangeLoggingStore {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn get(&self, key: &[u8]) -> StateResult<Option<Bytes>> {
        let Some(cache) = &self.cache else {
            if let Some(v) = self.pending.read().get(key) {
                return Ok(v.clone());
            }
            return self.inner.get(key);
        };
        let epoch = {
            let mut cache = cache.lock();
            if let Some(v) = cache.get(key) {
                self.settle(&mut cache)?;
                return Ok(v);
            }
            cache.epoch()
        };
        let value = self.inner.get(key)?;
        let mut cache = cache.lock();
        cache.fill(epoch, key, value.as_deref());
        self.settle(&mut cache)?;
        Ok(value)
    }

    fn get_many(&self, keys: &[&[u8]]) -> StateResult<Vec<Option<Bytes>>> {
        let mut out: Vec<Option<Bytes>> = Vec::with_capacity(keys.len());
        let mut missing: Vec<usize> = Vec::new();
        if self.cache.is_some() {
            out.resize(keys.len(), None);
            missing.extend(0..keys.len());
        } else {
            let pending = self.pending.read();
            for (i, key) in keys.iter().enumerate() {
                match pending.get(key) {
                    Some(v) => out.push(v.clone()),
                    None => {
                        out.push(None);
                        missing.push(i);
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let mut epoch = 0;
        if let Some(cache) = &self.cache {
            let mut cache = cache.lock();
            missing.retain(|i| match cache.get(keys[*i]) {
                Some(v) => {
                    out[*i] = v;
                    false
                }
                None => true,
            });
            self.settle(&mut cache)?;
            epoch = cache.epoch();
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let wanted: Vec<&[u8]> = missing.iter().map(|i| keys[*i]).collect();
        let found = self.inner.get_many(&wanted)?;
        let mut cache = self.cache.as_ref().map(|c| c.lock());
        for (i, v) in missing.into_iter().zip(found) {
            if let Some(cache) = cache.as_mut() {
                cache.fill(epoch, keys[i], v.as_deref());
            }
            out[i] = v;
        }
        if let Some(cache) = cache.as_mut() {
            self.settle(cache)?;
        }
        Ok(out)
    }

    fn put(&self, key: &[u8], value: Option<&[u8]>) -> StateResult<()> {
        let Some(cache) = &self.cache else {
            return self.put_owned(Bytes::copy_from_slice(key), value.map(Bytes::copy_from_slice));
        };
        let mut cache = cache.lock();
        if !cache.put(key, value) {
            return Err(StateError::Storage {
                store: self.inner.name().to_string(),
                message: format!("a key of {} bytes is too large to store", key.len()),
            });
        }
        // Room made for the change may have evicted committed entries.
        self.settle(&mut cache)
    }

    fn put_owned(&self, key: Bytes, value: Option<Bytes>) -> StateResult<()> {
        if self.cache.is_some() {
            return self.put(&key, value.as_deref());
        }
        self.pending.write().current.insert(key, value);
        Ok(())
    }

    fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> StateResult<Vec<Entry>> {
        // Changes not in the changelog first, then the store: a commit moves changes into
        // the store before they leave the pending map, so a concurrent reader sees every
        // change in one or both. With a cache, see below.
        if let (Some(a), Some(b)) = (from, to)
            && a >= b
        {
            return Ok(Vec::new());
        }
        let within = |k: &[u8]| from.is_none_or(|f| k >= f) && to.is_none_or(|t| k < t);
        let overlay: Vec<(Bytes, Option<Bytes>)> = if let Some(cache) = &self.cache {
            // The unlogged entries and the dirty ones written to the store in one hold of
            // the lock: a change made in between could replace a dirty entry that is then
            // in neither.
            let mut cache = cache.lock();
            let overlay = cache
                .unlogged_changes()
                .into_iter()
                .filter(|(k, _)| within(k))
                .map(|(k, v)| (Bytes::copy_from_slice(k), v.map(Bytes::copy_from_slice)))
                .collect();
            self.write_dirty_locked(&mut cache)?;
            overlay
        } else {
            let pending = self.pending.read();
            // Older changes first, so a newer one for the same key replaces it below.
            pending
                .committing
                .iter()
                .chain(pending.current.iter())
                .filter(|(k, _)| within(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        // After the pending map was read: changes a commit has moved out of it since are in
        // the store.
        let base = self.inner.range(from, to)?;
        if overlay.is_empty() {
            return Ok(base);
        }
        let mut merged: BTreeMap<Bytes, Bytes> = base.into_iter().collect();
        for (k, v) in overlay {
            match v {
                Some(v) => merged.insert(k, v),
                None => merged.remove(&k),
            };
        }
        Ok(merged.into_iter().collect())
    }

    fn approximate_len(&self) -> u64 {
        let changed = match &self.cache {
            Some(cache) => cache.lock().unlogged_len(),
            None => {
                let pending = self.pending.read();
                pending.current.len() + pending.committing.len()
            }
        };
        self.inner.approximate_len() + changed as u64
    }

    fn flush(&self) -> StateResult<()> {
        self.write_dirty()?;
        self.inner.flush()
    }
}

/// A task's stores: opened in memory or on disk per [`StateConfig`], restored from their
/// changelogs (only the tail after a checkpoint, when on disk), committed together.
pub struct TaskStores {
    stores: BTreeMap<String, SharedStore>,
    logged: Vec<Arc<ChangeLoggingStore>>,
    checkpoint: Option<Checkpoint>,
    restored_positions: Positions,
    restored_records: u64,
    /// The positions of the last marker written, so idle commits write none.
    marked: Positions,
    /// What the last commit would checkpoint, and the changelog records written since the
    /// last checkpoint.
    committed: CheckpointData,
    unchecked: i64,
    /// See [`StateConfig::exactly_once`]: checkpoints only at clean close.
    exactly_once: bool,
    /// See [`StateConfig::checkpoint_records`].
    checkpoint_records: i64,
}

impl TaskStores {
    /// Opens and restores the stores `names` of task `task_id` (reading `partition`). Without
    /// an application id (a transient query) the stores are in memory and not logged.
    pub fn open(
        names: &[String],
        application_id: Option<&str>,
        task_id: &str,
        partition: i32,
        log: &dyn Log,
        state: &StateConfig,
    ) -> StateResult<Self> {
        let mut out = TaskStores {
            stores: BTreeMap::new(),
            logged: Vec::new(),
            checkpoint: None,
            restored_positions: Positions::new(),
            restored_records: 0,
            marked: Positions::new(),
            committed: CheckpointData::default(),
            unchecked: 0,
            exactly_once: state.exactly_once,
            checkpoint_records: i64::try_from(state.checkpoint_records).unwrap_or(i64::MAX),
        };
        let Some(app) = application_id else {
            for name in names {
                out.stores
                    .insert(name.clone(), Arc::new(MemoryStore::new(name.clone())));
            }
            return Ok(out);
        };
        let task_dir = state.task_dir(&path_safe(app), task_id);
        let checkpoint = task_dir.as_deref().map(Checkpoint::in_dir);
        // An unreadable checkpoint is as good as none: every store is rebuilt.
        let recorded = checkpoint.as_ref().and_then(|c| c.read().ok().flatten());
        if state.exactly_once
            && let Some(c) = &checkpoint
        {
            // From here until the next clean close the local stores may run ahead of the
            // committed changelog: a crash must rebuild them (Kafka Streams does the same).
            c.clear()?;
        }
        let mut restored_positions: Vec<Option<Positions>> = Vec::new();
        for name in names {
            let topic = changelog_topic(app, name);
            let (inner, from, checkpointed): (SharedStore, i64, bool) = match &task_dir {
                Some(dir) => {
                    let store_dir = dir.join("rocksdb").join(path_safe(name));
                    let usable = recorded
                        .as_ref()
                        .and_then(|c| c.changelogs.get(&topic).copied())
                        .filter(|offset| {
                            let start = log.start_offset(&topic, partition).unwrap_or(i64::MAX);
                            let end = log.end_offset(&topic, partition).unwrap_or(-1);
                            (start..=end).contains(offset)
                        });
                    if usable.is_none() {
                        RocksStore::wipe(name, &store_dir)?;
                    }
                    let store = Arc::new(RocksStore::open(name.clone(), &store_dir)?);
                    (store, usable.unwrap_or(0), usable.is_some())
                }
                None => (Arc::new(MemoryStore::new(name.clone())), 0, false),
            };
            // In-memory stores answer reads as fast as the cache would.
            let cache_bytes = if task_dir.is_some() {
                state.store_cache_bytes / names.len() as u64
            } else {
                0
            };
            let logged = Arc::new(
                ChangeLoggingStore::new(inner, topic, partition)
                    .with_cache(usize::try_from(cache_bytes).unwrap_or(usize::MAX)),
            );
            let restored = logged.restore(log, from)?;
            out.restored_records += restored.records;
            // No marker in the tail: the checkpoint's positions are the latest.
            let positions = restored.positions.or_else(|| {
                checkpointed
                    .then(|| recorded.as_ref().map(|c| positions_from_list(c.sources.clone())))
                    .flatten()
            });
            restored_positions.push(positions);
            out.stores.insert(name.clone(), logged.clone());
            out.logged.push(logged);
        }
        out.restored_positions = combine(restored_positions);
        out.marked = out.restored_positions.clone();
        out.checkpoint = checkpoint;
        Ok(out)
    }

    /// The stores by name, as processors and pull queries use them.
    pub fn stores(&self) -> &BTreeMap<String, SharedStore> {
        &self.stores
    }

    /// The source offsets the restored state already reflects: input before them must not
    /// be processed again.
    pub fn restored_positions(&self) -> &Positions {
        &self.restored_positions
    }

    /// Changelog records replayed when the stores were opened.
    pub fn restored_records(&self) -> u64 {
        self.restored_records
    }

    /// Commits every store's pending changes, with a marker of `positions` (the task's
    /// processed offsets) when they moved; records a checkpoint once
    /// [`StateConfig::checkpoint_records`] changelog records have accumulated since the last
    /// one.
    pub fn commit(&mut self, log: &dyn Log, timestamp: i64, positions: &Positions) -> StateResult<()> {
        if self.logged.is_empty() {
            return Ok(());
        }
        let marker = (*positions != self.marked).then_some(positions);
        let mut offsets = BTreeMap::new();
        // Downstream stores first. Stores are declared in topology order, and a downstream
        // store (a table's materialized rows) is a pure function of its upstream's output: if
        // a crash lands between two changelog writes, the upstream store is the one left
        // behind, the restart replays input from its marker, and the downstream rows come out
        // the same again. The other order would fold that input into the upstream twice.
        for store in self.logged.iter().rev() {
            let before = self.committed.changelogs.get(store.topic()).copied();
            let end = store.commit(log, timestamp, marker)?;
            self.unchecked += before.map_or(end, |b| end - b).max(0);
            offsets.insert(store.topic().to_string(), end);
        }
        self.marked = positions.clone();
        self.committed = CheckpointData {
            changelogs: offsets,
            sources: positions
                .iter()
                .map(|(tp, o)| (tp.topic.clone(), tp.partition, *o))
                .collect(),
        };
        if self.unchecked >= self.checkpoint_records && !self.exactly_once {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Flushes every store and records the last commit in the checkpoint (at clean close,
    /// so the next start replays nothing).
    pub fn checkpoint(&mut self) -> StateResult<()> {
        let Some(checkpoint) = &self.checkpoint else {
            return Ok(());
        };
        if self.committed.changelogs.is_empty() {
            return Ok(());
        }
        // The stores must hold on disk what the checkpoint claims before it claims it.
        for store in &self.logged {
            store.flush()?;
        }
        // Closing after a failed commit, a store may lack a committed value its cache no
        // longer holds: the last checkpoint stays (still true: stores only ever hold what
        // their changelogs hold), and a restart replays the changelog from there.
        if !self.logged.iter().all(|s| s.checkpointable()) {
            return Ok(());
        }
        checkpoint.write(&self.committed)?;
        self.unchecked = 0;
        Ok(())
    }
}

/// The positions every store agrees on. Stores of one task get the same marker at each
/// commit, so they differ only when a crash fell between two stores' changelog writes; then
/// the earliest positions win (that input is processed again: at least once, never lost).
fn combine(all: Vec<Option<Positions>>) -> Positions {
    let mut iter = all.into_iter();
    let Some(Some(mut out)) = iter.next() else {
        return Positions::new();
    };
    for next in iter {
        let Some(next) = next else { return Positions::new() };
        if next != out {
            out.retain(|tp, offset| match next.get(tp) {
                Some(o) => {
                    *offset = (*offset).min(*o);
                    true
                }
                None => false,
            });
        }
    }
    out
}

/// A name usable as one path component: characters other than ASCII letters, digits, `.`,
/// `_` and `-` become `_`, and `.`/`..` cannot escape the directory.
fn path_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.chars().all(|c| c == '.') {
        format!("_{safe}")
    } else {
        safe
    }
}

/// What a checkpoint records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointData {
    /// For each changelog topic, the offset the local store holds everything before.
    pub changelogs: BTreeMap<String, i64>,
    /// The source offsets (topic, partition, next offset) that state reflects.
    #[serde(default)]
    pub sources: Vec<(String, i32, i64)>,
}

/// A task's checkpoint (`<task dir>/.checkpoint`): for each changelog partition, the offset
/// its local store already holds, so a restart replays only the tail. Written atomically
/// at each commit.
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

    /// What the checkpoint records (`None` when there is none).
    pub fn read(&self) -> StateResult<Option<CheckpointData>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StateError::Storage {
                    store: self.path.display().to_string(),
                    message: format!("unreadable checkpoint: {e}"),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::Storage {
                store: self.path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// Records `data`, atomically: a crash leaves the old checkpoint or the new one.
    pub fn write(&self, data: &CheckpointData) -> StateResult<()> {
        let io = |e: std::io::Error| StateError::Storage {
            store: self.path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("tmp");
        let bytes = serde_json::to_vec(data).map_err(|e| StateError::Storage {
            store: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// Removes the checkpoint, so the next start rebuilds the stores from their changelogs.
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
    use crate::state::StoreKind;
    use crate::state::memory::MemoryStore;

    fn positions(offset: i64) -> Positions {
        Positions::from([(TopicPartition::new("input", 1), offset)])
    }

    #[test]
    fn changes_survive_through_the_changelog() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(dir.path()).unwrap();
        let topic = changelog_topic("app", "counts");
        log.create_topic(&topic, &TopicConfig::new(2)).unwrap();
        let inner: SharedStore = Arc::new(MemoryStore::new("counts"));
        let store = ChangeLoggingStore::new(inner.clone(), topic.clone(), 1);
        store.put(b"a", Some(b"1")).unwrap();
        store.put(b"a", Some(b"2")).unwrap();
        store.put(b"b", Some(b"1")).unwrap();
        assert_eq!(
            store.get(b"a").unwrap().as_deref(),
            Some(&b"2"[..]),
            "reads see pending changes"
        );
        assert_eq!(store.range(None, None).unwrap().len(), 2);
        assert_eq!(
            inner.get(b"a").unwrap(),
            None,
            "the store holds only what the changelog holds"
        );
        let end = store.commit(log.as_ref(), 0, None).unwrap();
        assert_eq!(
            end, 2,
            "two keys, one record each: updates to one key fold before a commit"
        );
        assert_eq!(inner.get(b"a").unwrap().as_deref(), Some(&b"2"[..]));
        store.put(b"b", None).unwrap();
        assert_eq!(
            store.range(None, None).unwrap().len(),
            1,
            "a pending delete hides the key"
        );
        store.commit(log.as_ref(), 0, Some(&positions(10))).unwrap();

        let fresh = ChangeLoggingStore::new(Arc::new(MemoryStore::new("counts")), topic, 1);
        let restored = fresh.restore(log.as_ref(), 0).unwrap();
        assert_eq!(restored.end, 4, "three changes and a marker");
        assert_eq!(restored.records, 4);
        assert_eq!(restored.positions, Some(positions(10)));
        assert_eq!(fresh.get(b"a").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(fresh.get(b"b").unwrap(), None);
        assert_eq!(fresh.get(POSITIONS_KEY).unwrap(), None, "markers are not state");
    }

    #[test]
    fn checkpoints_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoint::in_dir(&dir.path().join("0_1"));
        assert_eq!(cp.read().unwrap(), None);
        let data = CheckpointData {
            changelogs: BTreeMap::from([("t".to_string(), 42)]),
            sources: vec![("input".to_string(), 1, 7)],
        };
        cp.write(&data).unwrap();
        assert_eq!(cp.read().unwrap(), Some(data));
        cp.clear().unwrap();
        assert_eq!(cp.read().unwrap(), None);
        std::fs::write(dir.path().join("0_1").join(".checkpoint"), b"{oops").unwrap();
        assert!(cp.read().is_err(), "a torn checkpoint is an error, not a panic");
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        log: Arc<EmbeddedLog>,
        state: StateConfig,
        names: Vec<String>,
    }

    impl Fixture {
        fn new(store: StoreKind) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let log = EmbeddedLog::open(&dir.path().join("log")).unwrap();
            for name in ["counts", "sums"] {
                log.create_topic(&changelog_topic("app", name), &TopicConfig::new(1))
                    .unwrap();
            }
            let state = StateConfig {
                state_dir: Some(dir.path().join("state")),
                store,
                exactly_once: false,
                store_cache_bytes: 1 << 20,
                checkpoint_records: 1000,
            };
            Fixture {
                _dir: dir,
                log,
                state,
                names: vec!["counts".to_string(), "sums".to_string()],
            }
        }

        fn open(&self) -> TaskStores {
            TaskStores::open(&self.names, Some("app"), "0_0", 0, self.log.as_ref(), &self.state).unwrap()
        }

        fn task_dir(&self) -> PathBuf {
            self.state.task_dir("app", "0_0").unwrap()
        }

        /// Writes `n` keys starting at `from` into both stores and commits.
        fn write(&self, stores: &mut TaskStores, from: u32, n: u32, position: i64) {
            for i in from..from + n {
                for s in stores.stores().values() {
                    s.put(&i.to_be_bytes(), Some(&i.to_le_bytes())).unwrap();
                }
            }
            stores.commit(self.log.as_ref(), 0, &positions(position)).unwrap();
            // Below the record threshold a commit does not checkpoint; a clean close does.
            stores.checkpoint().unwrap();
        }
    }

    fn contents(stores: &TaskStores, name: &str) -> Vec<Entry> {
        stores.stores()[name].range(None, None).unwrap()
    }

    #[test]
    fn a_clean_restart_replays_only_the_tail() {
        let f = Fixture::new(StoreKind::Rocksdb);
        let mut stores = f.open();
        assert_eq!(stores.restored_records(), 0);
        f.write(&mut stores, 0, 500, 500);
        let old_checkpoint = std::fs::read(f.task_dir().join(".checkpoint")).unwrap();
        f.write(&mut stores, 500, 20, 520);
        let expected = contents(&stores, "counts");
        assert_eq!(expected.len(), 520);
        drop(stores);

        let stores = f.open();
        assert_eq!(stores.restored_records(), 0, "the checkpoint is at the changelog end");
        assert_eq!(contents(&stores, "counts"), expected);
        assert_eq!(stores.restored_positions(), &positions(520));
        drop(stores);

        // A crash after the second commit's changelog write, before its checkpoint.
        std::fs::write(f.task_dir().join(".checkpoint"), old_checkpoint).unwrap();
        let stores = f.open();
        assert_eq!(
            stores.restored_records(),
            2 * 21,
            "each store replays only the second commit: 20 changes and a marker"
        );
        assert_eq!(contents(&stores, "counts"), expected);
        assert_eq!(contents(&stores, "sums"), expected);
        assert_eq!(
            stores.restored_positions(),
            &positions(520),
            "the marker in the tail wins"
        );
    }

    #[test]
    fn the_store_cache_answers_reads_and_follows_commits() {
        let f = Fixture::new(StoreKind::Rocksdb);
        let mut stores = f.open();
        let store = stores.stores()["counts"].clone();
        let inner = stores.logged[0].inner().clone();
        let get = |k: &[u8]| store.get(k).unwrap().map(|v| v.to_vec());
        store.put(b"k", Some(b"1")).unwrap();
        stores.commit(f.log.as_ref(), 0, &positions(1)).unwrap();
        assert_eq!(get(b"k"), Some(b"1".to_vec()));
        assert_eq!(get(b"absent"), None);
        // Written behind the cache's back (nothing does this outside tests): the reads that
        // follow still answer from the cache, values and absences alike.
        inner.put(b"k", Some(b"behind")).unwrap();
        inner.put(b"absent", Some(b"behind")).unwrap();
        assert_eq!(get(b"k"), Some(b"1".to_vec()));
        assert_eq!(get(b"absent"), None);
        assert_eq!(
            store.get_many(&[b"k", b"absent"]).unwrap(),
            vec![Some(Bytes::from_static(b"1")), None]
        );
        // A commit puts what it wrote to the changelog in the cache, not yet in RocksDB:
        // reads see pending changes first, then the cache.
        store.put(b"k", Some(b"2")).unwrap();
        store.put(b"absent", None).unwrap();
        assert_eq!(get(b"k"), Some(b"2".to_vec()));
        stores.commit(f.log.as_ref(), 0, &positions(2)).unwrap();
        assert_eq!(get(b"k"), Some(b"2".to_vec()));
        assert_eq!(get(b"absent"), None);
        assert_eq!(inner.get(b"k").unwrap().as_deref(), Some(&b"behind"[..]));
        // A range read, like a checkpoint, writes them to RocksDB first.
        let all: Vec<(Bytes, Bytes)> = store.range(None, None).unwrap();
        assert_eq!(all, vec![(Bytes::from_static(b"k"), Bytes::from_static(b"2"))]);
        assert_eq!(inner.get(b"k").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(inner.get(b"absent").unwrap(), None);
        store.put(b"k", Some(b"3")).unwrap();
        stores.commit(f.log.as_ref(), 0, &positions(3)).unwrap();
        stores.checkpoint().unwrap();
        assert_eq!(inner.get(b"k").unwrap().as_deref(), Some(&b"3"[..]));
    }

    /// Rule 1 with a store cache far smaller than what a commit interval changes: nothing
    /// reaches RocksDB before the changelog has it, every change is readable meanwhile, and
    /// a crash before the commit leaves a restart with exactly the committed state.
    #[test]
    fn a_small_store_cache_keeps_uncommitted_changes_out_of_rocksdb() {
        let mut f = Fixture::new(StoreKind::Rocksdb);
        // Room for a few dozen entries.
        f.state.store_cache_bytes = 4096;
        let mut stores = f.open();
        let store = stores.stores()["counts"].clone();
        let inner = stores.logged[0].inner().clone();
        assert_eq!(inner.name(), "counts");
        let key = |i: u32| i.to_be_bytes();
        for i in 0..2000u32 {
            store.put(&key(i), Some(&i.to_le_bytes())).unwrap();
        }
        assert_eq!(
            inner.range(None, None).unwrap().len(),
            0,
            "RocksDB took uncommitted changes"
        );
        assert_eq!(store.get(&key(7)).unwrap().as_deref(), Some(&7u32.to_le_bytes()[..]));
        assert_eq!(store.range(None, None).unwrap().len(), 2000);
        assert_eq!(store.approximate_len(), 2000);
        stores.commit(f.log.as_ref(), 0, &positions(2000)).unwrap();
        // Logged now: the cache evicts them to RocksDB as reads and writes make room.
        for i in 0..2000u32 {
            assert_eq!(store.get(&key(i)).unwrap().as_deref(), Some(&i.to_le_bytes()[..]));
        }
        // Changed again (1000 of them) and deleted (the rest of the first 1000), uncommitted.
        for i in 0..1000u32 {
            store.put(&key(i), (i % 2 == 0).then_some(&b"new"[..])).unwrap();
        }
        for i in 0..1000u32 {
            let want = (i % 2 == 0).then(|| b"new".to_vec());
            assert_eq!(store.get(&key(i)).unwrap().map(|v| v.to_vec()), want, "key {i}");
        }
        assert_eq!(store.range(None, None).unwrap().len(), 1500);
        // Reads of the other keys fill the cache and turn its generations over, with the
        // uncommitted changes in them.
        for _ in 0..2 {
            for i in 1000..2000u32 {
                assert_eq!(store.get(&key(i)).unwrap().as_deref(), Some(&i.to_le_bytes()[..]));
            }
        }
        for i in 0..1000u32 {
            assert_eq!(
                inner.get(&key(i)).unwrap().as_deref(),
                Some(&i.to_le_bytes()[..]),
                "RocksDB has key {i} as committed, or nothing yet"
            );
        }
        // A crash: the second round was never committed.
        drop(stores);
        drop(store);
        drop(inner);
        let stores = f.open();
        let store = stores.stores()["counts"].clone();
        assert_eq!(store.range(None, None).unwrap().len(), 2000);
        for i in 0..2000u32 {
            assert_eq!(store.get(&key(i)).unwrap().as_deref(), Some(&i.to_le_bytes()[..]));
        }
    }

    /// A committed value that was changed again before it reached RocksDB is not in memory
    /// any more: a checkpoint taken then (closing after a failed commit) must not claim the
    /// last commit, or the restart would skip that value in the changelog.
    #[test]
    fn a_checkpoint_waits_while_a_committed_value_is_only_in_the_changelog() {
        let f = Fixture::new(StoreKind::Rocksdb);
        let mut stores = f.open();
        let store = stores.stores()["counts"].clone();
        store.put(b"k", Some(b"v1")).unwrap();
        stores.commit(f.log.as_ref(), 0, &positions(1)).unwrap();
        stores.checkpoint().unwrap();
        // v2 is committed (below the checkpoint threshold: no checkpoint), so it waits in
        // the cache, dirty; v3 replaces it there before any commit.
        store.put(b"k", Some(b"v2")).unwrap();
        stores.commit(f.log.as_ref(), 0, &positions(2)).unwrap();
        store.put(b"k", Some(b"v3")).unwrap();
        assert!(!stores.logged[0].checkpointable());
        // Closing without a commit: the checkpoint stays where v1 was.
        stores.checkpoint().unwrap();
        drop(stores);
        drop(store);
        let stores = f.open();
        assert_eq!(
            stores.stores()["counts"].get(b"k").unwrap().as_deref(),
            Some(&b"v2"[..]),
            "the committed value, replayed from the changelog"
        );
        // Once the newer value is committed, checkpoints go on.
        let store = stores.stores()["counts"].clone();
        store.put(b"k", Some(b"v4")).unwrap();
        let mut stores = stores;
        stores.commit(f.log.as_ref(), 0, &positions(3)).unwrap();
        assert!(stores.logged.iter().all(|s| s.checkpointable()));
    }

    #[test]
    fn commits_checkpoint_only_every_so_many_changelog_records() {
        let f = Fixture::new(StoreKind::Rocksdb);
        let mut stores = f.open();
        let checkpoint = Checkpoint::in_dir(&f.task_dir());
        for i in 0..10u32 {
            stores.stores()["counts"].put(&i.to_be_bytes(), Some(b"x")).unwrap();
        }
        stores.commit(f.log.as_ref(), 0, &positions(10)).unwrap();
        assert_eq!(checkpoint.read().unwrap(), None, "11 records are below the threshold");
        let n = f.state.checkpoint_records as u32;
        for i in 0..n {
            stores.stores()["counts"].put(&i.to_be_bytes(), Some(b"y")).unwrap();
        }
        stores.commit(f.log.as_ref(), 0, &positions(20)).unwrap();
        let data = checkpoint.read().unwrap().unwrap();
        assert_eq!(
            data.changelogs[&changelog_topic("app", "counts")],
            11 + i64::from(n) + 1
        );
        assert_eq!(data.sources, vec![("input".to_string(), 1, 20)]);
        drop(stores);
        let stores = f.open();
        assert_eq!(stores.restored_records(), 0);
        assert_eq!(
            stores.stores()["counts"].get(&0u32.to_be_bytes()).unwrap().as_deref(),
            Some(&b"y"[..])
        );
    }

    #[test]
    fn without_a_checkpoint_the_local_store_is_wiped_and_rebuilt() {
        let f = Fixture::new(StoreKind::Rocksdb);
        let mut stores = f.open();
        f.write(&mut stores, 0, 100, 100);
        // Uncommitted changes never reach the local store or the changelog.
        stores.stores()["counts"].put(b"uncommitted", Some(b"x")).unwrap();
        drop(stores);
        // Something the changelog does not hold, as a store ahead of it would.
        {
            let rogue = RocksStore::open("counts", &f.task_dir().join("rocksdb").join("counts")).unwrap();
            rogue.put(b"rogue", Some(b"x")).unwrap();
            rogue.flush().unwrap();
        }
        Checkpoint::in_dir(&f.task_dir()).clear().unwrap();
        let stores = f.open();
        assert_eq!(stores.restored_records(), 2 * 101, "everything is replayed");
        let counts = contents(&stores, "counts");
        assert_eq!(counts.len(), 100);
        assert!(
            counts.iter().all(|(k, _)| k.len() == 4),
            "no rogue or uncommitted key: {counts:?}"
        );
        assert_eq!(stores.restored_positions(), &positions(100));
    }

    #[test]
    fn a_checkpoint_past_the_changelog_end_is_not_trusted() {
        let f = Fixture::new(StoreKind::Rocksdb);
        let mut stores = f.open();
        f.write(&mut stores, 0, 10, 10);
        drop(stores);
        Checkpoint::in_dir(&f.task_dir())
            .write(&CheckpointData {
                changelogs: BTreeMap::from([
                    (changelog_topic("app", "counts"), 999),
                    (changelog_topic("app", "sums"), 999),
                ]),
                sources: Vec::new(),
            })
            .unwrap();
        let stores = f.open();
        assert_eq!(stores.restored_records(), 2 * 11);
        assert_eq!(contents(&stores, "sums").len(), 10);
    }

    #[test]
    fn memory_stores_replay_the_whole_changelog_every_time() {
        let f = Fixture::new(StoreKind::Memory);
        let mut stores = f.open();
        f.write(&mut stores, 0, 10, 10);
        // An idle commit (positions unchanged) writes no marker.
        stores.commit(f.log.as_ref(), 0, &positions(10)).unwrap();
        drop(stores);
        let stores = f.open();
        assert_eq!(stores.restored_records(), 2 * 11);
        assert_eq!(contents(&stores, "counts").len(), 10);
        assert!(
            !f._dir.path().join("state").exists(),
            "memory stores leave nothing on disk"
        );
    }

    #[test]
    fn disagreeing_markers_fall_back_to_the_earliest_positions() {
        let a = positions(10);
        let mut b = positions(7);
        b.insert(TopicPartition::new("other", 0), 3);
        assert_eq!(combine(vec![Some(a.clone()), Some(a.clone())]), a);
        assert_eq!(combine(vec![Some(a.clone()), Some(b)]), positions(7));
        assert_eq!(combine(vec![Some(a), None]), Positions::new());
        assert_eq!(combine(Vec::new()), Positions::new());
    }

    #[test]
    fn path_components_cannot_escape() {
        assert_eq!(
            path_safe("_runnel-default_query_CTAS_T_1"),
            "_runnel-default_query_CTAS_T_1"
        );
        assert_eq!(path_safe("a/b c"), "a_b_c");
        assert_eq!(path_safe(".."), "_..");
        assert_eq!(path_safe(""), "_");
    }
}
