//! String functions: case, length, concatenation, trimming, substrings, padding, splitting.
//!
//! Positions and lengths count characters (Unicode scalar values); ksqlDB counts UTF-16
//! units, which only differs for characters outside the Basic Multilingual Plane.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use crate::function::sig::{Builtin, arg, func};
use crate::types::Value;

const CAT: &str = "STRING";

/// The longest result LPAD/RPAD will build.
const MAX_PAD: usize = 1 << 24;

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func("LCASE", CAT, "Converts a string to lower case.", |a, _, _| {
            Ok(str1(a)?.map_or(Value::Null, |s| Value::String(s.to_lowercase())))
        })
        .sig(&[("input", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func("UCASE", CAT, "Converts a string to upper case.", |a, _, _| {
            Ok(str1(a)?.map_or(Value::Null, |s| Value::String(s.to_uppercase())))
        })
        .sig(&[("input", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "LEN",
            CAT,
            "The length of a string in characters, or of bytes in bytes.",
            len,
        )
        .sig(&[("input", "VARCHAR")], "INT")
        .sig(&[("input", "BYTES")], "INT"),
    );
    v.push(
        func(
            "CONCAT",
            CAT,
            "Concatenates strings or bytes; NULL arguments are skipped.",
            concat,
        )
        .variadic(&[("inputs", "VARCHAR")], "VARCHAR")
        .variadic(&[("inputs", "BYTES")], "BYTES")
        .lenient(),
    );
    v.push(
        func(
            "CONCAT_WS",
            CAT,
            "Concatenates strings or bytes with a separator between them; NULL inputs are \
             skipped, a NULL separator gives NULL.",
            concat_ws,
        )
        .variadic(&[("separator", "VARCHAR"), ("inputs", "VARCHAR")], "VARCHAR")
        .variadic(&[("separator", "BYTES"), ("inputs", "BYTES")], "BYTES")
        .lenient(),
    );
    v.push(
        func(
            "TRIM",
            CAT,
            "Removes leading and trailing whitespace and control characters.",
            |a, _, _| {
                // Java's String.trim strips every char up to U+0020, not just whitespace.
                Ok(str1(a)?.map_or(Value::Null, |s| {
                    Value::String(s.trim_matches(|c: char| c <= ' ').to_string())
                }))
            },
        )
        .sig(&[("input", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "SUBSTRING",
            CAT,
            "The part of a string or bytes from a 1-based position (negative counts from the \
             end), optionally of a given length.",
            substring,
        )
        .sig(&[("str", "VARCHAR"), ("pos", "INT")], "VARCHAR")
        .sig(&[("str", "VARCHAR"), ("pos", "INT"), ("length", "INT")], "VARCHAR")
        .sig(&[("bytes", "BYTES"), ("pos", "INT")], "BYTES")
        .sig(&[("bytes", "BYTES"), ("pos", "INT"), ("length", "INT")], "BYTES"),
    );
    v.push(
        func(
            "REPLACE",
            CAT,
            "Replaces every occurrence of a substring with another string.",
            |a, _, _| {
                let (Some(s), Some(from), Some(to)) = (arg::str(a, 0)?, arg::str(a, 1)?, arg::str(a, 2)?) else {
                    return Ok(Value::Null);
                };
                Ok(Value::String(s.replace(from, to)))
            },
        )
        .sig(
            &[("str", "VARCHAR"), ("substring", "VARCHAR"), ("replacement", "VARCHAR")],
            "VARCHAR",
        ),
    );
    v.push(
        func(
            "INSTR",
            CAT,
            "The 1-based position of the n-th occurrence of a substring, searching from a \
             position (negative searches backwards from the end); 0 when not found.",
            instr,
        )
        .sig(&[("str", "VARCHAR"), ("substring", "VARCHAR")], "INT")
        .sig(
            &[("str", "VARCHAR"), ("substring", "VARCHAR"), ("position", "INT")],
            "INT",
        )
        .sig(
            &[
                ("str", "VARCHAR"),
                ("substring", "VARCHAR"),
                ("position", "INT"),
                ("occurrence", "INT"),
            ],
            "INT",
        )
        .lenient(),
    );
    for (name, left) in [("LPAD", true), ("RPAD", false)] {
        let f = if left { lpad } else { rpad };
        v.push(
            func(
                name,
                CAT,
                "Pads a string or bytes with a padding to a target length, truncating longer \
                 input; NULL for an empty padding or a negative length.",
                f,
            )
            .sig(
                &[("input", "VARCHAR"), ("length", "INT"), ("padding", "VARCHAR")],
                "VARCHAR",
            )
            .sig(&[("input", "BYTES"), ("length", "INT"), ("padding", "BYTES")], "BYTES"),
        );
    }
    v.push(
        func(
            "INITCAP",
            CAT,
            "Capitalizes the first letter of each whitespace-delimited word and lower-cases the \
             rest.",
            |a, _, _| Ok(str1(a)?.map_or(Value::Null, |s| Value::String(initcap(s)))),
        )
        .sig(&[("input", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "CHR",
            CAT,
            "The character for a decimal code point, or for a UTF-16 escape like '\\u004b'.",
            chr,
        )
        .sig(&[("decimal_code", "INT")], "VARCHAR")
        .sig(&[("utf16_code", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "ELT",
            CAT,
            "The n-th (1-based) of the string arguments, or NULL when n is out of range.",
            |a, _, _| {
                let Some(n) = arg::int(a, 0)? else {
                    return Ok(Value::Null);
                };
                let rest = a.get(1..).unwrap_or(&[]);
                Ok(match usize::try_from(n) {
                    Ok(i) if i >= 1 && i <= rest.len() => rest[i - 1].clone(),
                    _ => Value::Null,
                })
            },
        )
        .variadic(&[("n", "INT"), ("args", "VARCHAR")], "VARCHAR")
        .lenient(),
    );
    v.push(
        func(
            "FIELD",
            CAT,
            "The 1-based position of a string among the arguments, or 0 when absent or NULL.",
            |a, _, _| {
                let Some(needle) = arg::str(a, 0)? else {
                    return Ok(Value::Int(0));
                };
                let pos = a
                    .iter()
                    .skip(1)
                    .position(|v| v.as_str() == Some(needle))
                    .map_or(0, |p| p as i32 + 1);
                Ok(Value::Int(pos))
            },
        )
        .variadic(&[("str", "VARCHAR"), ("args", "VARCHAR")], "INT")
        .lenient(),
    );
    v.push(
        func(
            "UUID",
            CAT,
            "A random (version 4) UUID, or the UUID held in 16 bytes.",
            uuid,
        )
        .sig(&[], "VARCHAR")
        .sig(&[("bytes", "BYTES")], "VARCHAR"),
    );
    v.push(
        func(
            "SPLIT",
            CAT,
            "Splits a string or bytes on a delimiter; an empty delimiter splits into single \
             characters.",
            split,
        )
        .sig(&[("input", "VARCHAR"), ("delimiter", "VARCHAR")], "ARRAY<VARCHAR>")
        .sig(&[("input", "BYTES"), ("delimiter", "BYTES")], "ARRAY<BYTES>"),
    );
    v.push(
        func(
            "SPLIT_TO_MAP",
            CAT,
            "Splits a string into entries on one delimiter and each entry into key and value \
             on another; later keys win.",
            split_to_map,
        )
        .sig(
            &[
                ("input", "VARCHAR"),
                ("entry_delimiter", "VARCHAR"),
                ("kv_delimiter", "VARCHAR"),
            ],
            "MAP<VARCHAR, VARCHAR>",
        ),
    );
}

fn str1(a: &[Value]) -> Result<Option<&str>, String> {
    arg::str(a, 0)
}

fn len(a: &[Value], _: &crate::types::SqlType, _: &[crate::function::Lambda<'_>]) -> Result<Value, String> {
    Ok(match arg::get(a, 0) {
        Value::String(s) => Value::Int(s.chars().count() as i32),
        Value::Bytes(b) => Value::Int(b.len() as i32),
        _ => Value::Null,
    })
}

type Ret = crate::types::SqlType;
type Lambdas<'a, 'b> = &'a [crate::function::Lambda<'b>];

fn concat(a: &[Value], ret: &Ret, _: Lambdas) -> Result<Value, String> {
    if *ret == Ret::Bytes {
        let mut out = Vec::new();
        for v in a {
            if let Value::Bytes(b) = v {
                out.extend_from_slice(b);
            }
        }
        return Ok(Value::Bytes(out));
    }
    Ok(Value::String(
        a.iter().filter_map(Value::as_str).collect::<Vec<_>>().concat(),
    ))
}

fn concat_ws(a: &[Value], _: &Ret, _: Lambdas) -> Result<Value, String> {
    match arg::get(a, 0) {
        Value::String(sep) => Ok(Value::String(
            a[1..].iter().filter_map(Value::as_str).collect::<Vec<_>>().join(sep),
        )),
        Value::Bytes(sep) => {
            let parts: Vec<&[u8]> = a[1..]
                .iter()
                .filter_map(|v| match v {
                    Value::Bytes(b) => Some(b.as_slice()),
                    _ => None,
                })
                .collect();
            Ok(Value::Bytes(parts.join(sep.as_slice())))
        }
        _ => Ok(Value::Null),
    }
}

/// ksqlDB's substring bounds: a position of 0 or 1 is the start, negative counts from the end,
/// and out-of-range bounds clamp rather than fail.
fn substring_range(len: usize, pos: i64, length: Option<i64>) -> (usize, usize) {
    let len_i = len as i64;
    let start = if pos >= 0 {
        (pos - 1).clamp(0, len_i)
    } else {
        (len_i + pos).max(0)
    };
    let end = match length {
        Some(l) => start.max((start.saturating_add(l)).min(len_i)),
        None => len_i,
    };
    (start as usize, end as usize)
}

fn substring(a: &[Value], _: &Ret, _: Lambdas) -> Result<Value, String> {
    let Some(pos) = arg::int(a, 1)? else {
        return Ok(Value::Null);
    };
    let length = if a.len() > 2 {
        match arg::int(a, 2)? {
            Some(l) => Some(l),
            None => return Ok(Value::Null),
        }
    } else {
        None
    };
    Ok(match arg::get(a, 0) {
        Value::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            let (start, end) = substring_range(chars.len(), pos, length);
            Value::String(chars[start..end].iter().collect())
        }
        Value::Bytes(b) => {
            let (start, end) = substring_range(b.len(), pos, length);
            Value::Bytes(b[start..end].to_vec())
        }
        _ => Value::Null,
    })
}

fn instr(a: &[Value], _: &Ret, _: Lambdas) -> Result<Value, String> {
    let (Some(s), Some(sub)) = (arg::str(a, 0)?, arg::str(a, 1)?) else {
        return Ok(Value::Int(0));
    };
    let position = if a.len() > 2 { arg::int(a, 2)? } else { Some(1) };
    let occurrence = if a.len() > 3 { arg::int(a, 3)? } else { Some(1) };
    let (Some(position), Some(occurrence)) = (position, occurrence) else {
        return Ok(Value::Null);
    };
    let chars: Vec<char> = s.chars().collect();
    let needle: Vec<char> = sub.chars().collect();
    let n = chars.len() as i64;
    if position.unsigned_abs() > n as u64 || occurrence < 1 {
        return Ok(Value::Int(0));
    }
    // A negative position searches the reversed string, as ksqlDB does, so occurrences are
    // counted from the end.
    let (hay, pat, from) = if position < 0 {
        let mut h = chars.clone();
        h.reverse();
        let mut p = needle.clone();
        p.reverse();
        (h, p, (-position - 1) as usize)
    } else {
        (chars.clone(), needle.clone(), (position - 1).max(0) as usize)
    };
    let mut found = 0;
    let mut i = from;
    while i + pat.len() <= hay.len() {
        if hay[i..i + pat.len()] == pat[..] {
            found += 1;
            if found == occurrence {
                let pos = if position < 0 {
                    n - i as i64 - pat.len() as i64 + 1
                } else {
                    i as i64 + 1
                };
                return Ok(Value::Int(pos as i32));
            }
        }
        i += 1;
    }
    Ok(Value::Int(0))
}

fn pad(a: &[Value], left: bool) -> Result<Value, String> {
    let Some(target) = arg::int(a, 1)? else {
        return Ok(Value::Null);
    };
    let Ok(target) = usize::try_from(target) else {
        return Ok(Value::Null);
    };
    // A huge target length from a column value must not exhaust memory.
    if target > MAX_PAD {
        return Err(format!("target length {target} exceeds the limit of {MAX_PAD}"));
    }
    match (arg::get(a, 0), arg::get(a, 2)) {
        (Value::String(s), Value::String(p)) if !p.is_empty() => {
            let input: Vec<char> = s.chars().collect();
            let fill: Vec<char> = p.chars().cycle().take(target.saturating_sub(input.len())).collect();
            let out: String = if left {
                fill.iter().chain(input.iter()).take(target).collect()
            } else {
                input.iter().chain(fill.iter()).take(target).collect()
            };
            Ok(Value::String(out))
        }
        (Value::Bytes(s), Value::Bytes(p)) if !p.is_empty() => {
            let fill: Vec<u8> = p.iter().copied().cycle().take(target.saturating_sub(s.len())).collect();
            let out: Vec<u8> = if left {
                fill.iter().chain(s.iter()).take(target).copied().collect()
            } else {
                s.iter().chain(fill.iter()).take(target).copied().collect()
            };
            Ok(Value::Bytes(out))
        }
        _ => Ok(Value::Null),
    }
}

fn lpad(a: &[Value], _: &Ret, _: Lambdas) -> Result<Value, String> {
    pad(a, true)
}

fn rpad(a: &[Value], _: &Ret, _: Lambdas) -> Result<Value, String> {
    pad(a, false)
}

/// Upper-cases the first character of each word, lower-cases the rest; leading whitespace is
/// dropped, as ksqlDB only keeps whitespace that follows a word.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    let mut seen_word = false;
    for c in s.to_lowercase().chars() {
        if c.is_whitespace() {
            if seen_word {
                out.push(c);
            }
            at_word_start = true;
        } else {
            if at_word_start {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            at_word_start = false;
            seen_word = true;
        }
    }
    out
}

fn chr(a: &[Value], _: &Ret, _: Lambdas) -> Result<Value, String> {
    Ok(match arg::get(a, 0) {
        Value::Int(code) => u32::try_from(*code)
            .ok()
            .and_then(char::from_u32)
            .map_or(Value::Null, |c| Value::String(c.to_string())),
        Value::String(s) => unescape_utf16(s).map_or(Value::Null, Value::String),
        _ => Value::Null,
    })
}

/// Decodes `\uXXXX` escapes (surrogate pairs included); NULL for text that does not start with
/// one, as ksqlDB's CHR(VARCHAR) requires.
fn unescape_utf16(s: &str) -> Option<String> {
    if s.len() < 6 || !s.starts_with("\\u") {
        return None;
    }
    let mut units = Vec::new();
    let mut rest = s;
    while let Some(r) = rest.strip_prefix("\\u") {
        let hex = r.get(..4)?;
        units.push(u16::from_str_radix(hex, 16).ok()?);
        rest = &r[4..];
    }
    let mut out: String = char::decode_utf16(units.iter().copied())
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    out.push_str(rest);
    Some(out)
}

/// 64 random bits from the standard library's per-process random hash keys: good enough for
/// UUIDs and RANDOM() without a random-number crate.
pub(super) fn random_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish()
}

fn format_uuid(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn uuid(a: &[Value], _: &Ret, _: Lambdas) -> Result<Value, String> {
    if a.is_empty() {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&random_u64().to_be_bytes());
        b[8..].copy_from_slice(&random_u64().to_be_bytes());
        b[6] = (b[6] & 0x0f) | 0x40; // version 4
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
        return Ok(Value::String(format_uuid(&b)));
    }
    Ok(match arg::bytes(a, 0)? {
        Some(b) if b.len() == 16 => Value::String(format_uuid(b)),
        _ => Value::Null,
    })
}

/// Splits `hay` on `sep`, keeping empty pieces (Guava's Splitter semantics).
fn split_bytes<'a>(hay: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= hay.len() {
        if &hay[i..i + sep.len()] == sep {
            out.push(&hay[start..i]);
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&hay[start..]);
    out
}

fn split(a: &[Value], _: &Ret, _: Lambdas) -> Result<Value, String> {
    Ok(match (arg::get(a, 0), arg::get(a, 1)) {
        (Value::String(s), Value::String(d)) => {
            let parts: Vec<Value> = if d.is_empty() {
                if s.is_empty() {
                    vec![Value::String(String::new())]
                } else {
                    s.chars().map(|c| Value::String(c.to_string())).collect()
                }
            } else {
                s.split(d.as_str()).map(|p| Value::String(p.to_string())).collect()
            };
            Value::Array(parts)
        }
        (Value::Bytes(s), Value::Bytes(d)) => {
            let parts: Vec<Value> = if d.is_empty() {
                s.iter().map(|b| Value::Bytes(vec![*b])).collect()
            } else {
                split_bytes(s, d)
                    .into_iter()
                    .map(|p| Value::Bytes(p.to_vec()))
                    .collect()
            };
            Value::Array(parts)
        }
        _ => Value::Null,
    })
}

fn split_to_map(a: &[Value], _: &Ret, _: Lambdas) -> Result<Value, String> {
    let (Some(s), Some(entry), Some(kv)) = (arg::str(a, 0)?, arg::str(a, 1)?, arg::str(a, 2)?) else {
        return Ok(Value::Null);
    };
    if entry.is_empty() || kv.is_empty() || entry == kv {
        return Ok(Value::Null);
    }
    let mut out: Vec<(Value, Value)> = Vec::new();
    for e in s.split(entry).filter(|e| !e.is_empty()) {
        let mut parts = e.split(kv);
        let (Some(k), Some(v)) = (parts.next(), parts.next()) else {
            continue;
        };
        let key = Value::String(k.to_string());
        let val = Value::String(v.to_string());
        match out.iter_mut().find(|(ek, _)| *ek == key) {
            Some(slot) => slot.1 = val,
            None => out.push((key, val)),
        }
    }
    Ok(Value::Map(out))
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    #[test]
    fn string_functions_match_ksqldb() {
        let arr = |v: &[&str]| Value::Array(v.iter().map(|x| s(x)).collect());
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            ("LCASE", vec![s("FoO")], s("foo")),
            ("UCASE", vec![s("FoO")], s("FOO")),
            ("UCASE", vec![Value::Null], Value::Null),
            ("LEN", vec![s("héllo")], Value::Int(5)),
            ("LEN", vec![Value::Bytes(vec![1, 2])], Value::Int(2)),
            ("CONCAT", vec![s("a"), Value::Null, s("b")], s("ab")),
            ("CONCAT_WS", vec![s(", "), s("a"), Value::Null, s("b")], s("a, b")),
            ("CONCAT_WS", vec![Value::Null, s("a")], Value::Null),
            ("TRIM", vec![s("  a b \t")], s("a b")),
            (
                "SUBSTRING",
                vec![s("Mr Bugalicious"), Value::Int(2), Value::Int(1)],
                s("r"),
            ),
            ("SUBSTRING", vec![s("one"), Value::Int(0), Value::Int(1)], s("o")),
            ("SUBSTRING", vec![s("zb"), Value::Int(2)], s("b")),
            ("SUBSTRING", vec![s("hello"), Value::Int(-3)], s("llo")),
            ("SUBSTRING", vec![s("hello"), Value::Int(-3), Value::Int(2)], s("ll")),
            ("SUBSTRING", vec![s("hello"), Value::Int(10)], s("")),
            ("SUBSTRING", vec![s("hello"), Value::Int(2), Value::Int(-1)], s("")),
            ("SUBSTRING", vec![s("hello"), Value::Null], Value::Null),
            ("REPLACE", vec![s("abcabc"), s("b"), s("XX")], s("aXXcaXXc")),
            ("INSTR", vec![s("corporate floor"), s("or")], Value::Int(2)),
            (
                "INSTR",
                vec![s("should I stay or should I go"), s("or")],
                Value::Int(15),
            ),
            ("INSTR", vec![s("no substring"), s("or")], Value::Int(0)),
            (
                "INSTR",
                vec![s("corporate floor"), s("or"), Value::Int(-4)],
                Value::Int(5),
            ),
            (
                "INSTR",
                vec![s("corporate floor"), s("or"), Value::Int(-4), Value::Int(2)],
                Value::Int(2),
            ),
            (
                "INSTR",
                vec![s("corporate floor"), s("or"), Value::Int(4)],
                Value::Int(5),
            ),
            (
                "INSTR",
                vec![s("corporate floor"), s("or"), Value::Int(4), Value::Int(2)],
                Value::Int(14),
            ),
            ("INSTR", vec![s("short"), s("or"), Value::Int(4)], Value::Int(0)),
            ("INSTR", vec![s("short"), s("or"), Value::Int(-4)], Value::Int(0)),
            ("LPAD", vec![s("foo"), Value::Int(7), s("Bar")], s("BarBfoo")),
            ("LPAD", vec![s("foo"), Value::Int(2), s("Bar")], s("fo")),
            ("LPAD", vec![s("foo"), Value::Int(5), s("")], Value::Null),
            ("LPAD", vec![s("foo"), Value::Int(-1), s("x")], Value::Null),
            ("RPAD", vec![s("foo"), Value::Int(7), s("Bar")], s("fooBarB")),
            (
                "RPAD",
                vec![Value::Bytes(vec![1]), Value::Int(3), Value::Bytes(vec![9])],
                Value::Bytes(vec![1, 9, 9]),
            ),
            ("INITCAP", vec![s("  the QUICK  brown")], s("The Quick  Brown")),
            ("CHR", vec![Value::Int(75)], s("K")),
            ("CHR", vec![Value::Int(-1)], Value::Null),
            ("CHR", vec![s("\\u004b")], s("K")),
            ("CHR", vec![s("75")], Value::Null),
            ("ELT", vec![Value::Int(2), s("a"), s("b")], s("b")),
            ("ELT", vec![Value::Int(3), s("a"), s("b")], Value::Null),
            ("FIELD", vec![s("b"), s("a"), s("b")], Value::Int(2)),
            ("FIELD", vec![Value::Null, s("a")], Value::Int(0)),
            (
                "UUID",
                vec![Value::Bytes((0..16).collect())],
                s("00010203-0405-0607-0809-0a0b0c0d0e0f"),
            ),
            ("UUID", vec![Value::Bytes(vec![1])], Value::Null),
            ("SPLIT", vec![s("a,b,,c"), s(",")], arr(&["a", "b", "", "c"])),
            ("SPLIT", vec![s("abc"), s("")], arr(&["a", "b", "c"])),
            ("SPLIT", vec![s(""), s(",")], arr(&[""])),
            (
                "SPLIT_TO_MAP",
                vec![s("a=1;b=2;;c;a=3"), s(";"), s("=")],
                Value::Map(vec![(s("a"), s("3")), (s("b"), s("2"))]),
            ),
            ("SPLIT_TO_MAP", vec![s("a=1"), s("="), s("=")], Value::Null),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
    }

    #[test]
    fn uuid_is_random_v4() {
        let (Ok(Value::String(a)), Ok(Value::String(b))) = (call("UUID", &[]), call("UUID", &[])) else {
            panic!("UUID must return strings");
        };
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
