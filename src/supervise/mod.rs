//! The supervisor: the set of `[process.*]` and their dependency order. The
//! engine owns a [`Supervisor`] handle and tells it about startup,
//! promotions, the user's `r`/`s` commands and shutdown; a task of its own
//! starts each process when what it waits for (`after`) is there, and stops
//! them all in reverse dependency order. Each process is an actor of its own
//! (see `process`).

mod guard;
mod health;
mod instance;
mod order;
mod port;
mod process;
mod proxy;
mod reaper;
mod run;
pub mod terminals;

use crate::child::{self, SharedRecords, leftovers};
use crate::config::{Config, Dependency};
use crate::event::{Event, Stamped};
use process::{Control, ProcessHandle};
use std::path::PathBuf;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long orphans that escaped their group get after a SIGKILL to go.
const ORPHAN_KILL_WAIT: Duration = Duration::from_secs(2);

/// How processes are run.
#[derive(Debug)]
pub struct Options {
    /// Colour is on: children get FORCE_COLOR=1.
    pub color: bool,
    /// With a channel, processes run on pseudo-terminals (the TUI's panes
    /// are terminals) and take keys and sizes from it (`terminals::channel`).
    pub terminals: Option<terminals::Channel>,
}

/// The engine's handle on the supervisor task. Every method but `start` and
/// `shutdown` returns at once.
#[derive(Debug)]
pub struct Supervisor {
    requests: mpsc::UnboundedSender<Request>,
    task: Option<JoinHandle<()>>,
    /// Processes whose failure must roll the promotion back.
    alerts: Option<mpsc::UnboundedReceiver<Alert>>,
    /// With `Options::terminals`: keys and sizes for the processes'
    /// terminals, applied in order by a task of their own.
    to_terminals: Option<mpsc::UnboundedSender<terminals::ToTerminal>>,
}

#[derive(Debug)]
enum Request {
    Start(oneshot::Sender<()>),
    /// With the auto_rollback window, when there is one; `news` false when
    /// the promotion changed nothing, so no process is told.
    Promoted {
        window: Option<Duration>,
        news: bool,
    },
    /// Rolled back because this process failed: restart it, tell the rest.
    RolledBackFor(ProcessId),
    /// watch.toml changed: apply its processes.
    Reload(Arc<Config>, crate::config::Changes),
    Restart(String),
    Toggle(String),
    Shutdown,
}

/// What every process task shares.
pub(crate) struct Shared {
    root: PathBuf,
    events: mpsc::Sender<Stamped>,
    records: SharedRecords,
    color: bool,
    /// With `Options::terminals`.
    terminals: Option<Arc<terminals::Terminals>>,
    reports: mpsc::UnboundedSender<Report>,
}

impl Shared {
    async fn emit(&self, event: Event) {
        let _ = self.events.send(Stamped::now(event)).await;
    }

    fn records(&self) -> MutexGuard<'_, leftovers::Records> {
        child::lock(&self.records)
    }
}

/// A process for as long as its `[process.NAME]` stays in watch.toml; a
/// reload that removes and adds it back makes a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId(u32);

/// A process whose failure should roll the promotion back.
#[derive(Debug, Clone)]
pub struct Alert {
    pub id: ProcessId,
    pub name: String,
}

/// What process tasks tell the set.
#[derive(Debug)]
enum Report {
    Ready(ProcessId),
    /// Crashed, or turned unhealthy.
    Failed(ProcessId),
}

impl Supervisor {
    /// Starts the supervisor task (inside the runtime). Also makes devloop a
    /// child subreaper and starts reaping orphans.
    pub fn spawn(config: Arc<Config>, events: mpsc::Sender<Stamped>, options: Options) -> Self {
        let subreaper = reaper::become_subreaper();
        let reaping = reaper::spawn_reaper();
        let (requests, inbox) = mpsc::unbounded_channel();
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let (alerts_tx, alerts) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            root: config.root.clone(),
            records: child::records(
                &config.state_dir(),
                leftovers::PROCESSES_FILE,
                events.clone(),
            ),
            events,
            color: options.color,
            terminals: options.terminals.is_some().then(Arc::default),
            reports: reports_tx,
        });
        let to_terminals = shared.terminals.clone().zip(options.terminals).map(
            |(terminals, (tx, mut messages))| {
                // In order: keys must reach a process as they were typed.
                tokio::spawn(async move {
                    while let Some(message) = messages.recv().await {
                        terminals.apply(message).await;
                    }
                });
                tx
            },
        );
        let mut set = Set {
            entries: Vec::new(),
            next_id: 0,
            leaving: Vec::new(),
            guard: guard::Guard::default(),
            alerts: alerts_tx,
            config,
            shared,
            started: false,
            promoted: false,
        };
        set.entries = (0..set.config.processes.len())
            .map(|_| set.entry())
            .collect();
        let task = tokio::spawn(async move {
            if let Err(e) = reaping {
                let message = format!("cannot watch for exited orphans (SIGCHLD): {e}");
                set.shared.emit(Event::Error { message }).await;
            }
            // What this platform cannot do, said once.
            let limits = crate::platform::limits().iter().map(|l| l.to_string());
            for message in subreaper
                .err()
                .map(|e| e.to_string())
                .into_iter()
                .chain(limits)
            {
                set.shared.emit(Event::Notice { message }).await;
            }
            set.run(inbox, reports).await;
        });
        Supervisor {
            requests,
            task: Some(task),
            alerts: Some(alerts),
            to_terminals,
        }
    }

    /// Stops what a killed devloop left running, then starts the processes
    /// that wait for nothing. Returns once they are started.
    pub async fn start(&self) {
        let (reply, done) = oneshot::channel();
        if self.requests.send(Request::Start(reply)).is_ok() {
            let _ = done.await;
        }
    }

    /// A build was promoted (or succeeded, without `[promote]`), or a
    /// generation rolled back by hand.
    pub fn promoted(&self) {
        let _ = self.requests.send(Request::Promoted {
            window: None,
            news: true,
        });
    }

    /// A build was promoted; a process ready now that fails within `window`
    /// is reported on `alerts`. One that `changed` nothing tells no process,
    /// but lets those waiting for the first promotion start.
    pub fn promoted_guarded(&self, window: Option<Duration>, changed: bool) {
        let _ = self.requests.send(Request::Promoted {
            window,
            news: changed,
        });
    }

    /// Rolled back automatically for `id`: it restarts, the rest hear of
    /// it as of a promotion.
    pub fn rolled_back_for(&self, id: ProcessId) {
        let _ = self.requests.send(Request::RolledBackFor(id));
    }

    /// watch.toml changed as `changes` says: removed processes stop, added
    /// ones start when due, changed ones restart with their new values.
    pub fn reload(&self, config: Arc<Config>, changes: crate::config::Changes) {
        let _ = self.requests.send(Request::Reload(config, changes));
    }

    /// Keys typed into `process`'s terminal; false when processes have none
    /// (headless).
    pub fn type_into(&self, process: String, bytes: Vec<u8>) -> bool {
        let input = terminals::ToTerminal::Input { process, bytes };
        self.to_terminals
            .as_ref()
            .is_some_and(|to| to.send(input).is_ok())
    }

    /// The processes whose failure should roll back (once).
    pub fn take_alerts(&mut self) -> Option<mpsc::UnboundedReceiver<Alert>> {
        self.alerts.take()
    }

    /// `r NAME`
    pub fn restart(&self, name: &str) {
        let _ = self.requests.send(Request::Restart(name.to_string()));
    }

    /// `s NAME`
    pub fn toggle(&self, name: &str) {
        let _ = self.requests.send(Request::Toggle(name.to_string()));
    }

    /// Starts stopping every process, without waiting.
    pub fn begin_shutdown(&self) {
        let _ = self.requests.send(Request::Shutdown);
    }

    /// Stops every process in reverse dependency order, and orphans that left
    /// their groups; returns once all are gone.
    pub async fn shutdown(&mut self) {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// One process of the set.
struct Entry {
    id: ProcessId,
    /// Its task, once it was started.
    handle: Option<ProcessHandle>,
    /// Whether it has been ready at least once.
    ready: bool,
    /// Whether it is ready now (as far as auto-rollback cares).
    up: bool,
}

/// The supervisor task's state.
struct Set {
    config: Arc<Config>,
    shared: Arc<Shared>,
    /// One per process, in the order of `config.processes`.
    entries: Vec<Entry>,
    next_id: u32,
    /// Processes a reload removed, until they are gone.
    leaving: Vec<oneshot::Receiver<()>>,
    guard: guard::Guard,
    alerts: mpsc::UnboundedSender<Alert>,
    started: bool,
    promoted: bool,
}

impl Set {
    async fn run(
        mut self,
        mut inbox: mpsc::UnboundedReceiver<Request>,
        mut reports: mpsc::UnboundedReceiver<Report>,
    ) {
        loop {
            tokio::select! {
                request = inbox.recv() => match request {
                    Some(Request::Shutdown) | None => break,
                    Some(request) => self.request(request).await,
                },
                Some(report) = reports.recv() => self.report(report),
            }
        }
        self.shutdown().await;
    }

    async fn request(&mut self, request: Request) {
        match request {
            Request::Start(reply) => {
                for message in
                    leftovers::stop_leftovers(&self.config.state_dir(), leftovers::PROCESSES_FILE)
                        .await
                {
                    self.shared.emit(Event::Notice { message }).await;
                }
                self.shared.records().clear();
                self.started = true;
                self.start_due();
                let _ = reply.send(());
            }
            Request::Promoted { window, news } => {
                if news {
                    self.guard.arm(window, self.up());
                    // Those running hear of it first; those it lets start do not.
                    for handle in self.entries.iter().filter_map(|e| e.handle.as_ref()) {
                        handle.send(Control::Promoted);
                    }
                }
                self.promoted = true;
                self.start_due();
            }
            Request::RolledBackFor(failed) => {
                self.guard.arm(None, Vec::new());
                for entry in &self.entries {
                    if let Some(handle) = &entry.handle {
                        handle.send(if entry.id == failed {
                            Control::Restart
                        } else {
                            Control::Promoted
                        });
                    }
                }
            }
            Request::Reload(config, changes) => self.reload(config, &changes),
            Request::Restart(name) => self.by_hand(&name, Control::Restart).await,
            Request::Toggle(name) => self.by_hand(&name, Control::Toggle).await,
            Request::Shutdown => {}
        }
    }

    /// `r`/`s` on a process; one still waiting for `after` starts right away.
    async fn by_hand(&mut self, name: &str, control: Control) {
        let Some(index) = self.config.processes.iter().position(|p| p.name == name) else {
            let known: Vec<&str> = self
                .config
                .processes
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            let message = match known.is_empty() {
                true => format!("no process named `{name}`: watch.toml defines none"),
                false => format!(
                    "no process named `{name}` (there are: {})",
                    known.join(", ")
                ),
            };
            self.shared.emit(Event::Error { message }).await;
            return;
        };
        match &self.entries[index].handle {
            Some(handle) => {
                handle.send(control);
            }
            None => self.spawn(index),
        }
    }

    /// A reloaded watch.toml: entries follow its order, removed processes
    /// stop (waited for at shutdown), changed ones take their new values.
    fn reload(&mut self, config: Arc<Config>, changes: &crate::config::Changes) {
        let names = self.config.processes.iter().map(|p| p.name.clone());
        let mut old: Vec<(String, Entry)> = names.zip(self.entries.drain(..)).collect();
        let mut entries = Vec::with_capacity(config.processes.len());
        for process in &config.processes {
            let entry = match old.iter().position(|(name, _)| *name == process.name) {
                Some(at) => old.remove(at).1,
                None => self.entry(),
            };
            if let Some(handle) = &entry.handle
                && changes.changed.contains(&process.name)
            {
                handle.send(Control::Reconfigure(Box::new(process.clone())));
            }
            entries.push(entry);
        }
        for handle in old.into_iter().filter_map(|(_, entry)| entry.handle) {
            let (reply, done) = oneshot::channel();
            if handle.send(Control::Shutdown(reply)) {
                self.leaving.push(done);
            }
        }
        self.entries = entries;
        self.config = config;
        self.start_due();
    }

    fn entry(&mut self) -> Entry {
        self.next_id += 1;
        Entry {
            id: ProcessId(self.next_id),
            handle: None,
            ready: false,
            up: false,
        }
    }

    fn spawn(&mut self, index: usize) {
        let config = self.config.processes[index].clone();
        let entry = &mut self.entries[index];
        entry.handle = Some(ProcessHandle::spawn(entry.id, config, self.shared.clone()));
    }

    /// The processes ready now.
    fn up(&self) -> Vec<ProcessId> {
        self.entries.iter().filter(|e| e.up).map(|e| e.id).collect()
    }

    fn report(&mut self, report: Report) {
        let (Report::Ready(id) | Report::Failed(id)) = report;
        // A process a reload removed may still report on its way out.
        let Some(index) = self.entries.iter().position(|e| e.id == id) else {
            return;
        };
        match report {
            Report::Ready(_) => {
                self.entries[index].ready = true;
                self.entries[index].up = true;
                self.start_due();
            }
            Report::Failed(_) => {
                self.entries[index].up = false;
                if self.guard.failed(id) {
                    let name = self.config.processes[index].name.clone();
                    let _ = self.alerts.send(Alert { id, name });
                }
            }
        }
    }

    /// Starts every process not yet started whose `after` is satisfied.
    fn start_due(&mut self) {
        if !self.started {
            return;
        }
        for index in 0..self.entries.len() {
            let due = self.config.processes[index]
                .after
                .iter()
                .all(|dep| match dep {
                    Dependency::Build => self.promoted,
                    Dependency::Process(name) => {
                        order::index_of(&self.config, name).is_some_and(|i| self.entries[i].ready)
                    }
                });
            if due && self.entries[index].handle.is_none() {
                self.spawn(index);
            }
        }
    }

    /// Dependents first: each level is stopped, all of it at once, before
    /// the level it depends on.
    async fn shutdown(&mut self) {
        reaper::signal_adopted(rustix::process::Signal::TERM);
        for level in order::stop_levels(&self.config).into_iter().rev() {
            let mut waits = Vec::new();
            for index in level {
                if let Some(handle) = self.entries[index].handle.take() {
                    let (reply, done) = oneshot::channel();
                    if handle.send(Control::Shutdown(reply)) {
                        waits.push(done);
                    }
                }
            }
            for done in waits {
                let _ = done.await;
            }
        }
        for done in self.leaving.drain(..) {
            let _ = done.await;
        }
        reaper::kill_adopted(ORPHAN_KILL_WAIT).await;
    }
}
