//! The TUI's state: panes, selection, zoom, search, help. Events fold into
//! it; keys and the mouse change it or ask the engine for something. It
//! decides nothing about builds or processes.

use super::pane::Scrollback;
use super::screen::Terminal;
use super::state::{BuildState, BuildView, ProcessState, ProcessView};
use crate::child::pty::Size;
use crate::event::{BuildReason, Command, Event, Stamped};
use crate::supervise::terminals::ToTerminal;
use std::collections::HashMap;
use std::time::SystemTime;

/// What a key asks for beyond the view: a command for the engine, or (in
/// a viewer) leaving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Engine(Command),
    Leave,
}

/// What feeds a TUI: the host's events, and for viewers news of the host.
#[derive(Debug, Clone)]
pub enum Feed {
    Event(Stamped),
    /// Several events in the order they happened: one wakeup for a burst.
    Events(Vec<Stamped>),
    /// How many viewers are attached.
    Viewers(usize),
    /// The pane the host has selected.
    HostSelected(usize),
    /// The stream ended without a shutdown: why.
    Ended(String),
    /// A viewer attached again (it had fallen behind): the panes start
    /// over from the host's history.
    Reattached {
        processes: Vec<String>,
        scrollback: usize,
    },
}

/// A viewer attached to a running devloop (`devloop attach`).
#[derive(Debug, Clone, Default)]
pub struct Remote {
    /// `user@host (pid N)`
    pub host: String,
    pub control: bool,
    /// Selection follows the host's (`f`).
    pub follow: bool,
    pub host_selected: usize,
    /// Set when the stream ended: the view stays until `q`.
    pub ended: Option<String>,
}

pub enum PaneKind {
    Build,
    Process(ProcessView),
}

pub struct Pane {
    pub kind: PaneKind,
    pub lines: Scrollback,
    /// A process on a terminal (on the host): its screen.
    pub screen: Option<Terminal>,
}

impl Pane {
    fn process(name: &str, scrollback: usize) -> Pane {
        Pane {
            kind: PaneKind::Process(ProcessView::new(name)),
            lines: Scrollback::new(scrollback),
            screen: None,
        }
    }

    /// A line of devloop's own: in the history, and on the screen below
    /// what the process wrote (unless a full-screen program has it).
    fn devloop_line(&mut self, at: SystemTime, line: &str) {
        self.lines.push(at, line);
        let Some(screen) = &mut self.screen else {
            return;
        };
        screen.settle();
        if !screen.screen().alternate_screen() {
            let fresh_line = if screen.screen().cursor_position().1 == 0 {
                ""
            } else {
                "\r\n"
            };
            screen.feed(format!("{fresh_line}{line}\r\n").as_bytes());
        }
    }

    pub fn name(&self) -> &str {
        match &self.kind {
            PaneKind::Build => "build",
            PaneKind::Process(view) => &view.name,
        }
    }
}

#[derive(Default)]
pub struct Search {
    /// The query being typed after `/`.
    pub typing: Option<String>,
    /// The confirmed query, highlighted in every pane.
    pub query: String,
    /// The line number (`Scrollback::number`) of the current match in the
    /// selected pane, so it stays put while old lines drop.
    pub current: Option<usize>,
}

pub struct App {
    pub build: BuildView,
    /// The build's pane first, then one per process in watch.toml order.
    pub panes: Vec<Pane>,
    pub selected: usize,
    pub zoomed: bool,
    pub help: bool,
    pub timestamps: bool,
    pub search: Search,
    /// `libs (201 directories)`, once watching.
    pub watching: Option<String>,
    pub last_change: Option<(usize, SystemTime)>,
    /// Terminal size, for page scrolling and mouse hit tests.
    pub size: (u16, u16),
    /// Set in a viewer.
    pub remote: Option<Remote>,
    /// Viewers attached (host and viewers alike).
    pub viewers: usize,
    /// A short answer to the last key, like a refused command.
    pub message: Option<String>,
    /// The host publishes its selection here for viewers that follow it.
    pub shared_selection: Option<tokio::sync::watch::Sender<usize>>,
    /// The host's processes run on terminals: their keys and pane sizes go here.
    pub terminals: Option<tokio::sync::mpsc::UnboundedSender<ToTerminal>>,
    /// The pane the keyboard was handed to (`i`), until Ctrl-Z.
    pub typing: Option<usize>,
    /// The size last told each process's terminal.
    told: HashMap<String, Size>,
}

impl Feed {
    /// How many events this carries, for taking turns with the keys.
    pub fn events(&self) -> usize {
        match self {
            Feed::Events(events) => events.len(),
            _ => 1,
        }
    }
}

impl App {
    pub fn new(process_names: &[String], scrollback: usize) -> App {
        let build = Pane {
            kind: PaneKind::Build,
            lines: Scrollback::new(scrollback),
            screen: None,
        };
        let processes = process_names
            .iter()
            .map(|name| Pane::process(name, scrollback));
        App {
            build: BuildView {
                number: 0,
                state: BuildState::Idle,
                generation: None,
                strategy: None,
            },
            panes: std::iter::once(build).chain(processes).collect(),
            selected: 0,
            zoomed: false,
            help: false,
            timestamps: false,
            search: Search::default(),
            watching: None,
            last_change: None,
            size: (80, 24),
            remote: None,
            viewers: 0,
            message: None,
            shared_selection: None,
            terminals: None,
            typing: None,
            told: HashMap::new(),
        }
    }

    /// Folds in one item of the feed.
    pub fn feed(&mut self, item: &Feed) {
        match item {
            Feed::Event(event) => self.apply(event),
            Feed::Events(events) => events.iter().for_each(|event| self.apply(event)),
            Feed::Viewers(count) => self.viewers = *count,
            Feed::HostSelected(index) => {
                if let Some(remote) = &mut self.remote {
                    remote.host_selected = *index;
                    if remote.follow {
                        self.select(*index);
                    }
                }
            }
            Feed::Reattached {
                processes,
                scrollback,
            } => {
                let mut fresh = App::new(processes, *scrollback);
                fresh.selected = self.selected.min(fresh.panes.len() - 1);
                fresh.zoomed = self.zoomed;
                fresh.timestamps = self.timestamps;
                fresh.size = self.size;
                fresh.viewers = self.viewers;
                fresh.remote = self.remote.take();
                fresh.message = Some("this view fell behind and attached again".into());
                *self = fresh;
            }
            Feed::Ended(why) => {
                if let Some(remote) = &mut self.remote {
                    remote.ended.get_or_insert_with(|| why.clone());
                }
            }
        }
    }

    /// Whether this view may send `command`; if not, says why in `message`.
    pub fn may_send(&mut self, command: &Command) -> bool {
        match &self.remote {
            Some(remote) if !remote.control => {
                let _ = command;
                self.message = Some("read-only: attach with --control".into());
                false
            }
            _ => true,
        }
    }

    pub fn title(&self, index: usize, now: SystemTime) -> String {
        match &self.panes[index].kind {
            PaneKind::Build => self.build.title(now),
            PaneKind::Process(view) => view.title(now),
        }
    }

    fn build_lines(&mut self) -> &mut Scrollback {
        &mut self.panes[0].lines
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, stamped: &Stamped) {
        let at = stamped.at;
        match &stamped.event {
            Event::Watching { paths, dirs, .. } => {
                self.watching = Some(format!("{} ({dirs} directories)", paths.join(", ")));
            }
            Event::Change { count, .. } => self.last_change = Some((*count, at)),
            Event::BuildStarted { build, reason } => {
                self.build.number = *build;
                self.build.state = BuildState::Running { since: at };
                let why = match reason {
                    BuildReason::Startup => "startup",
                    BuildReason::Change => "change",
                    BuildReason::Manual => "manual",
                };
                self.build_lines().push(
                    at,
                    &format!("\x1b[2m── build #{build} started ({why})\x1b[0m"),
                );
            }
            Event::BuildOutput { line, .. } => self.build_lines().push(at, line),
            Event::BuildFinished {
                build,
                status,
                exit_code,
                ms,
                ..
            } => {
                self.build.number = *build;
                self.build.state = BuildState::Finished {
                    status: *status,
                    exit_code: *exit_code,
                    ms: *ms,
                };
                let word = crate::event::text::status_word(*status);
                self.build_lines()
                    .push(at, &format!("\x1b[2m── build #{build} {word}\x1b[0m"));
            }
            Event::Error { message } => self
                .build_lines()
                .push(at, &format!("\x1b[31merror: {message}\x1b[0m")),
            Event::Promoted {
                generation,
                strategy,
                ..
            } => {
                self.build.generation = Some(*generation);
                self.build.strategy = Some(crate::event::text::json_word(strategy));
                self.devloop_line(stamped);
            }
            Event::RolledBack { generation, .. } => {
                self.build.generation = Some(*generation);
                self.build.strategy = Some("rolled back".to_string());
                self.devloop_line(stamped);
            }
            Event::PromoteFailed { .. } | Event::Notice { .. } => self.devloop_line(stamped),
            Event::ConfigReloaded { added, .. } => {
                // Panes only ever grow: a removed process's keeps its last output.
                let scrollback = self.build_lines().capacity();
                for name in added {
                    if !self.panes.iter().any(|p| p.name() == name) {
                        self.panes.push(Pane::process(name, scrollback));
                    }
                }
                self.devloop_line(stamped);
            }
            Event::Shutdown { reason } => {
                if let Some(remote) = &mut self.remote {
                    remote.ended = Some(format!("devloop stopped ({reason})"));
                }
            }
            Event::ProcessTerminal {
                process,
                rows,
                cols,
                bytes,
            } => self.feed_terminal(
                process,
                Size {
                    rows: *rows,
                    cols: *cols,
                },
                bytes,
            ),
            event if event.process().is_some() => self.apply_process(stamped),
            _ => {}
        }
    }

    /// Bytes a process wrote on its terminal (of `size`), into its pane's
    /// screen. A viewer's screen has the host's size, cut to its own pane.
    fn feed_terminal(&mut self, process: &str, size: Size, bytes: &[u8]) {
        let Some(pane) = self.panes.iter_mut().find(|p| p.name() == process) else {
            return;
        };
        let screen = pane
            .screen
            .get_or_insert_with(|| Terminal::new(size.rows, size.cols));
        // The host sizes its screens to its panes itself (`fit_terminals`),
        // ahead of the bytes written at the size before.
        if self.terminals.is_none() {
            screen.resize(size.rows, size.cols);
        }
        screen.feed(bytes);
    }

    /// Before a frame: each screen parses what came since the last one,
    /// and (on the host) fits its pane.
    pub fn prepare_frame(&mut self) {
        for pane in &mut self.panes {
            if let Some(screen) = &mut pane.screen {
                screen.settle();
            }
        }
        self.fit_terminals();
    }

    /// Fits each screen to its pane, and tells each process's terminal its
    /// pane's size when it changed (before the first start, too).
    fn fit_terminals(&mut self) {
        let Some(terminals) = &self.terminals else {
            return;
        };
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        let zoomed = self.zoomed.then_some(self.selected);
        let areas =
            super::render::pane_areas(super::render::panes_area(area), self.panes.len(), zoomed);
        for (index, rect) in areas {
            let pane = &mut self.panes[index];
            let PaneKind::Process(view) = &pane.kind else {
                continue;
            };
            // Inside the border.
            let size = Size {
                rows: rect.height.saturating_sub(2).max(super::screen::MIN_ROWS),
                cols: rect.width.saturating_sub(2).max(1),
            };
            if let Some(screen) = &mut pane.screen {
                screen.resize(size.rows, size.cols);
            }
            if self.told.get(&view.name) != Some(&size) {
                self.told.insert(view.name.clone(), size);
                let process = view.name.clone();
                let _ = terminals.send(ToTerminal::Resize { process, size });
            }
        }
    }

    /// What was typed into the pane the keyboard is handed to, for the
    /// engine (the host's, from a viewer).
    pub fn type_into(&self, bytes: Vec<u8>) -> Option<Action> {
        let process = self.panes.get(self.typing?)?.name().to_string();
        Some(Action::Engine(Command::Type { process, bytes }))
    }

    /// The screen of the pane the keyboard is handed to.
    pub fn typing_screen(&self) -> Option<&vt100::Screen> {
        self.panes
            .get(self.typing?)?
            .screen
            .as_ref()
            .map(Terminal::screen)
    }

    /// devloop's own sentence for an event, dim in the build pane.
    fn devloop_line(&mut self, stamped: &Stamped) {
        let text = crate::event::text::describe(&stamped.event).1;
        let colour = if matches!(stamped.event, Event::PromoteFailed { .. }) {
            "31"
        } else {
            "2"
        };
        self.build_lines()
            .push(stamped.at, &format!("\x1b[{colour}m── {text}\x1b[0m"));
    }

    /// Process events: the pane's title state, and a line for each change.
    fn apply_process(&mut self, stamped: &Stamped) {
        let Some((name, text)) = crate::event::text::describe_process(&stamped.event) else {
            return;
        };
        let Some(pane) = self.panes.iter_mut().find(|p| p.name() == name) else {
            return;
        };
        let PaneKind::Process(view) = &mut pane.kind else {
            return;
        };
        let at = stamped.at;
        let state = match &stamped.event {
            Event::ProcessOutput { line, .. } => {
                pane.lines.push(at, line);
                return;
            }
            Event::ProcessStarted { pid, restarts, .. } => {
                view.pid = Some(*pid);
                view.restarts = u64::from(*restarts);
                view.since = Some(at);
                ProcessState::Running
            }
            Event::ProcessReady { pid, port, .. } => {
                view.serving = pid.zip(*port);
                ProcessState::Ready
            }
            // With `proxy`, one instance exits while another serves (the old
            // after a handover, or a new one that failed to start).
            Event::ProcessExited { pid, .. }
                if view.serving.is_some_and(|(serving, _)| serving != *pid) =>
            {
                view.pid = view.serving.map(|(serving, _)| serving);
                ProcessState::Ready
            }
            Event::ProcessExited { pid, .. } if view.pid != Some(*pid) => {
                pane.devloop_line(at, &format!("\x1b[2m── {text}\x1b[0m"));
                return;
            }
            Event::ProcessExited { .. } => {
                view.serving = None;
                ProcessState::Exited
            }
            Event::ProcessRestarting { .. } => ProcessState::Restarting,
            Event::ProcessFailed { .. } => ProcessState::Failed,
            Event::ProcessBlocked { .. } => ProcessState::Blocked,
            Event::ProcessStopped { .. } => ProcessState::Stopped,
            _ => return,
        };
        view.state = state;
        view.note =
            matches!(state, ProcessState::Blocked | ProcessState::Failed).then(|| text.clone());
        let colour = if state == ProcessState::Failed {
            "31"
        } else {
            "2"
        };
        if self.terminals.is_some() && pane.screen.is_none() {
            let size = self.told.get(name).copied().unwrap_or(Size::DEFAULT);
            pane.screen = Some(Terminal::new(size.rows, size.cols));
        }
        pane.devloop_line(at, &format!("\x1b[{colour}m── {text}\x1b[0m"));
    }

    pub fn selected_pane(&mut self) -> &mut Pane {
        &mut self.panes[self.selected]
    }

    pub fn select(&mut self, index: usize) {
        if index < self.panes.len() && index != self.selected {
            self.selected = index;
            self.search.current = None;
            if let Some(shared) = &self.shared_selection {
                shared.send_replace(index);
            }
        }
    }

    pub fn select_next(&mut self, forward: bool) {
        let count = self.panes.len();
        self.select(if forward {
            (self.selected + 1) % count
        } else {
            (self.selected + count - 1) % count
        });
    }

    /// Tab and arrows: a viewer that selects by hand stops following the host.
    pub fn select_by_hand(&mut self, forward: bool) {
        self.select_next(forward);
        self.stop_following();
    }

    pub fn stop_following(&mut self) {
        if let Some(remote) = &mut self.remote {
            remote.follow = false;
        }
    }

    /// Rows of output a pane shows now (for page scrolling).
    pub fn page(&self) -> usize {
        usize::from(self.size.1).saturating_sub(4).max(1)
    }

    /// Moves to the next match of the search: `older` goes up the scrollback.
    pub fn find(&mut self, older: bool) {
        let query = self.search.query.clone();
        let pane = &mut self.panes[self.selected];
        let current = self.search.current.and_then(|n| pane.lines.index_of(n));
        let from = current.unwrap_or(pane.lines.len());
        let from = if older {
            from
        } else {
            from.min(pane.lines.len().saturating_sub(1))
        };
        if let Some(hit) = pane.lines.find(&query, from, !older) {
            pane.lines.reveal(hit);
            self.search.current = Some(pane.lines.number(hit));
        }
    }
}
