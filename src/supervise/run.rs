//! One run of a supervised process: the child started through `sh -c` in a
//! group of its own and recorded for leftover cleanup, its output streamed as
//! `process_output`, its health probed, its group stopped, and its end
//! reported as `process_exited`.

use super::Shared;
use super::health::{ProbeDir, watch};
use crate::child::group::{shell, shell_alone};
use crate::child::pty::{self, Master};
use crate::child::{Job, StopWith};
use crate::config::ProcessConfig;
use crate::event::{Event, Stamped, Stream};
use crate::lines::forward_chunks_and_lines;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub struct Run {
    pub job: Job,
    /// In the TUI: the terminal it runs on.
    terminal: Option<Arc<Master>>,
    /// The leader's pid, which is also the group's id.
    pub pid: u32,
    /// Probe results, when the process has a health check.
    pub health: Option<mpsc::Receiver<bool>>,
    health_task: Option<JoinHandle<()>>,
    /// Failed probes in a row that make it unhealthy.
    pub retries: u32,
    /// With `proxy`: the private port it was given in $PORT.
    pub port: Option<u16>,
    /// With `proxy`: 0 or 1 in $DEVLOOP_INSTANCE, never the same for two
    /// instances running at once.
    pub slot: u8,
}

impl Run {
    pub fn start(config: &ProcessConfig, shared: &Shared) -> std::io::Result<Run> {
        let cwd = shared.root.join(&config.cwd);
        let command = exec_form(&config.command);
        let mut terminal = None;
        let mut cmd = match &shared.terminals {
            Some(terminals) => {
                let size = terminals.size(&config.name);
                let (master, slave) = pty::open(size)?;
                let mut cmd = shell_alone(&command, &shared.root, &cwd);
                pty::attach(&mut cmd, &slave)?;
                // A terminal of its own, where nx and turbo would start their
                // full-screen UIs: they print lines instead.
                cmd.env("TERM", "xterm-256color")
                    .env("NX_TUI", "false")
                    .env("TURBO_UI", "false");
                terminal = Some((master, slave, size));
                cmd
            }
            None => {
                let mut cmd = shell(&command, &shared.root, &cwd);
                if shared.color {
                    cmd.env("FORCE_COLOR", "1");
                }
                cmd
            }
        };
        // After PATH and the above, so the configuration can override them.
        cmd.envs(config.env.iter().map(|(k, v)| (k, v)));
        let stop = StopWith {
            signal: config.stop_signal.signal,
            grace: config.stop_timeout,
        };
        let job = Job::spawn(&mut cmd, &config.name, stop, shared.records.clone())?;
        let terminal = match terminal {
            Some((master, slave, size)) => {
                // Only the child holds the slave now: the master reads the end.
                drop(slave);
                Some(Arc::new(Master::new(master, size)?))
            }
            None => None,
        };
        if let (Some(terminals), Some(master)) = (&shared.terminals, &terminal) {
            terminals.started(&config.name, master.clone());
        }
        Ok(Run {
            pid: job.pid(),
            terminal,
            job,
            health: None,
            health_task: None,
            retries: 1,
            port: None,
            slot: 0,
        })
    }

    /// Starts streaming output and probing health. Separate from `start` so
    /// that `process_started` is sent before any of the run's output.
    pub fn watch(&mut self, config: &ProcessConfig, shared: &Shared) {
        let process = config.name.clone();
        match &self.terminal {
            Some(master) => {
                let reader = read_terminal(master.clone(), process, shared.events.clone());
                self.job.add_reader(reader);
            }
            None => self
                .job
                .forward_output(&shared.events, move |stream, line| Event::ProcessOutput {
                    process: process.clone(),
                    stream,
                    line,
                }),
        }
        if let Some(health) = &config.health {
            let (tx, rx) = mpsc::channel(1);
            let dir = ProbeDir {
                root: shared.root.clone(),
                cwd: config.cwd.clone(),
                env: config.env.clone(),
            };
            self.health = Some(rx);
            self.retries = health.retries;
            self.health_task = Some(tokio::spawn(watch(health.clone(), dir, tx)));
        }
    }

    pub fn uptime(&self) -> Duration {
        self.job.uptime()
    }

    /// The leader's exit; its group may still have members.
    pub async fn wait(&mut self) -> Option<ExitStatus> {
        self.job.wait().await
    }

    /// Stops the whole group (stop_signal, then SIGKILL after stop_timeout),
    /// also when the leader already exited and only its children are left.
    pub async fn stop(&mut self) -> Option<ExitStatus> {
        self.job.stop().await
    }

    /// After the group is gone: the last output, then `process_exited`.
    pub async fn finish(self, status: Option<ExitStatus>, name: &str, shared: &Shared) {
        if let Some(task) = &self.health_task {
            task.abort();
        }
        let uptime = self.job.finish().await;
        if let (Some(terminals), Some(master)) = (&shared.terminals, &self.terminal) {
            terminals.ended(name, master);
        }
        shared
            .emit(Event::ProcessExited {
                process: name.to_string(),
                pid: self.pid,
                code: status.and_then(|s| s.code()),
                signal: status
                    .and_then(|s| s.signal())
                    .map(crate::platform::signal_name),
                uptime_ms: uptime.as_millis() as u64,
            })
            .await;
    }
}

/// Reads a terminal to its end: each chunk as it came (for the screens),
/// then the lines cut from it, as a pipe's would be.
fn read_terminal(
    master: Arc<Master>,
    process: String,
    events: mpsc::Sender<Stamped>,
) -> JoinHandle<()> {
    let output = pty::Output(master.clone());
    let name = process.clone();
    let chunk = move |bytes: &[u8]| {
        let size = master.size();
        Some(Event::ProcessTerminal {
            process: name.clone(),
            rows: size.rows,
            cols: size.cols,
            bytes: bytes.to_vec(),
        })
    };
    forward_chunks_and_lines(output, events, chunk, move |line| Event::ProcessOutput {
        process: process.clone(),
        stream: Stream::Stdout,
        line,
    })
}

/// `exec COMMAND` when COMMAND is one simple command, so the shell is
/// replaced by the program and does not sit between it and its signals.
pub fn exec_form(command: &str) -> String {
    let trimmed = command.trim();
    let first = trimmed.split_whitespace().next().unwrap_or("");
    let compound = trimmed.contains(|c: char| ";&|()\n".contains(c));
    let assignment = first.contains('=');
    if compound || assignment || first == "exec" || crate::config::first_program(trimmed).is_none()
    {
        command.to_string()
    } else {
        format!("exec {trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_only_for_one_simple_command() {
        assert_eq!(exec_form("node server.js"), "exec node server.js");
        assert_eq!(exec_form(" pnpm nx serve web "), "exec pnpm nx serve web");
        assert_eq!(exec_form("node a > log"), "exec node a > log");
        for kept in [
            "echo a; sleep 1",
            "a && b",
            "a | b",
            "sleep 1 &",
            "(cd x)",
            "PORT=1 node x",
            "exec node x",
            "cd apps",
            ": nothing",
            "if true; then x; fi",
        ] {
            assert_eq!(exec_form(kept), kept);
        }
    }
}
