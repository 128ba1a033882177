//! One run of a supervised process: the child started through `sh -c` in a
//! group of its own and recorded for leftover cleanup, its output streamed as
//! `process_output`, its health probed, its group stopped, and its end
//! reported as `process_exited`.

use super::Shared;
use super::health::{ProbeDir, watch};
use super::leftovers::record_of;
use crate::config::ProcessConfig;
use crate::event::{Event, Stream};
use crate::lines::forward_lines;
use crate::proc::{shell, spawn, terminate_group};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::io::AsyncRead;
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long output may keep coming after the group is gone (a daemon that
/// left the group may still hold the pipe).
const DRAIN_WAIT: Duration = Duration::from_secs(1);

pub struct Run {
    pub child: Child,
    /// The leader's pid, which is also the group's id.
    pub pid: u32,
    started: Instant,
    readers: Vec<JoinHandle<()>>,
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
        let mut cmd = shell(&exec_form(&config.command), &shared.root, &cwd);
        if shared.color {
            cmd.env("FORCE_COLOR", "1");
        }
        // After PATH and FORCE_COLOR, so the configuration can override both.
        cmd.envs(config.env.iter().map(|(k, v)| (k, v)));
        let child = spawn(&mut cmd)?;
        let pid = child.id().unwrap_or(0);
        let signal = config.stop_signal.signal;
        if let Some(record) = record_of(pid, signal, config.stop_timeout, &config.name) {
            shared.records().add(record);
        }
        Ok(Run {
            child,
            pid,
            started: Instant::now(),
            readers: Vec::new(),
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
        let name = config.name.as_str();
        let out = self.child.stdout.take();
        let err = self.child.stderr.take();
        self.readers = [
            out.map(|o| stream(o, Stream::Stdout, name, shared)),
            err.map(|e| stream(e, Stream::Stderr, name, shared)),
        ]
        .into_iter()
        .flatten()
        .collect();
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
        self.started.elapsed()
    }

    /// Stops the whole group (stop_signal, then SIGKILL after stop_timeout),
    /// also when the leader already exited and only its children are left.
    pub async fn stop(&mut self, config: &ProcessConfig) -> Option<ExitStatus> {
        let signal = config.stop_signal.signal;
        terminate_group(&mut self.child, self.pid, signal, config.stop_timeout).await
    }

    /// After the group is gone: the last output, then `process_exited`.
    pub async fn finish(self, status: Option<ExitStatus>, name: &str, shared: &Shared) {
        if let Some(task) = &self.health_task {
            task.abort();
        }
        for reader in self.readers {
            let abort = reader.abort_handle();
            if tokio::time::timeout(DRAIN_WAIT, reader).await.is_err() {
                abort.abort();
            }
        }
        shared.records().remove(self.pid);
        shared
            .emit(Event::ProcessExited {
                process: name.to_string(),
                pid: self.pid,
                code: status.and_then(|s| s.code()),
                signal: status
                    .and_then(|s| s.signal())
                    .map(crate::platform::signal_name),
                uptime_ms: self.started.elapsed().as_millis() as u64,
            })
            .await;
    }
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

fn stream(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    stream: Stream,
    process: &str,
    shared: &Shared,
) -> JoinHandle<()> {
    let process = process.to_string();
    forward_lines(pipe, shared.events.clone(), move |line| {
        Event::ProcessOutput {
            process: process.clone(),
            stream,
            line,
        }
    })
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
