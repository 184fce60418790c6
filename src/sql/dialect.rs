//! The ksqlDB dialect for sqlparser's expression parser: ksqlDB's identifier quoting, struct
//! dereference `a->b`, lambdas written with `=>`, ksqlDB type syntax in `CAST`, and every
//! `name(...)` read as a plain function call (sqlparser otherwise gives `SUBSTRING`, `TRIM`,
//! `EXTRACT` and friends their own ANSI shapes, which ksqlDB does not have).

use std::cell::RefCell;
use std::rc::Rc;

use sqlparser::ast::{
    BinaryOperator, DataType, Expr, Ident as SqlIdent, LambdaFunction, LambdaFunctionParameter, LambdaSyntax,
    ObjectName, OneOrManyWithParens,
};
use sqlparser::dialect::{Dialect, Precedence};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::types::{TypeRegistry, parse_sql_type, to_data_type};
use crate::types::SqlType;

/// sqlparser [`Dialect`] for ksqlDB expressions. It carries the custom types known to the
/// statement being parsed, so that `CAST(x AS ADDRESS)` resolves `ADDRESS`.
#[derive(Debug, Default)]
pub struct KsqlDialect {
    // Rc<RefCell> because sqlparser holds the dialect by shared reference while the
    // statement parser registers types from earlier `CREATE TYPE`s of the same input.
    types: Rc<RefCell<TypeRegistry>>,
}

/// Words sqlparser would read as niladic functions or special forms when they stand alone;
/// in ksqlDB they are ordinary identifiers.
const PLAIN_WORDS: &[&str] = &[
    "INTERVAL",
    "CURRENT_TIMESTAMP",
    "CURRENT_TIME",
    "CURRENT_DATE",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "CURRENT_USER",
    "SESSION_USER",
    "SYSTEM_USER",
    "USER",
    "CURRENT_ROLE",
    "CURRENT_CATALOG",
    "PRIOR",
    "CONNECT_BY_ROOT",
];

/// Reserved words that can never start an expression: reading one as a column name would
/// move the error away from where the statement really went wrong.
const NOT_EXPRESSIONS: &[&str] = &[
    "FROM", "WHERE", "GROUP", "HAVING", "WINDOW", "EMIT", "LIMIT", "SELECT", "JOIN", "ON", "WITHIN", "AS", "BY", "AND",
    "OR", "THEN", "ELSE", "END", "WHEN", "IN", "IS", "BETWEEN", "LIKE", "INNER", "OUTER",
];

/// Words followed by `(` that are not function calls.
const NOT_FUNCTIONS: &[&str] = &["CAST", "CASE", "NOT", "AND", "OR"];

impl KsqlDialect {
    /// A dialect that knows no custom types.
    pub fn new() -> Self {
        Self::default()
    }

    /// A dialect that resolves the given custom types (name → type).
    pub fn with_types(types: TypeRegistry) -> Self {
        KsqlDialect {
            types: Rc::new(RefCell::new(types)),
        }
    }

    /// Makes `name` resolve to `t` from now on.
    pub(crate) fn register_type(&self, name: String, t: SqlType) {
        self.types.borrow_mut().insert(name, t);
    }

    /// The custom types known so far.
    pub(crate) fn types(&self) -> std::cell::Ref<'_, TypeRegistry> {
        self.types.borrow()
    }

    /// `x => body`, with the parser at `x`.
    fn lambda_one(&self, p: &mut Parser) -> Result<Expr, ParserError> {
        let name = p.parse_identifier()?;
        p.expect_token(&Token::RArrow)?;
        let body = p.parse_expr()?;
        Ok(lambda(OneOrManyWithParens::One(param(name)), body))
    }

    /// `(x, y) => body`, with the parser at `(`.
    fn lambda_many(&self, p: &mut Parser) -> Result<Expr, ParserError> {
        p.expect_token(&Token::LParen)?;
        let names = p.parse_comma_separated(|p| p.parse_identifier())?;
        p.expect_token(&Token::RParen)?;
        p.expect_token(&Token::RArrow)?;
        let body = p.parse_expr()?;
        Ok(lambda(
            OneOrManyWithParens::Many(names.into_iter().map(param).collect()),
            body,
        ))
    }
}

fn param(name: SqlIdent) -> LambdaFunctionParameter {
    LambdaFunctionParameter { name, data_type: None }
}

fn lambda(params: OneOrManyWithParens<LambdaFunctionParameter>, body: Expr) -> Expr {
    Expr::Lambda(LambdaFunction {
        params,
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    })
}

/// Whether the tokens from the parser's position read `( name, ... ) =>`.
fn at_lambda_params(p: &Parser) -> bool {
    let mut i = 1;
    loop {
        if !matches!(p.peek_nth_token_ref(i).token, Token::Word(_)) {
            return false;
        }
        match p.peek_nth_token_ref(i + 1).token {
            Token::Comma => i += 2,
            Token::RParen => return p.peek_nth_token_ref(i + 2).token == Token::RArrow,
            _ => return false,
        }
    }
}

impl Dialect for KsqlDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '@'
    }

    fn supports_numeric_prefix(&self) -> bool {
        // ksqlDB's DIGIT_IDENTIFIER: `1R` is a name, `1.5` and `1e5` stay numbers.
        true
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"' || ch == '`'
    }

    fn supports_named_fn_args_with_expr_name(&self) -> bool {
        true
    }

    fn supports_named_fn_args_with_assignment_operator(&self) -> bool {
        true
    }

    fn supports_named_fn_args_with_rarrow_operator(&self) -> bool {
        // `=>` introduces a lambda in ksqlDB, never a named argument.
        false
    }

    fn parse_prefix(&self, p: &mut Parser) -> Option<Result<Expr, ParserError>> {
        match &p.peek_token_ref().token {
            Token::Word(w) => {
                let unquoted = w.quote_style.is_none();
                let upper = w.value.to_ascii_uppercase();
                match &p.peek_nth_token_ref(1).token {
                    Token::RArrow => Some(self.lambda_one(p)),
                    Token::LParen if !(unquoted && NOT_FUNCTIONS.contains(&upper.as_str())) => {
                        let tok = p.next_token();
                        let Token::Word(w) = tok.token else {
                            return None;
                        };
                        let name = ObjectName::from(vec![w.into_ident(tok.span)]);
                        Some(p.parse_function(name))
                    }
                    _ if unquoted && NOT_EXPRESSIONS.contains(&upper.as_str()) => {
                        Some(Err(super::tokens::unexpected(p.peek_token_ref(), "an expression")))
                    }
                    _ if unquoted && PLAIN_WORDS.contains(&upper.as_str()) => {
                        let tok = p.next_token();
                        let Token::Word(w) = tok.token else {
                            return None;
                        };
                        Some(Ok(Expr::Identifier(w.into_ident(tok.span))))
                    }
                    _ => None,
                }
            }
            Token::LParen if at_lambda_params(p) => Some(self.lambda_many(p)),
            _ => None,
        }
    }

    fn parse_infix(&self, p: &mut Parser, expr: &Expr, _precedence: u8) -> Option<Result<Expr, ParserError>> {
        // A subscript after a dereference: `a->b[1]`. Subscripts right after a plain
        // name are already taken by sqlparser's compound-expression parsing.
        if p.peek_token_ref().token == Token::LBracket {
            return Some(p.parse_compound_expr(expr.clone(), Vec::new()));
        }
        if p.peek_token_ref().token != Token::Arrow {
            return None;
        }
        p.next_token();
        Some(p.parse_identifier().map(|field| Expr::BinaryOp {
            left: Box::new(expr.clone()),
            op: BinaryOperator::Arrow,
            right: Box::new(Expr::Identifier(field)),
        }))
    }

    fn get_next_precedence(&self, p: &Parser) -> Option<Result<u8, ParserError>> {
        match p.peek_token_ref().token {
            // `a->*` is a select item of its own, not part of the expression.
            Token::Arrow if p.peek_nth_token_ref(1).token == Token::Mul => Some(Ok(0)),
            // Dereference binds like a subscript: `a->b[1]` is `(a->b)[1]`.
            Token::Arrow => Some(Ok(self.prec_value(Precedence::DoubleColon))),
            // `:=` separates a MAP/STRUCT constructor's name from its value; `=>` ends
            // lambda parameters; `:` has no meaning. None of them is an operator here.
            Token::Assignment | Token::RArrow | Token::Colon => Some(Ok(0)),
            _ => None,
        }
    }

    fn parse_data_type(&self, p: &mut Parser) -> Option<Result<DataType, ParserError>> {
        let types = self.types.borrow();
        Some(parse_sql_type(p, &types).map(|t| to_data_type(&t)))
    }
}
