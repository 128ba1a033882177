//! What the engine tells the sinks (`Event`) and what the sinks ask of the
//! engine (`Command`). The JSON form is the contract of SPEC section 5.

mod json;
pub mod text;

pub use json::JsonLines;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// Why a build started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildReason {
    Startup,
    Change,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildStatus {
    Ok,
    Failed,
    Cancelled,
    Timeout,
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Who put the previous generation back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackReason {
    /// `u` or `devloop rollback`.
    Manual,
    /// `promote.auto_rollback`: a process failed soon after a promotion.
    Auto,
}

/// Why a supervised process is being started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartReason {
    Exited,
    Unhealthy,
    Promoted,
    Manual,
    /// Its `[process.NAME]` in watch.toml changed.
    Config,
}

/// One thing that happened, as every sink sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Watching {
        paths: Vec<String>,
        dirs: usize,
        ms: u64,
    },
    Change {
        paths: Vec<String>,
        count: usize,
    },
    BuildStarted {
        build: u64,
        reason: BuildReason,
    },
    BuildOutput {
        build: u64,
        stream: Stream,
        line: String,
    },
    BuildFinished {
        build: u64,
        status: BuildStatus,
        exit_code: Option<i32>,
        ms: u64,
        /// Why a warm build's cycle failed (it has no exit code): the
        /// compiler's first `failed` line, or that the compiler exited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure: Option<String>,
    },
    Promoted {
        build: u64,
        generation: u64,
        /// Workspace-relative, like `dist/libs`.
        target: String,
        files: u64,
        bytes: u64,
        strategy: crate::promote::Strategy,
        swap_us: u64,
        /// Paths that differ from the generation replaced: 0 when the build
        /// wrote what was already in place (no process is told).
        #[serde(default)]
        changed: u64,
        ms: u64,
    },
    PromoteFailed {
        build: u64,
        reason: String,
    },
    RolledBack {
        generation: u64,
        reason: RollbackReason,
        /// The process whose failure caused it (with `auto`).
        #[serde(skip_serializing_if = "Option::is_none")]
        process: Option<String>,
    },
    ProcessStarted {
        process: String,
        pid: u32,
        restarts: u32,
        /// With `proxy`: the instance's private port, given in $PORT.
        #[serde(skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    },
    ProcessOutput {
        process: String,
        stream: Stream,
        line: String,
    },
    ProcessReady {
        process: String,
        ms: u64,
        /// With `proxy`: the instance that serves `port` from now on.
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    },
    ProcessExited {
        process: String,
        pid: u32,
        code: Option<i32>,
        /// The signal's name (`SIGKILL`) when a signal ended it.
        signal: Option<String>,
        uptime_ms: u64,
    },
    ProcessRestarting {
        process: String,
        in_ms: u64,
        reason: RestartReason,
    },
    ProcessFailed {
        process: String,
        reason: String,
    },
    ProcessBlocked {
        process: String,
        reason: String,
    },
    ProcessStopped {
        process: String,
    },
    /// What a process on a terminal wrote, as it wrote it: for the screens of
    /// the TUI and of attach viewers. The same output also comes as
    /// `process_output` lines, which is what `--json` and history show.
    ProcessTerminal {
        process: String,
        /// The terminal's size when it wrote them.
        rows: u16,
        cols: u16,
        bytes: Vec<u8>,
    },
    /// Something the user should know that is not an error: leftovers of a
    /// killed devloop stopped, a promotion recovered, the fallback swap in use.
    Notice {
        message: String,
    },
    Error {
        message: String,
    },
    /// watch.toml was edited and its new values are in use: the sections
    /// that differ, and the processes added, removed and changed (restarted
    /// if running).
    ConfigReloaded {
        sections: Vec<String>,
        added: Vec<String>,
        removed: Vec<String>,
        changed: Vec<String>,
    },
    Shutdown {
        reason: String,
    },
}

impl Event {
    /// The process an event is about, for the process events.
    pub fn process(&self) -> Option<&str> {
        match self {
            Event::ProcessStarted { process, .. }
            | Event::ProcessOutput { process, .. }
            | Event::ProcessReady { process, .. }
            | Event::ProcessExited { process, .. }
            | Event::ProcessRestarting { process, .. }
            | Event::ProcessFailed { process, .. }
            | Event::ProcessBlocked { process, .. }
            | Event::ProcessStopped { process }
            | Event::ProcessTerminal { process, .. } => Some(process),
            _ => None,
        }
    }

    /// A child's output line: the build's or a process's.
    pub fn output_line(&self) -> Option<&str> {
        match self {
            Event::BuildOutput { line, .. } | Event::ProcessOutput { line, .. } => Some(line),
            _ => None,
        }
    }
}

/// An event with the moment it happened.
#[derive(Debug, Clone)]
pub struct Stamped {
    pub at: SystemTime,
    pub event: Event,
}

impl Stamped {
    pub fn now(event: Event) -> Self {
        Stamped {
            at: SystemTime::now(),
            event,
        }
    }

    /// One JSON object with `ts` first, then `event` and its fields.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(128);
        JsonLines::default().write(&mut out, self);
        out.pop();
        // Only UTF-8 is ever written: strings are copied whole or escaped.
        String::from_utf8(out).unwrap_or_default()
    }

    /// The inverse of `to_json`, for viewers reading a host's stream.
    pub fn from_json(line: &str) -> Option<Stamped> {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let at = crate::clock::parse_rfc3339_utc(value.get("ts")?.as_str()?)?;
        let event = Event::deserialize(value).ok()?;
        Some(Stamped { at, event })
    }
}

/// What a sink (keys, stdin, signals) asks the engine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Build,
    /// `r NAME`: stop the process and start it again.
    Restart(String),
    /// `s NAME`: stop it if it runs, start it if it does not.
    Toggle(String),
    /// `u` (undo): put the previous promoted generation back.
    Rollback,
    /// `x`: stop the running build (its whole group); nothing is promoted.
    Cancel,
    /// Keys typed into a process's terminal (`i` in the TUI), as a
    /// terminal sends them.
    Type {
        process: String,
        bytes: Vec<u8>,
    },
    Quit {
        reason: String,
    },
}

impl Command {
    /// The line `parse_line` reads back: how a viewer sends a command.
    pub fn to_line(&self) -> String {
        match self {
            Command::Build => "b".into(),
            Command::Rollback => "u".into(),
            Command::Cancel => "x".into(),
            Command::Quit { .. } => "q".into(),
            Command::Restart(name) => format!("r {name}"),
            Command::Toggle(name) => format!("s {name}"),
            Command::Type { process, bytes } => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!("type {process} {hex}")
            }
        }
    }

    /// `to_line` in lines of at most `max` bytes: a long paste becomes
    /// several `type` lines, typed in order.
    pub fn to_lines(&self, max: usize) -> Vec<String> {
        let Command::Type { process, bytes } = self else {
            return vec![self.to_line()];
        };
        let room = max.saturating_sub("type  ".len() + process.len()) / 2;
        bytes
            .chunks(room.max(1))
            .map(|chunk| {
                let process = process.clone();
                let bytes = chunk.to_vec();
                Command::Type { process, bytes }.to_line()
            })
            .collect()
    }

    /// A line typed on standard input in headless mode.
    pub fn parse_line(line: &str) -> Result<Command, CommandError> {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("b"), None) => Ok(Command::Build),
            (Some("u" | "rollback"), None) => Ok(Command::Rollback),
            (Some("x" | "cancel"), None) => Ok(Command::Cancel),
            (Some("q"), None) => Ok(Command::Quit {
                reason: "quit".into(),
            }),
            (Some("r"), Some(name)) if words.next().is_none() => Ok(Command::Restart(name.into())),
            (Some("s"), Some(name)) if words.next().is_none() => Ok(Command::Toggle(name.into())),
            (Some("type"), Some(name)) => match (words.next().and_then(from_hex), words.next()) {
                (Some(bytes), None) => Ok(Command::Type {
                    process: name.into(),
                    bytes,
                }),
                _ => Err(CommandError::Unknown(line.trim().to_string())),
            },
            _ => Err(CommandError::Unknown(line.trim().to_string())),
        }
    }
}

/// `type`'s bytes, two hex digits each.
fn from_hex(text: &str) -> Option<Vec<u8>> {
    let pairs = text.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// A line on standard input that is no command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(
        "unknown command `{0}`: b builds, x cancels the build, u rolls back, r NAME restarts a process, s NAME stops or starts it, q quits"
    )]
    Unknown(String),
    #[error("a line on standard input is longer than {0} bytes; skipped")]
    TooLong(usize),
    #[error("a line on standard input is not UTF-8; skipped")]
    NotUtf8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_keys_travel_as_a_line_and_back() {
        let typed = Command::Type {
            process: "vite".into(),
            bytes: b"h\r\x03\xff".to_vec(),
        };
        assert_eq!(typed.to_line(), "type vite 680d03ff");
        let pasted = Command::Type {
            process: "vite".into(),
            bytes: (0..=255).cycle().take(5_000).collect(),
        };
        let lines = pasted.to_lines(4095);
        assert_eq!(lines.len(), 3);
        let mut received = Vec::new();
        for line in &lines {
            assert!(line.len() <= 4095, "{}", line.len());
            match Command::parse_line(line) {
                Ok(Command::Type { process, bytes }) if process == "vite" => received.extend(bytes),
                other => panic!("{other:?}"),
            }
        }
        let Command::Type { bytes, .. } = pasted else {
            unreachable!()
        };
        assert_eq!(received, bytes);
        assert_eq!(Command::parse_line(&typed.to_line()), Ok(typed));
        assert!(Command::parse_line("type vite 6").is_err());
        assert!(Command::parse_line("type vite zz").is_err());
    }

    #[test]
    fn output_lines_are_written_as_serde_writes_them_and_read_back() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_790_000_000_123);
        for event in [
            Event::BuildOutput {
                build: 7,
                stream: Stream::Stderr,
                line: "quote \" back \\ tab \t é ✔".into(),
            },
            Event::ProcessOutput {
                process: "we\"b \u{0}".into(),
                stream: Stream::Stdout,
                line: String::new(),
            },
        ] {
            let stamped = Stamped { at, event };
            let fast = stamped.to_json();
            let body = serde_json::to_string(&stamped.event).unwrap();
            let ts = crate::clock::rfc3339_utc(at);
            assert_eq!(fast, format!("{{\"ts\":\"{ts}\",{}", &body[1..]));
            let back = Stamped::from_json(&fast).unwrap();
            assert_eq!(back.at, at);
            assert_eq!(back.to_json(), fast);
        }
    }

    #[test]
    fn an_output_line_in_json_is_its_text() {
        let stamped = Stamped::now(Event::ProcessOutput {
            process: "web".into(),
            stream: Stream::Stdout,
            line: "\x1b[31mred\x1b[0m \x1b[2Kok\u{0}".into(),
        });
        assert!(
            stamped.to_json().ends_with(r#""line":"red ok"}"#),
            "{}",
            stamped.to_json()
        );
    }

    #[test]
    fn json_has_ts_then_event_fields() {
        let stamped = Stamped::now(Event::BuildFinished {
            build: 3,
            status: BuildStatus::Timeout,
            exit_code: None,
            ms: 12,
            failure: None,
        });
        let json = stamped.to_json();
        assert!(json.starts_with("{\"ts\":\""), "{json}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["event"], "build_finished");
        assert_eq!(value["status"], "timeout");
        assert_eq!(value["exit_code"], serde_json::Value::Null);
        assert_eq!(value["build"], 3);
    }

    #[test]
    fn stdin_commands() {
        assert_eq!(Command::parse_line("b\n"), Ok(Command::Build));
        assert_eq!(Command::parse_line("u"), Ok(Command::Rollback));
        assert_eq!(Command::parse_line("rollback"), Ok(Command::Rollback));
        assert!(matches!(
            Command::parse_line(" q "),
            Ok(Command::Quit { .. })
        ));
        assert_eq!(Command::parse_line("x"), Ok(Command::Cancel));
        assert!(Command::parse_line("y").is_err());
        assert_eq!(
            Command::parse_line("r web"),
            Ok(Command::Restart("web".into()))
        );
        assert_eq!(
            Command::parse_line(" s api "),
            Ok(Command::Toggle("api".into()))
        );
        assert!(Command::parse_line("r").is_err());
        assert!(Command::parse_line("s a b").is_err());
    }

    #[test]
    fn commands_and_events_read_back() {
        for command in [
            Command::Build,
            Command::Rollback,
            Command::Restart("web".into()),
        ] {
            assert_eq!(Command::parse_line(&command.to_line()), Ok(command));
        }
        let stamped = Stamped::now(Event::ProcessExited {
            process: "web".into(),
            pid: 7,
            code: None,
            signal: Some("SIGKILL".into()),
            uptime_ms: 5,
        });
        let back = Stamped::from_json(&stamped.to_json()).unwrap();
        assert_eq!(back.event, stamped.event);
        assert_eq!(back.to_json(), stamped.to_json());
        assert!(Stamped::from_json("{\"ts\":\"x\",\"event\":\"shutdown\"}").is_none());
    }
}
