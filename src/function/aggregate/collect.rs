//! COLLECT_LIST, COLLECT_SET, HISTOGRAM, ATTR, TOPK and TOPKDISTINCT.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::types::{SqlType, Value};

use super::basic::java_cmp;
use super::{
    AggregateConfig, AggregateFunction, AggregateImpl, arg, bound, declare, field, int_param, items, last_is_param,
    no_match, no_params, params_after_first, struct_type,
};

pub(super) fn all(cfg: &AggregateConfig) -> Vec<Arc<dyn AggregateFunction>> {
    vec![
        collect_list(cfg.collect_list_limit),
        collect_set(cfg.collect_set_limit),
        histogram(),
        attr(),
        topk(),
        topk_distinct(),
    ]
}

// ---------------------------------------------------------------------------------------------
// COLLECT_LIST and COLLECT_SET

struct Collect {
    limit: usize,
    distinct: bool,
}

impl AggregateImpl for Collect {
    fn initial(&self) -> Value {
        Value::Array(Vec::new())
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        // NULLs are collected too, as ksqlDB does.
        let v = arg(args, 0);
        let mut list = items(state);
        if list.len() < self.limit && !(self.distinct && contains(&list, v)) {
            list.push(v.clone());
        }
        Ok(Value::Array(list))
    }
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        // Removes the last equal entry; one never added (past the limit) is not there.
        let v = arg(args, 0);
        let mut list = items(state);
        if let Some(pos) = list.iter().rposition(|x| x == v) {
            list.remove(pos);
        }
        Ok(Value::Array(list))
    }
    fn supports_undo(&self) -> bool {
        !self.distinct
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let mut list = items(a);
        for v in items(b) {
            if list.len() >= self.limit {
                break;
            }
            if !(self.distinct && contains(&list, &v)) {
                list.push(v);
            }
        }
        Ok(Value::Array(list))
    }
    fn result(&self, state: &Value) -> Value {
        match state {
            Value::Array(_) => state.clone(),
            _ => Value::Array(Vec::new()),
        }
    }
}

/// Whether `list` holds a value equal to `v`, maps compared as sets of entries (a map read
/// from JSON keeps its fields' order, which says nothing about the map).
fn contains(list: &[Value], v: &Value) -> bool {
    list.iter().any(|x| same_value(x, v))
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| same_value(k, k2) && same_value(v, v2)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q)),
        (Value::Struct(x), Value::Struct(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((n, p), (m, q))| n == m && same_value(p, q))
        }
        _ => a == b,
    }
}

fn collect_list(limit: Option<usize>) -> Arc<dyn AggregateFunction> {
    collect(
        "COLLECT_LIST",
        "Gathers every value of the column in the group, NULLs included, into an ARRAY. Set \
         ksql.functions.collect_list.limit to cap its size; values past the cap are ignored.",
        limit,
        false,
    )
}

fn collect_set(limit: Option<usize>) -> Arc<dyn AggregateFunction> {
    collect(
        "COLLECT_SET",
        "Gathers the distinct values of the column in the group into an ARRAY. Set \
         ksql.functions.collect_set.limit to cap its size; values past the cap are ignored. \
         Not available on table sources.",
        limit,
        true,
    )
}

fn collect(
    name: &'static str,
    description: &'static str,
    limit: Option<usize>,
    distinct: bool,
) -> Arc<dyn AggregateFunction> {
    declare(
        name,
        description,
        &[(&[("col1", "T")], "ARRAY<T>")],
        no_params,
        Box::new(move |args, params| match (args, params) {
            ([Some(t)], []) => {
                let arr = SqlType::Array(Box::new(t.clone()));
                Ok(bound(
                    name,
                    arr.clone(),
                    arr,
                    Collect {
                        limit: limit.unwrap_or(usize::MAX),
                        distinct,
                    },
                ))
            }
            _ => Err(no_match(name, &["T"], args, params)),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// HISTOGRAM: MAP<STRING, BIGINT> of at most 1000 distinct values.

const HISTOGRAM_LIMIT: usize = 1000;

struct Histogram;

fn entries(state: Value) -> Vec<(Value, Value)> {
    match state {
        Value::Map(e) => e,
        _ => Vec::new(),
    }
}

impl AggregateImpl for Histogram {
    fn initial(&self) -> Value {
        Value::Map(Vec::new())
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let v = arg(args, 0);
        let mut map = entries(state);
        bump(&mut map, v, 1);
        Ok(Value::Map(map))
    }
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let v = arg(args, 0);
        let mut map = entries(state);
        if let Some(pos) = map.iter().position(|(k, _)| k == v) {
            let n = map[pos].1.as_i64().unwrap_or(0) - 1;
            if n < 1 {
                map.remove(pos);
            } else {
                map[pos].1 = Value::BigInt(n);
            }
        }
        Ok(Value::Map(map))
    }
    fn supports_undo(&self) -> bool {
        true
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let mut map = entries(a);
        for (k, n) in entries(b) {
            bump(&mut map, &k, n.as_i64().unwrap_or(0));
        }
        Ok(Value::Map(map))
    }
    fn result(&self, state: &Value) -> Value {
        match state {
            Value::Map(_) => state.clone(),
            _ => Value::Map(Vec::new()),
        }
    }
}

/// Adds `by` to `key`'s count, inserting it while the map is under the limit.
fn bump(map: &mut Vec<(Value, Value)>, key: &Value, by: i64) {
    if let Some((_, n)) = map.iter_mut().find(|(k, _)| k == key) {
        *n = Value::BigInt(n.as_i64().unwrap_or(0) + by);
    } else if map.len() < HISTOGRAM_LIMIT {
        map.push((key.clone(), Value::BigInt(by)));
    }
}

fn histogram() -> Arc<dyn AggregateFunction> {
    declare(
        "HISTOGRAM",
        "Returns a MAP of each distinct STRING value of the column to the number of times it \
         occurs in the group, limited to 1000 distinct values (further ones are ignored).",
        &[(&[("col1", "VARCHAR")], "MAP<VARCHAR, BIGINT>")],
        no_params,
        Box::new(|args, params| match (args, params) {
            ([Some(SqlType::String)], []) => {
                let t = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt));
                Ok(bound("HISTOGRAM", t.clone(), t, Histogram))
            }
            _ => Err(no_match("HISTOGRAM", &["VARCHAR"], args, params)),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// ATTR: the single value of a group, or NULL when it holds several distinct values.

struct Attr;

fn attr_entries(state: Value) -> Vec<(Value, i32)> {
    items(state)
        .into_iter()
        .map(|e| {
            let n = field(&e, "COUNT").as_i64().unwrap_or(0) as i32;
            (field(&e, "VALUE").clone(), n)
        })
        .collect()
}

fn attr_state(entries: Vec<(Value, i32)>) -> Value {
    Value::Array(
        entries
            .into_iter()
            .map(|(v, n)| Value::Struct(vec![("VALUE".into(), v), ("COUNT".into(), Value::Int(n))]))
            .collect(),
    )
}

/// Adds `by` (possibly negative) to the count of `v`; counts never go below zero and a value
/// is only inserted by a positive count. NULL is a value like any other.
fn attr_update(entries: &mut Vec<(Value, i32)>, v: &Value, by: i32) {
    if let Some((_, n)) = entries.iter_mut().find(|(x, _)| x == v) {
        *n = n.saturating_add(by).max(0);
    } else if by > 0 {
        entries.push((v.clone(), by));
    }
}

impl AggregateImpl for Attr {
    fn initial(&self) -> Value {
        Value::Array(Vec::new())
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let mut e = attr_entries(state);
        attr_update(&mut e, arg(args, 0), 1);
        Ok(attr_state(e))
    }
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let mut e = attr_entries(state);
        attr_update(&mut e, arg(args, 0), -1);
        Ok(attr_state(e))
    }
    fn supports_undo(&self) -> bool {
        true
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let mut e = attr_entries(a);
        for (v, n) in attr_entries(b) {
            attr_update(&mut e, &v, n);
        }
        Ok(attr_state(e))
    }
    fn result(&self, state: &Value) -> Value {
        let live: Vec<(Value, i32)> = attr_entries(state.clone())
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect();
        match live.as_slice() {
            [(v, _)] => v.clone(),
            _ => Value::Null,
        }
    }
}

fn attr() -> Arc<dyn AggregateFunction> {
    declare(
        "ATTR",
        "Returns the column's single value in the group, for columns expected to hold only one; \
         if the group holds more than one distinct value (NULL counts as one), the result is \
         NULL.",
        &[(&[("col1", "T")], "T")],
        no_params,
        Box::new(|args, params| match (args, params) {
            ([Some(t)], []) => {
                let entry = struct_type(&[("VALUE", t.clone()), ("COUNT", SqlType::Int)]);
                Ok(bound("ATTR", t.clone(), SqlType::Array(Box::new(entry)), Attr))
            }
            _ => Err(no_match("ATTR", &["T"], args, params)),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// TOPK and TOPKDISTINCT

struct TopK {
    k: usize,
    distinct: bool,
    /// TOPK with extra columns: entries are STRUCT<sort_col, col0, col1, ...>.
    with_struct: bool,
}

impl TopK {
    fn key<'a>(&self, v: &'a Value) -> &'a Value {
        if self.with_struct { field(v, "sort_col") } else { v }
    }

    fn cmp(&self, a: &Value, b: &Value) -> Ordering {
        java_cmp(self.key(a), self.key(b))
    }
}

impl AggregateImpl for TopK {
    fn initial(&self) -> Value {
        Value::Array(Vec::new())
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        if arg(args, 0).is_null() {
            return Ok(state);
        }
        let v = if self.with_struct {
            let mut fields = vec![("sort_col".to_string(), arg(args, 0).clone())];
            for (i, a) in args.iter().enumerate().skip(1) {
                fields.push((format!("col{}", i - 1), a.clone()));
            }
            Value::Struct(fields)
        } else {
            arg(args, 0).clone()
        };
        let mut list = items(state);
        let full = list.len() >= self.k;
        if let Some(last) = list.last()
            && full
            && self.cmp(&v, last) != Ordering::Greater
        {
            return Ok(Value::Array(list));
        }
        if self.distinct && list.contains(&v) {
            return Ok(Value::Array(list));
        }
        if full {
            list.pop();
        }
        // Stable: an equal newcomer goes after the entries already there.
        let pos = list
            .iter()
            .position(|x| self.cmp(&v, x) == Ordering::Greater)
            .unwrap_or(list.len());
        list.insert(pos, v);
        Ok(Value::Array(list))
    }
    fn undo(&self, state: Value, _args: &[Value]) -> Result<Value, String> {
        Ok(state)
    }
    fn supports_undo(&self) -> bool {
        false
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let (a, b) = (items(a), items(b));
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::with_capacity(self.k.min(a.len() + b.len()));
        while out.len() < self.k {
            match (a.get(i), b.get(j)) {
                (None, None) => break,
                (Some(x), None) => {
                    out.push(x.clone());
                    i += 1;
                }
                (None, Some(y)) => {
                    out.push(y.clone());
                    j += 1;
                }
                (Some(x), Some(y)) => match self.cmp(x, y) {
                    Ordering::Greater => {
                        out.push(x.clone());
                        i += 1;
                    }
                    Ordering::Less => {
                        out.push(y.clone());
                        j += 1;
                    }
                    Ordering::Equal if self.distinct => {
                        out.push(x.clone());
                        i += 1;
                        j += 1;
                    }
                    Ordering::Equal => {
                        out.push(x.clone());
                        i += 1;
                    }
                },
            }
        }
        Ok(Value::Array(out))
    }
    fn result(&self, state: &Value) -> Value {
        match state {
            Value::Array(_) => state.clone(),
            _ => Value::Array(Vec::new()),
        }
    }
}

/// The `k` parameter of TOPK / TOPKDISTINCT.
fn k_param(name: &str, params: &[Value]) -> Result<usize, String> {
    match int_param(params, 0, "k")? {
        Some(k) if k >= 1 => Ok(usize::try_from(k).unwrap_or(usize::MAX)),
        Some(k) => Err(format!("{name} k must be 1 or greater, got {k}")),
        None => Err(format!("{name} requires the literal parameter k")),
    }
}

fn topk() -> Arc<dyn AggregateFunction> {
    const SIGS: [&str; 5] = [
        "INT, INT",
        "BIGINT, INT",
        "DOUBLE, INT",
        "VARCHAR, INT",
        "T, ANY..., INT",
    ];
    declare(
        "TOPK",
        "Returns the K greatest values of the column in the group, greatest first; NULLs are \
         ignored. With further columns, TOPK(col1, col2, ..., k) returns an ARRAY of STRUCTs \
         holding the sort column as sort_col and the others as col0, col1, ...",
        &[
            (&[("col1", "INT"), ("k", "INT")], "ARRAY<INT>"),
            (&[("col1", "BIGINT"), ("k", "INT")], "ARRAY<BIGINT>"),
            (&[("col1", "DOUBLE"), ("k", "INT")], "ARRAY<DOUBLE>"),
            (&[("col1", "VARCHAR"), ("k", "INT")], "ARRAY<VARCHAR>"),
            (&[("col1", "T"), ("otherCols", "ANY"), ("k", "INT")], "ARRAY<STRUCT>"),
        ],
        last_is_param,
        Box::new(|args, params| {
            let mismatch = || no_match("TOPK", &SIGS, args, params);
            let sort = match args.first() {
                Some(Some(t @ (SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::String))) => t.clone(),
                _ => return Err(mismatch()),
            };
            if params.len() != 1 || !matches!(params[0], Value::Int(_) | Value::BigInt(_)) {
                return Err(mismatch());
            }
            let k = k_param("TOPK", params)?;
            let elem = if args.len() == 1 {
                sort
            } else {
                let mut fields = vec![("sort_col".to_string(), sort)];
                for (i, t) in args.iter().enumerate().skip(1) {
                    let t = t.clone().ok_or_else(mismatch)?;
                    fields.push((format!("col{}", i - 1), t));
                }
                SqlType::Struct(fields)
            };
            let arr = SqlType::Array(Box::new(elem));
            Ok(bound(
                "TOPK",
                arr.clone(),
                arr,
                TopK {
                    k,
                    distinct: false,
                    with_struct: args.len() > 1,
                },
            ))
        }),
    )
}

fn topk_distinct() -> Arc<dyn AggregateFunction> {
    const SIGS: [&str; 5] = ["INT, INT", "BIGINT, INT", "DOUBLE, INT", "VARCHAR, INT", "DECIMAL, INT"];
    declare(
        "TOPKDISTINCT",
        "Returns the K greatest distinct values of the column in the group, greatest first; \
         NULLs are ignored.",
        &[
            (&[("col1", "INT"), ("k", "INT")], "ARRAY<INT>"),
            (&[("col1", "BIGINT"), ("k", "INT")], "ARRAY<BIGINT>"),
            (&[("col1", "DOUBLE"), ("k", "INT")], "ARRAY<DOUBLE>"),
            (&[("col1", "VARCHAR"), ("k", "INT")], "ARRAY<VARCHAR>"),
            (&[("col1", "DECIMAL"), ("k", "INT")], "ARRAY<DECIMAL>"),
        ],
        params_after_first,
        Box::new(|args, params| {
            let t = match (args, params) {
                (
                    [
                        Some(
                            t @ (SqlType::Int
                            | SqlType::BigInt
                            | SqlType::Double
                            | SqlType::String
                            | SqlType::Decimal { .. }),
                        ),
                    ],
                    [Value::Int(_) | Value::BigInt(_)],
                ) => t.clone(),
                _ => return Err(no_match("TOPKDISTINCT", &SIGS, args, params)),
            };
            let k = k_param("TOPKDISTINCT", params)?;
            let arr = SqlType::Array(Box::new(t));
            Ok(bound(
                "TOPKDISTINCT",
                arr.clone(),
                arr,
                TopK {
                    k,
                    distinct: true,
                    with_struct: false,
                },
            ))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{bind, col, run, s};
    use super::*;

    fn arr(v: &[Value]) -> Value {
        Value::Array(v.to_vec())
    }

    fn l(v: i64) -> Value {
        Value::BigInt(v)
    }

    const N: Value = Value::Null;

    #[test]
    fn collect_list_keeps_nulls_and_undoes() {
        let b = bind("COLLECT_LIST", &[Some(SqlType::Int)], &[]).unwrap();
        assert_eq!(b.return_type, SqlType::Array(Box::new(SqlType::Int)));
        assert!(b.imp.supports_undo());
        let out = run(&b, &col(&[Value::Int(1), N, Value::Int(1)]));
        assert_eq!(out[2], arr(&[Value::Int(1), N, Value::Int(1)]));
        // A table update: retract the old row's value, add the new one.
        let st = b.imp.add(b.imp.initial(), &[Value::Int(0)]).unwrap();
        let st = b.imp.undo(st, &[Value::Int(0)]).unwrap();
        let st = b.imp.add(st, &[Value::Int(100)]).unwrap();
        assert_eq!(b.imp.result(&st), arr(&[Value::Int(100)]));
        // Undoing a value that is not there (it hit the limit) changes nothing.
        let st = b.imp.undo(st, &[Value::Int(7)]).unwrap();
        assert_eq!(b.imp.result(&st), arr(&[Value::Int(100)]));
        assert_eq!(b.imp.result(&b.imp.initial()), arr(&[]));
    }

    #[test]
    fn collect_limits_come_from_config() {
        let cfg = AggregateConfig::from_properties([
            ("ksql.functions.collect_list.limit", "1"),
            ("ksql.functions.collect_set.limit", "2"),
            ("other", "x"),
        ])
        .unwrap();
        assert_eq!(cfg.collect_list_limit, Some(1));
        let reg = crate::function::FunctionRegistry::with_aggregate_config(&cfg);
        let list = reg
            .aggregate("COLLECT_LIST")
            .unwrap()
            .bind(&[Some(SqlType::Int)], &[])
            .unwrap();
        let out = run(&list, &col(&[Value::Int(0), Value::Int(100)]));
        assert_eq!(out, vec![arr(&[Value::Int(0)]), arr(&[Value::Int(0)])]);
        let merged = list.imp.merge(arr(&[Value::Int(1)]), arr(&[Value::Int(2)])).unwrap();
        assert_eq!(merged, arr(&[Value::Int(1)]));
        let set = reg
            .aggregate("COLLECT_SET")
            .unwrap()
            .bind(&[Some(SqlType::Int)], &[])
            .unwrap();
        let out = run(&set, &col(&[Value::Int(1), Value::Int(2), Value::Int(3)]));
        assert_eq!(out[2], arr(&[Value::Int(1), Value::Int(2)]));
        assert_eq!(
            AggregateConfig::from_properties([("ksql.functions.collect_list.limit", "-1")])
                .unwrap()
                .collect_list_limit,
            None
        );
        assert!(AggregateConfig::from_properties([("ksql.functions.collect_set.limit", "x")]).is_err());
    }

    #[test]
    fn collect_set_is_distinct_and_stream_only() {
        let b = bind("COLLECT_SET", &[Some(SqlType::Double)], &[]).unwrap();
        assert!(!b.imp.supports_undo());
        let d = Value::Double;
        let out = run(&b, &col(&[d(500.9), d(300.8), N, d(300.8), N]));
        assert_eq!(out[4], arr(&[d(500.9), d(300.8), N]));
        let merged = b.imp.merge(arr(&[d(1.0), d(2.0)]), arr(&[d(2.0), d(3.0)])).unwrap();
        assert_eq!(merged, arr(&[d(1.0), d(2.0), d(3.0)]));
    }

    #[test]
    fn histogram_counts_and_undoes() {
        // ksqlDB's "histogram on a table": bob moves from east to west.
        let b = bind("HISTOGRAM", &[Some(SqlType::String)], &[]).unwrap();
        assert!(b.imp.supports_undo());
        let east = run(&b, &col(&[s("alice"), s("bob")]));
        assert_eq!(east[1], Value::Map(vec![(s("alice"), l(1)), (s("bob"), l(1))]));
        let st = b.imp.undo(east[1].clone(), &[s("bob")]).unwrap();
        assert_eq!(b.imp.result(&st), Value::Map(vec![(s("alice"), l(1))]));
        let st = b.imp.add(st, &[s("alice")]).unwrap();
        assert_eq!(st, Value::Map(vec![(s("alice"), l(2))]));
        let merged = b
            .imp
            .merge(st, Value::Map(vec![(s("alice"), l(1)), (s("x"), l(3))]))
            .unwrap();
        assert_eq!(merged, Value::Map(vec![(s("alice"), l(3)), (s("x"), l(3))]));
        let err = bind("HISTOGRAM", &[Some(SqlType::Int)], &[]).unwrap_err();
        assert_eq!(
            err,
            "Function 'histogram' does not accept parameters (INTEGER). Valid alternatives are: \
             HISTOGRAM(VARCHAR)"
        );
    }

    #[test]
    fn histogram_caps_distinct_values() {
        let b = bind("HISTOGRAM", &[Some(SqlType::String)], &[]).unwrap();
        let mut st = b.imp.initial();
        for n in 0..1005 {
            st = b.imp.add(st, &[s(&n.to_string())]).unwrap();
        }
        st = b.imp.add(st, &[s("0")]).unwrap();
        let Value::Map(m) = &st else { panic!() };
        assert_eq!(m.len(), 1000);
        assert_eq!(m[0], (s("0"), l(2)));
    }

    #[test]
    fn attr_single_value_or_null() {
        let b = bind("ATTR", &[Some(SqlType::String)], &[]).unwrap();
        assert_eq!(b.return_type, SqlType::String);
        // "invalid attr with nulls": "1", NULL, "1".
        assert_eq!(run(&b, &col(&[s("1"), N, s("1")])), vec![s("1"), N, N]);
        // "table attr with tombstones".
        let st = b.imp.add(b.imp.initial(), &[s("1")]).unwrap();
        let st = b.imp.add(st, &[s("1")]).unwrap();
        let st = b.imp.undo(st, &[s("1")]).unwrap();
        assert_eq!(b.imp.result(&st), s("1"));
        let st = b.imp.undo(st, &[s("1")]).unwrap();
        assert_eq!(b.imp.result(&st), N);
        let st = b.imp.add(st, &[s("2")]).unwrap();
        assert_eq!(b.imp.result(&st), s("2"));
        let st = b.imp.add(st, &[s("3")]).unwrap();
        assert_eq!(b.imp.result(&st), N);
        let st = b.imp.undo(st, &[s("3")]).unwrap();
        assert_eq!(b.imp.result(&st), s("2"));
        let merged = b.imp.merge(st.clone(), st).unwrap();
        assert_eq!(b.imp.result(&merged), s("2"));
    }

    #[test]
    fn topk_plain() {
        // ksqlDB's "topk long".
        let b = bind("TOPK", &[Some(SqlType::BigInt)], &[Value::Int(3)]).unwrap();
        assert_eq!(b.return_type, SqlType::Array(Box::new(SqlType::BigInt)));
        assert_eq!(b.state_type, b.return_type);
        let out = run(&b, &col(&[l(2147483648), l(100), l(99), l(7), N, l(100)]));
        assert_eq!(out[2], arr(&[l(2147483648), l(100), l(99)]));
        assert_eq!(out[4], out[2]);
        assert_eq!(out[5], arr(&[l(2147483648), l(100), l(100)]));
        let merged = b.imp.merge(arr(&[l(9), l(5), l(1)]), arr(&[l(8), l(5)])).unwrap();
        assert_eq!(merged, arr(&[l(9), l(8), l(5)]));
        assert!(!b.imp.supports_undo());
    }

    #[test]
    fn topk_with_extra_columns() {
        // ksqlDB's "topk integer struct".
        let b = bind("TOPK", &[Some(SqlType::Int), Some(SqlType::String)], &[Value::Int(3)]).unwrap();
        let elem = struct_type(&[("sort_col", SqlType::Int), ("col0", SqlType::String)]);
        assert_eq!(b.return_type, SqlType::Array(Box::new(elem)));
        let e = |v: i32, n: Value| Value::Struct(vec![("sort_col".into(), Value::Int(v)), ("col0".into(), n)]);
        let rows = vec![
            vec![Value::Int(0), s("zero")],
            vec![Value::Int(100), s("one")],
            vec![Value::Int(99), s("two")],
            vec![N, s("three")],
            vec![Value::Int(100), N],
        ];
        let out = run(&b, &rows);
        assert_eq!(out[1], arr(&[e(100, s("one")), e(0, s("zero"))]));
        assert_eq!(out[3], out[2]);
        assert_eq!(out[4], arr(&[e(100, s("one")), e(100, N), e(99, s("two"))]));
        let reg = crate::function::FunctionRegistry::new();
        assert_eq!(reg.aggregate("TOPK").unwrap().column_args(3), 2);
    }

    #[test]
    fn topk_errors() {
        assert_eq!(
            bind("TOPK", &[Some(SqlType::Int)], &[Value::Int(0)]).unwrap_err(),
            "TOPK k must be 1 or greater, got 0"
        );
        let err = bind("TOPK", &[Some(SqlType::Boolean)], &[Value::Int(2)]).unwrap_err();
        assert!(
            err.starts_with("Function 'TOPK' does not accept parameters (BOOLEAN, INTEGER)"),
            "{err}"
        );
        assert!(bind("TOPK", &[Some(SqlType::Int)], &[]).is_err());
    }

    #[test]
    fn topk_distinct() {
        // ksqlDB's "topk distinct long".
        let b = bind("TOPKDISTINCT", &[Some(SqlType::BigInt)], &[Value::Int(3)]).unwrap();
        let out = run(&b, &col(&[l(2147483648), l(100), l(99), l(7), l(100)]));
        assert_eq!(out[1], arr(&[l(2147483648), l(100)]));
        assert_eq!(out[4], arr(&[l(2147483648), l(100), l(99)]));
        let st = b.imp.add(arr(&[l(5), l(3)]), &[l(3)]).unwrap();
        assert_eq!(st, arr(&[l(5), l(3)]));
        let merged = b.imp.merge(arr(&[l(9), l(5), l(1)]), arr(&[l(9), l(5)])).unwrap();
        assert_eq!(merged, arr(&[l(9), l(5), l(1)]));
        let dec = SqlType::Decimal { precision: 4, scale: 2 };
        assert!(bind("TOPKDISTINCT", &[Some(dec)], &[Value::Int(2)]).is_ok());
        assert!(bind("TOPKDISTINCT", &[Some(SqlType::Date)], &[Value::Int(2)]).is_err());
    }
}
