//! In the TUI, processes run on pseudo-terminals (issue 22). This is where
//! their terminals are found by name: the size each pane has (a process is
//! started at its pane's size, and resized with it), and the master of the
//! instance started last, which takes what is typed into the pane.

use crate::child::pty::{Master, Size};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What the TUI sends to processes' terminals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToTerminal {
    /// Keys or a paste, already encoded as a terminal sends them.
    Input { process: String, bytes: Vec<u8> },
    /// The pane's inner area is now this size.
    Resize { process: String, size: Size },
}

/// Where the TUI sends `ToTerminal`s, and where the supervisor takes them.
pub type Channel = (
    mpsc::UnboundedSender<ToTerminal>,
    mpsc::UnboundedReceiver<ToTerminal>,
);

pub fn channel() -> Channel {
    mpsc::unbounded_channel()
}

#[derive(Default)]
struct Entry {
    size: Option<Size>,
    master: Option<Arc<Master>>,
}

#[derive(Default)]
pub struct Terminals {
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Terminals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Terminals")
    }
}

impl Terminals {
    fn with<T>(&self, process: &str, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        f(entries.entry(process.to_string()).or_default())
    }

    /// The size to start `process` at.
    pub fn size(&self, process: &str) -> Size {
        self.with(process, |entry| entry.size.unwrap_or(Size::DEFAULT))
    }

    /// A new instance of `process` started on `master`: it takes the keys.
    pub fn started(&self, process: &str, master: Arc<Master>) {
        self.with(process, |entry| entry.master = Some(master));
    }

    /// The instance on `master` ended; the keys stay with a newer one.
    pub fn ended(&self, process: &str, master: &Arc<Master>) {
        self.with(process, |entry| {
            if entry
                .master
                .as_ref()
                .is_some_and(|m| Arc::ptr_eq(m, master))
            {
                entry.master = None;
            }
        });
    }

    /// Does what the TUI asks; keys for a process that is not running are
    /// dropped, as a terminal with nothing in it would.
    pub async fn apply(&self, message: ToTerminal) {
        match message {
            ToTerminal::Input { process, bytes } => {
                let master = self.with(&process, |entry| entry.master.clone());
                if let Some(master) = master {
                    let _ = master.write_all(&bytes).await;
                }
            }
            ToTerminal::Resize { process, size } => {
                let master = self.with(&process, |entry| {
                    entry.size = Some(size);
                    entry.master.clone()
                });
                if let Some(master) = master {
                    let _ = master.resize(size);
                }
            }
        }
    }
}
