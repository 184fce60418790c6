//! The statement layer: ksqlDB statements parsed by hand over sqlparser's token stream,
//! with expressions handed to sqlparser's expression parser under [`KsqlDialect`].
//! This file holds the driver and the small statements; `query.rs` parses `SELECT`,
//! `ddl.rs` the statements that define or change sources.

use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location as SqlLocation, Span as SqlSpan, Token, Tokenizer};

use super::ast::{
    DescribeTarget, ExplainTarget, Ident, Location, ParsedStatement, ShowKind, SourceKind, Span, Statement,
    TerminateTarget,
};
use super::dialect::KsqlDialect;
use super::error::ParseError;
use super::tokens::{
    eat_word, error_at, expect_token, expect_word, is_word, parse_string, parse_u64, peek_word, unexpected,
};
use super::types::{TypeRegistry, parse_sql_type};
use crate::types::SqlType;

/// sqlparser's own guard against deep expressions; ours for nested statements is separate.
const RECURSION_LIMIT: usize = 64;

/// How deeply `EXPLAIN EXPLAIN ...` may nest.
const MAX_STATEMENT_DEPTH: usize = 8;

const STATEMENT_STARTS: &str = "a statement (SELECT, CREATE, INSERT, DROP, ALTER, DESCRIBE, SHOW, LIST, EXPLAIN, PRINT, TERMINATE, PAUSE, RESUME, SET, UNSET, RUN SCRIPT, DEFINE, UNDEFINE)";

/// Parses every statement in `text`, resolving custom type names through `types` and
/// through the `CREATE TYPE` statements met earlier in `text`.
pub(crate) fn parse_statements(text: &str, types: &TypeRegistry) -> Result<Vec<ParsedStatement>, ParseError> {
    let dialect = KsqlDialect::with_types(types.clone());
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| ParseError::from_tokenizer(text, e))?;
    let parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens);
    let mut sp = StatementParser {
        p: parser,
        dialect: &dialect,
        text,
    };
    sp.parse_all()
}

/// Parses a single expression (no trailing text allowed).
pub(crate) fn parse_expression(text: &str) -> Result<sqlparser::ast::Expr, ParseError> {
    let dialect = KsqlDialect::new();
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| ParseError::from_tokenizer(text, e))?;
    let mut p = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens);
    let result = p.parse_expr().and_then(|e| {
        if p.peek_token_ref().token == Token::EOF {
            Ok(e)
        } else {
            Err(unexpected(
                p.peek_token_ref(),
                "an operator or the end of the expression",
            ))
        }
    });
    result.map_err(|e| {
        let at = p.peek_token_ref().span.start;
        ParseError::from_parser(text, e, (at.line, at.column))
    })
}

/// The parser state: sqlparser's token cursor plus the source text.
pub(crate) struct StatementParser<'a> {
    pub(crate) p: Parser<'a>,
    pub(crate) dialect: &'a KsqlDialect,
    text: &'a str,
}

/// Converts a sqlparser span into ours.
pub(crate) fn span_of(s: SqlSpan) -> Span {
    Span {
        start: loc(s.start),
        end: loc(s.end),
    }
}

fn loc(l: SqlLocation) -> Location {
    Location {
        line: l.line,
        column: l.column,
    }
}

/// The byte offset of a 1-based line and column (counted in characters) in `text`.
fn offset_of(text: &str, l: SqlLocation) -> usize {
    let mut line = 1u64;
    let mut column = 1u64;
    for (i, c) in text.char_indices() {
        if line == l.line && column == l.column {
            return i;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    text.len()
}

impl<'a> StatementParser<'a> {
    fn parse_all(&mut self) -> Result<Vec<ParsedStatement>, ParseError> {
        let mut out = Vec::new();
        loop {
            while self.p.consume_token(&Token::SemiColon) {}
            if self.p.peek_token_ref().token == Token::EOF {
                return Ok(out);
            }
            let start = self.p.peek_token_ref().span.start;
            let statement = self
                .statement(0)
                .and_then(|s| self.end_of_statement(&s).map(|_| s))
                .map_err(|e| self.convert(e))?;
            let end = self.last_end();
            if let Statement::CreateType { name, data_type, .. } = &statement {
                self.dialect.register_type(name.value.clone(), data_type.clone());
            }
            // end_of_statement checked that only `;` or the end can follow.
            let _ended_by_semicolon = self.p.consume_token(&Token::SemiColon);
            let text = self.text[offset_of(self.text, start)..offset_of(self.text, end)]
                .trim_end()
                .to_string();
            out.push(ParsedStatement {
                statement,
                text,
                span: Span {
                    start: loc(start),
                    end: loc(end),
                },
            });
        }
    }

    /// Where the last consumed token ends.
    pub(crate) fn last_end(&self) -> SqlLocation {
        self.p.get_current_token().span.end
    }

    fn end_of_statement(&self, s: &Statement) -> Result<(), ParserError> {
        match self.p.peek_token_ref().token {
            Token::SemiColon | Token::EOF => Ok(()),
            _ => {
                let expected = match s {
                    Statement::Query(q) if q.emit.is_none() && q.limit.is_none() => {
                        "a clause (WINDOW, WHERE, GROUP BY, PARTITION BY, HAVING, EMIT, LIMIT), an operator or ';'"
                    }
                    Statement::CreateAsSelect(_) | Statement::InsertInto { .. } => {
                        "a clause (WINDOW, WHERE, GROUP BY, PARTITION BY, HAVING, EMIT), an operator or ';'"
                    }
                    _ => "';'",
                };
                Err(unexpected(self.p.peek_token_ref(), expected))
            }
        }
    }

    fn convert(&self, e: ParserError) -> ParseError {
        let at = self.p.peek_token_ref().span.start;
        ParseError::from_parser(self.text, e, (at.line, at.column))
    }

    /// One statement, without its `;`.
    pub(crate) fn statement(&mut self, depth: usize) -> Result<Statement, ParserError> {
        if depth > MAX_STATEMENT_DEPTH {
            return Err(error_at(
                self.p.peek_token_ref(),
                "statement nests too deeply; expected at most 8 nested EXPLAINs",
            ));
        }
        let Some(word) = peek_word(&self.p, 0) else {
            return Err(unexpected(self.p.peek_token_ref(), STATEMENT_STARTS));
        };
        match word.as_str() {
            "SELECT" => Ok(Statement::Query(Box::new(self.query()?))),
            "CREATE" => self.create(),
            "INSERT" => self.insert(),
            "DROP" => self.drop(),
            "ALTER" => self.alter(),
            "TERMINATE" => {
                self.p.next_token();
                eat_word(&mut self.p, "QUERY");
                Ok(Statement::Terminate(self.query_target()?))
            }
            "PAUSE" => {
                self.p.next_token();
                Ok(Statement::Pause(self.query_target()?))
            }
            "RESUME" => {
                self.p.next_token();
                Ok(Statement::Resume(self.query_target()?))
            }
            "SHOW" | "LIST" => self.show(),
            "DESCRIBE" => self.describe(),
            "EXPLAIN" => self.explain(depth),
            "PRINT" => self.print(),
            "SET" => {
                self.p.next_token();
                let name = parse_string(&mut self.p, "a quoted property name")?;
                expect_token(&mut self.p, &Token::Eq)?;
                let value = parse_string(&mut self.p, "a quoted property value")?;
                Ok(Statement::Set { name, value })
            }
            "UNSET" => {
                self.p.next_token();
                let name = parse_string(&mut self.p, "a quoted property name")?;
                Ok(Statement::Unset { name })
            }
            "RUN" => {
                self.p.next_token();
                expect_word(&mut self.p, "SCRIPT")?;
                let path = parse_string(&mut self.p, "a quoted file path")?;
                Ok(Statement::RunScript { path })
            }
            "DEFINE" => {
                self.p.next_token();
                let name = self.variable_name()?;
                expect_token(&mut self.p, &Token::Eq)?;
                let value = parse_string(&mut self.p, "a quoted value")?;
                Ok(Statement::Define { name, value })
            }
            "UNDEFINE" => {
                self.p.next_token();
                let name = self.variable_name()?;
                Ok(Statement::Undefine { name })
            }
            _ => Err(unexpected(self.p.peek_token_ref(), STATEMENT_STARTS)),
        }
    }

    /// An identifier, upper-cased unless quoted.
    pub(crate) fn ident(&mut self, what: &str) -> Result<Ident, ParserError> {
        let tok = self.p.next_token();
        match tok.token {
            Token::Word(w) => {
                let quoted = w.quote_style.is_some();
                Ok(Ident {
                    value: if quoted { w.value } else { w.value.to_ascii_uppercase() },
                    quoted,
                    span: span_of(tok.span),
                })
            }
            _ => Err(unexpected(&tok, what)),
        }
    }

    /// A word kept as written (query ids, variable names).
    fn raw_word(&mut self, what: &str) -> Result<String, ParserError> {
        let tok = self.p.next_token();
        match tok.token {
            Token::Word(w) => Ok(w.value),
            _ => Err(unexpected(&tok, what)),
        }
    }

    fn variable_name(&mut self) -> Result<String, ParserError> {
        let tok = self.p.peek_token();
        let name = self.raw_word("a variable name")?;
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Ok(name)
        } else {
            Err(error_at(
                &tok,
                format!("invalid variable name '{name}'; expected a letter or '_' followed by letters, digits or '_'"),
            ))
        }
    }

    /// A type, resolving custom names.
    pub(crate) fn sql_type(&mut self) -> Result<SqlType, ParserError> {
        let types = self.dialect.types().clone();
        parse_sql_type(&mut self.p, &types)
    }

    /// `stream` or `table` keyword.
    pub(crate) fn source_kind(&mut self, expected: &str) -> Result<SourceKind, ParserError> {
        if eat_word(&mut self.p, "STREAM") {
            Ok(SourceKind::Stream)
        } else if eat_word(&mut self.p, "TABLE") {
            Ok(SourceKind::Table)
        } else {
            Err(unexpected(self.p.peek_token_ref(), expected))
        }
    }

    /// `IF EXISTS` / `IF NOT EXISTS`, all or nothing.
    pub(crate) fn eat_if(&mut self, not: bool) -> Result<bool, ParserError> {
        if !eat_word(&mut self.p, "IF") {
            return Ok(false);
        }
        if not {
            expect_word(&mut self.p, "NOT")?;
        }
        expect_word(&mut self.p, "EXISTS")?;
        Ok(true)
    }

    fn query_target(&mut self) -> Result<TerminateTarget, ParserError> {
        if eat_word(&mut self.p, "ALL") {
            return Ok(TerminateTarget::All);
        }
        let tok = self.p.next_token();
        match tok.token {
            Token::Word(w) => Ok(TerminateTarget::Query(w.value)),
            Token::SingleQuotedString(s) => Ok(TerminateTarget::Query(s)),
            _ => Err(unexpected(&tok, "a query id or ALL")),
        }
    }

    fn show(&mut self) -> Result<Statement, ParserError> {
        self.p.next_token();
        let what = if eat_word(&mut self.p, "ALL") {
            expect_word(&mut self.p, "TOPICS")?;
            ShowKind::Topics { all: true }
        } else {
            let tok = self.p.peek_token();
            let kind = match peek_word(&self.p, 0).as_deref() {
                Some("STREAMS") => ShowKind::Streams,
                Some("TABLES") => ShowKind::Tables,
                Some("QUERIES") => ShowKind::Queries,
                Some("TOPICS") => ShowKind::Topics { all: false },
                Some("PROPERTIES") => ShowKind::Properties,
                Some("FUNCTIONS") => ShowKind::Functions,
                Some("VARIABLES") => ShowKind::Variables,
                Some("TYPES") => ShowKind::Types,
                _ => {
                    return Err(unexpected(
                        &tok,
                        "STREAMS, TABLES, QUERIES, TOPICS, ALL TOPICS, PROPERTIES, FUNCTIONS, VARIABLES or TYPES",
                    ));
                }
            };
            self.p.next_token();
            kind
        };
        let extended = eat_word(&mut self.p, "EXTENDED");
        Ok(Statement::Show { what, extended })
    }

    fn describe(&mut self) -> Result<Statement, ParserError> {
        self.p.next_token();
        let mut extended = eat_word(&mut self.p, "EXTENDED");
        let target = if eat_word(&mut self.p, "STREAMS") {
            DescribeTarget::Streams
        } else if eat_word(&mut self.p, "TABLES") {
            DescribeTarget::Tables
        } else if is_word(&self.p, "FUNCTION") && matches!(self.p.peek_nth_token_ref(1).token, Token::Word(_)) {
            self.p.next_token();
            DescribeTarget::Function(self.ident("a function name")?)
        } else {
            DescribeTarget::Source(self.ident("a stream or table name, STREAMS, TABLES or FUNCTION")?)
        };
        extended |= eat_word(&mut self.p, "EXTENDED");
        Ok(Statement::Describe { target, extended })
    }

    fn explain(&mut self, depth: usize) -> Result<Statement, ParserError> {
        self.p.next_token();
        let starts_statement = matches!(
            peek_word(&self.p, 0).as_deref(),
            Some(
                "SELECT"
                    | "CREATE"
                    | "INSERT"
                    | "DROP"
                    | "ALTER"
                    | "DESCRIBE"
                    | "SHOW"
                    | "LIST"
                    | "EXPLAIN"
                    | "PRINT"
                    | "TERMINATE"
                    | "PAUSE"
                    | "RESUME"
                    | "SET"
                    | "UNSET"
                    | "RUN"
                    | "DEFINE"
                    | "UNDEFINE"
            )
        );
        if starts_statement {
            let inner = self.statement(depth + 1)?;
            return Ok(Statement::Explain(ExplainTarget::Statement(Box::new(inner))));
        }
        let id = self.raw_word("a query id or a statement")?;
        Ok(Statement::Explain(ExplainTarget::QueryId(id)))
    }

    fn print(&mut self) -> Result<Statement, ParserError> {
        self.p.next_token();
        let topic = if let Token::SingleQuotedString(_) = self.p.peek_token_ref().token {
            let tok = self.p.next_token();
            let Token::SingleQuotedString(s) = tok.token else {
                return Err(unexpected(&tok, "a topic name"));
            };
            Ident {
                value: s,
                quoted: true,
                span: span_of(tok.span),
            }
        } else {
            self.ident("a topic name")?
        };
        let mut from_beginning = false;
        if eat_word(&mut self.p, "FROM") {
            expect_word(&mut self.p, "BEGINNING")?;
            from_beginning = true;
        }
        let interval = if eat_word(&mut self.p, "INTERVAL") || eat_word(&mut self.p, "SAMPLE") {
            Some(parse_u64(&mut self.p, "a record count")?)
        } else {
            None
        };
        let limit = if eat_word(&mut self.p, "LIMIT") {
            Some(parse_u64(&mut self.p, "a record count")?)
        } else {
            None
        };
        Ok(Statement::Print {
            topic,
            from_beginning,
            interval,
            limit,
        })
    }
}
