//! The commands, from parsed arguments to an exit status. Every error reaches
//! the user here, as one message.

use crate::check::describe;
use crate::cli::{Cli, CommandName};
use crate::config::Config;
use crate::engine::{Engine, Input};
use crate::event::{Command, Event, Stamped};
use crate::headless::{Format, read_commands, source_width, spawn_sink};
use crate::lock::WorkspaceLock;
use crate::share::{self, Hub, Local};
use crate::supervise::{self, Supervisor};
use crate::ui;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Exit status for a usage or configuration error (SPEC section 1).
pub const EXIT_USAGE: u8 = 2;
/// Exit status for a failed job.
pub const EXIT_FAILED: u8 = 1;

pub fn main(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(CommandName::Run) {
        // init writes the configuration, so it cannot need one.
        CommandName::Init { force, apply } => crate::init::main(&cli.config_path(), force, apply),
        CommandName::Check => with_config(&cli, |config| {
            println!("{}", describe(&config));
            ExitCode::SUCCESS
        }),
        CommandName::Run => with_config(&cli, |config| run(&cli, config)),
        CommandName::Build => with_config(&cli, |config| {
            one_job(&cli, config, |config, events| async move {
                crate::oneshot::build(&config, events).await
            })
        }),
        CommandName::Attach { control } => with_config(&cli, |config| {
            crate::attach::attach(&config, control, cli.json)
        }),
        CommandName::Status => with_config(&cli, |config| crate::attach::status(&config, cli.json)),
        CommandName::Rollback => with_config(&cli, |config| {
            one_job(&cli, config, |config, events| async move {
                crate::oneshot::rollback(&config, events).await
            })
        }),
    }
}

/// Loads watch.toml and hands it to `command`, or exits 2 with the error.
fn with_config(cli: &Cli, command: impl FnOnce(Config) -> ExitCode) -> ExitCode {
    match Config::load(&cli.config_path()) {
        Ok(config) => command(config),
        Err(error) => fail(EXIT_USAGE, &error.to_string()),
    }
}

/// The workspace lock and a runtime: what every job that changes the
/// workspace starts with.
fn lock_and_runtime(config: &Config) -> Result<(WorkspaceLock, tokio::runtime::Runtime), ExitCode> {
    let lock = WorkspaceLock::acquire(&config.state_dir())
        .map_err(|e| fail(EXIT_USAGE, &e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(EXIT_FAILED, &format!("cannot start the runtime: {e}")))?;
    Ok((lock, runtime))
}

/// Runs a one-shot job with the workspace lock and a headless sink: exit 0
/// when it succeeded, 1 when not.
fn one_job<F, Fut>(cli: &Cli, config: Config, job: F) -> ExitCode
where
    F: FnOnce(Config, mpsc::Sender<crate::event::Stamped>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let (_lock, runtime) = match lock_and_runtime(&config) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let (events_tx, events_rx) = mpsc::channel(1024);
    start_watchdog(&events_tx);
    let sink = spawn_sink(events_rx, line_format(cli, &config));
    let succeeded = runtime.block_on(job(config, events_tx));
    runtime.shutdown_background();
    let _ = sink.join();
    if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// Before any child starts: what stops them if devloop is killed.
fn start_watchdog(events: &mpsc::Sender<Stamped>) {
    if let Err(error) = crate::watchdog::start() {
        let message = error.to_string();
        let _ = events.try_send(Stamped::now(Event::Error { message }));
    }
}

pub fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("devloop: error: {message}");
    ExitCode::from(code)
}

fn run(cli: &Cli, config: Config) -> ExitCode {
    let (_lock, runtime) = match lock_and_runtime(&config) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let (events_tx, events_rx) = mpsc::channel(1024);
    start_watchdog(&events_tx);
    let (actions_tx, actions) = mpsc::channel(64);
    let headless = cli.headless || cli.json || !std::io::stdout().is_terminal();
    let names: Vec<String> = config.processes.iter().map(|p| p.name.clone()).collect();
    // In the TUI, processes run on terminals: the panes' sizes go to them.
    let terminals = (!headless).then(supervise::terminals::channel);
    let (local, sink, selection) = if headless {
        let (tx, rx) = mpsc::channel(share::LOCAL_QUEUE);
        let sink = spawn_sink(rx, line_format(cli, &config));
        (Local::Lines(tx), sink, None)
    } else {
        let (tx, rx) = mpsc::channel(share::LOCAL_ROUNDS);
        let mut app = ui::App::new(&names, config.ui.scrollback);
        let (selected, selection) = tokio::sync::watch::channel(0);
        app.shared_selection = Some(selected);
        app.terminals = terminals.as_ref().map(|(to, _)| to.clone());
        match ui::spawn(rx, actions_tx, app) {
            Ok(sink) => (Local::Tui(tx), sink, Some(selection)),
            Err(error) => {
                let message = format!("cannot open the terminal UI: {error} (try --headless)");
                return fail(EXIT_FAILED, &message);
            }
        }
    };
    let hub = Hub::new(&names, config.ui.scrollback, local, selection);
    let color = cli.color();
    let result = runtime.block_on(async move {
        let config = Arc::new(config);
        let (control_tx, control_rx) = mpsc::channel(16);
        let (finish_tx, finish_rx) = oneshot::channel();
        let hub = tokio::spawn(hub.run(events_rx, control_rx, finish_rx));
        let options = supervise::Options { color, terminals };
        let supervisor = Supervisor::spawn(config.clone(), events_tx.clone(), options);
        let (engine, inbox) = Engine::new(config.clone(), events_tx.clone(), supervisor);
        let state = config.state_dir();
        let socket = match share::serve(&state, control_tx, inbox.clone(), events_tx.clone()) {
            Ok(guard) => Some(guard),
            Err(error) => {
                let message = error.to_string();
                let _ = events_tx.send(Stamped::now(Event::Error { message })).await;
                None
            }
        };
        if headless {
            tokio::spawn(read_commands(inbox.clone(), events_tx));
        } else {
            tokio::spawn(forward_actions(actions, inbox.clone()));
        }
        forward_signals(inbox)?;
        let result = engine.run().await;
        // Viewers see the end, then the socket goes.
        let _ = finish_tx.send(());
        let _ = hub.await;
        if let Some(socket) = socket {
            socket.close(share::VIEWER_GRACE).await;
        }
        result
    });
    // Stdin's reader thread may be blocked in read(2): do not wait for it.
    runtime.shutdown_background();
    // Nor for an output nobody reads: what it has not written is lost anyway.
    let sink_crashed = join_within(sink, SINK_GRACE).is_some_and(|r| r.is_err());
    match result {
        Err(error) => fail(EXIT_FAILED, &error.to_string()),
        Ok(()) if sink_crashed => fail(
            EXIT_FAILED,
            "the output stopped unexpectedly (see the panic above); every process was stopped",
        ),
        Ok(()) => ExitCode::SUCCESS,
    }
}

/// How long the output may take to finish writing at exit.
const SINK_GRACE: Duration = Duration::from_millis(800);

/// The thread's result if it ends within `limit`.
fn join_within<T>(
    thread: std::thread::JoinHandle<T>,
    limit: Duration,
) -> Option<std::thread::Result<T>> {
    let deadline = std::time::Instant::now() + limit;
    while !thread.is_finished() {
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Some(thread.join())
}

fn line_format(cli: &Cli, config: &Config) -> Format {
    if cli.json {
        return Format::Json;
    }
    let names = config.processes.iter().map(|p| p.name.as_str());
    Format::Lines {
        color: cli.color(),
        width: source_width(names),
    }
}

/// What the user asks for in the TUI, into the engine's inbox.
async fn forward_actions(mut actions: mpsc::Receiver<Command>, inbox: mpsc::Sender<Input>) {
    while let Some(command) = actions.recv().await {
        if inbox.send(Input::Command(command)).await.is_err() {
            return;
        }
    }
    // The TUI is gone without asking to quit (it crashed): stop everything.
    let reason = "the terminal UI stopped".to_string();
    let _ = inbox.send(Input::Command(Command::Quit { reason })).await;
}

/// SIGINT, SIGTERM, SIGHUP (the terminal closed) and SIGQUIT become a
/// graceful quit.
fn forward_signals(inbox: mpsc::Sender<Input>) -> Result<(), crate::platform::SignalError> {
    let mut signals = crate::platform::quit_signals()?;
    tokio::spawn(async move {
        while let Some(name) = signals.recv().await {
            let quit = Command::Quit {
                reason: name.into(),
            };
            if inbox.send(Input::Command(quit)).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}
