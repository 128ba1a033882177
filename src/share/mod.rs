//! The hub between the engine's events and everyone who shows them: the
//! local TUI or line output, and viewers attached over the socket. It never
//! waits long on any of them: a local output that stops reading is skipped
//! (and told how much it missed when it reads again), a viewer that falls
//! behind is dropped. So a stuck sink never holds the engine.

mod history;
pub mod protocol;
mod server;

pub use history::History;
pub use server::{SocketGuard, serve, socket_path};

use crate::event::{Event, Stamped};
use crate::ui::Feed;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Events queued for the local output before it counts as stuck.
pub const LOCAL_QUEUE: usize = 4096;
/// How long one event may wait on a full local queue before the output
/// counts as stuck and events are skipped instead.
const STUCK_AFTER: Duration = Duration::from_millis(300);
/// Lines queued for one viewer; more and it is dropped.
pub const VIEWER_QUEUE: usize = 16_384;
/// How often the host's selection is looked at for viewers that follow it.
const SELECTION_POLL: Duration = Duration::from_millis(100);

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

pub struct Joined {
    pub id: u64,
    /// The hello line, then the history, then the live marker.
    pub first: Vec<Arc<str>>,
    pub live: mpsc::Receiver<Arc<str>>,
    /// Fires when the hub drops this viewer for falling behind.
    pub dropped: oneshot::Receiver<()>,
}

struct Viewer {
    id: u64,
    queue: mpsc::Sender<Arc<str>>,
    dropped: Option<oneshot::Sender<()>>,
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
    /// The host TUI's selected pane.
    selection: Arc<AtomicUsize>,
    sent_selection: usize,
}

impl Hub {
    pub fn new(
        process_names: &[String],
        scrollback: usize,
        local: Local,
        selection: Arc<AtomicUsize>,
    ) -> Hub {
        Hub {
            history: History::new(process_names, scrollback),
            hello: protocol::Hello::new(process_names, scrollback),
            local,
            stuck: false,
            skipped: 0,
            viewers: Vec::new(),
            next_viewer: 1,
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
        let mut poll = tokio::time::interval(SELECTION_POLL);
        loop {
            tokio::select! {
                biased;
                Some(request) = control.recv() => self.control(request).await,
                event = events.recv() => match event {
                    Some(event) => self.publish(event).await,
                    None => break,
                },
                _ = &mut finish => {
                    while let Ok(event) = events.try_recv() {
                        self.publish(event).await;
                    }
                    break;
                }
                _ = poll.tick() => self.selection_changed(),
            }
        }
    }

    async fn publish(&mut self, event: Stamped) {
        let json = (!self.viewers.is_empty()).then(|| Arc::<str>::from(event.to_json()));
        if let Some(line) = &json {
            self.broadcast(line);
        }
        self.history.push(&event, json);
        self.show_locally(event).await;
    }

    /// Sends `line` to every viewer; one whose queue is full is dropped.
    fn broadcast(&mut self, line: &Arc<str>) {
        let before = self.viewers.len();
        self.viewers
            .retain_mut(|viewer| match viewer.queue.try_send(line.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    if let Some(dropped) = viewer.dropped.take() {
                        let _ = dropped.send(());
                    }
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        if self.viewers.len() != before {
            self.count_changed();
        }
    }

    async fn show_locally(&mut self, event: Stamped) {
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
                self.skipped += 1;
                return;
            }
        }
        let sent = match &self.local {
            Local::Lines(tx) => tokio::time::timeout(STUCK_AFTER, tx.send(event))
                .await
                .map(|r| r.is_ok()),
            Local::Tui(tx) => tokio::time::timeout(STUCK_AFTER, tx.send(Feed::Event(event)))
                .await
                .map(|r| r.is_ok()),
        };
        if sent.is_err() {
            self.stuck = true;
            self.skipped += 1;
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
                let id = self.next_viewer;
                self.next_viewer += 1;
                let (queue, live) = mpsc::channel(VIEWER_QUEUE);
                let (dropped_tx, dropped) = oneshot::channel();
                self.hello.viewers = self.viewers.len() + 1;
                self.hello.selected = self.selection.load(Ordering::Relaxed);
                let mut first: Vec<Arc<str>> = vec![self.hello.to_line().into()];
                first.extend(self.history.replay_json());
                first.push(protocol::LIVE.into());
                let joined = Joined {
                    id,
                    first,
                    live,
                    dropped,
                };
                if reply.send(joined).is_ok() {
                    self.viewers.push(Viewer {
                        id,
                        queue,
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
        let count = self.viewers.len();
        let line: Arc<str> = protocol::viewers_line(count).into();
        for viewer in &self.viewers {
            let _ = viewer.queue.try_send(line.clone());
        }
        if let Local::Tui(tx) = &self.local {
            let _ = tx.try_send(Feed::Viewers(count));
        }
    }

    fn selection_changed(&mut self) {
        let selected = self.selection.load(Ordering::Relaxed);
        if selected != self.sent_selection {
            self.sent_selection = selected;
            let line: Arc<str> = protocol::selected_line(selected).into();
            for viewer in &self.viewers {
                let _ = viewer.queue.try_send(line.clone());
            }
        }
    }
}
