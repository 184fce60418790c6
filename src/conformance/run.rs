//! Runs one case on a fresh engine over a fresh embedded log in a temporary directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use regex::Regex;

use super::case::{Case, CaseKind, ExpectedError, RecordSpec};
use super::json::Json;
use super::records::{Side, decode, encode, json_matches, value_to_json};
use crate::engine::{Config, Engine, PushPoll, Session, StatementResult};
use crate::error::ErrorKind;
use crate::format::BASE64;
use crate::log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use crate::log::kafka::{KafkaLog, KafkaLogOptions};
use crate::log::{Bytes, Log, LogError, Record, TopicConfig, TopicPartition, default_partition};
use crate::plan::catalog::SourceDesc;
use crate::types::{ColumnKind, SqlType, Value};

/// How cases run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The longest a case may take in all.
    pub case_timeout: Duration,
    /// How long to wait for the queries to consume their inputs.
    pub idle_timeout: Duration,
    /// How long a push query may take to produce its expected rows.
    pub push_timeout: Duration,
    /// Run on the Kafka cluster at these bootstrap servers instead of an embedded log; each
    /// case gets a topic prefix of its own.
    pub kafka: Option<String>,
}

/// Numbers the cases run on Kafka, for their topic prefixes.
static KAFKA_CASES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            case_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(10),
            push_timeout: Duration::from_secs(5),
            kafka: None,
        }
    }
}

/// What became of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything matched.
    Pass,
    /// The first difference found.
    Fail(String),
    /// Not run, and why.
    Skip(String),
}

const UNSUPPORTED_FORMATS: &[&str] = &["AVRO", "PROTOBUF", "PROTOBUF_NOSR", "JSON_SR"];

/// Why a case is not run, if it is not: it needs a function that only exists in ksqlDB's
/// Java test harness, or a format Runnel does not have.
pub fn skip_reason(case: &Case) -> Option<String> {
    let test_udfs: Vec<&str> = case
        .features
        .iter()
        .filter_map(|f| f.strip_prefix("test-udf:"))
        .collect();
    if !test_udfs.is_empty() {
        return Some(format!(
            "uses functions of ksqlDB's Java test harness: {}",
            test_udfs.join(", ")
        ));
    }
    let formats: Vec<&str> = case
        .all_formats
        .iter()
        .map(String::as_str)
        .filter(|f| UNSUPPORTED_FORMATS.contains(f))
        .collect();
    if !formats.is_empty() && case.expected_error.is_none() {
        return Some(format!("format not supported: {}", formats.join(", ")));
    }
    None
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "runnel-conformance-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The engine config for a case: fast commits, no record cache, the upstream harness's
/// defaults, then the case's properties mapped onto Runnel's names.
fn case_config(case: &Case) -> Result<Config, String> {
    let mut config = Config::new();
    let defaults = [
        ("commit.interval.ms", "20"),
        ("statestore.cache.max.bytes", "0"),
        ("auto.offset.reset", "earliest"),
        ("runnel.service.id", "some.ksql.service.id"),
        ("runnel.pull.wait.ms", "5000"),
    ];
    for (k, v) in defaults {
        config.set(k, v).map_err(|e| e.to_string())?;
    }
    for (key, value) in &case.properties {
        let short = key.strip_prefix("ksql.streams.").unwrap_or(key);
        let mapped = match short {
            "ksql.service.id" => Some("runnel.service.id"),
            "auto.offset.reset" => Some("auto.offset.reset"),
            "cache.max.bytes.buffering" | "statestore.cache.max.bytes" => Some("statestore.cache.max.bytes"),
            "num.stream.threads" => Some("num.stream.threads"),
            _ => None,
        };
        match mapped {
            Some(k) => config
                .set(k, value)
                .map_err(|e| format!("property {key}={value}: {e}"))?,
            // Unknown to Runnel: kept under its own name, for whatever may read it.
            None => {
                let _ = config.set(key, value);
            }
        }
    }
    Ok(config)
}

static CREATE_SOURCE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?is)^\s*CREATE\s+(OR\s+REPLACE\s+)?(SOURCE\s+)?(STREAM|TABLE)\b").ok());
static AS_SELECT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?is)\bAS\s+SELECT\b").ok());
static KAFKA_TOPIC: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?is)\bKAFKA_TOPIC\s*=\s*'([^']*)'").ok());
static PARTITIONS: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?is)\bPARTITIONS\s*=\s*(\d+)").ok());

/// The topics the upstream driver creates before the statements run: declared topics, the
/// topics of `CREATE STREAM|TABLE` statements (with their `PARTITIONS`), and input topics,
/// 1 partition unless said otherwise.
fn topics_to_create(case: &Case) -> Vec<(String, i32)> {
    let mut out: Vec<(String, i32)> = Vec::new();
    let mut add = |name: &str, partitions: i32| {
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), partitions.max(1)));
        }
    };
    for t in &case.topics {
        add(&t.name, t.partitions);
    }
    for stmt in &case.statements {
        let (Some(create), Some(as_select), Some(topic_re), Some(parts_re)) = (
            CREATE_SOURCE.as_ref(),
            AS_SELECT.as_ref(),
            KAFKA_TOPIC.as_ref(),
            PARTITIONS.as_ref(),
        ) else {
            break;
        };
        if !create.is_match(stmt) || as_select.is_match(stmt) {
            continue;
        }
        if let Some(topic) = topic_re.captures(stmt).and_then(|c| c.get(1)) {
            let partitions = parts_re
                .captures(stmt)
                .and_then(|c| c.get(1))
                .and_then(|p| p.as_str().parse().ok())
                .unwrap_or(1);
            add(topic.as_str(), partitions);
        }
    }
    for r in &case.inputs {
        add(&r.topic, 1);
    }
    out
}

/// Runs `case` from scratch. Never panics on bad case data: problems become failures.
pub fn run_case(case: &Case, options: &RunOptions) -> Outcome {
    if let Some(reason) = skip_reason(case) {
        return Outcome::Skip(reason);
    }
    match run_case_inner(case, options) {
        Ok(()) => Outcome::Pass,
        Err(diff) => Outcome::Fail(diff),
    }
}

fn run_case_inner(case: &Case, options: &RunOptions) -> Result<(), String> {
    let dir = TempDir::new()?;
    let log_options = EmbeddedLogOptions {
        segment_bytes: 1024 * 1024,
        ..EmbeddedLogOptions::default()
    };
    let log: Arc<dyn Log> = match &options.kafka {
        None => {
            EmbeddedLog::open_with(&dir.0, log_options).map_err(|e| format!("harness: cannot open the log: {e}"))?
        }
        Some(servers) => {
            let n = KAFKA_CASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            KafkaLog::connect(KafkaLogOptions {
                bootstrap_servers: servers.clone(),
                topic_prefix: format!("qtt-{}-{n}-", std::process::id()),
                ..KafkaLogOptions::default()
            })
            .map_err(|e| format!("harness: cannot reach Kafka: {e}"))?
        }
    };
    let config = case_config(case)?;
    let engine = Engine::open(log.clone(), config).map_err(|e| format!("harness: cannot open the engine: {e}"))?;
    let mut run = CaseRun {
        case,
        engine,
        log,
        session: Session::default(),
        options,
        fed: false,
    };
    let result = run.run();
    run.engine.shutdown();
    drop(run);
    drop(dir);
    result
}

struct CaseRun<'a> {
    case: &'a Case,
    engine: Arc<Engine>,
    log: Arc<dyn Log>,
    session: Session,
    options: &'a RunOptions,
    fed: bool,
}

/// A record read back from an output topic.
struct Actual {
    key: Json,
    value: Json,
    timestamp: i64,
    window: Option<(i64, Option<i64>)>,
    headers: Vec<(String, Option<String>)>,
}

impl std::fmt::Display for Actual {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key={} value={} ts={}", self.key, self.value, self.timestamp)?;
        if let Some((s, e)) = self.window {
            write!(f, " window=[{s}, {}]", e.map_or("?".into(), |e| e.to_string()))?;
        }
        if !self.headers.is_empty() {
            write!(f, " headers={:?}", self.headers)?;
        }
        Ok(())
    }
}

fn show_expected(r: &RecordSpec) -> String {
    let mut s = format!(
        "key={} value={} ts={}",
        r.key,
        r.value,
        r.timestamp.map_or("any".into(), |t| t.to_string())
    );
    if let Some(w) = &r.window {
        s.push_str(&format!(" window=[{}, {}]", w.start, w.end));
    }
    if let Some(h) = &r.headers {
        s.push_str(&format!(" headers={h:?}"));
    }
    s
}

/// The statement with `{STATEMENT}` put in, as upstream expected texts write it.
fn expand(text: &str, stmt: &str) -> String {
    text.replace("{STATEMENT}", stmt.trim())
}

impl CaseRun<'_> {
    fn run(&mut self) -> Result<(), String> {
        for (name, partitions) in topics_to_create(self.case) {
            match self.log.create_topic(&name, &TopicConfig::new(partitions)) {
                Ok(()) | Err(LogError::TopicExists(_)) => {}
                Err(e) => return Err(format!("harness: cannot create topic {name}: {e}")),
            }
        }
        match self.case.kind {
            CaseKind::Qtt => self.run_qtt(),
            CaseKind::Rqtt => self.run_rqtt(),
        }
    }

    fn run_qtt(&mut self) -> Result<(), String> {
        let case = self.case;
        for (i, stmt) in case.statements.iter().enumerate() {
            if let Err(e) = self.engine.execute_text(stmt, &mut self.session) {
                return self.statement_failed(i, stmt, Some(e.kind), &e.to_string());
            }
        }
        self.feed()?;
        if let Some(expected) = &case.expected_error {
            // A runtime failure (Kafka Streams' StreamsException) shows as a failed query.
            if let Some(failure) = self.failed_query() {
                return match &expected.message {
                    Some(m) if !failure.contains(m.as_str()) => Err(format!(
                        "a query failed as expected, but the message differs\n  expected to contain: {m}\n  actual: {failure}"
                    )),
                    _ => Ok(()),
                };
            }
            return Err(format!(
                "expected an error ({}), but every statement succeeded",
                describe_expected(expected)
            ));
        }
        self.check_outputs()?;
        if let Some(post) = &case.post {
            self.check_post(post)?;
        }
        Ok(())
    }

    fn run_rqtt(&mut self) -> Result<(), String> {
        let case = self.case;
        let first_query = case.first_query_index.min(case.statements.len());
        for (i, stmt) in case.statements[..first_query].iter().enumerate() {
            if let Err(e) = self.engine.execute_text(stmt, &mut self.session) {
                return self.statement_failed(i, stmt, Some(e.kind), &e.to_string());
            }
        }
        if !case.wait_for_push {
            self.feed()?;
        }
        for (i, stmt) in case.statements.iter().enumerate().skip(first_query) {
            let expected = case.responses.get(i).and_then(|r| r.get("query"));
            let mut results = match self.engine.execute_text(stmt, &mut self.session) {
                Ok(r) => r,
                Err(e) => return self.statement_failed(i, stmt, Some(e.kind), &e.to_string()),
            };
            let (columns, rows) = match results.pop() {
                Some(StatementResult::Rows(r)) => (r.columns, r.rows),
                Some(StatementResult::Stream(mut q)) => {
                    let want = expected
                        .and_then(Json::as_array)
                        .map(|items| items.iter().filter(|i| i.get("row").is_some()).count());
                    if !self.fed {
                        self.feed()?;
                    }
                    let deadline = Instant::now() + self.options.push_timeout;
                    let mut rows = Vec::new();
                    let mut enough_since: Option<Instant> = None;
                    let failed = loop {
                        match q.poll(Duration::from_millis(20)) {
                            PushPoll::Rows(r) => rows.extend(r),
                            PushPoll::Idle => {}
                            PushPoll::Done(None) => break None,
                            PushPoll::Done(Some(e)) => break Some(e),
                        }
                        if want.is_some_and(|n| rows.len() >= n) {
                            let since = *enough_since.get_or_insert_with(Instant::now);
                            if since.elapsed() > Duration::from_millis(150) {
                                break None;
                            }
                        }
                        if Instant::now() > deadline {
                            break None;
                        }
                    };
                    q.stop();
                    if let Some(e) = failed {
                        return self.statement_failed(i, stmt, None, &e);
                    }
                    (q.columns.clone(), rows)
                }
                _ => continue,
            };
            if let Some(expected) = expected {
                self.check_query_response(i, expected, &columns, &rows)
                    .map_err(|d| format!("statement {i} ({}): {d}", stmt.trim()))?;
            }
        }
        if !self.fed {
            self.feed()?;
        }
        if let Some(expected) = &case.expected_error {
            return Err(format!(
                "expected an error ({}), but every statement succeeded",
                describe_expected(expected)
            ));
        }
        self.check_outputs()
    }

    /// A statement failed: a pass if the case expects this error, else the difference.
    fn statement_failed(&self, index: usize, stmt: &str, kind: Option<ErrorKind>, text: &str) -> Result<(), String> {
        let Some(expected) = &self.case.expected_error else {
            return Err(format!(
                "statement {index} failed: {text}\n  statement: {}",
                stmt.trim()
            ));
        };
        let class = expected
            .class
            .as_deref()
            .and_then(|c| c.rsplit('.').next())
            .unwrap_or("");
        if class == "ParseFailedException" && kind.is_some_and(|k| k != ErrorKind::Parse) {
            return Err(format!(
                "statement {index} failed with a {} where ksqlDB fails parsing ({}): {text}",
                kind.map_or("", |k| k.prefix()),
                describe_expected(expected)
            ));
        }
        if let Some(message) = &expected.message {
            let message = expand(message, stmt);
            if !text.contains(&message) {
                return Err(format!(
                    "statement {index} failed as expected, but the message differs\n  expected to contain: {message}\n  actual: {text}"
                ));
            }
        }
        Ok(())
    }

    fn wait_idle(&self) -> Result<(), String> {
        if self.engine.wait_until_idle(self.options.idle_timeout) {
            Ok(())
        } else {
            Err(format!(
                "the queries did not consume their inputs within {} s",
                self.options.idle_timeout.as_secs()
            ))
        }
    }

    /// Produces the inputs in file order, waiting for the queries to catch up whenever the
    /// topic changes (so records of different topics are processed in file order).
    /// The status of the first persistent query that failed (`ERROR: ...`), if one did.
    fn failed_query(&mut self) -> Option<String> {
        let results = self.engine.execute_text("SHOW QUERIES;", &mut self.session).ok()?;
        results.into_iter().find_map(|r| match r {
            crate::engine::StatementResult::Rows(set) => set
                .rows
                .iter()
                .flatten()
                .filter_map(|v| match v {
                    crate::types::Value::String(s) if s.starts_with("ERROR:") => Some(s.clone()),
                    _ => None,
                })
                .next(),
            _ => None,
        })
    }

    fn feed(&mut self) -> Result<(), String> {
        self.fed = true;
        let mut round_robin = 0u32;
        let mut previous: Option<&str> = None;
        for (i, r) in self.case.inputs.iter().enumerate() {
            if previous.is_some_and(|t| t != r.topic) {
                self.wait_idle()?;
            }
            previous = Some(&r.topic);
            let source = self.engine.source_for_topic(&r.topic);
            let key_side = source.as_deref().map(Side::key);
            let value_side = source.as_deref().map(Side::value);
            let inner_key = encode(&r.key, key_side.as_ref()).map_err(|e| format!("harness: input {i} key: {e}"))?;
            let key = match &r.window {
                None => inner_key.clone(),
                Some(w) => {
                    let mut k = inner_key.clone().unwrap_or_default();
                    if w.session {
                        k.extend_from_slice(&w.end.to_be_bytes());
                    }
                    k.extend_from_slice(&w.start.to_be_bytes());
                    Some(k)
                }
            };
            let value = encode(&r.value, value_side.as_ref()).map_err(|e| format!("harness: input {i} value: {e}"))?;
            let partitions = self
                .log
                .describe_topic(&r.topic)
                .map_err(|e| e.to_string())?
                .map(|d| d.partitions)
                .ok_or_else(|| format!("harness: input topic {} does not exist", r.topic))?;
            let partition = r
                .partition
                .unwrap_or_else(|| default_partition(inner_key.as_deref(), partitions, &mut round_robin));
            let mut headers = Vec::new();
            for (k, v) in r.headers.iter().flatten() {
                let value = match v {
                    None => None,
                    Some(b64) => {
                        Some(Bytes::from(BASE64.decode(b64.as_bytes()).map_err(|e| {
                            format!("harness: input {i} header {k}: bad base64: {e}")
                        })?))
                    }
                };
                headers.push((k.clone(), value));
            }
            let record = Record {
                key: key.map(Bytes::from),
                value: value.map(Bytes::from),
                timestamp: r.timestamp.unwrap_or(0),
                headers,
            };
            self.log
                .append(&r.topic, partition, &[record])
                .map_err(|e| format!("harness: cannot append input {i}: {e}"))?;
        }
        self.wait_idle()
    }

    /// Reads a whole topic, one list per partition.
    fn read_topic(
        &self,
        topic: &str,
        source: Option<&SourceDesc>,
        window: Option<bool>,
    ) -> Result<Vec<Vec<Actual>>, String> {
        let Some(desc) = self.log.describe_topic(topic).map_err(|e| e.to_string())? else {
            return Ok(Vec::new());
        };
        let key_side = source.map(Side::key);
        let value_side = source.map(Side::value);
        let mut out = Vec::new();
        for p in 0..desc.partitions {
            let start = self.log.start_offset(topic, p).map_err(|e| e.to_string())?;
            let end = self.log.end_offset(topic, p).map_err(|e| e.to_string())?;
            let mut records = Vec::new();
            if end > start {
                let mut consumer = self.log.consumer().map_err(|e| e.to_string())?;
                consumer
                    .assign(&[(TopicPartition::new(topic, p), start)])
                    .map_err(|e| e.to_string())?;
                let mut pos = start;
                while pos < end {
                    let batch = consumer
                        .poll(10_000, Duration::from_millis(500))
                        .map_err(|e| e.to_string())?;
                    if batch.is_empty() {
                        break;
                    }
                    for c in batch {
                        if c.offset >= end {
                            break;
                        }
                        pos = c.offset + 1;
                        records.push(self.actual(c.record, key_side.as_ref(), value_side.as_ref(), window));
                    }
                }
            }
            out.push(records);
        }
        Ok(out)
    }

    fn actual(&self, r: Record, key_side: Option<&Side>, value_side: Option<&Side>, window: Option<bool>) -> Actual {
        let mut key_bytes = r.key.as_deref();
        let mut win = None;
        if let (Some(session), Some(k)) = (window, key_bytes) {
            let be = |b: &[u8]| -> i64 {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                i64::from_be_bytes(a)
            };
            if session && k.len() >= 16 {
                let n = k.len();
                win = Some((be(&k[n - 8..]), Some(be(&k[n - 16..n - 8]))));
                key_bytes = Some(&k[..n - 16]);
            } else if !session && k.len() >= 8 {
                let n = k.len();
                win = Some((be(&k[n - 8..]), None));
                key_bytes = Some(&k[..n - 8]);
            }
        }
        Actual {
            key: decode(key_bytes, key_side),
            value: decode(r.value.as_deref(), value_side),
            timestamp: r.timestamp,
            window: win,
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.as_ref().map(|b| BASE64.encode(b))))
                .collect(),
        }
    }

    fn check_outputs(&self) -> Result<(), String> {
        let case = self.case;
        let mut topics: Vec<&str> = Vec::new();
        for r in &case.outputs {
            if !topics.contains(&r.topic.as_str()) {
                topics.push(&r.topic);
            }
        }
        let no_inputs = case.inputs.is_empty();
        for topic in topics {
            let expected: Vec<&RecordSpec> = case.outputs.iter().filter(|r| r.topic == topic).collect();
            let window = expected.iter().find_map(|r| r.window.as_ref().map(|w| w.session));
            let source = self.engine.source_for_topic(topic);
            let parts = self.read_topic(topic, source.as_deref(), window)?;
            let total: usize = parts.iter().map(Vec::len).sum();
            let key_hint = source.as_deref().map(|s| Side::key(s).hint());
            let value_hint = source.as_deref().map(|s| Side::value(s).hint());
            let mut heads = vec![0usize; parts.len()];
            for (i, e) in expected.iter().enumerate() {
                let candidates: Vec<usize> = (0..parts.len())
                    .filter(|p| heads[*p] < parts[*p].len())
                    .filter(|p| e.partition.is_none_or(|ep| ep as usize == *p))
                    .collect();
                let Some(&first) = candidates.first() else {
                    return Err(format!(
                        "topic {topic}: expected {} records, got {total}; missing record {i}: {}",
                        expected.len(),
                        show_expected(e)
                    ));
                };
                let mut first_diff = None;
                let mut matched = None;
                for p in &candidates {
                    match record_diff(
                        e,
                        &parts[*p][heads[*p]],
                        key_hint.as_ref(),
                        value_hint.as_ref(),
                        no_inputs,
                    ) {
                        None => {
                            matched = Some(*p);
                            break;
                        }
                        Some(d) if first_diff.is_none() => first_diff = Some(d),
                        Some(_) => {}
                    }
                }
                match matched {
                    Some(p) => heads[p] += 1,
                    None => {
                        return Err(format!(
                            "topic {topic} record {i} ({}): {}\n  expected {}\n  actual   {}",
                            if expected.len() == total {
                                format!("{total} records")
                            } else {
                                format!("expected {} records, got {total}", expected.len())
                            },
                            first_diff.unwrap_or_default(),
                            show_expected(e),
                            parts[first][heads[first]]
                        ));
                    }
                }
            }
            if let Some(p) = (0..parts.len()).find(|p| heads[*p] < parts[*p].len()) {
                return Err(format!(
                    "topic {topic}: expected {} records, got {total}; first unexpected: {}",
                    expected.len(),
                    parts[p][heads[p]]
                ));
            }
        }
        Ok(())
    }

    fn check_query_response(
        &self,
        _index: usize,
        expected: &Json,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<(), String> {
        let items = expected.as_array().unwrap_or(&[]);
        if let Some(schema) = items
            .iter()
            .find_map(|i| i.get("header"))
            .and_then(|h| h.field("schema"))
            .and_then(Json::as_str)
        {
            let names = schema_names(schema);
            if names != columns {
                return Err(format!(
                    "columns differ\n  expected {names:?} (schema {schema})\n  actual   {columns:?}"
                ));
            }
        }
        let want: Vec<&[Json]> = items
            .iter()
            .filter_map(|i| i.get("row"))
            .map(|r| r.field("columns").and_then(Json::as_array).unwrap_or(&[]))
            .collect();
        let got: Vec<Vec<Json>> = rows.iter().map(|r| r.iter().map(value_to_json).collect()).collect();
        let row_matches = |e: &[Json], a: &[Json], raw: &[Value]| {
            e.len() == a.len()
                && e.iter()
                    .zip(a)
                    .zip(raw)
                    .all(|((x, y), v)| json_matches(x, y, v.natural_type().as_ref()))
        };
        let show = |r: &[Json]| Json::Array(r.to_vec()).to_string();
        if self.case.verify_order {
            for (i, e) in want.iter().enumerate() {
                match got.get(i) {
                    Some(a) if row_matches(e, a, &rows[i]) => {}
                    Some(a) => {
                        return Err(format!(
                            "row {i} differs\n  expected {}\n  actual   {}",
                            show(e),
                            show(a)
                        ));
                    }
                    None => {
                        return Err(format!(
                            "expected {} rows, got {}; missing row {i}: {}",
                            want.len(),
                            got.len(),
                            show(e)
                        ));
                    }
                }
            }
        } else {
            let mut used = vec![false; got.len()];
            for (i, e) in want.iter().enumerate() {
                let found = (0..got.len()).find(|j| !used[*j] && row_matches(e, &got[*j], &rows[*j]));
                match found {
                    Some(j) => used[j] = true,
                    None => {
                        let left: Vec<String> = (0..got.len())
                            .filter(|j| !used[*j])
                            .take(3)
                            .map(|j| show(&got[j]))
                            .collect();
                        return Err(format!(
                            "expected {} rows, got {}; no row matches expected row {i}: {}\n  unmatched actual rows: {}",
                            want.len(),
                            got.len(),
                            show(e),
                            left.join(" ")
                        ));
                    }
                }
            }
        }
        if got.len() > want.len() {
            return Err(format!(
                "expected {} rows, got {}; first extra: {}",
                want.len(),
                got.len(),
                show(&got[want.len()])
            ));
        }
        Ok(())
    }

    /// Every source the engine has, by name (one per topic: the first by name).
    fn sources(&self) -> BTreeMap<String, Arc<SourceDesc>> {
        let mut out = BTreeMap::new();
        for t in self.log.list_topics().unwrap_or_default() {
            if let Some(s) = self.engine.source_for_topic(&t.name) {
                out.insert(s.name.clone(), s);
            }
        }
        out
    }

    fn check_post(&self, post: &Json) -> Result<(), String> {
        let sources = self.sources();
        for s in post.field("sources").and_then(Json::as_array).unwrap_or(&[]) {
            let Some(name) = s.field("name").and_then(Json::as_str) else {
                continue;
            };
            let Some(desc) = sources.get(name) else {
                return Err(if self.engine.source_names().iter().any(|n| n == name) {
                    format!(
                        "post: source {name} exists but shares its topic with another source; the harness cannot inspect it"
                    )
                } else {
                    format!("post: expected source {name}, which does not exist")
                });
            };
            if let Some(kind) = s.field("type").and_then(Json::as_str)
                && !kind.eq_ignore_ascii_case(desc.kind_name())
            {
                return Err(format!(
                    "post: source {name} is a {}, expected a {kind}",
                    desc.kind_name()
                ));
            }
            if let Some(schema) = s.field("schema").and_then(Json::as_str) {
                let actual = render_schema(desc);
                if normalize_schema(schema) != normalize_schema(&actual) {
                    return Err(format!(
                        "post: schema of {name} differs\n  expected {schema}\n  actual   {actual}"
                    ));
                }
            }
            for (field, format) in [("keyFormat", &desc.key_format), ("valueFormat", &desc.value_format)] {
                if let Some(f) = s.field(field).and_then(|f| f.field("format")).and_then(Json::as_str)
                    && !f.eq_ignore_ascii_case(format.kind.name())
                {
                    return Err(format!(
                        "post: {field} of {name} is {}, expected {f}",
                        format.kind.name()
                    ));
                }
            }
        }
        if let Some(topics) = post.field("topics") {
            let all = self.log.list_topics().map_err(|e| e.to_string())?;
            if let Some(pattern) = topics.field("blacklist").and_then(Json::as_str) {
                let re = Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| format!("harness: bad blacklist regex: {e}"))?;
                if let Some(t) = all.iter().find(|t| re.is_match(&t.name)) {
                    return Err(format!("post: topic {} matches the blacklist {pattern}", t.name));
                }
            }
            for t in topics.field("topics").and_then(Json::as_array).unwrap_or(&[]) {
                let Some(name) = t.field("name").and_then(Json::as_str) else {
                    continue;
                };
                // ksqlDB's internal topic names have no Runnel equivalent.
                if name.starts_with("_confluent-ksql-") {
                    continue;
                }
                let Some(desc) = all.iter().find(|d| d.name == name) else {
                    return Err(format!("post: expected topic {name}, which does not exist"));
                };
                if let Some(p) = t.field("partitions").and_then(Json::as_i64)
                    && p != i64::from(desc.partitions)
                {
                    return Err(format!(
                        "post: topic {name} has {} partitions, expected {p}",
                        desc.partitions
                    ));
                }
            }
        }
        Ok(())
    }
}

fn describe_expected(e: &ExpectedError) -> String {
    let class = e
        .class
        .as_deref()
        .and_then(|c| c.rsplit('.').next())
        .unwrap_or("any error");
    match &e.message {
        Some(m) => format!("{class}: {m}"),
        None => class.to_string(),
    }
}

/// The first difference between an expected and an actual record, if any.
fn record_diff(
    e: &RecordSpec,
    a: &Actual,
    key_hint: Option<&SqlType>,
    value_hint: Option<&SqlType>,
    no_inputs: bool,
) -> Option<String> {
    if !json_matches(&e.key, &a.key, key_hint) {
        return Some("key differs".into());
    }
    if !json_matches(&e.value, &a.value, value_hint) {
        return Some("value differs".into());
    }
    if let Some(ts) = e.timestamp
        && !(no_inputs && ts == 0)
        && ts != a.timestamp
    {
        return Some("timestamp differs".into());
    }
    if let Some(w) = &e.window {
        match a.window {
            Some((start, end)) if start == w.start && end.is_none_or(|end| end == w.end) => {}
            _ => return Some("window differs".into()),
        }
    }
    let want_headers = e.headers.clone().unwrap_or_default();
    if want_headers != a.headers {
        return Some("headers differ".into());
    }
    None
}

/// Column names of a REST header schema such as "`K` INTEGER KEY, `TEXT` STRING".
fn schema_names(schema: &str) -> Vec<String> {
    split_top_level(schema)
        .iter()
        .map(|col| {
            let col = col.trim();
            match col.strip_prefix('`').and_then(|r| r.split_once('`')) {
                Some((name, _)) => name.to_string(),
                None => col.split_whitespace().next().unwrap_or("").to_string(),
            }
        })
        .collect()
}

/// Splits on commas outside `<>`, `()` and backticks.
fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut current = String::new();
    for c in s.chars() {
        match c {
            '`' => quoted = !quoted,
            '<' | '(' if !quoted => depth += 1,
            '>' | ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// A source's schema as ksqlDB's post-conditions write it.
fn render_schema(desc: &SourceDesc) -> String {
    desc.schema
        .columns
        .iter()
        .map(|c| {
            let suffix = match &c.kind {
                ColumnKind::Key => " KEY".to_string(),
                ColumnKind::Value => String::new(),
                ColumnKind::Header(None) => " HEADERS".to_string(),
                ColumnKind::Header(Some(k)) => format!(" HEADER('{k}')"),
            };
            format!("`{}` {}{suffix}", c.name, c.ty)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

static TYPE_ALIASES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"\bVARCHAR\b", "STRING"),
        (r"\bINT\b", "INTEGER"),
        (r"\bPRIMARY\s+KEY\b", "KEY"),
        (r"\s+", " "),
        (r"\s*([,()<>])\s*", "$1"),
    ]
    .into_iter()
    .filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, r)))
    .collect()
});

fn normalize_schema(s: &str) -> String {
    let mut s = s.replace('`', "").to_uppercase();
    for (re, with) in TYPE_ALIASES.iter() {
        s = re.replace_all(&s, *with).into_owned();
    }
    s.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_helpers() {
        assert_eq!(
            schema_names("`K` INTEGER KEY, `M` MAP<STRING, INTEGER>, `S` STRUCT<`A` INT, `B` INT>"),
            vec!["K", "M", "S"]
        );
        assert_eq!(
            normalize_schema("ID ARRAY<VARCHAR> KEY, V DECIMAL(4,2)"),
            normalize_schema("`ID` ARRAY<STRING> KEY, `V` DECIMAL(4, 2)")
        );
    }
}
