//! Splitting input into complete statements for the shell: a statement ends at a `;` that
//! is outside string literals, quoted identifiers and comments.

/// Where the scanner is: what would end the current construct.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    /// Inside `'...'`; `''` is an escaped quote, which leaving and re-entering handles.
    String,
    /// Inside `` `...` `` or `"..."`, ended by the same quote character.
    Quoted(char),
    LineComment,
    BlockComment,
}

/// Splits `text` into complete statements (each ending with its `;`, leading whitespace
/// trimmed) and the incomplete remainder after the last `;` (empty when only whitespace
/// follows). The shell shows a continuation prompt while the remainder is non-empty.
pub fn split_statements(text: &str) -> (Vec<String>, String) {
    let mut statements = Vec::new();
    let mut state = State::Code;
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        state = match (state, c) {
            (State::Code, '\'') => State::String,
            (State::Code, '`' | '"') => State::Quoted(c),
            (State::Code, '-') if next == Some('-') => {
                chars.next();
                State::LineComment
            }
            (State::Code, '/') if next == Some('*') => {
                chars.next();
                State::BlockComment
            }
            (State::Code, ';') => {
                let statement = text[start..=i].trim_start();
                if statement != ";" {
                    statements.push(statement.to_string());
                }
                start = i + 1;
                State::Code
            }
            (State::String, '\'') => State::Code,
            (State::Quoted(q), c) if c == q => State::Code,
            (State::LineComment, '\n') => State::Code,
            (State::BlockComment, '*') if next == Some('/') => {
                chars.next();
                State::Code
            }
            (s, _) => s,
        };
    }
    let rest = text[start..].trim_start();
    (statements, rest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let (done, rest) =
            split_statements("SELECT ';' FROM `a;b`; -- no; split\nSHOW STREAMS; /* ; */ DESCRIBE \"x;\"");
        assert_eq!(
            done,
            vec![
                "SELECT ';' FROM `a;b`;".to_string(),
                "-- no; split\nSHOW STREAMS;".to_string()
            ]
        );
        assert_eq!(rest, "/* ; */ DESCRIBE \"x;\"");
    }

    #[test]
    fn escaped_quotes_stay_inside_the_string() {
        let (done, rest) = split_statements("SELECT 'it''s; fine' FROM x;\n  ");
        assert_eq!(done, vec!["SELECT 'it''s; fine' FROM x;".to_string()]);
        assert_eq!(rest, "");
    }

    #[test]
    fn unterminated_string_is_incomplete() {
        let (done, rest) = split_statements("SELECT 'abc; FROM x;");
        assert!(done.is_empty());
        assert_eq!(rest, "SELECT 'abc; FROM x;");
    }
}
