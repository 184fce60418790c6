//! The function registry: scalar functions with ksqlDB names and semantics.
//!
//! The planner binds a call with [`ScalarFunction::return_type`] (and, for higher-order
//! functions, [`ScalarFunction::lambda_params`]); the evaluator calls
//! [`ScalarFunction::invoke`] row by row on [`Value`]s.
//!
//! Binding protocol for lambdas: the planner first asks `lambda_params` for the lambda's
//! parameter types (lambda positions passed as `None`), types the lambda body with them, then
//! calls `return_type` with the *body's* type at the lambda's position.
//!
//! Interval units (`TIMESTAMPADD(SECONDS, 3, ts)`) are passed as STRING values holding the
//! unit's name (`'SECONDS'`, `'DAY'`, ...).
//!
//! Aggregate functions (COUNT, SUM, LATEST_BY_OFFSET, ...) live in [`aggregate`]: see
//! [`FunctionRegistry::aggregate`].

pub mod aggregate;
mod scalar;
mod sig;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::types::{SqlType, Value};

pub use aggregate::{AggregateConfig, AggregateFunction, AggregateImpl, BoundAggregate};

/// A lambda as the evaluator hands it to a higher-order function: takes the lambda's
/// parameters, returns its body's value.
pub type Lambda<'a> = &'a dyn Fn(&[Value]) -> Result<Value, String>;

/// Static description for SHOW FUNCTIONS / DESCRIBE FUNCTION.
#[derive(Debug, Clone)]
pub struct FunctionDoc {
    /// Upper-case function name.
    pub name: &'static str,
    /// STRING, MATHEMATICAL, DATE / TIME, JSON, ARRAY, MAP, URL, CONDITIONAL, CONVERSIONS,
    /// REGULAR EXPRESSION, LAMBDA or OTHER; AGGREGATE for aggregate functions.
    pub category: &'static str,
    /// One-paragraph overview.
    pub description: &'static str,
    /// Every overload.
    pub signatures: Vec<SignatureDoc>,
}

/// One overload of a function.
#[derive(Debug, Clone)]
pub struct SignatureDoc {
    /// Argument names and type texts (`"VARCHAR"`, `"ARRAY<T>"`, `"LAMBDA<T, R>"`).
    pub args: Vec<(&'static str, String)>,
    /// Return type text.
    pub returns: String,
    /// Whether the last argument may repeat.
    pub variadic: bool,
    /// What this overload does, when it differs from the function's overview.
    pub description: &'static str,
}

/// A row-wise scalar function.
pub trait ScalarFunction: Send + Sync {
    /// The function's documentation.
    fn doc(&self) -> &FunctionDoc;

    /// The result type for these argument types (NULL literals arrive as `None`; lambda
    /// positions carry the lambda body's type), or an error message saying which signatures
    /// exist.
    fn return_type(&self, args: &[Option<SqlType>]) -> Result<SqlType, String>;

    /// For higher-order functions: the parameter types of the lambda at argument position
    /// `lambda_arg`, given the types of the non-lambda args (lambda positions are `None`).
    fn lambda_params(&self, _args: &[Option<SqlType>], _lambda_arg: usize) -> Option<Vec<SqlType>> {
        None
    }

    /// Calls the function. `ret` is what `return_type` said. Lambdas come in argument order;
    /// their slots in `args` hold `Value::Null`. `Err` is a runtime failure: the engine logs
    /// it to the processing log and uses NULL.
    fn invoke(&self, args: &[Value], ret: &SqlType, lambdas: &[Lambda<'_>]) -> Result<Value, String>;
}

/// Every built-in function, by upper-case name.
pub struct FunctionRegistry {
    scalars: BTreeMap<String, Arc<dyn ScalarFunction>>,
    aggregates: BTreeMap<String, Arc<dyn AggregateFunction>>,
}

impl Default for FunctionRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl FunctionRegistry {
    /// A registry with every built-in registered, aggregates with their default settings.
    pub fn new() -> Self {
        Self::with_aggregate_config(&AggregateConfig::default())
    }

    /// A registry with every built-in registered, aggregates configured by `cfg` (the
    /// `ksql.functions.collect_list.limit` and `ksql.functions.collect_set.limit` properties).
    pub fn with_aggregate_config(cfg: &AggregateConfig) -> Self {
        let mut scalars: BTreeMap<String, Arc<dyn ScalarFunction>> = BTreeMap::new();
        for f in scalar::all() {
            scalars.insert(f.doc().name.to_ascii_uppercase(), Arc::new(f));
        }
        let aggregates = aggregate::all(cfg)
            .into_iter()
            .map(|f| (f.doc().name.to_ascii_uppercase(), f))
            .collect();
        FunctionRegistry { scalars, aggregates }
    }

    /// The scalar function called `name` (case-insensitive).
    pub fn scalar(&self, name: &str) -> Option<Arc<dyn ScalarFunction>> {
        self.scalars.get(&name.to_ascii_uppercase()).cloned()
    }

    /// Every scalar function's doc, sorted by name, for SHOW FUNCTIONS.
    pub fn list(&self) -> Vec<&FunctionDoc> {
        self.scalars.values().map(|f| f.doc()).collect()
    }

    /// The aggregate function called `name` (case-insensitive).
    pub fn aggregate(&self, name: &str) -> Option<Arc<dyn AggregateFunction>> {
        self.aggregates.get(&name.to_ascii_uppercase()).cloned()
    }

    /// Whether `name` is an aggregate function (case-insensitive).
    pub fn is_aggregate(&self, name: &str) -> bool {
        self.aggregates.contains_key(&name.to_ascii_uppercase())
    }

    /// Every aggregate function's doc, sorted by name, for SHOW FUNCTIONS (category
    /// `AGGREGATE`).
    pub fn list_aggregates(&self) -> Vec<&FunctionDoc> {
        self.aggregates.values().map(|f| f.doc()).collect()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the per-category tests: bind and call a function by name.
    use super::*;

    /// Binds `name` to the natural types of `args` and calls it.
    pub(crate) fn call(name: &str, args: &[Value]) -> Result<Value, String> {
        let reg = FunctionRegistry::new();
        let f = reg.scalar(name).ok_or_else(|| format!("no function {name}"))?;
        let types: Vec<Option<SqlType>> = args.iter().map(Value::natural_type).collect();
        let ret = f.return_type(&types)?;
        f.invoke(args, &ret, &[])
    }

    /// Shorthand for a STRING value.
    pub(crate) fn s(text: &str) -> Value {
        Value::String(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_holds_the_builtins() {
        let reg = FunctionRegistry::new();
        let list = reg.list();
        assert!(list.len() >= 90, "only {} functions", list.len());
        for d in &list {
            assert!(!d.signatures.is_empty(), "{} has no signature", d.name);
            assert!(!d.description.is_empty(), "{} has no description", d.name);
        }
        let names: Vec<&str> = list.iter().map(|d| d.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(reg.scalar("ucase").is_some());
        assert!(reg.scalar("NO_SUCH_FUNCTION").is_none());
    }

    #[test]
    fn every_ksqldb_scalar_function_is_registered() {
        // ksqlDB's 129 scalar functions (docs/KSQLDB-INVENTORY.md, section 5).
        let names = [
            "ABS",
            "ACOS",
            "ARRAY_CONCAT",
            "ARRAY_CONTAINS",
            "ARRAY_DISTINCT",
            "ARRAY_EXCEPT",
            "ARRAY_INTERSECT",
            "ARRAY_JOIN",
            "ARRAY_LENGTH",
            "ARRAY_MAX",
            "ARRAY_MIN",
            "ARRAY_REMOVE",
            "ARRAY_SORT",
            "ARRAY_UNION",
            "ASIN",
            "AS_MAP",
            "AS_VALUE",
            "ATAN",
            "ATAN2",
            "BIGINT_FROM_BYTES",
            "CBRT",
            "CEIL",
            "CHR",
            "COALESCE",
            "CONCAT",
            "CONCAT_WS",
            "CONVERT_TZ",
            "COS",
            "COSH",
            "COT",
            "DATEADD",
            "DATESUB",
            "DATETOSTRING",
            "DEGREES",
            "DOUBLE_FROM_BYTES",
            "ELT",
            "ENCODE",
            "ENTRIES",
            "EXP",
            "EXTRACTJSONFIELD",
            "FIELD",
            "FILTER",
            "FLOOR",
            "FORMAT_DATE",
            "FORMAT_TIME",
            "FORMAT_TIMESTAMP",
            "FROM_BYTES",
            "FROM_DAYS",
            "FROM_UNIXTIME",
            "GENERATE_SERIES",
            "GEO_DISTANCE",
            "GREATEST",
            "IFNULL",
            "INITCAP",
            "INSTR",
            "INT_FROM_BYTES",
            "IS_JSON_STRING",
            "JSON_ARRAY_CONTAINS",
            "JSON_ARRAY_LENGTH",
            "JSON_CONCAT",
            "JSON_ITEMS",
            "JSON_KEYS",
            "JSON_RECORDS",
            "LCASE",
            "LEAST",
            "LEN",
            "LN",
            "LOG",
            "LPAD",
            "MAP_KEYS",
            "MAP_UNION",
            "MAP_VALUES",
            "MASK",
            "MASK_KEEP_LEFT",
            "MASK_KEEP_RIGHT",
            "MASK_LEFT",
            "MASK_RIGHT",
            "MD5",
            "NULLIF",
            "PARSE_DATE",
            "PARSE_TIME",
            "PARSE_TIMESTAMP",
            "PI",
            "POWER",
            "RADIANS",
            "RANDOM",
            "REDUCE",
            "REGEXP_EXTRACT",
            "REGEXP_EXTRACT_ALL",
            "REGEXP_REPLACE",
            "REGEXP_SPLIT_TO_ARRAY",
            "REPLACE",
            "ROUND",
            "RPAD",
            "SIGN",
            "SIN",
            "SINH",
            "SLICE",
            "SPLIT",
            "SPLIT_TO_MAP",
            "SQRT",
            "STRINGTODATE",
            "STRINGTOTIMESTAMP",
            "SUBSTRING",
            "TAN",
            "TANH",
            "TIMEADD",
            "TIMESTAMPADD",
            "TIMESTAMPSUB",
            "TIMESTAMPTOSTRING",
            "TIMESUB",
            "TO_BYTES",
            "TO_JSON_STRING",
            "TRANSFORM",
            "TRIM",
            "TRUNC",
            "UCASE",
            "UNIX_DATE",
            "UNIX_TIMESTAMP",
            "URL_DECODE_PARAM",
            "URL_ENCODE_PARAM",
            "URL_EXTRACT_FRAGMENT",
            "URL_EXTRACT_HOST",
            "URL_EXTRACT_PARAMETER",
            "URL_EXTRACT_PATH",
            "URL_EXTRACT_PORT",
            "URL_EXTRACT_PROTOCOL",
            "URL_EXTRACT_QUERY",
            "UUID",
        ];
        let reg = FunctionRegistry::new();
        let missing: Vec<&str> = names.iter().copied().filter(|n| reg.scalar(n).is_none()).collect();
        assert!(missing.is_empty(), "missing: {missing:?}");
        assert_eq!(reg.list().len(), names.len());
    }

    #[test]
    fn every_declared_pattern_parses() {
        for f in scalar::all() {
            assert!(f.patterns_ok(), "{} has a malformed signature", f.doc().name);
        }
    }

    #[test]
    fn every_ksqldb_aggregate_function_is_registered() {
        let reg = FunctionRegistry::new();
        let names: Vec<&str> = reg.list_aggregates().iter().map(|d| d.name).collect();
        assert_eq!(
            names,
            [
                "ATTR",
                "AVG",
                "COLLECT_LIST",
                "COLLECT_SET",
                "CORRELATION",
                "COUNT",
                "COUNT_DISTINCT",
                "EARLIEST_BY_OFFSET",
                "HISTOGRAM",
                "LATEST_BY_OFFSET",
                "MAX",
                "MIN",
                "STDDEV_POP",
                "STDDEV_SAMP",
                "STDDEV_SAMPLE",
                "SUM",
                "SUM_LIST",
                "TOPK",
                "TOPKDISTINCT",
                "VAR_POP",
                "VAR_SAMP",
            ]
        );
        for d in reg.list_aggregates() {
            assert_eq!(d.category, "AGGREGATE");
            assert!(!d.signatures.is_empty(), "{} has no signature", d.name);
            assert!(!d.description.is_empty(), "{} has no description", d.name);
            assert!(reg.scalar(d.name).is_none(), "{} is also a scalar", d.name);
        }
        assert!(reg.aggregate("latest_by_offset").is_some());
        assert!(reg.is_aggregate("Count"));
        assert!(!reg.is_aggregate("UCASE"));
        assert!(reg.aggregate("UCASE").is_none());
        // Stream-only functions cannot undo; the table-capable ones can, as in ksqlDB.
        let undo = |name: &str, t: SqlType, params: &[Value]| {
            reg.aggregate(name)
                .and_then(|f| f.bind(&[Some(t)], params).ok())
                .map(|b| b.imp.supports_undo())
        };
        for name in [
            "COUNT",
            "SUM",
            "AVG",
            "COLLECT_LIST",
            "ATTR",
            "STDDEV_SAMP",
            "STDDEV_SAMPLE",
            "STDDEV_POP",
            "VAR_SAMP",
            "VAR_POP",
        ] {
            assert_eq!(undo(name, SqlType::Int, &[]), Some(true), "{name}");
        }
        assert_eq!(undo("HISTOGRAM", SqlType::String, &[]), Some(true));
        for name in ["MIN", "MAX", "COLLECT_SET", "COUNT_DISTINCT", "LATEST_BY_OFFSET"] {
            assert_eq!(undo(name, SqlType::Int, &[]), Some(false), "{name}");
        }
        assert_eq!(undo("EARLIEST_BY_OFFSET", SqlType::Int, &[]), Some(false));
        for name in ["TOPK", "TOPKDISTINCT"] {
            assert_eq!(undo(name, SqlType::Int, &[Value::Int(2)]), Some(false), "{name}");
        }
    }

    #[test]
    fn wrong_arguments_name_the_alternatives() {
        let reg = FunctionRegistry::new();
        let ucase = reg.scalar("UCASE").unwrap();
        assert_eq!(
            ucase.return_type(&[Some(SqlType::Int)]).unwrap_err(),
            "Function 'ucase' does not accept parameters (INTEGER). Valid alternatives are: UCASE(VARCHAR)"
        );
    }
}

/// A function's name as ksqlDB's error messages print it: the name its implementation is
/// registered under, which is lower case for most built-ins and upper or mixed case for the
/// ones listed here.
pub(crate) fn display_name(name: &str) -> String {
    const AS_REGISTERED: &[&str] = &[
        "COALESCE",
        "IFNULL",
        "NULLIF",
        "AS_VALUE",
        "ARRAY_LENGTH",
        "ARRAY_JOIN",
        "ARRAY_CONTAINS",
        "ENTRIES",
        "GENERATE_SERIES",
        "AS_MAP",
        "JSON_ARRAY_CONTAINS",
        "JSON_ARRAY_LENGTH",
        "JSON_CONCAT",
        "JSON_ITEMS",
        "JSON_KEYS",
        "JSON_RECORDS",
        "TO_JSON_STRING",
        "IS_JSON_STRING",
        "UUID",
        "COUNT",
        "SUM",
        "MAX",
        "MIN",
        "TOPK",
        "TOPKDISTINCT",
        "COUNT_DISTINCT",
        "EARLIEST_BY_OFFSET",
        "LATEST_BY_OFFSET",
        "STDDEV_SAMP",
        "Abs",
        "Ceil",
        "Floor",
        "Round",
        "Chr",
        "LPad",
        "RPad",
    ];
    AS_REGISTERED
        .iter()
        .find(|n| n.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_lowercase(), |n| n.to_string())
}

/// Parses timestamp text by a Java `DateTimeFormatter` pattern, as `STRINGTOTIMESTAMP` does
/// (UTC): what sources with `TIMESTAMP_FORMAT` use to read their event time.
pub fn parse_timestamp_pattern(text: &str, pattern: &str) -> Result<i64, String> {
    static REGISTRY: std::sync::OnceLock<FunctionRegistry> = std::sync::OnceLock::new();
    let registry = REGISTRY.get_or_init(FunctionRegistry::new);
    let Some(f) = registry.scalar("STRINGTOTIMESTAMP") else {
        return Err("STRINGTOTIMESTAMP is not registered".into());
    };
    let args = [Value::String(text.to_string()), Value::String(pattern.to_string())];
    match f.invoke(&args, &SqlType::BigInt, &[])? {
        Value::BigInt(v) | Value::Timestamp(v) => Ok(v),
        other => Err(format!(
            "could not parse timestamp '{text}' with pattern '{pattern}': got {other:?}"
        )),
    }
}
