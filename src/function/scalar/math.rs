//! Mathematical functions. Floating-point functions take DOUBLE (INT, BIGINT and DECIMAL widen
//! to it); ABS, CEIL, FLOOR, ROUND and TRUNC keep exact types for integers and decimals.

use std::cmp::Ordering;

use crate::function::Lambda;
use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value};

const CAT: &str = "MATHEMATICAL";

/// A DOUBLE → DOUBLE function: name, description, implementation.
type Unary = (&'static str, &'static str, fn(f64) -> f64);

/// The DOUBLE → DOUBLE functions.
const UNARY: [Unary; 17] = [
    ("ACOS", "The inverse cosine, in radians.", f64::acos),
    ("ASIN", "The inverse sine, in radians.", f64::asin),
    ("ATAN", "The inverse tangent, in radians.", f64::atan),
    ("CBRT", "The cube root.", f64::cbrt),
    ("COS", "The cosine of an angle in radians.", f64::cos),
    ("COSH", "The hyperbolic cosine.", f64::cosh),
    ("COT", "The cotangent of an angle in radians.", |x| 1.0 / x.tan()),
    ("DEGREES", "Converts radians to degrees.", f64::to_degrees),
    ("EXP", "e raised to the power of the value.", f64::exp),
    ("LN", "The natural logarithm.", f64::ln),
    ("RADIANS", "Converts degrees to radians.", f64::to_radians),
    ("SIN", "The sine of an angle in radians.", f64::sin),
    ("SINH", "The hyperbolic sine.", f64::sinh),
    ("SQRT", "The square root.", f64::sqrt),
    ("TAN", "The tangent of an angle in radians.", f64::tan),
    ("TANH", "The hyperbolic tangent.", f64::tanh),
    (
        "LOG",
        "The natural logarithm, or the logarithm in a given base.",
        f64::ln,
    ),
];

pub(super) fn register(v: &mut Vec<Builtin>) {
    for (i, (name, desc, _)) in UNARY.iter().enumerate() {
        // Function pointers cannot capture, so each entry dispatches by its index.
        let imp: crate::function::sig::ImplFn = match i {
            0 => |a, r, l| unary(a, r, l, 0),
            1 => |a, r, l| unary(a, r, l, 1),
            2 => |a, r, l| unary(a, r, l, 2),
            3 => |a, r, l| unary(a, r, l, 3),
            4 => |a, r, l| unary(a, r, l, 4),
            5 => |a, r, l| unary(a, r, l, 5),
            6 => |a, r, l| unary(a, r, l, 6),
            7 => |a, r, l| unary(a, r, l, 7),
            8 => |a, r, l| unary(a, r, l, 8),
            9 => |a, r, l| unary(a, r, l, 9),
            10 => |a, r, l| unary(a, r, l, 10),
            11 => |a, r, l| unary(a, r, l, 11),
            12 => |a, r, l| unary(a, r, l, 12),
            13 => |a, r, l| unary(a, r, l, 13),
            14 => |a, r, l| unary(a, r, l, 14),
            15 => |a, r, l| unary(a, r, l, 15),
            _ => |a, r, l| unary(a, r, l, 16),
        };
        let mut f = func(name, CAT, desc, imp).sig(&[("value", "DOUBLE")], "DOUBLE");
        if *name == "LOG" {
            f = f.sig(&[("base", "DOUBLE"), ("value", "DOUBLE")], "DOUBLE");
        }
        v.push(f);
    }
    v.push(
        func(
            "ATAN2",
            CAT,
            "The angle of the point (x, y), from atan2(y, x).",
            |a, _, _| binary(a, f64::atan2),
        )
        .sig(&[("y", "DOUBLE"), ("x", "DOUBLE")], "DOUBLE"),
    );
    v.push(
        func("POWER", CAT, "A base raised to an exponent.", |a, _, _| {
            binary(a, f64::powf)
        })
        .sig(&[("base", "DOUBLE"), ("exponent", "DOUBLE")], "DOUBLE"),
    );
    v.push(
        func("PI", CAT, "The constant pi.", |_, _, _| {
            Ok(Value::Double(std::f64::consts::PI))
        })
        .sig(&[], "DOUBLE"),
    );
    v.push(
        func("RANDOM", CAT, "A random DOUBLE in [0, 1).", |_, _, _| {
            // 53 random bits make a uniformly spaced double below 1.
            let bits = super::string::random_u64() >> 11;
            Ok(Value::Double(bits as f64 / (1u64 << 53) as f64))
        })
        .sig(&[], "DOUBLE"),
    );
    v.push(
        func("SIGN", CAT, "The sign of a value: -1, 0 or 1.", |a, _, _| {
            Ok(match arg::get(a, 0) {
                Value::Int(x) => Value::Int(x.signum()),
                Value::BigInt(x) => Value::Int(x.signum() as i32),
                v => match v.as_f64() {
                    // Java's Math.signum keeps NaN, which (int) turns into 0.
                    Some(x) if x > 0.0 => Value::Int(1),
                    Some(x) if x < 0.0 => Value::Int(-1),
                    Some(_) => Value::Int(0),
                    None => Value::Null,
                },
            })
        })
        .sig(&[("value", "INT")], "INT")
        .sig(&[("value", "BIGINT")], "INT")
        .sig(&[("value", "DOUBLE")], "INT"),
    );
    v.push(
        func("ABS", CAT, "The absolute value.", |a, _, _| {
            Ok(match arg::get(a, 0) {
                Value::Int(x) => Value::Int(x.wrapping_abs()),
                Value::BigInt(x) => Value::BigInt(x.wrapping_abs()),
                Value::Double(x) => Value::Double(x.abs()),
                Value::Decimal(u, s) => Value::Decimal(u.abs(), *s),
                _ => Value::Null,
            })
        })
        .sig(&[("value", "INT")], "INT")
        .sig(&[("value", "BIGINT")], "BIGINT")
        .sig(&[("value", "DOUBLE")], "DOUBLE")
        .sig_with(&[("value", "DECIMAL")], "DECIMAL", same_type),
    );
    for (name, desc, mode) in [
        ("CEIL", "The smallest integer not below the value.", Mode::Ceil),
        ("FLOOR", "The largest integer not above the value.", Mode::Floor),
    ] {
        let imp: crate::function::sig::ImplFn = if mode == Mode::Ceil {
            |a, _, _| ceil_floor(a, Mode::Ceil)
        } else {
            |a, _, _| ceil_floor(a, Mode::Floor)
        };
        v.push(
            func(name, CAT, desc, imp)
                .sig(&[("value", "INT")], "INT")
                .sig(&[("value", "BIGINT")], "BIGINT")
                .sig(&[("value", "DOUBLE")], "DOUBLE")
                .sig_with(&[("value", "DECIMAL")], "DECIMAL", same_type),
        );
    }
    for (name, desc, mode) in [
        (
            "ROUND",
            "Rounds to a number of decimal places (default 0; negative rounds left of the \
             point); halves round towards positive infinity.",
            Mode::HalfUp,
        ),
        (
            "TRUNC",
            "Truncates to a number of decimal places (default 0; negative truncates left of \
             the point).",
            Mode::Down,
        ),
    ] {
        let imp: crate::function::sig::ImplFn = if mode == Mode::HalfUp {
            |a, r, _| round_trunc(a, r, Mode::HalfUp)
        } else {
            |a, r, _| round_trunc(a, r, Mode::Down)
        };
        v.push(
            func(name, CAT, desc, imp)
                .sig(&[("value", "INT")], "BIGINT")
                .sig(&[("value", "BIGINT")], "BIGINT")
                .sig(&[("value", "DOUBLE")], "BIGINT")
                .sig(&[("value", "DOUBLE"), ("places", "INT")], "DOUBLE")
                .sig_with(&[("value", "DECIMAL")], "DECIMAL", integral_decimal)
                .sig_with(&[("value", "DECIMAL"), ("places", "INT")], "DECIMAL", same_type),
        );
    }
    v.push(
        func(
            "GREATEST",
            CAT,
            "The largest of the non-NULL arguments; strings are read as dates, times or \
             timestamps when compared with them.",
            |a, r, _| extreme(a, r, Ordering::Greater),
        )
        .sig_full(
            &[("values", "ANY")],
            "T",
            true,
            Some(|t| extreme_type("GREATEST", t)),
            "",
        )
        .lenient(),
    );
    v.push(
        func(
            "LEAST",
            CAT,
            "The smallest of the non-NULL arguments; strings are read as dates, times or \
             timestamps when compared with them.",
            |a, r, _| extreme(a, r, Ordering::Less),
        )
        .sig_full(&[("values", "ANY")], "T", true, Some(|t| extreme_type("LEAST", t)), "")
        .lenient(),
    );
}

fn unary(a: &[Value], _: &SqlType, _: &[Lambda<'_>], i: usize) -> Result<Value, String> {
    let f = UNARY[i].2;
    if a.len() == 2 {
        // LOG(base, value)
        return binary(a, |base, x| {
            if base <= 0.0 || base == 1.0 {
                f64::NAN
            } else {
                x.ln() / base.ln()
            }
        });
    }
    Ok(arg::num(a, 0)?.map_or(Value::Null, |x| Value::Double(f(x))))
}

fn binary(a: &[Value], f: fn(f64, f64) -> f64) -> Result<Value, String> {
    Ok(match (arg::num(a, 0)?, arg::num(a, 1)?) {
        (Some(x), Some(y)) => Value::Double(f(x, y)),
        _ => Value::Null,
    })
}

fn same_type(args: &[Option<SqlType>]) -> Result<SqlType, String> {
    decimal_of(args.first().cloned().flatten())
}

/// DECIMAL(p, s) for an argument that may be a widened INT or BIGINT.
fn decimal_of(t: Option<SqlType>) -> Result<SqlType, String> {
    let (precision, scale) = t
        .as_ref()
        .and_then(SqlType::decimal_bounds)
        .ok_or("expected a DECIMAL argument")?;
    Ok(SqlType::Decimal { precision, scale })
}

/// ROUND(DECIMAL(p, s)) and TRUNC(DECIMAL(p, s)) give DECIMAL(p - s, 0).
fn integral_decimal(args: &[Option<SqlType>]) -> Result<SqlType, String> {
    match decimal_of(args.first().cloned().flatten())? {
        SqlType::Decimal { precision, scale } => Ok(SqlType::Decimal {
            precision: (precision as i16 - scale as i16).clamp(1, 38) as u8,
            scale: 0,
        }),
        t => Ok(t),
    }
}

/// How a decimal is cut to fewer places.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Java's Math.round: nearest, halves towards positive infinity.
    HalfUp,
    /// Towards zero.
    Down,
    Floor,
    Ceil,
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Rounds `unscaled × 10^-scale` to `places` decimal places, keeping `scale`. `None` when the
/// result does not fit in 38 digits.
fn round_unscaled(unscaled: i128, scale: i32, places: i32, mode: Mode) -> Option<i128> {
    if places >= scale {
        return Some(unscaled);
    }
    let Some(div) = pow10((scale - places) as u32) else {
        // Dropping more than 38 digits leaves zero (or one unit for CEIL/FLOOR), which cannot
        // be expressed at this scale anyway.
        return match mode {
            Mode::Ceil if unscaled > 0 => None,
            Mode::Floor if unscaled < 0 => None,
            _ => Some(0),
        };
    };
    let q = unscaled / div;
    let r = unscaled % div;
    let q = match mode {
        Mode::Down => q,
        Mode::Floor => {
            if r < 0 {
                q - 1
            } else {
                q
            }
        }
        Mode::Ceil => {
            if r > 0 {
                q + 1
            } else {
                q
            }
        }
        Mode::HalfUp => {
            let twice = r.checked_mul(2)?;
            if r > 0 && twice >= div {
                q + 1
            } else if r < 0 && -twice > div {
                q - 1
            } else {
                q
            }
        }
    };
    q.checked_mul(div)
}

fn ceil_floor(a: &[Value], mode: Mode) -> Result<Value, String> {
    Ok(match arg::get(a, 0) {
        v @ (Value::Int(_) | Value::BigInt(_)) => v.clone(),
        Value::Double(x) => Value::Double(if mode == Mode::Ceil { x.ceil() } else { x.floor() }),
        Value::Decimal(u, s) => Value::Decimal(round_unscaled(*u, *s as i32, 0, mode).ok_or("decimal overflow")?, *s),
        _ => Value::Null,
    })
}

/// A double's shortest decimal form as (unscaled, scale), as Java's BigDecimal.valueOf reads it.
fn double_to_decimal(x: f64) -> Option<(i128, i32)> {
    let text = format!("{x:e}");
    let (mantissa, exp) = text.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let unscaled: i128 = format!("{int}{frac}").parse().ok()?;
    Some((unscaled, frac.len() as i32 - exp))
}

fn round_double(x: f64, places: i64, mode: Mode) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let places = places.clamp(-400, 400) as i32;
    match double_to_decimal(x).and_then(|(u, s)| Some((round_unscaled(u, s, places, mode)?, s))) {
        Some((u, s)) => format!("{u}e{}", -s).parse().unwrap_or(x),
        None => x,
    }
}

fn round_trunc(a: &[Value], ret: &SqlType, mode: Mode) -> Result<Value, String> {
    let places = if a.len() > 1 {
        match arg::int(a, 1)? {
            Some(p) => Some(p),
            None => return Ok(Value::Null),
        }
    } else {
        None
    };
    Ok(match (arg::get(a, 0), places) {
        (Value::Int(x), _) => Value::BigInt(*x as i64),
        (Value::BigInt(x), _) => Value::BigInt(*x),
        (Value::Double(x), None) => Value::BigInt(match mode {
            Mode::HalfUp => {
                let f = x.floor();
                (if x - f >= 0.5 { f + 1.0 } else { f }) as i64
            }
            _ => *x as i64,
        }),
        (Value::Double(x), Some(p)) => Value::Double(round_double(*x, p, mode)),
        (Value::Decimal(u, s), p) => {
            let places = p.unwrap_or(0).clamp(-100, 100) as i32;
            let rounded = round_unscaled(*u, *s as i32, places, mode).ok_or("decimal overflow")?;
            // The result keeps the argument's scale; `conform` moves it to the declared one.
            let _ = ret;
            Value::Decimal(rounded, *s)
        }
        _ => Value::Null,
    })
}

/// The overloads of GREATEST/LEAST, `(T, T...)`: one per type, DECIMAL of any precision.
#[derive(Clone, Copy, PartialEq)]
enum Overload {
    Of(&'static SqlType),
    Decimal,
}

const EXTREME_OVERLOADS: &[Overload] = &[
    Overload::Of(&SqlType::Int),
    Overload::Of(&SqlType::BigInt),
    Overload::Of(&SqlType::Double),
    Overload::Of(&SqlType::String),
    Overload::Decimal,
    Overload::Of(&SqlType::Bytes),
    Overload::Of(&SqlType::Date),
    Overload::Of(&SqlType::Time),
    Overload::Of(&SqlType::Timestamp),
];

/// Numbers widen INT → BIGINT → DECIMAL → DOUBLE in ksqlDB's implicit casts.
fn numeric_rank(t: &SqlType) -> Option<u8> {
    match t {
        SqlType::Int => Some(0),
        SqlType::BigInt => Some(1),
        SqlType::Decimal { .. } => Some(2),
        SqlType::Double => Some(3),
        _ => None,
    }
}

impl Overload {
    fn takes_exactly(self, t: &SqlType) -> bool {
        match self {
            Overload::Of(o) => o == t,
            Overload::Decimal => matches!(t, SqlType::Decimal { .. }),
        }
    }

    /// Whether ksqlDB casts `t` to this overload's type implicitly: numbers widen, and a
    /// STRING reads as a DATE, TIME or TIMESTAMP.
    fn takes_with_cast(self, t: &SqlType) -> bool {
        let rank = match self {
            Overload::Of(o) => numeric_rank(o),
            Overload::Decimal => Some(2),
        };
        match (numeric_rank(t), rank) {
            (Some(from), Some(to)) => from <= to,
            _ => {
                self.takes_exactly(t)
                    || (*t == SqlType::String
                        && matches!(self, Overload::Of(SqlType::Date | SqlType::Time | SqlType::Timestamp)))
            }
        }
    }
}

/// GREATEST/LEAST resolve as ksqlDB's overloads do: the overload whose type every non-NULL
/// argument has, else the overloads every argument casts to implicitly: one is the answer,
/// several are ambiguous (`(INTEGER, BIGINT)` casts to BIGINT, DECIMAL and DOUBLE alike),
/// none is an error. NULL arguments fit any overload.
fn extreme_type(name: &str, args: &[Option<SqlType>]) -> Result<SqlType, String> {
    let known: Vec<&SqlType> = args.iter().flatten().collect();
    let described = args
        .iter()
        .map(|a| a.as_ref().map_or("null".to_string(), |t| t.to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    let name = super::super::display_name(name);
    let ambiguous = || {
        format!(
            "Function '{name}' cannot be resolved due to ambiguous method parameters ({described}).\nUse \
             CAST() to explicitly cast your parameters to one of the supported function calls."
        )
    };
    if args.is_empty() {
        return Err(format!("Function '{name}' does not accept parameters ()."));
    }
    if known.is_empty() {
        return Err(ambiguous());
    }
    let chosen = match EXTREME_OVERLOADS
        .iter()
        .find(|o| known.iter().all(|t| o.takes_exactly(t)))
    {
        Some(exact) => *exact,
        None => {
            let castable: Vec<&Overload> = EXTREME_OVERLOADS
                .iter()
                .filter(|o| known.iter().all(|t| o.takes_with_cast(t)))
                .collect();
            match castable.as_slice() {
                [one] => **one,
                [] => return Err(format!("Function '{name}' does not accept parameters ({described}).")),
                _ => return Err(ambiguous()),
            }
        }
    };
    match chosen {
        Overload::Of(t) => Ok(t.clone()),
        // Only DECIMAL arguments reach the DECIMAL overload: any other numeric one would fit
        // DOUBLE as well, which is ambiguous.
        Overload::Decimal => known
            .iter()
            .skip(1)
            .try_fold(known[0].clone(), |acc, t| SqlType::common(&acc, t))
            .ok_or_else(ambiguous),
    }
}

fn extreme(a: &[Value], ret: &SqlType, want: Ordering) -> Result<Value, String> {
    let mut best: Option<Value> = None;
    for v in a.iter().filter(|v| !v.is_null()) {
        let v = match (v, ret) {
            (Value::String(s), SqlType::Date | SqlType::Time | SqlType::Timestamp) => {
                super::datetime::parse_literal(s, ret)?
            }
            _ => v.clone(),
        };
        best = match best {
            Some(b) if v.sql_cmp(&b) != Some(want) => Some(b),
            _ => Some(v),
        };
    }
    Ok(best.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use crate::function::FunctionRegistry;
    use crate::function::testing::{call, s};
    use crate::types::{SqlType, Value};

    fn round13(v: Result<Value, String>) -> f64 {
        match v {
            Ok(Value::Double(x)) => (x * 1e13).round() / 1e13,
            other => panic!("not a double: {other:?}"),
        }
    }

    #[test]
    // Expected values are ksqlDB's outputs rounded to 13 places, not approximations of pi.
    #[allow(clippy::approx_constant)]
    fn floating_functions() {
        assert_eq!(round13(call("ASIN", &[Value::Int(-1)])), -1.5707963267949);
        assert_eq!(round13(call("ATAN", &[Value::Double(0.43)])), 0.4060980583176);
        assert_eq!(
            round13(call("ATAN2", &[Value::Int(-2), Value::Int(-3)])),
            -2.5535900500422
        );
        assert_eq!(call("LOG", &[Value::Int(13)]), Ok(Value::Double(13f64.ln())));
        assert_eq!(call("LOG", &[Value::Int(0)]), Ok(Value::Double(f64::NEG_INFINITY)));
        assert_eq!(
            call("LOG", &[Value::Int(15), Value::Int(13)]),
            Ok(Value::Double(0.9471572411831843))
        );
        assert!(matches!(call("LOG", &[Value::Int(-15), Value::Int(13)]), Ok(Value::Double(x)) if x.is_nan()));
        assert_eq!(
            call("POWER", &[Value::Int(15), Value::Int(-1)]),
            Ok(Value::Double(0.06666666666666667))
        );
        assert_eq!(call("POWER", &[Value::Int(0), Value::Int(0)]), Ok(Value::Double(1.0)));
        assert_eq!(call("SQRT", &[Value::Null]), Ok(Value::Null));
        assert_eq!(call("SQRT", &[Value::Decimal(400, 2)]), Ok(Value::Double(2.0)));
        assert!(matches!(call("RANDOM", &[]), Ok(Value::Double(x)) if (0.0..1.0).contains(&x)));
    }

    #[test]
    fn exact_functions() {
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            ("ABS", vec![Value::Int(-3)], Value::Int(3)),
            ("ABS", vec![Value::Decimal(-125, 2)], Value::Decimal(125, 2)),
            ("SIGN", vec![Value::Double(-0.5)], Value::Int(-1)),
            ("SIGN", vec![Value::BigInt(0)], Value::Int(0)),
            ("CEIL", vec![Value::Double(1.2)], Value::Double(2.0)),
            ("FLOOR", vec![Value::Decimal(-125, 2)], Value::Decimal(-200, 2)),
            ("CEIL", vec![Value::Decimal(-125, 2)], Value::Decimal(-100, 2)),
            ("ROUND", vec![Value::Double(1.5)], Value::BigInt(2)),
            ("ROUND", vec![Value::Double(-1.5)], Value::BigInt(-1)),
            ("ROUND", vec![Value::Double(-1.6)], Value::BigInt(-2)),
            ("ROUND", vec![Value::Int(7)], Value::BigInt(7)),
            ("ROUND", vec![Value::Double(1.2345), Value::Int(2)], Value::Double(1.23)),
            ("ROUND", vec![Value::Double(1.235), Value::Int(2)], Value::Double(1.24)),
            (
                "ROUND",
                vec![Value::Double(-1.235), Value::Int(2)],
                Value::Double(-1.23),
            ),
            (
                "ROUND",
                vec![Value::Double(1234.5), Value::Int(-2)],
                Value::Double(1200.0),
            ),
            ("ROUND", vec![Value::Double(1.5), Value::Null], Value::Null),
            ("TRUNC", vec![Value::Double(-1.7)], Value::BigInt(-1)),
            (
                "TRUNC",
                vec![Value::Double(12345.678), Value::Int(2)],
                Value::Double(12345.67),
            ),
            (
                "TRUNC",
                vec![Value::Double(111.0), Value::Int(-1)],
                Value::Double(110.0),
            ),
            (
                "GREATEST",
                vec![Value::Int(1), Value::Null, Value::Int(5)],
                Value::Int(5),
            ),
            (
                "GREATEST",
                vec![Value::Decimal(123456789, 2), Value::Decimal(123456, 6)],
                Value::Decimal(1234567890000, 6),
            ),
            ("LEAST", vec![s("apple"), s("aardvark"), Value::Null], s("aardvark")),
            ("LEAST", vec![Value::Date(19071), s("2022-06-14")], Value::Date(19071)),
            (
                "GREATEST",
                vec![Value::Date(19071), s("2022-06-14")],
                Value::Date(19157),
            ),
            ("GREATEST", vec![Value::Time(10), s("09:16:00")], Value::Time(33360000)),
            (
                "GREATEST",
                vec![Value::Timestamp(0), s("2022-06-14")],
                Value::Timestamp(1655164800000),
            ),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
        assert!(call("GREATEST", &[s("a"), Value::Int(1)]).is_err());
        assert!(call("LEAST", &[]).is_err());
    }

    #[test]
    fn decimal_round_keeps_ksqldb_types() {
        let reg = FunctionRegistry::new();
        let round = reg.scalar("ROUND").unwrap();
        let dec = SqlType::Decimal {
            precision: 33,
            scale: 16,
        };
        let v = Value::Decimal(123456789876543212345678987654321, 16);
        let r0 = round.return_type(&[Some(dec.clone())]).unwrap();
        assert_eq!(
            r0,
            SqlType::Decimal {
                precision: 17,
                scale: 0
            }
        );
        assert_eq!(
            round.invoke(std::slice::from_ref(&v), &r0, &[]),
            Ok(Value::Decimal(12345678987654321, 0))
        );
        let r2 = round.return_type(&[Some(dec.clone()), Some(SqlType::Int)]).unwrap();
        assert_eq!(r2, dec);
        let got = round.invoke(&[v.clone(), Value::Int(2)], &r2, &[]).unwrap();
        assert_eq!(got.to_string(), "12345678987654321.2300000000000000");
        let got = round.invoke(&[v.clone(), Value::Int(-2)], &r2, &[]).unwrap();
        assert_eq!(got.to_string(), "12345678987654300.0000000000000000");
        let trunc = reg.scalar("TRUNC").unwrap();
        let got = trunc.invoke(
            &[Value::Decimal(-17, 1)],
            &SqlType::Decimal { precision: 5, scale: 0 },
            &[],
        );
        assert_eq!(got, Ok(Value::Decimal(-1, 0)));
    }
}
