//! Committed consumer-group offsets: one JSON file per group, replaced atomically.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::files;
use crate::log::{LogError, LogResult, TopicPartition};

/// Offsets of one group: topic → partition → next offset to read.
type GroupOffsets = BTreeMap<String, BTreeMap<i32, i64>>;

/// What a group file holds. The name is stored inside because the file name is an encoding.
#[derive(Debug, Serialize, Deserialize)]
struct GroupFile {
    group: String,
    offsets: GroupOffsets,
}

/// Every group's committed offsets, cached in memory and written through to disk.
#[derive(Debug)]
pub struct GroupStore {
    dir: PathBuf,
    durable: bool,
    groups: Mutex<BTreeMap<String, GroupOffsets>>,
}

/// Group names are free text, so files are named by the name's hex bytes.
fn file_name(group: &str) -> String {
    let mut name = String::with_capacity(group.len() * 2 + 5);
    for b in group.bytes() {
        let _ = write!(name, "{b:02x}");
    }
    name.push_str(".json");
    name
}

impl GroupStore {
    /// Loads the groups stored in `dir`, creating it if needed. With `durable`, commits are
    /// fsynced.
    pub fn open(dir: &Path, durable: bool) -> LogResult<GroupStore> {
        files::create_dir(dir)?;
        let mut groups = BTreeMap::new();
        for (name, path) in files::list_dir(dir)? {
            if name.ends_with(".tmp") {
                let _ = fs::remove_file(&path);
                continue;
            }
            if !name.ends_with(".json") {
                continue;
            }
            let file: GroupFile = serde_json::from_slice(&files::read(&path)?).map_err(|e| LogError::Corrupt {
                path: path.display().to_string(),
                reason: format!("invalid committed offsets: {e}"),
            })?;
            groups.insert(file.group, file.offsets);
        }
        Ok(GroupStore {
            dir: dir.to_path_buf(),
            durable,
            groups: Mutex::new(groups),
        })
    }

    fn write(&self, group: &str, offsets: &GroupOffsets) -> LogResult<()> {
        let file = GroupFile {
            group: group.to_string(),
            offsets: offsets.clone(),
        };
        let json = serde_json::to_vec(&file)
            .map_err(|e| LogError::Invalid(format!("cannot encode committed offsets: {e}")))?;
        files::write_atomically(&self.dir.join(file_name(group)), &json, self.durable)
    }

    /// Records offsets for a group; the commit is on disk when this returns.
    pub fn commit(&self, group: &str, offsets: &[(TopicPartition, i64)]) -> LogResult<()> {
        if group.is_empty() {
            return Err(LogError::Invalid("consumer group name must not be empty".into()));
        }
        if let Some((tp, offset)) = offsets.iter().find(|(_, o)| *o < 0) {
            return Err(LogError::Invalid(format!(
                "cannot commit negative offset {offset} for {}-{}",
                tp.topic, tp.partition
            )));
        }
        let mut groups = self.groups.lock();
        let mut updated = groups.get(group).cloned().unwrap_or_default();
        for (tp, offset) in offsets {
            updated
                .entry(tp.topic.clone())
                .or_default()
                .insert(tp.partition, *offset);
        }
        // Write first, so memory never claims a commit the disk does not have.
        self.write(group, &updated)?;
        groups.insert(group.to_string(), updated);
        Ok(())
    }

    /// The group's committed offsets for a topic.
    pub fn committed(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.groups
            .lock()
            .get(group)
            .and_then(|g| g.get(topic))
            .cloned()
            .unwrap_or_default()
    }

    /// Forgets a group.
    pub fn delete_group(&self, group: &str) -> LogResult<()> {
        let mut groups = self.groups.lock();
        let path = self.dir.join(file_name(group));
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LogError::io(format!("cannot delete {}", path.display()), e)),
        }
        groups.remove(group);
        Ok(())
    }

    /// Drops a deleted topic's offsets from every group, as Kafka does.
    pub fn forget_topic(&self, topic: &str) -> LogResult<()> {
        let mut groups = self.groups.lock();
        let affected: Vec<String> = groups
            .iter()
            .filter(|(_, offsets)| offsets.contains_key(topic))
            .map(|(name, _)| name.clone())
            .collect();
        for name in affected {
            let mut offsets = groups.get(&name).cloned().unwrap_or_default();
            offsets.remove(topic);
            self.write(&name, &offsets)?;
            groups.insert(name, offsets);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_survive_reopen_and_delete_forgets() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = GroupStore::open(dir.path(), false).unwrap();
        let odd_name = "query/1 ünïcode";
        store
            .commit(
                odd_name,
                &[(TopicPartition::new("t", 0), 5), (TopicPartition::new("t", 2), 9)],
            )
            .unwrap();
        store.commit(odd_name, &[(TopicPartition::new("t", 0), 7)]).unwrap();
        store.commit("other", &[(TopicPartition::new("u", 0), 1)]).unwrap();
        drop(store);

        let store = GroupStore::open(dir.path(), true).unwrap();
        assert_eq!(store.committed(odd_name, "t"), BTreeMap::from([(0, 7), (2, 9)]));
        assert_eq!(store.committed(odd_name, "nope"), BTreeMap::new());
        store.forget_topic("u").unwrap();
        assert!(store.committed("other", "u").is_empty());
        store.delete_group(odd_name).unwrap();
        drop(store);

        let store = GroupStore::open(dir.path(), false).unwrap();
        assert!(store.committed(odd_name, "t").is_empty());
        assert!(store.commit("", &[]).is_err());
        assert!(store.commit("g", &[(TopicPartition::new("t", 0), -1)]).is_err());
    }
}
