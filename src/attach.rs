//! `devloop attach` and `devloop status`: a viewer of a running devloop,
//! over the socket in its state directory (see share::protocol).

use crate::app::{EXIT_FAILED, EXIT_USAGE};
use crate::config::Config;
use crate::event::{Command, JsonLines};
use crate::share::frame::{ReadError, Reader};
use crate::share::protocol::{Hello, Message};
use crate::ui::state::{BuildState, ProcessState};
use crate::ui::{self, App, Feed, Remote};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::SystemTime;
use tokio::sync::mpsc;

/// Events read from the socket handed to the TUI in one piece, at most.
const EVENTS_AT_ONCE: usize = 512;
/// Pieces queued for the TUI; the socket waits when they are full.
const FEED_QUEUE: usize = 64;

/// An open connection: the host's hello and the rest of its frames.
struct Connection {
    hello: Hello,
    frames: Reader<UnixStream>,
    write: UnixStream,
}

/// Why there is nothing to attach to.
#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("no devloop is running in {} ({why}); start one with `devloop run`", root.display())]
    Nothing {
        root: std::path::PathBuf,
        why: String,
    },
    #[error(
        "the devloop running in {} is an older version, which this one cannot view; attach with the devloop that runs it",
        root.display()
    )]
    OlderHost { root: std::path::PathBuf },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn connect(config: &Config, control: bool) -> Result<Connection, ConnectError> {
    let path = crate::share::socket_path(&config.state_dir());
    let nothing = |why: String| ConnectError::Nothing {
        root: config.root.clone(),
        why,
    };
    let mut write = UnixStream::connect(&path)
        .map_err(|_| nothing(format!("nothing answers on {}", path.display())))?;
    let first = if control { "control\n" } else { "view\n" };
    write
        .write_all(first.as_bytes())
        .map_err(|e| nothing(e.to_string()))?;
    let mut frames = Reader::new(write.try_clone()?);
    let hello = match frames.read() {
        Ok(Message::Hello(hello)) => hello,
        Err(ReadError::OlderHost) => {
            return Err(ConnectError::OlderHost {
                root: config.root.clone(),
            });
        }
        _ => return Err(nothing("the socket did not answer as devloop does".into())),
    };
    frames.set_processes(&hello.processes);
    Ok(Connection {
        hello,
        frames,
        write,
    })
}

pub fn attach(config: &Config, control: bool, json: bool) -> ExitCode {
    let connection = match connect(config, control) {
        Ok(connection) => connection,
        Err(error) => return crate::app::fail(EXIT_USAGE, &error.to_string()),
    };
    if json {
        print_json(connection)
    } else {
        view(config, connection, control)
    }
}

/// The history and then the live events, as `--json` prints them: JSON
/// frames copied, output frames written as JSON here, not by the host.
fn print_json(mut connection: Connection) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut json = JsonLines::default();
    let mut line = Vec::new();
    let frames = &mut connection.frames;
    while let Ok(message) = frames.read() {
        // A screen's bytes: `--json` has the same output as lines.
        if let Message::Event(event) = message
            && !matches!(event.event, crate::event::Event::ProcessTerminal { .. })
        {
            line.clear();
            match frames.last_json() {
                Some(text) => {
                    line.extend_from_slice(text.as_bytes());
                    line.push(b'\n');
                }
                None => json.write(&mut line, &event),
            }
            if out.write_all(&line).is_err() {
                return ExitCode::SUCCESS;
            }
        }
        if !frames.has_buffered() && out.flush().is_err() {
            return ExitCode::SUCCESS;
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// The TUI over the host's stream; commands go back as stdin lines.
fn view(config: &Config, connection: Connection, control: bool) -> ExitCode {
    let Connection {
        hello,
        mut frames,
        write,
    } = connection;
    let write = std::sync::Arc::new(std::sync::Mutex::new(write));
    let mut app = App::new(&hello.processes, hello.scrollback);
    app.viewers = hello.viewers;
    app.remote = Some(Remote {
        host: hello.host.clone(),
        control,
        follow: false,
        host_selected: hello.selected,
        ended: None,
    });
    let (feed_tx, feed_rx) = mpsc::channel(FEED_QUEUE);
    let (actions_tx, mut actions) = mpsc::channel::<Command>(64);
    let tui = match ui::spawn(feed_rx, actions_tx, app) {
        Ok(tui) => tui,
        Err(error) => {
            return crate::app::fail(
                EXIT_FAILED,
                &format!("cannot open the terminal UI: {error}"),
            );
        }
    };
    let config = config.clone();
    let writer = write.clone();
    std::thread::spawn(move || {
        // Events already read are handed over together: one wakeup of the
        // TUI's thread for a burst.
        let mut events = Vec::new();
        loop {
            let message = match frames.read() {
                Ok(message) => message,
                Err(error) => {
                    if !events.is_empty() {
                        let _ = feed_tx.blocking_send(Feed::Events(std::mem::take(&mut events)));
                    }
                    // Otherwise the TUI says the connection closed when
                    // this thread ends.
                    if let ReadError::Garbled(what) = error {
                        let why = format!("devloop sent {what}; this view stopped reading");
                        let _ = feed_tx.blocking_send(Feed::Ended(why));
                    }
                    return;
                }
            };
            let item = match message {
                Message::Event(event) => {
                    events.push(event);
                    if frames.has_buffered() && events.len() < EVENTS_AT_ONCE {
                        continue;
                    }
                    Feed::Events(std::mem::take(&mut events))
                }
                Message::Viewers(count) => Feed::Viewers(count),
                Message::Selected(pane) => Feed::HostSelected(pane),
                // Fell behind: attach again, from the history.
                Message::Dropped => match connect(&config, control) {
                    Ok(again) => {
                        frames = again.frames;
                        if let Ok(mut write) = writer.lock() {
                            *write = again.write;
                        }
                        events.clear();
                        Feed::Reattached {
                            processes: again.hello.processes,
                            scrollback: again.hello.scrollback,
                        }
                    }
                    Err(error) => Feed::Ended(error.to_string()),
                },
                Message::Hello(_) | Message::Live | Message::Other => continue,
            };
            if !events.is_empty()
                && feed_tx
                    .blocking_send(Feed::Events(std::mem::take(&mut events)))
                    .is_err()
            {
                return;
            }
            if feed_tx.blocking_send(item).is_err() {
                return;
            }
        }
    });
    while let Some(command) = actions.blocking_recv() {
        // The host reads lines of at most MAX_LINE bytes, newline included.
        let mut lines = String::new();
        for line in command.to_lines(crate::share::protocol::MAX_LINE - 1) {
            lines.push_str(&line);
            lines.push('\n');
        }
        let Ok(mut write) = write.lock() else { break };
        if write.write_all(lines.as_bytes()).is_err() {
            break;
        }
    }
    if let Ok(write) = write.lock() {
        let _ = write.shutdown(std::net::Shutdown::Both);
    }
    match tui.join() {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(EXIT_FAILED),
    }
}

/// `devloop status`: the state the history leaves, printed once.
pub fn status(config: &Config, json: bool) -> ExitCode {
    let mut connection = match connect(config, false) {
        Ok(connection) => connection,
        Err(error) => return crate::app::fail(EXIT_FAILED, &error.to_string()),
    };
    let hello = connection.hello.clone();
    let mut app = App::new(&hello.processes, hello.scrollback);
    while let Ok(message) = connection.frames.read() {
        match message {
            Message::Event(event) => app.apply(&event),
            Message::Live => break,
            _ => {}
        }
    }
    let now = SystemTime::now();
    if json {
        println!("{}", status_json(&hello, &app, now));
    } else {
        println!(
            "devloop {} · {} attached",
            hello.host,
            hello.viewers.saturating_sub(1)
        );
        for index in 0..app.panes.len() {
            println!("{}", app.title(index, now).trim());
        }
    }
    ExitCode::SUCCESS
}

fn status_json(hello: &Hello, app: &App, now: SystemTime) -> serde_json::Value {
    let build_state = match &app.build.state {
        BuildState::Idle => "idle".to_string(),
        BuildState::Running { .. } => "running".to_string(),
        BuildState::Finished { status, .. } => crate::event::text::status_word(*status),
    };
    let processes: Vec<serde_json::Value> = app
        .panes
        .iter()
        .filter_map(|pane| match &pane.kind {
            ui::app_pane::PaneKind::Process(view) => Some(view),
            ui::app_pane::PaneKind::Build => None,
        })
        .map(|view| {
            let up = matches!(
                view.state,
                ProcessState::Starting | ProcessState::Running | ProcessState::Ready
            );
            let uptime_ms = view
                .since
                .filter(|_| up)
                .map(|since| now.duration_since(since).unwrap_or_default().as_millis() as u64);
            serde_json::json!({
                "name": view.name,
                "state": view.state.label().1,
                "pid": view.pid.filter(|_| up),
                "restarts": view.restarts,
                "uptime_ms": uptime_ms,
            })
        })
        .collect();
    serde_json::json!({
        "host": hello.host,
        "viewers": hello.viewers.saturating_sub(1),
        "build": {
            "number": app.build.number,
            "state": build_state,
            "generation": app.build.generation,
        },
        "processes": processes,
    })
}
