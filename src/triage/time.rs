//! RFC 3339 timestamps as milliseconds since the Unix epoch, and the `T+mm:ss` offsets the
//! guide's timelines use. Hand-written: one format, a few dozen lines, no dependency.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, UTC, millisecond precision (finer digits are truncated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; `t`, `z` and a space for `T` are
    /// accepted as RFC 3339 allows.
    pub fn parse(s: &str) -> Result<Timestamp, String> {
        let bad = |why: &str| format!("invalid RFC 3339 timestamp '{s}': {why}");
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(bad("too short"));
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
            let part = &b[range];
            if part.iter().all(u8::is_ascii_digit) {
                Ok(part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
            } else {
                Err(bad("expected digits"))
            }
        };
        if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
            return Err(bad("expected YYYY-MM-DDTHH:MM:SS"));
        }
        if !matches!(b[10], b'T' | b't' | b' ') {
            return Err(bad("expected 'T' between date and time"));
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(bad("no such date"));
        }
        // Second 60 is a leap second; it is counted as the next minute's first.
        if hour > 23 || minute > 59 || second > 60 {
            return Err(bad("no such time"));
        }
        let mut i = 19;
        let mut millis = 0i64;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(bad("empty fraction of a second"));
            }
            for (k, d) in b[start..i.min(start + 3)].iter().enumerate() {
                millis += i64::from(d - b'0') * [100, 10, 1][k];
            }
        }
        let offset_min = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
                if oh > 23 || om > 59 {
                    return Err(bad("no such offset"));
                }
                let m = oh * 60 + om;
                if sign == b'-' {
                    -m
                } else {
                    m
                }
            }
            _ => return Err(bad("expected 'Z' or an offset like +02:00 at the end")),
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
        Ok(Timestamp(secs * 1000 + millis))
    }

    /// `2026-03-02T09:01:04Z`, with `.mmm` when the milliseconds are not zero.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0.div_euclid(1000);
        let ms = self.0.rem_euclid(1000);
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
        if ms == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
        }
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The guide's relative time, `T+01:04` (or `T+1:02:03` past an hour), from `origin`.
pub fn offset(origin: Timestamp, at: Timestamp) -> String {
    let d = at.0 - origin.0;
    let sign = if d < 0 { '-' } else { '+' };
    let s = d.unsigned_abs() / 1000;
    if s >= 3600 {
        format!("T{sign}{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("T{sign}{:02}:{:02}", s / 60, s % 60)
    }
}

/// A duration for people: `3m 30s`, `1h 02m 03s`, `12.5s`.
pub fn human_duration(ms: i64) -> String {
    let ms = ms.max(0);
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}h {:02}m {:02}s", s / 3600, s % 3600 / 60, s % 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else if ms % 1000 == 0 {
        format!("{s}s")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = Timestamp::parse("2026-03-02T09:01:04Z").unwrap();
        assert_eq!(t.0, 1_772_442_064_000);
        assert_eq!(t.to_rfc3339(), "2026-03-02T09:01:04Z");
        let u = Timestamp::parse("2026-03-02T10:01:04.250+01:00").unwrap();
        assert_eq!(u.0, t.0 + 250);
        assert_eq!(u.to_rfc3339(), "2026-03-02T09:01:04.250Z");
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z").unwrap().0, 0);
        assert_eq!(
            Timestamp::parse("1969-12-31T23:59:59.5-00:00").unwrap().0,
            -500
        );
        assert_eq!(
            Timestamp::parse("2024-02-29t23:59:59.123456789z")
                .unwrap()
                .to_rfc3339(),
            "2024-02-29T23:59:59.123Z"
        );
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for s in [
            "2026-03-02",
            "2026-03-02T09:01:04",
            "2026-02-30T09:00:00Z",
            "2026-13-01T09:00:00Z",
            "2026-03-02T24:00:00Z",
            "2026-03-02T09:00:00.Z",
            "2026-03-02T09:00:00+0100",
            "2026-03-02T09:00:00Zjunk",
            "2026/03/02T09:00:00Z",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn offsets() {
        let o = Timestamp(0);
        assert_eq!(offset(o, Timestamp(64_000)), "T+01:04");
        assert_eq!(offset(o, Timestamp(3_723_000)), "T+1:02:03");
        assert_eq!(offset(o, Timestamp(-5_000)), "T-00:05");
        assert_eq!(human_duration(210_000), "3m 30s");
        assert_eq!(human_duration(12_500), "12.5s");
    }
}
