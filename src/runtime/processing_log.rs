//! The processing log: structured entries for records that could not be read, evaluated or
//! written. They go to the `RUNNEL_PROCESSING_LOG` stream's topic, as ksqlDB's
//! `KSQL_PROCESSING_LOG` does, so a bad record never stops a query and never vanishes silently.

use crate::log::{Bytes, Log, Record};

/// The name of the processing-log stream.
pub const PROCESSING_LOG_STREAM: &str = "RUNNEL_PROCESSING_LOG";
/// The topic behind it.
pub const PROCESSING_LOG_TOPIC: &str = "runnel_processing_log";

/// What kind of failure an entry records (ksqlDB's `message.type` numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingErrorKind {
    /// 0: the record's key or value could not be deserialized.
    Deserialization,
    /// 1: an expression failed for the record.
    RecordProcessing,
    /// 2: the record could not be produced.
    Production,
    /// 3: the result could not be serialized.
    Serialization,
}

impl ProcessingErrorKind {
    fn code(self) -> i32 {
        match self {
            ProcessingErrorKind::Deserialization => 0,
            ProcessingErrorKind::RecordProcessing => 1,
            ProcessingErrorKind::Production => 2,
            ProcessingErrorKind::Serialization => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ProcessingErrorKind::Deserialization => "DESERIALIZATION_ERROR",
            ProcessingErrorKind::RecordProcessing => "RECORD_PROCESSING_ERROR",
            ProcessingErrorKind::Production => "PRODUCTION_ERROR",
            ProcessingErrorKind::Serialization => "SERIALIZATION_ERROR",
        }
    }
}

/// One processing-log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingLogEntry {
    /// What failed.
    pub kind: ProcessingErrorKind,
    /// The message.
    pub message: String,
    /// The topic the record came from (or was going to).
    pub topic: String,
    /// Its partition, when known.
    pub partition: Option<i32>,
    /// Its offset, when known.
    pub offset: Option<i64>,
    /// `key` or `value` for (de)serialization errors.
    pub target: Option<&'static str>,
}

impl ProcessingLogEntry {
    /// The entry as the JSON value written to the processing-log topic.
    pub fn to_json(&self, query_id: &str, time_ms: i64) -> serde_json::Value {
        serde_json::json!({
            "LOGGER": format!("processing.{query_id}"),
            "LEVEL": "ERROR",
            "TIME": time_ms,
            "MESSAGE": {
                "TYPE": self.kind.code(),
                "KIND": self.kind.name(),
                "ERRORMESSAGE": self.message,
                "TOPIC": self.topic,
                "PARTITION": self.partition,
                "OFFSET": self.offset,
                "TARGET": self.target,
            }
        })
    }
}

/// Writes entries to the processing-log topic; if even that fails, to standard error, so
/// nothing is lost silently.
pub fn write_entries(log: &dyn Log, query_id: &str, entries: &[ProcessingLogEntry]) {
    if entries.is_empty() {
        return;
    }
    let now = now_ms();
    let records: Vec<Record> = entries
        .iter()
        .map(|e| Record {
            key: None,
            value: Some(Bytes::from(e.to_json(query_id, now).to_string())),
            timestamp: now,
            headers: Vec::new(),
        })
        .collect();
    if let Err(err) = log.append(PROCESSING_LOG_TOPIC, 0, &records) {
        for e in entries {
            eprintln!(
                "processing log ({query_id}): {} (could not write to {PROCESSING_LOG_TOPIC}: {err})",
                e.message
            );
        }
    }
}

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
