//! LATEST_BY_OFFSET and EARLIEST_BY_OFFSET.
//!
//! Each kept value travels with its arrival sequence number in a `STRUCT<SEQ BIGINT, VAL T>`
//! (the n-value forms keep an `ARRAY` of those), as ksqlDB's intermediate state does, so that
//! merging two session windows can tell which value came first.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::types::{SqlType, Value};

use super::{
    AggregateFunction, AggregateImpl, arg, bound, declare, field, int_param, items, next_seq, no_match,
    params_after_first, struct_type,
};

pub(super) fn all() -> Vec<Arc<dyn AggregateFunction>> {
    vec![by_offset(Which::Latest), by_offset(Which::Earliest)]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Which {
    Latest,
    Earliest,
}

fn entry(seq: i64, val: Value) -> Value {
    Value::Struct(vec![("SEQ".into(), Value::BigInt(seq)), ("VAL".into(), val)])
}

fn seq_of(e: &Value) -> i64 {
    field(e, "SEQ").as_i64().unwrap_or(0)
}

/// Orders entries by sequence; a negative sequence next to a non-negative one is taken to have
/// wrapped around, so it counts as later (as ksqlDB's comparator does).
fn by_seq(a: &Value, b: &Value) -> Ordering {
    let (x, y) = (seq_of(a), seq_of(b));
    match (x < 0, y < 0) {
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => x.cmp(&y),
    }
}

/// As [`by_seq`], but an entry holding NULL is older than any holding a value.
fn by_seq_nulls_first(a: &Value, b: &Value) -> Ordering {
    match (field(a, "VAL").is_null(), field(b, "VAL").is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => by_seq(a, b),
    }
}

/// The one-value form.
struct Single {
    which: Which,
    ignore_nulls: bool,
}

impl AggregateImpl for Single {
    fn initial(&self) -> Value {
        match self.which {
            // ksqlDB starts LATEST from a NULL value with a fresh sequence number...
            Which::Latest => entry(next_seq(), Value::Null),
            // ...and EARLIEST from no entry at all, so a first NULL can stick.
            Which::Earliest => Value::Null,
        }
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let v = arg(args, 0);
        if v.is_null() && self.ignore_nulls {
            return Ok(state);
        }
        match self.which {
            Which::Latest => Ok(entry(next_seq(), v.clone())),
            Which::Earliest if state.is_null() => Ok(entry(next_seq(), v.clone())),
            Which::Earliest => Ok(state),
        }
    }
    fn undo(&self, state: Value, _args: &[Value]) -> Result<Value, String> {
        Ok(state)
    }
    fn supports_undo(&self) -> bool {
        false
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        if a.is_null() {
            return Ok(b);
        }
        if b.is_null() {
            return Ok(a);
        }
        Ok(match self.which {
            Which::Latest => {
                let cmp = if self.ignore_nulls {
                    by_seq_nulls_first(&a, &b)
                } else {
                    by_seq(&a, &b)
                };
                if cmp == Ordering::Less { b } else { a }
            }
            Which::Earliest => {
                if by_seq(&a, &b) == Ordering::Less {
                    a
                } else {
                    b
                }
            }
        })
    }
    fn result(&self, state: &Value) -> Value {
        field(state, "VAL").clone()
    }
}

/// The n-value form: an ARRAY of at most `n` entries, oldest first.
struct Many {
    which: Which,
    n: usize,
    ignore_nulls: bool,
}

impl AggregateImpl for Many {
    fn initial(&self) -> Value {
        Value::Array(Vec::new())
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let v = arg(args, 0);
        if v.is_null() && self.ignore_nulls {
            return Ok(state);
        }
        let mut list = items(state);
        match self.which {
            Which::Latest => {
                list.push(entry(next_seq(), v.clone()));
                if list.len() > self.n {
                    list.drain(..list.len() - self.n);
                }
            }
            Which::Earliest => {
                if list.len() < self.n {
                    list.push(entry(next_seq(), v.clone()));
                }
            }
        }
        Ok(Value::Array(list))
    }
    fn undo(&self, state: Value, _args: &[Value]) -> Result<Value, String> {
        Ok(state)
    }
    fn supports_undo(&self) -> bool {
        false
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let mut list = items(a);
        list.extend(items(b));
        list.sort_by(by_seq);
        match self.which {
            Which::Latest => {
                if list.len() > self.n {
                    list.drain(..list.len() - self.n);
                }
            }
            Which::Earliest => list.truncate(self.n),
        }
        Ok(Value::Array(list))
    }
    fn result(&self, state: &Value) -> Value {
        match state {
            Value::Array(list) => Value::Array(list.iter().map(|e| field(e, "VAL").clone()).collect()),
            _ => Value::Array(Vec::new()),
        }
    }
}

fn by_offset(which: Which) -> Arc<dyn AggregateFunction> {
    let (name, description): (&'static str, &'static str) = match which {
        Which::Latest => (
            "LATEST_BY_OFFSET",
            "Returns the latest value of the column (the one with the largest offset), or the \
             latest N values as an ARRAY. NULLs are ignored unless ignoreNulls is false.",
        ),
        Which::Earliest => (
            "EARLIEST_BY_OFFSET",
            "Returns the earliest value of the column (the one with the smallest offset), or \
             the earliest N values as an ARRAY. NULLs are ignored unless ignoreNulls is false.",
        ),
    };
    const SIGS: [&str; 4] = ["T", "T, BOOLEAN", "T, INT", "T, INT, BOOLEAN"];
    declare(
        name,
        description,
        &[
            (&[("col1", "T")], "T"),
            (&[("col1", "T"), ("ignoreNulls", "BOOLEAN")], "T"),
            (&[("col1", "T"), ("n", "INT")], "ARRAY<T>"),
            (&[("col1", "T"), ("n", "INT"), ("ignoreNulls", "BOOLEAN")], "ARRAY<T>"),
        ],
        params_after_first,
        Box::new(move |args, params| {
            let mismatch = || no_match(name, &SIGS, args, params);
            let t = match args {
                [Some(t)] => t.clone(),
                _ => return Err(mismatch()),
            };
            let (n, ignore_nulls) = match params {
                [] => (None, true),
                [Value::Boolean(b)] => (None, *b),
                [Value::Int(_) | Value::BigInt(_)] => (int_param(params, 0, "n")?, true),
                [Value::Int(_) | Value::BigInt(_), Value::Boolean(b)] => (int_param(params, 0, "n")?, *b),
                _ => return Err(mismatch()),
            };
            let entry_type = struct_type(&[("SEQ", SqlType::BigInt), ("VAL", t.clone())]);
            match n {
                None => Ok(bound(name, t, entry_type, Single { which, ignore_nulls })),
                Some(n) if n >= 1 => Ok(bound(
                    name,
                    SqlType::Array(Box::new(t)),
                    SqlType::Array(Box::new(entry_type)),
                    Many {
                        which,
                        n: usize::try_from(n).unwrap_or(usize::MAX),
                        ignore_nulls,
                    },
                )),
                Some(_) => Err(match which {
                    Which::Latest => "latestN must be 1 or greater".to_string(),
                    Which::Earliest => "earliestN must be 1 or greater".to_string(),
                }),
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{bind, col, run, s};
    use super::*;

    fn i(v: i32) -> Value {
        Value::Int(v)
    }

    fn arr(v: &[Value]) -> Value {
        Value::Array(v.to_vec())
    }

    const N: Value = Value::Null;

    #[test]
    fn latest_single() {
        let b = bind("LATEST_BY_OFFSET", &[Some(SqlType::Int)], &[]).unwrap();
        assert_eq!(b.return_type, SqlType::Int);
        assert_eq!(
            b.state_type,
            struct_type(&[("SEQ", SqlType::BigInt), ("VAL", SqlType::Int)])
        );
        assert!(!b.imp.supports_undo());
        assert_eq!(run(&b, &col(&[i(12), N, i(13)])), vec![i(12), i(12), i(13)]);
        assert_eq!(b.imp.result(&b.imp.initial()), N);
        let keep = bind("LATEST_BY_OFFSET", &[Some(SqlType::Int)], &[Value::Boolean(false)]).unwrap();
        assert_eq!(run(&keep, &col(&[i(12), N, i(13)])), vec![i(12), N, i(13)]);
    }

    #[test]
    fn latest_n() {
        let b = bind("LATEST_BY_OFFSET", &[Some(SqlType::Int)], &[i(2)]).unwrap();
        assert_eq!(b.return_type, SqlType::Array(Box::new(SqlType::Int)));
        assert_eq!(
            run(&b, &col(&[i(12), N, i(13), i(14)])),
            vec![arr(&[i(12)]), arr(&[i(12)]), arr(&[i(12), i(13)]), arr(&[i(13), i(14)])]
        );
        let keep = bind(
            "LATEST_BY_OFFSET",
            &[Some(SqlType::Int)],
            &[i(2), Value::Boolean(false)],
        )
        .unwrap();
        assert_eq!(
            run(&keep, &col(&[i(12), N, i(13)])),
            vec![arr(&[i(12)]), arr(&[i(12), N]), arr(&[N, i(13)])]
        );
    }

    #[test]
    fn latest_merges_session_windows() {
        // "with nulls ignored when merging": session A holds 1; a NULL arrives between
        // sessions, so a fresh state is merged with A and the NULL is then added.
        let b = bind("LATEST_BY_OFFSET", &[Some(SqlType::Int)], &[]).unwrap();
        let a = b.imp.add(b.imp.initial(), &[i(1)]).unwrap();
        let merged = b.imp.merge(b.imp.initial(), a.clone()).unwrap();
        let st = b.imp.add(merged, &[N]).unwrap();
        assert_eq!(b.imp.result(&st), i(1));
        // "with nulls not ignored when merging": the fresh state is newer, so NULL wins.
        let keep = bind("LATEST_BY_OFFSET", &[Some(SqlType::Int)], &[Value::Boolean(false)]).unwrap();
        let a = keep.imp.add(keep.imp.initial(), &[i(1)]).unwrap();
        let merged = keep.imp.merge(keep.imp.initial(), a).unwrap();
        let st = keep.imp.add(merged, &[N]).unwrap();
        assert_eq!(keep.imp.result(&st), N);
        // "with nulls ignored - N": [1] merged with [] then 2 added.
        let n = bind("LATEST_BY_OFFSET", &[Some(SqlType::Int)], &[i(2), Value::Boolean(true)]).unwrap();
        let a = n.imp.add(n.imp.initial(), &[i(1)]).unwrap();
        let c = n.imp.add(n.imp.initial(), &[N]).unwrap();
        let merged = n.imp.merge(n.imp.initial(), a).unwrap();
        let merged = n.imp.merge(merged, c).unwrap();
        let st = n.imp.add(merged, &[i(2)]).unwrap();
        assert_eq!(n.imp.result(&st), arr(&[i(1), i(2)]));
        // Merging keeps the latest n by sequence.
        let x = n.imp.add(n.imp.initial(), &[i(1)]).unwrap();
        let y = n.imp.add(n.imp.initial(), &[i(2)]).unwrap();
        let x = n.imp.add(x, &[i(3)]).unwrap();
        assert_eq!(n.imp.result(&n.imp.merge(x, y).unwrap()), arr(&[i(2), i(3)]));
    }

    #[test]
    fn earliest_single() {
        let b = bind("EARLIEST_BY_OFFSET", &[Some(SqlType::String)], &[]).unwrap();
        assert_eq!(run(&b, &col(&[N, s("a"), s("b")])), vec![N, s("a"), s("a")]);
        let keep = bind("EARLIEST_BY_OFFSET", &[Some(SqlType::Int)], &[Value::Boolean(false)]).unwrap();
        // "null first - single - not ignoring nulls": the NULL sticks.
        assert_eq!(run(&keep, &col(&[N, i(13)])), vec![N, N]);
        assert_eq!(run(&keep, &col(&[i(12), N, i(13)])), vec![i(12); 3]);
        // Merging: the earlier entry wins; an empty state loses.
        let a = b.imp.add(b.imp.initial(), &[s("first")]).unwrap();
        let c = b.imp.add(b.imp.initial(), &[s("second")]).unwrap();
        assert_eq!(b.imp.result(&b.imp.merge(c.clone(), a.clone()).unwrap()), s("first"));
        assert_eq!(b.imp.result(&b.imp.merge(b.imp.initial(), c).unwrap()), s("second"));
    }

    #[test]
    fn earliest_n() {
        let b = bind("EARLIEST_BY_OFFSET", &[Some(SqlType::Int)], &[i(2)]).unwrap();
        assert_eq!(
            run(&b, &col(&[N, i(12), N, i(13), i(14)])),
            vec![
                arr(&[]),
                arr(&[i(12)]),
                arr(&[i(12)]),
                arr(&[i(12), i(13)]),
                arr(&[i(12), i(13)])
            ]
        );
        let keep = bind(
            "EARLIEST_BY_OFFSET",
            &[Some(SqlType::Int)],
            &[i(2), Value::Boolean(false)],
        )
        .unwrap();
        let a = keep.imp.add(keep.imp.initial(), &[N]).unwrap();
        let c = keep.imp.add(keep.imp.initial(), &[N]).unwrap();
        let m = keep.imp.merge(keep.imp.initial(), a).unwrap();
        let m = keep.imp.merge(m, c).unwrap();
        let st = keep.imp.add(m, &[N]).unwrap();
        assert_eq!(keep.imp.result(&st), arr(&[N, N]));
    }

    #[test]
    fn any_type_and_parameter_errors() {
        let t = SqlType::Array(Box::new(struct_type(&[("A", SqlType::String)])));
        let b = bind("LATEST_BY_OFFSET", &[Some(t.clone())], &[]).unwrap();
        assert_eq!(b.return_type, t);
        let v = arr(&[Value::Struct(vec![("A".into(), s("x"))])]);
        assert_eq!(run(&b, &[vec![v.clone()]]), vec![v]);
        assert_eq!(
            bind("LATEST_BY_OFFSET", &[Some(SqlType::Int)], &[i(0)]).unwrap_err(),
            "latestN must be 1 or greater"
        );
        assert_eq!(
            bind("EARLIEST_BY_OFFSET", &[Some(SqlType::Int)], &[i(-1)]).unwrap_err(),
            "earliestN must be 1 or greater"
        );
        let err = bind("LATEST_BY_OFFSET", &[Some(SqlType::Int)], &[s("x")]).unwrap_err();
        assert!(
            err.starts_with("Function 'LATEST_BY_OFFSET' does not accept parameters (INTEGER, STRING)"),
            "{err}"
        );
        assert!(bind("LATEST_BY_OFFSET", &[None], &[]).is_err());
        let reg = crate::function::FunctionRegistry::new();
        let f = reg.aggregate("earliest_by_offset").unwrap();
        assert_eq!(f.column_args(1), 1);
        assert_eq!(f.column_args(3), 1);
    }
}
