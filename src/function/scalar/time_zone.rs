//! Time zones as Java's `ZoneId.of` reads them: `UTC`/`GMT`/`Z`, fixed offsets (`+02:00`,
//! `GMT+2`, `UTC-05:30`) and region ids (`Europe/Berlin`), the last read from the system's
//! tz database (`$TZDIR` or `/usr/share/zoneinfo`, TZif files) since no tz crate is available.
//!
//! Known limit: instants after a zone file's last transition (2037 in "fat" files) use the
//! last offset; the POSIX rule in the file's footer is not evaluated.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// A resolved zone.
#[derive(Debug, Clone)]
pub(super) enum Zone {
    /// A constant offset east of UTC, in seconds, with the text Java would print as its id.
    Fixed(i32, String),
    /// A region with historical transitions.
    Region(Arc<Region>),
}

/// Transitions of one region, from its TZif file.
#[derive(Debug)]
pub(super) struct Region {
    id: String,
    /// Transition instants (seconds since the epoch), ascending.
    transitions: Vec<i64>,
    /// The local-time type in force from each transition on.
    kinds: Vec<usize>,
    /// Local-time types: offset in seconds and abbreviation.
    types: Vec<(i32, String)>,
    /// The type in force before the first transition.
    initial: usize,
}

impl Zone {
    /// The offset from UTC, in seconds, at an instant (epoch milliseconds).
    pub(super) fn offset_at(&self, epoch_ms: i64) -> i32 {
        match self {
            Zone::Fixed(o, _) => *o,
            Zone::Region(r) => r.type_at(epoch_ms.div_euclid(1000)).0,
        }
    }

    /// The offset to subtract from a local date-time (as if it were UTC, in ms) to get the
    /// instant; in a gap or overlap the earlier offset wins, as Java's resolution does.
    pub(super) fn offset_for_local(&self, local_ms: i64) -> i32 {
        match self {
            Zone::Fixed(o, _) => *o,
            Zone::Region(_) => {
                // The offsets in force half a day either side cover any single transition.
                const HALF_DAY: i64 = 12 * 3600 * 1000;
                let before = self.offset_at(local_ms - HALF_DAY);
                let after = self.offset_at(local_ms + HALF_DAY);
                let valid = |o: i32| self.offset_at(local_ms - o as i64 * 1000) == o;
                match (valid(before), valid(after)) {
                    // Overlap: the earlier instant, i.e. the larger offset.
                    (true, true) => before.max(after),
                    (true, false) => before,
                    (false, true) => after,
                    // Gap: keep the offset from before it, which moves the time forward.
                    (false, false) => before,
                }
            }
        }
    }

    /// The zone's id, as `VV` prints it.
    pub(super) fn id(&self) -> &str {
        match self {
            Zone::Fixed(_, id) => id,
            Zone::Region(r) => &r.id,
        }
    }

    /// The short name at an instant (`CET`, `PDT`), as `z` prints it.
    pub(super) fn abbreviation(&self, epoch_ms: i64) -> String {
        match self {
            Zone::Fixed(_, id) => id.clone(),
            Zone::Region(r) => r.type_at(epoch_ms.div_euclid(1000)).1.clone(),
        }
    }
}

impl Region {
    fn type_at(&self, epoch_s: i64) -> &(i32, String) {
        let idx = match self.transitions.partition_point(|t| *t <= epoch_s) {
            0 => self.initial,
            n => self.kinds[n - 1],
        };
        &self.types[idx.min(self.types.len().saturating_sub(1))]
    }
}

/// Formats an offset in seconds as Java's ZoneOffset id (`Z`, `+02:00`, `-05:30:15`).
pub(super) fn offset_id(secs: i32) -> String {
    if secs == 0 {
        return "Z".into();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// Parses `+h`, `+hh`, `+hh:mm`, `+hhmm`, `+hh:mm:ss`, `+hhmmss` (and `-`) into seconds.
pub(super) fn parse_offset(text: &str) -> Option<i32> {
    let sign = match text.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let body = &text[1..];
    let digits: String = body.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || digits.is_empty() {
        return None;
    }
    let colon = body.contains(':');
    let (h, m, s): (i32, i32, i32) = match (digits.len(), colon) {
        (1 | 2, false) => (digits.parse().ok()?, 0, 0),
        (4, _) => (digits[..2].parse().ok()?, digits[2..4].parse().ok()?, 0),
        (6, _) => (
            digits[..2].parse().ok()?,
            digits[2..4].parse().ok()?,
            digits[4..6].parse().ok()?,
        ),
        _ => return None,
    };
    if h > 18 || m > 59 || s > 59 {
        return None;
    }
    let total: i32 = h * 3600 + m * 60 + s;
    if total > 18 * 3600 {
        return None;
    }
    Some(sign * total)
}

thread_local! {
    /// Region files already read, by id.
    static REGIONS: RefCell<HashMap<String, Arc<Region>>> = RefCell::new(HashMap::new());
}

/// Resolves a zone id, or says why it cannot.
pub(super) fn zone(id: &str) -> Result<Zone, String> {
    let unknown = || format!("Unknown time-zone ID: {id}");
    match id {
        "UTC" | "GMT" | "UT" | "Z" => return Ok(Zone::Fixed(0, id.to_string())),
        _ => {}
    }
    if let Some(secs) = parse_offset(id) {
        return Ok(Zone::Fixed(secs, offset_id(secs)));
    }
    for prefix in ["UTC", "GMT", "UT"] {
        if let Some(rest) = id.strip_prefix(prefix)
            && rest.starts_with(['+', '-'])
        {
            let secs = parse_offset(rest).ok_or_else(unknown)?;
            return Ok(Zone::Fixed(secs, format!("{prefix}{}", offset_id(secs))));
        }
    }
    // Region ids are paths into the tz database: refuse anything that could leave it.
    let valid = !id.is_empty()
        && !id.starts_with('/')
        && !id.split('/').any(|part| part.is_empty() || part == "." || part == "..")
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if !valid {
        return Err(unknown());
    }
    if let Some(r) = REGIONS.with(|m| m.borrow().get(id).cloned()) {
        return Ok(Zone::Region(r));
    }
    let dir = std::env::var("TZDIR").unwrap_or_else(|_| "/usr/share/zoneinfo".to_string());
    let bytes = std::fs::read(std::path::Path::new(&dir).join(id)).map_err(|_| unknown())?;
    let region = Arc::new(parse_tzif(id, &bytes).ok_or_else(unknown)?);
    REGIONS.with(|m| m.borrow_mut().insert(id.to_string(), region.clone()));
    Ok(Zone::Region(region))
}

/// Resolves a zone id or a common short name (`PST`, `CET`), as Java's zone-text parser does
/// for the `z` pattern letter; short names map to the region that uses them.
pub(super) fn zone_for_name(name: &str) -> Result<Zone, String> {
    let region = match name.to_ascii_uppercase().as_str() {
        "PST" | "PDT" | "PT" => "America/Los_Angeles",
        "MST" | "MDT" | "MT" => "America/Denver",
        "CST" | "CDT" | "CT" => "America/Chicago",
        "EST" | "EDT" | "ET" => "America/New_York",
        "AKST" | "AKDT" => "America/Anchorage",
        "HST" => "Pacific/Honolulu",
        "BST" => "Europe/London",
        "CET" | "CEST" => "Europe/Paris",
        "EET" | "EEST" => "Europe/Athens",
        "IST" => "Asia/Kolkata",
        "JST" => "Asia/Tokyo",
        "AEST" | "AEDT" => "Australia/Sydney",
        _ => return zone(name),
    };
    zone(region)
}

/// A big-endian reader over a TZif file.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Reads a TZif file (RFC 8536), preferring the 64-bit data block of version 2+.
fn parse_tzif(id: &str, data: &[u8]) -> Option<Region> {
    let mut r = Reader { data, pos: 0 };
    let header = |r: &mut Reader<'_>| -> Option<(u8, [usize; 6])> {
        if r.take(4)? != b"TZif" {
            return None;
        }
        let version = r.take(1)?[0];
        r.take(15)?;
        let mut counts = [0usize; 6];
        for c in counts.iter_mut() {
            *c = r.u32()? as usize;
        }
        Some((version, counts))
    };
    let (version, counts) = header(&mut r)?;
    let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts;
    let mut time_size = 4;
    let (mut timecnt, mut typecnt, mut charcnt) = (timecnt, typecnt, charcnt);
    if version >= b'2' {
        // Skip the 32-bit block and read the 64-bit one.
        r.take(timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut)?;
        let (_, c2) = header(&mut r)?;
        timecnt = c2[3];
        typecnt = c2[4];
        charcnt = c2[5];
        time_size = 8;
    }
    let mut transitions = Vec::with_capacity(timecnt);
    for _ in 0..timecnt {
        let b = r.take(time_size)?;
        transitions.push(if time_size == 8 {
            i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        } else {
            i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as i64
        });
    }
    let kinds: Vec<usize> = r.take(timecnt)?.iter().map(|k| *k as usize).collect();
    let mut raw_types = Vec::with_capacity(typecnt);
    for _ in 0..typecnt {
        let b = r.take(6)?;
        let offset = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        raw_types.push((offset, b[4] != 0, b[5] as usize));
    }
    let chars = r.take(charcnt)?;
    let types: Vec<(i32, String)> = raw_types
        .iter()
        .map(|(off, _, idx)| {
            let abbr = chars
                .get(*idx..)
                .map(|s| s.split(|c| *c == 0).next().unwrap_or(&[]))
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default();
            (*off, abbr)
        })
        .collect();
    if types.is_empty() || kinds.iter().any(|k| *k >= types.len()) {
        return None;
    }
    // RFC 8536: the first standard-time type applies before the first transition.
    let initial = raw_types.iter().position(|(_, dst, _)| !dst).unwrap_or(0);
    Some(Region {
        id: id.to_string(),
        transitions,
        kinds,
        types,
        initial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_zones() {
        assert_eq!(zone("UTC").unwrap().offset_at(0), 0);
        assert_eq!(zone("+02:00").unwrap().offset_at(0), 7200);
        assert_eq!(zone("GMT+2").unwrap().offset_at(0), 7200);
        assert_eq!(zone("UTC-05:30").unwrap().offset_at(0), -19800);
        assert_eq!(zone("-0800").unwrap().id(), "-08:00");
        assert!(zone("+25:00").is_err());
        assert!(zone("../etc/passwd").is_err());
        assert!(zone("Not/AZone").is_err());
    }

    #[test]
    fn region_zones_from_the_tz_database() {
        // Skipped where the system has no tz database.
        let Ok(z) = zone("America/Los_Angeles") else {
            return;
        };
        // 2021-01-01T00:00Z is winter (PST, -8h); 2021-07-01T00:00Z is summer (PDT, -7h).
        assert_eq!(z.offset_at(1_609_459_200_000), -8 * 3600);
        assert_eq!(z.offset_at(1_625_097_600_000), -7 * 3600);
        assert_eq!(z.abbreviation(1_625_097_600_000), "PDT");
    }
}
