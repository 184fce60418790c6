//! The command topic: every statement that changes the catalog or the set of running
//! queries, in order. Replaying it on start rebuilds the engine; query ids are numbered by
//! the offset of their command, so they are the same after every restart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Engine, Session};
use crate::error::Result;
use crate::log::{Bytes, Record, TopicPartition};

/// One command as stored on the topic.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Command {
    /// The statement text, variables already substituted.
    statement: String,
    /// Session properties in force when it ran.
    #[serde(default)]
    overrides: BTreeMap<String, String>,
    /// Format version of this record.
    #[serde(default)]
    version: u32,
}

thread_local! {
    static REPLAY_OFFSET: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
    /// The session properties of the statement being executed, recorded with its command so
    /// a replay runs it with the same settings.
    static SESSION_OVERRIDES: std::cell::RefCell<BTreeMap<String, String>> = const { std::cell::RefCell::new(BTreeMap::new()) };
}

/// Sets the session properties recorded with commands executed on this thread.
pub(super) fn set_session_overrides(overrides: &BTreeMap<String, String>) {
    SESSION_OVERRIDES.with(|o| o.borrow_mut().clone_from(overrides));
}

impl Engine {
    /// Whether the command topic is being replayed (no new commands, no query starts).
    pub(crate) fn is_replaying(&self) -> bool {
        self.replaying.load(Ordering::SeqCst)
    }

    /// The offset the current statement's command has (or will have) on the command topic.
    pub(crate) fn command_offset(&self) -> Result<i64> {
        match REPLAY_OFFSET.with(|o| o.get()) {
            Some(o) if self.is_replaying() => Ok(o),
            _ => Ok(self.log.end_offset(&self.command_topic(), 0)?),
        }
    }

    /// Records a statement on the command topic (not while replaying).
    pub(crate) fn record_command(&self, statement: &str) -> Result<()> {
        if self.is_replaying() {
            return Ok(());
        }
        let command = Command {
            statement: statement.to_string(),
            overrides: BTreeMap::new(),
            version: 1,
        };
        let value = serde_json::to_vec(&command).map_err(|e| crate::Error::internal(e.to_string()))?;
        let record = Record {
            key: None,
            value: Some(Bytes::from(value)),
            timestamp: crate::runtime::processing_log::now_ms(),
            headers: Vec::new(),
        };
        self.log.append(&self.command_topic(), 0, &[record])?;
        Ok(())
    }
}

/// Replays the command topic, then starts every query it left running.
pub(super) fn replay(engine: &Arc<Engine>) -> Result<()> {
    let topic = engine.command_topic();
    let end = engine.log.end_offset(&topic, 0)?;
    if end == 0 {
        return Ok(());
    }
    let start = engine.log.start_offset(&topic, 0)?;
    let mut consumer = engine.log.consumer()?;
    consumer.assign(&[(TopicPartition::new(topic.clone(), 0), start)])?;
    engine.replaying.store(true, Ordering::SeqCst);
    let mut next = start;
    // A broker may take a while to serve the first fetch: keep polling until the end taken
    // above, giving up only when nothing at all arrives for a long time.
    let patience = Duration::from_secs(60);
    let mut last_progress = std::time::Instant::now();
    while next < end {
        let records = consumer.poll(1000, Duration::from_millis(200))?;
        if records.is_empty() {
            if last_progress.elapsed() > patience {
                engine.replaying.store(false, Ordering::SeqCst);
                return Err(crate::error::Error::new(
                    crate::error::ErrorKind::Log,
                    format!(
                        "the command topic {topic} stopped at offset {next} of {end} for {} s: the log is not serving it",
                        patience.as_secs()
                    ),
                ));
            }
            continue;
        }
        last_progress = std::time::Instant::now();
        for rec in records {
            next = rec.offset + 1;
            let Some(value) = rec.record.value else {
                continue;
            };
            let command: Command = match serde_json::from_slice(&value) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!(
                        "warning: skipping unreadable command at offset {} of {topic}: {e}",
                        rec.offset
                    );
                    continue;
                }
            };
            REPLAY_OFFSET.with(|o| o.set(Some(rec.offset)));
            let mut session = Session::default();
            for (k, v) in &command.overrides {
                let _ = session.overrides.set(k, v);
            }
            let result = engine.parse(&command.statement, &session).and_then(|stmts| {
                for s in &stmts {
                    engine.execute(s, &mut session)?;
                }
                Ok(())
            });
            if let Err(e) = result {
                eprintln!(
                    "warning: command at offset {} could not be replayed: {e}\n  {}",
                    rec.offset, command.statement
                );
            }
        }
    }
    REPLAY_OFFSET.with(|o| o.set(None));
    engine.replaying.store(false, Ordering::SeqCst);
    // Topics a replayed CREATE would have made: only those of sources that still exist (a
    // later DROP ... DELETE TOPIC in the replay must not bring its topic back).
    let deferred = std::mem::take(&mut *engine.deferred_topics.lock());
    for (name, config) in deferred {
        let used = engine.state.lock().catalog.sources().any(|s| s.topic == name);
        if used {
            match engine.log.create_topic(&name, &config) {
                Ok(()) | Err(crate::log::LogError::TopicExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    // Start what the replay left running, from the offsets each query committed.
    let mut state = engine.state.lock();
    let ids: Vec<String> = state.queries.keys().cloned().collect();
    for id in ids {
        let Some(q) = state.queries.get(&id) else {
            continue;
        };
        if q.paused || q.running.is_some() {
            continue;
        }
        let starter = q.starter.clone();
        match starter(engine) {
            Ok(r) => {
                if let Some(q) = state.queries.get_mut(&id) {
                    q.running = Some(r);
                }
            }
            Err(e) => eprintln!("warning: query {id} could not be restarted: {e}"),
        }
    }
    Ok(())
}
