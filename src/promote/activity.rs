//! devloop's own changes to the promote target, announced: the target guard
//! ([`crate::watch::target`]) must tell them from anyone else's writes. Each
//! promotion (from its swap on), rollback and recovery holds a [`Busy`]
//! while it runs.

use std::sync::LazyLock;
use std::time::SystemTime;
use tokio::sync::watch;

/// What devloop is doing to its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// Its own changes to a target running now.
    pub busy: usize,
    /// When the last of them ended: what changed in the target since was
    /// not devloop.
    pub ended: SystemTime,
}

static ACTIVITY: LazyLock<watch::Sender<Activity>> = LazyLock::new(|| {
    watch::channel(Activity {
        busy: 0,
        ended: SystemTime::UNIX_EPOCH,
    })
    .0
});

/// Follows devloop's own changes to its targets, sent at each start and end.
pub fn subscribe() -> watch::Receiver<Activity> {
    ACTIVITY.subscribe()
}

/// Held while devloop changes a target.
#[must_use]
pub struct Busy(());

impl Busy {
    pub fn start() -> Busy {
        ACTIVITY.send_modify(|activity| activity.busy += 1);
        Busy(())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        ACTIVITY.send_modify(|activity| {
            activity.busy -= 1;
            activity.ended = SystemTime::now();
        });
    }
}
