//! RFC 3339 timestamps in UTC, without a date-time dependency: the vault and evidence records
//! only ever need "now" and file modification times written out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch (negative before it), exact for any file time.
pub fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// The inverse of [`unix_nanos`].
pub fn from_unix_nanos(ns: i128) -> Option<SystemTime> {
    let abs = u64::try_from(ns.unsigned_abs() / 1_000_000_000).ok()?;
    let sub = (ns.unsigned_abs() % 1_000_000_000) as u32;
    let d = Duration::new(abs, sub);
    if ns >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// `2026-11-27T21:06:30Z`, or with a fraction when the time has one
/// (`2026-11-27T21:06:30.123456789Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let ns = unix_nanos(t);
    let secs = ns.div_euclid(1_000_000_000) as i64;
    let frac = ns.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        let f = format!("{frac:09}");
        format!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{}Z",
            f.trim_end_matches('0')
        )
    }
}

/// Now, to the second.
pub fn now_rfc3339() -> String {
    let now = SystemTime::now();
    let secs = unix_nanos(now).div_euclid(1_000_000_000);
    rfc3339(from_unix_nanos(secs * 1_000_000_000).unwrap_or(now))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(1_772_442_023, 500_000_000);
        assert_eq!(rfc3339(t), "2026-03-02T09:00:23.5Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
        let far = UNIX_EPOCH + Duration::from_secs(4_107_542_399);
        assert_eq!(rfc3339(far), "2100-02-28T23:59:59Z");
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(rfc3339(before), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn nanos_round_trip() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(from_unix_nanos(unix_nanos(t)), Some(t));
        let b = UNIX_EPOCH - Duration::new(5, 7);
        assert_eq!(from_unix_nanos(unix_nanos(b)), Some(b));
    }
}
