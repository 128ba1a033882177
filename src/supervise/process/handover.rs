//! A restart with `proxy`: the new instance starts while the old one serves,
//! the proxy switches to it once it is ready, and only then is the old one
//! stopped (with its stop signal, so its requests in flight finish). A new
//! instance that exits or is not ready in time is stopped, and the old one
//! serves on.

use super::{Control, Next, Task, next_health};
use crate::child::group::signal_group;
use crate::config::OnPromote;
use crate::event::{Event, RestartReason};
use crate::supervise::proxy::Backend;
use crate::supervise::run::Run;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// From the switch to the old instance's stop signal.
const SETTLE: Duration = Duration::from_millis(100);

impl Task {
    pub(super) async fn handover(&mut self, old: Run, serving: bool) -> Next {
        // Two at once, never in the same slot.
        let slot = 1 - old.slot;
        let mut old = Some((old, serving));
        let mut new = match self.launch(slot).await {
            Ok(run) => run,
            Err(error) => return self.keep(old, None, error.to_string()).await,
        };
        let deadline = Instant::now() + self.config.start_timeout;
        // A restart asked for meanwhile: the new instance may predate it.
        let mut again = None;
        loop {
            tokio::select! {
                status = new.job.wait() => {
                    let message = format!(
                        "the new instance of `{}` (pid {}) exited before it was ready",
                        self.config.name, new.pid
                    );
                    return self.keep(old, Some((new, status)), message).await;
                }
                _ = sleep_until(deadline) => {
                    let message = format!(
                        "the new instance of `{}` (pid {}) was not ready within start_timeout ({})",
                        self.config.name,
                        new.pid,
                        crate::config::format_duration(self.config.start_timeout)
                    );
                    return self.keep(old, Some((new, None)), message).await;
                }
                // Not `Some(true) =`: a failed pattern would disable the branch.
                Some(healthy) = next_health(&mut new.health) => {
                    if !healthy {
                        continue;
                    }
                    self.ready(&new).await;
                    if let Some((old, _)) = old.take() {
                        // Connections opened just before the switch may sit in
                        // its accept queue; a server closing its listener on
                        // the stop signal would reset them.
                        tokio::time::sleep(SETTLE).await;
                        self.retire(old).await;
                    }
                    return match again {
                        Some(reason) => {
                            self.restarting(Duration::ZERO, reason).await;
                            Next::Handover(new, true)
                        }
                        None => Next::Supervise(new, true),
                    };
                }
                status = wait_old(&mut old) => {
                    // It crashed meanwhile: connections wait for the new one.
                    self.backend(Backend::Starting);
                    if let Some((mut gone, _)) = old.take() {
                        gone.stop().await;
                        gone.finish(status, &self.config.name, &self.shared).await;
                    }
                }
                control = self.controls.recv() => {
                    let (reply, exit) = match control {
                        Some(Control::Promoted) => match self.config.on_promote {
                            OnPromote::Restart => {
                                again = Some(RestartReason::Promoted);
                                continue;
                            }
                            OnPromote::Signal(signal) => {
                                for run in old.iter().map(|(run, _)| run).chain([&new]) {
                                    signal_group(run.pid, signal.signal);
                                }
                                continue;
                            }
                            OnPromote::None => continue,
                        },
                        Some(Control::Restart) => {
                            self.backoff.reset();
                            again = Some(RestartReason::Manual);
                            continue;
                        }
                        Some(Control::Reconfigure(config)) => {
                            self.reconfigure(*config);
                            self.restarting(Duration::ZERO, RestartReason::Config).await;
                            if self.proxy.is_some() {
                                again = Some(RestartReason::Config);
                                continue;
                            }
                            // Another port: both go, and the next start binds it.
                            for run in old.take().map(|(run, _)| run).into_iter().chain([new]) {
                                self.retire(run).await;
                            }
                            return Next::Start;
                        }
                        Some(Control::Toggle) => (None, false),
                        Some(Control::Shutdown(reply)) => (Some(reply), true),
                        None => (None, true),
                    };
                    // The listener closes first (and stays closed when down).
                    self.proxy = None;
                    for run in old.take().map(|(run, _)| run).into_iter().chain([new]) {
                        self.retire(run).await;
                    }
                    return match reply {
                        Some(reply) => self.stopped(Some(reply)).await,
                        None if exit => Next::Exit,
                        None => self.stopped(None).await,
                    };
                }
            }
        }
    }

    /// Stops a run and reports its end.
    async fn retire(&self, mut run: Run) {
        let status = run.stop().await;
        run.finish(status, &self.config.name, &self.shared).await;
    }

    /// The new instance failed: the old one serves on if there is one,
    /// else this was a failed start like any other.
    async fn keep(
        &mut self,
        old: Option<(Run, bool)>,
        new: Option<(Run, Option<std::process::ExitStatus>)>,
        message: String,
    ) -> Next {
        if let Some((mut new, status)) = new {
            // Whatever it left in its group goes with it.
            let stopped = new.stop().await;
            let status = status.or(stopped);
            new.finish(status, &self.config.name, &self.shared).await;
        }
        match old {
            Some((old, serving)) => {
                let still = if serving { "still serves" } else { "runs on" };
                let message = format!("{message}; pid {} {still}", old.pid);
                self.emit(Event::Error { message }).await;
                Next::Supervise(old, serving)
            }
            None => {
                self.emit(Event::Error { message }).await;
                self.after_exit(None, Duration::ZERO).await
            }
        }
    }
}

/// The old instance's exit; pending once it is gone.
async fn wait_old(old: &mut Option<(Run, bool)>) -> Option<std::process::ExitStatus> {
    match old {
        Some((run, _)) => run.wait().await,
        None => std::future::pending().await,
    }
}
