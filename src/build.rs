//! Runs one build: `sh -c` in its own process group, output streamed line by
//! line, a timeout, and cancellation that takes the whole group down.

use crate::child::group::shell;
use crate::child::leftovers::BUILD_FILE;
use crate::child::{self, Job, StopWith};
use crate::event::{BuildStatus, Event, Stamped};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

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

/// Checked just before the swap; an error drops the staged copy. The warm
/// build's: the compiler stayed quiet while its cycle was staged.
pub type Guard = Box<dyn Fn() -> Result<(), crate::promote::PromoteError> + Send>;

/// A driver asking the engine to promote a good build: the engine owns every
/// promotion (where it goes, and that no rollback runs meanwhile).
pub struct PromoteRequest {
    pub guard: Guard,
    /// None when watch.toml has no `[promote]`.
    pub reply:
        oneshot::Sender<Option<Result<crate::promote::Promotion, crate::promote::PromoteError>>>,
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
    let records = child::records(&request.state_dir, BUILD_FILE, events.clone());
    let command = &mut shell(&request.command, &request.root, &request.root);
    let mut job = match Job::spawn(command, "build", StopWith::BUILD, records) {
        Ok(job) => job,
        Err(e) => {
            let message = format!("cannot start the build `{}`: {e}", request.command);
            let _ = events.send(Stamped::now(Event::Error { message })).await;
            return outcome(BuildStatus::Failed, None);
        }
    };
    let build = request.id;
    job.forward_output(&events, move |stream, line| Event::BuildOutput {
        build,
        stream,
        line,
    });
    let deadline = tokio::time::sleep(request.timeout);
    tokio::pin!(deadline);
    let (status, exit_code) = tokio::select! {
        exit = job.wait() => {
            let code = exit.and_then(|s| s.code());
            let status = if code == Some(0) { BuildStatus::Ok } else { BuildStatus::Failed };
            (status, code)
        }
        _ = &mut deadline => (BuildStatus::Timeout, None),
        _ = &mut cancel => (BuildStatus::Cancelled, None),
    };
    // Whatever the build left running in its group goes with it.
    job.stop().await;
    job.finish().await;
    outcome(status, exit_code)
}
