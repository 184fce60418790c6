//! Vectorised evaluation over Arrow arrays, falling back to [`super::row`] per row where no
//! kernel applies or a kernel reports a failure for some row.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Datum, Scalar};

use super::row::{RowCtx, eval_value_logged};
use super::{BinaryOp, PhysicalExpr, RowError};
use crate::error::Result;
use crate::types::arrow::{build_array, repeat_value, to_arrow};
use crate::types::{SqlType, Value};

/// An evaluated operand: a whole column, or one value standing for every row.
enum Operand {
    Array(ArrayRef),
    Scalar(ArrayRef),
}

impl Operand {
    fn datum(&self) -> Box<dyn Datum + '_> {
        match self {
            Operand::Array(a) => Box::new(a.clone()),
            Operand::Scalar(a) => Box::new(Scalar::new(a.clone())),
        }
    }

    fn into_array(self, len: usize) -> Result<ArrayRef> {
        Ok(match self {
            Operand::Array(a) => a,
            Operand::Scalar(a) => {
                let idx = arrow_array::UInt32Array::from(vec![0u32; len]);
                arrow_select::take::take(a.as_ref(), &idx, None)?
            }
        })
    }
}

/// Evaluates `expr` over `num_rows` rows of `columns`. Rows that fail get NULL and are
/// appended to `errors`.
pub fn evaluate(
    expr: &PhysicalExpr,
    columns: &[ArrayRef],
    num_rows: usize,
    errors: &mut Vec<RowError>,
) -> Result<ArrayRef> {
    operand(expr, columns, num_rows, errors)?.into_array(num_rows)
}

/// Evaluates a boolean `expr`; NULL and failed rows count as false (a failing `WHERE` drops
/// the row, as in ksqlDB).
pub fn evaluate_predicate(
    expr: &PhysicalExpr,
    columns: &[ArrayRef],
    num_rows: usize,
    errors: &mut Vec<RowError>,
) -> Result<BooleanArray> {
    let array = evaluate(expr, columns, num_rows, errors)?;
    let Some(b) = array.as_any().downcast_ref::<BooleanArray>() else {
        return Err(crate::Error::internal(format!(
            "predicate {expr} did not evaluate to BOOLEAN"
        )));
    };
    Ok(match b.nulls() {
        None => b.clone(),
        Some(_) => arrow_arith::boolean::and(&arrow_arith::boolean::is_not_null(b)?, &fill_false(b))?,
    })
}

/// ksqlDB compares NULL with anything as false: a comparison result has no nulls.
fn nulls_as_false(b: BooleanArray) -> BooleanArray {
    match b.nulls() {
        None => b,
        Some(nulls) => BooleanArray::new(b.values() & nulls.inner(), None),
    }
}

fn fill_false(b: &BooleanArray) -> BooleanArray {
    BooleanArray::new(b.values().clone(), None)
}

fn is_kernel_type(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Boolean
            | SqlType::Int
            | SqlType::BigInt
            | SqlType::Double
            | SqlType::String
            | SqlType::Timestamp
            | SqlType::Date
            | SqlType::Time
            | SqlType::Bytes
    )
}

fn operand(expr: &PhysicalExpr, columns: &[ArrayRef], n: usize, errors: &mut Vec<RowError>) -> Result<Operand> {
    match expr {
        PhysicalExpr::Column { index, .. } => match columns.get(*index) {
            Some(c) => Ok(Operand::Array(c.clone())),
            None => Err(crate::Error::internal(format!("column {index} out of range in {expr}"))),
        },
        PhysicalExpr::Literal { value, ty } => Ok(Operand::Scalar(repeat_value(ty, value, 1)?)),
        PhysicalExpr::Binary {
            op: op @ (BinaryOp::And | BinaryOp::Or),
            left,
            right,
            ..
        } => {
            let l = evaluate(left, columns, n, errors)?;
            let r = evaluate(right, columns, n, errors)?;
            let (Some(lb), Some(rb)) = (
                l.as_any().downcast_ref::<BooleanArray>(),
                r.as_any().downcast_ref::<BooleanArray>(),
            ) else {
                return row_wise(expr, columns, n, errors);
            };
            let out = if *op == BinaryOp::And {
                arrow_arith::boolean::and_kleene(lb, rb)?
            } else {
                arrow_arith::boolean::or_kleene(lb, rb)?
            };
            Ok(Operand::Array(Arc::new(out)))
        }
        PhysicalExpr::Binary { op, left, right, ty } if is_kernel_type(&left.ty()) && left.ty() == right.ty() => {
            let mut local = Vec::new();
            let l = operand(left, columns, n, &mut local)?;
            let r = operand(right, columns, n, &mut local)?;
            let (ld, rd) = (l.datum(), r.datum());
            let result: std::result::Result<ArrayRef, _> = if op.is_comparison() {
                use arrow_ord::cmp;
                let (ld, rd) = (ld.as_ref(), rd.as_ref());
                match op {
                    BinaryOp::Eq => cmp::eq(ld, rd),
                    BinaryOp::NotEq => cmp::neq(ld, rd),
                    BinaryOp::Lt => cmp::lt(ld, rd),
                    BinaryOp::LtEq => cmp::lt_eq(ld, rd),
                    BinaryOp::Gt => cmp::gt(ld, rd),
                    _ => cmp::gt_eq(ld, rd),
                }
                .map(|b| Arc::new(nulls_as_false(b)) as ArrayRef)
            } else if matches!(ty, SqlType::Int | SqlType::BigInt | SqlType::Double) {
                use arrow_arith::numeric;
                let (ld, rd) = (ld.as_ref(), rd.as_ref());
                match op {
                    BinaryOp::Add => numeric::add_wrapping(ld, rd),
                    BinaryOp::Sub => numeric::sub_wrapping(ld, rd),
                    BinaryOp::Mul => numeric::mul_wrapping(ld, rd),
                    BinaryOp::Div => numeric::div(ld, rd),
                    _ => numeric::rem(ld, rd),
                }
            } else {
                return row_wise(expr, columns, n, errors);
            };
            match result {
                Ok(a) => {
                    errors.extend(local);
                    Ok(if matches!((&l, &r), (Operand::Scalar(_), Operand::Scalar(_))) {
                        Operand::Scalar(a)
                    } else {
                        Operand::Array(a)
                    })
                }
                // A kernel failure (integer division by zero) belongs to some rows only.
                Err(_) => row_wise(expr, columns, n, errors),
            }
        }
        PhysicalExpr::Not(inner) => {
            let a = evaluate(inner, columns, n, errors)?;
            match a.as_any().downcast_ref::<BooleanArray>() {
                Some(b) => Ok(Operand::Array(Arc::new(arrow_arith::boolean::not(b)?))),
                None => row_wise(expr, columns, n, errors),
            }
        }
        PhysicalExpr::IsNull { expr: inner, negated } => {
            let a = evaluate(inner, columns, n, errors)?;
            let out = if *negated {
                arrow_arith::boolean::is_not_null(&a)?
            } else {
                arrow_arith::boolean::is_null(&a)?
            };
            Ok(Operand::Array(Arc::new(out)))
        }
        PhysicalExpr::Like {
            expr: inner,
            pattern,
            escape: None,
            negated,
        } if matches!(pattern.as_ref(), PhysicalExpr::Literal { value: Value::String(p), .. } if !p.contains('\\')) => {
            let a = evaluate(inner, columns, n, errors)?;
            let p = operand(pattern, columns, n, errors)?;
            let pd = p.datum();
            let out = if *negated {
                arrow_string::like::nlike(&a, pd.as_ref())?
            } else {
                arrow_string::like::like(&a, pd.as_ref())?
            };
            Ok(Operand::Array(Arc::new(out)))
        }
        PhysicalExpr::Cast { expr: inner, to }
            if matches!(
                (inner.ty(), to),
                (SqlType::Int, SqlType::BigInt) | (SqlType::Int | SqlType::BigInt, SqlType::Double)
            ) =>
        {
            let a = evaluate(inner, columns, n, errors)?;
            Ok(Operand::Array(arrow_cast::cast(&a, &to_arrow(to))?))
        }
        _ => row_wise(expr, columns, n, errors),
    }
}

fn row_wise(expr: &PhysicalExpr, columns: &[ArrayRef], n: usize, errors: &mut Vec<RowError>) -> Result<Operand> {
    let mut values = Vec::with_capacity(n);
    let mut env = Vec::new();
    let mut call_errors = Vec::new();
    for row in 0..n {
        let ctx = RowCtx { columns, row };
        let result = eval_value_logged(expr, &ctx, &mut env, &mut call_errors);
        errors.extend(call_errors.drain(..).map(|message| RowError { row, message }));
        match result {
            Ok(v) => values.push(v),
            Err(message) => {
                errors.push(RowError { row, message });
                values.push(Value::Null);
            }
        }
    }
    let ty = expr.ty();
    match build_array(&ty, &values) {
        Ok(a) => Ok(Operand::Array(a)),
        Err(_) => {
            // A value that does not fit the planned type (e.g. a function returning a wider
            // decimal) is a row failure, not a query failure.
            let mut fixed = Vec::with_capacity(n);
            for (row, v) in values.into_iter().enumerate() {
                match build_array(&ty, std::slice::from_ref(&v)) {
                    Ok(_) => fixed.push(v),
                    Err(e) => {
                        errors.push(RowError {
                            row,
                            message: e.message,
                        });
                        fixed.push(Value::Null);
                    }
                }
            }
            Ok(Operand::Array(build_array(&ty, &fixed)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, StringArray};

    fn cols() -> Vec<ArrayRef> {
        vec![
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3), Some(0)])),
            Arc::new(StringArray::from(vec![Some("home"), Some("about"), None, Some("hot")])),
        ]
    }

    #[test]
    fn arithmetic_and_comparison_are_vectorised() {
        let c = cols();
        let x = PhysicalExpr::column(0, "X", SqlType::Int);
        let times_two = PhysicalExpr::Binary {
            op: BinaryOp::Mul,
            left: Box::new(x.clone()),
            right: Box::new(PhysicalExpr::literal(Value::Int(2), SqlType::Int)),
            ty: SqlType::Int,
        };
        let mut errors = Vec::new();
        let out = evaluate(&times_two, &c, 4, &mut errors).unwrap();
        let out = out.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(2), None, Some(6), Some(0)]);
        assert!(errors.is_empty());
    }

    #[test]
    fn division_by_zero_fails_only_that_row() {
        let c = cols();
        let div = PhysicalExpr::Binary {
            op: BinaryOp::Div,
            left: Box::new(PhysicalExpr::literal(Value::Int(6), SqlType::Int)),
            right: Box::new(PhysicalExpr::column(0, "X", SqlType::Int)),
            ty: SqlType::Int,
        };
        let mut errors = Vec::new();
        let out = evaluate(&div, &c, 4, &mut errors).unwrap();
        let out = out.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(6), None, Some(2), None]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].row, 3);
    }

    #[test]
    fn like_predicate_drops_nulls() {
        let c = cols();
        let like = PhysicalExpr::Like {
            expr: Box::new(PhysicalExpr::column(1, "P", SqlType::String)),
            pattern: Box::new(PhysicalExpr::literal(Value::String("ho%".into()), SqlType::String)),
            escape: None,
            negated: false,
        };
        let mut errors = Vec::new();
        let out = evaluate_predicate(&like, &c, 4, &mut errors).unwrap();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            vec![Some(true), Some(false), Some(false), Some(true)]
        );
    }
}
