//! The sentences: each event as a person reads it, with the name it is
//! shown under (`devloop`, `build` or the process's). Headless lines, the
//! TUI's panes and viewers all say the same.

use super::{BuildStatus, Event, RestartReason};
use crate::config::format_duration;
use std::time::Duration;

/// The source of devloop's own events.
pub const DEVLOOP: &str = "devloop";
/// The source of the build's events.
pub const BUILD: &str = "build";

fn reloaded(
    sections: &[String],
    added: &[String],
    removed: &[String],
    changed: &[String],
) -> String {
    let mut parts: Vec<String> = sections.iter().map(|s| format!("[{s}] changed")).collect();
    for (what, names) in [("added", added), ("removed", removed), ("changed", changed)] {
        if !names.is_empty() {
            parts.push(format!("{what} {}", names.join(", ")));
        }
    }
    format!("configuration reloaded: {}", parts.join("; "))
}

pub fn describe(event: &Event) -> (&str, String) {
    if let Some(described) = describe_process(event) {
        return described;
    }
    let text = match event {
        Event::Watching { paths, dirs, ms } => {
            format!(
                "watching {} ({dirs} directories, set up in {ms} ms)",
                paths.join(", ")
            )
        }
        Event::Change { paths, count } => {
            let shown: Vec<&str> = paths.iter().take(5).map(String::as_str).collect();
            let more = count.saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("{count} changed: {}{tail}", shown.join(", "))
        }
        Event::BuildStarted { build, reason } => {
            format!("build #{build} started ({})", json_word(reason))
        }
        Event::BuildOutput { line, .. } => return (BUILD, line.clone()),
        Event::BuildFinished {
            build,
            status,
            exit_code,
            ms,
            failure,
        } => {
            let took = format_duration(Duration::from_millis(*ms));
            match status {
                BuildStatus::Ok => format!("build #{build} ok in {took}"),
                BuildStatus::Failed => match (exit_code, failure) {
                    (Some(code), _) => {
                        format!("build #{build} failed with exit code {code} after {took}")
                    }
                    // A warm cycle: the compiler is still running.
                    (None, Some(line)) => format!("build #{build} failed: {line}"),
                    (None, None) => {
                        format!("build #{build} failed (killed by a signal) after {took}")
                    }
                },
                BuildStatus::Cancelled => format!("build #{build} cancelled after {took}"),
                BuildStatus::Timeout => format!("build #{build} timed out after {took}"),
                BuildStatus::Skipped => format!(
                    "build #{build} skipped: the changed files are as they were at the last good build"
                ),
            }
        }
        Event::Promoted {
            build,
            generation,
            target,
            files,
            bytes,
            strategy,
            swap_us,
            changed,
            ms,
        } => format!(
            "promoted build #{build} into {target} as generation {generation}: {files} files, {} in {ms} ms (swap {swap_us} µs, {}){}",
            human_bytes(*bytes),
            json_word(strategy),
            match changed {
                0 => "; identical to the generation before, so no process is told",
                _ => "",
            }
        ),
        Event::PromoteFailed { build, reason } => format!("build #{build} not promoted: {reason}"),
        Event::RolledBack {
            generation,
            process: Some(process),
            ..
        } => format!(
            "rolled back automatically: `{process}` failed soon after the promotion; generation {generation} is in place"
        ),
        Event::RolledBack { generation, .. } => {
            format!("rolled back: generation {generation} is in place")
        }
        Event::Notice { message } => message.clone(),
        Event::Error { message } => format!("error: {message}"),
        Event::ConfigReloaded {
            sections,
            added,
            removed,
            changed,
        } => reloaded(sections, added, removed, changed),
        Event::Shutdown { reason } => format!("stopped ({reason})"),
        // Process events are described above, under the process's own name.
        _ => String::new(),
    };
    (DEVLOOP, text)
}

/// `1.2 MB`, `340 kB`, `12 B`
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.0} kB", bytes as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.2} GB", bytes as f64 / 1e9),
    }
}

/// The JSON word of a build status (`ok`, `failed`, ...).
pub fn status_word(status: BuildStatus) -> String {
    json_word(&status)
}

/// Process events, under the process's own name.
pub fn describe_process(event: &Event) -> Option<(&str, String)> {
    let since = |ms: &u64| format_duration(Duration::from_millis(*ms));
    let (process, text) = match event {
        Event::ProcessStarted {
            process,
            pid,
            restarts,
            port,
        } => {
            let on = port
                .map(|p| format!(", private port {p}"))
                .unwrap_or_default();
            match restarts {
                0 => (process, format!("started (pid {pid}{on})")),
                n => (
                    process,
                    format!("started again (pid {pid}, restart {n}{on})"),
                ),
            }
        }
        Event::ProcessOutput { process, line, .. } => (process, line.clone()),
        Event::ProcessReady {
            process, ms, pid, ..
        } => {
            let serving = pid
                .map(|p| format!("; pid {p} serves now"))
                .unwrap_or_default();
            (process, format!("ready after {}{serving}", since(ms)))
        }
        Event::ProcessExited {
            process,
            code,
            signal,
            uptime_ms,
            ..
        } => {
            let how = match (code, signal) {
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(signal)) => format!("killed by {signal}"),
                (None, None) => "gone (its exit status could not be read)".to_string(),
            };
            (process, format!("{how} after {}", since(uptime_ms)))
        }
        Event::ProcessRestarting {
            process,
            in_ms,
            reason,
        } => {
            let why = match reason {
                RestartReason::Exited => "it exited",
                RestartReason::Unhealthy => "its health check failed",
                RestartReason::Promoted => "a build was promoted",
                RestartReason::Manual => "asked by hand",
                RestartReason::Config => "its configuration changed",
            };
            match in_ms {
                0 => (process, format!("restarting now: {why}")),
                ms => (process, format!("restarting in {}: {why}", since(ms))),
            }
        }
        Event::ProcessFailed { process, reason } => (process, format!("failed: {reason}")),
        Event::ProcessBlocked { process, reason } => (process, format!("blocked: {reason}")),
        Event::ProcessStopped { process } => (process, "stopped".to_string()),
        _ => return None,
    };
    Some((process.as_str(), text))
}

pub fn json_word(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
