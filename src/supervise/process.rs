//! One supervised process: a task that owns it through all its runs, and the
//! cloneable handle that sends the task `Control`s. The task waits for the
//! port, starts a run, gates `process_ready` on health, restarts with backoff,
//! and answers controls; it is the only place that decides about its process.
//! With `proxy = true` it also owns the port's listener and, on a restart of
//! a serving instance, runs two at once (see `handover`).

mod handover;
mod idle;
mod restart;

use super::proxy::{Backend, Proxy};
use super::run::Run;
use super::{ProcessId, Report, Shared};
use crate::child::backoff::Backoff;
use crate::config::ProcessConfig;
use crate::event::{Event, RestartReason};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How often a blocked process looks at its port again.
const PORT_POLL: Duration = Duration::from_millis(250);

/// A process that could not be started (its program is missing, say).
#[derive(Debug, thiserror::Error)]
#[error("cannot start process `{process}`: {source}")]
pub struct LaunchError {
    pub process: String,
    pub source: std::io::Error,
}

/// What a process task is asked to do.
#[derive(Debug)]
pub enum Control {
    /// `r NAME`: stop it if it runs, and start it again now.
    Restart,
    /// `s NAME`: stop it if it runs, start it if not.
    Toggle,
    /// A promotion landed: on_promote, or revive a failed process.
    Promoted,
    /// watch.toml gave it new values: restart with them (as `r` does).
    Reconfigure(Box<ProcessConfig>),
    /// Stop for good; the reply is dropped once the group is gone.
    Shutdown(oneshot::Sender<()>),
}

/// Sends controls to one process task.
#[derive(Debug, Clone)]
pub struct ProcessHandle {
    controls: mpsc::UnboundedSender<Control>,
}

impl ProcessHandle {
    /// Starts the task, which starts the process at once.
    pub fn spawn(id: ProcessId, config: ProcessConfig, shared: Arc<Shared>) -> ProcessHandle {
        let (tx, controls) = mpsc::unbounded_channel();
        let task = Task {
            id,
            config,
            shared,
            controls,
            backoff: Backoff::default(),
            starts: 0,
            reply: None,
            proxy: None,
        };
        tokio::spawn(task.run());
        ProcessHandle { controls: tx }
    }

    /// False when the task is gone.
    pub fn send(&self, control: Control) -> bool {
        self.controls.send(control).is_ok()
    }
}

/// Why a process is down and waiting for a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Down {
    /// By hand: nothing but the user starts it.
    Stopped,
    /// Too many restarts: a promotion or the user starts it.
    Failed,
    /// Exited and its restart policy keeps it down.
    Exited,
}

/// The task's next step.
enum Next {
    Start,
    /// Watch this run; true when it was ready already.
    Supervise(Run, bool),
    /// With `proxy`: start a new instance while this one runs (and serves,
    /// when it was ready).
    Handover(Run, bool),
    Wait(Duration),
    Down(Down),
    Exit,
}

struct Task {
    id: ProcessId,
    config: ProcessConfig,
    shared: Arc<Shared>,
    controls: mpsc::UnboundedReceiver<Control>,
    backoff: Backoff,
    /// Runs started so far: `restarts` in `process_started`.
    starts: u32,
    /// Who waits for this task to finish shutting down.
    reply: Option<oneshot::Sender<()>>,
    /// With `proxy = true`, once its port is bound.
    proxy: Option<Proxy>,
}

impl Task {
    async fn run(mut self) {
        let mut next = Next::Start;
        loop {
            next = match next {
                Next::Start => self.start().await,
                Next::Supervise(run, ready) => self.supervise(run, ready).await,
                Next::Handover(run, ready) => self.handover(run, ready).await,
                Next::Wait(delay) => {
                    self.backend(Backend::Starting);
                    self.wait(delay).await
                }
                Next::Down(why) => {
                    // Down, the port refuses again; the next start binds it anew.
                    self.proxy = None;
                    self.down(why).await
                }
                Next::Exit => break,
            };
        }
        // Dropping `self.reply` tells the set this process is gone.
    }

    /// New values from watch.toml. With another port, or proxy turned on or
    /// off, the listener goes: the next start binds the new one.
    fn reconfigure(&mut self, config: ProcessConfig) {
        if (config.port, config.proxy) != (self.config.port, self.config.proxy) {
            self.proxy = None;
        }
        self.config = config;
        self.backoff.reset();
    }

    fn backend(&self, backend: Backend) {
        if let Some(proxy) = &self.proxy {
            proxy.set(backend);
        }
    }

    fn name(&self) -> String {
        self.config.name.clone()
    }

    async fn emit(&self, event: Event) {
        self.shared.emit(event).await;
    }

    async fn restarting(&self, delay: Duration, reason: RestartReason) {
        let event = Event::ProcessRestarting {
            process: self.name(),
            in_ms: delay.as_millis() as u64,
            reason,
        };
        self.emit(event).await;
    }

    async fn stopped(&mut self, reply: Option<oneshot::Sender<()>>) -> Next {
        self.emit(Event::ProcessStopped {
            process: self.name(),
        })
        .await;
        match reply {
            Some(reply) => {
                self.reply = Some(reply);
                Next::Exit
            }
            None => Next::Down(Down::Stopped),
        }
    }

    async fn start(&mut self) -> Next {
        if self.proxy.is_none() {
            if let Some(next) = self.wait_for_port().await {
                return next;
            }
            if let Some(next) = self.bind_proxy().await {
                return next;
            }
        }
        self.backend(Backend::Starting);
        match self.launch(0).await {
            Ok(run) => Next::Supervise(run, false),
            Err(error) => {
                let message = error.to_string();
                self.emit(Event::Error { message }).await;
                self.after_exit(None, Duration::ZERO).await
            }
        }
    }

    /// Starts a run (on a private port with `proxy`, in `slot`) and says so.
    async fn launch(&mut self, slot: u8) -> Result<Run, LaunchError> {
        let cannot = |source| LaunchError {
            process: self.config.name.clone(),
            source,
        };
        let (config, port) = match (&self.proxy, self.config.proxy) {
            (Some(_), true) => {
                let port = super::proxy::private_port().map_err(cannot)?;
                (
                    super::instance::on_port(&self.config, port, slot),
                    Some(port),
                )
            }
            _ => (self.config.clone(), None),
        };
        let mut run = Run::start(&config, &self.shared).map_err(cannot)?;
        run.port = port;
        run.slot = slot;
        let restarts = self.starts;
        self.starts += 1;
        self.emit(Event::ProcessStarted {
            process: self.name(),
            pid: run.pid,
            restarts,
            port,
        })
        .await;
        run.watch(&config, &self.shared);
        Ok(run)
    }

    /// Sends `process_ready`, switches the proxy to the run, and tells the
    /// set, which may start dependents.
    async fn ready(&self, run: &Run) {
        let ms = run.uptime().as_millis() as u64;
        if let Some(port) = run.port {
            self.backend(Backend::Serving(port));
        }
        self.emit(Event::ProcessReady {
            process: self.name(),
            ms,
            pid: run.port.map(|_| run.pid),
            port: run.port,
        })
        .await;
        let _ = self.shared.reports.send(Report::Ready(self.id));
    }

    /// Watches a run until it ends, by itself or by a control.
    async fn supervise(&mut self, mut run: Run, mut ready: bool) -> Next {
        if !ready && run.health.is_none() {
            ready = true;
            self.ready(&run).await;
        }
        let started = Instant::now() - run.uptime();
        let budget = started + self.config.start_timeout;
        let mut failures = 0;
        loop {
            tokio::select! {
                status = run.job.wait() => {
                    // Whatever the leader left in its group goes with it.
                    run.stop().await;
                    let uptime = run.uptime();
                    run.finish(status, &self.config.name, &self.shared).await;
                    return self.after_exit(status.and_then(|s| s.code()), uptime).await;
                }
                Some(healthy) = next_health(&mut run.health) => {
                    if healthy {
                        failures = 0;
                        if !ready {
                            ready = true;
                            self.ready(&run).await;
                        }
                    } else if ready {
                        failures += 1;
                        if failures >= run.retries {
                            return self.unhealthy(run, "failed its health check", true).await;
                        }
                    }
                }
                // Never ready is a failed start, so `after` waiters learn of it.
                _ = tokio::time::sleep_until(budget), if !ready => {
                    let what = format!(
                        "was not ready within start_timeout ({})",
                        crate::config::format_duration(self.config.start_timeout)
                    );
                    return self.unhealthy(run, &what, false).await;
                }
                control = self.controls.recv() => {
                    if let Some((next, reply)) = self.control(control, run.pid).await {
                        if matches!(next, Next::Start) && self.proxy.is_some() {
                            return Next::Handover(run, ready);
                        }
                        let status = run.stop().await;
                        run.finish(status, &self.config.name, &self.shared).await;
                        return match next {
                            Next::Down(Down::Stopped) => self.stopped(None).await,
                            Next::Exit => self.stopped(reply).await,
                            next => next,
                        };
                    }
                }
            }
        }
    }
}

/// The next probe result; pending forever without a health check.
async fn next_health(health: &mut Option<mpsc::Receiver<bool>>) -> Option<bool> {
    match health {
        Some(results) => results.recv().await,
        None => std::future::pending().await,
    }
}
