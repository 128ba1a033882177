//! The engine's side of a warm build (`persistent = true`): build requests
//! go to the compiler task instead of starting builds, its good cycles are
//! promoted here with the compiler's quiet check as their guard, and its
//! cycles come back as finished builds.

use super::{Adopt, Engine, Finished, Input, PromoteRequest, next_promotion};
use crate::event::BuildReason;
use crate::warm::{Context, ToWarm, Warm};

impl Engine {
    /// Takes a build request when the build is warm (returns true).
    pub(super) fn warm_request(&mut self, reason: BuildReason) -> bool {
        if self.config.build.warm.is_none() {
            return false;
        }
        match (&self.warm, reason) {
            (None, _) => {
                self.waiting = Default::default();
                // Cycles come back as inputs, in order, among the others.
                let (done, mut cycles) = tokio::sync::mpsc::channel(4);
                let inbox = self.inbox_tx.clone();
                tokio::spawn(async move {
                    while let Some(finished) = cycles.recv().await {
                        if inbox.send(Input::WarmDone(finished)).await.is_err() {
                            return;
                        }
                    }
                });
                let (promote, promotions) = tokio::sync::mpsc::channel(1);
                self.promotions = Some(promotions);
                self.warm = Some(Warm::start(Context {
                    config: self.config.clone(),
                    promote,
                    events: self.events.clone(),
                    done,
                }));
            }
            (Some(warm), BuildReason::Change) => {
                warm.tell(ToWarm::Changed(std::mem::take(&mut self.waiting)));
            }
            (Some(warm), _) => warm.tell(ToWarm::Restart),
        }
        true
    }

    /// A cycle ended: reported as any build's end (events, snapshot, servers).
    pub(super) async fn warm_done(&mut self, finished: Finished) {
        // The compiler reads the sources itself: nothing to adopt.
        self.finished(finished, Adopt::Update(Vec::new())).await;
    }

    /// A good cycle to promote: off the engine's task, the reply straight
    /// to the compiler's (which holds the cycles behind it).
    pub(super) fn promote_for_warm(&self, request: PromoteRequest) {
        let promoter = self.promoter();
        tokio::spawn(async move {
            let PromoteRequest { guard, reply } = request;
            let _ = reply.send(promoter.promote(guard).await);
        });
    }

    /// Stops the compiler and waits until its group is gone; a cycle it
    /// settles meanwhile is still promoted.
    pub(super) async fn stop_warm(&mut self) {
        let Some(warm) = self.warm.take() else {
            return;
        };
        let stopped = warm.stop();
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                () = &mut stopped => break,
                Some(request) = next_promotion(&mut self.promotions) => self.promote_for_warm(request),
            }
        }
        self.promotions = None;
    }
}
