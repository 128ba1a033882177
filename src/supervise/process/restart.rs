//! Restart decisions of a process task: what a control does to a run,
//! and what follows a crash, a failed health check or a start never ready
//! (backoff, or `failed` with the reason).

use super::{Control, Down, Next, Task};
use crate::child::backoff::{Decision, wants_restart};
use crate::child::group::signal_group;
use crate::config::OnPromote;
use crate::event::{Event, RestartReason};
use crate::supervise::Report;
use crate::supervise::run::Run;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

impl Task {
    /// A control while running: None when the run goes on, else what comes
    /// after stopping it (and who waits for that).
    pub(super) async fn control(
        &mut self,
        control: Option<Control>,
        pgid: u32,
    ) -> Option<(Next, Option<oneshot::Sender<()>>)> {
        match control {
            Some(Control::Promoted) => match self.config.on_promote {
                OnPromote::None => None,
                OnPromote::Signal(signal) => {
                    signal_group(pgid, signal.signal);
                    None
                }
                OnPromote::Restart => {
                    self.restarting(Duration::ZERO, RestartReason::Promoted)
                        .await;
                    Some((Next::Start, None))
                }
            },
            Some(Control::Restart) => {
                self.backoff.reset();
                self.restarting(Duration::ZERO, RestartReason::Manual).await;
                Some((Next::Start, None))
            }
            Some(Control::Reconfigure(config)) => {
                self.reconfigure(*config);
                self.restarting(Duration::ZERO, RestartReason::Config).await;
                Some((Next::Start, None))
            }
            Some(Control::Toggle) => Some((Next::Down(Down::Stopped), None)),
            Some(Control::Shutdown(reply)) => {
                // The listener closes first: nothing new reaches a stopping server.
                self.proxy = None;
                Some((Next::Exit, Some(reply)))
            }
            None => Some((Next::Exit, None)),
        }
    }

    /// `retries` failed probes in a row, or never ready: restart, as an
    /// automatic restart; with `proxy`, the new instance starts first.
    pub(super) async fn unhealthy(&mut self, mut run: Run, what: &str, served: bool) -> Next {
        let _ = self.shared.reports.send(Report::Failed(self.id));
        let decision = self.backoff.next(run.uptime(), Instant::now());
        if let Decision::RestartIn(delay) = decision {
            let handover = served && self.proxy.is_some();
            let delay = if handover { Duration::ZERO } else { delay };
            self.restarting(delay, RestartReason::Unhealthy).await;
            if handover {
                return Next::Handover(run, true);
            }
        }
        let status = run.stop().await;
        run.finish(status, &self.config.name, &self.shared).await;
        self.decided(decision, what).await
    }

    /// The run ended by itself with exit `code` (None: a signal).
    pub(super) async fn after_exit(&mut self, code: Option<i32>, uptime: Duration) -> Next {
        let _ = self.shared.reports.send(Report::Failed(self.id));
        if !wants_restart(self.config.restart, code) {
            return Next::Down(Down::Exited);
        }
        let decision = self.backoff.next(uptime, Instant::now());
        if let Decision::RestartIn(delay) = decision {
            self.restarting(delay, RestartReason::Exited).await;
        }
        self.decided(decision, "exited").await
    }

    async fn decided(&mut self, decision: Decision, what: &str) -> Next {
        match decision {
            Decision::RestartIn(delay) => Next::Wait(delay),
            Decision::Failed => {
                let reason = format!(
                    "{what} after {} restarts within {}; the next successful promotion starts it again, or `s {}`",
                    crate::child::backoff::MAX_RESTARTS,
                    crate::config::format_duration(crate::child::backoff::WINDOW),
                    self.config.name
                );
                let process = self.name();
                self.emit(Event::ProcessFailed { process, reason }).await;
                Next::Down(Down::Failed)
            }
        }
    }
}
