//! The TUI: a consumer of the same event stream as headless mode, sending the
//! same commands. It runs on a thread of its own, so a flood of output never
//! waits on the engine and a key press never waits on a flood.

mod ansi;
mod app;
mod help;
mod input;
mod keys;
mod pane;
mod render;
mod screen;
mod search;
pub mod state;
mod terminal;

pub use app::{Action, App, Feed, Remote};
/// The pane types, for readers of an `App` such as `devloop status`.
pub mod app_pane {
    pub use super::app::{Pane, PaneKind};
}
pub use render::render;

use crate::event::Command;
use crossterm::event::Event as TermEvent;
use std::time::{Duration, SystemTime};
use terminal::TerminalGuard;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// At most about 30 frames a second, however fast events come.
const FRAME: Duration = Duration::from_millis(33);
/// Redraws at least this often, for the times in the titles.
const TICK: Duration = Duration::from_secs(1);
/// Events folded in before looking at keys again.
const EVENTS_PER_TURN: usize = 512;

/// Runs the TUI until `events` closes (a viewer: until the user leaves);
/// `actions` carries the commands the user gives. The terminal is restored
/// before this returns.
pub fn spawn(
    events: mpsc::Receiver<Feed>,
    actions: mpsc::Sender<Command>,
    app: App,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let guard = TerminalGuard::enter()?;
    Ok(std::thread::spawn(move || {
        // Signals need the I/O driver: a viewer leaves on a hangup.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            runtime.block_on(run(guard, events, actions, app));
        }
    }))
}

async fn run(
    mut guard: TerminalGuard,
    mut events: mpsc::Receiver<Feed>,
    actions: mpsc::Sender<Command>,
    mut app: App,
) {
    let (term_tx, mut terminal_events) = mpsc::channel(256);
    // crossterm's read blocks; a thread of its own forwards keys, mouse and resizes.
    std::thread::spawn(move || {
        while let Ok(event) = crossterm::event::read() {
            if term_tx.blocking_send(event).is_err() {
                return;
            }
        }
    });
    if let Ok(size) = guard.terminal.size() {
        app.size = (size.width, size.height);
    }
    // A viewer's terminal closing (SIGHUP), or SIGTERM, ends that view only;
    // the host's signals stop the whole run through its engine instead.
    let mut leave_signals = match app.remote {
        Some(_) => crate::platform::quit_signals().ok(),
        None => None,
    };
    let mut next_frame = Instant::now();
    let mut next_tick = Instant::now() + TICK;
    let mut dirty = true;
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            Some(event) = terminal_events.recv() => {
                match event {
                    TermEvent::Key(key) => {
                        test_panic(&key);
                        match input::handle_key(&mut app, key) {
                            Some(Action::Leave) => break,
                            Some(Action::Engine(command)) if app.may_send(&command) => {
                                let _ = actions.send(command).await;
                            }
                            _ => {}
                        }
                    }
                    TermEvent::Mouse(mouse) => input::handle_mouse(&mut app, mouse),
                    TermEvent::Paste(text) => {
                        if let Some(Action::Engine(command)) = input::handle_paste(&mut app, &text) {
                            let _ = actions.send(command).await;
                        }
                    }
                    TermEvent::Resize(width, height) => app.size = (width, height),
                    _ => {}
                }
                // Answer input at once rather than at the next frame.
                next_frame = Instant::now();
                dirty = true;
            }
            Some(_) = async { leave_signals.as_mut()?.recv().await } => break,
            event = events.recv(), if open => match event {
                Some(event) => {
                    app.feed(&event);
                    let mut fed = event.events();
                    while fed < EVENTS_PER_TURN {
                        match events.try_recv() {
                            Ok(event) => {
                                app.feed(&event);
                                fed += event.events();
                            }
                            Err(_) => break,
                        }
                    }
                    dirty = true;
                }
                // A viewer keeps showing what it had until the user leaves.
                None if app.remote.is_some() => {
                    app.feed(&Feed::Ended("the connection to devloop closed".into()));
                    open = false;
                    dirty = true;
                }
                None => break,
            },
            _ = sleep_until(next_tick) => {
                // Titles show running times.
                dirty = true;
                next_tick = Instant::now() + TICK;
            }
            _ = sleep_until(next_frame), if dirty => {
                app.prepare_frame();
                if guard.terminal.draw(|frame| render(&app, frame, SystemTime::now())).is_err() {
                    break;
                }
                dirty = false;
                next_frame = Instant::now() + FRAME;
            }
        }
    }
    drop(guard);
}

/// With DEVLOOP_TEST_PANIC set, `P` panics: the tests' way to show that a
/// panic restores the terminal and stops every process, in the shipped
/// (release, static musl) binary too, whose unwinding is the one at stake.
fn test_panic(key: &crossterm::event::KeyEvent) {
    if key.code == crossterm::event::KeyCode::Char('P')
        && std::env::var_os("DEVLOOP_TEST_PANIC").is_some()
    {
        panic!("panic requested with DEVLOOP_TEST_PANIC");
    }
}

#[cfg(test)]
mod tests;
