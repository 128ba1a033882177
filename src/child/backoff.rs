//! The restart decisions of one process: whether an exit calls for a restart
//! at all, how long to wait before it, and when the process has restarted too
//! often and is `failed`. Pure: the caller passes the time in, so it is
//! tested with paused tokio time.

use crate::config::Restart;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The first delay, and the delay again after a long enough run.
pub const FLOOR: Duration = Duration::from_millis(500);
/// The longest delay: doubling stops here.
pub const CAP: Duration = Duration::from_secs(30);
/// A run at least this long resets the delay to the floor.
pub const RESET_AFTER: Duration = Duration::from_secs(10);
/// Restarts are counted over this window...
pub const WINDOW: Duration = Duration::from_secs(5 * 60);
/// ...and one more than this many in it means `failed`.
pub const MAX_RESTARTS: usize = 3;

/// What to do after an automatic restart was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start again after this delay.
    RestartIn(Duration),
    /// Too many restarts: stay down until a promotion or the user starts it.
    Failed,
}

/// Delay and restart history of one process.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    /// When each automatic restart within the window was decided.
    recent: VecDeque<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: FLOOR,
            recent: VecDeque::new(),
        }
    }
}

impl Backoff {
    /// An automatic restart is wanted at `now`, after a run of `uptime`.
    pub fn next(&mut self, uptime: Duration, now: Instant) -> Decision {
        if uptime >= RESET_AFTER {
            self.next = FLOOR;
        }
        while self
            .recent
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= MAX_RESTARTS {
            return Decision::Failed;
        }
        self.recent.push_back(now);
        let delay = self.next;
        self.next = (self.next * 2).min(CAP);
        Decision::RestartIn(delay)
    }

    /// Started by hand or revived by a promotion: the count starts afresh,
    /// since the cause of the crashes has probably changed.
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

/// Whether the `restart` policy wants a process that exited with `code`
/// (None: killed by a signal) started again.
pub fn wants_restart(policy: Restart, code: Option<i32>) -> bool {
    match policy {
        Restart::Always => true,
        Restart::OnFailure => code != Some(0),
        Restart::Never => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    const SHORT: Duration = Duration::from_millis(50);

    fn ms(n: u64) -> Decision {
        Decision::RestartIn(Duration::from_millis(n))
    }

    /// Runs a crash loop: each run lasts `SHORT`, then waits out the delay.
    async fn crash(backoff: &mut Backoff) -> Decision {
        advance(SHORT).await;
        let decision = backoff.next(SHORT, Instant::now());
        if let Decision::RestartIn(delay) = decision {
            advance(delay).await;
        }
        decision
    }

    #[tokio::test(start_paused = true)]
    async fn doubles_then_fails_on_the_fourth_restart() {
        let mut backoff = Backoff::default();
        assert_eq!(crash(&mut backoff).await, ms(500));
        assert_eq!(crash(&mut backoff).await, ms(1000));
        assert_eq!(crash(&mut backoff).await, ms(2000));
        assert_eq!(crash(&mut backoff).await, Decision::Failed);
        assert_eq!(crash(&mut backoff).await, Decision::Failed, "stays failed");
    }

    #[tokio::test(start_paused = true)]
    async fn spread_out_restarts_grow_to_the_cap_without_failing() {
        let mut backoff = Backoff::default();
        let mut delays = Vec::new();
        for _ in 0..8 {
            match crash(&mut backoff).await {
                Decision::RestartIn(delay) => delays.push(delay.as_millis()),
                Decision::Failed => panic!("failed after {delays:?}"),
            }
            // Two minutes between crashes: never more than 3 in 5 minutes.
            advance(Duration::from_secs(120)).await;
        }
        let expected = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
        assert_eq!(delays, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_run_resets_the_delay_but_not_the_count() {
        let mut backoff = Backoff::default();
        assert_eq!(crash(&mut backoff).await, ms(500));
        assert_eq!(crash(&mut backoff).await, ms(1000));
        advance(RESET_AFTER).await;
        assert_eq!(backoff.next(RESET_AFTER, Instant::now()), ms(500));
        advance(Duration::from_millis(500)).await;
        assert_eq!(crash(&mut backoff).await, Decision::Failed);
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_forgets_old_restarts() {
        let mut backoff = Backoff::default();
        for _ in 0..3 {
            assert!(matches!(crash(&mut backoff).await, Decision::RestartIn(_)));
        }
        advance(WINDOW).await;
        assert_eq!(crash(&mut backoff).await, ms(4000));
    }

    #[tokio::test(start_paused = true)]
    async fn reset_revives_a_failed_process_at_the_floor() {
        let mut backoff = Backoff::default();
        for _ in 0..3 {
            crash(&mut backoff).await;
        }
        assert_eq!(crash(&mut backoff).await, Decision::Failed);
        backoff.reset();
        assert_eq!(crash(&mut backoff).await, ms(500));
    }

    #[test]
    fn restart_policies() {
        assert!(wants_restart(Restart::Always, Some(0)));
        assert!(wants_restart(Restart::Always, None));
        assert!(!wants_restart(Restart::OnFailure, Some(0)));
        assert!(wants_restart(Restart::OnFailure, Some(1)));
        assert!(wants_restart(Restart::OnFailure, None));
        assert!(!wants_restart(Restart::Never, Some(1)));
    }
}
