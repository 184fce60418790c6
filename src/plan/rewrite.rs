//! Rewriting parsed expressions in place: the aggregate planner replaces aggregate calls and
//! grouping expressions with references to the aggregation's output columns.

use sqlparser::ast::{AccessExpr, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, InTarget, Subscript};

/// Visits `e` top-down; where `f` returns a replacement, that subtree is replaced and not
/// visited further.
pub fn rewrite_in_place(e: &mut Expr, f: &mut dyn FnMut(&Expr) -> Option<Expr>) {
    if let Some(new) = f(e) {
        *e = new;
        return;
    }
    match e {
        Expr::BinaryOp { left, right, .. }
        | Expr::IsDistinctFrom(left, right)
        | Expr::IsNotDistinctFrom(left, right) => {
            rewrite_in_place(left, f);
            rewrite_in_place(right, f);
        }
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsNotFalse(expr)
        | Expr::Cast { expr, .. } => rewrite_in_place(expr, f),
        Expr::In {
            expr,
            target: InTarget::List(list),
            ..
        } => {
            rewrite_in_place(expr, f);
            list.iter_mut().for_each(|i| rewrite_in_place(i, f));
        }
        Expr::Between { expr, low, high, .. } => {
            rewrite_in_place(expr, f);
            rewrite_in_place(low, f);
            rewrite_in_place(high, f);
        }
        Expr::Like { expr, pattern, .. } => {
            rewrite_in_place(expr, f);
            rewrite_in_place(pattern, f);
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            if let Some(o) = operand {
                rewrite_in_place(o, f);
            }
            for c in conditions {
                rewrite_in_place(&mut c.condition, f);
                rewrite_in_place(&mut c.result, f);
            }
            if let Some(e) = else_result {
                rewrite_in_place(e, f);
            }
        }
        Expr::Function(func) => {
            if let FunctionArguments::List(list) = &mut func.args {
                for arg in &mut list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(a))
                        | FunctionArg::Named {
                            arg: FunctionArgExpr::Expr(a),
                            ..
                        }
                        | FunctionArg::ExprNamed {
                            arg: FunctionArgExpr::Expr(a),
                            ..
                        } => rewrite_in_place(a, f),
                        _ => {}
                    }
                }
            }
        }
        Expr::Array(arr) => arr.elem.iter_mut().for_each(|i| rewrite_in_place(i, f)),
        Expr::CompoundFieldAccess { root, access_chain } => {
            rewrite_in_place(root, f);
            for a in access_chain {
                if let AccessExpr::Subscript(Subscript::Index { index }) = a {
                    rewrite_in_place(index, f);
                }
            }
        }
        Expr::Lambda(l) => rewrite_in_place(&mut l.body, f),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_matching_subtrees() {
        let mut e = crate::sql::parse_expr("COUNT(*) + SUM(a) * 2").unwrap();
        let mut seen = Vec::new();
        rewrite_in_place(&mut e, &mut |x| match x {
            Expr::Function(f) => {
                seen.push(f.name.to_string().to_uppercase());
                Some(Expr::Identifier(sqlparser::ast::Ident::new(format!(
                    "AGG{}",
                    seen.len() - 1
                ))))
            }
            _ => None,
        });
        assert_eq!(seen, vec!["COUNT", "SUM"]);
        assert_eq!(crate::sql::ExprSql(&e).to_string(), "AGG0 + AGG1 * 2");
    }
}
