//! Reading Kafka partitions at positions the caller chooses (manual assignment, as Kafka
//! Streams' restore consumer and our query workers use it): offsets are committed by the
//! log per consumer group, not by this consumer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};

use super::{KafkaLog, broker_error};
use crate::log::{Bytes, ConsumedRecord, LogConsumer, LogError, LogResult, Record, TopicPartition};

/// A consumer of a [`KafkaLog`].
pub struct KafkaConsumer {
    log: Arc<KafkaLog>,
    inner: BaseConsumer,
    /// Next offset to read, per assigned partition (wire topic names are not kept).
    positions: Vec<(TopicPartition, i64)>,
    /// Index into `positions` by (wire topic, partition).
    index: HashMap<(String, i32), usize>,
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
    pub(super) fn new(log: Arc<KafkaLog>, inner: BaseConsumer) -> Self {
        KafkaConsumer {
            log,
            inner,
            positions: Vec::new(),
            index: HashMap::new(),
            names: HashMap::new(),
        }
    }

    fn apply_assignment(&mut self) -> LogResult<()> {
        let mut list = TopicPartitionList::with_capacity(self.positions.len());
        for (tp, offset) in &self.positions {
            list.add_partition_offset(
                &self.log.wire_topic(&tp.topic),
                tp.partition,
                rdkafka::Offset::Offset(*offset),
            )
            .map_err(|e| broker_error("assigning partitions", e))?;
        }
        self.inner
            .assign(&list)
            .map_err(|e| broker_error("assigning partitions", e))
    }
}

/// Turns a fetched message into a record and moves its partition's position past it.
fn convert(
    log: &KafkaLog,
    positions: &mut [(TopicPartition, i64)],
    index: &HashMap<(String, i32), usize>,
    names: &mut HashMap<String, Arc<str>>,
    message: &rdkafka::message::BorrowedMessage<'_>,
) -> Option<ConsumedRecord> {
    let wire = message.topic();
    let slot = *index.get(&(wire.to_string(), message.partition()))?;
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

impl LogConsumer for KafkaConsumer {
    fn assign(&mut self, positions: &[(TopicPartition, i64)]) -> LogResult<()> {
        let mut ordered: Vec<(TopicPartition, i64)> = Vec::with_capacity(positions.len());
        let mut index = HashMap::new();
        for (tp, offset) in positions {
            if *offset < 0 {
                return Err(LogError::Invalid(format!(
                    "cannot read {}[{}] from offset {offset}",
                    tp.topic, tp.partition
                )));
            }
            let key = (self.log.wire_topic(&tp.topic), tp.partition);
            // A partition listed twice is read once, from the last position given.
            match index.get(&key) {
                Some(&i) => ordered[i] = (tp.clone(), *offset),
                None => {
                    index.insert(key, ordered.len());
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
        if self.positions.is_empty() {
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
        }
        Ok(out)
    }

    fn seek(&mut self, tp: &TopicPartition, offset: i64) -> LogResult<()> {
        let key = (self.log.wire_topic(&tp.topic), tp.partition);
        let Some(&slot) = self.index.get(&key) else {
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
