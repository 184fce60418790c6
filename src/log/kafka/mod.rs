//! The Kafka log: [`Log`] on an Apache Kafka cluster through `rdkafka` (librdkafka, built
//! with SSL and SASL so secured clusters are reachable).
//!
//! One idempotent producer and one admin client per log; consumers are created per reader
//! with manual assignment, and committed offsets are kept per consumer group on the broker
//! (a `BaseConsumer` per group does the commits, as Kafka Streams' consumers do). Every
//! librdkafka property passes through: `kafka.<property>` in Runnel's configuration becomes
//! `<property>` here.
//!
//! A log may carry a topic prefix: every topic and group name is prefixed on the wire and the
//! prefix is stripped on the way back, so several engines (the test suite's cases, or tenants)
//! share one cluster without seeing each other.

mod consumer;
mod producer;

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};

pub use consumer::KafkaConsumer;
use consumer::MemberContext;
use producer::{DeliveryRouter, Producer};

use super::{Log, LogConsumer, LogError, LogResult, Record, TopicConfig, TopicDescription, TopicPartition};

/// How to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct KafkaLogOptions {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// librdkafka properties for every client (`security.protocol`, `sasl.*`, `ssl.*`, ...).
    pub properties: BTreeMap<String, String>,
    /// Prepended to every topic and consumer group name on the wire.
    pub topic_prefix: String,
    /// How long start-up waits for the cluster to answer (default 15 s).
    pub connect_timeout: Option<Duration>,
}

/// Broker requests that should answer quickly on a healthy cluster.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a writer waits for acknowledgements before it reports the broker as unreachable
/// (the records stay queued: a later wait sees them through).
const ACK_WAIT: Duration = Duration::from_secs(30);

/// A [`Log`] on Kafka.
pub struct KafkaLog {
    options: KafkaLogOptions,
    admin: AdminClient<DefaultClientContext>,
    /// For metadata and watermarks (never assigned, never committing).
    metadata: BaseConsumer,
    producer: Producer,
    /// Transactional producers of threads doing exactly-once processing: what such a thread
    /// writes goes through its own producer, into its open transaction.
    transactional: Mutex<std::collections::HashMap<std::thread::ThreadId, Arc<Producer>>>,
    /// How long broker acknowledgements may take.
    ack_timeout: Duration,
    /// One committing consumer per consumer group.
    groups: Mutex<BTreeMap<String, Arc<BaseConsumer>>>,
    this: Weak<KafkaLog>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("bootstrap_servers", &self.options.bootstrap_servers)
            .finish()
    }
}

/// Wraps a client error with what was being done.
pub(crate) fn broker_error(doing: &str, e: KafkaError) -> LogError {
    LogError::Broker(format!("Kafka: {doing}: {e}"))
}

impl KafkaLog {
    /// Connects, failing fast (within the connect timeout) when no broker answers.
    pub fn connect(options: KafkaLogOptions) -> LogResult<Arc<KafkaLog>> {
        if options.bootstrap_servers.trim().is_empty() {
            return Err(LogError::Invalid("bootstrap servers are empty".into()));
        }
        let base = client_config(&options);
        let admin: AdminClient<DefaultClientContext> = base
            .create()
            .map_err(|e| invalid_config(&options, "the admin client", e))?;
        let metadata: BaseConsumer = consumer_config(&base, &format!("{}runnel-metadata", options.topic_prefix))
            .create()
            .map_err(|e| invalid_config(&options, "the metadata client", e))?;
        let mut producer_config = base.clone();
        for (k, v) in [
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", "2"),
            // Never give up on a record: through a broker outage queries pause with their
            // output queued and go on when it is back (callers wait a bounded time, see
            // ACK_WAIT, and may retry the wait).
            ("message.timeout.ms", "0"),
        ] {
            if !options.properties.contains_key(k) {
                producer_config.set(k, v);
            }
        }
        let producer = producer_config
            .create_with_context(DeliveryRouter)
            .map_err(|e| invalid_config(&options, "the producer", e))?;
        let connect_timeout = options.connect_timeout.unwrap_or(Duration::from_secs(15));
        // Fail fast on a wrong address: nothing else in the log would notice for minutes.
        if let Err(e) = metadata.fetch_metadata(None, connect_timeout) {
            return Err(LogError::Broker(format!(
                "cannot reach Kafka at {} within {} s: {e}; check --bootstrap-servers and that the broker is running",
                options.bootstrap_servers,
                connect_timeout.as_secs()
            )));
        }
        let ack_timeout = ACK_WAIT;
        let label = format!("Kafka at {}", options.bootstrap_servers);
        Ok(Arc::new_cyclic(|this| KafkaLog {
            options,
            admin,
            metadata,
            producer: Producer::new(producer, ack_timeout, label),
            transactional: Mutex::new(std::collections::HashMap::new()),
            ack_timeout,
            groups: Mutex::new(BTreeMap::new()),
            this: this.clone(),
        }))
    }

    /// The bootstrap servers this log talks to.
    pub fn bootstrap_servers(&self) -> &str {
        &self.options.bootstrap_servers
    }

    /// Runs `f` with the producer the calling thread writes through.
    fn with_producer<R>(&self, f: impl FnOnce(&Producer) -> R) -> R {
        let txn = self.transactional.lock().get(&std::thread::current().id()).cloned();
        match txn {
            Some(p) => f(&p),
            None => f(&self.producer),
        }
    }

    /// Creates the transactional producer `id` for the calling thread, fences earlier
    /// producers with that id (aborting their open transaction) and begins a transaction.
    fn begin_transactions(&self, id: &str) -> LogResult<Arc<Producer>> {
        let mut config = client_config(&self.options);
        for (k, v) in [
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", "2"),
            // Kafka Streams' choice: a crashed worker's open transaction blocks its readers
            // for at most this long when no successor takes its id over. librdkafka wants
            // message.timeout.ms no longer than it.
            ("transaction.timeout.ms", "10000"),
            ("message.timeout.ms", "10000"),
        ] {
            if !self.options.properties.contains_key(k) {
                config.set(k, v);
            }
        }
        config.set("transactional.id", format!("{}{id}", self.options.topic_prefix));
        let inner: rdkafka::producer::ThreadedProducer<DeliveryRouter> = config
            .create_with_context(DeliveryRouter)
            .map_err(|e| broker_error("creating a transactional producer", e))?;
        use rdkafka::producer::Producer as _;
        inner
            .init_transactions(REQUEST_TIMEOUT)
            .map_err(|e| broker_error(&format!("initialising transactions for {id}"), e))?;
        inner
            .begin_transaction()
            .map_err(|e| broker_error("beginning a transaction", e))?;
        let producer = Arc::new(Producer::new(
            inner,
            self.ack_timeout,
            format!("Kafka at {}", self.options.bootstrap_servers),
        ));
        self.transactional
            .lock()
            .insert(std::thread::current().id(), producer.clone());
        Ok(producer)
    }

    /// Forgets the calling thread's transactional producer.
    fn end_transactions(&self) {
        self.transactional.lock().remove(&std::thread::current().id());
    }

    /// `offsets` as librdkafka's list, on the wire topics.
    fn offsets_list(&self, offsets: &[(TopicPartition, i64)], doing: &str) -> LogResult<TopicPartitionList> {
        let mut list = TopicPartitionList::with_capacity(offsets.len());
        for (tp, offset) in offsets {
            list.add_partition_offset(&self.wire_topic(&tp.topic), tp.partition, Offset::Offset(*offset))
                .map_err(|e| broker_error(doing, e))?;
        }
        Ok(list)
    }

    fn wire_topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.options.topic_prefix)
    }

    fn our_topic<'a>(&self, wire: &'a str) -> &'a str {
        wire.strip_prefix(self.options.topic_prefix.as_str()).unwrap_or(wire)
    }

    fn group_consumer(&self, group: &str) -> LogResult<Arc<BaseConsumer>> {
        let mut groups = self.groups.lock();
        if let Some(c) = groups.get(group) {
            return Ok(c.clone());
        }
        let wire = format!("{}{group}", self.options.topic_prefix);
        let consumer: BaseConsumer = consumer_config(&client_config(&self.options), &wire)
            .create()
            .map_err(|e| broker_error(&format!("creating a client for consumer group {group}"), e))?;
        let consumer = Arc::new(consumer);
        groups.insert(group.to_string(), consumer.clone());
        Ok(consumer)
    }

    /// A consumer that joins `group` when it subscribes. Members use the range assignor, which
    /// gives a member the same partition numbers of every topic of equal partition count, so
    /// co-partitioned topics stay together.
    fn member_consumer(&self, group: &str) -> LogResult<BaseConsumer<MemberContext>> {
        let wire = format!("{}{group}", self.options.topic_prefix);
        let mut config = consumer_config(&client_config(&self.options), &wire);
        if !self.options.properties.contains_key("partition.assignment.strategy") {
            config.set("partition.assignment.strategy", "range");
        }
        config
            .create_with_context(MemberContext::default())
            .map_err(|e| broker_error(&format!("creating a member of consumer group {group}"), e))
    }

    /// Partition count and replication factor of a topic as the broker's metadata says, or
    /// `None` when the topic does not exist.
    fn topic_shape(&self, topic: &str) -> LogResult<Option<(i32, i16)>> {
        let wire = self.wire_topic(topic);
        let md = self
            .metadata
            .fetch_metadata(Some(&wire), REQUEST_TIMEOUT)
            .map_err(|e| broker_error(&format!("describing topic {topic}"), e))?;
        let Some(t) = md.topics().iter().find(|t| t.name() == wire) else {
            return Ok(None);
        };
        if t.error().is_some() || t.partitions().is_empty() {
            return Ok(None);
        }
        let replicas = t.partitions().first().map_or(1, |p| p.replicas().len() as i16);
        Ok(Some((t.partitions().len() as i32, replicas)))
    }

    /// The configs set on topics (not the broker's defaults), by topic.
    fn topic_configs(&self, topics: &[String]) -> LogResult<BTreeMap<String, BTreeMap<String, String>>> {
        if topics.is_empty() {
            return Ok(BTreeMap::new());
        }
        let wires: Vec<String> = topics.iter().map(|t| self.wire_topic(t)).collect();
        let specs: Vec<ResourceSpecifier<'_>> = wires.iter().map(|w| ResourceSpecifier::Topic(w)).collect();
        let results = block_on(self.admin.describe_configs(specs.iter(), &admin_options()))
            .map_err(|e| broker_error("describing topic configs", e))?;
        let mut out = BTreeMap::new();
        for (topic, result) in topics.iter().zip(results) {
            let Ok(resource) = result else { continue };
            let configs = resource
                .entries
                .iter()
                .filter(|e| !e.is_default && matches!(e.source, rdkafka::admin::ConfigSource::DynamicTopic))
                .filter_map(|e| e.value.clone().map(|v| (e.name.clone(), v)))
                .collect();
            out.insert(topic.clone(), configs);
        }
        Ok(out)
    }

    /// Waits until the broker's metadata agrees that a topic exists (or not), so a topic
    /// created or deleted here is at once visible to every later call.
    fn await_topic(&self, topic: &str, exists: bool) -> LogResult<()> {
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            if self.topic_shape(topic)?.is_some() == exists {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LogError::Broker(format!(
                    "Kafka: topic '{topic}' was {} but the cluster's metadata does not show it after {} s",
                    if exists { "created" } else { "deleted" },
                    REQUEST_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn watermarks(&self, topic: &str, partition: i32) -> LogResult<(i64, i64)> {
        let wire = self.wire_topic(topic);
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let e = match self.metadata.fetch_watermarks(&wire, partition, REQUEST_TIMEOUT) {
                Ok(w) => return Ok(w),
                Err(e) => e,
            };
            // Say which of topic or partition is missing, as the embedded log does.
            match self.topic_shape(topic)? {
                None => return Err(LogError::UnknownTopic(topic.to_string())),
                Some((n, _)) if !(0..n).contains(&partition) => {
                    return Err(LogError::UnknownPartition {
                        topic: topic.to_string(),
                        partition,
                        partitions: n,
                    });
                }
                // A partition of a topic just created may not have its leader yet (or is
                // moving to another broker): ask again until the request timeout.
                Some(_) if is_leader_in_flux(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Some(_) => return Err(broker_error(&format!("reading the offsets of {topic}[{partition}]"), e)),
            }
        }
    }
}

impl Log for KafkaLog {
    fn describe(&self) -> String {
        format!("Kafka at {}", self.options.bootstrap_servers)
    }

    fn create_topic(&self, name: &str, config: &TopicConfig) -> LogResult<()> {
        if config.partitions < 1 {
            return Err(LogError::Invalid(format!(
                "topic '{name}' needs at least one partition, not {}",
                config.partitions
            )));
        }
        let wire = self.wire_topic(name);
        let mut topic = NewTopic::new(
            &wire,
            config.partitions,
            TopicReplication::Fixed(i32::from(config.replicas)),
        );
        for (k, v) in &config.configs {
            topic = topic.set(k, v);
        }
        let results = block_on(self.admin.create_topics([&topic], &admin_options()))
            .map_err(|e| broker_error(&format!("creating topic {name}"), e))?;
        for result in results {
            match result {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => return Err(LogError::TopicExists(name.to_string())),
                Err((_, RDKafkaErrorCode::InvalidReplicationFactor)) => {
                    return Err(LogError::Invalid(format!(
                        "topic '{name}': the cluster cannot hold {} replicas (it has fewer brokers)",
                        config.replicas
                    )));
                }
                Err((_, code)) => return Err(LogError::Broker(format!("Kafka: creating topic {name}: {code}"))),
            }
        }
        self.await_topic(name, true)
    }

    fn delete_topic(&self, name: &str) -> LogResult<()> {
        let wire = self.wire_topic(name);
        let results = block_on(self.admin.delete_topics(&[wire.as_str()], &admin_options()))
            .map_err(|e| broker_error(&format!("deleting topic {name}"), e))?;
        for result in results {
            match result {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                    return Err(LogError::UnknownTopic(name.to_string()));
                }
                Err((_, code)) => return Err(LogError::Broker(format!("Kafka: deleting topic {name}: {code}"))),
            }
        }
        self.await_topic(name, false)
    }

    fn describe_topic(&self, name: &str) -> LogResult<Option<TopicDescription>> {
        let Some((partitions, replicas)) = self.topic_shape(name)? else {
            return Ok(None);
        };
        let configs = self
            .topic_configs(&[name.to_string()])?
            .remove(name)
            .unwrap_or_default();
        Ok(Some(TopicDescription {
            name: name.to_string(),
            partitions,
            replicas,
            configs,
        }))
    }

    fn list_topics(&self) -> LogResult<Vec<TopicDescription>> {
        let md = self
            .metadata
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map_err(|e| broker_error("listing topics", e))?;
        let prefix = &self.options.topic_prefix;
        let mut out: Vec<TopicDescription> = md
            .topics()
            .iter()
            // The broker's own topics (__consumer_offsets, __transaction_state) are not ours.
            .filter(|t| t.name().starts_with(prefix.as_str()) && !t.name().starts_with("__"))
            .filter(|t| t.error().is_none() && !t.partitions().is_empty())
            .map(|t| TopicDescription {
                name: self.our_topic(t.name()).to_string(),
                partitions: t.partitions().len() as i32,
                replicas: t.partitions().first().map_or(1, |p| p.replicas().len() as i16),
                configs: BTreeMap::new(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<String> = out.iter().map(|t| t.name.clone()).collect();
        let mut configs = self.topic_configs(&names)?;
        for t in &mut out {
            t.configs = configs.remove(&t.name).unwrap_or_default();
        }
        Ok(out)
    }

    fn append(&self, topic: &str, partition: i32, records: &[Record]) -> LogResult<i64> {
        if records.is_empty() {
            return self.end_offset(topic, partition);
        }
        self.with_producer(|p| p.append(self, topic, partition, records))
    }

    fn send(&self, topic: &str, partition: i32, records: &[Record]) -> LogResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.with_producer(|p| p.send(self, topic, partition, records))
    }

    fn await_sends(&self) -> LogResult<()> {
        self.with_producer(|p| p.await_sends())
    }

    fn end_offset(&self, topic: &str, partition: i32) -> LogResult<i64> {
        Ok(self.watermarks(topic, partition)?.1)
    }

    fn start_offset(&self, topic: &str, partition: i32) -> LogResult<i64> {
        Ok(self.watermarks(topic, partition)?.0)
    }

    fn delete_records_before(&self, topic: &str, partition: i32, offset: i64) -> LogResult<()> {
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(&self.wire_topic(topic), partition, Offset::Offset(offset))
            .map_err(|e| broker_error("deleting records", e))?;
        let result = block_on(self.admin.delete_records(&list, &admin_options()))
            .map_err(|e| broker_error(&format!("deleting records of {topic}[{partition}]"), e))?;
        for element in result.elements() {
            if let Err(e) = element.error() {
                return Err(broker_error(&format!("deleting records of {topic}[{partition}]"), e));
            }
        }
        Ok(())
    }

    fn commit(&self, group: &str, offsets: &[(TopicPartition, i64)]) -> LogResult<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let list = self.offsets_list(offsets, "committing offsets")?;
        self.group_consumer(group)?
            .commit(&list, CommitMode::Sync)
            .map_err(|e| broker_error(&format!("committing offsets of consumer group {group}"), e))
    }

    fn committed(&self, group: &str, topic: &str) -> LogResult<BTreeMap<i32, i64>> {
        let Some((partitions, _)) = self.topic_shape(topic)? else {
            return Err(LogError::UnknownTopic(topic.to_string()));
        };
        let wire = self.wire_topic(topic);
        let mut list = TopicPartitionList::with_capacity(partitions as usize);
        for p in 0..partitions {
            list.add_partition(&wire, p);
        }
        let committed = self
            .group_consumer(group)?
            .committed_offsets(list, REQUEST_TIMEOUT)
            .map_err(|e| broker_error(&format!("reading the offsets of consumer group {group}"), e))?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect())
    }

    fn delete_group(&self, group: &str) -> LogResult<()> {
        self.groups.lock().remove(group);
        let wire = format!("{}{group}", self.options.topic_prefix);
        let results = block_on(self.admin.delete_groups(&[wire.as_str()], &admin_options()))
            .map_err(|e| broker_error(&format!("deleting consumer group {group}"), e))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((_, code)) => {
                    return Err(LogError::Broker(format!(
                        "Kafka: deleting consumer group {group}: {code}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn consumer(&self) -> LogResult<Box<dyn LogConsumer>> {
        let Some(this) = self.this.upgrade() else {
            return Err(LogError::Broker("Kafka: the log is closed".into()));
        };
        // librdkafka assigns partitions only to a consumer with a group id; this one never
        // commits or joins, so every reader can share the name.
        let group = format!("{}runnel-reader", self.options.topic_prefix);
        let inner: BaseConsumer<MemberContext> = consumer_config(&client_config(&self.options), &group)
            .create_with_context(MemberContext::default())
            .map_err(|e| broker_error("creating a consumer", e))?;
        Ok(Box::new(KafkaConsumer::new(this, inner)))
    }

    fn flush(&self) -> LogResult<()> {
        self.producer.flush()
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn reachable(&self) -> bool {
        self.metadata.fetch_metadata(None, Duration::from_secs(2)).is_ok()
    }
}

fn client_config(options: &KafkaLogOptions) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &options.bootstrap_servers);
    config.set("client.id", "runnel");
    // librdkafka logs through its own logger by default; errors reach us through results.
    config.set("log_level", "3");
    for (k, v) in &options.properties {
        config.set(k, v);
    }
    config
}

fn consumer_config(base: &ClientConfig, group: &str) -> ClientConfig {
    let mut config = base.clone();
    for (k, v) in [
        ("group.id", group),
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("isolation.level", "read_committed"),
        ("enable.partition.eof", "false"),
        ("fetch.wait.max.ms", "100"),
    ] {
        if base.get(k).is_none() {
            config.set(k, v);
        }
    }
    config
}

fn invalid_config(options: &KafkaLogOptions, what: &str, e: KafkaError) -> LogError {
    LogError::Invalid(format!(
        "cannot create {what} for Kafka at {}: {e} (check the kafka.* properties)",
        options.bootstrap_servers
    ))
}

fn admin_options() -> AdminOptions {
    AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT))
}

/// Runs an admin call to completion: its future is a channel that librdkafka's admin thread
/// completes, so no async runtime is needed.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}

/// Whether a broker error means a partition's leadership is being settled (a new topic, a
/// leader election), which passes by itself.
fn is_leader_in_flux(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as Code;
    matches!(
        e.rdkafka_error_code(),
        Some(Code::NotLeaderForPartition | Code::LeaderNotAvailable | Code::UnknownTopicOrPartition)
    )
}
