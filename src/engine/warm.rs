//! The engine's side of a warm build (`persistent = true`): build requests
//! go to the compiler task instead of starting builds, and its cycles come
//! back as finished builds.

use super::{Adopt, Engine, Finished, Input};
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
                self.warm = Some(Warm::start(Context {
                    config: self.config.clone(),
                    promote: super::promote_spec(&self.config),
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

    /// Stops the compiler and waits until its group is gone.
    pub(super) async fn stop_warm(&mut self) {
        if let Some(warm) = self.warm.take() {
            warm.stop().await;
        }
    }
}
