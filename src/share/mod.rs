//! The hub between the engine's events and everyone who shows them: the
//! local TUI or line output, and viewers attached over the socket. It never
//! waits long on any of them: a local output that stops reading is skipped
//! (and told how much it missed when it reads again), a viewer that falls
//! behind is dropped. So a stuck sink never holds the engine.

pub mod frame;
mod history;
pub mod protocol;
mod server;

pub use history::History;
pub use server::{MAX_CLIENTS, SocketGuard, serve, socket_path};

use crate::event::{Event, Stamped};
use crate::ui::Feed;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Events queued for the local line output before it counts as stuck.
pub const LOCAL_QUEUE: usize = 4096;
/// Rounds (of at most ROUND events) queued for the TUI likewise. In a
/// flood the TUI is the slower side and the queue stays full: each round
/// held costs its events (and a terminal's bytes), and 4 (2,048 events) are
/// as fast as 16 were.
pub const LOCAL_ROUNDS: usize = 4;
/// How long one event may wait on a full local queue before the output
/// counts as stuck and events are skipped instead.
const STUCK_AFTER: Duration = Duration::from_millis(300);
/// Bytes queued for one viewer (about 50,000 lines of output as frames);
/// more and it is dropped.
pub const VIEWER_QUEUE_BYTES: usize = 4 * 1024 * 1024;
/// Most events taken from the engine in one round: to the TUI as one piece.
const ROUND: usize = 512;
/// Viewers are sent what gathers over this long, or this many bytes, in one
/// chunk: in a flood, a write and a wakeup of each viewer per 64 KiB rather
/// than per round of about 128 lines; out of one, a delay no one sees.
const GATHER_FOR: Duration = Duration::from_millis(2);
const CHUNK_BYTES: usize = 64 * 1024;
/// How long viewers have at exit to be sent the rest, the shutdown last.
pub const VIEWER_GRACE: Duration = Duration::from_secs(1);

/// Where the host shows events itself.
pub enum Local {
    Lines(mpsc::Sender<Stamped>),
    Tui(mpsc::Sender<Feed>),
}

/// What the socket server asks of the hub.
pub enum Control {
    /// A viewer: its history, then its live queue, handed over at one
    /// instant so nothing is missed or repeated.
    Join {
        reply: oneshot::Sender<Joined>,
    },
    Leave(u64),
}

/// Whole frames (see `frame`), shared by every viewer.
pub type Chunk = Arc<Vec<u8>>;

pub struct Joined {
    pub id: u64,
    /// The hello, then the history, then the live marker.
    pub first: Vec<u8>,
    pub live: mpsc::UnboundedReceiver<Chunk>,
    /// Bytes in `live`: the hub adds, the viewer's writer takes away.
    pub queued: Arc<AtomicUsize>,
    /// Fires when the hub drops this viewer for falling behind.
    pub dropped: oneshot::Receiver<()>,
}

struct Viewer {
    id: u64,
    queue: mpsc::UnboundedSender<Chunk>,
    queued: Arc<AtomicUsize>,
    dropped: Option<oneshot::Sender<()>>,
}

impl Viewer {
    /// Queues `chunk`; false when the viewer is gone or too far behind.
    fn send(&mut self, chunk: &Chunk) -> bool {
        let before = self.queued.fetch_add(chunk.len(), Ordering::Relaxed);
        if before + chunk.len() > VIEWER_QUEUE_BYTES {
            if let Some(dropped) = self.dropped.take() {
                let _ = dropped.send(());
            }
            return false;
        }
        self.queue.send(chunk.clone()).is_ok()
    }
}

pub struct Hub {
    history: History,
    hello: protocol::Hello,
    local: Local,
    /// The local output stopped reading: events are skipped, and counted.
    stuck: bool,
    skipped: u64,
    viewers: Vec<Viewer>,
    next_viewer: u64,
    frames: frame::Encoder,
    /// Frames not yet sent to viewers, and when they must go.
    gathered: Vec<u8>,
    send_by: Option<tokio::time::Instant>,
    round: Vec<Stamped>,
    /// The host TUI's selected pane, as it changes (viewers can follow it).
    selection: Option<watch::Receiver<usize>>,
    sent_selection: usize,
}

impl Hub {
    pub fn new(
        process_names: &[String],
        scrollback: usize,
        local: Local,
        selection: Option<watch::Receiver<usize>>,
    ) -> Hub {
        Hub {
            history: History::new(process_names, scrollback),
            hello: protocol::Hello::new(process_names, scrollback),
            local,
            stuck: false,
            skipped: 0,
            viewers: Vec::new(),
            next_viewer: 1,
            frames: frame::Encoder::new(process_names),
            gathered: Vec::new(),
            send_by: None,
            round: Vec::with_capacity(ROUND),
            selection,
            sent_selection: 0,
        }
    }

    /// Runs until `finish` fires (then forwards what is queued) or the
    /// events close.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<Stamped>,
        mut control: mpsc::Receiver<Control>,
        mut finish: oneshot::Receiver<()>,
    ) {
        let mut selection = self.selection.take();
        loop {
            tokio::select! {
                biased;
                Some(request) = control.recv() => self.control(request).await,
                event = events.recv() => match event {
                    Some(event) => {
                        self.round.push(event);
                        while self.round.len() < ROUND {
                            match events.try_recv() {
                                Ok(event) => self.round.push(event),
                                Err(_) => break,
                            }
                        }
                        self.publish().await;
                    }
                    None => break,
                },
                _ = &mut finish => {
                    while let Ok(event) = events.try_recv() {
                        self.round.push(event);
                    }
                    self.publish().await;
                    break;
                }
                _ = sleep_until(self.send_by), if self.send_by.is_some() => self.send_gathered(),
                changed = changed(&mut selection), if selection.is_some() => match changed {
                    Some(selected) => self.selection_changed(selected),
                    None => selection = None,
                },
            }
        }
        self.send_gathered();
    }

    /// The round's events, gathered for viewers, then to the history and
    /// the local output.
    async fn publish(&mut self) {
        if self.round.is_empty() {
            return;
        }
        let round = std::mem::replace(&mut self.round, Vec::with_capacity(ROUND));
        if !self.viewers.is_empty() {
            for event in &round {
                self.frames.event(&mut self.gathered, event);
            }
            let now = tokio::time::Instant::now();
            let send_by = *self.send_by.get_or_insert(now + GATHER_FOR);
            // The time is looked at here too: were events ready each time
            // the hub woke, the timer's branch would never be chosen.
            if self.gathered.len() >= CHUNK_BYTES || now >= send_by {
                self.send_gathered();
            }
        }
        for event in &round {
            self.history.push(event);
        }
        self.show_locally(round).await;
    }

    /// Sends what has gathered to every viewer.
    fn send_gathered(&mut self) {
        self.send_by = None;
        if self.gathered.is_empty() {
            return;
        }
        let chunk = std::mem::replace(&mut self.gathered, Vec::with_capacity(CHUNK_BYTES));
        self.broadcast(&Arc::new(chunk));
    }

    /// Sends `chunk` to every viewer; one too far behind is dropped.
    fn broadcast(&mut self, chunk: &Chunk) {
        let before = self.viewers.len();
        self.viewers.retain_mut(|viewer| viewer.send(chunk));
        if self.viewers.len() != before {
            self.count_changed();
        }
    }

    /// The round to the local output, unless it stopped reading: the TUI
    /// takes it in one piece (its thread wakes once a round), the line
    /// output event by event.
    async fn show_locally(&mut self, round: Vec<Stamped>) {
        let count = round.len() as u64;
        if self.stuck {
            let note = Stamped::now(Event::Notice {
                message: format!(
                    "{} events were not shown here: this output stopped reading for a while",
                    self.skipped
                ),
            });
            // Room again: say what was missed, then go on as before.
            if self.try_local(note) {
                self.stuck = false;
                self.skipped = 0;
            } else {
                self.skipped += count;
                return;
            }
        }
        let shown = match &self.local {
            Local::Tui(tx) => {
                let sent = tokio::time::timeout(STUCK_AFTER, tx.send(Feed::Events(round))).await;
                if sent.is_ok() { count } else { 0 }
            }
            Local::Lines(tx) => {
                let mut shown = 0;
                for event in round {
                    if tokio::time::timeout(STUCK_AFTER, tx.send(event))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    shown += 1;
                }
                shown
            }
        };
        if shown < count {
            self.stuck = true;
            self.skipped += count - shown;
        }
    }

    fn try_local(&self, event: Stamped) -> bool {
        match &self.local {
            Local::Lines(tx) => tx.try_send(event).is_ok(),
            Local::Tui(tx) => tx.try_send(Feed::Event(event)).is_ok(),
        }
    }

    async fn control(&mut self, request: Control) {
        match request {
            Control::Join { reply } => {
                // What the history holds and viewers have not been sent
                // yet must not reach the newcomer twice.
                self.send_gathered();
                let id = self.next_viewer;
                self.next_viewer += 1;
                let (queue, live) = mpsc::unbounded_channel();
                let queued = Arc::new(AtomicUsize::new(0));
                let (dropped_tx, dropped) = oneshot::channel();
                self.hello.viewers = self.viewers.len() + 1;
                self.hello.selected = self.sent_selection;
                // Appended to by reloads: the frames' indexes stay those of the first names.
                self.hello.processes = self.history.process_names().to_vec();
                let mut first = Vec::new();
                frame::json_line(&mut first, &self.hello.to_line());
                for event in self.history.replay() {
                    self.frames.event(&mut first, &event);
                }
                for screen in self.history.screens() {
                    self.frames.event(&mut first, &screen);
                }
                frame::json_line(&mut first, protocol::LIVE);
                let joined = Joined {
                    id,
                    first,
                    live,
                    queued: queued.clone(),
                    dropped,
                };
                if reply.send(joined).is_ok() {
                    self.viewers.push(Viewer {
                        id,
                        queue,
                        queued,
                        dropped: Some(dropped_tx),
                    });
                    self.count_changed();
                }
            }
            Control::Leave(id) => {
                let before = self.viewers.len();
                self.viewers.retain(|v| v.id != id);
                if self.viewers.len() != before {
                    self.count_changed();
                }
            }
        }
    }

    fn count_changed(&mut self) {
        self.send_gathered();
        let count = self.viewers.len();
        let line = chunk_of(protocol::viewers_line(count));
        for viewer in &mut self.viewers {
            viewer.send(&line);
        }
        if let Local::Tui(tx) = &self.local {
            let _ = tx.try_send(Feed::Viewers(count));
        }
    }

    fn selection_changed(&mut self, selected: usize) {
        if selected != self.sent_selection {
            self.sent_selection = selected;
            self.send_gathered();
            let line = chunk_of(protocol::selected_line(selected));
            for viewer in &mut self.viewers {
                viewer.send(&line);
            }
        }
    }
}

/// Waits until `deadline`; forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// One line of the attach protocol as a chunk.
fn chunk_of(line: String) -> Chunk {
    let mut bytes = Vec::new();
    frame::json_line(&mut bytes, &line);
    Arc::new(bytes)
}

#[cfg(test)]
mod tests;

/// The host's next selection; None once the TUI is gone.
async fn changed(selection: &mut Option<watch::Receiver<usize>>) -> Option<usize> {
    let receiver = selection.as_mut()?;
    receiver.changed().await.ok()?;
    Some(*receiver.borrow_and_update())
}
