//! JSON record bytes → column builders, with ksqlDB's coercions and error messages.
//!
//! An object is read in two passes: the first walks its keys once, remembering where the
//! value of each wanted field starts (an exact-case match beats an upper-cased one, and a
//! later duplicate beats an earlier one, as Jackson's tree does); the second converts only
//! those values, straight into the builders.

use base64::Engine;

use super::builder::{ColumnBuilder, Data};
use super::json_lex::{Kind, Lexer};
use super::number;
use super::{BASE64, RowOutcome};
use crate::types::SqlType;

/// How deep an array read into a STRING may nest (guards the stack).
const MAX_STRINGIFY_DEPTH: usize = 256;

/// Why a value could not be read.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The bytes are not JSON.
    Syntax(String),
    /// The JSON does not fit the column type; `path` is ksqlDB's `$.A[0]` form.
    Coerce { msg: String, path: String },
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail::Syntax(s)
    }
}

impl Fail {
    fn coerce(msg: impl Into<String>) -> Self {
        Fail::Coerce {
            msg: msg.into(),
            path: String::new(),
        }
    }

    /// Prefixes the path with the step taken to reach the failing value.
    fn under(self, step: impl FnOnce() -> String) -> Self {
        match self {
            Fail::Coerce { msg, path } => Fail::Coerce {
                msg,
                path: step() + &path,
            },
            s => s,
        }
    }

    /// The message as ksqlDB words it.
    pub fn message(self) -> String {
        match self {
            Fail::Syntax(m) => m,
            Fail::Coerce { msg, path } => format!("{msg}, path: ${path}"),
        }
    }
}

type R = Result<(), Fail>;

/// Decodes one JSON record into `cols` (one builder per column, each getting exactly one
/// row unless an error is returned). `unwrapped`: the bare value is the only column.
pub(crate) fn decode_record(
    cols: &mut [ColumnBuilder],
    names: &[String],
    unwrapped: bool,
    bytes: &[u8],
    scratch: &mut Vec<usize>,
) -> Result<RowOutcome, String> {
    let mut lx = Lexer::new(bytes);
    scratch.clear();
    // Empty bytes read as no value, as Jackson's readTree does.
    if lx.at_end() {
        return Ok(RowOutcome::Null);
    }
    if lx.peek_kind()? == Kind::Null {
        lx.read_null()?;
        lx.expect_end()?;
        return Ok(RowOutcome::Null);
    }
    let result = match cols {
        [only] if unwrapped => read_value(only, &mut lx, scratch),
        _ => match lx.peek_kind()? {
            Kind::Object => read_fields(cols, |i| names.get(i).map_or("", String::as_str), &mut lx, scratch),
            kind => {
                let ty = SqlType::Struct(
                    names
                        .iter()
                        .zip(cols.iter())
                        .map(|(n, c)| (n.clone(), c.ty.clone()))
                        .collect(),
                );
                Err(invalid(&mut lx, kind, &ty.to_string()))
            }
        },
    };
    result.map_err(Fail::message)?;
    lx.expect_end()?;
    Ok(RowOutcome::Present)
}

/// Reads an object into one builder per field (`name(i)` names field `i`), matching keys
/// as ksqlDB does; fields the object lacks become NULL. `scratch` holds the value offsets
/// found by the first pass, in a region this call pushes and pops, so nested structs share
/// one allocation.
fn read_fields<'n>(
    cols: &mut [ColumnBuilder],
    name: impl Fn(usize) -> &'n str,
    lx: &mut Lexer<'_>,
    scratch: &mut Vec<usize>,
) -> R {
    const NONE: usize = usize::MAX;
    let n = cols.len();
    // scratch[base + i]: exact-case match of field i; scratch[base + n + i]: the key that
    // upper-cases to it. Both are kept: ksqlDB falls back to the second when the first is
    // missing, so one key may feed two columns (`id` and `ID`).
    let base = scratch.len();
    scratch.resize(base + 2 * n, NONE);
    lx.begin_object()?;
    let mut first = true;
    let (mut exact_hint, mut upper_hint) = (0, 0);
    while let Some(key) = lx.next_key(&mut first)? {
        let at = lx.value_pos();
        // Keys usually come in column order: start looking after the previous match.
        let exact = find_from(n, exact_hint, |i| name(i) == key);
        if let Some(i) = exact {
            scratch[base + i] = at;
            exact_hint = i + 1;
        }
        // An exact match of a key with no lower case is also its upper-cased match.
        if (exact.is_none() || key.bytes().any(|c| !c.is_ascii() || c.is_ascii_lowercase()))
            && let Some(i) = find_upper(n, upper_hint, &name, &key)
        {
            scratch[base + n + i] = at;
            upper_hint = i + 1;
        }
        lx.skip_value()?;
    }
    let buf = lx.buf();
    for (i, col) in cols.iter_mut().enumerate() {
        let at = match scratch[base + i] {
            NONE => scratch[base + n + i],
            at => at,
        };
        if at == NONE {
            col.push_null();
        } else {
            read_value(col, &mut Lexer::at(buf, at), scratch).map_err(|e| e.under(|| format!(".{}", name(i))))?;
        }
    }
    scratch.truncate(base);
    Ok(())
}

/// The first `i` in `0..n`, starting at `hint` and wrapping around, with `hit(i)`.
fn find_from(n: usize, hint: usize, hit: impl Fn(usize) -> bool) -> Option<usize> {
    (0..n).map(|k| (hint + k) % n).find(|&i| hit(i))
}

/// The field whose name equals `key` upper-cased (Java's `toUpperCase`), if any.
fn find_upper<'n>(n: usize, hint: usize, name: &impl Fn(usize) -> &'n str, key: &str) -> Option<usize> {
    if key.is_ascii() {
        find_from(n, hint, |i| {
            let f = name(i);
            f.len() == key.len() && f.bytes().zip(key.bytes()).all(|(a, b)| a == b.to_ascii_uppercase())
        })
    } else {
        let upper = key.to_uppercase();
        find_from(n, hint, |i| name(i) == upper)
    }
}

/// "Can't convert type" for the value at the cursor.
fn invalid(lx: &mut Lexer<'_>, kind: Kind, required: &str) -> Fail {
    let source = match kind {
        Kind::Null => "NullNode",
        Kind::Bool => "BooleanNode",
        Kind::Int | Kind::Float => match lx.read_number() {
            Ok(n) => n.node_name(),
            Err(e) => return Fail::Syntax(e),
        },
        Kind::Str => "TextNode",
        Kind::Object => "ObjectNode",
        Kind::Array => "ArrayNode",
    };
    Fail::coerce(format!(
        "Can't convert type. sourceType: {source}, requiredType: {required}"
    ))
}

/// Reads one value of any kind into `b`, coercing it to the builder's type.
fn read_value(b: &mut ColumnBuilder, lx: &mut Lexer<'_>, scratch: &mut Vec<usize>) -> R {
    let kind = lx.peek_kind()?;
    if kind == Kind::Null {
        lx.read_null()?;
        b.push_null();
        return Ok(());
    }
    match (&b.ty, kind) {
        (SqlType::Boolean, Kind::Bool) => {
            let v = lx.read_bool()?;
            b.push_bool(v);
        }
        (
            SqlType::Int
            | SqlType::BigInt
            | SqlType::Timestamp
            | SqlType::Date
            | SqlType::Time
            | SqlType::Double
            | SqlType::Decimal { .. },
            Kind::Int | Kind::Float,
        ) => {
            let n = lx.read_number()?;
            push_number(b, n.text)?;
        }
        (SqlType::String, Kind::Int | Kind::Float) => {
            let n = lx.read_number()?;
            b.push_bytes(n.text.as_bytes());
        }
        (SqlType::String, Kind::Bool) => {
            let v = lx.read_bool()?;
            b.push_bytes(if v { b"true" } else { b"false" });
        }
        (SqlType::String, Kind::Object) => {
            let mut out = String::new();
            lx.write_compact(&mut out)?;
            b.push_bytes(out.as_bytes());
        }
        (SqlType::String, Kind::Array) => {
            let mut out = String::new();
            stringify_array(lx, &mut out, 0)?;
            b.push_bytes(out.as_bytes());
        }
        (ty, Kind::Str) if ty.is_primitive() => {
            let s = lx.read_string()?;
            push_text(b, &s)?;
        }
        (SqlType::Array(_), Kind::Array) => {
            let Data::List { ends, child } = &mut b.data else {
                return Err(Fail::coerce("internal: builder is not a list"));
            };
            lx.begin_array()?;
            let mut first = true;
            let mut idx = 0usize;
            while lx.next_item(&mut first)? {
                read_value(child, lx, scratch).map_err(|e| e.under(|| format!("[{idx}]")))?;
                idx += 1;
            }
            ends.push(child.len());
            b.push_valid();
        }
        (SqlType::Map(..), Kind::Object) => {
            let Data::Map { ends, keys, values } = &mut b.data else {
                return Err(Fail::coerce("internal: builder is not a map"));
            };
            lx.begin_object()?;
            let mut first = true;
            while let Some(key) = lx.next_key(&mut first)? {
                push_text(keys, &key).map_err(|e| e.under(|| format!(".{key}.key")))?;
                read_value(values, lx, scratch).map_err(|e| e.under(|| format!(".{key}.value")))?;
            }
            ends.push(keys.len());
            b.push_valid();
        }
        (SqlType::Struct(fields), Kind::Object) => {
            let Data::Struct(children) = &mut b.data else {
                return Err(Fail::coerce("internal: builder is not a struct"));
            };
            read_fields(children, |i| fields.get(i).map_or("", |f| f.0.as_str()), lx, scratch)?;
            b.push_valid();
        }
        (ty, kind) => {
            let required = ty.to_string();
            return Err(invalid(lx, kind, &required));
        }
    }
    Ok(())
}

/// A JSON number into a numeric, temporal or decimal column.
fn push_number(b: &mut ColumnBuilder, text: &str) -> R {
    let wrapped = || number::wrapping_integer(text).ok_or_else(|| Fail::Syntax(format!("Invalid JSON number: {text}")));
    match &b.ty {
        // Jackson's intValue()/asLong(): truncate any fraction, wrap on overflow.
        SqlType::Int | SqlType::Date | SqlType::Time => {
            let v = wrapped()? as i32;
            b.push_i32(v);
        }
        SqlType::BigInt | SqlType::Timestamp => {
            let v = wrapped()?;
            b.push_i64(v);
        }
        // Valid JSON number text always parses; out-of-range becomes ±inf as in Java.
        SqlType::Double => b.push_f64(text.parse().unwrap_or(f64::NAN)),
        SqlType::Decimal { precision, scale } => {
            let (p, s) = (*precision, *scale);
            let d = number::parse_big_decimal(text)
                .ok_or_else(|| Fail::coerce(format!("Decimal '{text}' has more than 38 digits")))?;
            let v = number::fit_decimal(d, p, s).map_err(Fail::coerce)?;
            b.push_decimal(v);
        }
        ty => return Err(Fail::coerce(format!("internal: {ty} is not numeric"))),
    }
    Ok(())
}

/// A JSON string (or map key) into a primitive column: Java's parsers for numbers,
/// base64 for BYTES. ksqlDB reads no BOOLEAN from text.
fn push_text(b: &mut ColumnBuilder, s: &str) -> R {
    let coerce = |target: &SqlType| {
        Fail::coerce(format!(
            "Can't coerce string to type. targetType: {}",
            super::validate::base_type_name(target)
        ))
    };
    match &b.ty {
        SqlType::String => b.push_bytes(s.as_bytes()),
        SqlType::Int | SqlType::Date | SqlType::Time => {
            let v = number::parse_int(s).ok_or_else(|| coerce(&b.ty))?;
            b.push_i32(v);
        }
        SqlType::BigInt | SqlType::Timestamp => {
            let v = number::parse_long(s).ok_or_else(|| coerce(&b.ty))?;
            b.push_i64(v);
        }
        SqlType::Double => {
            let v = number::parse_double(s).ok_or_else(|| coerce(&b.ty))?;
            b.push_f64(v);
        }
        SqlType::Decimal { precision, scale } => {
            let (p, sc) = (*precision, *scale);
            let d = number::parse_big_decimal(s).ok_or_else(|| coerce(&b.ty))?;
            let v = number::fit_decimal(d, p, sc).map_err(Fail::coerce)?;
            b.push_decimal(v);
        }
        SqlType::Bytes => {
            let v = BASE64
                .decode(s)
                .map_err(|e| Fail::coerce(format!("Can't convert string to BYTES: invalid base64 ({e})")))?;
            b.push_bytes(&v);
        }
        ty => {
            return Err(Fail::coerce(format!(
                "Can't convert type. sourceType: TextNode, requiredType: {ty}"
            )));
        }
    }
    Ok(())
}

/// An array read into a STRING column: its items as text, `[a, b]`, as ksqlDB joins them.
fn stringify_array(lx: &mut Lexer<'_>, out: &mut String, depth: usize) -> R {
    if depth > MAX_STRINGIFY_DEPTH {
        return Err(Fail::Syntax("Invalid JSON: nested too deeply".into()));
    }
    lx.begin_array()?;
    out.push('[');
    let mut first = true;
    let mut n = 0;
    while lx.next_item(&mut first)? {
        if n > 0 {
            out.push_str(", ");
        }
        n += 1;
        match lx.peek_kind()? {
            Kind::Null => {
                lx.read_null()?;
                out.push_str("null");
            }
            Kind::Bool => out.push_str(if lx.read_bool()? { "true" } else { "false" }),
            Kind::Int | Kind::Float => out.push_str(lx.read_number()?.text),
            Kind::Str => out.push_str(&lx.read_string()?),
            Kind::Object => lx.write_compact(out)?,
            Kind::Array => stringify_array(lx, out, depth + 1)?,
        }
    }
    out.push(']');
    Ok(())
}
