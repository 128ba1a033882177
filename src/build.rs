//! Runs one build: `sh -c` in its own process group, output streamed line by
//! line, a timeout, and cancellation that takes the whole group down.

use crate::event::{BuildStatus, Event, Stamped, Stream};
use crate::lines::forward_lines;
use crate::proc::{shell, spawn, terminate_group};
use crate::supervise::leftovers::{BUILD_FILE, Records, record_of};
use rustix::process::Signal;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncRead;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long a cancelled or timed-out build, or a warm build's compiler,
/// gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long to wait for output after the group is gone (a daemon that left the
/// group may still hold the pipe).
const DRAIN_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub id: u64,
    pub command: String,
    pub root: PathBuf,
    pub timeout: Duration,
    /// Where the running build's group is recorded, so that the next start
    /// stops it if devloop is killed meanwhile.
    pub state_dir: PathBuf,
}

impl BuildRequest {
    /// Build number `id` of the workspace's configured build.
    pub fn new(id: u64, config: &crate::config::Config) -> BuildRequest {
        BuildRequest {
            id,
            command: config.build.command.clone(),
            root: config.root.clone(),
            timeout: config.build.timeout,
            state_dir: config.state_dir(),
        }
    }
}

/// A build's end as its driver reports it (the cold build's task, a warm
/// cycle): the outcome, and the promotion that followed a successful build
/// when watch.toml has `[promote]`.
#[derive(Debug)]
pub struct Finished {
    pub outcome: BuildOutcome,
    pub promotion: Option<Result<crate::promote::Promotion, crate::promote::PromoteError>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutcome {
    pub id: u64,
    pub status: BuildStatus,
    pub exit_code: Option<i32>,
    pub ms: u64,
    /// A warm cycle's failure, said instead of an exit code.
    pub failure: Option<String>,
}

/// Runs the build to its end. A message on `cancel` (or its sender dropping)
/// stops it with status `cancelled`.
pub async fn run_build(
    request: BuildRequest,
    events: mpsc::Sender<Stamped>,
    mut cancel: oneshot::Receiver<()>,
) -> BuildOutcome {
    let started = Instant::now();
    let outcome = |status, exit_code| BuildOutcome {
        id: request.id,
        status,
        exit_code,
        ms: started.elapsed().as_millis() as u64,
        failure: None,
    };
    let mut child = match spawn(&mut shell(&request.command, &request.root, &request.root)) {
        Ok(child) => child,
        Err(e) => {
            let message = format!("cannot start the build `{}`: {e}", request.command);
            let _ = events.send(Stamped::now(Event::Error { message })).await;
            return outcome(BuildStatus::Failed, None);
        }
    };
    let pgid = child.id().unwrap_or(0);
    let mut records = Records::new(&request.state_dir, BUILD_FILE).reporting(events.clone());
    if let Some(record) = record_of(pgid, Signal::TERM, STOP_GRACE, "build") {
        records.add(record);
    }
    let readers = [
        child
            .stdout
            .take()
            .map(|out| stream(out, Stream::Stdout, request.id, events.clone())),
        child
            .stderr
            .take()
            .map(|err| stream(err, Stream::Stderr, request.id, events.clone())),
    ];
    let deadline = tokio::time::sleep(request.timeout);
    tokio::pin!(deadline);
    let (status, exit_code) = tokio::select! {
        exit = child.wait() => {
            let code = exit.ok().and_then(|s| s.code());
            // Whatever the build left running in its group goes with it.
            terminate_group(&mut child, pgid, Signal::TERM, STOP_GRACE).await;
            let status = if code == Some(0) { BuildStatus::Ok } else { BuildStatus::Failed };
            (status, code)
        }
        _ = &mut deadline => {
            terminate_group(&mut child, pgid, Signal::TERM, STOP_GRACE).await;
            (BuildStatus::Timeout, None)
        }
        _ = &mut cancel => {
            terminate_group(&mut child, pgid, Signal::TERM, STOP_GRACE).await;
            (BuildStatus::Cancelled, None)
        }
    };
    records.clear();
    for reader in readers.into_iter().flatten() {
        drain(reader).await;
    }
    outcome(status, exit_code)
}

async fn drain(reader: JoinHandle<()>) {
    let abort = reader.abort_handle();
    if tokio::time::timeout(DRAIN_WAIT, reader).await.is_err() {
        abort.abort();
    }
}

fn stream(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    stream: Stream,
    build: u64,
    events: mpsc::Sender<Stamped>,
) -> JoinHandle<()> {
    forward_lines(pipe, events, move |line| Event::BuildOutput {
        build,
        stream,
        line,
    })
}
