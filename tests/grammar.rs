//! Runs the SQL golden files under `grammar-tests/` (format: `grammar-tests/README.md`),
//! one test per file, each on a fresh engine over a fresh embedded log, and once more on
//! Kafka (tests named `kafka::<file>`) when `RUNNEL_TEST_KAFKA` holds a broker's bootstrap
//! address (`scripts/test` starts one with `scripts/kafka start`). On Kafka each file's topics
//! and groups carry a prefix of their own, so files run side by side on one broker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use runnel::engine::{Config, Engine, PushPoll, Session, StatementResult};
use runnel::format::FormatKind;
use runnel::log::embedded::EmbeddedLog;
use runnel::log::kafka::{KafkaLog, KafkaLogOptions};
use runnel::log::{Bytes, Log, Record, TopicPartition, default_partition};
use runnel::types::Value;

fn main() {
    let args = Arguments::from_args();
    // Cargo runs test binaries from the package root; prefer that over the compile-time path so
    // that a binary shared between worktrees (one CARGO_TARGET_DIR) runs this tree's files.
    let root = std::env::current_dir()
        .ok()
        .map(|d| d.join("grammar-tests"))
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("grammar-tests"));
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    // `none` is scripts/test's way of saying no broker.
    let kafka = std::env::var("RUNNEL_TEST_KAFKA")
        .ok()
        .filter(|s| !s.trim().is_empty() && s != "none");
    let mut trials = Vec::new();
    for (i, path) in files.into_iter().enumerate() {
        let name = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
        let embedded_path = path.clone();
        trials.push(Trial::test(name.clone(), move || {
            run_file(&embedded_path, &Backend::Embedded)
        }));
        if let Some(servers) = &kafka {
            let backend = Backend::Kafka {
                servers: servers.clone(),
                prefix: format!("gt-{}-{i}-", std::process::id()),
            };
            trials.push(Trial::test(format!("kafka::{name}"), move || run_file(&path, &backend)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "sqlt") {
            out.push(p);
        }
    }
}

/// One record block of a golden file.
struct Block {
    line: usize,
    header: String,
    body: Vec<String>,
    expected: Option<Vec<String>>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let mut in_expected = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            if let Some(b) = current.take() {
                out.push(b);
            }
            in_expected = false;
            continue;
        }
        if current.is_none() && line.trim_start().starts_with('#') {
            continue;
        }
        match &mut current {
            None => {
                current = Some(Block {
                    line: i + 1,
                    header: line.trim().to_string(),
                    body: Vec::new(),
                    expected: None,
                })
            }
            Some(b) => {
                if line.trim() == "----" {
                    in_expected = true;
                    b.expected = Some(Vec::new());
                } else if in_expected {
                    if let Some(e) = b.expected.as_mut() {
                        e.push(line.to_string());
                    }
                } else {
                    b.body.push(line.to_string());
                }
            }
        }
    }
    if let Some(b) = current {
        out.push(b);
    }
    out
}

struct Harness {
    engine: Arc<Engine>,
    log: Arc<dyn Log>,
    session: Session,
    /// Next offset to check per (topic, partition).
    read_positions: BTreeMap<(String, i32), i64>,
    _dir: tempfile::TempDir,
}

fn fail(block: &Block, msg: impl std::fmt::Display) -> Failed {
    Failed::from(format!("line {} ({}): {msg}", block.line, block.header))
}

/// The log a file runs on.
enum Backend {
    Embedded,
    Kafka { servers: String, prefix: String },
}

fn run_file(path: &Path, backend: &Backend) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| Failed::from(e.to_string()))?;
    let dir = tempfile::tempdir().map_err(|e| Failed::from(e.to_string()))?;
    let log: Arc<dyn Log> = match backend {
        Backend::Embedded => EmbeddedLog::open(dir.path()).map_err(|e| Failed::from(e.to_string()))?,
        Backend::Kafka { servers, prefix } => KafkaLog::connect(KafkaLogOptions {
            bootstrap_servers: servers.clone(),
            topic_prefix: prefix.clone(),
            ..KafkaLogOptions::default()
        })
        .map_err(|e| Failed::from(e.to_string()))?,
    };
    let mut config = Config::new();
    for (k, v) in [
        ("commit.interval.ms", "50"),
        ("auto.offset.reset", "earliest"),
        ("statestore.cache.max.bytes", "0"),
    ] {
        config.set(k, v).map_err(|e| Failed::from(e.to_string()))?;
    }
    let engine = Engine::open(log.clone(), config).map_err(|e| Failed::from(e.to_string()))?;
    let mut h = Harness {
        engine,
        log,
        session: Session::default(),
        read_positions: BTreeMap::new(),
        _dir: dir,
    };
    let result = (|| {
        for block in blocks(&text) {
            h.run_block(&block)?;
        }
        Ok(())
    })();
    h.engine.shutdown();
    result
}

impl Harness {
    fn run_block(&mut self, b: &Block) -> Result<(), Failed> {
        let sql = b.body.join("\n");
        let mut words = b.header.splitn(2, ' ');
        let verb = words.next().unwrap_or("");
        let arg = words.next().unwrap_or("").trim();
        match verb {
            "statement" if arg == "ok" => {
                self.execute(&sql)
                    .map_err(|e| fail(b, format!("expected success, got: {e}")))?;
            }
            "statement" => {
                let matcher = arg.strip_prefix("error").unwrap_or(arg).trim();
                match self.execute(&sql) {
                    Ok(_) => return Err(fail(b, "expected an error, but the statement succeeded")),
                    Err(e) => check_error(b, matcher, &e)?,
                }
            }
            "set" => {
                let (k, v) = arg.split_once('=').ok_or_else(|| fail(b, "set needs key=value"))?;
                self.session.overrides.set(k.trim(), v.trim()).map_err(|e| fail(b, e))?;
            }
            "input" => self.input(b, arg)?,
            "flush" => {
                if !self.engine.wait_until_idle(Duration::from_secs(30)) {
                    return Err(fail(b, "queries did not catch up with their inputs within 30 s"));
                }
            }
            "output" => self.output(b, arg)?,
            "query" => self.query(b, arg, &sql)?,
            "parse" => {
                let parsed = runnel::sql::parse_one(&sql).map_err(|e| fail(b, e))?;
                let printed = parsed.statement.to_string();
                let want = b
                    .expected
                    .as_ref()
                    .map(|e| e.join("\n"))
                    .unwrap_or_else(|| sql.trim().trim_end_matches(';').to_string());
                if printed != want {
                    return Err(fail(b, format!("printed\n{printed}\nexpected\n{want}")));
                }
            }
            "explain" => {
                let got = match self.execute(&format!("EXPLAIN {sql}")).map_err(|e| fail(b, e))?.pop() {
                    Some(StatementResult::Rows(r)) => match r.rows.first().and_then(|row| row.get(3)) {
                        Some(Value::String(s)) => s.clone(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                let want = b.expected.clone().unwrap_or_default().join("\n");
                if got.trim_end() != want.trim_end() {
                    return Err(fail(b, format!("topology\n{got}\nexpected\n{want}")));
                }
            }
            other => return Err(fail(b, format!("unknown record type '{other}'"))),
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str) -> Result<Vec<StatementResult>, runnel::Error> {
        self.engine.execute_text(sql, &mut self.session)
    }

    fn input(&mut self, b: &Block, topic: &str) -> Result<(), Failed> {
        let source = self
            .engine
            .source_for_topic(topic)
            .ok_or_else(|| fail(b, format!("no stream or table over topic '{topic}'")))?;
        let mut round_robin = 0u32;
        for line in &b.body {
            let (ts, partition, headers, key_text, value_text) = parse_input_line(line).map_err(|e| fail(b, e))?;
            let key = encode_side(
                &key_text,
                source.key_format.kind,
                &source.key_format,
                &source.key_columns(),
            )
            .map_err(|e| fail(b, format!("{line}: key: {e}")))?;
            let value = if value_text == "-" {
                None
            } else {
                encode_side(
                    &value_text,
                    source.value_format.kind,
                    &source.value_format,
                    &source.value_columns(),
                )
                .map_err(|e| fail(b, format!("{line}: value: {e}")))?
            };
            let p = partition.unwrap_or_else(|| default_partition(key.as_deref(), source.partitions, &mut round_robin));
            let record = Record {
                key: key.map(Bytes::from),
                value: value.map(Bytes::from),
                timestamp: ts,
                headers,
            };
            self.log.append(&source.topic, p, &[record]).map_err(|e| fail(b, e))?;
        }
        Ok(())
    }

    fn output(&mut self, b: &Block, arg: &str) -> Result<(), Failed> {
        let mut parts = arg.split_whitespace();
        let topic = parts.next().ok_or_else(|| fail(b, "output needs a topic"))?.to_string();
        let rowsort = parts.any(|p| p == "rowsort");
        if !self.engine.wait_until_idle(Duration::from_secs(30)) {
            return Err(fail(b, "queries did not catch up within 30 s"));
        }
        let desc = self
            .log
            .describe_topic(&topic)
            .map_err(|e| fail(b, e))?
            .ok_or_else(|| fail(b, format!("topic {topic} does not exist")))?;
        let source = self.engine.source_for_topic(&topic);
        let mut got = Vec::new();
        for p in 0..desc.partitions {
            let from = *self.read_positions.get(&(topic.clone(), p)).unwrap_or(&0);
            let end = self.log.end_offset(&topic, p).map_err(|e| fail(b, e))?;
            if end <= from {
                continue;
            }
            let mut consumer = self.log.consumer().map_err(|e| fail(b, e))?;
            consumer
                .assign(&[(TopicPartition::new(topic.clone(), p), from)])
                .map_err(|e| fail(b, e))?;
            let mut pos = from;
            while pos < end {
                let records = consumer
                    .poll(10_000, Duration::from_millis(200))
                    .map_err(|e| fail(b, e))?;
                if records.is_empty() {
                    break;
                }
                for r in records {
                    if r.offset >= end {
                        break;
                    }
                    pos = r.offset + 1;
                    let key = render_side(&r.record.key, source.as_ref().map(|s| (&s.key_format, s.key_columns())));
                    let value = match &r.record.value {
                        None => "-".to_string(),
                        v => render_side(v, source.as_ref().map(|s| (&s.value_format, s.value_columns()))),
                    };
                    got.push(format!("@{} {key} {value}", r.record.timestamp));
                }
            }
            self.read_positions.insert((topic.clone(), p), pos);
        }
        let mut want = b.expected.clone().unwrap_or_default();
        if rowsort {
            got.sort();
            want.sort();
        }
        compare_records(b, &got, &want)
    }

    fn query(&mut self, b: &Block, arg: &str, sql: &str) -> Result<(), Failed> {
        if let Some(matcher) = arg.strip_prefix("error") {
            return match self.execute(sql) {
                Ok(_) => Err(fail(b, "expected an error, but the query succeeded")),
                Err(e) => check_error(b, matcher.trim(), &e),
            };
        }
        let rowsort = arg.split_whitespace().any(|w| w == "rowsort");
        let cols: Option<Vec<usize>> = match arg.split_whitespace().find_map(|w| w.strip_prefix("cols:")) {
            Some(list) => Some(
                list.split(',')
                    .map(|c| c.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| fail(b, format!("cols: {e}")))?,
            ),
            None => None,
        };
        let filter = match arg.split_once("filter:") {
            Some((_, re)) => Some(regex::Regex::new(re.trim()).map_err(|e| fail(b, e))?),
            None => None,
        };
        let mut results = self.execute(sql).map_err(|e| fail(b, e))?;
        let rows: Vec<Vec<Value>> = match results.pop() {
            Some(StatementResult::Rows(r)) => r.rows,
            Some(StatementResult::Stream(mut q)) => {
                let mut rows = Vec::new();
                let deadline = std::time::Instant::now() + Duration::from_secs(30);
                loop {
                    if std::time::Instant::now() > deadline {
                        return Err(fail(b, "push query did not reach its LIMIT within 30 s"));
                    }
                    match q.poll(Duration::from_millis(100)) {
                        PushPoll::Rows(r) => rows.extend(r),
                        PushPoll::Idle => {}
                        PushPoll::Done(None) => break,
                        PushPoll::Done(Some(e)) => return Err(fail(b, e)),
                    }
                }
                rows
            }
            _ => return Err(fail(b, "the statement returned no rows")),
        };
        let mut got: Vec<String> = rows
            .iter()
            .map(|r| match &cols {
                Some(cols) => cols
                    .iter()
                    .map(|&i| r.get(i).map(cell).unwrap_or_else(|| "<none>".into()))
                    .collect::<Vec<_>>()
                    .join(" "),
                None => r.iter().map(cell).collect::<Vec<_>>().join(" "),
            })
            .filter(|line| filter.as_ref().is_none_or(|re| re.is_match(line)))
            .collect();
        let mut want = b.expected.clone().unwrap_or_default();
        if rowsort {
            got.sort();
            want.sort();
        }
        if got != want {
            return Err(fail(
                b,
                format!("rows\n{}\nexpected\n{}", got.join("\n"), want.join("\n")),
            ));
        }
        Ok(())
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "NULL".into(),
        other => other.to_string(),
    }
}

fn check_error(b: &Block, matcher: &str, e: &runnel::Error) -> Result<(), Failed> {
    let msg = e.to_string();
    let ok = if let Some(s) = matcher.strip_prefix("contains:") {
        msg.contains(s.trim())
    } else if let Some(r) = matcher.strip_prefix("regex:") {
        regex::Regex::new(r.trim()).map_err(|e| fail(b, e))?.is_match(&msg)
    } else if let Some(expected) = &b.expected {
        msg == expected.join("\n")
    } else {
        matcher.is_empty()
    };
    if ok {
        Ok(())
    } else {
        Err(fail(b, format!("error was:\n{msg}\nexpected {matcher}")))
    }
}

/// `@<ts> [p<partition>] <key> <value>`: key and value are JSON tokens, value `-` = tombstone.
fn parse_record_line(line: &str) -> Result<(i64, Option<i32>, String, String), String> {
    let rest = line
        .trim()
        .strip_prefix('@')
        .ok_or("a record line starts with @<timestamp>")?;
    let (ts, rest) = rest.split_once(char::is_whitespace).ok_or("missing key and value")?;
    let ts: i64 = ts.parse().map_err(|_| format!("bad timestamp '{ts}'"))?;
    let mut rest = rest.trim_start();
    let mut partition = None;
    if let Some(p) = rest.strip_prefix('p')
        && let Some((num, after)) = p.split_once(char::is_whitespace)
        && let Ok(n) = num.parse()
    {
        partition = Some(n);
        rest = after.trim_start();
    }
    let (key, value) = split_json_token(rest)?;
    Ok((ts, partition, key, value.trim().to_string()))
}

/// An input line: `@<ts> [p<partition>] [headers=<JSON object>] <key> <value>`; header
/// values are JSON strings (written as UTF-8 bytes) or null.
#[allow(clippy::type_complexity)]
fn parse_input_line(line: &str) -> Result<(i64, Option<i32>, Vec<(String, Option<Bytes>)>, String, String), String> {
    let Some((before, after)) = line.split_once(" headers=") else {
        let (ts, partition, key, value) = parse_record_line(line)?;
        return Ok((ts, partition, Vec::new(), key, value));
    };
    let (obj, rest) = split_json_token(after)?;
    let (ts, partition, key, value) = parse_record_line(&format!("{before} {rest}"))?;
    let serde_json::Value::Object(m) = serde_json::from_str::<serde_json::Value>(&obj).map_err(|e| e.to_string())?
    else {
        return Err("headers= takes a JSON object".into());
    };
    let headers = m
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::Null => Ok((k, None)),
            serde_json::Value::String(s) => Ok((k, Some(Bytes::from(s.into_bytes())))),
            other => Err(format!("header {k}: value {other} is not a string or null")),
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((ts, partition, headers, key, value))
}

/// Splits the first JSON token off `s`.
fn split_json_token(s: &str) -> Result<(String, String), String> {
    let mut stream = serde_json::Deserializer::from_str(s).into_iter::<serde_json::Value>();
    match stream.next() {
        Some(Ok(_)) => {
            let end = stream.byte_offset();
            Ok((s[..end].trim().to_string(), s[end..].to_string()))
        }
        _ => Err(format!("cannot read a JSON key from '{s}'")),
    }
}

/// Encodes a JSON token for one side of a record: JSON formats take the text as written;
/// other formats take a JSON string as raw text, or encode the value by the column types.
fn encode_side(
    text: &str,
    kind: FormatKind,
    format: &runnel::format::Format,
    columns: &[(String, runnel::types::SqlType)],
) -> Result<Option<Vec<u8>>, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if json.is_null() {
        return Ok(None);
    }
    match (kind, &json) {
        (FormatKind::Json, _) => Ok(Some(text.as_bytes().to_vec())),
        (_, serde_json::Value::String(s))
            if kind != FormatKind::Kafka || columns.first().is_none_or(|c| c.1 == runnel::types::SqlType::String) =>
        {
            Ok(Some(s.as_bytes().to_vec()))
        }
        _ => {
            let values: Vec<Value> = match (&json, columns) {
                (serde_json::Value::Object(m), cols) if cols.len() > 1 => cols
                    .iter()
                    .map(|(n, t)| json_to_value(m.get(n).unwrap_or(&serde_json::Value::Null), t))
                    .collect(),
                (j, [(_, t)]) => vec![json_to_value(j, t)],
                _ => return Err(format!("cannot encode {text} for columns {columns:?}")),
            };
            format.encode_row(columns, &values).map_err(|e| e.to_string())
        }
    }
}

fn json_to_value(j: &serde_json::Value, ty: &runnel::types::SqlType) -> Value {
    use runnel::types::SqlType;
    match (j, ty) {
        (serde_json::Value::Null, _) => Value::Null,
        (serde_json::Value::Number(n), SqlType::Int) => n.as_i64().map(|v| Value::Int(v as i32)).unwrap_or(Value::Null),
        (serde_json::Value::Number(n), SqlType::BigInt) => n.as_i64().map(Value::BigInt).unwrap_or(Value::Null),
        (serde_json::Value::Number(n), SqlType::Double) => n.as_f64().map(Value::Double).unwrap_or(Value::Null),
        (serde_json::Value::Bool(b), SqlType::Boolean) => Value::Boolean(*b),
        (serde_json::Value::String(s), _) => Value::String(s.clone()),
        (other, _) => Value::String(other.to_string()),
    }
}

/// Renders one side of a consumed record for comparison: JSON formats as the text written,
/// others decoded to JSON by the source's columns.
fn render_side(
    bytes: &Option<Bytes>,
    source: Option<(&runnel::format::Format, Vec<(String, runnel::types::SqlType)>)>,
) -> String {
    let Some(b) = bytes else { return "null".into() };
    match source {
        Some((format, columns)) if format.kind != FormatKind::Json => match format.decode_row(&columns, Some(b)) {
            Ok(values) if values.len() == 1 => values[0].to_json().to_string(),
            Ok(values) => serde_json::Value::Object(
                columns
                    .iter()
                    .map(|(n, _)| n.clone())
                    .zip(values.iter().map(Value::to_json))
                    .collect(),
            )
            .to_string(),
            Err(_) => serde_json::Value::String(String::from_utf8_lossy(b).into_owned()).to_string(),
        },
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

fn compare_records(b: &Block, got: &[String], want: &[String]) -> Result<(), Failed> {
    let same = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| match (parse_record_line(g), parse_record_line(w)) {
                (Ok((gt, _, gk, gv)), Ok((wt, _, wk, wv))) => gt == wt && json_eq(&gk, &wk) && json_eq(&gv, &wv),
                _ => g.trim() == w.trim(),
            });
    if same {
        Ok(())
    } else {
        Err(fail(
            b,
            format!("records\n{}\nexpected\n{}", got.join("\n"), want.join("\n")),
        ))
    }
}

fn json_eq(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
