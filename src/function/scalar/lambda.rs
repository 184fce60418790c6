//! Higher-order functions taking lambdas: TRANSFORM, FILTER and REDUCE over arrays and maps.

use crate::function::Lambda;
use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value};

const CAT: &str = "LAMBDA";

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func(
            "TRANSFORM",
            CAT,
            "Applies a lambda to each array element, or two lambdas to each map key and value.",
            transform,
        )
        .sig(&[("array", "ARRAY<T>"), ("function", "LAMBDA<T, R>")], "ARRAY<R>")
        .sig(
            &[
                ("map", "MAP<K, V>"),
                ("key_function", "LAMBDA<K, V, KR>"),
                ("value_function", "LAMBDA<K, V, VR>"),
            ],
            "MAP<KR, VR>",
        )
        .lenient(),
    );
    v.push(
        func(
            "FILTER",
            CAT,
            "Keeps the array elements, or map entries, for which a lambda is true.",
            filter,
        )
        .sig(
            &[("array", "ARRAY<T>"), ("predicate", "LAMBDA<T, BOOLEAN>")],
            "ARRAY<T>",
        )
        .sig(
            &[("map", "MAP<K, V>"), ("predicate", "LAMBDA<K, V, BOOLEAN>")],
            "MAP<K, V>",
        )
        .lenient(),
    );
    v.push(
        func(
            "REDUCE",
            CAT,
            "Folds an array's elements, or a map's entries, into a state with a lambda, \
             starting from an initial state.",
            reduce,
        )
        .sig(
            &[("array", "ARRAY<T>"), ("initial", "S"), ("function", "LAMBDA<S, T, S>")],
            "S",
        )
        .sig(
            &[
                ("map", "MAP<K, V>"),
                ("initial", "S"),
                ("function", "LAMBDA<S, K, V, S>"),
            ],
            "S",
        )
        .lenient(),
    );
}

fn transform(a: &[Value], _: &SqlType, l: &[Lambda<'_>]) -> Result<Value, String> {
    match arg::get(a, 0) {
        Value::Array(items) => Ok(Value::Array(
            items
                .iter()
                .map(|v| arg::call(l, 0, std::slice::from_ref(v)))
                .collect::<Result<_, _>>()?,
        )),
        Value::Map(entries) => {
            let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let pair = [k.clone(), v.clone()];
                let nk = arg::call(l, 0, &pair)?;
                let nv = arg::call(l, 1, &pair)?;
                // Two keys may transform to the same key: the later entry wins.
                match out.iter_mut().find(|(ok, _)| *ok == nk) {
                    Some(slot) => slot.1 = nv,
                    None => out.push((nk, nv)),
                }
            }
            Ok(Value::Map(out))
        }
        _ => Ok(Value::Null),
    }
}

fn filter(a: &[Value], _: &SqlType, l: &[Lambda<'_>]) -> Result<Value, String> {
    // A NULL predicate result drops the element, as a WHERE clause would.
    let keep = |args: &[Value]| -> Result<bool, String> { Ok(arg::call(l, 0, args)?.as_bool() == Some(true)) };
    match arg::get(a, 0) {
        Value::Array(items) => {
            let mut out = Vec::new();
            for v in items {
                if keep(std::slice::from_ref(v))? {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Value::Map(entries) => {
            let mut out = Vec::new();
            for (k, v) in entries {
                if keep(&[k.clone(), v.clone()])? {
                    out.push((k.clone(), v.clone()));
                }
            }
            Ok(Value::Map(out))
        }
        _ => Ok(Value::Null),
    }
}

fn reduce(a: &[Value], _: &SqlType, l: &[Lambda<'_>]) -> Result<Value, String> {
    let mut state = arg::get(a, 1).clone();
    if state.is_null() {
        return Ok(Value::Null);
    }
    // A NULL collection leaves the initial state, as ksqlDB does.
    match arg::get(a, 0) {
        Value::Array(items) => {
            for v in items {
                state = arg::call(l, 0, &[state, v.clone()])?;
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                state = arg::call(l, 0, &[state, k.clone(), v.clone()])?;
            }
        }
        _ => {}
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use crate::function::FunctionRegistry;
    use crate::types::{SqlType, Value};

    fn ints(v: &[i32]) -> Value {
        Value::Array(v.iter().map(|x| Value::Int(*x)).collect())
    }

    #[test]
    fn binds_lambda_types() {
        let reg = FunctionRegistry::new();
        let t = reg.scalar("TRANSFORM").unwrap();
        let arr = Some(SqlType::Array(Box::new(SqlType::Int)));
        assert_eq!(t.lambda_params(&[arr.clone(), None], 1), Some(vec![SqlType::Int]));
        assert_eq!(
            t.return_type(&[arr.clone(), Some(SqlType::String)]),
            Ok(SqlType::Array(Box::new(SqlType::String)))
        );
        let r = reg.scalar("REDUCE").unwrap();
        let map = Some(SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)));
        assert_eq!(
            r.lambda_params(&[map.clone(), Some(SqlType::BigInt), None], 2),
            Some(vec![SqlType::BigInt, SqlType::String, SqlType::Int])
        );
        assert_eq!(
            r.return_type(&[map, Some(SqlType::Int), Some(SqlType::BigInt)]),
            Ok(SqlType::BigInt)
        );
        let f = reg.scalar("FILTER").unwrap();
        assert!(f.return_type(&[arr, Some(SqlType::Int)]).is_err());
    }

    #[test]
    fn invokes_lambdas() {
        let reg = FunctionRegistry::new();
        let ret = SqlType::Array(Box::new(SqlType::Int));
        let double = |a: &[Value]| Ok(Value::Int(a[0].as_i64().unwrap_or(0) as i32 * 2));
        let t = reg.scalar("TRANSFORM").unwrap();
        assert_eq!(
            t.invoke(&[ints(&[1, 2]), Value::Null], &ret, &[&double]),
            Ok(ints(&[2, 4]))
        );
        assert_eq!(t.invoke(&[Value::Null, Value::Null], &ret, &[&double]), Ok(Value::Null));
        let odd = |a: &[Value]| Ok(Value::Boolean(a[0].as_i64().unwrap_or(0) % 2 == 1));
        let f = reg.scalar("FILTER").unwrap();
        assert_eq!(
            f.invoke(&[ints(&[1, 2, 3]), Value::Null], &ret, &[&odd]),
            Ok(ints(&[1, 3]))
        );
        let sum = |a: &[Value]| {
            Ok(Value::Int(
                (a[0].as_i64().unwrap_or(0) + a[1].as_i64().unwrap_or(0)) as i32,
            ))
        };
        let r = reg.scalar("REDUCE").unwrap();
        assert_eq!(
            r.invoke(&[ints(&[1, 2, 3]), Value::Int(5), Value::Null], &SqlType::Int, &[&sum]),
            Ok(Value::Int(11))
        );
        assert_eq!(
            r.invoke(&[Value::Null, Value::Int(5), Value::Null], &SqlType::Int, &[&sum]),
            Ok(Value::Int(5))
        );
        let failing = |_: &[Value]| Err("boom".to_string());
        assert!(t.invoke(&[ints(&[1]), Value::Null], &ret, &[&failing]).is_err());
    }
}
