//! Headless output: prefixed lines or one JSON object per line, written by a
//! thread of its own so a slow stdout never stalls the engine's decisions;
//! and commands read from standard input.

use crate::engine::Input;
use crate::event::{Command, CommandError, Event, JsonLines, Stamped};
use std::io::Write;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// How events are written.
#[derive(Debug, Clone)]
pub enum Format {
    Json,
    Lines { color: bool, width: usize },
}

use crate::event::text::{BUILD, DEVLOOP};
pub use crate::event::text::{describe, describe_process, human_bytes, json_word, status_word};

/// Writes every event until the channel closes, then flushes.
pub fn spawn_sink(
    mut events: mpsc::Receiver<Stamped>,
    format: Format,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        // One writer for the run: it makes each millisecond's stamp once.
        let mut json = JsonLines::default();
        let mut line = Vec::new();
        while let Some(stamped) = events.blocking_recv() {
            line.clear();
            match &format {
                Format::Json => json.write(&mut line, &stamped),
                Format::Lines { color, width } => {
                    line.extend_from_slice(render_line(&stamped, *color, *width).as_bytes());
                    line.push(b'\n');
                }
            }
            let written = out.write_all(&line);
            // Flush when caught up, so readers see events promptly without a
            // write per line during floods.
            if written.is_err() || (events.is_empty() && out.flush().is_err()) {
                return;
            }
        }
        let _ = out.flush();
    })
}

/// The width sources are padded to: `devloop`, `build` and process names.
pub fn source_width<'a>(names: impl IntoIterator<Item = &'a str>) -> usize {
    names
        .into_iter()
        .map(str::len)
        .chain([DEVLOOP.len(), BUILD.len()])
        .max()
        .unwrap_or(0)
}

/// `HH:MM:SS.mmm source | text`; a child's line keeps its colours only when
/// colour is on, and never its cursor moves or clear-screens.
pub fn render_line(stamped: &Stamped, color: bool, width: usize) -> String {
    use crate::escapes::without_escapes;
    let (source, text) = match &stamped.event {
        Event::BuildOutput { line, .. } => (BUILD, without_escapes(line, color)),
        Event::ProcessOutput { process, line, .. } => {
            (process.as_str(), without_escapes(line, color))
        }
        event => {
            let (source, text) = describe(event);
            (source, std::borrow::Cow::Owned(text))
        }
    };
    let time = crate::clock::local_time_of_day(stamped.at);
    if color {
        let code = match (source, &stamped.event) {
            (_, Event::Error { .. }) => "31",
            (BUILD, _) => "36",
            (DEVLOOP, _) => "35",
            (process, _) => process_colour(process),
        };
        format!("\x1b[2m{time}\x1b[0m \x1b[{code}m{source:<width$}\x1b[0m | {text}")
    } else {
        format!("{time} {source:<width$} | {text}")
    }
}

/// A colour per process name, stable from run to run.
fn process_colour(name: &str) -> &'static str {
    const CODES: [&str; 6] = ["32", "33", "34", "92", "93", "94"];
    let sum = name
        .bytes()
        .fold(0usize, |sum, b| sum.wrapping_mul(31).wrapping_add(b.into()));
    CODES[sum % CODES.len()]
}

/// Longest command line read; longer lines are reported and skipped.
const MAX_COMMAND_LINE: usize = 4096;

/// Reads commands from standard input until it closes; a closed or empty
/// stdin (as in CI) just means no commands.
pub async fn read_commands(inbox: mpsc::Sender<Input>, events: mpsc::Sender<Stamped>) {
    read_commands_from(tokio::io::stdin(), inbox, events).await;
}

/// Reads command lines from `input`. A line that is not UTF-8, too long or
/// not a command is reported as an `error` event and skipped.
pub async fn read_commands_from(
    input: impl tokio::io::AsyncRead + Unpin,
    inbox: mpsc::Sender<Input>,
    events: mpsc::Sender<Stamped>,
) {
    let mut input = tokio::io::BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        let (ended, too_long) = match read_bounded_line(&mut input, &mut line).await {
            Ok(read) => read,
            Err(_) => return,
        };
        if ended && line.is_empty() {
            return;
        }
        let parsed = if too_long {
            Err(CommandError::TooLong(MAX_COMMAND_LINE))
        } else {
            match std::str::from_utf8(&line) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => Command::parse_line(text),
                Err(_) => Err(CommandError::NotUtf8),
            }
        };
        match parsed {
            Ok(command) => {
                if inbox.send(Input::Command(command)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                let message = error.to_string();
                let _ = events.send(Stamped::now(Event::Error { message })).await;
            }
        }
        if ended {
            return;
        }
    }
}

/// Reads up to a newline, keeping at most MAX_COMMAND_LINE bytes: (input
/// ended, line was too long).
async fn read_bounded_line(
    input: &mut (impl tokio::io::AsyncBufRead + Unpin),
    line: &mut Vec<u8>,
) -> std::io::Result<(bool, bool)> {
    let mut too_long = false;
    loop {
        let buffer = input.fill_buf().await?;
        if buffer.is_empty() {
            return Ok((true, too_long));
        }
        let (chunk, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (&buffer[..at], Some(at + 1)),
            None => (buffer, None),
        };
        if line.len() + chunk.len() > MAX_COMMAND_LINE {
            too_long = true;
            line.clear();
        } else if !too_long {
            line.extend_from_slice(chunk);
        }
        let used = done.unwrap_or(buffer.len());
        input.consume(used);
        if done.is_some() {
            return Ok((false, too_long));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{BuildReason, BuildStatus, RestartReason};

    #[test]
    fn lines_are_prefixed_and_padded() {
        let stamped = Stamped::now(Event::BuildStarted {
            build: 2,
            reason: BuildReason::Change,
        });
        let line = render_line(&stamped, false, 9);
        assert_eq!(&line[12..], " devloop   | build #2 started (change)");
        let output = Stamped::now(Event::BuildOutput {
            build: 2,
            stream: crate::event::Stream::Stderr,
            line: "tsc: ok".into(),
        });
        assert!(render_line(&output, false, 7).ends_with(" build   | tsc: ok"));
    }

    #[test]
    fn processes_are_sources_of_their_own() {
        let started = Stamped::now(Event::ProcessStarted {
            process: "web".into(),
            pid: 42,
            restarts: 0,
            port: None,
        });
        assert!(render_line(&started, false, 7).ends_with(" web     | started (pid 42)"));
        let restarting = Stamped::now(Event::ProcessRestarting {
            process: "api".into(),
            in_ms: 2000,
            reason: RestartReason::Exited,
        });
        let line = render_line(&restarting, false, 7);
        assert!(
            line.ends_with(" api     | restarting in 2s: it exited"),
            "{line}"
        );
        let coloured = render_line(&restarting, true, 7);
        assert!(coloured.contains(&format!("\x1b[{}m", process_colour("api"))));
    }

    #[test]
    fn colour_only_when_asked() {
        let stamped = Stamped::now(Event::Error {
            message: "x".into(),
        });
        assert!(!render_line(&stamped, false, 7).contains('\x1b'));
        assert!(render_line(&stamped, true, 7).contains("\x1b[31m"));
    }

    #[test]
    fn a_failed_warm_cycle_says_its_line_not_a_signal() {
        let finished = |exit_code, failure: Option<&str>| {
            let event = Event::BuildFinished {
                build: 7,
                status: BuildStatus::Failed,
                exit_code,
                ms: 1200,
                failure: failure.map(str::to_string),
            };
            render_line(&Stamped::now(event), false, 7)
        };
        let warm = finished(None, Some("a.ts(1,7): error TS2322: no"));
        assert!(
            warm.ends_with("| build #7 failed: a.ts(1,7): error TS2322: no"),
            "{warm}"
        );
        assert!(finished(None, None).contains("killed by a signal"));
        assert!(finished(Some(2), None).contains("exit code 2"));
    }

    async fn commands_of(bytes: Vec<u8>) -> (Vec<Command>, usize) {
        let (inbox_tx, mut inbox) = mpsc::channel(1 << 16);
        let (events_tx, mut events) = mpsc::channel(1 << 16);
        read_commands_from(&bytes[..], inbox_tx, events_tx).await;
        let mut commands = Vec::new();
        while let Ok(Input::Command(command)) = inbox.try_recv() {
            commands.push(command);
        }
        let mut errors = 0;
        while events.try_recv().is_ok() {
            errors += 1;
        }
        (commands, errors)
    }

    #[tokio::test]
    async fn bad_lines_are_reported_and_reading_goes_on() {
        let mut input = b"\xff\xfe b\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend(b"\nnonsense\nb\n\n  \nu");
        let (commands, errors) = commands_of(input).await;
        assert_eq!(commands, vec![Command::Build, Command::Rollback]);
        assert_eq!(errors, 3, "not UTF-8, too long, unknown");
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic_and_a_command_after_them_is_read(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..6000)
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let mut input = bytes.clone();
            input.extend(b"\nb\n");
            let (commands, _) = runtime.block_on(commands_of(input));
            proptest::prop_assert_eq!(commands.last(), Some(&Command::Build));
        }
    }
}
