//! Producing to Kafka: one idempotent producer per log, with delivery reports routed back to
//! whoever is waiting for them.
//!
//! Two ways to write. [`Producer::append`] waits for its records' acknowledgements and
//! returns the first offset (commands, inserts, changelogs, which need offsets).
//! [`Producer::send`] only enqueues: sinks write a whole poll's worth of batches that way and
//! the worker waits once, in [`Producer::await_sends`], before it reports positions or
//! commits — one round trip per poll instead of one per batch and partition. Sends are
//! tracked per calling thread, because each query worker is one thread and waits only for
//! what it wrote itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer};

use super::{KafkaLog, broker_error};
use crate::log::{Log, LogError, LogResult, Record};

/// Acknowledgements outstanding for one append or one thread's sends.
#[derive(Debug, Default)]
pub(super) struct Pending {
    state: Mutex<PendingState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct PendingState {
    outstanding: usize,
    first_offset: Option<i64>,
    error: Option<String>,
}

impl Pending {
    fn add(&self, n: usize) {
        self.state.lock().outstanding += n;
    }

    /// Forgets one record that was never handed to the producer.
    fn cancel_one(&self) {
        let mut s = self.state.lock();
        s.outstanding = s.outstanding.saturating_sub(1);
        if s.outstanding == 0 {
            self.done.notify_all();
        }
    }

    fn settle(&self, result: Result<i64, String>) {
        let mut s = self.state.lock();
        s.outstanding = s.outstanding.saturating_sub(1);
        match result {
            Ok(offset) => s.first_offset = Some(s.first_offset.map_or(offset, |o| o.min(offset))),
            Err(e) => {
                s.error.get_or_insert(e);
            }
        }
        if s.outstanding == 0 {
            self.done.notify_all();
        }
    }

    /// Waits until nothing is outstanding; returns the lowest offset acknowledged, or the
    /// first error, and resets for reuse.
    fn wait(&self, timeout: Duration, label: &str) -> Result<Option<i64>, String> {
        let deadline = Instant::now() + timeout;
        let mut s = self.state.lock();
        while s.outstanding > 0 {
            if self.done.wait_until(&mut s, deadline).timed_out() && s.outstanding > 0 {
                return Err(format!(
                    "{} record(s) not acknowledged by {label} within {} s: is the broker reachable? They stay queued and are written when it answers again",
                    s.outstanding,
                    timeout.as_secs()
                ));
            }
        }
        let first = s.first_offset.take();
        match s.error.take() {
            Some(e) => Err(e),
            None => Ok(first),
        }
    }
}

/// Routes each delivery report to the [`Pending`] it was sent with.
pub(super) struct DeliveryRouter;

impl ClientContext for DeliveryRouter {}

impl ProducerContext for DeliveryRouter {
    type DeliveryOpaque = Arc<Pending>;

    fn delivery(&self, result: &DeliveryResult<'_>, pending: Arc<Pending>) {
        pending.settle(match result {
            Ok(message) => Ok(message.offset()),
            Err((e, message)) => Err(format!(
                "writing to {}[{}] failed: {e}",
                message.topic(),
                message.partition()
            )),
        });
    }
}

/// The log's producer.
pub(super) struct Producer {
    inner: ThreadedProducer<DeliveryRouter>,
    /// The outstanding sends of each thread.
    sends: Mutex<HashMap<ThreadId, Arc<Pending>>>,
    /// How long a caller waits for acknowledgements.
    ack_timeout: Duration,
    /// "Kafka at host:port", for messages.
    label: String,
}

impl Producer {
    pub(super) fn new(inner: ThreadedProducer<DeliveryRouter>, ack_timeout: Duration, label: String) -> Self {
        Producer {
            inner,
            sends: Mutex::new(HashMap::new()),
            ack_timeout,
            label,
        }
    }

    /// Writes and waits; returns the offset of the first record.
    pub(super) fn append(&self, log: &KafkaLog, topic: &str, partition: i32, records: &[Record]) -> LogResult<i64> {
        let pending = Arc::new(Pending::default());
        self.enqueue(log, topic, partition, records, &pending)?;
        match pending.wait(self.ack_timeout, &self.label) {
            Ok(Some(first)) => Ok(first),
            Ok(None) => log.end_offset(topic, partition),
            Err(e) => Err(LogError::Broker(e)),
        }
    }

    /// Enqueues without waiting; [`Producer::await_sends`] reports the outcome.
    pub(super) fn send(&self, log: &KafkaLog, topic: &str, partition: i32, records: &[Record]) -> LogResult<()> {
        let pending = self
            .sends
            .lock()
            .entry(std::thread::current().id())
            .or_default()
            .clone();
        self.enqueue(log, topic, partition, records, &pending)
    }

    /// Waits for every record this thread sent.
    pub(super) fn await_sends(&self) -> LogResult<()> {
        let pending = self.sends.lock().get(&std::thread::current().id()).cloned();
        match pending {
            None => Ok(()),
            Some(p) => p
                .wait(self.ack_timeout, &self.label)
                .map(|_| ())
                .map_err(LogError::Broker),
        }
    }

    /// The librdkafka producer (for transactions).
    pub(super) fn client(&self) -> &ThreadedProducer<DeliveryRouter> {
        &self.inner
    }

    /// Waits for everything any thread wrote.
    pub(super) fn flush(&self) -> LogResult<()> {
        self.inner
            .flush(self.ack_timeout)
            .map_err(|e| broker_error("flushing the producer", e))
    }

    fn enqueue(
        &self,
        log: &KafkaLog,
        topic: &str,
        partition: i32,
        records: &[Record],
        pending: &Arc<Pending>,
    ) -> LogResult<()> {
        let wire_topic = log.wire_topic(topic);
        for r in records {
            pending.add(1);
            let mut record: BaseRecord<'_, [u8], [u8], Arc<Pending>> =
                BaseRecord::with_opaque_to(&wire_topic, pending.clone()).partition(partition);
            if let Some(k) = &r.key {
                record = record.key(k.as_ref());
            }
            if let Some(v) = &r.value {
                record = record.payload(v.as_ref());
            }
            // librdkafka stamps a timestamp of 0 with the current time (see docs/operations.md).
            if r.timestamp > 0 {
                record = record.timestamp(r.timestamp);
            }
            if !r.headers.is_empty() {
                let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
                for (key, value) in &r.headers {
                    headers = headers.insert(KafkaHeader {
                        key,
                        value: value.as_deref(),
                    });
                }
                record = record.headers(headers);
            }
            let started = Instant::now();
            loop {
                match self.inner.send(record) {
                    Ok(()) => break,
                    // The local queue is full: the producer thread drains it as the broker
                    // acknowledges; wait for room rather than fail.
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                        if started.elapsed() < self.ack_timeout =>
                    {
                        record = back;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err((e, _)) => {
                        pending.cancel_one();
                        return Err(broker_error(&format!("writing to {topic}[{partition}]"), e));
                    }
                }
            }
        }
        Ok(())
    }
}
