//! Aggregate functions (UDAFs) with ksqlDB names and semantics, for the GROUP BY operator.
//!
//! Protocol: the planner looks a function up with [`super::FunctionRegistry::aggregate`], asks
//! [`AggregateFunction::column_args`] how many leading arguments are per-row columns (the rest
//! must be literal constants), evaluates the literals and calls [`AggregateFunction::bind`] with
//! the column types and the literal values. The resulting [`BoundAggregate`] says the output
//! type, the type of its intermediate state (what a state store or changelog holds) and carries
//! the accumulator.
//!
//! Per group, the operator starts from [`AggregateImpl::initial`], folds each row's column
//! argument values with [`AggregateImpl::add`] and reads [`AggregateImpl::result`]. Table
//! aggregations retract a row's previous version with [`AggregateImpl::undo`]; functions that
//! cannot undo ([`AggregateImpl::supports_undo`] is false: MIN, MAX, LATEST_BY_OFFSET, ...) are
//! rejected on table sources, as ksqlDB does. Session windows combine states with
//! [`AggregateImpl::merge`].
//!
//! An `Err` from `add`, `undo` or `merge` is a runtime failure for that row (ksqlDB logs it to
//! the processing log); the state passed in should then be kept.

mod basic;
mod collect;
mod offset;
mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::types::{SqlType, Value};

use super::{FunctionDoc, SignatureDoc};

/// An aggregate bound to argument types: its types and its implementation.
#[derive(Clone)]
pub struct BoundAggregate {
    /// Upper-case function name.
    pub name: String,
    /// The type of [`AggregateImpl::result`].
    pub return_type: SqlType,
    /// The type of the accumulator state (what stores and changelogs hold), as ksqlDB declares
    /// it: formats that cannot hold it (DELIMITED and STRUCT states, say) must reject the query.
    pub state_type: SqlType,
    /// The accumulator.
    pub imp: Arc<dyn AggregateImpl>,
}

impl std::fmt::Debug for BoundAggregate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundAggregate")
            .field("name", &self.name)
            .field("return_type", &self.return_type)
            .field("state_type", &self.state_type)
            .field("supports_undo", &self.imp.supports_undo())
            .finish()
    }
}

/// The accumulator logic. State is a `Value` of `state_type` (so stores and changelogs can
/// serialize it).
pub trait AggregateImpl: Send + Sync {
    /// The state of an empty group.
    fn initial(&self) -> Value;
    /// Folds one input row's argument values (the column arguments only; literal parameters
    /// were given to `bind`).
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String>;
    /// Removes a row previously added (table aggregations: an update retracts the old row
    /// first). Only called when `supports_undo()`.
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String>;
    /// Whether [`AggregateImpl::undo`] is available, i.e. the function may aggregate a table.
    fn supports_undo(&self) -> bool;
    /// Merges two states (session windows).
    fn merge(&self, a: Value, b: Value) -> Result<Value, String>;
    /// The output value for a state.
    fn result(&self, state: &Value) -> Value;
}

/// An aggregate function before binding: its docs and how it binds.
pub trait AggregateFunction: Send + Sync {
    /// The function's documentation (category `AGGREGATE`).
    fn doc(&self) -> &FunctionDoc;
    /// `args`: types of the column arguments (None = NULL literal; COUNT(*) passes an empty
    /// slice); `params`: literal parameters that follow (TOPK's k, LATEST_BY_OFFSET's n and
    /// ignoreNulls, HISTOGRAM none...), already evaluated.
    fn bind(&self, args: &[Option<SqlType>], params: &[Value]) -> Result<BoundAggregate, String>;
    /// How many leading arguments are columns (the rest must be literals), given the total
    /// count.
    fn column_args(&self, total: usize) -> usize;
}

/// Settings that change aggregate behaviour, from the `ksql.functions.*` properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateConfig {
    /// `ksql.functions.collect_list.limit`: the most entries COLLECT_LIST keeps (`None`, or a
    /// negative setting, means no limit, ksqlDB's default).
    pub collect_list_limit: Option<usize>,
    /// `ksql.functions.collect_set.limit`: the most entries COLLECT_SET keeps.
    pub collect_set_limit: Option<usize>,
}

impl AggregateConfig {
    /// Property name of [`AggregateConfig::collect_list_limit`].
    pub const COLLECT_LIST_LIMIT: &'static str = "ksql.functions.collect_list.limit";
    /// Property name of [`AggregateConfig::collect_set_limit`].
    pub const COLLECT_SET_LIMIT: &'static str = "ksql.functions.collect_set.limit";

    /// Reads the settings from property names and values; unknown names are ignored.
    pub fn from_properties<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, String> {
        let mut cfg = AggregateConfig::default();
        for (name, value) in props {
            let slot = if name.eq_ignore_ascii_case(Self::COLLECT_LIST_LIMIT) {
                &mut cfg.collect_list_limit
            } else if name.eq_ignore_ascii_case(Self::COLLECT_SET_LIMIT) {
                &mut cfg.collect_set_limit
            } else {
                continue;
            };
            let n: i64 = value
                .trim()
                .parse()
                .map_err(|_| format!("Invalid value {value} for configuration {name}"))?;
            *slot = usize::try_from(n).ok();
        }
        Ok(cfg)
    }
}

/// Every built-in aggregate, configured by `cfg`.
pub(crate) fn all(cfg: &AggregateConfig) -> Vec<Arc<dyn AggregateFunction>> {
    let mut out: Vec<Arc<dyn AggregateFunction>> = Vec::new();
    out.extend(basic::all());
    out.extend(collect::all(cfg));
    out.extend(offset::all());
    out.extend(stats::all());
    out
}

/// Binds a declared aggregate: column types and literal parameters to a [`BoundAggregate`].
pub(crate) type BindFn = Box<dyn Fn(&[Option<SqlType>], &[Value]) -> Result<BoundAggregate, String> + Send + Sync>;

/// A built-in aggregate: docs, binder and how many arguments are columns.
pub(crate) struct Declared {
    doc: FunctionDoc,
    bind: BindFn,
    /// Number of trailing literal parameters, by total argument count.
    literal_params: fn(usize) -> usize,
}

impl AggregateFunction for Declared {
    fn doc(&self) -> &FunctionDoc {
        &self.doc
    }

    fn bind(&self, args: &[Option<SqlType>], params: &[Value]) -> Result<BoundAggregate, String> {
        (self.bind)(args, params)
    }

    fn column_args(&self, total: usize) -> usize {
        total.saturating_sub((self.literal_params)(total))
    }
}

/// No literal parameters: every argument is a column.
pub(crate) fn no_params(_: usize) -> usize {
    0
}

/// Every argument after the first is a literal parameter (LATEST_BY_OFFSET, TOPKDISTINCT).
pub(crate) fn params_after_first(total: usize) -> usize {
    total.saturating_sub(1)
}

/// Only the last argument is a literal parameter (TOPK's k).
pub(crate) fn last_is_param(total: usize) -> usize {
    usize::from(total >= 2)
}

/// Declares a built-in aggregate in the `AGGREGATE` category.
pub(crate) fn declare(
    name: &'static str,
    description: &'static str,
    signatures: &[(&[(&'static str, &str)], &str)],
    literal_params: fn(usize) -> usize,
    bind: BindFn,
) -> Arc<dyn AggregateFunction> {
    Arc::new(Declared {
        doc: FunctionDoc {
            name,
            category: "AGGREGATE",
            description,
            signatures: signatures
                .iter()
                .map(|(args, ret)| SignatureDoc {
                    args: args.iter().map(|(n, t)| (*n, t.to_string())).collect(),
                    returns: ret.to_string(),
                    variadic: false,
                    description: "",
                })
                .collect(),
        },
        bind,
        literal_params,
    })
}

/// The error for arguments no overload accepts, naming the alternatives as the scalar binder
/// does: `Function 'SUM' does not accept parameters (STRING). Valid alternatives are: ...`.
pub(crate) fn no_match(name: &str, signatures: &[&str], args: &[Option<SqlType>], params: &[Value]) -> String {
    let given: Vec<String> = args
        .iter()
        .cloned()
        .chain(params.iter().map(Value::natural_type))
        .map(|t| t.map_or("null".to_string(), |t| t.to_string()))
        .collect();
    let alternatives: Vec<String> = signatures.iter().map(|s| format!("{name}({s})")).collect();
    format!(
        "Function '{}' does not accept parameters ({}). Valid alternatives are: {}",
        super::display_name(name),
        given.join(", "),
        alternatives.join(", ")
    )
}

/// Builds a [`BoundAggregate`].
pub(crate) fn bound(
    name: &str,
    return_type: SqlType,
    state_type: SqlType,
    imp: impl AggregateImpl + 'static,
) -> BoundAggregate {
    BoundAggregate {
        name: name.to_string(),
        return_type,
        state_type,
        imp: Arc::new(imp),
    }
}

/// A STRUCT type from field names and types.
pub(crate) fn struct_type(fields: &[(&str, SqlType)]) -> SqlType {
    SqlType::Struct(fields.iter().map(|(n, t)| (n.to_string(), t.clone())).collect())
}

/// A field of a STRUCT state, or NULL when absent.
pub(crate) fn field<'a>(state: &'a Value, name: &str) -> &'a Value {
    match state {
        Value::Struct(fields) => fields.iter().find(|(n, _)| n == name).map_or(&Value::Null, |(_, v)| v),
        _ => &Value::Null,
    }
}

/// The items of an ARRAY state (a NULL or malformed state counts as empty).
pub(crate) fn items(state: Value) -> Vec<Value> {
    match state {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// The argument at `i`, or NULL when absent.
pub(crate) fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Null)
}

/// An INT literal parameter (`what` names it in errors).
pub(crate) fn int_param(params: &[Value], i: usize, what: &str) -> Result<Option<i64>, String> {
    match params.get(i) {
        None => Ok(None),
        Some(Value::Int(v)) => Ok(Some(*v as i64)),
        Some(Value::BigInt(v)) => Ok(Some(*v)),
        Some(other) => Err(format!("{what} must be an INTEGER literal, got {other}")),
    }
}

/// The next arrival sequence number, for the *_BY_OFFSET functions. ksqlDB uses a process-wide
/// counter from 0; this one starts from the clock (microseconds since the epoch) so sequence
/// numbers stored in state before a restart stay older than new ones.
pub(crate) fn next_seq() -> i64 {
    static SEQ: std::sync::OnceLock<AtomicI64> = std::sync::OnceLock::new();
    SEQ.get_or_init(|| {
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(0));
        AtomicI64::new(start)
    })
    .fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers: bind an aggregate by name and fold rows through it.
    use super::*;

    /// Binds `name` from the registry.
    pub(crate) fn bind(name: &str, args: &[Option<SqlType>], params: &[Value]) -> Result<BoundAggregate, String> {
        let reg = crate::function::FunctionRegistry::new();
        let f = reg.aggregate(name).ok_or_else(|| format!("no aggregate {name}"))?;
        f.bind(args, params)
    }

    /// Adds each row in turn, returning the result after every row.
    pub(crate) fn run(b: &BoundAggregate, rows: &[Vec<Value>]) -> Vec<Value> {
        let mut state = b.imp.initial();
        let mut out = Vec::new();
        for row in rows {
            state = b.imp.add(state, row).expect("add");
            out.push(b.imp.result(&state));
        }
        out
    }

    /// One-column rows.
    pub(crate) fn col(values: &[Value]) -> Vec<Vec<Value>> {
        values.iter().map(|v| vec![v.clone()]).collect()
    }

    /// Shorthand for a STRING value.
    pub(crate) fn s(text: &str) -> Value {
        Value::String(text.to_string())
    }
}
