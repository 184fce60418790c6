//! Parse errors: a message that says what was wrong and what was expected, with the line
//! and column it happened at and the offending line for a caret display.

use std::fmt;

use sqlparser::parser::ParserError;
use sqlparser::tokenizer::TokenizerError;

/// A statement that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong and what was expected, e.g. `unexpected 'STRAEM'; expected STREAM, TABLE`.
    pub message: String,
    /// Line of the offending text, from 1.
    pub line: u64,
    /// Column of the offending text, from 1.
    pub column: u64,
    /// The whole line the error is on, for the caret display.
    pub line_text: String,
}

impl ParseError {
    /// An error at `line:column` of `text`, taking the offending line from `text`.
    pub fn at(text: &str, line: u64, column: u64, message: impl Into<String>) -> Self {
        // Location 0:0 is sqlparser's "unknown": point past the end of the input instead.
        let (line, column) = if line == 0 { end_of(text) } else { (line, column.max(1)) };
        let line_text = text
            .lines()
            .nth(line.saturating_sub(1) as usize)
            .unwrap_or("")
            .to_string();
        ParseError {
            message: message.into(),
            line,
            column,
            line_text,
        }
    }

    /// Converts a sqlparser error, whose location (if any) is embedded at the end of its
    /// message as ` at Line: L, Column: C`, into ours; `fallback` is used when it has none.
    pub(crate) fn from_parser(text: &str, err: ParserError, fallback: (u64, u64)) -> Self {
        let raw = match err {
            ParserError::RecursionLimitExceeded => {
                return ParseError::at(
                    text,
                    fallback.0,
                    fallback.1,
                    "statement nests too deeply; expected fewer nested expressions or types",
                );
            }
            ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        };
        let (message, location) = split_location(&raw);
        let (line, column) = location.unwrap_or(fallback);
        ParseError::at(text, line, column, reword(message))
    }

    /// Converts a tokenizer error (unterminated string, stray character).
    pub(crate) fn from_tokenizer(text: &str, err: TokenizerError) -> Self {
        let message = format!("{}; expected a complete token", err.message.trim_end_matches('.'));
        ParseError::at(text, err.location.line, err.location.column, message)
    }
}

/// The line and column just past the last character of `text`.
fn end_of(text: &str) -> (u64, u64) {
    let line = text.split('\n').count().max(1) as u64;
    let last = text.rsplit('\n').next().unwrap_or("");
    (line, last.chars().count() as u64 + 1)
}

/// Splits sqlparser's ` at Line: L, Column: C` suffix off a message.
fn split_location(raw: &str) -> (&str, Option<(u64, u64)>) {
    let Some(pos) = raw.rfind(" at Line: ") else {
        return (raw, None);
    };
    let rest = &raw[pos + " at Line: ".len()..];
    let mut parts = rest.splitn(2, ", Column: ");
    let line = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
    let column = parts.next().and_then(|c| {
        let digits: String = c.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().ok()
    });
    match (line, column) {
        (Some(l), Some(c)) => (&raw[..pos], Some((l, c))),
        _ => (raw, None),
    }
}

/// Turns sqlparser's `Expected: X, found: Y` into our `unexpected 'Y'; expected X`.
fn reword(message: &str) -> String {
    if let Some((expected, found)) = message
        .strip_prefix("Expected: ")
        .and_then(|rest| rest.rsplit_once(", found: "))
    {
        let found = if found == "EOF" {
            "end of input".to_string()
        } else {
            format!("'{found}'")
        };
        return format!("unexpected {found}; expected {expected}");
    }
    if message.contains("; expected ") {
        message.to_string()
    } else {
        format!("{message}; expected valid ksqlDB syntax")
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "parse error at {}:{}: {}", self.line, self.column, self.message)?;
        writeln!(f, "{}", self.line_text)?;
        // Keep tabs so the caret lines up under the same column in a terminal.
        let pad: String = self
            .line_text
            .chars()
            .take(self.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let missing = (self.column.saturating_sub(1) as usize).saturating_sub(self.line_text.chars().count());
        write!(f, "{pad}{}^", " ".repeat(missing))
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for crate::error::Error {
    fn from(e: ParseError) -> Self {
        crate::error::Error::new(crate::error::ErrorKind::Parse, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_line_and_caret() {
        let e = ParseError::at("SELECT *\nFROM x WHERE", 2, 8, "unexpected 'WHERE'; expected a name");
        assert_eq!(
            e.to_string(),
            "parse error at 2:8: unexpected 'WHERE'; expected a name\nFROM x WHERE\n       ^"
        );
    }

    #[test]
    fn sqlparser_messages_are_reworded_with_their_location() {
        let err = ParserError::ParserError("Expected: an expression, found: FROM at Line: 1, Column: 8".into());
        let e = ParseError::from_parser("SELECT FROM x", err, (9, 9));
        assert_eq!((e.line, e.column), (1, 8));
        assert_eq!(e.message, "unexpected 'FROM'; expected an expression");
    }

    #[test]
    fn unknown_location_points_past_the_end() {
        let e = ParseError::at("SELECT", 0, 0, "x; expected y");
        assert_eq!((e.line, e.column), (1, 7));
    }

    #[test]
    fn converts_into_crate_error() {
        let e: crate::error::Error = ParseError::at("X", 1, 1, "bad; expected good").into();
        assert_eq!(e.kind, crate::error::ErrorKind::Parse);
        assert!(e.to_string().starts_with("parse error at 1:1: bad; expected good\n"));
    }
}
