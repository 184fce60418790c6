//! Number text as ksqlDB's Java serdes read it: `Integer.parseInt`, `Double.parseDouble`,
//! `new BigDecimal(text)` with ksqlDB's exact-fit rule, and the silent truncation Jackson's
//! `intValue()`/`asLong()` apply to JSON numbers. Decimals never go through `f64`.

/// An exact decimal read from text: `unscaled × 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BigDec {
    /// The digits as an integer.
    pub unscaled: i128,
    /// Digits after the point; negative when the text had a large exponent.
    pub scale: i32,
}

/// `Integer.parseInt`: an optional sign and decimal digits that fit 32 bits.
pub(crate) fn parse_int(text: &str) -> Option<i32> {
    text.parse().ok()
}

/// `Long.parseLong`.
pub(crate) fn parse_long(text: &str) -> Option<i64> {
    text.parse().ok()
}

/// `Double.parseDouble`: surrounding whitespace, `NaN`, `Infinity` and a trailing
/// `d`/`f` type suffix are accepted as Java does.
pub(crate) fn parse_double(text: &str) -> Option<f64> {
    let t = text.trim_matches(|c: char| c <= ' ');
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    match body {
        "NaN" => return Some(f64::NAN),
        "Infinity" => return Some(sign * f64::INFINITY),
        _ => {}
    }
    let body = body.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(body);
    // Rust also accepts "inf"/"nan" spellings Java rejects, so only digits and the
    // characters of a plain or exponent form get through.
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    body.parse::<f64>().ok().map(|v| sign * v)
}

/// `new BigDecimal(text)`: optional sign, digits with an optional point, optional exponent.
/// `None` when malformed or beyond 38 significant digits.
pub(crate) fn parse_big_decimal(text: &str) -> Option<BigDec> {
    let b = text.as_bytes();
    let mut i = 0;
    let neg = match b.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut unscaled: i128 = 0;
    let mut digits = 0usize;
    let mut significant = 0usize;
    let mut frac_digits: i64 = 0;
    let mut seen_point = false;
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                digits += 1;
                if seen_point {
                    frac_digits += 1;
                }
                if unscaled != 0 || c != b'0' {
                    significant += 1;
                    if significant > 38 {
                        return None;
                    }
                }
                unscaled = unscaled * 10 + i128::from(c - b'0');
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let mut exponent: i64 = 0;
    if i < b.len() {
        if !matches!(b[i], b'e' | b'E') {
            return None;
        }
        exponent = text.get(i + 1..)?.parse::<i32>().ok()?.into();
    }
    let scale = i32::try_from(frac_digits - exponent).ok()?;
    Some(BigDec {
        unscaled: if neg { -unscaled } else { unscaled },
        scale,
    })
}

/// The decimal as plain text, for messages (`12.30`, `-0.5`, `1200`).
pub(crate) fn plain(d: BigDec) -> String {
    if d.scale.unsigned_abs() > 100 {
        // Keep messages about absurd exponents short.
        return format!("{}E{}", d.unscaled, -i64::from(d.scale));
    }
    if d.scale < 0 {
        let zeros = "0".repeat(d.scale.unsigned_abs() as usize);
        return if d.unscaled == 0 {
            "0".into()
        } else {
            format!("{}{zeros}", d.unscaled)
        };
    }
    let neg = d.unscaled < 0;
    let digits = d.unscaled.unsigned_abs().to_string();
    let scale = d.scale as usize;
    if scale == 0 {
        return format!("{}{digits}", if neg { "-" } else { "" });
    }
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

/// ksqlDB's `DecimalUtil.ensureFit`: the value must be below `10^(precision-scale)` and
/// representable at `scale` without rounding. Returns the unscaled value at `scale`.
pub(crate) fn fit_decimal(d: BigDec, precision: u8, scale: i8) -> Result<i128, String> {
    let int_digits = i32::from(precision) - i32::from(scale);
    // |unscaled × 10^-d.scale| >= 10^int_digits  ⇔  |unscaled| >= 10^(int_digits + d.scale)
    let limit_exp = int_digits + d.scale;
    let too_big = if d.unscaled == 0 {
        false
    } else if limit_exp <= 0 {
        true
    } else if limit_exp > 38 {
        false
    } else {
        d.unscaled.unsigned_abs() >= 10u128.pow(limit_exp as u32)
    };
    if too_big {
        return Err(format!(
            "Numeric field overflow: A field with precision {precision} and scale {scale} \
             must round to an absolute value less than 10^{int_digits}. Got {}",
            plain(d)
        ));
    }
    let target = i32::from(scale);
    if d.scale > target {
        let shift = (d.scale - target) as u32;
        let exact = match 10i128.checked_pow(shift) {
            Some(div) if d.unscaled % div == 0 => Some(d.unscaled / div),
            Some(_) => None,
            None => (d.unscaled == 0).then_some(0),
        };
        exact.ok_or_else(|| {
            let needed = d.unscaled.unsigned_abs().to_string().len();
            format!(
                "Cannot fit decimal '{}' into DECIMAL({precision}, {scale}) without rounding. \
                 (Requires {needed},{})",
                plain(d),
                d.scale
            )
        })
    } else {
        10i128
            .checked_pow((target - d.scale) as u32)
            .and_then(|m| d.unscaled.checked_mul(m))
            .ok_or_else(|| format!("Decimal '{}' does not fit in 38 digits", plain(d)))
    }
}

/// What Java's `BigDecimal(text).longValue()` gives for a JSON number: the integer part,
/// keeping only the low 64 bits (Jackson's `asLong`/`intValue` on wide numbers wrap
/// silently rather than fail, and ksqlDB inherits that).
pub(crate) fn wrapping_integer(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let (neg, start) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let mantissa_end = b[start..]
        .iter()
        .position(|c| matches!(c, b'e' | b'E'))
        .map_or(b.len(), |p| p + start);
    let exponent: i64 = match text.get(mantissa_end + 1..) {
        Some(e) if mantissa_end < b.len() => e.parse::<i32>().ok()?.into(),
        _ => 0,
    };
    let mantissa = &b[start..mantissa_end];
    let int_len = mantissa.iter().position(|c| *c == b'.').unwrap_or(mantissa.len()) as i64;
    // Digits whose position (counted in the integer part) is below int_len + exponent
    // belong to the integer part of the value.
    let keep = int_len + exponent;
    let mut acc: u64 = 0;
    let mut pos: i64 = 0;
    for c in mantissa {
        if *c == b'.' {
            continue;
        }
        if !c.is_ascii_digit() {
            return None;
        }
        if pos < keep {
            acc = acc.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        }
        pos += 1;
    }
    // Trailing zeros from a large exponent: 10^64 ≡ 0 (mod 2^64), so 64 are enough.
    for _ in 0..(keep - pos).clamp(0, 64) {
        acc = acc.wrapping_mul(10);
    }
    let v = acc as i64;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// DOUBLE as Java's `Double.toString` writes it (`1.0`, `1.0E10`, `4.9E-324`).
///
/// [`crate::types::format_double`] gives the shortest digits that read back as `v`, which
/// is Java's rule except for one case: when one significant digit would do, Java writes the
/// two-digit decimal nearest to `v` instead of padding with `.0`. For normal numbers the two
/// agree (`d.0` is the nearest); they differ only for subnormals, whose wide rounding
/// interval lets one digit stand far from the value: `Double.MIN_VALUE` (≈4.94e-324) is
/// `4.9E-324` in Java, not `5.0E-324`.
pub(crate) fn java_double(v: f64) -> String {
    let shortest = crate::types::format_double(v);
    if v == 0.0 || !v.is_finite() || v.abs() >= f64::MIN_POSITIVE {
        return shortest;
    }
    let one_digit = shortest
        .trim_start_matches('-')
        .split_once('E')
        .is_some_and(|(m, _)| m.len() == 3 && m.ends_with(".0"));
    if !one_digit {
        return shortest;
    }
    // `{:.1E}` rounds the exact binary value to two significant digits; keep it only if it
    // still reads back as `v` (it always should inside the rounding interval).
    let two = format!("{v:.1E}");
    match two.parse::<f64>() {
        Ok(back) if back == v => two,
        _ => shortest,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn doubles_print_like_java_including_subnormals() {
        use super::java_double;
        assert_eq!(java_double(f64::from_bits(1)), "4.9E-324");
        assert_eq!(java_double(-f64::from_bits(1)), "-4.9E-324");
        // JDK 19+ (Raffaello Giulietti's algorithm): the nearest two-digit decimal.
        assert_eq!(java_double(f64::from_bits(2)), "9.9E-324");
        assert_eq!(java_double(f64::MIN_POSITIVE), "2.2250738585072014E-308");
        assert_eq!(java_double(f64::MAX), "1.7976931348623157E308");
        assert_eq!(java_double(1e-5), "1.0E-5");
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(1.5), "1.5");
    }

    use super::*;

    fn dec(text: &str) -> BigDec {
        parse_big_decimal(text).unwrap()
    }

    #[test]
    fn big_decimal_parses_exactly() {
        assert_eq!(
            dec("12.340"),
            BigDec {
                unscaled: 12340,
                scale: 3
            }
        );
        assert_eq!(dec(".12"), BigDec { unscaled: 12, scale: 2 });
        assert_eq!(
            dec("-1.5E3"),
            BigDec {
                unscaled: -15,
                scale: -2
            }
        );
        assert_eq!(parse_big_decimal("1.2.3"), None);
        assert_eq!(parse_big_decimal("abc"), None);
        assert_eq!(parse_big_decimal(""), None);
        assert_eq!(parse_big_decimal("1e"), None);
        assert_eq!(parse_big_decimal(&"9".repeat(39)), None);
        assert_eq!(plain(dec("12345678987654321.2345678987654321")).len(), 34);
    }

    #[test]
    fn fit_keeps_exact_values_and_refuses_rounding() {
        assert_eq!(fit_decimal(dec("10"), 6, 4), Ok(100_000));
        assert_eq!(fit_decimal(dec("1.2300"), 4, 2), Ok(123));
        assert_eq!(fit_decimal(dec("-1.5E1"), 4, 2), Ok(-1500));
        assert_eq!(
            fit_decimal(dec("1.234"), 4, 2),
            Err("Cannot fit decimal '1.234' into DECIMAL(4, 2) without rounding. (Requires 4,3)".into())
        );
        assert_eq!(
            fit_decimal(dec("100"), 4, 2),
            Err(
                "Numeric field overflow: A field with precision 4 and scale 2 must round to an \
                 absolute value less than 10^2. Got 100"
                    .into()
            )
        );
        assert_eq!(fit_decimal(dec("99.99"), 4, 2), Ok(9999));
        assert_eq!(fit_decimal(dec("0e-999"), 4, 2), Ok(0));
    }

    #[test]
    fn json_numbers_truncate_and_wrap_like_java() {
        assert_eq!(wrapping_integer("12"), Some(12));
        assert_eq!(wrapping_integer("-12.9"), Some(-12));
        assert_eq!(wrapping_integer("1.5e2"), Some(150));
        assert_eq!(wrapping_integer("1e-5"), Some(0));
        assert_eq!(wrapping_integer("4294967297").map(|v| v as i32), Some(1));
        assert_eq!(wrapping_integer("1e400"), Some(0));
    }

    #[test]
    fn doubles_parse_like_java() {
        assert_eq!(parse_double(" 1.5 "), Some(1.5));
        assert_eq!(parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_double("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_double("2d"), Some(2.0));
        assert_eq!(parse_double("inf"), None);
        assert_eq!(parse_double("abc"), None);
        assert_eq!(parse_int("+7"), Some(7));
        assert_eq!(parse_int("2147483648"), None);
    }
}
