//! What the interactive shell adds to line editing: Tab completion from the live catalog
//! (keywords, streams and tables, columns, functions, properties), syntax colours for
//! keywords, strings and numbers, and the bracket matching the one under the cursor.

use std::borrow::Cow;
use std::sync::Arc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::client::Client;

/// Keywords offered by completion and coloured by the highlighter.
pub const KEYWORDS: &[&str] = &[
    "ADVANCE",
    "ALL",
    "AND",
    "ARRAY",
    "AS",
    "ASC",
    "BEGINNING",
    "BETWEEN",
    "BIGINT",
    "BOOLEAN",
    "BY",
    "BYTES",
    "CASE",
    "CAST",
    "CHANGES",
    "CREATE",
    "DATE",
    "DECIMAL",
    "DEFINE",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DISTINCT",
    "DOUBLE",
    "DROP",
    "ELSE",
    "EMIT",
    "END",
    "EXISTS",
    "EXIT",
    "EXPLAIN",
    "EXTENDED",
    "FALSE",
    "FINAL",
    "FROM",
    "FUNCTION",
    "FUNCTIONS",
    "GRACE",
    "GROUP",
    "HAVING",
    "HELP",
    "HOPPING",
    "IF",
    "IN",
    "INSERT",
    "INT",
    "INTEGER",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LIST",
    "MAP",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "PARTITION",
    "PARTITIONS",
    "PAUSE",
    "PERIOD",
    "PRIMARY",
    "PRINT",
    "PROPERTIES",
    "QUERIES",
    "REPLACE",
    "RESUME",
    "RUN",
    "SCRIPT",
    "SELECT",
    "SESSION",
    "SET",
    "SHOW",
    "SIZE",
    "SLIDING",
    "SOURCE",
    "STREAM",
    "STREAMS",
    "STRING",
    "STRUCT",
    "TABLE",
    "TABLES",
    "TERMINATE",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TOPIC",
    "TOPICS",
    "TRUE",
    "TUMBLING",
    "TYPE",
    "TYPES",
    "UNSET",
    "VALUES",
    "VARCHAR",
    "VARIABLES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
];

/// The shell's rustyline helper.
pub struct ShellHelper {
    client: Arc<dyn Client>,
    /// Whether to colour (off when the terminal is dumb or `NO_COLOR` is set).
    colour: bool,
}

impl ShellHelper {
    /// A helper completing from the catalog `client` reaches.
    pub fn new(client: Arc<dyn Client>) -> Self {
        let colour = std::env::var_os("NO_COLOR").is_none() && std::env::var("TERM").map_or(true, |t| t != "dumb");
        ShellHelper { client, colour }
    }

    /// Every completion candidate word, in the order offered.
    fn words(&self) -> Vec<String> {
        let mut words = self.client.completion_words();
        words.extend(KEYWORDS.iter().map(|k| k.to_string()));
        words
    }
}

/// Completes the word before `pos`: returns where it starts and the candidates. A keyword is
/// offered in the case the word is typed in; names as the catalog has them.
pub fn complete_word(words: &[String], line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos.min(line.len())];
    // Properties are quoted and dotted ('statestore.cache.max.bytes'): a word may hold dots.
    let start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |i| i + 1);
    let prefix = &before[start..];
    if prefix.is_empty() {
        return (start, Vec::new());
    }
    let lower = prefix.chars().all(|c| !c.is_uppercase());
    let mut out: Vec<String> = Vec::new();
    for w in words {
        if w.len() >= prefix.len() && w[..prefix.len()].eq_ignore_ascii_case(prefix) {
            let is_keyword = KEYWORDS.contains(&w.as_str());
            let candidate = if is_keyword && lower {
                w.to_lowercase()
            } else {
                w.clone()
            };
            if !out.contains(&candidate) {
                out.push(candidate);
            }
        }
    }
    (start, out)
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, candidates) = complete_word(&self.words(), line, pos);
        Ok((
            start,
            candidates
                .into_iter()
                .map(|c| Pair {
                    display: c.clone(),
                    replacement: c,
                })
                .collect(),
        ))
    }
}

const KEYWORD_STYLE: &str = "\x1b[1;34m";
const STRING_STYLE: &str = "\x1b[32m";
const NUMBER_STYLE: &str = "\x1b[36m";
const BRACKET_STYLE: &str = "\x1b[1;7m";
const RESET: &str = "\x1b[0m";

/// The text with ANSI colours: keywords, single-quoted strings, numbers, and the bracket
/// matching the one at (or just before) the cursor. The visible text is unchanged.
pub fn highlight_sql(line: &str, cursor: Option<usize>) -> String {
    let bytes = line.as_bytes();
    let matching = cursor.and_then(|pos| matching_bracket(line, pos));
    let mut out = String::with_capacity(line.len() + 16);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if Some(i) == matching.map(|(a, _)| a) || Some(i) == matching.map(|(_, b)| b) {
            out.push_str(BRACKET_STYLE);
            out.push(c as char);
            out.push_str(RESET);
            i += 1;
        } else if c == b'\'' {
            // To the closing quote ('' inside is an escaped quote), or the end of the line.
            let mut j = i + 1;
            while j < bytes.len() {
                if bytes[j] == b'\'' {
                    if j + 1 < bytes.len() && bytes[j + 1] == b'\'' {
                        j += 2;
                        continue;
                    }
                    j += 1;
                    break;
                }
                j += 1;
            }
            out.push_str(STRING_STYLE);
            out.push_str(&line[i..j]);
            out.push_str(RESET);
            i = j;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                j += 1;
            }
            let word = &line[i..j];
            if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)) {
                out.push_str(KEYWORD_STYLE);
                out.push_str(word);
                out.push_str(RESET);
            } else {
                out.push_str(word);
            }
            i = j;
        } else if c.is_ascii_digit() {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                j += 1;
            }
            out.push_str(NUMBER_STYLE);
            out.push_str(&line[i..j]);
            out.push_str(RESET);
            i = j;
        } else {
            // Multi-byte characters pass through whole.
            let ch = line[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8().max(1);
        }
    }
    out
}

/// The bracket at the cursor (or just before it) and its match, outside strings.
pub fn matching_bracket(line: &str, pos: usize) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    let at = [pos, pos.wrapping_sub(1)]
        .into_iter()
        .find(|&p| p < bytes.len() && b"()[]{}".contains(&bytes[p]))?;
    // Which bytes are inside strings: brackets there do not count.
    let mut in_string = vec![false; bytes.len()];
    let mut quoted = false;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\'' {
            quoted = !quoted;
            continue;
        }
        in_string[i] = quoted;
    }
    if in_string[at] {
        return None;
    }
    let (open, close, forward) = match bytes[at] {
        b'(' => (b'(', b')', true),
        b'[' => (b'[', b']', true),
        b'{' => (b'{', b'}', true),
        b')' => (b'(', b')', false),
        b']' => (b'[', b']', false),
        _ => (b'{', b'}', false),
    };
    let mut depth = 0i32;
    let indices: Box<dyn Iterator<Item = usize>> = if forward {
        Box::new(at..bytes.len())
    } else {
        Box::new((0..=at).rev())
    };
    for i in indices {
        if in_string[i] {
            continue;
        }
        if bytes[i] == open {
            depth += if forward { 1 } else { -1 };
        } else if bytes[i] == close {
            depth += if forward { -1 } else { 1 };
        }
        if depth == 0 {
            return Some((at, i));
        }
    }
    None
}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        if !self.colour {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight_sql(line, Some(pos)))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.colour
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        [
            "PAGEVIEWS",
            "PAGEID",
            "SELECT",
            "STREAMS",
            "statestore.cache.max.bytes",
            "UCASE",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn completes_names_keywords_and_properties() {
        assert_eq!(
            complete_word(&words(), "DESCRIBE pagev", 14),
            (9, vec!["PAGEVIEWS".to_string()])
        );
        assert_eq!(complete_word(&words(), "sel", 3), (0, vec!["select".to_string()]));
        assert_eq!(
            complete_word(&words(), "SET 'statestore.c", 17),
            (5, vec!["statestore.cache.max.bytes".to_string()])
        );
        assert_eq!(
            complete_word(&words(), "SELECT PAGE", 11).1,
            vec!["PAGEVIEWS".to_string(), "PAGEID".to_string()]
        );
        assert_eq!(complete_word(&words(), "SELECT ", 7).1, Vec::<String>::new());
    }

    #[test]
    fn highlighting_keeps_the_text_and_colours_what_it_should() {
        let line = "SELECT 'it''s (x)', n + 12 FROM t WHERE f(a, (b)) > 1;";
        let coloured = highlight_sql(line, None);
        let plain = coloured
            .replace(KEYWORD_STYLE, "")
            .replace(STRING_STYLE, "")
            .replace(NUMBER_STYLE, "")
            .replace(RESET, "");
        assert_eq!(plain, line);
        assert!(coloured.starts_with(&format!("{KEYWORD_STYLE}SELECT{RESET}")));
        assert!(coloured.contains(&format!("{STRING_STYLE}'it''s (x)'{RESET}")));
        assert!(coloured.contains(&format!("{NUMBER_STYLE}12{RESET}")));
    }

    #[test]
    fn brackets_match_outside_strings() {
        let line = "f(a, '(', (b))";
        assert_eq!(matching_bracket(line, 1), Some((1, 13)));
        assert_eq!(matching_bracket(line, 14), Some((13, 1)));
        assert_eq!(matching_bracket(line, 10), Some((10, 12)));
        assert_eq!(matching_bracket(line, 6), None);
        assert_eq!(matching_bracket("(a", 0), None);
    }
}
