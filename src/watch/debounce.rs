//! One trailing quiet window over all paths: a burst of changes (a checkout,
//! an editor's rename-over save) becomes one batch once nothing has changed
//! for the whole window.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// Distinct paths remembered per batch; past this the batch means "anything".
const MAX_PATHS: usize = 10_000;

/// What the watcher saw, before debouncing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A workspace-relative path that changed.
    Path(PathBuf),
    /// Events were lost (queue overflow): anything may have changed.
    Overflow,
}

/// The changes of one quiet window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeBatch {
    /// Workspace-relative, sorted, at most `MAX_PATHS`.
    pub paths: Vec<PathBuf>,
    /// How many distinct paths changed.
    pub count: usize,
    /// Events were lost or too many paths changed: build without comparing contents.
    pub overflow: bool,
}

impl ChangeBatch {
    pub fn merge(&mut self, other: ChangeBatch) {
        let mut paths: BTreeSet<PathBuf> = self.paths.drain(..).collect();
        paths.extend(other.paths);
        self.overflow |= other.overflow || paths.len() > MAX_PATHS;
        self.count = paths.len().max(self.count).max(other.count);
        self.paths = paths.into_iter().take(MAX_PATHS).collect();
    }
}

/// The pending batch and when it is due.
#[derive(Debug, Default)]
pub struct Debouncer {
    paths: BTreeSet<PathBuf>,
    count: usize,
    overflow: bool,
    due: Option<Instant>,
}

impl Debouncer {
    pub fn add(&mut self, change: Change, now: Instant, quiet: Duration) {
        match change {
            Change::Overflow => self.overflow = true,
            Change::Path(path) if self.paths.len() < MAX_PATHS => {
                self.paths.insert(path);
                self.count = self.count.max(self.paths.len());
            }
            Change::Path(_) => {
                self.overflow = true;
                self.count += 1;
            }
        }
        self.due = Some(now + quiet);
    }

    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    pub fn take(&mut self) -> ChangeBatch {
        let taken = std::mem::take(self);
        ChangeBatch {
            paths: taken.paths.into_iter().collect(),
            count: taken.count,
            overflow: taken.overflow,
        }
    }
}

/// Forwards one batch per quiet window until `changes` closes.
pub async fn debounce(
    mut changes: mpsc::Receiver<Change>,
    batches: mpsc::Sender<ChangeBatch>,
    quiet: Duration,
) {
    let mut pending = Debouncer::default();
    loop {
        let due = pending.due();
        tokio::select! {
            change = changes.recv() => match change {
                Some(change) => pending.add(change, Instant::now(), quiet),
                None => return,
            },
            _ = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                if batches.send(pending.take()).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: Duration = Duration::from_millis(500);

    fn path(name: &str) -> Change {
        Change::Path(PathBuf::from(name))
    }

    fn start() -> (mpsc::Sender<Change>, mpsc::Receiver<ChangeBatch>) {
        let (change_tx, change_rx) = mpsc::channel(64);
        let (batch_tx, batch_rx) = mpsc::channel(64);
        tokio::spawn(debounce(change_rx, batch_tx, QUIET));
        (change_tx, batch_rx)
    }

    /// Lets the spawned task run without moving the clock.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn fires_once_after_the_quiet_window() {
        let (tx, mut rx) = start();
        tx.send(path("libs/a.ts")).await.unwrap();
        settle().await;
        tokio::time::advance(QUIET - Duration::from_millis(1)).await;
        settle().await;
        assert!(rx.try_recv().is_err(), "fired before the window closed");
        tokio::time::advance(Duration::from_millis(1)).await;
        settle().await;
        let batch = rx.try_recv().expect("no batch at the end of the window");
        assert_eq!(batch.paths, [PathBuf::from("libs/a.ts")]);
        assert_eq!(batch.count, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_one_batch_and_each_change_extends_the_window() {
        let (tx, mut rx) = start();
        // 60 files, one every 3 ms (about 180 ms): each one restarts the window.
        for i in 0..60 {
            tx.send(path(&format!("libs/f{i:02}.ts"))).await.unwrap();
            settle().await;
            tokio::time::advance(Duration::from_millis(3)).await;
            settle().await;
            assert!(rx.try_recv().is_err(), "fired in the middle of the burst");
        }
        tx.send(path("libs/f00.ts")).await.unwrap();
        settle().await;
        tokio::time::advance(QUIET).await;
        settle().await;
        let batch = rx.try_recv().unwrap();
        assert_eq!(batch.count, 60, "a repeated path counts once");
        assert!(rx.try_recv().is_err(), "more than one batch");
    }

    #[tokio::test(start_paused = true)]
    async fn changes_after_a_batch_start_a_new_window() {
        let (tx, mut rx) = start();
        tx.send(path("a")).await.unwrap();
        settle().await;
        tokio::time::advance(QUIET).await;
        settle().await;
        assert_eq!(rx.try_recv().unwrap().paths.len(), 1);
        tx.send(Change::Overflow).await.unwrap();
        settle().await;
        tokio::time::advance(QUIET).await;
        settle().await;
        let batch = rx.try_recv().unwrap();
        assert!(batch.overflow && batch.paths.is_empty());
    }

    #[test]
    fn merging_batches_unions_paths() {
        let mut first = ChangeBatch {
            paths: vec!["a".into(), "b".into()],
            count: 2,
            overflow: false,
        };
        first.merge(ChangeBatch {
            paths: vec!["b".into(), "c".into()],
            count: 2,
            overflow: false,
        });
        assert_eq!(first.count, 3);
        assert_eq!(first.paths.len(), 3);
    }
}
