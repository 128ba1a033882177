//! Wall-clock formatting for events: RFC 3339 UTC for JSON, local
//! `HH:MM:SS.mmm` for lines. Small enough not to need a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// `2026-11-22T20:01:02.123Z`
pub fn rfc3339_utc(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_millis()
    )
}

/// Reads `rfc3339_utc`'s own form back (`2026-11-22T20:01:02.123Z`).
pub fn parse_rfc3339_utc(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[10] != b'T' || b[23] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second, milli) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    let millis = u64::try_from(secs).ok()?.checked_mul(1000)? + milli as u64;
    Some(UNIX_EPOCH + std::time::Duration::from_millis(millis))
}

/// (year, month, day) to days since 1970-01-01; the inverse of civil_from_days.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `20:01:02.123` in the local time zone (UTC when it cannot be read).
pub fn local_time_of_day(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64 + local_offset_secs(since.as_secs() as i64);
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_millis()
    )
}

/// The UTC offset, read once per quarter hour (zones change it on a quarter
/// hour at the finest): musl's localtime_r reads `TZ` and converts the whole
/// date on every call, 7% of a flood's CPU.
fn local_offset_secs(unix: i64) -> i64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CACHED: AtomicU64 = AtomicU64::new(0);
    let quarter = unix.div_euclid(900);
    if let Some(offset) = unpack(CACHED.load(Ordering::Relaxed), quarter) {
        return offset;
    }
    let offset = read_local_offset(unix);
    if let Some(packed) = pack(quarter, offset) {
        CACHED.store(packed, Ordering::Relaxed);
    }
    offset
}

/// One word for the cache, so that a reader never pairs one quarter with
/// another's offset: `(quarter + 1) << 32 | offset`; 0 is "not read yet".
fn pack(quarter: i64, offset: i64) -> Option<u64> {
    let quarter = u32::try_from(quarter + 1).ok()?;
    let offset = i32::try_from(offset).ok()?;
    Some(u64::from(quarter) << 32 | u64::from(offset as u32))
}

fn unpack(packed: u64, quarter: i64) -> Option<i64> {
    let same = packed != 0 && i64::from((packed >> 32) as u32) == quarter + 1;
    same.then(|| i64::from(packed as u32 as i32))
}

fn read_local_offset(unix: i64) -> i64 {
    // libc deprecates musl's time_t alias (its width changes in libc 1.0); it
    // is 64 bits on the 64-bit targets the npm packages are built for.
    #[allow(deprecated)]
    let time: libc::time_t = unix as libc::time_t;
    // SAFETY: localtime_r only writes the tm we pass it; a zeroed tm is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let converted = unsafe { libc::localtime_r(&time, &mut tm) };
    if converted.is_null() {
        0
    } else {
        tm.tm_gmtoff as i64
    }
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        let at = UNIX_EPOCH + Duration::from_millis(1_795_377_662_123);
        assert_eq!(rfc3339_utc(at), "2026-11-22T20:01:02.123Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339_utc(leap), "2000-02-29T00:00:00.000Z");
        for at in [at, UNIX_EPOCH, leap] {
            assert_eq!(parse_rfc3339_utc(&rfc3339_utc(at)), Some(at));
        }
        assert_eq!(parse_rfc3339_utc("2026-13-22T20:01:02.123Z"), None);
        assert_eq!(parse_rfc3339_utc("2026-11-22T20:01:02.12éZ"), None);
        assert_eq!(parse_rfc3339_utc("éééééééééééééééééééééééé"), None);
    }

    #[test]
    fn the_cached_offset_is_the_one_read_for_its_quarter_hour_only() {
        let quarter = 1_796_000_000 / 900;
        for offset in [0, 3600, -18_000, 45_900, -34_200] {
            let packed = pack(quarter, offset).unwrap();
            assert_eq!(unpack(packed, quarter), Some(offset));
            assert_eq!(unpack(packed, quarter + 1), None);
        }
        assert_eq!(unpack(0, -1), None, "empty is never a hit");
        let now = 1_796_000_123;
        assert_eq!(local_offset_secs(now), read_local_offset(now));
        assert_eq!(local_offset_secs(now), read_local_offset(now));
    }

    #[test]
    fn local_time_has_the_shape() {
        let text = local_time_of_day(SystemTime::now());
        assert_eq!(text.len(), 12, "{text}");
        assert_eq!(&text[2..3], ":");
        assert_eq!(&text[8..9], ".");
    }
}
