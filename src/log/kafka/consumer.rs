//! Reading Kafka partitions: at positions the caller chooses (manual assignment, as Kafka
//! Streams' restore consumer uses it), or as a member of a consumer group whose protocol
//! splits the partitions between members (query workers on several threads and processes).
//!
//! Rebalances are handed to the caller instead of being applied inside librdkafka's
//! callback: a revocation waits until the caller has committed the revoked partitions' state
//! and offsets (librdkafka holds the group's join until then), and an assignment starts at the
//! positions the caller chooses, so a task that moves restores its state first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, TopicPartitionList};

use super::{KafkaLog, broker_error};
use crate::log::{Bytes, ConsumedRecord, LogConsumer, LogError, LogResult, Rebalance, Record, TopicPartition};

/// A rebalance librdkafka announced: whether it assigns (else revokes), and the wire
/// topic-partitions.
type Announced = (bool, Vec<(String, i32)>);

/// Holds a group rebalance for the caller (see the module comment).
#[derive(Default)]
pub(super) struct MemberContext {
    pending: Mutex<Option<Announced>>,
    /// Set while the consumer closes: rebalances are then applied at once, as librdkafka's
    /// close waits for them.
    closing: std::sync::atomic::AtomicBool,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn rebalance(&self, base: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let assign = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => true,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => false,
            _ => {
                // An error from the group protocol: drop the assignment; the group retries.
                let _ = base.unassign();
                return;
            }
        };
        if self.closing.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = if assign { base.assign(tpl) } else { base.unassign() };
            return;
        }
        let partitions = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        *self.pending.lock() = Some((assign, partitions));
    }
}

/// Where each assigned (wire topic, partition) sits in the positions list, looked up by
/// `&str` so a fetched message costs no allocation.
#[derive(Debug, Default)]
struct SlotIndex(HashMap<String, HashMap<i32, usize>>);

impl SlotIndex {
    fn get(&self, topic: &str, partition: i32) -> Option<usize> {
        self.0.get(topic)?.get(&partition).copied()
    }

    fn insert(&mut self, topic: String, partition: i32, slot: usize) {
        self.0.entry(topic).or_default().insert(partition, slot);
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// A consumer of a [`KafkaLog`].
pub struct KafkaConsumer {
    log: Arc<KafkaLog>,
    inner: BaseConsumer<MemberContext>,
    /// Whether `inner` is a member of a consumer group.
    subscribed: bool,
    /// The calling thread's transactional producer, under exactly-once processing.
    transactional: Option<Arc<super::producer::Producer>>,
    /// Next offset to read, per assigned partition (wire topic names are not kept).
    positions: Vec<(TopicPartition, i64)>,
    /// Index into `positions` by (wire topic, partition).
    index: SlotIndex,
    /// Our topic names as shared strings, by wire name.
    names: HashMap<String, Arc<str>>,
}

impl std::fmt::Debug for KafkaConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConsumer")
            .field("positions", &self.positions)
            .finish()
    }
}

impl KafkaConsumer {
    pub(super) fn new(log: Arc<KafkaLog>, inner: BaseConsumer<MemberContext>) -> Self {
        KafkaConsumer {
            log,
            inner,
            subscribed: false,
            transactional: None,
            positions: Vec::new(),
            index: SlotIndex::default(),
            names: HashMap::new(),
        }
    }

    fn apply_assignment(&mut self) -> LogResult<()> {
        let list = self.log.offsets_list(&self.positions, "assigning partitions")?;
        self.inner
            .assign(&list)
            .map_err(|e| broker_error("assigning partitions", e))
    }
}

/// Turns a fetched message into a record and moves its partition's position past it.
fn convert(
    log: &KafkaLog,
    positions: &mut [(TopicPartition, i64)],
    index: &SlotIndex,
    names: &mut HashMap<String, Arc<str>>,
    message: &rdkafka::message::BorrowedMessage<'_>,
) -> Option<ConsumedRecord> {
    let wire = message.topic();
    let slot = index.get(wire, message.partition())?;
    let offset = message.offset();
    // A record before the position was already returned (a fetch overlapping a seek).
    if offset < positions[slot].1 {
        return None;
    }
    positions[slot].1 = offset + 1;
    let topic = match names.get(wire) {
        Some(t) => t.clone(),
        None => {
            let t: Arc<str> = Arc::from(log.our_topic(wire));
            names.insert(wire.to_string(), t.clone());
            t
        }
    };
    let headers = message
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| (h.key.to_string(), h.value.map(Bytes::copy_from_slice)))
                .collect()
        })
        .unwrap_or_default();
    Some(ConsumedRecord {
        topic,
        partition: message.partition(),
        offset,
        record: Record {
            key: message.key().map(Bytes::copy_from_slice),
            value: message.payload().map(Bytes::copy_from_slice),
            timestamp: message.timestamp().to_millis().unwrap_or(0),
            headers,
        },
    })
}

impl KafkaConsumer {
    /// Moves positions past what librdkafka consumed without returning a record: transaction
    /// markers and aborted transactions. Without this a reader of a transactional topic
    /// would never reach its end offset.
    fn advance_past_markers(&mut self) {
        let Ok(list) = self.inner.position() else { return };
        for e in list.elements() {
            if let rdkafka::Offset::Offset(o) = e.offset()
                && let Some(slot) = self.index.get(e.topic(), e.partition())
                && o > self.positions[slot].1
            {
                self.positions[slot].1 = o;
            }
        }
    }
}

impl LogConsumer for KafkaConsumer {
    fn assign(&mut self, positions: &[(TopicPartition, i64)]) -> LogResult<()> {
        let mut ordered: Vec<(TopicPartition, i64)> = Vec::with_capacity(positions.len());
        let mut index = SlotIndex::default();
        for (tp, offset) in positions {
            if *offset < 0 {
                return Err(LogError::Invalid(format!(
                    "cannot read {}[{}] from offset {offset}",
                    tp.topic, tp.partition
                )));
            }
            let wire = self.log.wire_topic(&tp.topic);
            // A partition listed twice is read once, from the last position given.
            match index.get(&wire, tp.partition) {
                Some(i) => ordered[i] = (tp.clone(), *offset),
                None => {
                    index.insert(wire, tp.partition, ordered.len());
                    ordered.push((tp.clone(), *offset));
                }
            }
        }
        self.positions = ordered;
        self.index = index;
        self.apply_assignment()
    }

    fn poll(&mut self, max_records: usize, timeout: Duration) -> LogResult<Vec<ConsumedRecord>> {
        let mut out = Vec::new();
        if self.positions.is_empty() && !self.subscribed {
            std::thread::sleep(timeout.min(Duration::from_millis(100)));
            return Ok(out);
        }
        let deadline = Instant::now() + timeout;
        while out.len() < max_records.max(1) {
            // Wait for the first record only; then take what has already arrived.
            let wait = if out.is_empty() {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let Some(result) = self.inner.poll(wait) else { break };
            match result {
                Ok(message) => {
                    if let Some(record) =
                        convert(&self.log, &mut self.positions, &self.index, &mut self.names, &message)
                    {
                        out.push(record);
                    }
                }
                // End of partition and broker hiccups (a restarting broker, a leader moving)
                // are retried by librdkafka itself; the caller just sees no records.
                Err(KafkaError::PartitionEOF(_)) => {}
                Err(KafkaError::MessageConsumption(code)) if is_transient(code) => {
                    if out.is_empty() && Instant::now() >= deadline {
                        break;
                    }
                }
                Err(e) => {
                    if out.is_empty() {
                        return Err(broker_error("reading", e));
                    }
                    break;
                }
            }
            if out.is_empty() && Instant::now() >= deadline {
                break;
            }
            // The caller must act on a rebalance before more records are taken.
            if self.subscribed && self.inner.context().pending.lock().is_some() {
                break;
            }
        }
        self.advance_past_markers();
        Ok(out)
    }

    fn seek(&mut self, tp: &TopicPartition, offset: i64) -> LogResult<()> {
        let Some(slot) = self.index.get(&self.log.wire_topic(&tp.topic), tp.partition) else {
            return Err(LogError::Invalid(format!(
                "{}[{}] is not assigned to this consumer",
                tp.topic, tp.partition
            )));
        };
        self.positions[slot].1 = offset;
        // Reassigning restarts every fetch at the kept positions: simple and exact, and seeks
        // are rare (restores and catch-up reads).
        self.apply_assignment()
    }

    fn positions(&self) -> Vec<(TopicPartition, i64)> {
        self.positions.clone()
    }

    fn subscribe(&mut self, group: &str, topics: &[String]) -> LogResult<bool> {
        let inner = self.log.member_consumer(group)?;
        let wires: Vec<String> = topics.iter().map(|t| self.log.wire_topic(t)).collect();
        let names: Vec<&str> = wires.iter().map(String::as_str).collect();
        inner
            .subscribe(&names)
            .map_err(|e| broker_error(&format!("joining consumer group {group}"), e))?;
        self.inner = inner;
        self.subscribed = true;
        self.positions.clear();
        self.index.clear();
        Ok(true)
    }

    fn pending_rebalance(&mut self) -> Option<Rebalance> {
        let guard = self.inner.context().pending.lock();
        let (assign, partitions) = guard.as_ref()?;
        let tps = partitions
            .iter()
            .map(|(t, p)| TopicPartition::new(self.log.our_topic(t), *p))
            .collect();
        Some(if *assign {
            Rebalance::Assigned(tps)
        } else {
            Rebalance::Revoked(tps)
        })
    }

    fn complete_revoke(&mut self) -> LogResult<()> {
        self.inner.context().pending.lock().take();
        self.positions.clear();
        self.index.clear();
        self.inner
            .unassign()
            .map_err(|e| broker_error("giving partitions back to the group", e))
    }

    fn complete_assign(&mut self, positions: &[(TopicPartition, i64)]) -> LogResult<()> {
        self.inner.context().pending.lock().take();
        self.assign(positions)
    }

    fn begin_transactions(&mut self, transactional_id: &str) -> LogResult<bool> {
        if !self.subscribed {
            return Err(LogError::Invalid(
                "exactly-once processing needs a consumer group member".into(),
            ));
        }
        self.transactional = Some(self.log.begin_transactions(transactional_id)?);
        Ok(true)
    }

    fn commit_transaction(&mut self, offsets: &[(TopicPartition, i64)]) -> LogResult<()> {
        use rdkafka::producer::Producer as _;
        let Some(producer) = &self.transactional else {
            return Err(LogError::Invalid("no transaction was begun".into()));
        };
        let timeout = Duration::from_secs(60);
        let result = (|| {
            if !offsets.is_empty() {
                let metadata = self
                    .inner
                    .group_metadata()
                    .ok_or_else(|| LogError::Broker("Kafka: the consumer has no group metadata".into()))?;
                let list = self.log.offsets_list(offsets, "committing offsets")?;
                producer
                    .client()
                    .send_offsets_to_transaction(&list, &metadata, timeout)
                    .map_err(|e| broker_error("adding offsets to the transaction", e))?;
            }
            producer
                .client()
                .commit_transaction(timeout)
                .map_err(|e| broker_error("committing the transaction", e))?;
            producer
                .client()
                .begin_transaction()
                .map_err(|e| broker_error("beginning a transaction", e))
        })();
        if result.is_err() {
            // What the transaction held is discarded; the caller stops processing, and the
            // next owner of the partitions starts from the last committed transaction.
            let _ = producer.client().abort_transaction(timeout);
        }
        result
    }

    fn commit_as_member(&mut self, offsets: &[(TopicPartition, i64)]) -> LogResult<bool> {
        if !self.subscribed {
            return Ok(false);
        }
        if offsets.is_empty() {
            return Ok(true);
        }
        let list = self.log.offsets_list(offsets, "committing offsets")?;
        self.inner
            .commit(&list, CommitMode::Sync)
            .map_err(|e| broker_error("committing offsets as a group member", e))?;
        Ok(true)
    }
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        if let Some(producer) = self.transactional.take() {
            use rdkafka::producer::Producer as _;
            // The transaction begun after the last commit holds nothing that counts.
            let _ = producer.client().abort_transaction(Duration::from_secs(10));
            self.log.end_transactions();
        }
        // librdkafka's close revokes the assignment and waits for the revocation to be applied.
        self.inner
            .context()
            .closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Errors librdkafka recovers from by itself (reconnecting, finding a new leader).
fn is_transient(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::NotLeaderForPartition
            | RDKafkaErrorCode::LeaderNotAvailable
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::NetworkException
            | RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::UnknownTopicOrPartition
    )
}
