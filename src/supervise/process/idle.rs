//! The task's idle states: waiting out a restart delay, down (stopped,
//! failed or exited), and blocked on a port held by another program. Each
//! returns the next state when time or a control moves it on.

use super::{Control, Down, Next, PORT_POLL, Task};
use crate::config::OnPromote;
use crate::event::{Event, RestartReason};
use crate::supervise::port;
use crate::supervise::proxy::Proxy;
use std::time::Duration;
use tokio::time::{Instant, sleep};

impl Task {
    /// Waits out a restart delay; controls may cut it short.
    pub(super) async fn wait(&mut self, delay: Duration) -> Next {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return Next::Start,
                control = self.controls.recv() => match control {
                    Some(Control::Restart) => {
                        self.backoff.reset();
                        self.restarting(Duration::ZERO, RestartReason::Manual).await;
                        return Next::Start;
                    }
                    Some(Control::Reconfigure(config)) => {
                        self.reconfigure(*config);
                        self.restarting(Duration::ZERO, RestartReason::Config).await;
                        return Next::Start;
                    }
                    Some(Control::Toggle) => return self.stopped(None).await,
                    Some(Control::Promoted) => {}
                    Some(Control::Shutdown(reply)) => return self.stopped(Some(reply)).await,
                    None => return Next::Exit,
                },
            }
        }
    }

    /// Down until a control says otherwise.
    pub(super) async fn down(&mut self, why: Down) -> Next {
        loop {
            let reason = match self.controls.recv().await {
                Some(Control::Restart) => Some(RestartReason::Manual),
                // `s` starts what is down: a start, not a restart.
                Some(Control::Toggle) => None,
                Some(Control::Promoted) => {
                    let revive = why == Down::Failed
                        || (why == Down::Exited && self.config.on_promote == OnPromote::Restart);
                    if !revive {
                        continue;
                    }
                    Some(RestartReason::Promoted)
                }
                Some(Control::Reconfigure(config)) => {
                    self.reconfigure(*config);
                    // Stopped by hand stays stopped; failed or exited may now work.
                    if why == Down::Stopped {
                        continue;
                    }
                    Some(RestartReason::Config)
                }
                Some(Control::Shutdown(reply)) => {
                    self.reply = Some(reply);
                    return Next::Exit;
                }
                None => return Next::Exit,
            };
            self.backoff.reset();
            if let Some(reason) = reason {
                self.restarting(Duration::ZERO, reason).await;
            }
            return Next::Start;
        }
    }

    /// With `proxy`: holds the port (free by now) for good. None when bound,
    /// or when the process has no proxy.
    pub(super) async fn bind_proxy(&mut self) -> Option<Next> {
        let port = self.config.port.filter(|_| self.config.proxy)?;
        match Proxy::bind(port, self.config.start_timeout).await {
            Ok(proxy) => {
                self.proxy = Some(proxy);
                None
            }
            Err(e) => {
                let message = format!(
                    "cannot listen on port {port} for `{}`: {e}",
                    self.config.name
                );
                self.emit(Event::Error { message }).await;
                Some(Next::Wait(PORT_POLL))
            }
        }
    }

    /// Waits for the port to be free (None), or returns what a control asked.
    pub(super) async fn wait_for_port(&mut self) -> Option<Next> {
        let port = self.config.port?;
        let mut seen = port::Sockets::new();
        loop {
            let sockets = tokio::task::spawn_blocking(move || port::listening(port))
                .await
                .unwrap_or_default();
            if sockets.is_empty() {
                return None;
            }
            if sockets != seen {
                let lookup = sockets.clone();
                let holder = tokio::task::spawn_blocking(move || port::holder(&lookup)).await;
                let reason = match holder {
                    Ok(holder) => port::describe(port, &holder),
                    Err(_) => port::describe(
                        port,
                        &port::Holder {
                            pid: None,
                            name: None,
                        },
                    ),
                };
                let process = self.name();
                self.emit(Event::ProcessBlocked { process, reason }).await;
                seen = sockets;
            }
            tokio::select! {
                _ = sleep(PORT_POLL) => {}
                control = self.controls.recv() => match control {
                    Some(Control::Toggle) => return Some(self.stopped(None).await),
                    Some(Control::Shutdown(reply)) => return Some(self.stopped(Some(reply)).await),
                    // Perhaps another port: look again.
                    Some(Control::Reconfigure(config)) => {
                        self.reconfigure(*config);
                        return Some(Next::Start);
                    }
                    Some(Control::Restart | Control::Promoted) => {}
                    None => return Some(Next::Exit),
                },
            }
        }
    }
}
