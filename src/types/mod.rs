//! SQL types, values and schemas: what every other layer talks in.
//!
//! [`SqlType`] is ksqlDB's type system; [`Value`] is one value of it (used at the edges:
//! literals, `INSERT VALUES`, row-wise functions, formats); [`Schema`] names a source's
//! columns and whether each is part of the key, the value or the headers. Between
//! operators, rows travel as Arrow record batches; [`arrow`] converts both ways.

pub mod arrow;
mod sql_type;
mod value;
pub use value::format_double;
mod schema;

pub use schema::{Column, ColumnKind, PSEUDO_COLUMNS, ROWOFFSET, ROWPARTITION, ROWTIME, Schema};
pub use sql_type::SqlType;
pub use value::Value;
