//! STDDEV_SAMP, STDDEV_SAMPLE, STDDEV_POP, VAR_SAMP, VAR_POP and CORRELATION.

use std::sync::Arc;

use crate::types::{SqlType, Value};

use super::{AggregateFunction, AggregateImpl, arg, bound, declare, field, no_match, no_params, struct_type};

pub(super) fn all() -> Vec<Arc<dyn AggregateFunction>> {
    vec![
        stddev(true),
        stddev(false),
        moments(Moment::StddevPop),
        moments(Moment::VarSamp),
        moments(Moment::VarPop),
        correlation(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Standard deviation: Youngs-Cramer updates of STRUCT<SUM, COUNT, M2 DOUBLE>.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    BigInt,
    Double,
}

struct StdDev {
    kind: Kind,
    /// STDDEV_SAMP as ksqlDB ships it: an INT count, integer division of the means when
    /// merging integer states, and a result that is the sample *variance* (no square root).
    /// STDDEV_SAMPLE is the corrected function: a BIGINT count and a true standard deviation.
    samp: bool,
}

/// The numeric parts of a state: sum (as i64 or f64), count and M2.
#[derive(Debug, Clone, Copy)]
struct Parts {
    isum: i64,
    fsum: f64,
    count: i64,
    m2: f64,
}

impl StdDev {
    fn parts(&self, state: &Value) -> Parts {
        let sum = field(state, "SUM");
        Parts {
            isum: sum.as_i64().unwrap_or(0),
            fsum: sum.as_f64().unwrap_or(0.0),
            count: field(state, "COUNT").as_i64().unwrap_or(0),
            m2: field(state, "M2").as_f64().unwrap_or(0.0),
        }
    }

    fn state(&self, isum: i64, fsum: f64, count: i64, m2: f64) -> Value {
        let sum = match self.kind {
            Kind::Int => Value::Int(isum as i32),
            Kind::BigInt => Value::BigInt(isum),
            Kind::Double => Value::Double(fsum),
        };
        let count = if self.samp {
            Value::Int(count as i32)
        } else {
            Value::BigInt(count)
        };
        Value::Struct(vec![
            ("SUM".into(), sum),
            ("COUNT".into(), count),
            ("M2".into(), Value::Double(m2)),
        ])
    }

    /// `v * (count + 1) - (sum + v)` in the column's arithmetic (Java int/long wrap-around).
    fn delta(&self, p: &Parts, v: &Value) -> f64 {
        match self.kind {
            Kind::Int => {
                let v = v.as_i64().unwrap_or(0) as i32;
                let c = p.count as i32;
                v.wrapping_mul(c.wrapping_add(1))
                    .wrapping_sub((p.isum as i32).wrapping_add(v)) as f64
            }
            Kind::BigInt => {
                let v = v.as_i64().unwrap_or(0);
                v.wrapping_mul(p.count.wrapping_add(1))
                    .wrapping_sub(p.isum.wrapping_add(v)) as f64
            }
            Kind::Double => {
                let v = v.as_f64().unwrap_or(0.0);
                v * (p.count + 1) as f64 - (p.fsum + v)
            }
        }
    }

    fn sum_plus(&self, p: &Parts, v: &Value, sign: i64) -> (i64, f64) {
        match self.kind {
            Kind::Int => {
                let v = v.as_i64().unwrap_or(0) as i32;
                let s = p.isum as i32;
                let r = if sign > 0 { s.wrapping_add(v) } else { s.wrapping_sub(v) };
                (r as i64, r as f64)
            }
            Kind::BigInt => {
                let v = v.as_i64().unwrap_or(0);
                let r = if sign > 0 {
                    p.isum.wrapping_add(v)
                } else {
                    p.isum.wrapping_sub(v)
                };
                (r, r as f64)
            }
            Kind::Double => {
                let v = v.as_f64().unwrap_or(0.0);
                (0, p.fsum + sign as f64 * v)
            }
        }
    }

    /// The difference of the two states' means, as ksqlDB computes it when merging.
    fn mean_gap(&self, a: &Parts, b: &Parts) -> f64 {
        match self.kind {
            Kind::Int | Kind::BigInt if self.samp => {
                (a.isum.checked_div(a.count).unwrap_or(0) - b.isum.checked_div(b.count).unwrap_or(0)) as f64
            }
            Kind::Int | Kind::BigInt => a.isum as f64 / a.count as f64 - b.isum as f64 / b.count as f64,
            Kind::Double => a.fsum / a.count as f64 - b.fsum / b.count as f64,
        }
    }

    fn input(&self, v: &Value) -> Value {
        match (self.kind, v) {
            (Kind::Double, Value::Decimal(..)) => v.as_f64().map_or(Value::Null, Value::Double),
            _ => v.clone(),
        }
    }
}

impl AggregateImpl for StdDev {
    fn initial(&self) -> Value {
        self.state(0, 0.0, 0, 0.0)
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let v = self.input(arg(args, 0));
        if v.is_null() {
            return Ok(state);
        }
        let p = self.parts(&state);
        let count = p.count + 1;
        let m2 = if count > 1 {
            let d = self.delta(&p, &v);
            d * d / (count as f64 * (count - 1) as f64)
        } else {
            0.0
        };
        let (isum, fsum) = self.sum_plus(&p, &v, 1);
        Ok(self.state(isum, fsum, count, p.m2 + m2))
    }
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let v = self.input(arg(args, 0));
        if v.is_null() {
            return Ok(state);
        }
        let p = self.parts(&state);
        let count = p.count - 1;
        let m2 = if count > 0 {
            let d = self.delta(&p, &v);
            d * d / (count as f64 * (count + 1) as f64)
        } else {
            0.0
        };
        let (isum, fsum) = self.sum_plus(&p, &v, -1);
        Ok(self.state(isum, fsum, count, p.m2 - m2))
    }
    fn supports_undo(&self) -> bool {
        true
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let (pa, pb) = (self.parts(&a), self.parts(&b));
        let count = pa.count + pb.count;
        let m2 = if pa.count == 0 || pb.count == 0 {
            pa.m2 + pb.m2
        } else {
            let gap = self.mean_gap(&pa, &pb);
            pa.m2 + pb.m2 + (pa.count * pb.count) as f64 * gap * gap / count as f64
        };
        let isum = if self.kind == Kind::Int {
            (pa.isum as i32).wrapping_add(pb.isum as i32) as i64
        } else {
            pa.isum.wrapping_add(pb.isum)
        };
        Ok(self.state(isum, pa.fsum + pb.fsum, count, m2))
    }
    fn result(&self, state: &Value) -> Value {
        let p = self.parts(state);
        if p.count < 2 {
            return Value::Double(0.0);
        }
        let variance = p.m2 / (p.count - 1) as f64;
        Value::Double(if self.samp { variance } else { variance.sqrt() })
    }
}

fn stddev(samp: bool) -> Arc<dyn AggregateFunction> {
    let (name, description): (&'static str, &'static str) = if samp {
        (
            "STDDEV_SAMP",
            "Returns the sample standard deviation of the column. As in ksqlDB, the value \
             returned is the sample variance (the square of the standard deviation); NULLs are \
             ignored and fewer than two values give 0.0.",
        )
    } else {
        (
            "STDDEV_SAMPLE",
            "Returns the sample standard deviation of the column; NULLs are ignored and fewer \
             than two values give 0.0.",
        )
    };
    const SIGS: [&str; 3] = ["INT", "BIGINT", "DOUBLE"];
    declare(
        name,
        description,
        &[
            (&[("col1", "INT")], "DOUBLE"),
            (&[("col1", "BIGINT")], "DOUBLE"),
            (&[("col1", "DOUBLE")], "DOUBLE"),
        ],
        no_params,
        Box::new(move |args, params| {
            let kind = match (args, params) {
                ([Some(SqlType::Int)], []) => Kind::Int,
                ([Some(SqlType::BigInt)], []) => Kind::BigInt,
                ([Some(SqlType::Double | SqlType::Decimal { .. })], []) => Kind::Double,
                _ => return Err(no_match(name, &SIGS, args, params)),
            };
            let sum = match kind {
                Kind::Int => SqlType::Int,
                Kind::BigInt => SqlType::BigInt,
                Kind::Double => SqlType::Double,
            };
            let count = if samp { SqlType::Int } else { SqlType::BigInt };
            let state = struct_type(&[("SUM", sum), ("COUNT", count), ("M2", SqlType::Double)]);
            Ok(bound(name, SqlType::Double, state, StdDev { kind, samp }))
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// STDDEV_POP, VAR_SAMP and VAR_POP: Welford/Chan updates of STRUCT<COUNT BIGINT, SUM DOUBLE,
// M2 DOUBLE> in double arithmetic (M2 is the sum of squared deviations from the mean).
//
// ksqlDB does not ship these; they follow the standard definitions. Like ksqlDB's STDDEV_SAMP,
// a group too small for the statistic (no values; one value for VAR_SAMP) gives 0.0 rather
// than NULL, so a table group whose rows were all retracted reads 0.0 as COUNT reads 0.

/// Which second-moment statistic a [`Moments`] accumulator reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// sqrt(M2 / n).
    StddevPop,
    /// M2 / (n - 1).
    VarSamp,
    /// M2 / n.
    VarPop,
}

struct Moments(Moment);

impl Moments {
    fn parts(state: &Value) -> (i64, f64, f64) {
        (
            field(state, "COUNT").as_i64().unwrap_or(0),
            field(state, "SUM").as_f64().unwrap_or(0.0),
            field(state, "M2").as_f64().unwrap_or(0.0),
        )
    }

    fn state(count: i64, sum: f64, m2: f64) -> Value {
        Value::Struct(vec![
            ("COUNT".into(), Value::BigInt(count)),
            ("SUM".into(), Value::Double(sum)),
            ("M2".into(), Value::Double(m2)),
        ])
    }
}

impl AggregateImpl for Moments {
    fn initial(&self) -> Value {
        Self::state(0, 0.0, 0.0)
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let Some(x) = arg(args, 0).as_f64() else {
            return Ok(state);
        };
        let (n, sum, m2) = Self::parts(&state);
        if n <= 0 {
            return Ok(Self::state(1, x, 0.0));
        }
        let old_mean = sum / n as f64;
        let new_mean = (sum + x) / (n + 1) as f64;
        Ok(Self::state(n + 1, sum + x, m2 + (x - old_mean) * (x - new_mean)))
    }
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        let Some(x) = arg(args, 0).as_f64() else {
            return Ok(state);
        };
        let (n, sum, m2) = Self::parts(&state);
        if n <= 1 {
            return Ok(self.initial());
        }
        let cur_mean = sum / n as f64;
        let prev_mean = (sum - x) / (n - 1) as f64;
        let m2 = (m2 - (x - prev_mean) * (x - cur_mean)).max(0.0);
        Ok(Self::state(n - 1, sum - x, m2))
    }
    fn supports_undo(&self) -> bool {
        true
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let (na, sa, ma) = Self::parts(&a);
        let (nb, sb, mb) = Self::parts(&b);
        if na <= 0 {
            return Ok(b);
        }
        if nb <= 0 {
            return Ok(a);
        }
        let n = na + nb;
        let gap = sa / na as f64 - sb / nb as f64;
        let m2 = ma + mb + gap * gap * (na as f64 * nb as f64) / n as f64;
        Ok(Self::state(n, sa + sb, m2))
    }
    fn result(&self, state: &Value) -> Value {
        let (n, _, m2) = Self::parts(state);
        let v = match self.0 {
            Moment::VarSamp if n >= 2 => m2 / (n - 1) as f64,
            Moment::VarPop if n >= 1 => m2 / n as f64,
            Moment::StddevPop if n >= 1 => (m2 / n as f64).sqrt(),
            _ => 0.0,
        };
        Value::Double(v)
    }
}

fn moments(which: Moment) -> Arc<dyn AggregateFunction> {
    let (name, description): (&'static str, &'static str) = match which {
        Moment::StddevPop => (
            "STDDEV_POP",
            "Returns the population standard deviation of the column, sqrt(sum((x - mean)^2) / n); \
             NULLs are ignored and an empty group gives 0.0.",
        ),
        Moment::VarSamp => (
            "VAR_SAMP",
            "Returns the sample variance of the column, sum((x - mean)^2) / (n - 1); NULLs are \
             ignored and fewer than two values give 0.0, as STDDEV_SAMP does.",
        ),
        Moment::VarPop => (
            "VAR_POP",
            "Returns the population variance of the column, sum((x - mean)^2) / n; NULLs are \
             ignored and an empty group gives 0.0.",
        ),
    };
    const SIGS: [&str; 4] = ["INT", "BIGINT", "DOUBLE", "DECIMAL"];
    declare(
        name,
        description,
        &[
            (&[("col1", "INT")], "DOUBLE"),
            (&[("col1", "BIGINT")], "DOUBLE"),
            (&[("col1", "DOUBLE")], "DOUBLE"),
            (&[("col1", "DECIMAL")], "DOUBLE"),
        ],
        no_params,
        Box::new(move |args, params| match (args, params) {
            ([Some(SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. })], []) => {
                let state = struct_type(&[
                    ("COUNT", SqlType::BigInt),
                    ("SUM", SqlType::Double),
                    ("M2", SqlType::Double),
                ]);
                Ok(bound(name, SqlType::Double, state, Moments(which)))
            }
            _ => Err(no_match(name, &SIGS, args, params)),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// CORRELATION: Pearson's coefficient from running sums.

const CORR_FIELDS: [&str; 5] = ["X_SUM", "Y_SUM", "X_SQUARED_SUM", "Y_SQUARED_SUM", "XY_SUM"];

struct Correlation;

impl Correlation {
    fn parts(state: &Value) -> ([f64; 5], i64) {
        let mut sums = [0.0; 5];
        for (s, name) in sums.iter_mut().zip(CORR_FIELDS) {
            *s = field(state, name).as_f64().unwrap_or(0.0);
        }
        (sums, field(state, "COUNT").as_i64().unwrap_or(0))
    }

    fn state(sums: [f64; 5], count: i64) -> Value {
        let mut fields: Vec<(String, Value)> = CORR_FIELDS
            .iter()
            .zip(sums)
            .map(|(n, v)| (n.to_string(), Value::Double(v)))
            .collect();
        fields.push(("COUNT".into(), Value::BigInt(count)));
        Value::Struct(fields)
    }

    fn fold(state: Value, args: &[Value], sign: f64) -> Value {
        let (Some(x), Some(y)) = (arg(args, 0).as_f64(), arg(args, 1).as_f64()) else {
            return state;
        };
        let (mut sums, count) = Self::parts(&state);
        for (s, d) in sums.iter_mut().zip([x, y, x * x, y * y, x * y]) {
            *s += sign * d;
        }
        Self::state(sums, count + sign as i64)
    }
}

impl AggregateImpl for Correlation {
    fn initial(&self) -> Value {
        Self::state([0.0; 5], 0)
    }
    fn add(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        Ok(Self::fold(state, args, 1.0))
    }
    fn undo(&self, state: Value, args: &[Value]) -> Result<Value, String> {
        Ok(Self::fold(state, args, -1.0))
    }
    fn supports_undo(&self) -> bool {
        true
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value, String> {
        let (mut sa, ca) = Self::parts(&a);
        let (sb, cb) = Self::parts(&b);
        for (x, y) in sa.iter_mut().zip(sb) {
            *x += y;
        }
        Ok(Self::state(sa, ca + cb))
    }
    fn result(&self, state: &Value) -> Value {
        let ([sx, sy, sxx, syy, sxy], n) = Self::parts(state);
        let n = n as f64;
        let numerator = n * sxy - sx * sy;
        let denominator = ((n * sxx - sx * sx) * (n * syy - sy * sy)).sqrt();
        Value::Double(numerator / denominator)
    }
}

fn correlation() -> Arc<dyn AggregateFunction> {
    declare(
        "CORRELATION",
        "Computes the Pearson correlation coefficient between two numeric columns, ignoring \
         rows where either is NULL (NaN until it is defined).",
        &[(&[("x", "DOUBLE"), ("y", "DOUBLE")], "DOUBLE")],
        no_params,
        Box::new(|args, params| match (args, params) {
            ([Some(x), Some(y)], []) if x.is_numeric() && y.is_numeric() => {
                let mut fields: Vec<(&str, SqlType)> = CORR_FIELDS.iter().map(|n| (*n, SqlType::Double)).collect();
                fields.push(("COUNT", SqlType::BigInt));
                Ok(bound("CORRELATION", SqlType::Double, struct_type(&fields), Correlation))
            }
            _ => Err(no_match("CORRELATION", &["DOUBLE, DOUBLE"], args, params)),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::BoundAggregate;
    use super::super::testing::{bind, col, run};
    use super::*;

    fn d(v: f64) -> Value {
        Value::Double(v)
    }

    #[test]
    fn stddev_samp_matches_ksqldb() {
        // ksqlDB's "stddev_samp double map": 10, 12, 13, 14, 16.
        let b = bind("STDDEV_SAMP", &[Some(SqlType::Double)], &[]).unwrap();
        assert_eq!(b.return_type, SqlType::Double);
        let out = run(&b, &col(&[d(10.0), d(12.0), d(13.0), d(14.0), d(16.0), Value::Null]));
        assert_eq!(
            out,
            vec![
                d(0.0),
                d(2.0),
                d(2.333333333333333),
                d(2.9166666666666665),
                d(5.0),
                d(5.0)
            ]
        );
        assert_eq!(b.imp.result(&b.imp.initial()), d(0.0));
    }

    #[test]
    fn stddev_undo_and_merge() {
        for name in ["STDDEV_SAMP", "STDDEV_SAMPLE"] {
            for t in [SqlType::Int, SqlType::BigInt, SqlType::Double] {
                let b = bind(name, &[Some(t.clone())], &[]).unwrap();
                assert!(b.imp.supports_undo());
                let v = |n: i32| match t {
                    SqlType::Int => Value::Int(n),
                    SqlType::BigInt => Value::BigInt(n as i64),
                    _ => Value::Double(n as f64),
                };
                let mut all = b.imp.initial();
                for n in [2, 4, 4, 4, 5, 5, 7, 9] {
                    all = b.imp.add(all, &[v(n)]).unwrap();
                }
                // Sample variance of that set is 32/7.
                let want = if name == "STDDEV_SAMP" {
                    32.0 / 7.0
                } else {
                    (32.0f64 / 7.0).sqrt()
                };
                let Value::Double(got) = b.imp.result(&all) else {
                    panic!()
                };
                assert!((got - want).abs() < 1e-9, "{name} {t}: {got}");
                let undone = b.imp.undo(all.clone(), &[v(9)]).unwrap();
                let mut seven = b.imp.initial();
                for n in [2, 4, 4, 4, 5, 5, 7] {
                    seven = b.imp.add(seven, &[v(n)]).unwrap();
                }
                let (Value::Double(x), Value::Double(y)) = (b.imp.result(&undone), b.imp.result(&seven)) else {
                    panic!()
                };
                assert!((x - y).abs() < 1e-9, "{name} {t} undo: {x} vs {y}");
                // Merge of two halves with equal (integer) means is exact in both variants.
                let mut h1 = b.imp.initial();
                for n in [2, 4, 4, 6] {
                    h1 = b.imp.add(h1, &[v(n)]).unwrap();
                }
                let mut h2 = b.imp.initial();
                for n in [5, 3] {
                    h2 = b.imp.add(h2, &[v(n)]).unwrap();
                }
                let mut whole = b.imp.initial();
                for n in [2, 4, 4, 6, 5, 3] {
                    whole = b.imp.add(whole, &[v(n)]).unwrap();
                }
                let merged = b.imp.merge(h1, h2).unwrap();
                let (Value::Double(x), Value::Double(y)) = (b.imp.result(&merged), b.imp.result(&whole)) else {
                    panic!()
                };
                assert!((x - y).abs() < 1e-9, "{name} {t} merge: {x} vs {y}");
            }
        }
        assert!(bind("STDDEV_SAMP", &[Some(SqlType::String)], &[]).is_err());
    }

    fn result_f64(b: &BoundAggregate, st: &Value) -> f64 {
        match b.imp.result(st) {
            Value::Double(x) => x,
            other => panic!("not a double: {other:?}"),
        }
    }

    #[test]
    fn population_and_sample_moments() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squared deviations 32.
        let want = [("STDDEV_POP", 2.0), ("VAR_POP", 4.0), ("VAR_SAMP", 32.0 / 7.0)];
        for (name, expected) in want {
            for t in [SqlType::Int, SqlType::BigInt, SqlType::Double] {
                let b = bind(name, &[Some(t.clone())], &[]).unwrap();
                assert_eq!(b.return_type, SqlType::Double);
                assert!(b.imp.supports_undo());
                let v = |n: i32| match t {
                    SqlType::Int => Value::Int(n),
                    SqlType::BigInt => Value::BigInt(n as i64),
                    _ => Value::Double(n as f64),
                };
                let mut st = b.imp.initial();
                for n in [2, 4, 4, 4, 5, 5, 7, 9] {
                    st = b.imp.add(st, &[v(n)]).unwrap();
                    // NULLs are ignored.
                    st = b.imp.add(st, &[Value::Null]).unwrap();
                }
                let got = result_f64(&b, &st);
                assert!((got - expected).abs() < 1e-9, "{name} {t}: {got}");
                // Undo 9 and 2 equals adding the rest only.
                let undone = b.imp.undo(b.imp.undo(st.clone(), &[v(9)]).unwrap(), &[v(2)]).unwrap();
                let undone = b.imp.undo(undone, &[Value::Null]).unwrap();
                let mut rest = b.imp.initial();
                for n in [4, 4, 4, 5, 5, 7] {
                    rest = b.imp.add(rest, &[v(n)]).unwrap();
                }
                let (x, y) = (result_f64(&b, &undone), result_f64(&b, &rest));
                assert!((x - y).abs() < 1e-9, "{name} {t} undo: {x} vs {y}");
                // Merging halves equals folding the whole.
                let mut h1 = b.imp.initial();
                for n in [2, 4, 4] {
                    h1 = b.imp.add(h1, &[v(n)]).unwrap();
                }
                let mut h2 = b.imp.initial();
                for n in [4, 5, 5, 7, 9] {
                    h2 = b.imp.add(h2, &[v(n)]).unwrap();
                }
                let merged = b.imp.merge(h1, h2).unwrap();
                assert!((result_f64(&b, &merged) - expected).abs() < 1e-9, "{name} {t} merge");
                let merged = b.imp.merge(b.imp.initial(), merged).unwrap();
                assert!(
                    (result_f64(&b, &merged) - expected).abs() < 1e-9,
                    "{name} {t} merge empty"
                );
            }
        }
    }

    #[test]
    fn small_groups_give_zero() {
        for name in ["STDDEV_POP", "VAR_POP", "VAR_SAMP"] {
            let b = bind(name, &[Some(SqlType::Double)], &[]).unwrap();
            assert_eq!(b.imp.result(&b.imp.initial()), d(0.0), "{name} empty");
            let one = b.imp.add(b.imp.initial(), &[d(3.5)]).unwrap();
            assert_eq!(b.imp.result(&one), d(0.0), "{name} single");
            // Retracting the last value returns to the empty state.
            let none = b.imp.undo(one, &[d(3.5)]).unwrap();
            assert_eq!(none, b.imp.initial(), "{name} retracted");
            let two = run(&b, &col(&[d(1.0), d(3.0)]));
            let want = match name {
                "STDDEV_POP" => 1.0,
                "VAR_POP" => 1.0,
                _ => 2.0,
            };
            assert_eq!(two[1], d(want), "{name} pair");
            assert!(bind(name, &[Some(SqlType::String)], &[]).is_err());
            assert!(bind(name, &[None], &[]).is_err());
        }
        let dec = bind("VAR_SAMP", &[Some(SqlType::Decimal { precision: 4, scale: 2 })], &[]);
        assert!(dec.is_ok());
    }

    #[test]
    fn correlation_matches_ksqldb() {
        // ksqlDB's "correlation double" for alice, then bob's NULL y.
        let b = bind("CORRELATION", &[Some(SqlType::Double), Some(SqlType::Double)], &[]).unwrap();
        let out = run(
            &b,
            &[
                vec![d(1.5), d(8.0)],
                vec![d(-1.0), d(-2.0)],
                vec![d(-4.5), d(-1.0)],
                vec![Value::Null, d(-6.0)],
            ],
        );
        assert!(matches!(out[0], Value::Double(x) if x.is_nan()));
        assert_eq!(out[1], d(1.0));
        assert_eq!(out[2], d(0.7580764521133173));
        assert_eq!(out[3], out[2]);
        let ints = bind("CORRELATION", &[Some(SqlType::Int), Some(SqlType::BigInt)], &[]).unwrap();
        let i = Value::Int;
        let l = Value::BigInt;
        let out = run(&ints, &[vec![i(1), l(8)], vec![i(-1), l(-2)], vec![i(-4), l(-1)]]);
        assert_eq!(out[2], d(0.7455284088780169));
    }

    #[test]
    fn correlation_undo_on_a_table() {
        // ksqlDB's "correlation udaf with table".
        let b = bind("CORRELATION", &[Some(SqlType::Double), Some(SqlType::Double)], &[]).unwrap();
        let st = b.imp.add(b.imp.initial(), &[d(1.5), d(8.0)]).unwrap();
        let st = b.imp.add(st, &[d(-3.5), d(-2.0)]).unwrap();
        assert_eq!(b.imp.result(&st), d(1.0));
        let st = b.imp.undo(st, &[d(1.5), d(8.0)]).unwrap();
        assert!(matches!(b.imp.result(&st), Value::Double(x) if x.is_nan()));
        let st = b.imp.add(st, &[d(-1.0), d(-2.0)]).unwrap();
        let st = b.imp.add(st, &[d(-4.5), d(-1.0)]).unwrap();
        assert_eq!(b.imp.result(&st), d(-0.7205766921228921));
        assert!(bind("CORRELATION", &[Some(SqlType::Double)], &[]).is_err());
    }
}
