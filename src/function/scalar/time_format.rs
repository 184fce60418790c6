//! Java `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSX`): a tokenizer, a formatter
//! and a parser, written here because chrono's strftime dialect differs (and cannot express
//! `S`, `SS`, optional sections or `''`). Letters Java knows but this does not support give an
//! error naming the letter, as do letters Java does not know.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{Datelike, NaiveDateTime, Timelike};

use super::time_zone::{self, Zone};

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// Text copied as is.
    Lit(String),
    /// A pattern letter and how many times it repeats.
    Field(char, usize),
    /// `[...]`: printed when possible, skipped on parse when it does not match.
    Optional(Vec<Tok>),
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

thread_local! {
    static CACHE: RefCell<HashMap<String, Vec<Tok>>> = RefCell::new(HashMap::new());
}

/// Tokenizes a pattern, reusing earlier results on this thread.
pub(super) fn compile(pattern: &str) -> Result<Vec<Tok>, String> {
    if let Some(t) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(t);
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    let toks = tokenize(&chars, &mut pos, false)?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 256 {
            c.clear();
        }
        c.insert(pattern.to_string(), toks.clone());
    });
    Ok(toks)
}

fn tokenize(chars: &[char], pos: &mut usize, nested: bool) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let flush = |lit: &mut String, out: &mut Vec<Tok>| {
        if !lit.is_empty() {
            out.push(Tok::Lit(std::mem::take(lit)));
        }
    };
    while *pos < chars.len() {
        let c = chars[*pos];
        match c {
            '\'' => {
                *pos += 1;
                if chars.get(*pos) == Some(&'\'') {
                    lit.push('\'');
                    *pos += 1;
                    continue;
                }
                loop {
                    match chars.get(*pos) {
                        None => return Err("Pattern ends with an incomplete string literal".into()),
                        Some('\'') if chars.get(*pos + 1) == Some(&'\'') => {
                            lit.push('\'');
                            *pos += 2;
                        }
                        Some('\'') => {
                            *pos += 1;
                            break;
                        }
                        Some(x) => {
                            lit.push(*x);
                            *pos += 1;
                        }
                    }
                }
            }
            '[' => {
                flush(&mut lit, &mut out);
                *pos += 1;
                out.push(Tok::Optional(tokenize(chars, pos, true)?));
            }
            ']' => {
                if !nested {
                    return Err("Pattern invalid as it contains ] without previous [".into());
                }
                *pos += 1;
                flush(&mut lit, &mut out);
                return Ok(out);
            }
            c if c.is_ascii_alphabetic() => {
                flush(&mut lit, &mut out);
                let mut n = 0;
                while chars.get(*pos) == Some(&c) {
                    n += 1;
                    *pos += 1;
                }
                check_letter(c, n)?;
                out.push(Tok::Field(c, n));
            }
            '{' | '}' | '#' => return Err(format!("Pattern includes reserved character: '{c}'")),
            c => {
                lit.push(c);
                *pos += 1;
            }
        }
    }
    flush(&mut lit, &mut out);
    Ok(out)
}

fn check_letter(c: char, n: usize) -> Result<(), String> {
    let max = match c {
        'G' | 'E' | 'M' | 'L' | 'X' | 'x' | 'Z' | 'O' => 5,
        'y' | 'u' | 'n' => 19,
        'd' | 'H' | 'h' | 'k' | 'K' | 'm' | 's' | 'V' => 2,
        'D' => 3,
        'S' => 9,
        'a' => 1,
        'z' => 4,
        'Q' | 'q' | 'Y' | 'w' | 'W' | 'e' | 'c' | 'F' | 'A' | 'N' | 'g' | 'B' | 'v' => {
            return Err(format!("Unsupported pattern letter: {c}"));
        }
        _ => return Err(format!("Unknown pattern letter: {c}")),
    };
    if n > max || (c == 'V' && n != 2) || (c == 'O' && n != 1 && n != 4) {
        return Err(format!("Too many pattern letters: {c}"));
    }
    Ok(())
}

/// What a value being formatted can supply.
pub(super) struct Source<'a> {
    /// The local date-time (a DATE uses midnight, a TIME 1970-01-01).
    pub dt: NaiveDateTime,
    /// Whether date fields may be printed.
    pub has_date: bool,
    /// Whether time fields may be printed.
    pub has_time: bool,
    /// The zone and the instant (epoch ms), when zone fields may be printed.
    pub zone: Option<(&'a Zone, i64)>,
}

fn pad(v: i64, width: usize) -> String {
    if v < 0 {
        format!("-{:0width$}", -v)
    } else {
        format!("{v:0width$}")
    }
}

fn offset_text(secs: i32, colon: bool, with_secs: bool, minutes: Minutes) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    let sep = if colon { ":" } else { "" };
    let mut out = format!("{sign}{h:02}");
    if minutes == Minutes::Always || m != 0 || (with_secs && s != 0) {
        out.push_str(&format!("{sep}{m:02}"));
    }
    if with_secs && s != 0 {
        out.push_str(&format!("{sep}{s:02}"));
    }
    out
}

#[derive(PartialEq, Clone, Copy)]
enum Minutes {
    Always,
    IfNonZero,
}

/// Formats `src` with the tokens.
pub(super) fn format(toks: &[Tok], src: &Source<'_>) -> Result<String, String> {
    let mut out = String::new();
    for t in toks {
        match t {
            Tok::Lit(s) => out.push_str(s),
            Tok::Optional(inner) => {
                // An optional section prints only when every field in it is available.
                if let Ok(s) = format(inner, src) {
                    out.push_str(&s);
                }
            }
            Tok::Field(c, n) => out.push_str(&format_field(*c, *n, src)?),
        }
    }
    Ok(out)
}

fn format_field(c: char, n: usize, src: &Source<'_>) -> Result<String, String> {
    let dt = &src.dt;
    let unsupported = |field: &str| Err(format!("Unsupported field: {field}"));
    let date_field = matches!(c, 'G' | 'y' | 'u' | 'M' | 'L' | 'd' | 'D' | 'E');
    let zone_field = matches!(c, 'X' | 'x' | 'Z' | 'z' | 'V' | 'O');
    if date_field && !src.has_date {
        return unsupported("date field");
    }
    if !date_field && !zone_field && !src.has_time {
        return unsupported("time field");
    }
    let offset = match src.zone {
        Some((z, ms)) => Some(z.offset_at(ms)),
        None if zone_field => return unsupported("offset or zone"),
        None => None,
    };
    let n64 = n;
    Ok(match c {
        'G' => {
            let ad = dt.year() > 0;
            match n {
                4 => if ad { "Anno Domini" } else { "Before Christ" }.into(),
                5 => if ad { "A" } else { "B" }.into(),
                _ => if ad { "AD" } else { "BC" }.into(),
            }
        }
        'y' | 'u' => {
            let year = if c == 'y' && dt.year() <= 0 {
                1 - dt.year()
            } else {
                dt.year()
            } as i64;
            if n == 2 {
                pad(year.rem_euclid(100), 2)
            } else {
                pad(year, n64)
            }
        }
        'M' | 'L' => {
            let m = dt.month() as usize;
            match n {
                1 | 2 => pad(m as i64, n64),
                3 => MONTHS[m - 1][..3].to_string(),
                4 => MONTHS[m - 1].to_string(),
                _ => MONTHS[m - 1][..1].to_string(),
            }
        }
        'd' => pad(dt.day() as i64, n64),
        'D' => pad(dt.ordinal() as i64, n64),
        'E' => {
            let d = DAYS[dt.weekday().num_days_from_monday() as usize];
            match n {
                4 => d.to_string(),
                5 => d[..1].to_string(),
                _ => d[..3].to_string(),
            }
        }
        'a' => if dt.hour() < 12 { "AM" } else { "PM" }.into(),
        'H' => pad(dt.hour() as i64, n64),
        'k' => pad(if dt.hour() == 0 { 24 } else { dt.hour() as i64 }, n64),
        'K' => pad((dt.hour() % 12) as i64, n64),
        'h' => pad(
            if dt.hour().is_multiple_of(12) {
                12
            } else {
                (dt.hour() % 12) as i64
            },
            n64,
        ),
        'm' => pad(dt.minute() as i64, n64),
        's' => pad(dt.second() as i64, n64),
        'S' => format!("{:09}", dt.nanosecond() % 1_000_000_000)[..n].to_string(),
        'n' => pad((dt.nanosecond() % 1_000_000_000) as i64, n64),
        'X' | 'x' | 'Z' => {
            let o = offset.unwrap_or(0);
            if c == 'X' && o == 0 {
                return Ok("Z".into());
            }
            match (c, n) {
                ('Z', 1..=3) => offset_text(o, false, false, Minutes::Always),
                ('Z', 4) => {
                    if o == 0 {
                        "GMT".into()
                    } else {
                        format!("GMT{}", offset_text(o, true, true, Minutes::Always))
                    }
                }
                ('Z', _) => {
                    if o == 0 {
                        "Z".into()
                    } else {
                        offset_text(o, true, true, Minutes::Always)
                    }
                }
                (_, 1) => offset_text(o, false, false, Minutes::IfNonZero),
                (_, 2) => offset_text(o, false, false, Minutes::Always),
                (_, 3) => offset_text(o, true, false, Minutes::Always),
                (_, 4) => offset_text(o, false, true, Minutes::Always),
                _ => offset_text(o, true, true, Minutes::Always),
            }
        }
        'O' => {
            let o = offset.unwrap_or(0);
            if o == 0 {
                "GMT".into()
            } else if n == 4 {
                format!("GMT{}", offset_text(o, true, true, Minutes::Always))
            } else {
                let a = o.unsigned_abs();
                let sign = if o < 0 { '-' } else { '+' };
                if a % 3600 == 0 {
                    format!("GMT{sign}{}", a / 3600)
                } else {
                    format!("GMT{sign}{}:{:02}", a / 3600, a / 60 % 60)
                }
            }
        }
        'z' => match src.zone {
            Some((z, ms)) => z.abbreviation(ms),
            None => return unsupported("zone"),
        },
        'V' => match src.zone {
            Some((z, _)) => z.id().to_string(),
            None => return unsupported("zone"),
        },
        _ => return Err(format!("Unknown pattern letter: {c}")),
    })
}

/// Fields read from text; the callers fill in defaults for what is missing.
#[derive(Debug, Default, Clone)]
pub(super) struct Parsed {
    pub year: Option<i64>,
    pub month: Option<u32>,
    pub day: Option<u32>,
    pub day_of_year: Option<u32>,
    pub hour: Option<u32>,
    pub hour12: Option<u32>,
    pub pm: Option<bool>,
    pub minute: Option<u32>,
    pub second: Option<u32>,
    pub nano: Option<u32>,
    pub offset: Option<i32>,
    pub zone: Option<Zone>,
}

/// Parses `text` completely with the tokens.
pub(super) fn parse(toks: &[Tok], text: &str) -> Result<Parsed, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parsed::default();
    let mut pos = 0;
    parse_into(toks, &chars, &mut pos, &mut p).map_err(|e| format!("Text '{text}' could not be parsed: {e}"))?;
    if pos != chars.len() {
        return Err(format!(
            "Text '{text}' could not be parsed, unparsed text found at index {pos}"
        ));
    }
    Ok(p)
}

fn is_numeric_field(t: Option<&Tok>) -> bool {
    matches!(t, Some(Tok::Field(c, n)) if matches!(c, 'y' | 'u' | 'd' | 'D' | 'H' | 'h' | 'k' | 'K' | 'm' | 's' | 'S' | 'n')
        || (matches!(c, 'M' | 'L') && *n <= 2))
}

fn parse_into(toks: &[Tok], s: &[char], pos: &mut usize, p: &mut Parsed) -> Result<(), String> {
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Lit(l) => {
                // ksqlDB parses case-insensitively ('T' matches 't').
                for c in l.chars() {
                    if !s.get(*pos).is_some_and(|x| x.eq_ignore_ascii_case(&c)) {
                        return Err(format!("expected '{l}' at index {pos}"));
                    }
                    *pos += 1;
                }
            }
            Tok::Optional(inner) => {
                let (save_pos, save_p) = (*pos, p.clone());
                if parse_into(inner, s, pos, p).is_err() {
                    *pos = save_pos;
                    *p = save_p;
                }
            }
            Tok::Field(c, n) => {
                let adjacent = is_numeric_field(toks.get(i + 1));
                parse_field(*c, *n, adjacent, s, pos, p)?;
            }
        }
    }
    Ok(())
}

fn digits(s: &[char], pos: &mut usize, min: usize, max: usize) -> Result<i64, String> {
    let start = *pos;
    while *pos < s.len() && *pos - start < max && s[*pos].is_ascii_digit() {
        *pos += 1;
    }
    if *pos - start < min {
        return Err(format!("expected {min} digit(s) at index {start}"));
    }
    s[start..*pos]
        .iter()
        .collect::<String>()
        .parse()
        .map_err(|_| format!("bad number at index {start}"))
}

fn word<'a>(s: &[char], pos: &mut usize, options: &[&'a str]) -> Option<&'a str> {
    // Longest match first, so "June" is not read as "Jun".
    let mut best: Option<&str> = None;
    for o in options {
        let len = o.chars().count();
        if let Some(slice) = s.get(*pos..*pos + len) {
            let text: String = slice.iter().collect();
            if text.eq_ignore_ascii_case(o) && best.is_none_or(|b| b.len() < o.len()) {
                best = Some(o);
            }
        }
    }
    if let Some(b) = best {
        *pos += b.chars().count();
    }
    best
}

fn in_range(v: i64, lo: i64, hi: i64, what: &str) -> Result<u32, String> {
    if v < lo || v > hi {
        return Err(format!("Invalid value for {what} (valid values {lo} - {hi}): {v}"));
    }
    Ok(v as u32)
}

fn parse_field(c: char, n: usize, adjacent: bool, s: &[char], pos: &mut usize, p: &mut Parsed) -> Result<(), String> {
    // Width rules: a doubled letter is fixed width; a single letter reads up to its maximum;
    // a year reads greedily unless another number follows directly.
    let (min, max) = if n >= 2 { (n, n) } else { (1, 2) };
    match c {
        'y' | 'u' => {
            let year = if n == 2 {
                2000 + digits(s, pos, 2, 2)?
            } else if adjacent {
                digits(s, pos, n, n.max(4))?
            } else {
                let neg = c == 'u' && s.get(*pos) == Some(&'-');
                if neg {
                    *pos += 1;
                }
                let y = digits(s, pos, n, 10)?;
                if neg { -y } else { y }
            };
            p.year = Some(year);
        }
        'M' | 'L' => {
            p.month = Some(if n <= 2 {
                in_range(digits(s, pos, min, max)?, 1, 12, "MonthOfYear")?
            } else {
                let names: Vec<&str> = if n == 3 {
                    MONTHS.iter().map(|m| &m[..3]).collect()
                } else {
                    MONTHS.to_vec()
                };
                let w = word(s, pos, &names).ok_or(format!("expected a month name at index {pos}"))?;
                names.iter().position(|m| *m == w).map_or(1, |i| i as u32 + 1)
            });
        }
        'd' => p.day = Some(in_range(digits(s, pos, min, max)?, 1, 31, "DayOfMonth")?),
        'D' => {
            let (lo, hi) = if n >= 3 { (3, 3) } else { (n, 3) };
            p.day_of_year = Some(in_range(digits(s, pos, lo, hi)?, 1, 366, "DayOfYear")?);
        }
        'E' => {
            let names: Vec<&str> = if n == 4 {
                DAYS.to_vec()
            } else {
                DAYS.iter().map(|d| &d[..3]).collect()
            };
            // The day of the week is implied by the date; it is read and not cross-checked.
            word(s, pos, &names).ok_or(format!("expected a day name at index {pos}"))?;
        }
        'G' => {
            word(s, pos, &["AD", "BC", "Anno Domini", "Before Christ"])
                .ok_or(format!("expected an era at index {pos}"))?;
        }
        'a' => {
            let w = word(s, pos, &["AM", "PM"]).ok_or(format!("expected AM or PM at index {pos}"))?;
            p.pm = Some(w == "PM");
        }
        'H' => p.hour = Some(in_range(digits(s, pos, min, max)?, 0, 23, "HourOfDay")?),
        'k' => p.hour = Some(in_range(digits(s, pos, min, max)?, 1, 24, "ClockHourOfDay")? % 24),
        'K' => p.hour12 = Some(in_range(digits(s, pos, min, max)?, 0, 11, "HourOfAmPm")?),
        'h' => p.hour12 = Some(in_range(digits(s, pos, min, max)?, 1, 12, "ClockHourOfAmPm")? % 12),
        'm' => p.minute = Some(in_range(digits(s, pos, min, max)?, 0, 59, "MinuteOfHour")?),
        's' => p.second = Some(in_range(digits(s, pos, min, max)?, 0, 59, "SecondOfMinute")?),
        'S' => {
            let v = digits(s, pos, n, n)?;
            p.nano = Some((v * 10i64.pow(9 - n as u32)) as u32);
        }
        'n' => p.nano = Some(in_range(digits(s, pos, n, 9)?, 0, 999_999_999, "NanoOfSecond")?),
        'X' | 'x' | 'Z' | 'O' => {
            if c == 'X' && matches!(s.get(*pos), Some('Z' | 'z')) {
                *pos += 1;
                p.offset = Some(0);
                return Ok(());
            }
            if matches!(c, 'Z' | 'O') {
                let gmt: String = s.get(*pos..*pos + 3).map(|x| x.iter().collect()).unwrap_or_default();
                if gmt == "GMT" {
                    *pos += 3;
                    if !matches!(s.get(*pos), Some('+' | '-')) {
                        p.offset = Some(0);
                        return Ok(());
                    }
                }
            }
            let start = *pos;
            let mut end = start + 1;
            while end < s.len() && (s[end].is_ascii_digit() || s[end] == ':') && end - start < 9 {
                end += 1;
            }
            let text: String = s.get(start..end).map(|x| x.iter().collect()).unwrap_or_default();
            let o = time_zone::parse_offset(&text).ok_or(format!("expected an offset at index {start}"))?;
            *pos = end;
            p.offset = Some(o);
        }
        'z' | 'V' => {
            let start = *pos;
            while *pos < s.len() && (s[*pos].is_ascii_alphanumeric() || matches!(s[*pos], '/' | '_' | '-' | '+' | ':'))
            {
                *pos += 1;
            }
            let id: String = s[start..*pos].iter().collect();
            p.zone = Some(if c == 'z' {
                time_zone::zone_for_name(&id)?
            } else {
                time_zone::zone(&id)?
            });
        }
        _ => return Err(format!("Unknown pattern letter: {c}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn src(dt: NaiveDateTime) -> Source<'static> {
        Source {
            dt,
            has_date: true,
            has_time: true,
            zone: None,
        }
    }

    #[test]
    fn formats_java_patterns() {
        let dt = NaiveDate::from_ymd_opt(2021, 3, 7)
            .and_then(|d| d.and_hms_milli_opt(14, 5, 9, 42))
            .unwrap();
        let f = |p: &str| format(&compile(p).unwrap(), &src(dt));
        assert_eq!(f("yyyy-MM-dd'T'HH:mm:ss.SSS"), Ok("2021-03-07T14:05:09.042".into()));
        assert_eq!(f("yy/M/d h:m a"), Ok("21/3/7 2:5 PM".into()));
        assert_eq!(f("EEE, dd MMM yyyy"), Ok("Sun, 07 Mar 2021".into()));
        assert_eq!(f("EEEE MMMM D 'o''clock' ''"), Ok("Sunday March 66 o'clock '".into()));
        assert_eq!(f("S SS"), Ok("0 04".into()));
        assert!(f("yyyy X").is_err());
        assert_eq!(compile("yyyy-bb").unwrap_err(), "Unknown pattern letter: b");
        assert_eq!(compile("QQ").unwrap_err(), "Unsupported pattern letter: Q");
        assert!(compile("'open").is_err());
    }

    #[test]
    fn parses_java_patterns() {
        let p = parse(
            &compile("yyyy-MM-dd HH:mm:ss.SSSXXX").unwrap(),
            "2021-03-07 14:05:09.042+02:00",
        )
        .unwrap();
        assert_eq!(
            (p.year, p.month, p.day, p.hour, p.nano, p.offset),
            (Some(2021), Some(3), Some(7), Some(14), Some(42_000_000), Some(7200))
        );
        let p = parse(&compile("yyyyMMdd").unwrap(), "20210307").unwrap();
        assert_eq!((p.year, p.month, p.day), (Some(2021), Some(3), Some(7)));
        let p = parse(&compile("dd-MMM-yy hh:mm a").unwrap(), "07-mar-21 02:05 PM").unwrap();
        assert_eq!(
            (p.year, p.month, p.hour12, p.pm),
            (Some(2021), Some(3), Some(2), Some(true))
        );
        let p = parse(&compile("yyyy-MM-dd[ HH:mm]").unwrap(), "2021-03-07").unwrap();
        assert_eq!(p.hour, None);
        assert!(parse(&compile("yyyy-MM-dd").unwrap(), "2021-13-07").is_err());
        assert!(parse(&compile("yyyy-MM-dd").unwrap(), "2021-03-07x").is_err());
        assert!(parse(&compile("yyyy-MM-dd").unwrap(), "").is_err());
    }
}
