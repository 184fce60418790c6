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

/// State one decoder keeps across the records of a batch, so per-record work does not
/// repeat: the offsets region shared by nested reads, and how each key of the previous
/// record resolved to the top-level columns.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Value offsets found by the first pass of [`read_fields`] (pushed and popped per
    /// nesting level, so nested structs share one allocation).
    offsets: Vec<usize>,
    /// Entry `k`: the `k`-th key of the last top-level object and the columns it matched.
    /// Records of one topic almost always repeat the same keys in the same order, so
    /// resolving a key is usually one string comparison instead of a search over every
    /// column name (twice: exact case, then upper-cased).
    keys: Vec<KeyMatch>,
    /// Per column of the one-pass read: whether it got its value.
    hits: Vec<bool>,
}

/// How one object key resolved to columns.
#[derive(Debug, Clone)]
struct KeyMatch {
    key: String,
    /// The column named exactly `key`.
    exact: Option<usize>,
    /// The column named `key` upper-cased, when that is a different match (a key with no
    /// lower case has its exact match as its upper-cased one: recorded once, in `exact`).
    upper: Option<usize>,
}

/// Objects with more keys than this resolve the rest by search, unremembered, so one odd
/// record cannot make the memo large.
const MAX_REMEMBERED_KEYS: usize = 256;

/// Decodes one JSON record into `cols` (one builder per column, each getting exactly one
/// row unless an error is returned). `unwrapped`: the bare value is the only column.
pub(crate) fn decode_record(
    cols: &mut [ColumnBuilder],
    names: &[String],
    unwrapped: bool,
    bytes: &[u8],
    scratch: &mut Scratch,
) -> Result<RowOutcome, String> {
    let mut lx = Lexer::new(bytes);
    scratch.offsets.clear();
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
        [only] if unwrapped => read_value(only, &mut lx, &mut scratch.offsets),
        _ => match lx.peek_kind()? {
            Kind::Object => read_top_fields(cols, names, &mut lx, scratch),
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

/// The record's own object: read in one pass straight into the builders when every column
/// is fed by at most one key and every value converts; otherwise (duplicate keys, a key
/// and its upper-cased twin, any error) the builders are rolled back and the object is
/// read again by the two-pass [`read_fields`], which defines the result and the error
/// message. The one-pass result equals the two-pass one whenever it is kept: the same
/// values are read by the same `read_value` calls, only in key order instead of column
/// order, and the whole object was checked along the way.
fn read_top_fields(cols: &mut [ColumnBuilder], names: &[String], lx: &mut Lexer<'_>, scratch: &mut Scratch) -> R {
    let start = *lx;
    let row = cols.first().map_or(0, ColumnBuilder::len);
    if cols.iter().all(|c| c.len() == row) && read_one_pass(cols, names, lx, scratch).is_ok() {
        return Ok(());
    }
    for c in cols.iter_mut() {
        c.truncate(row);
    }
    *lx = start;
    scratch.offsets.clear();
    let name = |i: usize| names.get(i).map_or("", String::as_str);
    read_fields(cols, name, lx, &mut scratch.offsets, Some(&mut scratch.keys))
}

/// Why a one-pass read gives up (the two-pass read then decides).
struct Fallback;

impl From<Fail> for Fallback {
    fn from(_: Fail) -> Self {
        Fallback
    }
}

impl From<String> for Fallback {
    fn from(_: String) -> Self {
        Fallback
    }
}

fn read_one_pass(
    cols: &mut [ColumnBuilder],
    names: &[String],
    lx: &mut Lexer<'_>,
    scratch: &mut Scratch,
) -> Result<(), Fallback> {
    let n = cols.len();
    let hit = &mut scratch.hits;
    hit.clear();
    hit.resize(n, false);
    let name = |i: usize| names.get(i).map_or("", String::as_str);
    lx.begin_object()?;
    let mut first = true;
    let mut k = 0;
    while let Some(key) = lx.next_key(&mut first)? {
        let (exact, upper) = resolve(&mut scratch.keys, k, &key, n, &name);
        k += 1;
        let at = lx.value_pos();
        let mut read = false;
        for i in [exact, upper].into_iter().flatten() {
            let (Some(col), Some(seen)) = (cols.get_mut(i), hit.get_mut(i)) else {
                return Err(Fallback);
            };
            if *seen {
                return Err(Fallback);
            }
            *seen = true;
            if read {
                // A key feeding two columns (`id` exactly and `ID` upper-cased): read the
                // value again for the second.
                read_value(col, &mut lx.at(at), &mut scratch.offsets)?;
            } else {
                read_value(col, lx, &mut scratch.offsets)?;
                read = true;
            }
        }
        if !read {
            lx.skip_value()?;
        }
    }
    for (col, seen) in cols.iter_mut().zip(hit.iter()) {
        if !*seen {
            col.push_null();
        }
    }
    Ok(())
}

/// The columns key number `k` of a top-level object matches (exact, upper-cased), from the
/// memo when the last record's `k`-th key was the same.
fn resolve<'n>(
    memo: &mut Vec<KeyMatch>,
    k: usize,
    key: &str,
    n: usize,
    name: &impl Fn(usize) -> &'n str,
) -> (Option<usize>, Option<usize>) {
    if let Some(m) = memo.get(k)
        && m.key == key
    {
        return (m.exact, m.upper);
    }
    let exact = find_from(n, 0, |i| name(i) == key);
    let upper = if exact.is_none() || key.bytes().any(|c| !c.is_ascii() || c.is_ascii_lowercase()) {
        find_upper(n, 0, name, key)
    } else {
        None
    };
    let m = KeyMatch {
        key: key.to_owned(),
        exact,
        upper,
    };
    if k < memo.len() {
        memo[k] = m;
    } else if k == memo.len() && k < MAX_REMEMBERED_KEYS {
        memo.push(m);
    }
    (exact, upper)
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
    mut memo: Option<&mut Vec<KeyMatch>>,
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
    let mut k = 0;
    while let Some(key) = lx.next_key(&mut first)? {
        let at = lx.value_pos();
        let (exact, upper) = match memo.as_deref_mut() {
            Some(memo) => resolve(memo, k, &key, n, &name),
            None => {
                // Keys usually come in column order: start looking after the previous match.
                let exact = find_from(n, exact_hint, |i| name(i) == key);
                // An exact match of a key with no lower case is also its upper-cased match.
                let upper = if exact.is_none() || key.bytes().any(|c| !c.is_ascii() || c.is_ascii_lowercase()) {
                    find_upper(n, upper_hint, &name, &key)
                } else {
                    None
                };
                (exact, upper)
            }
        };
        k += 1;
        if let Some(i) = exact {
            scratch[base + i] = at;
            exact_hint = i + 1;
        }
        if let Some(i) = upper {
            scratch[base + n + i] = at;
            upper_hint = i + 1;
        }
        lx.skip_value()?;
    }
    for (i, col) in cols.iter_mut().enumerate() {
        let at = match scratch[base + i] {
            NONE => scratch[base + n + i],
            at => at,
        };
        if at == NONE {
            col.push_null();
        } else {
            read_value(col, &mut lx.at(at), scratch).map_err(|e| e.under(|| format!(".{}", name(i))))?;
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
            read_fields(
                children,
                |i| fields.get(i).map_or("", |f| f.0.as_str()),
                lx,
                scratch,
                None,
            )?;
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
