//! SQL: the ksqlDB statement grammar on top of sqlparser expressions and types.

pub mod ast;
