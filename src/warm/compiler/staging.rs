//! The warm build's promotions, one at a time and in order: a cycle that
//! ended waits until its output settles, is promoted by the engine with the
//! quiet check as its guard, held and tried again when the compiler was not
//! quiet, and reported to the engine.

use super::{Compiler, Finished};
use crate::build::{BuildOutcome, Guard, PromoteRequest};
use crate::event::{BuildStatus, Event};
use crate::promote::{PromoteError, Promotion};
use crate::warm::output::Marks;
use crate::warm::{presets, quiet};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A cycle being settled and promoted.
pub(super) type Staging = JoinHandle<Staged>;

/// What staging a cycle came to.
pub(super) struct Staged {
    outcome: BuildOutcome,
    /// None when the engine promotes nowhere.
    promotion: Option<Result<Promotion, PromoteError>>,
    /// Dropped because the compiler was not quiet: held and tried again.
    loud: bool,
    /// The preset's writes after done never came (nx without
    /// generatePackageJson): later cycles wait for quiet output instead.
    missed_writes: bool,
}

/// What an ended cycle writes after its `done` lines, and since when to count.
#[derive(Debug, Clone, Copy)]
pub(super) struct AfterDone {
    pub since: Instant,
    /// One file per `done` line.
    pub dones: u32,
}

/// How long a cycle waits for the preset's writes after done before it
/// falls back to waiting for quiet output.
const WRITES_AFTER_DONE: Duration = Duration::from_secs(1);

/// How long the output must stay quiet before a dropped promotion is tried
/// again, and how many times: nx's `@nx/js:tsc` rewrites package.json just
/// after tsc's done line, and then no cycle follows to promote the edit.
const QUIET_WAIT: Duration = Duration::from_millis(100);
const QUIET_TRIES: u32 = 20;
/// How many settle waits a staging gives writes that go on after done.
const SETTLE_ROUNDS: u32 = 5;

/// A cycle whose promotion was dropped, waiting for the output to go quiet.
pub(super) struct Held {
    outcome: BuildOutcome,
    reason: PromoteError,
    tries: u32,
    pub(super) at: Instant,
}

impl Compiler {
    /// An ended cycle: reported in order, a good one after its promotion.
    pub(super) async fn push(&mut self, outcome: BuildOutcome, after: Option<AfterDone>) {
        // A newer cycle ended: it promotes instead of the held one.
        self.drop_held().await;
        self.queue.push_back((outcome, self.marks, after));
        if self.staging.is_none() {
            self.next_in_queue().await;
        }
    }

    pub(super) async fn next_in_queue(&mut self) {
        while let Some((outcome, marks, after)) = self.queue.pop_front() {
            match self.ctx.config.promoted_output() {
                Some(output) if outcome.status == BuildStatus::Ok => {
                    self.tries = 1;
                    self.staging = Some(self.stage(output, outcome, marks, after));
                    return;
                }
                _ => self.done(outcome, None).await,
            }
        }
    }

    /// A promotion dropped because the output was not quiet: tried again
    /// once it has been quiet a moment, unless a newer cycle is on its way.
    pub(super) async fn hold(&mut self, outcome: BuildOutcome, reason: PromoteError) {
        let tries = self.tries;
        if tries >= QUIET_TRIES || !self.queue.is_empty() || self.cycles.is_open() {
            return self.done(outcome, Some(Err(reason))).await;
        }
        let at = Instant::now() + QUIET_WAIT;
        self.held = Some(Held {
            outcome,
            reason,
            tries,
            at,
        });
    }

    pub(super) async fn retry(&mut self) {
        let Some(held) = self.held.take() else {
            return;
        };
        match self.ctx.config.promoted_output() {
            Some(output) if self.queue.is_empty() && !self.cycles.is_open() => {
                self.tries = held.tries + 1;
                // Quiet from the last line taken in: a newer one drops it again.
                self.staging = Some(self.stage(output, held.outcome, self.marks, None));
            }
            _ => self.done(held.outcome, Some(Err(held.reason))).await,
        }
    }

    pub(super) async fn drop_held(&mut self) {
        if let Some(held) = self.held.take() {
            self.done(held.outcome, Some(Err(held.reason))).await;
        }
    }

    /// Waits for the output to settle off the runtime's threads, then asks
    /// the engine to promote it, guarded by the compiler staying quiet.
    pub(super) fn stage(
        &self,
        output: PathBuf,
        outcome: BuildOutcome,
        at_done: Marks,
        after: Option<AfterDone>,
    ) -> Staging {
        let taps = self.taps.clone();
        let mut settle = presets::settle(self.warm.preset);
        if self.tries > 1 {
            settle = settle.max(QUIET_WAIT);
        }
        let written = self.written.clone().zip(after);
        let requests = self.ctx.promote.clone();
        let build = outcome.id;
        tokio::spawn(async move {
            let watched = output.clone();
            let settling =
                tokio::task::spawn_blocking(move || settle_output(&watched, settle, written));
            let (settled, before, missed_writes) = match settling.await {
                Ok(settling) => settling,
                Err(e) => {
                    let promotion = Err(PromoteError::Internal(format!(
                        "waiting for build {build}'s output to settle stopped unexpectedly: {e}"
                    )));
                    return Staged::new(outcome, Some(promotion), false);
                }
            };
            if !settled {
                let promotion = Err(PromoteError::NotQuiet(format!(
                    "the compiler wrote to the output while build {build} was being staged: not promoted, the next cycle will be"
                )));
                return Staged::new(outcome, Some(promotion), missed_writes);
            }
            let guard: Guard = Box::new(move || {
                if !taps.quiet_since(at_done) {
                    Err(PromoteError::NotQuiet(format!(
                        "the compiler printed again while build {build} was being staged: not promoted, the next cycle will be"
                    )))
                } else if quiet::fingerprint(&output) != before {
                    Err(PromoteError::NotQuiet(format!(
                        "the compiler wrote to the output while build {build} was being staged: not promoted, the next cycle will be"
                    )))
                } else {
                    Ok(())
                }
            });
            let (reply, answer) = oneshot::channel();
            let promotion = match requests.send(PromoteRequest { guard, reply }).await {
                Ok(()) => answer.await.unwrap_or_else(|_| {
                    Some(Err(PromoteError::Internal(format!(
                        "build {build}'s promotion stopped unexpectedly"
                    ))))
                }),
                // The engine is gone: devloop is stopping.
                Err(_) => None,
            };
            Staged::new(outcome, promotion, missed_writes)
        })
    }

    /// A staging finished: reported, or held when the compiler was not quiet.
    pub(super) async fn staged(&mut self, staged: Staged) {
        // Never one seen: the compiler does not write them (nx without
        // generatePackageJson). One late cycle is no reason to stop waiting.
        let never = self.written.as_ref().is_some_and(|written| !written.any());
        if staged.missed_writes && never && self.written.take().is_some() {
            let message = format!(
                "the warm build wrote no {} within {} of build {}'s end: later cycles wait for quiet output instead",
                presets::written_after_done(self.warm.preset).unwrap_or("file"),
                crate::config::format_duration(WRITES_AFTER_DONE),
                staged.outcome.id
            );
            self.emit(Event::Notice { message }).await;
        }
        match staged {
            Staged {
                outcome,
                promotion: Some(Err(reason)),
                loud: true,
                ..
            } => self.hold(outcome, reason).await,
            Staged {
                outcome, promotion, ..
            } => self.done(outcome, promotion).await,
        }
    }

    /// Watches the build output for the preset's writes after done.
    pub(super) async fn watch_written(&mut self) {
        let name = presets::written_after_done(self.warm.preset);
        let output = self.ctx.config.build.output.as_ref();
        let (Some(name), Some(output)) = (name, output) else {
            return;
        };
        let output = self.ctx.config.abs(output);
        let watched = tokio::task::spawn_blocking(move || {
            super::super::written::Written::watch(&output, name)
        })
        .await;
        match watched
            .map_err(|e| e.to_string())
            .and_then(|made| made.map_err(|e| e.to_string()))
        {
            Ok(written) => self.written = Some(written),
            Err(why) => {
                let message = format!("{why}: cycles wait for quiet output instead");
                self.emit(Event::Notice { message }).await;
            }
        }
    }

    /// Waits for the promotion under way and reports what waited for it.
    pub(super) async fn settle(&mut self) {
        if let Some(staging) = self.staging.take()
            && let Ok(staged) = staging.await
        {
            self.done(staged.outcome, staged.promotion).await;
        }
        self.drop_held().await;
        while let Some((outcome, _, _)) = self.queue.pop_front() {
            self.done(outcome, None).await;
        }
    }

    pub(super) async fn done(
        &self,
        outcome: BuildOutcome,
        promotion: Option<Result<Promotion, PromoteError>>,
    ) {
        let finished = Finished { outcome, promotion };
        let _ = self.ctx.done.send(finished).await;
    }
}

impl Staged {
    fn new(
        outcome: BuildOutcome,
        promotion: Option<Result<Promotion, PromoteError>>,
        missed_writes: bool,
    ) -> Staged {
        // Only the quiet check says NotQuiet.
        let loud = matches!(promotion, Some(Err(PromoteError::NotQuiet(_))));
        Staged {
            outcome,
            promotion,
            loud,
            missed_writes,
        }
    }
}

/// Waits for the preset's writes after done (one file per done line), then
/// for the output to be left alone `settle` since the last write seen, a few
/// writes at most (lines printed meanwhile still drop the cycle: the quiet
/// check counts from done). Whether it settled, the output's fingerprint,
/// and whether the preset's writes never came.
fn settle_output(
    output: &std::path::Path,
    mut settle: Duration,
    written: Option<(std::sync::Arc<crate::warm::written::Written>, AfterDone)>,
) -> (bool, u64, bool) {
    let mut missed_writes = false;
    if let Some((written, AfterDone { since, dones })) = written {
        let came = written.wait(since, dones, WRITES_AFTER_DONE);
        missed_writes = !came;
        // With closes seen (Linux) nothing more is waited for.
        if came && crate::platform::REPORTS_CLOSES {
            settle = Duration::ZERO;
        }
    }
    let mut before = quiet::fingerprint(output);
    let mut settled = settle.is_zero();
    for _ in 0..SETTLE_ROUNDS {
        if settled {
            break;
        }
        std::thread::sleep(settle);
        let now = quiet::fingerprint(output);
        settled = now == before;
        before = now;
    }
    (settled, before, missed_writes)
}
