//! Statements that define or change sources and types: CREATE, INSERT, DROP, ALTER, and
//! the `WITH (...)` property lists they share.

use sqlparser::parser::ParserError;
use sqlparser::tokenizer::Token;

use super::ast::{
    ColumnConstraint, ColumnDef, CreateAsSelect, CreateSource, Properties, Property, SourceKind, Statement,
};
use super::parser::{StatementParser, span_of};
use super::tokens::{eat_word, error_at, expect_token, expect_word, is_word, parse_string, unexpected};
use crate::types::Value;

impl StatementParser<'_> {
    pub(crate) fn create(&mut self) -> Result<Statement, ParserError> {
        self.p.next_token();
        if eat_word(&mut self.p, "TYPE") {
            let if_not_exists = self.eat_if(true)?;
            let name = self.ident("a type name")?;
            expect_word(&mut self.p, "AS")?;
            let data_type = self.sql_type()?;
            return Ok(Statement::CreateType {
                if_not_exists,
                name,
                data_type,
            });
        }
        let or_replace = if eat_word(&mut self.p, "OR") {
            expect_word(&mut self.p, "REPLACE")?;
            true
        } else {
            false
        };
        let source_tok = self.p.peek_token();
        let is_source = eat_word(&mut self.p, "SOURCE");
        let expected = if or_replace || is_source {
            "STREAM or TABLE"
        } else {
            "STREAM, TABLE, TYPE, OR REPLACE or SOURCE"
        };
        let kind = self.source_kind(expected)?;
        let if_not_exists = self.eat_if(true)?;
        let name = self.ident("a stream or table name")?;
        let columns = if self.p.peek_token_ref().token == Token::LParen {
            self.column_defs(kind)?
        } else {
            Vec::new()
        };
        let properties = if eat_word(&mut self.p, "WITH") {
            self.properties()?
        } else {
            Properties::default()
        };
        if !is_word(&self.p, "AS") {
            return Ok(Statement::CreateSource(CreateSource {
                kind,
                or_replace,
                is_source,
                if_not_exists,
                name,
                columns,
                properties,
            }));
        }
        let as_tok = self.p.next_token();
        if is_source {
            return Err(error_at(
                &source_tok,
                "CREATE SOURCE cannot have AS SELECT; expected CREATE STREAM|TABLE ... AS SELECT",
            ));
        }
        if !columns.is_empty() {
            return Err(unexpected(&as_tok, "';' (a CREATE with columns has no AS SELECT)"));
        }
        let query = Box::new(self.query()?);
        Ok(Statement::CreateAsSelect(CreateAsSelect {
            kind,
            or_replace,
            if_not_exists,
            name,
            properties,
            query,
        }))
    }

    fn column_defs(&mut self, kind: SourceKind) -> Result<Vec<ColumnDef>, ParserError> {
        expect_token(&mut self.p, &Token::LParen)?;
        let mut columns = Vec::new();
        loop {
            columns.push(self.column_def(kind)?);
            if self.p.consume_token(&Token::Comma) {
                continue;
            }
            if self.p.consume_token(&Token::RParen) {
                return Ok(columns);
            }
            return Err(unexpected(
                self.p.peek_token_ref(),
                "',', ')', KEY, PRIMARY KEY, HEADERS or HEADER",
            ));
        }
    }

    fn column_def(&mut self, kind: SourceKind) -> Result<ColumnDef, ParserError> {
        let name = self.ident("a column name")?;
        let data_type = self.sql_type()?;
        let tok = self.p.peek_token();
        let constraint = if eat_word(&mut self.p, "PRIMARY") {
            expect_word(&mut self.p, "KEY")?;
            if kind == SourceKind::Stream {
                return Err(error_at(
                    &tok,
                    format!(
                        "Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams; expected KEY",
                        name.value
                    ),
                ));
            }
            ColumnConstraint::PrimaryKey
        } else if eat_word(&mut self.p, "KEY") {
            if kind == SourceKind::Table {
                return Err(error_at(
                    &tok,
                    format!(
                        "Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables; expected PRIMARY KEY",
                        name.value
                    ),
                ));
            }
            ColumnConstraint::Key
        } else if eat_word(&mut self.p, "HEADERS") {
            ColumnConstraint::Headers
        } else if eat_word(&mut self.p, "HEADER") {
            expect_token(&mut self.p, &Token::LParen)?;
            let key = parse_string(&mut self.p, "a quoted header key")?;
            expect_token(&mut self.p, &Token::RParen)?;
            ColumnConstraint::Header(key)
        } else {
            ColumnConstraint::None
        };
        Ok(ColumnDef {
            name,
            data_type,
            constraint,
        })
    }

    /// `(NAME = literal, ...)`, the `WITH` already consumed.
    pub(crate) fn properties(&mut self) -> Result<Properties, ParserError> {
        expect_token(&mut self.p, &Token::LParen)?;
        let mut props = Vec::new();
        loop {
            let tok = self.p.next_token();
            let name = match &tok.token {
                Token::Word(w) => w.value.to_ascii_uppercase(),
                Token::SingleQuotedString(s) => s.to_ascii_uppercase(),
                _ => return Err(unexpected(&tok, "a property name")),
            };
            expect_token(&mut self.p, &Token::Eq)?;
            let value = self.literal()?;
            let mut span = span_of(tok.span);
            span.end = span_of(self.p.get_current_token().span).end;
            props.push(Property { name, value, span });
            if self.p.consume_token(&Token::Comma) {
                continue;
            }
            if self.p.consume_token(&Token::RParen) {
                return Ok(Properties(props));
            }
            return Err(unexpected(self.p.peek_token_ref(), "',' or ')'"));
        }
    }

    /// A string, number, boolean or NULL literal.
    fn literal(&mut self) -> Result<Value, ParserError> {
        let tok = self.p.next_token();
        match &tok.token {
            Token::SingleQuotedString(s) => Ok(Value::String(s.clone())),
            Token::Number(n, _) => number_value(n, false).ok_or_else(|| out_of_range(&tok, n)),
            Token::Minus => {
                let num = self.p.next_token();
                match &num.token {
                    Token::Number(n, _) => number_value(n, true).ok_or_else(|| out_of_range(&num, n)),
                    _ => Err(unexpected(&num, "a number")),
                }
            }
            Token::Word(w) if w.quote_style.is_none() => match w.value.to_ascii_uppercase().as_str() {
                "TRUE" => Ok(Value::Boolean(true)),
                "FALSE" => Ok(Value::Boolean(false)),
                "NULL" => Ok(Value::Null),
                _ => Err(unexpected(&tok, "a literal (string, number, TRUE or FALSE)")),
            },
            _ => Err(unexpected(&tok, "a literal (string, number, TRUE or FALSE)")),
        }
    }

    pub(crate) fn insert(&mut self) -> Result<Statement, ParserError> {
        self.p.next_token();
        expect_word(&mut self.p, "INTO")?;
        let target = self.ident("a stream or table name")?;
        if eat_word(&mut self.p, "WITH") {
            let properties = self.properties()?;
            let query = Box::new(self.query()?);
            return Ok(Statement::InsertInto {
                target,
                properties,
                query,
            });
        }
        if is_word(&self.p, "SELECT") {
            let query = Box::new(self.query()?);
            return Ok(Statement::InsertInto {
                target,
                properties: Properties::default(),
                query,
            });
        }
        let columns = if self.p.consume_token(&Token::LParen) {
            let mut cols = Vec::new();
            loop {
                cols.push(self.ident("a column name")?);
                if self.p.consume_token(&Token::Comma) {
                    continue;
                }
                expect_token(&mut self.p, &Token::RParen)
                    .map_err(|_| unexpected(self.p.peek_token_ref(), "',' or ')'"))?;
                break;
            }
            Some(cols)
        } else {
            None
        };
        if !eat_word(&mut self.p, "VALUES") {
            let expected = if columns.is_some() {
                "VALUES"
            } else {
                "SELECT, WITH, VALUES or a column list"
            };
            return Err(unexpected(self.p.peek_token_ref(), expected));
        }
        expect_token(&mut self.p, &Token::LParen)?;
        let mut values = Vec::new();
        if !self.p.consume_token(&Token::RParen) {
            loop {
                values.push(self.p.parse_expr()?);
                if self.p.consume_token(&Token::Comma) {
                    continue;
                }
                expect_token(&mut self.p, &Token::RParen)
                    .map_err(|_| unexpected(self.p.peek_token_ref(), "',', ')' or an operator"))?;
                break;
            }
        }
        Ok(Statement::InsertValues {
            target,
            columns,
            values,
        })
    }

    pub(crate) fn drop(&mut self) -> Result<Statement, ParserError> {
        self.p.next_token();
        if eat_word(&mut self.p, "TYPE") {
            let if_exists = self.eat_if(false)?;
            let name = self.ident("a type name")?;
            return Ok(Statement::DropType { if_exists, name });
        }
        let kind = self.source_kind("STREAM, TABLE or TYPE")?;
        let if_exists = self.eat_if(false)?;
        let name = self.ident("a stream or table name")?;
        let delete_topic = if eat_word(&mut self.p, "DELETE") {
            expect_word(&mut self.p, "TOPIC")?;
            true
        } else {
            false
        };
        Ok(Statement::Drop {
            kind,
            if_exists,
            name,
            delete_topic,
        })
    }

    pub(crate) fn alter(&mut self) -> Result<Statement, ParserError> {
        self.p.next_token();
        if eat_word(&mut self.p, "SYSTEM") {
            let name = parse_string(&mut self.p, "a quoted property name")?;
            expect_token(&mut self.p, &Token::Eq)?;
            let value = parse_string(&mut self.p, "a quoted property value")?;
            return Ok(Statement::AlterSystem { name, value });
        }
        let kind = self.source_kind("STREAM, TABLE or SYSTEM")?;
        let name = self.ident("a stream or table name")?;
        let mut add_columns = Vec::new();
        expect_word(&mut self.p, "ADD")?;
        loop {
            eat_word(&mut self.p, "COLUMN");
            let col = self.ident("a column name")?;
            let data_type = self.sql_type()?;
            add_columns.push(super::ast::ColumnDef {
                name: col,
                data_type,
                constraint: super::ast::ColumnConstraint::None,
            });
            if !self.p.consume_token(&Token::Comma) {
                break;
            }
            // ksqlDB repeats ADD for every column; a bare list is accepted too.
            eat_word(&mut self.p, "ADD");
        }
        Ok(Statement::AlterSource {
            kind,
            name,
            add_columns,
        })
    }
}

fn out_of_range(tok: &sqlparser::tokenizer::TokenWithSpan, n: &str) -> ParserError {
    error_at(
        tok,
        format!("number '{n}' is out of range; expected a BIGINT, DECIMAL or DOUBLE literal"),
    )
}

/// The value of a numeric literal as written: integers as INT or BIGINT, numbers with a
/// point as exact DECIMAL, numbers with an exponent as DOUBLE.
pub(crate) fn number_value(text: &str, negative: bool) -> Option<Value> {
    let sign = if negative { "-" } else { "" };
    if text.contains(['e', 'E']) {
        let v: f64 = format!("{sign}{text}").parse().ok()?;
        return v.is_finite().then_some(Value::Double(v));
    }
    if let Some((int, frac)) = text.split_once('.') {
        let digits = format!("{sign}{int}{frac}");
        let scale = i8::try_from(frac.len()).ok()?;
        let unscaled: i128 = if int.is_empty() && frac.is_empty() {
            return None;
        } else {
            digits.parse().ok()?
        };
        return Some(Value::Decimal(unscaled, scale));
    }
    let v: i64 = format!("{sign}{text}").parse().ok()?;
    Some(match i32::try_from(v) {
        Ok(small) => Value::Int(small),
        Err(_) => Value::BigInt(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_kind() {
        assert_eq!(number_value("5", false), Some(Value::Int(5)));
        assert_eq!(number_value("5000000000", true), Some(Value::BigInt(-5_000_000_000)));
        assert_eq!(number_value("1.50", false), Some(Value::Decimal(150, 2)));
        assert_eq!(number_value("1.5", true), Some(Value::Decimal(-15, 1)));
        assert_eq!(number_value("1e3", false), Some(Value::Double(1000.0)));
        assert_eq!(number_value("99999999999999999999", false), None);
    }
}
