//! Date and time functions: formatting and parsing with Java patterns, epoch conversions,
//! zone conversion and interval arithmetic.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::time_format::{self, Parsed, Source};
use super::time_zone::{self, Zone};
use crate::function::Lambda;
use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value};

const CAT: &str = "DATE / TIME";
const MS_PER_DAY: i64 = 86_400_000;
/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func(
            "UNIX_TIMESTAMP",
            CAT,
            "Milliseconds since the epoch, now or of a TIMESTAMP.",
            |a, _, _| {
                Ok(match arg::get(a, 0) {
                    Value::Timestamp(ms) => Value::BigInt(*ms),
                    _ if a.is_empty() => Value::BigInt(now_ms()),
                    _ => Value::Null,
                })
            },
        )
        .sig(&[], "BIGINT")
        .sig(&[("timestamp", "TIMESTAMP")], "BIGINT"),
    );
    v.push(
        func(
            "UNIX_DATE",
            CAT,
            "Days since the epoch, today or of a DATE.",
            |a, _, _| {
                Ok(match arg::get(a, 0) {
                    Value::Date(d) => Value::Int(*d),
                    _ if a.is_empty() => Value::Int(now_ms().div_euclid(MS_PER_DAY) as i32),
                    _ => Value::Null,
                })
            },
        )
        .sig(&[], "INT")
        .sig(&[("date", "DATE")], "INT"),
    );
    v.push(
        func(
            "FROM_UNIXTIME",
            CAT,
            "The TIMESTAMP for milliseconds since the epoch.",
            |a, _, _| Ok(arg::int(a, 0)?.map_or(Value::Null, Value::Timestamp)),
        )
        .sig(&[("epoch_millis", "BIGINT")], "TIMESTAMP"),
    );
    v.push(
        func("FROM_DAYS", CAT, "The DATE for days since the epoch.", |a, _, _| {
            Ok(arg::int(a, 0)?.map_or(Value::Null, |d| Value::Date(d as i32)))
        })
        .sig(&[("days", "INT")], "DATE"),
    );
    v.push(
        func(
            "TIMESTAMPTOSTRING",
            CAT,
            "Formats epoch milliseconds with a Java date-time pattern, in UTC or a given zone \
             (deprecated: use FORMAT_TIMESTAMP).",
            format_ts,
        )
        .sig(&[("epoch_millis", "BIGINT"), ("format", "VARCHAR")], "VARCHAR")
        .sig(
            &[("epoch_millis", "BIGINT"), ("format", "VARCHAR"), ("zone", "VARCHAR")],
            "VARCHAR",
        ),
    );
    v.push(
        func(
            "FORMAT_TIMESTAMP",
            CAT,
            "Formats a TIMESTAMP with a Java date-time pattern, in UTC or a given zone.",
            format_ts,
        )
        .sig(&[("timestamp", "TIMESTAMP"), ("format", "VARCHAR")], "VARCHAR")
        .sig(
            &[("timestamp", "TIMESTAMP"), ("format", "VARCHAR"), ("zone", "VARCHAR")],
            "VARCHAR",
        ),
    );
    v.push(
        func(
            "STRINGTOTIMESTAMP",
            CAT,
            "Parses text with a Java date-time pattern into epoch milliseconds, in UTC or a given \
             zone (deprecated: use PARSE_TIMESTAMP).",
            |a, _, _| Ok(parse_ts(a)?.map_or(Value::Null, Value::BigInt)),
        )
        .sig(&[("text", "VARCHAR"), ("format", "VARCHAR")], "BIGINT")
        .sig(
            &[("text", "VARCHAR"), ("format", "VARCHAR"), ("zone", "VARCHAR")],
            "BIGINT",
        ),
    );
    v.push(
        func(
            "PARSE_TIMESTAMP",
            CAT,
            "Parses text with a Java date-time pattern into a TIMESTAMP, in UTC or a given zone.",
            |a, _, _| Ok(parse_ts(a)?.map_or(Value::Null, Value::Timestamp)),
        )
        .sig(&[("text", "VARCHAR"), ("format", "VARCHAR")], "TIMESTAMP")
        .sig(
            &[("text", "VARCHAR"), ("format", "VARCHAR"), ("zone", "VARCHAR")],
            "TIMESTAMP",
        ),
    );
    v.push(
        func(
            "DATETOSTRING",
            CAT,
            "Formats days since the epoch with a Java date pattern (deprecated: use FORMAT_DATE).",
            format_date,
        )
        .sig(&[("epoch_days", "INT"), ("format", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "FORMAT_DATE",
            CAT,
            "Formats a DATE with a Java date pattern.",
            format_date,
        )
        .sig(&[("date", "DATE"), ("format", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "STRINGTODATE",
            CAT,
            "Parses text with a Java date pattern into days since the epoch (deprecated: use \
             PARSE_DATE).",
            |a, _, _| Ok(parse_date(a)?.map_or(Value::Null, Value::Int)),
        )
        .sig(&[("text", "VARCHAR"), ("format", "VARCHAR")], "INT"),
    );
    v.push(
        func(
            "PARSE_DATE",
            CAT,
            "Parses text with a Java date pattern into a DATE.",
            |a, _, _| Ok(parse_date(a)?.map_or(Value::Null, Value::Date)),
        )
        .sig(&[("text", "VARCHAR"), ("format", "VARCHAR")], "DATE"),
    );
    v.push(
        func(
            "FORMAT_TIME",
            CAT,
            "Formats a TIME with a Java time pattern.",
            format_time,
        )
        .sig(&[("time", "TIME"), ("format", "VARCHAR")], "VARCHAR"),
    );
    v.push(
        func(
            "PARSE_TIME",
            CAT,
            "Parses text with a Java time pattern into a TIME.",
            parse_time,
        )
        .sig(&[("text", "VARCHAR"), ("format", "VARCHAR")], "TIME"),
    );
    v.push(
        func(
            "CONVERT_TZ",
            CAT,
            "Shifts a TIMESTAMP from one zone's wall-clock time to another's.",
            |a, _, _| {
                let (Value::Timestamp(ms), Some(from), Some(to)) = (arg::get(a, 0), arg::str(a, 1)?, arg::str(a, 2)?)
                else {
                    return Ok(Value::Null);
                };
                let (from, to) = (time_zone::zone(from)?, time_zone::zone(to)?);
                let shift = (to.offset_at(*ms) - from.offset_at(*ms)) as i64 * 1000;
                Ok(Value::Timestamp(ms + shift))
            },
        )
        .sig(
            &[
                ("timestamp", "TIMESTAMP"),
                ("from_zone", "VARCHAR"),
                ("to_zone", "VARCHAR"),
            ],
            "TIMESTAMP",
        ),
    );
    let arith: [(&'static str, &'static str, &'static str, crate::function::sig::ImplFn); 6] = [
        (
            "TIMESTAMPADD",
            "TIMESTAMP",
            "Adds an interval to a TIMESTAMP.",
            |a, _, _| add(a, 1),
        ),
        (
            "TIMESTAMPSUB",
            "TIMESTAMP",
            "Subtracts an interval from a TIMESTAMP.",
            |a, _, _| add(a, -1),
        ),
        (
            "DATEADD",
            "DATE",
            "Adds an interval (whole days) to a DATE.",
            |a, _, _| add(a, 1),
        ),
        (
            "DATESUB",
            "DATE",
            "Subtracts an interval (whole days) from a DATE.",
            |a, _, _| add(a, -1),
        ),
        (
            "TIMEADD",
            "TIME",
            "Adds an interval to a TIME, wrapping at midnight.",
            |a, _, _| add(a, 1),
        ),
        (
            "TIMESUB",
            "TIME",
            "Subtracts an interval from a TIME, wrapping at midnight.",
            |a, _, _| add(a, -1),
        ),
    ];
    for (name, ty, desc, imp) in arith {
        v.push(
            func(name, CAT, desc, imp)
                .sig(&[("unit", "INTERVALUNIT"), ("interval", "INT"), ("value", ty)], ty)
                .sig(&[("unit", "INTERVALUNIT"), ("interval", "BIGINT"), ("value", ty)], ty),
        );
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn datetime_of_ms(ms: i64) -> Result<NaiveDateTime, String> {
    DateTime::from_timestamp_millis(ms)
        .map(|d| d.naive_utc())
        .ok_or_else(|| format!("timestamp out of range: {ms}"))
}

fn date_of_days(days: i64) -> Result<NaiveDate, String> {
    i32::try_from(days)
        .ok()
        .and_then(|d| d.checked_add(EPOCH_DAYS_FROM_CE))
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| format!("date out of range: {days}"))
}

fn days_of_date(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

fn time_of_ms(ms: i64) -> Result<NaiveTime, String> {
    if !(0..MS_PER_DAY).contains(&ms) {
        return Err(format!("time out of range: {ms}"));
    }
    NaiveTime::from_num_seconds_from_midnight_opt((ms / 1000) as u32, (ms % 1000) as u32 * 1_000_000)
        .ok_or_else(|| format!("time out of range: {ms}"))
}

fn ms_of_time(t: NaiveTime) -> i32 {
    (t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32
}

fn zone_arg(a: &[Value], i: usize) -> Result<Option<Zone>, String> {
    if a.len() <= i {
        return Ok(Some(time_zone::zone("UTC")?));
    }
    match arg::str(a, i)? {
        Some(z) => time_zone::zone(z).map(Some),
        None => Ok(None),
    }
}

fn format_ts(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let (Some(ms), Some(pattern), Some(zone)) = (arg::int(a, 0)?, arg::str(a, 1)?, zone_arg(a, 2)?) else {
        return Ok(Value::Null);
    };
    let toks = time_format::compile(pattern)?;
    let offset = zone.offset_at(ms) as i64 * 1000;
    let src = Source {
        dt: datetime_of_ms(ms.saturating_add(offset))?,
        has_date: true,
        has_time: true,
        zone: Some((&zone, ms)),
    };
    time_format::format(&toks, &src).map(Value::String)
}

fn format_date(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let days = match arg::get(a, 0) {
        Value::Date(d) | Value::Int(d) => *d as i64,
        _ => return Ok(Value::Null),
    };
    let Some(pattern) = arg::str(a, 1)? else {
        return Ok(Value::Null);
    };
    let toks = time_format::compile(pattern)?;
    let src = Source {
        dt: date_of_days(days)?.and_time(NaiveTime::MIN),
        has_date: true,
        has_time: false,
        zone: None,
    };
    time_format::format(&toks, &src).map(Value::String)
}

fn format_time(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let (Value::Time(ms), Some(pattern)) = (arg::get(a, 0), arg::str(a, 1)?) else {
        return Ok(Value::Null);
    };
    let toks = time_format::compile(pattern)?;
    let src = Source {
        dt: NaiveDate::default().and_time(time_of_ms(*ms as i64)?),
        has_date: false,
        has_time: true,
        zone: None,
    };
    time_format::format(&toks, &src).map(Value::String)
}

/// The date the fields name, defaulting to 1970-01-01 for what the pattern lacks.
fn resolve_date(p: &Parsed) -> Result<NaiveDate, String> {
    let year = i32::try_from(p.year.unwrap_or(1970)).map_err(|_| "year out of range")?;
    let d = match p.day_of_year {
        Some(doy) => NaiveDate::from_yo_opt(year, doy),
        None => NaiveDate::from_ymd_opt(year, p.month.unwrap_or(1), p.day.unwrap_or(1)),
    };
    d.ok_or_else(|| {
        format!(
            "Invalid date: year {year}, month {}, day {}",
            p.month.unwrap_or(1),
            p.day.unwrap_or(1)
        )
    })
}

/// The time of day the fields name, defaulting to midnight.
fn resolve_time(p: &Parsed) -> Result<NaiveTime, String> {
    let hour = match (p.hour, p.hour12) {
        (Some(h), _) => h,
        (None, Some(h)) => h + if p.pm == Some(true) { 12 } else { 0 },
        (None, None) => 0,
    };
    NaiveTime::from_hms_nano_opt(hour, p.minute.unwrap_or(0), p.second.unwrap_or(0), p.nano.unwrap_or(0))
        .ok_or_else(|| "Invalid time".to_string())
}

fn parse_ts(a: &[Value]) -> Result<Option<i64>, String> {
    let (Some(text), Some(pattern), Some(zone)) = (arg::str(a, 0)?, arg::str(a, 1)?, zone_arg(a, 2)?) else {
        return Ok(None);
    };
    let toks = time_format::compile(pattern)?;
    let p = time_format::parse(&toks, text)?;
    let local = resolve_date(&p)?.and_time(resolve_time(&p)?);
    let local_ms = local.and_utc().timestamp_millis();
    // An offset or zone in the text wins over the function's zone argument.
    let offset = match (&p.offset, &p.zone) {
        (Some(o), _) => *o,
        (None, Some(z)) => z.offset_for_local(local_ms),
        (None, None) => zone.offset_for_local(local_ms),
    };
    Ok(Some(local_ms - offset as i64 * 1000))
}

fn parse_date(a: &[Value]) -> Result<Option<i32>, String> {
    let (Some(text), Some(pattern)) = (arg::str(a, 0)?, arg::str(a, 1)?) else {
        return Ok(None);
    };
    let p = time_format::parse(&time_format::compile(pattern)?, text)?;
    Ok(Some(days_of_date(resolve_date(&p)?)))
}

fn parse_time(a: &[Value], _: &SqlType, _: &[Lambda<'_>]) -> Result<Value, String> {
    let (Some(text), Some(pattern)) = (arg::str(a, 0)?, arg::str(a, 1)?) else {
        return Ok(Value::Null);
    };
    let p = time_format::parse(&time_format::compile(pattern)?, text)?;
    Ok(Value::Time(ms_of_time(resolve_time(&p)?)))
}

/// Reads a DATE, TIME or TIMESTAMP from its SQL literal text (`2022-06-14`, `09:16:00`,
/// `2022-06-14T09:16:00.000`), as ksqlDB does when a string meets one of those types.
pub(super) fn parse_literal(text: &str, ty: &SqlType) -> Result<Value, String> {
    let pattern = match ty {
        SqlType::Date => "yyyy-MM-dd",
        SqlType::Time => "HH:mm[:ss[.SSS]]",
        _ => "yyyy-MM-dd['T'HH:mm[:ss[.SSS]]]",
    };
    let p = time_format::parse(&time_format::compile(pattern)?, text.trim())?;
    Ok(match ty {
        SqlType::Date => Value::Date(days_of_date(resolve_date(&p)?)),
        SqlType::Time => Value::Time(ms_of_time(resolve_time(&p)?)),
        _ => Value::Timestamp(
            resolve_date(&p)?
                .and_time(resolve_time(&p)?)
                .and_utc()
                .timestamp_millis(),
        ),
    })
}

/// Milliseconds in one interval unit, from its SQL name (singular or plural).
fn unit_ms(unit: &str) -> Result<i64, String> {
    let u = unit.to_ascii_uppercase();
    let u = u.strip_suffix('S').unwrap_or(&u);
    Ok(match u {
        "MILLISECOND" => 1,
        "SECOND" => 1000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => MS_PER_DAY,
        // Java's TimeUnit has no coarser units; finer ones truncate to whole milliseconds.
        "MICROSECOND" | "NANOSECOND" => 0,
        _ => return Err(format!("Unknown time unit: {unit}")),
    })
}

fn add(a: &[Value], sign: i64) -> Result<Value, String> {
    let (Some(unit), Some(n)) = (arg::str(a, 0)?, arg::int(a, 1)?) else {
        return Ok(Value::Null);
    };
    let upper = unit.to_ascii_uppercase();
    let delta_ms = |n: i64| -> Result<i64, String> {
        // Sub-millisecond units convert with truncation, as TimeUnit.toMillis does.
        let ms = match upper.trim_end_matches('S') {
            "MICROSECOND" => n / 1000,
            "NANOSECOND" => n / 1_000_000,
            _ => n.checked_mul(unit_ms(unit)?).ok_or("interval overflow")?,
        };
        ms.checked_mul(sign).ok_or_else(|| "interval overflow".to_string())
    };
    Ok(match arg::get(a, 2) {
        Value::Timestamp(ms) => Value::Timestamp(ms.checked_add(delta_ms(n)?).ok_or("timestamp overflow")?),
        Value::Date(d) => {
            // TimeUnit.toDays truncates towards zero: 25 HOURS is one day.
            let days = delta_ms(n)? / MS_PER_DAY;
            let d = (*d as i64).checked_add(days).ok_or("date overflow")?;
            Value::Date(i32::try_from(d).map_err(|_| "date overflow")?)
        }
        Value::Time(t) => Value::Time((*t as i64 + delta_ms(n)?).rem_euclid(MS_PER_DAY) as i32),
        _ => Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    #[test]
    fn formats_and_parses_like_ksqldb() {
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            (
                "STRINGTOTIMESTAMP",
                vec![s("2018-05-11T21:58:33Z"), s("yyyy-MM-dd'T'HH:mm:ssX")],
                Value::BigInt(1526075913000),
            ),
            (
                "STRINGTOTIMESTAMP",
                vec![s("2020-05-11T21:58:33z"), s("yyyy-MM-dd'T'HH:mm:ssX")],
                Value::BigInt(1589234313000),
            ),
            (
                "PARSE_TIMESTAMP",
                vec![s("2018-05-11T21:58:33"), s("yyyy-MM-dd'T'HH:mm:ss")],
                Value::Timestamp(1526075913000),
            ),
            (
                "PARSE_TIMESTAMP",
                vec![s("2018-05-11T21:58:33"), s("yyyy-MM-dd'T'HH:mm:ss"), s("+02:00")],
                Value::Timestamp(1526075913000 - 7_200_000),
            ),
            (
                "FORMAT_TIMESTAMP",
                vec![Value::Timestamp(1526075913000), s("yyyy-MM-dd HH:mm:ss")],
                s("2018-05-11 21:58:33"),
            ),
            (
                "FORMAT_TIMESTAMP",
                vec![
                    Value::Timestamp(1526075913000),
                    s("yyyy-MM-dd HH:mm:ss XXX"),
                    s("GMT+2"),
                ],
                s("2018-05-11 23:58:33 +02:00"),
            ),
            (
                "TIMESTAMPTOSTRING",
                vec![Value::BigInt(1580223282000), s("yyyy-MM-dd HH:mm:ss Z"), s("UTC")],
                s("2020-01-28 14:54:42 +0000"),
            ),
            (
                "TIMESTAMPTOSTRING",
                vec![Value::BigInt(0), s("yyyy"), Value::Null],
                Value::Null,
            ),
            (
                "FORMAT_DATE",
                vec![Value::Date(17662), s("yyyy-MM-dd")],
                s("2018-05-11"),
            ),
            (
                "FORMAT_DATE",
                vec![Value::Date(18993), s("dd-MMM-yyyy")],
                s("01-Jan-2022"),
            ),
            (
                "FORMAT_DATE",
                vec![Value::Date(-1), s("dd-MM-yyyy'Sophia'")],
                s("31-12-1969Sophia"),
            ),
            (
                "DATETOSTRING",
                vec![Value::Int(18027), s("dd/MM/yyyy")],
                s("11/05/2019"),
            ),
            ("PARSE_DATE", vec![s("2018-05-11"), s("yyyy-MM-dd")], Value::Date(17662)),
            (
                "STRINGTODATE",
                vec![s("11/05/2019"), s("dd/MM/yyyy")],
                Value::Int(18027),
            ),
            (
                "PARSE_TIME",
                vec![s("00:01:05Lit"), s("HH:mm:ss'Lit'")],
                Value::Time(65000),
            ),
            ("PARSE_TIME", vec![s("11/05/19"), s("HH/mm/ss")], Value::Time(39919000)),
            (
                "PARSE_TIME",
                vec![s("01:00:00 Pm"), s("hh:mm:ss a")],
                Value::Time(46800000),
            ),
            ("FORMAT_TIME", vec![Value::Time(46800000), s("hh:mm a")], s("01:00 PM")),
            (
                "CONVERT_TZ",
                vec![Value::Timestamp(100), s("+0200"), s("+0500")],
                Value::Timestamp(10800100),
            ),
            ("FROM_UNIXTIME", vec![Value::BigInt(100)], Value::Timestamp(100)),
            ("FROM_DAYS", vec![Value::Int(10)], Value::Date(10)),
            ("UNIX_DATE", vec![Value::Date(100)], Value::Int(100)),
            ("UNIX_TIMESTAMP", vec![Value::Timestamp(100)], Value::BigInt(100)),
            (
                "TIMESTAMPADD",
                vec![s("MILLISECONDS"), Value::Int(10), Value::Timestamp(10)],
                Value::Timestamp(20),
            ),
            (
                "TIMESTAMPSUB",
                vec![s("DAY"), Value::Int(1), Value::Timestamp(0)],
                Value::Timestamp(-86_400_000),
            ),
            (
                "DATEADD",
                vec![s("DAYS"), Value::Int(10), Value::Date(10)],
                Value::Date(20),
            ),
            (
                "DATESUB",
                vec![s("HOURS"), Value::Int(49), Value::Date(10)],
                Value::Date(8),
            ),
            (
                "TIMEADD",
                vec![s("HOURS"), Value::Int(25), Value::Time(0)],
                Value::Time(3_600_000),
            ),
            (
                "TIMESUB",
                vec![s("SECOND"), Value::Int(1), Value::Time(0)],
                Value::Time(86_399_000),
            ),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(call("PARSE_DATE", &[s("2018-13-11"), s("yyyy-MM-dd")]).is_err());
        assert!(call("PARSE_DATE", &[s("2018-02-30"), s("yyyy-MM-dd")]).is_err());
        assert!(call("PARSE_DATE", &[s("2018-02-03"), s("yyyy-bb")]).is_err());
        assert!(call("FORMAT_DATE", &[Value::Date(0), s("HH:mm")]).is_err());
        assert!(call("FORMAT_TIMESTAMP", &[Value::Timestamp(0), s("yyyy"), s("Mars/Olympus")]).is_err());
        assert!(call("TIMESTAMPADD", &[s("FORTNIGHT"), Value::Int(1), Value::Timestamp(0)]).is_err());
    }

    #[test]
    fn named_zones_use_the_tz_database() {
        if super::time_zone::zone("America/Los_Angeles").is_err() {
            return; // no tz database on this system
        }
        assert_eq!(
            call(
                "PARSE_TIMESTAMP",
                &[s("2018-05-11T21:58:33 PST"), s("yyyy-MM-dd'T'HH:mm:ss zzz")]
            ),
            Ok(Value::Timestamp(1526101113000))
        );
        assert_eq!(
            call(
                "CONVERT_TZ",
                &[
                    Value::Timestamp(1589234313000),
                    s("America/Los_Angeles"),
                    s("America/New_York")
                ]
            ),
            Ok(Value::Timestamp(1589245113000))
        );
        assert_eq!(
            call(
                "FORMAT_TIMESTAMP",
                &[Value::Timestamp(1526075913000), s("HH:mm z"), s("Europe/Berlin")]
            ),
            Ok(s("23:58 CEST"))
        );
    }
}
