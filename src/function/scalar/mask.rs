//! MASK and its left/right variants: replace characters by class (upper, lower, digit, other).

use crate::function::Lambda;
use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value};

const CAT: &str = "STRING";

/// Which part of the string a variant masks.
#[derive(Clone, Copy)]
enum Part {
    All,
    Left,
    Right,
    KeepLeft,
    KeepRight,
}

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func(
            "MASK",
            CAT,
            "Masks every character: upper-case to 'X', lower-case to 'x', digits to 'n', \
             others to '-', or to the given mask characters (NULL keeps that class).",
            |a, r, l| mask(a, r, l, Part::All),
        )
        .sig(&[("input", "VARCHAR")], "VARCHAR")
        .sig(
            &[
                ("input", "VARCHAR"),
                ("upper", "VARCHAR"),
                ("lower", "VARCHAR"),
                ("digit", "VARCHAR"),
                ("other", "VARCHAR"),
            ],
            "VARCHAR",
        )
        .lenient(),
    );
    let variants: [(&'static str, &'static str, Part); 4] = [
        ("MASK_LEFT", "Masks the first n characters.", Part::Left),
        ("MASK_RIGHT", "Masks the last n characters.", Part::Right),
        (
            "MASK_KEEP_LEFT",
            "Masks all but the first n characters.",
            Part::KeepLeft,
        ),
        (
            "MASK_KEEP_RIGHT",
            "Masks all but the last n characters.",
            Part::KeepRight,
        ),
    ];
    for (name, desc, part) in variants {
        let imp: crate::function::sig::ImplFn = match part {
            Part::Left => |a, r, l| mask(a, r, l, Part::Left),
            Part::Right => |a, r, l| mask(a, r, l, Part::Right),
            Part::KeepLeft => |a, r, l| mask(a, r, l, Part::KeepLeft),
            _ => |a, r, l| mask(a, r, l, Part::KeepRight),
        };
        v.push(
            func(name, CAT, desc, imp)
                .sig(&[("input", "VARCHAR"), ("n", "INT")], "VARCHAR")
                .sig(
                    &[
                        ("input", "VARCHAR"),
                        ("n", "INT"),
                        ("upper", "VARCHAR"),
                        ("lower", "VARCHAR"),
                        ("digit", "VARCHAR"),
                        ("other", "VARCHAR"),
                    ],
                    "VARCHAR",
                )
                .lenient(),
        );
    }
}

/// The replacement for each class; `None` leaves that class unmasked.
struct Masker {
    upper: Option<char>,
    lower: Option<char>,
    digit: Option<char>,
    other: Option<char>,
}

impl Masker {
    fn mask_char(&self, c: char) -> char {
        let m = if c.is_uppercase() {
            self.upper
        } else if c.is_lowercase() {
            self.lower
        } else if c.is_numeric() {
            self.digit
        } else {
            self.other
        };
        m.unwrap_or(c)
    }
}

fn mask_char_arg(a: &[Value], i: usize) -> Result<Option<char>, String> {
    match arg::str(a, i)? {
        None => Ok(None),
        Some(s) => {
            let mut it = s.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Ok(Some(c)),
                _ => Err(format!(
                    "Invalid mask character. Must be only single character, but was '{s}'"
                )),
            }
        }
    }
}

fn mask(a: &[Value], _: &SqlType, _: &[Lambda<'_>], part: Part) -> Result<Value, String> {
    let (n, first_mask) = match part {
        Part::All => (0, 1),
        _ => {
            let n = arg::int(a, 1)?;
            (n.unwrap_or(-1), 2)
        }
    };
    if !matches!(part, Part::All) && n < 0 {
        let name = match part {
            Part::Left => "mask_left",
            Part::Right => "mask_right",
            Part::KeepLeft => "mask_keep_left",
            _ => "mask_keep_right",
        };
        return Err(format!(
            "function {name} requires a non-negative number of characters to mask or skip"
        ));
    }
    let masker = if a.len() > first_mask {
        Masker {
            upper: mask_char_arg(a, first_mask)?,
            lower: mask_char_arg(a, first_mask + 1)?,
            digit: mask_char_arg(a, first_mask + 2)?,
            other: mask_char_arg(a, first_mask + 3)?,
        }
    } else {
        Masker {
            upper: Some('X'),
            lower: Some('x'),
            digit: Some('n'),
            other: Some('-'),
        }
    };
    let Some(input) = arg::str(a, 0)? else {
        return Ok(Value::Null);
    };
    let len = input.chars().count();
    let n = usize::try_from(n).unwrap_or(0).min(len);
    let masked = |i: usize| match part {
        Part::All => true,
        Part::Left => i < n,
        Part::Right => i >= len - n,
        Part::KeepLeft => i >= n,
        Part::KeepRight => i < len - n,
    };
    Ok(Value::String(
        input
            .chars()
            .enumerate()
            .map(|(i, c)| if masked(i) { masker.mask_char(c) } else { c })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    #[test]
    fn masks_like_ksqldb() {
        let n = Value::Null;
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            ("MASK", vec![s("AbCd#$123xy Z")], s("XxXx--nnnxx-X")),
            (
                "MASK",
                vec![s("AbCd#$123xy Z"), s("*"), n.clone(), s("1"), s("0")],
                s("*b*d00111xy0*"),
            ),
            ("MASK", vec![n.clone()], n.clone()),
            ("MASK_LEFT", vec![s("AbCd#$123xy Z"), Value::Int(5)], s("XxXx-$123xy Z")),
            ("MASK_LEFT", vec![s("Ab"), Value::Int(5)], s("Xx")),
            (
                "MASK_RIGHT",
                vec![s("AbCd#$123xy Z"), Value::Int(5)],
                s("AbCd#$12nxx-X"),
            ),
            (
                "MASK_KEEP_LEFT",
                vec![s("AbCd#$123xy Z"), Value::Int(5)],
                s("AbCd#-nnnxx-X"),
            ),
            (
                "MASK_KEEP_RIGHT",
                vec![s("AbCd#$123xy Z"), Value::Int(5)],
                s("XxXx--nn3xy Z"),
            ),
            ("MASK_LEFT", vec![n.clone(), Value::Int(5)], n.clone()),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
        assert!(call("MASK_LEFT", &[s("a"), Value::Int(-1)]).is_err());
        assert!(call("MASK", &[s("a"), s("**"), n.clone(), n.clone(), n]).is_err());
    }
}
