//! The task that runs the warm build: the compiler's process group, its
//! lines split into cycles, promotions one at a time, restarts with backoff.

use super::ToWarm;
use super::cycle::{Cycles, Matched};
use super::output::{Line, Marks, Taps, tap};
use super::plain;
use crate::build::BuildOutcome;
use crate::build::{Finished, PromoteRequest};
use crate::child::backoff::{Backoff, Decision};
use crate::child::group::shell;
use crate::child::leftovers::BUILD_FILE;
use crate::child::{self, Job, StopWith};
use crate::config::{Config, WarmConfig, format_duration};
use crate::event::Stream;
use crate::event::{BuildReason, BuildStatus, Event, Stamped};
use crate::watch::ChangeBatch;
use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

mod staging;

use staging::{AfterDone, Held, Staging};

/// What the warm build needs from whoever drives it.
pub struct Context {
    pub config: Arc<Config>,
    /// Good cycles to promote, with the quiet check as their guard.
    pub promote: mpsc::Sender<PromoteRequest>,
    pub events: mpsc::Sender<Stamped>,
    /// Each cycle's end, in order.
    pub done: mpsc::Sender<Finished>,
}

/// Why one run of the compiler ended.
enum End {
    Stop,
    Restart,
    Exited(Option<i32>),
}

struct Compiler {
    ctx: Context,
    warm: WarmConfig,
    cycles: Cycles,
    /// What the running compiler printed, for the staging thread.
    taps: Arc<Taps>,
    /// Where its output stood at the last line taken in.
    marks: Marks,
    staging: Option<Staging>,
    /// Ended cycles waiting for the one being staged, in order, with the
    /// output's marks when they ended and what they wrote after done.
    queue: VecDeque<(BuildOutcome, Marks, Option<AfterDone>)>,
    /// The preset's writes after done, seen as they finish (nx's package.json).
    written: Option<Arc<super::written::Written>>,
    /// Tries of the cycle being staged (1 for its first).
    tries: u32,
    held: Option<Held>,
}

/// Runs the compiler until told to stop; then its group is gone.
pub async fn run(ctx: Context, mut rx: mpsc::Receiver<ToWarm>) {
    let Some(warm) = ctx.config.build.warm.clone() else {
        return;
    };
    let mut compiler = Compiler {
        cycles: Cycles::new(ctx.config.build.timeout).only_start_opens(warm.only_start_opens),
        ctx,
        warm,
        taps: Arc::default(),
        marks: [0, 0],
        staging: None,
        queue: VecDeque::new(),
        written: None,
        tries: 1,
        held: None,
    };
    compiler.watch_written().await;
    let mut backoff = Backoff::default();
    let mut reason = BuildReason::Startup;
    loop {
        compiler.cycles.starting(reason);
        let started = Instant::now();
        let end = compiler.run_once(&mut rx).await;
        compiler.settle().await;
        let code = match end {
            End::Stop => return,
            End::Restart => {
                backoff.reset();
                reason = BuildReason::Manual;
                continue;
            }
            End::Exited(code) => code,
        };
        reason = BuildReason::Startup;
        let command = &compiler.ctx.config.build.command;
        let exited = match code {
            Some(code) => format!("exited with code {code}"),
            None => "was killed by a signal".to_string(),
        };
        let wait = match backoff.next(started.elapsed(), Instant::now()) {
            Decision::RestartIn(delay) => {
                let message = format!(
                    "the warm build `{command}` {exited}; starting it again in {}",
                    format_duration(delay)
                );
                compiler.emit(Event::Error { message }).await;
                Some(delay)
            }
            Decision::Failed => {
                let message = format!(
                    "the warm build `{command}` {exited} too often: not starting it again until b is pressed"
                );
                compiler.emit(Event::Error { message }).await;
                None
            }
        };
        let until = wait.map(|delay| Instant::now() + delay);
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    None | Some(ToWarm::Stop) => return,
                    Some(ToWarm::Restart) => {
                        backoff.reset();
                        reason = BuildReason::Manual;
                        break;
                    }
                    // The compiler builds everything when it starts again.
                    Some(ToWarm::Changed(_)) => {}
                    Some(ToWarm::Reconfigured(config)) => compiler.ctx.config = config,
                },
                _ = sleep_until(until.unwrap_or_else(Instant::now)), if until.is_some() => break,
            }
        }
    }
}

impl Compiler {
    async fn run_once(&mut self, rx: &mut mpsc::Receiver<ToWarm>) -> End {
        let config = self.ctx.config.clone();
        let mut command = shell(&config.build.command, &config.root, &config.root);
        // An open stdin: `esbuild --watch` stops when stdin closes (and so
        // stops by itself when a killed devloop's end of the pipe closes).
        command.stdin(std::process::Stdio::piped());
        let records = child::records(&config.state_dir(), BUILD_FILE, self.ctx.events.clone());
        let mut job = match Job::spawn(&mut command, "build", StopWith::BUILD, records) {
            Ok(job) => job,
            Err(e) => {
                let message = format!(
                    "cannot start the warm build `{}`: {e}",
                    config.build.command
                );
                self.emit(Event::Error { message }).await;
                return End::Exited(None);
            }
        };
        let stdin = job.take_stdin();
        let (line_tx, mut lines) = mpsc::channel(256);
        let mut pipes: Vec<(Stream, Box<dyn AsyncRead + Unpin + Send>, Option<OwnedFd>)> =
            Vec::new();
        let (out, err) = job.take_output();
        if let Some(out) = out {
            let fd = rustix::io::dup(out.as_fd()).ok();
            pipes.push((Stream::Stdout, Box::new(out), fd));
        }
        if let Some(err) = err {
            let fd = rustix::io::dup(err.as_fd()).ok();
            pipes.push((Stream::Stderr, Box::new(err), fd));
        }
        self.taps = tap(pipes, line_tx);
        let end = loop {
            let deadline = self.cycles.deadline();
            tokio::select! {
                message = rx.recv() => match message {
                    None | Some(ToWarm::Stop) => break End::Stop,
                    Some(ToWarm::Restart) => break End::Restart,
                    Some(ToWarm::Changed(batch)) => self.changed(batch).await,
                    Some(ToWarm::Reconfigured(config)) => self.ctx.config = config,
                },
                Some(line) = lines.recv() => self.line(line).await,
                staged = async { self.staging.as_mut().expect("staging").await }, if self.staging.is_some() => {
                    self.staging = None;
                    match staged {
                        Ok(staged) => self.staged(staged).await,
                        Err(e) => self.emit(Event::Error { message: format!("the promotion stopped unexpectedly: {e}") }).await,
                    }
                    self.next_in_queue().await;
                }
                _ = sleep_until(self.held.as_ref().map_or_else(Instant::now, |h| h.at)), if self.held.is_some() => {
                    self.retry().await;
                }
                exit = job.wait() => break End::Exited(exit.and_then(|s| s.code())),
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.stuck().await;
                    break End::Restart;
                }
            }
        };
        job.stop().await;
        drop(stdin);
        job.finish().await;
        // What it printed last, up to a moment for a pipe held elsewhere.
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_millis(500), lines.recv()).await
        {
            self.line(line).await;
        }
        if let Some(build) = self.cycles.interrupted() {
            let (status, failure) = match end {
                End::Exited(code) => (
                    BuildStatus::Failed,
                    Some(match code {
                        Some(code) => format!("the compiler exited with code {code} mid-cycle"),
                        None => "the compiler was killed by a signal mid-cycle".to_string(),
                    }),
                ),
                _ => (BuildStatus::Cancelled, None),
            };
            let outcome = BuildOutcome {
                id: build,
                status,
                exit_code: None,
                ms: 0,
                failure,
            };
            self.push(outcome, None).await;
        }
        end
    }

    /// One line of output: opens, continues or ends a cycle.
    async fn line(
        &mut self,
        Line {
            stream,
            text: line,
            end,
        }: Line,
    ) {
        self.marks[stream_index(stream)] = end;
        let text = plain(&line);
        let matched = Matched {
            start: self
                .warm
                .start
                .as_ref()
                .is_some_and(|re| re.is_match(text.as_ref())),
            done: self.warm.done.is_match(text.as_ref()),
            failed: self
                .warm
                .failed
                .as_ref()
                .is_some_and(|re| re.is_match(text.as_ref())),
        };
        let step = self
            .cycles
            .line(&text, matched, Instant::now(), SystemTime::now());
        if let Some((build, reason)) = step.opened {
            self.emit(Event::BuildStarted { build, reason }).await;
        }
        if step.build != 0 {
            self.emit(Event::BuildOutput {
                build: step.build,
                stream,
                line,
            })
            .await;
        }
        if let Some(ended) = step.ended {
            // The other stream may lag behind: what was read of it counts as before done.
            let other = 1 - stream_index(stream);
            self.marks[other] = self.taps.marks()[other];
            let status = match &ended.failure {
                Some(failure) => {
                    let message = format!(
                        "build {} failed at `{failure}`: nothing promoted",
                        ended.build
                    );
                    self.emit(Event::Notice { message }).await;
                    BuildStatus::Failed
                }
                None => BuildStatus::Ok,
            };
            let after = AfterDone {
                since: ended.started,
                dones: ended.dones,
            };
            let outcome = BuildOutcome {
                id: ended.build,
                status,
                exit_code: None,
                ms: ended.ms,
                failure: ended.failure,
            };
            self.push(outcome, Some(after)).await;
        }
    }

    async fn changed(&mut self, batch: ChangeBatch) {
        let root = self.ctx.config.root.clone();
        let debounce = self.ctx.config.watch.debounce;
        let newest = tokio::task::spawn_blocking(move || newest_change(&root, &batch, debounce))
            .await
            .unwrap_or_else(|_| SystemTime::now());
        if let Some((build, reason)) = self.cycles.changed(newest, Instant::now()) {
            self.emit(Event::BuildStarted { build, reason }).await;
        }
    }

    async fn stuck(&mut self) {
        let timeout = format_duration(self.ctx.config.build.timeout);
        let message = format!(
            "the warm build `{}` ran no cycle to its end within build.timeout ({timeout}) of a change: it looks stuck, or missed the change: starting it again",
            self.ctx.config.build.command
        );
        self.emit(Event::Error { message }).await;
        if let Some(build) = self.cycles.expire() {
            let outcome = BuildOutcome {
                id: build,
                status: BuildStatus::Timeout,
                exit_code: None,
                ms: self.ctx.config.build.timeout.as_millis() as u64,
                failure: None,
            };
            self.push(outcome, None).await;
        }
    }

    async fn emit(&self, event: Event) {
        let _ = self.ctx.events.send(Stamped::now(event)).await;
    }
}

fn stream_index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

/// The newest modification time among the changed paths; a deleted path
/// counts as changed when the batch's quiet time began.
fn newest_change(root: &std::path::Path, batch: &ChangeBatch, debounce: Duration) -> SystemTime {
    let fallback = SystemTime::now() - debounce;
    if batch.paths.is_empty() || batch.overflow {
        return fallback;
    }
    batch
        .paths
        .iter()
        .map(|path| {
            root.join(path)
                .symlink_metadata()
                .and_then(|meta| meta.modified())
                .unwrap_or(fallback)
        })
        .max()
        .unwrap_or(fallback)
}
