//! The embedded log's consumer: assigned partitions, positions, and polling that sleeps until
//! an append wakes it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Shared;
use super::fetch::Chunk;
use super::frame::{self, FrameError};
use super::partition::{Fetch, Partition};
use crate::log::{ConsumedRecord, LogConsumer, LogError, LogResult, TopicPartition};

/// Reads assigned partitions of an [`EmbeddedLog`](super::EmbeddedLog).
#[derive(Debug)]
pub struct EmbeddedConsumer {
    shared: Arc<Shared>,
    assigned: Vec<Assignment>,
    /// Which partition goes first in the next poll, rotating for fairness.
    next_first: usize,
    /// An error met after some records were already taken: those are returned first (their
    /// positions have moved), and this on the next poll.
    deferred_error: Option<LogError>,
}

#[derive(Debug)]
struct Assignment {
    tp: TopicPartition,
    partition: Arc<Partition>,
    position: i64,
    /// Frames read ahead of the position, decoded as polls ask for them.
    buffered: Option<Buffered>,
}

#[derive(Debug)]
struct Buffered {
    chunk: Chunk,
    cursor: usize,
}

/// The most records a poll reserves room for up front (a caller asking for more gets the
/// rest by regrowth), so an absurd `max_records` cannot reserve absurd memory.
const MAX_PREALLOCATED_RECORDS: usize = 100_000;

/// A year stands in for "forever" when a timeout is too large to add to the clock.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

impl EmbeddedConsumer {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        EmbeddedConsumer {
            shared,
            assigned: Vec::new(),
            next_first: 0,
            deferred_error: None,
        }
    }

    /// One pass over the assigned partitions without waiting. Each partition gets an equal
    /// share of `max_records`; leftover room goes round again to partitions that had more.
    fn read_available(&mut self, max_records: usize) -> LogResult<Vec<ConsumedRecord>> {
        let count = self.assigned.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        // Sized once: growing a vector of thousands of records by doubling costs a copy of
        // all of them each time. An idle poll pays for the allocation only (no page is
        // touched until records are written).
        let mut out = Vec::with_capacity(max_records.min(MAX_PREALLOCATED_RECORDS));
        let share = max_records.div_ceil(count);
        let fetch_bytes = self.shared.context.options.fetch_bytes;
        loop {
            let mut some_had_more = false;
            for k in 0..count {
                let room = max_records - out.len();
                if room == 0 {
                    break;
                }
                let limit = share.min(room);
                let assignment = &mut self.assigned[(self.next_first + k) % count];
                match assignment.read_into(&mut out, limit, fetch_bytes) {
                    Ok(taken) => some_had_more |= taken == limit,
                    Err(e) if out.is_empty() => return Err(e),
                    Err(e) => {
                        self.deferred_error = Some(e);
                        return Ok(out);
                    }
                }
            }
            if !some_had_more || out.len() >= max_records {
                break;
            }
        }
        self.next_first = (self.next_first + 1) % count;
        Ok(out)
    }

    fn find(&mut self, tp: &TopicPartition) -> LogResult<&mut Assignment> {
        self.assigned.iter_mut().find(|a| &a.tp == tp).ok_or_else(|| {
            LogError::Invalid(format!(
                "partition {}-{} is not assigned to this consumer",
                tp.topic, tp.partition
            ))
        })
    }
}

impl Assignment {
    /// Moves up to `limit` records into `out`; returns how many.
    fn read_into(&mut self, out: &mut Vec<ConsumedRecord>, limit: usize, fetch_bytes: usize) -> LogResult<usize> {
        let mut taken = 0;
        while taken < limit {
            let Some(buffered) = &mut self.buffered else {
                match self.partition.fetch(self.position, fetch_bytes)? {
                    Fetch::Data(chunk) => self.buffered = Some(Buffered { chunk, cursor: 0 }),
                    // Deleted records: continue from the earliest remaining, as
                    // auto.offset.reset=earliest does.
                    Fetch::BelowStart(start) => self.position = start,
                    Fetch::AtEnd => break,
                }
                continue;
            };
            let data = &buffered.chunk.data;
            let span = match frame::check(data, buffered.cursor) {
                Ok(span) => span,
                // The chunk is used up (or ends mid-frame): read on from the position.
                Err(FrameError::Incomplete { .. }) => {
                    self.buffered = None;
                    continue;
                }
                Err(e) => return Err(corrupt(&buffered.chunk, buffered.cursor, &e)),
            };
            buffered.cursor = span.end;
            if span.offset < self.position {
                continue;
            }
            let record = frame::decode(data, span).map_err(|e| corrupt(&buffered.chunk, span.start, &e))?;
            out.push(ConsumedRecord {
                topic: Arc::clone(self.partition.topic()),
                partition: self.tp.partition,
                offset: span.offset,
                record,
            });
            self.position = span.offset + 1;
            taken += 1;
        }
        Ok(taken)
    }
}

fn corrupt(chunk: &Chunk, at: usize, e: &FrameError) -> LogError {
    LogError::Corrupt {
        path: chunk.path.display().to_string(),
        reason: format!("bad record frame at byte {}: {e}", chunk.file_position + at as u64),
    }
}

impl LogConsumer for EmbeddedConsumer {
    fn assign(&mut self, positions: &[(TopicPartition, i64)]) -> LogResult<()> {
        let mut assigned: Vec<Assignment> = Vec::with_capacity(positions.len());
        for (tp, offset) in positions {
            if *offset < 0 {
                return Err(LogError::Invalid(format!(
                    "cannot read {}-{} from negative offset {offset}",
                    tp.topic, tp.partition
                )));
            }
            let partition = self.shared.partition(&tp.topic, tp.partition)?;
            let assignment = Assignment {
                tp: tp.clone(),
                partition,
                position: *offset,
                buffered: None,
            };
            // A partition listed twice is read once, from the last position given.
            match assigned.iter_mut().find(|a| a.tp == *tp) {
                Some(existing) => *existing = assignment,
                None => assigned.push(assignment),
            }
        }
        self.assigned = assigned;
        self.next_first = 0;
        self.deferred_error = None;
        Ok(())
    }

    /// With nothing assigned this sleeps for the timeout rather than returning at once, so a
    /// caller polling in a loop does not spin.
    fn poll(&mut self, max_records: usize, timeout: Duration) -> LogResult<Vec<ConsumedRecord>> {
        let now = Instant::now();
        let deadline = now.checked_add(timeout).unwrap_or_else(|| now + FAR_FUTURE);
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        if max_records == 0 {
            return Ok(Vec::new());
        }
        loop {
            // Read the generation before looking, so an append between the look and the
            // wait is not missed.
            let seen = self.shared.context.notifier.generation();
            let records = self.read_available(max_records)?;
            if !records.is_empty() || Instant::now() >= deadline {
                return Ok(records);
            }
            self.shared.context.notifier.wait(seen, deadline);
        }
    }

    fn seek(&mut self, tp: &TopicPartition, offset: i64) -> LogResult<()> {
        if offset < 0 {
            return Err(LogError::Invalid(format!(
                "cannot seek {}-{} to negative offset {offset}",
                tp.topic, tp.partition
            )));
        }
        let assignment = self.find(tp)?;
        assignment.position = offset;
        assignment.buffered = None;
        Ok(())
    }

    fn positions(&self) -> Vec<(TopicPartition, i64)> {
        self.assigned.iter().map(|a| (a.tp.clone(), a.position)).collect()
    }
}
