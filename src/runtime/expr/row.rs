//! Row-wise evaluation: the reference semantics of every expression, used for the shapes
//! without a vectorised kernel and inside lambdas.

use std::cell::RefCell;
use std::cmp::Ordering;

use arrow_array::ArrayRef;

use super::{BinaryOp, PhysicalExpr, cast_value};
use crate::types::arrow::value_at;
use crate::types::{SqlType, Value};

/// One row of a batch, read column by column on demand.
pub struct RowCtx<'a> {
    /// The batch's columns.
    pub columns: &'a [ArrayRef],
    /// The row.
    pub row: usize,
}

/// Evaluates `expr` for one row. `env` holds the lambda parameters in scope. Any failure,
/// a function call's included, fails the whole evaluation (INSERT VALUES, planning-time
/// constants); see [`eval_value_logged`] for the per-record semantics of a query.
pub fn eval_value(expr: &PhysicalExpr, ctx: &RowCtx<'_>, env: &mut Vec<Value>) -> Result<Value, String> {
    eval(expr, ctx, env, None)
}

/// Evaluates `expr` for one row as a query does: a function call that fails yields NULL for
/// that call only — the enclosing expression goes on with the NULL, as in ksqlDB — and its
/// message is appended to `errors`. Other failures (division by zero, a failed cast) still
/// fail the whole evaluation.
pub fn eval_value_logged(
    expr: &PhysicalExpr,
    ctx: &RowCtx<'_>,
    env: &mut Vec<Value>,
    errors: &mut Vec<String>,
) -> Result<Value, String> {
    let sink = RefCell::new(std::mem::take(errors));
    let result = eval(expr, ctx, env, Some(&sink));
    *errors = sink.into_inner();
    result
}

/// Where failed function calls are reported; `None` makes them fail the evaluation.
type CallErrors<'s> = Option<&'s RefCell<Vec<String>>>;

fn eval(expr: &PhysicalExpr, ctx: &RowCtx<'_>, env: &mut Vec<Value>, sink: CallErrors<'_>) -> Result<Value, String> {
    Ok(match expr {
        PhysicalExpr::Column { index, .. } => match ctx.columns.get(*index) {
            Some(col) => value_at(col.as_ref(), ctx.row),
            None => return Err(format!("column index {index} out of range")),
        },
        PhysicalExpr::Literal { value, .. } => value.clone(),
        PhysicalExpr::Binary {
            op: BinaryOp::And,
            left,
            right,
            ..
        } => {
            // Three-valued logic: FALSE wins over NULL.
            let l = eval(left, ctx, env, sink)?;
            if l == Value::Boolean(false) {
                return Ok(l);
            }
            let r = eval(right, ctx, env, sink)?;
            match (l, r) {
                (_, Value::Boolean(false)) => Value::Boolean(false),
                (Value::Boolean(true), Value::Boolean(true)) => Value::Boolean(true),
                _ => Value::Null,
            }
        }
        PhysicalExpr::Binary {
            op: BinaryOp::Or,
            left,
            right,
            ..
        } => {
            let l = eval(left, ctx, env, sink)?;
            if l == Value::Boolean(true) {
                return Ok(l);
            }
            let r = eval(right, ctx, env, sink)?;
            match (l, r) {
                (_, Value::Boolean(true)) => Value::Boolean(true),
                (Value::Boolean(false), Value::Boolean(false)) => Value::Boolean(false),
                _ => Value::Null,
            }
        }
        PhysicalExpr::Binary { op, left, right, ty } => {
            let l = eval(left, ctx, env, sink)?;
            let r = eval(right, ctx, env, sink)?;
            binary(*op, &l, &r, ty)?
        }
        PhysicalExpr::Not(e) => match eval(e, ctx, env, sink)? {
            Value::Boolean(b) => Value::Boolean(!b),
            _ => Value::Null,
        },
        PhysicalExpr::Negate(e) => match eval(e, ctx, env, sink)? {
            Value::Int(v) => Value::Int(v.wrapping_neg()),
            Value::BigInt(v) => Value::BigInt(v.wrapping_neg()),
            Value::Double(v) => Value::Double(-v),
            Value::Decimal(u, s) => Value::Decimal(-u, s),
            _ => Value::Null,
        },
        PhysicalExpr::IsNull { expr, negated } => Value::Boolean(eval(expr, ctx, env, sink)?.is_null() != *negated),
        PhysicalExpr::IsDistinctFrom { left, right, negated } => {
            let l = eval(left, ctx, env, sink)?;
            let r = eval(right, ctx, env, sink)?;
            let same = match (&l, &r) {
                (Value::Null, Value::Null) => true,
                (Value::Null, _) | (_, Value::Null) => false,
                _ => l.sql_cmp(&r) == Some(Ordering::Equal) || l == r,
            };
            Value::Boolean(same == *negated)
        }
        PhysicalExpr::Like {
            expr,
            pattern,
            escape,
            negated,
        } => match (eval(expr, ctx, env, sink)?, eval(pattern, ctx, env, sink)?) {
            (Value::String(s), Value::String(p)) => Value::Boolean(like_match(&s, &p, *escape) != *negated),
            _ => Value::Null,
        },
        PhysicalExpr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let v = eval(expr, ctx, env, sink)?;
            let lo = eval(low, ctx, env, sink)?;
            let hi = eval(high, ctx, env, sink)?;
            match (v.sql_cmp(&lo), v.sql_cmp(&hi)) {
                (Some(a), Some(b)) => Value::Boolean((a != Ordering::Less && b != Ordering::Greater) != *negated),
                // NULL anywhere: false, whether negated or not (ksqlDB).
                _ => Value::Boolean(false),
            }
        }
        PhysicalExpr::InList { expr, list, negated } => {
            let v = eval(expr, ctx, env, sink)?;
            // ksqlDB: a NULL operand is in no list and out of none; NULL items never match.
            if v.is_null() {
                return Ok(Value::Boolean(false));
            }
            for item in list {
                let c = eval(item, ctx, env, sink)?;
                if !c.is_null() && (v.sql_cmp(&c) == Some(Ordering::Equal) || v == c) {
                    return Ok(Value::Boolean(!*negated));
                }
            }
            Value::Boolean(*negated)
        }
        PhysicalExpr::Case {
            branches, else_result, ..
        } => {
            for (cond, result) in branches {
                if eval(cond, ctx, env, sink)? == Value::Boolean(true) {
                    return eval(result, ctx, env, sink);
                }
            }
            match else_result {
                Some(e) => eval(e, ctx, env, sink)?,
                None => Value::Null,
            }
        }
        PhysicalExpr::Cast { expr, to } => cast_value(eval(expr, ctx, env, sink)?, to)?,
        PhysicalExpr::Call { func, args, ty } => {
            let mut values = Vec::with_capacity(args.len());
            let mut lambdas: Vec<&PhysicalExpr> = Vec::new();
            for arg in args {
                if let PhysicalExpr::Lambda { .. } = arg {
                    lambdas.push(arg);
                    values.push(Value::Null);
                } else {
                    values.push(eval(arg, ctx, env, sink)?);
                }
            }
            let result = if lambdas.is_empty() {
                func.invoke(&values, ty, &[])
            } else {
                call_with_lambdas(func.as_ref(), &values, ty, &lambdas, ctx, env, sink)
            };
            match (result, sink) {
                (Ok(v), _) => v,
                (Err(message), Some(errors)) => {
                    errors.borrow_mut().push(message);
                    Value::Null
                }
                (Err(message), None) => return Err(message),
            }
        }
        PhysicalExpr::Lambda { .. } => {
            return Err("a lambda can only be a function argument".into());
        }
        PhysicalExpr::LambdaVar { slot, name, .. } => match env.get(*slot) {
            Some(v) => v.clone(),
            None => return Err(format!("lambda variable {name} is not bound")),
        },
        PhysicalExpr::Field { expr, field, .. } => match eval(expr, ctx, env, sink)? {
            Value::Struct(fields) => fields
                .into_iter()
                .find(|(n, _)| n == field)
                .map(|(_, v)| v)
                .unwrap_or(Value::Null),
            _ => Value::Null,
        },
        PhysicalExpr::Subscript { expr, index, .. } => {
            let container = eval(expr, ctx, env, sink)?;
            let idx = eval(index, ctx, env, sink)?;
            subscript(container, &idx)
        }
        PhysicalExpr::MakeArray { items, .. } => Value::Array(
            items
                .iter()
                .map(|i| eval(i, ctx, env, sink))
                .collect::<Result<_, _>>()?,
        ),
        PhysicalExpr::MakeMap { entries, .. } => {
            let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let k = eval(k, ctx, env, sink)?;
                let v = eval(v, ctx, env, sink)?;
                // A repeated key keeps the last value, as a Java map would.
                match out.iter_mut().find(|(ek, _)| *ek == k) {
                    Some(slot) => slot.1 = v,
                    None => out.push((k, v)),
                }
            }
            Value::Map(out)
        }
        PhysicalExpr::MakeStruct { fields, .. } => Value::Struct(
            fields
                .iter()
                .map(|(n, e)| Ok((n.clone(), eval(e, ctx, env, sink)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

type LambdaBox<'a> = Box<dyn Fn(&[Value]) -> Result<Value, String> + 'a>;

fn call_with_lambdas(
    func: &dyn crate::function::ScalarFunction,
    values: &[Value],
    ty: &SqlType,
    lambdas: &[&PhysicalExpr],
    ctx: &RowCtx<'_>,
    env: &mut Vec<Value>,
    sink: CallErrors<'_>,
) -> Result<Value, String> {
    // Each lambda closes over the row and the outer environment; it borrows `env` mutably only
    // while it runs, so the closures take turns through a RefCell.
    let env_cell = std::cell::RefCell::new(std::mem::take(env));
    let closures: Vec<LambdaBox<'_>> = lambdas
        .iter()
        .map(|lambda| {
            let env_cell = &env_cell;
            let f: LambdaBox<'_> = Box::new(move |params: &[Value]| {
                let PhysicalExpr::Lambda { body, .. } = lambda else {
                    return Err("not a lambda".to_string());
                };
                let mut env = env_cell
                    .try_borrow_mut()
                    .map_err(|_| "nested lambda re-entry".to_string())?;
                let base = env.len();
                env.extend(params.iter().cloned());
                let result = eval(body, ctx, &mut env, sink);
                env.truncate(base);
                result
            });
            f
        })
        .collect();
    let refs: Vec<crate::function::Lambda<'_>> = closures.iter().map(|c| c.as_ref()).collect();
    let result = func.invoke(values, ty, &refs);
    drop(refs);
    drop(closures);
    *env = env_cell.into_inner();
    result
}

fn subscript(container: Value, idx: &Value) -> Value {
    match container {
        Value::Array(items) => {
            let Some(i) = idx.as_i64() else {
                return Value::Null;
            };
            let len = items.len() as i64;
            // ksqlDB arrays are 1-based; negative indexes count from the end.
            let pos = if i > 0 {
                i - 1
            } else if i < 0 {
                len + i
            } else {
                return Value::Null;
            };
            if pos < 0 || pos >= len {
                Value::Null
            } else {
                items.into_iter().nth(pos as usize).unwrap_or(Value::Null)
            }
        }
        Value::Map(entries) => entries
            .into_iter()
            .find(|(k, _)| k == idx)
            .map(|(_, v)| v)
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Applies an arithmetic or comparison operator to two values of the planned types.
pub(super) fn binary(op: BinaryOp, l: &Value, r: &Value, ty: &SqlType) -> Result<Value, String> {
    if l.is_null() || r.is_null() {
        // ksqlDB compares NULL with anything as false, not as SQL's unknown.
        return Ok(if op.is_comparison() {
            Value::Boolean(false)
        } else {
            Value::Null
        });
    }
    if op.is_comparison() {
        let ord = match l.sql_cmp(r) {
            Some(o) => o,
            None if matches!(op, BinaryOp::Eq | BinaryOp::NotEq) => {
                return Ok(Value::Boolean((l == r) == (op == BinaryOp::Eq)));
            }
            None => return Ok(Value::Null),
        };
        let b = match op {
            BinaryOp::Eq => ord == Ordering::Equal,
            BinaryOp::NotEq => ord != Ordering::Equal,
            BinaryOp::Lt => ord == Ordering::Less,
            BinaryOp::LtEq => ord != Ordering::Greater,
            BinaryOp::Gt => ord == Ordering::Greater,
            _ => ord != Ordering::Less,
        };
        return Ok(Value::Boolean(b));
    }
    match (l, r) {
        (Value::String(a), Value::String(b)) if op == BinaryOp::Add => Ok(Value::String(format!("{a}{b}"))),
        (Value::Int(a), Value::Int(b)) => int_op(op, *a as i64, *b as i64).map(|v| Value::Int(v as i32)),
        (Value::BigInt(a), Value::BigInt(b)) => int_op(op, *a, *b).map(Value::BigInt),
        (Value::Double(a), Value::Double(b)) => Ok(Value::Double(match op {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            _ => a % b,
        })),
        (Value::Decimal(a, sa), Value::Decimal(b, sb)) => decimal_op(op, *a, *sa, *b, *sb, ty),
        _ => Err(format!("cannot apply {} to {l:?} and {r:?}", op.symbol())),
    }
}

fn int_op(op: BinaryOp, a: i64, b: i64) -> Result<i64, String> {
    // Java integer arithmetic wraps on overflow; 32-bit results are truncated by the caller.
    Ok(match op {
        BinaryOp::Add => a.wrapping_add(b),
        BinaryOp::Sub => a.wrapping_sub(b),
        BinaryOp::Mul => a.wrapping_mul(b),
        BinaryOp::Div if b == 0 => return Err("/ by zero".into()),
        BinaryOp::Div => a.wrapping_div(b),
        BinaryOp::Mod if b == 0 => return Err("/ by zero".into()),
        _ => a.wrapping_rem(b),
    })
}

fn decimal_op(op: BinaryOp, a: i128, sa: i8, b: i128, sb: i8, ty: &SqlType) -> Result<Value, String> {
    let SqlType::Decimal { precision, scale } = ty else {
        return Err(format!("decimal arithmetic planned as {ty}"));
    };
    let overflow = || format!("decimal overflow: result does not fit {ty}");
    let rescale = |v: i128, from: i8| Value::decimal_rescale(v, from, *scale).ok_or_else(overflow);
    let unscaled = match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mod => {
            let s = sa.max(sb);
            let x = Value::decimal_rescale(a, sa, s).ok_or_else(overflow)?;
            let y = Value::decimal_rescale(b, sb, s).ok_or_else(overflow)?;
            let v = match op {
                BinaryOp::Add => x.checked_add(y),
                BinaryOp::Sub => x.checked_sub(y),
                _ if y == 0 => return Err("Division by zero".into()),
                _ => x.checked_rem(y),
            }
            .ok_or_else(overflow)?;
            rescale(v, s)?
        }
        BinaryOp::Mul => rescale(a.checked_mul(b).ok_or_else(overflow)?, sa + sb)?,
        BinaryOp::Div => {
            if b == 0 {
                return Err("Division by zero".into());
            }
            // a/b at `scale` digits: (a * 10^(scale - sa + sb + 1)) / b, then round half up.
            let shift = (*scale as i32 - sa as i32 + sb as i32 + 1).max(0) as u32;
            let num = a
                .checked_mul(10i128.checked_pow(shift).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
            let q = num / b;
            let extra = shift as i32 - (*scale as i32 - sa as i32 + sb as i32);
            Value::decimal_rescale(q, (*scale as i32 + extra) as i8, *scale).ok_or_else(overflow)?
        }
        _ => return Err(format!("{} is not arithmetic", op.symbol())),
    };
    if unscaled.unsigned_abs() >= 10u128.pow(*precision as u32) {
        return Err(overflow());
    }
    Ok(Value::Decimal(unscaled, *scale))
}

/// SQL LIKE: `%` matches any run, `_` one character; `escape` makes the next one literal.
pub fn like_match(text: &str, pattern: &str, escape: Option<char>) -> bool {
    #[derive(Clone, Copy)]
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            if let Some(n) = chars.next() {
                toks.push(Tok::Lit(n));
            }
        } else if c == '%' {
            toks.push(Tok::Any);
        } else if c == '_' {
            toks.push(Tok::One);
        } else {
            toks.push(Tok::Lit(c));
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with one backtrack point per `%`, linear in practice.
    let (mut t, mut p) = (0usize, 0usize);
    let (mut star, mut star_t) = (None, 0usize);
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::One) => {
                t += 1;
                p += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::Any) => {
                star = Some(p);
                star_t = t;
                p += 1;
            }
            _ => match star {
                Some(s) => {
                    p = s + 1;
                    star_t += 1;
                    t = star_t;
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| matches!(t, Tok::Any))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_handles_wildcards_and_escapes() {
        assert!(like_match("home", "ho%", None));
        assert!(like_match("home", "h_me", None));
        assert!(!like_match("home", "h_e", None));
        assert!(like_match("50%", "50!%", Some('!')));
        assert!(!like_match("500", "50!%", Some('!')));
        assert!(like_match("abcabc", "%abc", None));
        assert!(like_match("", "%", None));
    }

    #[test]
    fn integer_division_by_zero_is_a_row_error() {
        assert!(binary(BinaryOp::Div, &Value::Int(1), &Value::Int(0), &SqlType::Int).is_err());
        assert_eq!(
            binary(BinaryOp::Add, &Value::Int(i32::MAX), &Value::Int(1), &SqlType::Int),
            Ok(Value::Int(i32::MIN))
        );
    }

    #[test]
    fn decimal_arithmetic_keeps_scale() {
        let ty = SqlType::Decimal { precision: 5, scale: 2 };
        assert_eq!(
            binary(BinaryOp::Add, &Value::Decimal(110, 2), &Value::Decimal(5, 1), &ty),
            Ok(Value::Decimal(160, 2))
        );
        let div_ty = SqlType::Decimal {
            precision: 10,
            scale: 6,
        };
        assert_eq!(
            binary(BinaryOp::Div, &Value::Decimal(100, 2), &Value::Decimal(300, 2), &div_ty),
            Ok(Value::Decimal(333333, 6))
        );
    }
}
