//! COUNT, COUNT_DISTINCT, SUM, SUM_LIST, AVG, MIN and MAX.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::types::{SqlType, Value};

use super::{AggregateFunction, AggregateImpl, arg, bound, declare, field, no_match, no_params, struct_type};

pub(super) fn all() -> Vec<Arc<dyn AggregateFunction>> {
    vec![
        count(),
        count_distinct(),
        sum(),
        sum_list(),
        avg(),
        min_max("MIN", Ordering::Less),
        min_max("MAX", Ordering::Greater),
    ]
}

// ---------------------------------------------------------------------------------------------
// Numeric helpers shared by SUM, SUM_LIST and AVG.

/// The numeric representation a sum is kept in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int,
    BigInt,
    Double,
    Decimal { precision: u8, scale: i8 },
}

impl Num {
    fn of(t: &SqlType) -> Option<Num> {
        Some(match t {
            SqlType::Int => Num::Int,
            SqlType::BigInt => Num::BigInt,
            SqlType::Double => Num::Double,
            SqlType::Decimal { precision, scale } => Num::Decimal {
                precision: *precision,
                scale: *scale,
            },
            _ => return None,
        })
    }

    fn sql_type(self) -> SqlType {
        match self {
            Num::Int => SqlType::Int,
            Num::BigInt => SqlType::BigInt,
            Num::Double => SqlType::Double,
            Num::Decimal { precision, scale } => SqlType::Decimal { precision, scale },
        }
    }

    fn zero(self) -> Value {
        match self {
            Num::Int => Value::Int(0),
            Num::BigInt => Value::BigInt(0),
            Num::Double => Value::Double(0.0),
            Num::Decimal { scale, .. } => Value::Decimal(0, scale),
        }
    }

    /// `acc + v` (or `acc - v` when `negate`), with Java's wrapping for INT and BIGINT, as
    /// ksqlDB's Integer/Long arithmetic does. A NULL `v` leaves `acc` as is.
    fn add(self, acc: &Value, v: &Value, negate: bool) -> Result<Value, String> {
        if v.is_null() {
            return Ok(acc.clone());
        }
        let bad = || format!("expected a {} value, got {v}", self.sql_type());
        Ok(match self {
            Num::Int => {
                let a = int_of(acc);
                let b = i32::try_from(v.as_i64().ok_or_else(bad)?).map_err(|_| bad())?;
                Value::Int(if negate { a.wrapping_sub(b) } else { a.wrapping_add(b) })
            }
            Num::BigInt => {
                let a = acc.as_i64().unwrap_or(0);
                let b = v.as_i64().ok_or_else(bad)?;
                Value::BigInt(if negate { a.wrapping_sub(b) } else { a.wrapping_add(b) })
            }
            Num::Double => {
                let a = acc.as_f64().unwrap_or(0.0);
                let b = v.as_f64().ok_or_else(bad)?;
                Value::Double(if negate { a - b } else { a + b })
            }
            Num::Decimal { precision, scale } => {
                let a = decimal_at(acc, scale).unwrap_or(0);
                let b = decimal_at(v, scale).ok_or_else(bad)?;
                let sum = if negate { a.checked_sub(b) } else { a.checked_add(b) };
                let digits = (precision as i32 - scale as i32).max(0) as u32;
                let limit = 10i128.checked_pow(precision as u32);
                match (sum, limit) {
                    (Some(s), Some(limit)) if s.abs() < limit => Value::Decimal(s, scale),
                    _ => {
                        return Err(format!(
                            "Numeric field overflow: A field with precision {precision} and \
                             scale {scale} must round to an absolute value less than 10^{digits}. \
                             Got {}",
                            sum.map_or_else(|| "a larger value".to_string(), |s| Value::decimal_to_string(s, scale))
                        ));
                    }
                }
            }
        })
    }
}

fn int_of(v: &Value) -> i32 {
    match v {
        Value::Int(i) => *i,
        other => other.as_i64().map_or(0, |i| i as i32),
    }
}

/// An integer or decimal value as an unscaled decimal at `scale`.
fn decimal_at(v: &Value, scale: i8) -> Option<i128> {
    match v {
        Value::Decimal(u, s) => Value::decimal_rescale(*u, *s, scale),
        Value::Int(i) => Value::decimal_rescale(*i as i128, 0, scale),
        Value::BigInt(i) => Value::decimal_rescale(*i as i128, 0, scale),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// COUNT

struct Count {
    star: bool,
}

impl Count {
    fn counts(&self, args: &[Value]) -> bool {
        self.star || !arg(args, 0).is_null()
    }
}

impl AggregateImpl for Count {
    fn initial(&self) -> Value {
        Value::BigInt(0)
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let n = state.as_i64().unwrap_or(0);
        Ok(Value::BigInt(if self.counts(args) { n + 1 } else { n }))
    }
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let n = state.as_i64().unwrap_or(0);
        Ok(Value::BigInt(if self.counts(args) { n - 1 } else { n }))
    }
    fn supports_undo(&self) -> bool {
        true
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        Ok(Value::BigInt(a.as_i64().unwrap_or(0) + b.as_i64().unwrap_or(0)))
    }
    fn result(&self, state: &Value) -> Value {
        Value::BigInt(state.as_i64().unwrap_or(0))
    }
}

fn count() -> Arc<dyn AggregateFunction> {
    declare(
        "COUNT",
        "Counts records: with a column, the rows where it is not NULL; COUNT(*) counts every row.",
        &[(&[], "BIGINT"), (&[("col1", "ANY")], "BIGINT")],
        no_params,
        Box::new(|args, params| {
            if args.len() > 1 || !params.is_empty() {
                return Err(no_match("COUNT", &["", "ANY"], args, params));
            }
            Ok(bound(
                "COUNT",
                SqlType::BigInt,
                SqlType::BigInt,
                Count { star: args.is_empty() },
            ))
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// COUNT_DISTINCT: HyperLogLog, 2^14 registers (about 1% standard error, exact for small counts).

const HLL_BITS: u32 = 14;
const HLL_M: usize = 1 << HLL_BITS;

struct CountDistinct;

/// A stable 64-bit hash of a value (FNV-1a over its JSON text, then a SplitMix64 finaliser), so
/// register states stay valid across restarts and builds.
fn stable_hash(v: &Value) -> u64 {
    let text = v.to_json().to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn registers(state: Value) -> Vec<u8> {
    match state {
        Value::Bytes(b) if b.len() == HLL_M => b,
        _ => vec![0; HLL_M],
    }
}

impl AggregateImpl for CountDistinct {
    fn initial(&self) -> Value {
        // Empty means "all registers zero"; registers are allocated on the first value.
        Value::Bytes(Vec::new())
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let v = arg(args, 0);
        if v.is_null() {
            return Ok(state);
        }
        let h = stable_hash(v);
        let idx = (h >> (64 - HLL_BITS)) as usize;
        let rest = h << HLL_BITS;
        let rank = (rest.leading_zeros().min(64 - HLL_BITS) + 1) as u8;
        let mut regs = registers(state);
        if let Some(r) = regs.get_mut(idx)
            && *r < rank
        {
            *r = rank;
        }
        Ok(Value::Bytes(regs))
    }
    fn undo(&self, state: Value, _args: &[Value]) -> Result<Value, String> {
        Ok(state)
    }
    fn supports_undo(&self) -> bool {
        false
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let b = match b {
            Value::Bytes(b) if b.len() == HLL_M => b,
            _ => return Ok(a),
        };
        let mut regs = registers(a);
        for (r, o) in regs.iter_mut().zip(b) {
            *r = (*r).max(o);
        }
        Ok(Value::Bytes(regs))
    }
    fn result(&self, state: &Value) -> Value {
        let regs = match state {
            Value::Bytes(b) if b.len() == HLL_M => b,
            _ => return Value::BigInt(0),
        };
        let m = HLL_M as f64;
        let zeros = regs.iter().filter(|r| **r == 0).count();
        let sum: f64 = regs.iter().map(|r| 2f64.powi(-(*r as i32))).sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        Value::BigInt(estimate.round() as i64)
    }
}

fn count_distinct() -> Arc<dyn AggregateFunction> {
    declare(
        "COUNT_DISTINCT",
        "Returns the approximate number of distinct non-NULL values of a column in a group \
         (HyperLogLog, typical standard error under 1%).",
        &[(&[("col1", "ANY")], "BIGINT")],
        no_params,
        Box::new(|args, params| {
            if args.len() != 1 || !params.is_empty() {
                return Err(no_match("COUNT_DISTINCT", &["ANY"], args, params));
            }
            Ok(bound("COUNT_DISTINCT", SqlType::BigInt, SqlType::Bytes, CountDistinct))
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// SUM and SUM_LIST

struct Sum {
    num: Num,
    /// SUM_LIST: each argument is an array whose non-NULL elements are summed.
    list: bool,
}

impl Sum {
    fn fold(&self, state: Value, args: &[Value], negate: bool) -> Result<Value, String> {
        let v = arg(args, 0);
        if self.list {
            let mut acc = state;
            if let Value::Array(items) = v {
                // Sum the list first, then apply it, as ksqlDB does.
                let mut total = self.num.zero();
                for item in items {
                    total = self.num.add(&total, item, false)?;
                }
                acc = self.num.add(&acc, &total, negate)?;
            }
            Ok(acc)
        } else {
            self.num.add(&state, v, negate)
        }
    }
}

impl AggregateImpl for Sum {
    fn initial(&self) -> Value {
        self.num.zero()
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        self.fold(state, args, false)
    }
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        self.fold(state, args, true)
    }
    fn supports_undo(&self) -> bool {
        true
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        self.num.add(&a, &b, false)
    }
    fn result(&self, state: &Value) -> Value {
        if state.is_null() {
            self.num.zero()
        } else {
            state.clone()
        }
    }
}

fn sum() -> Arc<dyn AggregateFunction> {
    const SIGS: [&str; 4] = ["INT", "BIGINT", "DOUBLE", "DECIMAL"];
    declare(
        "SUM",
        "Sums the column values; rows where the column is NULL are ignored. The result has the \
         column's type (DECIMAL keeps its precision and scale).",
        &[
            (&[("col1", "INT")], "INT"),
            (&[("col1", "BIGINT")], "BIGINT"),
            (&[("col1", "DOUBLE")], "DOUBLE"),
            (&[("col1", "DECIMAL")], "DECIMAL"),
        ],
        no_params,
        Box::new(|args, params| {
            let num = match (args, params) {
                ([Some(t)], []) => Num::of(t),
                _ => None,
            }
            .ok_or_else(|| no_match("SUM", &SIGS, args, params))?;
            Ok(bound("SUM", num.sql_type(), num.sql_type(), Sum { num, list: false }))
        }),
    )
}

fn sum_list() -> Arc<dyn AggregateFunction> {
    const SIGS: [&str; 3] = ["ARRAY<INT>", "ARRAY<BIGINT>", "ARRAY<DOUBLE>"];
    declare(
        "SUM_LIST",
        "Sums the elements of every row's list (NULL elements and NULL lists are ignored).",
        &[
            (&[("col1", "ARRAY<INT>")], "INT"),
            (&[("col1", "ARRAY<BIGINT>")], "BIGINT"),
            (&[("col1", "ARRAY<DOUBLE>")], "DOUBLE"),
        ],
        no_params,
        Box::new(|args, params| {
            let num = match (args, params) {
                ([Some(SqlType::Array(e))], []) => {
                    Num::of(e).filter(|n| matches!(n, Num::Int | Num::BigInt | Num::Double))
                }
                _ => None,
            }
            .ok_or_else(|| no_match("SUM_LIST", &SIGS, args, params))?;
            Ok(bound(
                "SUM_LIST",
                num.sql_type(),
                num.sql_type(),
                Sum { num, list: true },
            ))
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// AVG: state STRUCT<SUM, COUNT BIGINT>; DECIMAL is averaged as DOUBLE (ksqlDB widens it).

struct Avg {
    num: Num,
}

impl Avg {
    fn state(&self, sum: Value, count: i64) -> Value {
        Value::Struct(vec![("SUM".into(), sum), ("COUNT".into(), Value::BigInt(count))])
    }

    fn parts(&self, state: &Value) -> (Value, i64) {
        let sum = match field(state, "SUM") {
            Value::Null => self.num.zero(),
            v => v.clone(),
        };
        (sum, field(state, "COUNT").as_i64().unwrap_or(0))
    }

    fn input(&self, v: &Value) -> Value {
        match (self.num, v) {
            (Num::Double, Value::Decimal(..)) => v.as_f64().map_or(Value::Null, Value::Double),
            _ => v.clone(),
        }
    }
}

impl AggregateImpl for Avg {
    fn initial(&self) -> Value {
        self.state(self.num.zero(), 0)
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let v = self.input(arg(args, 0));
        if v.is_null() {
            return Ok(state);
        }
        let (sum, count) = self.parts(&state);
        Ok(self.state(self.num.add(&sum, &v, false)?, count + 1))
    }
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let v = self.input(arg(args, 0));
        if v.is_null() {
            return Ok(state);
        }
        let (sum, count) = self.parts(&state);
        Ok(self.state(self.num.add(&sum, &v, true)?, count - 1))
    }
    fn supports_undo(&self) -> bool {
        true
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let (sa, ca) = self.parts(&a);
        let (sb, cb) = self.parts(&b);
        Ok(self.state(self.num.add(&sa, &sb, false)?, ca + cb))
    }
    fn result(&self, state: &Value) -> Value {
        let (sum, count) = self.parts(state);
        if count == 0 {
            return Value::Double(0.0);
        }
        Value::Double(sum.as_f64().unwrap_or(0.0) / count as f64)
    }
}

fn avg() -> Arc<dyn AggregateFunction> {
    const SIGS: [&str; 3] = ["INT", "BIGINT", "DOUBLE"];
    declare(
        "AVG",
        "Returns the average of the column's non-NULL values (the sum divided by the count) as a \
         DOUBLE; 0.0 for a group without values.",
        &[
            (&[("col1", "INT")], "DOUBLE"),
            (&[("col1", "BIGINT")], "DOUBLE"),
            (&[("col1", "DOUBLE")], "DOUBLE"),
        ],
        no_params,
        Box::new(|args, params| {
            let num = match (args, params) {
                ([Some(SqlType::Decimal { .. })], []) => Some(Num::Double),
                ([Some(t)], []) => Num::of(t),
                _ => None,
            }
            .ok_or_else(|| no_match("AVG", &SIGS, args, params))?;
            let state = struct_type(&[("SUM", num.sql_type()), ("COUNT", SqlType::BigInt)]);
            Ok(bound("AVG", SqlType::Double, state, Avg { num }))
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// MIN and MAX

/// Orders two non-NULL values of one type as Java's `compareTo` does (for DOUBLE: NaN is the
/// greatest, -0.0 below 0.0).
pub(super) fn java_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.total_cmp(y),
        },
        _ => a.sql_cmp(b).unwrap_or(Ordering::Equal),
    }
}

struct MinMax {
    /// `Less` for MIN, `Greater` for MAX: the ordering that makes a new value win.
    wins: Ordering,
}

impl MinMax {
    fn pick(&self, current: Value, candidate: &Value) -> Value {
        if candidate.is_null() {
            return current;
        }
        if current.is_null() || java_cmp(candidate, &current) == self.wins {
            return candidate.clone();
        }
        current
    }
}

impl AggregateImpl for MinMax {
    fn initial(&self) -> Value {
        Value::Null
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        Ok(self.pick(state, arg(args, 0)))
    }
    fn undo(&self, state: Value, _args: &[Value]) -> Result<Value, String> {
        Ok(state)
    }
    fn supports_undo(&self) -> bool {
        false
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        Ok(self.pick(a, &b))
    }
    fn result(&self, state: &Value) -> Value {
        state.clone()
    }
}

fn min_max(name: &'static str, wins: Ordering) -> Arc<dyn AggregateFunction> {
    const SIGS: [&str; 7] = ["INT", "BIGINT", "DOUBLE", "DECIMAL", "DATE", "TIME", "TIMESTAMP"];
    let description = if wins == Ordering::Less {
        "Returns the minimum value of the column in the group; NULLs are ignored."
    } else {
        "Returns the maximum value of the column in the group; NULLs are ignored."
    };
    let sigs: Vec<(&[(&'static str, &str)], &str)> = vec![
        (&[("col1", "INT")], "INT"),
        (&[("col1", "BIGINT")], "BIGINT"),
        (&[("col1", "DOUBLE")], "DOUBLE"),
        (&[("col1", "DECIMAL")], "DECIMAL"),
        (&[("col1", "DATE")], "DATE"),
        (&[("col1", "TIME")], "TIME"),
        (&[("col1", "TIMESTAMP")], "TIMESTAMP"),
    ];
    declare(
        name,
        description,
        &sigs,
        no_params,
        Box::new(move |args, params| match (args, params) {
            ([Some(t)], []) if t.is_numeric() || matches!(t, SqlType::Date | SqlType::Time | SqlType::Timestamp) => {
                Ok(bound(name, t.clone(), t.clone(), MinMax { wins }))
            }
            _ => Err(no_match(name, &SIGS, args, params)),
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

    #[test]
    fn count_star_and_column() {
        let star = bind("COUNT", &[], &[]).unwrap();
        assert_eq!(star.return_type, SqlType::BigInt);
        assert_eq!(run(&star, &[vec![], vec![]]), vec![Value::BigInt(1), Value::BigInt(2)]);
        let c = bind("count", &[Some(SqlType::String)], &[]).unwrap();
        assert_eq!(
            run(&c, &col(&[s("a"), Value::Null, s("b")])),
            vec![Value::BigInt(1), Value::BigInt(1), Value::BigInt(2)]
        );
        assert_eq!(c.imp.result(&c.imp.initial()), Value::BigInt(0));
    }

    #[test]
    fn count_counts_back_to_zero_on_a_table() {
        // ksqlDB's "should count back to zero": two rows in, both retracted.
        let c = bind("COUNT", &[], &[]).unwrap();
        assert!(c.imp.supports_undo());
        let mut st = c.imp.initial();
        let mut seen = Vec::new();
        for _ in 0..2 {
            st = c.imp.add(st, &[]).unwrap();
            seen.push(c.imp.result(&st));
        }
        for _ in 0..2 {
            st = c.imp.undo(st, &[]).unwrap();
            seen.push(c.imp.result(&st));
        }
        let want: Vec<Value> = [1, 2, 1, 0].into_iter().map(Value::BigInt).collect();
        assert_eq!(seen, want);
        // Undoing a NULL column value changes nothing.
        let cc = bind("COUNT", &[Some(SqlType::Int)], &[]).unwrap();
        let st = cc.imp.add(cc.imp.initial(), &[i(1)]).unwrap();
        let st = cc.imp.undo(st, &[Value::Null]).unwrap();
        assert_eq!(cc.imp.result(&st), Value::BigInt(1));
        assert_eq!(
            cc.imp.merge(Value::BigInt(2), Value::BigInt(3)).unwrap(),
            Value::BigInt(5)
        );
    }

    #[test]
    fn count_distinct_estimates_small_sets_exactly() {
        // ksqlDB's count-distinct case: one, two, one, two, (other group), NULL -> 1,2,2,2,2.
        let c = bind("COUNT_DISTINCT", &[Some(SqlType::String)], &[]).unwrap();
        assert!(!c.imp.supports_undo());
        let out = run(&c, &col(&[s("one"), s("two"), s("one"), s("two"), Value::Null]));
        let want: Vec<Value> = [1, 2, 2, 2, 2].into_iter().map(Value::BigInt).collect();
        assert_eq!(out, want);
        assert_eq!(c.imp.result(&c.imp.initial()), Value::BigInt(0));
        let mut st = c.imp.initial();
        for n in 0..1000 {
            st = c.imp.add(st, &[Value::Int(n)]).unwrap();
        }
        let Value::BigInt(est) = c.imp.result(&st) else {
            panic!("not a count")
        };
        assert!((980..=1020).contains(&est), "estimate {est}");
        let other = c.imp.add(c.imp.initial(), &[Value::Int(5000)]).unwrap();
        let merged = c.imp.merge(st, other).unwrap();
        let Value::BigInt(m) = c.imp.result(&merged) else {
            panic!("not a count")
        };
        assert!(m > est - 5 && m <= est + 5, "merged {m} vs {est}");
    }

    #[test]
    fn sum_keeps_the_column_type_and_ignores_nulls() {
        let b = bind("SUM", &[Some(SqlType::Int)], &[]).unwrap();
        assert_eq!(b.return_type, SqlType::Int);
        assert_eq!(b.state_type, SqlType::Int);
        assert_eq!(run(&b, &col(&[i(2), Value::Null, i(3)])), vec![i(2), i(2), i(5)]);
        // Java int arithmetic wraps.
        assert_eq!(run(&b, &col(&[i(i32::MAX), i(1)]))[1], i(i32::MIN));
        let d = bind("SUM", &[Some(SqlType::Double)], &[]).unwrap();
        let out = run(&d, &col(&[Value::Double(10.0), Value::Double(10.0)]));
        assert_eq!(out[1], Value::Double(20.0));
        let big = bind("SUM", &[Some(SqlType::BigInt)], &[]).unwrap();
        assert_eq!(big.imp.result(&big.imp.initial()), Value::BigInt(0));
    }

    #[test]
    fn sum_decimal_keeps_scale_and_reports_overflow() {
        let t = SqlType::Decimal { precision: 4, scale: 2 };
        let b = bind("SUM", &[Some(t.clone())], &[]).unwrap();
        assert_eq!(b.return_type, t);
        let out = run(&b, &col(&[Value::Decimal(125, 2), Value::Decimal(5, 1), Value::Null]));
        assert_eq!(out[1], Value::Decimal(175, 2));
        assert_eq!(out[2], Value::Decimal(175, 2));
        let err = b
            .imp
            .add(Value::Decimal(9_000, 2), &[Value::Decimal(1_000, 2)])
            .unwrap_err();
        assert!(err.starts_with("Numeric field overflow"), "{err}");
        let st = b.imp.undo(Value::Decimal(175, 2), &[Value::Decimal(25, 2)]);
        assert_eq!(st, Ok(Value::Decimal(150, 2)));
    }

    #[test]
    fn sum_undo_and_merge() {
        let b = bind("SUM", &[Some(SqlType::BigInt)], &[]).unwrap();
        assert!(b.imp.supports_undo());
        let st = b.imp.add(b.imp.initial(), &[Value::BigInt(5)]).unwrap();
        let st = b.imp.undo(st, &[Value::BigInt(5)]).unwrap();
        assert_eq!(b.imp.result(&st), Value::BigInt(0));
        assert_eq!(b.imp.merge(Value::BigInt(2), Value::BigInt(4)), Ok(Value::BigInt(6)));
    }

    #[test]
    fn sum_rejects_non_numbers_naming_the_alternatives() {
        let err = bind("SUM", &[Some(SqlType::String)], &[]).unwrap_err();
        assert_eq!(
            err,
            "Function 'SUM' does not accept parameters (STRING). Valid alternatives are: \
             SUM(INT), SUM(BIGINT), SUM(DOUBLE), SUM(DECIMAL)"
        );
        assert!(bind("SUM", &[None], &[]).unwrap_err().contains("(null)"));
        assert!(bind("SUM", &[], &[]).is_err());
    }

    #[test]
    fn sum_list_sums_elements() {
        // ksqlDB's "sum list of longs": [1,1], [2,2], [100,100], [100,100,null].
        let b = bind("SUM_LIST", &[Some(SqlType::Array(Box::new(SqlType::BigInt)))], &[]).unwrap();
        let arr = |v: &[Value]| Value::Array(v.to_vec());
        let l = |n: i64| Value::BigInt(n);
        let out = run(
            &b,
            &col(&[
                arr(&[l(1), l(1)]),
                arr(&[l(2), l(2)]),
                arr(&[l(100), l(100)]),
                arr(&[l(100), l(100), Value::Null]),
                Value::Null,
            ]),
        );
        assert_eq!(out, vec![l(2), l(6), l(206), l(406), l(406)]);
        let st = b.imp.undo(Value::BigInt(406), &[arr(&[l(6)])]).unwrap();
        assert_eq!(st, l(400));
        assert!(bind("SUM_LIST", &[Some(SqlType::Int)], &[]).is_err());
    }

    #[test]
    fn avg_of_ints_and_doubles() {
        // ksqlDB's "average int" for alice: 1, 2, 2, NULL.
        let b = bind("AVG", &[Some(SqlType::Int)], &[]).unwrap();
        assert_eq!(b.return_type, SqlType::Double);
        assert_eq!(
            b.state_type,
            struct_type(&[("SUM", SqlType::Int), ("COUNT", SqlType::BigInt)])
        );
        let out = run(&b, &col(&[i(1), i(2), i(2), Value::Null]));
        assert_eq!(
            out,
            vec![
                Value::Double(1.0),
                Value::Double(1.5),
                Value::Double(1.6666666666666667),
                Value::Double(1.6666666666666667),
            ]
        );
        assert_eq!(b.imp.result(&b.imp.initial()), Value::Double(0.0));
        let d = bind("AVG", &[Some(SqlType::Double)], &[]).unwrap();
        let out = run(
            &d,
            &col(&[Value::Double(2.3), Value::Double(-200000.6), Value::Double(0.0)]),
        );
        assert_eq!(out[1], Value::Double(-99999.15000000001));
        assert_eq!(out[2], Value::Double(-66666.1));
    }

    #[test]
    fn avg_undo_on_a_table() {
        // ksqlDB's "average udaf with table": alice=1, bob=2, alice=NULL, alice=4.
        let b = bind("AVG", &[Some(SqlType::Int)], &[]).unwrap();
        let st = b.imp.add(b.imp.initial(), &[i(1)]).unwrap();
        assert_eq!(b.imp.result(&st), Value::Double(1.0));
        let st = b.imp.add(st, &[i(2)]).unwrap();
        assert_eq!(b.imp.result(&st), Value::Double(1.5));
        let st = b.imp.undo(st, &[i(1)]).unwrap();
        let st = b.imp.add(st, &[Value::Null]).unwrap();
        assert_eq!(b.imp.result(&st), Value::Double(2.0));
        let st = b.imp.undo(st, &[Value::Null]).unwrap();
        let st = b.imp.add(st, &[i(4)]).unwrap();
        assert_eq!(b.imp.result(&st), Value::Double(3.0));
        let merged = b.imp.merge(st.clone(), st).unwrap();
        assert_eq!(b.imp.result(&merged), Value::Double(3.0));
    }

    #[test]
    fn avg_of_decimals_is_a_double_average() {
        let b = bind("AVG", &[Some(SqlType::Decimal { precision: 4, scale: 2 })], &[]).unwrap();
        let out = run(&b, &col(&[Value::Decimal(150, 2), Value::Decimal(250, 2)]));
        assert_eq!(out[1], Value::Double(2.0));
        assert!(bind("AVG", &[Some(SqlType::String)], &[]).is_err());
    }

    #[test]
    fn min_max_ignore_nulls_and_cannot_undo() {
        let min = bind("MIN", &[Some(SqlType::BigInt)], &[]).unwrap();
        let max = bind("MAX", &[Some(SqlType::BigInt)], &[]).unwrap();
        assert!(!min.imp.supports_undo() && !max.imp.supports_undo());
        let rows = col(&[
            Value::Null,
            Value::BigInt(5),
            Value::BigInt(0),
            Value::Null,
            Value::BigInt(6),
        ]);
        assert_eq!(
            run(&min, &rows),
            vec![
                Value::Null,
                Value::BigInt(5),
                Value::BigInt(0),
                Value::BigInt(0),
                Value::BigInt(0)
            ]
        );
        assert_eq!(run(&max, &rows)[4], Value::BigInt(6));
        assert_eq!(max.imp.merge(Value::BigInt(3), Value::Null), Ok(Value::BigInt(3)));
        assert_eq!(min.imp.merge(Value::BigInt(3), Value::BigInt(1)), Ok(Value::BigInt(1)));
    }

    #[test]
    fn min_max_types() {
        for t in [
            SqlType::Int,
            SqlType::Double,
            SqlType::Date,
            SqlType::Time,
            SqlType::Timestamp,
            SqlType::Decimal { precision: 3, scale: 1 },
        ] {
            assert_eq!(bind("MAX", &[Some(t.clone())], &[]).unwrap().return_type, t);
        }
        let err = bind("MIN", &[Some(SqlType::String)], &[]).unwrap_err();
        assert!(
            err.starts_with("Function 'MIN' does not accept parameters (STRING)"),
            "{err}"
        );
        let dec = bind("MAX", &[Some(SqlType::Decimal { precision: 3, scale: 1 })], &[]).unwrap();
        let out = run(&dec, &col(&[Value::Decimal(15, 1), Value::Decimal(-99, 1)]));
        assert_eq!(out[1], Value::Decimal(15, 1));
        let d = bind("MAX", &[Some(SqlType::Double)], &[]).unwrap();
        let out = run(&d, &col(&[Value::Double(1.0), Value::Double(f64::NAN)]));
        assert!(matches!(out[1], Value::Double(x) if x.is_nan()));
    }
}
