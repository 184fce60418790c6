//! Prints sqlparser expressions as ksqlDB SQL. sqlparser's own `Display` writes lambdas as
//! `x -> body` (which ksqlDB reads as a struct dereference) and types in other dialects'
//! spellings, so the shapes this parser produces are printed here; anything else falls
//! back to sqlparser's `Display`.

use std::fmt::{self, Display, Formatter, Write};

use sqlparser::ast::{
    AccessExpr, BinaryOperator, DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, InTarget,
    OneOrManyWithParens, Subscript, UnaryOperator,
};

use super::types::{from_data_type, type_sql};

/// Displays an expression as ksqlDB SQL that the parser reads back to the same `Expr`.
pub struct ExprSql<'a>(pub &'a Expr);

impl Display for ExprSql<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(self.0, f)
    }
}

fn list(items: &[Expr], f: &mut Formatter<'_>) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_expr(e, f)?;
    }
    Ok(())
}

/// An identifier in canonical form: unquoted names upper-cased (as the catalog stores
/// them), quoted ones back-quoted when they would not read back as themselves.
fn write_ident(ident: &sqlparser::ast::Ident, f: &mut Formatter<'_>) -> fmt::Result {
    if ident.quote_style.is_some() {
        f.write_str(&super::display::quote_ident(&ident.value, true))
    } else {
        // It was read unquoted, so it reads back unquoted, keyword or not.
        f.write_str(&ident.value.to_uppercase())
    }
}

fn not(negated: bool) -> &'static str {
    if negated { "NOT " } else { "" }
}

fn write_expr(e: &Expr, f: &mut Formatter<'_>) -> fmt::Result {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Arrow,
            right,
        } => {
            write_expr(left, f)?;
            f.write_str("->")?;
            write_expr(right, f)
        }
        Expr::BinaryOp { left, op, right } => {
            write_expr(left, f)?;
            write!(f, " {op} ")?;
            write_expr(right, f)
        }
        Expr::UnaryOp { op, expr } => {
            match op {
                UnaryOperator::Not => f.write_str("NOT ")?,
                other => write!(f, "{other}")?,
            }
            write_expr(expr, f)
        }
        Expr::Nested(inner) => {
            f.write_char('(')?;
            write_expr(inner, f)?;
            f.write_char(')')
        }
        Expr::Tuple(items) => {
            f.write_char('(')?;
            list(items, f)?;
            f.write_char(')')
        }
        Expr::Identifier(ident) => write_ident(ident, f),
        Expr::CompoundIdentifier(parts) => {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    f.write_char('.')?;
                }
                write_ident(p, f)?;
            }
            Ok(())
        }
        Expr::Function(func) => {
            for (i, part) in func.name.0.iter().enumerate() {
                if i > 0 {
                    f.write_char('.')?;
                }
                match part.as_ident() {
                    Some(ident) => write_ident(ident, f)?,
                    None => write!(f, "{part}")?,
                }
            }
            match &func.args {
                FunctionArguments::List(args) => {
                    f.write_char('(')?;
                    match args.duplicate_treatment {
                        Some(DuplicateTreatment::Distinct) => f.write_str("DISTINCT ")?,
                        Some(DuplicateTreatment::All) => f.write_str("ALL ")?,
                        None => {}
                    }
                    for (i, arg) in args.args.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write_arg(arg, f)?;
                    }
                    f.write_char(')')
                }
                FunctionArguments::None => Ok(()),
                other => write!(f, "{other}"),
            }
        }
        Expr::Cast { expr, data_type, .. } => {
            f.write_str("CAST(")?;
            write_expr(expr, f)?;
            match from_data_type(data_type) {
                Some(t) => write!(f, " AS {})", type_sql(&t)),
                None => write!(f, " AS {data_type})"),
            }
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            f.write_str("CASE")?;
            if let Some(op) = operand {
                f.write_char(' ')?;
                write_expr(op, f)?;
            }
            for when in conditions {
                f.write_str(" WHEN ")?;
                write_expr(&when.condition, f)?;
                f.write_str(" THEN ")?;
                write_expr(&when.result, f)?;
            }
            if let Some(other) = else_result {
                f.write_str(" ELSE ")?;
                write_expr(other, f)?;
            }
            f.write_str(" END")
        }
        Expr::Like {
            negated,
            expr,
            pattern,
            escape_char,
            any: false,
        } => {
            write_expr(expr, f)?;
            write!(f, " {}LIKE ", not(*negated))?;
            write_expr(pattern, f)?;
            if let Some(esc) = escape_char {
                f.write_str(" ESCAPE ")?;
                write_expr(esc, f)?;
            }
            Ok(())
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            write_expr(expr, f)?;
            write!(f, " {}BETWEEN ", not(*negated))?;
            write_expr(low, f)?;
            f.write_str(" AND ")?;
            write_expr(high, f)
        }
        Expr::In {
            expr,
            target: InTarget::List(items),
            negated,
            global: false,
        } => {
            write_expr(expr, f)?;
            write!(f, " {}IN (", not(*negated))?;
            list(items, f)?;
            f.write_char(')')
        }
        Expr::IsNull(inner) => {
            write_expr(inner, f)?;
            f.write_str(" IS NULL")
        }
        Expr::IsNotNull(inner) => {
            write_expr(inner, f)?;
            f.write_str(" IS NOT NULL")
        }
        Expr::IsDistinctFrom(a, b) => {
            write_expr(a, f)?;
            f.write_str(" IS DISTINCT FROM ")?;
            write_expr(b, f)
        }
        Expr::IsNotDistinctFrom(a, b) => {
            write_expr(a, f)?;
            f.write_str(" IS NOT DISTINCT FROM ")?;
            write_expr(b, f)
        }
        Expr::Array(arr) => {
            f.write_str(if arr.named { "ARRAY[" } else { "[" })?;
            list(&arr.elem, f)?;
            f.write_char(']')
        }
        Expr::CompoundFieldAccess { root, access_chain } => {
            write_expr(root, f)?;
            for access in access_chain {
                match access {
                    AccessExpr::Dot(field) => {
                        f.write_char('.')?;
                        write_expr(field, f)?;
                    }
                    AccessExpr::Subscript(Subscript::Index { index }) => {
                        f.write_char('[')?;
                        write_expr(index, f)?;
                        f.write_char(']')?;
                    }
                    AccessExpr::Subscript(other) => write!(f, "[{other}]")?,
                }
            }
            Ok(())
        }
        Expr::Lambda(l) => {
            match &l.params {
                OneOrManyWithParens::One(p) => write_ident(&p.name, f)?,
                OneOrManyWithParens::Many(ps) => {
                    f.write_char('(')?;
                    for (i, p) in ps.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write_ident(&p.name, f)?;
                    }
                    f.write_char(')')?;
                }
            }
            f.write_str(" => ")?;
            write_expr(&l.body, f)
        }
        other => write!(f, "{other}"),
    }
}

fn write_arg(arg: &FunctionArg, f: &mut Formatter<'_>) -> fmt::Result {
    match arg {
        FunctionArg::Unnamed(a) => write_arg_expr(a, f),
        FunctionArg::ExprNamed { name, arg, operator } => {
            write_expr(name, f)?;
            write!(f, " {operator} ")?;
            write_arg_expr(arg, f)
        }
        FunctionArg::Named { name, arg, operator } => {
            write!(f, "{name} {operator} ")?;
            write_arg_expr(arg, f)
        }
    }
}

fn write_arg_expr(arg: &FunctionArgExpr, f: &mut Formatter<'_>) -> fmt::Result {
    match arg {
        FunctionArgExpr::Expr(e) => write_expr(e, f),
        other => write!(f, "{other}"),
    }
}
