//! The build decisions: when a build starts, when a change waits for the
//! running one (`queue`) and when it cancels it (`restart`).

use crate::config::OnChange;
use crate::event::BuildReason;

/// What the engine must do next about builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start(BuildReason),
    Cancel,
    Nothing,
}

#[derive(Debug)]
pub struct Schedule {
    policy: OnChange,
    running: bool,
    cancelling: bool,
    /// A build asked for while one was running; the first reason is kept.
    pending: Option<BuildReason>,
}

impl Schedule {
    pub fn new(policy: OnChange) -> Self {
        Schedule {
            policy,
            running: false,
            cancelling: false,
            pending: None,
        }
    }

    /// watch.toml's `on_change` was edited.
    pub fn set_policy(&mut self, policy: OnChange) {
        self.policy = policy;
    }

    /// A build is wanted (a change batch, a key press, startup).
    pub fn request(&mut self, reason: BuildReason) -> Action {
        if !self.running {
            self.running = true;
            return Action::Start(reason);
        }
        self.pending.get_or_insert(reason);
        if self.policy == OnChange::Restart && !self.cancelling {
            self.cancelling = true;
            Action::Cancel
        } else {
            Action::Nothing
        }
    }

    /// The running build ended (whatever its status): start the one that waited.
    pub fn finished(&mut self) -> Action {
        self.running = false;
        self.cancelling = false;
        match self.pending.take() {
            Some(reason) => self.request(reason),
            None => Action::Nothing,
        }
    }

    /// Forget what waited (shutting down).
    pub fn clear(&mut self) {
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BuildReason::*;

    #[test]
    fn queue_waits_then_builds_once() {
        let mut s = Schedule::new(OnChange::Queue);
        assert_eq!(s.request(Startup), Action::Start(Startup));
        assert_eq!(s.request(Change), Action::Nothing);
        assert_eq!(s.request(Change), Action::Nothing);
        assert_eq!(s.request(Manual), Action::Nothing);
        assert_eq!(
            s.finished(),
            Action::Start(Change),
            "one more build for all that waited"
        );
        assert_eq!(s.finished(), Action::Nothing);
        assert_eq!(s.request(Manual), Action::Start(Manual), "idle again");
    }

    #[test]
    fn restart_cancels_once_then_builds_again() {
        let mut s = Schedule::new(OnChange::Restart);
        assert_eq!(s.request(Startup), Action::Start(Startup));
        assert_eq!(s.request(Change), Action::Cancel);
        assert_eq!(s.request(Change), Action::Nothing, "already cancelling");
        assert_eq!(s.finished(), Action::Start(Change));
        assert_eq!(s.request(Manual), Action::Cancel);
        assert_eq!(s.finished(), Action::Start(Manual));
    }

    #[test]
    fn cleared_requests_do_not_start() {
        let mut s = Schedule::new(OnChange::Queue);
        s.request(Startup);
        s.request(Change);
        s.clear();
        assert_eq!(s.finished(), Action::Nothing);
    }
}
