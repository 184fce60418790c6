//! Array functions.

use std::cmp::Ordering;

use crate::function::Lambda;
use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value};

const CAT: &str = "ARRAY";

/// The most elements GENERATE_SERIES will build, so a typo cannot exhaust memory.
const MAX_SERIES: i128 = 10_000_000;

/// Equality as ksqlDB's list operations see it; numbers of different widths compare by value
/// (an INT argument may meet a BIGINT array after widening).
pub(super) fn same(a: &Value, b: &Value) -> bool {
    a == b || (a.as_f64().is_some() && b.as_f64().is_some() && a.sql_cmp(b) == Some(Ordering::Equal))
}

fn distinct(items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in items {
        if !out.iter().any(|o| same(o, &v)) {
            out.push(v);
        }
    }
    out
}

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func(
            "ARRAY_CONCAT",
            CAT,
            "Concatenates two arrays; a NULL array counts as empty unless both are NULL.",
            |a, _, _| {
                Ok(match (arg::array(a, 0)?, arg::array(a, 1)?) {
                    (None, None) => Value::Null,
                    (x, y) => Value::Array(x.unwrap_or(&[]).iter().chain(y.unwrap_or(&[])).cloned().collect()),
                })
            },
        )
        .sig(&[("left", "ARRAY<T>"), ("right", "ARRAY<T>")], "ARRAY<T>")
        .lenient(),
    );
    v.push(
        func(
            "ARRAY_CONTAINS",
            CAT,
            "Whether an array contains a value; false for a NULL array.",
            |a, _, _| {
                let needle = arg::get(a, 1);
                Ok(Value::Boolean(
                    arg::array(a, 0)?.is_some_and(|items| items.iter().any(|v| same(v, needle))),
                ))
            },
        )
        .sig(&[("array", "ARRAY<T>"), ("value", "T")], "BOOLEAN")
        .lenient(),
    );
    v.push(
        func(
            "ARRAY_DISTINCT",
            CAT,
            "The distinct elements, in first-seen order.",
            |a, _, _| Ok(arg::array(a, 0)?.map_or(Value::Null, |items| Value::Array(distinct(items.iter().cloned())))),
        )
        .sig(&[("array", "ARRAY<T>")], "ARRAY<T>"),
    );
    v.push(
        func(
            "ARRAY_EXCEPT",
            CAT,
            "The distinct elements of the first array that are not in the second.",
            |a, _, _| set_op(a, |x, other| !other.iter().any(|o| same(o, x)), false),
        )
        .sig(&[("left", "ARRAY<T>"), ("right", "ARRAY<T>")], "ARRAY<T>"),
    );
    v.push(
        func(
            "ARRAY_INTERSECT",
            CAT,
            "The distinct elements found in both arrays.",
            |a, _, _| set_op(a, |x, other| other.iter().any(|o| same(o, x)), false),
        )
        .sig(&[("left", "ARRAY<T>"), ("right", "ARRAY<T>")], "ARRAY<T>"),
    );
    v.push(
        func(
            "ARRAY_UNION",
            CAT,
            "The distinct elements of either array.",
            |a, _, _| set_op(a, |_, _| true, true),
        )
        .sig(&[("left", "ARRAY<T>"), ("right", "ARRAY<T>")], "ARRAY<T>"),
    );
    v.push(
        func(
            "ARRAY_JOIN",
            CAT,
            "Joins the elements' text with a delimiter (default ',').",
            |a, _, _| {
                let Some(items) = arg::array(a, 0)? else {
                    return Ok(Value::Null);
                };
                let delim = if a.len() > 1 {
                    arg::str(a, 1)?.unwrap_or("")
                } else {
                    ","
                };
                Ok(Value::String(
                    items.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(delim),
                ))
            },
        )
        .sig(&[("array", "ARRAY<T>")], "VARCHAR")
        .sig(&[("array", "ARRAY<T>"), ("delimiter", "VARCHAR")], "VARCHAR")
        .lenient(),
    );
    v.push(
        func("ARRAY_LENGTH", CAT, "The number of elements.", |a, _, _| {
            Ok(arg::array(a, 0)?.map_or(Value::Null, |items| Value::Int(items.len() as i32)))
        })
        .sig(&[("array", "ARRAY<T>")], "INT"),
    );
    v.push(
        func(
            "ARRAY_MAX",
            CAT,
            "The largest non-NULL element; NULL for an empty array.",
            |a, _, _| extreme(a, Ordering::Greater),
        )
        .sig(&[("array", "ARRAY<T>")], "T"),
    );
    v.push(
        func(
            "ARRAY_MIN",
            CAT,
            "The smallest non-NULL element; NULL for an empty array.",
            |a, _, _| extreme(a, Ordering::Less),
        )
        .sig(&[("array", "ARRAY<T>")], "T"),
    );
    v.push(
        func(
            "ARRAY_REMOVE",
            CAT,
            "The array without every element equal to a value.",
            |a, _, _| {
                let needle = arg::get(a, 1);
                Ok(arg::array(a, 0)?.map_or(Value::Null, |items| {
                    Value::Array(items.iter().filter(|v| !same(v, needle)).cloned().collect())
                }))
            },
        )
        .sig(&[("array", "ARRAY<T>"), ("value", "T")], "ARRAY<T>")
        .lenient(),
    );
    v.push(
        func(
            "ARRAY_SORT",
            CAT,
            "Sorts an array ascending (default) or descending ('ASC'/'DESC'); NULLs go last.",
            sort,
        )
        .sig(&[("array", "ARRAY<T>")], "ARRAY<T>")
        .sig(&[("array", "ARRAY<T>"), ("direction", "VARCHAR")], "ARRAY<T>"),
    );
    v.push(
        func(
            "GENERATE_SERIES",
            CAT,
            "The integers from start to end inclusive, by a step (default 1 or -1).",
            series,
        )
        .sig(&[("start", "INT"), ("end", "INT")], "ARRAY<INT>")
        .sig(&[("start", "INT"), ("end", "INT"), ("step", "INT")], "ARRAY<INT>")
        .sig(&[("start", "BIGINT"), ("end", "BIGINT")], "ARRAY<BIGINT>")
        .sig(
            &[("start", "BIGINT"), ("end", "BIGINT"), ("step", "INT")],
            "ARRAY<BIGINT>",
        ),
    );
    v.push(
        func(
            "SLICE",
            CAT,
            "The elements from one 1-based position to another, inclusive; NULL bounds mean \
             the ends.",
            slice,
        )
        .sig(&[("array", "ARRAY<T>"), ("from", "INT"), ("to", "INT")], "ARRAY<T>")
        .lenient(),
    );
}

fn set_op(a: &[Value], keep: fn(&Value, &[Value]) -> bool, union: bool) -> Result<Value, String> {
    let (Some(left), Some(right)) = (arg::array(a, 0)?, arg::array(a, 1)?) else {
        return Ok(Value::Null);
    };
    let items: Vec<Value> = if union {
        left.iter().chain(right).cloned().collect()
    } else {
        left.iter().filter(|x| keep(x, right)).cloned().collect()
    };
    Ok(Value::Array(distinct(items)))
}

fn extreme(a: &[Value], want: Ordering) -> Result<Value, String> {
    let Some(items) = arg::array(a, 0)? else {
        return Ok(Value::Null);
    };
    let mut best: Option<&Value> = None;
    for v in items.iter().filter(|v| !v.is_null()) {
        best = match best {
            Some(b) if v.sql_cmp(b) != Some(want) => Some(b),
            _ => Some(v),
        };
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

fn sort(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let Some(items) = arg::array(a, 0)? else {
        return Ok(Value::Null);
    };
    let desc = match if a.len() > 1 { arg::str(a, 1)? } else { Some("ASC") } {
        Some(d) if d.eq_ignore_ascii_case("ASC") => false,
        Some(d) if d.eq_ignore_ascii_case("DESC") => true,
        // ksqlDB answers an unknown direction with NULL rather than an error.
        _ => return Ok(Value::Null),
    };
    let (mut present, nulls): (Vec<Value>, Vec<Value>) = items.iter().cloned().partition(|v| !v.is_null());
    present.sort_by(|x, y| {
        let o = x.sql_cmp(y).unwrap_or(Ordering::Equal);
        if desc { o.reverse() } else { o }
    });
    present.extend(nulls);
    Ok(Value::Array(present))
}

fn series(a: &[Value], ret: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let (Some(start), Some(end)) = (arg::int(a, 0)?, arg::int(a, 1)?) else {
        return Ok(Value::Null);
    };
    let step = if a.len() > 2 {
        match arg::int(a, 2)? {
            Some(s) => s,
            None => return Ok(Value::Null),
        }
    } else if end >= start {
        1
    } else {
        -1
    };
    if step == 0 {
        return Err("GENERATE_SERIES step cannot be zero".into());
    }
    if (end > start && step < 0) || (end < start && step > 0) {
        return Err("GENERATE_SERIES has incorrect direction".into());
    }
    let count = (end as i128 - start as i128) / step as i128 + 1;
    if count > MAX_SERIES {
        return Err(format!(
            "GENERATE_SERIES would produce {count} elements, more than {MAX_SERIES}"
        ));
    }
    let ints = matches!(ret, SqlType::Array(t) if **t == SqlType::Int);
    Ok(Value::Array(
        (0..count as i64)
            .map(|i| {
                let v = start + i * step;
                if ints { Value::Int(v as i32) } else { Value::BigInt(v) }
            })
            .collect(),
    ))
}

fn slice(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let Some(items) = arg::array(a, 0)? else {
        return Ok(Value::Null);
    };
    let len = items.len() as i64;
    let from = arg::int(a, 1)?.unwrap_or(1).max(1);
    let to = arg::int(a, 2)?.unwrap_or(len).min(len);
    if from > to {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(Value::Array(items[(from - 1) as usize..to as usize].to_vec()))
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    fn ints(v: &[i32]) -> Value {
        Value::Array(v.iter().map(|x| Value::Int(*x)).collect())
    }

    #[test]
    fn array_functions() {
        let n = Value::Null;
        let with_null = Value::Array(vec![Value::Int(0), n.clone(), Value::Int(1), Value::Int(-1)]);
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            ("ARRAY_CONCAT", vec![ints(&[1]), ints(&[2, 3])], ints(&[1, 2, 3])),
            ("ARRAY_CONCAT", vec![n.clone(), ints(&[2])], ints(&[2])),
            (
                "ARRAY_CONTAINS",
                vec![ints(&[1, 2]), Value::Int(2)],
                Value::Boolean(true),
            ),
            ("ARRAY_CONTAINS", vec![n.clone(), Value::Int(2)], Value::Boolean(false)),
            ("ARRAY_DISTINCT", vec![ints(&[1, 2, 1, 3, 2])], ints(&[1, 2, 3])),
            ("ARRAY_EXCEPT", vec![ints(&[1, 2, 2, 3]), ints(&[2])], ints(&[1, 3])),
            (
                "ARRAY_INTERSECT",
                vec![ints(&[1, 2, 2, 3]), ints(&[3, 2])],
                ints(&[2, 3]),
            ),
            ("ARRAY_UNION", vec![ints(&[1, 2]), ints(&[2, 3])], ints(&[1, 2, 3])),
            ("ARRAY_UNION", vec![ints(&[1, 2]), n.clone()], n.clone()),
            ("ARRAY_JOIN", vec![ints(&[1, 2])], s("1,2")),
            (
                "ARRAY_JOIN",
                vec![Value::Array(vec![s("a"), s("b")]), s(" | ")],
                s("a | b"),
            ),
            ("ARRAY_LENGTH", vec![ints(&[1, 2])], Value::Int(2)),
            ("ARRAY_MAX", vec![with_null.clone()], Value::Int(1)),
            ("ARRAY_MIN", vec![with_null.clone()], Value::Int(-1)),
            (
                "ARRAY_MAX",
                vec![Value::Array(vec![s("foo"), s("Food"), s("food")])],
                s("food"),
            ),
            ("ARRAY_MIN", vec![Value::Array(vec![])], n.clone()),
            ("ARRAY_REMOVE", vec![ints(&[1, 2, 1]), Value::Int(1)], ints(&[2])),
            (
                "ARRAY_SORT",
                vec![with_null.clone()],
                Value::Array(vec![Value::Int(-1), Value::Int(0), Value::Int(1), n.clone()]),
            ),
            ("ARRAY_SORT", vec![ints(&[1, 3, 2]), s("desc")], ints(&[3, 2, 1])),
            ("ARRAY_SORT", vec![ints(&[1]), s("sideways")], n.clone()),
            ("GENERATE_SERIES", vec![Value::Int(1), Value::Int(3)], ints(&[1, 2, 3])),
            (
                "GENERATE_SERIES",
                vec![Value::Int(3), Value::Int(-3), Value::Int(-3)],
                ints(&[3, 0, -3]),
            ),
            (
                "GENERATE_SERIES",
                vec![Value::BigInt(1), Value::BigInt(2)],
                Value::Array(vec![Value::BigInt(1), Value::BigInt(2)]),
            ),
            (
                "SLICE",
                vec![ints(&[1, 2, 3, 4]), Value::Int(2), Value::Int(3)],
                ints(&[2, 3]),
            ),
            ("SLICE", vec![ints(&[1, 2, 3]), n.clone(), Value::Int(2)], ints(&[1, 2])),
            ("SLICE", vec![ints(&[1, 2, 3]), Value::Int(3), Value::Int(1)], ints(&[])),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
        assert!(call("GENERATE_SERIES", &[Value::Int(1), Value::Int(3), Value::Int(0)]).is_err());
        assert!(call("GENERATE_SERIES", &[Value::Int(1), Value::Int(3), Value::Int(-1)]).is_err());
        assert!(call("GENERATE_SERIES", &[Value::BigInt(0), Value::BigInt(i64::MAX)]).is_err());
    }
}
