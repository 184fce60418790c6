//! Text encodings and byte conversions: ENCODE, TO_BYTES, FROM_BYTES, MD5 and the
//! `*_FROM_BYTES` number decoders.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

use crate::function::Lambda;
use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value};

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func(
            "ENCODE",
            "STRING",
            "Re-encodes a string from one encoding to another; encodings are hex, utf8, ascii \
             and base64.",
            encode,
        )
        .sig(
            &[
                ("str", "VARCHAR"),
                ("input_encoding", "VARCHAR"),
                ("output_encoding", "VARCHAR"),
            ],
            "VARCHAR",
        ),
    );
    v.push(
        func(
            "TO_BYTES",
            "STRING",
            "Converts a string to bytes using an encoding: hex, utf8, ascii or base64.",
            |a, _, _| {
                let (Some(s), Some(enc)) = (arg::str(a, 0)?, arg::str(a, 1)?) else {
                    return Ok(Value::Null);
                };
                decode_text(s, &encoding(enc)?, true).map(Value::Bytes)
            },
        )
        .sig(&[("str", "VARCHAR"), ("encoding", "VARCHAR")], "BYTES"),
    );
    v.push(
        func(
            "FROM_BYTES",
            "STRING",
            "Converts bytes to a string using an encoding: hex, utf8, ascii or base64.",
            |a, _, _| {
                let (Some(b), Some(enc)) = (arg::bytes(a, 0)?, arg::str(a, 1)?) else {
                    return Ok(Value::Null);
                };
                Ok(Value::String(encode_bytes(b, &encoding(enc)?)))
            },
        )
        .sig(&[("bytes", "BYTES"), ("encoding", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "MD5",
            "STRING",
            "The MD5 hash of a string's UTF-8 bytes, as 32 lower-case hex digits.",
            |a, _, _| Ok(arg::str(a, 0)?.map_or(Value::Null, |s| Value::String(super::md5::hex_digest(s.as_bytes())))),
        )
        .sig(&[("input", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "INT_FROM_BYTES",
            "CONVERSIONS",
            "Reads a 4-byte integer in big-endian (default) or little-endian order.",
            |a, r, l| from_bytes(a, r, l, 4),
        )
        .sig(&[("bytes", "BYTES")], "INT")
        .sig(&[("bytes", "BYTES"), ("byte_order", "VARCHAR")], "INT"),
    );
    v.push(
        func(
            "BIGINT_FROM_BYTES",
            "CONVERSIONS",
            "Reads an 8-byte integer in big-endian (default) or little-endian order.",
            |a, r, l| from_bytes(a, r, l, 8),
        )
        .sig(&[("bytes", "BYTES")], "BIGINT")
        .sig(&[("bytes", "BYTES"), ("byte_order", "VARCHAR")], "BIGINT"),
    );
    v.push(
        func(
            "DOUBLE_FROM_BYTES",
            "CONVERSIONS",
            "Reads an 8-byte IEEE 754 double in big-endian (default) or little-endian order.",
            |a, r, l| from_bytes(a, r, l, 8),
        )
        .sig(&[("bytes", "BYTES")], "DOUBLE")
        .sig(&[("bytes", "BYTES"), ("byte_order", "VARCHAR")], "DOUBLE"),
    );
}

#[derive(PartialEq)]
enum Enc {
    Hex,
    Utf8,
    Ascii,
    Base64,
}

fn encoding(name: &str) -> Result<Enc, String> {
    match name.to_ascii_lowercase().as_str() {
        "hex" => Ok(Enc::Hex),
        "utf8" => Ok(Enc::Utf8),
        "ascii" => Ok(Enc::Ascii),
        "base64" => Ok(Enc::Base64),
        _ => Err(format!(
            "Supported encoding types are: hex, utf8, ascii and base64, got '{name}'"
        )),
    }
}

/// Commons-codec style base64: ignores characters outside the alphabet and missing padding.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    // ENCODE accepts `0xAB` and `X'AB'` literal styles; an odd `0x` form gets a leading zero.
    let body: String = if let Some(rest) = s.strip_prefix("0x") {
        if !s.len().is_multiple_of(2) {
            format!("0{rest}")
        } else {
            rest.to_string()
        }
    } else if s.len() >= 3 && (s.starts_with("x'") || s.starts_with("X'")) && s.ends_with('\'') {
        s[2..s.len() - 1].to_string()
    } else {
        s.to_string()
    };
    if !body.len().is_multiple_of(2) {
        return Err("Odd number of characters.".into());
    }
    let digits: Vec<char> = body.chars().collect();
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let hi = pair[0].to_digit(16);
            let lo = pair[1].to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                (None, _) => Err(format!("Illegal hexadecimal character {} at index {}", pair[0], i * 2)),
                (_, None) => Err(format!(
                    "Illegal hexadecimal character {} at index {}",
                    pair[1],
                    i * 2 + 1
                )),
            }
        })
        .collect()
}

/// Text in `enc` to bytes. `strict_b64` rejects malformed base64 (TO_BYTES) instead of
/// skipping stray characters (ENCODE).
fn decode_text(s: &str, enc: &Enc, strict_b64: bool) -> Result<Vec<u8>, String> {
    Ok(match enc {
        Enc::Hex => decode_hex(s)?,
        Enc::Utf8 => s.as_bytes().to_vec(),
        // Java replaces characters ASCII cannot hold with '?'.
        Enc::Ascii => s.chars().map(|c| if c.is_ascii() { c as u8 } else { b'?' }).collect(),
        Enc::Base64 => {
            if strict_b64 {
                STANDARD.decode(s).map_err(|e| format!("Invalid base64 input: {e}"))?
            } else {
                let cleaned: String = s
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
                    .collect();
                LENIENT_B64
                    .decode(cleaned)
                    .map_err(|e| format!("Invalid base64 input: {e}"))?
            }
        }
    })
}

fn encode_bytes(b: &[u8], enc: &Enc) -> String {
    match enc {
        Enc::Hex => b.iter().map(|x| format!("{x:02x}")).collect(),
        Enc::Utf8 => String::from_utf8_lossy(b).into_owned(),
        Enc::Ascii => b
            .iter()
            .map(|x| {
                if x.is_ascii() {
                    *x as char
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            })
            .collect(),
        Enc::Base64 => STANDARD.encode(b),
    }
}

fn encode(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let (Some(s), Some(from), Some(to)) = (arg::str(a, 0)?, arg::str(a, 1)?, arg::str(a, 2)?) else {
        return Ok(Value::Null);
    };
    let unsupported = || "Supported input and output encodings are: hex, utf8, ascii and base64".to_string();
    let (from, to) = (
        encoding(from).map_err(|_| unsupported())?,
        encoding(to).map_err(|_| unsupported())?,
    );
    // ksqlDB has no converter from an encoding to itself.
    if from == to {
        return Err(unsupported());
    }
    let bytes = decode_text(s, &from, false)?;
    Ok(Value::String(encode_bytes(&bytes, &to)))
}

fn from_bytes(a: &[Value], ret: &SqlType, _: &[Lambda<'_>], width: usize) -> Result<Value, String> {
    let Some(b) = arg::bytes(a, 0)? else {
        return Ok(Value::Null);
    };
    let little = match if a.len() > 1 {
        arg::str(a, 1)?
    } else {
        Some("BIG_ENDIAN")
    } {
        None => return Ok(Value::Null),
        Some(o) if o.eq_ignore_ascii_case("BIG_ENDIAN") => false,
        Some(o) if o.eq_ignore_ascii_case("LITTLE_ENDIAN") => true,
        Some(o) => {
            return Err(format!(
                "Byte order must be BIG_ENDIAN or LITTLE_ENDIAN. Unknown byte order '{o}'."
            ));
        }
    };
    if b.len() != width {
        return Err(format!(
            "Number of bytes must be equal to {width}, but found {}",
            b.len()
        ));
    }
    let mut buf = [0u8; 8];
    buf[..width].copy_from_slice(b);
    Ok(match (ret, width) {
        (SqlType::Int, _) => {
            let four = [buf[0], buf[1], buf[2], buf[3]];
            Value::Int(if little {
                i32::from_le_bytes(four)
            } else {
                i32::from_be_bytes(four)
            })
        }
        (SqlType::Double, _) => Value::Double(if little {
            f64::from_le_bytes(buf)
        } else {
            f64::from_be_bytes(buf)
        }),
        _ => Value::BigInt(if little {
            i64::from_le_bytes(buf)
        } else {
            i64::from_be_bytes(buf)
        }),
    })
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    #[test]
    fn encodings_round_trip() {
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            (
                "ENCODE",
                vec![s("4578616d706c6521"), s("hex"), s("utf8")],
                s("Example!"),
            ),
            ("ENCODE", vec![s("0x4578"), s("hex"), s("ascii")], s("Ex")),
            ("ENCODE", vec![s("X'4578'"), s("hex"), s("base64")], s("RXg=")),
            ("ENCODE", vec![s("Example!"), s("utf8"), s("base64")], s("RXhhbXBsZSE=")),
            (
                "ENCODE",
                vec![s("RXhhbXBsZSE="), s("base64"), s("hex")],
                s("4578616d706c6521"),
            ),
            ("ENCODE", vec![s("a"), Value::Null, s("hex")], Value::Null),
            ("TO_BYTES", vec![s("AQID"), s("base64")], Value::Bytes(vec![1, 2, 3])),
            ("TO_BYTES", vec![s("010203"), s("hex")], Value::Bytes(vec![1, 2, 3])),
            ("FROM_BYTES", vec![Value::Bytes(vec![1, 2, 3]), s("base64")], s("AQID")),
            ("FROM_BYTES", vec![Value::Bytes(b"hi".to_vec()), s("utf8")], s("hi")),
            ("MD5", vec![s("")], s("d41d8cd98f00b204e9800998ecf8427e")),
            (
                "MD5",
                vec![s("The quick brown fox jumps over the lazy dog")],
                s("9e107d9d372bb6826bd81d3542a419d6"),
            ),
            ("INT_FROM_BYTES", vec![Value::Bytes(vec![0, 0, 1, 0])], Value::Int(256)),
            (
                "INT_FROM_BYTES",
                vec![Value::Bytes(vec![0, 1, 0, 0]), s("LITTLE_ENDIAN")],
                Value::Int(256),
            ),
            (
                "BIGINT_FROM_BYTES",
                vec![Value::Bytes(vec![0, 0, 0, 0, 0, 0, 0, 7])],
                Value::BigInt(7),
            ),
            (
                "DOUBLE_FROM_BYTES",
                vec![Value::Bytes(1.5f64.to_be_bytes().to_vec())],
                Value::Double(1.5),
            ),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
        assert!(call("ENCODE", &[s("abc"), s("hex"), s("utf8")]).is_err());
        assert!(call("ENCODE", &[s("abc"), s("utf8"), s("utf8")]).is_err());
        assert!(call("ENCODE", &[s("abc"), s("latin1"), s("utf8")]).is_err());
        assert!(call("TO_BYTES", &[s("abc"), s("ebcdic")]).is_err());
        assert!(call("INT_FROM_BYTES", &[Value::Bytes(vec![1, 2])]).is_err());
    }
}
