//! Regular-expression functions. Patterns use the `regex` crate's syntax, which matches Java's
//! for everything but look-around and back-references (those give an error). Java-style
//! replacement strings (`$1`, `\$`) are translated.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use crate::function::Lambda;
use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value};

const CAT: &str = "REGULAR EXPRESSION";

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func(
            "REGEXP_EXTRACT",
            CAT,
            "The first substring matching a pattern (or the given capture group of it), or NULL \
             when nothing matches.",
            |a, r, l| extract(a, r, l, false),
        )
        .sig(&[("pattern", "VARCHAR"), ("input", "VARCHAR")], "VARCHAR")
        .sig(
            &[("pattern", "VARCHAR"), ("input", "VARCHAR"), ("group", "INT")],
            "VARCHAR",
        ),
    );
    v.push(
        func(
            "REGEXP_EXTRACT_ALL",
            CAT,
            "Every substring matching a pattern (or the given capture group of each match).",
            |a, r, l| extract(a, r, l, true),
        )
        .sig(&[("pattern", "VARCHAR"), ("input", "VARCHAR")], "ARRAY<VARCHAR>")
        .sig(
            &[("pattern", "VARCHAR"), ("input", "VARCHAR"), ("group", "INT")],
            "ARRAY<VARCHAR>",
        ),
    );
    v.push(
        func(
            "REGEXP_REPLACE",
            CAT,
            "Replaces every match of a pattern; the replacement may refer to groups as $1.",
            |a, _, _| {
                let (Some(s), Some(p), Some(rep)) = (arg::str(a, 0)?, arg::str(a, 1)?, arg::str(a, 2)?) else {
                    return Ok(Value::Null);
                };
                let re = compile(p)?;
                let rep = java_replacement(rep)?;
                Ok(Value::String(re.replace_all(s, rep.as_str()).into_owned()))
            },
        )
        .sig(
            &[("input", "VARCHAR"), ("pattern", "VARCHAR"), ("replacement", "VARCHAR")],
            "VARCHAR",
        ),
    );
    v.push(
        func(
            "REGEXP_SPLIT_TO_ARRAY",
            CAT,
            "Splits a string on every match of a pattern; an empty pattern splits into \
             characters.",
            split,
        )
        .sig(&[("input", "VARCHAR"), ("pattern", "VARCHAR")], "ARRAY<VARCHAR>"),
    );
}

thread_local! {
    /// Compiled patterns by text: the same literal pattern is used on every row.
    static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// Compiles `pattern`, reusing earlier compilations on this thread.
pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
    if let Some(re) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re = Regex::new(pattern).map_err(|e| format!("Invalid regular expression pattern: {pattern}: {e}"))?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        // Patterns built from column values could grow the cache without bound.
        if c.len() > 256 {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}

/// Translates a Java replacement (`$1`, `${name}`, `\x` escapes) into the regex crate's form.
fn java_replacement(rep: &str) -> Result<String, String> {
    let mut out = String::with_capacity(rep.len());
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => return Err("character to be escaped is missing".into()),
            },
            '$' => match chars.peek() {
                Some('{') => {
                    out.push('$');
                    for x in chars.by_ref() {
                        out.push(x);
                        if x == '}' {
                            break;
                        }
                    }
                }
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        num.push(*d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                _ => return Err("Illegal group reference in replacement".into()),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

fn extract(a: &[Value], _: &SqlType, _: &[Lambda<'_>], all: bool) -> Result<Value, String> {
    let (Some(p), Some(s)) = (arg::str(a, 0)?, arg::str(a, 1)?) else {
        return Ok(Value::Null);
    };
    let group = if a.len() > 2 {
        match arg::int(a, 2)? {
            Some(g) => g,
            None => return Ok(Value::Null),
        }
    } else {
        0
    };
    let re = compile(p)?;
    let group = usize::try_from(group)
        .ok()
        .filter(|g| *g < re.captures_len())
        .ok_or_else(|| format!("No group {group} in pattern {p}"))?;
    let pick = |caps: regex::Captures<'_>| {
        caps.get(group)
            .map_or(Value::Null, |m| Value::String(m.as_str().to_string()))
    };
    if all {
        Ok(Value::Array(re.captures_iter(s).map(pick).collect()))
    } else {
        Ok(re.captures(s).map_or(Value::Null, pick))
    }
}

fn split(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let (Some(s), Some(p)) = (arg::str(a, 0)?, arg::str(a, 1)?) else {
        return Ok(Value::Null);
    };
    if p.is_empty() {
        return Ok(Value::Array(if s.is_empty() {
            vec![Value::String(String::new())]
        } else {
            s.chars().map(|c| Value::String(c.to_string())).collect()
        }));
    }
    let re = compile(p)?;
    Ok(Value::Array(
        re.split(s).map(|x| Value::String(x.to_string())).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    #[test]
    fn regex_functions() {
        let arr = |v: &[&str]| Value::Array(v.iter().map(|x| s(x)).collect());
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            ("REGEXP_EXTRACT", vec![s("O.*"), s("steven Ostrander")], s("Ostrander")),
            (
                "REGEXP_EXTRACT",
                vec![s("(\\w+) (\\w+)"), s("foo bar"), Value::Int(2)],
                s("bar"),
            ),
            ("REGEXP_EXTRACT", vec![s("x"), s("abc")], Value::Null),
            (
                "REGEXP_EXTRACT_ALL",
                vec![s("\\d+"), s("a1b22c333")],
                arr(&["1", "22", "333"]),
            ),
            (
                "REGEXP_EXTRACT_ALL",
                vec![s("(\\w)(\\d)"), s("a1 b2"), Value::Int(1)],
                arr(&["a", "b"]),
            ),
            ("REGEXP_EXTRACT_ALL", vec![s("z"), s("abc")], arr(&[])),
            (
                "REGEXP_REPLACE",
                vec![s("foobar"), s("(foo)(bar)"), s("$2$1x")],
                s("barfoox"),
            ),
            ("REGEXP_REPLACE", vec![s("a.b"), s("\\."), s("\\$")], s("a$b")),
            (
                "REGEXP_SPLIT_TO_ARRAY",
                vec![s("a1b22c"), s("\\d+")],
                arr(&["a", "b", "c"]),
            ),
            ("REGEXP_SPLIT_TO_ARRAY", vec![s("a,b,"), s(",")], arr(&["a", "b", ""])),
            ("REGEXP_SPLIT_TO_ARRAY", vec![s("ab"), s("")], arr(&["a", "b"])),
            ("REGEXP_SPLIT_TO_ARRAY", vec![Value::Null, s(",")], Value::Null),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
        assert!(call("REGEXP_EXTRACT", &[s("("), s("abc")]).is_err());
        assert!(call("REGEXP_EXTRACT", &[s("a"), s("abc"), Value::Int(3)]).is_err());
    }
}
