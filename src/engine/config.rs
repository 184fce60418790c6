//! Engine properties: defaults, the config file, `--set`, and session `SET` overrides.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Every property Runnel reads, with its default and what it does.
pub const KNOWN_PROPERTIES: &[(&str, &str, &str)] = &[
    (
        "runnel.service.id",
        "default_",
        "Names the command topic and the consumer groups of persistent queries.",
    ),
    ("num.stream.threads", "1", "Worker threads per persistent query."),
    ("commit.interval.ms", "2000", "How often a query commits its offsets."),
    (
        "auto.offset.reset",
        "earliest",
        "Where a query with no committed offsets starts: earliest (the default, as in Kafka Streams) or latest (ksqlDB's default).",
    ),
    (
        "processing.guarantee",
        "at_least_once",
        "at_least_once or exactly_once_v2.",
    ),
    (
        "statestore.cache.max.bytes",
        "10485760",
        "Record cache size in front of state stores; 0 disables it.",
    ),
    (
        "runnel.pull.wait.ms",
        "10000",
        "How long a pull query waits for its table to catch up with the log.",
    ),
    (
        "state.dir",
        "",
        "Where tasks keep their local state stores; empty means <data dir>/state for the embedded log.",
    ),
    (
        "runnel.state.store",
        "rocksdb",
        "State store implementation: rocksdb (on disk, restored from a checkpoint) or memory (restored from the changelog).",
    ),
    (
        "runnel.state.store.cache.max.bytes",
        "268435456",
        "Memory for committed state-store entries kept in front of RocksDB, per query, shared by its tasks; reads of them skip RocksDB. 0 disables it.",
    ),
    (
        "runnel.state.checkpoint.records",
        "1000000",
        "Changelog records a task writes between two checkpoints of its RocksDB stores; after a crash, a restart replays at most about this many.",
    ),
    (
        "ksql.query.pull.table.scan.enabled",
        "true",
        "Whether pull queries may scan a table; with false, each WHERE disjunct must pin the key (ksqlDB's switch).",
    ),
    (
        "ksql.query.pull.range.scan.enabled",
        "true",
        "With table scans off, whether a pull query may take a range of a single STRING key (ksqlDB's switch).",
    ),
    (
        "ksql.query.pull.limit.clause.enabled",
        "true",
        "Whether pull queries may have a LIMIT clause (ksqlDB's switch of the same name).",
    ),
    (
        "ksql.persistence.default.format.key",
        "KAFKA",
        "Key format of a CREATE STREAM|TABLE that names none (ksqlDB's property).",
    ),
    (
        "ksql.persistence.default.format.value",
        "",
        "Value format of a CREATE STREAM|TABLE that names none; empty means VALUE_FORMAT is required (ksqlDB's property).",
    ),
    (
        "ksql.persistence.wrap.single.values",
        "true",
        "Whether a JSON value of one column is an object holding it (true) or the bare value (false), unless WRAP_SINGLE_VALUE says (ksqlDB's property).",
    ),
    (
        "ksql.output.topic.name.prefix",
        "",
        "Prepended to the topic name of a CREATE ... AS SELECT without KAFKA_TOPIC (ksqlDB's property).",
    ),
    (
        "ksql.timestamp.throw.on.invalid",
        "false",
        "Whether a record with an invalid timestamp fails its query (true) or is dropped and logged (ksqlDB's property).",
    ),
    ("runnel.output", "table", "Shell output format: table, json or csv."),
    (
        "max.poll.records",
        "10000",
        "Records a task takes from the log per poll.",
    ),
    ("bootstrap.servers", "", "Kafka brokers; empty means the embedded log."),
    (
        "runnel.kafka.topic.prefix",
        "",
        "Prepended to every topic and consumer group name on Kafka, so several engines can share a cluster unseen by each other.",
    ),
];

/// A set of properties layered over the defaults.
#[derive(Debug, Clone, Default)]
pub struct Config {
    values: BTreeMap<String, String>,
}

impl Config {
    /// The defaults.
    pub fn new() -> Self {
        Config::default()
    }

    /// Sets a property.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        validate(key, value)?;
        self.values.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// Removes an override.
    pub fn unset(&mut self, key: &str) {
        self.values.remove(key);
    }

    /// The value of `key`, or its default.
    pub fn get(&self, key: &str) -> Option<String> {
        self.values.get(key).cloned().or_else(|| {
            KNOWN_PROPERTIES
                .iter()
                .find(|(k, _, _)| *k == key)
                .map(|(_, v, _)| v.to_string())
        })
    }

    /// The value of `key` only if it was set explicitly (not a default).
    pub fn get_explicit(&self, key: &str) -> Option<String> {
        self.values.get(key).cloned()
    }

    /// Every explicitly set property.
    pub fn explicit(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// The value of `key` as a number.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        let v = self.get(key).unwrap_or_default();
        v.parse()
            .map_err(|_| Error::config(format!("property {key} must be a whole number, not '{v}'")))
    }

    /// This config with `overrides` on top.
    pub fn with_overrides(&self, overrides: &Config) -> Config {
        let mut c = self.clone();
        c.values.extend(overrides.values.clone());
        c
    }

    /// Every property with its effective value and where it came from.
    pub fn effective(&self) -> Vec<(String, String, &'static str)> {
        let mut out: BTreeMap<String, (String, &'static str)> = BTreeMap::new();
        for (k, v, _) in KNOWN_PROPERTIES {
            out.insert(k.to_string(), (v.to_string(), "DEFAULT"));
        }
        for (k, v) in &self.values {
            out.insert(k.clone(), (v.clone(), "SET"));
        }
        out.into_iter().map(|(k, (v, s))| (k, v, s)).collect()
    }

    /// Reads a Java-style properties file (`key=value` lines, `#` comments).
    pub fn load_file(&mut self, path: &std::path::Path) -> Result<()> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read config file {}: {e}", path.display())))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((k, v)) = line.split_once('=').or_else(|| line.split_once(':')) else {
                return Err(Error::config(format!(
                    "{}:{}: expected key=value, found '{line}'",
                    path.display(),
                    n + 1
                )));
            };
            self.set(k.trim(), v.trim())
                .map_err(|e| Error::config(format!("{}:{}: {}", path.display(), n + 1, e.message)))?;
        }
        Ok(())
    }
}

fn validate(key: &str, value: &str) -> Result<()> {
    let number = |v: &str| v.parse::<u64>().is_ok();
    let ok = match key {
        "num.stream.threads" => number(value) && value != "0",
        "commit.interval.ms"
        | "statestore.cache.max.bytes"
        | "runnel.state.store.cache.max.bytes"
        | "runnel.state.checkpoint.records"
        | "runnel.pull.wait.ms"
        | "max.poll.records" => number(value),
        "auto.offset.reset" => matches!(value, "earliest" | "latest"),
        "processing.guarantee" => {
            matches!(value, "at_least_once" | "exactly_once_v2" | "exactly_once")
        }
        "runnel.output" => matches!(value.to_lowercase().as_str(), "table" | "json" | "csv"),
        "runnel.state.store" => matches!(value.to_lowercase().as_str(), "rocksdb" | "memory"),
        "ksql.query.pull.limit.clause.enabled"
        | "ksql.persistence.wrap.single.values"
        | "ksql.timestamp.throw.on.invalid"
        | "ksql.query.pull.table.scan.enabled"
        | "ksql.query.pull.range.scan.enabled" => matches!(value.to_lowercase().as_str(), "true" | "false"),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!("invalid value '{value}' for property {key}")))
    }
}
