//! A borrowing, validating JSON reader over record bytes.
//!
//! Decoding walks the bytes once per value and converts straight into column builders, so
//! no `serde_json::Value` tree is built per record. Strings without escapes are borrowed
//! from the input; numbers are handed over as their exact text.

use std::borrow::Cow;

/// How deep arrays and objects may nest before a record is refused (guards the stack).
const MAX_DEPTH: usize = 256;

/// The kind of the next JSON value, named as Jackson's node classes are in ksqlDB's
/// "Can't convert type. sourceType: ..." messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool,
    /// A number without fraction or exponent.
    Int,
    /// A number with a fraction or exponent.
    Float,
    /// A string.
    Str,
    /// An object.
    Object,
    /// An array.
    Array,
}

/// A read number: its text and whether it had a fraction or exponent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Number<'a> {
    /// The number exactly as written.
    pub text: &'a str,
    /// Whether it had a fraction or exponent (Jackson reads it as a `DecimalNode`).
    pub is_float: bool,
}

impl Number<'_> {
    /// Jackson's node class for this number.
    pub fn node_name(&self) -> &'static str {
        if self.is_float {
            return "DecimalNode";
        }
        if self.text.parse::<i32>().is_ok() {
            "IntNode"
        } else if self.text.parse::<i64>().is_ok() {
            "LongNode"
        } else {
            "BigIntegerNode"
        }
    }
}

/// A cursor over JSON text.
#[derive(Clone, Copy)]
pub(crate) struct Lexer<'a> {
    buf: &'a [u8],
    /// `buf` as text when the whole record is valid UTF-8 (the usual case), checked once so
    /// that each string, key and number is a bounds-checked slice instead of another
    /// validation pass. `None` falls back to validating each token, which keeps the error
    /// message and offset of a record with bad bytes exactly as before.
    text: Option<&'a str>,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Lexer {
            buf,
            text: std::str::from_utf8(buf).ok(),
            pos: 0,
        }
    }

    /// A reader over the same input positioned at byte `pos` (an offset an earlier pass
    /// recorded); it shares this reader's UTF-8 check.
    pub fn at(&self, pos: usize) -> Self {
        Lexer { pos, ..*self }
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.ws();
        self.pos >= self.buf.len()
    }

    /// The current byte offset (after any whitespace).
    pub fn value_pos(&mut self) -> usize {
        self.ws();
        self.pos
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.buf.get(self.pos) {
            self.pos += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        let found = match self.buf.get(self.pos) {
            None => "end of input".to_string(),
            Some(b) if b.is_ascii_graphic() => format!("'{}'", *b as char),
            Some(b) => format!("byte 0x{b:02x}"),
        };
        Err(format!(
            "Invalid JSON: expected {what} at offset {} but found {found}",
            self.pos
        ))
    }

    /// Fails unless only whitespace is left.
    pub fn expect_end(&mut self) -> Result<(), String> {
        self.ws();
        if self.pos < self.buf.len() {
            return self.err("end of input");
        }
        Ok(())
    }

    /// The kind of the next value, after skipping whitespace.
    pub fn peek_kind(&mut self) -> Result<Kind, String> {
        self.ws();
        Ok(match self.buf.get(self.pos) {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'"') => Kind::Str,
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'-' | b'0'..=b'9') => {
                let mut i = self.pos + 1;
                while let Some(b) = self.buf.get(i) {
                    match b {
                        b'0'..=b'9' => i += 1,
                        b'.' | b'e' | b'E' => return Ok(Kind::Float),
                        _ => break,
                    }
                }
                Kind::Int
            }
            _ => return self.err("a value"),
        })
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), String> {
        if self.buf.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.err(&format!("'{}'", String::from_utf8_lossy(word)))
        }
    }

    /// Reads `null`.
    pub fn read_null(&mut self) -> Result<(), String> {
        self.ws();
        self.literal(b"null")
    }

    /// Reads `true` or `false`.
    pub fn read_bool(&mut self) -> Result<bool, String> {
        self.ws();
        if self.buf.get(self.pos) == Some(&b't') {
            self.literal(b"true").map(|_| true)
        } else {
            self.literal(b"false").map(|_| false)
        }
    }

    /// Reads a number, checking the JSON grammar (no leading zeros, no `+`, digits after
    /// a point or exponent).
    pub fn read_number(&mut self) -> Result<Number<'a>, String> {
        self.ws();
        let start = self.pos;
        let digits = |l: &mut Self| {
            let s = l.pos;
            while let Some(b'0'..=b'9') = l.buf.get(l.pos) {
                l.pos += 1;
            }
            l.pos - s
        };
        if self.buf.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 || (n > 1 && self.buf.get(int_start) == Some(&b'0')) {
            self.pos = int_start;
            return self.err("a number");
        }
        let mut is_float = false;
        if self.buf.get(self.pos) == Some(&b'.') {
            is_float = true;
            self.pos += 1;
            if digits(self) == 0 {
                return self.err("a digit");
            }
        }
        if let Some(b'e' | b'E') = self.buf.get(self.pos) {
            is_float = true;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.buf.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return self.err("a digit");
            }
        }
        // Only ASCII digits and signs were consumed, so this cannot fail.
        let text = self.utf8(start, self.pos).unwrap_or("0");
        Ok(Number { text, is_float })
    }

    /// Reads a string, borrowing it from the input when it has no escapes.
    pub fn read_string(&mut self) -> Result<Cow<'a, str>, String> {
        self.ws();
        if self.buf.get(self.pos) != Some(&b'"') {
            return self.err("a string");
        }
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.buf.get(self.pos) {
                Some(b'"') => {
                    let s = self.utf8(start, self.pos)?;
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(b) if *b < 0x20 => return self.err("an escaped control character"),
                Some(_) => self.pos += 1,
                None => return self.err("a closing quote"),
            }
        }
        // Escapes: copy into an owned string.
        let mut out = String::from(self.utf8(start, self.pos)?);
        loop {
            let run = self.pos;
            while let Some(b) = self.buf.get(self.pos) {
                if *b == b'"' || *b == b'\\' || *b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.utf8(run, self.pos)?);
            match self.buf.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.escape()?;
                    out.push(c);
                }
                Some(_) => return self.err("an escaped control character"),
                None => return self.err("a closing quote"),
            }
        }
    }

    fn utf8(&self, from: usize, to: usize) -> Result<&'a str, String> {
        // `get` checks only that both ends are character boundaries (O(1)); the callers'
        // ends are next to ASCII delimiters, so this succeeds whenever `text` is set.
        if let Some(s) = self.text.and_then(|t| t.get(from..to)) {
            return Ok(s);
        }
        std::str::from_utf8(&self.buf[from..to])
            .map_err(|e| format!("Invalid JSON: bad UTF-8 at offset {}", from + e.valid_up_to()))
    }

    /// Decodes the escape after a backslash.
    fn escape(&mut self) -> Result<char, String> {
        let Some(b) = self.buf.get(self.pos).copied() else {
            return self.err("an escape");
        };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) && self.buf.get(self.pos..self.pos + 2) == Some(b"\\u") {
                    let save = self.pos;
                    self.pos += 2;
                    let lo = self.hex4()?;
                    if (0xDC00..0xE000).contains(&lo) {
                        let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
                    }
                    self.pos = save;
                }
                // A lone surrogate has no char; Java would keep it, we substitute.
                char::from_u32(hi).unwrap_or('\u{FFFD}')
            }
            _ => {
                self.pos -= 1;
                return self.err("a valid escape");
            }
        })
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let Some(digits) = self.buf.get(self.pos..self.pos + 4) else {
            return self.err("four hex digits");
        };
        let mut v = 0u32;
        for d in digits {
            let Some(x) = (*d as char).to_digit(16) else {
                return self.err("four hex digits");
            };
            v = v * 16 + x;
        }
        self.pos += 4;
        Ok(v)
    }

    /// Enters an object: consumes `{`.
    pub fn begin_object(&mut self) -> Result<(), String> {
        self.ws();
        if self.buf.get(self.pos) != Some(&b'{') {
            return self.err("'{'");
        }
        self.pos += 1;
        Ok(())
    }

    /// The next key of the object being read (consuming the `:` after it), or `None` at
    /// its closing `}`. `first` tracks whether a comma is due; start it at `true`.
    pub fn next_key(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>, String> {
        self.ws();
        match self.buf.get(self.pos) {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(b',') if !*first => {
                self.pos += 1;
                self.ws();
            }
            _ if *first => {}
            _ => return self.err("',' or '}'"),
        }
        *first = false;
        let key = self.read_string()?;
        self.ws();
        if self.buf.get(self.pos) != Some(&b':') {
            return self.err("':'");
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// Enters an array: consumes `[`.
    pub fn begin_array(&mut self) -> Result<(), String> {
        self.ws();
        if self.buf.get(self.pos) != Some(&b'[') {
            return self.err("'['");
        }
        self.pos += 1;
        Ok(())
    }

    /// Whether another item follows in the array being read (consuming the comma), or
    /// `false` at its closing `]`. `first` as for [`Lexer::next_key`].
    pub fn next_item(&mut self, first: &mut bool) -> Result<bool, String> {
        self.ws();
        match self.buf.get(self.pos) {
            Some(b']') => {
                self.pos += 1;
                return Ok(false);
            }
            Some(b',') if !*first => self.pos += 1,
            _ if *first => {}
            _ => return self.err("',' or ']'"),
        }
        *first = false;
        Ok(true)
    }

    /// Skips one value, checking it is well-formed.
    pub fn skip_value(&mut self) -> Result<(), String> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("Invalid JSON: nested deeper than {MAX_DEPTH} levels"));
        }
        match self.peek_kind()? {
            Kind::Null => self.read_null(),
            Kind::Bool => self.read_bool().map(|_| ()),
            Kind::Int | Kind::Float => self.read_number().map(|_| ()),
            Kind::Str => self.skip_string(),
            Kind::Object => {
                self.begin_object()?;
                let mut first = true;
                while self.next_key(&mut first)?.is_some() {
                    self.skip_at(depth + 1)?;
                }
                Ok(())
            }
            Kind::Array => {
                self.begin_array()?;
                let mut first = true;
                while self.next_item(&mut first)? {
                    self.skip_at(depth + 1)?;
                }
                Ok(())
            }
        }
    }

    /// Skips a string without building it (but still checking escapes and UTF-8).
    fn skip_string(&mut self) -> Result<(), String> {
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.buf.get(self.pos) {
                Some(b'"') => {
                    if self.text.is_none() {
                        self.utf8(start, self.pos)?;
                    }
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape()?;
                }
                Some(b) if *b < 0x20 => return self.err("an escaped control character"),
                Some(_) => self.pos += 1,
                None => return self.err("a closing quote"),
            }
        }
    }

    /// Appends the next value to `out` with insignificant whitespace removed (how Jackson
    /// re-writes a JSON object read into a STRING column).
    pub fn write_compact(&mut self, out: &mut String) -> Result<(), String> {
        self.ws();
        let start = self.pos;
        self.skip_value()?;
        let mut in_string = false;
        let mut escaped = false;
        let text = self.utf8(start, self.pos)?;
        for c in text.chars() {
            if in_string {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
            } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
                in_string = c == '"';
                out.push(c);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_objects_and_borrows_plain_strings() {
        let mut l = Lexer::new(br#" { "a" : 1.50, "b\n": [true, null, "x"] } "#);
        l.begin_object().unwrap();
        let mut first = true;
        let k = l.next_key(&mut first).unwrap().unwrap();
        assert!(matches!(k, Cow::Borrowed("a")));
        let n = l.read_number().unwrap();
        assert_eq!((n.text, n.is_float, n.node_name()), ("1.50", true, "DecimalNode"));
        assert_eq!(l.next_key(&mut first).unwrap().as_deref(), Some("b\n"));
        assert_eq!(l.peek_kind().unwrap(), Kind::Array);
        l.skip_value().unwrap();
        assert_eq!(l.next_key(&mut first).unwrap(), None);
        l.expect_end().unwrap();
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            &b"{\"a\" 1}"[..],
            b"{\"a\":1,}",
            b"[1 2]",
            b"01",
            b"\"abc",
            b"tru",
            b"{\"a\":\"\xff\"}",
            b"\"\\x\"",
        ] {
            let mut l = Lexer::new(bad);
            let r = l.skip_value().and_then(|_| l.expect_end());
            assert!(r.is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(10_000);
        assert!(Lexer::new(deep.as_bytes()).skip_value().is_err());
    }

    #[test]
    fn decodes_escapes_and_surrogates() {
        let mut l = Lexer::new(br#""a\"\u00e9\ud83d\ude00\/""#);
        assert_eq!(l.read_string().unwrap(), "a\"é😀/");
    }

    #[test]
    fn compacts_objects_outside_strings() {
        let mut out = String::new();
        Lexer::new(br#"{ "a b" : [ 1, 2 ] }"#).write_compact(&mut out).unwrap();
        assert_eq!(out, r#"{"a b":[1,2]}"#);
    }

    #[test]
    fn names_number_nodes_like_jackson() {
        let name = |t: &str| Lexer::new(t.as_bytes()).read_number().unwrap().node_name();
        assert_eq!(name("1"), "IntNode");
        assert_eq!(name("10000000000"), "LongNode");
        assert_eq!(name("100000000000000000000"), "BigIntegerNode");
        assert_eq!(name("1e2"), "DecimalNode");
    }
}
