//! ksqlDB's rules for pull queries when table scans are off
//! (`ksql.query.pull.table.scan.enabled=false`): each disjunct of the `WHERE` clause must pin
//! the table's key, by `=` or `IN` on a value computable without the row, or (with
//! `ksql.query.pull.range.scan.enabled`) by one range comparison on a single `STRING` key.
//! Other conditions may be added to a disjunct: they filter what the key finds.

use sqlparser::ast::{BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, InTarget};

use crate::error::{Error, Result};
use crate::plan::binder::ident_name;
use crate::plan::catalog::SourceDesc;
use crate::types::SqlType;

const TABLE_SCAN_NEEDED: &str = "Query requires table scan to be enabled. Timestamp and key column range queries are only supported on STRING keys with ksql.query.pull.range.scan.enabled=true; set ksql.query.pull.table.scan.enabled=true for other conditions.";

/// How one condition constrains a key column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Constraint {
    Equal,
    Range,
}

/// Checks `selection` against the rules in the module documentation.
pub(super) fn require_key_access(selection: Option<&Expr>, source: &SourceDesc, range_scans: bool) -> Result<()> {
    let keys: Vec<(String, SqlType)> = source
        .schema
        .key_columns()
        .map(|c| (c.name.clone(), c.ty.clone()))
        .collect();
    let Some(selection) = selection else {
        return Err(Error::plan(TABLE_SCAN_NEEDED));
    };
    let mut disjuncts = Vec::new();
    split(selection, BinaryOperator::Or, &mut disjuncts);
    let several = disjuncts.len() > 1;
    for disjunct in disjuncts {
        let mut conjuncts = Vec::new();
        split(disjunct, BinaryOperator::And, &mut conjuncts);
        let mut found: Vec<Vec<Constraint>> = vec![Vec::new(); keys.len()];
        for condition in conjuncts {
            if let Some((key, constraint)) = key_condition(condition, &keys)? {
                found[key].push(constraint);
            }
        }
        if found.iter().all(Vec::is_empty) {
            return Err(Error::plan(format!(
                "WHERE clause missing key column for disjunct: ({disjunct})"
            )));
        }
        if found.iter().any(|c| c.len() > 1) {
            return Err(Error::plan(
                "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate",
            ));
        }
        if keys.len() > 1 && found.iter().any(Vec::is_empty) {
            return Err(Error::plan(
                "Multi-column sources must specify every key in the WHERE clause.",
            ));
        }
        let ranged = found.iter().flatten().any(|c| *c == Constraint::Range);
        let range_allowed = range_scans && keys.len() == 1 && keys[0].1 == SqlType::String && !several;
        if ranged && !range_allowed {
            return Err(Error::plan(TABLE_SCAN_NEEDED));
        }
    }
    Ok(())
}

/// Flattens `e` over `op` (`AND` or `OR`), through parentheses.
fn split<'e>(e: &'e Expr, op: BinaryOperator, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Nested(inner) => split(inner, op, out),
        Expr::BinaryOp { left, op: o, right } if *o == op => {
            split(left, op.clone(), out);
            split(right, op, out);
        }
        other => out.push(other),
    }
}

/// Which key column `condition` constrains and how, if it is a comparison or `IN` on one.
fn key_condition(condition: &Expr, keys: &[(String, SqlType)]) -> Result<Option<(usize, Constraint)>> {
    let key_of = |e: &Expr| -> Option<usize> {
        let name = match e {
            Expr::Identifier(i) => ident_name(i),
            Expr::CompoundIdentifier(parts) => parts.last().map(ident_name)?,
            _ => return None,
        };
        keys.iter().position(|(k, _)| *k == name)
    };
    match condition {
        Expr::Nested(inner) => key_condition(inner, keys),
        Expr::BinaryOp { left, op, right } => {
            let constraint = match op {
                BinaryOperator::Eq => Constraint::Equal,
                BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq => {
                    Constraint::Range
                }
                _ => return Ok(None),
            };
            let (key, other) = match (key_of(left), key_of(right)) {
                (Some(k), _) => (k, right),
                (None, Some(k)) => (k, left),
                (None, None) => return Ok(None),
            };
            if references_columns(other) {
                return Err(Error::plan(
                    "A comparison must be between a key column and a resolvable expression.",
                ));
            }
            Ok(Some((key, constraint)))
        }
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated: false,
            ..
        } => match key_of(expr) {
            Some(key) if !list.iter().any(references_columns) => Ok(Some((key, Constraint::Equal))),
            Some(_) => Err(Error::plan(
                "A comparison must be between a key column and a resolvable expression.",
            )),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}

/// Whether `e` reads a column (anything but literals, operators over them and functions of
/// them); unknown shapes count as reading one.
fn references_columns(e: &Expr) -> bool {
    match e {
        Expr::Value(_) | Expr::TypedString { .. } => false,
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } | Expr::Cast { expr: inner, .. } => {
            references_columns(inner)
        }
        Expr::BinaryOp { left, right, .. } => references_columns(left) || references_columns(right),
        Expr::Function(f) => match &f.args {
            FunctionArguments::List(list) => list.args.iter().any(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                | FunctionArg::Named {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => references_columns(e),
                _ => true,
            }),
            FunctionArguments::None => false,
            FunctionArguments::Subquery(_) => true,
        },
        _ => true,
    }
}
