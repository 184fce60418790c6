//! The log: topics of partitioned, offset-addressed records.
//!
//! [`Log`] is the one abstraction every other layer reads and writes through. Two
//! implementations: [`embedded::EmbeddedLog`] (durable segment files in the data directory,
//! the default, so Runnel needs no broker) and [`kafka::KafkaLog`] (Apache Kafka through
//! `rdkafka`). Reading goes through a [`LogConsumer`] (assign partitions at offsets, poll,
//! commit per consumer group) and writing through [`Log::append`], so both implementations
//! map onto Kafka's own client model.

pub mod embedded;
pub mod kafka;
mod partitioner;

use std::collections::BTreeMap;
use std::time::Duration;

pub use bytes::Bytes;
pub use partitioner::{murmur2, partition_for_key};

/// Errors from the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The topic does not exist.
    #[error("topic '{0}' does not exist")]
    UnknownTopic(String),
    /// The topic exists already.
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    /// The partition is out of range.
    #[error("topic '{topic}' has no partition {partition} (it has {partitions})")]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: i32,
        /// How many it has.
        partitions: i32,
    },
    /// Bad arguments (a topic name with a path separator, zero partitions, ...).
    #[error("{0}")]
    Invalid(String),
    /// Another process holds the data directory.
    #[error(
        "the data directory {dir} is in use by another Runnel process (pid {pid}); stop it, or connect to it with --server"
    )]
    Locked {
        /// The directory.
        dir: String,
        /// The process holding it.
        pid: String,
    },
    /// A segment file is damaged beyond its torn tail.
    #[error("corrupt log data in {path}: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The disk or file system failed (full disk, permissions, missing directory).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The broker failed or could not be reached.
    #[error("{0}")]
    Broker(String),
}

impl LogError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LogError::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<LogError> for crate::error::Error {
    fn from(e: LogError) -> Self {
        crate::error::Error::new(crate::error::ErrorKind::Log, e.to_string())
    }
}

/// Result of log operations.
pub type LogResult<T> = Result<T, LogError>;

/// A record header: a key and an optional value.
pub type Header = (String, Option<Bytes>);

/// A record to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Serialized key; `None` is a null key.
    pub key: Option<Bytes>,
    /// Serialized value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Headers in order.
    pub headers: Vec<Header>,
}

/// A record read back, with where it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumedRecord {
    /// The topic.
    pub topic: std::sync::Arc<str>,
    /// The partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// The record.
    pub record: Record,
}

/// How a topic is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    /// Number of partitions, at least 1.
    pub partitions: i32,
    /// Replication factor (the embedded log keeps one copy and records the number).
    pub replicas: i16,
    /// Other topic configs (`cleanup.policy`, `retention.ms`, ...).
    pub configs: BTreeMap<String, String>,
}

impl TopicConfig {
    /// A topic of `partitions` partitions with default configs.
    pub fn new(partitions: i32) -> Self {
        TopicConfig {
            partitions,
            replicas: 1,
            configs: BTreeMap::new(),
        }
    }
}

/// What `describe_topic` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// The topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: i32,
    /// Replication factor.
    pub replicas: i16,
    /// Topic configs.
    pub configs: BTreeMap<String, String>,
}

/// A (topic, partition) pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

impl TopicPartition {
    /// A new topic-partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// A partitioned, durable record log: the embedded one or Kafka.
pub trait Log: Send + Sync {
    /// A short description for banners and logs ("embedded log at ./runnel-data").
    fn describe(&self) -> String;
    /// Creates a topic; fails with [`LogError::TopicExists`] if it exists.
    fn create_topic(&self, name: &str, config: &TopicConfig) -> LogResult<()>;
    /// Deletes a topic and its data.
    fn delete_topic(&self, name: &str) -> LogResult<()>;
    /// Describes a topic, or `None` when it does not exist.
    fn describe_topic(&self, name: &str) -> LogResult<Option<TopicDescription>>;
    /// Every topic, sorted by name.
    fn list_topics(&self) -> LogResult<Vec<TopicDescription>>;
    /// Appends records to one partition and returns the offset of the first. When it returns,
    /// the records are acknowledged: they survive the process being killed.
    fn append(&self, topic: &str, partition: i32, records: &[Record]) -> LogResult<i64>;
    /// Writes records without waiting for them to be acknowledged; [`Log::await_sends`] waits
    /// for everything the calling thread sent and reports the first failure. Sinks write this
    /// way so a worker waits once per poll instead of once per batch and partition.
    fn send(&self, topic: &str, partition: i32, records: &[Record]) -> LogResult<()> {
        self.append(topic, partition, records).map(|_| ())
    }
    /// Waits until every record the calling thread passed to [`Log::send`] is acknowledged.
    fn await_sends(&self) -> LogResult<()> {
        Ok(())
    }
    /// The offset the next appended record in the partition will get.
    fn end_offset(&self, topic: &str, partition: i32) -> LogResult<i64>;
    /// The end offsets of several partitions (0 for one that cannot be read), in order.
    /// Read-your-writes checks take these on every pull query, so a log may do it in one go.
    fn end_offsets(&self, partitions: &mut dyn Iterator<Item = &TopicPartition>) -> Vec<i64> {
        partitions
            .map(|tp| self.end_offset(&tp.topic, tp.partition).unwrap_or(0))
            .collect()
    }
    /// The first offset still held in the partition.
    fn start_offset(&self, topic: &str, partition: i32) -> LogResult<i64>;
    /// Deletes records before `offset` (Kafka's DeleteRecords; used to purge repartition topics).
    fn delete_records_before(&self, topic: &str, partition: i32, offset: i64) -> LogResult<()>;
    /// Commits offsets for a consumer group: each is the next offset to read.
    fn commit(&self, group: &str, offsets: &[(TopicPartition, i64)]) -> LogResult<()>;
    /// The committed offsets of a group for a topic, by partition.
    fn committed(&self, group: &str, topic: &str) -> LogResult<BTreeMap<i32, i64>>;
    /// Deletes a consumer group's committed offsets.
    fn delete_group(&self, group: &str) -> LogResult<()>;
    /// A consumer with no partitions assigned.
    fn consumer(&self) -> LogResult<Box<dyn LogConsumer>>;
    /// Whether other processes may write to this log at the same time (a Kafka cluster; the
    /// embedded log belongs to the one process holding its directory).
    fn is_shared(&self) -> bool {
        false
    }
    /// Whether the log answers right now (a broker reachable); a failure that coincides with
    /// an unreachable log is an outage to wait out, not a reason to stop a query.
    fn reachable(&self) -> bool {
        true
    }
    /// Makes sure everything appended so far is on stable storage (fsync on the embedded log,
    /// a producer flush on Kafka).
    fn flush(&self) -> LogResult<()>;
}

/// Reads assigned partitions from positions it keeps.
pub trait LogConsumer: Send {
    /// Replaces the assignment: each partition is read from the given offset.
    fn assign(&mut self, positions: &[(TopicPartition, i64)]) -> LogResult<()>;
    /// Up to `max_records` records from the assigned partitions, waiting up to `timeout` for
    /// the first one (woken by appends, never busy-polling). Records of one partition come in
    /// offset order; the consumer's position moves past what it returns.
    fn poll(&mut self, max_records: usize, timeout: Duration) -> LogResult<Vec<ConsumedRecord>>;
    /// Moves the position of one assigned partition.
    fn seek(&mut self, tp: &TopicPartition, offset: i64) -> LogResult<()>;
    /// The current position of every assigned partition.
    fn positions(&self) -> Vec<(TopicPartition, i64)>;

    /// Joins consumer group `group` as a member reading `topics`: from then on the group
    /// protocol decides which partitions this consumer reads, announced through
    /// [`LogConsumer::pending_rebalance`]. Returns `false` when the log has no group protocol
    /// (the embedded log, where one process owns the data): the caller assigns partitions.
    fn subscribe(&mut self, group: &str, topics: &[String]) -> LogResult<bool> {
        let _ = (group, topics);
        Ok(false)
    }

    /// A change of assignment the caller must act on before polling again: for a revocation,
    /// commit what the partitions processed and call [`LogConsumer::complete_revoke`]; for an
    /// assignment, decide the positions and call [`LogConsumer::complete_assign`].
    fn pending_rebalance(&mut self) -> Option<Rebalance> {
        None
    }

    /// Gives the revoked partitions back to the group.
    fn complete_revoke(&mut self) -> LogResult<()> {
        Ok(())
    }

    /// Starts reading the assigned partitions at these positions.
    fn complete_assign(&mut self, positions: &[(TopicPartition, i64)]) -> LogResult<()> {
        self.assign(positions)
    }

    /// Starts exactly-once processing for the calling thread: from now on everything it writes
    /// through the log belongs to a transaction of a producer with this transactional id,
    /// committed with the group's offsets by [`LogConsumer::commit_transaction`]. A restarted
    /// worker with the same id aborts its predecessor's open transaction. Returns `false` when
    /// the log has no transactions (the embedded log).
    fn begin_transactions(&mut self, transactional_id: &str) -> LogResult<bool> {
        let _ = transactional_id;
        Ok(false)
    }

    /// Commits the current transaction with these input offsets, and begins the next.
    fn commit_transaction(&mut self, offsets: &[(TopicPartition, i64)]) -> LogResult<()> {
        let _ = offsets;
        Err(LogError::Invalid("this log has no transactions".into()))
    }

    /// Commits offsets as a member of the subscribed group (a group with members accepts
    /// commits only from them). Returns `false` when not subscribed.
    fn commit_as_member(&mut self, offsets: &[(TopicPartition, i64)]) -> LogResult<bool> {
        let _ = offsets;
        Ok(false)
    }
}

/// A consumer group's change of a member's partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebalance {
    /// These partitions are now this member's.
    Assigned(Vec<TopicPartition>),
    /// These partitions are being taken away.
    Revoked(Vec<TopicPartition>),
}

/// Builds the log a data directory or configuration asks for.
pub fn default_partition(key: Option<&[u8]>, partitions: i32, round_robin: &mut u32) -> i32 {
    match key {
        Some(k) => partition_for_key(k, partitions),
        None => {
            // Kafka's sticky partitioner spreads null-key records; round robin is the
            // deterministic equivalent for one producer.
            *round_robin = round_robin.wrapping_add(1);
            (*round_robin % partitions.max(1) as u32) as i32
        }
    }
}
