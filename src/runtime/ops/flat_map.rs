//! Table functions (`EXPLODE`, `CUBE_EXPLODE`) and the `FlatMap` operator that applies them:
//! each input row becomes zero or more output rows, one per value the table functions
//! return. Several table functions in one select list are zipped (KLIP-9): the row count is
//! the longest result, and shorter results are padded with NULL. The input columns are
//! copied to every output row — pseudo columns included, so each fan-out row keeps the input
//! record's timestamp — and the function results are appended after the data columns.

use std::sync::Arc;

use arrow_array::{ArrayRef, UInt32Array};

use crate::error::Result;
use crate::runtime::batch::Batch;
use crate::runtime::expr::{PhysicalExpr, RowError, evaluate};
use crate::runtime::processing_log::{ProcessingErrorKind, ProcessingLogEntry};
use crate::runtime::processor::{Processor, ProcessorContext};
use crate::types::arrow::{build_array, value_at};
use crate::types::{SqlType, Value};

/// ksqlDB's built-in table functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFunction {
    /// `EXPLODE(ARRAY<T>)`: one row per element (none for an empty or NULL array).
    Explode,
    /// `CUBE_EXPLODE(ARRAY<T>)`: every combination of the elements with some replaced by
    /// NULL, 2^n rows for n non-NULL elements (a NULL element gives no duplicate rows).
    CubeExplode,
}

/// Most elements `CUBE_EXPLODE` takes: its output has 2^n rows.
const CUBE_MAX_COLUMNS: usize = 20;

impl TableFunction {
    /// The table function called `name` (case-insensitive).
    pub fn by_name(name: &str) -> Option<TableFunction> {
        match name.to_ascii_uppercase().as_str() {
            "EXPLODE" => Some(TableFunction::Explode),
            "CUBE_EXPLODE" => Some(TableFunction::CubeExplode),
            _ => None,
        }
    }

    /// Every table function, for listings.
    pub fn all() -> [TableFunction; 2] {
        [TableFunction::CubeExplode, TableFunction::Explode]
    }

    /// The upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            TableFunction::Explode => "EXPLODE",
            TableFunction::CubeExplode => "CUBE_EXPLODE",
        }
    }

    /// What the function does, for listings.
    pub fn description(self) -> &'static str {
        match self {
            TableFunction::Explode => {
                "Explodes an array. This function outputs one value for each element of the array."
            }
            TableFunction::CubeExplode => {
                "Takes as argument a list of columns and outputs all possible combinations of them. It produces 2^d new rows where d is the number of columns given as parameter. Duplicate entries for columns with null value are skipped."
            }
        }
    }

    /// The type of the values the function emits for these argument types (`None` for a
    /// NULL literal), or an error message.
    pub fn return_type(self, args: &[Option<SqlType>]) -> std::result::Result<SqlType, String> {
        let shown = || {
            args.iter()
                .map(|a| a.as_ref().map(|t| t.to_string()).unwrap_or_else(|| "null".into()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match args {
            [Some(SqlType::Array(item))] => Ok(match self {
                TableFunction::Explode => item.as_ref().clone(),
                TableFunction::CubeExplode => SqlType::Array(item.clone()),
            }),
            _ => Err(format!(
                "Function '{name}' does not accept parameters ({}). Valid alternatives are: {name}(ARRAY<T>)",
                shown(),
                name = crate::function::display_name(self.name())
            )),
        }
    }

    /// The values for one row's arguments.
    pub fn apply(self, args: &[Value]) -> std::result::Result<Vec<Value>, String> {
        let items = match args.first() {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => return Ok(Vec::new()),
            Some(other) => return Err(format!("{} expects an ARRAY, got {other:?}", self.name())),
        };
        match self {
            TableFunction::Explode => Ok(items.clone()),
            TableFunction::CubeExplode => cube(items),
        }
    }
}

/// Every combination of `items` with some elements replaced by NULL, in ksqlDB's order:
/// bit `n-1-i` of a counter from 0 to 2^n-1 keeps element `i`; combinations that would keep
/// a NULL element are skipped, being duplicates of the one that drops it.
fn cube(items: &[Value]) -> std::result::Result<Vec<Value>, String> {
    let n = items.len();
    if n > CUBE_MAX_COLUMNS {
        return Err(format!(
            "CUBE_EXPLODE input size ({n}) exceeds the maximum of {CUBE_MAX_COLUMNS} columns. The output cardinality is 2^N rows and would exhaust server memory."
        ));
    }
    let mut non_null_mask = 0usize;
    for (i, v) in items.iter().enumerate() {
        if !v.is_null() {
            non_null_mask |= 1 << (n - 1 - i);
        }
    }
    let mut out = Vec::new();
    for mask in 0..(1usize << n) {
        if mask & non_null_mask != mask {
            continue;
        }
        let row = (0..n)
            .map(|i| {
                if mask & (1 << (n - 1 - i)) != 0 {
                    items[i].clone()
                } else {
                    Value::Null
                }
            })
            .collect();
        out.push(Value::Array(row));
    }
    Ok(out)
}

/// One table function call of a select list, bound to the columns of the flat map's input.
#[derive(Debug, Clone)]
pub struct TableFunctionCall {
    /// The function.
    pub func: TableFunction,
    /// Its arguments.
    pub args: Vec<PhysicalExpr>,
    /// The type of the values it emits.
    pub ty: SqlType,
}

impl std::fmt::Display for TableFunctionCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}(", self.func.name())?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        f.write_str(")")
    }
}

/// Applies table functions: each input row fans out into one row per returned value (the
/// results of several functions zipped, padded with NULL). Output columns: the input's data
/// columns, one column per call, then the input's pseudo columns. Tombstones produce no rows.
pub struct FlatMap {
    calls: Vec<TableFunctionCall>,
}

impl FlatMap {
    /// A flat map applying `calls`.
    pub fn new(calls: Vec<TableFunctionCall>) -> Self {
        FlatMap { calls }
    }
}

impl Processor for FlatMap {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> Result<()> {
        // Arguments, evaluated for the whole batch.
        let mut args: Vec<Vec<ArrayRef>> = Vec::with_capacity(self.calls.len());
        for call in &self.calls {
            let mut arrays = Vec::with_capacity(call.args.len());
            for a in &call.args {
                let mut errors = Vec::new();
                arrays.push(evaluate(a, &batch.columns, batch.len, &mut errors)?);
                super::log_row_errors(ctx, &batch, &a.to_string(), errors);
            }
            args.push(arrays);
        }

        let mut take: Vec<u32> = Vec::new();
        let mut produced: Vec<Vec<Value>> = vec![Vec::new(); self.calls.len()];
        let mut failures: Vec<RowError> = Vec::new();
        'rows: for row in 0..batch.len {
            if batch.is_tombstone(row) {
                continue;
            }
            let mut results = Vec::with_capacity(self.calls.len());
            for (call, arrays) in self.calls.iter().zip(&args) {
                let values: Vec<Value> = arrays.iter().map(|a| value_at(a.as_ref(), row)).collect();
                match call.func.apply(&values) {
                    Ok(r) => results.push(r),
                    Err(message) => {
                        failures.push(RowError {
                            row,
                            message: format!("Table function {} threw an exception: {message}", call.func.name()),
                        });
                        continue 'rows;
                    }
                }
            }
            let n = results.iter().map(Vec::len).max().unwrap_or(0);
            for (out, mut r) in produced.iter_mut().zip(results) {
                r.resize(n, Value::Null);
                out.extend(r);
            }
            take.extend(std::iter::repeat_n(row as u32, n));
        }
        for e in failures {
            ctx.log_error(ProcessingLogEntry {
                kind: ProcessingErrorKind::RecordProcessing,
                message: e.message,
                topic: String::new(),
                partition: batch.partitions().filter(|p| e.row < p.len()).map(|p| p.value(e.row)),
                offset: batch.offsets().filter(|o| e.row < o.len()).map(|o| o.value(e.row)),
                target: None,
            });
        }
        if take.is_empty() {
            return Ok(());
        }

        let indices = UInt32Array::from(take);
        let pseudo_start = batch.columns.len() - batch.pseudo_columns().len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.columns.len() + self.calls.len());
        for c in &batch.columns[..pseudo_start] {
            columns.push(arrow_select::take::take(c.as_ref(), &indices, None)?);
        }
        for (call, values) in self.calls.iter().zip(&produced) {
            columns.push(build_values(&call.ty, values));
        }
        for c in &batch.columns[pseudo_start..] {
            columns.push(arrow_select::take::take(c.as_ref(), &indices, None)?);
        }
        let out = Batch::new(columns, indices.len())?;
        ctx.forward(out);
        Ok(())
    }
}

/// A column of `values`; a value that does not fit `ty` becomes NULL.
fn build_values(ty: &SqlType, values: &[Value]) -> ArrayRef {
    match build_array(ty, values) {
        Ok(a) => a,
        Err(_) => {
            let fixed: Vec<Value> = values
                .iter()
                .map(|v| {
                    if build_array(ty, std::slice::from_ref(v)).is_ok() {
                        v.clone()
                    } else {
                        Value::Null
                    }
                })
                .collect();
            build_array(ty, &fixed).unwrap_or_else(|_| Arc::new(arrow_array::NullArray::new(values.len())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[Option<i32>]) -> Value {
        Value::Array(v.iter().map(|x| x.map(Value::Int).unwrap_or(Value::Null)).collect())
    }

    #[test]
    fn explode_returns_elements_and_nothing_for_null() {
        assert_eq!(
            TableFunction::Explode.apply(&[ints(&[Some(1), None])]).unwrap(),
            vec![Value::Int(1), Value::Null]
        );
        assert!(TableFunction::Explode.apply(&[Value::Null]).unwrap().is_empty());
    }

    #[test]
    fn cube_skips_duplicates_of_null_elements() {
        assert_eq!(
            TableFunction::CubeExplode.apply(&[ints(&[Some(1), Some(2)])]).unwrap(),
            vec![
                ints(&[None, None]),
                ints(&[None, Some(2)]),
                ints(&[Some(1), None]),
                ints(&[Some(1), Some(2)])
            ]
        );
        assert_eq!(
            TableFunction::CubeExplode.apply(&[ints(&[Some(1), None])]).unwrap(),
            vec![ints(&[None, None]), ints(&[Some(1), None])]
        );
    }

    #[test]
    fn return_types() {
        let arr = Some(SqlType::Array(Box::new(SqlType::BigInt)));
        assert_eq!(
            TableFunction::Explode.return_type(std::slice::from_ref(&arr)),
            Ok(SqlType::BigInt)
        );
        assert_eq!(
            TableFunction::CubeExplode.return_type(std::slice::from_ref(&arr)),
            Ok(SqlType::Array(Box::new(SqlType::BigInt)))
        );
        assert!(TableFunction::Explode.return_type(&[Some(SqlType::Int)]).is_err());
    }
}
