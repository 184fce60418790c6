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
    /// Whether this thread is applying commands from the topic (the start-up replay, or the
    /// follower applying another process's commands): no new commands, no query starts.
    static REPLAYING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
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
        REPLAYING.with(|r| r.get())
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
            overrides: SESSION_OVERRIDES.with(|o| o.borrow().clone()),
            version: 1,
        };
        let value = serde_json::to_vec(&command).map_err(|e| crate::Error::internal(e.to_string()))?;
        let record = Record {
            key: None,
            value: Some(Bytes::from(value)),
            timestamp: crate::runtime::processing_log::now_ms(),
            headers: Vec::new(),
        };
        // Held across the append and the note of its offset, so the follower never takes
        // this process's own command for another's.
        let mut own = self.own_commands.lock();
        let offset = self.log.append(&self.command_topic(), 0, &[record])?;
        own.insert(offset);
        Ok(())
    }
}

/// Applies one command read from the topic (a statement another process, or an earlier run,
/// executed), as a replay: the catalog and the query set change, nothing is recorded again.
fn apply(engine: &Arc<Engine>, topic: &str, offset: i64, value: &[u8]) {
    let command: Command = match serde_json::from_slice(value) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warning: skipping unreadable command at offset {offset} of {topic}: {e}");
            return;
        }
    };
    REPLAY_OFFSET.with(|o| o.set(Some(offset)));
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
            "warning: command at offset {offset} could not be replayed: {e}\n  {}",
            command.statement
        );
    }
    REPLAY_OFFSET.with(|o| o.set(None));
}

/// After applying commands: creates the topics they need that are still used, and starts
/// the queries they left registered but not running.
fn settle(engine: &Arc<Engine>) -> Result<()> {
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
    // Start what the commands left running, from the offsets each query committed.
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
            Err(e) => eprintln!("warning: query {id} could not be started: {e}"),
        }
    }
    Ok(())
}

/// Follows the command topic after the replay, applying what other processes of the same
/// service record (ksqlDB's command runner), until `stop` is set.
pub(super) fn follow(engine: &Arc<Engine>, from: i64, stop: &std::sync::atomic::AtomicBool) {
    let topic = engine.command_topic();
    let consumer = engine.log.consumer().and_then(|mut c| {
        c.assign(&[(TopicPartition::new(topic.clone(), 0), from)])?;
        Ok(c)
    });
    let mut consumer = match consumer {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warning: cannot follow the command topic {topic}: {e}");
            return;
        }
    };
    while !stop.load(Ordering::SeqCst) {
        let records = match consumer.poll(100, Duration::from_millis(300)) {
            Ok(r) => r,
            // An outage: the poll is retried; commands wait on the topic.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(300));
                continue;
            }
        };
        let mut applied = false;
        for rec in records {
            if engine.own_commands.lock().remove(&rec.offset) {
                continue;
            }
            let Some(value) = rec.record.value else { continue };
            REPLAYING.with(|r| r.set(true));
            apply(engine, &topic, rec.offset, &value);
            REPLAYING.with(|r| r.set(false));
            applied = true;
        }
        if applied && let Err(e) = settle(engine) {
            eprintln!("warning: applying commands of another process: {e}");
        }
    }
}

/// Replays the command topic, then starts every query it left running. Returns the offset
/// after the last command replayed (where a follower goes on).
pub(super) fn replay(engine: &Arc<Engine>) -> Result<i64> {
    let topic = engine.command_topic();
    let end = engine.log.end_offset(&topic, 0)?;
    if end == 0 {
        return Ok(0);
    }
    let start = engine.log.start_offset(&topic, 0)?;
    let mut consumer = engine.log.consumer()?;
    consumer.assign(&[(TopicPartition::new(topic.clone(), 0), start)])?;
    REPLAYING.with(|r| r.set(true));
    let mut next = start;
    // A broker may take a while to serve the first fetch: keep polling until the end taken
    // above, giving up only when nothing at all arrives for a long time.
    let patience = Duration::from_secs(60);
    let mut last_progress = std::time::Instant::now();
    while next < end {
        let records = consumer.poll(1000, Duration::from_millis(200))?;
        if records.is_empty() {
            if last_progress.elapsed() > patience {
                REPLAYING.with(|r| r.set(false));
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
            if let Some(value) = rec.record.value {
                apply(engine, &topic, rec.offset, &value);
            }
        }
    }
    REPLAYING.with(|r| r.set(false));
    settle(engine)?;
    Ok(next)
}
