//! Physical expressions: typed, resolved expression trees evaluated over Arrow record batches.
//!
//! The planner builds a [`PhysicalExpr`] with every column resolved to an index of the input
//! batch and every implicit conversion made explicit as a [`PhysicalExpr::Cast`]. Evaluation
//! is vectorised (Arrow compute kernels) for the common shapes — columns, literals,
//! comparisons, arithmetic on integers and doubles, boolean logic, `IS NULL`, `LIKE` — and
//! row-wise for the rest (functions, lambdas, `CASE`, decimals, collections). A row whose
//! evaluation fails (division by zero, a function error) gets NULL and is reported as a
//! [`RowError`]: the caller writes it to the processing log, as ksqlDB does.

pub mod cast;
mod eval;
mod row;

use std::fmt;
use std::sync::Arc;

use crate::function::ScalarFunction;
use crate::types::{SqlType, Value};

pub use cast::cast_value;
pub use eval::{evaluate, evaluate_predicate};
pub use row::{RowCtx, eval_value, eval_value_logged};

/// A failure evaluating one row: the row index in the batch and what went wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The row.
    pub row: usize,
    /// The message (as ksqlDB's processing log words it where it can).
    pub message: String,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+` (numbers; also concatenates strings)
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `=`
    Eq,
    /// `<>` / `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND`
    And,
    /// `OR`
    Or,
}

impl BinaryOp {
    /// Whether the operator compares its operands.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::NotEq | BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq
        )
    }

    /// Whether the operator is arithmetic.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
        )
    }

    /// The SQL spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        }
    }
}

/// A typed, resolved expression.
#[derive(Clone)]
pub enum PhysicalExpr {
    /// Column `index` of the input batch.
    Column {
        /// Index in the batch.
        index: usize,
        /// The column's name, for display.
        name: String,
        /// Its type.
        ty: SqlType,
    },
    /// A constant.
    Literal {
        /// The value.
        value: Value,
        /// Its type (a NULL literal gets the type its context needs).
        ty: SqlType,
    },
    /// `left op right`; operands are already converted to a common type.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<PhysicalExpr>,
        /// Right operand.
        right: Box<PhysicalExpr>,
        /// Result type.
        ty: SqlType,
    },
    /// `NOT expr`
    Not(Box<PhysicalExpr>),
    /// `-expr`
    Negate(Box<PhysicalExpr>),
    /// `expr IS [NOT] NULL`
    IsNull {
        /// The operand.
        expr: Box<PhysicalExpr>,
        /// `IS NOT NULL`
        negated: bool,
    },
    /// `left IS [NOT] DISTINCT FROM right`
    IsDistinctFrom {
        /// Left operand.
        left: Box<PhysicalExpr>,
        /// Right operand.
        right: Box<PhysicalExpr>,
        /// `IS NOT DISTINCT FROM`
        negated: bool,
    },
    /// `expr [NOT] LIKE pattern [ESCAPE 'c']`
    Like {
        /// The string tested.
        expr: Box<PhysicalExpr>,
        /// The pattern (`%` any run, `_` one character).
        pattern: Box<PhysicalExpr>,
        /// The escape character.
        escape: Option<char>,
        /// `NOT LIKE`
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`
    Between {
        /// The operand.
        expr: Box<PhysicalExpr>,
        /// Lower bound (inclusive).
        low: Box<PhysicalExpr>,
        /// Upper bound (inclusive).
        high: Box<PhysicalExpr>,
        /// `NOT BETWEEN`
        negated: bool,
    },
    /// `expr [NOT] IN (list)`
    InList {
        /// The operand.
        expr: Box<PhysicalExpr>,
        /// The candidates.
        list: Vec<PhysicalExpr>,
        /// `NOT IN`
        negated: bool,
    },
    /// `CASE WHEN c THEN r ... [ELSE e] END` (a simple `CASE x WHEN v` is planned into this form).
    Case {
        /// Conditions and results, in order.
        branches: Vec<(PhysicalExpr, PhysicalExpr)>,
        /// `ELSE`
        else_result: Option<Box<PhysicalExpr>>,
        /// Result type.
        ty: SqlType,
    },
    /// `CAST(expr AS to)` or an implicit widening.
    Cast {
        /// The operand.
        expr: Box<PhysicalExpr>,
        /// The target type.
        to: SqlType,
    },
    /// A scalar function call.
    Call {
        /// The function.
        func: Arc<dyn ScalarFunction>,
        /// The arguments; lambda arguments are [`PhysicalExpr::Lambda`].
        args: Vec<PhysicalExpr>,
        /// Result type.
        ty: SqlType,
    },
    /// A lambda, only as a function argument. Its parameters are pushed on the lambda
    /// environment; the body reads them with [`PhysicalExpr::LambdaVar`].
    Lambda {
        /// Parameter names, for display.
        params: Vec<String>,
        /// The body.
        body: Box<PhysicalExpr>,
    },
    /// A lambda parameter: slot `slot` of the lambda environment.
    LambdaVar {
        /// The slot.
        slot: usize,
        /// The name, for display.
        name: String,
        /// Its type.
        ty: SqlType,
    },
    /// `expr->field`
    Field {
        /// The struct.
        expr: Box<PhysicalExpr>,
        /// The field name.
        field: String,
        /// Its type.
        ty: SqlType,
    },
    /// `expr[index]`: arrays are 1-based (negative counts from the end); maps by key.
    Subscript {
        /// The array or map.
        expr: Box<PhysicalExpr>,
        /// The index or key.
        index: Box<PhysicalExpr>,
        /// Element type.
        ty: SqlType,
    },
    /// `ARRAY[a, b, ...]`
    MakeArray {
        /// Items.
        items: Vec<PhysicalExpr>,
        /// Result type.
        ty: SqlType,
    },
    /// `MAP(k := v, ...)`
    MakeMap {
        /// Entries.
        entries: Vec<(PhysicalExpr, PhysicalExpr)>,
        /// Result type.
        ty: SqlType,
    },
    /// `STRUCT(name := v, ...)`
    MakeStruct {
        /// Fields.
        fields: Vec<(String, PhysicalExpr)>,
        /// Result type.
        ty: SqlType,
    },
}

impl PhysicalExpr {
    /// The result type.
    pub fn ty(&self) -> SqlType {
        match self {
            PhysicalExpr::Column { ty, .. }
            | PhysicalExpr::Literal { ty, .. }
            | PhysicalExpr::Binary { ty, .. }
            | PhysicalExpr::Case { ty, .. }
            | PhysicalExpr::Call { ty, .. }
            | PhysicalExpr::LambdaVar { ty, .. }
            | PhysicalExpr::Field { ty, .. }
            | PhysicalExpr::Subscript { ty, .. }
            | PhysicalExpr::MakeArray { ty, .. }
            | PhysicalExpr::MakeMap { ty, .. }
            | PhysicalExpr::MakeStruct { ty, .. } => ty.clone(),
            PhysicalExpr::Cast { to, .. } => to.clone(),
            PhysicalExpr::Negate(e) => e.ty(),
            PhysicalExpr::Lambda { body, .. } => body.ty(),
            PhysicalExpr::Not(_)
            | PhysicalExpr::IsNull { .. }
            | PhysicalExpr::IsDistinctFrom { .. }
            | PhysicalExpr::Like { .. }
            | PhysicalExpr::Between { .. }
            | PhysicalExpr::InList { .. } => SqlType::Boolean,
        }
    }

    /// A column reference.
    pub fn column(index: usize, name: impl Into<String>, ty: SqlType) -> Self {
        PhysicalExpr::Column {
            index,
            name: name.into(),
            ty,
        }
    }

    /// A literal.
    pub fn literal(value: Value, ty: SqlType) -> Self {
        PhysicalExpr::Literal { value, ty }
    }

    /// Calls `f` on every column index the expression reads, letting it change them (the
    /// planner moves columns when a node between the source and the projection adds some).
    pub fn remap_columns(&mut self, f: &mut dyn FnMut(usize) -> usize) {
        if let PhysicalExpr::Column { index, .. } = self {
            *index = f(*index);
            return;
        }
        self.for_each_child_mut(&mut |c| c.remap_columns(f));
    }

    /// Calls `f` on each direct sub-expression.
    pub fn for_each_child_mut(&mut self, f: &mut dyn FnMut(&mut PhysicalExpr)) {
        match self {
            PhysicalExpr::Column { .. } | PhysicalExpr::Literal { .. } | PhysicalExpr::LambdaVar { .. } => {}
            PhysicalExpr::Binary { left, right, .. } | PhysicalExpr::IsDistinctFrom { left, right, .. } => {
                f(left);
                f(right);
            }
            PhysicalExpr::Not(e)
            | PhysicalExpr::Negate(e)
            | PhysicalExpr::IsNull { expr: e, .. }
            | PhysicalExpr::Cast { expr: e, .. }
            | PhysicalExpr::Field { expr: e, .. }
            | PhysicalExpr::Lambda { body: e, .. } => f(e),
            PhysicalExpr::Like { expr, pattern, .. } => {
                f(expr);
                f(pattern);
            }
            PhysicalExpr::Between { expr, low, high, .. } => {
                f(expr);
                f(low);
                f(high);
            }
            PhysicalExpr::InList { expr, list, .. } => {
                f(expr);
                list.iter_mut().for_each(f);
            }
            PhysicalExpr::Case {
                branches, else_result, ..
            } => {
                for (c, r) in branches {
                    f(c);
                    f(r);
                }
                if let Some(e) = else_result {
                    f(e);
                }
            }
            PhysicalExpr::Call { args, .. } => args.iter_mut().for_each(f),
            PhysicalExpr::Subscript { expr, index, .. } => {
                f(expr);
                f(index);
            }
            PhysicalExpr::MakeArray { items, .. } => items.iter_mut().for_each(f),
            PhysicalExpr::MakeMap { entries, .. } => {
                for (k, v) in entries {
                    f(k);
                    f(v);
                }
            }
            PhysicalExpr::MakeStruct { fields, .. } => fields.iter_mut().for_each(|(_, e)| f(e)),
        }
    }

    /// Whether `pred` holds for this expression or any sub-expression.
    pub fn any(&self, pred: &dyn Fn(&PhysicalExpr) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        let mut copy = self.clone();
        let mut found = false;
        copy.for_each_child_mut(&mut |c| found = found || c.any(pred));
        found
    }

    /// Wraps `self` in a cast to `to` unless it already has that type.
    pub fn cast_to(self, to: &SqlType) -> Self {
        if &self.ty() == to {
            self
        } else {
            PhysicalExpr::Cast {
                expr: Box::new(self),
                to: to.clone(),
            }
        }
    }
}

impl fmt::Display for PhysicalExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhysicalExpr::Column { name, .. } => f.write_str(name),
            PhysicalExpr::Literal {
                value: Value::String(s),
                ..
            } => write!(f, "'{}'", s.replace('\'', "''")),
            PhysicalExpr::Literal { value, .. } => write!(f, "{value}"),
            PhysicalExpr::Binary { op, left, right, .. } => write!(f, "({left} {} {right})", op.symbol()),
            PhysicalExpr::Not(e) => write!(f, "(NOT {e})"),
            PhysicalExpr::Negate(e) => write!(f, "-{e}"),
            PhysicalExpr::IsNull { expr, negated } => {
                write!(f, "({expr} IS {}NULL)", if *negated { "NOT " } else { "" })
            }
            PhysicalExpr::IsDistinctFrom { left, right, negated } => {
                write!(
                    f,
                    "({left} IS {}DISTINCT FROM {right})",
                    if *negated { "NOT " } else { "" }
                )
            }
            PhysicalExpr::Like {
                expr,
                pattern,
                escape,
                negated,
            } => {
                write!(f, "({expr} {}LIKE {pattern}", if *negated { "NOT " } else { "" })?;
                if let Some(c) = escape {
                    write!(f, " ESCAPE '{c}'")?;
                }
                f.write_str(")")
            }
            PhysicalExpr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                write!(
                    f,
                    "({expr} {}BETWEEN {low} AND {high})",
                    if *negated { "NOT " } else { "" }
                )
            }
            PhysicalExpr::InList { expr, list, negated } => {
                write!(f, "({expr} {}IN (", if *negated { "NOT " } else { "" })?;
                write_list(f, list)?;
                f.write_str("))")
            }
            PhysicalExpr::Case {
                branches, else_result, ..
            } => {
                f.write_str("(CASE")?;
                for (c, r) in branches {
                    write!(f, " WHEN {c} THEN {r}")?;
                }
                if let Some(e) = else_result {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END)")
            }
            PhysicalExpr::Cast { expr, to } => write!(f, "CAST({expr} AS {to})"),
            PhysicalExpr::Call { func, args, .. } => {
                write!(f, "{}(", func.doc().name)?;
                write_list(f, args)?;
                f.write_str(")")
            }
            PhysicalExpr::Lambda { params, body } => write!(f, "({}) => {body}", params.join(", ")),
            PhysicalExpr::LambdaVar { name, .. } => f.write_str(name),
            PhysicalExpr::Field { expr, field, .. } => write!(f, "{expr}->{field}"),
            PhysicalExpr::Subscript { expr, index, .. } => write!(f, "{expr}[{index}]"),
            PhysicalExpr::MakeArray { items, .. } => {
                f.write_str("ARRAY[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            PhysicalExpr::MakeMap { entries, .. } => {
                f.write_str("MAP(")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}:={v}")?;
                }
                f.write_str(")")
            }
            PhysicalExpr::MakeStruct { fields, .. } => {
                f.write_str("STRUCT(")?;
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}:={v}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Debug for PhysicalExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[PhysicalExpr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}
