//! What a newly attached viewer is shown first: each pane's recent events
//! (as many lines as `ui.scrollback` keeps) and the latest event of every
//! kind that sets a state (a process's pid, the build's number), even when
//! output has pushed it out of the pane's lines. Replayed in their original
//! order, they rebuild the same panes and titles in any `ui::App`.

use crate::event::{Event, Stamped, Stream};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::mem::Discriminant;
use std::num::NonZeroU64;
use std::time::SystemTime;

/// An event with its place in the order they happened. Output lines, most
/// of what is kept, are kept without the event around them (the pane says
/// whose): a third of the room, and one allocation instead of two.
enum Kept {
    Line {
        seq: u64,
        at: SystemTime,
        /// The build's number for its lines; None for a process's.
        build: Option<NonZeroU64>,
        stream: Stream,
        text: Box<str>,
    },
    Event {
        seq: u64,
        stamped: Box<Stamped>,
    },
}

impl Kept {
    /// `in_pane`: the event shows in a pane of its own (a process's lines
    /// are compacted only where the pane gives their name back).
    fn new(seq: u64, stamped: &Stamped, in_pane: bool) -> Kept {
        let at = stamped.at;
        match &stamped.event {
            _ if !in_pane => Kept::Event {
                seq,
                stamped: Box::new(stamped.clone()),
            },
            Event::BuildOutput {
                build,
                stream,
                line,
            } if *build != 0 => Kept::Line {
                seq,
                at,
                build: NonZeroU64::new(*build),
                stream: *stream,
                text: line.as_str().into(),
            },
            Event::ProcessOutput { stream, line, .. } => Kept::Line {
                seq,
                at,
                build: None,
                stream: *stream,
                text: line.as_str().into(),
            },
            _ => Kept::Event {
                seq,
                stamped: Box::new(stamped.clone()),
            },
        }
    }

    fn seq(&self) -> u64 {
        match self {
            Kept::Line { seq, .. } | Kept::Event { seq, .. } => *seq,
        }
    }

    fn bytes(&self) -> usize {
        std::mem::size_of::<Kept>()
            + match self {
                Kept::Line { text, .. } => text.len(),
                Kept::Event { .. } => std::mem::size_of::<Stamped>() + 64,
            }
    }

    /// The event again; `process` names the pane a process's line is in.
    fn stamped(&self, process: Option<&String>) -> Cow<'_, Stamped> {
        match self {
            Kept::Event { stamped, .. } => Cow::Borrowed(stamped),
            Kept::Line {
                at,
                build,
                stream,
                text,
                ..
            } => {
                let (stream, line) = (*stream, text.to_string());
                let event = match (build, process) {
                    (Some(build), _) => Event::BuildOutput {
                        build: build.get(),
                        stream,
                        line,
                    },
                    (None, process) => Event::ProcessOutput {
                        process: process.cloned().unwrap_or_default(),
                        stream,
                        line,
                    },
                };
                Cow::Owned(Stamped { at: *at, event })
            }
        }
    }
}

/// Bytes of text kept per pane, as the TUI's own scrollback keeps.
const MAX_PANE_BYTES: usize = 4 * 1024 * 1024;
/// What a process on a terminal wrote last, kept to draw its screen again
/// for a newcomer: enough for any screen of line output, and for most
/// full-screen programs' last redraw.
const SCREEN_BYTES: usize = 64 * 1024;

/// The tail of what one process wrote on its terminal.
#[derive(Default)]
struct ScreenTail {
    rows: u16,
    cols: u16,
    bytes: VecDeque<u8>,
    at: Option<std::time::SystemTime>,
}

#[derive(Default)]
struct PaneHistory {
    lines: VecDeque<Kept>,
    bytes: usize,
    /// The latest state event of each kind.
    pinned: Vec<(Discriminant<Event>, Kept)>,
}

pub struct History {
    next: u64,
    max_lines: usize,
    names: Vec<String>,
    /// The build's pane, then one per process; `global` for the rest.
    panes: Vec<PaneHistory>,
    global: PaneHistory,
    screens: Vec<(String, ScreenTail)>,
}

impl History {
    pub fn new(process_names: &[String], max_lines: usize) -> History {
        History {
            next: 0,
            max_lines: max_lines.max(1),
            names: process_names.to_vec(),
            panes: (0..=process_names.len())
                .map(|_| PaneHistory::default())
                .collect(),
            global: PaneHistory::default(),
            screens: Vec::new(),
        }
    }

    /// Keeps `stamped`.
    pub fn push(&mut self, stamped: &Stamped) {
        match &stamped.event {
            Event::ConfigReloaded { added, .. } => self.add_processes(added),
            Event::ProcessTerminal {
                process,
                rows,
                cols,
                bytes,
            } => {
                self.keep_screen(process, (*rows, *cols), bytes, stamped.at);
                return;
            }
            _ => {}
        }
        let seq = self.next;
        self.next += 1;
        let max_lines = self.max_lines;
        let index = pane_of(&stamped.event, &self.names);
        let in_pane = index.is_some();
        let pane = match index {
            Some(index) => &mut self.panes[index],
            None => &mut self.global,
        };
        if is_state(&stamped.event) {
            let kind = std::mem::discriminant(&stamped.event);
            pane.pinned.retain(|(k, _)| *k != kind);
            pane.pinned.push((kind, Kept::new(seq, stamped, in_pane)));
        }
        if matches!(stamped.event, Event::Watching { .. } | Event::Change { .. }) {
            return;
        }
        let kept = Kept::new(seq, stamped, in_pane);
        pane.bytes += kept.bytes();
        crate::ring::make_room(&mut pane.lines, max_lines);
        pane.lines.push_back(kept);
        while pane.lines.len() > max_lines || (pane.bytes > MAX_PANE_BYTES && pane.lines.len() > 1)
        {
            if let Some(old) = pane.lines.pop_front() {
                pane.bytes -= old.bytes();
            }
        }
    }

    fn keep_screen(
        &mut self,
        process: &str,
        size: (u16, u16),
        bytes: &[u8],
        at: std::time::SystemTime,
    ) {
        let at_index = match self.screens.iter().position(|(name, _)| name == process) {
            Some(index) => index,
            None => {
                self.screens
                    .push((process.to_string(), ScreenTail::default()));
                self.screens.len() - 1
            }
        };
        let tail = &mut self.screens[at_index].1;
        (tail.rows, tail.cols, tail.at) = (size.0, size.1, Some(at));
        tail.bytes.extend(bytes);
        if tail.bytes.len() > SCREEN_BYTES {
            // From a line's start, so no sequence is cut in two.
            let cut = tail.bytes.len() - SCREEN_BYTES;
            let line = tail.bytes.range(cut..).position(|&b| b == b'\n');
            tail.bytes.drain(..cut + line.map_or(0, |at| at + 1));
        }
    }

    /// Each terminal's last output as one event: a newcomer's screens.
    pub fn screens(&self) -> Vec<Stamped> {
        self.screens
            .iter()
            .filter_map(|(process, tail)| {
                let event = Event::ProcessTerminal {
                    process: process.clone(),
                    rows: tail.rows,
                    cols: tail.cols,
                    bytes: tail.bytes.iter().copied().collect(),
                };
                Some(Stamped {
                    at: tail.at?,
                    event,
                })
            })
            .collect()
    }

    /// Panes for processes a reload added; like the TUI's, they only grow.
    fn add_processes(&mut self, names: &[String]) {
        for name in names {
            if !self.names.contains(name) {
                self.names.push(name.clone());
                self.panes.push(PaneHistory::default());
            }
        }
    }

    /// The processes with a pane, in pane order.
    pub fn process_names(&self) -> &[String] {
        &self.names
    }

    /// Everything kept, in the order it happened.
    pub fn replay(&self) -> Vec<Cow<'_, Stamped>> {
        let mut all: Vec<(Option<&String>, &Kept)> = Vec::new();
        for (index, pane) in self.panes.iter().chain([&self.global]).enumerate() {
            // Pane 0 is the build's; the global one is last.
            let process = index.checked_sub(1).and_then(|i| self.names.get(i));
            let first_line = pane.lines.front().map_or(u64::MAX, Kept::seq);
            all.extend(
                pane.pinned
                    .iter()
                    .map(|(_, kept)| kept)
                    .filter(|kept| kept.seq() < first_line)
                    .map(|kept| (process, kept)),
            );
            all.extend(pane.lines.iter().map(|kept| (process, kept)));
        }
        all.sort_by_key(|(_, kept)| kept.seq());
        all.into_iter()
            .map(|(process, kept)| kept.stamped(process))
            .collect()
    }
}

/// The pane an event shows in: 0 the build's, 1.. the processes'; None for
/// what only the status line shows.
fn pane_of(event: &Event, names: &[String]) -> Option<usize> {
    if matches!(
        event,
        Event::Watching { .. } | Event::Change { .. } | Event::Shutdown { .. }
    ) {
        return None;
    }
    match event.process() {
        Some(process) => names.iter().position(|n| n == process).map(|i| i + 1),
        None => Some(0),
    }
}

fn is_state(event: &Event) -> bool {
    !matches!(
        event,
        Event::BuildOutput { .. }
            | Event::ProcessOutput { .. }
            | Event::Error { .. }
            | Event::Notice { .. }
            | Event::ConfigReloaded { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(process: &str, line: String) -> Stamped {
        Stamped::now(Event::ProcessOutput {
            process: process.into(),
            stream: Stream::Stdout,
            line,
        })
    }

    #[test]
    fn keeps_the_scrollback_and_the_states_output_pushed_out() {
        let mut history = History::new(&["web".into()], 3);
        history.push(&Stamped::now(Event::Watching {
            paths: vec!["libs".into()],
            dirs: 1,
            ms: 1,
        }));
        let started = Stamped::now(Event::ProcessStarted {
            process: "web".into(),
            pid: 9,
            restarts: 0,
            port: None,
        });
        history.push(&started);
        for i in 0..10 {
            history.push(&output("web", format!("line {i}")));
        }
        history.push(&Stamped::now(Event::BuildStarted {
            build: 1,
            reason: crate::event::BuildReason::Startup,
        }));
        let replay = history.replay();
        assert_eq!(replay.len(), 6, "watching, started, 3 lines, build");
        assert!(matches!(replay[0].event, Event::Watching { .. }));
        assert!(matches!(
            replay[1].event,
            Event::ProcessStarted { pid: 9, .. }
        ));
        assert!(matches!(&replay[2].event, Event::ProcessOutput { line, .. } if line == "line 7"));
        assert!(matches!(replay[5].event, Event::BuildStarted { .. }));
    }

    #[test]
    fn a_reload_gives_an_added_process_a_pane_of_its_own() {
        let mut history = History::new(&["web".into()], 2);
        history.push(&Stamped::now(Event::ConfigReloaded {
            sections: vec![],
            added: vec!["docs".into()],
            removed: vec![],
            changed: vec![],
        }));
        assert_eq!(history.process_names(), ["web", "docs"]);
        for i in 0..3 {
            history.push(&output("docs", format!("docs {i}")));
            history.push(&output("web", format!("web {i}")));
        }
        let replay = history.replay();
        let lines: Vec<&str> = replay
            .iter()
            .filter_map(|s| s.event.output_line())
            .collect();
        // Two lines kept per pane: docs kept its own, not the build pane's.
        assert_eq!(lines, ["docs 1", "web 1", "docs 2", "web 2"]);
    }
}
