//! Durations that make no sense are rejected where they are written: a
//! `"0ms"` health interval would fork probes in a loop, a `"0ms"` build
//! timeout would cancel every build.

use super::duration::{Dur, format_duration};
use super::error::ConfigError;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// The smallest and largest sensible value of one duration key.
pub struct Bounds {
    pub key: &'static str,
    pub default: Duration,
    pub min: Duration,
    pub max: Option<Duration>,
    /// Why the minimum, or what to write instead.
    pub hint: &'static str,
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub const DEBOUNCE: Bounds = Bounds {
    key: "watch.debounce",
    default: ms(500),
    min: ms(0),
    max: Some(ms(60_000)),
    hint: "a build would wait that long after every save",
};
pub const BUILD_TIMEOUT: Bounds = Bounds {
    key: "build.timeout",
    default: ms(600_000),
    min: ms(100),
    max: None,
    hint: "every build would be cut short",
};
pub const STOP_TIMEOUT: Bounds = Bounds {
    key: "stop_timeout",
    default: ms(10_000),
    min: ms(100),
    max: None,
    hint: "to kill at once, set stop_signal = \"SIGKILL\"",
};
pub const HEALTH_INTERVAL: Bounds = Bounds {
    key: "health.interval",
    default: ms(1_000),
    min: ms(100),
    max: None,
    hint: "probes would run in a busy loop",
};
pub const HEALTH_TIMEOUT: Bounds = Bounds {
    key: "health.timeout",
    default: ms(1_000),
    min: ms(10),
    max: None,
    hint: "no probe could answer in time",
};
pub const AUTO_ROLLBACK: Bounds = Bounds {
    key: "promote.auto_rollback",
    default: ms(0),
    min: ms(1_000),
    max: None,
    hint: "leave it out to turn automatic rollback off",
};

/// The value, or the default when absent; an error at the value when out of bounds.
pub fn duration(
    file: &Path,
    text: &str,
    value: Option<Spanned<Dur>>,
    bounds: &Bounds,
) -> Result<Duration, ConfigError> {
    let Some(value) = value else {
        return Ok(bounds.default);
    };
    let span = value.span();
    let Dur(d) = value.into_inner();
    let message = if d < bounds.min {
        format!(
            "{} = \"{}\" is too short: at least {} ({})",
            bounds.key,
            format_duration(d),
            format_duration(bounds.min),
            bounds.hint
        )
    } else if let Some(max) = bounds.max.filter(|max| d > *max) {
        format!(
            "{} = \"{}\" is too long: at most {} ({})",
            bounds.key,
            format_duration(d),
            format_duration(max),
            bounds.hint
        )
    } else {
        return Ok(d);
    };
    Err(ConfigError::at(file, text, span, message))
}
