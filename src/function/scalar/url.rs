//! URL functions, with a small RFC 3986 splitter (scheme, authority, path, query, fragment)
//! standing in for Java's `java.net.URI`, and Java's form encoding for parameters.

use crate::function::sig::{Builtin, ImplFn, arg, func};
use crate::types::Value;

const CAT: &str = "URL";

/// The parts of a URL; the path, query and fragment are still percent-encoded.
#[derive(Debug, Default, PartialEq)]
struct Url<'a> {
    scheme: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<i32>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

/// Splits a URL; `None` when it is malformed (bad scheme or port), where ksqlDB gives NULL.
fn split(url: &str) -> Option<Url<'_>> {
    let mut u = Url::default();
    let (rest, fragment) = match url.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (url, None),
    };
    u.fragment = fragment;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    u.query = query;
    let mut rest = rest;
    if let Some(colon) = rest.find(':') {
        let scheme = &rest[..colon];
        let valid = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid && !rest[..colon].contains('/') {
            u.scheme = Some(scheme);
            rest = &rest[colon + 1..];
        }
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let authority = &after[..end];
        u.path = &after[end..];
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || host_port.starts_with('[') => (h, Some(p)),
            _ => (host_port, None),
        };
        u.host = (!host.is_empty()).then_some(host);
        u.port = match port {
            None | Some("") => None,
            Some(p) => Some(p.parse().ok()?),
        };
    } else {
        u.path = rest;
    }
    Some(u)
}

/// Decodes `%XX` escapes (as UTF-8); `plus_is_space` for form encoding.
fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .ok_or("URLDecoder: Incomplete trailing escape (%) pattern")?;
                let v = u8::from_str_radix(hex, 16)
                    .map_err(|_| "URLDecoder: Illegal hex characters in escape (%) pattern".to_string())?;
                out.push(v);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Java's URLEncoder (UTF-8): letters, digits and `.-*_` stay, space becomes `+`.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn part(a: &[Value], pick: fn(&Url<'_>) -> Option<Value>) -> Result<Value, String> {
    Ok(arg::str(a, 0)?
        .and_then(split)
        .and_then(|u| pick(&u))
        .unwrap_or(Value::Null))
}

fn decoded(s: Option<&str>) -> Option<Value> {
    s.and_then(|s| percent_decode(s, false).ok()).map(Value::String)
}

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func(
            "URL_ENCODE_PARAM",
            CAT,
            "Form-encodes a string for a URL query parameter.",
            |a, _, _| Ok(arg::str(a, 0)?.map_or(Value::Null, |s| Value::String(form_encode(s)))),
        )
        .sig(&[("input", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "URL_DECODE_PARAM",
            CAT,
            "Decodes a form-encoded URL query parameter.",
            |a, _, _| match arg::str(a, 0)? {
                Some(s) => percent_decode(s, true).map(Value::String),
                None => Ok(Value::Null),
            },
        )
        .sig(&[("input", "VARCHAR")], "VARCHAR"),
    );
    let parts: [(&'static str, &'static str, ImplFn, &'static str); 6] = [
        (
            "URL_EXTRACT_PROTOCOL",
            "The scheme of a URL (http).",
            |a, _, _| part(a, |u| u.scheme.map(|s| Value::String(s.to_string()))),
            "VARCHAR",
        ),
        (
            "URL_EXTRACT_HOST",
            "The host of a URL.",
            |a, _, _| part(a, |u| u.host.map(|s| Value::String(s.to_string()))),
            "VARCHAR",
        ),
        (
            "URL_EXTRACT_PORT",
            "The port of a URL, or NULL when it has none.",
            |a, _, _| part(a, |u| u.port.map(Value::Int)),
            "INT",
        ),
        (
            "URL_EXTRACT_PATH",
            "The decoded path of a URL.",
            |a, _, _| part(a, |u| decoded(Some(u.path))),
            "VARCHAR",
        ),
        (
            "URL_EXTRACT_QUERY",
            "The decoded query of a URL.",
            |a, _, _| part(a, |u| decoded(u.query)),
            "VARCHAR",
        ),
        (
            "URL_EXTRACT_FRAGMENT",
            "The decoded fragment of a URL.",
            |a, _, _| part(a, |u| decoded(u.fragment)),
            "VARCHAR",
        ),
    ];
    for (name, desc, imp, ret) in parts {
        v.push(func(name, CAT, desc, imp).sig(&[("url", "VARCHAR")], ret));
    }
    v.push(
        func(
            "URL_EXTRACT_PARAMETER",
            CAT,
            "The (still encoded) value of the first query parameter with a name; NULL when \
             absent.",
            |a, _, _| {
                let (Some(url), Some(name)) = (arg::str(a, 0)?, arg::str(a, 1)?) else {
                    return Ok(Value::Null);
                };
                let Some(query) = split(url).and_then(|u| u.query) else {
                    return Ok(Value::Null);
                };
                Ok(query
                    .split('&')
                    .find_map(|p| match p.split_once('=') {
                        Some((k, v)) if k == name => Some(Value::String(v.to_string())),
                        None if p == name => Some(Value::String(String::new())),
                        _ => None,
                    })
                    .unwrap_or(Value::Null))
            },
        )
        .sig(&[("url", "VARCHAR"), ("parameter", "VARCHAR")], "VARCHAR"),
    );
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    #[test]
    fn url_functions() {
        let n = Value::Null;
        let u = s("http://test@confluent.io:8080/nested/pa%20th?q=2&x=a%20b#frag%21");
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            ("URL_ENCODE_PARAM", vec![s("a b&c=ü")], s("a+b%26c%3D%C3%BC")),
            ("URL_DECODE_PARAM", vec![s("a+b%26c%3D%C3%BC")], s("a b&c=ü")),
            ("URL_DECODE_PARAM", vec![s("url%20encoded")], s("url encoded")),
            ("URL_EXTRACT_PROTOCOL", vec![u.clone()], s("http")),
            ("URL_EXTRACT_HOST", vec![u.clone()], s("confluent.io")),
            ("URL_EXTRACT_PORT", vec![u.clone()], Value::Int(8080)),
            ("URL_EXTRACT_PORT", vec![s("http://test@confluent.io")], n.clone()),
            ("URL_EXTRACT_PATH", vec![u.clone()], s("/nested/pa th")),
            ("URL_EXTRACT_PATH", vec![s("http://www.test.com?query#fragment")], s("")),
            ("URL_EXTRACT_QUERY", vec![u.clone()], s("q=2&x=a b")),
            (
                "URL_EXTRACT_QUERY",
                vec![s("http://test@confluent.io:8080/path")],
                n.clone(),
            ),
            ("URL_EXTRACT_FRAGMENT", vec![u.clone()], s("frag!")),
            (
                "URL_EXTRACT_PARAMETER",
                vec![s("http://www.test.com/?one=a&two=b&three"), s("two")],
                s("b"),
            ),
            (
                "URL_EXTRACT_PARAMETER",
                vec![s("http://www.test.com/?one=a&two=url%20encoded"), s("two")],
                s("url%20encoded"),
            ),
            (
                "URL_EXTRACT_PARAMETER",
                vec![s("http://www.test.com/?one=a"), s("zzz")],
                n.clone(),
            ),
            ("URL_EXTRACT_PORT", vec![s("http://host:notaport/")], n.clone()),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
        assert!(call("URL_DECODE_PARAM", &[s("%zz")]).is_err());
    }
}
