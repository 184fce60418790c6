//! SQL: the ksqlDB statement grammar on top of sqlparser expressions and types.
//!
//! Statements are parsed by hand over sqlparser's tokenizer (sqlparser has no notion of
//! `CREATE STREAM`, `WINDOW TUMBLING` or `EMIT CHANGES`); expressions go to sqlparser's
//! expression parser under [`KsqlDialect`]. See [`ast`] for the tree and the exact
//! expression shapes produced. Every AST node prints back as canonical SQL via `Display`.
//!
//! Custom types (`CREATE TYPE`) are resolved while parsing, as ksqlDB does: pass the
//! registered ones to [`parse_with_types`]; a `CREATE TYPE` earlier in the same input is
//! also seen by later statements.

pub mod ast;
mod ddl;
mod dialect;
mod display;
mod error;
mod expr_display;
mod parser;
mod query;
mod split;
mod tokens;
mod types;
mod variables;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

pub use dialect::KsqlDialect;
pub use error::ParseError;
pub use expr_display::ExprSql;
pub use split::split_statements;
pub use types::{TypeRegistry, from_data_type, to_data_type};
pub use variables::substitute_variables;

use ast::ParsedStatement;

/// Parses one or more `;`-separated statements (the last `;` optional; `--` and `/* */`
/// comments allowed). Custom type names are unknown unless defined earlier in `text`.
pub fn parse(text: &str) -> Result<Vec<ParsedStatement>, ParseError> {
    parser::parse_statements(text, &TypeRegistry::new())
}

/// Like [`parse`], resolving custom type names (upper-cased, or as quoted) through `types`.
pub fn parse_with_types(text: &str, types: &TypeRegistry) -> Result<Vec<ParsedStatement>, ParseError> {
    parser::parse_statements(text, types)
}

/// Parses exactly one statement.
pub fn parse_one(text: &str) -> Result<ParsedStatement, ParseError> {
    let mut statements = parse(text)?;
    match statements.len() {
        1 => statements
            .pop()
            .ok_or_else(|| ParseError::at(text, 0, 0, "no statement; expected a statement")),
        0 => Err(ParseError::at(
            text,
            0,
            0,
            "unexpected end of input; expected a statement",
        )),
        _ => {
            let second = &statements[1].span.start;
            Err(ParseError::at(
                text,
                second.line,
                second.column,
                "a second statement; expected only one statement",
            ))
        }
    }
}

/// Parses a single expression in the ksqlDB dialect.
pub fn parse_expr(text: &str) -> Result<ast::Expr, ParseError> {
    parser::parse_expression(text)
}
