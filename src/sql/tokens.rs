//! Small helpers over sqlparser's token stream shared by the type, dialect and statement
//! parsers. Errors are sqlparser `ParserError`s whose message ends in sqlparser's
//! ` at Line: L, Column: C` suffix, so [`super::ParseError::from_parser`] can recover the
//! position whichever layer raised them.

use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// How a token is named in an error message.
pub(crate) fn describe(tok: &Token) -> String {
    match tok {
        Token::EOF => "end of input".to_string(),
        Token::Word(w) => match w.quote_style {
            Some(q) => format!("'{q}{}{}'", w.value, closing_quote(q)),
            None => format!("'{}'", w.value),
        },
        Token::SingleQuotedString(s) => format!("string '{s}'"),
        Token::Number(n, _) => format!("'{n}'"),
        other => format!("'{other}'"),
    }
}

fn closing_quote(open: char) -> char {
    match open {
        '[' => ']',
        other => other,
    }
}

/// An error located at `tok`.
pub(crate) fn error_at(tok: &TokenWithSpan, message: impl AsRef<str>) -> ParserError {
    ParserError::ParserError(format!("{}{}", message.as_ref(), tok.span.start))
}

/// `unexpected 'X'; expected <expected>` located at `tok`.
pub(crate) fn unexpected(tok: &TokenWithSpan, expected: &str) -> ParserError {
    error_at(tok, format!("unexpected {}; expected {expected}", describe(&tok.token)))
}

/// The upper-cased text of the next token if it is an unquoted word.
pub(crate) fn peek_word(p: &Parser, n: usize) -> Option<String> {
    match &p.peek_nth_token_ref(n).token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// Whether the next token is the unquoted word `kw` (compared case-insensitively).
pub(crate) fn is_word(p: &Parser, kw: &str) -> bool {
    matches!(&p.peek_token_ref().token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

/// Consumes the unquoted word `kw` if it is next.
pub(crate) fn eat_word(p: &mut Parser, kw: &str) -> bool {
    if is_word(p, kw) {
        p.next_token();
        true
    } else {
        false
    }
}

/// Consumes the unquoted word `kw` or fails saying it was expected.
pub(crate) fn expect_word(p: &mut Parser, kw: &str) -> Result<(), ParserError> {
    if eat_word(p, kw) {
        Ok(())
    } else {
        Err(unexpected(p.peek_token_ref(), kw))
    }
}

/// Consumes `tok` or fails saying it was expected.
pub(crate) fn expect_token(p: &mut Parser, tok: &Token) -> Result<TokenWithSpan, ParserError> {
    if p.peek_token_ref().token == *tok {
        Ok(p.next_token())
    } else {
        Err(unexpected(p.peek_token_ref(), &format!("'{tok}'")))
    }
}

/// A non-negative integer literal.
pub(crate) fn parse_u64(p: &mut Parser, what: &str) -> Result<u64, ParserError> {
    let tok = p.next_token();
    match &tok.token {
        Token::Number(n, _) => n
            .parse::<u64>()
            .map_err(|_| error_at(&tok, format!("invalid {what} '{n}'; expected a whole number"))),
        _ => Err(unexpected(&tok, what)),
    }
}

/// A single-quoted string literal's content.
pub(crate) fn parse_string(p: &mut Parser, what: &str) -> Result<String, ParserError> {
    let tok = p.next_token();
    match tok.token {
        Token::SingleQuotedString(s) => Ok(s),
        _ => Err(unexpected(&tok, what)),
    }
}
