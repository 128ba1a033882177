//! devloop's own changes to the promote target, announced: the target guard
//! ([`crate::watch::target`]) must tell them from anyone else's writes. Each
//! promotion (from its swap on), rollback and recovery holds a [`Busy`]
//! while it runs.

use std::sync::LazyLock;
use tokio::sync::watch;

/// How many of devloop's own changes to a target are running.
static BUSY: LazyLock<watch::Sender<usize>> = LazyLock::new(|| watch::channel(0).0);

/// Follows devloop's own changes to its targets: the count running, sent at
/// each start and end.
pub fn subscribe() -> watch::Receiver<usize> {
    BUSY.subscribe()
}

/// Held while devloop changes a target.
#[must_use]
pub struct Busy(());

impl Busy {
    pub fn start() -> Busy {
        BUSY.send_modify(|busy| *busy += 1);
        Busy(())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.send_modify(|busy| *busy -= 1);
    }
}
