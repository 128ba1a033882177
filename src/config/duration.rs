//! Durations written as strings in watch.toml: `"500ms"`, `"10s"`, `"5m"`, `"1h"`.

use super::ValueError;
use serde::Deserialize;
use serde::de::{Deserializer, Error};
use std::time::Duration;

/// A duration read from a string; the parse error carries the value's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        parse_duration(&text).map(Dur).map_err(D::Error::custom)
    }
}

/// Parses `<number><unit>` with unit ms, s, m or h; the number may have a fraction.
pub fn parse_duration(text: &str) -> Result<Duration, ValueError> {
    let bad = || ValueError::InvalidDuration(text.to_string());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    let millis_per_unit = match unit.trim() {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return Err(bad()),
    };
    let millis = value * millis_per_unit;
    if !millis.is_finite() || millis > 1e12 {
        return Err(ValueError::DurationTooLong(text.to_string()));
    }
    Ok(Duration::from_micros((millis * 1_000.0).round() as u64))
}

/// The short form used in messages: `500ms`, `10s`, `1.5s`, `5m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in ["", "10", "ms", "ten s", "10 seconds", "1.2.3s", "-5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_duration("99999999999h").is_err());
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }
}
