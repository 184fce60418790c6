//! Topics on disk: name rules, the metadata file, and the partitions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::files;
use super::notify::AppendNotifier;
use super::options::EmbeddedLogOptions;
use super::partition::Partition;
use crate::log::{LogError, LogResult, TopicConfig, TopicDescription};

/// Kafka's limit on topic name length.
const MAX_NAME_LEN: usize = 249;

/// The metadata file in a topic directory.
pub const META_FILE: &str = "topic.json";

/// The most partitions a topic may have; far beyond what one machine serves, and it keeps a
/// typo from creating a million directories.
const MAX_PARTITIONS: i32 = 10_000;

/// Checks a topic name with Kafka's rules: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
/// The rules also make the name safe as a directory name.
pub fn validate_name(name: &str) -> LogResult<()> {
    if name.is_empty() {
        return Err(LogError::Invalid("topic name must not be empty".into()));
    }
    if name == "." || name == ".." {
        return Err(LogError::Invalid(format!("topic name cannot be '{name}'")));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(LogError::Invalid(format!(
            "topic name is {} characters long; the limit is {MAX_NAME_LEN}",
            name.len()
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(LogError::Invalid(format!(
            "topic name '{name}' contains '{bad}'; only ASCII letters, digits, '.', '_' and '-' are allowed"
        )));
    }
    Ok(())
}

/// What `topic.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TopicMeta {
    partitions: i32,
    replicas: i16,
    #[serde(default)]
    configs: BTreeMap<String, String>,
}

/// A topic and its open partitions.
#[derive(Debug)]
pub struct Topic {
    name: Arc<str>,
    meta: TopicMeta,
    partitions: Vec<Arc<Partition>>,
}

/// What every partition of a log shares.
#[derive(Debug, Clone)]
pub struct PartitionContext {
    /// The log's options.
    pub options: Arc<EmbeddedLogOptions>,
    /// The log's append notifier.
    pub notifier: Arc<AppendNotifier>,
}

impl Topic {
    /// Writes a new topic into `dir` (which must not exist yet).
    pub fn create(dir: &Path, name: &str, config: &TopicConfig, context: &PartitionContext) -> LogResult<Topic> {
        if !(1..=MAX_PARTITIONS).contains(&config.partitions) {
            return Err(LogError::Invalid(format!(
                "a topic needs between 1 and {MAX_PARTITIONS} partitions, not {}",
                config.partitions
            )));
        }
        if config.replicas < 1 {
            return Err(LogError::Invalid(format!(
                "replication factor must be at least 1, not {}",
                config.replicas
            )));
        }
        let meta = TopicMeta {
            partitions: config.partitions,
            replicas: config.replicas,
            configs: config.configs.clone(),
        };
        files::create_dir(dir)?;
        let name: Arc<str> = Arc::from(name);
        let mut partitions = Vec::with_capacity(meta.partitions as usize);
        for id in 0..meta.partitions {
            partitions.push(Arc::new(Partition::create(
                partition_dir(dir, id),
                Arc::clone(&name),
                id,
                Arc::clone(&context.options),
                Arc::clone(&context.notifier),
            )?));
        }
        let json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| LogError::Invalid(format!("cannot encode topic metadata: {e}")))?;
        files::write_atomically(&dir.join(META_FILE), &json, true)?;
        Ok(Topic { name, meta, partitions })
    }

    /// Opens the topic stored in `dir`.
    pub fn open(dir: &Path, name: &str, context: &PartitionContext) -> LogResult<Topic> {
        let meta_path = dir.join(META_FILE);
        let meta: TopicMeta = serde_json::from_slice(&files::read(&meta_path)?).map_err(|e| LogError::Corrupt {
            path: meta_path.display().to_string(),
            reason: format!("invalid topic metadata: {e}"),
        })?;
        if meta.partitions < 1 {
            return Err(LogError::Corrupt {
                path: meta_path.display().to_string(),
                reason: format!("topic has {} partitions", meta.partitions),
            });
        }
        let name: Arc<str> = Arc::from(name);
        let mut partitions = Vec::with_capacity(meta.partitions as usize);
        for id in 0..meta.partitions {
            let pdir = partition_dir(dir, id);
            if !pdir.is_dir() {
                return Err(LogError::Corrupt {
                    path: pdir.display().to_string(),
                    reason: format!("partition {id} of topic '{name}' is missing"),
                });
            }
            partitions.push(Arc::new(Partition::open(
                pdir,
                Arc::clone(&name),
                id,
                Arc::clone(&context.options),
                Arc::clone(&context.notifier),
            )?));
        }
        Ok(Topic { name, meta, partitions })
    }

    /// The topic as `describe_topic` reports it.
    pub fn description(&self) -> TopicDescription {
        TopicDescription {
            name: self.name.to_string(),
            partitions: self.meta.partitions,
            replicas: self.meta.replicas,
            configs: self.meta.configs.clone(),
        }
    }

    /// A partition, or the matching error.
    pub fn partition(&self, id: i32) -> LogResult<&Arc<Partition>> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.partitions.get(i))
            .ok_or_else(|| LogError::UnknownPartition {
                topic: self.name.to_string(),
                partition: id,
                partitions: self.meta.partitions,
            })
    }

    /// All partitions, by number.
    pub fn partitions(&self) -> &[Arc<Partition>] {
        &self.partitions
    }
}

fn partition_dir(topic_dir: &Path, id: i32) -> PathBuf {
    topic_dir.join(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kafka_rules() {
        for good in ["orders", "a.b_c-D9", "x", &"n".repeat(249)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "naïve", "../etc", &"n".repeat(250)] {
            let err = validate_name(bad).unwrap_err();
            assert!(matches!(err, LogError::Invalid(_)), "{bad}: {err:?}");
        }
        let msg = validate_name("a/b").unwrap_err().to_string();
        assert!(msg.contains("'/'"), "{msg}");
    }
}
