//! JSON functions over JSON text. A small order-preserving JSON tree is used instead of
//! `serde_json::Value` because ksqlDB keeps object keys in document order (JSON_KEYS,
//! JSON_RECORDS, JSON_CONCAT) and the crate's map sorts them.

use crate::function::Lambda;
use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value, format_double};

const CAT: &str = "JSON";

/// A parsed JSON document; numbers keep their source text so they print back unchanged.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Option<Json> {
        let mut p = Parser {
            s: text.as_bytes(),
            pos: 0,
        };
        let v = p.value(0)?;
        p.ws();
        (p.pos == p.s.len()).then_some(v)
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    Json::Str(k.clone()).write(out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    fn text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }

    fn from_value(v: &Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Boolean(b) => Json::Bool(*b),
            Value::Int(i) => Json::Num(i.to_string()),
            Value::BigInt(i) | Value::Timestamp(i) => Json::Num(i.to_string()),
            // As ksqlDB's serializer (Jackson) writes java.sql values: a DATE as epoch
            // milliseconds, a TIME as its `HH:mm:ss` text.
            Value::Date(d) => Json::Num((i64::from(*d) * 86_400_000).to_string()),
            Value::Time(t) => {
                let secs = t.div_euclid(1000);
                Json::Str(format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60))
            }
            Value::Double(d) if d.is_finite() => Json::Num(format_double(*d)),
            Value::Double(d) => Json::Str(format_double(*d)),
            Value::Decimal(u, s) => Json::Num(Value::decimal_to_string(*u, *s)),
            Value::String(s) => Json::Str(s.clone()),
            Value::Bytes(_) => match v.to_json() {
                serde_json::Value::String(s) => Json::Str(s),
                _ => Json::Null,
            },
            Value::Array(items) => Json::Arr(items.iter().map(Json::from_value).collect()),
            Value::Map(entries) => Json::Obj(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), Json::from_value(v)))
                    .collect(),
            ),
            Value::Struct(fields) => Json::Obj(fields.iter().map(|(k, v)| (k.clone(), Json::from_value(v))).collect()),
        }
    }
}

/// Recursive-descent parser; `None` on any syntax error.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.s.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        // Deeply nested input must not overflow the stack.
        if depth > 256 {
            return None;
        }
        self.ws();
        match *self.s.get(self.pos)? {
            b'n' => self.keyword("null", Json::Null),
            b't' => self.keyword("true", Json::Bool(true)),
            b'f' => self.keyword("false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Some(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Some(Json::Arr(items));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'{' => {
                self.pos += 1;
                let mut entries: Vec<(String, Json)> = Vec::new();
                if self.eat(b'}') {
                    return Some(Json::Obj(entries));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    let v = self.value(depth + 1)?;
                    // A repeated key keeps its first position and its last value.
                    match entries.iter_mut().find(|(ek, _)| *ek == k) {
                        Some(e) => e.1 = v,
                        None => entries.push((k, v)),
                    }
                    if self.eat(b'}') {
                        return Some(Json::Obj(entries));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            _ => self.number(),
        }
    }

    fn keyword(&mut self, word: &str, v: Json) -> Option<Json> {
        let end = self.pos + word.len();
        if self.s.get(self.pos..end)? == word.as_bytes() {
            self.pos = end;
            Some(v)
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.pos;
        while self.pos < self.s.len() && matches!(self.s[self.pos], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).ok()?;
        // Let serde_json validate the number grammar.
        serde_json::from_str::<serde_json::Number>(text).ok()?;
        Some(Json::Num(text.to_string()))
    }

    fn string(&mut self) -> Option<String> {
        if self.s.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.s.len() {
            match self.s[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    let raw = std::str::from_utf8(&self.s[start..self.pos]).ok()?;
                    return serde_json::from_str::<String>(raw).ok();
                }
                _ => self.pos += 1,
            }
        }
        None
    }
}

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func(
            "EXTRACTJSONFIELD",
            CAT,
            "The value at a JSONPath ($.a.b[0]) in JSON text: strings unquoted, other values as \
             JSON text; NULL when absent or not JSON.",
            |a, _, _| {
                let (Some(text), Some(path)) = (arg::str(a, 0)?, arg::str(a, 1)?) else {
                    return Ok(Value::Null);
                };
                let steps = parse_path(path)?;
                let Some(doc) = Json::parse(text) else {
                    return Ok(Value::Null);
                };
                Ok(match walk(&doc, &steps) {
                    None | Some(Json::Null) => Value::Null,
                    Some(Json::Str(s)) => Value::String(s.clone()),
                    Some(other) => Value::String(other.text()),
                })
            },
        )
        .sig(&[("json", "VARCHAR"), ("path", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func("IS_JSON_STRING", CAT, "Whether text is valid JSON.", |a, _, _| {
            Ok(Value::Boolean(
                arg::str(a, 0)?.is_some_and(|s| Json::parse(s).is_some()),
            ))
        })
        .sig(&[("text", "VARCHAR")], "BOOLEAN")
        .lenient(),
    );
    v.push(
        func(
            "JSON_ARRAY_LENGTH",
            CAT,
            "The number of elements of a JSON array; NULL for other JSON or invalid text.",
            |a, _, _| {
                Ok(match arg::str(a, 0)?.and_then(Json::parse) {
                    Some(Json::Arr(items)) => Value::Int(items.len() as i32),
                    _ => Value::Null,
                })
            },
        )
        .sig(&[("json", "VARCHAR")], "INT"),
    );
    v.push(
        func(
            "JSON_ARRAY_CONTAINS",
            CAT,
            "Whether a JSON array contains a value of the same type; false for invalid JSON.",
            json_array_contains,
        )
        .sig(&[("json", "VARCHAR"), ("value", "ANY")], "BOOLEAN")
        .lenient(),
    );
    v.push(
        func(
            "JSON_CONCAT",
            CAT,
            "Concatenates JSON values: objects merge (later keys win), anything else \
             concatenates as arrays; NULL when an input is NULL or not JSON.",
            json_concat,
        )
        .variadic(&[("json", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "JSON_KEYS",
            CAT,
            "The keys of a JSON object, in document order; NULL for other JSON.",
            |a, _, _| {
                Ok(match arg::str(a, 0)?.and_then(Json::parse) {
                    Some(Json::Obj(e)) => Value::Array(e.into_iter().map(|(k, _)| Value::String(k)).collect()),
                    _ => Value::Null,
                })
            },
        )
        .sig(&[("json", "VARCHAR")], "ARRAY<VARCHAR>"),
    );
    v.push(
        func(
            "JSON_RECORDS",
            CAT,
            "The entries of a JSON object as a map of key to JSON text; NULL for other JSON.",
            |a, _, _| {
                Ok(match arg::str(a, 0)?.and_then(Json::parse) {
                    Some(Json::Obj(e)) => Value::Map(
                        e.into_iter()
                            .map(|(k, v)| (Value::String(k), Value::String(v.text())))
                            .collect(),
                    ),
                    _ => Value::Null,
                })
            },
        )
        .sig(&[("json", "VARCHAR")], "MAP<VARCHAR, VARCHAR>"),
    );
    v.push(
        func(
            "JSON_ITEMS",
            CAT,
            "The elements of a JSON array as JSON texts; NULL for other JSON.",
            |a, _, _| {
                Ok(match arg::str(a, 0)?.and_then(Json::parse) {
                    Some(Json::Arr(items)) => Value::Array(items.iter().map(|j| Value::String(j.text())).collect()),
                    _ => Value::Null,
                })
            },
        )
        .sig(&[("json", "VARCHAR")], "ARRAY<VARCHAR>"),
    );
    v.push(
        func(
            "TO_JSON_STRING",
            CAT,
            "Any value as JSON text (NULL becomes 'null').",
            |a, _, _| Ok(Value::String(Json::from_value(arg::get(a, 0)).text())),
        )
        .sig(&[("value", "ANY")], "VARCHAR")
        .lenient(),
    );
}

/// One step of a JSONPath.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Parses the JSONPath subset ksqlDB documents: `$`, `.name`, `['name']`, `["name"]`, `[n]`.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let bad = || format!("Invalid JSON path: {path}");
    let chars: Vec<char> = path.trim().chars().collect();
    let mut i = 0;
    if chars.first() == Some(&'$') {
        i = 1;
    }
    let mut steps = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                if i == start {
                    return Err(bad());
                }
                steps.push(Step::Key(chars[start..i].iter().collect()));
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']').ok_or_else(bad)? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                let quoted = inner.len() >= 2
                    && ((inner.starts_with('\'') && inner.ends_with('\''))
                        || (inner.starts_with('"') && inner.ends_with('"')));
                if quoted {
                    steps.push(Step::Key(inner[1..inner.len() - 1].to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().map_err(|_| bad())?));
                }
                i = close + 1;
            }
            _ if steps.is_empty() && i == 0 => {
                // A bare `name.sub` path without `$.`.
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                steps.push(Step::Key(chars[start..i].iter().collect()));
            }
            _ => return Err(bad()),
        }
    }
    Ok(steps)
}

fn walk<'a>(doc: &'a Json, steps: &[Step]) -> Option<&'a Json> {
    let mut cur = doc;
    for s in steps {
        cur = match (s, cur) {
            (Step::Key(k), Json::Obj(e)) => e.iter().find(|(ek, _)| ek == k).map(|(_, v)| v)?,
            (Step::Index(i), Json::Arr(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn json_concat(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let mut docs = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        match arg::str(a, i)?.and_then(Json::parse) {
            Some(d) => docs.push(d),
            None => return Ok(Value::Null),
        }
    }
    let result = if !docs.is_empty() && docs.iter().all(|d| matches!(d, Json::Obj(_))) {
        let mut merged: Vec<(String, Json)> = Vec::new();
        for d in docs {
            if let Json::Obj(entries) = d {
                for (k, v) in entries {
                    match merged.iter_mut().find(|(mk, _)| *mk == k) {
                        Some(slot) => slot.1 = v,
                        None => merged.push((k, v)),
                    }
                }
            }
        }
        Json::Obj(merged)
    } else {
        let mut items = Vec::new();
        for d in docs {
            match d {
                Json::Arr(inner) => items.extend(inner),
                other => items.push(other),
            }
        }
        Json::Arr(items)
    };
    Ok(Value::String(result.text()))
}

fn json_array_contains(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let Some(Json::Arr(items)) = arg::str(a, 0)?.and_then(Json::parse) else {
        return Ok(Value::Boolean(false));
    };
    let needle = arg::get(a, 1);
    let found = items.iter().any(|item| match (item, needle) {
        (Json::Null, Value::Null) => true,
        (Json::Bool(x), Value::Boolean(y)) => x == y,
        (Json::Str(x), Value::String(y)) => x == y,
        // Integers match integral JSON numbers only, doubles match any number.
        (Json::Num(n), Value::Int(_) | Value::BigInt(_)) => n.parse::<i64>().ok() == needle.as_i64(),
        (Json::Num(n), Value::Double(_) | Value::Decimal(..)) => n.parse::<f64>().ok() == needle.as_f64(),
        _ => false,
    });
    Ok(Value::Boolean(found))
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    #[test]
    fn json_functions() {
        let n = Value::Null;
        let arr = |v: &[&str]| Value::Array(v.iter().map(|x| s(x)).collect());
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            (
                "EXTRACTJSONFIELD",
                vec![s(r#"{"nested": "nest0"}"#), s("$.nested")],
                s("nest0"),
            ),
            (
                "EXTRACTJSONFIELD",
                vec![s(r#"{"a": {"b": [1, {"c": 2.50}]}}"#), s("$.a.b[1]")],
                s(r#"{"c":2.50}"#),
            ),
            (
                "EXTRACTJSONFIELD",
                vec![s(r#"{"a": {"b": [1, 2]}}"#), s("$['a'].b[0]")],
                s("1"),
            ),
            ("EXTRACTJSONFIELD", vec![s(r#"{"a": 1}"#), s("$.missing")], n.clone()),
            ("EXTRACTJSONFIELD", vec![s("not json"), s("$.a")], n.clone()),
            ("IS_JSON_STRING", vec![s("[1, 2]")], Value::Boolean(true)),
            ("IS_JSON_STRING", vec![s("{")], Value::Boolean(false)),
            ("IS_JSON_STRING", vec![n.clone()], Value::Boolean(false)),
            ("JSON_ARRAY_LENGTH", vec![s("[1, [2], 3]")], Value::Int(3)),
            ("JSON_ARRAY_LENGTH", vec![s("{}")], n.clone()),
            (
                "JSON_ARRAY_CONTAINS",
                vec![s("[1, 2, 3]"), Value::Int(3)],
                Value::Boolean(true),
            ),
            (
                "JSON_ARRAY_CONTAINS",
                vec![s(r#"["a", 2]"#), s("2")],
                Value::Boolean(false),
            ),
            (
                "JSON_ARRAY_CONTAINS",
                vec![s("bad"), Value::Int(3)],
                Value::Boolean(false),
            ),
            (
                "JSON_CONCAT",
                vec![s(r#"{"a": 1}"#), s(r#"{"b": 2}"#)],
                s(r#"{"a":1,"b":2}"#),
            ),
            (
                "JSON_CONCAT",
                vec![s(r#"{"a": {"5": 6}}"#), s(r#"{"a": {"3": 4}}"#)],
                s(r#"{"a":{"3":4}}"#),
            ),
            ("JSON_CONCAT", vec![s("null"), s("null")], s("[null,null]")),
            (
                "JSON_CONCAT",
                vec![s("[1, 2]"), s(r#"{"a": 1}"#)],
                s(r#"[1,2,{"a":1}]"#),
            ),
            (
                "JSON_CONCAT",
                vec![s("[1, [2]]"), s("[[[3]], [[[4]]]]")],
                s("[1,[2],[[3]],[[[4]]]]"),
            ),
            ("JSON_CONCAT", vec![s("1"), s("")], n.clone()),
            (
                "JSON_KEYS",
                vec![s(r#"{"Red": 3, "Green": 5}"#)],
                arr(&["Red", "Green"]),
            ),
            ("JSON_KEYS", vec![s("{}")], arr(&[])),
            ("JSON_KEYS", vec![s("")], n.clone()),
            (
                "JSON_RECORDS",
                vec![s(r#"{"Red": 3, "x": {"y": "z"}}"#)],
                Value::Map(vec![(s("Red"), s("3")), (s("x"), s(r#"{"y":"z"}"#))]),
            ),
            (
                "JSON_ITEMS",
                vec![s(r#"[{"type": "A", "timestamp": "2022-01-27"}]"#)],
                arr(&[r#"{"type":"A","timestamp":"2022-01-27"}"#]),
            ),
            (
                "TO_JSON_STRING",
                vec![Value::Array(vec![Value::Int(1), Value::Int(2)])],
                s("[1,2]"),
            ),
            ("TO_JSON_STRING", vec![n.clone()], s("null")),
            ("TO_JSON_STRING", vec![Value::Bytes(vec![33])], s("\"IQ==\"")),
            ("TO_JSON_STRING", vec![Value::Decimal(123456, 3)], s("123.456")),
            (
                "TO_JSON_STRING",
                vec![Value::Struct(vec![
                    ("B".into(), s("x")),
                    ("A".into(), Value::Double(1.0)),
                ])],
                s(r#"{"B":"x","A":1.0}"#),
            ),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
        assert!(call("EXTRACTJSONFIELD", &[s("{}"), s("$.a[x]")]).is_err());
    }
}
