//! ksqlDB variable substitution: `${name}` is replaced by the variable's value everywhere in
//! the text, inside string literals too (that is how `kafka_topic='${topic}'` works);
//! names are case-insensitive, and `$${name}` stands for a literal `${name}`.

use std::collections::BTreeMap;

use super::error::ParseError;

/// Replaces every `${name}` in `text` by its value from `vars` (names compared
/// case-insensitively). Fails on the first reference to an undefined variable, naming it
/// and its position. Text that is not a well-formed reference is left as it is.
pub fn substitute_variables(text: &str, vars: &BTreeMap<String, String>) -> Result<String, ParseError> {
    let mut out = String::with_capacity(text.len());
    let mut line = 1u64;
    let mut column = 1u64;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("$${") {
            // The escape keeps one `$`: `$${x}` reads as the literal `${x}`.
            out.push_str("${");
            rest = after;
            column += 3;
            continue;
        }
        if let Some((name, len)) = reference(rest) {
            let value = vars
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .ok_or_else(|| {
                    ParseError::at(
                        text,
                        line,
                        column,
                        format!("undefined variable '{name}'; expected a variable defined with DEFINE"),
                    )
                })?;
            out.push_str(value);
            rest = &rest[len..];
            column += len as u64;
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    Ok(out)
}

/// If `s` starts with `${name}`, the name and the reference's length in bytes.
fn reference(s: &str) -> Option<(&str, usize)> {
    let body = s.strip_prefix("${")?;
    let end = body.find('}')?;
    let name = &body[..end];
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, end + 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("topic".to_string(), "orders".to_string()),
            ("Replicas".to_string(), "3".to_string()),
        ])
    }

    #[test]
    fn substitutes_everywhere_case_insensitively() {
        let out = substitute_variables(
            "CREATE STREAM s WITH (kafka_topic='${TOPIC}', replicas=${replicas});",
            &vars(),
        );
        assert_eq!(
            out,
            Ok("CREATE STREAM s WITH (kafka_topic='orders', replicas=3);".to_string())
        );
    }

    #[test]
    fn double_dollar_escapes_and_malformed_references_stay() {
        let out = substitute_variables("'$${topic}' ${1x} ${", &vars());
        assert_eq!(out, Ok("'${topic}' ${1x} ${".to_string()));
    }

    #[test]
    fn undefined_variable_is_named_with_its_position() {
        let e = substitute_variables("SELECT *\nFROM ${nope};", &vars()).unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
        assert_eq!(
            e.message,
            "undefined variable 'nope'; expected a variable defined with DEFINE"
        );
    }
}
