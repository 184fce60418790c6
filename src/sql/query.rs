//! `SELECT`: the select list, sources and joins, windows, and the clauses after them.

use sqlparser::ast::Expr;
use sqlparser::dialect::{Dialect, Precedence};
use sqlparser::parser::ParserError;
use sqlparser::tokenizer::Token;

use super::ast::{Emit, Ident, JoinKind, OrderByItem, Query, Relation, SelectItem, WindowSpec, WithinSpec};
use super::parser::{StatementParser, span_of};
use super::tokens::{eat_word, error_at, expect_token, expect_word, parse_u64, peek_word, unexpected};

/// Words that end a source or select item, so they are never read as a bare alias.
const CLAUSE_WORDS: &[&str] = &[
    "FROM",
    "WINDOW",
    "WHERE",
    "GROUP",
    "PARTITION",
    "HAVING",
    "EMIT",
    "LIMIT",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "CROSS",
    "ON",
    "WITHIN",
    "ORDER",
    "OFFSET",
    "AS",
    "SELECT",
];

impl StatementParser<'_> {
    /// `SELECT ...` up to (not including) the statement's end.
    pub(crate) fn query(&mut self) -> Result<Query, ParserError> {
        let start = self.p.peek_token_ref().span.start;
        expect_word(&mut self.p, "SELECT")?;
        let select = self.select_list()?;
        expect_word(&mut self.p, "FROM")
            .map_err(|_| unexpected(self.p.peek_token_ref(), "',', AS, an alias, an operator or FROM"))?;
        let from = self.relation()?;
        let window = if eat_word(&mut self.p, "WINDOW") {
            Some(self.window()?)
        } else {
            None
        };
        let selection = if eat_word(&mut self.p, "WHERE") {
            Some(self.p.parse_expr()?)
        } else {
            None
        };
        let group_by = if eat_word(&mut self.p, "GROUP") {
            expect_word(&mut self.p, "BY")?;
            self.value_list("GROUP BY")?
        } else {
            Vec::new()
        };
        let partition_by = if eat_word(&mut self.p, "PARTITION") {
            expect_word(&mut self.p, "BY")?;
            self.value_list("PARTITION BY")?
        } else {
            Vec::new()
        };
        let having = if eat_word(&mut self.p, "HAVING") {
            Some(self.p.parse_expr()?)
        } else {
            None
        };
        let emit = if eat_word(&mut self.p, "EMIT") {
            if eat_word(&mut self.p, "CHANGES") {
                Some(Emit::Changes)
            } else if eat_word(&mut self.p, "FINAL") {
                Some(Emit::Final)
            } else {
                return Err(unexpected(self.p.peek_token_ref(), "CHANGES or FINAL"));
            }
        } else {
            None
        };
        let mut order_by = Vec::new();
        if eat_word(&mut self.p, "ORDER") {
            expect_word(&mut self.p, "BY")?;
            loop {
                let expr = self.p.parse_expr()?;
                let descending = if eat_word(&mut self.p, "DESC") {
                    true
                } else {
                    eat_word(&mut self.p, "ASC");
                    false
                };
                order_by.push(OrderByItem { expr, descending });
                if !self.p.consume_token(&Token::Comma) {
                    break;
                }
            }
        }
        let limit = if eat_word(&mut self.p, "LIMIT") {
            if self.p.peek_token_ref().token == Token::Minus {
                // ksqlDB's words; a LIMIT after EMIT belongs to a push query (or a CREATE
                // ... AS SELECT, which refuses LIMIT anyway).
                let kind = if emit.is_some() { "Push" } else { "Pull" };
                return Err(error_at(
                    self.p.peek_token_ref(),
                    format!(
                        "{kind} queries don't support negative integers in the LIMIT clause. See \
                         https://cnfl.io/queries for more info."
                    ),
                ));
            }
            Some(parse_u64(&mut self.p, "a row count")?)
        } else {
            None
        };
        let offset = if eat_word(&mut self.p, "OFFSET") {
            Some(parse_u64(&mut self.p, "a row count")?)
        } else {
            None
        };
        let end = self.last_end();
        Ok(Query {
            select,
            from,
            window,
            selection,
            group_by,
            partition_by,
            having,
            emit,
            order_by,
            limit,
            offset,
            span: span_of(sqlparser::tokenizer::Span::new(start, end)),
        })
    }

    fn select_list(&mut self) -> Result<Vec<SelectItem>, ParserError> {
        let mut items = Vec::new();
        loop {
            items.push(self.select_item()?);
            if !self.p.consume_token(&Token::Comma) {
                return Ok(items);
            }
        }
    }

    fn select_item(&mut self) -> Result<SelectItem, ParserError> {
        if self.p.consume_token(&Token::Mul) {
            return Ok(SelectItem::Wildcard);
        }
        if matches!(self.p.peek_token_ref().token, Token::Word(_))
            && self.p.peek_nth_token_ref(1).token == Token::Period
            && self.p.peek_nth_token_ref(2).token == Token::Mul
        {
            let source = self.ident("a source name")?;
            self.p.next_token();
            self.p.next_token();
            return Ok(SelectItem::QualifiedWildcard(source));
        }
        let expr = self.p.parse_expr()?;
        if self.p.peek_token_ref().token == Token::Arrow && self.p.peek_nth_token_ref(1).token == Token::Mul {
            self.p.next_token();
            self.p.next_token();
            return Ok(SelectItem::StructAll(expr));
        }
        let alias = if eat_word(&mut self.p, "AS") {
            Some(self.ident("an alias")?)
        } else {
            self.bare_alias()?
        };
        Ok(SelectItem::Expr { expr, alias })
    }

    /// An alias written without `AS`: any word that does not start the next clause.
    fn bare_alias(&mut self) -> Result<Option<Ident>, ParserError> {
        match &self.p.peek_token_ref().token {
            Token::Word(w) if w.quote_style.is_some() => Ok(Some(self.ident("an alias")?)),
            Token::Word(w) if !CLAUSE_WORDS.contains(&w.value.to_ascii_uppercase().as_str()) => {
                Ok(Some(self.ident("an alias")?))
            }
            _ => Ok(None),
        }
    }

    fn aliased_source(&mut self) -> Result<Relation, ParserError> {
        let name = self.ident("a stream or table name")?;
        let alias = if eat_word(&mut self.p, "AS") {
            Some(self.ident("an alias")?)
        } else {
            self.bare_alias()?
        };
        Ok(Relation::Source { name, alias })
    }

    fn relation(&mut self) -> Result<Relation, ParserError> {
        let mut left = self.aliased_source()?;
        loop {
            let kind = match peek_word(&self.p, 0).as_deref() {
                Some("JOIN") => JoinKind::Inner,
                Some("INNER") => {
                    self.p.next_token();
                    JoinKind::Inner
                }
                Some(w @ ("LEFT" | "RIGHT" | "FULL")) => {
                    let kind = match w {
                        "LEFT" => JoinKind::Left,
                        "RIGHT" => JoinKind::Right,
                        _ => JoinKind::Full,
                    };
                    self.p.next_token();
                    eat_word(&mut self.p, "OUTER");
                    kind
                }
                _ => return Ok(left),
            };
            expect_word(&mut self.p, "JOIN")?;
            let right = self.aliased_source()?;
            let within = if eat_word(&mut self.p, "WITHIN") {
                Some(self.within()?)
            } else {
                None
            };
            expect_word(&mut self.p, "ON").map_err(|_| {
                let expected = if within.is_some() {
                    "ON or GRACE PERIOD"
                } else {
                    "ON or WITHIN"
                };
                unexpected(self.p.peek_token_ref(), expected)
            })?;
            let on = self.p.parse_expr()?;
            left = Relation::Join {
                left: Box::new(left),
                right: Box::new(right),
                kind,
                on,
                within,
            };
        }
    }

    fn within(&mut self) -> Result<WithinSpec, ParserError> {
        let (before_ms, after_ms) = if self.p.consume_token(&Token::LParen) {
            let before = self.duration()?;
            expect_token(&mut self.p, &Token::Comma)?;
            let after = self.duration()?;
            expect_token(&mut self.p, &Token::RParen)?;
            (before, after)
        } else {
            let both = self.duration()?;
            (both, both)
        };
        let grace_ms = if eat_word(&mut self.p, "GRACE") {
            expect_word(&mut self.p, "PERIOD")?;
            Some(self.duration()?)
        } else {
            None
        };
        Ok(WithinSpec {
            before_ms,
            after_ms,
            grace_ms,
        })
    }

    fn window(&mut self) -> Result<WindowSpec, ParserError> {
        const KINDS: &[&str] = &["TUMBLING", "HOPPING", "SESSION", "SLIDING"];
        // ksqlDB allows (and ignores) a window name before the window kind.
        if let (Some(first), Some(second)) = (peek_word(&self.p, 0), peek_word(&self.p, 1))
            && !KINDS.contains(&first.as_str())
            && KINDS.contains(&second.as_str())
        {
            self.p.next_token();
        }
        let tok = self.p.next_token();
        let kind = match &tok.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            _ => return Err(unexpected(&tok, "TUMBLING, HOPPING, SESSION or SLIDING")),
        };
        if !KINDS.contains(&kind.as_str()) {
            return Err(unexpected(&tok, "TUMBLING, HOPPING, SESSION or SLIDING"));
        }
        expect_token(&mut self.p, &Token::LParen)?;
        let spec = match kind.as_str() {
            "SESSION" => {
                let gap_ms = self.duration()?;
                let (retention_ms, grace_ms) = self.window_options()?;
                WindowSpec::Session {
                    gap_ms,
                    retention_ms,
                    grace_ms,
                }
            }
            "HOPPING" => {
                expect_word(&mut self.p, "SIZE")?;
                let size_ms = self.duration()?;
                expect_token(&mut self.p, &Token::Comma)?;
                expect_word(&mut self.p, "ADVANCE")?;
                expect_word(&mut self.p, "BY")?;
                let advance_ms = self.duration()?;
                let (retention_ms, grace_ms) = self.window_options()?;
                WindowSpec::Hopping {
                    size_ms,
                    advance_ms,
                    retention_ms,
                    grace_ms,
                }
            }
            other => {
                expect_word(&mut self.p, "SIZE")?;
                let size_ms = self.duration()?;
                let (retention_ms, grace_ms) = self.window_options()?;
                if other == "TUMBLING" {
                    WindowSpec::Tumbling {
                        size_ms,
                        retention_ms,
                        grace_ms,
                    }
                } else {
                    WindowSpec::Sliding {
                        size_ms,
                        retention_ms,
                        grace_ms,
                    }
                }
            }
        };
        expect_token(&mut self.p, &Token::RParen).map_err(|_| unexpected(self.p.peek_token_ref(), "',' or ')'"))?;
        Ok(spec)
    }

    /// `[, RETENTION d] [, GRACE PERIOD d]`, each at most once, in either order.
    fn window_options(&mut self) -> Result<(Option<i64>, Option<i64>), ParserError> {
        let mut retention = None;
        let mut grace = None;
        while self.p.peek_token_ref().token == Token::Comma {
            let next = peek_word(&self.p, 1);
            match next.as_deref() {
                Some("RETENTION") if retention.is_none() => {
                    self.p.next_token();
                    self.p.next_token();
                    retention = Some(self.duration()?);
                }
                Some("GRACE") if grace.is_none() => {
                    self.p.next_token();
                    self.p.next_token();
                    expect_word(&mut self.p, "PERIOD")?;
                    grace = Some(self.duration()?);
                }
                _ => {
                    self.p.next_token();
                    let expected = match (retention, grace) {
                        (None, None) => "RETENTION or GRACE PERIOD",
                        (None, Some(_)) => "RETENTION",
                        (Some(_), None) => "GRACE PERIOD",
                        (Some(_), Some(_)) => "')'",
                    };
                    return Err(unexpected(self.p.peek_token_ref(), expected));
                }
            }
        }
        Ok((retention, grace))
    }

    /// `n unit`, in milliseconds.
    pub(crate) fn duration(&mut self) -> Result<i64, ParserError> {
        let num_tok = self.p.peek_token();
        let n = parse_u64(&mut self.p, "a duration (a number and a unit)")?;
        let unit_tok = self.p.next_token();
        let per_unit: u64 = match &unit_tok.token {
            Token::Word(w) if w.quote_style.is_none() => match w.value.to_ascii_uppercase().as_str() {
                "MILLISECOND" | "MILLISECONDS" => 1,
                "SECOND" | "SECONDS" => 1_000,
                "MINUTE" | "MINUTES" => 60_000,
                "HOUR" | "HOURS" => 3_600_000,
                "DAY" | "DAYS" => 86_400_000,
                _ => return Err(unexpected(&unit_tok, TIME_UNITS)),
            },
            _ => return Err(unexpected(&unit_tok, TIME_UNITS)),
        };
        n.checked_mul(per_unit)
            .and_then(|ms| i64::try_from(ms).ok())
            .ok_or_else(|| error_at(&num_tok, "duration is too long; expected at most 2^63 - 1 milliseconds"))
    }

    /// `GROUP BY` / `PARTITION BY` list: value expressions (no AND/OR/comparisons, as in
    /// ksqlDB), optionally wrapped in one pair of parentheses.
    fn value_list(&mut self, clause: &str) -> Result<Vec<Expr>, ParserError> {
        let prec = self.dialect.prec_value(Precedence::Eq);
        if self.p.peek_token_ref().token == Token::LParen && self.p.peek_nth_token_ref(1).token == Token::RParen {
            return Err(error_at(
                self.p.peek_token_ref(),
                format!("{clause} requires at least one expression; expected an expression inside '()'"),
            ));
        }
        let mut items = Vec::new();
        loop {
            let tok = self.p.peek_token();
            let e = self.p.parse_subexpr(prec)?;
            items.push((tok, e));
            if !self.p.consume_token(&Token::Comma) {
                break;
            }
        }
        if items.len() == 1 {
            return Ok(match items.pop().map(|(_, e)| e) {
                Some(Expr::Tuple(list)) => list,
                Some(e) => vec![e],
                None => Vec::new(),
            });
        }
        items
            .into_iter()
            .map(|(tok, e)| match e {
                Expr::Tuple(_) => Err(unexpected(
                    &tok,
                    "an expression (a parenthesised list must be the whole clause)",
                )),
                e => Ok(e),
            })
            .collect()
    }
}

const TIME_UNITS: &str = "a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS)";
