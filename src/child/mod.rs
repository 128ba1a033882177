//! Children devloop starts: the build, the warm build's compiler and every
//! process. A [`Job`] owns one run of one command: spawned in a process group
//! of its own, recorded in the state directory for the next start's cleanup,
//! its output turned into events line by line, stopped as a group, and its
//! record and readers finished. Restart decisions live in [`backoff`].

pub mod backoff;
pub mod group;
pub mod leftovers;
pub mod pty;

use crate::event::{Event, Stamped, Stream};
use crate::lines::forward_lines;
use group::{spawn, terminate_group};
use leftovers::{Records, record_of};
use rustix::process::Signal;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long a cancelled or timed-out build, or a warm build's compiler,
/// gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long output may keep coming after the group is gone (a daemon that
/// left the group may still hold the pipe).
const DRAIN_WAIT: Duration = Duration::from_secs(1);

/// A records file shared by the jobs that write to it.
pub type SharedRecords = Arc<Mutex<Records>>;

/// How a job's group is stopped: this signal, then SIGKILL after `grace`.
#[derive(Debug, Clone, Copy)]
pub struct StopWith {
    pub signal: Signal,
    pub grace: Duration,
}

impl StopWith {
    /// How builds and the warm compiler are stopped.
    pub const BUILD: StopWith = StopWith {
        signal: Signal::TERM,
        grace: STOP_GRACE,
    };
}

/// One run of one command in a process group of its own.
#[derive(Debug)]
pub struct Job {
    child: Child,
    pgid: u32,
    stop: StopWith,
    started: Instant,
    records: SharedRecords,
    readers: Vec<JoinHandle<()>>,
}

impl Job {
    /// Spawns `command` (made by [`group::shell`], so it leads a new group)
    /// and records its group as `name` in `records`.
    pub fn spawn(
        command: &mut Command,
        name: &str,
        stop: StopWith,
        records: SharedRecords,
    ) -> std::io::Result<Job> {
        let child = spawn(command)?;
        let pgid = child.id().unwrap_or(0);
        if let Some(record) = record_of(pgid, stop.signal, stop.grace, name) {
            lock(&records).add(record);
        }
        Ok(Job {
            child,
            pgid,
            stop,
            started: Instant::now(),
            records,
            readers: Vec::new(),
        })
    }

    /// The leader's pid, which is also the group's id.
    pub fn pid(&self) -> u32 {
        self.pgid
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Sends both output streams to `events`, a line at a time, as `event`
    /// makes them.
    pub fn forward_output<F>(&mut self, events: &mpsc::Sender<Stamped>, event: F)
    where
        F: Fn(Stream, String) -> Event + Clone + Send + Sync + 'static,
    {
        let (out, err) = self.take_output();
        let forward = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>, stream| {
            let event = event.clone();
            pipe.map(|pipe| forward_lines(pipe, events.clone(), move |line| event(stream, line)))
        };
        let readers = [
            forward(out.map(|o| Box::new(o) as _), Stream::Stdout),
            forward(err.map(|e| Box::new(e) as _), Stream::Stderr),
        ];
        self.readers.extend(readers.into_iter().flatten());
    }

    /// A task reading its output some other way (a terminal), waited for
    /// in `finish` as the pipes' readers are.
    pub fn add_reader(&mut self, reader: JoinHandle<()>) {
        self.readers.push(reader);
    }

    /// Both output pipes, for a caller that reads them itself.
    pub fn take_output(&mut self) -> (Option<ChildStdout>, Option<ChildStderr>) {
        (self.child.stdout.take(), self.child.stderr.take())
    }

    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// The leader's exit; its group may still have members.
    pub async fn wait(&mut self) -> Option<ExitStatus> {
        self.child.wait().await.ok()
    }

    /// Stops the whole group (the stop signal, then SIGKILL after the
    /// grace), also when the leader already exited and only its children are
    /// left. Returns the leader's status once reaped.
    pub async fn stop(&mut self) -> Option<ExitStatus> {
        let StopWith { signal, grace } = self.stop;
        terminate_group(&mut self.child, self.pgid, signal, grace).await
    }

    /// After the group is gone: forgets its record and waits a moment for the
    /// last output. Returns how long it ran.
    pub async fn finish(self) -> Duration {
        lock(&self.records).remove(self.pgid);
        for reader in self.readers {
            let abort = reader.abort_handle();
            if tokio::time::timeout(DRAIN_WAIT, reader).await.is_err() {
                abort.abort();
            }
        }
        self.started.elapsed()
    }
}

/// A records file of its own, for one kind of job (the build's group).
pub fn records(
    state_dir: &std::path::Path,
    file: &str,
    events: mpsc::Sender<Stamped>,
) -> SharedRecords {
    Arc::new(Mutex::new(Records::new(state_dir, file).reporting(events)))
}

pub fn lock(records: &SharedRecords) -> std::sync::MutexGuard<'_, Records> {
    records.lock().unwrap_or_else(|p| p.into_inner())
}
