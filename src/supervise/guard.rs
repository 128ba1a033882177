//! Automatic rollback's watch over a promotion (`promote.auto_rollback`):
//! which processes were ready when it landed, and until when a failure of
//! one of them counts against it. It fires at most once per promotion.

use super::ProcessId;
use tokio::time::Instant;

#[derive(Debug, Default)]
pub struct Guard {
    watch: Option<Watch>,
}

#[derive(Debug)]
struct Watch {
    until: Instant,
    /// Those ready when the promotion landed.
    ready: Vec<ProcessId>,
}

impl Guard {
    /// A promotion landed: watch the processes `ready` now for `window`
    /// (None: a rollback or a promotion that is not watched; stop watching).
    pub fn arm(&mut self, window: Option<std::time::Duration>, ready: Vec<ProcessId>) {
        self.watch = window.map(|window| Watch {
            until: Instant::now() + window,
            ready,
        });
    }

    /// Process `id` crashed or turned unhealthy: true when that must roll
    /// the promotion back. Disarms, so one promotion rolls back once.
    pub fn failed(&mut self, id: ProcessId) -> bool {
        let fires = self
            .watch
            .as_ref()
            .is_some_and(|w| Instant::now() < w.until && w.ready.contains(&id));
        if fires {
            self.watch = None;
        }
        fires
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn fires_once_within_the_window_for_a_process_that_was_ready() {
        let mut guard = Guard::default();
        assert!(!guard.failed(ProcessId(0)), "nothing promoted yet");
        guard.arm(Some(Duration::from_secs(20)), vec![ProcessId(0)]);
        assert!(
            !guard.failed(ProcessId(1)),
            "not ready before the promotion"
        );
        tokio::time::advance(Duration::from_secs(19)).await;
        assert!(guard.failed(ProcessId(0)));
        assert!(
            !guard.failed(ProcessId(0)),
            "never two rollbacks for one promotion"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_after_the_window_or_unwatched_does_not_fire() {
        let mut guard = Guard::default();
        guard.arm(Some(Duration::from_secs(20)), vec![ProcessId(0)]);
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(!guard.failed(ProcessId(0)));
        guard.arm(Some(Duration::from_secs(20)), vec![ProcessId(0)]);
        guard.arm(None, vec![ProcessId(0)]);
        assert!(
            !guard.failed(ProcessId(0)),
            "a rollback or unwatched promotion disarms"
        );
    }
}
