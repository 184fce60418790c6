//! Map functions.

use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value};

const CAT: &str = "MAP";

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func(
            "AS_MAP",
            CAT,
            "Builds a map from a key array and a value array, pairing by position; keys beyond \
             the values are dropped.",
            |a, _, _| {
                let (Some(keys), Some(vals)) = (arg::array(a, 0)?, arg::array(a, 1)?) else {
                    return Ok(Value::Null);
                };
                let mut out: Vec<(Value, Value)> = Vec::new();
                for (k, v) in keys.iter().zip(vals) {
                    match out.iter_mut().find(|(ok, _)| ok == k) {
                        Some(slot) => slot.1 = v.clone(),
                        None => out.push((k.clone(), v.clone())),
                    }
                }
                Ok(Value::Map(out))
            },
        )
        .sig(&[("keys", "ARRAY<VARCHAR>"), ("values", "ARRAY<T>")], "MAP<VARCHAR, T>"),
    );
    v.push(
        func("MAP_KEYS", CAT, "The keys of a map.", |a, _, _| {
            Ok(arg::map(a, 0)?.map_or(Value::Null, |m| {
                Value::Array(m.iter().map(|(k, _)| k.clone()).collect())
            }))
        })
        .sig(&[("map", "MAP<K, V>")], "ARRAY<K>"),
    );
    v.push(
        func("MAP_VALUES", CAT, "The values of a map.", |a, _, _| {
            Ok(arg::map(a, 0)?.map_or(Value::Null, |m| {
                Value::Array(m.iter().map(|(_, v)| v.clone()).collect())
            }))
        })
        .sig(&[("map", "MAP<K, V>")], "ARRAY<V>"),
    );
    v.push(
        func(
            "MAP_UNION",
            CAT,
            "Merges two maps; the second map's values win. A NULL map counts as empty unless \
             both are NULL.",
            |a, _, _| {
                let (x, y) = (arg::map(a, 0)?, arg::map(a, 1)?);
                if x.is_none() && y.is_none() {
                    return Ok(Value::Null);
                }
                let mut out: Vec<(Value, Value)> = x.unwrap_or(&[]).to_vec();
                for (k, v) in y.unwrap_or(&[]) {
                    match out.iter_mut().find(|(ok, _)| ok == k) {
                        Some(slot) => slot.1 = v.clone(),
                        None => out.push((k.clone(), v.clone())),
                    }
                }
                Ok(Value::Map(out))
            },
        )
        .sig(&[("first", "MAP<K, V>"), ("second", "MAP<K, V>")], "MAP<K, V>")
        .lenient(),
    );
    v.push(
        func(
            "ENTRIES",
            CAT,
            "The entries of a map as an array of STRUCT<K, V>, optionally sorted by key.",
            |a, _, _| {
                let Some(m) = arg::map(a, 0)? else {
                    return Ok(Value::Null);
                };
                let mut entries = m.to_vec();
                if a.get(1).and_then(Value::as_bool) == Some(true) {
                    entries.sort_by(|x, y| x.0.sql_cmp(&y.0).unwrap_or(std::cmp::Ordering::Equal));
                }
                Ok(Value::Array(
                    entries
                        .into_iter()
                        .map(|(k, v)| Value::Struct(vec![("K".into(), k), ("V".into(), v)]))
                        .collect(),
                ))
            },
        )
        .sig_with(
            &[("map", "MAP<VARCHAR, T>"), ("sorted", "BOOLEAN")],
            "ARRAY<STRUCT<K VARCHAR, V T>>",
            entries_type,
        ),
    );
}

fn entries_type(args: &[Option<SqlType>]) -> Result<SqlType, String> {
    match args.first() {
        Some(Some(SqlType::Map(_, v))) => Ok(SqlType::Array(Box::new(SqlType::Struct(vec![
            ("K".into(), SqlType::String),
            ("V".into(), (**v).clone()),
        ])))),
        _ => Err("Cannot infer the return type of ENTRIES from a NULL map; cast it".into()),
    }
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    #[test]
    fn map_functions() {
        let n = Value::Null;
        let m = |e: &[(&str, i32)]| Value::Map(e.iter().map(|(k, v)| (s(k), Value::Int(*v))).collect());
        let ints = |v: &[i32]| Value::Array(v.iter().map(|x| Value::Int(*x)).collect());
        let keys = |v: &[&str]| Value::Array(v.iter().map(|x| s(x)).collect());
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            (
                "AS_MAP",
                vec![keys(&["a", "b"]), ints(&[1, 2, 3])],
                m(&[("a", 1), ("b", 2)]),
            ),
            (
                "AS_MAP",
                vec![keys(&["a", "b", "c"]), ints(&[1, 2])],
                m(&[("a", 1), ("b", 2)]),
            ),
            ("MAP_KEYS", vec![m(&[("b", 1), ("a", 2)])], keys(&["b", "a"])),
            ("MAP_VALUES", vec![m(&[("b", 1), ("a", 2)])], ints(&[1, 2])),
            (
                "MAP_UNION",
                vec![m(&[("a", 1), ("b", 2)]), m(&[("b", 3), ("c", 4)])],
                m(&[("a", 1), ("b", 3), ("c", 4)]),
            ),
            ("MAP_UNION", vec![n.clone(), m(&[("c", 4)])], m(&[("c", 4)])),
            ("MAP_KEYS", vec![Value::Map(vec![])], Value::Array(vec![])),
            (
                "ENTRIES",
                vec![m(&[("b", 1), ("a", 2)]), Value::Boolean(true)],
                Value::Array(vec![
                    Value::Struct(vec![("K".into(), s("a")), ("V".into(), Value::Int(2))]),
                    Value::Struct(vec![("K".into(), s("b")), ("V".into(), Value::Int(1))]),
                ]),
            ),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
        let reg = crate::function::FunctionRegistry::new();
        let keys = reg.scalar("MAP_KEYS").unwrap();
        let ret = crate::types::SqlType::Array(Box::new(crate::types::SqlType::String));
        assert_eq!(keys.invoke(std::slice::from_ref(&n), &ret, &[]), Ok(n));
    }
}
