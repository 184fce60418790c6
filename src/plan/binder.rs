//! Binding: sqlparser expressions to typed [`PhysicalExpr`]s over a [`Scope`], with name
//! resolution, ksqlDB's implicit widening, and errors that say where and what was wrong.

use sqlparser::ast::{
    self as sp, BinaryOperator, CastKind, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Spanned, UnaryOperator,
};

use super::catalog::Catalog;
use super::data_type::to_sql_type;
use crate::error::{Error, Result};
use crate::function::FunctionRegistry;
use crate::runtime::expr::{BinaryOp, PhysicalExpr};
use crate::runtime::ops::{TableFunction, TableFunctionCall};
use crate::types::{SqlType, Value};

/// A column visible to expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeColumn {
    /// The source alias or name that qualifies it (`s.col`).
    pub qualifier: Option<String>,
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: SqlType,
    /// Its index in the batch.
    pub index: usize,
}

/// The columns expressions may refer to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// The columns.
    pub columns: Vec<ScopeColumn>,
}

/// Functions whose first argument is a time unit keyword (`TIMESTAMPADD(SECONDS, 5, ts)`).
const TIME_UNIT_FUNCTIONS: &[&str] = &[
    "TIMESTAMPADD",
    "TIMESTAMPSUB",
    "DATEADD",
    "DATESUB",
    "TIMEADD",
    "TIMESUB",
];

fn is_time_unit(word: &str) -> bool {
    matches!(
        word.to_uppercase().trim_end_matches('S'),
        "MILLISECOND" | "SECOND" | "MINUTE" | "HOUR" | "DAY" | "WEEK" | "MONTH" | "YEAR" | "MICROSECOND" | "NANOSECOND"
    )
}

/// Binds expressions against a scope.
pub struct Binder<'a> {
    scope: &'a Scope,
    functions: &'a FunctionRegistry,
    catalog: &'a Catalog,
    lambdas: Vec<(String, SqlType)>,
    /// Table function calls met so far, when they are allowed (a select list over a stream).
    table_functions: Option<Vec<TableFunctionCall>>,
    /// The table function whose arguments are being bound.
    in_table_function: Option<&'static str>,
    /// The searched `CASE` being bound, as text.
    in_case: Option<String>,
    /// Whether the last error is one ksqlDB raises when it generates code for an expression
    /// (a failed coercion or CAST) rather than while typing it.
    late_error: bool,
    /// The clause being bound (`SELECT`, `WHERE`, ...), for messages about unknown columns.
    clause: &'static str,
}

/// Column indexes from here on stand for the results of table functions until the planner
/// places them: the `n`th call binds to `SYNTH_COLUMN_BASE + n`.
pub const SYNTH_COLUMN_BASE: usize = usize::MAX / 2;

/// An error at the position of `node`.
pub fn err_at(node: &impl Spanned, message: impl std::fmt::Display) -> Error {
    let span = node.span();
    if span.start.line == 0 {
        Error::plan(message.to_string())
    } else {
        Error::plan(format!(
            "{message} (at line {}, column {})",
            span.start.line, span.start.column
        ))
    }
}

/// An invalid literal: ksqlDB rejects those (`Invalid numeric literal`, `Number overflows
/// DOUBLE`) when it parses the statement, so they are parse errors here too.
fn literal_err(node: &Expr, message: String) -> Error {
    let located = err_at(node, message);
    Error::new(crate::error::ErrorKind::Parse, located.message)
}

/// The catalog name of an identifier: upper case unless quoted.
pub fn ident_name(ident: &sp::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_uppercase()
    }
}

impl<'a> Binder<'a> {
    /// A binder over `scope`.
    pub fn new(scope: &'a Scope, functions: &'a FunctionRegistry, catalog: &'a Catalog) -> Self {
        Binder {
            scope,
            functions,
            catalog,
            lambdas: Vec::new(),
            table_functions: None,
            in_table_function: None,
            in_case: None,
            late_error: false,
            clause: "",
        }
    }

    /// Names the clause bound next (`SELECT`, `WHERE`, `PARTITION BY`, ...): an unknown
    /// column is reported as ksqlDB does, `SELECT column 'X' cannot be resolved.`
    pub fn set_clause(&mut self, clause: &'static str) {
        self.clause = clause;
    }

    /// Whether the error just returned is one ksqlDB raises while generating code for the
    /// expression (callers prefix those `Invalid Predicate:` or `Invalid Select:`); resets.
    pub fn take_late_error(&mut self) -> bool {
        std::mem::take(&mut self.late_error)
    }

    /// Allows table functions (`EXPLODE`) in what is bound next: each call is recorded and
    /// binds to a column `SYNTH_COLUMN_BASE + n` (see [`Binder::take_table_functions`]).
    pub fn allow_table_functions(&mut self) {
        self.table_functions.get_or_insert_with(Vec::new);
    }

    /// The table function calls recorded since [`Binder::allow_table_functions`], in order;
    /// table functions are not allowed afterwards.
    pub fn take_table_functions(&mut self) -> Vec<TableFunctionCall> {
        self.table_functions.take().unwrap_or_default()
    }

    /// Binds one expression.
    pub fn bind(&mut self, expr: &Expr) -> Result<PhysicalExpr> {
        match expr {
            Expr::Identifier(ident) => self.column(None, ident, expr),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => self.column(Some(&parts[0]), &parts[1], expr),
            Expr::CompoundIdentifier(_) => Err(err_at(
                expr,
                format!("'{expr}' is not a column; use -> to access struct fields"),
            )),
            Expr::Nested(inner) => self.bind(inner),
            Expr::Value(v) => literal(&v.value).map_err(|m| literal_err(expr, m)),
            Expr::TypedString(ts) => {
                let s = match &ts.value.value {
                    sp::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                let ty = to_sql_type(&ts.data_type, self.catalog)?;
                Ok(PhysicalExpr::literal(Value::String(s), SqlType::String).cast_to(&ty))
            }
            // A negative number is one literal, so `-1.7976931348623160E308` overflows as
            // written.
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: inner,
            } if matches!(inner.as_ref(), Expr::Value(v) if matches!(v.value, sp::Value::Number(..))) => {
                let Expr::Value(v) = inner.as_ref() else { unreachable!() };
                let sp::Value::Number(text, long) = &v.value else {
                    unreachable!()
                };
                literal(&sp::Value::Number(format!("-{text}"), *long)).map_err(|m| literal_err(expr, m))
            }
            Expr::UnaryOp { op, expr: inner } => {
                let e = self.bind(inner)?;
                match op {
                    UnaryOperator::Not => Ok(PhysicalExpr::Not(Box::new(self.expect_boolean(e, inner)?))),
                    UnaryOperator::Minus => match e {
                        PhysicalExpr::Literal { value, ty } if ty.is_numeric() => {
                            let negated = match value {
                                Value::Int(v) => Value::Int(-v),
                                Value::BigInt(v) => Value::BigInt(-v),
                                Value::Double(v) => Value::Double(-v),
                                Value::Decimal(u, s) => Value::Decimal(-u, s),
                                other => other,
                            };
                            Ok(PhysicalExpr::literal(negated, ty))
                        }
                        e if e.ty().is_numeric() => Ok(PhysicalExpr::Negate(Box::new(e))),
                        e => Err(err_at(expr, format!("cannot negate {e} of type {}", e.ty()))),
                    },
                    UnaryOperator::Plus => Ok(e),
                    other => Err(err_at(expr, format!("unsupported operator {other}"))),
                }
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Arrow,
                right,
            } => {
                let base = self.bind(left)?;
                let field = match right.as_ref() {
                    Expr::Identifier(i) => i.clone(),
                    other => {
                        return Err(err_at(
                            other,
                            format!("expected a struct field name after ->, found {other}"),
                        ));
                    }
                };
                self.field_access(base, &field, expr)
            }
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right, expr),
            Expr::IsNull(e) => Ok(PhysicalExpr::IsNull {
                expr: Box::new(self.bind(e)?),
                negated: false,
            }),
            Expr::IsNotNull(e) => Ok(PhysicalExpr::IsNull {
                expr: Box::new(self.bind(e)?),
                negated: true,
            }),
            Expr::IsDistinctFrom(l, r) | Expr::IsNotDistinctFrom(l, r) => {
                let op = if matches!(expr, Expr::IsNotDistinctFrom(..)) {
                    "IS_NOT_DISTINCT_FROM"
                } else {
                    "IS_DISTINCT_FROM"
                };
                let (l2, r2) = coerce(self.bind(l)?, self.bind(r)?, expr, op)?;
                Ok(PhysicalExpr::IsDistinctFrom {
                    left: Box::new(l2),
                    right: Box::new(r2),
                    negated: matches!(expr, Expr::IsNotDistinctFrom(..)),
                })
            }
            Expr::IsTrue(e) | Expr::IsFalse(e) | Expr::IsNotTrue(e) | Expr::IsNotFalse(e) => {
                let b = self.bind(e)?;
                let b = self.expect_boolean(b, e)?;
                let want = matches!(expr, Expr::IsTrue(_) | Expr::IsNotTrue(_));
                let negated = matches!(expr, Expr::IsNotTrue(_) | Expr::IsNotFalse(_));
                Ok(PhysicalExpr::IsDistinctFrom {
                    left: Box::new(b),
                    right: Box::new(PhysicalExpr::literal(Value::Boolean(want), SqlType::Boolean)),
                    negated: !negated,
                })
            }
            Expr::Like {
                negated,
                any: false,
                expr: e,
                pattern,
                escape_char,
            } => {
                let target = self.bind(e)?;
                let pat = self.bind(pattern)?;
                for (x, node) in [(&target, e.as_ref()), (&pat, pattern.as_ref())] {
                    if x.ty() != SqlType::String && !is_null_literal(x) {
                        return Err(err_at(
                            node,
                            format!("Like condition must be between strings: {x} is {}", x.ty()),
                        ));
                    }
                }
                let escape = match escape_char.as_deref() {
                    None => None,
                    Some(Expr::Value(v)) => match &v.value {
                        sp::Value::SingleQuotedString(s) if s.chars().count() == 1 => s.chars().next(),
                        _ => {
                            return Err(err_at(expr, "ESCAPE takes a single character, e.g. ESCAPE '!'"));
                        }
                    },
                    Some(other) => {
                        return Err(err_at(other, "ESCAPE takes a single character, e.g. ESCAPE '!'"));
                    }
                };
                Ok(PhysicalExpr::Like {
                    expr: Box::new(target.cast_to(&SqlType::String)),
                    pattern: Box::new(pat.cast_to(&SqlType::String)),
                    escape,
                    negated: *negated,
                })
            }
            Expr::Between {
                expr: e,
                negated,
                low,
                high,
            } => {
                let v = self.bind(e)?;
                let (v1, lo) = coerce(v.clone(), self.bind(low)?, expr, "GREATER_THAN_OR_EQUAL")?;
                let (v2, hi) = coerce(v, self.bind(high)?, expr, "LESS_THAN_OR_EQUAL")?;
                let common = if v1.ty() == v2.ty() {
                    v1.ty()
                } else {
                    SqlType::common(&v1.ty(), &v2.ty()).unwrap_or(v1.ty())
                };
                Ok(PhysicalExpr::Between {
                    expr: Box::new(v1.cast_to(&common)),
                    low: Box::new(lo.cast_to(&common)),
                    high: Box::new(hi.cast_to(&common)),
                    negated: *negated,
                })
            }
            Expr::In {
                expr: e,
                target: sp::InTarget::List(list),
                negated,
                ..
            } => {
                let mut exprs: Vec<&Expr> = vec![e.as_ref()];
                exprs.extend(list.iter());
                let (_, mut items) = self.coerce_list(&exprs)?;
                let v = items.remove(0);
                Ok(PhysicalExpr::InList {
                    expr: Box::new(v),
                    list: items,
                    negated: *negated,
                })
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let outer = self.in_case.replace(crate::sql::ExprSql(expr).to_string());
                let bound = self.case(operand.as_deref(), conditions, else_result.as_deref(), expr);
                self.in_case = outer;
                bound
            }
            Expr::Cast {
                kind,
                expr: e,
                data_type,
                ..
            } => {
                if !matches!(kind, CastKind::Cast) {
                    return Err(err_at(expr, "only CAST(x AS type) is supported"));
                }
                let to = to_sql_type(data_type, self.catalog)?;
                let inner = self.bind(e)?;
                if is_null_literal(&inner) {
                    // A typed NULL: kept as a cast so it is not taken for a bare NULL.
                    return Ok(PhysicalExpr::Cast {
                        expr: Box::new(inner),
                        to,
                    });
                }
                if let Err(m) = check_cast(&inner.ty(), &to) {
                    self.late_error = true;
                    return Err(err_at(expr, m));
                }
                Ok(inner.cast_to(&to))
            }
            Expr::Array(arr) => {
                let elems: Vec<&Expr> = arr.elem.iter().collect();
                self.make_array(&elems, expr)
            }
            Expr::CompoundFieldAccess { root, access_chain } => {
                let mut base = self.bind(root)?;
                for access in access_chain {
                    base = match access {
                        sp::AccessExpr::Subscript(sp::Subscript::Index { index }) => {
                            self.subscript(base, index, expr)?
                        }
                        sp::AccessExpr::Dot(Expr::Identifier(field)) => self.field_access(base, field, expr)?,
                        other => return Err(err_at(expr, format!("unsupported access {other}"))),
                    };
                }
                Ok(base)
            }
            Expr::Function(f) => self.function(f, expr),
            Expr::Lambda(_) => Err(err_at(
                expr,
                "a lambda can only be passed to a function such as TRANSFORM, FILTER or REDUCE",
            )),
            other => Err(err_at(other, format!("unsupported expression: {other}"))),
        }
    }

    fn expect_boolean(&self, e: PhysicalExpr, node: &Expr) -> Result<PhysicalExpr> {
        if is_null_literal(&e) {
            return Ok(retype_null(e, &SqlType::Boolean));
        }
        if e.ty() != SqlType::Boolean {
            return Err(err_at(
                node,
                format!("expected a BOOLEAN expression, but {e} is {}", e.ty()),
            ));
        }
        Ok(e)
    }

    fn column(&self, qualifier: Option<&sp::Ident>, ident: &sp::Ident, node: &Expr) -> Result<PhysicalExpr> {
        let name = ident_name(ident);
        if qualifier.is_none()
            && let Some(slot) = self
                .lambdas
                .iter()
                .rposition(|(n, _)| n.eq_ignore_ascii_case(&ident.value))
        {
            let (n, ty) = &self.lambdas[slot];
            return Ok(PhysicalExpr::LambdaVar {
                slot,
                name: n.clone(),
                ty: ty.clone(),
            });
        }
        let qual = qualifier.map(ident_name);
        if let Some(q) = &qual
            && !self.scope.columns.iter().any(|c| c.qualifier.as_ref() == Some(q))
        {
            return Err(err_at(
                node,
                format!("'{q}' is not a valid stream/table name or alias."),
            ));
        }
        let matches: Vec<&ScopeColumn> = self
            .scope
            .columns
            .iter()
            .filter(|c| c.name == name && (qual.is_none() || c.qualifier.as_ref() == qual.as_ref()))
            .collect();
        match matches.as_slice() {
            [c] => Ok(PhysicalExpr::column(c.index, c.name.clone(), c.ty.clone())),
            [] => {
                let full = match &qual {
                    Some(q) => format!("{q}.{name}"),
                    None => name.clone(),
                };
                let known: Vec<&str> = self.scope.columns.iter().map(|c| c.name.as_str()).collect();
                let what = if self.clause.is_empty() {
                    "Column".to_string()
                } else {
                    format!("{} column", self.clause)
                };
                Err(err_at(
                    node,
                    format!(
                        "{what} '{full}' cannot be resolved. Known columns: {}",
                        known.join(", ")
                    ),
                ))
            }
            _ => Err(err_at(
                node,
                format!("Column '{name}' is ambiguous: qualify it with its source, e.g. S.{name}"),
            )),
        }
    }

    fn field_access(&self, base: PhysicalExpr, field: &sp::Ident, node: &Expr) -> Result<PhysicalExpr> {
        let SqlType::Struct(fields) = base.ty() else {
            return Err(err_at(
                node,
                format!("-> needs a STRUCT on its left, but {base} is {}", base.ty()),
            ));
        };
        let wanted = ident_name(field);
        let found = fields
            .iter()
            .find(|(n, _)| *n == wanted)
            .or_else(|| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(&field.value)));
        match found {
            Some((name, ty)) => Ok(PhysicalExpr::Field {
                expr: Box::new(base),
                field: name.clone(),
                ty: ty.clone(),
            }),
            None => Err(err_at(
                node,
                format!(
                    "Struct {base} has no field {wanted}; its fields are {}",
                    fields.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    fn subscript(&mut self, base: PhysicalExpr, index: &Expr, node: &Expr) -> Result<PhysicalExpr> {
        let idx = self.bind(index)?;
        match base.ty() {
            SqlType::Array(item) => {
                if !matches!(idx.ty(), SqlType::Int | SqlType::BigInt) {
                    return Err(err_at(
                        node,
                        format!("array index must be INT, but {idx} is {}", idx.ty()),
                    ));
                }
                Ok(PhysicalExpr::Subscript {
                    expr: Box::new(base),
                    index: Box::new(idx),
                    ty: *item,
                })
            }
            SqlType::Map(k, v) => {
                let idx = retype_null(idx, &k);
                if !idx.ty().can_widen_to(&k) {
                    return Err(err_at(node, format!("map key must be {k}, but {idx} is {}", idx.ty())));
                }
                Ok(PhysicalExpr::Subscript {
                    expr: Box::new(base),
                    index: Box::new(idx.cast_to(&k)),
                    ty: *v,
                })
            }
            other => Err(err_at(node, format!("[] needs an ARRAY or MAP, but {base} is {other}"))),
        }
    }

    fn binary(&mut self, left: &Expr, op: &BinaryOperator, right: &Expr, node: &Expr) -> Result<PhysicalExpr> {
        let bop = match op {
            BinaryOperator::Plus => BinaryOp::Add,
            BinaryOperator::Minus => BinaryOp::Sub,
            BinaryOperator::Multiply => BinaryOp::Mul,
            BinaryOperator::Divide => BinaryOp::Div,
            BinaryOperator::Modulo => BinaryOp::Mod,
            BinaryOperator::Eq => BinaryOp::Eq,
            BinaryOperator::NotEq => BinaryOp::NotEq,
            BinaryOperator::Lt => BinaryOp::Lt,
            BinaryOperator::LtEq => BinaryOp::LtEq,
            BinaryOperator::Gt => BinaryOp::Gt,
            BinaryOperator::GtEq => BinaryOp::GtEq,
            BinaryOperator::And => BinaryOp::And,
            BinaryOperator::Or => BinaryOp::Or,
            BinaryOperator::StringConcat => {
                let l = self.bind(left)?;
                let r = self.bind(right)?;
                return self.concat(l, r, node);
            }
            other => return Err(err_at(node, format!("unsupported operator {other}"))),
        };
        let l = self.bind(left)?;
        let r = self.bind(right)?;
        if matches!(bop, BinaryOp::And | BinaryOp::Or) {
            let l = self.expect_boolean(l, left)?;
            let r = self.expect_boolean(r, right)?;
            return Ok(PhysicalExpr::Binary {
                op: bop,
                left: Box::new(l),
                right: Box::new(r),
                ty: SqlType::Boolean,
            });
        }
        if bop.is_comparison() {
            if is_null_literal(&l) || is_null_literal(&r) {
                let name = |e: &PhysicalExpr| {
                    if is_null_literal(e) {
                        "NULL"
                    } else {
                        base_type_name(&e.ty())
                    }
                };
                return Err(err_at(
                    node,
                    format!(
                        "Comparison with NULL not supported: {} {} {}\nUse 'IS NULL' or 'IS NOT NULL' instead.",
                        name(&l),
                        bop.symbol(),
                        name(&r)
                    ),
                ));
            }
            let (l, r) = coerce(l, r, node, comparison_name(bop))?;
            if matches!(l.ty(), SqlType::Map(..) | SqlType::Struct(_) | SqlType::Array(_))
                && !matches!(bop, BinaryOp::Eq | BinaryOp::NotEq)
            {
                return Err(err_at(
                    node,
                    format!(
                        "Cannot compare {l} ({}) to {r} ({}) with {}.",
                        l.ty(),
                        r.ty(),
                        comparison_name(bop)
                    ),
                ));
            }
            return Ok(PhysicalExpr::Binary {
                op: bop,
                left: Box::new(l),
                right: Box::new(r),
                ty: SqlType::Boolean,
            });
        }
        // Arithmetic.
        if is_null_literal(&l) || is_null_literal(&r) {
            let name = |e: &PhysicalExpr| {
                if is_null_literal(e) {
                    "null".to_string()
                } else {
                    e.ty().to_string()
                }
            };
            return Err(err_at(
                node,
                format!(
                    "Error processing expression: ({l} {} {r}). Arithmetic on types {} and {} are not supported.",
                    bop.symbol(),
                    name(&l),
                    name(&r)
                ),
            ));
        }
        if bop == BinaryOp::Add
            && (l.ty() == SqlType::String || r.ty() == SqlType::String)
            && !l.ty().is_numeric()
            && !r.ty().is_numeric()
        {
            return self.concat(l, r, node);
        }
        let (lt, rt) = (l.ty(), r.ty());
        let l = if is_null_literal(&l) { retype_null(l, &rt) } else { l };
        let r = if is_null_literal(&r) { retype_null(r, &lt) } else { r };
        let (lt, rt) = (l.ty(), r.ty());
        let Some(common) = SqlType::common_numeric(&lt, &rt) else {
            return Err(err_at(
                node,
                format!(
                    "Error processing expression: ({l} {} {r}). Unsupported arithmetic types. {lt} {rt}",
                    bop.symbol()
                ),
            ));
        };
        let ty = match (&common, lt.decimal_bounds(), rt.decimal_bounds()) {
            (SqlType::Decimal { .. }, Some((p1, s1)), Some((p2, s2))) => {
                decimal_result(bop, p1 as i32, s1 as i32, p2 as i32, s2 as i32)
            }
            _ => common.clone(),
        };
        let (l, r) = if let SqlType::Decimal { .. } = common {
            (widen_to_decimal(l), widen_to_decimal(r))
        } else {
            (l.cast_to(&common), r.cast_to(&common))
        };
        Ok(PhysicalExpr::Binary {
            op: bop,
            left: Box::new(l),
            right: Box::new(r),
            ty,
        })
    }

    fn concat(&self, l: PhysicalExpr, r: PhysicalExpr, node: &Expr) -> Result<PhysicalExpr> {
        for x in [&l, &r] {
            if x.ty() != SqlType::String && !is_null_literal(x) {
                return Err(err_at(
                    node,
                    format!("string concatenation needs STRING operands, but {x} is {}", x.ty()),
                ));
            }
        }
        Ok(PhysicalExpr::Binary {
            op: BinaryOp::Add,
            left: Box::new(retype_null(l, &SqlType::String)),
            right: Box::new(retype_null(r, &SqlType::String)),
            ty: SqlType::String,
        })
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        conditions: &[sp::CaseWhen],
        else_result: Option<&Expr>,
        node: &Expr,
    ) -> Result<PhysicalExpr> {
        let subject = operand.map(|o| self.bind(o)).transpose()?;
        let mut branches = Vec::new();
        for cw in conditions {
            let cond = self.bind(&cw.condition)?;
            let cond = match &subject {
                Some(s) => {
                    let (l, r) = coerce(s.clone(), cond, &cw.condition, "EQUAL")?;
                    PhysicalExpr::Binary {
                        op: BinaryOp::Eq,
                        left: Box::new(l),
                        right: Box::new(r),
                        ty: SqlType::Boolean,
                    }
                }
                None => self.expect_boolean(cond, &cw.condition)?,
            };
            branches.push((cond, self.bind(&cw.result)?));
        }
        let else_result = else_result.map(|e| self.bind(e)).transpose()?;
        let mut results: Vec<PhysicalExpr> = branches.iter().map(|(_, r)| r.clone()).collect();
        results.extend(else_result.clone());
        let ty = common_of(&results)
            .map_err(|m| err_at(node, format!("Invalid CASE: {m}")))?
            .unwrap_or(SqlType::String);
        Ok(PhysicalExpr::Case {
            branches: branches
                .into_iter()
                .map(|(c, r)| (c, retype_null(r, &ty).cast_to(&ty)))
                .collect(),
            else_result: else_result.map(|e| Box::new(retype_null(e, &ty).cast_to(&ty))),
            ty,
        })
    }

    fn function(&mut self, f: &sp::Function, node: &Expr) -> Result<PhysicalExpr> {
        let name = f.name.to_string().trim_matches('`').to_uppercase();
        let args: Vec<&FunctionArg> = match &f.args {
            FunctionArguments::None => Vec::new(),
            // `F(*)` is a call without arguments, as ksqlDB reads it (COUNT(*) included).
            FunctionArguments::List(list)
                if matches!(list.args.as_slice(), [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]) =>
            {
                Vec::new()
            }
            FunctionArguments::List(list) => list.args.iter().collect(),
            FunctionArguments::Subquery(_) => {
                return Err(err_at(node, "subqueries are not part of ksqlDB's SQL"));
            }
        };
        match name.as_str() {
            "MAP" => return self.make_map(&args, node),
            "STRUCT" => return self.make_struct(&args, node),
            "ARRAY" => {
                let elems = args
                    .iter()
                    .map(|a| self.unnamed_arg(a, node))
                    .collect::<Result<Vec<_>>>()?;
                return self.make_array(&elems, node);
            }
            _ => {}
        }
        if let Some(tf) = TableFunction::by_name(&name) {
            return self.table_function(tf, &args, node);
        }
        let Some(func) = self.functions.scalar(&name) else {
            if self.functions.is_aggregate(&name) {
                return Err(err_at(
                    node,
                    format!("The statement does not support aggregate function [{node}] without a GROUP BY clause."),
                ));
            }
            return Err(err_at(
                node,
                format!("Can't find any functions with the name '{name}'. Run SHOW FUNCTIONS to see them."),
            ));
        };
        let exprs = args
            .iter()
            .map(|a| self.unnamed_arg(a, node))
            .collect::<Result<Vec<_>>>()?;
        // Bind value arguments first: lambda parameter types depend on them.
        let mut bound: Vec<Option<PhysicalExpr>> = Vec::with_capacity(exprs.len());
        for (i, e) in exprs.iter().enumerate() {
            bound.push(match e {
                Expr::Lambda(_) => None,
                // TIMESTAMPADD(SECONDS, ...): the unit is a keyword, passed on as text.
                Expr::Identifier(unit)
                    if i == 0 && TIME_UNIT_FUNCTIONS.contains(&name.as_str()) && is_time_unit(&unit.value) =>
                {
                    Some(PhysicalExpr::literal(
                        Value::String(unit.value.to_uppercase()),
                        SqlType::String,
                    ))
                }
                _ => Some(self.bind(e)?),
            });
        }
        let value_types: Vec<Option<SqlType>> = bound
            .iter()
            .map(|b| b.as_ref().filter(|e| !is_null_literal(e)).map(|e| e.ty()))
            .collect();
        for (i, e) in exprs.iter().enumerate() {
            if let Expr::Lambda(lambda) = e {
                let Some(param_types) = func.lambda_params(&value_types, i) else {
                    return Err(err_at(
                        *e,
                        format!("{name} does not take a lambda at argument {}", i + 1),
                    ));
                };
                let params: Vec<String> = match &lambda.params {
                    sp::OneOrManyWithParens::One(p) => vec![p.name.value.clone()],
                    sp::OneOrManyWithParens::Many(ps) => ps.iter().map(|p| p.name.value.clone()).collect(),
                };
                if params.len() != param_types.len() {
                    return Err(err_at(
                        *e,
                        format!(
                            "the lambda passed to {name} must take {} parameter(s), not {}",
                            param_types.len(),
                            params.len()
                        ),
                    ));
                }
                let base = self.lambdas.len();
                self.lambdas.extend(params.iter().cloned().zip(param_types));
                let body = self.bind(&lambda.body);
                self.lambdas.truncate(base);
                bound[i] = Some(PhysicalExpr::Lambda {
                    params,
                    body: Box::new(body?),
                });
            }
        }
        let args: Vec<PhysicalExpr> = bound.into_iter().flatten().collect();
        let arg_types: Vec<Option<SqlType>> = args
            .iter()
            .map(|a| if is_null_literal(a) { None } else { Some(a.ty()) })
            .collect();
        let ty = func.return_type(&arg_types).map_err(|m| err_at(node, m))?;
        Ok(PhysicalExpr::Call { func, args, ty })
    }

    fn table_function(&mut self, tf: TableFunction, args: &[&FunctionArg], node: &Expr) -> Result<PhysicalExpr> {
        if let Some(outer) = self.in_table_function {
            return Err(err_at(
                node,
                format!("Table functions cannot be nested: {outer}({}())", tf.name()),
            ));
        }
        if self.table_functions.is_none() {
            return Err(err_at(
                node,
                format!(
                    "Table function {} can only be used in the SELECT list of a query on a stream.",
                    tf.name()
                ),
            ));
        }
        if let Some(case) = &self.in_case {
            return Err(err_at(node, format!("Table functions cannot be used in CASE: {case}")));
        }
        self.in_table_function = Some(tf.name());
        let bound: Result<Vec<PhysicalExpr>> = args
            .iter()
            .map(|a| {
                let e = self.unnamed_arg(a, node)?;
                self.bind(e)
            })
            .collect();
        self.in_table_function = None;
        let bound = bound?;
        let types: Vec<Option<SqlType>> = bound
            .iter()
            .map(|a| if is_null_literal(a) { None } else { Some(a.ty()) })
            .collect();
        let ty = tf.return_type(&types).map_err(|m| err_at(node, m))?;
        let calls = self.table_functions.get_or_insert_with(Vec::new);
        let n = calls.len();
        calls.push(TableFunctionCall {
            func: tf,
            args: bound,
            ty: ty.clone(),
        });
        Ok(PhysicalExpr::column(
            SYNTH_COLUMN_BASE + n,
            format!("KSQL_SYNTH_{n}"),
            ty,
        ))
    }

    fn unnamed_arg<'e>(&self, arg: &'e FunctionArg, node: &Expr) -> Result<&'e Expr> {
        match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
            FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => Err(err_at(node, "* is only allowed in COUNT(*)")),
            other => Err(err_at(node, format!("unexpected argument {other}"))),
        }
    }

    fn make_array(&mut self, elems: &[&Expr], node: &Expr) -> Result<PhysicalExpr> {
        if elems.is_empty() {
            return Err(err_at(
                node,
                "Array constructor cannot be empty. Please supply at least one element (see https://github.com/confluentinc/ksql/issues/4239).",
            ));
        }
        let (ty, items) = self.coerce_list(elems)?;
        let Some(ty) = ty else {
            return Err(err_at(
                node,
                "Cannot construct an array with all NULL elements (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type.",
            ));
        };
        Ok(PhysicalExpr::MakeArray {
            items,
            ty: SqlType::Array(Box::new(ty)),
        })
    }

    fn make_map(&mut self, args: &[&FunctionArg], node: &Expr) -> Result<PhysicalExpr> {
        let Some(entries) = map_entries(node) else {
            return Err(err_at(node, "MAP entries are written key := value"));
        };
        if entries.is_empty() {
            return Err(err_at(
                node,
                "Map constructor cannot be empty. Please supply at least one key value pair (see https://github.com/confluentinc/ksql/issues/4239).",
            ));
        }
        debug_assert_eq!(entries.len(), args.len());
        let keys: Vec<&Expr> = entries.iter().map(|(k, _)| k).collect();
        let values: Vec<&Expr> = entries.iter().map(|(_, v)| *v).collect();
        let (kt, keys) = self.coerce_list(&keys)?;
        let Some(kt) = kt else {
            return Err(err_at(
                node,
                "Cannot construct a map with all NULL keys (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL key to the desired type.",
            ));
        };
        let (vt, values) = self.coerce_list(&values)?;
        let Some(vt) = vt else {
            return Err(err_at(
                node,
                "Cannot construct a map with all NULL values (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type.",
            ));
        };
        Ok(PhysicalExpr::MakeMap {
            entries: keys.into_iter().zip(values).collect(),
            ty: SqlType::Map(Box::new(kt), Box::new(vt)),
        })
    }

    fn make_struct(&mut self, args: &[&FunctionArg], node: &Expr) -> Result<PhysicalExpr> {
        let mut fields = Vec::new();
        for a in args {
            let (name, e) = match a {
                FunctionArg::Named {
                    name,
                    arg: FunctionArgExpr::Expr(v),
                    ..
                } => (ident_name(name), v),
                FunctionArg::ExprNamed {
                    name: Expr::Identifier(name),
                    arg: FunctionArgExpr::Expr(v),
                    ..
                } => (ident_name(name), v),
                _ => return Err(err_at(node, "STRUCT fields are written name := value")),
            };
            if fields.iter().any(|(n, _)| *n == name) {
                return Err(err_at(node, format!("Duplicate field names found in STRUCT: {name}")));
            }
            fields.push((name, self.bind(e)?));
        }
        let ty = SqlType::Struct(fields.iter().map(|(n, e)| (n.clone(), e.ty())).collect());
        Ok(PhysicalExpr::MakeStruct { fields, ty })
    }
}

/// ksqlDB's name of a comparison operator, as its error messages spell it.
fn comparison_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "EQUAL",
        BinaryOp::NotEq => "NOT_EQUAL",
        BinaryOp::Lt => "LESS_THAN",
        BinaryOp::LtEq => "LESS_THAN_OR_EQUAL",
        BinaryOp::Gt => "GREATER_THAN",
        _ => "GREATER_THAN_OR_EQUAL",
    }
}

/// Brings two operands to one type for comparison; `what` names the operator in errors.
fn coerce(l: PhysicalExpr, r: PhysicalExpr, node: &Expr, what: &str) -> Result<(PhysicalExpr, PhysicalExpr)> {
    let l = magic_timestamp(l, &r);
    let r = magic_timestamp(r, &l);
    let (lt, rt) = (l.ty(), r.ty());
    if is_null_literal(&l) {
        return Ok((retype_null(l, &rt), r));
    }
    if is_null_literal(&r) {
        return Ok((l, retype_null(r, &lt)));
    }
    if lt == rt {
        return Ok((l, r));
    }
    if let Some(common) = SqlType::common_numeric(&lt, &rt) {
        if let SqlType::Decimal { .. } = common {
            return Ok((widen_to_decimal(l), widen_to_decimal(r)));
        }
        return Ok((l.cast_to(&common), r.cast_to(&common)));
    }
    let temporal = |t: &SqlType| matches!(t, SqlType::Timestamp | SqlType::Date | SqlType::Time);
    if temporal(&lt) && rt == SqlType::String {
        return Ok((l, r.cast_to(&lt)));
    }
    if temporal(&rt) && lt == SqlType::String {
        return Ok((l.cast_to(&rt), r));
    }
    if lt.can_widen_to(&rt) {
        return Ok((l.cast_to(&rt), r));
    }
    if rt.can_widen_to(&lt) {
        return Ok((l, r.cast_to(&lt)));
    }
    Err(err_at(
        node,
        format!("Cannot compare {l} ({lt}) to {r} ({rt}) with {what}."),
    ))
}

fn literal(v: &sp::Value) -> std::result::Result<PhysicalExpr, String> {
    Ok(match v {
        sp::Value::Number(text, _) => {
            let t = text.as_str();
            if t.contains(['e', 'E']) {
                let d: f64 = t.parse().map_err(|_| format!("invalid number {t}"))?;
                if d.is_infinite() || exceeds_double_max(t) {
                    return Err(format!("Number overflows DOUBLE: {t}"));
                }
                PhysicalExpr::literal(Value::Double(d), SqlType::Double)
            } else if t.contains('.') {
                let scale = t.split_once('.').map(|(_, f)| f.len()).unwrap_or(0) as i8;
                let unscaled = Value::parse_decimal(t, scale).ok_or_else(|| format!("invalid number {t}"))?;
                let digits = t
                    .chars()
                    .filter(|c| c.is_ascii_digit())
                    .collect::<String>()
                    .trim_start_matches('0')
                    .len()
                    .max(scale as usize)
                    .max(1);
                PhysicalExpr::literal(
                    Value::Decimal(unscaled, scale),
                    SqlType::Decimal {
                        precision: digits.min(38) as u8,
                        scale,
                    },
                )
            } else if let Ok(i) = t.parse::<i32>() {
                PhysicalExpr::literal(Value::Int(i), SqlType::Int)
            } else if let Ok(i) = t.parse::<i64>() {
                PhysicalExpr::literal(Value::BigInt(i), SqlType::BigInt)
            } else {
                // ksqlDB reads a whole number as INT or BIGINT only.
                return Err(format!("Invalid numeric literal: {t}"));
            }
        }
        sp::Value::SingleQuotedString(s) | sp::Value::DoubleQuotedString(s) => {
            PhysicalExpr::literal(Value::String(s.clone()), SqlType::String)
        }
        sp::Value::Boolean(b) => PhysicalExpr::literal(Value::Boolean(*b), SqlType::Boolean),
        sp::Value::Null => PhysicalExpr::literal(Value::Null, SqlType::String),
        other => return Err(format!("unsupported literal {other}")),
    })
}

/// ksqlDB's "magic" timestamps: a string literal compared with ROWTIME, WINDOWSTART or
/// WINDOWEND (BIGINT milliseconds) is read as a timestamp (`'2018-01-01T00:00:00.001'`,
/// optionally with a zone offset such as `+0000`). `e` is returned as a BIGINT literal
/// when it is such a string and `other` such a column.
fn magic_timestamp(e: PhysicalExpr, other: &PhysicalExpr) -> PhysicalExpr {
    let is_time_column = matches!(other, PhysicalExpr::Column { name, ty: SqlType::BigInt, .. }
        if matches!(name.as_str(), "ROWTIME" | "WINDOWSTART" | "WINDOWEND"));
    match &e {
        PhysicalExpr::Literal {
            value: Value::String(text),
            ..
        } if is_time_column => match parse_timestamp_with_zone(text) {
            Some(ms) => PhysicalExpr::literal(Value::BigInt(ms), SqlType::BigInt),
            None => e,
        },
        _ => e,
    }
}

/// Timestamp text with an optional trailing zone (`Z`, `+0100`, `-01:30`), in epoch millis.
fn parse_timestamp_with_zone(text: &str) -> Option<i64> {
    let t = text.trim();
    let bytes = t.as_bytes();
    let zone = [6usize, 5].into_iter().find_map(|len| {
        let start = t.len().checked_sub(len)?;
        let sign = match bytes.get(start)? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let digits: String = t[start + 1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) || !t[..start].contains('T') {
            return None;
        }
        let hours: i64 = digits[..2].parse().ok()?;
        let minutes: i64 = digits[2..].parse().ok()?;
        Some((start, sign * (hours * 60 + minutes) * 60_000))
    });
    match zone {
        Some((start, offset)) => Some(crate::runtime::expr::cast::parse_timestamp_text(&t[..start])? - offset),
        None => crate::runtime::expr::cast::parse_timestamp_text(t),
    }
}

/// Whether number text in scientific notation is beyond DOUBLE's largest finite value
/// (1.7976931348623157E308) although it rounds to it.
fn exceeds_double_max(text: &str) -> bool {
    let t = text.trim_start_matches(['-', '+']);
    let Some((mantissa, exp)) = t.split_once(['e', 'E']) else {
        return false;
    };
    let Ok(exp) = exp.parse::<i64>() else {
        return false;
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() {
        return false;
    }
    // The value is 0.<significant> x 10^(magnitude).
    let magnitude = exp + int.len() as i64 - leading as i64;
    const MAX_DIGITS: &str = "17976931348623157";
    match magnitude.cmp(&309) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => {
            let width = significant.len().max(MAX_DIGITS.len());
            format!("{significant:0<width$}") > format!("{MAX_DIGITS:0<width$}")
        }
    }
}

/// Whether `e` is a bare NULL literal (whose type is taken from its context).
pub fn is_null_literal(e: &PhysicalExpr) -> bool {
    matches!(e, PhysicalExpr::Literal { value: Value::Null, .. })
}

/// Gives a NULL literal the type `ty`; other expressions are returned unchanged.
pub fn retype_null(e: PhysicalExpr, ty: &SqlType) -> PhysicalExpr {
    if is_null_literal(&e) {
        PhysicalExpr::literal(Value::Null, ty.clone())
    } else {
        e
    }
}

fn widen_to_decimal(e: PhysicalExpr) -> PhysicalExpr {
    match e.ty().decimal_bounds() {
        Some((precision, scale)) if !matches!(e.ty(), SqlType::Decimal { .. }) => {
            e.cast_to(&SqlType::Decimal { precision, scale })
        }
        _ => e,
    }
}

/// ksqlDB's result type of decimal arithmetic.
fn decimal_result(op: BinaryOp, p1: i32, s1: i32, p2: i32, s2: i32) -> SqlType {
    let (p, s) = match op {
        BinaryOp::Add | BinaryOp::Sub => {
            let s = s1.max(s2);
            (s + (p1 - s1).max(p2 - s2) + 1, s)
        }
        BinaryOp::Mul => (p1 + p2 + 1, s1 + s2),
        BinaryOp::Div => {
            let s = 6.max(s1 + p2 + 1);
            (p1 - s1 + s2 + s, s)
        }
        _ => {
            let s = s1.max(s2);
            ((p1 - s1).min(p2 - s2) + s, s)
        }
    };
    let p = p.clamp(1, 38);
    SqlType::Decimal {
        precision: p as u8,
        scale: s.clamp(0, p) as i8,
    }
}

/// The common type of several expressions (NULL literals do not count), or an error naming
/// the two that do not fit together.
pub fn common_of(items: &[PhysicalExpr]) -> std::result::Result<Option<SqlType>, String> {
    let mut common: Option<SqlType> = None;
    for item in items.iter().filter(|i| !is_null_literal(i)) {
        common = Some(match common {
            None => item.ty(),
            Some(c) => SqlType::common(&c, &item.ty())
                .ok_or_else(|| format!("{item} is {} but earlier items are {c}", item.ty()))?,
        });
    }
    Ok(common)
}

/// Whether ksqlDB allows `CAST(from AS to)`.
fn check_cast(from: &SqlType, to: &SqlType) -> std::result::Result<(), String> {
    use SqlType::*;
    let ok = from == to
        || matches!(to, String)
        || (from.is_numeric() && to.is_numeric())
        || matches!((from, to), (String, _) if to.is_primitive() && !matches!(to, Bytes))
        || matches!(
            (from, to),
            (Timestamp, Date | Time) | (Date, Timestamp) | (Boolean, Boolean)
        )
        || match (from, to) {
            (Array(a), Array(b)) => check_cast(a, b).is_ok(),
            (Map(ak, av), Map(bk, bv)) => check_cast(ak, bk).is_ok() && check_cast(av, bv).is_ok(),
            (Struct(_), Struct(_)) => true,
            _ => false,
        };
    if ok {
        Ok(())
    } else {
        Err(format!("Cast of {from} to {to} is not supported"))
    }
}

/// Why a list of expressions has no common type (ksqlDB's `CoercionUtil`).
#[derive(Debug)]
enum CoercionFailure {
    /// Two types do not meet: `operator does not exist: T = S (expr)`. An enclosing
    /// constructor replaces it with its own mismatch.
    Mismatch(String),
    /// A string literal is not text of the type it must become: `invalid input syntax ...`.
    Syntax(String),
}

impl CoercionFailure {
    fn message(self) -> String {
        match self {
            CoercionFailure::Mismatch(m) | CoercionFailure::Syntax(m) => m,
        }
    }
}

fn mismatch(target: &SqlType, source: &SqlType, value: &PhysicalExpr) -> CoercionFailure {
    CoercionFailure::Mismatch(format!(
        "operator does not exist: {target} = {source} ({value})\nHint: You might need to add explicit type casts."
    ))
}

fn invalid_syntax(value: &str, target: &SqlType) -> CoercionFailure {
    CoercionFailure::Syntax(format!(
        "invalid input syntax for type {}: \"{value}\".",
        base_type_name(target)
    ))
}

/// ksqlDB's name of a type's base type (`DECIMAL` for `DECIMAL(4, 2)`).
fn base_type_name(t: &SqlType) -> &'static str {
    match t {
        SqlType::Boolean => "BOOLEAN",
        SqlType::Int => "INTEGER",
        SqlType::BigInt => "BIGINT",
        SqlType::Double => "DOUBLE",
        SqlType::Decimal { .. } => "DECIMAL",
        SqlType::String => "STRING",
        SqlType::Bytes => "BYTES",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Array(_) => "ARRAY",
        SqlType::Map(..) => "MAP",
        SqlType::Struct(_) => "STRUCT",
    }
}

/// ksqlDB's `DecimalUtil.widen`: the decimal holding both (integers as DECIMAL(10|19, 0)).
fn widen_decimal(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    let (pa, sa) = a.decimal_bounds()?;
    let (pb, sb) = b.decimal_bounds()?;
    let scale = sa.max(sb);
    let whole = (pa as i16 - sa as i16).max(pb as i16 - sb as i16);
    Some(SqlType::Decimal {
        precision: (whole + scale as i16).clamp(1, 38) as u8,
        scale,
    })
}

/// ksqlDB's `DefaultSqlValueCoercer.canCoerce`: the type a value of `from` becomes when
/// coerced to `to`, if it can be. `lax` (for literals) also converts between STRING and
/// BOOLEAN or the numbers.
fn can_coerce(lax: bool, from: &SqlType, to: &SqlType) -> Option<SqlType> {
    use SqlType::*;
    match (from, to) {
        (Boolean, Boolean)
        | (Int, Int | BigInt | Double)
        | (BigInt, BigInt | Double)
        | (Decimal { .. }, Double)
        | (Double, Double)
        | (String, String | Timestamp | Time | Date | Bytes)
        | (Timestamp, Timestamp)
        | (Time, Time)
        | (Date, Date)
        | (Bytes, Bytes) => Some(to.clone()),
        (Int | BigInt | Decimal { .. }, Decimal { .. }) => widen_decimal(from, to),
        (Array(a), Array(b)) => Some(Array(Box::new(can_coerce(lax, a, b)?))),
        (Map(ak, av), Map(bk, bv)) => Some(Map(
            Box::new(can_coerce(lax, ak, bk)?),
            Box::new(can_coerce(lax, av, bv)?),
        )),
        (Struct(a), Struct(b)) => {
            let mut names: Vec<&std::string::String> = a.iter().map(|(n, _)| n).collect();
            for (n, _) in b {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            let mut fields = Vec::with_capacity(names.len());
            for name in names {
                let from_field = a.iter().find(|(n, _)| n == name).map(|(_, t)| t);
                let to_field = b.iter().find(|(n, _)| n == name).map(|(_, t)| t);
                let ty = match (from_field, to_field) {
                    (Some(f), Some(t)) => can_coerce(lax, f, t)?,
                    (Some(f), None) => f.clone(),
                    (None, Some(t)) => t.clone(),
                    (None, None) => return None,
                };
                fields.push((name.clone(), ty));
            }
            Some(Struct(fields))
        }
        (Boolean | Int | BigInt | Decimal { .. } | Double | Timestamp | Time | Date, String) if lax => Some(to.clone()),
        (String, Boolean | Int | BigInt | Decimal { .. } | Double) if lax => Some(to.clone()),
        _ => None,
    }
}

/// ksqlDB's boolean text (`SqlBooleans.parseBooleanExact`): any case-insensitive prefix of
/// `true` or `yes` is true, of `false` or `no` false.
fn parse_boolean_exact(text: &str) -> Option<bool> {
    let matches =
        |word: &str| !text.is_empty() && text.len() <= word.len() && word[..text.len()].eq_ignore_ascii_case(text);
    if matches("true") || matches("yes") {
        Some(true)
    } else if matches("false") || matches("no") {
        Some(false)
    } else {
        None
    }
}

/// The numeric type of number text, as ksqlDB reads a string literal used as a number: INT
/// or BIGINT for whole numbers that fit, otherwise DECIMAL of the digits written.
fn string_numeric_type(text: &str) -> Option<SqlType> {
    let t = text.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.parse::<i32>().ok()?)),
        None => (body, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let dp_or_scientific = t.contains(['.', 'e', 'E']);
    if !dp_or_scientific {
        if let Ok(v) = t.parse::<i64>() {
            return Some(if v > i32::MIN as i64 && v < i32::MAX as i64 {
                SqlType::Int
            } else if v > i64::MIN && v < i64::MAX {
                SqlType::BigInt
            } else {
                decimal_of_digits(int_part, 0)
            });
        }
        return Some(decimal_of_digits(int_part, 0));
    }
    let scale = (frac_part.len() as i64 - exponent.unwrap_or(0) as i64).max(0);
    let digits = format!("{int_part}{frac_part}");
    Some(decimal_of_digits(&digits, scale))
}

/// ksqlDB's `DecimalUtil.fromValue` for `digits` (unscaled) at `scale`: the precision is the
/// significant digits, or scale + 1 for a value between -1 and 1.
fn decimal_of_digits(digits: &str, scale: i64) -> SqlType {
    let significant = digits.trim_start_matches('0').len() as i64;
    let precision = if significant <= scale {
        scale + 1
    } else {
        significant.max(1)
    };
    SqlType::Decimal {
        precision: precision.clamp(1, 38) as u8,
        scale: scale.clamp(0, 38) as i8,
    }
}

/// A list item being coerced: its expression as written and as bound.
struct ListItem<'e> {
    expr: &'e Expr,
    bound: PhysicalExpr,
}

impl ListItem<'_> {
    fn ty(&self) -> Option<SqlType> {
        if is_null_literal(&self.bound) {
            None
        } else {
            Some(self.bound.ty())
        }
    }
}

fn unnest(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => unnest(inner),
        other => other,
    }
}

/// The function name and arguments of a constructor call (`ARRAY[..]` is `Expr::Array`).
fn constructor_args<'e>(e: &'e Expr, name: &str) -> Option<Vec<&'e FunctionArg>> {
    let Expr::Function(f) = unnest(e) else { return None };
    if !f.name.to_string().trim_matches('`').eq_ignore_ascii_case(name) {
        return None;
    }
    match &f.args {
        FunctionArguments::List(list) => Some(list.args.iter().collect()),
        FunctionArguments::None => Some(Vec::new()),
        FunctionArguments::Subquery(_) => None,
    }
}

fn array_elements(e: &Expr) -> Option<Vec<&Expr>> {
    if let Expr::Array(arr) = unnest(e) {
        return Some(arr.elem.iter().collect());
    }
    let args = constructor_args(e, "ARRAY")?;
    args.into_iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x),
            _ => None,
        })
        .collect()
}

/// The entries of a `MAP(k := v, ...)` constructor; a bare-word key is a string.
fn map_entries(e: &Expr) -> Option<Vec<(Expr, &Expr)>> {
    constructor_args(e, "MAP")?
        .into_iter()
        .map(|a| match a {
            FunctionArg::ExprNamed {
                name,
                arg: FunctionArgExpr::Expr(v),
                ..
            } => Some((name.clone(), v)),
            FunctionArg::Named {
                name,
                arg: FunctionArgExpr::Expr(v),
                ..
            } => Some((Expr::Value(sp::Value::SingleQuotedString(name.value.clone()).into()), v)),
            _ => None,
        })
        .collect()
}

/// The fields of a `STRUCT(name := v, ...)` constructor.
fn struct_fields(e: &Expr) -> Option<Vec<(String, &Expr)>> {
    constructor_args(e, "STRUCT")?
        .into_iter()
        .map(|a| match a {
            FunctionArg::Named {
                name,
                arg: FunctionArgExpr::Expr(v),
                ..
            }
            | FunctionArg::ExprNamed {
                name: Expr::Identifier(name),
                arg: FunctionArgExpr::Expr(v),
                ..
            } => Some((ident_name(name), v)),
            _ => None,
        })
        .collect()
}

impl Binder<'_> {
    /// Brings user-supplied expressions (an IN list with its operand, the elements of an
    /// ARRAY or the keys or values of a MAP) to one type as ksqlDB's `CoercionUtil` does:
    /// the widest type of them all, looking into constructors, reading string literals as
    /// numbers or booleans where the others are; literals are converted now, other
    /// expressions cast. `None` when every item is a NULL literal.
    fn coerce_list(&mut self, exprs: &[&Expr]) -> Result<(Option<SqlType>, Vec<PhysicalExpr>)> {
        let mut items = Vec::with_capacity(exprs.len());
        for e in exprs {
            items.push(ListItem {
                expr: e,
                bound: self.bind(e)?,
            });
        }
        let common = match self.common_list_type(&items, None) {
            Ok(c) => c,
            Err(failure) => {
                self.late_error = true;
                return Err(Error::plan(failure.message()));
            }
        };
        let Some(common) = common else {
            return Ok((None, items.into_iter().map(|i| i.bound).collect()));
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.convert_item(item, &common)?);
        }
        Ok((Some(common), out))
    }

    fn common_list_type(
        &mut self,
        items: &[ListItem<'_>],
        start: Option<SqlType>,
    ) -> std::result::Result<Option<SqlType>, CoercionFailure> {
        let mut common = start;
        for item in items {
            common = self.common_with(item, common)?;
        }
        Ok(common)
    }

    fn common_with(
        &mut self,
        item: &ListItem<'_>,
        common: Option<SqlType>,
    ) -> std::result::Result<Option<SqlType>, CoercionFailure> {
        let Some(target) = common else {
            return Ok(item.ty());
        };
        let Some(source) = item.ty() else {
            return Ok(Some(target));
        };
        let wrap = |f: CoercionFailure| match f {
            CoercionFailure::Mismatch(_) => mismatch(&target, &source, &item.bound),
            syntax => syntax,
        };
        if let Some(elements) = array_elements(item.expr) {
            let SqlType::Array(target_item) = &target else {
                return Err(mismatch(&target, &source, &item.bound));
            };
            let t = self.structured_common(target_item, &elements).map_err(wrap)?;
            return Ok(t.map(|t| SqlType::Array(Box::new(t))));
        }
        if let Some(entries) = map_entries(item.expr) {
            let SqlType::Map(tk, tv) = &target else {
                return Err(mismatch(&target, &source, &item.bound));
            };
            let keys: Vec<&Expr> = entries.iter().map(|(k, _)| k).collect();
            let values: Vec<&Expr> = entries.iter().map(|(_, v)| *v).collect();
            let k = self.structured_common(tk, &keys).map_err(wrap)?;
            let v = self.structured_common(tv, &values).map_err(wrap)?;
            return Ok(match (k, v) {
                (Some(k), Some(v)) => Some(SqlType::Map(Box::new(k), Box::new(v))),
                _ => None,
            });
        }
        if let Some(fields) = struct_fields(item.expr) {
            let SqlType::Struct(target_fields) = &target else {
                return Err(mismatch(&target, &source, &item.bound));
            };
            let mut names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            for (n, _) in target_fields {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                let source_field = fields.iter().find(|(n, _)| *n == name).map(|(_, e)| *e);
                let target_type = target_fields.iter().find(|(n, _)| *n == name).map(|(_, t)| t.clone());
                let ty = match (source_field, target_type) {
                    (Some(e), Some(t)) => {
                        let bound = self.bind(e).map_err(|e| CoercionFailure::Mismatch(e.message))?;
                        let field_item = ListItem { expr: e, bound };
                        self.common_with(&field_item, Some(t.clone()))
                            .map_err(wrap)?
                            .unwrap_or(t)
                    }
                    (Some(e), None) => self.bind(e).map_err(|e| CoercionFailure::Mismatch(e.message))?.ty(),
                    (None, Some(t)) => t,
                    (None, None) => continue,
                };
                out.push((name, ty));
            }
            return Ok(Some(SqlType::Struct(out)));
        }
        if let Expr::Value(v) = unnest(item.expr)
            && let sp::Value::SingleQuotedString(text) = &v.value
        {
            if target.is_numeric() {
                let Some(from_text) = string_numeric_type(text) else {
                    return Err(invalid_syntax(text, &target));
                };
                return Ok(Some(if target == SqlType::Double {
                    SqlType::Double
                } else if matches!(from_text, SqlType::Decimal { .. }) || matches!(target, SqlType::Decimal { .. }) {
                    widen_decimal(&from_text, &target).unwrap_or(target)
                } else if from_text.can_widen_to(&target) {
                    target
                } else {
                    from_text
                }));
            }
            if target == SqlType::Boolean {
                if parse_boolean_exact(text.trim()).is_none() {
                    return Err(invalid_syntax(text, &target));
                }
                return Ok(Some(target));
            }
        }
        let lax = matches!(item.bound, PhysicalExpr::Literal { .. });
        can_coerce(lax, &source, &target)
            .or_else(|| can_coerce(lax, &target, &source))
            .map(Some)
            .ok_or_else(|| mismatch(&target, &source, &item.bound))
    }

    /// The common type of `target` and the elements of a constructor.
    fn structured_common(
        &mut self,
        target: &SqlType,
        elements: &[&Expr],
    ) -> std::result::Result<Option<SqlType>, CoercionFailure> {
        let mut items = Vec::with_capacity(elements.len());
        for e in elements {
            let bound = self.bind(e).map_err(|e| CoercionFailure::Mismatch(e.message))?;
            items.push(ListItem { expr: e, bound });
        }
        if items.is_empty() {
            return Ok(Some(target.clone()));
        }
        self.common_list_type(&items, Some(target.clone()))
    }

    /// One list item converted to the common type: a literal now, anything else by a cast.
    fn convert_item(&mut self, item: ListItem<'_>, common: &SqlType) -> Result<PhysicalExpr> {
        match item.ty() {
            None => return Ok(retype_null(item.bound, common)),
            Some(t) if &t == common => return Ok(item.bound),
            _ => {}
        }
        if let PhysicalExpr::Literal { value, .. } = &item.bound {
            let converted = match (value, common) {
                (Value::String(s), SqlType::Boolean) => parse_boolean_exact(s.trim()).map(Value::Boolean),
                (v, t) => crate::runtime::expr::cast_value(v.clone(), t).ok(),
            };
            return match converted {
                Some(v) => Ok(PhysicalExpr::literal(v, common.clone())),
                None => {
                    self.late_error = true;
                    Err(Error::plan(invalid_syntax(&value.to_string(), common).message()))
                }
            };
        }
        Ok(item.bound.cast_to(common))
    }
}
