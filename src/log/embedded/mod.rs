//! The embedded log: durable segment files under the data directory, so Runnel runs without
//! a broker.
//!
//! Layout of the data directory:
//!
//! ```text
//! LOCK                                  pid of the process holding the directory (flock)
//! topics/<topic>/topic.json             partitions, replicas, configs (written last)
//! topics/<topic>/<partition>/<base>.log     record frames from offset <base> (20 digits)
//! topics/<topic>/<partition>/<base>.index   sparse offset → byte position index
//! topics/<topic>/<partition>/log-start-offset  after records were deleted
//! topics/<topic>/<partition>/swap, *.cleaned, cleaner-horizons   compaction (see compaction.rs)
//! groups/<hex of group name>.json       committed offsets of a consumer group
//! trash/                                deleted topics on their way out
//! ```
//!
//! Appends go to the OS before they return, so a killed process loses nothing; fsync happens
//! per [`FsyncPolicy`]. On open, each partition's last segment is checked from its last index
//! entry: a torn tail is cut off, damage followed by valid records is reported as
//! [`LogError::Corrupt`].

mod cleaner;
mod compaction;
mod consumer;
mod dir_lock;
mod fetch;
mod files;
mod frame;
mod groups;
mod index;
mod notify;
mod options;
mod partition;
mod scan;
mod segment;
mod topic;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::RwLock;

pub use compaction::PassStats;
pub use consumer::EmbeddedConsumer;
pub use options::{EmbeddedLogOptions, FsyncPolicy};

use cleaner::Cleaner;
use dir_lock::DirLock;
use groups::GroupStore;
use notify::AppendNotifier;
use partition::Partition;
use topic::{PartitionContext, Topic};

use crate::log::{Log, LogConsumer, LogError, LogResult, Record, TopicConfig, TopicDescription, TopicPartition};

/// The embedded, file-backed log. Cheap to share: every method takes `&self` and partitions
/// lock independently.
#[derive(Debug)]
pub struct EmbeddedLog {
    shared: Arc<Shared>,
    /// Compacts `cleanup.policy=compact` topics in the background; stopped on drop.
    _cleaner: Option<Cleaner>,
}

/// State shared by the log and its consumers.
#[derive(Debug)]
struct Shared {
    root: PathBuf,
    topics_dir: PathBuf,
    trash_dir: PathBuf,
    context: PartitionContext,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    groups: GroupStore,
    /// Makes trash names unique within this process.
    trash_counter: AtomicU64,
    _lock: DirLock,
}

impl Shared {
    fn partition(&self, topic: &str, partition: i32) -> LogResult<Arc<Partition>> {
        let topics = self.topics.read();
        let t = topics
            .get(topic)
            .ok_or_else(|| LogError::UnknownTopic(topic.to_string()))?;
        t.partition(partition).cloned()
    }
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log in `dir` with default options.
    pub fn open(dir: &Path) -> LogResult<Arc<EmbeddedLog>> {
        Self::open_with(dir, EmbeddedLogOptions::default())
    }

    /// Opens (creating if needed) the log in `dir`, locking the directory against other
    /// processes and recovering every partition.
    pub fn open_with(dir: &Path, options: EmbeddedLogOptions) -> LogResult<Arc<EmbeddedLog>> {
        options.validate()?;
        fs::create_dir_all(dir)
            .map_err(|e| LogError::io(format!("cannot create data directory {}", dir.display()), e))?;
        let lock = DirLock::acquire(dir)?;
        let topics_dir = dir.join("topics");
        let trash_dir = dir.join("trash");
        files::create_dir(&topics_dir)?;
        files::create_dir(&trash_dir)?;
        empty_trash(&trash_dir)?;
        let durable = options.fsync != FsyncPolicy::OnFlush;
        let groups = GroupStore::open(&dir.join("groups"), durable)?;
        let context = PartitionContext {
            options: Arc::new(options),
            notifier: Arc::new(AppendNotifier::default()),
        };
        let shared = Shared {
            root: dir.to_path_buf(),
            topics_dir,
            trash_dir,
            context,
            topics: RwLock::new(BTreeMap::new()),
            groups,
            trash_counter: AtomicU64::new(0),
            _lock: lock,
        };
        let topics = load_topics(&shared)?;
        *shared.topics.write() = topics;
        let shared = Arc::new(shared);
        let cleaner = match shared.context.options.compaction_interval {
            Some(interval) => Some(
                Cleaner::start(Arc::downgrade(&shared), interval)
                    .map_err(|e| LogError::io("cannot start the log cleaner thread".to_string(), e))?,
            ),
            None => None,
        };
        Ok(Arc::new(EmbeddedLog {
            shared,
            _cleaner: cleaner,
        }))
    }

    /// Compacts every `cleanup.policy=compact` partition that had appends since its last
    /// pass, now, instead of when the cleaner next finds enough to do.
    pub fn compact_now(&self) -> LogResult<PassStats> {
        cleaner::compact_all(&self.shared, true, &AtomicBool::new(false))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.root
    }

    /// Moves `path` into the trash and deletes it there, so a crash mid-delete never leaves a
    /// half-deleted topic in `topics/`.
    fn discard(&self, path: &Path, name: &str) -> LogResult<()> {
        let n = self.shared.trash_counter.fetch_add(1, Ordering::Relaxed);
        let target = self.shared.trash_dir.join(format!("{name}.{}.{n}", std::process::id()));
        fs::rename(path, &target)
            .map_err(|e| LogError::io(format!("cannot move {} to the trash", path.display()), e))?;
        fs::remove_dir_all(&target).map_err(|e| LogError::io(format!("cannot delete {}", target.display()), e))
    }
}

fn empty_trash(trash: &Path) -> LogResult<()> {
    for (_, path) in files::list_dir(trash)? {
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.map_err(|e| LogError::io(format!("cannot delete {}", path.display()), e))?;
    }
    Ok(())
}

/// Opens every topic directory. A directory without metadata is a create that was
/// interrupted (metadata is written last), so it is thrown away.
fn load_topics(shared: &Shared) -> LogResult<BTreeMap<String, Arc<Topic>>> {
    let mut topics = BTreeMap::new();
    for (name, path) in files::list_dir(&shared.topics_dir)? {
        if topic::validate_name(&name).is_err() || !path.is_dir() {
            continue;
        }
        if !path.join(topic::META_FILE).exists() {
            let target = shared.trash_dir.join(format!("incomplete-{name}"));
            fs::rename(&path, &target)
                .and_then(|_| fs::remove_dir_all(&target))
                .map_err(|e| LogError::io(format!("cannot remove incomplete topic {}", path.display()), e))?;
            continue;
        }
        let topic = Topic::open(&path, &name, &shared.context)?;
        topics.insert(name, Arc::new(topic));
    }
    Ok(topics)
}

impl Log for EmbeddedLog {
    fn describe(&self) -> String {
        format!("embedded log at {}", self.shared.root.display())
    }

    fn create_topic(&self, name: &str, config: &TopicConfig) -> LogResult<()> {
        topic::validate_name(name)?;
        let mut topics = self.shared.topics.write();
        if topics.contains_key(name) {
            return Err(LogError::TopicExists(name.to_string()));
        }
        let dir = self.shared.topics_dir.join(name);
        if dir.exists() {
            // Left over from a delete whose removal failed; it is not a live topic.
            self.discard(&dir, name)?;
        }
        match Topic::create(&dir, name, config, &self.shared.context) {
            Ok(topic) => {
                topics.insert(name.to_string(), Arc::new(topic));
                Ok(())
            }
            Err(e) => {
                // Best effort: without metadata the directory is discarded on the next open.
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    fn delete_topic(&self, name: &str) -> LogResult<()> {
        let topic = {
            let mut topics = self.shared.topics.write();
            let topic = topics
                .remove(name)
                .ok_or_else(|| LogError::UnknownTopic(name.to_string()))?;
            // Waits for appends in flight; later appends and reads fail as unknown topic.
            for partition in topic.partitions() {
                partition.mark_deleted();
            }
            topic
        };
        self.shared.groups.forget_topic(name)?;
        let dir = self.shared.topics_dir.join(name);
        drop(topic);
        self.discard(&dir, name)
    }

    fn describe_topic(&self, name: &str) -> LogResult<Option<TopicDescription>> {
        Ok(self.shared.topics.read().get(name).map(|t| t.description()))
    }

    fn list_topics(&self) -> LogResult<Vec<TopicDescription>> {
        // The map is ordered by name, so the list is sorted.
        Ok(self.shared.topics.read().values().map(|t| t.description()).collect())
    }

    fn append(&self, topic: &str, partition: i32, records: &[Record]) -> LogResult<i64> {
        self.shared.partition(topic, partition)?.append(records)
    }

    fn end_offset(&self, topic: &str, partition: i32) -> LogResult<i64> {
        self.shared.partition(topic, partition)?.end_offset()
    }

    fn end_offsets(&self, partitions: &mut dyn Iterator<Item = &TopicPartition>) -> Vec<i64> {
        // One look at the topic map, and each topic found once for its run of partitions.
        let topics = self.shared.topics.read();
        let mut current: Option<(&str, &Arc<Topic>)> = None;
        partitions
            .map(|tp| {
                let topic = match current {
                    Some((name, t)) if name == tp.topic => Some(t),
                    _ => {
                        current = topics.get(&tp.topic).map(|t| (tp.topic.as_str(), t));
                        current.map(|(_, t)| t)
                    }
                };
                topic
                    .and_then(|t| t.partition(tp.partition).ok())
                    .and_then(|p| p.end_offset().ok())
                    .unwrap_or(0)
            })
            .collect()
    }

    fn start_offset(&self, topic: &str, partition: i32) -> LogResult<i64> {
        self.shared.partition(topic, partition)?.start_offset()
    }

    fn delete_records_before(&self, topic: &str, partition: i32, offset: i64) -> LogResult<()> {
        self.shared.partition(topic, partition)?.delete_records_before(offset)
    }

    fn commit(&self, group: &str, offsets: &[(TopicPartition, i64)]) -> LogResult<()> {
        self.shared.groups.commit(group, offsets)
    }

    fn committed(&self, group: &str, topic: &str) -> LogResult<BTreeMap<i32, i64>> {
        Ok(self.shared.groups.committed(group, topic))
    }

    fn delete_group(&self, group: &str) -> LogResult<()> {
        self.shared.groups.delete_group(group)
    }

    fn consumer(&self) -> LogResult<Box<dyn LogConsumer>> {
        Ok(Box::new(EmbeddedConsumer::new(Arc::clone(&self.shared))))
    }

    fn flush(&self) -> LogResult<()> {
        let topics: Vec<Arc<Topic>> = self.shared.topics.read().values().cloned().collect();
        for topic in topics {
            for partition in topic.partitions() {
                partition.flush()?;
            }
        }
        Ok(())
    }
}
