//! One conformance case, read from a line of the corpus (format: the corpus README).

use super::json::Json;

/// Topology test (`qtt`) or REST test (`rqtt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    /// Statements, then inputs, then expected topic contents.
    Qtt,
    /// Admin statements, inputs, then pull/push queries with expected responses.
    Rqtt,
}

/// A topic the case declares.
#[derive(Debug, Clone)]
pub struct TopicDecl {
    /// Its name.
    pub name: String,
    /// Partitions (default 1).
    pub partitions: i32,
}

/// A window on a windowed record.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    /// Window start, epoch millis.
    pub start: i64,
    /// Window end, epoch millis.
    pub end: i64,
    /// `true` for session windows (the key carries start and end), `false` for time windows.
    pub session: bool,
}

/// An input or expected output record.
#[derive(Debug, Clone)]
pub struct RecordSpec {
    /// The topic.
    pub topic: String,
    /// The key (`Json::Null`: no key).
    pub key: Json,
    /// The value (`Json::Null`: a tombstone).
    pub value: Json,
    /// Epoch millis; `None` is "not given" (inputs: 0; outputs: not checked).
    pub timestamp: Option<i64>,
    /// The partition, when given.
    pub partition: Option<i32>,
    /// The window of a windowed key.
    pub window: Option<WindowSpec>,
    /// Headers (`None`: not given), values base64 or null.
    pub headers: Option<Vec<(String, Option<String>)>>,
}

/// The error a case expects.
#[derive(Debug, Clone)]
pub struct ExpectedError {
    /// The Java exception or REST entity class, if given.
    pub class: Option<String>,
    /// Text the error message must contain, if given.
    pub message: Option<String>,
    /// The HTTP status (REST cases).
    pub status: Option<i64>,
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// qtt or rqtt.
    pub kind: CaseKind,
    /// Source file of the upstream test.
    pub file: String,
    /// SQL statements in order.
    pub statements: Vec<String>,
    /// Config overrides.
    pub properties: Vec<(String, String)>,
    /// Declared topics.
    pub topics: Vec<TopicDecl>,
    /// Records to produce.
    pub inputs: Vec<RecordSpec>,
    /// Expected records.
    pub outputs: Vec<RecordSpec>,
    /// The expected error, if any.
    pub expected_error: Option<ExpectedError>,
    /// Post-conditions on the catalogue (qtt).
    pub post: Option<Json>,
    /// Expected REST responses (rqtt).
    pub responses: Vec<Json>,
    /// rqtt: produce inputs only once the push query runs.
    pub wait_for_push: bool,
    /// rqtt: query rows must come in the expected order.
    pub verify_order: bool,
    /// rqtt: index of the first statement sent to `/query`.
    pub first_query_index: usize,
    /// Feature tags.
    pub features: Vec<String>,
    /// Key and value formats named anywhere in the case.
    pub all_formats: Vec<String>,
}

fn strings(j: Option<&Json>) -> Vec<String> {
    j.and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn record(j: &Json, what: &str, i: usize) -> Result<RecordSpec, String> {
    let topic = j
        .field("topic")
        .and_then(Json::as_str)
        .ok_or_else(|| format!("{what}[{i}] has no topic"))?
        .to_string();
    let timestamp = match j.field("timestamp") {
        None => None,
        Some(t) => Some(
            t.as_i64()
                .ok_or_else(|| format!("{what}[{i}]: timestamp {t} is not a whole number"))?,
        ),
    };
    let partition = match j.field("partition") {
        None => None,
        Some(p) => Some(
            p.as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| format!("{what}[{i}]: bad partition {p}"))?,
        ),
    };
    let window = match j.field("window") {
        None => None,
        Some(w) => {
            let num = |k: &str| {
                w.field(k)
                    .and_then(Json::as_i64)
                    .ok_or_else(|| format!("{what}[{i}]: window has no {k}"))
            };
            let kind = w.field("type").and_then(Json::as_str).unwrap_or("time");
            Some(WindowSpec {
                start: num("start")?,
                end: num("end")?,
                session: kind.eq_ignore_ascii_case("session"),
            })
        }
    };
    let headers = match j.field("headers") {
        None => None,
        Some(h) => {
            let items = h
                .as_array()
                .ok_or_else(|| format!("{what}[{i}]: headers is not a list"))?;
            let mut out = Vec::new();
            for item in items {
                let key = item
                    .field("key")
                    .and_then(Json::as_str)
                    .ok_or_else(|| format!("{what}[{i}]: a header has no key"))?;
                let value = item.field("value").map(Json::to_plain_string);
                out.push((key.to_string(), value));
            }
            Some(out)
        }
    };
    Ok(RecordSpec {
        topic,
        key: j.get("key").cloned().unwrap_or(Json::Null),
        value: j.get("value").cloned().unwrap_or(Json::Null),
        timestamp,
        partition,
        window,
        headers,
    })
}

impl Case {
    /// Reads a case from one corpus line.
    pub fn from_json(j: &Json) -> Result<Case, String> {
        let id = j
            .field("id")
            .and_then(Json::as_str)
            .ok_or("the case has no id")?
            .to_string();
        let kind = match j.field("kind").and_then(Json::as_str) {
            Some("qtt") => CaseKind::Qtt,
            Some("rqtt") => CaseKind::Rqtt,
            other => return Err(format!("unknown case kind {other:?}")),
        };
        let properties = match j.field("properties") {
            Some(Json::Object(fields)) => fields.iter().map(|(k, v)| (k.clone(), v.to_plain_string())).collect(),
            _ => Vec::new(),
        };
        let mut topics = Vec::new();
        for t in j.field("topics").and_then(Json::as_array).unwrap_or(&[]) {
            let name = t
                .field("name")
                .and_then(Json::as_str)
                .ok_or("a topic declaration has no name")?;
            let partitions = t
                .field("partitions")
                .and_then(Json::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or(1);
            topics.push(TopicDecl {
                name: name.to_string(),
                partitions,
            });
        }
        let records = |key: &str| -> Result<Vec<RecordSpec>, String> {
            j.field(key)
                .and_then(Json::as_array)
                .unwrap_or(&[])
                .iter()
                .enumerate()
                .map(|(i, r)| record(r, key, i))
                .collect()
        };
        let expected_error = j.field("expected_error").map(|e| ExpectedError {
            class: e.field("type").and_then(Json::as_str).map(String::from),
            message: e.field("message").and_then(Json::as_str).map(String::from),
            status: e.field("status").and_then(Json::as_i64),
        });
        let flag = |obj: &str, key: &str| {
            j.field(obj)
                .and_then(|o| o.field(key))
                .and_then(Json::as_bool)
                .unwrap_or(false)
        };
        let statements = strings(j.field("statements"));
        Ok(Case {
            kind,
            file: j.field("file").and_then(Json::as_str).unwrap_or("?").to_string(),
            first_query_index: j
                .field("rest_first_query_index")
                .and_then(Json::as_i64)
                .and_then(|i| usize::try_from(i).ok())
                .unwrap_or(statements.len()),
            statements,
            properties,
            topics,
            inputs: records("inputs")?,
            outputs: records("outputs")?,
            expected_error,
            post: j.field("post").cloned(),
            responses: j
                .field("responses")
                .and_then(Json::as_array)
                .map(<[Json]>::to_vec)
                .unwrap_or_default(),
            wait_for_push: flag("input_conditions", "waitForActivePushQuery"),
            verify_order: flag("output_conditions", "verifyOrder"),
            features: strings(j.field("features")),
            all_formats: strings(j.field("all_formats")),
            id,
        })
    }
}
